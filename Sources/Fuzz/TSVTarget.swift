#if canImport(Glibc)
import Glibc
#endif
import Tokenize

/// `TSVCorpus.parse` and `LineReader` on arbitrary bytes. Properties: no trap;
/// both see the same number of lines; every pair has non-blank sides without
/// tab or newline, and line numbers that increase within the file; lines never
/// contain a newline.
enum TSVTarget: FuzzTarget {
    static func run(_ bytes: [UInt8]) {
        var lines = 0
        do {
            let contents = try TSVCorpus.parse(bytes, file: "fuzz.tsv")
            var previous = 0
            for pair in contents.pairs {
                guard pair.line > previous, pair.line <= contents.skipped.linesRead else { violation("line numbers out of order") }
                previous = pair.line
                for side in [pair.source, pair.target] where side.utf8.contains(where: { $0 == 0x09 || $0 == 0x0A }) {
                    violation("a side holds a tab or newline")
                }
            }
            guard contents.pairs.count + contents.skipped.skipped == contents.skipped.linesRead else {
                violation("pairs + skipped != lines read")
            }
            lines = contents.skipped.linesRead
        } catch CorpusError.noUsablePairs(_, let report) {
            lines = report.linesRead
        } catch CorpusError.emptyFile {
            return
        } catch {
            violation("unexpected error \(error)")
        }
        // The streaming reader over a pipe sees the same lines (the BOM stays in its first line).
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }   // ≤ 64 KiB: fits the pipe buffer
        close(fds[1])
        defer { close(fds[0]) }
        let reader = LineReader(fileDescriptor: fds[0])
        var count = 0
        do {
            while let line = try reader.nextLine() {
                if line.utf8.contains(0x0A) { violation("a line holds a newline") }
                count += 1
            }
        } catch { violation("reading a pipe failed: \(error)") }
        guard count == lines else { violation("LineReader read \(count) lines, TSVCorpus \(lines)") }
    }

    static var seeds: [[UInt8]] {
        ["Hello.\t안녕.\n", "a\tb\tc\r\n\n\tx\ny\t\n", "\u{FEFF}hi\tthere", "bad\u{0}\tline\n\u{FF}\t\u{FE}\n"]
            .map { Array($0.utf8) } + [[0xEF, 0xBB, 0xBF, 0x61, 0x09, 0xFF, 0x0A]]
    }
}
