import Foundation
import FuzzSupport
@testable import SealedArchive

// EntryPolicy over a sequence of tar entries decoded from the input. Each
// entry: kind (1 byte: file, directory, symlink, hardlink, other), size
// (1 byte, signed), path length (1 byte) and path, target length (1 byte)
// and target (the link target for links). The first byte chooses
// --allow-escaping-symlinks. An admitted path is relative, normalised and
// has no `..`; an admitted symbolic link does not escape unless allowed.

struct Input {
    var bytes: ArraySlice<UInt8>
    mutating func byte() -> UInt8? { bytes.popFirst() }
    mutating func field() -> [UInt8]? {
        guard let length = byte() else { return nil }
        let field = Array(bytes.prefix(Int(length)))
        bytes = bytes.dropFirst(Int(length))
        return field
    }
}

func encode(_ kind: UInt8, _ path: String, _ target: String = "", size: Int8 = 0) -> [UInt8] {
    [kind, UInt8(bitPattern: size), UInt8(path.utf8.count)] + Array(path.utf8) + [UInt8(target.utf8.count)] + Array(target.utf8)
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { _ in
        [("tree", [0] + encode(1, "./") + encode(1, "d/") + encode(0, "d/f", size: 5) + encode(2, "d/l", "../d/f")
            + encode(3, "d/h", "d/f") + encode(0, "MANIFEST.sha256", size: 80)),
         ("hostile", [1] + encode(2, "l", "/etc") + encode(0, "l/x") + encode(0, "../up") + encode(4, "fifo")
            + encode(3, "h", "missing", size: 3) + encode(0, "a//./b") + encode(1, "a"))]
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = Input(bytes: Fuzz.bytes(data, size)[...])
    let allowEscaping = (input.byte() ?? 0) & 1 == 1
    var policy = EntryPolicy(allowEscapingSymlinks: allowEscaping)
    while let kindByte = input.byte(), let sizeByte = input.byte(), let path = input.field(), let target = input.field() {
        let kind: TarEntry.Kind
        switch kindByte % 5 {
        case 0: kind = .file
        case 1: kind = .directory
        case 2: kind = .symlink
        case 3: kind = .hardlink
        default: kind = .other("a FIFO")
        }
        let entry = TarEntry(path: path, kind: kind, size: Int64(Int8(bitPattern: sizeByte)), permissions: 0o644, modified: 0,
                             symlinkTarget: kind == .symlink ? target : nil, hardlinkTarget: kind == .hardlink ? target : nil,
                             handle: OpaquePointer(bitPattern: 1)!)
        let admitted: [UInt8]?
        do {
            admitted = try policy.admit(entry)
        } catch {
            continue
        }
        guard let admitted else {
            Fuzz.check(kind == .directory, "a non-directory entry for the root was admitted")
            continue
        }
        Fuzz.check(!admitted.isEmpty && admitted.first != UInt8(ascii: "/"), "admitted path is empty or absolute")
        let components = admitted.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        Fuzz.check(!components.contains { $0.isEmpty || Array($0) == [46] || Array($0) == [46, 46] },
                   "admitted path '\(shownName(admitted))' has an empty, . or .. component")
        Fuzz.check((try? EntryPolicy.normalize(admitted)) == admitted, "admitted path is not normalised")
        Fuzz.check(admitted.count <= EntryPolicy.maximumPathLength, "admitted path is too long")
        if kind == .symlink && !allowEscaping {
            Fuzz.check(!EntryPolicy.escapes(target, from: admitted), "an escaping symbolic link was admitted")
        }
        if kind == .file || kind == .hardlink {
            Fuzz.check(policy.files.contains(admitted), "an admitted file is not recorded")
        }
    }
    return 0
}
