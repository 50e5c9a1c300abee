#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Errors from writing output files (atomically or through a device). Each
/// description is one line naming the path and what to do.
public enum AtomicFileError: Error, CustomStringConvertible, Equatable {
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case renameFailed(from: String, to: String, reason: String)
    /// The output path is empty.
    case emptyPath
    /// The output path names a folder.
    case isFolder(path: String)
    /// The folder that would hold the output does not exist.
    case folderMissing(path: String, folder: String)
    /// An existing file, device or FIFO could not be opened for writing.
    case cannotOpen(path: String, reason: String)
    /// A folder could not be created (or a file is in the way).
    case cannotCreateFolder(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): return "\(path): cannot create temporary file (\(reason)); check that the folder exists and is writable"
        case .writeFailed(let path, let reason): return "\(path): write failed (\(reason)); check free disk space and that the reader is still there"
        case .renameFailed(let from, let to, let reason): return "\(to): cannot move \(from) into place (\(reason))"
        case .emptyPath: return "the output path is empty; give a file name"
        case .isFolder(let path): return "\(path): is a folder; give a file path inside it"
        case .folderMissing(let path, let folder): return "\(path): the folder \(folder) does not exist; create it first or choose another path"
        case .cannotOpen(let path, let reason): return "\(path): cannot open for writing (\(reason))"
        case .cannotCreateFolder(let path, let reason): return "\(path): cannot create the folder (\(reason)); choose another path"
        }
    }
}

/// Writes whole files so that a reader (or a crash) never sees a half-written
/// file: the bytes go to a temporary file in the same folder, which is flushed
/// to disk (`fsync`) and then renamed over the destination in one step.
/// Devices, FIFOs and links follow the rules of `OutputFile`.
public enum AtomicFile {
    /// Writes `data` to `path` (atomically for a regular file or a new path).
    public static func write(_ data: Data, to path: String) throws {
        let output = try OutputFile(path: path)
        do {
            try data.withUnsafeBytes { try output.write($0) }
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}

/// Creating folders with messages that say what is in the way.
public enum Folder {
    /// Creates `path` and its missing parents (like `mkdir -p`). Throws
    /// `AtomicFileError.cannotCreateFolder` when a component is a file or the
    /// system refuses (permissions, read-only disk), and `.emptyPath` for "".
    public static func create(_ path: String) throws {
        guard !path.isEmpty else { throw AtomicFileError.emptyPath }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += component
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw AtomicFileError.cannotCreateFolder(
                        path: path, reason: prefix == path ? "a file with that name exists" : "\(prefix) is a file, not a folder")
                }
            } else if mkdir(prefix, 0o777) != 0 && errno != EEXIST {
                throw AtomicFileError.cannotCreateFolder(path: path, reason: String(cString: strerror(errno)))
            }
            prefix += "/"
        }
    }
}
