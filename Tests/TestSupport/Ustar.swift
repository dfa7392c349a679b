import Foundation

/// One member of a hand-made ustar stream (the spec's vectors, the fuzz
/// seeds): fixed owner and time, so the bytes are the same on every machine.
public struct TarMember {
    public enum Kind: UInt8 { case file = 0x30, hardLink = 0x31, symbolicLink = 0x32, directory = 0x35 }
    public var name: String
    public var kind: Kind
    public var content: [UInt8]
    public var link: String

    public init(name: String, kind: Kind, content: [UInt8] = [], link: String = "") {
        (self.name, self.kind, self.content, self.link) = (name, kind, content, link)
    }
}

/// A ustar stream of `members` and its end-of-archive marker (POSIX.1-1988
/// headers: names under 100 bytes, owner root, mtime fixed).
public func ustar(_ members: [TarMember]) -> [UInt8] {
    func octal(_ value: Int, _ width: Int) -> [UInt8] {
        Array(String(value, radix: 8).leftPadded(width - 1).replacingOccurrences(of: " ", with: "0").utf8) + [0]
    }
    func field(_ text: String, _ width: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        return bytes + [UInt8](repeating: 0, count: width - bytes.count)
    }
    var tar: [UInt8] = []
    for member in members {
        var header = field(member.name, 100) + octal(member.kind == .directory ? 0o755 : 0o644, 8) + octal(0, 8) + octal(0, 8)
            + octal(member.kind == .file ? member.content.count : 0, 12) + octal(1_795_000_000, 12)
            + [UInt8](repeating: 0x20, count: 8) + [member.kind.rawValue] + field(member.link, 100)
            + Array("ustar\u{0}00".utf8) + field("root", 32) + field("root", 32) + octal(0, 8) + octal(0, 8) + field("", 155)
        header += [UInt8](repeating: 0, count: 512 - header.count)
        let sum = header.reduce(0) { $0 + Int($1) }
        header.replaceSubrange(148..<156, with: Array(String(sum, radix: 8).leftPadded(6).replacingOccurrences(of: " ", with: "0").utf8) + [0, 0x20])
        tar += header
        if member.kind == .file {
            tar += member.content + [UInt8](repeating: 0, count: (512 - member.content.count % 512) % 512)
        }
    }
    return tar + [UInt8](repeating: 0, count: 1024)
}

private extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
