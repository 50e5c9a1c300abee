import Foundation
import Tokenize

/// Why a training loop stopped; sessions report it as `TrainingOutcome`.
public enum TrainingStop: Sendable, Equatable, CaseIterable {
    case finishedEpochs, timeBudget, stepLimit, earlyStopping, interrupted

    /// The one of five values that names this reason (in the order of the cases).
    func choose<T>(_ finishedEpochs: T, _ timeBudget: T, _ stepLimit: T, _ earlyStopping: T, _ interrupted: T) -> T {
        switch self {
        case .finishedEpochs: finishedEpochs
        case .timeBudget: timeBudget
        case .stepLimit: stepLimit
        case .earlyStopping: earlyStopping
        case .interrupted: interrupted
        }
    }
}

/// Training statistics since the previous validation, handed to `TrainingLoopTask.validate`.
struct TrainingStatistics {
    /// Σ loss × tokens and the tokens (target tokens or units) of the steps since the last validation.
    var lossSum = 0.0, tokenCount = 0
    /// Gradient norm of the latest step.
    var lastGradientNorm: Float = 0
    /// Monotonic time of the previous validation (or of the loop's start).
    var since = monotonicSeconds()

    /// Mean training loss per token since the last validation (nil if no step ran).
    var meanLoss: Double? { tokenCount > 0 ? lossSum / Double(tokenCount) : nil }
}

/// What `TrainingLoop` needs from one model kind (the translation model, the language model):
/// its position in the data, one update, progress fields, validation and the contents of `last/`.
/// The loop owns everything else: epochs, time and step budgets, the validation schedule,
/// early stopping, Ctrl-C, the final save and the run's statistics.
protocol TrainingLoopTask: AnyObject {
    /// Updates applied so far.
    var step: Int { get }
    associatedtype SessionDetails: Codable
    /// The session state saved with `last/`: the position in the data and the model kind's details.
    var state: SessionRecord<SessionDetails> { get set }
    /// Whether this process writes checkpoints and logs (false on the other ranks of a distributed run).
    var writesFiles: Bool { get }
    /// The output folder (named in a divergence message) and its `last/` and `training-log.jsonl`.
    var folder: String { get }
    var lastCheckpoint: String { get }
    var logPath: String { get }
    /// Prepares the current epoch; returns its number of batches.
    func beginEpoch() -> Int
    /// One update on batch `batchIndex` of the current epoch.
    func trainStep() throws -> TrainingStepResult
    /// The progress bar's fields after `result`; `epochTokens` tokens took `epochSeconds` so far this epoch.
    func progressFields(_ result: TrainingStepResult, epochTokens: Int, epochSeconds: Double, budgetLeft: String) -> String
    /// Measures the dev set, saves `best/` when better, updates the early-stopping counters; returns
    /// the record for `training-log.jsonl` and the line to log (nil: this process does not validate).
    func validate(_ statistics: TrainingStatistics, seconds: Double) throws -> (record: any Encodable, line: String)?
    /// Writes `last/` (weights, optimizer, position, session state, run log).
    func writeLast() throws
    /// After a validation: whether to stop early (all ranks of a distributed run agree).
    func shouldStopEarly() throws -> Bool
    /// The reason all ranks stop for, given this process's own (identity for one process).
    func agree(on reason: TrainingStop?) throws -> TrainingStop?
}

extension TrainingLoopTask {
    var epoch: Int {
        get { state.epoch }
        set { state.epoch = newValue }
    }
    var batchIndex: Int {
        get { state.batchIndex }
        set { state.batchIndex = newValue }
    }

    func agree(on reason: TrainingStop?) throws -> TrainingStop? { reason }
}

/// The one training loop of both model kinds: epochs of batches until the epochs, the time
/// budget or the step limit run out, early stopping or Ctrl-C; validation every `validateEvery`
/// steps (and at epoch ends), `last/` saved with each validation and on interrupt.
final class TrainingLoop<Task: TrainingLoopTask> {
    struct Schedule {
        var epochs: Int
        /// Wall-clock limit in seconds, counted from `started`.
        var timeBudget: Double?
        var maxSteps: Int?
        /// Validate every this many steps (0: at epoch ends only).
        var validateEvery: Int
        /// Validate at every epoch end not yet validated (otherwise only when `validateEvery` is 0).
        var validatesAtEveryEpochEnd: Bool
        /// Save `last/` at the end even when the final step was already validated (and saved).
        var savesAtEndWhenValidated: Bool
        /// Whether the run continues a checkpoint (its step counts as validated and saved).
        var resumed: Bool
    }

