#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file's bytes mapped into memory (`mmap`, private and copy-on-write), for large files
/// that are read in place: a model's weights come straight from the page cache, without the
/// zero-filled buffer and the copy of `FileContents.read` (most of `translate`'s start-up).
/// Writing through `mutableBytes` changes this process's copy only, never the file.
///
/// Files that cannot be mapped (pipes, `/dev/stdin`, an empty file) are read with
/// `FileContents.read` instead. The mapping lives as long as this object. Our writers replace
/// files by renaming (`AtomicFile`), which leaves a mapped file's bytes intact.
public final class MappedFile: @unchecked Sendable {
    /// The file's bytes (`count` = the file's size when it was opened).
    public let bytes: UnsafeRawBufferPointer
    /// The same bytes, writable (copy-on-write: the file never changes).
    public var mutableBytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(mutating: bytes) }
    private let mapped: Bool

    /// Maps (or reads) `path`.
    public init(_ path: String) throws(FileReadError) {
        let fd = try FileContents.openForReading(path)
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { throw .isFolder(path: path) }
        let size = Int(info.st_size)
        if info.st_mode & S_IFMT == S_IFREG, size > 0,
           let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), base != MAP_FAILED {
            bytes = UnsafeRawBufferPointer(start: base, count: size)
            mapped = true
            return
        }
        let contents = try FileContents.read(path)
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(contents.count, 1), alignment: 64)
        contents.withUnsafeBytes { source in
            if let from = source.baseAddress, let to = copy.baseAddress { to.copyMemory(from: from, byteCount: source.count) }
        }
        bytes = UnsafeRawBufferPointer(start: copy.baseAddress, count: contents.count)
        mapped = false
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
        } else {
            UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
        }
    }
}
