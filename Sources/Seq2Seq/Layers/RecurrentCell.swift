/// The recurrent cells of the lecture notes, in PyTorch's formulation.
///
/// Every cell reads pre-activations computed by matrix products outside the cell
/// (`RecurrentLayer` for training, `DecoderState` for step-by-step decoding) and
/// does the element-wise part of one time step for one row. The row functions live
/// in one file per cell, forward beside backward:
///
/// | cell   | gates G | state  | file            |
/// |--------|---------|--------|-----------------|
/// | `rnn`  | 1       | h      | RNNCell.swift   |
/// | `gru`  | 3 (r, z, n) | h  | GRUCell.swift   |
/// | `lstm` | 4 (i, f, g, o) | h, c | LSTMCell.swift |
///
/// Weights are stacked by gate: `W_ih` `[G·H, I]`, `W_hh` `[G·H, H]`, `b_ih`, `b_hh` `[G·H]`.
/// For `rnn` and `lstm` both biases and both products simply add up, so the layer
/// sums them into one pre-activation `z` `[G·H]`. The GRU keeps the recurrent part
/// `zh = W_hh·h + b_hh` apart, because its reset gate multiplies `W_hn·h + b_hn`.
public enum CellKind: String, Codable, CaseIterable, Sendable {
    /// Vanilla (Elman) RNN: `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    case rnn
    /// Gated recurrent unit (Cho et al. 2014), PyTorch's `nn.GRU`.
    case gru
    /// Long short-term memory, PyTorch's `nn.LSTM`.
    case lstm

    /// G: number of gate blocks stacked in the weight matrices.
    public var gateCount: Int {
        switch self {
        case .rnn: return 1
        case .gru: return 3
        case .lstm: return 4
        }
    }

    /// Whether the cell carries a memory cell `c` besides `h` (LSTM only).
    public var hasCellState: Bool { self == .lstm }

    /// Whether the recurrent product `W_hh·h + b_hh` must be kept apart from the input
    /// product (GRU), instead of being added into one pre-activation.
    var keepsRecurrentProjection: Bool { self == .gru }
}
