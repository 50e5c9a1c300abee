import Foundation
import Tokenize

extension TrainingOutcome {
    /// The words both sessions print for why the loop stopped.
    init(_ stop: TrainingStop) { self = stop.choose(.finishedEpochs, .timeBudget, .stepLimit, .earlyStopping, .interrupted) }

    var stop: TrainingStop { TrainingStop.allCases.first { TrainingOutcome($0) == self } ?? .finishedEpochs }
}

/// The translation model's side of `TrainingLoop`: sentence-pair batches (sharded over the
/// ranks of a distributed run), dev loss + greedy BLEU/chrF validation, best on dev chrF,
/// `last/` with the session state.
final class TranslationTrainingTask: TrainingLoopTask {
    let session: TrainingSession
    let trainer: Trainer
    var state: SessionState
    let data: TrainingSession.EncodedCorpus
    let translator: Translator
    let targetLanguage: String
    let sourceTag: String, targetTag: String
    let runLog: TrainingRunLog?
    /// Segments the training pairs again at every epoch (nil: `data.examples` throughout).
    let subwordDropout: SubwordDropout?
    /// Back-translated pairs mixed into each epoch (nil: none), and their BPE-dropout.
    let synthetic: SyntheticPairs?
    let syntheticDropout: SubwordDropout?
    /// The current epoch's examples and its batches (indices into them).
    private var examples: [TrainingSession.Example] = []
    private var batches: [[Int]] = []
    private let encoder = JSONEncoder()

    init(session: TrainingSession, trainer: Trainer, state: SessionState, data: TrainingSession.EncodedCorpus,
         translator: Translator, vocabulary: VocabularyPair, manifest: ModelManifest, runLog: TrainingRunLog?,
         subwordDropout: SubwordDropout? = nil, synthetic: SyntheticPairs? = nil, syntheticDropout: SubwordDropout? = nil) {
        self.session = session
        self.subwordDropout = subwordDropout
        self.synthetic = synthetic
        self.syntheticDropout = syntheticDropout
        self.trainer = trainer
        self.state = state
        self.data = data
        self.translator = translator
        self.runLog = runLog
        targetLanguage = manifest.targetLanguage
        sourceTag = ModelDirectory.vocabularyTag(vocabulary.identity, side: manifest.sourceSide)
        targetTag = ModelDirectory.vocabularyTag(vocabulary.identity, side: manifest.targetSide)
        encoder.outputFormatting = [.sortedKeys]
    }

    var options: TrainingSessionOptions { session.options }
    var directory: ModelDirectory { session.directory }
    var step: Int { trainer.step }
    var writesFiles: Bool { session.writesFiles }
    var folder: String { directory.path }
    var lastCheckpoint: String { directory.lastCheckpoint }
    var logPath: String { directory.logPath }

    func beginEpoch() -> Int {
        examples = subwordDropout?.examples(epoch: state.epoch, texts: data.texts, fallback: data.examples) ?? data.examples
        if let synthetic {
            examples += synthetic.epochExamples(epoch: state.epoch, realCount: data.examples.count, dropout: syntheticDropout)
        }
        batches = session.epochBatches(examples, epoch: state.epoch)
        return batches.count
    }

    func trainStep() throws -> TrainingStepResult {
        let indices = batches[state.batchIndex]
        let part = session.distributed?.shard(indices) ?? indices[...]
        let chosen = part.map { examples[$0] }
        // Rows keyed by their place in the global batch: the dropout masks one process would draw.
        let batch = chosen.isEmpty ? nil
            : try Batch(sources: chosen.map(\.source), targets: chosen.map(\.target)).numberingRows(from: part.startIndex)
        let result = try trainer.train(on: batch)
        runLog?.targetTokens += result.tokenCount
        return result
    }

    func progressFields(_ result: TrainingStepResult, epochTokens: Int, epochSeconds: Double, budgetLeft: String) -> String {
        let rate = Double(epochTokens) / max(1e-9, epochSeconds)
        return String(format: "step %d loss %.3f ppl %.1f gnorm %.2f %.0f tok/s",
                      trainer.step, result.loss, exp(Double(result.loss)), result.gradientNorm, rate) + budgetLeft
    }

    func validate(_ statistics: TrainingStatistics, seconds: Double) throws -> (record: any Encodable, line: String)? {
        guard writesFiles else { return nil }
        let record = try session.validation(trainer: trainer, translator: translator, dev: data.devExamples,
                                            references: data.devReferences, targetLanguage: targetLanguage,
                                            state: &state, trainLoss: statistics.meanLoss,
                                            gradientNorm: statistics.lastGradientNorm, seconds: seconds)
        if record.isBest {
            try Interrupt.deferred {
                try Checkpoint.save(to: directory.bestCheckpoint, model: trainer.model,
                                    sourceVocabulary: sourceTag, targetVocabulary: targetTag,
                                    trainingState: trainer.trainingState(epoch: state.epoch, dataPosition: state.batchIndex))
            }
        }
        if options.keepCheckpoints > 0 {
            try directory.keepCheckpoint(of: trainer.model, step: trainer.step, keeping: options.keepCheckpoints,
                                         sourceVocabulary: sourceTag, targetVocabulary: targetTag)
        }
        var line = String(format: "validation step %d: dev loss %.3f ppl %.2f BLEU %.2f chrF %.2f",
                          record.step, record.devLoss ?? .nan, record.devPerplexity ?? .nan, record.bleu, record.chrF)
        if let charBLEU = record.bleuChar { line += String(format: " BLEU(char) %.2f", charBLEU) }
        return (record, line + (record.isBest ? " (best, saved)" : String(format: " (best chrF %.2f)", state.bestChrF)))
    }

    func writeLast() throws {
        state.step = trainer.step
        try CheckpointGenerations.replace(directory.lastCheckpoint) { folder in
            try trainer.saveCheckpoint(to: folder, sourceVocabulary: sourceTag, targetVocabulary: targetTag,
                                       epoch: state.epoch, dataPosition: state.batchIndex)
            try AtomicFile.write(try encoder.encode(state), to: folder + "/session.json")
        }
        try runLog?.save(step: trainer.step)
    }

    func shouldStopEarly() throws -> Bool {
        let stop = state.validationsWithoutImprovement >= options.patience
            && trainer.step - state.bestStep >= options.patience * options.validateEvery
        // Rank 0 alone validated: every rank follows its decisions (early stop, plateau decay).
        return try session.distributed?.followRoot(stopEarly: stop, trainer: trainer) ?? stop
    }

    func agree(on reason: TrainingStop?) throws -> TrainingStop? {
        guard let distributed = session.distributed else { return reason }
        return try distributed.agree(on: reason.map(TrainingOutcome.init))?.stop
    }
}
