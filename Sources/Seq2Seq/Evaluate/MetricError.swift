/// Errors from corpus-level metrics.
public enum MetricError: Error, Equatable, CustomStringConvertible {
    /// The hypothesis and reference lists have different lengths.
    case lineCountMismatch(hypotheses: Int, references: Int)

    public var description: String {
        switch self {
        case let .lineCountMismatch(h, r):
            return "the hypotheses have \(h) lines but the references have \(r): "
                + "score line-aligned files (one hypothesis per reference line)"
        }
    }
}
