#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Errors from writing files atomically.
public enum AtomicFileError: Error, CustomStringConvertible, Equatable {
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case renameFailed(from: String, to: String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason):
            return "\(path): cannot create temporary file (\(reason)); check that the folder exists and is writable"
        case .writeFailed(let path, let reason):
            return "\(path): write failed (\(reason)); check free disk space"
        case .renameFailed(let from, let to, let reason):
            return "\(to): cannot move \(from) into place (\(reason))"
        }
    }
}

/// Writes whole files so that a reader (or a crash) never sees a half-written
/// file: the bytes go to a temporary file in the same folder, which is flushed
/// to disk (`fsync`) and then renamed over the destination in one step.
public enum AtomicFile {
    /// Writes `data` to `path` atomically (temporary file, fsync, rename).
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/.\(url.lastPathComponent).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw AtomicFileError.cannotCreate(path: temporary, reason: String(cString: strerror(errno)))
        }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw AtomicFileError.writeFailed(path: path, reason: failure)
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AtomicFileError.renameFailed(from: temporary, to: path, reason: reason)
        }
        // Make the rename itself durable.
        let dirfd = open(folder, O_RDONLY)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}
