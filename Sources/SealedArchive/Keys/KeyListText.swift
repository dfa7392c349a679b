import Foundation

/// The line rules shared by recipients and signers files (Spec/KEYS.md
/// section 3): one key a line, blank lines and `#` comments ignored,
/// surrounding spaces removed. Reading and writing use the same rules, so
/// what ``KeyListFile`` writes reads back the same.
enum KeyListText {
    /// The key lines and the comment texts (without `#` and surrounding
    /// spaces) of a list, in order.
    static func split(_ text: String) -> (keys: [String], comments: [String]) {
        var keys: [String] = []
        var comments: [String] = []
        for line in TextLines.split(text) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("#") {
                comments.append(trimmed.dropFirst().trimmingCharacters(in: .whitespaces))
            } else {
                keys.append(trimmed)
            }
        }
        return (keys, comments)
    }

    /// The comments first (a comment with line breaks becomes several
    /// comment lines), then one key a line, ending with a line break.
    static func join(comments: [String], keys: [String]) -> String {
        let commentLines = comments
            .flatMap { TextLines.split($0) }
            .map { line -> String in
                let text = line.trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? "#" : "# " + text
            }
        return (commentLines + keys).map { $0 + "\n" }.joined()
    }
}
