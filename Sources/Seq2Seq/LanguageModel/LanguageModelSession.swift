import Foundation
import Tokenize

/// ln 2: nats per bit.
private let ln2 = Foundation.log(2.0)

/// Everything `seq2seq lm train` can be told: the run settings it shares with a translation
/// model's (`run`, read and written as `options.seed` etc.) and its own.
public struct LanguageModelSessionOptions: TrainingRunSettings, Sendable {
    public var run = TrainingRunControl(embeddingSize: 64, hiddenSize: 512, layerCount: 2, dropout: 0,
                                        validateEvery: 200, patience: 5, outputPath: "lm")
    public var trainPath: String
    /// Dev text (default: a deterministic tail of the training text).
    public var devPath: String?
    public var units = TextUnitKind.char
    /// subword: use this vocabulary (prefix from `seq2seq vocab --output`) instead of learning one.
    public var vocabularyPrefix: String?
    /// subword: tokens of a learned vocabulary.
    public var vocabularySize = 8000
    /// char/jamo: units seen fewer times in the training text become `<unk>`.
    public var minimumCount = 1
    public var cell = CellKind.lstm
    /// T: steps per chunk (truncated BPTT length); nil = 100, or the resumed run's.
    public var chunkLength: Int?
    /// B: parallel streams; nil = `defaultStreams`, or the resumed run's.
    public var streams: Int?
    /// Streams the dev text is read in (each carrying its state).
    public var evaluationStreams = 64

    public static let defaultChunkLength = 100
    /// 32 streams: twice the updates of 64 for the same characters at about the same characters
    /// per second, which matters most on short budgets (python_docs_ko English, 3 minutes on
    /// 2 threads: 1.955 dev bits/char with 32 streams, 2.101 with 64, 1.986 with 16).
    public static let defaultStreams = 32

    public init(trainPath: String) { self.trainPath = trainPath }
}


/// One validation (a line of `training-log.jsonl`). Losses are in nats per unit; bits per
/// character are over the original characters, so char, jamo and subword runs compare.
public struct LanguageModelValidationRecord: Codable, Sendable {
    public var step: Int
    public var epoch: Int
    public var seconds: Double
    /// Mean training loss per unit since the previous validation (nil if no step ran).
    public var trainLoss: Double?
    public var trainBitsPerCharacter: Double?
    public var devLoss: Double
    public var devBitsPerCharacter: Double
    /// exp(devLoss): perplexity per unit.
    public var devPerplexity: Double
    public var devUnits: Int
    public var devCharacters: Int
    public var learningRate: Double
    public var gradientNorm: Double
    /// Training characters per second since the previous validation.
    public var charactersPerSecond: Double?
    public var isBest: Bool
}

/// What a language-model run saves in `last/session.json` besides the loop's `TrainingProgress`
/// (whose batch index is the next chunk), so that `--resume` continues exactly.
struct LanguageModelSessionDetails: Codable {
    var step: Int
    var streams: Int
    var chunkLength: Int
    /// FNV-1a 64 of the training units, so a resume over another text is refused.
    var textIdentity: String
    var bestDevLoss: Double?
}

typealias LanguageModelSessionState = SessionRecord<LanguageModelSessionDetails>

/// A language-model training run: text → units → B streams → chunks, with validation (dev
/// loss, bits per character, perplexity), best/last checkpoints, early stopping, time budget,
/// Ctrl-C and `--resume` — the guarantees of `seq2seq train`.
///
/// Determinism: chunks come in the same order every epoch, states restart from zero at each
/// epoch start, and dropout draws from the trainer's saved generator; `last/` holds the weights,
/// the Adam moments, the generator and the carried stream states, so a resumed run continues
/// bit-exactly as an uninterrupted one (same seed and thread count).
public final class LanguageModelSession {
    public let options: LanguageModelSessionOptions
    let log: (String) -> Void
    let directory: LanguageModelDirectory

    public init(options: LanguageModelSessionOptions, log: @escaping (String) -> Void) {
        self.options = options
        self.log = log
        directory = LanguageModelDirectory(path: options.outputPath)
    }

