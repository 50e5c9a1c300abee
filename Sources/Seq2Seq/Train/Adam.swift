import Foundation

/// Adam with bias correction (PyTorch `torch.optim.Adam`, no weight decay, no amsgrad):
///
///     m = β1·m + (1−β1)·g
///     v = β2·v + (1−β2)·g²
///     p = p − (lr / (1 − β1^t)) · m / ( sqrt(v) / sqrt(1 − β2^t) + eps )
///
/// The moments `m`, `v` share the parameters' layout (one loop, one checkpoint write).
public final class AdamOptimizer {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// First moment (same layout as the parameters).
    public let m: ParameterBuffer
    /// Second moment (same layout as the parameters).
    public let v: ParameterBuffer
    /// Number of updates applied so far (t of the last update).
    public var stepCount: Int

    public init(layoutOf parameters: ParameterBuffer, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = ParameterBuffer(layoutOf: parameters)
        v = ParameterBuffer(layoutOf: parameters)
        stepCount = 0
    }

    /// Applies one update with step t = `stepCount + 1`.
    public func update(parameters: ParameterBuffer, gradients: ParameterBuffer, learningRate: Float) {
        precondition(parameters.count == m.count && gradients.count == m.count, "layouts differ")
        stepCount += 1
        let t = Double(stepCount)
        let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), t)))
        let invCorrection2 = Float(1 / (1 - pow(Double(beta2), t)).squareRoot())
        // Element-wise and memory-bound (7 floats moved per weight): split over the compute
        // threads in blocks of 16 floats; each weight's update is the same whatever the split.
        let (count, parts) = (m.count, Parallel.parts(for: m.count))
        let block = ((count + parts - 1) / parts + 15) & ~15
        let (p, g, m1, v1) = (SharedPointer(parameters.pointer), SharedPointer(gradients.pointer),
                              SharedPointer(m.pointer), SharedPointer(v.pointer))
        let (beta1, beta2, epsilon) = (beta1, beta2, epsilon)
        Parallel.forEach(parts: parts) { part in
            let lo = min(count, part * block), n = min(count, lo + block) - lo
            guard n > 0 else { return }
            Kernels.adamStep(parameters: p.pointer + lo, gradients: g.pointer + lo, m: m1.pointer + lo,
                             v: v1.pointer + lo, count: n, beta1: beta1, beta2: beta2, epsilon: epsilon,
                             stepSize: stepSize, invCorrection2: invCorrection2)
        }
    }
}

/// Global-norm gradient clipping (PyTorch `clip_grad_norm_`).
public enum GradientClipping {
    /// Computes the global L2 norm over all gradients and, if it exceeds `maxNorm`,
    /// scales them by `maxNorm / (norm + 1e-6)`. Returns the pre-clip norm and the
    /// coefficient applied (1 when nothing was clipped).
    @discardableResult
    public static func clip(_ gradients: ParameterBuffer, maxNorm: Float) -> (norm: Float, coefficient: Float) {
        let norm = gradients.l2Norm()
        let coefficient = min(1, maxNorm / (norm + 1e-6))
        if coefficient < 1 {
            let g = gradients.pointer
            Kernels.scale(g, by: coefficient, count: gradients.count)
        }
        return (norm, coefficient)
    }
}
