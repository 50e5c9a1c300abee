import Foundation

/// Checks of the compute paths this CPU runs — matrix products through `BLAS` and the array
/// kernels in `Kernels` — against Double references. Used by the tests (every instruction set
/// in one process for the kernels; `SEQ2SEQ_ISA=avx2 seq2seq bench check` for the matrix
/// library, whose instruction set is fixed per process) and by `seq2seq bench check` on a
/// user's machine.
public enum ComputeCheck {
    /// One comparison: the largest error found and the bound it must stay under.
    public struct Result: Sendable, CustomStringConvertible {
        public var name: String
        public var maxError: Double
        public var tolerance: Double
        public var passed: Bool { maxError <= tolerance && !maxError.isNaN }
        public var description: String {
            "\(passed ? "ok" : "FAILED") \(name): max error \(String(format: "%.2e", maxError)) (bound \(String(format: "%.0e", tolerance)))"
        }
    }

    /// `BLAS.gemm` for every transpose combination on odd shapes, padded leading dimensions,
    /// alpha and beta, and on shapes that take the column split (few rows, many columns) and
    /// oneDNN's own threading; plus `BLAS.gemv`. Error relative to Σ|a·b| per element.
    public static func matrixProducts() -> [Result] {
        var results: [Result] = []
        var random = RandomGenerator(seed: 21)
        let shapes = [(1, 1, 1), (3, 5, 7), (17, 1, 9), (13, 11, 1), (33, 29, 31), (64, 1031, 37), (5, 300, 64),
                      (130, 70, 40)]
        for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
            var worst = 0.0
            for (m, n, k) in shapes {
                worst = max(worst, gemmError(transA: transA, transB: transB, m: m, n: n, k: k, random: &random))
            }
            results.append(Result(name: "gemm \(transA ? "T" : "N")\(transB ? "T" : "N")", maxError: worst, tolerance: 1e-5))
        }
        for trans in [false, true] {
            let (m, n) = (37, 29)
            let a = randomValues(m * n, &random), x = randomValues(trans ? m : n, &random)
            var y = randomValues(trans ? n : m, &random)
            let y0 = y
            BLAS.gemv(trans: trans, m: m, n: n, alpha: 2, a: a, lda: n, x: x, beta: 0.5, y: &y)
            var worst = 0.0
            for i in 0..<y.count {
                var s = 0.0, scale = 0.0
                for p in 0..<x.count {
                    let term = Double(trans ? a[p * n + i] : a[i * n + p]) * Double(x[p])
                    s += term
                    scale += abs(term)
                }
                worst = max(worst, abs(2 * s + 0.5 * Double(y0[i]) - Double(y[i])) / max(1, 2 * scale))
            }
            results.append(Result(name: "gemv \(trans ? "T" : "N")", maxError: worst, tolerance: 1e-5))
        }
        return results
    }

    /// Relative error of one `BLAS.gemm` against a Double loop; −1 (a failure) if padding changed.
    static func gemmError(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, random: inout RandomGenerator) -> Double {
        let (aRows, aCols) = transA ? (k, m) : (m, k)
        let (bRows, bCols) = transB ? (n, k) : (k, n)
        let (lda, ldb, ldc) = (aCols + 2, bCols + 1, n + 3)
        let a = randomValues(aRows * lda, &random), b = randomValues(bRows * ldb, &random)
        var c = randomValues(m * ldc, &random)
        let c0 = c
        let (alpha, beta): (Float, Float) = (0.75, -0.5)
        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: &c, ldc: ldc)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, scale = abs(Double(beta) * Double(c0[i * ldc + j]))
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(x) * Double(y)
                    scale += abs(Double(alpha) * Double(x) * Double(y))
                }
                let expected = Double(alpha) * s + Double(beta) * Double(c0[i * ldc + j])
                worst = max(worst, abs(expected - Double(c[i * ldc + j])) / max(1, scale))
            }
            for j in n..<ldc where c[i * ldc + j] != c0[i * ldc + j] { return .infinity }  // padding touched
        }
        return worst
    }

    /// Every array kernel of `Kernels` on the calling thread's instruction set (see
    /// `Kernels.withInstructionSet`), on lengths that leave vector tails, against Double formulas.
    public static func elementwiseKernels() -> [Result] {
        var random = RandomGenerator(seed: 5)
        var results: [Result] = []
        let n = 1000 + 13
        let x = (0..<n).map { _ in (Float.random(in: -1...1, using: &random)) * 20 }

        func check(_ name: String, tolerance: Double, _ body: () -> Double) {
            results.append(Result(name: name, maxError: body(), tolerance: tolerance))
        }
        func mapError(_ f: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                      _ reference: (Double) -> Double, relative: Bool) -> Double {
            var y = [Float](repeating: 0, count: n)
            var worst = 0.0
            for count in [n, 7, 1] {  // a long row with a tail, a row shorter than one vector
                x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { f(xs.baseAddress!, $0.baseAddress!, count) } }
                for i in 0..<count {
                    let e = reference(Double(x[i]))
                    worst = max(worst, abs(Double(y[i]) - e) / (relative ? e : 1))
                }
            }
            return worst
        }
        check("exp (relative)", tolerance: 1e-6) { mapError({ Kernels.exp($0, $1, count: $2) }, Foundation.exp, relative: true) }
        check("sigmoid", tolerance: 1e-6) { mapError({ Kernels.sigmoid($0, $1, count: $2) }, { 1 / (1 + Foundation.exp(-$0)) }, relative: false) }
        check("tanh", tolerance: 1e-6) { mapError({ Kernels.tanh($0, $1, count: $2) }, Foundation.tanh, relative: false) }

        check("sum, sum of squares, maximum", tolerance: 1e-6) {
            var worst = 0.0
            for count in [n, 9, 1] {
                let part = Array(x[0..<count])
                let s = part.reduce(0.0) { $0 + Double($1) }, q = part.reduce(0.0) { $0 + Double($1) * Double($1) }
                let scale = part.reduce(0.0) { $0 + abs(Double($1)) }
                worst = max(worst, abs(Double(Kernels.sum(part, count: count)) - s) / max(1, scale))
                worst = max(worst, abs(Double(Kernels.sumOfSquares(part, count: count)) - q) / max(1, q))
                worst = max(worst, abs(Double(Kernels.maximum(part, count: count)) - Double(part.max()!)))
            }
            return worst
        }
        check("exp shifted, its sum, log-softmax", tolerance: 1e-6) {
            var worst = 0.0
            for count in [n, 5] {
                let m = Double(x[0..<count].max()!)
                var y = [Float](repeating: 0, count: count)
                let s = Double(Kernels.expShifted(x, shift: Float(m), into: &y, count: count))
                let sRef = x[0..<count].reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
                worst = max(worst, abs(s - sRef) / sRef)
                for i in 0..<count { worst = max(worst, abs(Double(y[i]) - Foundation.exp(Double(x[i]) - m))) }
                var row = Array(x[0..<count])
                Kernels.logSoftmax(&row, count: count)
                // log-probabilities reach −40 here: compare relative to that range.
                for i in 0..<count { worst = max(worst, abs(Double(row[i]) - (Double(x[i]) - m - Foundation.log(sRef))) / 40) }
            }
            return worst
        }
        check("scale, scaleAndAdd, multiply, add, addColumnSums, subtract", tolerance: 1e-6) { arithmeticError(x, &random) }
        check("lstmCell forward and backward", tolerance: 1e-6) { lstmCellError(&random) }
        check("adamStep", tolerance: 1e-6) { adamError(&random) }
        check("fewRowsTimesTransposed", tolerance: 1e-6) { fewRowsTimesTransposedError(&random) }
        return results
    }

    /// scale, scaleAndAdd, multiply, add, subtract over `x` and addColumnSums over its first
    /// rows, against Double formulas (errors relative to each result's range).
    static func arithmeticError(_ x: [Float], _ random: inout RandomGenerator) -> Double {
        let n = x.count
        var worst = 0.0
        let m = (0..<n).map { _ in Float.random(in: -2...2, using: &random) }
        var a = x, b = x, c = [Float](repeating: 0, count: n), d = m, e = x
        Kernels.scale(&a, by: 0.37, count: n)
        Kernels.scaleAndAdd(&b, multiplier: -1.5, addend: 0.25, count: n)
        Kernels.multiply(x, by: m, into: &c, count: n)
        Kernels.add(x, into: &d, count: n)
        Kernels.subtract(1.75, from: &e, count: n)
        for i in 0..<n {
            let xi = Double(x[i]), mi = Double(m[i])
            worst = max(worst, abs(Double(a[i]) - xi * 0.37) / 20, abs(Double(b[i]) - (xi * -1.5 + 0.25)) / 30,
                        abs(Double(c[i]) - xi * mi) / 40, abs(Double(d[i]) - (xi + mi)) / 22,
                        abs(Double(e[i]) - (xi - 1.75)) / 22)
        }
        let (rows, columns) = (7, 37)
        var sums = [Float](repeating: 1, count: columns)
        Kernels.addColumnSums(x, rows: rows, columns: columns, into: &sums)
        for j in 0..<columns {
            let s = 1 + (0..<rows).reduce(0.0) { $0 + Double(x[$1 * columns + j]) }
            worst = max(worst, abs(Double(sums[j]) - s) / 140)
        }
        return worst
    }

    /// `Kernels.fewRowsTimesTransposed` on shapes with vector tails and padded rows, against a
    /// Double sum; infinity when it writes into the padding.
    static func fewRowsTimesTransposedError(_ random: inout RandomGenerator) -> Double {
        var worst = 0.0
        for (m, rows, k) in [(1, 1, 1), (5, 7, 8), (8, 13, 9), (3, 4, 30), (2, 65, 257)] {
            let (lda, ldw, ldc) = (k + 3, k + 1, rows + 2)
            let a = randomValues(m * lda, &random), w = randomValues(rows * ldw, &random)
            var c = randomValues(m * ldc, &random)
            let c0 = c
            Kernels.fewRowsTimesTransposed(m: m, n: rows, k: k, a: a, lda: lda, w: w, ldw: ldw, c: &c, ldc: ldc)
            for r in 0..<m {
                for v in 0..<rows {
                    var s = Double(c0[r * ldc + v]), scale = abs(s)
                    for j in 0..<k {
                        s += Double(a[r * lda + j]) * Double(w[v * ldw + j])
                        scale += abs(Double(a[r * lda + j]) * Double(w[v * ldw + j]))
                    }
                    worst = max(worst, abs(s - Double(c[r * ldc + v])) / max(1, scale))
                }
                for v in rows..<ldc where c[r * ldc + v] != c0[r * ldc + v] { return .infinity }
            }
        }
        return worst
    }

    /// Forward and backward of the fused LSTM gate pass (H = 37: vectors and a tail) against the
    /// formulas of `LSTMLayer` in Double.
    static func lstmCellError(_ random: inout RandomGenerator) -> Double {
        let H = 37
        let z0 = randomValues(4 * H, &random).map { $0 * 4 }, cPrev = randomValues(H, &random)
        var z = z0, c = [Float](repeating: 0, count: H), tc = c, h = c
        Kernels.lstmCell(z: &z, cPrev: cPrev, c: &c, tanhC: &tc, h: &h, H: H)
        let dy = randomValues(H, &random), dh = randomValues(H, &random), dc0 = randomValues(H, &random)
        var dc = dc0, dz = [Float](repeating: 0, count: 4 * H)
        Kernels.lstmCellBackward(gates: z, tanhC: tc, cPrev: cPrev, outputGradient: dy, hiddenGradient: dh,
                                 cellGradient: &dc, gateGradient: &dz, H: H)
        func sigmoid(_ v: Float) -> Double { 1 / (1 + Foundation.exp(-Double(v))) }
        var worst = 0.0
        for j in 0..<H {
            let i = sigmoid(z0[j]), f = sigmoid(z0[H + j]), g = Foundation.tanh(Double(z0[2 * H + j])),
                o = sigmoid(z0[3 * H + j])
            let cj = f * Double(cPrev[j]) + i * g, t = Foundation.tanh(cj)
            for (got, want) in [(z[j], i), (z[H + j], f), (z[2 * H + j], g), (z[3 * H + j], o), (c[j], cj),
                                (tc[j], t), (h[j], o * t)] {
                worst = max(worst, abs(Double(got) - want))
            }
            // Backward from the kernel's own forward values (so only the backward formula is tested).
            let (ik, fk, gk, ok, tk) = (Double(z[j]), Double(z[H + j]), Double(z[2 * H + j]), Double(z[3 * H + j]),
                                        Double(tc[j]))
            let dht = Double(dy[j]) + Double(dh[j])
            let dcj = Double(dc0[j]) + dht * ok * (1 - tk * tk)
            for (got, want) in [(dz[j], dcj * gk * ik * (1 - ik)), (dz[H + j], dcj * Double(cPrev[j]) * fk * (1 - fk)),
                                (dz[2 * H + j], dcj * ik * (1 - gk * gk)), (dz[3 * H + j], dht * tk * ok * (1 - ok)),
                                (dc[j], dcj * fk)] {
                worst = max(worst, abs(Double(got) - want))
            }
        }
        return worst
    }

    /// One Adam step over 1013 values against the formula in Double (absolute: the parameters are
    /// O(1), the updates O(1e-3), so a wrong update shows far above Float rounding).
    static func adamError(_ random: inout RandomGenerator) -> Double {
        let n = 1013
        let p0 = randomValues(n, &random), g = randomValues(n, &random)
        let m0 = randomValues(n, &random).map { $0 * 0.1 }, v0 = randomValues(n, &random).map { $0 * $0 * 0.01 }
        var p = p0, m = m0, v = v0
        let (b1, b2, eps, step, inv2): (Float, Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 1e-3, 1.3)
        Kernels.adamStep(parameters: &p, gradients: g, m: &m, v: &v, count: n, beta1: b1, beta2: b2, epsilon: eps,
                         stepSize: step, invCorrection2: inv2)
        var worst = 0.0
        for i in 0..<n {
            let gi = Double(g[i])
            let mi = Double(b1) * Double(m0[i]) + Double(1 - b1) * gi
            let vi = Double(b2) * Double(v0[i]) + Double(1 - b2) * gi * gi
            let pi = Double(p0[i]) - Double(step) * mi / (vi.squareRoot() * Double(inv2) + Double(eps))
            worst = max(worst, abs(Double(m[i]) - mi), abs(Double(v[i]) - vi), abs(Double(p[i]) - pi))
        }
        return worst
    }

    static func randomValues(_ count: Int, _ random: inout RandomGenerator) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &random) }
    }
}
