import Foundation

/// One usable line of a `source<TAB>target` corpus.
public struct SentencePair: Sendable, Equatable {
    /// Column 1.
    public var source: String
    /// Column 2.
    public var target: String
    /// 1-based line number in the file.
    public var line: Int

    /// A pair read from `line` (1-based).
    public init(source: String, target: String, line: Int) {
        self.source = source
        self.target = target
        self.line = line
    }
}

/// Why a corpus line was skipped.
public enum CorpusLineProblem: String, Sendable, CaseIterable, CustomStringConvertible {
    case invalidUTF8 = "invalid UTF-8"
    case tooFewColumns = "fewer than two tab-separated columns"
    case emptySource = "empty source side"
    case emptyTarget = "empty target side"
    case emptyLine = "empty line"

    public var description: String { rawValue }
}

/// Lines skipped while reading a corpus: counts per reason and the first few
/// line numbers of each.
public struct CorpusSkipReport: Sendable, Equatable, CustomStringConvertible {
    /// How many line numbers are kept per reason.
    public static let examplesKept = 5
    /// The file read.
    public var file: String
    /// Lines read (excluding a final empty line after the last newline).
    public var linesRead = 0
    /// Number of skipped lines per reason.
    public var counts: [CorpusLineProblem: Int] = [:]
    /// First `examplesKept` 1-based line numbers per reason.
    public var firstLines: [CorpusLineProblem: [Int]] = [:]

    /// An empty report for `file`.
    public init(file: String) { self.file = file }

    /// Total number of skipped lines.
    public var skipped: Int { counts.values.reduce(0, +) }
    /// True when nothing was skipped.
    public var isEmpty: Bool { skipped == 0 }

    mutating func record(_ problem: CorpusLineProblem, line: Int) {
        counts[problem, default: 0] += 1
        if firstLines[problem, default: []].count < CorpusSkipReport.examplesKept {
            firstLines[problem, default: []].append(line)
        }
    }

    /// One summary line, e.g. `data.tsv: skipped 3 of 120 lines: 2 fewer than
    /// two tab-separated columns (lines 4, 9), 1 invalid UTF-8 (line 7)`.
    public var description: String {
        var parts: [String] = []
        for problem in CorpusLineProblem.allCases {
            guard let n = counts[problem], n > 0 else { continue }
            let lines = firstLines[problem, default: []].map(String.init).joined(separator: ", ")
            let more = n > CorpusSkipReport.examplesKept ? ", …" : ""
            parts.append("\(n) \(problem) (line\(n == 1 ? "" : "s") \(lines)\(more))")
        }
        return "\(file): skipped \(skipped) of \(linesRead) lines: " + parts.joined(separator: ", ")
    }
}

/// Errors from reading a corpus. Descriptions say what to do next.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    /// The corpus file does not exist.
    case fileNotFound(file: String)
    /// The file exists but cannot be read (folder, permissions, I/O error).
    case unreadable(file: String, reason: String)
    /// The file has no bytes (a lone BOM counts as empty).
    case emptyFile(file: String)
    /// `--strict`: the first bad line. Description: `FILE:LINE: reason`.
    case malformedLine(file: String, line: Int, reason: String)
    /// Every line was bad.
    case noUsablePairs(file: String, report: CorpusSkipReport)

    public var description: String {
        switch self {
        case .fileNotFound(let file): return "\(file): no such file; check the path"
        case .unreadable(let file, let reason): return "\(file): cannot read (\(reason))"
        case .emptyFile(let file): return "\(file): the file is empty; expected lines of source<TAB>target"
        case .malformedLine(let file, let line, let reason): return "\(file):\(line): \(reason)"
        case .noUsablePairs(let file, let report): return "\(file): no usable source<TAB>target lines (\(report)); check the file format"
        }
    }
}

/// What `TSVCorpus.read` returns.
public struct CorpusContents: Sendable {
    /// The usable pairs in file order.
    public var pairs: [SentencePair]
    /// The skipped lines (empty when `strict` or when all lines were good).
    public var skipped: CorpusSkipReport
}

/// Reader for `source<TAB>target` files (extra columns ignored).
///
/// A UTF-8 BOM at the start and CRLF line ends are accepted silently. Bad lines
/// (invalid UTF-8, fewer than two columns, an empty or all-space side, an empty
/// line) are skipped and counted, or with `strict` the first one throws
/// `CorpusError.malformedLine`.
public enum TSVCorpus {
    /// Reads the whole file. Throws `CorpusError` for a missing, unreadable or
    /// empty file, for the first bad line when `strict`, and when no line is usable.
    /// The file is read once, whole, so a pipe, `/dev/stdin`, a FIFO or `<(…)` works too.
    public static func read(path: String, strict: Bool = false) throws -> CorpusContents {
        try parse(readBytes(path: path), file: path, strict: strict)
    }

    /// The bytes of a corpus file (read once; works for pipes), with `CorpusError`s.
    public static func readBytes(path: String) throws -> [UInt8] {
        do {
            return try FileContents.read(path)
        } catch {
            switch error {
            case .notFound: throw CorpusError.fileNotFound(file: path)
            case .isFolder, .unreadable: throw CorpusError.unreadable(file: path, reason: error.reason)
            }
        }
    }

    /// Parses file contents already in memory; `file` names it in messages.
    public static func parse(_ bytes: [UInt8], file: String, strict: Bool = false) throws -> CorpusContents {
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        guard bytes.count > start else { throw CorpusError.emptyFile(file: file) }
        var pairs: [SentencePair] = []
        var report = CorpusSkipReport(file: file)
        var lineNumber = 0
        try bytes.withUnsafeBufferPointer { all in
            var lineStart = start
            while lineStart < all.count {
                var lineEnd = lineStart
                while lineEnd < all.count && all[lineEnd] != 0x0A { lineEnd += 1 }
                let next = lineEnd + 1
                var end = lineEnd
                if end > lineStart && all[end - 1] == 0x0D { end -= 1 }
                lineNumber += 1
                defer { lineStart = next }
                let line = UnsafeBufferPointer(rebasing: all[lineStart..<end])
                func bad(_ problem: CorpusLineProblem) throws {
                    if strict { throw CorpusError.malformedLine(file: file, line: lineNumber, reason: problem.rawValue) }
                    report.record(problem, line: lineNumber)
                }
                if line.isEmpty { try bad(.emptyLine); continue }
                guard let tab1 = line.firstIndex(of: 0x09) else { try bad(.tooFewColumns); continue }
                let rest = line[(tab1 + 1)...]
                let tab2 = rest.firstIndex(of: 0x09) ?? line.endIndex
                guard let source = String(validating: line[..<tab1], as: UTF8.self),
                      let target = String(validating: line[(tab1 + 1)..<tab2], as: UTF8.self) else {
                    try bad(.invalidUTF8); continue
                }
                if isBlank(source) { try bad(.emptySource); continue }
                if isBlank(target) { try bad(.emptyTarget); continue }
                pairs.append(SentencePair(source: source, target: target, line: lineNumber))
            }
        }
        report.linesRead = lineNumber
        if pairs.isEmpty { throw CorpusError.noUsablePairs(file: file, report: report) }
        return CorpusContents(pairs: pairs, skipped: report)
    }

    /// True if `text` has no characters other than whitespace and invisible format characters.
    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.properties.isWhitespace || $0.properties.generalCategory == .format || $0.properties.generalCategory == .control }
    }
}
