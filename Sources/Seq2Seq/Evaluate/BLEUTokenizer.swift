/// The word tokenizers sacreBLEU applies before counting BLEU n-grams.
///
/// - `thirteenA` (`tok:13a`, sacreBLEU's default): mteval-v13a.pl as ported by
///   `sacrebleu/tokenizers/tokenizer_13a.py` and `tokenizer_re.py`.
/// - `char` (`tok:char`): every non-whitespace code point is one token
///   (`" ".join(line)` followed by `split()`); use it for Korean targets.
///
/// Both work on Unicode code points and Python's whitespace set, exactly as the
/// Python originals do.
public enum BLEUTokenizer: String, Sendable, CaseIterable {
    case thirteenA = "13a"
    case char = "char"

    /// The tokens of `line` (without BLEU's preceding `rstrip()`).
    public func tokenize(_ line: String) -> [String] {
        tokens(of: scalarValues(line)[...]).map { stringFromScalars($0) }
    }

    /// Tokens as slices of code point values (what BLEU counts).
    func tokens(of line: ArraySlice<UInt32>) -> [ArraySlice<UInt32>] {
        switch self {
        case .thirteenA: return pythonSplit(Self.regexp13a(Self.unescape13a(Array(line))))
        case .char: return pythonSplit(Array(line)).flatMap { word in word.indices.map { word[$0...$0] } }
        }
    }

    // MARK: - 13a

    private static let skipped: [UInt32] = Array("<skipped>".unicodeScalars.map(\.value))
    private static let dashNewline: [UInt32] = [0x2D, 0x0A]
    private static let escapes: [([UInt32], [UInt32])] = [
        ("&quot;", "\""), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"),
    ].map { (Array($0.0.unicodeScalars.map(\.value)), Array($0.1.unicodeScalars.map(\.value))) }

    /// The language-independent part of `Tokenizer13a.__call__`:
    /// drop `<skipped>` and `-\n`, turn `\n` into a space, and (only if the line
    /// contains `&`) undo the four XML escapes, in this order. Sequential
    /// replacement is kept on purpose: `&amp;lt;` becomes `<`, as in sacreBLEU.
    static func unescape13a(_ line: [UInt32]) -> [UInt32] {
        var s = line
        if s.contains(0x3C) { s = pythonReplace(s, skipped, []) }
        if s.contains(0x0A) {
            s = pythonReplace(s, dashNewline, [])
            s = pythonReplace(s, [0x0A], [0x20])
        }
        if s.contains(0x26) {
            for (old, new) in escapes { s = pythonReplace(s, old, new) }
        }
        return s
    }

    /// `([\{-\~\[-\` -\&\(-\+\:-\@\/])`: space ! " # $ % & ( ) * + / : ; < = > ? @
    /// [ \ ] ^ _ ` { | } ~ (not ' - . ,).
    @inline(__always)
    static func isSplitPunctuation(_ c: UInt32) -> Bool {
        switch c {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    @inline(__always) static func isASCIIDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isPeriodOrComma(_ c: UInt32) -> Bool { c == 0x2E || c == 0x2C }

    /// `TokenizerRegexp`: the four `re.sub` passes of sacreBLEU over `f" {line} "`.
    /// Each pattern matches exactly one or two code points, so `re.sub`'s
    /// left-to-right, non-overlapping scan is reproduced by a loop that either
    /// consumes a match (and resumes after it) or copies one code point.
    static func regexp13a(_ line: [UInt32]) -> [UInt32] {
        let space: UInt32 = 0x20
        // f" {line} " + r' \1 ' around each listed punctuation mark
        var a: [UInt32] = []
        a.reserveCapacity(line.count * 2 + 8)
        a.append(contentsOf: [space, space, space])  // the leading pad is itself punctuation
        for c in line {
            if isSplitPunctuation(c) { a.append(space); a.append(c); a.append(space) } else { a.append(c) }
        }
        a.append(contentsOf: [space, space, space])

        // ([^0-9])([\.,]) -> r'\1 \2 '
        var b: [UInt32] = []
        b.reserveCapacity(a.count + 16)
        var i = 0
        while i < a.count {
            if i + 1 < a.count && !isASCIIDigit(a[i]) && isPeriodOrComma(a[i + 1]) {
                b.append(a[i]); b.append(space); b.append(a[i + 1]); b.append(space)
                i += 2
            } else {
                b.append(a[i]); i += 1
            }
        }
        // ([\.,])([^0-9]) -> r' \1 \2'
        var c: [UInt32] = []
        c.reserveCapacity(b.count + 16)
        i = 0
        while i < b.count {
            if i + 1 < b.count && isPeriodOrComma(b[i]) && !isASCIIDigit(b[i + 1]) {
                c.append(space); c.append(b[i]); c.append(space); c.append(b[i + 1])
                i += 2
            } else {
                c.append(b[i]); i += 1
            }
        }
        // ([0-9])(-) -> r'\1 \2 '
        var d: [UInt32] = []
        d.reserveCapacity(c.count + 16)
        i = 0
        while i < c.count {
            if i + 1 < c.count && isASCIIDigit(c[i]) && c[i + 1] == 0x2D {
                d.append(c[i]); d.append(space); d.append(0x2D); d.append(space)
                i += 2
            } else {
                d.append(c[i]); i += 1
            }
        }
        return d
    }
}