    let task: Task
    let schedule: Schedule
    let started: Double
    let log: (String) -> Void
    private var statistics = TrainingStatistics()
    private var lastValidatedStep: Int
    /// Step of the newest `last/` (nil: none saved by this run).
    private var lastSavedStep: Int?
    private let encoder = JSONEncoder()

    init(task: Task, schedule: Schedule, started: Double, log: @escaping (String) -> Void) {
        self.task = task
        self.schedule = schedule
        self.started = started
        self.log = log
        lastValidatedStep = schedule.resumed ? task.step : -1
        lastSavedStep = schedule.resumed ? task.step : nil
        encoder.outputFormatting = [.sortedKeys]
    }

    private var budget: Double { schedule.timeBudget ?? .infinity }

    /// Trains until a stop; then the final validation or save. Returns why it stopped.
    func run() throws -> TrainingStop {
        let stop = try trainEpochs()
        if stop == .interrupted {
            try saveLast()
            log("interrupted: saved a resumable checkpoint at step \(task.step) in \(task.lastCheckpoint)")
        } else if lastValidatedStep != task.step {
            try validate()
        } else if schedule.savesAtEndWhenValidated {
            try saveLast()
        }
        return stop
    }

    private func trainEpochs() throws -> TrainingStop {
        while task.epoch < schedule.epochs {
            if let stop = try trainEpoch() { return stop }
            task.epoch += 1
            task.batchIndex = 0
            let validatesNow = schedule.validatesAtEveryEpochEnd || schedule.validateEvery == 0
            if validatesNow && lastValidatedStep != task.step {
                try validate()
                if try task.shouldStopEarly() { return .earlyStopping }
            }
        }
        return .finishedEpochs
    }

    /// Why to stop before the next step, if at all (agreed by all ranks of a distributed run).
    private func stopReason() throws -> TrainingStop? {
        var reason: TrainingStop?
        if Interrupt.isRequested { reason = .interrupted }
        else if monotonicSeconds() - started >= budget { reason = .timeBudget }
        else if let maxSteps = schedule.maxSteps, task.step >= maxSteps { reason = .stepLimit }
        return try task.agree(on: reason)
    }

    /// The rest of the current epoch; returns why training must stop, or nil at the epoch's end.
    private func trainEpoch() throws -> TrainingStop? {
        let batchCount = task.beginEpoch()
        let bar = ProgressBar(total: batchCount, label: schedule.epochs == .max ? "epoch \(task.epoch + 1)"
                                                       : "epoch \(task.epoch + 1)/\(schedule.epochs)")
        defer { bar.finish() }
        var epochTokens = 0
        let epochStart = monotonicSeconds()
        while task.batchIndex < batchCount {
            if let reason = try stopReason() { return reason }
            let result = try trainStep()
            epochTokens += result.tokenCount
            let now = monotonicSeconds()
            // The bar's ETA is the epoch's; with a budget, also say when training stops.
            let left = budget.isFinite ? " budget left " + formatDuration(max(0, budget - (now - started))) : ""
            bar.update(done: task.batchIndex, fields: task.progressFields(result, epochTokens: epochTokens,
                                                                          epochSeconds: now - epochStart, budgetLeft: left))
            if schedule.validateEvery > 0 && task.step % schedule.validateEvery == 0 {
                bar.finish()
                try validate()
                if try task.shouldStopEarly() { return .earlyStopping }
            }
        }
        return nil
    }

    /// One update; a divergence is told where the last good checkpoint is.
    private func trainStep() throws -> TrainingStepResult {
        let result: TrainingStepResult
        do { result = try task.trainStep() } catch var divergence as TrainingDivergence {
            divergence.lastSavedStep = lastSavedStep
            divergence.folder = task.folder
            throw divergence
        }
        task.batchIndex += 1
        statistics.lossSum += Double(result.loss) * Double(result.tokenCount)
        statistics.tokenCount += result.tokenCount
        statistics.lastGradientNorm = result.gradientNorm
        return result
    }

    /// `last/`, never cut short by Ctrl-C.
    private func saveLast() throws {
        guard task.writesFiles else { return }
        try Interrupt.deferred { try task.writeLast() }
        lastSavedStep = task.step
    }

    /// Validation, `last/`, a line of `training-log.jsonl` and of the log.
    private func validate() throws {
        lastValidatedStep = task.step
        guard let (record, line) = try task.validate(statistics, seconds: monotonicSeconds() - started) else { return }
        statistics = TrainingStatistics()
        try saveLast()
        var logText = (try? String(contentsOfFile: task.logPath, encoding: .utf8)) ?? ""
        logText += String(decoding: try encoder.encode(record), as: UTF8.self) + "\n"
        try AtomicFile.write(logText, to: task.logPath)
        log(line)
    }
}
