import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Tokenize

extension TextUnitKind: ExpressibleByArgument {}

/// `seq2seq lm …`: recurrent language models over a text file.
struct LMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Recurrent language models (char-rnn): train on any UTF-8 text, sample, evaluate, dump cell states.",
        discussion: """
            A language model reads a text one unit at a time (a character, a Hangul jamo or a subword) and \
            predicts the next one. Training runs truncated backpropagation through time: the text is cut \
            into --batch-size parallel streams whose recurrent state is carried from chunk to chunk of \
            --bptt steps, with gradients only inside a chunk.

            Examples:
              seq2seq lm train input.txt --output lm-shakespeare --time-budget 10m
              seq2seq lm train novel-ko.txt --units jamo --output lm-ko
              seq2seq lm sample --model lm-shakespeare --prime "ROMEO:" --temperature 0.8
              seq2seq lm eval --model lm-shakespeare test.txt
              seq2seq lm states --model lm-shakespeare snippet.txt --format jsonl --layer 1 > states.jsonl
            """,
        subcommands: [LMTrainCommand.self, LMSampleCommand.self, LMEvalCommand.self, LMStatesCommand.self])
}

struct LMTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a recurrent language model on a UTF-8 text file.",
        discussion: """
            Validates on --dev (or the last 2% of the text) every --validate-every steps and when training \
            stops: dev loss (nats per unit), bits per character (over the original characters, so char, jamo \
            and subword models compare) and perplexity, logged to OUTPUT/training-log.jsonl. Keeps the \
            model with the lowest dev loss in OUTPUT/best and a resumable checkpoint in OUTPUT/last (with \
            the carried stream states); stops early after --patience validations without improvement. \
            Ctrl-C or SIGTERM saves and exits with status 130 (143); --resume continues bit-exactly (same \
            --threads). A second Ctrl-C more than a second later quits without saving.
            """)

    @OptionGroup(title: "Training run") var training: TrainingRunOptions

    @OptionGroup(title: "Model size") var sizes: ModelSizeOptions

    @Argument(help: "Training text (UTF-8; any kind: prose, source code, Korean).")
    var text: String

    @Option(help: "Dev text for validation (default: the last 2% of the training text).")
    var dev: String?

    @Option(help: "Model directory to write.")
    var output = "lm"

    @Option(help: "Units: char (one per Unicode character after NFC), jamo (Hangul syllables as 2-3 conjoining jamo, recomposed on output) or subword (BPE of `seq2seq vocab`).")
    var units: TextUnitKind?

    @Option(help: "subword: vocabulary prefix from `seq2seq vocab --output` (default: learn one from the text).")
    var vocab: String?

    @Option(parsing: .unconditional, help: "subword: tokens of the learned vocabulary.")
    var vocabSize = 8000

    @Option(parsing: .unconditional, help: "char/jamo: characters seen fewer times in the text become <unk>.")
    var minCount = 1

    @Option(help: "Recurrent cell: rnn (vanilla tanh RNN), gru or lstm.")
    var cell: CellKind?

    @Option(parsing: .unconditional, help: "Truncated BPTT length: steps per chunk (default 100).")
    var bptt: Int?

    @Option(parsing: .unconditional, help: "Streams the dev text is read in, each carrying its state (1 = the whole text as one stream).")
    var evalStreams = 64

    func validate() throws {
        if training.resume && (units != nil || cell != nil || sizes.anyGiven || vocab != nil) {
            throw ValidationError("--resume continues the model in --output with its own units and sizes: drop --units/--cell/--layers/--hidden/--embedding/--dropout/--vocab")
        }
        if vocab != nil && units != .subword { throw ValidationError("--vocab gives subword units: add --units subword") }
        if output.isEmpty { throw ValidationError("--output is empty; give the model folder to write, e.g. --output lm") }
        let count = 1...OptionCheck.maximumCount
        if let bptt { try OptionCheck.require(bptt, in: count, "--bptt") }
        try OptionCheck.require(minCount, in: count, "--min-count")
        try OptionCheck.require(vocabSize, in: 262...OptionCheck.maximumCount, "--vocab-size")
        try OptionCheck.require(evalStreams, in: count, "--eval-streams")
    }

    func run() throws {
        training.precision.apply()
        var options = LanguageModelSessionOptions(trainPath: text)
        options.devPath = dev
        options.outputPath = output
        options.units = units ?? .char
        options.vocabularyPrefix = vocab
        options.vocabularySize = vocabSize
        options.minimumCount = minCount
        options.cell = cell ?? .lstm
        options.chunkLength = bptt
        options.streams = training.batchSize
        options.evaluationStreams = evalStreams
        training.apply(to: &options)
        sizes.apply(to: &options)
        let outcome = try LanguageModelSession(options: options, log: printError).run()
        printError("see what it learned: seq2seq report \(shellQuoted(output)) -o \(shellQuoted(output + "/report.html"))")
        if outcome == .interrupted { throw ExitCode(Interrupt.exitStatus) }
    }
}

