import Tokenize

/// What a `BackTranslation` run did.
public struct BackTranslationSummary: Sendable, Equatable, CustomStringConvertible {
    /// Input lines read (skipped ones included); with `--skip-lines` the count after them.
    public var linesRead = 0
    /// Pairs written.
    public var pairsWritten = 0
    /// Input lines that were empty (or only spaces): not translated.
    public var emptyLines = 0
    /// Lines whose translation came out empty: no pair written.
    public var emptyTranslations = 0
    /// Lines cut to the model's `maxInputLength` before translating.
    public var truncated = 0
    /// Stopped early by Ctrl-C / SIGTERM (what was read was translated and written).
    public var interrupted = false

    public init() {}

    public var description: String {
        var parts = ["read \(linesRead) lines", "wrote \(pairsWritten) pairs"]
        if emptyLines > 0 { parts.append("skipped \(emptyLines) empty lines") }
        if emptyTranslations > 0 { parts.append("dropped \(emptyTranslations) empty translations") }
        if truncated > 0 { parts.append("\(truncated) lines cut to --max-input-length") }
        return parts.joined(separator: ", ")
    }
}

/// Back-translation (Sennrich et al. 2016): monolingual target-side text, translated into the
/// source language by a model of the reverse direction, gives synthetic training pairs for the
/// forward model (`seq2seq train --synthetic`).
///
/// Each pair is written in the column order of the file the reverse model was trained on, the
/// monolingual line in the column it read and its translation (with `noise`) in the column it
/// wrote, so `train` reads the synthetic file with the same `--reverse` setting as the real one.
/// Tabs in a line become spaces; empty lines and empty translations give no pair. The output
/// is a function of the input, the model, the decoding options and `seed` only (not of the
/// batching or the number of workers).
public struct BackTranslation {
    /// Noise on the translations (`BackTranslationNoise`; none by default).
    public var noise = BackTranslationNoise()
    /// Seed of the noise (the sampling seed is in the translators' `TranslationOptions`).
    public var seed: UInt64 = 1
    /// The reverse model was trained with `--reverse`: it reads column 2 and writes column 1.
    public var modelReadsSecondColumn = false
    /// Sentences decoded together; windows of 8 batches are sorted by length.
    public var batchSize = 32
    /// Stop after this many input lines (nil: at the end of the input).
    public var maxLines: Int?

    public init() {}

    /// Translates the lines of `input` with `translators` (one worker each; see `WindowedBatches`)
    /// and writes one tab-separated pair per line to `output`. `progress` gets the input lines
    /// done so far after each window. Stops early, with `interrupted` set, once
    /// `Interrupt.isRequested` (when the caller installed a cooperative handler).
    /// - Throws: errors of reading, writing and translating.
    public func run(translators: [Translator], input: LineReader, output: LineWriter,
                    progress: @escaping (Int) -> Void = { _ in }) throws -> BackTranslationSummary {
        var summary = BackTranslationSummary()
        var lineNumbers: [Int] = []   // input line of each line of the current window, in order
        func next() throws -> String? {
            while true {
                if let maxLines, summary.linesRead >= maxLines { return nil }
                if Interrupt.isRequested { summary.interrupted = true; return nil }
                guard let raw = try input.nextLine() else { return nil }
                summary.linesRead += 1
                let line = raw.contains("\t") ? raw.split(separator: "\t", omittingEmptySubsequences: false).joined(separator: " ") : raw
                if line.allSatisfy({ $0 == " " }) { summary.emptyLines += 1; continue }
                lineNumbers.append(input.linesRead)
                return line
            }
        }
        var emitted = 0
        try WindowedBatches(windowSize: batchSize * 8, batchSize: batchSize, workers: max(1, translators.count)).run(
            next: next,
            length: { $0.utf8.count },
            process: { worker, lines in try translators[worker].translate(lines) },
            emit: { translation in
                var random = RandomGenerator(seed: seed &* 0xA24B_AED4_963E_E407 &+ UInt64(lineNumbers[emitted]))
                emitted += 1
                if emitted == lineNumbers.count { lineNumbers.removeAll(keepingCapacity: true); emitted = 0 }
                if translation.inputWasTruncated { summary.truncated += 1 }
                let synthetic = noise.apply(to: translation.text, using: &random)
                guard !synthetic.isEmpty else { summary.emptyTranslations += 1; return }
                let pair = modelReadsSecondColumn ? synthetic + "\t" + translation.source : translation.source + "\t" + synthetic
                try output.write(line: pair)
                summary.pairsWritten += 1
            },
            windowDone: { _ in progress(summary.linesRead) })
        try output.flush()
        return summary
    }
}
