import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Tokenize

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Learn source and target subword vocabularies from a source<TAB>target file.")

    @Argument(help: "Training pairs: source<TAB>target per line (extra columns ignored).")
    var pairs: String

    @Option(parsing: .unconditional, help: "Tokens per vocabulary, including 4 special and 256 byte tokens.")
    var size = 8000

    @Flag(help: "Learn one vocabulary shared by source and target.")
    var joint = false

    @Flag(help: "Character-level vocabulary (no merges), for small corpora.")
    var char = false

    @Option(help: "Unicode normalization stored with the vocabulary: nfkc, nfc or none.")
    var normalization: NormalizationForm = .nfkc

    @Option(parsing: .unconditional, help: "Leave out characters and merges seen fewer times than this.")
    var minFrequency = 2

    @Flag(help: "Stop at the first bad line (FILE:LINE: reason) instead of skipping it.")
    var strict = false

    @Option(help: "Output prefix: writes PREFIX.meta, PREFIX.source.vocab, ... (default: Vocab/ + the file's name without extension).")
    var output: String?

    /// The output prefix, defaulting to `Vocab/NAME` for `NAME.tsv`.
    var outputPrefix: String {
        output ?? "Vocab/" + URL(fileURLWithPath: pairs).deletingPathExtension().lastPathComponent
    }

    func validate() throws {
        try OptionCheck.require(size, in: 262...ModelConfiguration.maximumVocabularySize, "--size")
        try OptionCheck.require(minFrequency, in: 1...Int.max, "--min-frequency")
        do { try VocabularyPair.checkPrefix(outputPrefix) } catch { throw ValidationError("--output: \(error)") }
    }

    func run() throws {
        let started = Date()
        let corpus = try TSVCorpus.read(path: pairs, strict: strict)
        if !corpus.skipped.isEmpty { printError("warning: \(corpus.skipped)") }
        let options = VocabularyOptions(size: size, joint: joint, characterLevel: char,
                                        normalization: normalization, minimumFrequency: minFrequency)
        let vocabulary = try VocabularyPair.learn(corpus: corpus.pairs, options: options)
        try vocabulary.save(to: outputPrefix)
        let seconds = Date().timeIntervalSince(started)
        print("learned from \(corpus.pairs.count) pairs in \(String(format: "%.1f", seconds)) s: "
              + "source \(vocabulary.size(of: .source)) tokens, target \(vocabulary.size(of: .target)) tokens"
              + (joint ? " (joint)" : "") + " -> \(outputPrefix).meta (\(vocabulary.identity))")
    }
}
