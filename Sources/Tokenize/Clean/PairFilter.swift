/// Why `PairFilter` drops a pair. Each line is counted under the first filter
/// that drops it, in the order of `allCases`.
public enum PairDropReason: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A side is empty or only spaces (after normalization).
    case empty = "empty"
    /// A side has more than `PairFilterSettings.maximumCharacters` characters.
    case overLong = "over-long"
    /// Both sides are the same text after normalization (untranslated copy).
    case copy = "copy"
    /// The English side is not mostly Latin, or the Korean side has too little Hangul.
    case wrongScript = "wrong script"
    /// The English/Korean character ratio is outside the allowed range.
    case lengthRatio = "length ratio"
    /// The same line (after a swap fix) was kept before.
    case duplicate = "duplicate"
    /// A line equal to a kept one after NFKC, space cleanup and lower-casing.
    case normalizedDuplicate = "normalized duplicate"

    public var description: String { rawValue }
}

/// Which filters `PairFilter` applies, and their thresholds. The defaults
/// were tuned on the bundled corpora (Tatoeba, python docs, news, jhe) so
/// that real pairs are kept; see the README's `seq2seq clean` section.
public struct PairFilterSettings: Sendable, Equatable {
    /// Drop pairs with an empty side.
    public var dropEmpty = true
    /// Drop pairs with a side longer than `maximumCharacters`.
    public var dropOverLong = true
    /// The longest side kept, in Unicode scalars (spaces included).
    public var maximumCharacters = 1000
    /// Drop pairs whose two sides are the same normalized text.
    public var dropCopies = true
    /// Swap the columns of a pair that reads Korean<TAB>English (counted, kept).
    public var fixSwapped = true
    /// Drop pairs whose sides are in the wrong script.
    public var dropWrongScript = true
    /// The English side is kept when at least this share of its letters is Latin.
    public var minimumLatinShare = 0.5
    /// The Korean side is kept when at least this share of its letters is Hangul
    /// (low: technical Korean text carries many Latin identifiers).
    public var minimumHangulShare = 0.02
    /// Drop pairs whose English/Korean length ratio is outside the range below.
    public var dropLengthRatio = true
    /// Smallest allowed English characters per Korean character (spaces not counted).
    public var minimumLengthRatio = 0.3
    /// Largest allowed English characters per Korean character (spaces not counted).
    public var maximumLengthRatio = 8.0
    /// The ratio is only checked when the longer side has at least this many characters.
    public var lengthRatioMinimumCharacters = 20
    /// Drop exact repeats of a kept line.
    public var dropDuplicates = true
    /// Drop repeats of a kept line after normalization (NFKC, spaces, case).
    public var dropNormalizedDuplicates = true

    /// Every filter on, with the default thresholds.
    public init() {}
}

/// What `PairFilter.check` decided about one pair.
public enum PairVerdict: Sendable, Equatable {
    /// Keep the pair, in the corpus orientation; `swapped` when its columns were exchanged.
    case keep(english: String, korean: String, swapped: Bool)
    /// Drop the pair.
    case drop(PairDropReason)
}

/// The corpus cleaner's per-pair decisions for an english<TAB>korean corpus.
///
/// Memory: the only state that grows is the set of kept lines' 64-bit
/// FNV-1a hashes (two sets: exact and normalized), 8 bytes per kept line
/// each; a hash collision (about n²/2⁶⁵) would drop a unique pair as a duplicate.
/// Not thread-safe (one `Normalizer`).
public final class PairFilter {
    /// The filters applied.
    public let settings: PairFilterSettings
    private let normalizer: Normalizer
    private var exactHashes = Set<UInt64>()
    private var normalizedHashes = Set<UInt64>()

    /// A filter with `settings`; throws `TokenizeError.icuFailure` when ICU's NFKC data is missing.
    public init(settings: PairFilterSettings = PairFilterSettings()) throws {
        self.settings = settings
        normalizer = try Normalizer(form: .nfkc)
    }

    /// Decides about one pair read as `first<TAB>second` (the corpus says english<TAB>korean);
    /// a kept pair's hashes are remembered so later repeats are dropped.
    public func check(first: String, second: String) -> PairVerdict {
        var english = first, korean = second
        var normalizedEnglish = normalizer.normalize(first).lowercased()
        var normalizedKorean = normalizer.normalize(second).lowercased()
        if settings.dropEmpty && (normalizedEnglish.isEmpty || normalizedKorean.isEmpty) { return .drop(.empty) }
        if settings.dropOverLong && max(first.unicodeScalars.count, second.unicodeScalars.count) > settings.maximumCharacters {
            return .drop(.overLong)
        }
        if settings.dropCopies && normalizedEnglish == normalizedKorean { return .drop(.copy) }
        let scriptsAsGiven = scriptsFit(english: normalizedEnglish, korean: normalizedKorean)
        var swapped = false
        if settings.fixSwapped && !scriptsAsGiven && scriptsFit(english: normalizedKorean, korean: normalizedEnglish) {
            swap(&english, &korean)
            swap(&normalizedEnglish, &normalizedKorean)
            swapped = true
        }
        if settings.dropWrongScript && !scriptsAsGiven && !swapped { return .drop(.wrongScript) }
        if settings.dropLengthRatio && !lengthRatioFits(english: normalizedEnglish, korean: normalizedKorean) {
            return .drop(.lengthRatio)
        }
        let exact = Self.hash(english, korean)
        if settings.dropDuplicates && exactHashes.contains(exact) { return .drop(.duplicate) }
        let normalized = Self.hash(normalizedEnglish, normalizedKorean)
        if settings.dropNormalizedDuplicates && normalizedHashes.contains(normalized) { return .drop(.normalizedDuplicate) }
        if settings.dropDuplicates { exactHashes.insert(exact) }
        if settings.dropNormalizedDuplicates { normalizedHashes.insert(normalized) }
        return .keep(english: english, korean: korean, swapped: swapped)
    }

    /// True when `english` is mostly Latin and `korean` has enough Hangul (a side without letters fits).
    func scriptsFit(english: String, korean: String) -> Bool {
        let latin = LetterScriptCounts(english).latinShare ?? 1
        let hangul = LetterScriptCounts(korean).hangulShare ?? 1
        return latin >= settings.minimumLatinShare && hangul >= settings.minimumHangulShare
    }

    /// True when the non-space character ratio is in range, or the pair is too short to judge.
    func lengthRatioFits(english: String, korean: String) -> Bool {
        let englishCount = english.unicodeScalars.count { $0 != " " }
        let koreanCount = korean.unicodeScalars.count { $0 != " " }
        guard max(englishCount, koreanCount) >= settings.lengthRatioMinimumCharacters else { return true }
        guard koreanCount > 0 else { return false }
        let ratio = Double(englishCount) / Double(koreanCount)
        return ratio >= settings.minimumLengthRatio && ratio <= settings.maximumLengthRatio
    }

    /// FNV-1a 64 of `english`, a tab and `korean`.
    static func hash(_ english: String, _ korean: String) -> UInt64 {
        var hash = FNV1a64()
        hash.add(english.utf8)
        hash.add(0x09)
        hash.add(korean.utf8)
        return hash.value
    }
}
