import Foundation
import Seq2Seq
import Testing
@testable import Report

/// The report of a language-model directory, built from tiny models trained in the test
/// (a few steps, well under a second each): which sections are shown or left out, the
/// hidden states over the text, samples at two temperatures, interrupted runs.
@Suite struct LanguageModelReportTests {
    final class Folder {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("lm-report-" + UUID().uuidString).path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        @discardableResult
        func file(_ name: String, _ text: String) throws -> String {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name))
            return path + "/" + name
        }
    }

    /// Trains a tiny model on `text` into `folder/name` (6 steps, validation every 3) and returns its path.
    static func train(in folder: Folder, name: String = "lm", text: String = Synthetic.text(lines: 80),
                      units: TextUnitKind = .char, cell: CellKind = .lstm, layers: Int = 2) throws -> String {
        var o = LanguageModelSessionOptions(trainPath: try folder.file(name + ".txt", text))
        o.outputPath = folder.path + "/" + name
        o.units = units; o.cell = cell; o.layerCount = layers
        o.embeddingSize = 8; o.hiddenSize = 16
        o.streams = 4; o.chunkLength = 24; o.devFraction = 0.2; o.evaluationStreams = 2
        o.maxSteps = 6; o.validateEvery = 3; o.threads = 1; o.seed = 3
        o.commandLine = ["seq2seq", "lm", "train", o.trainPath, "--output", o.outputPath]
        #expect(try LanguageModelSession(options: o, log: { _ in }).run() == .stepLimit)
        return o.outputPath
    }

    /// Equal within 1e-5 (a matrix product over more rows may round differently).
    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && !a.isEmpty && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 }
    }

    @Test func reportOfACharacterLSTMShowsWhatAppliesAndSaysWhatDoesNot() throws {
        let folder = try Folder()
        let path = try Self.train(in: folder)
        let content = try ModelReportBuilder(modelDirectory: path).build()   // the entry point the CLI uses
        #expect(content.model == .languageModel)

        // 1. Summary: sizes, units, steps, best bits per character, the command line.
        let summary = content.summary
        #expect(summary.languageModel == LanguageModelConfiguration(vocabularySize: summary.languageModel?.vocabularySize ?? 0,
                                                                    embeddingSize: 8, hiddenSize: 16, layerCount: 2, cell: .lstm))
        #expect(summary.units?.hasPrefix("char: ") == true && summary.steps == 6)
        #expect(summary.best.map { $0.step > 0 && ($0.devBitsPerCharacter ?? 0) > 0 } == true)
        #expect(summary.commandLines == ["seq2seq lm train \(path).txt --output \(path)"])
        #expect(summary.devSource?.contains("held out") == true && (summary.devCharacters ?? 0) > 100)
        #expect((summary.charactersPerSecond ?? 0) > 0 && summary.notes.isEmpty, "\(summary.notes)")

        // 2. Curves: the log's validations with bits per character.
        guard case .shown(let history) = content.curves else { Issue.record("no curves"); return }
        #expect(history.points.map(\.step) == [3, 6])
        #expect(history.points.allSatisfy { ($0.devBitsPerCharacter ?? 0) > 0 && ($0.trainBitsPerCharacter ?? 0) > 0 && $0.devLoss != nil })

        // 3. No attention, in one line.
        guard case .omitted(let why) = content.attention else { Issue.record("attention shown for a language model"); return }
        #expect(why.contains("no attention"))

        // 4. Cells over the end of the dev text recorded in run.json: one position per character,
        // h and c of both layers, LSTM gates per layer.
        guard case .shown(let analysis) = content.cells else { Issue.record("no cells: \(content.cells)"); return }
        let trace = analysis.trace
        let devTail = try #require(LanguageModelDirectory(path: path).readRunRecord()?.devTail)
        #expect(trace.pieces.count > 100 && trace.pieces.allSatisfy { $0.unicodeScalars.count == 1 })
        #expect(devTail.hasSuffix(trace.pieces.joined()))
        #expect(trace.states.map(\.name) == ["layer 1 cell c", "layer 1 hidden h", "layer 2 cell c", "layer 2 hidden h"])
        #expect(trace.states.allSatisfy { $0.values.count == trace.pieces.count && $0.values.allSatisfy { $0.count == 16 } })
        #expect(analysis.saturation.map { $0.gates.map(\.name) } == [["input", "forget", "output"], ["input", "forget", "output"]])
        // The text has quotes, brackets, Hangul and Latin: each of those properties gets a unit.
        for property in [TextProperty.insideQuotes, .insideBrackets, .hangulVersusLatin, .positionInLine] {
            #expect(analysis.findings.first { $0.property == property }?.best != nil, "\(property)")
        }
        // The top layer's h at the last character is the model's own state after the whole text.
        let (model, units, _) = try LanguageModelDirectory(path: path).load()
        var last: [Float] = []
        try model.activations(of: units.encode(trace.pieces.joined()), layer: 1, names: { _ in "" }) { last = $0.h }
        #expect(Self.close(trace.states[3].values.last ?? [], last))

        // 5. Samples: 200 characters at T = 0.5 and T = 1.0 from the same seed, and they differ.
        guard case .shown(let samples) = content.decoding else { Issue.record("no samples: \(content.decoding)"); return }
        let outputs = try #require(samples.first?.outputs)
        #expect(samples.count == 1 && samples[0].source.isEmpty && samples[0].reference == nil)
        #expect(outputs.map(\.label) == ["T = 0.5, seed 1", "T = 1.0, seed 1"])
        #expect(outputs.allSatisfy { $0.text.unicodeScalars.count >= 200 && $0.chrF == nil })
        #expect(outputs[0].text != outputs[1].text)

        // The page: the language model's headings, no translation heading, the notes.
        let html = ReportPage.html(content)
        for (index, heading) in ReportPage.headings(for: .languageModel).enumerated() {
            #expect(html.contains("<h2>\(index + 1). \(heading)</h2>"), "missing heading \(heading)")
        }
        #expect(!html.contains("Translations") && html.contains("Bits per character") && html.contains("Loss per unit"))
        #expect(html.contains("<p class=\"note\">Language models have no attention"))
        #expect(html.components(separatedBy: "class=\"activation-text\"").count - 1 == 6)
        #expect(html.components(separatedBy: "<svg class=\"scatter\"").count - 1 == 2)
    }

    /// A jamo model reads a syllable as 2–3 units; the report shows the syllable once, with the
    /// state the model has after reading all of it (a GRU, so its reset and update gates).
    @Test func jamoGRUShowsEachSyllableWithTheStateAfterItsLastJamo() throws {
        let folder = try Folder()
        let path = try Self.train(in: folder, units: .jamo, cell: .gru, layers: 1)
        let text = "그는 \"차가 준비됐어요\" 말했다.\nhe said (tea).\n"
        var options = ModelReportOptions()
        options.textPath = try folder.file("snippet.txt", text)
        let content = try ModelReportBuilder(modelDirectory: path, options: options).build()
        #expect(content.summary.units?.hasPrefix("jamo: ") == true)
        guard case .shown(let analysis) = content.cells else { Issue.record("no cells: \(content.cells)"); return }
        let trace = analysis.trace
        #expect(trace.pieces == text.unicodeScalars.map { String($0) })
        #expect(trace.origin.contains("last jamo") && trace.origin.contains("snippet.txt"))
        #expect(trace.states.map(\.name) == ["layer 1 hidden h"])
        #expect(analysis.saturation.map { $0.gates.map(\.name) } == [["reset", "update"]])

        // Independently: the state after position p is the last state of the model reading the text up to p.
        let (model, units, _) = try LanguageModelDirectory(path: path).load()
        let scalars = Array(text.unicodeScalars)
        for p in [0, 1, 4, 8, scalars.count - 1] {
            var prefix = String.UnicodeScalarView()
            prefix.append(contentsOf: scalars[...p])
            var after: [Float] = []
            try model.activations(of: units.encode(String(prefix)), layer: 0, names: { _ in "" }) { after = $0.h }
            #expect(Self.close(trace.states[0].values[p], after), "position \(p) (\(scalars[p]))")
        }
        // …and not the state after a syllable's first jamo.
        var firstJamo: [Float] = []
        try model.activations(of: [units.encode("그")[0]], layer: 0, names: { _ in "" }) { firstJamo = $0.h }
        #expect(!Self.close(trace.states[0].values[0], firstJamo))
    }

    /// Subword units: one position per BPE piece, the boundary mark as a space and `</s>` as the
    /// line break; an RNN has no gates, so no saturation picture (a note says so).
    @Test func subwordRNNShowsPiecesAndNoGates() throws {
        let folder = try Folder()
        var options = LanguageModelSessionOptions(trainPath: try folder.file("text.txt", Synthetic.text(lines: 80)))
        options.outputPath = folder.path + "/lm"
        options.units = .subword; options.vocabularySize = 600; options.cell = .rnn; options.layerCount = 1
        options.embeddingSize = 8; options.hiddenSize = 16; options.streams = 4; options.chunkLength = 12
        options.devFraction = 0.2; options.evaluationStreams = 2; options.maxSteps = 3; options.validateEvery = 3
        options.threads = 1
        _ = try LanguageModelSession(options: options, log: { _ in }).run()
        let content = try ModelReportBuilder(modelDirectory: options.outputPath).build()
        guard case .shown(let analysis) = content.cells else { Issue.record("no cells: \(content.cells)"); return }
        let pieces = analysis.trace.pieces
        #expect(pieces.contains("\n") && !pieces.joined().contains("▁") && pieces.contains { $0.unicodeScalars.count > 1 })
        #expect(analysis.trace.states.map(\.name) == ["layer 1 hidden h"] && analysis.saturation.isEmpty)
        #expect(ReportPage.html(content).contains("No LSTM or GRU gate activations in this trace"))
        guard case .shown(let samples) = content.decoding else { Issue.record("no samples"); return }
        #expect(samples[0].outputs.allSatisfy { $0.text.unicodeScalars.count >= 200 })
    }

    /// An interrupted run: no best/ and a log line cut by a kill give notes; without any
    /// checkpoint the cells and samples are left out with the reason; never an error.
    @Test func interruptedDirectoryGivesAReportWithNotes() throws {
        let folder = try Folder()
        let path = try Self.train(in: folder)
        try FileManager.default.removeItem(atPath: path + "/best")
        let log = try String(contentsOfFile: path + "/training-log.jsonl", encoding: .utf8)
        try Data((log + "{\"devBitsPerCharacter\":4.1,\"st").utf8).write(to: URL(fileURLWithPath: path + "/training-log.jsonl"))
        let cut = try ModelReportBuilder(modelDirectory: path).build()
        #expect(cut.summary.notes.contains { $0.contains("No best/ checkpoint") }, "\(cut.summary.notes)")
        guard case .shown(let history) = cut.curves else { Issue.record("no curves"); return }
        #expect(history.points.count == 2 && history.notes.contains { $0.contains("incomplete") })
        guard case .shown = cut.cells, case .shown = cut.decoding else { Issue.record("last/ was not used"); return }

        for name in ["last", "run.json"] { try FileManager.default.removeItem(atPath: path + "/" + name) }
        let early = try ModelReportBuilder(modelDirectory: path).build()
        #expect(early.model == .languageModel && early.summary.languageModel != nil)
        #expect(early.summary.notes.contains { $0.contains("No checkpoint yet") })
        for section in [early.cells.omittedReason, early.decoding.omittedReason] {
            #expect(section?.contains("cannot be loaded") == true, "\(String(describing: section))")
        }
        let html = ReportPage.html(early)
        for heading in ReportPage.headings(for: .languageModel) { #expect(html.contains(heading)) }
        #expect(html.contains("The command line was not recorded") && html.hasSuffix("</html>\n"))
    }

    @Test func badTextAndDevPairsAreOneLineErrors() throws {
        let folder = try Folder()
        let path = try Self.train(in: folder, layers: 1)
        var options = ModelReportOptions()
        options.textPath = folder.path + "/latin1.txt"
        try Data([0x68, 0x69, 0x0A, 0xC3, 0x28]).write(to: URL(fileURLWithPath: options.textPath!))
        #expect(throws: ReportError.unreadableText(path: options.textPath!, reason: "not valid UTF-8 (first bad byte at offset 3)")) {
            try ModelReportBuilder(modelDirectory: path, options: options).build()
        }
        options.textPath = nil
        options.devPath = try folder.file("dev.tsv", "hello\t안녕\n")
        #expect(throws: ReportError.self) { try ModelReportBuilder(modelDirectory: path, options: options).build() }
        let cli = try Command.run(["report", path, "--dev", options.devPath!, "-o", folder.path + "/x.html"])
        #expect(cli.status == 1 && cli.errors.split(separator: "\n").count == 1 && cli.errors.contains("--text FILE"), "\(cli.errors)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/x.html"))
        // A long --text is cut to 1,200 characters at a line end.
        options.devPath = nil
        options.textPath = try folder.file("long.txt", Synthetic.text(lines: 200))
        let content = try ModelReportBuilder(modelDirectory: path, options: options).build()
        guard case .shown(let analysis) = content.cells else { Issue.record("no cells"); return }
        #expect(analysis.trace.pieces.count <= 1200 && analysis.trace.pieces.count > 600 && analysis.trace.pieces.last == "\n")
    }
}

extension ReportSection {
    /// The one-line reason of an omitted section, nil when it is shown.
    var omittedReason: String? {
        if case .omitted(let reason) = self { return reason }
        return nil
    }
}
