import Foundation
import Tokenize

/// Everything `seq2seq train` can be told.
public struct TrainingSessionOptions: Sendable {
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
    public var embeddingSize = 256
    public var hiddenSize = 256
    public var layerCount = 1
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
    public var dropout: Float = 0.3
    /// Sentences per batch (used when `batchTokens` is nil).
    public var batchSize = 64
    /// Target tokens per batch instead of a fixed sentence count.
    public var batchTokens: Int?
    /// Pairs with a side longer than this many subword tokens are skipped.
    public var maxLength = 80
    public var epochs = 50
    /// Wall-clock limit in seconds for this run (nil: none).
    public var timeBudget: Double?
    /// Stop once the optimizer has taken this many steps in total (nil: none).
    public var maxSteps: Int?
    public var learningRate: Float = 2e-3
    /// Global-norm clipping threshold (nil: no clipping).
    public var clip: Float? = 1.0
    public var labelSmoothing: Float = 0.1
    public var seed: UInt64 = 1
    public var threads = 2
    public var outputPath = "model"
    public var resume = false
    /// Replace what an earlier run left in `outputPath` (otherwise a non-empty folder is refused).
    public var force = false
    /// `--resume` on a training or dev file other than the one the run started with.
    public var allowDataChange = false
    /// Validate every this many steps (0: only at epoch ends).
    public var validateEvery = 500
    /// Stop after this many validations without a better dev chrF, spanning at
    /// least `patience × validateEvery` steps (so that the frequent epoch-end
    /// validations of a small corpus don't stop it early on dev-set noise).
    public var patience = 10
    /// Hold-out fraction when no dev file is given.
    public var devFraction = 0.02
    /// Dev sentences translated (greedily) for BLEU/chrF at each validation.
    public var devTranslateLimit = 1000
    /// The command line that started this run, recorded in `run.json` for `seq2seq report`.
    public var commandLine: [String] = []

    public init(trainPath: String) { self.trainPath = trainPath }
}

/// Why training stopped.
public enum TrainingOutcome: String, Sendable {
    case finishedEpochs = "finished all epochs"
    case timeBudget = "time budget reached"
    case stepLimit = "step limit reached"
    case earlyStopping = "early stopping (no dev chrF improvement)"
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
        case .noTrainingPairs(let file, let long):
            return "\(file): no usable training pairs (\(long) longer than --max-length); check the file or raise --max-length"
        case .nothingToResume(let path):
            return "\(path): no checkpoint to resume (missing last/\(Checkpoint.modelFileName)); start a new run with --force instead of --resume"
        case .resumeMismatch(let path, let reason):
            return "\(path): cannot resume: \(reason)"
        case .outputExists(let path):
            return "\(path): a trained model is already there; use --resume to continue it or choose another --output"
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
        let fileManager = FileManager.default
        // Only rank 0 of a distributed run checks, recovers or writes the output folder.
        let writesFiles = distributed?.isRoot ?? true
        if writesFiles {
            for note in try directory.prepareForTraining(resume: options.resume, force: options.force) { log(note) }
        }
        if options.resume,
           !fileManager.fileExists(atPath: directory.lastCheckpoint + "/" + Checkpoint.modelFileName) {
            throw TrainingError.nothingToResume(path: directory.path)
        }

