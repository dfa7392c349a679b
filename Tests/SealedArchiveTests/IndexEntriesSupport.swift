@testable import SealedArchive

extension SeekablePayload {
    /// The whole index, in order (tests hold it; the library never does).
    func indexEntries() throws -> [IndexEntry] {
        var entries: [IndexEntry] = []
        try forEachIndexEntry { entries.append($0) }
        return entries
    }
}
