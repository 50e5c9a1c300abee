/// How many letters of a text are Hangul, how many Latin, how many in all —
/// the measure behind the corpus cleaner's wrong-script filter and the
/// language guess stored with a trained model.
///
/// Letters are Unicode scalars with the Alphabetic property. Hangul counts
/// precomposed syllables (U+AC00…U+D7A3), conjoining jamo (U+1100…U+11FF)
/// and compatibility jamo (U+3130…U+318F); Latin counts ASCII letters only
/// (the text is expected to be NFKC-normalized, so full-width letters are ASCII).
public struct LetterScriptCounts: Sendable, Equatable {
    /// Hangul letters.
    public var hangul = 0
    /// ASCII Latin letters.
    public var latin = 0
    /// All letters (Hangul, Latin and every other script).
    public var letters = 0

    /// No letters counted yet.
    public init() {}

    /// The counts over `text`.
    public init(_ text: String) { add(text) }

    /// Adds the letters of `text`.
    public mutating func add(_ text: String) {
        for scalar in text.unicodeScalars where scalar.properties.isAlphabetic {
            letters += 1
            switch scalar.value {
            case 0xAC00...0xD7A3, 0x1100...0x11FF, 0x3130...0x318F: hangul += 1
            case 0x41...0x5A, 0x61...0x7A: latin += 1
            default: break
            }
        }
    }

    /// Hangul letters / all letters, in 0…1; nil when the text has no letters.
    public var hangulShare: Double? { letters == 0 ? nil : Double(hangul) / Double(letters) }
    /// Latin letters / all letters, in 0…1; nil when the text has no letters.
    public var latinShare: Double? { letters == 0 ? nil : Double(latin) / Double(letters) }
}
