import Foundation
import Testing
@testable import Seq2Seq

/// A small model with parameters drawn at `scale` (large enough that gradients and sampling
/// distributions are not trivial).
func tinyLanguageModel(_ cell: CellKind = .lstm, V: Int = 5, E: Int = 3, H: Int = 4, L: Int = 2, dropout: Float = 0,
                       scale: Float = 0.5, seed: UInt64 = 3) throws -> LanguageModel {
    let c = LanguageModelConfiguration(vocabularySize: V, embeddingSize: E, hiddenSize: H, layerCount: L, dropout: dropout, cell: cell)
    return try LanguageModel(configuration: c, seed: seed, initScale: scale)
}

/// A copy of a state (same rows and values).
func copyState(_ s: RecurrentState, _ c: LanguageModelConfiguration) throws -> RecurrentState {
    let copy = RecurrentState(configuration: c, rows: s.rowCount)
    try copy.set(hidden: s.hidden, cellState: s.cellState)
    return copy
}

@Suite struct LanguageModelTests {
    // MARK: Gradients

    /// ∂loss/∂θ for every parameter of a 2-layer LM against central differences, over a chunk of
    /// two streams that starts from a non-zero carried state (which is a constant of the chunk).
    @Test(arguments: CellKind.allCases)
    func gradientsMatchFiniteDifferences(_ cell: CellKind) throws {
        let model = try tinyLanguageModel(cell)
        let c = model.configuration
        let chunk = try TokenChunk(inputs: [[1, 4, 2], [0, 3]], targets: [[4, 2, 2], [3, 1]])
        var random = RandomGenerator(seed: 9)
        let start = RecurrentState(configuration: c, rows: 2)
        try start.set(hidden: randomArray(c.layerCount * 2 * c.hiddenSize, scale: 0.8, &random),
                      cellState: randomArray(c.layerCount * 2 * c.hiddenSize, scale: 0.8, &random))
        _ = try model.computeGradients(on: chunk, state: try copyState(start, c), random: &random)
        let analytic = model.gradients.allValues
        func loss() -> Double { Double((try? model.loss(on: chunk, state: try copyState(start, c)).loss) ?? .nan) }
        for e in model.parameters.entries {
            checkGradient("\(cell) \(e.name)", model.parameters.pointer + e.offset, count: e.count,
                          analytic: Array(analytic[e.offset..<e.offset + e.count]), loss: loss)
        }
    }

    /// The same with dropout on the embeddings, between the layers and before the output layer
    /// (masks drawn from a fixed generator, so every loss evaluation sees the same masks).
    @Test func gradientsWithDropoutMatchFiniteDifferences() throws {
        let model = try tinyLanguageModel(.lstm, dropout: 0.3)
        let c = model.configuration
        let chunk = try TokenChunk(inputs: [[1, 4, 2, 0], [3, 3, 1, 2]], targets: [[4, 2, 0, 1], [3, 1, 2, 4]])
        var random = RandomGenerator(seed: 21)
        _ = try model.computeGradients(on: chunk, state: RecurrentState(configuration: c, rows: 2), random: &random)
        let analytic = model.gradients.allValues
        func loss() -> Double {
            var masks: RandomGenerator? = RandomGenerator(seed: 21)
            let sum = chunk.inputs.withUnsafeBufferPointer { x in
                chunk.targets.withUnsafeBufferPointer { y in
                    model.forward(ids: x.baseAddress!, packing: chunk.packing, state: RecurrentState(configuration: c, rows: 2),
                                  dropout: 0.3, random: &masks, targets: y.baseAddress!, gradientScale: nil)
                }
            }
            return sum / Double(chunk.unitCount)
        }
        for e in model.parameters.entries {
            checkGradient("dropout \(e.name)", model.parameters.pointer + e.offset, count: e.count,
                          analytic: Array(analytic[e.offset..<e.offset + e.count]), loss: loss)
        }
    }

