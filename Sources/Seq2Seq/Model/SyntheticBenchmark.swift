import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The two benchmark configurations shared with the PyTorch reference
/// (`../shared/peers/torch_seq2seq.py`): SMALL E256 H256 L1 V8000/8000 and
/// MEDIUM E512 H512 L2 V16000/16000, both batch 64, no dropout.
public enum BenchmarkSize: String, CaseIterable, Sendable {
    case small, medium

    /// The configuration with an LSTM, unidirectional encoder and no attention (the reference's default).
    public var configuration: ModelConfiguration { configuration(architecture: .original) }

    /// The configuration with the given cell, encoder and attention.
    public func configuration(architecture a: ModelArchitecture) -> ModelConfiguration {
        var c = sizes
        c.cell = a.cell
        c.encoder = a.encoder
        c.attention = a.attention
        c.inputFeeding = a.inputFeeding
        return c
    }

    private var sizes: ModelConfiguration {
        switch self {
        case .small:
            return ModelConfiguration(sourceVocabularySize: 8000, targetVocabularySize: 8000,
                                      embeddingSize: 256, hiddenSize: 256, layerCount: 1)
        case .medium:
            return ModelConfiguration(sourceVocabularySize: 16000, targetVocabularySize: 16000,
                                      embeddingSize: 512, hiddenSize: 512, layerCount: 2)
        }
    }
}

/// Synthetic throughput benchmarks defined exactly like the PyTorch reference's
/// `bench-train` and `bench-decode`:
/// - source and target lengths independently uniform in [5, 30], ids uniform in 4..<V;
/// - a *target token* is a non-padding decoder output position: target length + 1 (EOS);
/// - training: median over timed steps (after warm-up) of target tokens / step time, where a
///   step is forward, backward, global-norm clipping at 1.0 and Adam (lr 1e-3);
/// - decoding: 500 sentences, each output forced to its target length (EOS masked before
///   that step, forced at it), greedy in batches of 64 and beam 5 in batches of 64 sentences.
public enum SyntheticBenchmark {
    /// Token ids used by the synthetic data: `<s>` and `</s>` as in this project's vocabularies.
    static let bos: Int32 = 2, eos: Int32 = 3

    /// `count` synthetic (source, target) pairs.
    public static func pairs(count: Int, configuration c: ModelConfiguration, random: inout RandomGenerator)
        -> [(source: [Int32], target: [Int32])] {
        func sentence(_ V: Int) -> [Int32] {
            let n = Int.random(in: 5...30, using: &random)
            return (0..<n).map { _ in Int32.random(in: 4..<Int32(V), using: &random) }
        }
        return (0..<count).map { _ in (sentence(c.sourceVocabularySize), sentence(c.targetVocabularySize)) }
    }

    /// Training FLOPs per target token, the PyTorch reference's formula:
    /// 3 · 2 · (decoder-RNN params + output params + attention terms + encoder-RNN params · source/target
    /// token ratio), biases included; embeddings, gate nonlinearities, softmax and Adam are not counted.
    /// Attention (as the reference counts Luong attention): W_c (2H·H) and scores + context
    /// (2·H·S̄ for the mean source length S̄) per target token; "general" adds W_a (H·H) per source
    /// token. Generalized to G gates per cell, a bidirectional encoder (two directions of H/2) and
    /// input feeding (decoder layer 0 reads E + H).
    public static func trainingFLOPsPerTargetToken(_ c: ModelConfiguration, sourcePerTarget: Double,
                                                   meanSourceLength: Double = 0) -> Double {
        let (E, H, G) = (Double(c.embeddingSize), Double(c.hiddenSize), Double(c.cell.gateCount))
        let Hd = Double(c.encoderDirectionSize), directions = c.encoder == .bi ? 2.0 : 1.0
        var decoder = 0.0, encoder = 0.0
        for l in 0..<c.layerCount {
            let input = l == 0 ? E + (c.inputFeeding ? H : 0) : H
            decoder += G * H * (input + H) + 2 * G * H
            encoder += directions * (G * Hd * ((l == 0 ? E : H) + Hd) + 2 * G * Hd)
        }
        let projection = H * Double(c.targetVocabularySize) + Double(c.targetVocabularySize)
        var attention = 0.0
        if c.attention != .none { attention = 2 * H * H + 2 * H * meanSourceLength }
        if c.attention == .general { encoder += H * H }
        return 3 * 2 * (decoder + projection + attention + encoder * sourcePerTarget)
    }

