import Testing
@testable import Seq2Seq

/// The synthetic benchmark's decoding mirrors the PyTorch reference: every output is forced
/// to its drawn length (EOS masked before it, forced at it), for greedy and beam search.
@Suite struct SyntheticBenchmarkTests {
    @Test(arguments: [nil, 1, 4] as [Int?])
    func forcedLengthsAreObeyed(beamSize: Int?) throws {
        let config = ModelConfiguration(sourceVocabularySize: 40, targetVocabularySize: 45, embeddingSize: 8,
                                        hiddenSize: 12, layerCount: 2)
        let model = try Seq2SeqModel(configuration: config, seed: 3, initScale: 0.5)
        var random = RandomGenerator(seed: 9)
        let pairs = SyntheticBenchmark.pairs(count: 7, configuration: config, random: &random)
        let lengths = [0, 1, 5, 2, 9, 30, 7]
        let hypotheses = try SyntheticBenchmark.decodeForced(
            model: model, sources: pairs.map(\.source), forcedLengths: lengths, beamSize: beamSize)
        #expect(hypotheses.map(\.tokens.count) == lengths)
        #expect(hypotheses.allSatisfy { $0.reachedEndOfSentence && !$0.tokens.contains(SyntheticBenchmark.eos) })
        #expect(hypotheses.allSatisfy { $0.logProbability.isFinite && $0.logProbability < 0 })
    }

    @Test func syntheticDataFollowsTheReference() {
        var random = RandomGenerator(seed: 1)
        let config = BenchmarkSize.small.configuration
        let pairs = SyntheticBenchmark.pairs(count: 400, configuration: config, random: &random)
        let lengths = pairs.flatMap { [$0.source.count, $0.target.count] }
        #expect(lengths.min() == 5 && lengths.max() == 30)
        #expect(pairs.allSatisfy { p in (p.source + p.target).allSatisfy { $0 >= 4 && $0 < 8000 } })
        // FLOPs per target token, the reference script's formula worked out by hand at a
        // source/target ratio of 1: 6 · (2 · LSTM params + output params), biases included.
        let small = SyntheticBenchmark.trainingFLOPsPerTargetToken(config, sourcePerTarget: 1)
        let smallLSTM: Double = 4 * 256 * 512 + 8 * 256, smallOutput: Double = 256 * 8000 + 8000
        #expect(small == 6 * (2 * smallLSTM + smallOutput))      // 18.65 MFLOP
        let medium = SyntheticBenchmark.trainingFLOPsPerTargetToken(BenchmarkSize.medium.configuration, sourcePerTarget: 1)
        let mediumLSTM: Double = 2 * (4 * 512 * 1024 + 8 * 512), mediumOutput: Double = 512 * 16000 + 16000
        #expect(medium == 6 * (2 * mediumLSTM + mediumOutput))  // 99.68 MFLOP
    }
}
