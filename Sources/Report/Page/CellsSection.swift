/// Section 4: for each text property the unit that follows it best, drawn as
/// coloured text, then the gate-saturation scatter of each LSTM or GRU layer.
enum CellsSection {
    static func html(_ section: ReportSection<CellAnalysis>) -> String {
        guard case .shown(let analysis) = section else {
            if case .omitted(let reason) = section { return ReportPage.note(reason) }
            return ""
        }
        let trace = analysis.trace
        var s = ReportPage.note(trace.origin + " — \(HTML.count(trace.pieces.count)) positions; units searched: "
                                + trace.states.map { "\($0.name) (\($0.values.first?.count ?? 0))" }.joined(separator: ", ") + ".")
        s += "<p class=\"note\">For each property, the unit with the highest absolute Pearson correlation r. Background: the unit's value after reading each piece (blue negative, red positive, scaled to its largest magnitude here); underlined: where the property holds. Hover for the value.</p>"
        s += ActivationText.legend(scaleLabel: "max")
        for finding in analysis.findings {
            s += "<div class=\"finding\"><h3>\(HTML.escape(finding.property.rawValue))</h3>"
            guard let best = finding.best else {
                s += ReportPage.note("Not drawn: \(finding.note ?? "no unit found").") + "</div>"
                continue
            }
            var stats = "best: \(HTML.escape(best.unit.description)), r = \(signed(best.correlation))"
            let others = finding.ranking.dropFirst()
            if !others.isEmpty {
                stats += "; next: " + others.map { "\(HTML.escape($0.unit.description)) (\(signed($0.correlation)))" }.joined(separator: ", ")
            }
            stats += " · over \(HTML.count(finding.definedCount)) positions"
            s += "<p class=\"stats\">\(stats)</p>"
            let column = trace.states[best.unit.matrix].values.map { $0[best.unit.unit] }
            s += ActivationText(pieces: trace.pieces, activations: column,
                                property: finding.property.isBinary ? finding.values : nil).html()
            s += "</div>"
        }
        s += "<h3>Gate saturation</h3>"
        if analysis.saturation.isEmpty {
            s += ReportPage.note("No LSTM or GRU gate activations in this trace, so there is no saturation picture.")
        } else {
            s += "<p class=\"note\">One dot per unit and gate: the fraction of positions where the gate is below 0.1 (left-saturated, x) and above 0.9 (right-saturated, y), as in Karpathy, Johnson &amp; Fei-Fei (2015). Dots near the top-left corner are gates that are almost always open; near the diagonal, gates that switch between saturated states.</p>"
            s += "<div class=\"figures\">"
            for layer in analysis.saturation {
                s += "<figure>\(SaturationScatter(saturation: layer).svg())<figcaption>\(HTML.escape(layer.layerName))</figcaption></figure>"
            }
            s += "</div>"
        }
        return s
    }

    static func signed(_ r: Double) -> String { (r >= 0 ? "+" : "−") + HTML.number(abs(r), digits: 2) }
}
