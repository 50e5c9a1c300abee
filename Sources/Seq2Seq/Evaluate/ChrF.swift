import Foundation

/// chrF's sufficient statistics per character n-gram order (n = 1...6); they add up.
public struct ChrFStatistics: Sendable, Equatable {
    /// Hypothesis character n-grams per order.
    public var hypothesisCounts: [Int]
    /// Reference character n-grams per order.
    public var referenceCounts: [Int]
    /// Matched n-grams per order: Σ over n-grams of min(hypothesis count, reference count).
    public var matchCounts: [Int]

    /// All zero: the statistics of an empty corpus.
    public static let zero = ChrFStatistics(
        hypothesisCounts: Array(repeating: 0, count: ChrF.characterOrder),
        referenceCounts: Array(repeating: 0, count: ChrF.characterOrder),
        matchCounts: Array(repeating: 0, count: ChrF.characterOrder))

    public init(hypothesisCounts: [Int], referenceCounts: [Int], matchCounts: [Int]) {
        self.hypothesisCounts = hypothesisCounts
        self.referenceCounts = referenceCounts
        self.matchCounts = matchCounts
    }

    public static func += (a: inout ChrFStatistics, b: ChrFStatistics) {
        for n in 0..<ChrF.characterOrder {
            a.hypothesisCounts[n] += b.hypothesisCounts[n]
            a.referenceCounts[n] += b.referenceCounts[n]
            a.matchCounts[n] += b.matchCounts[n]
        }
    }

    public static func + (a: ChrFStatistics, b: ChrFStatistics) -> ChrFStatistics {
        var c = a
        c += b
        return c
    }
}

/// A chrF score (0–100 scale) with its statistics and signature.
public struct ChrFScore: Sendable, Equatable, CustomStringConvertible {
    /// chrF2 on a 0–100 scale.
    public var score: Double
    /// The (summed) statistics the score was computed from.
    public var statistics: ChrFStatistics
    /// sacreBLEU signature, `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
    public var signature: String

    /// sacreBLEU's text format, e.g. `chrF2 = 67.31`.
    public var description: String { String(format: "chrF2 = %.2f", score) }
}

/// chrF2 exactly as sacreBLEU 2.6.0's default `CHRF()` computes it with one
/// reference per segment: character n-grams of order 1...6, no word n-grams,
/// β = 2, whitespace removed, mixed case, no eps smoothing.
///
/// Per segment: remove all (Python) whitespace, count character n-grams
/// (over code points) for n = 1...6, and match them with clipping. Over the
/// summed statistics, with the orders where both sides have n-grams (`E` of them):
///
///     P = (1/E) Σ match_n / hyp_n,     R = (1/E) Σ match_n / ref_n
///     chrF = 100 · (1 + β²) · P · R / (β² · P + R)          (0 if P + R == 0 or E == 0)
///
/// The corpus score comes from summed statistics, not from averaging sentence scores.
public struct ChrF: Sendable {
    /// Character n-gram orders 1...6 (`nc:6`).
    public static let characterOrder = 6
    /// Recall weight β (chrF2).
    public static let beta = 2.0

    public init() {}

    /// `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`
    /// (`eff:yes` means no eps smoothing, sacreBLEU's default).
    public var signature: String {
        "nrefs:1|case:mixed|eff:yes|nc:\(Self.characterOrder)|nw:0|space:no|version:\(sacreBLEUVersion)"
    }

    /// Statistics of one hypothesis against its reference.
    public func statistics(hypothesis: String, reference: String) -> ChrFStatistics {
        var counter = CharNGramCounter()
        return counter.statistics(hypothesis: hypothesis, reference: reference)
    }

    /// Summed statistics of line-aligned hypotheses and references.
    /// - Throws: `MetricError.lineCountMismatch` when the counts differ.
    public func statistics(hypotheses: [String], references: [String]) throws(MetricError) -> ChrFStatistics {
        guard hypotheses.count == references.count else {
            throw .lineCountMismatch(hypotheses: hypotheses.count, references: references.count)
        }
        var counter = CharNGramCounter()
        var total = ChrFStatistics.zero
        for (h, r) in zip(hypotheses, references) {
            total += counter.statistics(hypothesis: h, reference: r)
        }
        return total
    }