        // Corpus and dev split. Each file is read once (it may be a pipe).
        let corpusBytes = try TSVCorpus.readBytes(path: options.trainPath)
        let trainingData = DataIdentity(path: options.trainPath, bytes: corpusBytes)
        let corpus = try TSVCorpus.parse(corpusBytes, file: options.trainPath, strict: options.strict)
        if !corpus.skipped.isEmpty { log("warning: \(corpus.skipped)") }
        var trainPairs = corpus.pairs.map { options.reverse ? ($0.target, $0.source) : ($0.source, $0.target) }
        var devPairs: [(String, String)] = []
        var devData: DataIdentity?
        if let devPath = options.devPath {
            let devBytes = try TSVCorpus.readBytes(path: devPath)
            devData = DataIdentity(path: devPath, bytes: devBytes)
            let dev = try TSVCorpus.parse(devBytes, file: devPath, strict: options.strict)
            if !dev.skipped.isEmpty { log("warning: \(dev.skipped)") }
            devPairs = dev.pairs.map { options.reverse ? ($0.target, $0.source) : ($0.source, $0.target) }
        } else if trainPairs.count >= 2 {
            var random = RandomGenerator(seed: options.seed &+ 0x00D5_EED0)
            var order = Array(trainPairs.indices)
            order.shuffle(using: &random)
            let devCount = max(1, Int(Double(trainPairs.count) * options.devFraction))
            let held = Set(order.prefix(devCount))
            devPairs = order.prefix(devCount).sorted().map { trainPairs[$0] }
            trainPairs = trainPairs.indices.filter { !held.contains($0) }.map { trainPairs[$0] }
            log("held out \(devCount) of \(corpus.pairs.count) pairs (\(Int(options.devFraction * 100))%) as dev set")
        }

        // A resumed run must continue on the data it started with.
        var savedSession: SessionState?
        if options.resume {
            let session = try SessionState.load(from: directory.sessionPath)
            for warning in try session.checkData(training: trainingData, dev: devData, allowChange: options.allowDataChange,
                                                 folder: directory.lastCheckpoint) {
                log("warning: \(warning)")
            }
            savedSession = session
        }

        // Vocabulary (kept in column order of the corpus) and manifest; a new model's files are
        // written only once the data turned out usable (`writeNewModelFiles`).
        let vocabulary: VocabularyPair
        var manifest: ModelManifest
        var writeNewModelFiles: () throws -> Void = {}
        if options.resume {
            manifest = try directory.readManifest()
            vocabulary = try VocabularyPair.load(from: directory.vocabularyPrefix)
            guard manifest.reverse == options.reverse else {
                throw TrainingError.resumeMismatch(path: directory.path,
                                                   reason: "the model was trained \(manifest.reverse ? "with" : "without") --reverse")
            }
        } else {
            if let prefix = options.vocabularyPrefix {
                vocabulary = try VocabularyPair.load(from: prefix)
                log("vocabulary \(prefix): \(vocabulary.size(of: .source))/\(vocabulary.size(of: .target)) tokens")
            } else {
                let t0 = monotonicSeconds()
                let columnOrder = trainPairs.map { options.reverse ? (source: $0.1, target: $0.0) : (source: $0.0, target: $0.1) }
                var vocabularyOptions = options.vocabulary
                if options.automaticVocabularySize {
                    let words = trainPairs.reduce(0) { $0 + wordCount($1.0) + wordCount($1.1) } / 2
                    vocabularyOptions.size = VocabularyOptions.automaticSize(wordsPerSide: words)
                    log("vocabulary size \(vocabularyOptions.size) chosen for \(words) words per side (set --vocab-size to override)")
                }
                vocabulary = try VocabularyPair.learn(pairs: columnOrder, options: vocabularyOptions)
                log(String(format: "learned vocabularies in %.1f s: source %d, target %d tokens",
                           monotonicSeconds() - t0, vocabulary.size(of: .source), vocabulary.size(of: .target)))
            }
            manifest = ModelManifest(reverse: options.reverse,
                                     sourceLanguage: guessLanguage(trainPairs.prefix(2000).map(\.0)),
                                     targetLanguage: guessLanguage(trainPairs.prefix(2000).map(\.1)),
                                     vocabularyIdentity: vocabulary.identity,
                                     sourceOrderReversed: options.reverseSourceOrder,
                                     architecture: options.architecture)
            // Refuse a configuration the machine cannot hold before anything is written.
            try trainingMemory(configuration: freshConfiguration(vocabulary: vocabulary, manifest: manifest),
                               pairs: corpus.pairs).require(for: "training this model", advice: memoryAdvice)
            writeNewModelFiles = { [directory, manifest] in
                try Folder.create(directory.path)
                try vocabulary.save(to: directory.vocabularyPrefix)
                try directory.writeManifest(manifest)
            }
        }
        let sourceTokenizer = try vocabulary.tokenizer(for: manifest.sourceSide)
        let targetTokenizer = try vocabulary.tokenizer(for: manifest.targetSide)
        let sourceTag = ModelDirectory.vocabularyTag(vocabulary.identity, side: manifest.sourceSide)
        let targetTag = ModelDirectory.vocabularyTag(vocabulary.identity, side: manifest.targetSide)

