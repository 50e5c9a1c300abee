import ArgumentParser

/// Range checks for option values, with messages that name the option, the
/// allowed range and the value given. Upper limits keep every size product
/// far from `Int` overflow (the memory estimate then judges what fits).
public enum OptionCheck {
    /// Throws unless `value` is in `range`.
    public static func require(_ value: Int, in range: ClosedRange<Int>, _ name: String) throws {
        guard range.contains(value) else {
            if range.upperBound == Int.max { throw ValidationError("\(name) must be at least \(range.lowerBound) (got \(value))") }
            throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
    }

    /// Throws unless `value` is a finite number in `range` (NaN and ±inf are refused).
    public static func require(_ value: Double, in range: ClosedRange<Double>, _ name: String,
                               excludingLowerBound: Bool = false, excludingUpperBound: Bool = false) throws {
        try require(value, shown: "\(value)", in: range, name, excludingLowerBound, excludingUpperBound)
    }

    /// Float convenience for `require(_:in:_:)`.
    public static func require(_ value: Float, in range: ClosedRange<Double>, _ name: String,
                               excludingLowerBound: Bool = false, excludingUpperBound: Bool = false) throws {
        try require(Double(value), shown: "\(value)", in: range, name, excludingLowerBound, excludingUpperBound)
    }

    private static func require(_ value: Double, shown: String, in range: ClosedRange<Double>, _ name: String,
                                _ excludingLowerBound: Bool, _ excludingUpperBound: Bool) throws {
        let lowerOK = excludingLowerBound ? value > range.lowerBound : value >= range.lowerBound
        let upperOK = excludingUpperBound ? value < range.upperBound : value <= range.upperBound
        guard value.isFinite, lowerOK, upperOK else {
            let open = excludingLowerBound ? "(" : "[", close = excludingUpperBound ? ")" : "]"
            throw ValidationError("\(name) must be a number in \(open)\(format(range.lowerBound)), \(format(range.upperBound))\(close) (got \(shown))")
        }
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// Most threads any command accepts.
    public static let maximumThreads = 256
    /// Upper limit of counts and sizes (beams, batch sizes, widths): 2^30. Products of
    /// a few such values stay far from `Int` overflow; whether they fit in memory is
    /// decided by the memory estimate, which names the figure.
    public static let maximumCount = 1 << 30
}
