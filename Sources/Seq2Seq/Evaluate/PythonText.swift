// Text primitives with Python 3 `str` semantics, so that the metrics in this
// folder see exactly the characters and whitespace that sacreBLEU sees.
//
// Python strings are sequences of Unicode code points, not grapheme clusters:
// "e\u{301}" is two characters there and two chrF unigrams. Swift's `String`
// compares by canonical equivalence and counts graphemes, so the metrics work
// on arrays of scalar values (`[UInt32]`) instead.

/// The version of sacreBLEU whose results the metrics reproduce (it appears in
/// every signature string).
public let sacreBLEUVersion = "2.6.0"

/// Python's `str.isspace()` for one code point: the characters `str.split()`
/// splits on and `str.strip()` removes (bidirectional class WS, B or S, or
/// general category Zs).
@inline(__always)
func isPythonWhitespace(_ c: UInt32) -> Bool {
    switch c {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
         0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}

/// The code points of `text`, in order.
@inline(__always)
func scalarValues(_ text: String) -> [UInt32] {
    var out: [UInt32] = []
    out.reserveCapacity(text.utf8.count)
    for s in text.unicodeScalars { out.append(s.value) }
    return out
}

/// Python's `s.rstrip()`.
func pythonRightStrip(_ s: [UInt32]) -> ArraySlice<UInt32> {
    var end = s.count
    while end > 0 && isPythonWhitespace(s[end - 1]) { end -= 1 }
    return s[0..<end]
}

/// Python's `s.split()`: maximal runs of non-whitespace, as slices of `s`.
func pythonSplit(_ s: [UInt32]) -> [ArraySlice<UInt32>] {
    var tokens: [ArraySlice<UInt32>] = []
    var i = 0
    let n = s.count
    while i < n {
        while i < n && isPythonWhitespace(s[i]) { i += 1 }
        if i == n { break }
        let start = i
        while i < n && !isPythonWhitespace(s[i]) { i += 1 }
        tokens.append(s[start..<i])
    }
    return tokens
}

/// Python's `s.replace(old, new)`: non-overlapping occurrences, left to right.
func pythonReplace(_ s: [UInt32], _ old: [UInt32], _ new: [UInt32]) -> [UInt32] {
    let n = s.count, m = old.count
    guard m > 0, n >= m else { return s }
    var out: [UInt32] = []
    out.reserveCapacity(n)
    var i = 0
    while i < n {
        if i + m <= n && s[i] == old[0] && s[i..<(i + m)].elementsEqual(old) {
            out.append(contentsOf: new)
            i += m
        } else {
            out.append(s[i])
            i += 1
        }
    }
    return out
}

/// A `String` from code point values produced by this module (always valid scalars).
func stringFromScalars<C: Collection>(_ values: C) -> String where C.Element == UInt32 {
    var s = String.UnicodeScalarView()
    for v in values {
        if let u = Unicode.Scalar(v) { s.append(u) }
    }
    return String(s)
}
