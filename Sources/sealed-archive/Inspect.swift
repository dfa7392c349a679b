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
        let report = HeaderReport(header)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try Terminal.output(String(decoding: try encoder.encode(report), as: UTF8.self), asJSON: true)
        } else {
            try Terminal.output(lines: report.lines)
        }
    }
}

/// The header as `inspect` shows it. `schema` versions the JSON form.
struct HeaderReport: Encodable {
    let schema = 1
    let format_version: Int
    let created: String
    let created_unix: UInt64
    let payload_kind: String
    let compression: String
    let chunk_size: Int
    let header_length: Int
    let recipients: [String]
    let signer: String?
    let signer_key_id: String?
    let label: String?
    let sequence: UInt64?
    let previous_digest: String?

    init(_ header: ArchiveHeader) {
        format_version = 1
        created = ISO8601DateFormatter().string(from: header.createdDate)
        created_unix = header.created
        payload_kind = header.payloadKind.description
        compression = header.compression.description
        chunk_size = header.chunkSize
        header_length = header.length
        recipients = header.stanzas.map { $0.keyID.description }
        signer = header.signer?.description
        signer_key_id = header.signer?.keyID.description
        label = header.label
        sequence = header.sequence
        previous_digest = header.previousDigestHex
    }

    var lines: [String] {
        var lines = [
            "format:      SealedArchive version \(format_version)",
            "created:     \(created)",
            "payload:     \(payload_kind), compression \(compression)",
            "chunk size:  \(chunk_size) bytes",
            "recipients:  \(recipients.count) (key ids \(recipients.joined(separator: ", ")))",
            "signer:      \(signer.map { "\($0) (key id \(signer_key_id!))" } ?? "none: the archive is not signed")",
        ]
        if let label { lines.append("label:       \(label)") }
        if let sequence { lines.append("sequence:    \(sequence)") }
        if let previous_digest { lines.append("previous:    \(previous_digest)") }
        return lines
    }

    enum CodingKeys: String, CodingKey {
        case schema, format_version, created, created_unix, payload_kind, compression, chunk_size,
             header_length, recipients, signer, signer_key_id, label, sequence, previous_digest
    }
}
