import Foundation
import Testing

/// `seq2seq lm` end to end through the built binary: the lecture's hello RNN, sampling,
/// `lm states`, `lm eval`, Ctrl-C and resume, jamo units, and one-line errors for bad input.
@Suite(.serialized)
struct LanguageModelCLITests {
    final class Workspace {
        let folder: String
        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("lm-cli-" + UUID().uuidString).path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        func path(_ name: String) -> String { folder + "/" + name }
        @discardableResult
        func write(_ text: String, to name: String) throws -> String {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
            return path(name)
        }
    }

    static func run(_ arguments: [String]) throws -> BinaryRunner.Result {
        try BinaryRunner.run("seq2seq", ["lm"] + arguments, timeout: 240)
    }

    /// Some English prose made of the README's words (a few kB).
    static func prose() throws -> String {
        let readme = try String(contentsOf: BinaryRunner.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        return String(readme.prefix(6000))
    }

    /// The lecture example: a vanilla RNN on "hello" (vocabulary h, e, l, o) learns e, l, l, o
    /// after h, and `lm sample --prime h --temperature 0` prints "hello".
    @Test func helloRNNPrintsHello() throws {
        let w = try Workspace()
        let text = try w.write("hello", to: "hello.txt")
        let training = try Self.run(["train", text, "--dev", text, "--output", w.path("hello"), "--cell", "rnn",
                                     "--hidden", "8", "--embedding", "4", "--layers", "1", "--bptt", "4", "--batch-size", "1",
                                     "--learning-rate", "0.05", "--epochs", "150", "--validate-every", "50", "--threads", "1"])
        #expect(training.status == 0, "\(training.errors)")
        #expect(training.errors.contains("char alphabet: 4 units"))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: w.path("hello/lm.json")))) as? [String: Any]
        #expect(manifest?["alphabet"] as? [String] == ["<unk>", "e", "h", "l", "o"])
        let sample = try Self.run(["sample", "--model", w.path("hello"), "--prime", "h", "--temperature", "0", "--length", "4"])
        #expect(sample.status == 0, "\(sample.errors)")
        #expect(sample.output == "hello\n")
        let eval = try Self.run(["eval", "--model", w.path("hello"), text])
        #expect(eval.status == 0, "\(eval.errors)")
        let bits = eval.lines.first { $0.hasPrefix("bits per character: ") }.flatMap { Double($0.dropFirst(20)) }
        #expect((bits ?? 9) < 0.1, "after h, e, l, l the next letter is certain: \(eval.output)")
        let states = try Self.run(["states", "--model", w.path("hello"), text, "--format", "jsonl"])
        #expect(states.status == 0, "\(states.errors)")
        let records = try states.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        #expect(records.compactMap { $0["char"] as? String } == ["h", "e", "l", "l", "o"])
        #expect(records.allSatisfy { ($0["h"] as? [Double])?.count == 8 && $0["c"] == nil && $0["i"] == nil })
    }

    /// An LSTM on prose: states of a chosen layer carry h, c and the gates, in range; sampling
    /// streams the same text for the same seed and another for another seed.
    @Test func lstmStatesAndSampling() throws {
        let w = try Workspace()
        let text = try w.write(try Self.prose(), to: "prose.txt")
        let training = try Self.run(["train", text, "--output", w.path("lm"), "--hidden", "24", "--embedding", "8",
                                     "--bptt", "20", "--batch-size", "8", "--max-steps", "30", "--threads", "1"])
        #expect(training.status == 0, "\(training.errors)")
        #expect(training.errors.contains("validation step") && training.errors.contains("bits/char"))
        let log = try String(contentsOfFile: w.path("lm/training-log.jsonl"), encoding: .utf8)
        for line in log.split(separator: "\n") {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            for key in ["step", "devLoss", "devBitsPerCharacter", "devPerplexity", "trainLoss", "isBest"] {
                #expect(record[key] != nil, "training-log.jsonl lacks \(key)")
            }
        }
        let snippet = try w.write("def f(x):\n    return \"x\"\n", to: "snippet.txt")
        let states = try Self.run(["states", "--model", w.path("lm"), snippet, "--format", "jsonl", "--layer", "0"])
        #expect(states.status == 0, "\(states.errors)")
        #expect(states.lines.count == 25)
        for line in states.lines {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            for key in ["h", "c", "i", "f", "o", "g"] { #expect((record[key] as? [Double])?.count == 24, "\(key) in \(line.prefix(80))") }
            for key in ["i", "f", "o"] { #expect((record[key] as? [Double] ?? []).allSatisfy { $0 >= 0 && $0 <= 1 }) }
            #expect((record["g"] as? [Double] ?? []).allSatisfy { $0 >= -1 && $0 <= 1 })
        }
        let sample = ["sample", "--model", w.path("lm"), "--prime", "The ", "--length", "80", "--temperature", "0.8"]
        let a = try Self.run(sample + ["--seed", "3"]), b = try Self.run(sample + ["--seed", "3"]), c = try Self.run(sample + ["--seed", "4"])
        #expect(a.status == 0 && a.output.hasPrefix("The ") && a.output.unicodeScalars.count >= 84, "\(a.errors)")
        #expect(a.output == b.output && a.output != c.output)
        // The folder is not overwritten by accident; --force replaces it.
        let again = ["train", text, "--output", w.path("lm"), "--hidden", "16", "--bptt", "20", "--batch-size", "8",
                     "--max-steps", "2", "--threads", "1"]
        let refused = try Self.run(again)
        #expect(refused.status != 0 && refused.errors.contains("--force"), "\(refused.errors)")
        let forced = try Self.run(again + ["--force"])
        #expect(forced.status == 0, "\(forced.errors)")
        #expect(forced.errors.contains("hidden 16"))
    }

    /// Ctrl-C saves a resumable checkpoint and exits 130; --resume continues from it.
    @Test func interruptSavesAndResumes() throws {
        let w = try Workspace()
        let text = try w.write(String(repeating: try Self.prose(), count: 4), to: "prose.txt")
        // (The test runner's threads block SIGINT and the child inherits that mask: `Interrupt`
        // unblocks it, so this also checks Ctrl-C reaches a process started that way.)
        let process = Process()
        process.executableURL = try BinaryRunner.locate("seq2seq")
        process.arguments = ["lm", "train", text, "--output", w.path("lm"), "--hidden", "32", "--embedding", "8",
                             "--bptt", "20", "--batch-size", "8", "--validate-every", "100000", "--threads", "1"]
        let errors = w.path("stderr.txt")
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").contains("step ") {
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.interrupt()
        process.waitUntilExit()
        let log = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 130, "\(log)")
        #expect(log.contains("interrupted: saved a resumable checkpoint"))
        #expect(FileManager.default.fileExists(atPath: w.path("lm/last/streams.safetensors")))
        let resumed = try Self.run(["train", text, "--output", w.path("lm"), "--resume", "--max-steps", "200", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.errors.contains("resuming at step"))
    }

    /// Korean with jamo units: a small alphabet, and samples are whole syllables (no conjoining
    /// jamo left in the output).
    @Test func jamoSamplesAreHangul() throws {
        let w = try Workspace()
        let korean = String(repeating: "한국어 문장을 읽고 씁니다. 값싼 닭을 샀습니다.\n오늘은 날씨가 좋습니다.\n", count: 30)
        let text = try w.write(korean, to: "ko.txt")
        let training = try Self.run(["train", text, "--units", "jamo", "--output", w.path("ko"), "--hidden", "32",
                                     "--embedding", "8", "--bptt", "20", "--batch-size", "4", "--max-steps", "40", "--threads", "1"])
        #expect(training.status == 0, "\(training.errors)")
        #expect(training.errors.contains("jamo alphabet"))
        let sample = try Self.run(["sample", "--model", w.path("ko"), "--prime", "오늘은", "--length", "200", "--seed", "2"])
        #expect(sample.status == 0 && sample.output.hasPrefix("오늘은"), "\(sample.errors)")
        #expect(!sample.output.unicodeScalars.contains { (0x1100...0x11FF).contains($0.value) }, "\(sample.output)")
        #expect(sample.output.unicodeScalars.contains { (0xAC00...0xD7A3).contains($0.value) })
    }

    @Test func badInputsAreOneLineErrors() throws {
        let w = try Workspace()
        /// Fails with one error line naming the input (option errors are followed by the argument
        /// parser's usage hint).
        func expectFailure(_ arguments: [String], mentions: [String], usageHint: Bool = false,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try Self.run(arguments)
            #expect(result.status != 0, "lm \(arguments) should fail", sourceLocation: sourceLocation)
            let lines = result.errors.split(separator: "\n")
            #expect(usageHint || lines.count == 1, "one line expected: \(result.errors)", sourceLocation: sourceLocation)
            let first = lines.first.map(String.init) ?? ""
            #expect(first.hasPrefix("Error: "), "\(result.errors)", sourceLocation: sourceLocation)
            for word in mentions {
                #expect(first.contains(word), "first stderr line lacks '\(word)': \(result.errors)", sourceLocation: sourceLocation)
            }
        }
        let empty = try w.write("", to: "empty.txt")
        try expectFailure(["train", empty, "--output", w.path("a")], mentions: ["empty.txt", "empty"])
        try Data([0x68, 0x69, 0x0A, 0xC3, 0x28]).write(to: URL(fileURLWithPath: w.path("latin1.txt")))
        try expectFailure(["train", w.path("latin1.txt"), "--output", w.path("b")], mentions: ["latin1.txt:2", "UTF-8"])
        let short = try w.write("a short text", to: "short.txt")
        try expectFailure(["train", short, "--output", w.path("c")], mentions: ["short.txt", "--bptt", "--batch-size"])
        try expectFailure(["train", w.path("missing.txt"), "--output", w.path("d")], mentions: ["missing.txt"])
        let translation = BinaryRunner.packageRoot.appendingPathComponent("Tests/Seq2SeqTests/Fixtures/lstm-format1").path
        try expectFailure(["sample", "--model", translation], mentions: ["translation model", "translate"])
        try expectFailure(["sample", "--model", w.path("nowhere")], mentions: ["nowhere", "lm train"])
        try expectFailure(["sample", "--model", w.path("x"), "--temperature=-1"], mentions: ["--temperature"], usageHint: true)
        try expectFailure(["states", "--model", w.path("x"), short, "--format", "csv"], mentions: ["jsonl"], usageHint: true)
        try expectFailure(["train", short, "--vocab", "v"], mentions: ["--units subword"], usageHint: true)
        try expectFailure(["states", "--model", translation, short], mentions: ["translation model"])
    }

    /// A size the machine cannot hold is refused with the estimate before anything is written
    /// (no half-made directory that a second try would call "a trained model"), and every
    /// command that prints reports a full standard output with a non-zero exit.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func hugeSizesAndFullOutputsAreRefused() throws {
        let w = try Workspace()
        let text = try w.write(try Self.prose(), to: "prose.txt")
        let huge = try Self.run(["train", text, "--output", w.path("huge"), "--hidden", "1000000", "--max-steps", "1"])
        #expect(huge.status != 0)
        #expect(huge.errors.contains("memory") && huge.errors.contains("--hidden"), "\(huge.errors)")
        #expect(!FileManager.default.fileExists(atPath: w.path("huge")), "a refused run left files behind")
        let small = try Self.run(["train", text, "--output", w.path("m"), "--hidden", "8", "--embedding", "4",
                                  "--layers", "1", "--bptt", "8", "--batch-size", "2", "--max-steps", "2", "--threads", "1"])
        #expect(small.status == 0, "\(small.errors)")
        for arguments in [["lm", "sample", "--model", w.path("m"), "--length", "50"],
                          ["lm", "states", "--model", w.path("m"), text, "--format", "jsonl"],
                          ["lm", "eval", "--model", w.path("m"), text]] {
            let result = try ReliabilityCLITests.runIntoFullDevice("seq2seq", arguments)
            #expect(result.status != 0, "\(arguments) > /dev/full exited 0")
            #expect(result.errors.contains("No space left on device") && result.errors.contains("cannot write"),
                    "\(arguments): \(result.errors)")
        }
    }
}
