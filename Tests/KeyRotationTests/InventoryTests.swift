import Foundation
import Testing
import KeyRotation
import SealedArchive

@Suite struct InventoryTests {
    @Test func inspectLinesAreRead() throws {
        let a = "0123456789abcdef", b = "fedcba9876543210", s = "00112233445566aa"
        let text = """
            {"schema":1,"created":"2026-01-02T00:00:00Z","created_unix":1767312000,"recipients":["\(a)","\(b)"],"signer_key_id":"\(s)","archive":"db-0102.sealed"}

            {"schema":1,"created_unix":1767398400,"recipients":["\(a)"]}
            {"schema":1,"kind":"set","ok":true,"archives":2}
            {"schema":1,"kind":"archive","archive":"x.sealed","created_unix":1767398400,"recipients":["\(b)"],"signer_key_id":"\(s)","ok":true}
            """
        let inventory = try ArchiveInventory(parsingInspectLines: text, source: "test")
        #expect(inventory.entries.map(\.name) == ["db-0102.sealed", "line 3", "x.sealed"])
        #expect(inventory.entries[0].created == days(1))
        #expect(inventory.entries[0].recipients.map(\.description) == [a, b])
        #expect(inventory.entries[0].signer?.description == s)
        #expect(inventory.entries[1].signer == nil)
        #expect(inventory.entries[1].isInsideRetention(90 * day, at: days(92) - 1))
        #expect(!inventory.entries[1].isInsideRetention(90 * day, at: days(92)))
    }

    /// The inventory reads the one summary the CLI prints for inspect and
    /// verify, whatever else the line carries.
    @Test func archiveSummaryLinesAreRead() throws {
        var summary = ArchiveSummary()
        summary.kind = "archive"
        summary.archive = "n.sealed"
        summary.created_unix = 1767312000
        summary.recipients = ["0123456789abcdef"]
        summary.signer_key_id = "00112233445566aa"
        summary.ok = true
        summary.depth = "deep"
        summary.opened_with_key_id = "0123456789abcdef"
        let inventory = try ArchiveInventory(parsingInspectLines: try summary.jsonLine(), source: "test")
        #expect(inventory.entries.map(\.name) == ["n.sealed"])
        #expect(inventory.entries.first?.created == days(1))
        #expect(inventory.entries.first?.signer?.description == "00112233445566aa")
    }

    @Test(arguments: [
        #"not json"#,
        #"{"schema":1,"recipients":["0123456789abcdef"]}"#,
        #"{"schema":1,"created_unix":1,"recipients":[]}"#,
        #"{"schema":1,"created_unix":1,"recipients":["XYZ"]}"#,
        #"{"schema":1,"created_unix":1,"recipients":["0123456789abcdef"],"signer_key_id":"0123"}"#,
        #"{"kind":"archive","archive":"broken.sealed","ok":false,"error":{"code":"header"}}"#,
    ])
    func linesThatLeaveKeysUnknownAreRefused(_ line: String) {
        #expect(errorCode { _ = try ArchiveInventory(parsingInspectLines: line, source: "test") } == .invalidArgument)
    }

    /// `recipient_types` (inspect --json since post-quantum recipients)
    /// says whether an archive has a classical stanza; without it, it has.
    @Test func stanzaTypesComeFromInspectLines() throws {
        let lines = [
            #"{"archive":"old","created_unix":1,"recipients":["0123456789abcdef"]}"#,
            #"{"archive":"pq","created_unix":1,"recipients":["0123456789abcdef"],"recipient_types":["post-quantum"]}"#,
            #"{"archive":"mixed","created_unix":1,"recipients":["0123456789abcdef","00112233445566aa"],"recipient_types":["post-quantum","x25519"]}"#,
        ].joined(separator: "\n")
        let inventory = try ArchiveInventory(parsingInspectLines: lines, source: "test")
        #expect(inventory.entries.map(\.hasClassicalStanza) == [true, false, true])
        let mismatched = #"{"created_unix":1,"recipients":["0123456789abcdef"],"recipient_types":["x25519","x25519"]}"#
        #expect(errorCode { _ = try ArchiveInventory(parsingInspectLines: mismatched, source: "test") } == .invalidArgument)
        // A misspelt type is refused, not taken for post-quantum.
        for bad in ["X25519", "classical", "unknown-4", "unknown-ZZ", ""] {
            let line = #"{"created_unix":1,"recipients":["0123456789abcdef"],"recipient_types":[""# + bad + #""]}"#
            #expect(errorCode { _ = try ArchiveInventory(parsingInspectLines: line, source: "test") } == .invalidArgument, "\(bad)")
        }
        let unknown = #"{"created_unix":1,"recipients":["0123456789abcdef"],"recipient_types":["unknown-42"]}"#
        #expect(try ArchiveInventory(parsingInspectLines: unknown, source: "test").entries.first?.hasClassicalStanza == false)
    }

    @Test func aFileOfInspectLinesIsRead() throws {
        let dir = try TemporaryDirectory()
        try Data(#"{"created_unix":1767312000,"recipients":["0123456789abcdef"]}"#.utf8).write(to: URL(fileURLWithPath: dir.file("inv.jsonl")))
        let inventory = try ArchiveInventory(inspectLines: dir.file("inv.jsonl"))
        #expect(inventory.entries.count == 1)
        #expect(inventory.source.contains("inv.jsonl"))
        #expect(errorCode { _ = try ArchiveInventory(inspectLines: dir.file("missing")) } == .io)
    }

    /// Archives, header-only prefixes of archives, and other files.
    @Test func aDirectoryOfArchivesAndHeadersIsRead() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("keyring"), policy: try standardPolicy(), now: days(0))
        let archives = dir.file("archives")
        try FileManager.default.createDirectory(atPath: archives, withIntermediateDirectories: false)
        try sealArchive(keyring, plaintext: Array("one".utf8), at: days(1), to: archives + "/one.sealed")
        let header = try sealArchive(keyring, plaintext: Array(repeating: 7, count: 10_000), at: days(2), to: dir.file("two.sealed"))
        // Only the header of the second archive (with the header signature
        // of format 2), as fetched with a range request.
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir.file("two.sealed")))
        try whole.prefix(header.length + (header.signer == nil ? 0 : 64)).write(to: URL(fileURLWithPath: archives + "/two.header"))
        try Data("checksums\n".utf8).write(to: URL(fileURLWithPath: archives + "/SHA256SUMS"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: archives + "/.three.sealed.partial"))

        let inventory = try ArchiveInventory(directory: archives)
        #expect(inventory.entries.map(\.name) == ["one.sealed", "two.header"])
        #expect(inventory.entries.map(\.created) == [days(1), days(2)])
        #expect(inventory.entries.allSatisfy { $0.recipients == [keyring.activeKey(.encryption).keyID] })
        #expect(inventory.entries.allSatisfy { $0.signer == keyring.activeKey(.signing).keyID })
        #expect(inventory.skipped == ["SHA256SUMS"])

        // A file that claims to be an archive but whose header is cut short
        // leaves the keys it needs unknown: refused, not skipped.
        try whole.prefix(header.length - 10).write(to: URL(fileURLWithPath: archives + "/cut.sealed"))
        let error = sealedArchiveError { _ = try ArchiveInventory(directory: archives) }
        #expect(error?.code == .truncated)
        #expect(error?.message.contains("cut.sealed") == true)
    }
}