    /// The training text and the dev text: `--dev`, or the last `devFraction` of the text (cut
    /// after a line break when one is near), or — for a text too short to spare any — the
    /// training text itself.
    static func split(_ text: String, devText: String?, fraction: Double) -> (train: String, dev: String, heldOut: Bool) {
        if let devText { return (text, devText, false) }
        let scalars = Array(text.unicodeScalars)
        let devCount = Int(Double(scalars.count) * fraction)
        guard devCount >= 2 else { return (text, text, false) }
        var cut = scalars.count - devCount
        if let lineBreak = scalars[cut...].firstIndex(of: "\n"), lineBreak - cut < devCount / 2 { cut = lineBreak + 1 }
        var train = String.UnicodeScalarView(), dev = String.UnicodeScalarView()
        train.append(contentsOf: scalars[..<cut])
        dev.append(contentsOf: scalars[cut...])
        return (String(train), String(dev), true)
    }

    /// Runs training; returns why it stopped.
    public func run() throws -> TrainingOutcome {
        let started = monotonicSeconds()
        ComputeThreads.configure(options.threads)
        try checkOutput()
        let data = try prepareData()
        let (trainer, state) = try makeTrainer(data)
        let streams = try TextStreams(units: data.trainUnits, streams: state.streams, chunkLength: state.chunkLength,
                                      path: options.trainPath)
        let carried = RecurrentState(configuration: trainer.model.configuration, rows: state.streams)
        if options.resume { try restoreStreams(into: carried, step: state.step) }
        log("language model: \(trainer.model.configuration.summary), \(data.units.kind.rawValue) units, "
            + "\(trainer.model.parameters.count) parameters; \(data.trainUnits.count) training units "
            + "(\(data.trainCharacters) characters), \(data.devUnits.count) dev units; \(state.streams) streams × bptt "
            + "\(state.chunkLength) = \(streams.chunkCount) chunks per epoch; \(options.threads) threads")
        if options.resume { log("resuming at step \(trainer.step), epoch \(state.epoch + 1), chunk \(state.batchIndex)") }
        let runLog = try LanguageModelRunLog.begin(in: directory, options: options, devTail: data.devTail,
                                                   devCharacters: data.devCharacters + 1, trainingCharacters: data.trainCharacters,
                                                   step: trainer.step, started: started)
        Interrupt.installCooperative()
        let task = LanguageModelTrainingTask(session: self, data: data, trainer: trainer, state: state, streams: streams,
                                             carried: carried, runLog: runLog)
        let schedule = TrainingLoop<LanguageModelTrainingTask>.Schedule(
            epochs: options.epochs, timeBudget: options.timeBudget, maxSteps: options.maxSteps,
            validateEvery: options.validateEvery, validatesAtEveryEpochEnd: false, savesAtEndWhenValidated: true,
            resumed: options.resume)
        let outcome = TrainingOutcome(try TrainingLoop(task: task, schedule: schedule, started: started, log: log).run())
        var best = "no validation"
        if let loss = task.state.bestDevLoss {
            let bits: Double = loss / ln2 * Double(data.devUnits.count - 1) / Double(data.devCharacters)
            best = String(format: "best dev loss %.4f (%.4f bits/char)", loss, bits)
        }
        log("\(outcome.rawValue) after \(trainer.step) steps, \(formatDuration(monotonicSeconds() - started)); \(best) -> \(directory.bestCheckpoint)")
        return outcome
    }

    /// Refuses to overwrite a model (unless `force`, which removes a language model's own files
    /// — never a translation model), or to resume none.
    private func checkOutput() throws {
        let files = FileManager.default
        let hasLast = files.fileExists(atPath: directory.lastCheckpoint + "/" + LanguageModelCheckpoint.modelFileName)
        if options.resume && !hasLast { throw LanguageModelError.nothingToResume(path: directory.path) }
        if files.fileExists(atPath: directory.path + "/model.json") {
            throw LanguageModelError.outputExists(path: directory.path)
        }
        guard !options.resume, hasLast || files.fileExists(atPath: directory.manifestPath) else { return }
        guard options.force else { throw LanguageModelError.outputExists(path: directory.path) }
        for name in ["lm.json", "best", "last", "training-log.jsonl", "run.json"] { try? files.removeItem(atPath: directory.path + "/" + name) }
        let vocabulary = (try? files.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasPrefix("vocab.") } ?? []
        for name in vocabulary { try? files.removeItem(atPath: directory.path + "/" + name) }
    }

    /// The texts of a run as units.
    struct PreparedData {
        let units: any TextUnits
        let manifest: LanguageModelManifest
        let trainUnits: [Int32], devUnits: [Int32]
        let trainCharacters: Int
        /// Characters the predicted dev units spell (all but the first).
        let devCharacters: Int
        /// The end of the dev text, kept in `run.json` for the report.
        let devTail: String
        var unitsPerCharacter: Double { Double(trainUnits.count) / Double(max(trainCharacters, 1)) }
    }

