/// Hidden-unit activations of a recurrent network read over a text, one row
/// per position: the raw material of the interpretable-cell view (Karpathy,
/// Johnson & Fei-Fei 2015).
///
/// A position is whatever the network reads in one step: a character for a
/// character language model (`seq2seq lm states`), a subword token for a
/// translation encoder. `pieces[p]` is the text of position p as it appears in
/// the sample (a subword's word-boundary mark shown as a space); joined, the
/// pieces give the sample back, and a piece `"\n"` ends a line.
///
/// Shapes: P positions, U units of a layer.
public struct ActivationTrace: Sendable {
    /// Text of each position, in reading order. [P]
    public var pieces: [String]
    /// Named state matrices, each `[P][U]`, e.g. "layer 1 cell c", "layer 1 hidden h".
    /// Every matrix is searched for units that explain a text property.
    public var states: [NamedActivations]
    /// LSTM gate activations per layer (empty for other cells or when unknown).
    public var gates: [GateActivations]
    /// Where the numbers come from, shown with the section (one line).
    public var origin: String

    public init(pieces: [String], states: [NamedActivations], gates: [GateActivations] = [], origin: String) {
        self.pieces = pieces
        self.states = states
        self.gates = gates
        self.origin = origin
    }

    /// Why the trace cannot be analysed, or nil if every matrix has one row
    /// per piece and rows of equal length.
    public var shapeProblem: String? {
        if pieces.isEmpty { return "the text sample is empty" }
        var matrices = states.map { ($0.name, $0.values) }
        for g in gates {
            matrices += [("\(g.layerName) input gate", g.input), ("\(g.layerName) forget gate", g.forget),
                         ("\(g.layerName) output gate", g.output)]
        }
        if matrices.isEmpty { return "no activations were given" }
        for (name, values) in matrices {
            if values.count != pieces.count { return "\(name) has \(values.count) rows for \(pieces.count) positions" }
            guard let width = values.first?.count, width > 0 else { return "\(name) has no units" }
            if values.contains(where: { $0.count != width }) { return "\(name) has rows of different lengths" }
        }
        return nil
    }
}

/// One state matrix of a trace. `values[p][u]` is unit u after reading position p.
public struct NamedActivations: Sendable {
    /// E.g. "layer 1 cell c".
    public var name: String
    /// `[P][U]`.
    public var values: [[Float]]
    public init(name: String, values: [[Float]]) {
        self.name = name
        self.values = values
    }
}

/// The sigmoid gates of one LSTM layer at every position, each `[P][U]` with
/// values in (0, 1) (PyTorch's i, f, o; the candidate g is not a gate).
public struct GateActivations: Sendable {
    /// E.g. "layer 1".
    public var layerName: String
    public var input: [[Float]]
    public var forget: [[Float]]
    public var output: [[Float]]
    public init(layerName: String, input: [[Float]], forget: [[Float]], output: [[Float]]) {
        self.layerName = layerName
        self.input = input
        self.forget = forget
        self.output = output
    }
}
