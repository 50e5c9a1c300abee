import Foundation
import Tokenize

/// Everything `seq2seq train` can be told: the run settings it shares with a language
/// model's (`run`, read and written as `options.seed` etc.) and its own.
public struct TrainingSessionOptions: TrainingRunSettings, Sendable {
    public var run = TrainingRunControl(embeddingSize: 256, hiddenSize: 256, layerCount: 1, dropout: 0.3,
                                        validateEvery: 500, patience: 10, outputPath: "model")
    public var trainPath: String
    public var devPath: String?
    /// Translate column 2 → column 1.
    public var reverse = false
    /// Feed source sentences to the encoder last token first (see `ModelManifest`).
    public var reverseSourceOrder = true
    /// Use this vocabulary (prefix of `seq2seq vocab --output`) instead of learning one.
    public var vocabularyPrefix: String?
    public var vocabulary = VocabularyOptions()
    /// Choose `vocabulary.size` from the training data (`VocabularyOptions.automaticSize`).
    public var automaticVocabularySize = false
    /// Stop at the first malformed corpus line instead of skipping it.
    public var strict = false
    /// Architecture of a new model (a resumed run keeps its own).
    public var architecture = ModelArchitecture.original
    /// Output layer shares the target embedding table (needs embedding size = hidden size).
    public var tieEmbeddings = false
    /// Probability of replacing an input token by `<unk>` during training.
    public var wordDropout: Float = 0
    /// Linear learning-rate warm-up over this many steps (0: none).
    public var warmupSteps = 0
    /// Keep the model of the last N validations in `checkpoints/` for `seq2seq average` (0: none).
    public var keepCheckpoints = 0
    /// Multiply the learning rate by this factor at every validation without a better dev chrF
    /// (1: never; the scale is saved with the checkpoint, so `--resume` continues it).
    public var plateauDecay: Float = 1
    /// Sentences per batch (used when `batchTokens` is nil).
    public var batchSize = 64
    /// Target tokens per batch instead of a fixed sentence count.
    public var batchTokens: Int?
    /// Pairs with a side longer than this many subword tokens are skipped.
    public var maxLength = 80
    public var labelSmoothing: Float = 0.1
    /// BPE-dropout: probability of skipping each merge when the training pairs are segmented
    /// again at every epoch (0: the deterministic segmentation throughout).
    public var subwordDropout: Double = 0
    /// `--resume` on a training or dev file other than the one the run started with.
    public var allowDataChange = false
    /// Dev sentences translated (greedily) for BLEU/chrF at each validation.
    public var devTranslateLimit = 1000
    /// The vocabulary shortlist written into the model directory for `translate` and `serve`
    /// (nil: none; a new run then removes an earlier run's).
    public var shortlist: ShortlistSettings? = ShortlistSettings()
    /// Back-translated pairs mixed into training (`--synthetic`; nil: none).
    public var synthetic: SyntheticSettings?

    public init(trainPath: String) { self.trainPath = trainPath }
}

/// Why training (of a translation or a language model) stopped.
public enum TrainingOutcome: String, Sendable {
    case finishedEpochs = "finished all epochs"
    case timeBudget = "time budget reached"
    case stepLimit = "step limit reached"
    case earlyStopping = "early stopping (the dev score stopped improving)"
    case interrupted = "interrupted; resume with --resume"
}

/// Errors of a training run that the corpus and model layers don't cover.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case noTrainingPairs(file: String, skippedTooLong: Int)
    case nothingToResume(path: String)
    case resumeMismatch(path: String, reason: String)
    case outputExists(path: String)

    public var description: String {
        switch self {
        case .noTrainingPairs(let file, let long): return "\(file): no usable training pairs (\(long) longer than --max-length); check the file or raise --max-length"
        case .nothingToResume(let path): return "\(path): no checkpoint to resume (missing last/\(Checkpoint.modelFileName)); start a new run with --force instead of --resume"
        case .resumeMismatch(let path, let reason): return "\(path): cannot resume: \(reason)"
        case .outputExists(let path): return "\(path): a trained model is already there; use --resume to continue it or choose another --output"
        }
    }
}