    /// Text, dev text and units (learned for a new run, loaded for a resumed one). A new run's
    /// text too short for one chunk is refused before anything is written; then the units and
    /// `lm.json` are saved.
    private func prepareData() throws -> PreparedData {
        let whole = try LanguageModelText.read(path: options.trainPath)
        let devFile = try options.devPath.map { try LanguageModelText.read(path: $0) }
        let (trainText, devText, heldOut) = Self.split(whole, devText: devFile, fraction: options.devFraction)
        var notes: [String] = []
        let units: any TextUnits
        let manifest: LanguageModelManifest
        if options.resume {
            manifest = try directory.readManifest()
            try checkMemory(manifest.configuration)
            units = try directory.loadUnits(manifest)
        } else {
            units = try makeUnits(trainText, notes: &notes)
            let configuration = LanguageModelConfiguration(
                vocabularySize: units.count, embeddingSize: options.embeddingSize, hiddenSize: options.hiddenSize,
                layerCount: options.layerCount, dropout: options.dropout, cell: options.cell)
            try checkMemory(configuration)                     // before anything is written
            manifest = LanguageModelManifest(units: units, configuration: configuration)
        }
        let trainUnits = units.encode(trainText)
        if !options.resume {
            _ = try TextStreams(units: trainUnits, streams: options.streams ?? LanguageModelSessionOptions.defaultStreams,
                                chunkLength: options.chunkLength ?? LanguageModelSessionOptions.defaultChunkLength,
                                path: options.trainPath)
        }
        let devUnits = units.encode(devText)
        guard devUnits.count >= 2 else {
            throw LanguageModelError.textTooShort(path: options.devPath ?? options.trainPath, units: devUnits.count, needed: 2,
                                                  hint: "a dev text needs at least two units to predict one")
        }
        if !options.resume {
            try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
            try directory.saveUnits(units)
            try directory.writeManifest(manifest)
        }
        let devCharacters = max(LanguageModelText.characterCount(devText) - 1, 1)
        if heldOut { notes.append("held out the last \(devCharacters + 1) characters (\(Int(options.devFraction * 100))%) as dev text") }
        if devFile == nil && !heldOut { notes.append("warning: the text is too short to hold out a dev part; validating on the training text") }
        let unknown = devUnits.filter { units.reservedIDs.contains($0) }.count
        if unknown > 0 && units.kind != .subword {
            notes.append("note: \(unknown) dev units are not in the training alphabet (<unk>; they count in the dev loss)")
        }
        notes.forEach(log)
        return PreparedData(units: units, manifest: manifest, trainUnits: trainUnits, devUnits: devUnits,
                            trainCharacters: LanguageModelText.characterCount(trainText), devCharacters: devCharacters,
                            devTail: LanguageModelRunLog.tail(of: devText, characters: LanguageModelRunLog.devTailLength))
    }

    /// A new model and trainer, or the ones saved in `last/`.
    private func makeTrainer(_ data: PreparedData) throws -> (LanguageModelTrainer, LanguageModelSessionState) {
        var trainingOptions = TrainingOptions()
        trainingOptions.learningRate = options.learningRate
        trainingOptions.maxGradientNorm = options.clip
        let textIdentity = Self.identity(of: data.trainUnits)
        if options.resume { return try resume(units: data.units, trainingOptions: trainingOptions, textIdentity: textIdentity) }
        let model = try LanguageModel(configuration: data.manifest.configuration, seed: options.seed)
        let trainer = LanguageModelTrainer(model: model, options: trainingOptions, seed: options.seed &+ 1)
        let state = LanguageModelSessionState(details: LanguageModelSessionDetails(
            step: 0, streams: options.streams ?? LanguageModelSessionOptions.defaultStreams,
            chunkLength: options.chunkLength ?? LanguageModelSessionOptions.defaultChunkLength,
            textIdentity: textIdentity, bestDevLoss: nil))
        try? FileManager.default.removeItem(atPath: directory.logPath)
        return (trainer, state)
    }

    /// Refuses a configuration whose training would not fit in the machine's available memory.
    private func checkMemory(_ configuration: LanguageModelConfiguration) throws {
        try configuration.validate()
        let streams = options.streams ?? LanguageModelSessionOptions.defaultStreams
        try configuration.trainingMemory(
            streams: streams, chunkLength: options.chunkLength ?? LanguageModelSessionOptions.defaultChunkLength,
            parts: min(max(1, options.threads), streams)
        ).require(for: "training a language model (\(configuration.summary))",
                  advice: "lower --hidden, --layers, --embedding, --batch-size or --bptt")
    }

