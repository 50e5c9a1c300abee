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
    /// Gate activations per layer (LSTM or GRU; empty for an RNN or when unknown).
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
        for layer in gates {
            matrices += layer.gates.map { ("\(layer.layerName) \($0.name) gate", $0.values) }
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

/// The sigmoid gates of one recurrent layer at every position, each `[P][U]` with values in
/// (0, 1): an LSTM's input, forget and output gates (PyTorch's i, f, o), a GRU's reset and
/// update gates (r, z). Candidates (an LSTM's g, a GRU's n) are tanh values, not gates.
public struct GateActivations: Sendable {
    /// E.g. "layer 1".
    public var layerName: String
    /// Gates by name, in the cell's order, each `[P][U]`.
    public var gates: [(name: String, values: [[Float]])]

    public init(layerName: String, gates: [(name: String, values: [[Float]])]) {
        self.layerName = layerName
        self.gates = gates
    }

    /// An LSTM layer's gates.
    public init(layerName: String, input: [[Float]], forget: [[Float]], output: [[Float]]) {
        self.init(layerName: layerName, gates: [("input", input), ("forget", forget), ("output", output)])
    }
}
