import Foundation

/// `keyring.json`: every key record of the keyring in one file (Spec/KEYRING.md
/// section 3). It is the commit point of every change to the records: it is
/// replaced whole by one rename, so a rotation (a new active key and the old
/// one retired) or a prune (several keys destroyed) takes effect all at once
/// or not at all.
struct KeyringIndex: Codable {
    static let schema = 1
    var keys: [KeyRecord]

    init(keys: [KeyRecord]) { self.keys = keys }

    enum CodingKeys: String, CodingKey { case schema, keys }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode(keys, forKey: .keys)
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let schema = try container.decode(Int.self, forKey: .schema)
        guard schema == Self.schema else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: container,
                debugDescription: "keyring schema \(schema) is not supported (this version reads schema \(Self.schema))")
        }
        keys = try container.decode([KeyRecord].self, forKey: .keys)
    }
}
