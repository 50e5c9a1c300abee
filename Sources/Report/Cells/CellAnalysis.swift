/// Section 4 of the report: for each `TextProperty`, the hidden unit that
/// follows it most closely, and the gate-saturation statistics of each LSTM layer.
public struct CellAnalysis: Sendable {
    /// The trace that was analysed (its pieces are drawn, coloured by unit).
    public var trace: ActivationTrace
    /// One entry per property, in `TextProperty.allCases` order.
    public var findings: [PropertyFinding]
    /// One entry per layer in `trace.gates`.
    public var saturation: [GateSaturation]

    public init(trace: ActivationTrace, findings: [PropertyFinding], saturation: [GateSaturation]) {
        self.trace = trace
        self.findings = findings
        self.saturation = saturation
    }

    /// Finds, for every property, the unit of any state matrix of `trace`
    /// with the highest absolute Pearson correlation to it, and measures
    /// gate saturation. Throws `ReportError.badActivations` if the trace's
    /// shapes do not fit (see `ActivationTrace.shapeProblem`).
    public static func analyse(_ trace: ActivationTrace, runnersUp: Int = 2) throws -> CellAnalysis {
        if let problem = trace.shapeProblem { throw ReportError.badActivations(problem) }
        let findings = TextProperty.allCases.map { property in
            PropertyFinding.search(property: property, values: TextProperty.values(of: property, pieces: trace.pieces),
                                   states: trace.states, runnersUp: runnersUp)
        }
        let saturation = trace.gates.map(GateSaturation.init(gates:))
        return CellAnalysis(trace: trace, findings: findings, saturation: saturation)
    }
}

/// A hidden unit: which matrix of the trace, which column.
public struct UnitReference: Sendable, Equatable, CustomStringConvertible {
    /// Index into `ActivationTrace.states`.
    public var matrix: Int
    /// Name of that matrix (e.g. "layer 1 cell c").
    public var matrixName: String
    /// Column (unit number, 0-based).
    public var unit: Int
    public var description: String { "\(matrixName), unit \(unit)" }
}

/// The outcome of searching the units for one property.
public struct PropertyFinding: Sendable {
    public var property: TextProperty
    /// The property at every position (nil where undefined).
    public var values: [Double?]
    /// Positions where the property is defined.
    public var definedCount: Int
    /// The best unit and its Pearson r, then runners-up, by decreasing |r|.
    /// Empty when the property does not vary in the sample (then `note` says so).
    public var ranking: [(unit: UnitReference, correlation: Double)]
    /// Why there is no ranking (e.g. "no quotes in this sample").
    public var note: String?

    public var best: (unit: UnitReference, correlation: Double)? { ranking.first }

    /// Pearson correlation of `values` with every column of every matrix,
    /// over the positions where `values` is defined.
    static func search(property: TextProperty, values: [Double?], states: [NamedActivations],
                       runnersUp: Int) -> PropertyFinding {
        let defined = values.indices.filter { values[$0] != nil }
        let y = defined.map { values[$0]! }
        var finding = PropertyFinding(property: property, values: values, definedCount: defined.count, ranking: [],
                                      note: nil)
        guard y.count >= 3, let low = y.min(), let high = y.max(), high > low else {
            finding.note = defined.isEmpty ? "not defined anywhere in this sample"
                                           : "does not vary in this sample (always \(formatValue(y.first ?? 0)))"
            return finding
        }
        var all: [(UnitReference, Double)] = []
        for (m, matrix) in states.enumerated() {
            let width = matrix.values.first?.count ?? 0
            for u in 0..<width {
                let x = defined.map { Double(matrix.values[$0][u]) }
                if let r = pearson(x, y) {
                    all.append((UnitReference(matrix: m, matrixName: matrix.name, unit: u), r))
                }
            }
        }
        all.sort { abs($0.1) > abs($1.1) || (abs($0.1) == abs($1.1) && ($0.0.matrix, $0.0.unit) < ($1.0.matrix, $1.0.unit)) }
        finding.ranking = Array(all.prefix(1 + runnersUp)).map { (unit: $0.0, correlation: $0.1) }
        if finding.ranking.isEmpty { finding.note = "no unit varies over these positions" }
        return finding
    }

    private static func formatValue(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
}

/// Pearson correlation of two equally long samples, or nil if either is
/// constant (or they are shorter than 2). Accumulates in Double around the means.
public func pearson(_ x: [Double], _ y: [Double]) -> Double? {
    let n = min(x.count, y.count)
    guard n >= 2 else { return nil }
    var meanX = 0.0, meanY = 0.0
    for i in 0..<n { meanX += x[i]; meanY += y[i] }
    meanX /= Double(n); meanY /= Double(n)
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for i in 0..<n {
        let dx = x[i] - meanX, dy = y[i] - meanY
        sxy += dx * dy; sxx += dx * dx; syy += dy * dy
    }
    guard sxx > 1e-20, syy > 1e-20 else { return nil }
    return sxy / (sxx * syy).squareRoot()
}

/// Per unit of one LSTM (or GRU) layer, the fraction of positions where each gate
/// is left-saturated (< 0.1) and right-saturated (> 0.9) — the scatter plot of
/// Karpathy et al. (2015), Fig. 3.
public struct GateSaturation: Sendable {
    public static let leftThreshold: Float = 0.1
    public static let rightThreshold: Float = 0.9

    public var layerName: String
    /// Per gate (LSTM input, forget, output; GRU reset, update), per unit:
    /// (left fraction, right fraction). [G][U]
    public var gates: [(name: String, fractions: [(left: Double, right: Double)])]

    public init(gates: GateActivations) {
        layerName = gates.layerName
        self.gates = gates.gates.map { (name: $0.name, fractions: GateSaturation.fractions($0.values)) }
    }

    /// For each column of `values` `[P][U]`: the share of rows below 0.1 and above 0.9.
    public static func fractions(_ values: [[Float]]) -> [(left: Double, right: Double)] {
        guard let width = values.first?.count, !values.isEmpty else { return [] }
        var left = [Int](repeating: 0, count: width), right = left
        for row in values {
            for u in 0..<min(width, row.count) {
                if row[u] < leftThreshold { left[u] += 1 } else if row[u] > rightThreshold { right[u] += 1 }
            }
        }
        let n = Double(values.count)
        return (0..<width).map { (left: Double(left[$0]) / n, right: Double(right[$0]) / n) }
    }
}

/// Errors of building a report from data that does not fit together.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    case badActivations(String)
    case statesUnavailable(String)
    case notAModel(path: String, reason: String)
    case unreadableText(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    /// An option that does not apply to this kind of model (the message says what to give instead).
    case notApplicable(String)

    public var description: String {
        switch self {
        case .badActivations(let why): return "hidden-state trace does not fit its text: \(why)"
        case .statesUnavailable(let why): return why
        case .notAModel(let path, let reason): return "\(path): not a model directory (\(reason)); pass a folder written by `seq2seq train --output` or `seq2seq lm train --output`"
        case .unreadableText(let path, let reason): return "\(path): \(reason); give a UTF-8 text file to --text"
        case .cannotWrite(let path, let reason): return "cannot write the report \(path): \(reason)"
        case .notApplicable(let why): return why
        }
    }
}
