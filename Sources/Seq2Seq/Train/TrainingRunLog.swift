import Foundation
import Tokenize

/// What `seq2seq train` records about itself in `DIR/run.json` for `seq2seq
/// report`: the command line of each invocation (the first run and every
/// `--resume`), the data it saw, how many target tokens it trained on in how
/// much time, and a small sample of dev pairs so that a report can show
/// translations without the original files.
public struct TrainingRunRecord: Codable, Equatable, Sendable {
    /// One invocation of `seq2seq train`.
    public struct Invocation: Codable, Equatable, Sendable {
        /// The command line as typed (`CommandLine.arguments`).
        public var arguments: [String]
        /// Start time, ISO 8601 (UTC).
        public var startedAt: String
        public var trainPath: String
        public var devPath: String?
        /// Training pairs used (after the dev hold-out and the length filter).
        public var trainingPairs: Int
        public var devPairs: Int
        /// Pairs dropped by the length filter or because they normalize to nothing.
        public var skippedPairs: Int
        public var threads: Int
        /// Optimizer step when this invocation started (0, or the resumed step).
        public var firstStep: Int
        /// Optimizer step reached by the last save.
        public var lastStep: Int
        /// Real target tokens trained on in this invocation (teacher forcing, incl. `</s>`).
        public var targetTokens: Int
        /// Wall-clock seconds from the first training step to the last save (validation included).
        public var seconds: Double
    }

    /// A source sentence and its reference translation, in the model's direction.
    public struct DevPair: Codable, Equatable, Sendable {
        public var source: String
        public var reference: String
        public init(source: String, reference: String) {
            self.source = source
            self.reference = reference
        }
    }

    /// Every invocation, oldest first.
    public var invocations: [Invocation]
    /// The first few dev pairs (at most `TrainingRunLog.devSampleSize`).
    public var devSample: [DevPair]

    public init(invocations: [Invocation] = [], devSample: [DevPair] = []) {
        self.invocations = invocations
        self.devSample = devSample
    }
}

extension ModelDirectory {
    /// `DIR/run.json`: the `TrainingRunRecord` of the runs that trained this model.
    public var runRecordPath: String { path + "/run.json" }

    /// The run record, or nil if the model predates `run.json` or the file is unreadable.
    public func readRunRecord() -> TrainingRunRecord? {
        guard let data = FileManager.default.contents(atPath: runRecordPath) else { return nil }
        return try? JSONDecoder().decode(TrainingRunRecord.self, from: data)
    }
}

/// Keeps `run.json` up to date during one `seq2seq train` invocation:
/// `begin` appends this invocation (a fresh run starts a new record), the step
/// loop adds to `targetTokens`, and `save` is called with every checkpoint.
public final class TrainingRunLog {
    /// Dev pairs kept in `run.json` for the report.
    public static let devSampleSize = 20

    private let directory: ModelDirectory
    private var record: TrainingRunRecord
    private let started = monotonicSeconds()
    /// Target tokens trained on since `begin`.
    public var targetTokens = 0

    private init(directory: ModelDirectory, record: TrainingRunRecord) {
        self.directory = directory
        self.record = record
    }

    /// Starts the record of this invocation and writes it.
    public static func begin(in directory: ModelDirectory, options: TrainingSessionOptions, trainingPairs: Int,
                             devPairs: [(String, String)], skippedPairs: Int, step: Int) throws -> TrainingRunLog {
        var record = (options.resume ? directory.readRunRecord() : nil) ?? TrainingRunRecord()
        if record.devSample.isEmpty {
            record.devSample = devPairs.prefix(devSampleSize).map { .init(source: $0.0, reference: $0.1) }
        }
        let formatter = ISO8601DateFormatter()
        record.invocations.append(.init(
            arguments: options.commandLine, startedAt: formatter.string(from: Date()),
            trainPath: options.trainPath, devPath: options.devPath, trainingPairs: trainingPairs,
            devPairs: devPairs.count, skippedPairs: skippedPairs, threads: options.threads,
            firstStep: step, lastStep: step, targetTokens: 0, seconds: 0))
        let log = TrainingRunLog(directory: directory, record: record)
        try log.write()
        return log
    }

    /// Records progress up to optimizer step `step` and writes `run.json` atomically.
    public func save(step: Int) throws {
        if !record.invocations.isEmpty { record.invocations[record.invocations.count - 1].targetTokens = targetTokens }
        guard record.recordProgress(step: step, started: started) else { return }
        try write()
    }

    private func write() throws { try record.write(to: directory.runRecordPath) }
}
