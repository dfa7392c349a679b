import Foundation
import FuzzSupport
import SealedArchiveFormat

// The format core's header parser (ArchiveDecoder: stanzas, fields and the
// prefix checks) and the trailer parser. A header that parses re-serialises to exactly its bytes (the
// parser accepts only canonical headers), and those bytes parse to the same
// header; likewise for a trailer.

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { vectors in
        var seeds: [(name: String, bytes: [UInt8])] = []
        for file in try Fuzz.vectorFiles(vectors, ext: "sarc") {
            let bytes = [UInt8](try Data(contentsOf: file))
            // The header alone, and the trailer alone (both lengths).
            if let header = try? ArchiveHeader(parsing: bytes) {
                seeds.append((file.lastPathComponent + ".header", header.bytes))
                let trailer = Array(bytes.suffix(FormatV1.trailerLength(signed: header.isSigned)))
                seeds.append((file.lastPathComponent + ".trailer", trailer))
            } else {
                seeds.append((file.lastPathComponent + ".prefix", Array(bytes.prefix(FormatV1.maximumHeaderLength))))
            }
        }
        return seeds
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Fuzz.bytes(data, size)
    checkHeader(bytes)
    checkTrailer(bytes)
    return 0
}

func same(_ a: ArchiveHeader, _ b: ArchiveHeader) -> Bool {
    a.chunkSizeLog2 == b.chunkSizeLog2 && a.payloadKind == b.payloadKind && a.compression == b.compression
        && a.created == b.created && a.stanzas == b.stanzas && a.signer == b.signer && a.label == b.label
        && a.sequence == b.sequence && a.previousDigest == b.previousDigest && a.mac == b.mac && a.bytes == b.bytes
}

func checkHeader(_ bytes: [UInt8]) {
    let header: ArchiveHeader
    do {
        // The prefix check alone agrees with the full parse on what it sees.
        let length = try? bytes.withUnsafeBytes { try ArchiveDecoder.headerLength(fromPrefix: UnsafeRawBufferPointer(rebasing: $0.prefix(ArchiveDecoder.prefixLength))) }
        header = try ArchiveDecoder(parsing: bytes).header
        Fuzz.check(length == header.length, "prefix length \(String(describing: length)) but header of \(header.length) bytes")
    } catch is SealedArchiveError {
        return
    } catch {
        Fuzz.check(false, "header parser threw a non-SealedArchiveError: \(error)")
        return
    }
    Fuzz.check(bytes.starts(with: header.bytes), "header bytes are not the input's prefix")
    Fuzz.check(header.mac.count == FormatV1.macLength, "MAC of \(header.mac.count) bytes")
    // Of the version it was parsed as: a version 2 header (typed stanzas,
    // group size) is not a version 1 one.
    let fields = ArchiveHeader(
        version: header.version, groupSizeLog2: header.groupSizeLog2,
        chunkSizeLog2: header.chunkSizeLog2, payloadKind: header.payloadKind, compression: header.compression,
        created: header.created, stanzas: header.stanzas, signer: header.signer, label: header.label,
        sequence: header.sequence, previousDigest: header.previousDigest)
    let body: [UInt8]
    do { body = try fields.serializeUnauthenticated() } catch {
        Fuzz.check(false, "a parsed header does not serialise: \(error)")
        return
    }
    Fuzz.check(body + header.mac == header.bytes, "header does not re-serialise to its bytes")
    do {
        let again = try ArchiveHeader(parsing: body + header.mac)
        Fuzz.check(same(header, again), "re-serialised header parses to another header")
    } catch {
        Fuzz.check(false, "re-serialised header does not parse: \(error)")
    }
}

func checkTrailer(_ bytes: [UInt8]) {
    for signed in [false, true] where bytes.count == FormatV1.trailerLength(signed: signed) {
        bytes.withUnsafeBytes { raw in
            guard Trailer.hasMagic(raw) else { return }
            do {
                let trailer = try Trailer(parsing: raw, signed: signed)
                Fuzz.check(trailer.serialize() == bytes, "trailer does not re-serialise to its bytes")
            } catch {
                Fuzz.check(false, "a trailer of the right length with its magic does not parse: \(error)")
            }
        }
    }
}
