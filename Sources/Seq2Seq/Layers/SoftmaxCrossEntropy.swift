import Foundation

/// Softmax cross-entropy over rows of logits, fused with its gradient.
///
/// Per row with target y and label smoothing ε (PyTorch's definition):
///   log p_j = z_j − m − log Σ_k e^(z_k − m),   m = max_k z_k   (stable: no overflow in exp)
///   loss    = (1 − ε)·(−log p_y) + ε·(−1/V Σ_j log p_j)
///   ∂loss/∂z_j = p_j − (1 − ε)·[j = y] − ε/V
/// Rows whose target is negative are ignored (no loss, zero gradient).
enum SoftmaxCrossEntropy {
    /// Computes the summed loss over rows with target ≥ 0 (in Double) and, if
    /// `gradientScale` is non-nil, overwrites `logits` with `gradientScale · ∂loss/∂z`
    /// (otherwise `logits` is left unchanged).
    /// logits `[N, V]`, targets `[N]`, scratch `[V]`.
    static func forwardBackward(
        logits z: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, rows N: Int, classes V: Int,
        labelSmoothing eps: Float, gradientScale: Float?, scratch: UnsafeMutablePointer<Float>
    ) -> Double {
        var total: Double = 0
        let uniform = eps / Float(V)
        for n in 0..<N {
            let row = z + n * V
            let y = Int(targets[n])
            if y < 0 {
                if gradientScale != nil { row.update(repeating: 0, count: V) }
                continue
            }
            let m = Kernels.maximum(row, count: V)
            let sumZ = eps > 0 ? Kernels.sum(row, count: V) : 0
            let zy = row[y]
            // Σ e^(z − m); with gradients requested the row keeps e^(z − m) for the softmax.
            let s = gradientScale != nil
                ? Kernels.expShiftedInPlace(row, shift: m, count: V)
                : Kernels.expShifted(row, shift: m, into: scratch, count: V)
            let logZ = m + Float(Double(s).logValue)             // log Σ e^z
            var loss = Double(logZ - zy)
            if eps > 0 {
                // −1/V Σ_j log p_j = logZ − mean(z)
                let smooth = Double(logZ) - Double(sumZ) / Double(V)
                loss = Double(1 - eps) * loss + Double(eps) * smooth
            }
            total += loss
            if let scale = gradientScale {
                let inv = 1 / s
                for j in 0..<V { row[j] = (row[j] * inv - uniform) * scale }  // (p − ε/V)·scale
                row[y] -= (1 - eps) * scale
            }
        }
        return total
    }

    /// Replaces each row of logits `[N, V]` by its log-softmax. `scratch` holds V floats.
    static func logSoftmax(_ z: UnsafeMutablePointer<Float>, rows N: Int, classes V: Int, scratch: UnsafeMutablePointer<Float>) {
        for n in 0..<N {
            let row = z + n * V
            let m = Kernels.maximum(row, count: V)
            let c = m + Float(Double(Kernels.expShifted(row, shift: m, into: scratch, count: V)).logValue)
            for j in 0..<V { row[j] -= c }
        }
    }
}

extension Double {
    @inline(__always) var logValue: Double { Foundation.log(self) }
}
