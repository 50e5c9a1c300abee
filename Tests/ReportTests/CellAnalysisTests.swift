import Foundation
import Testing
@testable import Report

/// The interpretable-cell analysis on synthetic activations: planted units
/// must be found, noise must not be mistaken for a tracking unit, and the
/// text properties and gate statistics must be what they claim.
struct CellAnalysisTests {
    @Test func plantedQuoteBracketAndColumnUnitsAreFound() throws {
        let trace = Synthetic.trace(text: Synthetic.text(lines: 40), quoteUnit: 17, bracketUnit: 3, columnUnit: 30)
        let analysis = try CellAnalysis.analyse(trace)
        func finding(_ p: TextProperty) throws -> PropertyFinding {
            try #require(analysis.findings.first { $0.property == p })
        }
        let quotes = try #require(try finding(.insideQuotes).best)
        #expect(quotes.unit.unit == 17, "\(quotes.unit)")   // in c or in h = 0.9·tanh(c)
        #expect(quotes.correlation > 0.9)
        let brackets = try #require(try finding(.insideBrackets).best)
        #expect(brackets.unit.unit == 3 && brackets.correlation > 0.8, "\(brackets)")
        let column = try #require(try finding(.positionInLine).best)
        #expect(column.unit.unit == 30 && column.correlation > 0.9, "\(column)")
        // The runners-up for quotes are far behind the planted unit.
        let quoteRanking = try finding(.insideQuotes).ranking
        #expect(quoteRanking.count == 3)
        #expect(abs(quoteRanking[1].correlation) < 0.9 * quotes.correlation || quoteRanking[1].unit.unit == 17)
    }

    @Test func noPlantedUnitGivesOnlyWeakCorrelations() throws {
        let trace = Synthetic.trace(text: Synthetic.text(lines: 40), quoteUnit: nil)
        let analysis = try CellAnalysis.analyse(trace)
        let quotes = try #require(analysis.findings.first { $0.property == .insideQuotes })
        // Only the planted bracket unit correlates a little (a bracket is never inside quotes here).
        #expect(abs(try #require(quotes.best).correlation) < 0.4)
        let y = quotes.values.map { $0 ?? 0 }
        for u in 0..<48 where u != 3 && u != 30 {
            let r = try #require(pearson(trace.states[0].values.map { Double($0[u]) }, y))
            #expect(abs(r) < 0.15, "noise unit \(u) reached r = \(r)")
        }
    }

    @Test func textPropertiesOfAHandWrittenLine() {
        let pieces = "He said \"hi (3.14)\". 안녕 ok!\nx".map { String($0) }
        func ones(_ p: TextProperty) -> String {
            zip(pieces, TextProperty.values(of: p, pieces: pieces)).filter { $0.1 == 1 }.map(\.0).joined()
        }
        #expect(ones(.insideQuotes) == "\"hi (3.14)")
        #expect(ones(.insideBrackets) == "(3.14")
        #expect(ones(.wordStart) == "Hsh31안ox")
        #expect(ones(.sentenceEnd) == ".!")                   // not the point in 3.14
        let script = TextProperty.values(of: .hangulVersusLatin, pieces: pieces)
        #expect(script[0] == 0 && script[2] == nil && script[pieces.firstIndex(of: "안")!] == 1)
        let columns = TextProperty.values(of: .positionInLine, pieces: pieces)
        #expect(columns[0] == 1 && columns.last == 1)         // "x" is the first character of line 2
    }

    @Test func subwordPiecesWithLineEnds() {
        // An encoder trace: one piece per subword, the last of each line carries "\n".
        let pieces = [" I", " said", " \"", "hi", "\"", ".\n", " (", "ok", ")\n"]
        #expect(TextProperty.values(of: .insideQuotes, pieces: pieces) == [0, 0, 1, 1, 0, 0, 0, 0, 0])
        #expect(TextProperty.values(of: .insideBrackets, pieces: pieces) == [0, 0, 0, 0, 0, 0, 1, 1, 0])
        #expect(TextProperty.values(of: .sentenceEnd, pieces: pieces) == [0, 0, 0, 0, 0, 1, 0, 0, 0])
        #expect(TextProperty.values(of: .positionInLine, pieces: pieces) == [2, 7, 9, 11, 12, 13, 2, 4, 5])
    }

    @Test func pearsonAgreesWithHandComputedValues() throws {
        #expect(try #require(pearson([1, 2, 3, 4], [2, 4, 6, 8])) == 1)
        #expect(abs(try #require(pearson([1, 2, 3, 4], [4, 3, 2, 1])) + 1) < 1e-12)
        // x = (1, 2, 3), y = (1, 3, 2): r = 0.5.
        #expect(abs(try #require(pearson([1, 2, 3], [1, 3, 2])) - 0.5) < 1e-12)
        #expect(pearson([1, 1, 1], [1, 2, 3]) == nil)
    }

    @Test func gateSaturationFractions() {
        let values: [[Float]] = [[0.05, 0.95, 0.5], [0.02, 0.5, 0.99], [0.5, 0.97, 0.5], [0.09, 0.91, 0.1]]
        let fractions = GateSaturation.fractions(values)
        #expect(fractions.map(\.left) == [0.75, 0, 0])
        #expect(fractions.map(\.right) == [0, 0.75, 0.25])
        let analysis = try? CellAnalysis.analyse(Synthetic.trace(text: Synthetic.text(lines: 5)))
        let forget = analysis?.saturation.first?.gates.first { $0.name == "forget" }?.fractions ?? []
        #expect(forget.prefix(8).allSatisfy { $0.right == 1 }, "planted always-open forget gates")
    }

    @Test func traceWhoseShapesDoNotFitIsRejected() {
        var trace = Synthetic.trace(text: "ab\"c\"\n")
        trace.states[1].values.removeLast()
        #expect(throws: ReportError.self) { try CellAnalysis.analyse(trace) }
        #expect(trace.shapeProblem == "layer 1 hidden h has 5 rows for 6 positions")
    }

    @Test func byteFallbackTokensShowTheirCharacters() {
        // "é" = C3 A9 in UTF-8; a lone continuation byte is not a character.
        #expect(EncoderStateProbe.displayPieces(["▁I", "<0x20>", "<0xC3>", "<0xA9>", "▁x", "<0xA9>"])
                == [" I", " ", "é", "", " x", "\u{FFFD}"])
    }
}