    // MARK: Truncated BPTT

    /// Reading a text in chunks with the state carried gives the losses and the final state of
    /// reading it at once; starting each chunk from zeros instead does not (so the test can fail).
    @Test(arguments: CellKind.allCases)
    func carriedStateContinuesTheStream(_ cell: CellKind) throws {
        let model = try tinyLanguageModel(cell, V: 7)
        let c = model.configuration
        var random = RandomGenerator(seed: 4)
        let text = (0..<31).map { _ in Int32.random(in: 0..<7, using: &random) }
        let whole = RecurrentState(configuration: c, rows: 1)
        let once = try model.loss(on: TokenChunk(inputs: [Array(text.dropLast())], targets: [Array(text.dropFirst())]), state: whole)
        let carried = RecurrentState(configuration: c, rows: 1)
        let chunks = try TextStreams(units: text, streams: 1, chunkLength: 7)
        #expect(chunks.chunkCount == 5)
        var sum = 0.0, fresh = 0.0
        for k in 0..<chunks.chunkCount {
            sum += try model.loss(on: chunks.chunk(k), state: carried).lossSum
            fresh += try model.loss(on: chunks.chunk(k), state: RecurrentState(configuration: c, rows: 1)).lossSum
        }
        #expect(abs(sum - once.lossSum) < 1e-4, "chunked \(sum) vs whole \(once.lossSum)")
        #expect(abs(fresh - once.lossSum) > 1e-3, "zero states per chunk should change the loss")
        expectClose(carried.hidden, whole.hidden, abs: 1e-6, "final h")
        expectClose(carried.cellState, whole.cellState, abs: 1e-6, "final c")
    }

    /// Streams partition the text: each stream is a contiguous piece continued chunk by chunk,
    /// and every unit but the first is predicted exactly once.
    @Test func streamsCoverTheTextOnce() throws {
        let text = (0..<104).map { Int32($0 % 100) }   // distinct enough to locate every position
        let streams = try TextStreams(units: text, streams: 4, chunkLength: 10)
        #expect(streams.predictedCount == 103)
        var perStream = [[Int32]](repeating: [], count: 4), targets: [Int32] = []
        for k in 0..<streams.chunkCount {
            let chunk = streams.chunk(k)
            let P = chunk.packing
            #expect(k == streams.chunkCount - 1 || chunk.lengths.allSatisfy { $0 == 10 }, "only the last chunk is shorter")
            for t in 0..<P.maxLength {
                for b in 0..<P.batchSizes[t] {
                    perStream[b].append(chunk.inputs[P.offsets[t] + b])
                    #expect(chunk.targets[P.offsets[t] + b] == (chunk.inputs[P.offsets[t] + b] + 1) % 100)
                    targets.append(chunk.targets[P.offsets[t] + b])
                }
            }
        }
        #expect(perStream.map(\.count) == [26, 26, 26, 25])
        #expect(perStream.joined().map { $0 } == Array(text.dropLast()), "streams are consecutive pieces of the text")
        #expect(targets.sorted() == Array(text.dropFirst()).sorted())
        #expect(throws: LanguageModelError.self) { try TextStreams(units: Array(text.prefix(40)), streams: 4, chunkLength: 10) }
    }

    /// Detaching: the gradient of a chunk depends on the carried state's values only — it equals
    /// the gradient of the same chunk started from a fresh state holding those values.
    @Test func gradientDoesNotReachEarlierChunks() throws {
        let model = try tinyLanguageModel(.lstm, V: 6)
        let c = model.configuration
        var random = RandomGenerator(seed: 8)
        let text = (0..<25).map { _ in Int32.random(in: 0..<6, using: &random) }
        let streams = try TextStreams(units: text, streams: 2, chunkLength: 4)
        let carried = RecurrentState(configuration: c, rows: 2)
        _ = try model.computeGradients(on: streams.chunk(0), state: carried, random: &random)
        let restarted = try copyState(carried, c)
        _ = try model.computeGradients(on: streams.chunk(1), state: carried, random: &random)
        let afterCarry = model.gradients.allValues
        _ = try model.computeGradients(on: streams.chunk(1), state: restarted, random: &random)
        #expect(afterCarry == model.gradients.allValues)
        #expect(carried.hidden == restarted.hidden)
    }