/// One validation result (a line of `training-log.jsonl`). Losses are null when
/// there is nothing to measure (no step since the last validation, no dev pairs).
public struct ValidationRecord: Codable, Sendable {
    public var step: Int
    public var epoch: Int
    public var seconds: Double
    public var trainLoss: Double?
    public var devLoss: Double?
    public var devPerplexity: Double?
    public var bleu: Double
    public var chrF: Double
    public var bleuChar: Double?
    public var learningRate: Double
    public var gradientNorm: Double
    public var isBest: Bool
    public var translated: Int
}

/// A training run: corpus → vocabulary → batches → steps, with validation,
/// best/last checkpoints, early stopping, time budget, Ctrl-C and `--resume`.
///
/// Determinism: the data order of epoch e is a function of (seed, e) only, and
/// dropout draws from the trainer's saved RNG, so a resumed run continues with
/// the same batches and the same random numbers as an uninterrupted one.
public final class TrainingSession {
    public let options: TrainingSessionOptions
    let log: (String) -> Void
    let directory: ModelDirectory
    /// Set for a data-parallel run (`--distributed`): this rank's place in the MPI job.
    let distributed: DistributedTraining?

    public init(options: TrainingSessionOptions, distributed: DistributedTraining? = nil,
                log: @escaping (String) -> Void) {
        self.options = options
        self.distributed = distributed
        self.log = log
        self.directory = ModelDirectory(path: options.outputPath)
    }

    struct Example {
        var source: [Int32]
        var target: [Int32]
    }

    /// Runs training; returns why it stopped.
    public func run() throws -> TrainingOutcome {
        let started = monotonicSeconds()
        ComputeThreads.configure(options.threads)
        try prepareOutput()
        let data = try readData()
        let savedSession = try checkResumedData(data)
        let (vocabulary, manifest, writeNewModelFiles) = try prepareVocabulary(data)
        let sourceTokenizer = try vocabulary.tokenizer(for: manifest.sourceSide)
        let targetTokenizer = try vocabulary.tokenizer(for: manifest.targetSide)
        let encoded = try encode(data, source: sourceTokenizer, target: targetTokenizer,
                                 sourceOrderReversed: manifest.sourceOrderReversed)
        if writesFiles {
            try writeNewModelFiles()
            try writeShortlist(encoded, vocabulary: vocabulary, manifest: manifest)
        }
        guard let made = try makeTrainer(data: data, savedSession: savedSession, vocabulary: vocabulary,
                                         manifest: manifest) else { return .stepLimit }
        let trainer = made.trainer
        var state = made.state
        distributed?.attach(to: trainer)
        state.trainingData = data.trainingData
        state.devData = data.devData
        state.syntheticData = data.syntheticData
        logModel(trainer, encoded)
        let runLog = writesFiles ? try TrainingRunLog.begin(in: directory, options: options, trainingPairs: encoded.examples.count,
                                                            devPairs: data.devPairs, skippedPairs: encoded.skipped,
                                                            step: trainer.step) : nil
        let translator = Translator(model: trainer.model, sourceTokenizer: sourceTokenizer, targetTokenizer: targetTokenizer)
        translator.options.greedy = true
        Interrupt.installCooperative()
        func dropout(seed: UInt64) -> SubwordDropout? {
            options.subwordDropout > 0
                ? SubwordDropout(probability: options.subwordDropout, source: sourceTokenizer, target: targetTokenizer,
                                 sourceOrderReversed: manifest.sourceOrderReversed, maxLength: options.maxLength, seed: seed)
                : nil
        }
        let task = TranslationTrainingTask(session: self, trainer: trainer, state: state, data: encoded, translator: translator,
                                           vocabulary: vocabulary, manifest: manifest, runLog: runLog,
                                           subwordDropout: dropout(seed: options.seed),
                                           synthetic: synthetic(encoded), syntheticDropout: dropout(seed: options.seed &+ 0x5EED_5))
        let schedule = TrainingLoop<TranslationTrainingTask>.Schedule(
            epochs: options.epochs, timeBudget: options.timeBudget, maxSteps: options.maxSteps,
            validateEvery: options.validateEvery, validatesAtEveryEpochEnd: true, savesAtEndWhenValidated: false,
            resumed: options.resume)
        let outcome = TrainingOutcome(try TrainingLoop(task: task, schedule: schedule, started: started, log: log).run())
        log("\(outcome.rawValue) after \(trainer.step) steps, \(formatDuration(monotonicSeconds() - started)); "
            + String(format: "best dev chrF %.2f", task.state.bestChrF) + " -> \(directory.bestCheckpoint)")
        return outcome
    }

