/// An attention matrix as an SVG heatmap (Bahdanau et al. 2015, Fig. 3):
/// source tokens across the top, target tokens down the left, one square
/// per (target, source) pair, darker for more weight, the weight as hover text.
struct AttentionHeatmap {
    var example: AttentionExample

    static let fontSize = 11.0

    /// The heatmap as an `<svg>` element. The example must have no `shapeProblem`.
    func svg() -> String {
        let S = example.sourceTokens.count, T = example.targetTokens.count
        let cell = max(10, min(22, 520 / Double(max(S, T))))
        let sourceLabels = example.sourceTokens.map(Self.display), targetLabels = example.targetTokens.map(Self.display)
        let left = min(160, (targetLabels.map { HTML.estimatedWidth($0, fontSize: Self.fontSize) }.max() ?? 0) + 10)
        let top = min(160, (sourceLabels.map { HTML.estimatedWidth($0, fontSize: Self.fontSize) }.max() ?? 0) + 10)
        let width = left + Double(S) * cell + 6, height = top + Double(T) * cell + 6
        var s = "<svg class=\"heatmap\" viewBox=\"0 0 \(HTML.coordinate(width)) \(HTML.coordinate(height))\" width=\"\(HTML.coordinate(width))\" height=\"\(HTML.coordinate(height))\" role=\"img\" aria-label=\"attention weights\">"
        for (j, label) in sourceLabels.enumerated() {
            let x = HTML.coordinate(left + (Double(j) + 0.5) * cell + 4), y = HTML.coordinate(top - 5)
            s += "<text class=\"token\" transform=\"translate(\(x) \(y)) rotate(-90)\" x=\"0\" y=\"0\">\(HTML.escape(label))</text>"
        }
        for (i, label) in targetLabels.enumerated() {
            let y = HTML.coordinate(top + (Double(i) + 0.5) * cell + 4)
            s += "<text class=\"token\" x=\"\(HTML.coordinate(left - 5))\" y=\"\(y)\" text-anchor=\"end\">\(HTML.escape(label))</text>"
        }
        let size = HTML.coordinate(cell)
        for i in 0..<T {
            for j in 0..<S {
                let w = Double(example.weights[i][j])
                s += "<rect class=\"weight\" x=\"\(HTML.coordinate(left + Double(j) * cell))\" y=\"\(HTML.coordinate(top + Double(i) * cell))\" width=\"\(size)\" height=\"\(size)\" fill=\"\(ColorScale.sequential(w))\"><title>\(HTML.escape(targetLabels[i])) ← \(HTML.escape(sourceLabels[j])): \(HTML.number(w, digits: 3))</title></rect>"
            }
        }
        s += "<rect class=\"frame\" x=\"\(HTML.coordinate(left))\" y=\"\(HTML.coordinate(top))\" width=\"\(HTML.coordinate(Double(S) * cell))\" height=\"\(HTML.coordinate(Double(T) * cell))\"/>"
        return s + "</svg>"
    }

    /// A subword token as shown: the word-boundary mark `▁` stays visible
    /// (it tells where words begin), whitespace is made visible.
    static func display(_ token: String) -> String {
        token.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\t", with: "⇥")
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
