import Foundation

/// BLEU's sufficient statistics for one segment or a whole corpus; they add up.
///
/// `counts[n-1]` is the number of clipped (matched) hypothesis n-grams and
/// `totals[n-1]` the number of hypothesis n-grams, for n = 1...4.
public struct BLEUStatistics: Sendable, Equatable {
    /// Clipped n-gram matches for n = 1...4 (sacreBLEU's `counts`).
    public var counts: [Int]
    /// Hypothesis n-grams for n = 1...4 (sacreBLEU's `totals`).
    public var totals: [Int]
    /// Hypothesis length in tokens (sacreBLEU's `sys_len`).
    public var hypothesisLength: Int
    /// Reference length in tokens (sacreBLEU's `ref_len`).
    public var referenceLength: Int

    /// All zero: the statistics of an empty corpus.
    public static let zero = BLEUStatistics(
        counts: Array(repeating: 0, count: BLEU.maxNGramOrder),
        totals: Array(repeating: 0, count: BLEU.maxNGramOrder),
        hypothesisLength: 0, referenceLength: 0)

    public init(counts: [Int], totals: [Int], hypothesisLength: Int, referenceLength: Int) {
        self.counts = counts
        self.totals = totals
        self.hypothesisLength = hypothesisLength
        self.referenceLength = referenceLength
    }

    public static func += (a: inout BLEUStatistics, b: BLEUStatistics) {
        for n in 0..<BLEU.maxNGramOrder {
            a.counts[n] += b.counts[n]
            a.totals[n] += b.totals[n]
        }
        a.hypothesisLength += b.hypothesisLength
        a.referenceLength += b.referenceLength
    }

    public static func + (a: BLEUStatistics, b: BLEUStatistics) -> BLEUStatistics {
        var c = a
        c += b
        return c
    }
}

/// A BLEU score with the fields sacreBLEU's `BLEUScore` reports (0–100 scale).
public struct BLEUScore: Sendable, Equatable, CustomStringConvertible {
    /// BLEU on a 0–100 scale.
    public var score: Double
    /// Clipped n-gram matches, n = 1...4.
    public var counts: [Int]
    /// Hypothesis n-grams, n = 1...4.
    public var totals: [Int]
    /// Per-order precisions (0–100) after smoothing, as sacreBLEU reports them.
    public var precisions: [Double]
    /// Brevity penalty (0 when nothing matched, as in sacreBLEU).
    public var brevityPenalty: Double
    /// `sys_len`.
    public var hypothesisLength: Int
    /// `ref_len`.
    public var referenceLength: Int
    /// sacreBLEU signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    public var signature: String

    /// sacreBLEU's text format, e.g.
    /// `BLEU = 46.85 100.0/83.1/51.6/36.4 (BP = 0.746 ratio = 0.773 hyp_len = 126 ref_len = 163)`.
    public var description: String {
        let p = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        let ratio = referenceLength > 0 ? Double(hypothesisLength) / Double(referenceLength) : 0
        return String(format: "BLEU = %.2f ", score) + p
            + String(format: " (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
                     brevityPenalty, ratio, hypothesisLength, referenceLength)
    }
}

/// BLEU exactly as sacreBLEU 2.6.0 computes it with one reference per segment
/// (`sacrebleu.metrics.BLEU(tokenize=…, effective_order=…)`, smoothing `exp`,
/// mixed case, max n-gram order 4).
///
/// Per segment: `rstrip()`, tokenize, count n-grams for n = 1...4; a hypothesis
/// n-gram matches at most as often as it occurs in the reference (clipping).
/// From the summed statistics:
///
///     p_n  = 100 · counts[n] / totals[n]                       (some match at order n)
///     p_n  = 100 / (2^j · totals[n])                           (j-th order without a match: "exp" smoothing)
///     walk n = 1, 2, …, stopping at the first order with totals[n] == 0 (p_n stays 0)
///     BP   = exp(1 − ref_len / sys_len) if sys_len < ref_len (0 if sys_len == 0), else 1
///     BLEU = BP · exp( (1/N) Σ_{n ≤ N} log p_n ),   log 0 := −9999999999
///
/// with N = 4, or (effective order) N = the number of orders visited by the walk.
/// If no n-gram of any order matches, the score, the brevity penalty and all
/// precisions are 0. Effective order is what sacreBLEU recommends for
/// sentence-level BLEU; corpus BLEU uses N = 4.
public struct BLEU: Sendable {
    /// The n-gram orders counted (1...4).
    public static let maxNGramOrder = 4

