import Foundation

/// Training steps of a language model: forward and backward over one chunk, global-norm
/// clipping, Adam — the same optimizer, clipping and schedule as `Trainer`.
///
/// With T compute threads (`ComputeThreads.configure`), a chunk's streams are split into T parts trained
/// at once, each by its own replica of the model over the same parameters with single-threaded
/// products; their gradients are summed. Independent streams need no synchronization inside
/// a chunk, so the cores never wait for each other at every time step (the per-step products
/// of 32–64 rows are too small to share well).
///
/// Deterministic: the same model seed, trainer seed, chunks and compute thread count give
/// bit-identical parameters.
public final class LanguageModelTrainer: UpdatingTrainer {
    public let model: LanguageModel
    /// Adam, the step count and learning-rate scale, the dropout generator (see `UpdatingTrainer`).
    public let updater: ParameterUpdater
    /// The weights in bf16 for `--precision bf16`, rounded once per step.
    private let weightCopy: BFloat16WeightCopy
    /// Models over the same parameters for the other parts of a split chunk (made when needed).
    private var replicas: [LanguageModel] = []
    /// Parts the last step's chunk was split into.
    private(set) var lastPartCount = 1
    /// Parts a chunk is split into (at most its row count); nil: `ComputeThreads.count`.
    /// Results depend on it, not on how many threads actually run the parts.
    public var partCount: Int?

    public init(model: LanguageModel, options: TrainingOptions = TrainingOptions(), seed: UInt64 = 1) {
        self.model = model
        updater = ParameterUpdater(parameters: model.parameters, options: options, seed: seed)
        weightCopy = BFloat16WeightCopy(parameters: model.parameters)
    }

    /// One update on `chunk` from `state` (which then holds the chunk's final states).
    /// - Throws: `TrainingDivergence` (before touching the weights) when the loss or the
    ///   gradient norm is NaN or infinite.
    @discardableResult
    public func train(on chunk: TokenChunk, state: RecurrentState) throws -> TrainingStepResult {
        let parts = min(partCount ?? ComputeThreads.count, chunk.rowCount)
        lastPartCount = max(parts, 1)
        let loss = try weightCopy.during {
            parts > 1 ? try computeGradients(on: chunk, state: state, parts: parts)
                      : try model.computeGradients(on: chunk, state: state, random: &random)
        }
        return try updater.update(model.parameters, gradients: model.gradients, loss: loss)
    }

    /// Forward and backward of the streams of `chunk` split into `parts` row ranges, one per
    /// replica, concurrently, each on one thread; gradients summed into `model.gradients`
    /// in part order (deterministic), each part's scaled to the mean over the whole chunk.
    /// Dropout masks come from one generator per part, seeded in order from `random`.
    private func computeGradients(on chunk: TokenChunk, state: RecurrentState, parts: Int) throws -> LossResult {
        try model.check(chunk.inputs, rows: chunk.rowCount, state: state)
        try model.check(chunk.targets, rows: chunk.rowCount, state: state)
        while replicas.count < parts - 1 {
            replicas.append(try LanguageModel(configuration: model.configuration, adopting: model.parameters))
        }
        let B = chunk.rowCount, N = chunk.unitCount
        let ranges = (0..<parts).map { p in p * B / parts..<(p + 1) * B / parts }
        let work = UncheckedSendable(ranges.enumerated().map { p, range in
            (model: p == 0 ? model : replicas[p - 1], chunk: chunk.rows(range), state: state.rows(range),
             random: model.configuration.dropout > 0 ? RandomGenerator(seed: random.next()) : nil as RandomGenerator?)
        })
        let results = UncheckedSendable(UnsafeMutableBufferPointer<LossResult>.allocate(capacity: parts))
        defer { results.value.deallocate() }
        let timing = PhaseTimer.enabled                   // products inside a part run on its thread alone
        PhaseTimer.measure("lm.parts") {
            PhaseTimer.enabled = false                        // it records from one thread only
            defer { PhaseTimer.enabled = timing }
            Parallel.forEach(parts: parts) { p in
                let part = work.value[p]
                var random = part.random
                results.value[p] = part.model.runChecked(part.chunk, state: part.state, training: true, meanOver: N,
                                                         random: &random)
            }
        }
        var sum = 0.0
        for (p, part) in work.value.enumerated() {
            if p > 0 { Kernels.add(part.model.gradients.pointer, into: model.gradients.pointer, count: model.gradients.count) }
            state.setRows(ranges[p].lowerBound, from: part.state)
            sum += results.value[p].lossSum
        }
        return LossResult(loss: Float(sum / Double(max(N, 1))), lossSum: sum, tokenCount: N)
    }
}

/// Loss of a language model over a whole text, the state carried through each stream.
public struct TextEvaluation: Sendable, Equatable {
    /// Summed cross-entropy in nats over the predicted units.
    public var lossSum: Double
    /// Units predicted (text units − 1).
    public var unitCount: Int
    /// Characters of the original text the units stand for (for bits per character).
    public var characterCount: Int

    /// Mean loss per unit (nats).
    public var loss: Double { lossSum / Double(max(unitCount, 1)) }
    /// Perplexity per unit, exp(loss).
    public var perplexity: Double { exp(loss) }
    /// Bits per original character: the total loss in bits over the characters the predicted
    /// units spell, so that models over characters, jamo or subwords are comparable.
    public var bitsPerCharacter: Double { lossSum / log(2) / Double(max(characterCount, 1)) }
}

extension LanguageModel {
    /// Forward-only loss over `units`, cut into `streams` streams (fewer for a short text) with
    /// the state carried through each, in chunks of `chunkLength` steps. `characterCount` is
    /// the number of original characters units[1...] spell (see `TextUnits.characterCount`).
    public func evaluate(units: [Int32], characterCount: Int, streams: Int = 64, chunkLength: Int = 100,
                         progress: ((Int, Int) -> Void)? = nil) throws -> TextEvaluation {
        var result = TextEvaluation(lossSum: 0, unitCount: 0, characterCount: characterCount)
        guard units.count >= 2 else { return result }
        let text = TextStreams(evaluating: units, streams: streams, chunkLength: chunkLength)
        let state = RecurrentState(configuration: configuration, rows: text.streamCount)
        for k in 0..<text.chunkCount {
            let r = try loss(on: text.chunk(k), state: state)
            result.lossSum += r.lossSum
            result.unitCount += r.tokenCount
            progress?(k + 1, text.chunkCount)
        }
        return result
    }
}
