import Foundation
@testable import Report

/// Deterministic random numbers for synthetic test data (SplitMix64).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Roughly normal (sum of 4 uniforms), mean 0, standard deviation `sigma`.
    mutating func noise(_ sigma: Double) -> Double { ((0..<4).reduce(0.0) { s, _ in s + unit() } - 2) * sigma * 1.732 }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
}

/// Synthetic inputs for the analysis and the renderer.
enum Synthetic {
    /// Lines of mixed English and Korean with quotes and brackets.
    static func text(lines: Int, seed: UInt64 = 1) -> String {
        var random = SplitMix(state: seed)
        let english = ["he", "said", "the", "tea", "is", "ready", "we", "go", "home", "now", "rain", "falls"]
        let korean = ["그는", "말했다", "차가", "준비됐어요", "우리", "집에", "가요", "지금", "비가", "와요"]
        var out: [String] = []
        for _ in 0..<lines {
            let words = random.unit() < 0.5 ? english : korean
            var parts: [String] = []
            for _ in 0..<(3 + Int(random.next() % 4)) { parts.append(random.pick(words)) }
            var quoted: [String] = []
            for _ in 0..<(1 + Int(random.next() % 4)) { quoted.append(random.pick(random.unit() < 0.5 ? english : korean)) }
            parts.insert("\"" + quoted.joined(separator: " ") + "\"", at: Int(random.next() % UInt64(parts.count)))
            if random.unit() < 0.5 { parts.append("(" + random.pick(english) + " " + random.pick(korean) + ")") }
            out.append(parts.joined(separator: " ") + random.pick([".", "!", "?"]))
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// A character-level trace of `text` with `units` noise units, where unit
    /// `quoteUnit` of "layer 1 cell c" follows "inside quotes", `bracketUnit`
    /// follows "inside brackets" and `columnUnit` grows with the position in
    /// the line; plus input/forget/output gates where forget units 0..<8 are
    /// almost always open (right-saturated).
    static func trace(text: String, units: Int = 48, quoteUnit: Int? = 17, bracketUnit: Int = 3, columnUnit: Int = 30,
                      seed: UInt64 = 2) -> ActivationTrace {
        var random = SplitMix(state: seed)
        let pieces = text.map { String($0) }
        let quotes = TextProperty.values(of: .insideQuotes, pieces: pieces)
        let brackets = TextProperty.values(of: .insideBrackets, pieces: pieces)
        let columns = TextProperty.values(of: .positionInLine, pieces: pieces)
        var cell: [[Float]] = [], hidden: [[Float]] = []
        var input: [[Float]] = [], forget: [[Float]] = [], output: [[Float]] = []
        for p in pieces.indices {
            var c = (0..<units).map { _ in Float(random.noise(0.5)) }
            if let quoteUnit { c[quoteUnit] = Float((quotes[p] == 1 ? 0.8 : -0.6) + random.noise(0.15)) }
            c[bracketUnit] = Float((brackets[p] == 1 ? 0.7 : -0.2) + random.noise(0.15))
            c[columnUnit] = Float(tanh((columns[p] ?? 0) / 25) + random.noise(0.05))
            cell.append(c)
            hidden.append(c.map { Float(tanh(Double($0)) * 0.9) })
            input.append((0..<units).map { _ in Float(random.unit()) })
            forget.append((0..<units).map { u in Float(u < 8 ? 0.93 + 0.07 * random.unit() : random.unit()) })
            output.append((0..<units).map { _ in Float(random.unit()) })
        }
        return ActivationTrace(pieces: pieces,
                               states: [NamedActivations(name: "layer 1 cell c", values: cell),
                                        NamedActivations(name: "layer 1 hidden h", values: hidden)],
                               gates: [GateActivations(layerName: "layer 1", input: input, forget: forget, output: output)],
                               origin: "synthetic character-level trace")
    }

    /// An attention example with a near-diagonal alignment over `tokens` source
    /// tokens, its target one token longer (`</s>`).
    static func attention(sourceTokens: [String], targetTokens: [String], reference: String, hypothesis: String) -> AttentionExample {
        let S = sourceTokens.count, T = targetTokens.count
        let weights: [[Float]] = (0..<T).map { t in
            let centre = Double(t) * Double(S - 1) / Double(max(1, T - 1))
            let raw = (0..<S).map { s in exp(-pow(Double(s) - centre, 2)) + 0.02 }
            let total = raw.reduce(0, +)
            return raw.map { Float($0 / total) }
        }
        return AttentionExample(sourceTokens: sourceTokens, targetTokens: targetTokens, weights: weights,
                                reference: reference, hypothesis: hypothesis)
    }

    /// A full report content from synthetic data: every section shown.
    static func content() throws -> ReportContent {
        var summary = RunSummary(modelDirectory: "/models/<b>synthetic</b>", architecture: "LSTM, Luong general attention")
        summary.steps = 1200
        summary.commandLines = ["seq2seq train 'pairs <script>.tsv' --attention general"]
        let points: [ValidationPoint] = (1...30).map { (i: Int) -> ValidationPoint in
            let x = Double(i)
            let trainLoss: Double = 6 / x.squareRoot()
            let devLoss: Double = 6.2 / x.squareRoot() + 0.01 * x
            return ValidationPoint(step: i * 40, epoch: i / 5, seconds: x * 21, trainLoss: trainLoss, devLoss: devLoss,
                                   bleu: x * 0.6, chrF: x * 1.1, characterBLEU: x * 0.9, isBest: i % 7 == 0)
        }
        let attention = [
            attention(sourceTokens: ["▁I", "▁like", "▁<script>", "▁tea", "."],
                      targetTokens: ["▁나는", "▁차를", "▁좋아", "해요", ".", "</s>"],
                      reference: "나는 차를 좋아해요.", hypothesis: "나는 차를 좋아해요."),
            attention(sourceTokens: ["▁It", "'s", "▁raining", "."], targetTokens: ["▁비가", "▁와요", ".", "</s>"],
                      reference: "비가 와요.", hypothesis: "비 와요."),
        ]
        let analysis = try CellAnalysis.analyse(trace(text: text(lines: 12)))
        let decoding = [DecodingExample(source: "<script>alert(1)</script> I like tea.", reference: "나는 차를 좋아해요.",
                                        outputs: [.init(label: "greedy", text: "나는 차를 좋아해요.", chrF: 100),
                                                  .init(label: "beam 5", text: "나는 <차>를 좋아해요.", chrF: 71.2)])]
        return ReportContent(title: "Synthetic report", summary: summary,
                             curves: .shown(TrainingHistory(points: points)), attention: .shown(attention),
                             cells: .shown(analysis), decoding: .shown(decoding),
                             languages: LanguagePair(source: "en", target: "ko"))
    }
}