        // Token ids; over-long pairs are skipped and counted.
        var examples: [Example] = []
        examples.reserveCapacity(trainPairs.count)
        var tooLong = 0, empty = 0
        let reversed = manifest.sourceOrderReversed
        /// Source ids in encoder order, cut to `limit` tokens (the beginning is kept).
        func encodeSource(_ text: String, limit: Int = .max) -> [Int32] {
            let ids = sourceTokenizer.encode(text).prefix(limit)
            return reversed ? ids.reversed() : Array(ids)
        }
        for (source, target) in trainPairs {
            let s = encodeSource(source), t = targetTokenizer.encode(target)
            if s.isEmpty || t.isEmpty { empty += 1; continue }
            if s.count > options.maxLength || t.count > options.maxLength { tooLong += 1; continue }
            examples.append(Example(source: s, target: t))
        }
        if tooLong + empty > 0 {
            log("skipped \(tooLong) pairs longer than --max-length \(options.maxLength) tokens"
                + (empty > 0 ? " and \(empty) that normalize to nothing" : ""))
        }
        guard !examples.isEmpty else { throw TrainingError.noTrainingPairs(file: options.trainPath, skippedTooLong: tooLong) }
        if writesFiles { try writeNewModelFiles() }
        let devExamples = devPairs.map { Example(source: encodeSource($0.0, limit: options.maxLength),
                                                 target: Array(targetTokenizer.encode($0.1).prefix(options.maxLength))) }
        let devReferences = devPairs.map(\.1)

        // Model and trainer (fresh or resumed).
        var trainingOptions = TrainingOptions()
        trainingOptions.learningRate = options.learningRate
        trainingOptions.maxGradientNorm = options.clip
        trainingOptions.labelSmoothing = options.labelSmoothing
        trainingOptions.wordDropout = options.wordDropout
        trainingOptions.warmupSteps = options.warmupSteps
        let trainer: Trainer
        var state: SessionState
        if options.resume, let saved = savedSession {
            let checkpoint = try Checkpoint.load(from: directory.lastCheckpoint, loadOptimizer: true)
            try directory.checkArchitecture(checkpoint.metadata.configuration, manifest: manifest)
            try directory.checkVocabulary(checkpoint.metadata, vocabulary: vocabulary, manifest: manifest)
            try saved.check(against: checkpoint, folder: directory.lastCheckpoint)
            try trainingMemory(configuration: checkpoint.metadata.configuration, pairs: corpus.pairs)
                .require(for: "continuing this model", advice: "lower --batch-size or --max-length")
            trainer = Trainer(resuming: checkpoint, options: trainingOptions)
            state = saved
            log("resuming at step \(trainer.step), epoch \(state.epoch + 1), batch \(state.batchIndex)")
            if let maxSteps = options.maxSteps, trainer.step >= maxSteps {
                log("the run is already at step \(trainer.step) ≥ --max-steps \(maxSteps): nothing to do; raise --max-steps to train on")
                return .stepLimit
            }
        } else {
            let configuration = freshConfiguration(vocabulary: vocabulary, manifest: manifest)
            try configuration.validate()
            try configuration.checkSizeLimits()
            let model = try Seq2SeqModel(configuration: configuration, seed: options.seed)
            trainer = Trainer(model: model, options: trainingOptions, seed: options.seed &+ 1)
            state = SessionState.fresh
            if writesFiles { try? fileManager.removeItem(atPath: directory.logPath) }
        }
        distributed?.attach(to: trainer)
        state.trainingData = trainingData
        state.devData = devData
        let configuration = trainer.model.configuration
        log("model: \(configuration.architectureSummary); embedding \(configuration.embeddingSize), hidden \(configuration.hiddenSize), "
            + "layers \(configuration.layerCount), vocabularies \(configuration.sourceVocabularySize)/"
            + "\(configuration.targetVocabularySize), \(trainer.model.parameters.count) parameters; "
            + "\(examples.count) training pairs, \(devExamples.count) dev pairs; \(options.threads) threads")
        let runLog = writesFiles ? try TrainingRunLog.begin(in: directory, options: options, trainingPairs: examples.count,
                                                            devPairs: devPairs, skippedPairs: tooLong + empty,
                                                            step: trainer.step) : nil

