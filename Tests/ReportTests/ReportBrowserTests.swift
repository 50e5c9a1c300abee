import Foundation
import Testing
@testable import Report

/// The report as a person sees it: rendered by headless Chromium (Debian's
/// `chromium`, installed by `.ci/run`), checked for console errors, network
/// requests, section headings, drawn curves, heatmaps and coloured text,
/// Hangul fonts, escaped markup, and a screenshot that is not blank.
@Suite(.serialized)
struct ReportBrowserTests {
    static let chromiumInstalled = HeadlessChromium.executable != nil
    /// Grey-level variance of a screenshot below which we call it blank (a
    /// white page has 0; the first screen of a report measures in the thousands).
    static let blankVariance = 100.0

    /// A temporary folder with a tiny corpus, a dev file with markup and Hangul, and a tiny trained model.
    final class Workspace {
        let folder: URL
        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-" + UUID().uuidString)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let corpus = try String(contentsOf: Command.packageRoot.appendingPathComponent("Corpora/everyday.tsv"), encoding: .utf8)
            let lines = corpus.split(separator: "\n")
            try write(lines.prefix(80).joined(separator: "\n") + "\n", to: "pairs.tsv")
            let dev = lines.dropFirst(80).prefix(5).map(String.init)
                + ["<script>alert(\"x\")</script> \"Hello\" (again).\t<b>안녕</b>하세요."]
            try write(dev.joined(separator: "\n") + "\n", to: "dev.tsv")
        }
        deinit { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        func write(_ text: String, to name: String) throws { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }

        /// Trains a tiny model into `model/` (a second or two).
        func trainModel(_ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> Command.Result {
            let result = try Command.run(["train", path("pairs.tsv"), "--output", path("model"), "--embedding", "24",
                                          "--hidden", "32", "--batch-size", "8", "--vocab-size", "300", "--seed", "7",
                                          "--threads", "1", "--epochs", "4", "--validate-every", "5",
                                          "--encoder", "uni", "--attention", "none"] + extra)
            #expect(result.status == 0, "train failed: \(result.errors)", sourceLocation: sourceLocation)
            return result
        }
    }

    @Test(.enabled(if: chromiumInstalled, "needs Debian's chromium (apt-get install chromium)"))
    func reportOfATrainedModelInChromium() throws {
        let w = try Workspace()
        let training = try w.trainModel(["--attention", "general"])
        #expect(training.errors.contains("seq2seq report \(w.path("model")) -o \(w.path("model/report.html"))"))
        let report = try Command.run(["report", w.path("model"), "--dev", w.path("dev.tsv"), "-o", w.path("report.html")])
        try #require(report.status == 0, "report failed: \(report.errors)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: w.path("report.html"))[.size] as? Int)
        #expect(size < 2_000_000)

        let browser = try HeadlessChromium(width: 1280, height: 1000)
        defer { browser.shutdown() }
        try browser.load(URL(fileURLWithPath: w.path("report.html")))
        #expect(browser.errors.isEmpty, "console errors: \(browser.errors)")
        #expect(browser.requestedURLs.allSatisfy { $0.hasPrefix("file://") || $0.hasPrefix("data:") },
                "the page asked the network for \(browser.requestedURLs)")

        let headings = try #require(try browser.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)") as? [String])
        for heading in ReportPage.headings { #expect(headings.contains { $0.hasSuffix(heading) }, "no heading \(heading) in \(headings)") }

        // Curves: lines with at least two points and a drawn extent, in 4 charts.
        let drawnLines = try browser.evaluate("""
            [...document.querySelectorAll('#curves svg polyline.series')]
              .filter(p => p.points.numberOfItems >= 2 && p.getBBox().width > 0).length
            """) as? Int
        #expect((drawnLines ?? 0) >= 8, "drawn curve lines: \(String(describing: drawnLines))")
        #expect(try browser.evaluate("document.querySelectorAll('#curves svg.chart').length") as? Int == 4)

        // Interpretable cells of the encoder: coloured text (not all white) and the gate scatter.
        let coloured = try browser.evaluate("""
            [...document.querySelectorAll('#cells .activation-text span')]
              .filter(s => getComputedStyle(s).backgroundColor !== 'rgb(255, 255, 255)').length
            """) as? Int
        #expect((coloured ?? 0) > 20, "coloured pieces: \(String(describing: coloured))")
        #expect((try browser.evaluate("document.querySelectorAll('#cells svg.scatter circle.unit').length") as? Int) == 3 * 32)
        // Attention heatmaps of the first 4 dev sentences: one drawn square per (target, source) token pair.
        let heatmaps = try #require(try browser.evaluate("""
            [...document.querySelectorAll('#attention svg.heatmap')].map(svg => [
              [...svg.querySelectorAll('rect.weight')].filter(r => r.getBBox().width > 0 && r.querySelector('title')).length,
              svg.querySelectorAll('text.token[transform]').length,
              svg.querySelectorAll('text.token:not([transform])').length])
            """) as? [[Int]])
        #expect(heatmaps.count == 4)
        for counts in heatmaps { #expect(counts[0] > 0 && counts[0] == counts[1] * counts[2], "squares, sources, targets: \(counts)") }
        let attentionPicture = try Self.picture(browser.screenshot(clip: try Self.boundingBox(of: "#attention .figures", in: browser)),
                                                name: "trained-heatmaps")
        #expect(attentionPicture.greyVariance > Self.blankVariance, "heatmaps: variance \(attentionPicture.greyVariance)")

        // Translations: 6 dev sentences × (source, reference, greedy, beam).
        #expect(try browser.evaluate("document.querySelectorAll('#translations table.decoding tr').length") as? Int == 1 + 6 * 4)

        // Markup in the data shows as text; the page has no script at all.
        #expect(try browser.evaluate("document.querySelectorAll('script, b').length") as? Int == 0)
        let bodyText = try #require(try browser.evaluate("document.body.innerText") as? String)
        #expect(bodyText.contains("<script>alert(\"x\")</script> \"Hello\" (again)."))
        #expect(bodyText.contains("<b>안녕</b>하세요."))

        // Hangul is drawn with a font that has Hangul (Noto CJK from fonts-noto-cjk on Debian).
        let fonts = try browser.platformFonts(of: "#translations [lang=ko]")
        #expect(fonts.contains { $0.contains("CJK") || $0.contains("KR") || $0.contains("Gothic") }, "Hangul drawn with \(fonts)")

        // What a person sees is not blank: the first screen and the curves.
        let screen = try Self.picture(browser.screenshot(), name: "trained-first-screen")
        #expect(screen.width == 1280 && screen.greyVariance > Self.blankVariance && screen.distinctColors > 20,
                "first screen: variance \(screen.greyVariance), \(screen.distinctColors) colours")
        let curves = try Self.picture(browser.screenshot(clip: try Self.boundingBox(of: "#curves .figures", in: browser)),
                                      name: "trained-curves")
        #expect(curves.greyVariance > Self.blankVariance, "curves: variance \(curves.greyVariance)")
    }

    /// A language model trained by `seq2seq lm train` (a fraction of a second), reported by
    /// `seq2seq report` and seen in the browser: its own headings, curves, coloured text, gate
    /// scatter of both layers, samples, and a first screen that is not blank.
    @Test(.enabled(if: chromiumInstalled, "needs Debian's chromium (apt-get install chromium)"))
    func reportOfALanguageModelInChromium() throws {
        let w = try Workspace()
        try w.write(Synthetic.text(lines: 150), to: "text.txt")
        let training = try Command.run(["lm", "train", w.path("text.txt"), "--output", w.path("lm"), "--hidden", "24",
                                        "--embedding", "12", "--layers", "2", "--batch-size", "8", "--bptt", "32",
                                        "--max-steps", "12", "--validate-every", "4", "--threads", "1", "--seed", "3"])
        try #require(training.status == 0, "lm train failed: \(training.errors)")
        #expect(training.errors.contains("seq2seq report \(w.path("lm")) -o \(w.path("lm/report.html"))"))
        let report = try Command.run(["report", w.path("lm"), "-o", w.path("lm.html")])
        try #require(report.status == 0, "report failed: \(report.errors)")

        let browser = try HeadlessChromium(width: 1280, height: 1000)
        defer { browser.shutdown() }
        try browser.load(URL(fileURLWithPath: w.path("lm.html")))
        #expect(browser.errors.isEmpty, "console errors: \(browser.errors)")
        #expect(browser.requestedURLs.allSatisfy { $0.hasPrefix("file://") || $0.hasPrefix("data:") },
                "the page asked the network for \(browser.requestedURLs)")
        let headings = try #require(try browser.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)") as? [String])
        #expect(headings == ReportPage.headings(for: .languageModel).enumerated().map { "\($0.offset + 1). \($0.element)" })

        // Curves: train and dev loss and bits per character against steps and time, each line drawn.
        let drawnLines = try browser.evaluate("""
            [...document.querySelectorAll('#curves svg polyline.series')]
              .filter(p => p.points.numberOfItems >= 2 && p.getBBox().width > 0).length
            """) as? Int
        #expect(drawnLines == 8, "drawn curve lines: \(String(describing: drawnLines))")
        let titles = try #require(try browser.evaluate("[...document.querySelectorAll('#curves svg.chart > title')].map(t => t.textContent)") as? [String])
        #expect(titles == ["Loss per unit (nats)", "Bits per character", "Loss per unit (nats)", "Bits per character"])

        // No attention: a note and nothing drawn.
        #expect(try browser.evaluate("document.querySelectorAll('#attention svg').length") as? Int == 0)
        let attentionNote = try browser.evaluate("document.querySelector('#attention p.note').textContent") as? String
        #expect(attentionNote?.contains("no attention") == true)

        // Cells: coloured characters, and one dot per unit and gate of both LSTM layers.
        let coloured = try browser.evaluate("""
            [...document.querySelectorAll('#cells .activation-text span')]
              .filter(s => getComputedStyle(s).backgroundColor !== 'rgb(255, 255, 255)').length
            """) as? Int
        #expect((coloured ?? 0) > 20, "coloured pieces: \(String(describing: coloured))")
        #expect((try browser.evaluate("document.querySelectorAll('#cells svg.scatter circle.unit').length") as? Int) == 2 * 3 * 24)

        // Samples: the prime row and one sample per temperature, each at least 200 characters.
        let samples = try #require(try browser.evaluate("[...document.querySelectorAll('#samples td.sample')].map(t => t.textContent)") as? [String])
        #expect(samples.count == 2 && samples.allSatisfy { $0.unicodeScalars.count >= 200 } && samples[0] != samples[1])

        let screen = try Self.picture(browser.screenshot(), name: "lm-first-screen")
        #expect(screen.greyVariance > Self.blankVariance && screen.distinctColors > 20,
                "first screen: variance \(screen.greyVariance), \(screen.distinctColors) colours")
        let curves = try Self.picture(browser.screenshot(clip: try Self.boundingBox(of: "#curves .figures", in: browser)),
                                      name: "lm-curves")
        #expect(curves.greyVariance > Self.blankVariance, "curves: variance \(curves.greyVariance)")
    }

    @Test(.enabled(if: chromiumInstalled, "needs Debian's chromium (apt-get install chromium)"))
    func syntheticAttentionAndCellsInChromium() throws {
        let content = try Synthetic.content()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("report-synthetic-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(ReportPage.html(content).utf8).write(to: file)
        let browser = try HeadlessChromium(width: 1280, height: 1000)
        defer { browser.shutdown() }
        try browser.load(file)
        #expect(browser.errors.isEmpty, "console errors: \(browser.errors)")

        // One drawn square per attention weight: 6×5 + 4×4, with hover text.
        guard case .shown(let examples) = content.attention else { Issue.record("no attention"); return }
        let squares = try browser.evaluate("""
            [...document.querySelectorAll('#attention svg.heatmap rect.weight')]
              .filter(r => r.getBBox().width > 0 && r.querySelector('title')).length
            """) as? Int
        #expect(squares == examples.reduce(0) { $0 + $1.sourceTokens.count * $1.targetTokens.count })
        // The darkest square of the first row is the diagonal one.
        let darkest = try browser.evaluate("""
            (() => { const row = [...document.querySelectorAll('#attention svg.heatmap')][0]
                       .querySelectorAll('rect.weight');
                     const lum = r => getComputedStyle(r).fill.match(/\\d+/g).map(Number).reduce((a, b) => a + b);
                     let best = 0; for (let j = 0; j < 5; j++) if (lum(row[j]) < lum(row[best])) best = j; return best })()
            """) as? Int
        #expect(darkest == 0)
        let tokens = try #require(try browser.evaluate("[...document.querySelectorAll('#attention svg text.token')].map(t => t.textContent)") as? [String])
        #expect(tokens.contains("▁<script>") && tokens.contains("▁좋아"))
        #expect(try browser.evaluate("document.querySelectorAll('script').length") as? Int == 0)

        // The planted quote unit is found and drawn.
        let stats = try #require(try browser.evaluate("[...document.querySelectorAll('#cells .finding .stats')].map(s => s.textContent)") as? [String])
        #expect(stats.contains { $0.contains("unit 17") }, "\(stats)")
        #expect((try browser.evaluate("document.querySelectorAll('#cells svg.scatter circle.unit').length") as? Int) == 3 * 48)

        let heatmaps = try Self.picture(browser.screenshot(clip: try Self.boundingBox(of: "#attention .figures", in: browser)),
                                        name: "synthetic-heatmaps")
        #expect(heatmaps.greyVariance > Self.blankVariance, "heatmaps: variance \(heatmaps.greyVariance)")
    }

    /// Bad input gives a one-line error or a report with a note, never a crash.
    @Test func badInputGivesOneLineErrorsOrNotes() throws {
        let w = try Workspace()
        // Not a model: an empty folder, a missing folder, a file.
        try FileManager.default.createDirectory(atPath: w.path("empty"), withIntermediateDirectories: true)
        for target in [w.path("empty"), w.path("missing"), w.path("pairs.tsv")] {
            let result = try Command.run(["report", target, "-o", w.path("x.html")])
            #expect(result.status != 0 && result.status < 128, "\(target): status \(result.status)")
            #expect(result.errors.split(separator: "\n").count == 1 && result.errors.contains("not a model directory"),
                    "\(result.errors)")
            #expect(!FileManager.default.fileExists(atPath: w.path("x.html")))
        }
        _ = try w.trainModel()
        // --text that is not UTF-8.
        try Data([0x68, 0x69, 0x0A, 0xC3, 0x28, 0xFF]).write(to: URL(fileURLWithPath: w.path("latin1.txt")))
        let text = try Command.run(["report", w.path("model"), "--text", w.path("latin1.txt"), "-o", w.path("x.html")])
        #expect(text.status == 1)
        #expect(text.errors.split(separator: "\n").count == 1 && text.errors.contains("not valid UTF-8 (first bad byte at offset 3)"),
                "\(text.errors)")

        // A log whose last line was cut by a kill: a report with a note.
        let log = try String(contentsOfFile: w.path("model/training-log.jsonl"), encoding: .utf8)
        try w.write(log + "{\"bleu\":1.2,\"chrF\":3", to: "model/training-log.jsonl")
        let cut = try Command.run(["report", w.path("model"), "-o", w.path("cut.html")])
        #expect(cut.status == 0, "\(cut.errors)")
        let cutPage = try String(contentsOfFile: w.path("cut.html"), encoding: .utf8)
        #expect(cutPage.contains("the last line of training-log.jsonl is incomplete"))
        #expect(cutPage.contains("class=\"series\""))
        // A model without attention: a one-line note instead of heatmaps.
        #expect(cutPage.contains("<p class=\"note\">This model has no attention"))
        #expect(!cutPage.contains("class=\"heatmap\""))

        // A run stopped before its first checkpoint: what exists is reported, the rest is a note.
        try FileManager.default.removeItem(atPath: w.path("model/best"))
        try FileManager.default.removeItem(atPath: w.path("model/last"))
        try FileManager.default.removeItem(atPath: w.path("model/training-log.jsonl"))
        let early = try Command.run(["report", w.path("model"), "-o", w.path("early.html")])
        #expect(early.status == 0, "\(early.errors)")
        let earlyPage = try String(contentsOfFile: w.path("early.html"), encoding: .utf8)
        for heading in ReportPage.headings { #expect(earlyPage.contains(heading)) }
        #expect(earlyPage.contains("No checkpoint yet"))
        #expect(earlyPage.contains("No training-log.jsonl"))
        #expect(earlyPage.contains("seq2seq train"))   // the command line from run.json
        #expect(earlyPage.hasSuffix("</html>\n"))
    }

    /// Decodes a screenshot, and keeps it in `$REPORT_SCREENSHOTS/NAME.png` when that variable names a folder
    /// (to look at what the test saw).
    static func picture(_ png: Data, name: String) throws -> PNGImage {
        if let folder = ProcessInfo.processInfo.environment["REPORT_SCREENSHOTS"] {
            try? png.write(to: URL(fileURLWithPath: folder).appendingPathComponent(name + ".png"))
        }
        return try PNGImage(data: png)
    }

    /// The page rectangle of the first element matching `selector`.
    static func boundingBox(of selector: String, in browser: HeadlessChromium) throws
        -> (x: Double, y: Double, width: Double, height: Double) {
        let box = try #require(try browser.evaluate("""
            (() => { const r = document.querySelector('\(selector)').getBoundingClientRect();
                     return [r.left + scrollX, r.top + scrollY, r.width, r.height] })()
            """) as? [Double])
        try #require(box.count == 4 && box[2] > 0 && box[3] > 0, "\(selector) has no size: \(box)")
        return (box[0], box[1], box[2], box[3])
    }
}