    /// FNV-1a 64 over the units' values and their count, as hex.
    static func identity(of units: [Int32]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for u in units { h = (h ^ UInt64(UInt32(bitPattern: u))) &* 0x0000_0100_0000_01B3 }
        return "\(units.count):" + String(h, radix: 16)
    }

    /// The units of a new run, learned from the training text (or a given vocabulary).
    private func makeUnits(_ text: String, notes: inout [String]) throws -> any TextUnits {
        switch options.units {
        case .char, .jamo:
            let units = try CharacterUnits(kind: options.units, learningFrom: text, minimumCount: options.minimumCount)
            notes.append("\(options.units.rawValue) alphabet: \(units.count - 1) units" + (options.minimumCount > 1 ? " seen at least \(options.minimumCount) times" : "") + " + <unk>")
            return units
        case .subword:
            if let prefix = options.vocabularyPrefix {
                return try SubwordUnits(vocabulary: try VocabularyPair.load(from: prefix))
            }
            let t0 = monotonicSeconds()
            let units = try SubwordUnits(learningFrom: text, size: options.vocabularySize)
            notes.append(String(format: "learned a subword vocabulary of %d tokens in %.1f s", units.count, monotonicSeconds() - t0))
            return units
        }
    }

    /// Trainer and session state of `last/`, checked to belong together and to this text.
    private func resume(units: any TextUnits, trainingOptions: TrainingOptions,
                        textIdentity: String) throws -> (LanguageModelTrainer, LanguageModelSessionState) {
        let checkpoint = try LanguageModelCheckpoint.load(from: directory.lastCheckpoint, loadOptimizer: true)
        try directory.check(checkpoint, units: units)
        guard let data = FileManager.default.contents(atPath: directory.sessionPath),
              let state = try? JSONDecoder().decode(LanguageModelSessionState.self, from: data) else {
            throw LanguageModelError.resumeMismatch(path: directory.path, reason: "last/session.json is missing or unreadable")
        }
        guard let saved = checkpoint.trainingState, saved.step == state.step, checkpoint.optimizer != nil else {
            throw LanguageModelError.resumeMismatch(path: directory.path, reason: "last/ holds files of different steps; the save was cut short")
        }
        guard state.textIdentity == textIdentity else {
            throw LanguageModelError.resumeMismatch(path: directory.path, reason: "the training text differs from the one the run started with")
        }
        if let b = options.streams, b != state.streams {
            throw LanguageModelError.resumeMismatch(path: directory.path, reason: "the run uses --batch-size \(state.streams); drop --batch-size or give the same")
        }
        if let t = options.chunkLength, t != state.chunkLength {
            throw LanguageModelError.resumeMismatch(path: directory.path, reason: "the run uses --bptt \(state.chunkLength); drop --bptt or give the same")
        }
        let trainer = LanguageModelTrainer(model: checkpoint.model, options: trainingOptions)
        trainer.updater.restore(saved, moments: checkpoint.optimizer)
        return (trainer, state)
    }

    /// The carried stream states saved with `last/`.
    private func restoreStreams(into carried: RecurrentState, step: Int) throws {
        let path = directory.streamsPath
        let file: SafeTensors
        do { file = try SafeTensors(contentsOf: path) } catch {
            throw LanguageModelError.resumeMismatch(path: directory.path, reason: "last/streams.safetensors is missing or damaged")
        }
        guard file.metadata["step"] == String(step), let h = file.tensors["h"]?.floats, let c = file.tensors["c"]?.floats else {
            throw LanguageModelError.resumeMismatch(path: directory.path, reason: "last/streams.safetensors is not from step \(step)")
        }
        try carried.set(hidden: h, cellState: c)
    }
}

/// The language model's side of `TrainingLoop`: chunks of B streams with their states carried
/// between chunks (reset at each epoch start), dev loss and bits per character, best on dev
/// loss, `last/` with the carried states.
final class LanguageModelTrainingTask: TrainingLoopTask {
    let options: LanguageModelSessionOptions
    let directory: LanguageModelDirectory
    let data: LanguageModelSession.PreparedData
    let trainer: LanguageModelTrainer
    var state: LanguageModelSessionState
    let streams: TextStreams
    let carried: RecurrentState
    /// `run.json`, brought up to date with every save of `last/`.
    let runLog: LanguageModelRunLog
    private let encoder = JSONEncoder()

