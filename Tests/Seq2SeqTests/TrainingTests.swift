import Foundation
import Testing
@testable import Seq2Seq

@Suite struct PackingTests {
    @Test func packingSortsByLengthAndSkipsPadding() {
        let P = Packing(lengths: [2, 5, 0, 3])
        #expect(P.order == [1, 3, 0, 2])
        #expect(P.batchSizes == [3, 3, 2, 1, 1])
        #expect(P.offsets == [0, 3, 6, 8, 9, 10])
        #expect(P.total == 10)
        #expect(P.lastRow(0) == 9 && P.lastRow(1) == 7 && P.lastRow(2) == 5 && P.lastRow(3) == nil)
        let ids = P.pack([[1, 2], [3, 4, 5, 6, 7], [], [8, 9, 10]], fill: 0)
        #expect(ids == [3, 8, 1, 4, 9, 2, 5, 10, 6, 7])
    }

    static let config = ModelConfiguration(sourceVocabularySize: 10, targetVocabularySize: 9, embeddingSize: 4,
                                           hiddenSize: 6, layerCount: 2)

    /// Row order is irrelevant: permuting the pairs gives the same loss and gradients.
    @Test func rowOrderDoesNotMatter() throws {
        var random = RandomGenerator(seed: 32)
        let sources = randomSequences(6, lengths: 1...7, vocabulary: 10, random: &random)
        let targets = randomSequences(6, lengths: 1...6, vocabulary: 9, random: &random)
        let model = try Seq2SeqModel(configuration: Self.config, seed: 8, initScale: 0.5)
        var r = RandomGenerator(seed: 0)
        let a = try model.computeGradients(for: Batch(sources: sources, targets: targets), random: &r)
        let g = model.gradients.allValues
        let perm = [3, 0, 5, 1, 4, 2]
        let b = try model.computeGradients(for: Batch(sources: perm.map { sources[$0] }, targets: perm.map { targets[$0] }), random: &r)
        #expect(abs(a.loss - b.loss) <= 1e-6)
        expectClose(model.gradients.allValues, g, abs: 1e-6, rel: 1e-4, "gradients after permuting rows")
    }

    @Test func badInputsThrowTypedErrors() throws {
        let model = try Seq2SeqModel(configuration: Self.config, seed: 1)
        var r = RandomGenerator(seed: 0)
        #expect(throws: ModelError.emptyBatch) { try Batch(sources: [], targets: []) }
        #expect(throws: ModelError.self) { try Batch(sources: [[1]], decoderInputs: [[1, 2]], decoderTargets: [[2]]) }
        #expect(throws: ModelError.tokenOutOfRange(side: "source", id: 10, vocabularySize: 10)) {
            try model.computeGradients(for: Batch(sources: [[10]], targets: [[1]]), random: &r)
        }
        #expect(throws: ModelError.tokenOutOfRange(side: "target", id: 9, vocabularySize: 9)) {
            try model.loss(for: Batch(sources: [[1]], targets: [[1]], bos: 2, eos: 9))
        }
        #expect(throws: ModelError.self) {
            try Seq2SeqModel(configuration: ModelConfiguration(sourceVocabularySize: 0, targetVocabularySize: 1,
                                                               embeddingSize: 1, hiddenSize: 1, layerCount: 1), seed: 1)
        }
    }
}

@Suite struct TrainingTests {
    static let config = ModelConfiguration(sourceVocabularySize: 20, targetVocabularySize: 18, embeddingSize: 8,
                                           hiddenSize: 16, layerCount: 2, dropout: 0.1)

    func data(seed: UInt64, count: Int) -> (sources: [[Int32]], targets: [[Int32]]) {
        var random = RandomGenerator(seed: seed)
        // Target ids avoid 0 (pad), 2 (<s>) and 3 (</s>).
        let sources = randomSequences(count, lengths: 1...8, vocabulary: 20, random: &random)
        let targets = randomSequences(count, lengths: 1...7, vocabulary: 14, random: &random).map { $0.map { $0 + 3 } }
        return (sources, targets)
    }

    func train(steps: Int, threads: Int = 1) throws -> [Float] {
        let (sources, targets) = data(seed: 41, count: 12)
        let model = try Seq2SeqModel(configuration: Self.config, seed: 5)
        var options = TrainingOptions()
        options.learningRate = 0.01
        options.labelSmoothing = 0.1
        let trainer = Trainer(model: model, options: options, seed: 9)
        let batches = try [Batch(sources: Array(sources[..<6]), targets: Array(targets[..<6])),
                           Batch(sources: Array(sources[6...]), targets: Array(targets[6...]))]
        for s in 0..<steps { try trainer.train(on: batches[s % 2]) }
        return model.parameters.allValues + trainer.random.state.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
    }

    /// Same seeds, data and thread count → bit-identical weights (dropout on).
    @Test func trainingIsDeterministic() throws {
        let a = try train(steps: 8), b = try train(steps: 8)
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        let c = try train(steps: 9)
        #expect(a.map(\.bitPattern) != c.map(\.bitPattern), "a further step changes the weights")
    }

    @Test func learningRateDecaySchedule() {
        var o = TrainingOptions()
        o.learningRate = 1
        o.decayFactor = 0.5
        o.decayEverySteps = 10
        o.decayStartStep = 20
        #expect(o.learningRate(atStep: 1) == 1)
        #expect(o.learningRate(atStep: 30) == 1)
        #expect(o.learningRate(atStep: 31) == 0.5)
        #expect(o.learningRate(atStep: 41) == 0.25)
        #expect(o.learningRate(atStep: 41, scale: 0.5) == 0.125)
    }

