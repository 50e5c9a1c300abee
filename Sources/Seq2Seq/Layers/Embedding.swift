/// Embedding lookup: row `id` of a `[V, E]` table per token.
///
/// There is no `padding_idx`: padded positions are never packed, so they are
/// never read and their rows get no gradient.
enum Embedding {
    /// `y[n] = table[ids[n]]`.  table `[V, E]`, ids `[N]`, y `[N, E]`.
    static func forward(
        table: UnsafePointer<Float>, ids: UnsafePointer<Int32>, count N: Int, width E: Int,
        output y: UnsafeMutablePointer<Float>
    ) {
        for n in 0..<N {
            (y + n * E).update(from: table + Int(ids[n]) * E, count: E)
        }
    }

    /// `dTable[ids[n]] += dy[n]`.  dy `[N, E]`, dTable `[V, E]` (accumulated).
    static func backward(
        outputGradient dy: UnsafePointer<Float>, ids: UnsafePointer<Int32>, count N: Int, width E: Int,
        tableGradient dTable: UnsafeMutablePointer<Float>
    ) {
        for n in 0..<N {
            Kernels.add(dy + n * E, into: dTable + Int(ids[n]) * E, count: E)
        }
    }
}
