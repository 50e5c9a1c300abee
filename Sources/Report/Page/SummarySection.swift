import Foundation

/// Section 1: a table of facts about the run and the commands that made it.
enum SummarySection {
    static func html(_ summary: RunSummary) -> String {
        var rows: [(String, String)] = [
            ("Model directory", "<code>\(HTML.escape(summary.modelDirectory))</code>"),
            ("Architecture", HTML.escape(summary.architecture)),
        ]
        if let c = summary.configuration {
            rows.append(("Sizes", "embedding \(c.embeddingSize), hidden \(c.hiddenSize), \(c.layerCount) layer\(c.layerCount == 1 ? "" : "s"), dropout \(HTML.number(Double(c.dropout), digits: 2)) · \(HTML.count(c.parameterCount)) parameters"))
            rows.append(("Vocabularies", "source \(HTML.count(c.sourceVocabularySize)), target \(HTML.count(c.targetVocabularySize)) tokens"))
        }
        if let c = summary.languageModel {
            rows.append(("Sizes", "embedding \(c.embeddingSize), hidden \(c.hiddenSize), \(c.layerCount) layer\(c.layerCount == 1 ? "" : "s"), dropout \(HTML.number(Double(c.dropout), digits: 2)) · \(HTML.count(c.parameterCount)) parameters"))
        }
        if let units = summary.units { rows.append(("Units", HTML.escape(units))) }
        if summary.trainingCharacters != nil || summary.devCharacters != nil {
            var text = "\(HTML.count(summary.trainingCharacters)) training characters, \(HTML.count(summary.devCharacters)) dev characters"
            if let source = summary.devSource { text += " (\(HTML.escape(source)))" }
            rows.append(("Text", text))
        }
        if let direction = summary.direction { rows.append(("Direction", HTML.escape(direction))) }
        if let order = summary.sourceOrder { rows.append(("Source order", HTML.escape(order))) }
        if summary.trainingPairs != nil || summary.devPairs != nil {
            var data = "\(HTML.count(summary.trainingPairs)) training pairs, \(HTML.count(summary.devPairs)) dev pair\(summary.devPairs == 1 ? "" : "s")"
            if let skipped = summary.skippedPairs, skipped > 0 { data += ", \(HTML.count(skipped)) skipped (too long or empty)" }
            rows.append(("Data", data))
        }
        if let steps = summary.steps {
            var text = "\(HTML.count(steps)) steps"
            if let epoch = summary.epoch { text += ", epoch \(epoch + 1)" }
            rows.append(("Training", text + (summary.trainingSeconds.map { " in \(HTML.duration($0))" } ?? "")))
        }
        if let rate = summary.targetTokensPerSecond {
            rows.append(("Speed", "\(HTML.count(Int(rate.rounded()))) target tokens/s (wall clock, validation included)"))
        }
        if let rate = summary.charactersPerSecond {
            rows.append(("Speed", "\(HTML.count(Int(rate.rounded()))) characters/s (training, median over the validation intervals)"))
        }
        if let best = summary.best, let bits = best.devBitsPerCharacter {
            var scores = "dev \(HTML.number(bits, digits: 3)) bits per character"
            if let loss = best.devLoss { scores += ", dev loss \(HTML.number(loss, digits: 3)) nats per unit (perplexity \(HTML.number(exp(loss), digits: 2)))" }
            rows.append(("Best checkpoint", scores + " at step \(HTML.count(best.step))"))
        } else if let best = summary.best {
            var scores = "dev chrF \(HTML.number(best.chrF)), BLEU \(HTML.number(best.bleu))"
            if let charBLEU = best.characterBLEU { scores += ", character BLEU \(HTML.number(charBLEU))" }
            if let loss = best.devLoss { scores += ", dev loss \(HTML.number(loss, digits: 3))" }
            rows.append(("Best checkpoint", scores + " at step \(HTML.count(best.step))"))
        }
        var s = "<table class=\"facts\">"
        for (label, value) in rows { s += "<tr><th>\(label)</th><td>\(value)</td></tr>" }
        s += "</table>\n"
        if summary.commandLines.isEmpty {
            s += ReportPage.note("The command line was not recorded (no readable run.json: the model was trained before it existed).")
        } else {
            s += "<h3>Trained by</h3>"
            for line in summary.commandLines { s += "<pre class=\"command\">\(HTML.escape(line))</pre>" }
        }
        for note in summary.notes { s += ReportPage.note(note) }
        return s
    }
}
