import Foundation
import Seq2Seq

/// The metadata of a checkpoint's `model.safetensors`, read from the file's
/// JSON header alone (8-byte little-endian length, then the header), without
/// loading the weights: enough for the run summary, and readable even when
/// this build cannot load the weights (e.g. a newer architecture).
struct CheckpointHeader {
    /// `__metadata__` strings.
    var metadata: [String: String]

    /// The stored `model_configuration`, if it decodes.
    var configuration: ModelConfiguration? {
        metadata["model_configuration"].flatMap { try? JSONDecoder().decode(ModelConfiguration.self, from: Data($0.utf8)) }
    }

    /// The stored `training_state` (step, epoch, …), if present and decodable.
    var trainingState: TrainingState? {
        metadata["training_state"].flatMap { try? JSONDecoder().decode(TrainingState.self, from: Data($0.utf8)) }
    }

    /// Reads the header of `path`, or nil if the file is missing or is not safetensors.
    static func read(_ path: String) -> CheckpointHeader? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let lengthBytes = try? handle.read(upToCount: 8), lengthBytes.count == 8 else { return nil }
        let length = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length > 1, length < 100_000_000,
              let header = try? handle.read(upToCount: Int(length)), header.count == Int(length),
              let object = (try? JSONSerialization.jsonObject(with: header)) as? [String: Any] else { return nil }
        return CheckpointHeader(metadata: (object["__metadata__"] as? [String: String]) ?? [:])
    }
}
