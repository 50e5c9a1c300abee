import Foundation
import Testing
@testable import Report

/// The HTML of a synthetic report: sections, escaping, drawn elements, and
/// notes for sections that do not apply.
struct ReportPageTests {
    @Test func everySectionHeadingAndNoScriptOrExternalResource() throws {
        let html = ReportPage.html(try Synthetic.content())
        for (index, heading) in ReportPage.headings.enumerated() {
            #expect(html.contains("<h2>\(index + 1). \(heading)</h2>"), "missing heading \(heading)")
        }
        #expect(!html.lowercased().contains("<script"))
        for external in ["http://", "https://", "src=", "@import", "url("] {
            #expect(!html.contains(external), "external reference \(external)")
        }
    }

    @Test func dataStringsAreEscaped() throws {
        let html = ReportPage.html(try Synthetic.content())
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("/models/&lt;b&gt;synthetic&lt;/b&gt;"))
        #expect(html.contains("나는 &lt;차&gt;를"))
        #expect(HTML.escape("a\"b'c&\u{0}d") == "a&quot;b&#39;c&amp;\u{FFFD}d")
    }

    @Test func heatmapHasOneSquarePerWeightWithItsValue() throws {
        let example = Synthetic.attention(sourceTokens: ["▁a", "▁b", "▁c"], targetTokens: ["▁x", "▁y", "</s>"],
                                          reference: "x y", hypothesis: "x y")
        let svg = AttentionHeatmap(example: example).svg()
        #expect(svg.components(separatedBy: "<rect class=\"weight\"").count - 1 == 9)
        let w = example.weights[1][1]
        #expect(svg.contains("▁y ← ▁b: \(String(format: "%.3f", w))"))
        #expect(example.chrF == 100)
        for row in example.weights { #expect(abs(row.reduce(0, +) - 1) < 1e-5) }
    }

    @Test func misshapenAlignmentGetsANoteInsteadOfAHeatmap() throws {
        var content = try Synthetic.content()
        var bad = Synthetic.attention(sourceTokens: ["▁a", "▁b"], targetTokens: ["▁x", "</s>"], reference: "", hypothesis: "x")
        bad.weights[1].removeLast()
        content.attention = .shown([bad])
        let html = ReportPage.html(content)
        #expect(html.contains("Example 1 cannot be drawn: row 1 has 1 weights for 2 source tokens."))
        #expect(!html.contains("class=\"heatmap\""))
    }

    @Test func omittedSectionsSayWhyInOneLine() throws {
        var content = try Synthetic.content()
        content.attention = .omitted(reason: "This model has no attention.")
        content.cells = .omitted(reason: "No hidden states.")
        let html = ReportPage.html(content)
        #expect(html.contains("<p class=\"note\">This model has no attention.</p>"))
        #expect(html.contains("<p class=\"note\">No hidden states.</p>"))
        #expect(!html.contains("class=\"heatmap\"") && !html.contains("class=\"activation-text\""))
    }

    @Test func curvesMarkTheBestCheckpoint() throws {
        let html = ReportPage.html(try Synthetic.content())
        // Two x axes (steps, time) × two charts (loss, scores), each with the best marker.
        #expect(html.components(separatedBy: "class=\"best-marker\"").count - 1 == 4)
        #expect(html.components(separatedBy: "<polyline class=\"series\"").count - 1 == 2 * (2 + 3))
        #expect(html.contains("step 1,120, dev chrF 30.80"))   // the last validation marked best: 28 × 40
    }

    /// The largest page the builder can make (a long run's log, the biggest heatmaps it draws,
    /// the most positions of coloured text) stays under 2 MB.
    @Test func largestReportStaysUnderTwoMegabytes() throws {
        var content = try Synthetic.content()
        content.curves = .shown(TrainingHistory(points: (1...20_000).map {
            ValidationPoint(step: $0 * 50, seconds: Double($0) * 3.5, trainLoss: 5 / Double($0), devLoss: 5.1 / Double($0),
                            bleu: 30, chrF: 50, characterBLEU: 40, isBest: $0 % 1000 == 0)
        }))
        let source = (0..<32).map { "▁w\($0)" }, target = (0..<49).map { "▁한\($0)" } + ["</s>"]
        #expect(source.count * target.count <= ModelReportBuilder.maxAttentionCells)
        content.attention = .shown(Array(repeating: Synthetic.attention(sourceTokens: source, targetTokens: target,
                                                                       reference: "참조", hypothesis: "가설"), count: 4))
        var trace = Synthetic.trace(text: Synthetic.text(lines: 60), units: 256)
        trace.pieces = Array(trace.pieces.prefix(1200))
        trace.states = trace.states.map { NamedActivations(name: $0.name, values: Array($0.values.prefix(1200))) }
        trace.gates = trace.gates.map { GateActivations(layerName: $0.layerName,
                                                        gates: $0.gates.map { ($0.name, Array($0.values.prefix(1200))) }) }
        content.cells = .shown(try CellAnalysis.analyse(trace))
        let html = ReportPage.html(content)
        #expect(html.utf8.count < 2_000_000, "\(html.utf8.count) bytes")
        // The long curves are thinned, not dropped.
        #expect(html.components(separatedBy: "<polyline class=\"series\"").count - 1 == 2 * (2 + 3))
    }
}
