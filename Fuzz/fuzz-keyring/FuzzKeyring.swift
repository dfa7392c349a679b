import Foundation
import FuzzSupport
@testable import KeyRotation
@testable import SealedArchive

// The keyring's JSON: keyring.json (KeyringIndex), a key record,
// policy.json, review.log lines, and inventory lines (inspect --json).
// A record that decodes encodes (as the keyring writes it) to JSON that
// decodes to an equal record.

let records = """
{"schema":1,"keys":[{"activated":"2026-01-01T00:00:00Z","comment":"first","created":"2026-01-01T00:00:00Z","destroyed":null,"key_id":"0123456789abcdef","public_key":"age1example","purpose":"recipient","retain_until":"2026-09-01T00:00:00Z","retired":"2026-06-01T00:00:00Z","schema":1},{"activated":"2026-06-01T00:00:00Z","comment":null,"created":"2026-06-01T00:00:00Z","destroyed":null,"key_id":"fedcba9876543210","public_key":"sealsig1example","purpose":"signing","retain_until":null,"retired":null,"schema":1}]}
"""
let policy = #"{"schema":1,"review_interval":"90d","retention":"90d","grace":"30d"}"#
let reviewLog = """
{"action_due":true,"actions":[{"due":"2026-03-01T00:00:00Z","key_id":"0123456789abcdef","kind":"rotate","message":"rotate it","purpose":"recipient","reason":"age"},{"due":"2026-03-01T00:00:00Z","kind":"keep","message":"kept"}],"at":"2026-03-01T00:00:00Z","exit_status":3,"inventory_archives":4,"keys":[{"key_id":"0123456789abcdef","purpose":"recipient","status":"active"}],"logged":"2026-03-01T00:00:00Z","schema":1,"signed_outside_window":0,"unrecoverable_archives":1}

"""
let inventory = """
{"archive":"a.sarc","created_unix":1767225600,"recipients":["0123456789abcdef"],"signer_key_id":"fedcba9876543210"}
{"kind":"set","archives":1}
{"created_unix":1767225601,"recipients":["0123456789abcdef","fedcba9876543210"]}\r

"""

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { _ in
        [("keyring.json", Array(records.utf8)), ("policy.json", Array(policy.utf8)),
         ("review.log", Array(reviewLog.utf8)), ("inventory.jsonl", Array(inventory.utf8))]
    }
    return 0
}

func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ data: Data) {
    guard let value = try? JSONDecoder().decode(T.self, from: data) else { return }
    do {
        let encoded = try KeyringJSON.encode(value, pretty: true)
        let again = try JSONDecoder().decode(T.self, from: encoded)
        Fuzz.check(again == value, "\(T.self) does not round-trip: \(String(decoding: encoded, as: UTF8.self))")
    } catch {
        Fuzz.check(false, "\(T.self) decodes but does not round-trip: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Fuzz.bytes(data, size)
    let json = Data(bytes)
    if let index = try? JSONDecoder().decode(KeyringIndex.self, from: json) {
        do {
            let again = try JSONDecoder().decode(KeyringIndex.self, from: KeyringJSON.encode(index, pretty: true))
            Fuzz.check(again.keys == index.keys, "keyring.json does not round-trip")
        } catch {
            Fuzz.check(false, "keyring.json decodes but does not round-trip: \(error)")
        }
    }
    roundTrip(KeyRecord.self, json)
    roundTrip(KeyringPolicy.self, json)
    for line in TextLines.split(bytes) where !line.isEmpty {
        roundTrip(ReviewLogEntry.self, Data(line))
    }
    if let text = String(validating: bytes, as: UTF8.self) {
        do {
            let inventory = try ArchiveInventory(parsingInspectLines: text, source: "fuzz")
            for entry in inventory.entries {
                Fuzz.check(!entry.recipients.isEmpty, "inventory entry without recipients")
            }
        } catch is SealedArchiveError {
        } catch {
            Fuzz.check(false, "inventory parser threw a non-SealedArchiveError: \(error)")
        }
    }
    return 0
}
