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
    /// (otherwise `logits` is left unchanged). With `roundedGradient` (and a `gradientScale`),
    /// each gradient row is also rounded to bf16 there, while it is in cache, for the
    /// mixed-precision products of the backward pass (`BLAS.roundToBFloat16`).
    /// logits `[N, V]`, targets `[N]`, scratch `[V]`, roundedGradient `[N, V]`.
    static func forwardBackward(
        logits z: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, rows N: Int, classes V: Int,
        labelSmoothing eps: Float, gradientScale: Float?, scratch: UnsafeMutablePointer<Float>,
        roundedGradient: UnsafeMutablePointer<UInt16>? = nil
    ) -> Double {
        guard gradientScale != nil, N > 1 else {   // the loss alone (scratch per row), or one row
            var total: Double = 0
            for n in 0..<N {
                total += rowLoss(z + n * V, target: Int(targets[n]), classes: V, labelSmoothing: eps,
                                 gradientScale: gradientScale, scratch: scratch, roundedGradient: roundedGradient?.advanced(by: n * V))
            }
            return total
        }
        // With gradients the rows are independent and need no scratch: split over the compute
        // threads; the row losses are summed in row order, so the total is the same for any split.
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: N) { losses in
            let (zS, tS, lS) = (UncheckedSendable(z), UncheckedSendable(targets), UncheckedSendable(losses))
            let rS = UncheckedSendable(roundedGradient)
            let parts = Parallel.parts(for: N * V)
            Parallel.forEach(parts: parts) { part in
                for n in part * N / parts..<(part + 1) * N / parts {
                    lS.value[n] = rowLoss(zS.value + n * V, target: Int(tS.value[n]), classes: V, labelSmoothing: eps,
                                          gradientScale: gradientScale, scratch: nil,
                                          roundedGradient: rS.value?.advanced(by: n * V))
                }
            }
            return losses.reduce(0, +)
        }
    }

    /// One row of `forwardBackward`: its loss (0 for a negative target), the gradient written
    /// over the row when `gradientScale` is set (`scratch` [V] is needed only without it).
    private static func rowLoss(
        _ row: UnsafeMutablePointer<Float>, target y: Int, classes V: Int, labelSmoothing eps: Float,
        gradientScale: Float?, scratch: UnsafeMutablePointer<Float>?, roundedGradient: UnsafeMutablePointer<UInt16>?
    ) -> Double {
        if y < 0 {
            if gradientScale != nil {
                row.update(repeating: 0, count: V)
                roundedGradient?.update(repeating: 0, count: V)
            }
            return 0
        }
        let m = Kernels.maximum(row, count: V)
        let sumZ = eps > 0 ? Kernels.sum(row, count: V) : 0
        let zy = row[y]
        // Σ e^(z − m); with gradients requested the row keeps e^(z − m) for the softmax.
        let s: Float
        if let scratch, gradientScale == nil { s = Kernels.expShifted(row, shift: m, into: scratch, count: V) }
        else { s = Kernels.expShiftedInPlace(row, shift: m, count: V) }
        let logZ = m + Float(Double(s).logValue)             // log Σ e^z
        var loss = Double(logZ - zy)
        if eps > 0 {
            // −1/V Σ_j log p_j = logZ − mean(z)
            let smooth = Double(logZ) - Double(sumZ) / Double(V)
            loss = Double(1 - eps) * loss + Double(eps) * smooth
        }
        if let scale = gradientScale {
            let inv = 1 / s
            let uniform = eps / Float(V)
            for j in 0..<V { row[j] = (row[j] * inv - uniform) * scale }  // (p − ε/V)·scale
            row[y] -= (1 - eps) * scale
            if let roundedGradient { BLAS.roundToBFloat16(row, count: V, into: roundedGradient) }
        }
        return loss
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
