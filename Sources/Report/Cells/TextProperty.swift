/// A simple property of the text at each position that a hidden unit might
/// track. Each is what a left-to-right reader knows after reading the
/// position, so a recurrent network could compute it.
public enum TextProperty: String, CaseIterable, Sendable {
    /// Characters since the start of the line, at the piece's end (0, 1, 2, …).
    case positionInLine = "position in the line"
    /// 1 while a quotation (`"…"`, `“…”`, `「…」`, `『…』`, `«…»`) is open after
    /// this piece, else 0. The opening mark is inside, the closing one outside;
    /// a line end closes every quotation.
    case insideQuotes = "inside quotes"
    /// 1 while a bracket (`( [ {`) is open after this piece, else 0.
    case insideBrackets = "inside brackets"
    /// 1 for a piece with Hangul letters, 0 for one with Latin letters and
    /// none of Hangul, undefined for pieces without letters of either script.
    case hangulVersusLatin = "Hangul (1) vs Latin (0) script"
    /// 1 if a word (letters or digits) begins in this piece, else 0.
    case wordStart = "start of a word"
    /// 1 for a piece holding sentence-final punctuation (`. ! ? 。 ！ ？ …`)
    /// that is followed by a space, a line end, a closing quote or the end
    /// of the text (so "3.14" does not count), else 0.
    case sentenceEnd = "closing of a sentence"

    /// Whether the property is 0/1 (drawn as an underline where it is 1).
    public var isBinary: Bool { self != .positionInLine }

    /// The property at every position of `pieces` (nil where it is undefined).
    public static func values(of property: TextProperty, pieces: [String]) -> [Double?] {
        let scan = TextScan(pieces: pieces)
        switch property {
        case .positionInLine: return scan.column.map { Double($0) }
        case .insideQuotes: return scan.insideQuotes.map { $0 ? 1 : 0 }
        case .insideBrackets: return scan.insideBrackets.map { $0 ? 1 : 0 }
        case .hangulVersusLatin: return scan.script
        case .wordStart: return scan.wordStart.map { $0 ? 1 : 0 }
        case .sentenceEnd: return scan.sentenceEnd.map { $0 ? 1 : 0 }
        }
    }
}

/// One left-to-right pass over the pieces that computes every property.
struct TextScan {
    var column: [Int] = []
    var insideQuotes: [Bool] = []
    var insideBrackets: [Bool] = []
    var script: [Double?] = []
    var wordStart: [Bool] = []
    var sentenceEnd: [Bool] = []

    static let pairedQuotes: [Character: Character] = ["“": "”", "「": "」", "『": "』", "«": "»", "‘": "’"]
    static let closingQuotes: Set<Character> = ["”", "」", "』", "»", "’", "\"", "'", ")"]
    static let sentenceFinal: Set<Character> = [".", "!", "?", "。", "！", "？", "…"]
    static let openBrackets: Set<Character> = ["(", "[", "{"]
    static let closeBrackets: Set<Character> = [")", "]", "}"]

    init(pieces: [String]) {
        let characters = pieces.map { Array($0) }
        var col = 0
        var quoteStack: [Character] = []   // expected closing marks
        var depth = 0
        var previous: Character = "\n"
        for (p, all) in characters.enumerated() {
            // A line end at the piece's end takes effect after the piece (its values are those of the line's end).
            let endsLine = all.last == "\n"
            let chars = endsLine ? Array(all.dropLast()) : all
            var hasHangul = false, hasLatin = false, startsWord = false, ends = false
            for (k, ch) in chars.enumerated() {
                if ch == "\n" { col = 0; quoteStack.removeAll() } else { col += 1 }
                if ch == "\"" {
                    if quoteStack.last == "\"" { quoteStack.removeLast() } else { quoteStack.append("\"") }
                } else if let close = Self.pairedQuotes[ch] {
                    quoteStack.append(close)
                } else if let open = quoteStack.last, ch == open {
                    quoteStack.removeLast()
                }
                if Self.openBrackets.contains(ch) { depth += 1 }
                if Self.closeBrackets.contains(ch) { depth = max(0, depth - 1) }
                if Self.isHangul(ch) { hasHangul = true } else if Self.isLatin(ch) { hasLatin = true }
                if Self.isWordCharacter(ch) && !Self.isWordCharacter(previous) { startsWord = true }
                if Self.sentenceFinal.contains(ch) {
                    let next = Self.character(after: p, k, in: characters)
                    if next == nil || next!.isWhitespace || Self.closingQuotes.contains(next!) { ends = true }
                }
                previous = ch
            }
            column.append(col)
            insideQuotes.append(!quoteStack.isEmpty)
            insideBrackets.append(depth > 0)
            script.append(hasHangul ? 1 : hasLatin ? 0 : nil)
            wordStart.append(startsWord)
            sentenceEnd.append(ends)
            if endsLine { col = 0; quoteStack.removeAll(); previous = "\n" }
        }
    }

    static func character(after piece: Int, _ index: Int, in characters: [[Character]]) -> Character? {
        if index + 1 < characters[piece].count { return characters[piece][index + 1] }
        var p = piece + 1
        while p < characters.count {
            if let first = characters[p].first { return first }
            p += 1
        }
        return nil
    }

    static func isHangul(_ ch: Character) -> Bool {
        ch.unicodeScalars.contains { (0xAC00...0xD7A3).contains($0.value) || (0x1100...0x11FF).contains($0.value)
            || (0x3130...0x318F).contains($0.value) }
    }

    static func isLatin(_ ch: Character) -> Bool {
        ch.unicodeScalars.contains { (0x41...0x5A).contains($0.value) || (0x61...0x7A).contains($0.value)
            || (0xC0...0x24F).contains($0.value) }
    }

    static func isWordCharacter(_ ch: Character) -> Bool { ch.isLetter || ch.isNumber }
}
