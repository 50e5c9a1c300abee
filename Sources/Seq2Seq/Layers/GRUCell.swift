/// One time step of the GRU cell for one row (PyTorch `nn.GRU`, gate order r, z, n):
///
///     zx = W_ih · x_t + b_ih          zh = W_hh · h_{t−1} + b_hh        [3H] each (computed by the caller)
///     r  = σ(zx_r + zh_r)             reset gate
///     u  = σ(zx_z + zh_z)             update gate (PyTorch's z)
///     n  = tanh(zx_n + r ⊙ zh_n)      candidate; r multiplies W_hn·h + b_hn, bias included
///     h_t = (1 − u) ⊙ n + u ⊙ h_{t−1}
///
/// Used by training (`RecurrentLayer`) and decoding (`DecoderState`) alike.
enum GRUCell {
    /// Forward: reads `zx` and `zh` `[3H]`, writes the activated gates r, u, n into `gates`
    /// `[3H]` (which may alias `zx`) and h_t into `h` `[H]` (which may alias `hPrev`).
    ///
    /// The nonlinearities run as array kernels (`Kernels.sigmoid`/`tanh` over a row), the
    /// rest as plain loops: both vectorize wherever this file is compiled.
    @inline(__always)
    static func forward(
        zx: UnsafePointer<Float>, zh: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
        gates: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, H: Int
    ) {
        let r = gates, u = gates + H, n = gates + 2 * H
        for j in 0..<2 * H { gates[j] = zx[j] + zh[j] }                  // r, u pre-activations
        Kernels.sigmoidInPlace(gates, count: 2 * H)
        for j in 0..<H { n[j] = zx[2 * H + j] + r[j] * zh[2 * H + j] }   // n pre-activation
        Kernels.tanhInPlace(n, count: H)
        for j in 0..<H { h[j] = (1 - u[j]) * n[j] + u[j] * hPrev[j] }
    }

    /// Backward, walking `forward` in reverse.
    ///
    /// - dh: `[H]` total gradient into h_t; replaced by the part that flows into h_{t−1}
    ///   directly (`dh ⊙ u`); the part through `zh` is added by the caller as `dzh · W_hh`.
    /// - gates `[3H]` (r, u, n), zh `[3H]`, hPrev `[H]`: forward values.
    /// - Writes dzx `[3H]` (gradient w.r.t. zx) and dzh `[3H]` (w.r.t. zh).
    @inline(__always)
    static func backward(
        dh: UnsafeMutablePointer<Float>, gates: UnsafePointer<Float>, zh: UnsafePointer<Float>,
        hPrev: UnsafePointer<Float>, dzx: UnsafeMutablePointer<Float>, dzh: UnsafeMutablePointer<Float>, H: Int
    ) {
        for j in 0..<H {
            let dhj = dh[j]
            let r = gates[j], u = gates[H + j], n = gates[2 * H + j]
            let dnPre = dhj * (1 - u) * (1 - n * n)          // through h = (1−u)·n + u·h', then tanh
            let duPre = dhj * (hPrev[j] - n) * u * (1 - u)   // through the update gate
            let drPre = dnPre * zh[2 * H + j] * r * (1 - r)  // n's pre-activation holds r·zh_n
            dzx[j] = drPre; dzx[H + j] = duPre; dzx[2 * H + j] = dnPre
            dzh[j] = drPre; dzh[H + j] = duPre; dzh[2 * H + j] = dnPre * r
            dh[j] = dhj * u                                  // direct path into h_{t−1}
        }
    }
}
