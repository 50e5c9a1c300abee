import Foundation
import Seq2Seq
import Tokenize

/// Collects a `ReportContent` from a language model's directory (`seq2seq lm
/// train --output DIR`): `lm.json`, `run.json`, the checkpoints' headers,
/// `training-log.jsonl` (bits per character), the hidden states over a text
/// and samples at two temperatures. There is no attention to draw. A directory
/// from an interrupted run gives a report of what it has, with a note per
/// missing part.
public struct LanguageModelReportBuilder {
    public let directory: LanguageModelDirectory
    public let options: ModelReportOptions
    /// Characters of text read for the interpretable-cell view.
    public var maxCharacters = 1200
    /// Sampling temperatures of section 5, each one sample.
    public var temperatures: [Float] = [0.5, 1.0]
    /// Characters per sample, and the seed of every sample.
    public var sampleLength = 200
    public var sampleSeed: UInt64 = 1

    public init(modelDirectory: String, options: ModelReportOptions = ModelReportOptions()) {
        directory = LanguageModelDirectory(path: modelDirectory)
        self.options = options
    }

    /// True if `path` holds a language model: `lm.json`, or a checkpoint in the language-model format.
    public static func isLanguageModelDirectory(_ path: String) -> Bool {
        let directory = LanguageModelDirectory(path: path)
        if FileManager.default.fileExists(atPath: directory.manifestPath) { return true }
        return [directory.bestCheckpoint, directory.lastCheckpoint].contains {
            CheckpointHeader.read($0 + "/" + LanguageModelCheckpoint.modelFileName)?.metadata["format"] == LanguageModelCheckpoint.format
        }
    }

    /// Builds the report content.
    /// - Throws: `ReportError.notApplicable` for `--dev` (translation pairs);
    ///   `ReportError.unreadableText` for a bad `--text` file.
    public func build() throws -> ReportContent {
        if let dev = options.devPath {
            throw ReportError.notApplicable("--dev \(dev): a language model's report takes no dev pairs; give a text to read with --text FILE")
        }
        let text = try options.textPath.map(readText)   // fail early on a bad --text
        let run = directory.readRunRecord()
        let history = ModelReportBuilder.history(logPath: directory.logPath)
        var summary = makeSummary(run: run, history: history)
        let attention = ReportSection<[AttentionExample]>.omitted(
            reason: "Language models have no attention: each prediction sees the text only through the recurrent state.")

        let model: LanguageModel, units: any TextUnits
        do {
            (model, units, _) = try directory.load()
        } catch {
            let reason = "No hidden states or samples: the model cannot be loaded (\(error))."
            summary.notes.append(reason)
            return ReportContent(title: title, summary: summary, curves: history, attention: attention,
                                 cells: .omitted(reason: reason), decoding: .omitted(reason: reason), model: .languageModel)
        }
        let cells = cellsSection(model: model, units: units, text: text ?? defaultText(run))
        let samples = samplesSection(model: model, units: units)
        return ReportContent(title: title, summary: summary, curves: history, attention: attention, cells: cells,
                             decoding: samples, model: .languageModel)
    }

    var title: String {
        "Language model report: " + URL(fileURLWithPath: directory.path).standardizedFileURL.lastPathComponent
    }

    // MARK: - Inputs

    /// The start of a `--text` file: its first `options.textLines` non-empty lines, prepared as
    /// the model reads text (NFC, LF), at most `maxCharacters` characters ending at a line end
    /// when one is in the second half.
    func readText(_ path: String) throws -> TextSample {
        let lines = try ModelReportBuilder.readText(path, maxLines: options.textLines)
        let text = LanguageModelText.prepare(lines.joined(separator: "\n") + "\n")
        let scalars = Array(text.unicodeScalars)
        var end = min(scalars.count, maxCharacters)
        if end < scalars.count, let lineEnd = scalars[(end / 2)..<end].lastIndex(of: "\n") { end = lineEnd + 1 }
        var head = String.UnicodeScalarView()
        head.append(contentsOf: scalars[..<end])
        return TextSample(text: String(head), source: "the start of \(path)")
    }

