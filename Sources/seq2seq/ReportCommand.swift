import ArgumentParser
import CommandLineSupport
import Foundation
import Report
import Seq2Seq
import Tokenize

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page about a trained model.",
        discussion: """
            The page shows: the run summary (sizes, data, steps, time, tokens/s, best dev \
            scores, the command that trained it); loss and BLEU/chrF curves from \
            training-log.jsonl against steps and wall-clock time with the best checkpoint \
            marked; attention heatmaps (for models with attention); interpretable cells — the \
            hidden units that best follow simple text properties (position in the line, \
            quotes, brackets, Hangul vs Latin, word starts, sentence ends), drawn as coloured \
            text, and the LSTM gate-saturation plot; greedy and beam translations of dev sentences.
            For a language model (`seq2seq lm train`): its units and sizes, loss and bits per \
            character, no attention, the interpretable cells over --text (default: the end of the \
            dev text recorded in run.json), the LSTM or GRU gate saturation, and samples at \
            temperatures 0.5 and 1.0.
            It needs no network to view (inline CSS and SVG, no scripts) and prints on paper.
            A model directory from an interrupted run gives a report of what it has.

            Examples:
              seq2seq report model -o model/report.html
              seq2seq report model-ko-en --dev dev.tsv --text sample.txt -o report.html
              seq2seq report lm --text snippet.txt -o lm/report.html
            """)

    @Argument(help: "Model directory written by `seq2seq train` or `seq2seq lm train`.")
    var model: String

    @Option(help: "Translation models: dev pairs (source<TAB>target, corpus column order) to translate and draw (default: the dev sample saved in the model's run.json).")
    var dev: String?

    @Option(help: "UTF-8 text to read hidden states from for the interpretable-cell view (default: the dev sources; for a language model the end of its dev text).")
    var text: String?

    @Option(name: [.customShort("o"), .long], help: "HTML file to write.")
    var output = "report.html"

    @Option(help: "Dev sentences shown with greedy and beam translations.")
    var examples = 6

    @Option(help: "Lines of --text (or dev sources) read for the interpretable-cell view (a language model reads at most 1,200 characters of them).")
    var textLines = 60

    @Option(help: "CPU threads for matrix products.")
    var threads = 1

    func validate() throws {
        if examples < 0 { throw ValidationError("--examples must be ≥ 0") }
        if textLines < 1 { throw ValidationError("--text-lines must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        for (name, path) in [("--dev file", dev), ("--text file", text)] {
            guard let path else { continue }
            if !FileManager.default.fileExists(atPath: path) { throw ValidationError("\(path): \(name) not found") }
        }
    }

    func run() throws {
        ComputeThreads.configure(threads)
        let started = monotonicSeconds()
        var options = ModelReportOptions()
        options.devPath = dev
        options.textPath = text
        options.decodingExamples = examples
        options.textLines = textLines
        let content = try ModelReportBuilder(modelDirectory: model, options: options).build()
        let html = ReportPage.html(content)
        do {
            try AtomicFile.write(Data(html.utf8), to: output)
        } catch {
            throw ReportError.cannotWrite(path: output, reason: "\(error)")
        }
        printError(String(format: "wrote %@ (%@ KB) in %.2f s", output, String(html.utf8.count / 1024),
                          monotonicSeconds() - started))
    }
}
