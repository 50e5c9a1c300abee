import Foundation

/// GNMT length normalization (Wu et al. 2016), used to rank finished hypotheses:
///
///     score(Y) = log P(Y | X) / lp(|Y|),    lp(|Y|) = ((5 + |Y|) / 6)^α
///
/// `|Y|` counts the output tokens including the final EOS (a hypothesis cut off
/// at the maximum length has no EOS and counts only its tokens). α = 0 gives
/// lp = 1, i.e. the raw log-probability; larger α favours longer outputs
/// (typical values 0.6–1.0). Since log P ≤ 0 and lp ≥ 1 grows with |Y| for
/// α > 0, dividing shrinks the penalty of long hypotheses.
public struct LengthPenalty: Sendable, Equatable {
    /// The exponent α (0 = no normalization).
    public var alpha: Float

    /// No normalization: scores are raw log-probabilities.
    public static let none = LengthPenalty(alpha: 0)

    public init(alpha: Float = 0) {
        self.alpha = alpha
    }

    /// lp(length) = ((5 + length) / 6)^α; exactly 1 when α = 0.
    public func divisor(length: Int) -> Float {
        if alpha == 0 { return 1 }
        return Float(Foundation.pow((5 + Double(length)) / 6, Double(alpha)))
    }

    /// log P / lp(length).
    public func score(logProbability: Float, length: Int) -> Float {
        logProbability / divisor(length: length)
    }
}
