import Foundation

/// Draws one index from a categorical distribution given by scores `z` `[V]`:
/// p ∝ exp(z / T) over the allowed entries, restricted to the K largest; argmax at T = 0.
/// The one sampler of the language model (`Sampler`) and of sampling search (`SamplingSearch`).
///
/// exp is taken of (z − max)/T ≤ 0, so it cannot overflow; sums are in Double. Entries that
/// are NaN or −∞ are never drawn. Holds its scratch buffers (`[V]`), so a draw allocates nothing.
final class CategoricalDraw {
    let capacity: Int
    private let weights: UnsafeMutablePointer<Double>   // [V]
    private let order: UnsafeMutablePointer<Int32>      // [V] candidate ids, top K first

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        weights = .allocate(capacity: self.capacity)
        order = .allocate(capacity: self.capacity)
    }

    deinit {
        weights.deallocate()
        order.deallocate()
    }

    /// One index of `z[0..<V]` (V ≤ `capacity`), or nil when every entry is excluded or not finite.
    /// - Parameters:
    ///   - temperature: T; 0 (or less) takes the largest score (ties: the smaller index).
    ///   - topK: draw among the K largest scores only (nil: all).
    ///   - excluded: indices never drawn (reserved tokens).
    func draw(_ z: UnsafePointer<Float>, count V: Int, temperature: Float, topK: Int?,
              excluding excluded: (Int32) -> Bool = { _ in false }, random: inout RandomGenerator) -> Int32? {
        precondition(V <= capacity, "CategoricalDraw: \(V) scores exceed its capacity of \(capacity)")
        var candidates = 0
        for j in 0..<V where z[j] > -Float.infinity && !excluded(Int32(j)) {   // NaN and −∞ fail the test
            order[candidates] = Int32(j)
            candidates += 1
        }
        if candidates == 0 { return nil }
        if let k = topK, k >= 1, k < candidates {
            // Partial selection: the k largest scores first (ties: smaller index first).
            for i in 0..<k {
                var best = i
                for j in (i + 1)..<candidates {
                    let a = order[j], b = order[best]
                    if z[Int(a)] > z[Int(b)] || (z[Int(a)] == z[Int(b)] && a < b) { best = j }
                }
                (order[i], order[best]) = (order[best], order[i])
            }
            candidates = k
        }
        var best = order[0]
        for i in 1..<candidates where z[Int(order[i])] > z[Int(best)] || (z[Int(order[i])] == z[Int(best)] && order[i] < best) {
            best = order[i]
        }
        if temperature <= 0 || z[Int(best)] == .infinity { return best }
        let m = Double(z[Int(best)]), t = Double(temperature)
        var sum = 0.0
        for i in 0..<candidates {
            let p = Foundation.exp((Double(z[Int(order[i])]) - m) / t)
            weights[i] = p
            sum += p
        }
        let u = Double(random.next() >> 11) * 0x1p-53 * sum        // uniform in [0, sum)
        var cumulative = 0.0
        for i in 0..<candidates {
            cumulative += weights[i]
            if u < cumulative { return order[i] }
        }
        return order[candidates - 1]
    }
}