    // MARK: Sampling

    /// The lecture's sampler at T → 0 is greedy decoding: T = 0 takes the argmax of every step's
    /// logits (checked against a manual argmax loop), and a tiny positive T gives the same text.
    @Test func temperatureZeroIsArgmax() throws {
        let model = try tinyLanguageModel(.gru, V: 9, scale: 1.5)
        let units = try CharacterUnits(kind: .char, alphabet: ["<unk>"] + "abcdefgh".map(String.init))
        let sampler = try Sampler(model: model, units: units)
        let greedy = try sampler.sample(prime: "ab", options: SamplingOptions(temperature: 0, length: 40))
        // Manual argmax over the real units (id 0 is <unk>, never drawn).
        let state = RecurrentState(configuration: model.configuration, rows: 1)
        var logits = try model.feed(units.encode("ab"), state: state)
        var manual = "ab"
        for _ in 0..<40 {
            var best = 1
            for j in 2..<9 where logits[j] > logits[best] { best = j }
            manual += units.name(of: Int32(best))
            logits = try model.feed([Int32(best)], state: state)
        }
        #expect(greedy == manual)
        for seed in [UInt64(1), 2, 3] {
            let cold = try sampler.sample(prime: "ab", options: SamplingOptions(temperature: 1e-3, length: 40, seed: seed))
            #expect(cold == greedy, "T = 1e-3, seed \(seed)")
        }
        let topOne = try sampler.sample(prime: "ab", options: SamplingOptions(temperature: 1, topK: 1, length: 40, seed: 5))
        #expect(topOne == greedy, "top-k 1 is argmax at any temperature")
    }

    /// The unigram entropy of sampled text grows with the temperature; the same seed gives the
    /// same text, another seed another.
    @Test func entropyGrowsWithTemperature() throws {
        let model = try tinyLanguageModel(.lstm, V: 13, E: 4, H: 8, L: 1, scale: 1.5, seed: 5)
        let units = try CharacterUnits(kind: .char, alphabet: ["<unk>"] + "abcdefghijkl".map(String.init))
        let sampler = try Sampler(model: model, units: units)
        func entropy(_ text: String) -> Double {
            var counts: [Character: Double] = [:]
            for ch in text { counts[ch, default: 0] += 1 }
            let n = Double(text.count)
            return -counts.values.reduce(0) { $0 + $1 / n * log2($1 / n) }
        }
        let temperatures: [Float] = [0.25, 0.6, 1, 2, 5]
        let entropies = try temperatures.map { t in
            entropy(try sampler.sample(prime: "a", options: SamplingOptions(temperature: t, length: 3000, seed: 11)))
        }
        #expect(zip(entropies, entropies.dropFirst()).allSatisfy { $0 < $1 }, "entropies \(entropies) at T \(temperatures)")
        #expect(entropies.last! > 3.3, "T = 5 is close to uniform over 12 letters (log2 12 = 3.58): \(entropies.last!)")
        let again = try sampler.sample(prime: "a", options: SamplingOptions(temperature: 1, length: 200, seed: 11))
        #expect(again == (try sampler.sample(prime: "a", options: SamplingOptions(temperature: 1, length: 200, seed: 11))))
        #expect(again != (try sampler.sample(prime: "a", options: SamplingOptions(temperature: 1, length: 200, seed: 12))))
    }

