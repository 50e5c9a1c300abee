import Foundation
import Testing
@testable import Seq2Seq

/// bf16 products: the conversion rounds to nearest even, and `BLAS.gemmBFloat16` equals the
/// exact product of the rounded operands up to fp32 accumulation (bf16 × bf16 is exact in fp32).
@Suite struct BFloat16Tests {
    @Test(arguments: availableInstructionSets)
    func conversionRoundsToNearestEven(_ set: InstructionSet) {
        let bits: [UInt32] = [0x3F80_0000, 0x3F80_8000, 0x3F81_8000, 0x3F80_8001, 0x3F80_7FFF, 0xBF81_8000,
                              0x7F7F_FFFF, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0x0000_0001, 0x8000_0000]
        let expected: [UInt16] = [0x3F80, 0x3F80, 0x3F82, 0x3F81, 0x3F80, 0xBF82,
                                  0x7F80, 0x7F80, 0xFF80, 0x7FC0, 0x7FC0, 0x0000, 0x8000]
        let x = bits.map { Float(bitPattern: $0) }
        var y = [UInt16](repeating: 0xFFFF, count: x.count)
        Kernels.withInstructionSet(set) { Kernels.toBFloat16(x, &y, count: x.count) }
        #expect(y == expected, "\(set): \(y.map { String($0, radix: 16) })")
    }

    static func product(transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int,
                        accumulate: Bool) throws -> (got: [Float], exact: [Double]) {
        var random = RandomGenerator(seed: UInt64(m * 1000 + n * 10 + k))
        let a = (0..<(m * lda)).map { _ in 2 * random.nextUnitFloat() - 1 }
        let bCount = transB ? n * ldb : k * ldb
        let b = (0..<bCount).map { _ in 2 * random.nextUnitFloat() - 1 }
        var a16 = [UInt16](repeating: 0, count: a.count), b16 = [UInt16](repeating: 0, count: b.count)
        Kernels.toBFloat16(a, &a16, count: a.count)
        Kernels.toBFloat16(b, &b16, count: b.count)
        func value(_ h: UInt16) -> Double { Double(Float(bitPattern: UInt32(h) << 16)) }
        var c = (0..<(m * ldc)).map { Float($0 % 7) }
        var exact = c.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += value(a16[i * lda + p]) * value(transB ? b16[j * ldb + p] : b16[p * ldb + j]) }
                exact[i * ldc + j] = accumulate ? exact[i * ldc + j] + sum : sum
            }
        }
        try BLAS.gemmBFloat16(transB: transB, m: m, n: n, k: k, a: a16, lda: lda, b: b16, ldb: ldb,
                              accumulate: accumulate, c: &c, ldc: ldc)
        return (c, exact)
    }

    /// Shapes on one thread and split over the configured threads (64×300×256 and 130×64×70).
    @Test(.enabled(if: InstructionSet.hasBF16DotProduct, "oneDNN's bf16 matmul needs avx512_bf16 here"),
          arguments: [(false, false), (true, false), (true, true), (false, true)])
    func productMatchesTheRoundedOperands(_ transB: Bool, _ accumulate: Bool) throws {
        for (m, n, k) in [(1, 1, 1), (5, 37, 19), (64, 300, 256), (130, 64, 70), (3, 0, 4), (4, 5, 0)] {
            let lda = k + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
            let (got, exact) = try Self.product(transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                                                accumulate: accumulate)
            for i in 0..<m {
                for j in 0..<(ldc) {
                    let e = exact[i * ldc + j], g = Double(got[i * ldc + j])
                    #expect(abs(g - e) <= 1e-5 * (Double(k) + abs(e)), "\(m)×\(n)×\(k) [\(i), \(j)]: \(g) vs \(e)")
                }
            }
        }
    }
}

/// Mixed-precision training (`train --precision bf16`) against fp32: the same steps on the same
/// batches and seed give losses within 1% and weights whose change from the start differs little.
@Suite struct BFloat16TrainingTests {
    /// Sizes where the products reach the bf16 threshold (`BLAS.minimumBFloat16FLOPs`).
    static let config = ModelConfiguration(sourceVocabularySize: 300, targetVocabularySize: 400, embeddingSize: 64,
                                           hiddenSize: 64, layerCount: 1, dropout: 0)

    static func run(bf16: Bool, steps: Int) throws -> (losses: [Float], weights: [Float]) {
        var random = RandomGenerator(seed: 5)
        let batches = try (0..<2).map { _ in
            try Batch(sources: randomSequences(32, lengths: 8...20, vocabulary: 300, random: &random),
                      targets: randomSequences(32, lengths: 8...20, vocabulary: 400, random: &random).map { $0.map { max($0, 4) } })
        }
        var options = TrainingOptions()
        options.learningRate = 0.005
        let trainer = Trainer(model: try Seq2SeqModel(configuration: config, seed: 9), options: options, seed: 3)
        let losses = try BLAS.withBFloat16Products(bf16) {
            try (0..<steps).map { try trainer.train(on: batches[$0 % 2]).loss }
        }
        return (losses, trainer.model.parameters.allValues)
    }