    /// Word tokenizer (`tok:` in the signature).
    public var tokenizer: BLEUTokenizer
    /// Average over the orders that have n-grams only (`eff:yes`).
    public var effectiveOrder: Bool

    /// - Parameters:
    ///   - tokenizer: `.thirteenA` (default, sacreBLEU's `13a`) or `.char` for Korean.
    ///   - effectiveOrder: `true` for sentence BLEU as sacreBLEU recommends it.
    public init(tokenizer: BLEUTokenizer = .thirteenA, effectiveOrder: Bool = false) {
        self.tokenizer = tokenizer
        self.effectiveOrder = effectiveOrder
    }

    /// sacreBLEU's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    public var signature: String {
        "nrefs:1|case:mixed|eff:\(effectiveOrder ? "yes" : "no")|tok:\(tokenizer.rawValue)|smooth:exp|version:\(sacreBLEUVersion)"
    }

    /// Statistics of one hypothesis against its reference.
    public func statistics(hypothesis: String, reference: String) -> BLEUStatistics {
        var counter = NGramCounter()
        return counter.statistics(tokenizer: tokenizer, hypothesis: hypothesis, reference: reference)
    }

    /// Summed statistics of line-aligned hypotheses and references.
    /// - Throws: `MetricError.lineCountMismatch` when the counts differ.
    public func statistics(hypotheses: [String], references: [String]) throws(MetricError) -> BLEUStatistics {
        guard hypotheses.count == references.count else {
            throw .lineCountMismatch(hypotheses: hypotheses.count, references: references.count)
        }
        var counter = NGramCounter()
        var total = BLEUStatistics.zero
        for (h, r) in zip(hypotheses, references) {
            total += counter.statistics(tokenizer: tokenizer, hypothesis: h, reference: r)
        }
        return total
    }

    /// Corpus BLEU (sacreBLEU's `corpus_score(hyps, [refs])`). An empty corpus scores 0.
    /// - Throws: `MetricError.lineCountMismatch` when the counts differ.
    public func corpusScore(hypotheses: [String], references: [String]) throws(MetricError) -> BLEUScore {
        score(try statistics(hypotheses: hypotheses, references: references))
    }

    /// Sentence BLEU (sacreBLEU's `sentence_score(hyp, [ref])`); pair it with
    /// `effectiveOrder: true` for a useful sentence-level number.
    public func sentenceScore(hypothesis: String, reference: String) -> BLEUScore {
        score(statistics(hypothesis: hypothesis, reference: reference))
    }

    /// The score of (summed) statistics: sacreBLEU's `BLEU.compute_bleu`.
    public func score(_ s: BLEUStatistics) -> BLEUScore {
        let order = Self.maxNGramOrder
        var precisions = [Double](repeating: 0, count: order)
        if !s.counts.contains(where: { $0 != 0 }) {
            return BLEUScore(score: 0, counts: s.counts, totals: s.totals, precisions: precisions,
                             brevityPenalty: 0, hypothesisLength: s.hypothesisLength,
                             referenceLength: s.referenceLength, signature: signature)
        }
        let bp = Self.brevityPenalty(hypothesisLength: s.hypothesisLength, referenceLength: s.referenceLength)
        var effective = order
        var smooth = 1.0
        for n in 0..<order {
            if s.totals[n] == 0 { break }
            if effectiveOrder { effective = n + 1 }
            if s.counts[n] == 0 {
                smooth *= 2
                precisions[n] = 100.0 / (smooth * Double(s.totals[n]))
            } else {
                precisions[n] = 100.0 * Double(s.counts[n]) / Double(s.totals[n])
            }
        }
        // sum([my_log(p) for p in precisions[:eff_order]]) / eff_order
        var sum = 0.0
        for p in precisions[0..<effective] { sum += p == 0 ? -9_999_999_999 : Foundation.log(p) }
        let value = bp * Foundation.exp(sum / Double(effective))
        return BLEUScore(score: value, counts: s.counts, totals: s.totals, precisions: precisions,
                         brevityPenalty: bp, hypothesisLength: s.hypothesisLength,
                         referenceLength: s.referenceLength, signature: signature)
    }

    /// exp(1 − r/c) if c < r (0 if c == 0), else 1.
    static func brevityPenalty(hypothesisLength c: Int, referenceLength r: Int) -> Double {
        if c < r { return c > 0 ? Foundation.exp(1 - Double(r) / Double(c)) : 0 }
        return 1
    }
}

