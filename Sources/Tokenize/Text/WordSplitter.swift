/// One word from `WordSplitter`: the text between two ICU word boundaries that
/// is not whitespace, and whether a space (or the start of the line) came before it.
public struct Word: Sendable, Equatable, CustomStringConvertible {
    /// The word's text (never contains a space).
    public var text: String
    /// True when a space preceded the word in the normalized text, or the word
    /// starts the line (a line start counts as a word boundary, like in SentencePiece).
    public var startsWord: Bool
    /// ICU's rule status for the segment: 0-99 none (punctuation, symbols),
    /// 100-199 number, 200-299 letter, 300-399 kana, 400-499 ideographic.
    public var ruleStatus: Int32

    /// A word with its word-start flag and ICU rule status.
    public init(text: String, startsWord: Bool, ruleStatus: Int32) {
        self.text = text
        self.startsWord = startsWord
        self.ruleStatus = ruleStatus
    }

    public var description: String { (startsWord ? "▁" : "") + text }
}

/// Second pipeline stage: ICU word break iterator (UBRK_WORD) over normalized text.
///
/// Spaces are not tokens: each word records whether a space came before it,
/// so `Detokenizer` restores the normalized text exactly. Hangul eojeol stay
/// whole (ICU breaks Hangul on spaces only); mixed-script runs split where ICU
/// says (`iPhone을`, `3월`). Words longer than `maximumWordUnits` UTF-16 units
/// are cut into chunks (never inside a surrogate pair) so that subword
/// encoding stays linear in the line length.
///
/// The ICU iterator is opened once and reused for every line. Not thread-safe:
/// use one splitter per thread.
public final class WordSplitter {
    /// Longest run of UTF-16 units handed to the subword model as one word.
    public static let maximumWordUnits = 64

    private let breaker: ICU.WordBreaker
    private let ends = ScratchBuffer<Int32>(capacity: 1024)
    private let statuses = ScratchBuffer<Int32>(capacity: 1024)
    private let normalizer: Normalizer

    /// Opens the ICU word break iterator (root locale). Throws
    /// `TokenizeError.icuFailure` if ICU cannot open it.
    public init(normalizer: Normalizer) throws {
        breaker = try ICU.WordBreaker()
        self.normalizer = normalizer
    }

    /// Normalizes `text` and splits it into words.
    public func split(_ text: String) -> [Word] {
        var words: [Word] = []
        forEachWord(in: text) { units, startsWord, status in
            words.append(Word(text: String(decoding: units, as: UTF16.self),
                              startsWord: startsWord, ruleStatus: status))
        }
        return words
    }

    /// Normalizes `text` and calls `body` for each word with its UTF-16 units
    /// (valid only during the call), its word-start flag and its rule status
    /// (0 when `ruleStatus` is false: skipping ICU's status lookup is faster).
    func forEachWord(in text: String, ruleStatus: Bool = true,
                     _ body: (UnsafeBufferPointer<UInt16>, Bool, Int32) -> Void) {
        let n = normalizer.normalizeToBuffer(text)
        guard n > 0 else { return }
        let units = normalizer.output.pointer
        var count: Int
        while true {
            count = breaker.segments(units, count: n, ends: ends.pointer,
                                     statuses: ruleStatus ? statuses.pointer : nil, capacity: ends.capacity)
            if count < 0 { count = 0; break }   // ICU failure: nothing to split
            if count <= ends.capacity { break }
            ends.reserve(count)
            statuses.reserve(count)
        }
        var start = 0
        var afterSpace = true   // the line start counts as a word boundary
        let limit = WordSplitter.maximumWordUnits
        for k in 0..<count {
            let end = Int(ends.pointer[k])
            defer { start = end }
            var chunkStart = start
            // ICU glues combining marks and ZWJ to a preceding space (UAX #29
            // rule WB4: " \u{301}" is one segment); the space is never part of a word.
            if units[chunkStart] == 0x20 {
                afterSpace = true
                chunkStart += 1
                if chunkStart == end { continue }
            }
            var first = true
            while chunkStart < end {
                var chunkEnd = min(end, chunkStart + limit)
                // Never split a surrogate pair.
                if chunkEnd < end && (units[chunkEnd] & 0xFC00) == 0xDC00 { chunkEnd -= 1 }
                body(UnsafeBufferPointer(start: units + chunkStart, count: chunkEnd - chunkStart),
                     first && afterSpace, ruleStatus ? statuses.pointer[k] : 0)
                first = false
                chunkStart = chunkEnd
            }
            afterSpace = false
        }
    }
}
