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

    @Option(help: "Tokens per learned vocabulary (ignored with --vocab).")
    var vocabSize = 8000

    @Flag(help: "Learn one vocabulary shared by both sides.")
    var joint = false

    @Flag(help: "Character-level vocabularies (small corpora).")
    var char = false

    @OptionGroup(title: "Architecture") var architecture: ArchitectureOptions

    @Flag(help: "Tie the target embeddings to the output layer (Press & Wolf 2017): fewer parameters; needs --embedding = --hidden.")
    var tieEmbeddings = false

    @Option(help: "Embedding size E.")
    var embedding = 256

    @Option(help: "Hidden size H of the decoder and of the encoder's output (H/2 per direction with --encoder bi).")
    var hidden = 256

    @Option(help: "Recurrent layers L (encoder and decoder each).")
    var layers = 1

    @Option(help: "Dropout on embeddings, between layers and on the attentional state (0 disables).")
    var dropout: Float = 0.3

    @Option(help: "Word dropout: replace each input token (source, and decoder input after <s>) by <unk> with this probability while training (0 disables).")
    var wordDropout: Float = 0

    @Option(help: "Sentences per batch.")
    var batchSize: Int?

    @Option(help: "Target tokens per batch (instead of --batch-size).")
    var batchTokens: Int?

    @Option(help: "Skip pairs with a side longer than this many subword tokens (they are counted).")
    var maxLength = 80

    @Option(help: "Passes over the training data (default: 50, or no limit when --time-budget is given).")
    var epochs: Int?

    @Option(help: "Stop after this much wall-clock time, e.g. 90s, 10m, 1h30m (the best model is kept).")
    var timeBudget: String?

    @Option(help: "Stop after this many optimizer steps in total (counting steps before --resume).")
    var maxSteps: Int?

    @Option(help: "Adam learning rate.")
    var learningRate: Float = 0.002

    @Option(help: "Multiply the learning rate by this factor after every validation that does not improve the dev chrF (1: never).")
    var decayOnPlateau: Float = 1

    @Option(help: "Grow the learning rate linearly over the first N steps (0: no warm-up).")
    var warmupSteps = 0

    @Option(help: "Clip the global gradient norm to this value (0 disables).")
    var clip: Float = 1.0

    @Option(help: "Label smoothing for the cross-entropy (0 disables).")
    var labelSmoothing: Float = 0.1

    @Option(help: "Random seed (initialization, data order, dropout, dev hold-out).")
    var seed: UInt64 = 1

    @Option(help: "CPU threads for matrix products.")
    var threads = 2

    @Option(help: "Model directory to write.")
    var output = "model"

    @Flag(help: "Continue the run saved in --output exactly where it stopped.")
    var resume = false

    @Option(help: "Validate every N steps as well as at each epoch end (0: epoch ends only).")
    var validateEvery = 500

    @Option(help: "Stop after this many validations without a better dev chrF (spanning at least PATIENCE × --validate-every steps).")
    var patience = 10

    @Option(help: "Keep the model of the last N validations in OUTPUT/checkpoints/ for `seq2seq average` (0: none).")
    var keepCheckpoints = 0

    @Flag(help: "Stop at the first malformed line (FILE:LINE: reason) instead of skipping it.")
    var strict = false

    func validate() throws {
        if batchSize != nil && batchTokens != nil {
            throw ValidationError("--batch-size and --batch-tokens contradict each other: give one of them")
        }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let batchTokens, batchTokens < 1 { throw ValidationError("--batch-tokens must be at least 1") }
        if vocab != nil && (joint || char) {
            throw ValidationError("--joint/--char shape a learned vocabulary and contradict --vocab")
        }
        if resume && vocab != nil {
            throw ValidationError("--resume uses the vocabulary stored in --output; drop --vocab")
        }
        if embedding < 1 || hidden < 1 || layers < 1 { throw ValidationError("--embedding, --hidden and --layers must be at least 1") }
        try architecture.check(hidden: hidden)
        if architecture.encoder == .bi && reverseSource == true {
            throw ValidationError("--reverse-source helps only a unidirectional encoder; --encoder bi already reads both directions: drop --reverse-source")
        }
        if resume && (architecture.cell != .lstm || architecture.encoder != .uni || architecture.attention != .none
                      || architecture.inputFeeding != nil || reverseSource != nil) {
            throw ValidationError("--resume continues the model in --output with its own architecture: drop --cell/--encoder/--attention/--input-feeding/--reverse-source")
        }
        if !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1)") }
        if !(0..<1).contains(wordDropout) { throw ValidationError("--word-dropout must be in [0, 1)") }
        if warmupSteps < 0 { throw ValidationError("--warmup-steps must be ≥ 0") }
        if !(decayOnPlateau > 0 && decayOnPlateau <= 1) { throw ValidationError("--decay-on-plateau must be in (0, 1]") }
        if keepCheckpoints < 0 { throw ValidationError("--keep-checkpoints must be ≥ 0") }
        if tieEmbeddings && embedding != hidden {
            throw ValidationError("--tie-embeddings uses the target embeddings as the output layer: give --embedding equal to --hidden (\(embedding) vs \(hidden))")
        }
        if maxLength < 1 { throw ValidationError("--max-length must be at least 1") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
        if !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        if clip < 0 { throw ValidationError("--clip must be ≥ 0") }
        if !(0..<1).contains(labelSmoothing) { throw ValidationError("--label-smoothing must be in [0, 1)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if patience < 1 { throw ValidationError("--patience must be at least 1") }
        if validateEvery < 0 { throw ValidationError("--validate-every must be ≥ 0") }
        if vocabSize < 262 { throw ValidationError("--vocab-size must be at least 262") }
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
        options.validateEvery = validateEvery
        options.patience = patience
        options.commandLine = CommandLine.arguments
        let session = TrainingSession(options: options, log: printError)
        let outcome = try session.run()
        printError("see what it learned: seq2seq report \(shellQuoted(output)) -o \(shellQuoted(output + "/report.html"))")
        if outcome == .interrupted { throw ExitCode(130) }
    }
}