        let translator = Translator(model: trainer.model, sourceTokenizer: sourceTokenizer,
                                    targetTokenizer: targetTokenizer)
        translator.options.greedy = true
        Interrupt.installCooperative()
        var lastSavedStep: Int? = options.resume ? trainer.step : nil

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Statistics since the last validation.
        var lossSum = 0.0, tokenSum = 0, lastNorm: Float = 0
        func saveLast() throws {
            guard writesFiles else { return }
            state.step = trainer.step
            try Interrupt.deferred {
                try CheckpointGenerations.replace(directory.lastCheckpoint) { folder in
                    try trainer.saveCheckpoint(to: folder, sourceVocabulary: sourceTag,
                                               targetVocabulary: targetTag, epoch: state.epoch, dataPosition: state.batchIndex)
                    try AtomicFile.write(try encoder.encode(state), to: folder + "/session.json")
                }
            }
            lastSavedStep = trainer.step
            try runLog?.save(step: trainer.step)
        }
        func validate() throws {
            guard writesFiles else { return }
            let record = try validation(trainer: trainer, translator: translator, dev: devExamples,
                                        references: devReferences, targetLanguage: manifest.targetLanguage,
                                        state: &state, trainLoss: tokenSum > 0 ? lossSum / Double(tokenSum) : nil,
                                        gradientNorm: lastNorm, seconds: monotonicSeconds() - started)
            lossSum = 0; tokenSum = 0
            if record.isBest {
                try Interrupt.deferred {
                    try Checkpoint.save(to: directory.bestCheckpoint, model: trainer.model,
                                        sourceVocabulary: sourceTag, targetVocabulary: targetTag,
                                        trainingState: trainer.trainingState(epoch: state.epoch, dataPosition: state.batchIndex))
                }
            }
            if options.keepCheckpoints > 0 {
                try directory.keepCheckpoint(of: trainer.model, step: trainer.step, keeping: options.keepCheckpoints,
                                             sourceVocabulary: sourceTag, targetVocabulary: targetTag)
            }
            try saveLast()
            var logText = (try? String(contentsOfFile: directory.logPath, encoding: .utf8)) ?? ""
            logText += String(decoding: try encoder.encode(record), as: UTF8.self) + "\n"
            try AtomicFile.write(logText, to: directory.logPath)
            var line = String(format: "validation step %d: dev loss %.3f ppl %.2f BLEU %.2f chrF %.2f",
                              record.step, record.devLoss ?? .nan, record.devPerplexity ?? .nan, record.bleu, record.chrF)
            if let charBLEU = record.bleuChar { line += String(format: " BLEU(char) %.2f", charBLEU) }
            log(line + (record.isBest ? " (best, saved)" : String(format: " (best chrF %.2f)", state.bestChrF)))
        }

