/// Affine layer `y = x · Wᵀ + b` with `W` `[out, in]` (PyTorch layout).
enum Linear {
    /// x `[N, in]`, W `[out, in]`, b `[out]` → y `[N, out]`. One GEMM for all N rows.
    static func forward(
        input x: UnsafePointer<Float>, rows N: Int, inputSize I: Int, outputSize O: Int,
        weight W: UnsafePointer<Float>, bias b: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        for n in 0..<N { (y + n * O).update(from: b, count: O) }  // y = b
        BLAS.gemm(transB: true, m: N, n: O, k: I, a: x, lda: I, b: W, ldb: I, beta: 1, c: y, ldc: O)  // y += x·Wᵀ
    }

    /// Accumulates `dW += dyᵀ · x`, `db += Σ_n dy[n]`; writes `dx = dy · W` when `dx` is given.
    static func backward(
        outputGradient dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
        rows N: Int, inputSize I: Int, outputSize O: Int,
        weight W: UnsafePointer<Float>,
        weightGradient dW: UnsafeMutablePointer<Float>, biasGradient db: UnsafeMutablePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?
    ) {
        BLAS.gemm(transA: true, m: O, n: I, k: N, a: dy, lda: O, b: x, ldb: I, beta: 1, c: dW, ldc: I)  // [O, I]
        Kernels.addColumnSums(dy, rows: N, columns: O, into: db)
        if let dx {
            BLAS.gemm(m: N, n: I, k: O, a: dy, lda: O, b: W, ldb: I, beta: 0, c: dx, ldc: I)  // [N, I]
        }
    }
}
