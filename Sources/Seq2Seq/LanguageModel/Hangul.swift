/// Hangul syllables ↔ conjoining jamo (Unicode §3.12), for `--units jamo`.
///
/// A precomposed syllable S in U+AC00…U+D7A3 is `0xAC00 + (l·21 + v)·28 + t` with a leading
/// consonant L = U+1100 + l (19), a vowel V = U+1161 + v (21) and an optional trailing consonant
/// T = U+11A7 + t (27, t > 0). Decomposing every syllable gives the NFD of Hangul text; composing
/// L V (T) runs back gives its NFC. Writing ~11,000 syllables with 67 letters is what makes a
/// jamo language model's alphabet small.
public enum Hangul {
    static let syllableBase: UInt32 = 0xAC00, syllableCount: UInt32 = 11172
    static let leadBase: UInt32 = 0x1100, vowelBase: UInt32 = 0x1161, trailBase: UInt32 = 0x11A7
    static let leadCount: UInt32 = 19, vowelCount: UInt32 = 21, trailCount: UInt32 = 28

    /// The conjoining jamo of a precomposed syllable (2 or 3 scalars), or nil for any other scalar.
    public static func decompose(_ s: Unicode.Scalar) -> [Unicode.Scalar]? {
        let value = s.value
        guard value >= syllableBase, value < syllableBase + syllableCount else { return nil }
        let index = value - syllableBase
        let l = index / (vowelCount * trailCount), v = (index % (vowelCount * trailCount)) / trailCount, t = index % trailCount
        var out = [scalar(leadBase + l), scalar(vowelBase + v)]
        if t > 0 { out.append(scalar(trailBase + t)) }
        return out
    }

    /// The scalar of a value computed from the ranges above (always valid there).
    private static func scalar(_ value: UInt32) -> Unicode.Scalar { Unicode.Scalar(value) ?? "\u{FFFD}" }

    static func isLead(_ s: Unicode.Scalar) -> Bool { s.value >= leadBase && s.value < leadBase + leadCount }
    static func isVowel(_ s: Unicode.Scalar) -> Bool { s.value >= vowelBase && s.value < vowelBase + vowelCount }
    static func isTrail(_ s: Unicode.Scalar) -> Bool { s.value > trailBase && s.value < trailBase + trailCount }

    /// The syllable of a lead, a vowel and an optional trail.
    static func compose(lead: Unicode.Scalar, vowel: Unicode.Scalar, trail: Unicode.Scalar?) -> Unicode.Scalar {
        let t = trail.map { $0.value - trailBase } ?? 0
        return scalar(syllableBase + ((lead.value - leadBase) * vowelCount + vowel.value - vowelBase) * trailCount + t)
    }

    /// The Hangul Compatibility Jamo letter (U+3131…U+3163) that displays a lone conjoining jamo
    /// on its own, e.g. a vowel a model produced without a leading consonant; nil for other scalars.
    public static func standalone(_ s: Unicode.Scalar) -> Unicode.Scalar? {
        let value = s.value
        if isLead(s) { return scalar(leadLetters[Int(value - leadBase)]) }
        if isVowel(s) { return scalar(0x314F + value - vowelBase) }
        if isTrail(s) { return scalar(trailLetters[Int(value - trailBase - 1)]) }
        return nil
    }

    private static let leadLetters: [UInt32] = [0x3131, 0x3132, 0x3134, 0x3137, 0x3138, 0x3139, 0x3141, 0x3142, 0x3143,
                                                0x3145, 0x3146, 0x3147, 0x3148, 0x3149, 0x314A, 0x314B, 0x314C, 0x314D, 0x314E]
    private static let trailLetters: [UInt32] = [0x3131, 0x3132, 0x3133, 0x3134, 0x3135, 0x3136, 0x3137, 0x3139, 0x313A,
                                                 0x313B, 0x313C, 0x313D, 0x313E, 0x313F, 0x3140, 0x3141, 0x3142, 0x3144,
                                                 0x3145, 0x3146, 0x3147, 0x3148, 0x314A, 0x314B, 0x314C, 0x314D, 0x314E]

    /// Composes conjoining jamo into syllables as they arrive, so that a sampler can print each
    /// syllable as soon as it is complete: `append` returns the text that can no longer change,
    /// `finish` the rest. L V T, and L V followed by anything but T, become one syllable; jamo
    /// that do not form a syllable are written as compatibility letters (`standalone`), so the
    /// output is always displayable Hangul. Other scalars pass through unchanged.
    public struct Composer {
        private var lead: Unicode.Scalar?
        private var vowel: Unicode.Scalar?

        public init() {}

        /// Adds one scalar; returns what is final now.
        public mutating func append(_ s: Unicode.Scalar) -> String {
            var out = String.UnicodeScalarView()
            if lead != nil, vowel == nil, isVowel(s) { vowel = s; return "" }                 // L + V
            if let l = lead, let v = vowel, isTrail(s) {                                       // L V + T: complete
                out.append(compose(lead: l, vowel: v, trail: s))
                lead = nil; vowel = nil
                return String(out)
            }
            out.append(contentsOf: flushScalars())
            if isLead(s) { lead = s } else { out.append(standalone(s) ?? s) }
            return String(out)
        }

        /// The pending syllable or letter, if any.
        public mutating func finish() -> String { String(String.UnicodeScalarView(flushScalars())) }

        private mutating func flushScalars() -> [Unicode.Scalar] {
            defer { lead = nil; vowel = nil }
            guard let l = lead else { return [] }
            if let v = vowel { return [compose(lead: l, vowel: v, trail: nil)] }
            return [standalone(l) ?? l]
        }
    }
}