    /// A non-finite loss stops the step before the weights change.
    @Test func divergenceLeavesTheWeightsAlone() throws {
        let model = try tinyLanguageModel(.lstm)
        model.parameters.view("out_bias")[2] = .nan
        let before = model.parameters.allValues
        let trainer = LanguageModelTrainer(model: model)
        let chunk = try TokenChunk(inputs: [[1, 2, 3]], targets: [[2, 3, 4]])
        #expect(throws: TrainingDivergence.self) {
            try trainer.train(on: chunk, state: RecurrentState(configuration: model.configuration, rows: 1))
        }
        #expect(trainer.step == 0)
        #expect(zip(model.parameters.allValues, before).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
    }

    // MARK: The lecture example

    /// A vanilla RNN LM on "hello" (vocabulary h, e, l, o) learns to predict e, l, l, o after h:
    /// after training, the most likely next unit after each prefix is the next letter.
    @Test func helloRNNLearnsTheNextLetter() throws {
        let units = try CharacterUnits(kind: .char, learningFrom: "hello")
        #expect(units.alphabet == ["<unk>", "e", "h", "l", "o"])
        let c = LanguageModelConfiguration(vocabularySize: units.count, embeddingSize: 4, hiddenSize: 8, layerCount: 1, cell: .rnn)
        let model = try LanguageModel(configuration: c, seed: 1)
        var options = TrainingOptions()
        options.learningRate = 0.05
        let trainer = LanguageModelTrainer(model: model, options: options)
        let ids = units.encode("hello")
        let chunk = try TokenChunk(inputs: [Array(ids.dropLast())], targets: [Array(ids.dropFirst())])
        let first = try trainer.train(on: chunk, state: RecurrentState(configuration: c, rows: 1)).loss
        var last = first
        for _ in 0..<150 { last = try trainer.train(on: chunk, state: RecurrentState(configuration: c, rows: 1)).loss }
        #expect(last < 0.05 && first > 1, "loss \(first) → \(last)")
        let state = RecurrentState(configuration: c, rows: 1)
        var predicted = ""
        for id in ids.dropLast() {
            let logits = try model.feed([id], state: state)
            let best = (0..<units.count).max { logits[$0] < logits[$1] }!
            predicted += units.name(of: Int32(best))
        }
        #expect(predicted == "ello")
    }
}

@Suite(.serialized) struct LanguageModelThreadingTests {
    /// In two parts (two compute threads) a chunk's streams are trained in two parts by two replicas; the
    /// result equals one-part training up to rounding, is deterministic, and carries the state.
    @Test func twoPartsMatchOnePart() throws {
        let c = LanguageModelConfiguration(vocabularySize: 11, embeddingSize: 5, hiddenSize: 12, layerCount: 2)
        var random = RandomGenerator(seed: 2)
        let text = (0..<401).map { _ in Int32.random(in: 0..<11, using: &random) }
        let streams = try TextStreams(units: text, streams: 5, chunkLength: 30)
        func train(threads: Int) throws -> (parameters: [Float], state: [Float], losses: [Float], parts: Int) {
            let trainer = LanguageModelTrainer(model: try LanguageModel(configuration: c, seed: 4, initScale: 0.3))
            trainer.partCount = threads
            let state = RecurrentState(configuration: c, rows: 5)
            var losses: [Float] = []
            for k in 0..<streams.chunkCount { losses.append(try trainer.train(on: streams.chunk(k), state: state).loss) }
            return (trainer.model.parameters.allValues, state.hidden + state.cellState, losses, trainer.lastPartCount)
        }
        let one = try train(threads: 1), two = try train(threads: 2), again = try train(threads: 2)
        #expect(streams.chunkCount == 3 && one.parts == 1 && two.parts == 2)
        expectClose(two.losses, one.losses, abs: 1e-5, rel: 1e-5, "losses")
        expectClose(two.parameters, one.parameters, abs: 1e-5, rel: 1e-4, "parameters after 3 steps")
        expectClose(two.state, one.state, abs: 1e-5, rel: 1e-4, "carried states")
        #expect(two.parameters == again.parameters && two.state == again.state, "deterministic for a thread count")
    }
}
