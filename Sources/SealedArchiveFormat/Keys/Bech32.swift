/// Bech32 (BIP 173, checksum constant 1) as age uses it for its keys, without
/// BIP 173's 90-character limit. Spec/KEYS.md section 1.
///
/// Encoding and decoding work on raw buffers and keep no intermediate copy,
/// so secret keys can go between text and `SecureBytes` without ever sitting
/// in a Swift array.
package enum Bech32 {
    private static let alphabet: [UInt8] = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let generator: [UInt32] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    private static let checksumLength = 6

    /// The 5-bit value of a lowercase or uppercase Bech32 character.
    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = Int8(value)
            if character >= UInt8(ascii: "a") { table[Int(character) - 32] = Int8(value) }
        }
        return table
    }()

    private struct Checksum {
        package var value: UInt32 = 1
        package mutating func add(_ fiveBits: UInt8) {
            let top = value >> 25
            value = (value & 0x1ff_ffff) << 5 ^ UInt32(fiveBits)
            for bit in 0..<5 where (top >> UInt32(bit)) & 1 == 1 { value ^= generator[bit] }
        }
        /// The checksum is over the lowercase human-readable part, expanded.
        package mutating func add(humanReadablePart hrp: [UInt8]) {
            for byte in hrp { add(lowercased(byte) >> 5) }
            add(0)
            for byte in hrp { add(lowercased(byte) & 31) }
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// The length of the encoding of `dataCount` bytes under `hrp`.
    package static func encodedLength(hrp: String, dataCount: Int) -> Int {
        hrp.utf8.count + 1 + (dataCount * 8 + 4) / 5 + checksumLength
    }

    /// Writes the encoding of `data` into `output`, which must be exactly
    /// `encodedLength` bytes. `hrp` is given in the case to write.
    package static func encode(hrp: String, data: UnsafeRawBufferPointer, uppercase: Bool, into output: UnsafeMutableRawBufferPointer) {
        let hrpBytes = Array(hrp.utf8)
        precondition(output.count == encodedLength(hrp: hrp, dataCount: data.count))
        var position = 0
        func emit(_ byte: UInt8) { output[position] = byte; position += 1 }
        func emitValue(_ value: UInt8) {
            let character = alphabet[Int(value)]
            emit(uppercase && character >= UInt8(ascii: "a") ? character - 32 : character)
        }
        for byte in hrpBytes { emit(byte) }
        emit(UInt8(ascii: "1"))
        var checksum = Checksum()
        checksum.add(humanReadablePart: hrpBytes)
        // Regroup 8-bit bytes into 5-bit values, zero-padding the end.
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in data {
            accumulator = (accumulator << 8 | UInt32(byte)) & 0xfff
            bits += 8
            while bits >= 5 {
                bits -= 5
                let value = UInt8((accumulator >> UInt32(bits)) & 31)
                checksum.add(value)
                emitValue(value)
            }
        }
        if bits > 0 {
            let value = UInt8((accumulator << UInt32(5 - bits)) & 31)
            checksum.add(value)
            emitValue(value)
        }
        for _ in 0..<checksumLength { checksum.add(0) }
        let final = checksum.value ^ 1
        for index in 0..<checksumLength {
            emitValue(UInt8((final >> UInt32(5 * (checksumLength - 1 - index))) & 31))
        }
    }

    /// Public-key convenience: the encoding as a `String`.
    package static func encode(hrp: String, data: [UInt8], uppercase: Bool = false) -> String {
        var output = [UInt8](repeating: 0, count: encodedLength(hrp: hrp, dataCount: data.count))
        data.withUnsafeBytes { d in output.withUnsafeMutableBytes { encode(hrp: hrp, data: d, uppercase: uppercase, into: $0) } }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes `text` and writes exactly `output.count` bytes of payload.
    ///
    /// Rejects: mixed case, a case other than `uppercase` asks for, another
    /// human-readable part, characters outside the alphabet, a bad checksum,
    /// a payload of another length and non-zero padding bits. `what` names the
    /// key kind in the error message; the text itself is never repeated (it
    /// may be a secret).
    package static func decode(_ text: UnsafeRawBufferPointer, hrp: String, uppercase: Bool, what: String, into output: UnsafeMutableRawBufferPointer) throws {
        func invalid(_ reason: String) -> SealedArchiveError {
            SealedArchiveError(.invalidKey, "not a valid \(what): \(reason)")
        }
        let hrpBytes = Array((uppercase ? hrp.uppercased() : hrp.lowercased()).utf8)
        let expectedLength = encodedLength(hrp: hrp, dataCount: output.count)
        guard text.count == expectedLength else {
            throw invalid("expected \(expectedLength) characters, found \(text.count)")
        }
        guard text.starts(with: hrpBytes), text[hrpBytes.count] == UInt8(ascii: "1") else {
            throw invalid("it does not start with \(String(decoding: hrpBytes, as: UTF8.self))1")
        }
        var checksum = Checksum()
        checksum.add(humanReadablePart: hrpBytes)
        let dataStart = hrpBytes.count + 1
        let valueCount = text.count - dataStart
        var accumulator: UInt32 = 0
        var bits = 0
        var written = 0
        for index in 0..<valueCount {
            let character = text[dataStart + index]
            let isLetter = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lowercased(character))
            guard character < 128, values[Int(character)] >= 0 else { throw invalid("it holds a character outside the Bech32 alphabet") }
            if isLetter && (character >= UInt8(ascii: "a")) == uppercase {
                throw invalid(uppercase ? "it must be all upper case" : "it must be all lower case")
            }
            let value = UInt8(values[Int(character)])
            checksum.add(value)
            guard index < valueCount - checksumLength else { continue }
            accumulator = (accumulator << 5 | UInt32(value)) & 0xfff
            bits += 5
            if bits >= 8 {
                bits -= 8
                guard written < output.count else { throw invalid("its payload is too long") }
                output[written] = UInt8((accumulator >> UInt32(bits)) & 0xff)
                written += 1
            }
        }
        guard checksum.value == 1 else { throw invalid("its checksum does not match (a mistyped or damaged key)") }
        guard written == output.count, bits < 5, accumulator & ((1 << UInt32(bits)) - 1) == 0 else {
            throw invalid("its payload is not \(output.count) bytes")
        }
    }
}
