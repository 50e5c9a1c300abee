import Foundation
import Testing
@testable import Seq2Seq

/// int8 products and int8 decoding against fp32.
@Suite struct QuantizationTests {
    /// The integer product of quantized weights and inputs stays within the quantization error of
    /// the float product: |error| ≤ Σ_j (|x_j|·Δw_v + |w_vj|·Δx + Δx·Δw_v) with Δ = half a step.
    @Test(arguments: [63, 127])
    func int8ProductIsWithinTheQuantizationError(levels: Int) throws {
        try #require(levels <= 63 || BLAS.int8HasVNNI, "127 input levels need VNNI")
        var random = RandomGenerator(seed: 41)
        let (m, n, k) = (7, 37, 50)
        let w = randomArray(n * k, scale: 0.3, &random), x = randomArray(m * k, scale: 1, &random)
        let matrix = QuantizedMatrix(w, rows: n, columns: k, ldw: k, inputLevels: levels)
        var c = [Float](repeating: 0.5, count: m * n)           // accumulates onto what is there
        matrix.addProductTransposed(m: m, x: x, lda: k, outputs: 0..<n, c: &c, ldc: n, scratch: QuantizationScratch())
        var partial = [Float](repeating: 0.5, count: m * n)     // two column ranges give the same
        let scratch = QuantizationScratch()
        matrix.addProductTransposed(m: m, x: x, lda: k, outputs: 0..<20, c: &partial, ldc: n, scratch: scratch)
        matrix.addProductTransposed(m: m, x: x, lda: k, outputs: 20..<n, c: &partial, ldc: n, scratch: scratch)
        #expect(partial == c)
        var worstRatio: Float = 0
        for r in 0..<m {
            let xr = Array(x[r * k..<(r + 1) * k])
            let dx = (xr.map(abs).max() ?? 0) / Float(levels) / 2
            for v in 0..<n {
                let wv = Array(w[v * k..<(v + 1) * k])
                let dw = (wv.map(abs).max() ?? 0) / 127 / 2
                let exact = 0.5 + zip(xr, wv).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                let bound = zip(xr, wv).reduce(Float(0)) { $0 + abs($1.0) * dw + abs($1.1) * dx + dx * dw } + 1e-5
                worstRatio = max(worstRatio, abs(c[r * n + v] - exact) / bound)
            }
        }
        #expect(worstRatio <= 1, "error exceeds the quantization bound by \(worstRatio)×")
    }

