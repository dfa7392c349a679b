import ArgumentParser
import Foundation
import SealedArchive

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what an archive's header says, without any key.",
        discussion: """
            Reads only the header, so the first few kilobytes of an archive are \
            enough. Nothing shown is checked: the header is authenticated only when \
            the archive is verified or opened.
            """
    )

    @Flag(name: .customLong("json"), help: "Print one JSON object instead of text.")
    var json = false

    @Argument(help: ArgumentHelp("The archive ('-' or absent: standard input).", valueName: "ARCHIVE"))
    var archive: String = "-"

    func run() throws {
        let header = try ArchiveReader(source: FileSource(path: archive)).header
        let summary = ArchiveSummary(header: header)
        if json {
            try Terminal.output(try summary.jsonLine(), asJSON: true)
        } else {
            try Terminal.output(lines: InspectText.lines(summary))
        }
    }
}

/// The header as `inspect` shows it as text.
enum InspectText {
    static func lines(_ summary: ArchiveSummary) -> [String] {
        let recipients = summary.recipients ?? []
        let types = summary.recipient_types ?? []
        let named = recipients.enumerated().map { index, id in index < types.count ? "\(id) \(types[index])" : id }
        var lines = [
            "format:      SealedArchive version \(summary.format_version ?? 1)",
            "created:     \(summary.created ?? "?")",
            "payload:     \(summary.payload_kind ?? "?"), compression \(summary.compression ?? "?")",
            "chunk size:  \(summary.chunk_size.map(String.init) ?? "?") bytes\(summary.group_size.map { ", \($0) chunks per group" } ?? "")",
            "recipients:  \(recipients.count) (key ids \(named.joined(separator: ", ")))\(postQuantumNote(types))",
            "signer:      \(summary.signer.map { "\($0) (key id \(summary.signer_key_id ?? "?"))" } ?? "none: the archive is not signed")",
        ]
        if let label = summary.label { lines.append("label:       \(label)") }
        if let sequence = summary.sequence { lines.append("sequence:    \(sequence)") }
        if let previous = summary.previous_digest { lines.append("previous:    \(previous)") }
        return lines
    }

    /// Whether the stanzas keep the archive safe from a future quantum
    /// computer: only when every one is post-quantum.
    static func postQuantumNote(_ types: [String]) -> String {
        guard types.contains("post-quantum") else { return "" }
        return types.contains("x25519") ? "; mixed: only as safe as X25519" : "; post-quantum"
    }
}
