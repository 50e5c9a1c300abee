import Foundation
import Tokenize

/// What `seq2seq lm train` records about itself in `DIR/run.json` for `seq2seq report`: the
/// command line of each invocation (the first run and every `--resume`), the texts it read, the
/// time it took, and the end of the dev text, so that a report can show the model's hidden
/// states over text it did not train on without the original files.
public struct LanguageModelRunRecord: Codable, Equatable, Sendable {
    /// Always "language-model-run" (a translation model's `run.json` is a `TrainingRunRecord`).
    public var kind = "language-model-run"

    /// One invocation of `seq2seq lm train`.
    public struct Invocation: Codable, Equatable, Sendable {
        /// The command line as typed (`CommandLine.arguments`; empty when run from the library).
        public var arguments: [String]
        /// Start time, ISO 8601 (UTC).
        public var startedAt: String
        public var trainPath: String
        /// `--dev`, or nil when the dev text was held out from the training text.
        public var devPath: String?
        /// Characters (Unicode scalars of the NFC text) trained on per epoch.
        public var trainingCharacters: Int
        /// Characters of the dev text.
        public var devCharacters: Int
        public var threads: Int
        /// Optimizer step when this invocation started (0, or the resumed step).
        public var firstStep: Int
        /// Optimizer step reached by the last save.
        public var lastStep: Int
        /// Wall-clock seconds from the start of this invocation to its last save.
        public var seconds: Double
    }

    /// Every invocation, oldest first.
    public var invocations: [Invocation]
    /// The end of the latest dev text: at most `LanguageModelRunLog.devTailLength` characters,
    /// starting at a line start when one is near.
    public var devTail: String

    public init(invocations: [Invocation] = [], devTail: String = "") {
        self.invocations = invocations
        self.devTail = devTail
    }
}

extension LanguageModelDirectory {
    /// `DIR/run.json`: the `LanguageModelRunRecord` of the runs that trained this model.
    public var runRecordPath: String { path + "/run.json" }

    /// The run record, or nil if the model predates it or the file is unreadable.
    public func readRunRecord() -> LanguageModelRunRecord? {
        guard let data = FileManager.default.contents(atPath: runRecordPath),
              let record = try? JSONDecoder().decode(LanguageModelRunRecord.self, from: data),
              record.kind == "language-model-run" else { return nil }
        return record
    }
}

/// Keeps `run.json` up to date during one `seq2seq lm train` invocation: `begin` appends this
/// invocation (a fresh run starts a new record) and `save` is called with every save of `last/`.
final class LanguageModelRunLog {
    /// Characters of the dev text kept in `run.json` (the report reads at most 1,200 of them).
    static let devTailLength = 2000

    private let directory: LanguageModelDirectory
    private var record: LanguageModelRunRecord
    private let started: Double

    private init(directory: LanguageModelDirectory, record: LanguageModelRunRecord, started: Double) {
        self.directory = directory
        self.record = record
        self.started = started
    }

    /// Starts the record of this invocation (appended to the saved one on `--resume`) and writes it.
    static func begin(in directory: LanguageModelDirectory, options: LanguageModelSessionOptions, devTail: String,
                      devCharacters: Int, trainingCharacters: Int, step: Int, started: Double) throws -> LanguageModelRunLog {
        var record = (options.resume ? directory.readRunRecord() : nil) ?? LanguageModelRunRecord()
        record.devTail = devTail
        record.invocations.append(.init(
            arguments: options.commandLine, startedAt: ISO8601DateFormatter().string(from: Date()),
            trainPath: options.trainPath, devPath: options.devPath, trainingCharacters: trainingCharacters,
            devCharacters: devCharacters, threads: options.threads,
            firstStep: step, lastStep: step, seconds: 0))
        let log = LanguageModelRunLog(directory: directory, record: record, started: started)
        try log.write()
        return log
    }

    /// Records progress up to optimizer step `step` and writes `run.json` atomically.
    func save(step: Int) throws {
        guard record.recordProgress(step: step, started: started) else { return }
        try write()
    }

    private func write() throws { try record.write(to: directory.runRecordPath) }

    /// The last `characters` Unicode scalars of `text`, moved forward to just after a line break
    /// if one is in their first half (so the tail starts at a line start).
    static func tail(of text: String, characters: Int) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count > characters else { return text }
        var start = scalars.count - characters
        if let lineBreak = scalars[start..<(start + characters / 2)].firstIndex(of: "\n") { start = lineBreak + 1 }
        var tail = String.UnicodeScalarView()
        tail.append(contentsOf: scalars[start...])
        return String(tail)
    }
}
