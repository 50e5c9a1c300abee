import Foundation
import Testing
@testable import Seq2Seq

/// Every combination of cell, encoder, attention and input feeding.
let allArchitectures: [ModelArchitecture] = CellKind.allCases.flatMap { cell in
    EncoderKind.allCases.flatMap { encoder in
        [(AttentionKind.none, false), (.dot, false), (.dot, true), (.general, false), (.general, true)].map { attention, feeding in
            ModelArchitecture(cell: cell, encoder: encoder, attention: attention, inputFeeding: feeding)
        }
    }
}

extension ModelArchitecture: CustomTestStringConvertible {
    public var testDescription: String {
        "\(cell.rawValue)/\(encoder.rawValue)/\(attention.rawValue)\(inputFeeding ? "+feed" : "")"
    }
}

func tinyConfiguration(_ a: ModelArchitecture, layers: Int = 2, dropout: Float = 0) -> ModelConfiguration {
    ModelConfiguration(sourceVocabularySize: 10, targetVocabularySize: 9, embeddingSize: 4, hiddenSize: 6,
                       layerCount: layers, dropout: dropout, cell: a.cell, encoder: a.encoder, attention: a.attention,
                       inputFeeding: a.inputFeeding)
}

@Suite struct ArchitectureTests {
    /// Whole model for every architecture: embeddings, both stacks (bidirectional ones
    /// included), the state hand-over, attention with or without input feeding, output layer,
    /// label-smoothed loss and dropout (fixed masks), against central differences. The loss is
    /// scaled by 100 so that every tensor's gradient is well above the absolute tolerance
    /// (the mean over 12 tokens makes some of them tiny), which tightens the check 100-fold.
    @Test(arguments: allArchitectures)
    func wholeModelGradients(_ a: ModelArchitecture) throws {
        var random = RandomGenerator(seed: 16)
        let model = try Seq2SeqModel(configuration: tinyConfiguration(a, dropout: 0.2), seed: 5, initScale: 0.5)
        let sources = randomSequences(3, lengths: 1...5, vocabulary: 10, random: &random) + [[]]
        let targets = randomSequences(4, lengths: 1...4, vocabulary: 9, random: &random)
        let batch = try Batch(sources: sources, targets: targets, bos: 1, eos: 2)
        func loss() -> Double {
            var r: RandomGenerator? = RandomGenerator(seed: 6)
            return 100 * ((try? model.run(batch, labelSmoothing: 0.1, training: true, random: &r))?.lossSum ?? .nan)
                / Double(batch.targetTokenCount)
        }
        _ = loss()
        let analytic = ParameterBuffer(layoutOf: model.parameters)
        analytic.copy(from: model.gradients)
        for e in model.parameters.entries {
            checkGradient("\(a.testDescription) \(e.name)", model.parameters.pointer + e.offset, count: e.count,
                          analytic: analytic.values(e.name).map { 100 * $0 }, loss: loss)
        }
    }

    /// The packed path (no work on padding) and a padded path that runs every row for every
    /// step with a mask must give the same loss and gradients, for every architecture.
    @Test(arguments: allArchitectures)
    func packedAndPaddedWithMaskAgree(_ a: ModelArchitecture) throws {
        var random = RandomGenerator(seed: 31)
        let sources = randomSequences(5, lengths: 1...7, vocabulary: 10, random: &random)
        let targets = randomSequences(5, lengths: 1...6, vocabulary: 9, random: &random)
        let inputs = targets.map { [Int32(1)] + $0 }, outputs = targets.map { $0 + [2] }
        let packed = try Batch(sources: sources, decoderInputs: inputs, decoderTargets: outputs)
        let padded = try Batch(sources: sources, decoderInputs: inputs, decoderTargets: outputs, padded: true)
        #expect(padded.source.total > packed.source.total, "the padded variant really computes padding")
        let model = try Seq2SeqModel(configuration: tinyConfiguration(a), seed: 7, initScale: 0.5)
        var r = RandomGenerator(seed: 0)
        let x = try model.computeGradients(for: packed, labelSmoothing: 0.1, random: &r)
        let gPacked = model.gradients.allValues
        let y = try model.computeGradients(for: padded, labelSmoothing: 0.1, random: &r)
        #expect(abs(x.loss - y.loss) <= 1e-6, "loss packed \(x.loss) vs padded \(y.loss)")
        expectClose(gPacked, model.gradients.allValues, abs: 1e-6, rel: 1e-4, "\(a.testDescription) gradients packed vs padded")
    }

