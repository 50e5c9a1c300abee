import Foundation
import Testing

/// `seq2seq clean` end to end on a corrupted copy of good pairs: every kind of damage is reported
/// with its count, swapped columns come out fixed, and bad lines stop the run with FILE:LINE
/// unless `--lenient` skips and counts them.
@Suite struct CleanCLITests {
    static let good = [
        "Where is the station?\t역이 어디에 있어요?", "I like coffee.\t저는 커피를 좋아해요.",
        "See you tomorrow.\t내일 봐요.", "Thank you very much.\t정말 고마워요.",
        "The weather is nice today.\t오늘 날씨가 좋네요.", "How much is this?\t이거 얼마예요?",
    ]

    /// The good pairs, plus 2 swapped, 3 exact and 1 normalized duplicate, 2 wrong-script lines,
    /// 1 copy, 1 empty side and 1 length outlier.
    static let corrupted = good + [
        "감사합니다.\tThank you.", "안녕히 가세요.\tGoodbye.",                             // swapped: fixed
        good[0], good[1], good[1],                                                       // exact duplicates
        "i like  COFFEE.\t저는 커피를 좋아해요.",                                           // normalized duplicate
        "Merci beaucoup.\tMerci beaucoup, mon ami.", "Good night.\tBonne nuit.",          // wrong script
        "print(x)\tprint(x)",                                                            // copy
        "Hello.\t ",                                                                     // empty side
        "This sentence is very much longer than the one word on its other side.\t네.",     // length ratio
    ]

    final class Workspace {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clean-cli-" + UUID().uuidString).path
        init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        func path(_ name: String) -> String { folder + "/" + name }
        func write(_ data: Data, _ name: String) throws { try data.write(to: URL(fileURLWithPath: path(name))) }
    }

    @Test func reportsEachKindWithItsCount() throws {
        let w = try Workspace()
        try w.write(Data((Self.corrupted.joined(separator: "\n") + "\n").utf8), "pairs.tsv")
        let result = try BinaryRunner.run("seq2seq", ["clean", w.path("pairs.tsv"), "-o", w.path("clean.tsv")])
        #expect(result.status == 0, "\(result.errors)")
        let summary = result.errors
        for expected in ["\(Self.corrupted.count) lines", "kept 8 (2 swapped columns fixed)", "dropped 9",
                         "1 empty", "1 copy", "2 wrong script", "1 length ratio", "3 duplicate", "1 normalized duplicate"] {
            #expect(summary.contains(expected), "summary lacks \(expected): \(summary)")
        }
        let kept = try String(contentsOfFile: w.path("clean.tsv"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(kept == Self.good + ["Thank you.\t감사합니다.", "Goodbye.\t안녕히 가세요."])
    }

    @Test func malformedLinesStopWithFileAndLineOrAreCountedWhenLenient() throws {
        let w = try Workspace()
        var data = Data((Self.good[0] + "\n" + "only one column\n" + Self.good[1] + "\n").utf8)
        data += Data([0x48, 0x69, 0xFF, 0x09]) + Data("안녕\n".utf8)                     // invalid UTF-8 on line 4
        data += Data("a\tb\tc\n".utf8)                                                  // three columns on line 5
        try w.write(data, "bad.tsv")
        let strict = try BinaryRunner.run("seq2seq", ["clean", w.path("bad.tsv"), "-o", w.path("out.tsv")])
        #expect(strict.status != 0)
        #expect(strict.errors.contains("\(w.path("bad.tsv")):2:"), "\(strict.errors)")
        #expect(!FileManager.default.fileExists(atPath: w.path("out.tsv")), "no partial output")
        let lenient = try BinaryRunner.run("seq2seq", ["clean", "--lenient", w.path("bad.tsv"), "-o", w.path("out.tsv")])
        #expect(lenient.status == 0, "\(lenient.errors)")
        #expect(lenient.errors.contains("kept 2"), "\(lenient.errors)")
        #expect(lenient.errors.contains("skipped 3 malformed: 1 invalid UTF-8, 2 wrong number of columns"), "\(lenient.errors)")
        let missing = try BinaryRunner.run("seq2seq", ["clean", w.path("nope.tsv")])
        #expect(missing.status != 0 && missing.errors.contains("nope.tsv"))
    }
}
