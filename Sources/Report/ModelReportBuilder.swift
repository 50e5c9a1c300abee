import Foundation
import Seq2Seq
import Tokenize

/// What `seq2seq report` can be told besides the model directory.
public struct ModelReportOptions: Sendable {
    /// Dev pairs (`source<TAB>target` in corpus column order, like `train --dev`);
    /// default: the dev sample stored in `run.json`.
    public var devPath: String?
    /// A UTF-8 text, one sentence per line, for the interpretable-cell view;
    /// default: the dev sources.
    public var textPath: String?
    /// Sentences shown with greedy and beam translations.
    public var decodingExamples = 6
    /// Sentences shown as attention heatmaps.
    public var attentionExamples = 4
    /// Lines of text read for the interpretable-cell view.
    public var textLines = 60
    /// Beam size of the beam translations.
    public var beamSize = 5

    public init() {}
}

/// Collects a `ReportContent` from a model directory: `model.json`, `run.json`,
/// the checkpoints' headers, `training-log.jsonl`, and a few translations and
/// hidden-state traces made with the model. A directory from an interrupted
/// run gives a report of what it has, with a note per missing part.
public struct ModelReportBuilder {
    public let directory: ModelDirectory
    public let options: ModelReportOptions
    /// Largest attention matrix drawn (squares), e.g. 32 source × 50 target tokens.
    static let maxAttentionCells = 1600

    public init(modelDirectory: String, options: ModelReportOptions = ModelReportOptions()) {
        directory = ModelDirectory(path: modelDirectory)
        self.options = options
    }

    /// Builds the report content; a language model's directory (`lm.json`) gets
    /// a `LanguageModelReportBuilder`'s.
    /// - Throws: `ReportError.notAModel` when the folder holds nothing a training
    ///   run writes; `ReportError.unreadableText` for a bad `--text` or `--dev` file.
    public func build() throws -> ReportContent {
        if LanguageModelReportBuilder.isLanguageModelDirectory(directory.path) {
            return try LanguageModelReportBuilder(modelDirectory: directory.path, options: options).build()
        }
        try checkIsModelDirectory()
        let textLines = try options.textPath.map(readText)   // fail early on a bad --text
        let manifest = try? directory.readManifest()
        let run = directory.readRunRecord()
        let history = readHistory()
        var summary = makeSummary(manifest: manifest, run: run, history: history)
        let languages = LanguagePair(source: manifest?.sourceLanguage, target: manifest?.targetLanguage)

        // Everything below needs the trained weights.
        let translator: Translator
        do {
            (translator, _) = try directory.loadTranslator()
        } catch {
            let reason = "No translations: the model cannot be loaded (\(error))."
            summary.notes.append(reason)
            return ReportContent(title: title, summary: summary, curves: history, attention: .omitted(reason: reason),
                                 cells: .omitted(reason: reason), decoding: .omitted(reason: reason), languages: languages)
        }
        let pairs = try devPairs(manifest: manifest, run: run)
        let decoding = decodingSection(translator: translator, pairs: pairs)
        let attention = attentionSection(translator: translator, pairs: pairs)
        let cells = cellsSection(translator: translator, manifest: manifest,
                                 lines: textLines ?? pairs.map(\.source))
        return ReportContent(title: title, summary: summary, curves: history, attention: attention, cells: cells,
                             decoding: decoding, languages: languages)
    }

    var title: String {
        "Model report: " + URL(fileURLWithPath: directory.path).standardizedFileURL.lastPathComponent
    }

    // MARK: - Inputs

