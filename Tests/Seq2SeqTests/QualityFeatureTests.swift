import Foundation
import Testing
@testable import Seq2Seq

/// Word dropout, tied embeddings, warm-up, checkpoint averaging and ensembles.
@Suite struct QualityFeatureTests {
    @Test func wordDropoutReplacesInputsButNeverBOSOrTargets() throws {
        var random = RandomGenerator(seed: 3)
        let sources = randomSequences(40, lengths: 5...20, vocabulary: 50, random: &random).map { $0.map { max($0, 4) } }
        let targets = randomSequences(40, lengths: 5...20, vocabulary: 50, random: &random).map { $0.map { max($0, 4) } }
        let batch = try Batch(sources: sources, targets: targets, bos: 2, eos: 3)
        var r = RandomGenerator(seed: 9)
        let dropped = batch.droppingWords(probability: 0.25, unknown: 1, random: &r)
        let sourceRate = Double(dropped.sourceIDs.filter { $0 == 1 }.count) / Double(batch.source.total)
        let inputRate = Double(dropped.decoderInputIDs.filter { $0 == 1 }.count) / Double(batch.target.total - batch.rowCount)
        #expect(abs(sourceRate - 0.25) < 0.05 && abs(inputRate - 0.25) < 0.05, "rates \(sourceRate) \(inputRate)")
        #expect(dropped.decoderInputIDs.prefix(batch.rowCount).allSatisfy { $0 == 2 }, "<s> stays")
        #expect(dropped.decoderTargetIDs == batch.decoderTargetIDs)
        for (a, b) in zip(dropped.sourceIDs, batch.sourceIDs) { #expect(a == b || a == 1) }
        var again = RandomGenerator(seed: 9)
        #expect(batch.droppingWords(probability: 0.25, unknown: 1, random: &again).sourceIDs == dropped.sourceIDs)
    }

    @Test func tiedEmbeddingsShareTheTargetTableAndHaveCorrectGradients() throws {
        var random = RandomGenerator(seed: 21)
        var config = tinyConfiguration(ModelArchitecture(cell: .lstm, encoder: .uni, attention: .general, inputFeeding: true))
        config.embeddingSize = 6
        config.tieEmbeddings = true
        #expect(!config.parameterShapes.contains { $0.name == "out_weight" })
        let model = try Seq2SeqModel(configuration: config, seed: 5, initScale: 0.5)
        #expect(model.decoder.outWeight == model.parameters.view("tgt_embedding"))
        let batch = try Batch(sources: randomSequences(3, lengths: 1...5, vocabulary: 10, random: &random),
                              targets: randomSequences(3, lengths: 1...4, vocabulary: 9, random: &random), bos: 1, eos: 2)
        func loss() -> Double {
            var r: RandomGenerator? = nil
            return 100 * ((try? model.run(batch, labelSmoothing: 0, training: true, random: &r))?.lossSum ?? .nan)
                / Double(batch.targetTokenCount)
        }
        _ = loss()
        let analytic = model.gradients.values("tgt_embedding").map { 100 * $0 }
        let table = model.parameters.entry("tgt_embedding")!
        checkGradient("tied tgt_embedding", model.parameters.pointer + table.offset, count: table.count, analytic: analytic, loss: loss)
        var bad = config
        bad.embeddingSize = 4
        #expect(throws: ModelError.self) { try bad.validate() }
    }

    @Test func warmUpGrowsTheLearningRateLinearly() {
        var options = TrainingOptions()
        options.learningRate = 0.01
        options.warmupSteps = 4
        #expect([1, 2, 3, 4, 9].map { options.learningRate(atStep: $0) } == [0.0025, 0.005, 0.0075, 0.01, 0.01])
        // Options saved before these fields existed still decode.
        let old = #"{"learningRate":0.002,"beta1":0.9,"beta2":0.999,"epsilon":1e-08,"maxGradientNorm":1,"labelSmoothing":0.1,"decayFactor":1,"decayEverySteps":0,"decayStartStep":0}"#
        let decoded = try? JSONDecoder().decode(TrainingOptions.self, from: Data(old.utf8))
        #expect(decoded?.learningRate == 0.002 && decoded?.wordDropout == 0 && decoded?.warmupSteps == 0)
    }

    @Test func averagedCheckpointIsTheMeanOfItsInputs() throws {
        let config = tinyConfiguration(ModelArchitecture(cell: .gru, encoder: .bi, attention: .dot, inputFeeding: true))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("average-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let models = try (1...3).map { try Seq2SeqModel(configuration: config, seed: UInt64($0), initScale: 0.5) }
        for (i, model) in models.enumerated() {
            try Checkpoint.save(to: "\(folder)/c\(i)", model: model, sourceVocabulary: "s", targetVocabulary: "t")
        }
        let (average, metadata) = try CheckpointAveraging.average((0..<3).map { "\(folder)/c\($0)" })
        #expect(metadata.configuration == config)
        for e in average.parameters.entries {
            let mean = (0..<e.count).map { j in models.map { $0.parameters.values(e.name)[j] }.reduce(0, +) / 3 }
            expectClose(average.parameters.values(e.name), mean, abs: 1e-6, e.name)
        }
        let other = try Seq2SeqModel(configuration: tinyConfiguration(.original), seed: 1)
        try Checkpoint.save(to: "\(folder)/odd", model: other, sourceVocabulary: "s", targetVocabulary: "t")
        #expect(throws: CheckpointError.self) { try CheckpointAveraging.average(["\(folder)/c0", "\(folder)/odd"]) }
    }

    /// An ensemble of a model with itself gives that model's translations and scores.
    @Test func ensembleOfAModelWithItselfEqualsTheModel() throws {
        let (single, _) = try ModelDirectory(path: CompatibilityTests.fixture).loadTranslator()
        let (pair, _) = try ModelDirectory(path: CompatibilityTests.fixture)
            .loadTranslator(ensemble: [ModelDirectory(path: CompatibilityTests.fixture)])
        #expect(pair.ensemble.count == 1)
        let lines = ["Hello world.", "Good morning", "Thank you very much."]
        let a = try single.translate(lines), b = try pair.translate(lines)
        #expect(a.map(\.text) == b.map(\.text))
        expectClose(a.map(\.score), b.map(\.score), abs: 1e-5, "ensemble scores")
    }
}
