/// Section 2: loss and score curves against steps and wall-clock time, with
/// the best checkpoint marked on each. A translation model's scores are dev
/// BLEU/chrF; a language model's are bits per character.
enum CurvesSection {
    static let trainColor = "#1f77b4", devColor = "#d62728"
    static let bleuColor = "#2ca02c", chrFColor = "#9467bd", charColor = "#ff7f0e"

    static func html(_ section: ReportSection<TrainingHistory>, model: ReportedModel = .translation) -> String {
        guard case .shown(let history) = section else {
            if case .omitted(let reason) = section { return ReportPage.note(reason) }
            return ""
        }
        var s = history.notes.map(ReportPage.note).joined()
        guard !history.points.isEmpty else {
            return s + ReportPage.note("training-log.jsonl holds no validation yet, so there is nothing to draw.")
        }
        let points = history.points
        let best = history.best
        let minutes = (points.compactMap(\.seconds).max() ?? 0) > 120
        var charts: [LineChart] = []
        for axis in [XAxis.step, .time] {
            if axis == .time && points.allSatisfy({ $0.seconds == nil }) { continue }
            let x: (ValidationPoint) -> Double? = axis == .step ? { Double($0.step) }
                : { p in p.seconds.map { minutes ? $0 / 60 : $0 } }
            let xLabel = axis == .step ? "optimizer step" : (minutes ? "wall-clock minutes" : "wall-clock seconds")
            func series(_ name: String, _ color: String, dashed: Bool = false, _ y: (ValidationPoint) -> Double?) -> LineChart.Series? {
                let values = points.compactMap { p in x(p).map { (x: $0, y: y(p)) } }
                return values.contains(where: { $0.y != nil }) ? .init(name: name, color: color, points: values, dashed: dashed) : nil
            }
            let marker = best.flatMap { b in x(b).map { (x: $0, label: "best") } }
            let loss = LineChart(title: model == .translation ? "Loss per target token" : "Loss per unit (nats)", xLabel: xLabel,
                                 series: [series("train", trainColor, \.trainLoss), series("dev", devColor, \.devLoss)].compactMap { $0 },
                                 marker: marker)
            let scores = model == .translation
                ? LineChart(title: "Dev scores (greedy)", xLabel: xLabel,
                            series: [series("chrF", chrFColor, \.chrF), series("BLEU", bleuColor, \.bleu),
                                     series("char BLEU", charColor, dashed: true, \.characterBLEU)].compactMap { $0 },
                            marker: marker, yFromZero: true)
                : LineChart(title: "Bits per character", xLabel: xLabel,
                            series: [series("train", trainColor, dashed: true, \.trainBitsPerCharacter),
                                     series("dev", devColor, \.devBitsPerCharacter)].compactMap { $0 },
                            marker: marker)
            charts += [loss, scores]
        }
        s += "<div class=\"figures\">"
        for chart in charts { s += "<figure>\(chart.svg())</figure>" }
        s += "</div>"
        if let best {
            let score = model == .translation ? "dev chrF \(HTML.number(best.chrF))"
                                              : "dev \(HTML.number(best.devBitsPerCharacter, digits: 3)) bits per character"
            s += "<p class=\"note\">The dashed red line marks the best checkpoint (<code>best/</code>): step \(HTML.count(best.step)), \(score). \(points.count) validations.</p>"
        }
        return s
    }

    enum XAxis { case step, time }
}
