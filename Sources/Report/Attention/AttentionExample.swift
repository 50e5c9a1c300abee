import Seq2Seq

/// One translated sentence with its attention matrix, as `translate
/// --alignment` gives it: one row per target token (including `</s>`), one
/// column per source subword token, each row a distribution over the source.
public struct AttentionExample: Sendable, Equatable {
    /// Source subword tokens S, in reading order (columns of the heatmap).
    public var sourceTokens: [String]
    /// Target subword tokens T, including `</s>` (rows of the heatmap).
    public var targetTokens: [String]
    /// Attention weights `[T][S]`: `weights[t][s]` is how much target token t
    /// attended to source token s; rows sum to 1.
    public var weights: [[Float]]
    /// Reference translation (empty if unknown).
    public var reference: String
    /// The model's translation (detokenized).
    public var hypothesis: String
    /// Sentence chrF of `hypothesis` against `reference` (nil without a reference).
    public var chrF: Double?

    public init(sourceTokens: [String], targetTokens: [String], weights: [[Float]], reference: String,
                hypothesis: String, chrF: Double?) {
        self.sourceTokens = sourceTokens
        self.targetTokens = targetTokens
        self.weights = weights
        self.reference = reference
        self.hypothesis = hypothesis
        self.chrF = chrF
    }

    /// An example whose sentence chrF is computed here (sacreBLEU's
    /// `sentence_score`), or nil when `reference` is empty.
    public init(sourceTokens: [String], targetTokens: [String], weights: [[Float]], reference: String,
                hypothesis: String) {
        let chrF = reference.isEmpty ? nil : ChrF().sentenceScore(hypothesis: hypothesis, reference: reference).score
        self.init(sourceTokens: sourceTokens, targetTokens: targetTokens, weights: weights, reference: reference,
                  hypothesis: hypothesis, chrF: chrF)
    }

    /// Why the matrix cannot be drawn as given, or nil if its shape fits the
    /// tokens (`[T][S]`, finite weights in [0, 1] up to rounding).
    public var shapeProblem: String? {
        if sourceTokens.isEmpty || targetTokens.isEmpty { return "no source or no target tokens" }
        if weights.count != targetTokens.count {
            return "\(weights.count) weight rows for \(targetTokens.count) target tokens"
        }
        for (t, row) in weights.enumerated() {
            if row.count != sourceTokens.count {
                return "row \(t) has \(row.count) weights for \(sourceTokens.count) source tokens"
            }
            if let bad = row.first(where: { !$0.isFinite || $0 < -1e-4 || $0 > 1 + 1e-4 }) {
                return "row \(t) holds \(bad), not a probability"
            }
        }
        return nil
    }
}