    /// Result of `train`.
    public struct TrainingResult: Sendable {
        /// Median of target tokens per second over the timed steps.
        public var tokensPerSecond: Double
        /// Median step time in seconds.
        public var medianStepSeconds: Double
        /// Effective GFLOP/s at the median rate (`trainingFLOPsPerTargetToken`).
        public var gigaflopsPerSecond: Double
        /// MFLOP per target token used for the GFLOP/s figure.
        public var megaflopsPerTargetToken: Double
        /// Mean target tokens per timed batch.
        public var meanTargetTokens: Double
        /// Last training loss (sanity: finite and falling).
        public var lastLoss: Float
    }

    /// Trains `warmup + steps` distinct synthetic batches of `batchSize` pairs and times the last `steps`.
    public static func train(size: BenchmarkSize, architecture: ModelArchitecture = .original, batchSize: Int = 64,
                             warmup: Int = 3, steps: Int = 10, seed: UInt64 = 1) throws -> TrainingResult {
        let c = size.configuration(architecture: architecture)
        var random = RandomGenerator(seed: seed)
        let model = try Seq2SeqModel(configuration: c, seed: seed)
        let trainer = Trainer(model: model, seed: seed)
        let batches = try (0..<(warmup + steps)).map { _ in
            let p = pairs(count: batchSize, configuration: c, random: &random)
            return try Batch(sources: p.map(\.source), targets: p.map(\.target), bos: bos, eos: eos)
        }
        var rates = [Double](), times = [Double]()
        var sourceTokens = 0, targetTokens = 0
        var lastLoss: Float = 0
        for (i, batch) in batches.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try trainer.train(on: batch)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lastLoss = result.loss
            if i + 1 == warmup { PhaseTimer.reset() }
            guard i >= warmup else { continue }
            rates.append(Double(batch.targetTokenCount) / seconds)
            times.append(seconds)
            sourceTokens += batch.source.total
            targetTokens += batch.targetTokenCount
        }
        let rate = median(rates)
        let sentences = Double(max(steps * batchSize, 1))
        let perToken = trainingFLOPsPerTargetToken(c, sourcePerTarget: Double(sourceTokens) / Double(max(targetTokens, 1)),
                                                   meanSourceLength: Double(sourceTokens) / sentences)
        return TrainingResult(tokensPerSecond: rate, medianStepSeconds: median(times),
                              gigaflopsPerSecond: rate * perToken / 1e9, megaflopsPerTargetToken: perToken / 1e6,
                              meanTargetTokens: Double(targetTokens) / Double(max(steps, 1)), lastLoss: lastLoss)
    }

    /// Result of one `decode` run.
    public struct DecodingResult: Sendable {
        public var sentencesPerSecond: Double
        /// Output tokens (EOS included) per second.
        public var tokensPerSecond: Double
        public var seconds: Double
    }

    /// Decodes `sentences` synthetic sources in batches of `batchSize` with forced output lengths;
    /// `beamSize` nil = greedy. Encoding and search are timed (as in the reference), data
    /// generation is not. An untimed warm-up run over the first batch precedes the timing.
    public static func decode(size: BenchmarkSize, architecture: ModelArchitecture = .original, sentences n: Int = 500,
                              batchSize: Int = 64,
                              beamSize: Int?, precision: DecodingPrecision = .fp32, workers: Int = 1,
                              seed: UInt64 = 1) throws -> DecodingResult {
        let c = size.configuration(architecture: architecture)
        var random = RandomGenerator(seed: seed)
        // One copy of the model per worker (a model's decoding buffers are its own), the same weights.
        let models = try (0..<max(1, workers)).map { _ in try Seq2SeqModel(configuration: c, seed: seed) }
        let data = pairs(count: n, configuration: c, random: &random)
        /// The batches of `range`, with one worker each single-threaded, or the one model on all threads.
        func run(_ range: Range<Int>) throws {
            let starts = Array(stride(from: range.lowerBound, to: range.upperBound, by: batchSize))
            let decode = { (worker: Int, start: Int) throws in
                let chunk = data[start..<min(start + batchSize, range.upperBound)]
                try decodeForced(model: models[worker], sources: chunk.map(\.source), forcedLengths: chunk.map(\.target.count),
                                 precision: precision, beamSize: beamSize)
            }
            if models.count == 1 {
                for start in starts { try decode(0, start) }
            } else {
                _ = try WorkerThreads.map(starts, workers: models.count, decode)
            }
        }
        try run(0..<min(n, batchSize * models.count))  // warm-up: buffers, BLAS thread start (every worker)
        PhaseTimer.reset()
        let start = DispatchTime.now().uptimeNanoseconds
        try run(0..<n)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let outputTokens = data.reduce(0) { $0 + $1.target.count + 1 }
        return DecodingResult(sentencesPerSecond: Double(n) / seconds, tokensPerSecond: Double(outputTokens) / seconds,
                              seconds: seconds)
    }

    /// One batch: encode, then greedy or beam search where sentence s must emit EOS exactly
    /// after `forcedLengths[s]` tokens. Returns the hypotheses (each has that many tokens).
    @discardableResult
    static func decodeForced(model: Seq2SeqModel, sources: [[Int32]], forcedLengths: [Int], precision: DecodingPrecision = .fp32,
                             beamSize: Int?) throws -> [Hypothesis] {
        let encoded = try PhaseTimer.measure("decode.encode") { try model.encode(sources: sources) }
        let k = beamSize ?? 1
        var scorer = ForcedLengthScorer(
            inner: ModelStepScorer(state: try model.makeDecoderState(for: encoded, capacity: sources.count * k,
                                                                     precision: precision)),
            forcedLengths: forcedLengths, eos: eos)
        // One more step than the forced length, so EOS is emitted rather than the search cutting off.
        let maxLengths = forcedLengths.map { $0 + 1 }
        if let beamSize {
            let search = BeamSearch(beamSize: beamSize, nBest: 1, lengthPenalty: .none,
                                    beginOfSentence: bos, endOfSentence: eos)
            return try search.search(&scorer, maxOutputLengths: maxLengths).map { $0[0] }
        }
        return try GreedySearch(beginOfSentence: bos, endOfSentence: eos).search(&scorer, maxOutputLengths: maxLengths)
    }

    /// Peak resident set size of this process in bytes (`getrusage` maxrss).
    public static func peakMemoryBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// Wraps a scorer so that sentence s emits EOS exactly at step `forcedLengths[s]`
