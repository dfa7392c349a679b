/// Record construction (Spec/FORMAT.md section 5): the chunk nonce and the
/// keyless record hash, shared by the sealing and the opening side.
package enum Records {
    /// `nonce_i`: 3 zero bytes, the index as 8 big-endian bytes, the flag.
    package static func nonce(index: UInt64, last: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: ChunkCipher.nonceLength)
        for byte in 0..<8 { nonce[3 + byte] = UInt8(truncatingIfNeeded: index >> (8 * (7 - UInt64(byte)))) }
        nonce[11] = last ? 1 : 0
        return nonce
    }

    /// `h_i = H("SealedArchive/v1/chunk" || u64(i) || u8(last) || c_i)`
    /// (version 2: the `v2` domain, FORMAT-v2.md section 5).
    package static func hash(index: UInt64, last: Bool, ciphertext: UnsafeRawBufferPointer,
                             version: FormatVersion = .v1) throws -> [UInt8] {
        let hasher = try BLAKE2b()
        hasher.update(version.chunkHashDomain)
        var prefix: [UInt8] = []
        prefix.appendLittleEndian(index)
        prefix.append(last ? 1 : 0)
        hasher.update(prefix)
        hasher.update(ciphertext)
        return hasher.finalize()
    }

    /// `r_j = H("SealedArchive/v2/segment" || u64(j) || segment_j)`
    /// (FORMAT-v2.md section 2).
    package static func segmentHash(group: UInt64, segment: UnsafeRawBufferPointer) throws -> [UInt8] {
        let hasher = try BLAKE2b()
        hasher.update(FormatV2.segmentDomain)
        var prefix: [UInt8] = []
        prefix.appendLittleEndian(group)
        hasher.update(prefix)
        hasher.update(segment)
        return hasher.finalize()
    }
}

extension Records {
    /// Version 2: checks `segment` (of group `group`) against the hashes
    /// computed from its records, in order (FORMAT-v2.md checks 13 and
    /// 15), naming the first record that differs; returns `r_j`.
    package static func checkSegment(_ segment: UnsafeRawBufferPointer, group: UInt64, hashes: [[UInt8]],
                                     header: ArchiveHeader) throws -> [UInt8] {
        try checkSegment(segment, group: group, concatenatedHashes: Array(hashes.joined()), header: header)
    }

    /// The same with the computed hashes end to end (32 bytes each), as the
    /// accumulator keeps them: one buffer, not one array per record. With
    /// `lastRecordLength` (the stored length of the group's last record)
    /// a damaged record is named with its byte range, as version 1 does.
    package static func checkSegment(_ segment: UnsafeRawBufferPointer, group: UInt64, concatenatedHashes hashes: [UInt8],
                                     header: ArchiveHeader, lastRecordLength: Int? = nil) throws -> [UInt8] {
        let hashLength = FormatV2.hashLength
        let count = hashes.count / hashLength
        guard header.version == .v2, count > 0, count <= header.groupSize, hashes.count % hashLength == 0,
              segment.count == hashes.count else {
            throw SealedArchiveError(.invalidArgument,
                "segment \(group) of \(segment.count) bytes checked against \(count) hashes")
        }
        let first = group &* UInt64(header.groupSize)
        try hashes.withUnsafeBytes { computed in
            for p in 0..<count {
                let range = (p * hashLength)..<((p + 1) * hashLength)
                guard constantTimeEquals(UnsafeRawBufferPointer(rebasing: computed[range]), UnsafeRawBufferPointer(rebasing: segment[range])) else {
                    let index = first &+ UInt64(p)
                    var place = ""
                    if let lastRecordLength {
                        let start = RecordLayout(header: header).offset(ofRecord: index)
                        let length = UInt64(p == count - 1 ? lastRecordLength : header.recordLength)
                        place = " (archive bytes \(start)–\(start &+ max(length, 1) &- 1))"
                    }
                    throw SealedArchiveError(.damaged,
                        "chunk \(index)\(place) is damaged: its hash in segment \(group) does not match (the record or the segment was changed)")
                }
            }
        }
        return try segmentHash(group: group, segment: segment)
    }

    /// Version 2: checks the group table against the computed `r_j`
    /// (FORMAT-v2.md check 15), naming the first group that differs.
    package static func checkGroupTable(_ table: UnsafeRawBufferPointer, against computed: [[UInt8]]) throws {
        let hashLength = FormatV2.hashLength
        guard table.count == computed.count * hashLength else {
            throw SealedArchiveError(.invalidArgument, "a group table of \(table.count) bytes for \(computed.count) groups")
        }
        for (j, r) in computed.enumerated() {
            let entry = UnsafeRawBufferPointer(rebasing: table[(j * hashLength)..<((j + 1) * hashLength)])
            guard r.withUnsafeBytes({ constantTimeEquals($0, entry) }) else {
                throw SealedArchiveError(.damaged,
                    "group \(j) is damaged: its entry in the group table does not match its segment")
            }
        }
    }
}

/// The running keyless digest of section 6. Version 1: the domain string,
/// the header, each record hash in order, then the chunk count. Version 2
/// (FORMAT-v2.md section 6): the domain, the header and its signature, each
/// segment hash `r_j` in order, then the chunk count; the caller feeds the
/// `r_j` and counts records with ``countRecord()``.
package final class ArchiveDigest {
    private let hasher: BLAKE2b
    package private(set) var recordCount: UInt64 = 0

    package init(header: [UInt8], version: FormatVersion = .v1, headerSignature: [UInt8]? = nil) throws {
        hasher = try BLAKE2b()
        hasher.update(version.digestDomain)
        hasher.update(header)
        if let headerSignature { hasher.update(headerSignature) }
    }

    /// Version 1: the next record hash, counting the record.
    package func add(recordHash: UnsafeRawBufferPointer) {
        hasher.update(recordHash)
        recordCount += 1
    }

    /// Version 2: a record, counted but not hashed here.
    package func countRecord() { recordCount += 1 }

    /// Version 2: the next segment hash `r_j`.
    package func add(segmentHash: [UInt8]) { hasher.update(segmentHash) }

    /// The digest, ending with `recordCount` (the records counted, unless
    /// a partial reader that counted none states it).
    package func finalize(recordCount stated: UInt64? = nil) -> [UInt8] {
        var count: [UInt8] = []
        count.appendLittleEndian(stated ?? recordCount)
        hasher.update(count)
        return hasher.finalize()
    }
}

/// The file key and the keys derived from it (Spec/FORMAT.md section 3).
package final class KeySchedule: Sendable {
    package let fileKey: SecureBytes
    package let headerKey: SecureBytes
    package let cipher: ChunkCipher

    package let version: FormatVersion

    /// The keys of `version`: the labels differ (FORMAT-v2.md section 3),
    /// so one file key gives other keys in version 2.
    package init(fileKey: SecureBytes, version: FormatVersion = .v1) throws {
        precondition(fileKey.count == FormatV1.fileKeyLength)
        self.fileKey = fileKey
        self.version = version
        self.headerKey = try BLAKE2b.deriveKey(from: fileKey, domain: version.headerKeyDomain)
        self.cipher = try ChunkCipher(key: BLAKE2b.deriveKey(from: fileKey, domain: version.payloadKeyDomain))
    }

    package static func random(version: FormatVersion = .v1) throws -> KeySchedule {
        try KeySchedule(fileKey: SecureBytes.random(count: FormatV1.fileKeyLength), version: version)
    }
}
