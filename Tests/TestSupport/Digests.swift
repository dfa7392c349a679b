import SealedArchiveFormat

/// Lowercase hex of `bytes`, as sha256sum and the vectors write digests.
public func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// The SHA-256 of `bytes` in lowercase hex, computed by the format core's
/// own SHA-256 (OpenSSL), so the tests need no second implementation.
public func sha256Hex(_ bytes: [UInt8]) -> String {
    // SHA256() fails only when OpenSSL cannot allocate a context, which no
    // test can recover from.
    let hasher = try! SHA256()
    bytes.withUnsafeBytes { hasher.update($0) }
    return hex(hasher.finalize())
}
