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

            Data-parallel training on several processes or machines: start the ranks with Open MPI's \
            mpirun and --distributed. Each rank trains on its share of every batch (--batch-size is per \
            rank: N ranks × --batch-size 32 train like one process with --batch-size 32·N); gradients \
            are summed with MPI_Allreduce; rank 0 validates and writes OUTPUT. See README.md, "Training \
            on several machines".

            Examples:
              seq2seq train Corpora/everyday.tsv --time-budget 5m
              seq2seq train pairs.tsv --dev dev.tsv --reverse --output model-ko-en
              seq2seq train pairs.tsv --encoder bi --attention general --cell gru
              seq2seq train pairs.tsv --output model --resume
              mpirun -np 2 seq2seq train pairs.tsv --distributed --threads 1 --output model
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

    @Option(parsing: .unconditional, help: "Tokens per learned vocabulary (default: chosen from the corpus: 2000 at 25k words per side, growing slowly with its size, 1000…16000; ignored with --vocab).")
    var vocabSize: Int?

    @Flag(help: "Learn one vocabulary shared by both sides.")
    var joint = false

    @Flag(help: "Character-level vocabularies (small corpora).")
    var char = false

    @OptionGroup(title: "Architecture") var architecture: ArchitectureOptions

    @OptionGroup(title: "Model size") var sizes: ModelSizeOptions

    @OptionGroup(title: "Training run") var training: TrainingRunOptions

    @Flag(help: "Tie the target embeddings to the output layer (Press & Wolf 2017): fewer parameters; needs --embedding = --hidden.")
    var tieEmbeddings = false

    @Option(parsing: .unconditional, help: "Word dropout: replace each input token (source, and decoder input after <s>) by <unk> with this probability while training (0 disables).")
    var wordDropout: Float = 0.1

    @Option(parsing: .unconditional, help: "Target tokens per batch (instead of --batch-size).")
    var batchTokens: Int?

    @Option(parsing: .unconditional, help: "Skip pairs with a side longer than this many subword tokens (they are counted).")
    var maxLength = 80

    @Option(parsing: .unconditional, help: "Multiply the learning rate by this factor after every validation that does not improve the dev chrF (1: never).")
    var decayOnPlateau: Float = 1

    @Option(parsing: .unconditional, help: "Grow the learning rate linearly over the first N steps (0: no warm-up).")
    var warmupSteps = 0

    @Option(parsing: .unconditional, help: "Label smoothing for the cross-entropy (0 disables).")
    var labelSmoothing: Float = 0.1

    @Option(parsing: .unconditional, help: "BPE-dropout: segment the training pairs again at every epoch, skipping each subword merge with this probability (Provilkov et al. 2020; 0.1 is the paper's value; 0 disables). Dev data and decoding are not affected.")
    var subwordDropout: Double = 0

    @Option(help: "Back-translated pairs to train on beside PAIRS (from `seq2seq backtranslate`, same column order): their sources are tagged so the model tells them from real ones (Caswell et al. 2019). Never used as dev data.")
    var synthetic: String?

    @Option(parsing: .unconditional, help: "With --synthetic: synthetic pairs per real pair in each epoch, drawn anew every epoch (all of them when there are fewer).")
    var syntheticRatio: Double = 1

    @Flag(name: .customLong("no-synthetic-tag"), help: "With --synthetic: do not tag the synthetic sources (plain back-translation, Sennrich et al. 2016).")
    var noSyntheticTag = false

    @Option(help: "Model directory to write.")
    var output = "model"

    @Flag(inversion: .prefixedNo, help: "Write OUTPUT/shortlist.safetensors (500 frequent target tokens + 20 candidates per source token, learned from the training pairs) so that translate, eval and serve score only each sentence's shortlist: faster at no measured chrF cost (README, Vocabulary shortlist). `seq2seq shortlist` rebuilds it with other sizes.")
    var shortlist = true

    @Flag(help: "With --resume: continue even though the training or --dev file differs from the one the run started with.")
    var allowDataChange = false

    @Option(parsing: .unconditional, help: "Keep the model of the last N validations in OUTPUT/checkpoints/ for `seq2seq average` (0: none).")
    var keepCheckpoints = 0

    @Flag(help: "Stop at the first malformed line (FILE:LINE: reason) instead of skipping it.")
    var strict = false

    @Flag(help: "Data-parallel training across the ranks of an Open MPI job (start with `mpirun -np N seq2seq train … --distributed`).")
    var distributed = false

    /// The architecture of a new model: the options given, completed from the training defaults.
    var chosenArchitecture: ModelArchitecture { architecture.architecture(defaults: ArchitectureOptions.trainingDefaults) }
    /// The sizes of a new model: those given over the session's defaults.
    var sized: TrainingSessionOptions {
        var options = TrainingSessionOptions(trainPath: pairs)
        sizes.apply(to: &options)
        return options
    }

    func validate() throws {
        if training.batchSize != nil && batchTokens != nil {
            throw ValidationError("--batch-size and --batch-tokens contradict each other: give one of them")
        }
        if let batchTokens { try OptionCheck.require(batchTokens, in: 1...OptionCheck.maximumCount, "--batch-tokens") }
        if vocab != nil && (joint || char) {
            throw ValidationError("--joint/--char shape a learned vocabulary and contradict --vocab")
        }
        if training.resume && vocab != nil {
            throw ValidationError("--resume uses the vocabulary stored in --output; drop --vocab")
        }
        if allowDataChange && !training.resume { throw ValidationError("--allow-data-change only applies with --resume") }
        if output.isEmpty { throw ValidationError("--output is empty; give the model folder to write, e.g. --output model") }
        try architecture.check(hidden: sized.hiddenSize, defaults: ArchitectureOptions.trainingDefaults)
        if chosenArchitecture.encoder == .bi && reverseSource == true {
            throw ValidationError("--reverse-source helps only a unidirectional encoder; --encoder bi already reads both directions: drop --reverse-source")
        }
        if training.resume && (architecture.anyGiven || reverseSource != nil) {
            throw ValidationError("--resume continues the model in --output with its own architecture: drop --cell/--encoder/--attention/--input-feeding/--reverse-source")
        }
        try OptionCheck.require(wordDropout, in: 0...1, "--word-dropout", excludingUpperBound: true)
        try OptionCheck.require(warmupSteps, in: 0...(1 << 48), "--warmup-steps")
        try OptionCheck.require(decayOnPlateau, in: 0...1, "--decay-on-plateau", excludingLowerBound: true)
        try OptionCheck.require(keepCheckpoints, in: 0...1_000_000, "--keep-checkpoints")
        if tieEmbeddings && sized.embeddingSize != sized.hiddenSize {
            throw ValidationError("--tie-embeddings uses the target embeddings as the output layer: give --embedding equal to --hidden (\(sized.embeddingSize) vs \(sized.hiddenSize))")
        }
        try OptionCheck.require(maxLength, in: 1...OptionCheck.maximumCount, "--max-length")
        try OptionCheck.require(labelSmoothing, in: 0...1, "--label-smoothing", excludingUpperBound: true)
        try OptionCheck.require(subwordDropout, in: 0...1, "--subword-dropout", excludingUpperBound: true)
        if let vocabSize { try OptionCheck.require(vocabSize, in: 262...ModelConfiguration.maximumVocabularySize, "--vocab-size") }
        try OptionCheck.require(syntheticRatio, in: 0...1000, "--synthetic-ratio", excludingLowerBound: true)
        if synthetic == nil && (syntheticRatio != 1 || noSyntheticTag) {
            throw ValidationError("--synthetic-ratio and --no-synthetic-tag apply to --synthetic pairs: give --synthetic FILE")
        }
        for (name, path) in [("training file", pairs), ("--dev file", dev), ("--synthetic file", synthetic)] {
            guard let path else { continue }
            if !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(path): \(name) not found")
            }
        }
    }

    func run() throws {
        training.precision.apply()
        var options = TrainingSessionOptions(trainPath: pairs)
        options.devPath = dev
        options.reverse = reverse
        options.reverseSourceOrder = reverseSource ?? (chosenArchitecture.encoder == .uni)
        options.architecture = chosenArchitecture
        options.tieEmbeddings = tieEmbeddings
        options.wordDropout = wordDropout
        options.warmupSteps = warmupSteps
        options.plateauDecay = decayOnPlateau
        options.keepCheckpoints = keepCheckpoints
        options.vocabularyPrefix = vocab
        options.vocabulary = VocabularyOptions(size: vocabSize ?? 8000, joint: joint, characterLevel: char)
        options.automaticVocabularySize = vocabSize == nil
        options.strict = strict
        options.batchSize = training.batchSize ?? options.batchSize
        options.batchTokens = batchTokens
        options.maxLength = maxLength
        options.labelSmoothing = labelSmoothing
        options.subwordDropout = subwordDropout
        options.outputPath = output
        options.allowDataChange = allowDataChange
        options.shortlist = shortlist ? ShortlistSettings() : nil
        options.synthetic = synthetic.map { SyntheticSettings(path: $0, ratio: syntheticRatio, tagged: !noSyntheticTag) }
        training.apply(to: &options)
        sizes.apply(to: &options)
        let job = distributed ? try DistributedTraining.start() : nil
        let isRoot = job?.isRoot ?? true
        ProgressBar.isSilenced = !isRoot
        if let job, isRoot {
            let unit = batchTokens == nil ? "sentences" : "target tokens"
            let perRank = batchTokens ?? options.batchSize
            printError("distributed: \(job.size) ranks × \(perRank) \(unit) per batch = global batches of \(perRank * job.size) \(unit)")
        }
        let log: (String) -> Void = isRoot ? { printError($0) } : { _ in }
        let session = TrainingSession(options: options, distributed: job, log: log)
        let outcome: TrainingOutcome
        do {
            outcome = try session.run()
        } catch {
            guard let job else { throw error }
            // The other ranks would wait for this one forever: end the whole job.
            printError("error (rank \(job.rank)): \(error)")
            job.abortAll(code: 1)
        }
        if let job {
            if isRoot { printError(job.summary) }
            job.finish()
        }
        if isRoot {
            printError("see what it learned: seq2seq report \(shellQuoted(output)) -o \(shellQuoted(output + "/report.html"))")
        }
        if outcome == .interrupted { throw ExitCode(Interrupt.exitStatus) }
    }
}