/// (0-based), like the reference's `_force`: before that step EOS gets −∞; at that
/// step every other token gets −∞ and EOS keeps its log-probability (at least −1e4).
/// Tracks which sentence each row belongs to through `select`.
struct ForcedLengthScorer<Inner: StepScorer>: StepScorer {
    var inner: Inner
    let forcedLengths: [Int]
    let eos: Int32
    var rowSentence: [Int]
    var scratch: [Int] = []
    var step = 0

    init(inner: Inner, forcedLengths: [Int], eos: Int32) {
        self.inner = inner
        self.forcedLengths = forcedLengths
        self.eos = eos
        rowSentence = Array(forcedLengths.indices)
    }

    var vocabularySize: Int { inner.vocabularySize }

    mutating func select(rows parents: [Int]) {
        inner.select(rows: parents)
        scratch.removeAll(keepingCapacity: true)
        for p in parents { scratch.append(rowSentence[p]) }
        swap(&rowSentence, &scratch)
    }

    mutating func step(tokens: [Int32], logProbabilities: UnsafeMutableBufferPointer<Float>) throws {
        try inner.step(tokens: tokens, logProbabilities: logProbabilities)
        let V = vocabularySize, e = Int(eos)
        let lp = logProbabilities.baseAddress!
        for r in 0..<tokens.count {
            let row = lp + r * V
            let forced = forcedLengths[rowSentence[r]]
            if step < forced {
                row[e] = -.infinity
            } else if step == forced {
                let keep = max(row[e], -1e4)
                row.update(repeating: -.infinity, count: V)
                row[e] = keep
            }
        }
        step += 1
    }
}
