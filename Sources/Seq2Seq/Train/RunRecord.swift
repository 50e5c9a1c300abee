import Foundation
import Tokenize

/// One invocation of a training command as `run.json` records it (first run or `--resume`).
public protocol RunInvocation {
    /// The optimizer step the invocation reached.
    var lastStep: Int { get set }
    /// Wall-clock seconds it ran.
    var seconds: Double { get set }
}

/// A training run's `run.json` (`TrainingRunRecord`, `LanguageModelRunRecord`): what both kinds
/// keep up to date and how the file is written.
protocol RunRecord: Encodable {
    associatedtype Invocation: RunInvocation
    var invocations: [Invocation] { get set }
}

extension RunRecord {
    /// Brings the newest invocation up to step `step`, timed from `started` (monotonic seconds);
    /// false when there is no invocation to update.
    mutating func recordProgress(step: Int, started: Double) -> Bool {
        guard !invocations.isEmpty else { return false }
        invocations[invocations.count - 1].lastStep = step
        invocations[invocations.count - 1].seconds = monotonicSeconds() - started
        return true
    }

    /// Writes the record as pretty, key-sorted JSON, atomically.
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(self), to: path)
    }
}

extension TrainingRunRecord: RunRecord {}
extension TrainingRunRecord.Invocation: RunInvocation {}
extension LanguageModelRunRecord: RunRecord {}
extension LanguageModelRunRecord.Invocation: RunInvocation {}