    /// Step-by-step decoding under teacher forcing (the code `translate` runs) gives the same
    /// log-probabilities as the training forward, for every architecture; `select(rows:)`
    /// carries the recurrent state, h̃ and the source index.
    @Test(arguments: allArchitectures)
    func decoderStepsMatchTrainingForward(_ a: ModelArchitecture) throws {
        var random = RandomGenerator(seed: 51)
        let model = try Seq2SeqModel(configuration: tinyConfiguration(a), seed: 4, initScale: 0.5)
        let sources = randomSequences(3, lengths: 1...6, vocabulary: 10, random: &random)
        let targets = randomSequences(3, lengths: 4...4, vocabulary: 9, random: &random)
        _ = try model.loss(for: try Batch(sources: sources, targets: targets, bos: 1, eos: 2))
        let logits = model.lastLogits()  // [B, T, V]
        let (T, V) = (5, 9)
        let encoded = try model.encode(sources: sources)
        let rows = [2, 1, 0, 0]  // reversed, with a duplicate, to exercise sourceRows
        let state = try model.makeDecoderState(for: encoded, sourceRows: rows, capacity: 6)
        for t in 0..<T {
            let logProbs = Array(try state.step(tokens: rows.map { t == 0 ? Int32(1) : targets[$0][t - 1] }))
            for (r, b) in rows.enumerated() {
                expectClose(Array(logProbs[r * V..<(r + 1) * V]), logSoftmax((0..<V).map { logits[(b * T + t) * V + $0] }),
                            abs: 2e-5, "\(a.testDescription) step \(t) row \(r)")
            }
        }
        let reference = try model.makeDecoderState(for: encoded, sourceRows: [0, 1, 0])
        for t in 0..<T { _ = try reference.step(tokens: [0, 1, 0].map { t == 0 ? Int32(1) : targets[$0][t - 1] }) }
        state.select(rows: [3, 1, 3])
        #expect(Array(try state.step(tokens: [4, 5, 6])) == Array(try reference.step(tokens: [4, 5, 6])))
    }

    /// Same seed, data and threads: bit-identical weights, with dropout on.
    @Test func sameSeedGivesBitIdenticalWeights() throws {
        let a = ModelArchitecture(cell: .gru, encoder: .bi, attention: .general, inputFeeding: true)
        func train() throws -> [Float] {
            var random = RandomGenerator(seed: 8)
            let model = try Seq2SeqModel(configuration: tinyConfiguration(a, dropout: 0.3), seed: 2)
            let trainer = Trainer(model: model, seed: 5)
            for _ in 0..<5 {
                let s = randomSequences(6, lengths: 1...7, vocabulary: 10, random: &random)
                let t = randomSequences(6, lengths: 1...6, vocabulary: 9, random: &random)
                try trainer.train(on: try Batch(sources: s, targets: t, bos: 1, eos: 2))
            }
            return model.parameters.allValues
        }
        let first = try train(), second = try train()
        #expect(first == second)
        #expect(first.allSatisfy { $0.isFinite })
    }

    /// Twenty pairs, a few hundred full-batch steps: every cell, and attention, drives the
    /// training loss below 0.05 and greedy decoding reproduces every target.
    @Test(arguments: [
        ModelArchitecture(cell: .rnn, encoder: .uni, attention: .none, inputFeeding: false),
        ModelArchitecture(cell: .gru, encoder: .uni, attention: .none, inputFeeding: false),
        ModelArchitecture(cell: .lstm, encoder: .bi, attention: .general, inputFeeding: true),
        ModelArchitecture(cell: .gru, encoder: .uni, attention: .dot, inputFeeding: false),
    ])
    func overfitsTwentyPairs(_ a: ModelArchitecture) throws {
        var random = RandomGenerator(seed: 42)
        let sources = randomSequences(20, lengths: 3...8, vocabulary: 20, random: &random).map { $0.map { max($0, 4) } }
        let targets = randomSequences(20, lengths: 2...7, vocabulary: 18, random: &random).map { $0.map { max($0, 4) } }
        let config = ModelConfiguration(sourceVocabularySize: 20, targetVocabularySize: 18, embeddingSize: 32, hiddenSize: 64,
                                        layerCount: a.cell == .rnn ? 1 : 2, cell: a.cell, encoder: a.encoder,
                                        attention: a.attention, inputFeeding: a.inputFeeding)
        let model = try Seq2SeqModel(configuration: config, seed: 6)
        var options = TrainingOptions()
        options.learningRate = 0.01
        let trainer = Trainer(model: model, options: options, seed: 1)
        let batch = try Batch(sources: sources, targets: targets)
        for _ in 0..<500 { if try trainer.train(on: batch).loss < 0.01 { break } }
        let loss = try model.loss(for: batch).loss
        #expect(loss < 0.05, "\(a.testDescription): training loss \(loss) after \(trainer.step) steps")
        #expect(try greedyDecode(model, sources: sources, maxLength: 12) == targets, "greedy decoding reproduces every target")
    }

