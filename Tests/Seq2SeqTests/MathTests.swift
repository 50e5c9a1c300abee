import Foundation
import Testing
@testable import Seq2Seq

@Suite struct BLASTests {
    @Test func blasIsLinked() {
        #expect(!blasCoreName().isEmpty)
    }

    /// sgemm through the wrapper vs a naive Double triple loop, for every
    /// transpose combination, odd shapes, padded leading dimensions, alpha and beta.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func gemmMatchesNaiveLoops(transA: Bool, transB: Bool) {
        var random = RandomGenerator(seed: 21)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 1, 9), (13, 11, 1), (33, 29, 31)] {
            let (aRows, aCols) = transA ? (k, m) : (m, k)
            let (bRows, bCols) = transB ? (n, k) : (k, n)
            let (lda, ldb, ldc) = (aCols + 2, bCols + 1, n + 3)
            let a = randomArray(aRows * lda, scale: 1, &random)
            let b = randomArray(bRows * ldb, scale: 1, &random)
            var c = randomArray(m * ldc, scale: 1, &random)
            let c0 = c
            let (alpha, beta): (Float, Float) = (0.75, -0.5)
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: &c, ldc: ldc)
            var worst: Double = 0
            for i in 0..<m {
                for j in 0..<n {
                    var s: Double = 0
                    for p in 0..<k {
                        let x = transA ? a[p * lda + i] : a[i * lda + p]
                        let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                        s += Double(x) * Double(y)
                    }
                    let expected = Double(alpha) * s + Double(beta) * Double(c0[i * ldc + j])
                    worst = max(worst, abs(expected - Double(c[i * ldc + j])))
                }
                for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j], "padding columns untouched") }
            }
            #expect(worst < 1e-5, "gemm \(transA ? "T" : "N")\(transB ? "T" : "N") \(m)×\(n)×\(k): max |diff| \(worst)")
        }
    }

    @Test(arguments: [false, true])
    func gemvMatchesNaiveLoops(trans: Bool) {
        var random = RandomGenerator(seed: 22)
        let (m, n) = (7, 5)
        let a = randomArray(m * n, scale: 1, &random)
        let x = randomArray(trans ? m : n, scale: 1, &random)
        var y = randomArray(trans ? n : m, scale: 1, &random)
        let y0 = y
        BLAS.gemv(trans: trans, m: m, n: n, alpha: 2, a: a, lda: n, x: x, beta: 0.5, y: &y)
        for i in 0..<y.count {
            var s: Double = 0
            for p in 0..<x.count { s += Double(trans ? a[p * n + i] : a[i * n + p]) * Double(x[p]) }
            #expect(abs(2 * s + 0.5 * Double(y0[i]) - Double(y[i])) < 1e-5)
        }
    }

    /// The facade on the shapes that take each path (column split over threads for few rows,
    /// the library's own threading, one thread) on this CPU's widest instruction set; the
    /// narrower sets of the matrix library are checked by `seq2seq bench check` under
    /// SEQ2SEQ_ISA (CLITests), since oneDNN fixes its instruction set once per process.
    @Test func everyProductPathMatchesDoubleLoops() {
        for result in ComputeCheck.matrixProducts() { #expect(result.passed, "\(result)") }
    }

    @Test func emptyInnerDimensionScalesC() {
        var c: [Float] = [1, 2, 3, 4]
        let a: [Float] = [0], b: [Float] = [0]
        BLAS.gemm(m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, beta: 0.5, c: &c, ldc: 2)
        #expect(c == [0.5, 1, 1.5, 2])
    }
}

/// Instruction sets this CPU can run: every test below runs on each of them (forced per thread
/// with `Kernels.withInstructionSet`), so an AVX-512 machine also checks the AVX2 and baseline paths.
let availableInstructionSets = InstructionSet.allCases.filter { $0.rawValue <= InstructionSet.supported.rawValue }

@Suite struct KernelTests {
    /// Dense grid over [−30, 30] plus extremes; absolute error vs Double ≤ 1e-6.
    static let inputs: [Float] = stride(from: Float(-30), through: 30, by: 0.001).map { $0 } + [-1e4, -100, -88, 88, 100, 1e4, 0, 1e-8, -1e-8]