    /// The end of the dev text recorded in `run.json` (at most `maxCharacters`, from a line start when one is near), or nil.
    func defaultText(_ run: LanguageModelRunRecord?) -> TextSample? {
        guard let tail = run?.devTail, tail.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else { return nil }
        let scalars = Array(tail.unicodeScalars)
        var start = max(0, scalars.count - maxCharacters)
        if start > 0, let lineBreak = scalars[start..<(start + maxCharacters / 2)].firstIndex(of: "\n") { start = lineBreak + 1 }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[start...])
        return TextSample(text: String(text), source: "the end of the dev text")
    }

    /// A text the hidden states are read over, and where it comes from.
    struct TextSample {
        var text: String
        var source: String
    }

    // MARK: - Sections

    func makeSummary(run: LanguageModelRunRecord?, history: ReportSection<TrainingHistory>) -> RunSummary {
        let manifest = try? directory.readManifest()
        let best = CheckpointHeader.read(directory.bestCheckpoint + "/" + LanguageModelCheckpoint.modelFileName)
        let last = CheckpointHeader.read(directory.lastCheckpoint + "/" + LanguageModelCheckpoint.modelFileName)
        let configuration = manifest?.configuration ?? (best ?? last)?.languageModelConfiguration
        var summary = RunSummary(modelDirectory: directory.path, architecture: configuration.map {
            "recurrent language model: \($0.cell.rawValue.uppercased()), \($0.layerCount) layer\($0.layerCount == 1 ? "" : "s")"
        } ?? "language model of unknown size (no readable lm.json or checkpoint)")
        summary.languageModel = configuration
        if let manifest {
            summary.units = Self.describeUnits(manifest)
        } else {
            summary.notes.append("lm.json is missing or unreadable: the units are unknown, so the model cannot be read.")
        }
        if let state = last?.trainingState ?? best?.trainingState {
            summary.steps = state.step
            summary.epoch = state.epoch
        }
        if best == nil && last == nil {
            summary.notes.append("No checkpoint yet: training stopped before its first validation or save.")
        } else if best == nil {
            let bestPath = directory.bestCheckpoint + "/" + LanguageModelCheckpoint.modelFileName
            summary.notes.append(FileManager.default.fileExists(atPath: bestPath)
                ? "best/ holds an unreadable checkpoint (damaged or cut short): sizes and steps come from last/."
                : "No best/ checkpoint (training stopped before its first validation): last/ is read instead.")
        }
        if case .shown(let h) = history {
            summary.best = h.best
            if summary.steps == nil { summary.steps = h.points.last?.step }
            summary.trainingSeconds = h.points.last?.seconds
            summary.charactersPerSecond = Self.median(h.points.compactMap(\.charactersPerSecond))
        }
        if let run, let latest = run.invocations.last {
            summary.commandLines = run.invocations.filter { !$0.arguments.isEmpty }
                .map { $0.arguments.map(shellQuoted).joined(separator: " ") }
            summary.trainingCharacters = latest.trainingCharacters
            summary.devCharacters = latest.devCharacters
            summary.devSource = latest.devPath.map { "from \($0)" } ?? "held out: the end of the training text"
            let seconds = run.invocations.reduce(0) { $0 + $1.seconds }
            if seconds > 0 { summary.trainingSeconds = seconds }
        }
        return summary
    }

    /// E.g. "char: 84 characters + <unk>", "jamo: 70 units …", "subword: 8,000 BPE tokens".
    static func describeUnits(_ manifest: LanguageModelManifest) -> String {
        let size = manifest.configuration.vocabularySize
        switch manifest.units {
        case .char: return "char: \(size - 1) characters + <unk>"
        case .jamo: return "jamo: \(size - 1) units + <unk> (each Hangul syllable read as 2–3 conjoining jamo)"
        case .subword: return "subword: \(size) BPE tokens (</s> for each line break)"
        }
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted(), n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    func cellsSection(model: LanguageModel, units: any TextUnits, text: TextSample?) -> ReportSection<CellAnalysis> {
        guard let text else {
            return .omitted(reason: "No text to read hidden states from: this model's run.json records no dev text; pass --text FILE.")
        }
        do {
            var trace = try LanguageModelStateProbe(model: model, units: units).trace(text: text.text)
            trace.origin += " — over \(text.source)"
            if model.configuration.cell == .rnn { trace.origin += "; an RNN cell has no gates" }
            return .shown(try CellAnalysis.analyse(trace))
        } catch {
            return .omitted(reason: "No hidden states to analyse: \(error).")
        }
    }

    /// One sample per temperature, from the same seed and no prime (each starts as after a line break).
    func samplesSection(model: LanguageModel, units: any TextUnits) -> ReportSection<[DecodingExample]> {
        do {
            let sampler = try Sampler(model: model, units: units)
            let outputs = try temperatures.map { t in
                let text = try sampler.sample(prime: "", options: SamplingOptions(temperature: t, length: sampleLength, seed: sampleSeed))
                return DecodingExample.Output(label: "T = \(HTML.number(Double(t), digits: 1)), seed \(sampleSeed)", text: text)
            }
            return .shown([DecodingExample(source: "", reference: nil, outputs: outputs)])
        } catch {
            return .omitted(reason: "Sampling failed: \(error)")
        }
    }
}

extension CheckpointHeader {
    /// A language-model checkpoint's stored `lm_configuration`, if it decodes.
    var languageModelConfiguration: LanguageModelConfiguration? {
        metadata["lm_configuration"].flatMap { try? JSONDecoder().decode(LanguageModelConfiguration.self, from: Data($0.utf8)) }
    }
}