    /// Batched greedy and beam search equal one-sentence-at-a-time search with attention
    /// (the memory is looked up per row by source index, never mixed between sentences).
    @Test(arguments: [
        ModelArchitecture(cell: .lstm, encoder: .bi, attention: .general, inputFeeding: true),
        ModelArchitecture(cell: .gru, encoder: .uni, attention: .dot, inputFeeding: false),
    ])
    func batchedSearchEqualsOneAtATime(_ a: ModelArchitecture) throws {
        var random = RandomGenerator(seed: 71)
        let config = ModelConfiguration(sourceVocabularySize: 30, targetVocabularySize: 25, embeddingSize: 8, hiddenSize: 12,
                                        layerCount: 2, cell: a.cell, encoder: a.encoder, attention: a.attention,
                                        inputFeeding: a.inputFeeding)
        let model = try Seq2SeqModel(configuration: config, seed: 9, initScale: 0.4)
        let sources = randomSequences(7, lengths: 1...9, vocabulary: 30, random: &random)
        let lengths = sources.map { $0.count + 3 }
        func greedy(_ s: [[Int32]], _ m: [Int]) throws -> [Hypothesis] {
            var scorer = ModelStepScorer(state: try model.makeDecoderState(for: try model.encode(sources: s)))
            return try GreedySearch(beginOfSentence: 2, endOfSentence: 3).search(&scorer, maxOutputLengths: m)
        }
        func beam(_ s: [[Int32]], _ m: [Int]) throws -> [[Hypothesis]] {
            var scorer = ModelStepScorer(state: try model.makeDecoderState(for: try model.encode(sources: s), capacity: s.count * 4))
            return try BeamSearch(beamSize: 4, nBest: 2, lengthPenalty: LengthPenalty(alpha: 0.6), beginOfSentence: 2,
                                  endOfSentence: 3).search(&scorer, maxOutputLengths: m)
        }
        let batchedGreedy = try greedy(sources, lengths), batchedBeam = try beam(sources, lengths)
        for i in sources.indices {
            #expect(try greedy([sources[i]], [lengths[i]])[0].tokens == batchedGreedy[i].tokens, "greedy sentence \(i)")
            #expect(try beam([sources[i]], [lengths[i]])[0].map(\.tokens) == batchedBeam[i].map(\.tokens), "beam sentence \(i)")
        }
    }

    /// Alignments: one row per output token plus `</s>` when emitted, one column per source
    /// token, rows summing to 1; sentences of a batch don't see each other's sources.
    @Test func alignmentRowsAreDistributionsOverTheOwnSource() throws {
        var random = RandomGenerator(seed: 81)
        let a = ModelArchitecture(cell: .lstm, encoder: .bi, attention: .general, inputFeeding: true)
        let model = try Seq2SeqModel(configuration: tinyConfiguration(a), seed: 3, initScale: 0.5)
        let sources = randomSequences(4, lengths: 1...7, vocabulary: 10, random: &random) + [[]]
        let outputs = randomSequences(5, lengths: 0...5, vocabulary: 9, random: &random)
        let eos = [true, false, true, true, true]
        let weights = try model.attentionWeights(sources: sources, outputs: outputs, endedWithEOS: eos)
        for i in 0..<4 {
            #expect(weights[i].count == outputs[i].count + (eos[i] ? 1 : 0))
            for row in weights[i] {
                #expect(row.count == sources[i].count)
                #expect(abs(row.reduce(0, +) - 1) <= 1e-5 && row.allSatisfy { $0 >= 0 })
            }
        }
        #expect(weights[4].isEmpty, "an empty source has nothing to attend to")
        let alone = try model.attentionWeights(sources: [sources[2]], outputs: [outputs[2]], endedWithEOS: [eos[2]])
        expectClose(alone[0].flatMap { $0 }, weights[2].flatMap { $0 }, abs: 1e-6, "alignment alone vs in a batch")
        let plain = try Seq2SeqModel(configuration: tinyConfiguration(.original), seed: 3)
        #expect(throws: ModelError.self) { try plain.attentionWeights(sources: [[1]], outputs: [[1]], endedWithEOS: [true]) }
    }

