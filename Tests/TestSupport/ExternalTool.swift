import Foundation

/// A program some tests run besides `sealed-archive` and the base system
/// (sh, coreutils, diff): an interoperability partner (age, GNU tar, zstd,
/// rclone), a fixture generator (python3, PyNaCl) or a way to drop
/// privileges (setpriv).
///
/// A test that needs one is `.enabled(if: ExternalTool.x.enabled, "…")`
/// and finds it with `try ExternalTool.x.path()`. In the fast tier a
/// missing tool skips the test; in the full tier the test runs anyway and
/// `path()` fails it, so CI cannot silently lose coverage because a package
/// went missing.
public enum ExternalTool: String, CaseIterable, Sendable, CustomStringConvertible {
    case age
    case ageKeygen = "age-keygen"
    case gnuTar = "tar"
    case zstd
    case pzstd
    case rclone
    case python3
    /// python3 with PyNaCl (Debian: python3-nacl).
    case pyNaCl = "python3-nacl"
    case setpriv
    /// util-linux `setsid`, to run a command without a controlling terminal.
    case setsid
    case runuser
    /// GNU time, for peak RSS (`/usr/bin/time -f %M`).
    case gnuTime = "time"
    /// util-linux `script`, to give a command a terminal.
    case script
    /// For the offsite kit: its scripts are checked, its rsync transport
    /// run, its units verified.
    case shellcheck
    case rsync
    case systemdAnalyze = "systemd-analyze"
    /// OpenSSH's server and client, for sftp and rsync targets on loopback.
    case sshd
    case ssh
    /// The offsite kit's health-check pings.
    case curl

    public var description: String { rawValue }

    /// The Debian package that provides it.
    public var package: String {
        switch self {
        case .age, .ageKeygen: return "age"
        case .gnuTar: return "tar"
        case .zstd, .pzstd: return "zstd"
        case .rclone: return "rclone"
        case .python3: return "python3"
        case .pyNaCl: return "python3-nacl"
        case .setpriv, .runuser, .setsid: return "util-linux"
        case .gnuTime: return "time"
        case .script: return "bsdutils"
        case .shellcheck: return "shellcheck"
        case .rsync: return "rsync"
        case .systemdAnalyze: return "systemd"
        case .sshd: return "openssh-server"
        case .ssh: return "openssh-client"
        case .curl: return "curl"
        }
    }

    /// Where it is installed, or nil.
    public var location: String? { Self.locations[self] ?? nil }

    /// Whether it is installed (and, for GNU tools, is the GNU one).
    public var isAvailable: Bool { location != nil }

    /// Whether tests needing it run: always in the full tier (where a
    /// missing tool then fails them), only when installed in the fast tier.
    public var enabled: Bool { TestTier.full || isAvailable }

    /// The tool's path; throws (failing the test) when it is missing.
    public func path() throws -> String {
        guard let location else { throw MissingTool(tool: self) }
        return location
    }

    struct MissingTool: Error, CustomStringConvertible {
        let tool: ExternalTool
        var description: String {
            "\(tool) is not installed (Debian package \(tool.package)); the full tier (\(TestTier.variable)=1) requires it"
        }
    }

    /// Found once per test process.
    private static let locations: [ExternalTool: String?] = {
        var found: [ExternalTool: String?] = [:]
        for tool in allCases { found[tool] = tool.find() }
        return found
    }()

    private func find() -> String? {
        switch self {
        case .pyNaCl:
            guard let python = Self.onPath("python3"),
                  Self.succeeds(python, ["-c", "import nacl.bindings"]) else { return nil }
            return python
        case .gnuTar:
            guard let tar = Self.onPath("tar"), Self.succeeds(tar, ["--zstd", "--version"]) else { return nil }
            return tar
        case .gnuTime:
            // The shell keyword `time` is not it: GNU time lives in /usr/bin.
            return FileManager.default.isExecutableFile(atPath: "/usr/bin/time") ? "/usr/bin/time" : nil
        default:
            return Self.onPath(rawValue)
        }
    }

    /// The first executable `name` on PATH (plus the sbin directories, where
    /// Debian puts runuser).
    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether `executable arguments` exits 0 (output discarded).
    static func succeeds(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationReason == .exit && process.terminationStatus == 0
    }
}