    /// ~20 pairs, a few hundred full-batch steps: the loss goes below 0.05 and
    /// greedy decoding reproduces every target.
    @Test func overfitsTwentyPairs() throws {
        let (sources, targets) = data(seed: 42, count: 20)
        let config = ModelConfiguration(sourceVocabularySize: 20, targetVocabularySize: 18, embeddingSize: 32,
                                        hiddenSize: 64, layerCount: 2)
        let model = try Seq2SeqModel(configuration: config, seed: 6)
        var options = TrainingOptions()
        options.learningRate = 0.01
        let trainer = Trainer(model: model, options: options, seed: 1)
        let batch = try Batch(sources: sources, targets: targets)
        var last = TrainingStepResult(loss: .nan, tokenCount: 0, gradientNorm: 0, clipCoefficient: 1, learningRate: 0)
        for _ in 0..<400 {
            last = try trainer.train(on: batch)
            if last.loss < 0.01 { break }
        }
        let loss = try model.loss(for: batch).loss
        #expect(loss < 0.05, "training loss \(loss) after \(trainer.step) steps")
        #expect(last.gradientNorm.isFinite && last.tokenCount == targets.reduce(0) { $0 + $1.count + 1 })
        let decoded = try greedyDecode(model, sources: sources, maxLength: 12)
        #expect(decoded == targets, "greedy decoding reproduces every target")
    }
}

@Suite struct InferenceTests {
    /// Step-by-step decoding under teacher forcing gives the same log-probabilities
    /// as the training forward (log-softmax of its logits), and `select(rows:)`
    /// moves rows with their states.
    @Test func decoderStepsMatchTrainingForward() throws {
        var random = RandomGenerator(seed: 51)
        let config = ModelConfiguration(sourceVocabularySize: 11, targetVocabularySize: 13, embeddingSize: 5,
                                        hiddenSize: 7, layerCount: 2)
        let model = try Seq2SeqModel(configuration: config, seed: 4, initScale: 0.5)
        let sources = randomSequences(3, lengths: 1...6, vocabulary: 11, random: &random)
        let targets = randomSequences(3, lengths: 4...4, vocabulary: 13, random: &random)
        let batch = try Batch(sources: sources, targets: targets, bos: 1, eos: 2)
        _ = try model.loss(for: batch)
        let logits = model.lastLogits()  // [B, T, V], T = 5
        let (B, T, V) = (3, 5, 13)
        let encoded = try model.encode(sources: sources)
        // Rows in reverse order, plus a duplicate of sentence 0, to exercise sourceRows.
        let rows = [2, 1, 0, 0]
        let state = try model.makeDecoderState(for: encoded, sourceRows: rows, capacity: 6)
        for t in 0..<T {
            let tokens = rows.map { t == 0 ? Int32(1) : targets[$0][t - 1] }
            let logProbs = Array(try state.step(tokens: tokens))
            #expect(logProbs.count == rows.count * V)
            for (r, b) in rows.enumerated() {
                let z = (0..<V).map { Double(logits[(b * T + t) * V + $0]) }
                let m = z.max()!
                let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
                let expected = z.map { Float($0 - lse) }
                expectClose(Array(logProbs[r * V..<(r + 1) * V]), expected, abs: 2e-5, "step \(t) row \(r)")
            }
        }
        // Reorder: keep rows 3 and 1, duplicate 3; the next step must equal stepping those rows.
        let reference = try model.makeDecoderState(for: encoded, sourceRows: [0, 1, 0])
        for t in 0..<T {
            _ = try reference.step(tokens: [0, 1, 0].map { t == 0 ? Int32(1) : targets[$0][t - 1] })
        }
        state.select(rows: [3, 1, 3])
        #expect(state.rowCount == 3)
        let a = Array(try state.step(tokens: [4, 5, 6]))
        let b = Array(try reference.step(tokens: [4, 5, 6]))
        #expect(a == b)
        #expect(throws: ModelError.self) { try state.step(tokens: [1]) }
    }

    @Test func greedyDecodeHandlesEmptySourceAndMaxLength() throws {
        let config = ModelConfiguration(sourceVocabularySize: 6, targetVocabularySize: 7, embeddingSize: 3,
                                        hiddenSize: 4, layerCount: 1)
        let model = try Seq2SeqModel(configuration: config, seed: 2)
        let out = try greedyDecode(model, sources: [[], [1, 2, 3]], maxLength: 5)
        #expect(out.count == 2 && out.allSatisfy { $0.count <= 5 && !$0.contains(3) })
        // Only empty sources: the encoder state is the zero state.
        let encoded = try model.encode(sources: [[], []])
        #expect(encoded.h.allSatisfy { $0 == 0 } && encoded.c.allSatisfy { $0 == 0 })
        let allEmpty = try greedyDecode(model, sources: [[], []], maxLength: 4)
        #expect(allEmpty.count == 2 && allEmpty[0] == allEmpty[1])
        // Zero rows after dropping every hypothesis.
        let state = try model.makeDecoderState(for: encoded)
        state.select(rows: [])
        #expect(try state.step(tokens: []).isEmpty)
        // Training on a batch whose sources are all empty works too.
        var r = RandomGenerator(seed: 1)
        let result = try model.computeGradients(for: Batch(sources: [[]], targets: [[4, 5]]), random: &r)
        #expect(result.tokenCount == 3 && result.loss.isFinite)
        #expect(model.gradients.values("src_embedding").allSatisfy { $0 == 0 })
    }
}