    /// Learns the vocabulary shortlist from the training pairs (a new run replaces an earlier
    /// run's; a resumed run keeps its own).
    private func writeShortlist(_ encoded: EncodedCorpus, vocabulary: VocabularyPair, manifest: ModelManifest) throws {
        if options.resume && directory.hasShortlist { return }
        guard let settings = options.shortlist else {
            if !options.resume { try? FileManager.default.removeItem(atPath: directory.shortlistPath) }
            return
        }
        let tags = directory.vocabularyTags(manifest)
        let shortlist = try VocabularyShortlist.learn(
            pairs: encoded.examples.map { ($0.source, $0.target) },
            sourceVocabularySize: vocabulary.size(of: manifest.sourceSide),
            targetVocabularySize: vocabulary.size(of: manifest.targetSide), settings: settings,
            sourceVocabulary: tags.source, targetVocabulary: tags.target)
        try shortlist.write(to: directory.shortlistPath)
        log("wrote \(directory.shortlistPath): \(shortlist.frequent.count) frequent target tokens + "
            + "\(settings.candidateCount) candidates per source token (translate and serve use it; --no-shortlist to not write one)")
    }

    /// Only rank 0 of a distributed run checks, recovers or writes the output folder.
    var writesFiles: Bool { distributed?.isRoot ?? true }

    /// Checks (and recovers) the output folder; a resumed run needs `last/`.
    private func prepareOutput() throws {
        if writesFiles {
            for note in try directory.prepareForTraining(resume: options.resume, force: options.force) { log(note) }
        }
        if options.resume,
           !FileManager.default.fileExists(atPath: directory.lastCheckpoint + "/" + Checkpoint.modelFileName) {
            throw TrainingError.nothingToResume(path: directory.path)
        }
    }

    /// The corpus of a run, split into training and dev pairs (source, target in training direction).
    struct CorpusData {
        var corpusPairs: [SentencePair]
        var trainPairs: [(String, String)]
        var devPairs: [(String, String)] = []
        var trainingData: DataIdentity
        var devData: DataIdentity?
        /// `--synthetic` pairs (source, target in training direction), never held out for dev.
        var syntheticPairs: [(String, String)] = []
        var syntheticCorpusPairs: [SentencePair] = []
        var syntheticData: DataIdentity?
    }

    /// Corpus and dev split. Each file is read once (it may be a pipe).
    private func readData() throws -> CorpusData {
        let corpusBytes = try TSVCorpus.readBytes(path: options.trainPath)
        let corpus = try TSVCorpus.parse(corpusBytes, file: options.trainPath, strict: options.strict)
        if !corpus.skipped.isEmpty { log("warning: \(corpus.skipped)") }
        var data = CorpusData(corpusPairs: corpus.pairs,
                              trainPairs: corpus.pairs.map { options.reverse ? ($0.target, $0.source) : ($0.source, $0.target) },
                              trainingData: DataIdentity(path: options.trainPath, bytes: corpusBytes))
        if let devPath = options.devPath {
            let devBytes = try TSVCorpus.readBytes(path: devPath)
            data.devData = DataIdentity(path: devPath, bytes: devBytes)
            let dev = try TSVCorpus.parse(devBytes, file: devPath, strict: options.strict)
            if !dev.skipped.isEmpty { log("warning: \(dev.skipped)") }
            data.devPairs = dev.pairs.map { options.reverse ? ($0.target, $0.source) : ($0.source, $0.target) }
        } else if data.trainPairs.count >= 2 {
            var random = RandomGenerator(seed: options.seed &+ 0x00D5_EED0)
            var order = Array(data.trainPairs.indices)
            order.shuffle(using: &random)
            let devCount = max(1, Int(Double(data.trainPairs.count) * options.devFraction))
            let held = Set(order.prefix(devCount))
            data.devPairs = order.prefix(devCount).sorted().map { data.trainPairs[$0] }
            data.trainPairs = data.trainPairs.indices.filter { !held.contains($0) }.map { data.trainPairs[$0] }
            log("held out \(devCount) of \(corpus.pairs.count) pairs (\(Int(options.devFraction * 100))%) as dev set")
        }
        try readSynthetic(into: &data)
        return data
    }