struct LMSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a language model, printed as it is drawn.",
        discussion: """
            Feeds --prime (printed first), then draws each next unit from softmax(logits / T) and feeds it \
            back. --temperature 0 always takes the most likely unit; lower temperatures give safer, more \
            repetitive text, higher ones more surprising text. The same --seed gives the same text.
            """)

    @Option(help: "Model directory written by `seq2seq lm train`.")
    var model = "lm"

    @Option(help: "Text to start from (default: as at the beginning of a line).")
    var prime = ""

    @Option(parsing: .unconditional, help: "Characters to generate after the prime.")
    var length = 500

    @Option(parsing: .unconditional, help: "Softmax temperature T ≥ 0 (0 = argmax).")
    var temperature: Float = 1

    @Option(parsing: .unconditional, help: "Draw only among the K most likely units.")
    var topK: Int?

    @Option(parsing: .unconditional, help: "Random seed of the draws.")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "CPU threads for matrix products.")
    var threads = 1

    func validate() throws {
        try OptionCheck.require(length, in: 0...OptionCheck.maximumCount, "--length")
        try OptionCheck.require(temperature, in: 0...1e6, "--temperature")
        if let topK { try OptionCheck.require(topK, in: 1...OptionCheck.maximumCount, "--top-k") }
        try OptionCheck.require(threads, in: 1...OptionCheck.maximumThreads, "--threads")
    }

    func run() throws {
        ComputeThreads.configure(threads)
        let (lm, units, _) = try LanguageModelDirectory(path: model).load()
        let sampler = try Sampler(model: lm, units: units)
        let out = StreamingOutput()
        let prepared = LanguageModelText.prepare(prime)
        let unknown = units.encode(prepared).filter { units.reservedIDs.contains($0) }.count
        if unknown > 0 && units.kind != .subword {
            printError("warning: \(unknown) characters of --prime are not in the model's alphabet (shown as \u{FFFD})")
        }
        let text = try sampler.sample(prime: prepared, options: SamplingOptions(
            temperature: temperature, topK: topK, length: length, seed: seed)) { out.write($0) }
        if !text.hasSuffix("\n") { out.write("\n") }
        try out.finish()
    }
}

/// Standard output that shows each piece at once on a terminal and buffers otherwise. A failed
/// write (a full disk, a closed pipe) stops further writes and is thrown by `finish()`.
final class StreamingOutput {
    private let immediate = isatty(STDOUT_FILENO) != 0
    private var buffer: [UInt8] = []
    private var failure: String?

    func write(_ text: String) {
        guard failure == nil else { return }
        buffer.append(contentsOf: text.utf8)
        if immediate || buffer.count >= 1 << 16 { flush() }
    }

    /// Writes what is buffered; throws `StandardOutputError` if this or an earlier write failed.
    func finish() throws {
        flush()
        if let failure { throw StandardOutputError(reason: failure) }
    }

