#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from the line reader/writer.
public enum LineIOError: Error, CustomStringConvertible, Equatable {
    case readFailed(reason: String)
    case writeFailed(destination: String, reason: String)

    public var description: String {
        switch self {
        case .readFailed(let reason): return "cannot read input: \(reason)"
        case .writeFailed(let destination, let reason): return "\(destination): cannot write (\(reason)); check free disk space, or that the program reading the pipe is still running"
        }
    }
}

/// Reads lines from a file descriptor (stdin by default), streaming: a line is
/// returned as soon as its newline arrives, without waiting for more input.
///
/// The `\n` and a trailing `\r` are removed; invalid UTF-8 becomes U+FFFD and
/// `replacedSequences` counts the replacements (for a warning). A last line
/// without a newline is still returned. Linear time in the line length.
public final class LineReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0        // first unread byte in `buffer`
    private var scanned = 0      // bytes from `start` already known to hold no newline
    private var atEnd = false
    /// Number of invalid UTF-8 sequences replaced by U+FFFD so far.
    public private(set) var replacedSequences = 0
    /// Number of lines returned so far.
    public private(set) var linesRead = 0

    /// A reader over `fileDescriptor` (not closed by the reader).
    public init(fileDescriptor: Int32 = 0) { fd = fileDescriptor }

    /// True when `nextLine()` would return without waiting: a whole line is
    /// buffered, the input has ended, or bytes arrive within `milliseconds`.
    /// A regular file is always ready; a pipe or terminal that stays silent
    /// for that long is not (the caller can then act on what it has, e.g.
    /// translate the lines read so far).
    public func isReady(waitingAtMost milliseconds: Int32) -> Bool {
        if atEnd { return true }
        let hasLine = buffer.withUnsafeBufferPointer { b in
            b[(start + scanned)...].contains(0x0A)
        }
        if hasLine { return true }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&descriptor, 1, milliseconds)
            if n < 0 && errno == EINTR { continue }
            return n != 0   // data, end of input, or an error that `nextLine()` will report
        }
    }

    /// The next line, or nil at the end of input.
    public func nextLine() throws -> String? {
        while true {
            let newline: Int? = buffer.withUnsafeBufferPointer { b in
                var i = start + scanned
                while i < b.count {
                    if b[i] == 0x0A { return i }
                    i += 1
                }
                return nil
            }
            if let newline {
                let line = decode(from: start, to: newline)
                start = newline + 1
                scanned = 0
                return line
            }
            scanned = buffer.count - start
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = decode(from: start, to: buffer.count)
                start = buffer.count
                scanned = 0
                return line
            }
            try fill()
        }
    }

    private func fill() throws {
        if start > 0 && start * 2 >= buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        let chunk = 1 << 16
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress! + old, chunk) }
        } while n < 0 && errno == EINTR
        if n < 0 {
            buffer.removeLast(chunk)
            throw LineIOError.readFailed(reason: String(cString: strerror(errno)))
        }
        buffer.removeLast(chunk - n)
        if n == 0 { atEnd = true }
    }

    private func decode(from: Int, to: Int) -> String {
        linesRead += 1
        var end = to
        if end > from && buffer[end - 1] == 0x0D { end -= 1 }
        let bytes = buffer[from..<end]
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): scalars.append(s)
            case .error:
                scalars.append("\u{FFFD}")
                replacedSequences += 1
            case .emptyInput: break loop
            }
        }
        return String(scalars)
    }
}

/// Writes lines to a file descriptor (stdout by default). When the output is
/// a terminal, pipe or socket every line is written at once (streaming);
/// otherwise lines are buffered and written in 64 KiB blocks. Call `flush()`
/// at the end: every write error (a full disk, a closed pipe, an I/O error)
/// throws `LineIOError.writeFailed` naming the destination.
public final class LineWriter {
    private let fd: Int32
    private let name: String
    private var buffer: [UInt8] = []
    private let flushEachLine: Bool

    /// A writer over `fileDescriptor` (not closed by the writer); `name` names it in errors.
    public init(fileDescriptor: Int32 = 1, name: String = "standard output") {
        fd = fileDescriptor
        self.name = name
        var info = stat()
        if fstat(fileDescriptor, &info) == 0 {
            let type = info.st_mode & S_IFMT
            flushEachLine = isatty(fileDescriptor) != 0 || type == S_IFIFO || type == S_IFSOCK
        } else {
            flushEachLine = true
        }
        buffer.reserveCapacity(1 << 16)
    }

    /// A writer over an opened output (its name is used in errors).
    public convenience init(output: OutputFile) {
        self.init(fileDescriptor: output.fileDescriptor, name: output.name)
    }

    deinit { try? flush() }

    /// Writes `line` followed by a newline.
    public func write(line: String) throws {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if flushEachLine || buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes out everything buffered.
    public func flush() throws {
        var offset = 0
        defer { buffer.removeAll(keepingCapacity: true) }
        while offset < buffer.count {
            let n = buffer.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LineIOError.writeFailed(destination: name, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }
}