    /// Configuration rules and the JSON stored in checkpoints.
    @Test func configurationValidationAndDecoding() throws {
        var odd = tinyConfiguration(ModelArchitecture(cell: .lstm, encoder: .bi, attention: .none, inputFeeding: false))
        odd.hiddenSize = 7
        #expect(throws: ModelError.self) { try odd.validate() }
        var feedingAlone = tinyConfiguration(.original)
        feedingAlone.inputFeeding = true
        #expect(throws: ModelError.self) { try feedingAlone.validate() }
        // Written before the architecture existed: an LSTM without attention.
        let old = #"{"sourceVocabularySize":5,"targetVocabularySize":6,"embeddingSize":2,"hiddenSize":3,"layerCount":1,"dropout":0}"#
        let decoded = try JSONDecoder().decode(ModelConfiguration.self, from: Data(old.utf8))
        #expect(decoded.architecture == .original)
        // Round trip of a new one.
        let config = tinyConfiguration(ModelArchitecture(cell: .gru, encoder: .bi, attention: .dot, inputFeeding: true))
        #expect(try JSONDecoder().decode(ModelConfiguration.self, from: JSONEncoder().encode(config)) == config)
        // A name this build does not know.
        let future = old.replacingOccurrences(of: "\"dropout\":0", with: "\"dropout\":0,\"cell\":\"mlstm\"")
        do {
            _ = try JSONDecoder().decode(ModelConfiguration.self, from: Data(future.utf8))
            Issue.record("an unknown cell must not decode")
        } catch {
            #expect("\(error)".contains("unknown cell \"mlstm\""), "\(error)")
        }
        // Parameter layouts: PyTorch names and shapes.
        let bi = tinyConfiguration(ModelArchitecture(cell: .gru, encoder: .bi, attention: .general, inputFeeding: true))
        let shapes = Dictionary(uniqueKeysWithValues: bi.parameterShapes.map { ($0.name, $0.shape) })
        #expect(shapes["encoder.l0.backward.weight_ih"] == [9, 4] && shapes["encoder.l1.forward.weight_ih"] == [9, 6])
        #expect(shapes["decoder.l0.weight_ih"] == [18, 10] && shapes["attention.W_a"] == [6, 6] && shapes["attention.W_c"] == [6, 12])
    }
}

/// `log softmax` of a row, in Double.
func logSoftmax(_ row: [Float]) -> [Float] {
    let z = row.map(Double.init)
    let m = z.max() ?? 0
    let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
    return z.map { Float($0 - lse) }
}

/// A model directory written by the release before cells and attention existed still loads
/// and translates exactly as it did (Fixtures/lstm-format1, made by that release's binaries).
@Suite struct CompatibilityTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/lstm-format1").path

    struct Line: Decodable {
        struct Candidate: Decodable { var translation: String; var score: Float }
        var source: String, translation: String, score: Float
        var n_best: [Candidate]
    }

    @Test(arguments: [("expected-beam5.jsonl", false, 3), ("expected-greedy.jsonl", true, 1)])
    func formatOneModelTranslatesAsBefore(file: String, greedy: Bool, nBest: Int) throws {
        var options = TranslationOptions()
        options.greedy = greedy
        options.nBest = nBest
        let (translator, manifest) = try ModelDirectory(path: Self.fixture).loadTranslator(options: options)
        #expect(manifest.architecture == nil && translator.model.configuration.architecture == .original)
        let text = try String(contentsOfFile: Self.fixture + "/" + file, encoding: .utf8)
        let expected = try text.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        let results = try translator.translate(expected.map(\.source))
        #expect(results.count == expected.count)
        for (got, want) in zip(results, expected) {
            #expect(got.text == want.translation)
            #expect(got.nBest.map(\.text) == want.n_best.map(\.translation))
            expectClose(got.nBest.map(\.score), want.n_best.map(\.score), abs: 1e-4, "scores of \(want.source)")
        }
    }

    @Test func architectureOfManifestAndCheckpointMustAgree() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mismatch-\(getpid())").path
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let directory = ModelDirectory(path: folder)
        var manifest = try directory.readManifest()
        manifest.architecture = ModelArchitecture(cell: .gru, encoder: .uni, attention: .none, inputFeeding: false)
        try directory.writeManifest(manifest)
        #expect(throws: ModelDirectoryError.self) { try directory.loadTranslator() }
    }
}
