import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Tokenize

#if canImport(Glibc)
import Glibc
#endif

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl
}

@main
struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate text with a model trained by `seq2seq train`.",
        discussion: """
            With TEXT arguments, prints one translation per argument. Without, reads lines from \
            the -i files (or stdin) and writes one output line per input line, in order: an empty \
            line gives an empty line. On a terminal each line is answered at once; in a pipe lines \
            are batched by length inside a bounded window for speed.

            Examples:
              translate "hello world"
              translate --model model-ko-en "안녕하세요"
              translate --model run1 --model run2 "hello"      (an ensemble)
              translate < input.txt > output.txt
              cat input.txt | translate --format jsonl --n-best 3
              translate -i a.txt -i b.txt -o out.txt --greedy
              translate --format jsonl --alignment "hello world"
            """)

    @Argument(help: "Sentences to translate (default: read lines from -i files or stdin).")
    var text: [String] = []

    @Option(name: .customLong("model"),
            help: "Model directory written by `seq2seq train` (default: model). Repeat it for an ensemble: the mean of the models' log-probabilities scores each step; they need the same vocabulary and direction.")
    var models: [String] = []

    /// The first (or only) model directory.
    var model: String { models.first ?? "model" }

    @Option(name: [.customShort("i"), .customLong("input")], help: "Read lines from this file (repeatable; in order).")
    var inputs: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")],
            help: "Write translations to this file (a regular file is replaced atomically at the end; a device, FIFO or /dev/stdout is written through).")
    var output: String?

    @Option(help: "text: one translation per line; jsonl: source, translation, score and the n-best list per line.")
    var format: OutputFormat = .text

    @Flag(help: "With --format jsonl: add the attention matrix of each translation (rows: target subword tokens incl. </s>; columns: source subword tokens; rows sum to 1). Needs a model trained with --attention.")
    var alignment = false

    @OptionGroup var decoding: DecodingOptions

    @Option(help: ArgumentHelp(
        "Translators decoding batches of a file or pipe at once (default: one per --threads). Each has its own copy of the model and, with more than one, keeps to one thread: on few cores this decodes more sentences per second than one batch split over them (the same batches; scores may differ in the last float bits). Sentences given as arguments and a terminal use one.",
        valueName: "N"))
    var workers: Int?

    /// Runs the command, then checks that standard output was written (see `CommandRunner`).
    static func main() { CommandRunner.main(Self.self) }

    /// Input silent for this long (a pipe such as `tail -f log | translate`): translate what was read.
    static let inputPauseMilliseconds: Int32 = 50

    func validate() throws {
        try decoding.check()
        if !text.isEmpty && !inputs.isEmpty {
            throw ValidationError("give sentences as arguments or -i files, not both")
        }
        for path in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
                  FileManager.default.isReadableFile(atPath: path) else {
                throw ValidationError("\(path): input file not found or not readable")
            }
            if isDirectory.boolValue { throw ValidationError("\(path): is a folder, not an input file") }
        }
        if let workers, !(1...decoding.threads).contains(workers) {
            throw ValidationError("--workers must be in 1...\(decoding.threads) (--threads \(decoding.threads)); raise --threads to run more")
        }
        if alignment && format != .jsonl {
            throw ValidationError("--alignment adds a matrix to each JSON line: use it with --format jsonl")
        }
        if decoding.nBest > 1 && format == .text {
            printError("note: --n-best lists are shown with --format jsonl; text output has the best translation only")
        }
    }

    /// Translators decoding at once: `--workers` (default one per thread) for files and pipes;
    /// one for a terminal (line by line) and for arguments (one batch).
    private func workerCount(interactive: Bool) -> Int {
        text.isEmpty && !interactive ? workers ?? decoding.threads : 1
    }

    /// `count` copies of the model (or ensemble) of `--model`, one per worker, refused when their
    /// decoding would not fit in memory together.
    private func loadTranslators(count: Int) throws -> [Translator] {
        try TranslatorCopies.load(
            count: count, batchSize: decoding.batchSize, modelsPerCopy: models.count,   // an ensemble runs every model
            what: "translating with --beam-size \(decoding.greedy ? 1 : decoding.beamSize), --batch-size \(decoding.batchSize) "
                + "and --max-input-length \(decoding.maxInputLength)",
            advice: count > 1 ? "lower --workers, --beam-size, --batch-size or --max-input-length"
                : "lower --beam-size, --batch-size or --max-input-length",
            loadTranslator)
    }

    /// The model (or ensemble) of `--model`.
    private func loadTranslator() throws -> Translator {
        var options = decoding.translationOptions
        options.alignment = alignment
        let directory = ModelDirectory(path: model)
        // Text given as arguments: a short-lived process whose start-up is most of its time, so
        // the weights are used where the file is mapped. Streams and files copy them (a model
        // overwritten in place during a long job must not take the process down).
        let (translator, _) = try directory.loadTranslator(
            options: options, ensemble: models.dropFirst().map(ModelDirectory.init), shortlist: decoding.usesShortlist(directory),
            mapWeights: !text.isEmpty)
        if alignment && translator.model.configuration.attention == .none {
            throw ValidationError("\(model): --alignment needs a model trained with --attention dot or general; this one has no attention")
        }
        return translator
    }

    /// Input files in order, or stdin (none when the text comes as arguments).
    private func openInputs() throws -> [(name: String, reader: LineReader, fd: Int32)] {
        var sources: [(name: String, reader: LineReader, fd: Int32)] = []
        if text.isEmpty {
            if inputs.isEmpty {
                sources.append(("<stdin>", LineReader(fileDescriptor: 0), 0))
            } else {
                for path in inputs {
                    let fd = open(path, O_RDONLY | O_CLOEXEC)
                    guard fd >= 0 else { throw ValidationError("\(path): cannot open (\(String(cString: strerror(errno))))") }
                    sources.append((path, LineReader(fileDescriptor: fd), fd))
                }
            }
        }
        return sources
    }

    func run() throws {
        ComputeThreads.configure(decoding.threads)
        // Output: stdout or -o (see `OutputFile`); checked before the model is loaded.
        let outputFile = try output.map { try OutputFile(path: $0) } ?? OutputFile.standardOutput()
        defer { outputFile.discard() }   // removes an unfinished temporary file; nothing after `commit()`
        let interactive = text.isEmpty && inputs.isEmpty && isatty(0) != 0
        let workerCount = workerCount(interactive: interactive)
        let translators = try loadTranslators(count: workerCount)
        let writer = LineWriter(output: outputFile)

        // Input: arguments, files in order, or stdin.
        let sources = try openInputs()
        var argumentIndex = 0
        var current = 0
        var lineNumbers: [(String, Int)] = []   // for warnings, per window
        var lineCount = 0
        func nextLine() throws -> String? {
            if !text.isEmpty {
                guard argumentIndex < text.count else { return nil }
                argumentIndex += 1
                lineNumbers.append(("argument", argumentIndex))
                return text[argumentIndex - 1]
            }
            while current < sources.count {
                if let line = try sources[current].reader.nextLine() {
                    lineNumbers.append((sources[current].name, sources[current].reader.linesRead))
                    return line
                }
                current += 1
            }
            return nil
        }

        // A terminal gets an answer per line; a pipe or file is batched, and what was read is
        // translated (and flushed) as soon as the input pauses, so `tail -f log | translate` streams.
        let window = interactive ? 1 : decoding.batchSize * 8
        func inputPaused() -> Bool {
            current < sources.count && !sources[current].reader.isReady(waitingAtMost: Self.inputPauseMilliseconds)
        }
        var emitted = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try WindowedBatches(windowSize: window, batchSize: decoding.batchSize, workers: workerCount).run(
            next: nextLine,
            length: { $0.utf8.count },
            process: { worker, lines in try translators[worker].translate(lines) },
            emit: { translation in
                let (name, line) = lineNumbers[emitted]
                emitted += 1
                if emitted == lineNumbers.count { lineNumbers.removeAll(keepingCapacity: true); emitted = 0 }
                lineCount += 1
                if translation.inputWasTruncated {
                    printError("warning: \(name):\(line): input longer than --max-input-length \(decoding.maxInputLength) tokens; translated its beginning only")
                }
                switch format {
                case .text:
                    try writer.write(line: translation.text)
                case .jsonl:
                    let record = JSONRecord(
                        source: translation.source, translation: translation.text, score: translation.score,
                        nBest: translation.nBest.map { .init(translation: $0.text, score: $0.score) },
                        alignment: translation.alignment)
                    try writer.write(line: String(decoding: try encoder.encode(record), as: UTF8.self))
                }
            },
            inputPaused: inputPaused,
            windowDone: { paused in if paused { try writer.flush() } })
        try writer.flush()
        for source in sources {
            if source.reader.replacedSequences > 0 {
                printError("warning: \(source.name): replaced \(source.reader.replacedSequences) invalid UTF-8 sequence(s) with U+FFFD")
            }
            if source.fd > 0 { close(source.fd) }
        }
        try outputFile.commit()
    }
}

/// One line of `--format jsonl`.
struct JSONRecord: Encodable {
    struct Candidate: Encodable {
        var translation: String
        var score: Float
    }
    var source: String
    var translation: String
    var score: Float
    var nBest: [Candidate]
    var alignment: TranslationAlignment?

    enum CodingKeys: String, CodingKey {
        case source, translation, score, alignment
        case nBest = "n_best"
    }
}
