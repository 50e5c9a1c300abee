#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a line could not be read as a pair at all (an input error, not a filter).
public enum MalformedLineKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The line has invalid UTF-8 bytes.
    case invalidUTF8 = "invalid UTF-8"
    /// The line does not have exactly two tab-separated columns.
    case wrongColumnCount = "wrong number of columns"

    public var description: String { rawValue }
}

/// What `CorpusCleaner.clean` did, for the summary line.
public struct CleaningSummary: Sendable, Equatable, CustomStringConvertible {
    /// The input, as named in messages.
    public var file: String
    /// Lines read.
    public var linesRead = 0
    /// Pairs written.
    public var kept = 0
    /// Kept pairs whose columns were exchanged (Korean<TAB>English fixed).
    public var swapped = 0
    /// Pairs dropped, per filter.
    public var dropped: [PairDropReason: Int] = [:]
    /// Malformed lines skipped (`lenient` only), per kind.
    public var malformed: [MalformedLineKind: Int] = [:]

    /// An empty summary for `file`.
    public init(file: String) { self.file = file }

    /// One line, e.g. `pairs.tsv: 120 lines, kept 110 (2 swapped columns fixed); dropped 7:
    /// 3 duplicate, 4 wrong script; skipped 3 malformed: 3 wrong number of columns`.
    public var description: String {
        let drops = PairDropReason.allCases.compactMap { reason in dropped[reason].map { "\($0) \(reason)" } }
        let bad = MalformedLineKind.allCases.compactMap { kind in malformed[kind].map { "\($0) \(kind)" } }
        var text = "\(file): \(linesRead) lines, kept \(kept) (\(swapped) swapped columns fixed)"
        text += "; dropped \(dropped.values.reduce(0, +))" + (drops.isEmpty ? "" : ": " + drops.joined(separator: ", "))
        if !bad.isEmpty { text += "; skipped \(malformed.values.reduce(0, +)) malformed: " + bad.joined(separator: ", ") }
        return text
    }
}

/// Streams an english<TAB>korean corpus through a `PairFilter`: one line in
/// memory at a time (plus the filter's hash sets), kept pairs written as they
/// come. Lines that are not two tab-separated UTF-8 columns throw
/// `CorpusError.malformedLine` (`FILE:LINE: reason`), or with `lenient` are
/// skipped and counted. A UTF-8 BOM on the first line and CRLF line ends are accepted.
public struct CorpusCleaner {
    /// The per-pair filters.
    public let filter: PairFilter
    /// Skip malformed lines instead of throwing.
    public var lenient: Bool

    /// A cleaner applying `filter`.
    public init(filter: PairFilter, lenient: Bool = false) {
        self.filter = filter
        self.lenient = lenient
    }

    /// Opens `path` for a `LineReader`; throws `CorpusError.fileNotFound` or `.unreadable`.
    /// The caller closes the descriptor.
    public static func openInput(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw CorpusError.fileNotFound(file: path) }
            throw CorpusError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            close(fd)
            throw CorpusError.unreadable(file: path, reason: "it is a folder")
        }
        return fd
    }

    /// Reads every line of `reader` (named `file` in messages and the summary), writes each
    /// kept pair as `english<TAB>korean` to `output`, and each dropped or skipped line as
    /// `reason<TAB>line` to `rejected` when given. Throws `CorpusError.malformedLine` (not
    /// `lenient`), `LineIOError` for read or write failures.
    public func clean(_ reader: LineReader, file: String, output: LineWriter,
                      rejected: LineWriter? = nil) throws -> CleaningSummary {
        var summary = CleaningSummary(file: file)
        var replacedBefore = reader.replacedSequences
        while var line = try reader.nextLine() {
            summary.linesRead += 1
            let number = reader.linesRead
            if number == 1 && line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            let invalid = reader.replacedSequences != replacedBefore
            replacedBefore = reader.replacedSequences
            let columns = line.utf8.split(separator: 0x09, omittingEmptySubsequences: false)
            var problem: (MalformedLineKind, String)?
            if invalid {
                problem = (.invalidUTF8, MalformedLineKind.invalidUTF8.rawValue)
            } else if columns.count != 2 && !(line.isEmpty && filter.settings.dropEmpty) {
                problem = (.wrongColumnCount, "expected 2 tab-separated columns (english<TAB>korean), found \(columns.count)")
            }
            if let (kind, reason) = problem {
                guard lenient else { throw CorpusError.malformedLine(file: file, line: number, reason: reason) }
                summary.malformed[kind, default: 0] += 1
                try rejected?.write(line: kind.rawValue + "\t" + line)
                continue
            }
            let verdict = line.isEmpty ? .drop(.empty)
                : filter.check(first: String(Substring(columns[0])), second: String(Substring(columns[1])))
            switch verdict {
            case .keep(let english, let korean, let swapped):
                summary.kept += 1
                if swapped { summary.swapped += 1 }
                try output.write(line: english + "\t" + korean)
            case .drop(let reason):
                summary.dropped[reason, default: 0] += 1
                try rejected?.write(line: reason.rawValue + "\t" + line)
            }
        }
        try output.flush()
        try rejected?.flush()
        return summary
    }
}
