#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read.
public enum FileReadError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case isFolder(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file; check the path"
        case .isFolder(let path): return "\(path): is a folder, not a file"
        case .unreadable(let path, let reason): return "\(path): cannot read (\(reason))"
        }
    }

    /// The reason alone (for errors that name the file themselves).
    public var reason: String {
        switch self {
        case .notFound: return "no such file"
        case .isFolder: return "it is a folder"
        case .unreadable(_, let reason): return reason
        }
    }
}

/// Reads a whole file into memory with plain `read(2)` calls until the end,
/// so that anything that can be read once works: regular files, pipes,
/// `/dev/stdin`, FIFOs and process substitution (`<(…)`). Errors carry the
/// system's reason (permission denied, I/O error) rather than a guess.
public enum FileContents {
    /// A read-only descriptor of `path` (the caller closes it); a missing path or a refusal as
    /// `FileReadError` with the system's reason.
    static func openForReading(_ path: String) throws(FileReadError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .notFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        return fd
    }

    /// The bytes of `path`.
    public static func read(_ path: String) throws(FileReadError) -> [UInt8] {
        let fd = try openForReading(path)
        defer { close(fd) }
        var info = stat()
        var capacity = 1 << 16
        if fstat(fd, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { throw .isFolder(path: path) }
            if info.st_mode & S_IFMT == S_IFREG { capacity = max(capacity, Int(info.st_size) + 1) }
        }
        // Read into uninitialized storage: zero-filling first is one more pass over every page
        // of a model file (it showed in `translate`'s start-up profile).
        var bytes: [UInt8] = []
        var failure: FileReadError?
        while failure == nil {
            if bytes.count == capacity { capacity *= 2 }
            let before = bytes.count
            var grown = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                MemoryAdvice.preferHugePages(UnsafeMutableRawPointer(buffer.baseAddress!), byteCount: capacity)
                if before > 0 { _ = bytes.withUnsafeBytes { memcpy(buffer.baseAddress!, $0.baseAddress!, before) } }
                var count = before
                while count < capacity {
                    let n = Glibc.read(fd, buffer.baseAddress! + count, capacity - count)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failure = .unreadable(path: path, reason: String(cString: strerror(errno)))
                        break
                    }
                    if n == 0 { break }
                    count += n
                }
                initialized = count
            }
            swap(&bytes, &grown)
            if failure != nil { break }
            if bytes.count < capacity { break }          // end of file before the buffer filled
        }
        if let failure { throw failure }
        return bytes
    }
}