    /// Corpus chrF (sacreBLEU's `corpus_score(hyps, [refs])`). An empty corpus scores 0.
    /// - Throws: `MetricError.lineCountMismatch` when the counts differ.
    public func corpusScore(hypotheses: [String], references: [String]) throws(MetricError) -> ChrFScore {
        score(try statistics(hypotheses: hypotheses, references: references))
    }

    /// Sentence chrF (sacreBLEU's `sentence_score(hyp, [ref])`).
    public func sentenceScore(hypothesis: String, reference: String) -> ChrFScore {
        score(statistics(hypothesis: hypothesis, reference: reference))
    }

    /// The score of (summed) statistics: sacreBLEU's `CHRF._compute_f_score`.
    public func score(_ s: ChrFStatistics) -> ChrFScore {
        let eps = 1e-16
        let factor = Self.beta * Self.beta
        var avgPrecision = 0.0, avgRecall = 0.0
        var effectiveOrder = 0
        for n in 0..<Self.characterOrder {
            let h = s.hypothesisCounts[n], r = s.referenceCounts[n], m = s.matchCounts[n]
            let precision = h > 0 ? Double(m) / Double(h) : eps
            let recall = r > 0 ? Double(m) / Double(r) : eps
            if h > 0 && r > 0 {
                avgPrecision += precision
                avgRecall += recall
                effectiveOrder += 1
            }
        }
        if effectiveOrder == 0 {
            avgPrecision = 0
            avgRecall = 0
        } else {
            avgPrecision /= Double(effectiveOrder)
            avgRecall /= Double(effectiveOrder)
        }
        var value = 0.0
        if avgPrecision + avgRecall != 0 {
            value = (1 + factor) * avgPrecision * avgRecall
            value /= (factor * avgPrecision) + avgRecall
            value *= 100
        }
        return ChrFScore(score: value, statistics: s, signature: signature)
    }
}

/// Up to six code points packed 21 bits each (value + 1, so 0 means "unused").
struct CharNGram: Hashable {
    var low: UInt64, high: UInt64
}

/// Scratch space for counting character n-grams; reused across segments.
struct CharNGramCounter {
    private var referenceCounts = [[CharNGram: Int32]](repeating: [:], count: ChrF.characterOrder)
    private var hypothesisCounts = [[CharNGram: Int32]](repeating: [:], count: ChrF.characterOrder)

    mutating func statistics(hypothesis: String, reference: String) -> ChrFStatistics {
        let h = Self.withoutWhitespace(hypothesis), r = Self.withoutWhitespace(reference)
        var stats = ChrFStatistics.zero
        for n in 1...ChrF.characterOrder {
            Self.count(h, order: n, into: &hypothesisCounts[n - 1])
            Self.count(r, order: n, into: &referenceCounts[n - 1])
            stats.hypothesisCounts[n - 1] = max(0, h.count - n + 1)
            stats.referenceCounts[n - 1] = max(0, r.count - n + 1)
            var matches = 0
            let refs = referenceCounts[n - 1]
            for (gram, hc) in hypothesisCounts[n - 1] {
                if let rc = refs[gram] { matches += Int(min(hc, rc)) }
            }
            stats.matchCounts[n - 1] = matches
        }
        return stats
    }

    /// `''.join(line.split())`.
    private static func withoutWhitespace(_ text: String) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars where !isPythonWhitespace(s.value) { out.append(s.value) }
        return out
    }

    private static func count(_ s: [UInt32], order n: Int, into counts: inout [CharNGram: Int32]) {
        counts.removeAll(keepingCapacity: true)
        guard s.count >= n else { return }
        for i in 0...(s.count - n) {
            var key = CharNGram(low: 0, high: 0)
            for j in 0..<n {
                let v = UInt64(s[i + j] + 1)
                if j < 3 { key.low |= v << (21 * UInt64(j)) } else { key.high |= v << (21 * UInt64(j - 3)) }
            }
            counts[key, default: 0] += 1
        }
    }
}