    /// Throws unless the folder exists and holds at least one file a training run writes.
    func checkIsModelDirectory() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw ReportError.notAModel(path: directory.path, reason: "no such folder")
        }
        guard isDirectory.boolValue else { throw ReportError.notAModel(path: directory.path, reason: "it is a file") }
        let marks = [directory.manifestPath, directory.logPath, directory.runRecordPath,
                     directory.bestCheckpoint + "/" + Checkpoint.modelFileName,
                     directory.lastCheckpoint + "/" + Checkpoint.modelFileName]
        guard marks.contains(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ReportError.notAModel(path: directory.path, reason: "no model.json, checkpoint or training log in it")
        }
    }

    func readHistory() -> ReportSection<TrainingHistory> { Self.history(logPath: directory.logPath) }

    /// The curves of the log at `logPath`, or a note when there is none.
    static func history(logPath: String) -> ReportSection<TrainingHistory> {
        guard let data = FileManager.default.contents(atPath: logPath) else {
            return .omitted(reason: "No training-log.jsonl: no validation has run yet, so there are no curves.")
        }
        var history = TrainingLogReader.history(fromLog: String(decoding: data, as: UTF8.self))
        if String(data: data, encoding: .utf8) == nil {
            history.notes.insert("training-log.jsonl is not valid UTF-8; unreadable parts were replaced", at: 0)
        }
        return .shown(history)
    }

    /// Lines of a UTF-8 text file (at most `textLines` non-empty ones).
    func readText(_ path: String) throws -> [String] { try Self.readText(path, maxLines: options.textLines) }

    /// Lines of a UTF-8 text file (at most `maxLines` non-empty ones).
    static func readText(_ path: String, maxLines: Int) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError.unreadableText(path: path, reason: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let offset = Self.firstInvalidUTF8Offset(data) ?? 0
            throw ReportError.unreadableText(path: path, reason: "not valid UTF-8 (first bad byte at offset \(offset))")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        if lines.isEmpty { throw ReportError.unreadableText(path: path, reason: "the file has no text") }
        return Array(lines.prefix(maxLines))
    }

    /// Byte offset of the first byte that is not part of valid UTF-8.
    static func firstInvalidUTF8Offset(_ data: Data) -> Int? {
        var iterator = data.makeIterator()
        var decoder = UTF8()
        var offset = 0, start = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += String(scalar).utf8.count; start = offset
            case .emptyInput: return nil
            case .error: return start
            }
        }
    }

    /// Dev pairs in the model's direction: `--dev`, else `run.json`'s sample.
    func devPairs(manifest: ModelManifest?, run: TrainingRunRecord?) throws -> [TrainingRunRecord.DevPair] {
        if let path = options.devPath {
            let corpus: CorpusContents
            do { corpus = try TSVCorpus.read(path: path) } catch {
                throw ReportError.unreadableText(path: path, reason: "\(error)")
            }
            let reverse = manifest?.reverse ?? false
            return corpus.pairs.prefix(200).map { .init(source: reverse ? $0.target : $0.source,
                                                        reference: reverse ? $0.source : $0.target) }
        }
        return run?.devSample ?? []
    }

    // MARK: - Sections

    func makeSummary(manifest: ModelManifest?, run: TrainingRunRecord?,
                     history: ReportSection<TrainingHistory>) -> RunSummary {
        let best = CheckpointHeader.read(directory.bestCheckpoint + "/" + Checkpoint.modelFileName)
        let last = CheckpointHeader.read(directory.lastCheckpoint + "/" + Checkpoint.modelFileName)
        let configuration = (best ?? last)?.configuration
        let architecture = configuration?.architectureSummary ?? manifest?.architecture?.description
        var summary = RunSummary(modelDirectory: directory.path,
                                 architecture: architecture.map { "recurrent encoder-decoder: \($0)" } ?? "unknown (no checkpoint)")
        summary.configuration = configuration
        if let manifest {
            summary.direction = "\(manifest.sourceLanguage) → \(manifest.targetLanguage)"
                + (manifest.reverse ? " (corpus column 2 → column 1)" : " (corpus column 1 → column 2)")
            summary.sourceOrder = manifest.sourceOrderReversed ? "the encoder reads each source last token first"
                                                               : "the encoder reads each source in order"
        } else {
            summary.notes.append("model.json is missing or unreadable: direction and languages unknown.")
        }
        if let state = last?.trainingState ?? best?.trainingState {
            summary.steps = state.step
            summary.epoch = state.epoch
        } else if best == nil && last == nil {
            summary.notes.append("No checkpoint yet: training stopped before its first validation.")
        }
        if case .shown(let h) = history {
            summary.best = h.best
            if summary.steps == nil { summary.steps = h.points.last?.step }
            summary.trainingSeconds = h.points.last?.seconds
        }
        if let run, !run.invocations.isEmpty {
            let invocations = run.invocations
            summary.commandLines = invocations.map { $0.arguments.map(shellQuoted).joined(separator: " ") }
            let latest = invocations[invocations.count - 1]
            summary.trainingPairs = latest.trainingPairs
            summary.devPairs = latest.devPairs
            summary.skippedPairs = latest.skippedPairs
            let seconds = invocations.reduce(0) { $0 + $1.seconds }, tokens = invocations.reduce(0) { $0 + $1.targetTokens }
            if seconds > 0 {
                summary.trainingSeconds = seconds
                summary.targetTokensPerSecond = Double(tokens) / seconds
            }
        }
        return summary
    }

    func decodingSection(translator: Translator, pairs: [TrainingRunRecord.DevPair]) -> ReportSection<[DecodingExample]> {
        let chosen = Array(pairs.prefix(options.decodingExamples))
        if chosen.isEmpty {
            return .omitted(reason: "No dev sentences to translate: pass --dev FILE (this model's run.json has no dev sample).")
        }
        do {
            translator.options.greedy = true
            let greedy = try translator.translate(chosen.map(\.source))
            translator.options.greedy = false
            translator.options.beamSize = options.beamSize
            let beam = try translator.translate(chosen.map(\.source))
            let chrF = ChrF()
            return .shown(zip(chosen, zip(greedy, beam)).map { pair, outputs in
                func score(_ text: String) -> Double? {
                    pair.reference.isEmpty ? nil : chrF.sentenceScore(hypothesis: text, reference: pair.reference).score
                }
                return DecodingExample(source: pair.source, reference: pair.reference, outputs: [
                    .init(label: "greedy", text: outputs.0.text, chrF: score(outputs.0.text)),
                    .init(label: "beam \(options.beamSize)", text: outputs.1.text, chrF: score(outputs.1.text)),
                ])
            })
        } catch {
            return .omitted(reason: "Translation failed: \(error)")
        }
    }

    /// Attention heatmaps of the greedy translations of the first
    /// `options.attentionExamples` dev sentences of at most 30 words whose
    /// matrix has at most `maxAttentionCells` squares (legible, and the page
    /// stays small); a model without attention gets a note.
    func attentionSection(translator: Translator, pairs: [TrainingRunRecord.DevPair]) -> ReportSection<[AttentionExample]> {
        guard translator.model.configuration.attention != .none else {
            return .omitted(reason: "This model has no attention (its decoder sees the source only through the encoder's final state), so there are no alignments to draw. Train with --attention general to see them.")
        }
        let chosen = Array(pairs.filter { $0.source.split(separator: " ").count <= 30 }.prefix(3 * options.attentionExamples))
        if chosen.isEmpty {
            return .omitted(reason: "No dev sentences to align: pass --dev FILE (this model's run.json has no dev sample).")
        }
        do {
            translator.options.greedy = true
            translator.options.alignment = true
            defer { translator.options.alignment = false }
            let translations = try translator.translate(chosen.map(\.source))
            let examples = zip(chosen, translations).compactMap { pair, translation -> AttentionExample? in
                guard let alignment = translation.alignment,
                      alignment.sourceTokens.count * alignment.targetTokens.count <= Self.maxAttentionCells else { return nil }
                return AttentionExample(sourceTokens: alignment.sourceTokens, targetTokens: alignment.targetTokens,
                                        weights: alignment.weights, reference: pair.reference, hypothesis: translation.text)
            }
            return .shown(Array(examples.prefix(options.attentionExamples)))
        } catch {
            return .omitted(reason: "Alignments failed: \(error)")
        }
    }

    func cellsSection(translator: Translator, manifest: ModelManifest?, lines: [String]) -> ReportSection<CellAnalysis> {
        if lines.isEmpty {
            return .omitted(reason: "No text to read hidden states from: pass --text FILE or --dev FILE.")
        }
        do {
            let vocabulary = try VocabularyPair.load(from: directory.vocabularyPrefix)
            let side = manifest?.sourceSide ?? .source
            let probe = EncoderStateProbe(model: translator.model, tokenizer: try vocabulary.tokenizer(for: side),
                                          reverseSourceOrder: translator.options.reverseSourceOrder)
            let (trace, gateNote) = try probe.trace(lines: lines)
            var analysis = try CellAnalysis.analyse(trace)
            if let gateNote { analysis.trace.origin += "; \(gateNote)" }
            return .shown(analysis)
        } catch {
            return .omitted(reason: "No hidden states to analyse: \(error).")
        }
    }
}
