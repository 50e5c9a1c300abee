import Testing
@testable import Seq2Seq

/// Data-parallel ranks train on contiguous parts of a global batch. With dropout and word
/// dropout, each sentence draws from its own stream keyed by its position in the global batch
/// (`Batch.numberingRows(from:)`), so the parts together compute exactly the loss and gradients
/// one process computes for the whole batch (up to float summation order).
@Suite struct DataParallelDropoutTests {
    static let architecture = ModelArchitecture(cell: .lstm, encoder: .bi, attention: .general, inputFeeding: true)

    /// Loss sum and `tokens × gradient` (the gradient of the loss sum) of one training forward/backward.
    static func lossAndScaledGradients(_ model: Seq2SeqModel, _ batch: Batch, wordDropout: Float) throws -> (Double, [Float]) {
        var random = RandomGenerator(seed: 11)   // every rank starts the step from the same generator
        let input = batch.droppingWords(probability: wordDropout, unknown: 1, random: &random)
        let loss = try model.computeGradients(for: input, random: &random)
        let scale = Float(loss.tokenCount)
        return (loss.lossSum, (0..<model.gradients.count).map { model.gradients.pointer[$0] * scale })
    }

    static func parts(numbered: Bool) throws -> (whole: (Double, [Float]), split: (Double, [Float])) {
        let model = try Seq2SeqModel(configuration: tinyConfiguration(architecture, layers: 2, dropout: 0.3), seed: 4,
                                     initScale: 0.5)
        var random = RandomGenerator(seed: 8)
        let sources = randomSequences(8, lengths: 1...7, vocabulary: 10, random: &random).map { $0.map { max($0, 4) } }
        let targets = randomSequences(8, lengths: 1...6, vocabulary: 9, random: &random).map { $0.map { max($0, 4) } }
        let whole = try lossAndScaledGradients(model, try Batch(sources: sources, targets: targets), wordDropout: 0.2)
        var sum = 0.0
        var gradient = [Float](repeating: 0, count: whole.1.count)
        for range in [0..<3, 3..<8] {
            let part = try Batch(sources: Array(sources[range]), targets: Array(targets[range]))
            let (loss, g) = try lossAndScaledGradients(model, numbered ? part.numberingRows(from: range.lowerBound) : part,
                                                       wordDropout: 0.2)
            sum += loss
            for i in g.indices { gradient[i] += g[i] }
        }
        return (whole, (sum, gradient))
    }

    @Test func partsKeyedByGlobalPositionComputeTheWholeBatch() throws {
        let (whole, split) = try Self.parts(numbered: true)
        #expect(abs(whole.0 - split.0) <= 1e-5 * abs(whole.0), "loss sums \(whole.0) vs \(split.0)")
        let largest = whole.1.map(abs).max() ?? 0
        let difference = zip(whole.1, split.1).map { abs($0 - $1) }.max() ?? 0
        #expect(difference <= 1e-5 * largest, "gradients differ by \(difference) (largest \(largest))")
    }

    /// The control: parts keyed from 0 each draw other masks, so the comparison above can fail.
    @Test func partsKeyedFromZeroDrawOtherMasks() throws {
        let (whole, split) = try Self.parts(numbered: false)
        #expect(abs(whole.0 - split.0) > 1e-3 * abs(whole.0), "loss sums \(whole.0) vs \(split.0)")
    }
}
