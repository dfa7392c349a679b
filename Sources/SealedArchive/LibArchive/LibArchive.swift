internal import CArchive
import Foundation

/// The one place that turns libarchive return codes into errors. Every
/// libarchive call goes through ``check(_:_:_:code:)``: ARCHIVE_WARN and
/// ARCHIVE_FAILED are failures too, since a warning while packing or
/// extracting a backup means something was not stored or restored exactly.
enum LibArchive {
    static func check(_ result: Int32, _ handle: OpaquePointer, _ what: @autoclosure () -> String,
                      code: SealedArchiveError.Code = .io) throws {
        guard result == CARCHIVE_OK else { throw error(handle, what(), code: code) }
    }

    /// The detail is escaped with ``shownName(_:)``: libarchive puts entry
    /// names and paths from a hostile archive into its messages as they are
    /// (`Can't create '…'`), and they could hold terminal escapes.
    static func error(_ handle: OpaquePointer, _ what: String, code: SealedArchiveError.Code = .io) -> SealedArchiveError {
        let detail = archive_error_string(handle).map { shownName(Array(UnsafeRawBufferPointer(start: $0, count: strlen($0)))) }
            ?? "libarchive reported no detail"
        return SealedArchiveError(code, "\(what): \(detail)", cause: Detail(text: detail))
    }

    /// libarchive's own words (escaped), kept as the error's cause for a
    /// caller that words the error its own way.
    struct Detail: Error, Sendable {
        let text: String
    }
}

/// What a libarchive callback reaches through `client_data`: the Swift
/// stream, and the Swift error a callback could not throw across C.
final class CallbackContext {
    let sink: ByteSink?
    let source: ByteSource?
    let buffer: UnsafeMutableRawBufferPointer?
    var error: (any Error)?
    /// What the read callback handed libarchive in all, and the stream
    /// offset just past the last byte it handed that is not zero.
    private(set) var handedOut: Int64 = 0
    private(set) var handedBeforeTrailingZeros: Int64 = 0
    /// Set when an unfinished writer is released: the write callback then
    /// drops what libarchive writes (see ``TarStreamWriter``'s deinit).
    var discarding = false

    init(sink: ByteSink) {
        self.sink = sink
        self.source = nil
        self.buffer = nil
    }

    init(source: ByteSource, bufferSize: Int) {
        self.sink = nil
        self.source = source
        self.buffer = .allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        if let buffer {
            secureZero(buffer)
            buffer.deallocate()
        }
    }

    /// Whether every byte handed to libarchive from stream offset
    /// `position` on is zero, however many calls handed them.
    func handedBytesAreZero(from position: Int64) -> Bool {
        handedBeforeTrailingZeros <= position
    }

    /// Rethrows the error a callback recorded, in preference to libarchive's
    /// own report of the failure it caused.
    func rethrowRecorded() throws {
        if let error { throw error }
    }

    static let write: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = { _, client, bytes, count in
        let context = Unmanaged<CallbackContext>.fromOpaque(client!).takeUnretainedValue()
        if context.discarding { return count }
        do {
            try context.sink!.write(UnsafeRawBufferPointer(start: bytes, count: count))
            return count
        } catch {
            context.error = error
            return -1
        }
    }

    static let read: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = { _, client, out in
        let context = Unmanaged<CallbackContext>.fromOpaque(client!).takeUnretainedValue()
        do {
            let n = try context.source!.read(into: context.buffer!)
            out!.pointee = UnsafeRawPointer(context.buffer!.baseAddress)
            let nonZero = UnsafeRawBufferPointer(rebasing: context.buffer![..<n]).lengthBeforeTrailingZeros
            if nonZero > 0 { context.handedBeforeTrailingZeros = context.handedOut + Int64(nonZero) }
            context.handedOut += Int64(n)
            return n
        } catch {
            context.error = error
            return -1
        }
    }
}
