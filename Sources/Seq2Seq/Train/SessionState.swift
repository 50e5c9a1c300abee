import Foundation
import Tokenize

/// Which data a training run used: enough to notice that `--resume` was given
/// another file (which would validate on a different dev split and overwrite
/// `best/` with a model judged on other sentences).
public struct DataIdentity: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The path as given (informational: a moved file with the same bytes is the same data).
    public var path: String
    /// Size in bytes.
    public var size: Int
    /// `fnv64x4:` + 16 hex digits over the whole file (see `TensorIntegrity`).
    public var hash: String

    /// The identity of `bytes`, read from `path`.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        size = bytes.count
        hash = TensorIntegrity.algorithm + ":"
            + TensorIntegrity.hex(bytes.withUnsafeBytes { TensorIntegrity.scan($0, floats: false).checksum })
    }

    /// True when the bytes are the same (the path may differ).
    public func sameData(as other: DataIdentity) -> Bool { size == other.size && hash == other.hash }

    public var description: String { "\(path) (\(size) bytes, \(hash))" }
}

/// What a translation run saves in `last/session.json` besides the loop's `TrainingProgress`,
/// so that `--resume` continues exactly and checks that it continues the same run.
struct TranslationSessionDetails: Codable {
    var bestChrF: Double
    /// Optimizer steps when saved (absent in sessions written before it was recorded).
    var step: Int?
    /// The training file (absent in older sessions).
    var trainingData: DataIdentity?
    /// The `--dev` file, or nil when the dev set was held out of the training file.
    var devData: DataIdentity?
    /// The `--synthetic` file, or nil without one.
    var syntheticData: DataIdentity?
}

/// The session of a translation run: position, counters and the details above.
typealias SessionState = SessionRecord<TranslationSessionDetails>

extension SessionRecord where Details == TranslationSessionDetails {
    static var fresh: SessionState { SessionState(details: TranslationSessionDetails(bestChrF: -1)) }

    /// Reads `path`; a missing file and an unreadable or malformed one get their own errors.
    static func load(from path: String) throws -> SessionState {
        let bytes: [UInt8]
        do { bytes = try FileContents.read(path) } catch {
            if case .notFound = error { throw ResumeError.missingSession(path: path) }
            throw ResumeError.corruptSession(path: path, reason: error.reason)
        }
        let state: SessionState
        do { state = try JSONDecoder().decode(SessionState.self, from: Data(bytes)) } catch {
            throw ResumeError.corruptSession(path: path, reason: "not a session record: \(SessionState.summary(of: error))")
        }
        if let problem = state.problem { throw ResumeError.corruptSession(path: path, reason: problem) }
        return state
    }

    /// Why the numbers cannot come from a real run, or nil.
    var problem: String? {
        if let problem = progress.problem { return problem }
        if let step = details.step, step < 0 { return "negative step" }
        if let step = details.step, step > TrainingProgress.counterLimit { return "counters out of range" }
        if !details.bestChrF.isFinite { return "best chrF is not a number" }
        return nil
    }

    /// Checks that the session belongs to the checkpoint beside it and that Adam's
    /// moments were saved with it.
    func check(against checkpoint: LoadedCheckpoint, folder: String) throws {
        guard checkpoint.optimizer != nil else {
            throw ResumeError.missingOptimizer(path: folder + "/" + Checkpoint.optimizerFileName)
        }
        let modelStep = checkpoint.metadata.trainingState?.step
        if let step = details.step, let modelStep, step != modelStep {
            throw ResumeError.inconsistent(
                path: folder, reason: "session.json is at step \(step) but model.safetensors at step \(modelStep)")
        }
    }