/// A word n-gram of up to four token ids (unused slots are −1), per segment pair.
struct WordNGram: Hashable {
    var a: Int32, b: Int32, c: Int32, d: Int32
}

/// Scratch space for counting BLEU n-grams; reused across segments.
struct NGramCounter {
    private var ids: [ArraySlice<UInt32>: Int32] = [:]
    private var referenceCounts: [WordNGram: Int32] = [:]
    private var hypothesisCounts: [WordNGram: Int32] = [:]

    mutating func statistics(tokenizer: BLEUTokenizer, hypothesis: String, reference: String) -> BLEUStatistics {
        let h = tokenizer.tokens(of: pythonRightStrip(scalarValues(hypothesis)))
        let r = tokenizer.tokens(of: pythonRightStrip(scalarValues(reference)))
        // Intern tokens: equal code point sequences get equal ids.
        ids.removeAll(keepingCapacity: true)
        func intern(_ tokens: [ArraySlice<UInt32>]) -> [Int32] {
            tokens.map { t in
                if let id = ids[t] { return id }
                let id = Int32(ids.count)
                ids[t] = id
                return id
            }
        }
        let hi = intern(h), ri = intern(r)
        Self.count(ri, into: &referenceCounts)
        Self.count(hi, into: &hypothesisCounts)
        var stats = BLEUStatistics.zero
        stats.hypothesisLength = hi.count
        stats.referenceLength = ri.count
        for n in 1...BLEU.maxNGramOrder { stats.totals[n - 1] = max(0, hi.count - n + 1) }
        for (gram, hc) in hypothesisCounts {
            guard let rc = referenceCounts[gram] else { continue }
            let n = gram.d >= 0 ? 4 : gram.c >= 0 ? 3 : gram.b >= 0 ? 2 : 1
            stats.counts[n - 1] += Int(min(hc, rc))
        }
        return stats
    }

    private static func count(_ t: [Int32], into counts: inout [WordNGram: Int32]) {
        counts.removeAll(keepingCapacity: true)
        let m = t.count
        for i in 0..<m {
            counts[WordNGram(a: t[i], b: -1, c: -1, d: -1), default: 0] += 1
            if i + 1 < m { counts[WordNGram(a: t[i], b: t[i + 1], c: -1, d: -1), default: 0] += 1 }
            if i + 2 < m { counts[WordNGram(a: t[i], b: t[i + 1], c: t[i + 2], d: -1), default: 0] += 1 }
            if i + 3 < m { counts[WordNGram(a: t[i], b: t[i + 1], c: t[i + 2], d: t[i + 3]), default: 0] += 1 }
        }
    }
}
