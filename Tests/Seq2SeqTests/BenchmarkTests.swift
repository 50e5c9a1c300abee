import Foundation
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

/// Decoder steps of a model with large LSTM layers (4H × (E + H) ≥ 2^20 weights, where
/// `DecoderState` splits its products by gate columns) match the training forward, with
/// 6 rows (streamed few-row products) and 10 rows (BLAS).
@Test(arguments: [6, 10])
func largeLayerDecoderStepsMatchTrainingForward(rows B: Int) throws {
    var random = RandomGenerator(seed: 61)
    let config = ModelConfiguration(sourceVocabularySize: 11, targetVocabularySize: 37, embeddingSize: 768,
                                    hiddenSize: 256, layerCount: 2)
    let model = try Seq2SeqModel(configuration: config, seed: 5, initScale: 0.05)
    let (T, V) = (4, 37)
    let sources = randomSequences(B, lengths: 1...5, vocabulary: 11, random: &random)
    let targets = randomSequences(B, lengths: 3...3, vocabulary: V, random: &random)
    let batch = try Batch(sources: sources, targets: targets, bos: 1, eos: 2)
    _ = try model.loss(for: batch)
    let logits = model.lastLogits()  // [B, T, V]
    let state = try model.makeDecoderState(for: try model.encode(sources: sources))
    for t in 0..<T {
        let tokens = (0..<B).map { t == 0 ? Int32(1) : targets[$0][t - 1] }
        let logProbs = Array(try state.step(tokens: tokens))
        for b in 0..<B {
            let z = (0..<V).map { Double(logits[(b * T + t) * V + $0]) }
            let m = z.max()!
            let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
            expectClose(Array(logProbs[b * V..<(b + 1) * V]), z.map { Float($0 - lse) }, abs: 2e-5, "step \(t) row \(b)")
        }
    }
}
