import Foundation
import Testing

/// `seq2seq train --cell/--encoder/--attention`, `translate --alignment`, and the bad inputs
/// around them, through the built binaries.
@Suite(.serialized)
struct ArchitectureCLITests {
    typealias Workspace = TrainTranslateCLITests.Workspace

    static func run(_ tool: String, _ arguments: [String]) throws -> BinaryRunner.Result {
        try TrainTranslateCLITests.run(tool, arguments)
    }

    struct Line: Decodable {
        struct Alignment: Decodable {
            var source_tokens: [String]
            var target_tokens: [String]
            var weights: [[Float]]
        }
        var translation: String
        var alignment: Alignment?
    }

    @Test func attentionModelTranslatesWithAlignments() throws {
        let w = try Workspace()
        let training = try TrainTranslateCLITests.train(
            w, into: "gru-bi", ["--epochs", "15", "--learning-rate", "0.01", "--dev", w.path("test.tsv"), "--cell", "gru",
                                "--encoder", "bi", "--attention", "general"])
        #expect(training.errors.contains("gru, bidirectional encoder, general attention with input feeding"), "\(training.errors)")
        let manifest = try JSONSerialization.jsonObject(with: Data(try w.read("gru-bi/model.json").utf8)) as? [String: Any]
        let architecture = manifest?["architecture"] as? [String: Any]
        #expect(architecture?["cell"] as? String == "gru" && architecture?["encoder"] as? String == "bi")
        #expect(architecture?["attention"] as? String == "general" && architecture?["inputFeeding"] as? Bool == true)

        let result = try Self.run("translate", ["--model", w.path("gru-bi"), "--format", "jsonl", "--alignment", "--greedy",
                                                "Hello world.", "Good morning, how are you?"])
        #expect(result.status == 0, "\(result.errors)")
        let lines = try result.output.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        #expect(lines.count == 2)
        for line in lines {
            let alignment = try #require(line.alignment)
            #expect(alignment.weights.count == alignment.target_tokens.count && !alignment.weights.isEmpty)
            for row in alignment.weights {
                #expect(row.count == alignment.source_tokens.count)
                #expect(abs(row.reduce(0, +) - 1) <= 1e-5)
            }
        }
        // The same sentences through the pipe path (batched) give the same translations.
        let piped = try BinaryRunner.run("translate", ["--model", w.path("gru-bi"), "--greedy"],
                                         stdin: Data("Hello world.\nGood morning, how are you?\n".utf8), timeout: 240)
        #expect(piped.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
                == lines.map(\.translation))
    }

    @Test func badArchitectureInputsAreOneLineErrors() throws {
        let w = try Workspace()
        func expectFailure(_ tool: String, _ arguments: [String], mentions: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try Self.run(tool, arguments)
            #expect(result.status != 0, "\(tool) \(arguments) should fail", sourceLocation: sourceLocation)
            let first = result.errors.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.contains(mentions), "first stderr line lacks '\(mentions)': \(result.errors)", sourceLocation: sourceLocation)
        }
        let train = ["train", w.path("pairs.tsv"), "--output", w.path("x")]
        try expectFailure("seq2seq", train + ["--cell", "transformer"], mentions: "transformer")
        try expectFailure("seq2seq", train + ["--attention", "bahdanau"], mentions: "bahdanau")
        try expectFailure("seq2seq", train + ["--encoder", "bi", "--hidden", "33"], mentions: "even --hidden")
        try expectFailure("seq2seq", train + ["--encoder", "bi", "--reverse-source"], mentions: "--reverse-source")
        try expectFailure("seq2seq", train + ["--input-feeding"], mentions: "--input-feeding")
        try expectFailure("seq2seq", ["bench", "train", "--cell", "mlstm"], mentions: "mlstm")

        try TrainTranslateCLITests.train(w, into: "plain", ["--epochs", "1"])
        try expectFailure("translate", ["--model", w.path("plain"), "--format", "jsonl", "--alignment", "hello"],
                          mentions: "no attention")
        try expectFailure("translate", ["--model", w.path("plain"), "--alignment", "hello"], mentions: "--format jsonl")
        // A checkpoint of one architecture under another's model.json.
        try TrainTranslateCLITests.train(w, into: "rnn", ["--epochs", "1", "--cell", "rnn"])
        try FileManager.default.removeItem(atPath: w.path("plain/model.json"))
        try FileManager.default.copyItem(atPath: w.path("rnn/model.json"), toPath: w.path("plain/model.json"))
        try expectFailure("translate", ["--model", w.path("plain"), "hello"], mentions: "cell rnn")
    }

    /// `train --keep-checkpoints`, `seq2seq average --last`, and ensembles through `translate`.
    @Test func averagingAndEnsembles() throws {
        let w = try Workspace()
        try TrainTranslateCLITests.train(w, into: "m", ["--epochs", "3", "--validate-every", "5", "--keep-checkpoints", "2"])
        let kept = try FileManager.default.contentsOfDirectory(atPath: w.path("m/checkpoints")).sorted()
        #expect(kept.count == 2 && kept.allSatisfy { $0.hasPrefix("step-") }, "\(kept)")
        let averaged = try Self.run("seq2seq", ["average", "--output", w.path("avg"), "--last", "2", w.path("m")])
        #expect(averaged.status == 0, "\(averaged.errors)")
        let one = try Self.run("translate", ["--model", w.path("avg"), "--greedy", "Hello world."])
        #expect(one.status == 0 && one.output.hasSuffix("\n"), "\(one.errors)")
        // An ensemble of the model and its average; then one with a model of another vocabulary.
        let both = try Self.run("translate", ["--model", w.path("m"), "--model", w.path("avg"), "Hello world."])
        #expect(both.status == 0, "\(both.errors)")
        try TrainTranslateCLITests.train(w, into: "other", ["--epochs", "1", "--vocab-size", "280"])
        let mixed = try Self.run("translate", ["--model", w.path("m"), "--model", w.path("other"), "Hello world."])
        #expect(mixed.status != 0 && mixed.errors.contains("vocabulary"), "\(mixed.errors)")
        let tooMany = try Self.run("seq2seq", ["average", "--output", w.path("avg2"), "--last", "5", w.path("m")])
        #expect(tooMany.status != 0 && tooMany.errors.contains("--keep-checkpoints"), "\(tooMany.errors)")
    }
}
