import Foundation
import Testing

/// `seq2seq backtranslate` and `seq2seq train --synthetic` end to end, as a user runs them:
/// a reverse model turns Korean lines into synthetic english<TAB>korean pairs that train reads.
@Suite struct BackTranslateCLITests {
    final class Workspace {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("backtranslate-cli-" + UUID().uuidString).path
        init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        func path(_ name: String) -> String { folder + "/" + name }
    }

    static let corpus = BinaryRunner.packageRoot.appendingPathComponent("Corpora/everyday.tsv").path

    @Test func reverseModelToSyntheticPairsToTraining() throws {
        let w = try Workspace()
        let train = try BinaryRunner.run("seq2seq", ["train", Self.corpus, "--reverse", "--max-steps", "6", "--embedding", "16",
                                                     "--hidden", "16", "--threads", "1", "--output", w.path("ko-en")])
        #expect(train.status == 0, "\(train.errors)")
        let korean = ["안녕하세요.", "", "오늘 날씨가 좋아요.", "고맙습니다.", "내일 만나요."]
        try Data((korean.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: w.path("mono.ko")))
        let back = try BinaryRunner.run("seq2seq", ["backtranslate", "--model", w.path("ko-en"), "--sampling", "--noise",
                                                    "--threads", "1", w.path("mono.ko"), "-o", w.path("synthetic.tsv")])
        #expect(back.status == 0, "\(back.errors)")
        #expect(back.errors.contains("read 5 lines") && back.errors.contains("skipped 1 empty lines"), "\(back.errors)")
        let pairs = try String(contentsOfFile: w.path("synthetic.tsv"), encoding: .utf8).split(separator: "\n")
        #expect(!pairs.isEmpty && pairs.count <= 4)
        for pair in pairs {
            let columns = pair.split(separator: "\t", omittingEmptySubsequences: false)
            #expect(columns.count == 2 && korean.contains(String(columns[1])),
                    "the model was trained with --reverse: Korean stays in column 2 (\(pair))")
        }
        let forward = try BinaryRunner.run("seq2seq", ["train", Self.corpus, "--synthetic", w.path("synthetic.tsv"),
                                                       "--synthetic-ratio", "0.5", "--max-steps", "3", "--embedding", "16",
                                                       "--hidden", "16", "--threads", "1", "--output", w.path("en-ko")])
        #expect(forward.status == 0, "\(forward.errors)")
        #expect(forward.errors.contains("synthetic: \(pairs.count) pairs from"), "\(forward.errors)")
    }

    @Test func badOptionsAreOneLineErrors() throws {
        let w = try Workspace()
        try Data("안녕\n".utf8).write(to: URL(fileURLWithPath: w.path("mono.ko")))
        let cases: [([String], String)] = [
            (["--model", w.path("nothing"), w.path("mono.ko")], w.path("nothing")),
            (["--model", w.path("nothing"), w.path("missing.ko")], "missing.ko"),
            (["--model", w.path("nothing"), "--noise-delete", "0.6", "--noise-blank", "0.6", w.path("mono.ko")], "--noise-delete + --noise-blank"),
            (["--model", w.path("nothing"), "--greedy", "--sampling", w.path("mono.ko")], "--greedy and --sampling"),
        ]
        for (arguments, named) in cases {
            let result = try BinaryRunner.run("seq2seq", ["backtranslate"] + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.errors.contains(named), "\(arguments): \(result.errors)")
        }
        let train = try BinaryRunner.run("seq2seq", ["train", Self.corpus, "--synthetic-ratio", "2", "--output", w.path("m")])
        #expect(train.status != 0 && train.errors.contains("give --synthetic FILE"), "\(train.errors)")
    }
}
