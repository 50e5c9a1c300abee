import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Tokenize

#if canImport(Glibc)
import Glibc
#endif

struct BackTranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtranslate",
        abstract: "Turn monolingual text into synthetic training pairs with a model of the reverse direction.",
        discussion: """
            Back-translation (Sennrich et al. 2016): to train an en→ko model on more Korean, \
            translate Korean text with a ko→en model (REVERSE) and train the en→ko model on the \
            pairs with `seq2seq train pairs.tsv --synthetic synthetic.tsv`, which tags their \
            sources so the model can tell them from real ones (Caswell et al. 2019).

            MONO has one sentence per line in the language REVERSE translates from. Each output \
            line is a pair in the column order of the file REVERSE was trained on (english<TAB>korean \
            for the bundled corpora), so train reads it with the same --reverse setting as the \
            real pairs. Empty lines and empty translations give no pair (counted).

            Beam search (the default) gives the best translations, the best choice for small \
            corpora; --sampling draws them from the model's distribution and --noise adds \
            Edunov et al.'s (2018) word deletion, blanking and local shuffling, both of which \
            give more varied sources. The output depends only on the input, the model, the \
            options and --seed. Ctrl-C stops after the current window and keeps the pairs \
            written so far; the summary says which --skip-lines continues the job.

            Examples:
              seq2seq train pairs.tsv --reverse --output ko-en        (the reverse model)
              seq2seq backtranslate --model ko-en korean.txt -o synthetic.tsv
              seq2seq train pairs.tsv --synthetic synthetic.tsv --output en-ko
              seq2seq backtranslate --model ko-en --sampling --noise korean.txt -o noisy.tsv
            """)

    @Argument(help: "Monolingual text, one sentence per line (- for standard input).")
    var mono: String

    @Option(help: "Model directory of the reverse direction (written by `seq2seq train`).")
    var model: String

    @Option(name: .shortAndLong, help: "Write the synthetic pairs here (replaced atomically at the end); standard output when absent.")
    var output: String?

    @OptionGroup(title: "Decoding") var decoding: DecodingOptions

    @Flag(help: "Draw each translation from the model's distribution instead of searching for the best one (Edunov et al. 2018).")
    var sampling = false

    @Option(parsing: .unconditional, help: "With sampling: softmax temperature (1: the model's distribution; below 1 closer to beam search). Implies --sampling.")
    var samplingTemperature: Float?

    @Option(name: .customLong("sampling-topk"), parsing: .unconditional,
            help: "With sampling: draw among the K most probable tokens only (Edunov et al.'s top-10 sampling). Implies --sampling.")
    var samplingTopK: Int?

    @Flag(help: "Add Edunov et al.'s noise to the translations: delete 10% of the words, replace 10% by <blank>, shuffle words within 3 places (each settable below).")
    var noise = false

    @Option(parsing: .unconditional, help: "Probability of deleting each word of a translation.")
    var noiseDelete: Double?

    @Option(parsing: .unconditional, help: "Probability of replacing each word of a translation by --noise-filler.")
    var noiseBlank: Double?

    @Option(parsing: .unconditional, help: "Shuffle the words of a translation so that none moves more than K places (0: no shuffle).")
    var noiseShuffle: Int?

    @Option(help: "The word that replaces a blanked one.")
    var noiseFiller = "<blank>"

    @Option(parsing: .unconditional, help: "Seed of the sampling and the noise.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Translators decoding at once (default: one per --threads), each with its own copy of the model.",
                               valueName: "N"))
    var workers: Int?

    @Option(parsing: .unconditional, help: "Skip the first N lines of MONO (to continue an interrupted job).")
    var skipLines = 0

    @Option(parsing: .unconditional, help: "Translate at most N lines (after --skip-lines).")
    var maxLines: Int?

    /// Noise settings: --noise's defaults, each overridden by its own option.
    var noiseSettings: BackTranslationNoise {
        let base = noise ? BackTranslationNoise.edunov2018 : BackTranslationNoise()
        return BackTranslationNoise(deleteProbability: noiseDelete ?? base.deleteProbability,
                                    blankProbability: noiseBlank ?? base.blankProbability,
                                    shuffleDistance: noiseShuffle ?? base.shuffleDistance, filler: noiseFiller)
    }

    var samples: Bool { sampling || samplingTemperature != nil || samplingTopK != nil }

    func validate() throws {
        try decoding.check()
        if decoding.nBest > 1 { throw ValidationError("--n-best: back-translation writes one pair per line; drop --n-best") }
        if samples && decoding.greedy { throw ValidationError("--greedy and --sampling contradict each other: give one of them") }
        if let samplingTemperature { try OptionCheck.require(samplingTemperature, in: 0...100, "--sampling-temperature") }
        if let samplingTopK { try OptionCheck.require(samplingTopK, in: 1...OptionCheck.maximumCount, "--sampling-topk") }
        if let noiseDelete { try OptionCheck.require(noiseDelete, in: 0...1, "--noise-delete", excludingUpperBound: true) }
        if let noiseBlank { try OptionCheck.require(noiseBlank, in: 0...1, "--noise-blank") }
        if let noiseShuffle { try OptionCheck.require(noiseShuffle, in: 0...1000, "--noise-shuffle") }
        let settings = noiseSettings
        if settings.deleteProbability + settings.blankProbability > 1 {
            throw ValidationError("--noise-delete + --noise-blank exceed 1 (\(settings.deleteProbability) + \(settings.blankProbability)): lower one")
        }
        if noiseFiller.isEmpty || noiseFiller.contains(where: { $0.isWhitespace }) {
            throw ValidationError("--noise-filler must be one word without spaces, e.g. <blank>")
        }
        if let workers, !(1...decoding.threads).contains(workers) {
            throw ValidationError("--workers must be in 1...\(decoding.threads) (--threads \(decoding.threads)); raise --threads to run more")
        }
        try OptionCheck.require(skipLines, in: 0...Int(Int64.max / 2), "--skip-lines")
        if let maxLines { try OptionCheck.require(maxLines, in: 1...Int(Int64.max / 2), "--max-lines") }
        if mono != "-" && !FileManager.default.isReadableFile(atPath: mono) {
            throw ValidationError("\(mono): monolingual file not found or not readable")
        }
    }

    func run() throws {
        ComputeThreads.configure(decoding.threads)
        let outputFile = try output.map { try OutputFile(path: $0) } ?? OutputFile.standardOutput()
        defer { outputFile.discard() }   // removes an unfinished temporary file; nothing after `commit()`
        let (translators, manifest) = try loadTranslators(count: workers ?? decoding.threads)
        let fd = mono == "-" ? 0 : open(mono, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("\(mono): cannot open (\(String(cString: strerror(errno))))") }
        defer { if fd > 0 { close(fd) } }
        let reader = LineReader(fileDescriptor: fd)
        var skipped = 0
        while skipped < skipLines, try reader.nextLine() != nil { skipped += 1 }
        var job = BackTranslation()
        job.noise = noiseSettings
        job.seed = seed
        job.modelReadsSecondColumn = manifest.reverse
        job.batchSize = decoding.batchSize
        job.maxLines = maxLines
        let total = lineTotal()
        let bar = ProgressBar(total: total, label: "back-translating")
        let started = monotonicSeconds()
        Interrupt.installCooperative()
        let summary = try job.run(translators: translators, input: reader, output: LineWriter(output: outputFile)) { done in
            bar.update(done: done, fields: String(format: "%.0f lines/s", Double(done) / max(1e-9, monotonicSeconds() - started)))
        }
        bar.finish()
        try outputFile.commit()
        if reader.replacedSequences > 0 {
            printError("warning: \(mono): replaced \(reader.replacedSequences) invalid UTF-8 sequence(s) with U+FFFD")
        }
        printError("backtranslate: \(summary) in \(formatDuration(monotonicSeconds() - started))"
                   + (output.map { " -> \($0)" } ?? ""))
        if summary.interrupted {
            printError("interrupted: the pairs of the first \(skipLines + summary.linesRead) lines are written; continue with --skip-lines \(skipLines + summary.linesRead) into another file")
            throw ExitCode(Interrupt.exitStatus)
        }
    }

    /// Lines the job will read, for the progress bar's ETA (0 when unknown: standard input).
    private func lineTotal() -> Int {
        guard mono != "-", let file = try? MappedFile(mono) else { return 0 }
        var newlines = 0
        for byte in file.bytes where byte == 0x0A { newlines += 1 }
        if let last = file.bytes.last, last != 0x0A { newlines += 1 }
        let left = max(0, newlines - skipLines)
        return maxLines.map { min($0, left) } ?? left
    }

    /// One translator per worker, with sampling when asked for; refused when they would not fit in memory together.
    private func loadTranslators(count: Int) throws -> ([Translator], ModelManifest) {
        var options = decoding.translationOptions
        if samples {
            options.sampling = TranslationSampling(temperature: samplingTemperature ?? 1, topK: samplingTopK, seed: seed)
        }
        let directory = ModelDirectory(path: model)
        var manifest: ModelManifest?
        let translators = try TranslatorCopies.load(
            count: count, batchSize: decoding.batchSize, what: "back-translating with --batch-size \(decoding.batchSize)",
            advice: "lower --workers, --beam-size or --batch-size") {
            let (translator, read) = try directory.loadTranslator(options: options, shortlist: decoding.usesShortlist(directory))
            manifest = read
            return translator
        }
        guard let manifest else { throw ValidationError("\(model): no model manifest read") }
        return (translators, manifest)
    }
}
