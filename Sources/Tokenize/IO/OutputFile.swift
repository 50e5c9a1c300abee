#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Where a command's output goes, chosen by what the path is — so that `-o`
/// never destroys what it points at and a half-written file is never left in
/// place:
///
/// | destination | how it is written |
/// |---|---|
/// | standard output | written through; errors reported |
/// | a new path, or an existing regular file | a temporary `.NAME.PID.tmp` in the same folder, fsynced and renamed over it at `commit()`; removed on failure, on `discard()` and on a fatal signal (`PendingFiles`); an existing file's permissions are kept |
/// | a symbolic link | followed: its target is replaced atomically as above when it is a regular file, written through otherwise; the link itself stays |
/// | a device, FIFO or anything under `/dev/` or `/proc/` | opened and written through (never replaced) |
/// | a folder, an empty path, a path in a missing folder | refused before anything is written |
///
/// Every write error (`ENOSPC`, `EPIPE`, `EIO`, …) throws `AtomicFileError.writeFailed`
/// naming the destination.
public final class OutputFile {
    /// The destination as given (`standard output` for standard output), for messages.
    public let name: String
    /// Descriptor to write to.
    public let fileDescriptor: Int32
    /// True when the bytes go to a temporary file renamed into place at `commit()`.
    public var isAtomic: Bool { temporary != nil }

    private let temporary: String?     // the temporary file (atomic mode)
    private let destination: String    // the path renamed over (atomic mode)
    private let ownsDescriptor: Bool
    private var pendingSlot: Int?
    private var finished = false

    /// Standard output, written through.
    public static func standardOutput() -> OutputFile { OutputFile() }

    private init() {
        name = "standard output"
        fileDescriptor = STDOUT_FILENO
        temporary = nil
        destination = ""
        ownsDescriptor = false
    }

    /// Opens `path` for writing according to the rules above.
    public init(path: String) throws {
        guard !path.isEmpty else { throw AtomicFileError.emptyPath }
        name = path
        var info = stat()
        var target = path                 // the file to replace atomically
        var writeThrough = path.hasPrefix("/dev/") || path.hasPrefix("/proc/")
        if !writeThrough, lstat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFLNK {
                if let resolved = realpath(path, nil) {
                    target = String(cString: resolved)
                    free(resolved)
                    if stat(target, &info) != 0 || info.st_mode & S_IFMT != S_IFREG { writeThrough = true }
                    if info.st_mode & S_IFMT == S_IFDIR { throw AtomicFileError.isFolder(path: path) }
                } else {
                    writeThrough = true   // a dangling link: open() creates its target
                }
            } else if info.st_mode & S_IFMT == S_IFDIR {
                throw AtomicFileError.isFolder(path: path)
            } else if info.st_mode & S_IFMT != S_IFREG {
                writeThrough = true
            }
        } else if !writeThrough {
            if path.hasSuffix("/") { throw AtomicFileError.isFolder(path: path) }
            let folder = OutputFile.folder(of: path)
            var folderInfo = stat()
            if stat(folder, &folderInfo) == 0 ? folderInfo.st_mode & S_IFMT != S_IFDIR : (errno == ENOENT || errno == ENOTDIR) {
                throw AtomicFileError.folderMissing(path: path, folder: folder)
            }
        }
        if writeThrough {
            // `/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`: write to the open descriptor itself
            // (opening the path again would truncate or overwrite a file the shell opened to append).
            let fd = OutputFile.inheritedDescriptor(path).map { dup($0) } ?? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw AtomicFileError.cannotOpen(path: path, reason: OutputFile.lastError()) }
            var opened = stat()
            if fstat(fd, &opened) == 0, opened.st_mode & S_IFMT == S_IFDIR {
                close(fd)
                throw AtomicFileError.isFolder(path: path)
            }
            fileDescriptor = fd
            temporary = nil
            destination = path
            ownsDescriptor = true
            return
        }
        let temporaryPath = OutputFile.folder(of: target) + "/." + OutputFile.baseName(of: target) + ".\(getpid()).tmp"
        unlink(temporaryPath)   // a leftover of a killed run with the same pid
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw AtomicFileError.cannotCreate(path: temporaryPath, reason: OutputFile.lastError()) }
        pendingSlot = PendingFiles.register(temporaryPath)
        var existing = stat()
        if stat(target, &existing) == 0, existing.st_mode & S_IFMT == S_IFREG {
            fchmod(fd, existing.st_mode & 0o7777)
        }
        fileDescriptor = fd
        temporary = temporaryPath
        destination = target
        ownsDescriptor = true
    }

    deinit { if !finished { discard() } }

    /// Writes all of `bytes`, retrying short writes and `EINTR`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fileDescriptor, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFileError.writeFailed(path: name, reason: OutputFile.lastError())
            }
            offset += n
        }
    }

    /// Makes the output final: for an atomic file fsync, rename over the
    /// destination and fsync the folder; otherwise close (standard output stays open).
    public func commit() throws {
        guard !finished else { return }
        finished = true
        guard let temporary else {
            if ownsDescriptor {
                var info = stat()
                if fstat(fileDescriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, fsync(fileDescriptor) != 0 {
                    let reason = OutputFile.lastError()
                    close(fileDescriptor)
                    throw AtomicFileError.writeFailed(path: name, reason: reason)
                }
                if close(fileDescriptor) != 0 && errno != EINTR {
                    throw AtomicFileError.writeFailed(path: name, reason: OutputFile.lastError())
                }
            }
            return
        }
        defer { PendingFiles.unregister(pendingSlot) }
        if fsync(fileDescriptor) != 0 {
            let reason = OutputFile.lastError()
            close(fileDescriptor)
            unlink(temporary)
            throw AtomicFileError.writeFailed(path: name, reason: reason)
        }
        if close(fileDescriptor) != 0 && errno != EINTR {
            let reason = OutputFile.lastError()
            unlink(temporary)
            throw AtomicFileError.writeFailed(path: name, reason: reason)
        }
        if rename(temporary, destination) != 0 {
            let reason = OutputFile.lastError()
            unlink(temporary)
            throw AtomicFileError.renameFailed(from: temporary, to: destination, reason: reason)
        }
        // Make the rename itself durable.
        let folderDescriptor = open(OutputFile.folder(of: destination), O_RDONLY | O_CLOEXEC)
        if folderDescriptor >= 0 { fsync(folderDescriptor); close(folderDescriptor) }
    }

    /// Abandons the output: removes the temporary file (the destination is
    /// untouched) or closes the device. Safe to call more than once.
    public func discard() {
        guard !finished else { return }
        finished = true
        if ownsDescriptor { close(fileDescriptor) }
        if let temporary {
            unlink(temporary)
            PendingFiles.unregister(pendingSlot)
        }
    }

    /// The descriptor named by `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` or `/proc/self/fd/N`, if it is open.
    static func inheritedDescriptor(_ path: String) -> Int32? {
        let named: [String: Int32] = ["/dev/stdout": 1, "/dev/stderr": 2]
        var fd = named[path]
        for prefix in ["/dev/fd/", "/proc/self/fd/"] where fd == nil && path.hasPrefix(prefix) {
            fd = Int32(path.dropFirst(prefix.count))
        }
        guard let fd, fcntl(fd, F_GETFD) >= 0 else { return nil }
        return fd
    }

    /// The folder part of `path` (`.` for a bare name, `/` for a file in the root).
    public static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    /// The last component of `path`.
    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