    private func flush() {
        var offset = 0
        while offset < buffer.count && failure == nil {
            let n = buffer.withUnsafeBufferPointer { Glibc.write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { failure = String(cString: strerror(errno)) } else if n == 0 { failure = "nothing was written" }
            else { offset += n }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

struct LMEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Bits per character and perplexity of a language model over a text file.",
        discussion: """
            The text is read in --streams parallel streams, each carrying its recurrent state through its \
            part of the file (--streams 1: the whole file as one stream, exact but slower). Bits per \
            character are over the original characters of the file, so models over characters, jamo and \
            subwords compare.
            """)

    @Option(help: "Model directory written by `seq2seq lm train`.")
    var model = "lm"

    @Argument(help: "Text to evaluate (UTF-8).")
    var text: String

    @Option(parsing: .unconditional, help: "Parallel streams (each carries its state; 1 = exact, slower).")
    var streams = 64

    @Option(parsing: .unconditional, help: "Steps per chunk.")
    var bptt = 100

    @Option(parsing: .unconditional, help: "CPU threads for matrix products.")
    var threads = 2

    func validate() throws {
        try OptionCheck.require(streams, in: 1...OptionCheck.maximumCount, "--streams")
        try OptionCheck.require(bptt, in: 1...OptionCheck.maximumCount, "--bptt")
        try OptionCheck.require(threads, in: 1...OptionCheck.maximumThreads, "--threads")
    }

    func run() throws {
        ComputeThreads.configure(threads)
        let (lm, units, _) = try LanguageModelDirectory(path: model).load()
        let prepared = try LanguageModelText.read(path: text)
        let ids = units.encode(prepared)
        guard ids.count >= 2 else {
            throw LanguageModelError.textTooShort(path: text, units: ids.count, needed: 2, hint: "give a text of at least two characters")
        }
        let characters = LanguageModelText.characterCount(prepared) - 1
        var bar: ProgressBar?
        let r = try lm.evaluate(units: ids, characterCount: characters, streams: streams, chunkLength: bptt) { done, total in
            if bar == nil { bar = ProgressBar(total: total, label: "evaluating") }
            bar?.update(done: done, fields: "chunks")
        }
        bar?.finish()
        print("units: \(r.unitCount) predicted (\(units.kind.rawValue))")
        print("characters: \(r.characterCount)")
        print("loss: \(String(format: "%.4f", r.loss)) nats/unit")
        print("perplexity: \(String(format: "%.3f", r.perplexity)) per unit")
        print("bits per character: \(String(format: "%.4f", r.bitsPerCharacter))")
    }
}

struct LMStatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "states",
        abstract: "Per character, the hidden state (and LSTM cell state and gates) of one layer, as JSON lines.",
        discussion: """
            Reads the text as one stream from a zero state and prints, after each unit, one line \
            {"index":N,"char":"a","h":[…H floats],"c":[…],"i":[…],"f":[…],"o":[…],"g":[…]}: h always; \
            c, i, f, o, g for an LSTM (input, forget, output gate, candidate g = tanh); r, z, n for a GRU \
            (reset, update, candidate); nothing more for rnn. "char" is the unit read (a jamo with \
            --units jamo, a piece with subword units). Floats have 6 significant digits.
            """)

    @Option(help: "Model directory written by `seq2seq lm train`.")
    var model = "lm"

    @Argument(help: "Text to read (UTF-8).")
    var text: String

    @Option(help: "Output format (jsonl).")
    var format = "jsonl"

    @Option(parsing: .unconditional, help: "Layer to show, 0 = bottom (default: the top layer).")
    var layer: Int?

    @Option(parsing: .unconditional, help: "CPU threads for matrix products.")
    var threads = 1

    func validate() throws {
        if format != "jsonl" { throw ValidationError("--format \(format) is not supported; use jsonl") }
        if let layer { try OptionCheck.require(layer, in: 0...OptionCheck.maximumCount, "--layer") }
        try OptionCheck.require(threads, in: 1...OptionCheck.maximumThreads, "--threads")
    }

    func run() throws {
        ComputeThreads.configure(threads)
        let (lm, units, _) = try LanguageModelDirectory(path: model).load()
        let prepared = try LanguageModelText.read(path: text)
        let writer = LineWriter()
        try lm.activations(of: units.encode(prepared), layer: layer ?? lm.configuration.layerCount - 1,
                           names: { units.name(of: $0) }) { try writer.write(line: $0.jsonLine) }
        try writer.flush()
    }
}
