import Foundation
import Tokenize

/// Why `seq2seq train --output DIR` will not write into DIR.
public enum OutputDirectoryError: Error, CustomStringConvertible, Equatable {
    case emptyPath
    case notAFolder(path: String)
    case notEmpty(path: String, contents: [String])

    public var description: String {
        switch self {
        case .emptyPath: return "--output is empty; give the model folder to write, e.g. --output model"
        case .notAFolder(let path): return "\(path): is a file, not a folder; choose another --output"
        case .notEmpty(let path, let contents):
            let shown = contents.prefix(4).joined(separator: ", ") + (contents.count > 4 ? ", …" : "")
            return "\(path): the folder is not empty (\(shown)); continue its run with --resume, "
                + "replace it with --force, or choose another --output"
        }
    }
}

extension ModelDirectory {
    /// Entries a training run writes (and `--force` removes).
    static func isTrainingOutput(_ name: String) -> Bool {
        ["model.json", "training-log.jsonl", "run.json", "checkpoints", "best", "last", "last.partial", "last.previous"].contains(name)
            || name.hasPrefix("vocab.") || (name.hasPrefix(".") && name.hasSuffix(".tmp"))
    }

    /// Makes the folder ready for a run and never lets one destroy another's work:
    /// - a new run needs a missing or empty folder, or `force` (which removes what
    ///   training writes — `best/`, `last/`, vocabulary, manifest, log — and nothing else);
    /// - a resumed run repairs an interrupted save of `last/` first (`CheckpointGenerations`).
    /// Returns notes for the log.
    func prepareForTraining(resume: Bool, force: Bool) throws -> [String] {
        guard !path.isEmpty else { throw OutputDirectoryError.emptyPath }
        let fileManager = FileManager.default
        var isFolder: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isFolder) else { return [] }
        guard isFolder.boolValue else { throw OutputDirectoryError.notAFolder(path: path) }
        if resume {
            return [CheckpointGenerations.recover(lastCheckpoint)].compactMap { $0 }
        }
        let contents = ((try? fileManager.contentsOfDirectory(atPath: path)) ?? []).sorted()
        if contents.isEmpty { return [] }
        guard force else { throw OutputDirectoryError.notEmpty(path: path, contents: contents) }
        var removed: [String] = []
        for name in contents where ModelDirectory.isTrainingOutput(name) {
            do { try fileManager.removeItem(atPath: path + "/" + name) } catch {
                throw AtomicFileError.cannotCreateFolder(path: path, reason: "cannot remove \(name) for --force: \(error.localizedDescription)")
            }
            removed.append(name)
        }
        return removed.isEmpty ? [] : ["--force: removed \(removed.joined(separator: ", ")) from \(path)"]
    }
}
