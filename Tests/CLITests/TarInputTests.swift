import Foundation
import Testing
import TestSupport

/// `seal` of a tar file: the tar's bytes are kept, so a tar with more than
/// zeros after its end-of-archive marker (two tars joined with `cat`) is
/// refused before anything is written. Every reader stops at the first
/// marker: sealed, the second tar would be carried but never restored, or
/// (past libarchive's read-ahead) make the archive refuse to open.
@Suite struct TarInputTests {
    func sandboxWithTars(secondSize: Int) throws -> Sandbox {
        let sandbox = try Sandbox()
        try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("a"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: sandbox.path("b"), withIntermediateDirectories: false)
        try sandbox.write("a/x", Array("first\n".utf8))
        try sandbox.write("b/y", (0..<secondSize).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        let made = try sandbox.shell("tar -cf one.tar -C a x && tar -cf two.tar -C b y && cat one.tar two.tar > both.tar")
        try #require(made.status == 0, "\(made)")
        return sandbox
    }

    /// The second tar inside libarchive's read-ahead and past it.
    @Test(arguments: [1_000, 3 << 20])
    func concatenatedTarsAreRefused(secondSize: Int) throws {
        let sandbox = try sandboxWithTars(secondSize: secondSize)
        let recipient = try sandbox.recipient("id")
        for version in ["2", "1"] {
            let sealed = try sandbox.run(["seal", "-r", recipient, "--format-version", version, "-o", "both.sarc", "both.tar"])
            #expect(sealed.status == 65, "format \(version): \(sealed)")
            let errors = sealed.stderrLines.filter { $0.contains("error:") }
            #expect(errors.count == 1 && errors[0].contains("data after the end of its tar"), "format \(version): \(sealed)")
            #expect(!sandbox.exists("both.sarc"))
        }
        // From standard input too; the partial archive there has no trailer.
        let piped = try sandbox.run(["seal", "-r", recipient, "--payload", "tar"], stdin: .file(sandbox.path("both.tar")))
        #expect(piped.status == 65, "\(piped)")

        // One tar, padded with zeros as tar pads its records, is fine, in
        // both formats, and format 1 keeps its bytes exactly.
        for version in ["2", "1"] {
            let one = try sandbox.run(["seal", "-r", recipient, "--format-version", version, "-o", "one-\(version).sarc", "one.tar"])
            #expect(one.status == 0, "\(one)")
            let opened = try sandbox.run(["open", "-i", "id", "-C", "out-\(version)", "one-\(version).sarc"])
            #expect(opened.status == 0, "\(opened)")
            #expect(FileManager.default.contents(atPath: sandbox.path("out-\(version)/x")) == Data("first\n".utf8))
        }
        let bytes = try sandbox.run(["open", "-i", "id", "-o", "back.tar", "one-1.sarc"])
        #expect(bytes.status == 0, "\(bytes)")
        #expect(FileManager.default.contents(atPath: sandbox.path("back.tar")) == FileManager.default.contents(atPath: sandbox.path("one.tar")))
    }
}