    /// The `--synthetic` pairs, in the training file's column order.
    private func readSynthetic(into data: inout CorpusData) throws {
        guard let path = options.synthetic?.path else { return }
        let bytes = try TSVCorpus.readBytes(path: path)
        data.syntheticData = DataIdentity(path: path, bytes: bytes)
        let synthetic = try TSVCorpus.parse(bytes, file: path, strict: options.strict)
        if !synthetic.skipped.isEmpty { log("warning: \(synthetic.skipped)") }
        data.syntheticCorpusPairs = synthetic.pairs
        data.syntheticPairs = synthetic.pairs.map { options.reverse ? ($0.target, $0.source) : ($0.source, $0.target) }
    }

    /// A resumed run must continue on the data it started with: its saved session state.
    private func checkResumedData(_ data: CorpusData) throws -> SessionState? {
        guard options.resume else { return nil }
        let session = try SessionState.load(from: directory.sessionPath)
        for warning in try session.checkData(training: data.trainingData, dev: data.devData, synthetic: data.syntheticData,
                                             allowChange: options.allowDataChange, folder: directory.lastCheckpoint) {
            log("warning: \(warning)")
        }
        return session
    }

    /// Vocabulary (kept in column order of the corpus) and manifest; a new model's files are
    /// written only once the data turned out usable (the returned closure).
    private func prepareVocabulary(_ data: CorpusData) throws -> (VocabularyPair, ModelManifest, () throws -> Void) {
        if options.resume {
            let manifest = try directory.readManifest()
            let vocabulary = try VocabularyPair.load(from: directory.vocabularyPrefix)
            guard manifest.reverse == options.reverse else {
                throw TrainingError.resumeMismatch(path: directory.path,
                                                   reason: "the model was trained \(manifest.reverse ? "with" : "without") --reverse")
            }
            return (vocabulary, manifest, {})
        }
        let vocabulary = try newVocabulary(data.trainPairs)
        let manifest = ModelManifest(reverse: options.reverse,
                                     sourceLanguage: guessLanguage(data.trainPairs.prefix(2000).map(\.0)),
                                     targetLanguage: guessLanguage(data.trainPairs.prefix(2000).map(\.1)),
                                     vocabularyIdentity: vocabulary.identity,
                                     sourceOrderReversed: options.reverseSourceOrder,
                                     architecture: options.architecture)
        // Refuse a configuration the machine cannot hold before anything is written.
        try trainingMemory(configuration: freshConfiguration(vocabulary: vocabulary, manifest: manifest),
                           pairs: data.corpusPairs + data.syntheticCorpusPairs).require(for: "training this model", advice: memoryAdvice)
        return (vocabulary, manifest, { [directory] in
            try Folder.create(directory.path)
            try vocabulary.save(to: directory.vocabularyPrefix)
            try directory.writeManifest(manifest)
        })
    }

    /// The vocabulary of a new run: `--vocab`, or learned from the training pairs.
    private func newVocabulary(_ trainPairs: [(String, String)]) throws -> VocabularyPair {
        if let prefix = options.vocabularyPrefix {
            let vocabulary = try VocabularyPair.load(from: prefix)
            log("vocabulary \(prefix): \(vocabulary.size(of: .source))/\(vocabulary.size(of: .target)) tokens")
            return vocabulary
        }
        let t0 = monotonicSeconds()
        let columnOrder = trainPairs.map { options.reverse ? (source: $0.1, target: $0.0) : (source: $0.0, target: $0.1) }
        var vocabularyOptions = options.vocabulary
        if options.automaticVocabularySize {
            let words = trainPairs.reduce(0) { $0 + wordCount($1.0) + wordCount($1.1) } / 2
            vocabularyOptions.size = VocabularyOptions.automaticSize(wordsPerSide: words)
            log("vocabulary size \(vocabularyOptions.size) chosen for \(words) words per side (set --vocab-size to override)")
        }
        let vocabulary = try VocabularyPair.learn(pairs: columnOrder, options: vocabularyOptions)
        log(String(format: "learned vocabularies in %.1f s: source %d, target %d tokens",
                   monotonicSeconds() - t0, vocabulary.size(of: .source), vocabulary.size(of: .target)))
        return vocabulary
    }

