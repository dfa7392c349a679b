import Foundation
import Testing

// Keyring set-ups the CLI tests share (KeysCommandTests,
// OperatorReportTests, KeyringConcurrencyTests, CommandClockTests): made
// with the CLI itself, as an operator would.

extension Sandbox {
    /// `keys init --keyring NAME --retention RETENTION`, required to succeed.
    /// `keys init` (post-quantum unless `classical`: a classical keyring
    /// has a migration due in every review).
    func initKeyring(_ name: String = "ring", retention: String = "90d", classical: Bool = false, environment: [String: String] = [:],
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let made = try run(["keys", "init", "--keyring", name, "--retention", retention] + (classical ? [] : ["--pq"]), environment: environment)
        try #require(made.status == 0, "\(made)", sourceLocation: sourceLocation)
    }

    /// `keys export-recipients --keyring KEYRING -o FILE`, required to succeed.
    func exportRecipients(_ keyring: String = "ring", to file: String = "recipients", force: Bool = false,
                          environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let exported = try run(["keys", "export-recipients", "--keyring", keyring] + (force ? ["--force"] : []) + ["-o", file],
                               environment: environment)
        try #require(exported.status == 0, "\(exported)", sourceLocation: sourceLocation)
    }

    /// Damages one secret key file of the keyring (the last character of
    /// its key line, so its checksum no longer matches) and keeps it 0600:
    /// `keys review --prove` must then fail that key's proof.
    func damageAHeldKey(_ keyring: String = "ring", sourceLocation: SourceLocation = #_sourceLocation) throws {
        let keyFile = try #require(try FileManager.default.contentsOfDirectory(atPath: path("\(keyring)/keys")).first { $0.hasSuffix(".key") },
                                   "no key file in \(keyring)/keys", sourceLocation: sourceLocation)
        let file = path("\(keyring)/keys/\(keyFile)")
        var lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        let keyLine = try #require(lines.firstIndex { $0.hasPrefix("AGE-SECRET-KEY-") || $0.hasPrefix("SEALED-SIGNING-KEY-1") },
                                   "no key line in \(file)", sourceLocation: sourceLocation)
        let last = lines[keyLine].removeLast()
        lines[keyLine].append(last == "Q" ? "P" : "Q")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
    }
}
