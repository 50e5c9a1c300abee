/// One time step of the vanilla (Elman) RNN cell for one row (PyTorch `nn.RNN`, tanh):
///
///     z   = W_ih · x_t + b_ih + W_hh · h_{t−1} + b_hh        [H]   (computed by the caller)
///     h_t = tanh(z)
///
/// Used by training (`RecurrentLayer`) and decoding (`DecoderState`) alike.
enum RNNCell {
    /// Forward: reads the pre-activation `z` `[H]`, overwrites it with h_t and writes h_t to `h` `[H]`
    /// (`h` may alias `z`).
    @inline(__always)
    static func forward(z: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, H: Int) {
        Kernels.tanhInPlace(z, count: H)
        if h != z { h.update(from: z, count: H) }
    }

    /// Backward: `dz = dh ⊙ (1 − h_t²)` (backprop through tanh). `dh` `[H]` is the total gradient
    /// into h_t and is replaced by 0 (h_{t−1} is reached only through z, added by the caller).
    @inline(__always)
    static func backward(dh: UnsafeMutablePointer<Float>, h: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>, H: Int) {
        for j in 0..<H {
            dz[j] = dh[j] * (1 - h[j] * h[j])
            dh[j] = 0
        }
    }
}