    /// Token ids of the training and dev pairs.
    struct EncodedCorpus {
        var examples: [Example] = []
        var devExamples: [Example] = []
        var devReferences: [String] = []
        /// The text of each training example (kept only for `--subword-dropout`).
        var texts: [(source: String, target: String)] = []
        /// Training pairs skipped: too long, or empty once normalized.
        var skipped = 0
        /// The `--synthetic` pairs (sources tagged unless told otherwise) and, for
        /// `--subword-dropout`, their texts.
        var syntheticExamples: [Example] = []
        var syntheticTexts: [(source: String, target: String)] = []
    }

    /// Token ids; over-long training pairs are skipped and counted, dev pairs cut to `--max-length`.
    private func encode(_ data: CorpusData, source: Tokenizer, target: Tokenizer,
                        sourceOrderReversed reversed: Bool) throws -> EncodedCorpus {
        var encoded = EncodedCorpus()
        encoded.examples.reserveCapacity(data.trainPairs.count)
        var tooLong = 0, empty = 0
        /// Source ids in encoder order, cut to `limit` tokens (the beginning is kept).
        func encodeSource(_ text: String, limit: Int = .max) -> [Int32] {
            let ids = source.encode(text).prefix(limit)
            return reversed ? ids.reversed() : Array(ids)
        }
        for (sourceText, targetText) in data.trainPairs {
            let s = encodeSource(sourceText), t = target.encode(targetText)
            if s.isEmpty || t.isEmpty { empty += 1; continue }
            if s.count > options.maxLength || t.count > options.maxLength { tooLong += 1; continue }
            encoded.examples.append(Example(source: s, target: t))
            if options.subwordDropout > 0 { encoded.texts.append((sourceText, targetText)) }
        }
        if tooLong + empty > 0 {
            log("skipped \(tooLong) pairs longer than --max-length \(options.maxLength) tokens"
                + (empty > 0 ? " and \(empty) that normalize to nothing" : ""))
        }
        guard !encoded.examples.isEmpty else { throw TrainingError.noTrainingPairs(file: options.trainPath, skippedTooLong: tooLong) }
        encoded.skipped = tooLong + empty
        encoded.devExamples = data.devPairs.map { Example(source: encodeSource($0.0, limit: options.maxLength),
                                                          target: Array(target.encode($0.1).prefix(options.maxLength))) }
        encoded.devReferences = data.devPairs.map(\.1)
        encodeSynthetic(data.syntheticPairs, into: &encoded, source: source, target: target, sourceOrderReversed: reversed)
        return encoded
    }

    /// Token ids of the `--synthetic` pairs (tagged sources); over-long and empty ones are skipped and counted.
    private func encodeSynthetic(_ pairs: [(String, String)], into encoded: inout EncodedCorpus, source: Tokenizer,
                                 target: Tokenizer, sourceOrderReversed reversed: Bool) {
        guard let settings = options.synthetic else { return }
        var skipped = 0
        for (sourceText, targetText) in pairs {
            var s = source.encode(sourceText)
            let t = target.encode(targetText)
            if s.isEmpty || t.isEmpty { skipped += 1; continue }
            if reversed { s.reverse() }
            if settings.tagged { s = SyntheticPairs.tagged(s, sourceOrderReversed: reversed) }
            if s.count > options.maxLength || t.count > options.maxLength { skipped += 1; continue }
            encoded.syntheticExamples.append(Example(source: s, target: t))
            if options.subwordDropout > 0 { encoded.syntheticTexts.append((sourceText, targetText)) }
        }
        log("synthetic: \(encoded.syntheticExamples.count) pairs from \(settings.path)\(settings.tagged ? ", sources tagged" : "")"
            + (skipped > 0 ? "; skipped \(skipped) empty or longer than --max-length \(options.maxLength)" : ""))
    }

