import Foundation
import Testing

/// End to end through the built `seq2seq` binary: vocab → tokenize → detokenize,
/// normalize, bench, and the bad-input cases of the issue.
@Suite(.serialized)
struct TokenizeCLITests {
    /// A temporary folder with a small corpus `pairs.tsv`.
    final class Workspace {
        let folder: String
        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("tok-cli-" + UUID().uuidString).path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var lines: [String] = []
            let english = ["I like tea.", "She likes green tea!", "It's raining at 3.14 o'clock.",
                           "Visit https://example.com/a?b=1 today.", "Mail me@example.co.kr, please.",
                           "Ｆｕｌｌ ｗｉｄｔｈ ① ㈜", "Emoji 👩🏽‍💻 and 👍🏿 work."]
            let korean = ["나는 차를 좋아해요.", "그녀는 녹차를 좋아해요!", "3.14시에 비가 와요.",
                          "오늘 https://example.com/a?b=1 에 가 보세요.", "me@example.co.kr 로 메일 주세요.",
                          "iPhone을 3월에 샀어요 ㅋㅋ", "이모지 👩🏽‍💻 와 👍🏿 도 돼요."]
            for _ in 0..<4 { for (e, k) in zip(english, korean) { lines.append("\(e)\t\(k)") } }
            try write(lines.joined(separator: "\n") + "\n", to: "pairs.tsv")
        }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        func path(_ name: String) -> String { folder + "/" + name }
        func write(_ text: String, to name: String) throws { try write(Data(text.utf8), to: name) }
        func write(_ data: Data, to name: String) throws { try data.write(to: URL(fileURLWithPath: path(name))) }
        /// Learns `Vocab/v` from pairs.tsv and checks it worked.
        func learnVocabulary(_ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let prefix = path("Vocab/v")
            let result = try seq2seq(["vocab", path("pairs.tsv"), "--size", "400", "--output", prefix] + extra)
            #expect(result.status == 0, "\(result.errors)", sourceLocation: sourceLocation)
            return prefix
        }
    }

    static func seq2seq(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
        try BinaryRunner.run("seq2seq", arguments, stdin: Data(stdin.utf8))
    }
    func seq2seq(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
        try Self.seq2seq(arguments, stdin: stdin)
    }

    static let probe = [
        "I like tea.", "", "Ｆｕｌｌ－ｗｉｄｔｈ ① ㈜ ㅋㅋ", "👩🏽‍💻 👨‍👩‍👧 e\u{301}", "iPhone을 3월 3.14 It's",
        "https://example.com/a?b=1 me@example.co.kr", "tab\there\u{00A0}nbsp\u{3000}ideo\u{2028}sep",
        "zero\u{200B}width\u{FEFF}", "  spaced   out  ", "unseen 猫 🦀 Ω ▁", "",
    ]

    @Test func vocabTokenizeDetokenizeRoundTrip() throws {
        let w = try Workspace()
        let prefix = try w.learnVocabulary()
        for name in ["v.meta", "v.source.vocab", "v.source.merges", "v.target.vocab", "v.target.merges"] {
            #expect(FileManager.default.fileExists(atPath: w.path("Vocab/" + name)), "\(name) missing")
        }
        let input = Self.probe.joined(separator: "\n") + "\n"
        let normalized = try seq2seq(["normalize"], stdin: input)
        #expect(normalized.status == 0)
        #expect(normalized.lines.count == Self.probe.count)
        for side in ["source", "target"] {
            for ids in [false, true] {
                let flags = ["--vocab", prefix, "--side", side] + (ids ? ["--ids"] : [])
                let tokens = try seq2seq(["tokenize"] + flags, stdin: input)
                #expect(tokens.status == 0, "\(tokens.errors)")
                try #require(tokens.lines.count == Self.probe.count)
                #expect(tokens.lines[1] == "" && tokens.lines[10] == "")
                if ids {
                    #expect(tokens.lines.joined(separator: " ").split(separator: " ").allSatisfy { Int($0) != nil && Int($0) != 1 })
                } else {
                    #expect(tokens.lines[0].hasPrefix("▁"))
                }
                let back = try seq2seq(["detokenize"] + flags, stdin: tokens.output)
                #expect(back.status == 0)
                #expect(back.output == normalized.output, "side \(side), ids \(ids)")
            }
        }
    }

    @Test func jointAndCharacterModes() throws {
        let w = try Workspace()
        let joint = try w.learnVocabulary(["--joint", "--normalization", "nfc"])
        let meta = try String(contentsOfFile: joint + ".meta", encoding: .utf8)
        #expect(meta.contains("joint: true") && meta.contains("normalization: nfc"))
        #expect(FileManager.default.fileExists(atPath: w.path("Vocab/v.joint.vocab")))
        let chars = try Self.seq2seq(["vocab", w.path("pairs.tsv"), "--char", "--output", w.path("Vocab/c")])
        #expect(chars.status == 0)
        let merges = try String(contentsOfFile: w.path("Vocab/c.source.merges"), encoding: .utf8)
        #expect(merges.split(separator: "\n").count == 1)   // header only
        let tokens = try seq2seq(["tokenize", "--vocab", w.path("Vocab/c"), "--side", "target"], stdin: "차를\n")
        #expect(tokens.output == "▁ 차 를\n")
    }

    static let tatoeba = BinaryRunner.packageRoot.deletingLastPathComponent().path + "/shared/corpora/tatoeba_manythings_kor"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: tatoeba + "/train.tsv"),
                   "../shared/corpora/tatoeba_manythings_kor is not beside the package"))
    func tatoebaEndToEnd() throws {
        let root = Self.tatoeba
        let w = try Workspace()
        let learned = try seq2seq(["vocab", root + "/train.tsv", "--output", w.path("Vocab/tatoeba")])
        #expect(learned.status == 0, "\(learned.errors)")
        let dev = try String(contentsOfFile: root + "/dev.tsv", encoding: .utf8)
        let rows = dev.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        for (column, side) in [(0, "source"), (1, "target")] {
            let text = rows.map { String($0[column]) }.joined(separator: "\n") + "\n"
            let tokens = try seq2seq(["tokenize", "--vocab", w.path("Vocab/tatoeba"), "--side", side], stdin: text)
            let back = try seq2seq(["detokenize", "--vocab", w.path("Vocab/tatoeba"), "--side", side], stdin: tokens.output)
            let normalized = try seq2seq(["normalize"], stdin: text)
            #expect(tokens.lines.count == rows.count)
            #expect(back.output == normalized.output)
        }
    }

    @Test func missingAndEmptyTrainingFilesFail() throws {
        let w = try Workspace()
        let missing = try seq2seq(["vocab", w.path("nope.tsv"), "--output", w.path("Vocab/x")])
        #expect(missing.status != 0)
        #expect(missing.errors.contains(w.path("nope.tsv")) && missing.errors.contains("no such file"))
        try w.write("", to: "empty.tsv")
        let empty = try seq2seq(["vocab", w.path("empty.tsv"), "--output", w.path("Vocab/x")])
        #expect(empty.status != 0)
        #expect(empty.errors.contains("empty.tsv") && empty.errors.contains("empty"))
        #expect(!FileManager.default.fileExists(atPath: w.path("Vocab/x.meta")))
    }

    /// A corpus with every kind of bad line, plus a BOM and CRLF line ends.
    static func badCorpus() -> Data {
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        let good = (0..<6).map { "good line \($0)\t좋은 줄 \($0)\r\n" }
        bytes += Array(good[0].utf8)
        bytes += Array("only one column\r\n".utf8)                // line 2
        bytes += Array(good[1].utf8)
        bytes += Array("\t빈 원문\n".utf8)                          // line 4
        bytes += Array("empty target\t   \n".utf8)                 // line 5
        bytes += Array("bad ".utf8) + [0xC3, 0x28] + Array("\t나쁜\n".utf8)  // line 6: invalid UTF-8
        for g in good[2...] { bytes += Array(g.utf8) }
        return Data(bytes)
    }

    @Test func badLinesAreSkippedWithOneSummary() throws {
        let w = try Workspace()
        try w.write(Self.badCorpus(), to: "bad.tsv")
        let result = try seq2seq(["vocab", w.path("bad.tsv"), "--size", "300", "--min-frequency", "1", "--output", w.path("Vocab/b")])
        #expect(result.status == 0, "\(result.errors)")
        let summary = result.errors.split(separator: "\n").filter { $0.contains("skipped") }
        #expect(summary.count == 1)
        #expect(result.errors.contains("skipped 4 of 10 lines"))
        #expect(result.errors.contains("1 fewer than two tab-separated columns (line 2)"))
        #expect(result.errors.contains("1 empty source side (line 4)"))
        #expect(result.errors.contains("1 empty target side (line 5)"))
        #expect(result.errors.contains("1 invalid UTF-8 (line 6)"))
        // BOM and CR never reach the vocabulary.
        let vocab = try String(contentsOfFile: w.path("Vocab/b.source.vocab"), encoding: .utf8)
        #expect(!vocab.contains("\u{FEFF}") && !vocab.contains("\r"))
        #expect(vocab.contains("\ng\n"))
    }

    @Test func bomAndCRLFAloneGiveNoWarning() throws {
        let w = try Workspace()
        try w.write(Data([0xEF, 0xBB, 0xBF] + Array("a b\tㄱ ㄴ\r\nb c\tㄴ ㄷ\r\n".utf8)), to: "crlf.tsv")
        let result = try seq2seq(["vocab", w.path("crlf.tsv"), "--size", "300", "--output", w.path("Vocab/c")])
        #expect(result.status == 0)
        #expect(result.errors.isEmpty, "\(result.errors)")
    }

    @Test func strictStopsAtFirstBadLine() throws {
        let w = try Workspace()
        try w.write(Self.badCorpus(), to: "bad.tsv")
        let result = try seq2seq(["vocab", w.path("bad.tsv"), "--strict", "--output", w.path("Vocab/s")])
        #expect(result.status != 0)
        #expect(result.errors.contains("\(w.path("bad.tsv")):2: fewer than two tab-separated columns"))
        #expect(!FileManager.default.fileExists(atPath: w.path("Vocab/s.meta")))
    }

    @Test(arguments: ["tokenize", "detokenize", "normalize"])
    func stdinInvalidUTF8BecomesReplacementWithWarning(command: String) throws {
        let w = try Workspace()
        let prefix = try w.learnVocabulary()
        var input: [UInt8] = Array("good\n".utf8) + [0x61, 0xFF, 0x62, 0x0A] + Array("\n\r\nlast".utf8)
        input += [0xE2, 0x82]
        let flags = command == "normalize" ? [] : ["--vocab", prefix]
        let result = try BinaryRunner.run("seq2seq", [command] + flags, stdin: Data(input))
        #expect(result.status == 0)
        #expect(result.lines.count == 5)            // line count out == in (last line has no newline)
        #expect(result.lines[2] == "" && result.lines[3] == "")
        #expect(result.errors.contains("warning") && result.errors.contains("U+FFFD"))
        if command == "normalize" { #expect(result.lines[1] == "a\u{FFFD}b" && result.lines[4] == "last\u{FFFD}") }
    }

    @Test func tokenizeStreamsLineByLine() throws {
        let w = try Workspace()
        let prefix = try w.learnVocabulary()
        let process = try BinaryRunner.Interactive("seq2seq", ["tokenize", "--vocab", prefix])
        process.send("I like tea.")
        #expect(try process.receiveLine() == "▁I ▁like ▁tea .")
        process.send("")
        #expect(try process.receiveLine() == "")
        process.send("tea")
        #expect(try process.receiveLine() == "▁tea")
        #expect(process.finish() == 0)
    }

    @Test func megabyteLineAndNormalizeWithVocabulary() throws {
        let w = try Workspace()
        let prefix = try w.learnVocabulary(["--normalization", "nfc"])
        let long = String(repeating: "나는 차를 좋아해요. I like tea 🦀 ", count: 30_000)   // ~1 MB
        let input = "Ｆ①\n" + long + "\n\n"
        let tokens = try seq2seq(["tokenize", "--vocab", prefix, "--ids"], stdin: input)
        #expect(tokens.status == 0)
        #expect(tokens.lines.count == 3)
        let back = try seq2seq(["detokenize", "--vocab", prefix, "--ids"], stdin: tokens.output)
        let normalized = try seq2seq(["normalize", "--vocab", prefix], stdin: input)
        #expect(normalized.lines.first == "Ｆ①")        // NFC from the vocabulary, not the NFKC default
        #expect(back.output == normalized.output)
        let both = try seq2seq(["normalize", "--vocab", prefix, "--normalization", "nfkc"], stdin: "x\n")
        #expect(both.status != 0)
    }

    @Test func missingVocabularyIsAnActionableError() throws {
        let w = try Workspace()
        let result = try seq2seq(["tokenize", "--vocab", w.path("Vocab/none")], stdin: "x\n")
        #expect(result.status != 0)
        #expect(result.errors.contains("seq2seq vocab"))
        let tooSmall = try seq2seq(["vocab", w.path("pairs.tsv"), "--size", "100", "--output", w.path("Vocab/t")])
        #expect(tooSmall.status != 0 && tooSmall.errors.contains("--size"))
    }

    @Test func benchPrintsThroughput() throws {
        let w = try Workspace()
        let result = try seq2seq(["bench", "tokenize", w.path("pairs.tsv"), "--size", "300", "--repeats", "1"])
        #expect(result.status == 0, "\(result.errors)")
        let fields = Dictionary(result.lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }, uniquingKeysWith: { a, _ in a })
        #expect((Double(fields["MB/s"] ?? "") ?? 0) > 0)
        #expect((Double(fields["tokens/s"] ?? "") ?? 0) > 0)
        #expect(Int(fields["lines"] ?? "") == 56)
    }
}
