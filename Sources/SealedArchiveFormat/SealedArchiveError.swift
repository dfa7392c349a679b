/// An error from SealedArchive: a stable ``Code`` that programs (and the CLI's
/// exit codes) act on, a one-line message for a person, and the underlying
/// cause when there is one.
///
/// Two errors are equal when their codes are equal, so tests and callers can
/// match on the kind of failure without depending on message wording.
/// Messages never contain secret material.
public struct SealedArchiveError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// What went wrong, as a stable identifier. The archive codes are the
    /// error classes of Spec/FORMAT.md section 10, spelled the same way.
    ///
    /// The set of codes is closed: only this package makes new ones, so a
    /// caller's exhaustive mapping (the CLI's exit codes) cannot meet a code
    /// it has never heard of.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Archive classes (Spec/FORMAT.md section 10).
        /// Not an archive of this format, or a malformed header.
        public static let header = Code(rawValue: "header")
        /// An archive of a version this code does not read.
        public static let version = Code(rawValue: "version")
        /// A format limit was exceeded (header size, recipient count).
        public static let limit = Code(rawValue: "limit")
        /// The input was cut short: it ends inside the header, or before the
        /// end of its trailer.
        public static let truncated = Code(rawValue: "truncated")
        /// Bytes follow a complete trailer: the input was extended.
        public static let trailer = Code(rawValue: "trailer")
        /// None of the identities given is a recipient of the archive.
        public static let noIdentity = Code(rawValue: "no-identity")
        /// A MAC, tag, record hash, digest or count does not match.
        public static let damaged = Code(rawValue: "damaged")
        /// The signature does not verify under the header's signer key.
        public static let signature = Code(rawValue: "signature")
        /// A signer was required and the archive is not signed.
        public static let unsigned = Code(rawValue: "unsigned")
        /// The archive is signed by a key the caller does not trust.
        public static let untrustedSigner = Code(rawValue: "untrusted-signer")

        // Contents of tar payloads (Spec/CLI.md).
        /// The payload is not the tar stream the header says it is.
        public static let payload = Code(rawValue: "payload")
        /// A tar entry that extraction refuses (escaping path, device node…).
        public static let unsafeEntry = Code(rawValue: "unsafe-entry")
        /// MANIFEST.sha256 does not match the files.
        public static let manifest = Code(rawValue: "manifest")

        // Sets of archives (Spec/CLI.md).
        /// The newest archive is older than allowed (RPO), or a chain of
        /// archives has gaps, duplicates, replacements or rollbacks.
        public static let stale = Code(rawValue: "stale")

        // Keys (Spec/KEYS.md).
        /// A key string or key file that does not parse.
        public static let invalidKey = Code(rawValue: "invalid-key")
        /// A secret key file readable or writable by group or others.
        public static let unsafeKeyFile = Code(rawValue: "unsafe-key-file")

        // Everything else.
        /// Reading or writing a file or stream failed.
        public static let io = Code(rawValue: "io")
        /// An argument the caller passed is out of range or inconsistent.
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// libsodium refused an operation that should not fail (key
        /// generation, signing, encryption of data already in memory).
        public static let crypto = Code(rawValue: "crypto")
        /// Memory or another resource ran out: libsodium's secure memory,
        /// a libarchive or OpenSSL object could not be allocated. Not a
        /// fault of the input, and not a cryptographic failure, so it has
        /// its own code; retrying with more memory may succeed.
        public static let resources = Code(rawValue: "resources")
        /// A file this tool keeps between runs (a chain state file, a
        /// keyring's review log) is damaged. Neither an argument nor an
        /// archive is at fault: the message names the file and how to
        /// repair it.
        public static let state = Code(rawValue: "state")

        /// The codes that mean "this archive is not what it claims to be".
        public var isArchiveFault: Bool {
            [.header, .version, .limit, .truncated, .trailer, .damaged,
             .signature, .unsigned, .untrustedSigner, .payload, .unsafeEntry, .manifest].contains(self)
        }

        /// The codes that mean "no key the caller gave can be used".
        public var isKeyFault: Bool {
            [.noIdentity, .invalidKey, .unsafeKeyFile].contains(self)
        }
    }
}
