import Foundation
import Testing
@testable import Tokenize

struct CorpusTests {
    private func parse(_ text: [UInt8], strict: Bool = false) throws -> CorpusContents {
        try TSVCorpus.parse(text, file: "t.tsv", strict: strict)
    }

    @Test func readsColumnsAndIgnoresExtraOnes() throws {
        let result = try parse(Array("a\tb\n c \t d\textra\tmore\n".utf8))
        #expect(result.pairs == [SentencePair(source: "a", target: "b", line: 1),
                                 SentencePair(source: " c ", target: " d", line: 2)])
        #expect(result.skipped.isEmpty)
    }

    @Test func bomAndCRLFAreAcceptedSilently() throws {
        let result = try parse([0xEF, 0xBB, 0xBF] + Array("hello\t안녕\r\nbye\t잘 가\r\nlast\tline".utf8))
        #expect(result.pairs.map(\.source) == ["hello", "bye", "last"])
        #expect(result.pairs.map(\.target) == ["안녕", "잘 가", "line"])
        #expect(result.skipped.isEmpty)
    }

    @Test func badLinesAreSkippedAndCountedPerReason() throws {
        var bytes = Array("ok\tfine\nno tab here\n\tempty source\nempty target\t  \n".utf8)
        bytes += [0x62, 0x61, 0x64, 0xFF, 0x09, 0x78, 0x0A]        // invalid UTF-8
        bytes += Array("\nok2\tfine2\nx\n".utf8)
        let result = try parse(bytes)
        #expect(result.pairs.map(\.line) == [1, 7])
        let report = result.skipped
        #expect(report.counts == [.tooFewColumns: 2, .emptySource: 1, .emptyTarget: 1, .invalidUTF8: 1, .emptyLine: 1])
        #expect(report.firstLines[.tooFewColumns] == [2, 8])
        #expect(report.skipped == 6)
        #expect(report.linesRead == 8)
        #expect(report.description.hasPrefix("t.tsv: skipped 6 of 8 lines: 1 invalid UTF-8 (line 5), 2 fewer than two tab-separated columns (lines 2, 8)"))
    }

    @Test func reportKeepsOnlyFirstFewLineNumbers() throws {
        let text = String(repeating: "bad\n", count: 20) + "a\tb\n"
        let report = try parse(Array(text.utf8)).skipped
        #expect(report.counts[.tooFewColumns] == 20)
        #expect(report.firstLines[.tooFewColumns] == [1, 2, 3, 4, 5])
        #expect(report.description.contains("…"))
    }

    @Test(arguments: [
        ("a\tb\nbroken\n", 2, "fewer than two tab-separated columns"),
        ("a\tb\n\t\n", 2, "empty source side"),
        ("a\tb\nc\td\ne\t\n", 3, "empty target side"),
    ])
    func strictStopsAtFirstBadLine(text: String, line: Int, reason: String) throws {
        #expect(throws: CorpusError.malformedLine(file: "t.tsv", line: line, reason: reason)) {
            try parse(Array(text.utf8), strict: true)
        }
        let error = CorpusError.malformedLine(file: "t.tsv", line: line, reason: reason)
        #expect(error.description == "t.tsv:\(line): \(reason)")
    }

    @Test func missingEmptyAndAllBadFilesThrowNamingTheFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: CorpusError.fileNotFound(file: folder + "/missing.tsv")) {
            try TSVCorpus.read(path: folder + "/missing.tsv")
        }
        #expect(FileManager.default.createFile(atPath: folder + "/empty.tsv", contents: Data()))
        #expect(throws: CorpusError.emptyFile(file: folder + "/empty.tsv")) { try TSVCorpus.read(path: folder + "/empty.tsv") }
        #expect(FileManager.default.createFile(atPath: folder + "/bom.tsv", contents: Data([0xEF, 0xBB, 0xBF])))
        #expect(throws: CorpusError.emptyFile(file: folder + "/bom.tsv")) { try TSVCorpus.read(path: folder + "/bom.tsv") }
        #expect(FileManager.default.createFile(atPath: folder + "/bad.tsv", contents: Data("x\ny\n".utf8)))
        do {
            _ = try TSVCorpus.read(path: folder + "/bad.tsv")
            Issue.record("expected noUsablePairs")
        } catch let error as CorpusError {
            guard case .noUsablePairs(let file, let report) = error else { Issue.record("wrong error \(error)"); return }
            #expect(file == folder + "/bad.tsv")
            #expect(report.counts[.tooFewColumns] == 2)
            #expect(error.description.contains("bad.tsv"))
        }
    }
}
