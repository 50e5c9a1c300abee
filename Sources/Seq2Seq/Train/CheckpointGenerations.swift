#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Tokenize

/// Replaces a checkpoint folder (`last/`: weights, Adam moments, session) as a
/// whole, so that a kill at any moment leaves one consistent generation:
///
/// 1. the new files are written into `last.partial/` (each atomically, fsynced);
/// 2. `last/` is renamed to `last.previous/`, then `last.partial/` to `last/`;
/// 3. `last.previous/` is removed.
///
/// A kill during 1 leaves `last/` untouched (the partial folder is discarded
/// later); between the two renames `last/` is missing and `recover` renames
/// `last.previous/` back; after them only a stale `last.previous/` is left.
enum CheckpointGenerations {
    static func partial(_ folder: String) -> String { folder + ".partial" }
    static func previous(_ folder: String) -> String { folder + ".previous" }

    /// Writes a new generation of `folder` with `write` (given the folder to fill).
    static func replace(_ folder: String, write: (String) throws -> Void) throws {
        let fileManager = FileManager.default
        let partial = partial(folder), previous = previous(folder)
        try? fileManager.removeItem(atPath: partial)
        do { try Folder.create(partial) } catch {
            throw CheckpointError.writeFailed(path: partial, reason: "\(error)")
        }
        do {
            try write(partial)
        } catch {
            try? fileManager.removeItem(atPath: partial)
            throw error
        }
        syncFolder(partial)
        try? fileManager.removeItem(atPath: previous)
        if fileManager.fileExists(atPath: folder), rename(folder, previous) != 0 {
            throw CheckpointError.writeFailed(path: folder, reason: "cannot move it aside: \(String(cString: strerror(errno)))")
        }
        guard rename(partial, folder) == 0 else {
            let reason = String(cString: strerror(errno))
            rename(previous, folder)
            throw CheckpointError.writeFailed(path: folder, reason: "cannot move the new checkpoint into place: \(reason)")
        }
        syncFolder(OutputFile.folder(of: folder))
        try? fileManager.removeItem(atPath: previous)
    }

    /// Restores a consistent `folder` after a kill: brings `.previous` back when
    /// `folder` is missing, and removes leftovers. Returns a note when it repaired something.
    @discardableResult
    static func recover(_ folder: String) -> String? {
        let fileManager = FileManager.default
        let partial = partial(folder), previous = previous(folder)
        var note: String?
        if !fileManager.fileExists(atPath: folder), fileManager.fileExists(atPath: previous) {
            if rename(previous, folder) == 0 {
                note = "\(folder): restored the checkpoint of the previous save (the last save was interrupted)"
            }
        }
        try? fileManager.removeItem(atPath: partial)
        try? fileManager.removeItem(atPath: previous)
        return note
    }

    private static func syncFolder(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
