/// Section 3: one heatmap per example with its reference, hypothesis and chrF.
enum AttentionSection {
    static func html(_ section: ReportSection<[AttentionExample]>, languages: LanguagePair) -> String {
        switch section {
        case .omitted(let reason): return ReportPage.note(reason)
        case .shown(let examples):
            if examples.isEmpty { return ReportPage.note("No sentences to align.") }
            var s = "<p class=\"note\">Each row is a target token (including &lt;/s&gt;), each column a source subword; darker squares got more attention. Hover a square for its weight.</p>"
            s += "<div class=\"figures\">"
            for (index, example) in examples.enumerated() {
                s += "<figure class=\"attention\">"
                if let problem = example.shapeProblem {
                    s += ReportPage.note("Example \(index + 1) cannot be drawn: \(problem).")
                } else {
                    s += AttentionHeatmap(example: example).svg()
                }
                s += "<figcaption>"
                s += "<div class=\"pair\"><span class=\"label\">reference</span>\(ReportPage.text(example.reference, language: languages.target))</div>"
                s += "<div class=\"pair\"><span class=\"label\">hypothesis</span>\(ReportPage.text(example.hypothesis, language: languages.target))</div>"
                s += "<div class=\"pair\"><span class=\"label\">chrF</span>\(HTML.number(example.chrF, digits: 1))</div>"
                s += "</figcaption></figure>"
            }
            return s + "</div>"
        }
    }
}
