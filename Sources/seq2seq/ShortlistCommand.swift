import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Tokenize

struct ShortlistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shortlist",
        abstract: "Learn a vocabulary shortlist for faster decoding (`translate --shortlist`).",
        discussion: """
            Reads training pairs (english<TAB>korean, as for `train`; the model's direction picks \
            the source column), tokenizes them with the model's vocabulary and writes \
            DIR/shortlist.safetensors: the --frequent most frequent target tokens, and for every \
            source token its --candidates most associated target tokens (Dice coefficient of \
            co-occurrence in sentence pairs). With `translate --shortlist` each sentence's decoder \
            then scores only the frequent tokens, </s> and the candidates of its own source tokens.

            Examples:
              seq2seq shortlist --model model pairs.tsv
              seq2seq shortlist --model model --frequent 300 --candidates 10 pairs.tsv
              translate --model model --shortlist < input.txt
            """)

    @Option(help: "Model directory written by `seq2seq train`; the shortlist is written into it.")
    var model = "model"

    @Argument(help: "Training pairs: english<TAB>korean per line (usually the file the model was trained on).")
    var pairs: String

    @Option(help: "N: the most frequent target tokens, in every sentence's shortlist.")
    var frequent = 500

    @Option(help: "K: per source token, the most associated target tokens (beyond the frequent ones).")
    var candidates = 20

    @Option(help: "Ignore token pairs that occur together in fewer sentence pairs than this.")
    var minimumCooccurrence = 1

    @Flag(help: "Stop at the first malformed line instead of skipping it.")
    var strict = false

    func validate() throws {
        try OptionCheck.require(frequent, in: 0...VocabularyShortlist.maximumVocabularySize, "--frequent")
        try OptionCheck.require(candidates, in: 0...VocabularyShortlist.maximumVocabularySize, "--candidates")
        try OptionCheck.require(minimumCooccurrence, in: 1...Int(Int32.max), "--minimum-cooccurrence")
    }

    func run() throws {
        let directory = ModelDirectory(path: model)
        let manifest = try directory.readManifest()
        guard FileManager.default.fileExists(atPath: directory.vocabularyPrefix + ".meta") else {
            throw ModelDirectoryError.incomplete(path: model, missing: "vocab.meta")
        }
        let vocabulary = try VocabularyPair.load(from: directory.vocabularyPrefix)
        let corpus = try TSVCorpus.read(path: pairs, strict: strict)
        if !corpus.skipped.isEmpty { printError("warning: \(corpus.skipped)") }
        guard !corpus.pairs.isEmpty else { throw ValidationError("\(pairs): no sentence pairs to learn from") }
        let sourceTokenizer = try vocabulary.tokenizer(for: manifest.sourceSide)
        let targetTokenizer = try vocabulary.tokenizer(for: manifest.targetSide)
        let bar = ProgressBar(total: corpus.pairs.count, label: "tokenizing")
        var tokenized: [(source: [Int32], target: [Int32])] = []
        tokenized.reserveCapacity(corpus.pairs.count)
        for (i, pair) in corpus.pairs.enumerated() {
            let (source, target) = manifest.reverse ? (pair.target, pair.source) : (pair.source, pair.target)
            tokenized.append((sourceTokenizer.encode(source), targetTokenizer.encode(target)))
            if i % 1000 == 0 { bar.update(done: i, fields: "pairs") }
        }
        bar.finish()
        let tags = directory.vocabularyTags(manifest)
        let settings = ShortlistSettings(frequentCount: frequent, candidateCount: candidates,
                                         minimumCooccurrence: minimumCooccurrence)
        let shortlist = try VocabularyShortlist.learn(
            pairs: tokenized, sourceVocabularySize: vocabulary.size(of: manifest.sourceSide),
            targetVocabularySize: vocabulary.size(of: manifest.targetSide), settings: settings,
            sourceVocabulary: tags.source, targetVocabulary: tags.target)
        try shortlist.write(to: directory.shortlistPath)
        printError(summary(shortlist, pairs: tokenized))
    }

    /// Sizes, and how many target tokens of the given pairs their own shortlist holds
    /// (an optimistic coverage: these are the pairs it was learned from).
    private func summary(_ shortlist: VocabularyShortlist, pairs: [(source: [Int32], target: [Int32])]) -> String {
        var total = 0, covered = 0, sizes = 0
        for pair in pairs {
            let list = Set(shortlist.tokens(forSource: pair.source))
            sizes += list.count
            total += pair.target.count
            covered += pair.target.filter(list.contains).count
        }
        let withCandidates = shortlist.candidates.filter { !$0.isEmpty }.count
        return "wrote \(model)/\(VocabularyShortlist.fileName): \(shortlist.frequent.count) frequent target tokens, "
            + "candidates for \(withCandidates) of \(shortlist.sourceVocabularySize) source tokens; "
            + String(format: "on these %d pairs: %.0f tokens per sentence's shortlist (of %d), %.2f%% of target tokens covered",
                     pairs.count, Double(sizes) / Double(pairs.count), shortlist.targetVocabularySize,
                     100 * Double(covered) / Double(max(total, 1)))
    }
}