    /// The run's synthetic pairs and their share per epoch (nil without `--synthetic`).
    private func synthetic(_ encoded: EncodedCorpus) -> SyntheticPairs? {
        guard let settings = options.synthetic, !encoded.syntheticExamples.isEmpty else { return nil }
        let mix = SyntheticPairs(settings: settings, examples: encoded.syntheticExamples, texts: encoded.syntheticTexts,
                                 seed: options.seed)
        log("synthetic: \(mix.countPerEpoch(realCount: encoded.examples.count)) of them per epoch beside "
            + "\(encoded.examples.count) real pairs (--synthetic-ratio \(settings.ratio))")
        return mix
    }

    /// Model and trainer, fresh or resumed; nil when a resumed run is already at `--max-steps`.
    private func makeTrainer(data: CorpusData, savedSession: SessionState?, vocabulary: VocabularyPair,
                             manifest: ModelManifest) throws -> (trainer: Trainer, state: SessionState)? {
        var trainingOptions = TrainingOptions()
        trainingOptions.learningRate = options.learningRate
        trainingOptions.maxGradientNorm = options.clip
        trainingOptions.labelSmoothing = options.labelSmoothing
        trainingOptions.wordDropout = options.wordDropout
        trainingOptions.warmupSteps = options.warmupSteps
        guard options.resume, let saved = savedSession else {
            let configuration = freshConfiguration(vocabulary: vocabulary, manifest: manifest)
            try configuration.validate()
            try configuration.checkSizeLimits()
            let model = try Seq2SeqModel(configuration: configuration, seed: options.seed)
            if writesFiles { try? FileManager.default.removeItem(atPath: directory.logPath) }
            return (Trainer(model: model, options: trainingOptions, seed: options.seed &+ 1), SessionState.fresh)
        }
        let checkpoint = try Checkpoint.load(from: directory.lastCheckpoint, loadOptimizer: true)
        try directory.checkArchitecture(checkpoint.metadata.configuration, manifest: manifest)
        try directory.checkVocabulary(checkpoint.metadata, vocabulary: vocabulary, manifest: manifest)
        try saved.check(against: checkpoint, folder: directory.lastCheckpoint)
        try trainingMemory(configuration: checkpoint.metadata.configuration, pairs: data.corpusPairs + data.syntheticCorpusPairs)
            .require(for: "continuing this model", advice: "lower --batch-size or --max-length")
        let trainer = Trainer(resuming: checkpoint, options: trainingOptions)
        log("resuming at step \(trainer.step), epoch \(saved.epoch + 1), batch \(saved.batchIndex)")
        if let maxSteps = options.maxSteps, trainer.step >= maxSteps {
            log("the run is already at step \(trainer.step) ≥ --max-steps \(maxSteps): nothing to do; raise --max-steps to train on")
            return nil
        }
        return (trainer, saved)
    }

    private func logModel(_ trainer: Trainer, _ encoded: EncodedCorpus) {
        let configuration = trainer.model.configuration
        log("model: \(configuration.architectureSummary); embedding \(configuration.embeddingSize), hidden \(configuration.hiddenSize), "
            + "layers \(configuration.layerCount), vocabularies \(configuration.sourceVocabularySize)/"
            + "\(configuration.targetVocabularySize), \(trainer.model.parameters.count) parameters; "
            + "\(encoded.examples.count) training pairs, \(encoded.devExamples.count) dev pairs; \(options.threads) threads")
    }