    /// Gathering rows of a reduced matrix (the shortlisted output layer of a batch, taken from the
    /// model's layer reduced once, eagerly or row by row on demand) gives exactly the products of
    /// reducing those fp32 rows again, also for a second gathering that reuses reduced rows.
    @Test(arguments: [DecodingPrecision.int8, .bf16], [false, true])
    func gatheredRowsEqualRowsReducedAgain(_ precision: DecodingPrecision, deferred: Bool) throws {
        var random = RandomGenerator(seed: 43)
        let (m, n, k) = (3, 41, 24)
        let w = randomArray(n * k, scale: 0.3, &random), x = randomArray(m * k, scale: 1, &random)
        try w.withUnsafeBufferPointer { weights in
            let base = try #require(weights.baseAddress)
            let whole = try #require(reducedPrecisionMatrix(base, rows: n, columns: k, ldw: k,
                                                            precision: precision, deferred: deferred))
            for picked: [Int32] in [[0, 3, 4, 17, 29, 40], [1, 3, 17, 30, 40]] {
                let gatheredWeights = picked.flatMap { w[Int($0) * k..<(Int($0) + 1) * k] }
                let again = try #require(reducedPrecisionMatrix(gatheredWeights, rows: picked.count, columns: k, ldw: k,
                                                                precision: precision))
                try gatheredWeights.withUnsafeBufferPointer { original in
                    let start = try #require(original.baseAddress)
                    let gathered = whole.gathering(rows: picked, original: start)
                    var fromGathered = [Float](repeating: 0.25, count: m * picked.count), fromAgain = fromGathered
                    gathered.addProductTransposed(m: m, x: x, lda: k, outputs: 0..<picked.count, c: &fromGathered,
                                                  ldc: picked.count, scratch: QuantizationScratch())
                    again.addProductTransposed(m: m, x: x, lda: k, outputs: 0..<picked.count, c: &fromAgain,
                                               ldc: picked.count, scratch: QuantizationScratch())
                    #expect(fromGathered == fromAgain, "rows \(picked)")
                    #expect(fromGathered.contains { $0 != 0.25 })
                }
            }
        }
    }

    /// The few-rows bf16 kernel sums the products of the bf16 values exactly as a double-precision
    /// sum would, up to fp32 rounding, for odd row counts, a k that is no multiple of 32 and an n
    /// that is no multiple of 4; a row's result is the same alone as among others.
    @Test(.enabled(if: InstructionSet.hasBF16DotProduct, "needs avx512_bf16"))
    func bf16FewRowsKernelMatchesTheExactSum() throws {
        var random = RandomGenerator(seed: 47)
        let (m, n, k) = (5, 7, 77)
        let a = randomArray(m * k, scale: 1, &random), w = randomArray(n * k, scale: 0.3, &random)
        var a16 = [UInt16](repeating: 0, count: m * k), w16 = [UInt16](repeating: 0, count: n * k)
        Kernels.toBFloat16(a, &a16, count: m * k)
        Kernels.toBFloat16(w, &w16, count: n * k)
        func float(_ b: UInt16) -> Double { Double(Float(bitPattern: UInt32(b) << 16)) }
        var c = [Float](repeating: 1, count: m * n)
        #expect(Kernels.bf16FewRowsTimesTransposed(m: m, n: n, k: k, a: a16, lda: k, w: w16, ldw: k, c: &c, ldc: n))
        for r in 0..<m {
            for v in 0..<n {
                let exact = 1 + (0..<k).reduce(0.0) { $0 + float(a16[r * k + $1]) * float(w16[v * k + $1]) }
                #expect(abs(Double(c[r * n + v]) - exact) <= 1e-5 * max(1, abs(exact)), "row \(r) output \(v)")
            }
        }
        var alone = [Float](repeating: 1, count: n)                       // the last row by itself
        _ = a16.withUnsafeBufferPointer { rows in
            Kernels.bf16FewRowsTimesTransposed(m: 1, n: n, k: k, a: rows.baseAddress! + (m - 1) * k, lda: k, w: w16, ldw: k,
                                               c: &alone, ldc: n)
        }
        #expect(alone == Array(c[(m - 1) * n..<m * n]))
    }

    /// int8 decoding follows fp32 decoding closely: per-step log-probabilities of a random model
    /// differ by little, and greedy search gives mostly the same tokens.
    @Test(arguments: [ModelArchitecture.original,
                      ModelArchitecture(cell: .gru, encoder: .bi, attention: .general, inputFeeding: true)])
    func int8DecodingFollowsFP32(_ a: ModelArchitecture) throws {
        try Self.expectDecodingFollowsFP32(a, precision: .int8, tolerance: 0.05)
    }

    /// bf16 decoding likewise (inputs and weights keep 8 mantissa bits, sums stay fp32), with the
    /// whole vocabulary and with a shortlist.
    @Test(.enabled(if: InstructionSet.hasBF16DotProduct, "needs avx512_bf16 (elsewhere bf16 falls back to fp32)"),
          arguments: [ModelArchitecture.original,
                      ModelArchitecture(cell: .gru, encoder: .bi, attention: .general, inputFeeding: true)])
    func bf16DecodingFollowsFP32(_ a: ModelArchitecture) throws {
        try Self.expectDecodingFollowsFP32(a, precision: .bf16, tolerance: 0.05)
    }

    /// Per-step log-probabilities of `precision` within `tolerance` of fp32 over 6 greedy steps.
    static func expectDecodingFollowsFP32(_ a: ModelArchitecture, precision: DecodingPrecision, tolerance: Float) throws {
        var random = RandomGenerator(seed: 43)
        let config = ModelConfiguration(sourceVocabularySize: 40, targetVocabularySize: 50, embeddingSize: 16, hiddenSize: 32,
                                        layerCount: 2, cell: a.cell, encoder: a.encoder, attention: a.attention,
                                        inputFeeding: a.inputFeeding)
        let model = try Seq2SeqModel(configuration: config, seed: 7, initScale: 0.3)
        let sources = randomSequences(6, lengths: 3...9, vocabulary: 40, random: &random)
        let encoded = try model.encode(sources: sources)
        let exact = try model.makeDecoderState(for: encoded), approximate = try model.makeDecoderState(for: encoded, precision: precision)
        var tokens = [Int32](repeating: 2, count: sources.count), worst: Float = 0
        for _ in 0..<6 {
            let p = Array(try exact.step(tokens: tokens)), q = Array(try approximate.step(tokens: tokens))
            worst = max(worst, zip(p, q).map { abs($0 - $1) }.max() ?? 0)
            tokens = (0..<sources.count).map { r in Int32((0..<50).max { p[r * 50 + $0] < p[r * 50 + $1] }!) }
        }
        #expect(worst < tolerance, "\(precision): largest log-probability difference \(worst)")
        #expect(worst > 0, "\(precision) really ran")
    }
}
