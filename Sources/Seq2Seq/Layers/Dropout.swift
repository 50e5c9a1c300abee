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

    /// Fills a packed mask `[P.total, D]` (row n = step t, sorted row r) with 0 or 1/(1 − p).
    ///
    /// Each sentence draws from its own stream, seeded by one draw from `random` and the
    /// sentence's key (`P.keys`), in its own time order. A sentence's mask therefore does not
    /// depend on which other sentences share its batch, nor on their order or lengths: data-parallel
    /// ranks that train on parts of a global batch (each part keyed by its rows' global positions)
    /// draw exactly the masks one process draws for the whole batch. Padded positions (the
    /// masked variant) get 0.
    static func makeMask(
        _ mask: UnsafeMutablePointer<Float>, packing P: Packing, width D: Int, probability p: Float,
        random: inout RandomGenerator
    ) {
        let scale = 1 / (1 - p)
        let base = random.next()
        if P.mask != nil { mask.update(repeating: 0, count: P.total * D) }
        for r in 0..<P.rowCount {
            var stream = RandomGenerator(seed: Packing.streamSeed(base, key: P.keys[r]))
            for t in 0..<P.lengths[r] {
                let row = mask + (P.offsets[t] + r) * D
                for j in 0..<D { row[j] = stream.nextUnitFloat() < p ? 0 : scale }
            }
        }
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