    @Test(arguments: availableInstructionSets)
    func everyKernelMatchesDoubleReference(set: InstructionSet) {
        let results = Kernels.withInstructionSet(set) { ComputeCheck.elementwiseKernels() }
        #expect(results.count >= 9)
        for result in results { #expect(result.passed, "\(set): \(result)") }
    }

    @Test func narrowingIsPerThreadAndUndone() {
        let before = InstructionSet.active
        Kernels.withInstructionSet(.generic) {
            #expect(InstructionSet.current == .generic, "this thread runs the baseline kernels")
            #expect(InstructionSet.active == before, "the process-wide choice stays")
        }
        #expect(InstructionSet.current == before)
        #expect(InstructionSet.supported.rawValue >= InstructionSet.active.rawValue)
    }

    @Test(arguments: availableInstructionSets)
    func sigmoidAndTanhWithin1e6(set: InstructionSet) {
        var worstSigmoid: Double = 0, worstTanh: Double = 0
        var s = [Float](repeating: 0, count: Self.inputs.count), t = s
        Kernels.withInstructionSet(set) {
            Kernels.sigmoid(Self.inputs, &s, count: s.count)
            Kernels.tanh(Self.inputs, &t, count: t.count)
        }
        for (i, x) in Self.inputs.enumerated() {
            worstSigmoid = max(worstSigmoid, abs(Double(s[i]) - 1 / (1 + Foundation.exp(-Double(x)))))
            worstTanh = max(worstTanh, abs(Double(t[i]) - Foundation.tanh(Double(x))))
        }
        #expect(worstSigmoid <= 1e-6, "sigmoid max abs error \(worstSigmoid)")
        #expect(worstTanh <= 1e-6, "tanh max abs error \(worstTanh)")
        #expect(s.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
        #expect(t.allSatisfy { $0.isFinite && $0 >= -1 && $0 <= 1 })
    }

    /// The int8 row kernels on every instruction set equal the scalar formulas, tails included:
    /// quantizing (scale = max |x| / L, round half to even, offset L, clamped) and scaling integer
    /// sums back (out += s · scale_v · p_v). A NaN input does not trap.
    @Test(arguments: availableInstructionSets)
    func int8RowKernelsMatchTheScalarFormulas(set: InstructionSet) {
        var random = RandomGenerator(seed: 7)
        for (k, levels) in [(1, 127), (15, 63), (37, 127), (64, 127), (515, 63)] {
            var x = randomArray(k, scale: 2, &random)   // var: zero and a mirrored value below
            if k > 3 { x[1] = 0; x[2] = -x[0] }
            var q = [UInt8](repeating: 9, count: k + 1)
            let s = Kernels.withInstructionSet(set) { Kernels.quantizeRow(x, count: k, levels: levels, into: &q) }
            let largest = x.map(abs).max() ?? 0
            #expect(s == largest / Float(levels), "\(set) k \(k)")
            let expected = x.map { UInt8(min(Float(2 * levels), max(0, ($0 * (1 / s)).rounded(.toNearestOrEven) + Float(levels)))) }
            #expect(Array(q[0..<k]) == expected, "\(set) k \(k)")
            #expect(q[k] == 9, "writes k bytes only")

            let p = (0..<k).map { _ in Int32.random(in: -40_000...40_000, using: &random) }
            let scales = randomArray(k, scale: 0.01, &random)
            var out = randomArray(k + 1, scale: 1, &random)
            let before = out
            Kernels.withInstructionSet(set) { Kernels.dequantizeAdd(p, scale: 0.25, scales: scales, into: &out, count: k) }
            for v in 0..<k {
                let exact = Double(before[v]) + 0.25 * Double(scales[v]) * Double(p[v])
                #expect(abs(Double(out[v]) - exact) <= 1e-5 * max(1, abs(exact)), "\(set) k \(k) v \(v)")
            }
            #expect(out[k] == before[k])
        }
        var zeros = [UInt8](repeating: 1, count: 20)
        let one = Kernels.withInstructionSet(set) { Kernels.quantizeRow([Float](repeating: 0, count: 20), count: 20, levels: 127, into: &zeros) }
        #expect(one == 1 && zeros.allSatisfy { $0 == 127 }, "a row of zeros: scale 1, every level at the offset")
        var nan = [Float](repeating: 1, count: 20)
        nan[3] = .nan
        var out = [UInt8](repeating: 1, count: 20)
        _ = Kernels.withInstructionSet(set) { Kernels.quantizeRow(nan, count: 20, levels: 127, into: &out) }
        #expect(out[0] == 254 && out[3] == 0)
    }

    /// exp on softmax inputs (≤ 0) has absolute error ≤ 1e-6; on [−80, 80] relative error ≤ 1e-6.
    @Test(arguments: availableInstructionSets)
    func expWithin1e6(set: InstructionSet) {
        var y = [Float](repeating: 0, count: Self.inputs.count)
        Kernels.withInstructionSet(set) { Kernels.exp(Self.inputs, &y, count: y.count) }
        var worstAbs: Double = 0, worstRel: Double = 0
        for (i, x) in Self.inputs.enumerated() {
            let e = Foundation.exp(Double(x))
            if x <= 0 { worstAbs = max(worstAbs, abs(Double(y[i]) - e)) }
            if abs(x) <= 80 { worstRel = max(worstRel, abs(Double(y[i]) - e) / e) }
        }
        #expect(worstAbs <= 1e-6, "exp max abs error on x ≤ 0: \(worstAbs)")
        #expect(worstRel <= 1e-6, "exp max relative error on [−80, 80]: \(worstRel)")
        #expect(y.allSatisfy { $0.isFinite && $0 >= 0 }, "no overflow to inf, no negatives")
    }

    @Test func squareRootWithin2e7Relative() {
        var worst: Double = 0
        var x: Float = 1e-30
        while x < 1e30 {
            let e = Double(x).squareRoot()
            worst = max(worst, abs(Double(Kernels.squareRoot(x)) - e) / e)
            x *= 1.001
        }
        #expect(worst <= 2e-7, "max relative error \(worst)")
        #expect(Kernels.squareRoot(0) == 0)
    }

    @Test(arguments: availableInstructionSets)
    func logSoftmaxIsStableForHugeLogits(set: InstructionSet) {
        var z: [Float] = [1000, 999, -1000, 0]
        var scratch = [Float](repeating: 0, count: 4)
        Kernels.withInstructionSet(set) { SoftmaxCrossEntropy.logSoftmax(&z, rows: 1, classes: 4, scratch: &scratch) }
        let lse = 1000 + Foundation.log(1 + Foundation.exp(-1.0))
        let expected = [1000 - lse, 999 - lse, -1000 - lse, -lse]
        for i in 0..<4 { #expect(abs(Double(z[i]) - expected[i]) < 1e-3 * max(1, abs(expected[i]))) }
    }
}

@Suite struct FewRowsProductTests {
    /// `Kernels.fewRowsTimesTransposed` (the decoder's BLAS-free product for ≤ 8 rows) against a
    /// naive Double loop: it accumulates into C, handles n not a multiple of 4, k not a multiple
    /// of 8, padded leading dimensions, and leaves the padding alone.
    @Test(arguments: availableInstructionSets)
    func matchesNaiveLoops(set: InstructionSet) {
        Kernels.withInstructionSet(set) { check() }
    }

    func check() {
        var random = RandomGenerator(seed: 77)
        for (m, n, k) in [(1, 1, 1), (5, 7, 8), (8, 13, 9), (3, 4, 30), (2, 65, 257), (7, 3, 16)] {
            let (lda, ldw, ldc) = (k + 3, k + 1, n + 2)
            let a = randomArray(m * lda, scale: 1, &random)
            let w = randomArray(n * ldw, scale: 1, &random)
            var c = randomArray(m * ldc, scale: 1, &random)
            let c0 = c
            a.withUnsafeBufferPointer { a in
                w.withUnsafeBufferPointer { w in
                    c.withUnsafeMutableBufferPointer { c in
                        Kernels.fewRowsTimesTransposed(m: m, n: n, k: k, a: a.baseAddress!, lda: lda,
                                                       w: w.baseAddress!, ldw: ldw, c: c.baseAddress!, ldc: ldc)
                    }
                }
            }
            var worst: Double = 0
            for r in 0..<m {
                for v in 0..<n {
                    var s = Double(c0[r * ldc + v])
                    for j in 0..<k { s += Double(a[r * lda + j]) * Double(w[v * ldw + j]) }
                    worst = max(worst, abs(s - Double(c[r * ldc + v])))
                }
                for v in n..<ldc { #expect(c[r * ldc + v] == c0[r * ldc + v], "padding untouched") }
            }
            #expect(worst < 2e-5, "\(m)×\(n)×\(k): max |diff| \(worst)")
        }
    }

    /// A row's result does not depend on the rows beside it (rows go through the kernel in
    /// pairs): each row of a 7-row product equals, bit for bit, that row computed alone.
    @Test(arguments: availableInstructionSets)
    func eachRowIsIndependentOfItsNeighbours(set: InstructionSet) {
        Kernels.withInstructionSet(set) {
            var random = RandomGenerator(seed: 78)
            let (m, n, k) = (7, 10, 37)
            let a = randomArray(m * k, scale: 1, &random), w = randomArray(n * k, scale: 1, &random)
            func product(rows: Range<Int>) -> [Float] {
                var c = [Float](repeating: 0, count: rows.count * n)
                let part = Array(a[(rows.lowerBound * k)..<(rows.upperBound * k)])
                Kernels.fewRowsTimesTransposed(m: rows.count, n: n, k: k, a: part, lda: k, w: w, ldw: k, c: &c, ldc: n)
                return c
            }
            let together = product(rows: 0..<m)
            for r in 0..<m {
                #expect(product(rows: r..<(r + 1)) == Array(together[(r * n)..<((r + 1) * n)]), "row \(r)")
            }
        }
    }
}