        var outcome = TrainingOutcome.finishedEpochs
        let budget = options.timeBudget ?? .infinity
        var lastValidatedStep = options.resume ? trainer.step : -1   // a resumed checkpoint needs no new validation
        func shouldStopEarly() throws -> Bool {
            let stop = state.validationsWithoutImprovement >= options.patience
                && trainer.step - state.bestStep >= options.patience * options.validateEvery
            // Rank 0 alone validated: every rank follows its decisions (early stop, plateau decay).
            return try distributed?.followRoot(stopEarly: stop, trainer: trainer) ?? stop
        }
        /// Why to stop before the next step, if at all (agreed by all ranks of a distributed run).
        func stopReason() throws -> TrainingOutcome? {
            var reason: TrainingOutcome?
            if Interrupt.isRequested { reason = .interrupted }
            else if monotonicSeconds() - started >= budget { reason = .timeBudget }
            else if let maxSteps = options.maxSteps, trainer.step >= maxSteps { reason = .stepLimit }
            return try distributed?.agree(on: reason) ?? reason
        }
        training: while state.epoch < options.epochs {
            let batches = epochBatches(examples, epoch: state.epoch)
            let bar = ProgressBar(total: batches.count, label: options.epochs == .max ? "epoch \(state.epoch + 1)"
                                                              : "epoch \(state.epoch + 1)/\(options.epochs)")
            var epochTokens = 0
            let epochStart = monotonicSeconds()
            while state.batchIndex < batches.count {
                if let reason = try stopReason() { outcome = reason; break training }
                let part = distributed?.shard(batches[state.batchIndex]) ?? batches[state.batchIndex][...]
                let chosen = part.map { examples[$0] }
                let batch = chosen.isEmpty ? nil
                    : try Batch(sources: chosen.map(\.source), targets: chosen.map(\.target)).numberingRows(from: part.startIndex)
                let result: TrainingStepResult
                do { result = try trainer.train(on: batch) } catch var divergence as TrainingDivergence {
                    divergence.lastSavedStep = lastSavedStep
                    divergence.folder = directory.path
                    throw divergence
                }
                state.batchIndex += 1
                lossSum += Double(result.loss) * Double(result.tokenCount)
                tokenSum += result.tokenCount
                epochTokens += result.tokenCount
                runLog?.targetTokens += result.tokenCount
                lastNorm = result.gradientNorm
                let now = monotonicSeconds()
                let rate = Double(epochTokens) / max(1e-9, now - epochStart)
                // The bar's ETA is the epoch's; with a budget, also say when training stops.
                let left = budget.isFinite ? " budget left " + formatDuration(max(0, budget - (now - started))) : ""
                bar.update(done: state.batchIndex, fields: String(
                    format: "step %d loss %.3f ppl %.1f gnorm %.2f %.0f tok/s",
                    trainer.step, result.loss, exp(Double(result.loss)), result.gradientNorm, rate) + left)
                if options.validateEvery > 0 && trainer.step % options.validateEvery == 0 {
                    bar.finish()
                    try validate()
                    lastValidatedStep = trainer.step
                    if try shouldStopEarly() { outcome = .earlyStopping; break training }
                }
            }
            bar.finish()
            state.epoch += 1
            state.batchIndex = 0
            if lastValidatedStep != trainer.step {
                try validate()
                lastValidatedStep = trainer.step
                if try shouldStopEarly() { outcome = .earlyStopping; break training }
            }
        }
        if outcome == .interrupted {
            try saveLast()
            log("interrupted: saved a resumable checkpoint at step \(trainer.step) in \(directory.lastCheckpoint)")
        } else if lastValidatedStep != trainer.step {
            try validate()
        }
        log("\(outcome.rawValue) after \(trainer.step) steps, \(formatDuration(monotonicSeconds() - started)); "
            + String(format: "best dev chrF %.2f", state.bestChrF) + " -> \(directory.bestCheckpoint)")
        return outcome
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
        state.validations += 1
        let isBest = chrF > state.bestChrF
        if isBest {
            state.bestChrF = chrF
            state.bestStep = trainer.step
            state.validationsWithoutImprovement = 0
        } else {
            state.validationsWithoutImprovement += 1
            if options.plateauDecay < 1 { trainer.learningRateScale *= options.plateauDecay }
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
