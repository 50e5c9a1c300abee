import ArgumentParser
import Foundation
import CommandLineSupport
import Seq2Seq
import Tokenize

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Translate column 1 of a test file and score it against column 2 (BLEU, chrF).",
        discussion: """
            Prints sacreBLEU-compatible corpus BLEU (13a tokenizer), chrF2 and, for Korean \
            targets, BLEU with character tokenization, each with its signature.
            With a model trained with --reverse, column 2 is translated and scored against column 1.
            """)

    @Option(help: "Model directory written by `seq2seq train`.")
    var model = "model"

    @Argument(help: "Test pairs: source<TAB>target per line.")
    var test: String

    @OptionGroup var decoding: DecodingOptions

    @Option(help: "Also write the translations to this file: one line per line of the test file, empty for skipped (malformed) lines.")
    var output: String?

    @Flag(help: "Stop at the first malformed line instead of skipping it.")
    var strict = false

    func validate() throws { try decoding.check() }

    func run() throws {
        ComputeThreads.configure(decoding.threads)
        let outputFile = try output.map { try OutputFile(path: $0) }   // checked before the slow part
        defer { outputFile?.discard() }
        let directory = ModelDirectory(path: model)
        let (translator, manifest) = try directory.loadTranslator(options: decoding.translationOptions,
                                                                  shortlist: decoding.usesShortlist(directory))
        try translator.decodingMemory(batchSize: decoding.batchSize).require(
            for: "evaluating with --beam-size \(decoding.greedy ? 1 : decoding.beamSize) and --batch-size \(decoding.batchSize)",
            advice: "lower --beam-size, --batch-size or --max-input-length")
        let corpus = try TSVCorpus.read(path: test, strict: strict)
        if !corpus.skipped.isEmpty { printError("warning: \(corpus.skipped)") }
        let sources = corpus.pairs.map { manifest.reverse ? $0.target : $0.source }
        let references = corpus.pairs.map { manifest.reverse ? $0.source : $0.target }
        var hypotheses = [String](repeating: "", count: sources.count)
        var readIndex = 0, emitIndex = 0, translatedCount = 0
        let bar = ProgressBar(total: sources.count, label: "translating")
        try WindowedBatches(windowSize: 64 * decoding.batchSize, batchSize: decoding.batchSize).run(
            next: {
                guard readIndex < sources.count else { return nil }
                readIndex += 1
                return sources[readIndex - 1]
            },
            length: { $0.utf8.count },
            process: { batch in
                let translations = try translator.translate(batch)
                translatedCount += batch.count
                bar.update(done: translatedCount, fields: "sentences")
                return translations
            },
            emit: { translation in
                hypotheses[emitIndex] = translation.text
                emitIndex += 1
            })
        bar.finish()
        if let outputFile {
            // Line n of the output belongs to line n of the test file.
            var lines = [String](repeating: "", count: corpus.skipped.linesRead)
            for (pair, hypothesis) in zip(corpus.pairs, hypotheses) where pair.line - 1 < lines.count {
                lines[pair.line - 1] = hypothesis
            }
            let writer = LineWriter(output: outputFile)
            for line in lines { try writer.write(line: line) }
            try writer.flush()
            try outputFile.commit()
            if !corpus.skipped.isEmpty {
                printError("note: \(outputFile.name) has an empty line for each of the \(corpus.skipped.skipped) skipped lines, so its lines match the test file's")
            }
        }
        let bleu = try BLEU().corpusScore(hypotheses: hypotheses, references: references)
        let chrF = try ChrF().corpusScore(hypotheses: hypotheses, references: references)
        print("BLEU|\(bleu.signature) = \(String(format: "%.2f", bleu.score))  (\(bleu))")
        print("chrF2|\(chrF.signature) = \(String(format: "%.2f", chrF.score))")
        if manifest.targetLanguage == "ko" || guessLanguage(references.prefix(1000)) == "ko" {
            let charBLEU = try BLEU(tokenizer: .char).corpusScore(hypotheses: hypotheses, references: references)
            print("BLEU|\(charBLEU.signature) = \(String(format: "%.2f", charBLEU.score))  (\(charBLEU))")
        }
    }
}
