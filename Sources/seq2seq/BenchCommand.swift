import ArgumentParser
import Foundation
import Tokenize

/// `seq2seq bench ...`: throughput measurements.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput.",
        discussion: """
            train and decode use synthetic data defined exactly like the PyTorch reference \
            (../shared/peers/torch_seq2seq.py bench-train / bench-decode); Scripts/bench-vs-pytorch.sh \
            runs both side by side. Every figure is printed as one `name: value unit` line.
            """,
        subcommands: [BenchTrainCommand.self, BenchDecodeCommand.self, BenchPeakCommand.self, BenchCheckCommand.self,
                      BenchTokenizeCommand.self, BenchLanguageModelCommand.self])
}

/// Times normalize + word break + subword encoding over both columns of a TSV
/// file. Prints one `name: value` line per figure (the same format as
/// Scripts/bench-sentencepiece.py).
struct BenchTokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenizer throughput (MB/s, tokens/s) on both columns of a source<TAB>target file.")

    @Argument(help: "A source<TAB>target file.")
    var file: String

    @Option(help: "Vocabulary prefix; if omitted, one is learned from FILE first (not timed).")
    var vocab: String?

    @Option(help: "Vocabulary size per side when learning one.")
    var size = 8000

    @Option(help: "Timed passes over the file; the best is reported.")
    var repeats = 3

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        let corpus = try TSVCorpus.read(path: file)
        let vocabulary: VocabularyPair
        if let vocab {
            vocabulary = try VocabularyPair.load(from: vocab)
        } else {
            let started = Date()
            vocabulary = try VocabularyPair.learn(corpus: corpus.pairs, options: VocabularyOptions(size: size))
            print("learn seconds: \(String(format: "%.2f", Date().timeIntervalSince(started)))")
        }
        let bytes = corpus.pairs.reduce(0) { $0 + $1.source.utf8.count + $1.target.utf8.count }
        var best = Double.infinity
        var tokens = 0
        for _ in 0..<repeats {
            // Fresh tokenizers each pass: the word cache starts empty, as in a real run.
            let source = try vocabulary.tokenizer(for: .source)
            let target = try vocabulary.tokenizer(for: .target)
            var ids: [Int32] = []
            ids.reserveCapacity(1024)
            var count = 0
            let started = DispatchTime.now().uptimeNanoseconds
            for pair in corpus.pairs {
                ids.removeAll(keepingCapacity: true)
                source.encode(pair.source, appendingTo: &ids)
                target.encode(pair.target, appendingTo: &ids)
                count += ids.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            best = min(best, seconds)
            tokens = count
        }
        print("vocab size: \(vocabulary.size(of: .source)) / \(vocabulary.size(of: .target))")
        print("lines: \(corpus.pairs.count * 2)")
        print("bytes: \(bytes)")
        print("tokens: \(tokens)")
        print("seconds: \(String(format: "%.4f", best))")
        print("MB/s: \(String(format: "%.2f", Double(bytes) / best / 1e6))")
        print("tokens/s: \(String(format: "%.0f", Double(tokens) / best))")
    }
}
