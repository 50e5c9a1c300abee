import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Tokenize

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a recurrent encoder-decoder (RNN, GRU or LSTM; optional bidirectional encoder and attention) on a source<TAB>target file.",
        discussion: """
            Learns the vocabularies (unless --vocab is given), trains with teacher forcing, \
            validates on --dev (or a deterministic 2% hold-out) with dev loss, BLEU and chrF of \
            greedy translations, keeps the best model by dev chrF in OUTPUT/best and a resumable \
            checkpoint in OUTPUT/last, and logs each validation to OUTPUT/training-log.jsonl.
            Ctrl-C or SIGTERM saves a resumable checkpoint; continue with --resume.

            Examples:
              seq2seq train Corpora/everyday.tsv --time-budget 5m
              seq2seq train pairs.tsv --dev dev.tsv --reverse --output model-ko-en
              seq2seq train pairs.tsv --encoder bi --attention general --cell gru
              seq2seq train pairs.tsv --output model --resume
            """)

    @Argument(help: "Training pairs: source<TAB>target per line (column 1 -> column 2; extra columns ignored).")
    var pairs: String

    @Option(help: "Dev pairs for validation (default: a deterministic 2% hold-out of the training file).")
    var dev: String?

    @Flag(help: "Translate column 2 -> column 1 instead.")
    var reverse = false

    @Flag(inversion: .prefixedNo,
          help: "Feed each source sentence to the encoder last token first (Sutskever et al. 2014); helps a unidirectional encoder (default: on with --encoder uni; a bidirectional encoder reads both ways, so it rejects --reverse-source).")
    var reverseSource: Bool?

    @Option(help: "Use this vocabulary (prefix from `seq2seq vocab --output`) instead of learning one.")
    var vocab: String?

    @Option(parsing: .unconditional, help: "Tokens per learned vocabulary (ignored with --vocab).")
    var vocabSize = 8000

    @Flag(help: "Learn one vocabulary shared by both sides.")
    var joint = false

    @Flag(help: "Character-level vocabularies (small corpora).")
    var char = false

    @OptionGroup(title: "Architecture") var architecture: ArchitectureOptions

    @Flag(help: "Tie the target embeddings to the output layer (Press & Wolf 2017): fewer parameters; needs --embedding = --hidden.")
    var tieEmbeddings = false

    @Option(parsing: .unconditional, help: "Embedding size E.")
    var embedding = 256

    @Option(parsing: .unconditional, help: "Hidden size H of the decoder and of the encoder's output (H/2 per direction with --encoder bi).")
    var hidden = 256

    @Option(parsing: .unconditional, help: "Recurrent layers L (encoder and decoder each).")
    var layers = 1

    @Option(parsing: .unconditional, help: "Dropout on embeddings, between layers and on the attentional state (0 disables).")
    var dropout: Float = 0.3

    @Option(parsing: .unconditional, help: "Word dropout: replace each input token (source, and decoder input after <s>) by <unk> with this probability while training (0 disables).")
    var wordDropout: Float = 0

    @Option(parsing: .unconditional, help: "Sentences per batch.")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Target tokens per batch (instead of --batch-size).")
    var batchTokens: Int?

    @Option(parsing: .unconditional, help: "Skip pairs with a side longer than this many subword tokens (they are counted).")
    var maxLength = 80

    @Option(parsing: .unconditional, help: "Passes over the training data (default: 50, or no limit when --time-budget is given).")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Stop after this much wall-clock time, e.g. 90s, 10m, 1h30m (the best model is kept).")
    var timeBudget: String?

    @Option(parsing: .unconditional, help: "Stop after this many optimizer steps in total (counting steps before --resume).")
    var maxSteps: Int?

    @Option(parsing: .unconditional, help: "Adam learning rate.")
    var learningRate: Float = 0.002

    @Option(parsing: .unconditional, help: "Multiply the learning rate by this factor after every validation that does not improve the dev chrF (1: never).")
    var decayOnPlateau: Float = 1

    @Option(parsing: .unconditional, help: "Grow the learning rate linearly over the first N steps (0: no warm-up).")
    var warmupSteps = 0

    @Option(parsing: .unconditional, help: "Clip the global gradient norm to this value (0 disables).")
    var clip: Float = 1.0

    @Option(parsing: .unconditional, help: "Label smoothing for the cross-entropy (0 disables).")
    var labelSmoothing: Float = 0.1

    @Option(parsing: .unconditional, help: "Random seed (initialization, data order, dropout, dev hold-out).")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "CPU threads for matrix products.")
    var threads = 2

    @Option(help: "Model directory to write.")
    var output = "model"

    @Flag(help: "Continue the run saved in --output exactly where it stopped.")
    var resume = false

    @Flag(help: "Replace the model an earlier run left in --output (its best/, last/, vocabulary and log).")
    var force = false

    @Flag(help: "With --resume: continue even though the training or --dev file differs from the one the run started with.")
    var allowDataChange = false

    @Option(parsing: .unconditional, help: "Validate every N steps as well as at each epoch end (0: epoch ends only).")
    var validateEvery = 500

    @Option(parsing: .unconditional, help: "Stop after this many validations without a better dev chrF (spanning at least PATIENCE × --validate-every steps).")
    var patience = 10

    @Option(parsing: .unconditional, help: "Keep the model of the last N validations in OUTPUT/checkpoints/ for `seq2seq average` (0: none).")
    var keepCheckpoints = 0

    @Flag(help: "Stop at the first malformed line (FILE:LINE: reason) instead of skipping it.")
    var strict = false

    func validate() throws {
        if batchSize != nil && batchTokens != nil {
            throw ValidationError("--batch-size and --batch-tokens contradict each other: give one of them")
        }
        if let batchSize { try OptionCheck.require(batchSize, in: 1...OptionCheck.maximumCount, "--batch-size") }
        if let batchTokens { try OptionCheck.require(batchTokens, in: 1...OptionCheck.maximumCount, "--batch-tokens") }
        if vocab != nil && (joint || char) {
            throw ValidationError("--joint/--char shape a learned vocabulary and contradict --vocab")
        }
        if resume && vocab != nil {
            throw ValidationError("--resume uses the vocabulary stored in --output; drop --vocab")
        }
        if resume && force { throw ValidationError("--resume continues the model in --output and --force replaces it: give one of them") }
        if allowDataChange && !resume { throw ValidationError("--allow-data-change only applies with --resume") }
        if output.isEmpty { throw ValidationError("--output is empty; give the model folder to write, e.g. --output model") }
        try OptionCheck.require(embedding, in: 1...OptionCheck.maximumCount, "--embedding")
        try OptionCheck.require(hidden, in: 1...OptionCheck.maximumCount, "--hidden")
        try OptionCheck.require(layers, in: 1...ModelConfiguration.maximumLayerCount, "--layers")
        try architecture.check(hidden: hidden)
        if architecture.encoder == .bi && reverseSource == true {
            throw ValidationError("--reverse-source helps only a unidirectional encoder; --encoder bi already reads both directions: drop --reverse-source")
        }
        if resume && (architecture.cell != .lstm || architecture.encoder != .uni || architecture.attention != .none
                      || architecture.inputFeeding != nil || reverseSource != nil) {
            throw ValidationError("--resume continues the model in --output with its own architecture: drop --cell/--encoder/--attention/--input-feeding/--reverse-source")
        }
        try OptionCheck.require(dropout, in: 0...1, "--dropout", excludingUpperBound: true)
        try OptionCheck.require(wordDropout, in: 0...1, "--word-dropout", excludingUpperBound: true)
        try OptionCheck.require(warmupSteps, in: 0...(1 << 48), "--warmup-steps")
        try OptionCheck.require(decayOnPlateau, in: 0...1, "--decay-on-plateau", excludingLowerBound: true)
        try OptionCheck.require(keepCheckpoints, in: 0...1_000_000, "--keep-checkpoints")
        if tieEmbeddings && embedding != hidden {
            throw ValidationError("--tie-embeddings uses the target embeddings as the output layer: give --embedding equal to --hidden (\(embedding) vs \(hidden))")
        }
        try OptionCheck.require(maxLength, in: 1...OptionCheck.maximumCount, "--max-length")
        if let epochs { try OptionCheck.require(epochs, in: 1...OptionCheck.maximumCount, "--epochs") }
        if let maxSteps { try OptionCheck.require(maxSteps, in: 1...(1 << 48), "--max-steps") }
        try OptionCheck.require(learningRate, in: 0...1, "--learning-rate", excludingLowerBound: true)
        try OptionCheck.require(clip, in: 0...1e9, "--clip")
        try OptionCheck.require(labelSmoothing, in: 0...1, "--label-smoothing", excludingUpperBound: true)
        try OptionCheck.require(threads, in: 1...OptionCheck.maximumThreads, "--threads")
        try OptionCheck.require(patience, in: 1...1_000_000, "--patience")
        try OptionCheck.require(validateEvery, in: 0...OptionCheck.maximumCount, "--validate-every")
        try OptionCheck.require(vocabSize, in: 262...ModelConfiguration.maximumVocabularySize, "--vocab-size")
        if let timeBudget, parseDuration(timeBudget) == nil {
            throw ValidationError("--time-budget '\(timeBudget)' is not a duration; use e.g. 90s, 10m or 1h30m")
        }
        for (name, path) in [("training file", pairs), ("--dev file", dev)] {
            guard let path else { continue }
            if !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(path): \(name) not found")
            }
        }
    }

    func run() throws {
        var options = TrainingSessionOptions(trainPath: pairs)
        options.devPath = dev
        options.reverse = reverse
        options.reverseSourceOrder = reverseSource ?? (architecture.encoder == .uni)
        options.architecture = architecture.architecture
        options.tieEmbeddings = tieEmbeddings
        options.wordDropout = wordDropout
        options.warmupSteps = warmupSteps
        options.plateauDecay = decayOnPlateau
        options.keepCheckpoints = keepCheckpoints
        options.vocabularyPrefix = vocab
        options.vocabulary = VocabularyOptions(size: vocabSize, joint: joint, characterLevel: char)
        options.strict = strict
        options.embeddingSize = embedding
        options.hiddenSize = hidden
        options.layerCount = layers
        options.dropout = dropout
        options.batchSize = batchSize ?? 64
        options.batchTokens = batchTokens
        options.maxLength = maxLength
        options.epochs = epochs ?? (timeBudget == nil ? 50 : Int.max)
        options.timeBudget = timeBudget.flatMap(parseDuration)
        options.maxSteps = maxSteps
        options.learningRate = learningRate
        options.clip = clip > 0 ? clip : nil
        options.labelSmoothing = labelSmoothing
        options.seed = seed
        options.threads = threads
        options.outputPath = output
        options.resume = resume
        options.force = force
        options.allowDataChange = allowDataChange
        options.validateEvery = validateEvery
        options.patience = patience
        options.commandLine = CommandLine.arguments
        let session = TrainingSession(options: options, log: printError)
        let outcome = try session.run()
        printError("see what it learned: seq2seq report \(shellQuoted(output)) -o \(shellQuoted(output + "/report.html"))")
        if outcome == .interrupted { throw ExitCode(Interrupt.exitStatus) }
    }
}
