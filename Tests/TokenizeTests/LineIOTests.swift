import Foundation
import Testing
@testable import Tokenize

struct LineIOTests {
    /// Feeds `bytes` through a pipe to a LineReader and returns its lines.
    private func readLines(_ bytes: [UInt8]) throws -> (lines: [String], replaced: Int) {
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(bytes))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let reader = LineReader(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        var lines: [String] = []
        while let line = try reader.nextLine() { lines.append(line) }
        return (lines, reader.replacedSequences)
    }

    @Test func splitsLinesStripsCRAndKeepsEmptyLines() throws {
        let result = try readLines(Array("a\r\n\nb\nlast".utf8))
        #expect(result.lines == ["a", "", "b", "last"])
        #expect(result.replaced == 0)
    }

    @Test func invalidUTF8BecomesReplacementCharacterAndIsCounted() throws {
        let result = try readLines([0x61, 0xFF, 0x62, 0x0A, 0xE2, 0x82, 0x0A, 0xC3, 0xA9, 0x0A])
        #expect(result.lines == ["a\u{FFFD}b", "\u{FFFD}", "é"])
        #expect(result.replaced == 2)
    }

    @Test func longLinesAcrossManyReads() throws {
        let long = String(repeating: "가나다라마바사 ", count: 150_000)   // ~3 MB
        let result = try readLines(Array((long + "\nshort\n").utf8))
        #expect(result.lines == [long, "short"])
    }

    @Test func emptyInputGivesNoLines() throws {
        #expect(try readLines([]).lines.isEmpty)
        #expect(try readLines([0x0A]).lines == [""])
    }

    @Test func writerWritesEveryLine() throws {
        let pipe = Pipe()
        let writer = LineWriter(fileDescriptor: pipe.fileHandleForWriting.fileDescriptor)
        try writer.write(line: "one")
        try writer.write(line: "")
        try writer.write(line: "세 번째")
        try writer.flush()
        try pipe.fileHandleForWriting.close()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        #expect(String(decoding: data, as: UTF8.self) == "one\n\n세 번째\n")
    }
}
