/// One time step of the LSTM cell for one row (PyTorch `nn.LSTM`, gate order i, f, g, o):
///
///     z   = W_ih · x_t + b_ih + W_hh · h_{t−1} + b_hh        [4H]   (computed by the caller)
///     i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
///     c_t = f ⊙ c_{t−1} + i ⊙ g
///     h_t = o ⊙ tanh(c_t)
///
/// Used by training (`RecurrentLayer`) and decoding (`DecoderState`) alike.
enum LSTMCell {
    /// Forward: reads the pre-activations `z` `[4H]` and overwrites them with the activated
    /// gates i, f, g, o; writes `c` `[H]`, `tanhC` `[H]` and `h` `[H]`. `cPrev` may alias `c`.
    /// One fused pass at the machine's vector width (`Kernels.lstmCell`, chosen at run time).
    @inline(__always)
    static func forward(
        z: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, H: Int
    ) {
        Kernels.lstmCell(z: z, cPrev: cPrev, c: c, tanhC: tanhC, h: h, H: H)
    }

    /// Backward, walking `forward` in reverse.
    ///
    /// - dh: `[H]` total gradient into h_t; replaced by the part that flows into h_{t−1}
    ///   directly, which is 0 for the LSTM (h_{t−1} only enters through `z`).
    /// - dc: `[H]` gradient into c_t carried from step t+1; replaced by the gradient into c_{t−1}.
    /// - gates `[4H]`, tanhC `[H]`, cPrev `[H]`: forward values. Writes dz `[4H]`.
    @inline(__always)
    static func backward(
        dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>,
        gates: UnsafePointer<Float>, tanhC: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
        dz: UnsafeMutablePointer<Float>, H: Int
    ) {
        let gi = gates, gf = gates + H, gg = gates + 2 * H, go = gates + 3 * H
        for j in 0..<H {
            let dhj = dh[j]
            let i = gi[j], f = gf[j], g = gg[j], o = go[j], tc = tanhC[j]
            let dcj = dc[j] + dhj * o * (1 - tc * tc)         // backprop through h = o·tanh(c)
            dz[j] = dcj * g * i * (1 - i)                     // through σ into z_i
            dz[H + j] = dcj * cPrev[j] * f * (1 - f)          // z_f
            dz[2 * H + j] = dcj * i * (1 - g * g)             // z_g
            dz[3 * H + j] = dhj * tc * o * (1 - o)            // z_o
            dc[j] = dcj * f                                   // into c_{t−1}
            dh[j] = 0                                         // h_{t−1} is reached only through z
        }
    }
}
