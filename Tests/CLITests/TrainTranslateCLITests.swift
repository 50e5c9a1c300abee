import Foundation
import Testing

/// End to end through the built `seq2seq train`, `translate` and `seq2seq eval`
/// binaries on a tiny corpus taken from `Corpora/everyday.tsv`: the model
/// directory layout, every input/output mode of `translate`, batch-independent
/// output, exact `--resume`, and the bad-input messages.
@Suite(.serialized)
struct TrainTranslateCLITests {
    /// Small model settings so that a run takes a second or two.
    static let tiny = ["--embedding", "24", "--hidden", "32", "--layers", "1", "--batch-size", "8",
                       "--vocab-size", "300", "--seed", "7", "--threads", "1"]

    final class Workspace {
        let folder: String
        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-cli-" + UUID().uuidString).path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let corpus = try String(contentsOf: BinaryRunner.packageRoot.appendingPathComponent("Corpora/everyday.tsv"),
                                    encoding: .utf8)
            let lines = corpus.split(separator: "\n").prefix(80)
            try write(lines.joined(separator: "\n") + "\n", to: "pairs.tsv")
            try write(lines.prefix(12).joined(separator: "\n") + "\n", to: "test.tsv")
        }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        func path(_ name: String) -> String { folder + "/" + name }
        func write(_ text: String, to name: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
        }
        func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
    }

    static func run(_ tool: String, _ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
        try BinaryRunner.run(tool, arguments, stdin: Data(stdin.utf8), timeout: 240)
    }

    /// Trains a tiny model into `name`; returns the result.
    @discardableResult
    static func train(_ w: Workspace, into name: String, _ extra: [String],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> BinaryRunner.Result {
        let result = try run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path(name)] + tiny + extra)
        #expect(result.status == 0, "train failed: \(result.errors)", sourceLocation: sourceLocation)
        return result
    }

    @Test func trainTranslateEvalEndToEnd() throws {
        let w = try Workspace()
        let training = try Self.train(w, into: "model", ["--epochs", "6", "--validate-every", "10", "--patience", "100"])
        #expect(training.errors.contains("validation step"))
        // The documented layout.
        for file in ["model.json", "vocab.meta", "best/model.safetensors", "last/model.safetensors",
                     "last/optimizer.safetensors", "training-log.jsonl"] {
            #expect(w.exists("model/" + file), "missing \(file)")
        }
        let records = try w.read("model/training-log.jsonl").split(separator: "\n")
        #expect(records.count >= 6)  // every 10 steps and at each of 6 epoch ends
        for record in records {
            let object = try JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: Any]
            for key in ["step", "devLoss", "bleu", "chrF", "bleuChar", "isBest"] {
                #expect(object?[key] != nil, "log record lacks \(key): \(record)")
            }
        }

        // Arguments: one line each, empty argument → empty line.
        let model = w.path("model")
        let arguments = try Self.run("translate", ["--model", model, "hello world", "", "Thank you."])
        #expect(arguments.status == 0, "\(arguments.errors)")
        #expect(arguments.lines.count == 3)
        #expect(arguments.lines[1] == "")

        // Stdin: one output per input line, in order, same as arguments.
        let piped = try Self.run("translate", ["--model", model], stdin: "hello world\n\nThank you.\n")
        #expect(piped.status == 0, "\(piped.errors)")
        #expect(piped.lines == arguments.lines)

        // JSONL with n-best lists.
        let jsonl = try Self.run("translate", ["--model", model, "--format", "jsonl", "--n-best", "3"],
                                 stdin: "hello world\nThank you.\n")
        #expect(jsonl.status == 0, "\(jsonl.errors)")
        #expect(jsonl.lines.count == 2)
        for (line, source) in zip(jsonl.lines, ["hello world", "Thank you."]) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["source"] as? String == source)
            let nBest = object?["n_best"] as? [[String: Any]] ?? []
            #expect(nBest.count == 3)
            let scores = nBest.compactMap { $0["score"] as? Double }
            #expect(scores == scores.sorted(by: >), "n-best not in descending score order")
            #expect(nBest.first?["translation"] as? String == object?["translation"] as? String)
        }

        // Files in, file out.
        let sources = try w.read("test.tsv").split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
        try w.write(sources.prefix(5).joined(separator: "\n") + "\n", to: "a.txt")
        try w.write(sources.dropFirst(5).joined(separator: "\n") + "\n", to: "b.txt")
        let files = try Self.run("translate", ["--model", model, "-i", w.path("a.txt"), "-i", w.path("b.txt"),
                                               "-o", w.path("out.txt"), "--greedy"])
        #expect(files.status == 0, "\(files.errors)")
        #expect(try w.read("out.txt").split(separator: "\n", omittingEmptySubsequences: false).count == sources.count + 1)

        // Eval: BLEU, chrF and character BLEU for a Korean target, with signatures.
        let eval = try Self.run("seq2seq", ["eval", "--model", model, w.path("test.tsv"), "--output", w.path("hyp.txt")])
        #expect(eval.status == 0, "\(eval.errors)")
        #expect(eval.output.contains("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = "))
        #expect(eval.output.contains("chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = "))
        #expect(eval.output.contains("tok:char"))
        #expect(try w.read("hyp.txt").split(separator: "\n", omittingEmptySubsequences: false).count == 13)
    }

    /// Through the CLI, a model trained long enough on 16 pairs (dev = train)
    /// reproduces its training targets: the whole train → save → load →
    /// translate path carries the learned weights (and the source order the
    /// encoder was trained with, in both settings, and the default bidirectional encoder with
    /// attention).
    /// (The attention model needs more steps to memorize byte-level tokens: 400 epochs.)
    @Test(arguments: [["--encoder", "uni", "--attention", "none", "--reverse-source"],
                      ["--encoder", "uni", "--attention", "none", "--no-reverse-source"], ["--epochs", "400"]])
    func trainedModelReproducesItsTrainingTargets(order: [String]) throws {
        let w = try Workspace()
        let pairs = try w.read("pairs.tsv").split(separator: "\n").prefix(16)
        try w.write(pairs.joined(separator: "\n") + "\n", to: "pairs.tsv")
        try Self.train(w, into: "model", ["--embedding", "32", "--hidden", "64", "--epochs", "250",
                                          "--dropout", "0", "--label-smoothing", "0", "--learning-rate", "0.01",
                                          "--word-dropout", "0", "--dev", w.path("pairs.tsv"), "--patience", "1000"] + order)
        let manifest = try w.read("model/model.json")
        #expect(manifest.contains("\"sourceOrderReversed\" : \(order.contains("--reverse-source"))"))
        let sources = pairs.map { String($0.split(separator: "\t")[0]) }
        let targets = pairs.map { String($0.split(separator: "\t")[1]) }
        let result = try Self.run("translate", ["--model", w.path("model"), "--greedy"],
                                  stdin: sources.joined(separator: "\n") + "\n")
        #expect(result.status == 0, "\(result.errors)")
        let correct = zip(result.lines, targets).filter { $0 == $1 }.count
        #expect(correct >= 14, "only \(correct)/16 training targets reproduced: \(result.lines)")
    }

    /// With a learning rate too small to change any translation, dev chrF never
    /// improves after the first validation, so training stops after
    /// `--patience` more validations.
    @Test func earlyStoppingAfterPatience() throws {
        let w = try Workspace()
        let result = try Self.train(w, into: "model", ["--learning-rate", "1e-12", "--validate-every", "1",
                                                       "--patience", "2", "--epochs", "5"])
        #expect(result.errors.contains("early stopping"), "\(result.errors)")
        let records = try w.read("model/training-log.jsonl").split(separator: "\n")
        #expect(records.count == 3)
    }

    /// `seq2seq shortlist` writes the model's shortlist; `translate --shortlist` (greedy, beam, an
    /// ensemble) and `eval --shortlist` use it, batch-independently; a missing, corrupt or foreign
    /// shortlist is one error line.
    @Test func shortlistEndToEnd() throws {
        let w = try Workspace()
        try Self.train(w, into: "model", ["--epochs", "4"])
        let built = try Self.run("seq2seq", ["shortlist", "--model", w.path("model"), "--frequent", "40", "--candidates", "5",
                                             w.path("pairs.tsv")])
        #expect(built.status == 0 && w.exists("model/shortlist.safetensors"), "\(built.errors)")
        #expect(built.errors.contains("40 frequent target tokens"), "\(built.errors)")
        let sentences = try w.read("pairs.tsv").split(separator: "\n").prefix(24).map { String($0.split(separator: "\t")[0]) }
        let input = sentences.joined(separator: "\n") + "\n"
        for mode in [["--greedy"], ["--beam-size", "4"], ["--greedy", "--precision", "int8"]] {
            let batched = try Self.run("translate", ["--model", w.path("model"), "--shortlist", "--batch-size", "16"] + mode, stdin: input)
            let alone = try Self.run("translate", ["--model", w.path("model"), "--shortlist", "--batch-size", "1"] + mode, stdin: input)
            #expect(batched.status == 0 && alone.status == 0, "\(batched.errors)")
            #expect(batched.lines.count == sentences.count)
            #expect(batched.lines == alone.lines, "\(mode): batched output differs from one-at-a-time output")
        }
        let ensemble = try Self.run("translate", ["--model", w.path("model"), "--model", w.path("model"), "--shortlist"], stdin: input)
        #expect(ensemble.status == 0 && ensemble.lines.count == sentences.count, "\(ensemble.errors)")
        let eval = try Self.run("seq2seq", ["eval", "--model", w.path("model"), "--shortlist", "--greedy", w.path("test.tsv")])
        #expect(eval.status == 0 && eval.output.contains("chrF2"), "\(eval.errors)")

        func expectOneLineError(_ result: BinaryRunner.Result, mentioning text: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
            let lines = result.errors.split(separator: "\n")
            #expect(result.status != 0, sourceLocation: sourceLocation)
            #expect(lines.count == 1 && lines[0].hasPrefix("Error:") && lines[0].contains(text), "\(result.errors)",
                    sourceLocation: sourceLocation)
        }
        // Another model's shortlist (another vocabulary), a corrupt file, no file.
        try Self.train(w, into: "other", ["--epochs", "1", "--vocab-size", "280"])
        try Self.run("seq2seq", ["shortlist", "--model", w.path("other"), w.path("pairs.tsv")])
        try FileManager.default.removeItem(atPath: w.path("model/shortlist.safetensors"))
        try FileManager.default.copyItem(atPath: w.path("other/shortlist.safetensors"), toPath: w.path("model/shortlist.safetensors"))
        expectOneLineError(try Self.run("translate", ["--model", w.path("model"), "--shortlist", "hello"]), mentioning: "does not belong")
        try w.write("seq2seq-shortlist\n1 2 3\n", to: "model/shortlist.safetensors")
        expectOneLineError(try Self.run("translate", ["--model", w.path("model"), "--shortlist", "hello"]), mentioning: "shortlist.safetensors")
        try FileManager.default.removeItem(atPath: w.path("model/shortlist.safetensors"))
        expectOneLineError(try Self.run("translate", ["--model", w.path("model"), "--shortlist", "hello"]), mentioning: "seq2seq shortlist")
    }

    /// `train` writes a shortlist that translate and eval then use unless told --no-shortlist;
    /// `train --no-shortlist` writes none (and a new run removes an earlier run's).
    @Test func trainWritesAShortlistThatDecodingUsesByDefault() throws {
        let w = try Workspace()
        let training = try Self.train(w, into: "model", ["--epochs", "3"])
        #expect(w.exists("model/shortlist.safetensors") && training.errors.contains("shortlist.safetensors"), "\(training.errors)")
        let input = "hello world\nThank you.\n"
        let byDefault = try Self.run("translate", ["--model", w.path("model")], stdin: input)
        let listed = try Self.run("translate", ["--model", w.path("model"), "--shortlist"], stdin: input)
        let full = try Self.run("translate", ["--model", w.path("model"), "--no-shortlist"], stdin: input)
        #expect(byDefault.status == 0 && full.status == 0 && byDefault.lines == listed.lines, "\(byDefault.errors)")
        // The default reads the file: a damaged one is an error unless --no-shortlist.
        try w.write("damaged\n", to: "model/shortlist.safetensors")
        for command in [["translate", "--model", w.path("model"), "hello"], ["seq2seq", "eval", "--model", w.path("model"), w.path("test.tsv")]] {
            let damaged = try Self.run(command[0], Array(command.dropFirst()))
            #expect(damaged.status != 0 && damaged.errors.contains("shortlist.safetensors"), "\(command): \(damaged.errors)")
        }
        #expect(try Self.run("translate", ["--model", w.path("model"), "--no-shortlist"], stdin: input).lines == full.lines)
        // Without the file the default decodes the whole vocabulary.
        try FileManager.default.removeItem(atPath: w.path("model/shortlist.safetensors"))
        #expect(try Self.run("translate", ["--model", w.path("model")], stdin: input).lines == full.lines)
        try w.write("damaged\n", to: "model/shortlist.safetensors")
        try Self.train(w, into: "model", ["--epochs", "1", "--force", "--no-shortlist"])
        #expect(!w.exists("model/shortlist.safetensors"), "a new run without a shortlist removes the earlier run's")
        #expect(try Self.run("translate", ["--model", w.path("model"), "hello"]).status == 0)
    }

    @Test func outputDoesNotDependOnBatching() throws {
        let w = try Workspace()
        try Self.train(w, into: "model", ["--epochs", "4"])
        let sentences = try w.read("pairs.tsv").split(separator: "\n").prefix(24).map { String($0.split(separator: "\t")[0]) }
        let input = sentences.joined(separator: "\n") + "\n"
        for mode in [["--greedy"], ["--beam-size", "4"]] {
            let batched = try Self.run("translate", ["--model", w.path("model"), "--batch-size", "16"] + mode, stdin: input)
            let alone = try Self.run("translate", ["--model", w.path("model"), "--batch-size", "1"] + mode, stdin: input)
            #expect(batched.status == 0 && alone.status == 0)
            #expect(batched.lines.count == sentences.count)
            #expect(batched.lines == alone.lines, "\(mode): batched output differs from one-at-a-time output")
        }
    }

    @Test func resumeContinuesExactly() throws {
        let w = try Workspace()
        // Uninterrupted: 25 steps. Interrupted: 11 steps (mid-epoch), then resumed to 25.
        try Self.train(w, into: "straight", ["--max-steps", "25", "--validate-every", "0"])
        try Self.train(w, into: "resumed", ["--max-steps", "11", "--validate-every", "0"])
        let second = try Self.train(w, into: "resumed", ["--max-steps", "25", "--validate-every", "0", "--resume"])
        #expect(second.errors.contains("resuming at step 11"))
        let a = try Data(contentsOf: URL(fileURLWithPath: w.path("straight/last/model.safetensors")))
        let b = try Data(contentsOf: URL(fileURLWithPath: w.path("resumed/last/model.safetensors")))
        #expect(a == b, "resumed weights differ from an uninterrupted run")
        let m1 = try Data(contentsOf: URL(fileURLWithPath: w.path("straight/last/optimizer.safetensors")))
        let m2 = try Data(contentsOf: URL(fileURLWithPath: w.path("resumed/last/optimizer.safetensors")))
        #expect(m1 == m2, "resumed optimizer moments differ from an uninterrupted run")
        // Training into a finished directory without --resume is refused.
        let again = try Self.run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("straight")] + Self.tiny)
        #expect(again.status != 0)
        #expect(again.errors.contains("--resume"))
    }

    @Test func subwordDropoutChangesTheBatchesAndResumesExactly() throws {
        let w = try Workspace()
        // 600 tokens: room for merges to drop (300 is about the characters alone).
        let dropout = ["--subword-dropout", "0.2", "--validate-every", "0", "--vocab-size", "600"]
        try Self.train(w, into: "plain", ["--max-steps", "20", "--validate-every", "0", "--vocab-size", "600"])
        try Self.train(w, into: "straight", ["--max-steps", "20"] + dropout)
        try Self.train(w, into: "resumed", ["--max-steps", "9"] + dropout)
        try Self.train(w, into: "resumed", ["--max-steps", "20", "--resume"] + dropout)
        func weights(_ folder: String) throws -> Data {
            try Data(contentsOf: URL(fileURLWithPath: w.path(folder + "/last/model.safetensors")))
        }
        #expect(try weights("straight") != weights("plain"), "--subword-dropout did not change what was trained on")
        #expect(try weights("straight") == weights("resumed"), "a resumed BPE-dropout run differs from an uninterrupted one")
        let bad = try Self.run("seq2seq", ["train", w.path("pairs.tsv"), "--subword-dropout", "1", "--output", w.path("x")])
        #expect(bad.status != 0 && bad.errors.contains("--subword-dropout"))
        let translated = try Self.run("translate", ["--model", w.path("straight"), "--greedy"], stdin: "I like tea.\n")
        #expect(translated.status == 0 && translated.lines.count == 1)
    }

    @Test func badInputsGiveOneLineErrors() throws {
        let w = try Workspace()
        func expectFailure(_ tool: String, _ arguments: [String], mentions: [String], stdin: String = "",
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try Self.run(tool, arguments, stdin: stdin)
            #expect(result.status != 0, "\(tool) \(arguments) should fail", sourceLocation: sourceLocation)
            for text in mentions {
                #expect(result.errors.contains(text), "stderr lacks '\(text)': \(result.errors)", sourceLocation: sourceLocation)
            }
        }
        try expectFailure("seq2seq", ["train", w.path("missing.tsv")], mentions: ["missing.tsv"])
        try w.write("", to: "empty.tsv")
        try expectFailure("seq2seq", ["train", w.path("empty.tsv"), "--output", w.path("m0")], mentions: ["empty.tsv"])
        try w.write("Hello.\t안녕.\nno tab here\nBye.\t잘 가.\n", to: "bad.tsv")
        try expectFailure("seq2seq", ["train", w.path("bad.tsv"), "--strict", "--output", w.path("m1")],
                          mentions: [w.path("bad.tsv") + ":2:"])
        try expectFailure("seq2seq", ["train", w.path("pairs.tsv"), "--batch-size", "8", "--batch-tokens", "100"],
                          mentions: ["contradict"])
        try expectFailure("seq2seq", ["train", w.path("pairs.tsv"), "--time-budget", "soon"], mentions: ["soon"])
        try expectFailure("translate", ["--model", w.path("nope"), "hello"], mentions: [w.path("nope")])
        try expectFailure("translate", ["--n-best", "6", "--beam-size", "5", "hello"], mentions: ["--n-best"])
        try expectFailure("translate", ["-i", w.path("missing.txt")], mentions: [w.path("missing.txt")])
        try expectFailure("translate", ["-i", w.folder], mentions: [w.folder + ": is a folder"])

        // A model directory that is incomplete, or whose vocabulary was swapped.
        try Self.train(w, into: "model", ["--epochs", "1"])
        try FileManager.default.copyItem(atPath: w.path("model"), toPath: w.path("broken"))
        try FileManager.default.removeItem(atPath: w.path("broken/best"))
        try FileManager.default.removeItem(atPath: w.path("broken/last"))
        try expectFailure("translate", ["--model", w.path("broken"), "hello"], mentions: ["incomplete"])
        try FileManager.default.copyItem(atPath: w.path("model"), toPath: w.path("swapped"))
        let other = try Self.run("seq2seq", ["vocab", w.path("test.tsv"), "--size", "280", "--output", w.path("other")])
        #expect(other.status == 0, "\(other.errors)")
        for suffix in [".meta", ".source.vocab", ".source.merges", ".target.vocab", ".target.merges"] {
            try FileManager.default.removeItem(atPath: w.path("swapped/vocab" + suffix))
            try FileManager.default.copyItem(atPath: w.path("other" + suffix), toPath: w.path("swapped/vocab" + suffix))
        }
        try expectFailure("translate", ["--model", w.path("swapped"), "hello"], mentions: ["vocabulary"])
        try w.write("{\"formatVersion\": 99}", to: "swapped/model.json")
        try expectFailure("translate", ["--model", w.path("swapped"), "hello"], mentions: ["version 99"])
        try expectFailure("seq2seq", ["eval", "--model", w.path("model"), w.path("missing-test.tsv")],
                          mentions: ["missing-test.tsv"])
    }
}