    /// Compares the data of this run with the data the session was started on.
    /// Returns warnings (older sessions without identities); throws
    /// `ResumeError.dataChanged` for a mismatch unless `allowChange`.
    func checkData(training: DataIdentity, dev: DataIdentity?, synthetic: DataIdentity? = nil, allowChange: Bool,
                   folder: String) throws -> [String] {
        var warnings: [String] = []
        guard let trainingData = details.trainingData else {
            return ["\(folder)/session.json does not record the training data (written by an older version); "
                    + "make sure you resume with the same files"]
        }
        var changes: [String] = []
        if !trainingData.sameData(as: training) {
            changes.append("the training file was \(trainingData), now \(training)")
        }
        switch (details.devData, dev) {
        case (nil, nil): break
        case (let old?, let new?) where old.sameData(as: new): break
        case (let old?, let new?): changes.append("the --dev file was \(old), now \(new)")
        case (nil, let new?): changes.append("the dev set was held out of the training file, now --dev \(new.path)")
        case (let old?, nil): changes.append("the dev set was --dev \(old.path), now a hold-out of the training file")
        }
        switch (details.syntheticData, synthetic) {
        case (nil, nil): break
        case (let old?, let new?) where old.sameData(as: new): break
        case (let old?, let new?): changes.append("the --synthetic file was \(old), now \(new)")
        case (nil, let new?): changes.append("the run started without --synthetic, now with \(new.path)")
        case (let old?, nil): changes.append("the run started with --synthetic \(old.path), now without")
        }
        if changes.isEmpty { return warnings }
        guard allowChange else {
            throw ResumeError.dataChanged(path: folder, changes: changes)
        }
        warnings.append("continuing on changed data (--allow-data-change): " + changes.joined(separator: "; ")
                        + "; dev scores before and after the change are not comparable")
        return warnings
    }

    /// The first line of a decoding error, without Foundation's debug dump.
    static func summary(of error: Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .dataCorrupted(let context), .keyNotFound(_, let context),
                 .typeMismatch(_, let context), .valueNotFound(_, let context):
                let path = context.codingPath.map(\.stringValue).joined(separator: ".")
                return (path.isEmpty ? "" : "\(path): ") + context.debugDescription
            @unknown default: break
            }
        }
        return "\(error)".split(separator: "\n").first.map(String.init) ?? "malformed"
    }
}

/// Why `--resume` cannot continue; each description says what to do.
public enum ResumeError: Error, CustomStringConvertible, Equatable {
    case missingSession(path: String)
    case corruptSession(path: String, reason: String)
    case missingOptimizer(path: String)
    case inconsistent(path: String, reason: String)
    case dataChanged(path: String, changes: [String])

    public var description: String {
        switch self {
        case .missingSession(let path): return "\(path) is missing, so the position in the data is unknown; restore it, or start a new run with --force"
        case .corruptSession(let path, let reason): return "\(path) is damaged (\(reason)); restore it from a backup, or start a new run with --force"
        case .missingOptimizer(let path): return "\(path) is missing: resuming would restart Adam from zero moments and not continue the run; restore it, or start a new run with --force"
        case .inconsistent(let path, let reason): return "\(path): the checkpoint files do not belong together (\(reason)); restore the folder from a backup, or start a new run with --force"
        case .dataChanged(let path, let changes):
            return "\(path): cannot resume on different data: " + changes.joined(separator: "; ")
                + "; resume with the original files, or add --allow-data-change to continue on the new data anyway"
        }
    }
}

extension TrainingState {
    /// Why these numbers cannot come from a real run (negative counters,
    /// non-finite or out-of-range rates), or nil. Checked on load so that a
    /// damaged file is reported instead of trapping on overflow later.
    public var problem: String? {
        if step < 0 || epoch < 0 || dataPosition < 0 { return "negative step, epoch or position" }
        if max(step, epoch, dataPosition) > TrainingProgress.counterLimit { return "step, epoch or position out of range" }
        if !learningRate.isFinite || learningRate < 0 || !learningRateScale.isFinite || learningRateScale < 0 {
            return "learning rate is not a finite non-negative number"
        }
        let o = options
        if !o.learningRate.isFinite || o.learningRate < 0 { return "base learning rate is not finite" }
        if !(0..<1).contains(o.beta1) || !(0..<1).contains(o.beta2) { return "Adam betas outside [0, 1)" }
        if !o.epsilon.isFinite || o.epsilon <= 0 { return "Adam epsilon is not a positive number" }
        if let clip = o.maxGradientNorm, !clip.isFinite || clip <= 0 { return "clipping norm is not a positive number" }
        if !(0..<1).contains(o.labelSmoothing) { return "label smoothing outside [0, 1)" }
        if !o.decayFactor.isFinite || o.decayFactor <= 0 || o.decayEverySteps < 0 || o.decayStartStep < 0 {
            return "learning-rate decay settings out of range"
        }
        return nil
    }
}

