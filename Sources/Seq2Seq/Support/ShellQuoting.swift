import Foundation

/// `text` as one word for a POSIX shell: unchanged when it holds only safe
/// characters, else in single quotes (a `'` inside becomes `'\''`), so a
/// printed command can be pasted back into a terminal.
public func shellQuoted(_ text: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !text.isEmpty && text.allSatisfy({ safe.contains($0) }) { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
