import Foundation

/// Messages for the person at the terminal, on standard error.
enum Terminal {
    static func error(_ message: String) { write("sealed-archive: error: \(message)\n") }
    static func note(_ message: String) { write("\(message)\n") }

    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