    @Test(.enabled(if: InstructionSet.hasBF16DotProduct, "needs avx512_bf16"))
    func bf16StepsFollowFP32() throws {
        let initial = try Seq2SeqModel(configuration: Self.config, seed: 9).parameters.allValues
        let exact = try Self.run(bf16: false, steps: 6), mixed = try Self.run(bf16: true, steps: 6)
        for (e, m) in zip(exact.losses, mixed.losses) {
            #expect(abs(e - m) <= 0.01 * abs(e), "loss \(m) in bf16 vs \(e) in fp32")
        }
        // How far the weights moved, and how far the two runs ended apart (relative to that).
        var moved = 0.0, apart = 0.0
        for i in initial.indices {
            moved += Double(exact.weights[i] - initial[i]) * Double(exact.weights[i] - initial[i])
            apart += Double(exact.weights[i] - mixed.weights[i]) * Double(exact.weights[i] - mixed.weights[i])
        }
        #expect(apart > 0, "bf16 really ran")
        #expect(apart.squareRoot() <= 0.1 * moved.squareRoot(), "runs ended \(apart.squareRoot()) apart after moving \(moved.squareRoot())")
    }

    /// One step's gradients with the weights rounded once per step (`BFloat16WeightCopy`, as the
    /// trainers run it) equal those of products that round the weights at every call.
    @Test(.enabled(if: InstructionSet.hasBF16DotProduct, "needs avx512_bf16"))
    func weightCopyGivesTheSameGradients() throws {
        var random = RandomGenerator(seed: 11)
        let batch = try Batch(sources: randomSequences(32, lengths: 8...20, vocabulary: 300, random: &random),
                              targets: randomSequences(32, lengths: 8...20, vocabulary: 400, random: &random).map { $0.map { max($0, 4) } })
        let model = try Seq2SeqModel(configuration: Self.config, seed: 9)
        let copy = BFloat16WeightCopy(parameters: model.parameters)
        let (perCall, once) = try BLAS.withBFloat16Products(true) {
            var r = RandomGenerator(seed: 1)
            _ = try model.computeGradients(for: batch, random: &r)
            let perCall = model.gradients.allValues
            _ = try copy.during { try model.computeGradients(for: batch, random: &r) }
            return (perCall, model.gradients.allValues)
        }
        #expect(perCall == once ? true : false)
        #expect(perCall.contains { $0 != 0 })
    }

    /// Inside `during` products read the copy rounded at first use (a weight changed after that is
    /// not seen); the next `during` rounds again, and outside it the fp32 weights are rounded per call.
    @Test(.enabled(if: InstructionSet.hasBF16DotProduct, "needs avx512_bf16"))
    func weightCopyIsRoundedOncePerStep() throws {
        let (m, n, k) = (64, 96, 96)   // 2·m·n·k ≥ BLAS.minimumBFloat16FLOPs
        let parameters = ParameterBuffer(shapes: [("first", [7]), ("weight", [n, k])])
        let w = parameters.view("weight")
        for i in 0..<(n * k) { w[i] = Float(i % 13) / 8 - 0.7 }
        let x = (0..<(m * k)).map { Float($0 % 11) / 16 - 0.3 }
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            BLAS.gemm(transB: true, m: m, n: n, k: k, a: x, lda: k, b: w, ldb: k, c: &c, ldc: n)
            return c
        }
        let copy = BFloat16WeightCopy(parameters: parameters)
        let (before, stale, after, outside) = BLAS.withBFloat16Products(true) {
            let (before, stale) = copy.during {
                let before = product()
                for i in 0..<(n * k) { w[i] += 1 }
                return (before, product())
            }
            return (before, stale, copy.during { product() }, product())
        }
        #expect(2 * m * n * k >= BLAS.minimumBFloat16FLOPs)
        #expect(before == stale ? true : false, "the copy rounded at first use is read for the rest of the step")
        #expect(after != before ? true : false, "a new step rounds the changed weights")
        #expect(after == outside ? true : false, "the copy equals rounding at every call")
    }

    /// The softmax's bf16 copy of the logit gradient is the rounded fp32 gradient, row by row (a
    /// row with a negative target all zeros), and the loss is the loss of the forward alone.
    @Test(.enabled(if: InstructionSet.hasBF16DotProduct, "needs avx512_bf16"))
    func softmaxRoundsTheGradientItWrites() {
        let (N, V) = (300, 257)
        var random = RandomGenerator(seed: 4)
        let logits = (0..<(N * V)).map { _ in 4 * random.nextUnitFloat() - 2 }
        let targets = (0..<N).map { Int32($0 % 9 == 4 ? -1 : ($0 * 31) % V) }
        var z = logits, scratch = [Float](repeating: 0, count: V)
        var rounded = [UInt16](repeating: 0xFFFF, count: N * V), expected = rounded
        let withGradient = SoftmaxCrossEntropy.forwardBackward(
            logits: &z, targets: targets, rows: N, classes: V, labelSmoothing: 0.1, gradientScale: 0.5,
            scratch: &scratch, roundedGradient: &rounded)
        var forward = logits
        let lossOnly = SoftmaxCrossEntropy.forwardBackward(
            logits: &forward, targets: targets, rows: N, classes: V, labelSmoothing: 0.1, gradientScale: nil, scratch: &scratch)
        Kernels.toBFloat16(z, &expected, count: N * V)
        #expect(rounded == expected ? true : false)
        #expect(withGradient == lossOnly)
        #expect(z[4 * V..<5 * V].allSatisfy { $0 == 0 } && rounded[4 * V..<5 * V].allSatisfy { $0 == 0 })
    }
}