    init(session: LanguageModelSession, data: LanguageModelSession.PreparedData, trainer: LanguageModelTrainer,
         state: LanguageModelSessionState, streams: TextStreams, carried: RecurrentState, runLog: LanguageModelRunLog) {
        options = session.options
        directory = session.directory
        self.data = data
        self.trainer = trainer
        self.state = state
        self.streams = streams
        self.carried = carried
        self.runLog = runLog
        encoder.outputFormatting = [.sortedKeys]
    }

    var model: LanguageModel { trainer.model }
    var step: Int { trainer.step }
    var writesFiles: Bool { true }
    var folder: String { directory.path }
    var lastCheckpoint: String { directory.lastCheckpoint }
    var logPath: String { directory.logPath }

    func beginEpoch() -> Int {
        if state.batchIndex == 0 { carried.reset() }                      // each epoch reads the streams from their start
        return streams.chunkCount
    }

    func trainStep() throws -> TrainingStepResult {
        try trainer.train(on: streams.chunk(state.batchIndex), state: carried)
    }

    func progressFields(_ result: TrainingStepResult, epochTokens: Int, epochSeconds: Double, budgetLeft: String) -> String {
        let rate = Double(epochTokens) / data.unitsPerCharacter / max(1e-9, epochSeconds)
        return String(format: "step %d loss %.3f (%.3f bits/char) gnorm %.2f %.0f char/s", trainer.step, result.loss,
                      Double(result.loss) / ln2 * data.unitsPerCharacter, result.gradientNorm, rate) + budgetLeft
    }

    /// `last/`: weights, optimizer, carried stream states, session.json, run.json.
    func writeLast() throws {
        state.step = trainer.step
        try LanguageModelCheckpoint.save(to: directory.lastCheckpoint, model: model, units: data.units.identity,
                                         trainingState: trainer.trainingState(epoch: state.epoch, dataPosition: state.batchIndex),
                                         optimizer: trainer.optimizer)
        var file = SafeTensors(metadata: ["step": String(trainer.step)])
        let shape = [carried.layerCount, carried.rowCount, carried.hiddenSize]
        file.tensors["h"] = .init(floats: carried.hidden, shape: shape)
        file.tensors["c"] = .init(floats: carried.cellState, shape: shape)
        try CheckpointFile.write(file, to: directory.streamsPath)
        try AtomicFile.write(try encoder.encode(state), to: directory.sessionPath)
        try runLog.save(step: trainer.step)
    }

    func shouldStopEarly() throws -> Bool { state.validationsWithoutImprovement >= options.patience }

    /// Dev loss and bits per character; `best/` when lower than before.
    func validate(_ statistics: TrainingStatistics, seconds: Double) throws -> (record: any Encodable, line: String)? {
        let evaluation = try model.evaluate(units: data.devUnits, characterCount: data.devCharacters,
                                            streams: options.evaluationStreams, chunkLength: state.chunkLength)
        let isBest = state.bestDevLoss.map { evaluation.loss < $0 } ?? true
        state.progress.recordValidation(improved: isBest, step: trainer.step)
        if isBest {
            state.bestDevLoss = evaluation.loss
            try Interrupt.deferred {
                try LanguageModelCheckpoint.save(to: directory.bestCheckpoint, model: model, units: data.units.identity,
                                                 trainingState: trainer.trainingState(epoch: state.epoch, dataPosition: state.batchIndex))
            }
        }
        let trainLoss = statistics.meanLoss
        let trainCharacters = Double(statistics.tokenCount) / data.unitsPerCharacter
        let record = LanguageModelValidationRecord(
            step: trainer.step, epoch: state.epoch, seconds: seconds, trainLoss: trainLoss,
            trainBitsPerCharacter: trainLoss.map { $0 / ln2 * data.unitsPerCharacter },
            devLoss: evaluation.loss, devBitsPerCharacter: evaluation.bitsPerCharacter, devPerplexity: evaluation.perplexity,
            devUnits: evaluation.unitCount, devCharacters: data.devCharacters, learningRate: Double(trainer.nextLearningRate),
            gradientNorm: Double(statistics.lastGradientNorm),
            charactersPerSecond: statistics.tokenCount > 0 ? trainCharacters / (monotonicSeconds() - statistics.since) : nil,
            isBest: isBest)
        let line = String(format: "validation step %d: dev loss %.4f, %.4f bits/char, ppl %.3f", record.step, record.devLoss,
                          record.devBitsPerCharacter, record.devPerplexity)
            + (isBest ? " (best, saved)" : String(format: " (best %.4f at step %d)", state.bestDevLoss ?? .nan, state.bestStep))
        return (record, line)
    }
}