    /// Batches of epoch `epoch` as lists of example indices. The order depends
    /// only on (seed, epoch): examples are shuffled, sorted by length inside
    /// chunks of 50 batches (little padding work), cut into batches of
    /// `batchSize` sentences or `batchTokens` target tokens, and the batches shuffled.
    func epochBatches(_ examples: [Example], epoch: Int) -> [[Int]] {
        var random = RandomGenerator(seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch + 1))
        var order = Array(examples.indices)
        order.shuffle(using: &random)
        // A distributed run walks the same global batches (per-rank size × ranks) as one process would.
        let ranks = distributed?.size ?? 1
        let batchSize = options.batchSize * ranks, batchTokens = options.batchTokens.map { $0 * ranks }
        let chunkSize = max(1, batchSize * 50)
        var batches: [[Int]] = []
        var start = 0
        while start < order.count {
            let chunk = order[start..<min(start + chunkSize, order.count)].sorted {
                let a = examples[$0], b = examples[$1]
                return (a.source.count, a.target.count, $0) < (b.source.count, b.target.count, $1)
            }
            var current: [Int] = []
            var tokens = 0
            for index in chunk {
                let length = examples[index].target.count + 1
                let full: Bool
                if let limit = batchTokens {
                    full = !current.isEmpty && tokens + length > limit
                } else {
                    full = current.count >= batchSize
                }
                if full { batches.append(current); current = []; tokens = 0 }
                current.append(index)
                tokens += length
            }
            if !current.isEmpty { batches.append(current) }
            start += chunkSize
        }
        batches.shuffle(using: &random)
        return batches
    }

    func validation(trainer: Trainer, translator: Translator, dev: [Example], references: [String],
                    targetLanguage: String, state: inout SessionState, trainLoss: Double?,
                    gradientNorm: Float, seconds: Double) throws -> ValidationRecord {
        var devLoss = Double.nan
        var bleu = 0.0, chrF = 0.0
        var bleuChar: Double? = nil
        var translated = 0
        if !dev.isEmpty {
            // Dev loss over all dev pairs, in sorted batches.
            let order = dev.indices.sorted { dev[$0].source.count < dev[$1].source.count }
            var sum = 0.0, tokens = 0
            var start = 0
            while start < order.count {
                let chosen = order[start..<min(start + 64, order.count)].map { dev[$0] }
                    .filter { !$0.source.isEmpty && !$0.target.isEmpty }
                start += 64
                if chosen.isEmpty { continue }
                let result = try trainer.evaluate(try Batch(sources: chosen.map(\.source), targets: chosen.map(\.target)))
                sum += result.lossSum
                tokens += result.tokenCount
            }
            if tokens > 0 { devLoss = sum / Double(tokens) }
            // Greedy translations of the first `devTranslateLimit` dev sentences.
            let count = min(dev.count, options.devTranslateLimit)
            let translateOrder = (0..<count).sorted { dev[$0].source.count > dev[$1].source.count }
            var hypotheses = [String](repeating: "", count: count)
            start = 0
            while start < translateOrder.count {
                let indices = Array(translateOrder[start..<min(start + 64, translateOrder.count)])
                let lists = try translator.decode(sources: indices.map { dev[$0].source })
                for (i, list) in zip(indices, lists) { hypotheses[i] = translator.targetTokenizer.decode(list[0].tokens) }
                start += 64
            }
            let refs = Array(references.prefix(count))
            bleu = try BLEU().corpusScore(hypotheses: hypotheses, references: refs).score
            chrF = try ChrF().corpusScore(hypotheses: hypotheses, references: refs).score
            if targetLanguage == "ko" {
                bleuChar = try BLEU(tokenizer: .char).corpusScore(hypotheses: hypotheses, references: refs).score
            }
            translated = count
        }
        let isBest = chrF > state.bestChrF
        state.progress.recordValidation(improved: isBest, step: trainer.step)
        if isBest {
            state.bestChrF = chrF
        } else if options.plateauDecay < 1 {
            trainer.learningRateScale *= options.plateauDecay
        }
        func finite(_ value: Double?) -> Double? { value.flatMap { $0.isFinite ? $0 : nil } }
        return ValidationRecord(step: trainer.step, epoch: state.epoch, seconds: seconds, trainLoss: finite(trainLoss),
                                devLoss: finite(devLoss), devPerplexity: finite(exp(devLoss)), bleu: bleu, chrF: chrF,
                                bleuChar: bleuChar, learningRate: Double(trainer.nextLearningRate),
                                gradientNorm: Double(gradientNorm), isBest: isBest, translated: translated)
    }
}

/// Whitespace-separated words in `text` (for sizing a vocabulary).
private func wordCount(_ text: String) -> Int {
    var count = 0, inWord = false
    for byte in text.utf8 {
        let space = byte == 0x20 || byte == 0x09
        if !space && !inWord { count += 1 }
        inWord = !space
    }
    return count
}
