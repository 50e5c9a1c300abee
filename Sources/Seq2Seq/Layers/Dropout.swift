/// Inverted dropout: during training each value is kept with probability 1 − p
/// and scaled by 1/(1 − p); at inference the layer is the identity.
///
/// The mask is drawn once per forward and reused by backward, so the two are
/// consistent and the layer can be gradient-checked with a fixed mask.
enum Dropout {
    /// Fills `mask[0..<count]` with 0 or 1/(1 − p), drawing from `random`.
    static func makeMask(
        _ mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float, random: inout RandomGenerator
    ) {
        let scale = 1 / (1 - p)
        for i in 0..<count { mask[i] = random.nextUnitFloat() < p ? 0 : scale }
    }

    /// `y = x ⊙ mask`; `x` and `y` may alias.  All `[count]`.
    static func forward(
        _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count { y[i] = x[i] * mask[i] }
    }

    /// `dx = dy ⊙ mask`; `dy` and `dx` may alias.
    static func backward(
        _ dy: UnsafePointer<Float>, mask: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count { dx[i] = dy[i] * mask[i] }
    }
}
