/// Section 5: greedy and beam outputs of a few inputs, with the reference and
/// each output's sentence chrF; or a language model's samples after a prime.
enum DecodingSection {
    static func html(_ section: ReportSection<[DecodingExample]>, languages: LanguagePair,
                     model: ReportedModel = .translation) -> String {
        switch section {
        case .omitted(let reason): return ReportPage.note(reason)
        case .shown(let examples):
            if model == .languageModel { return samples(examples) }
            if examples.isEmpty { return ReportPage.note("No sentences to translate.") }
            var s = "<table class=\"decoding\"><tr><th></th><th>text</th><th>chrF</th></tr>"
            for example in examples {
                s += "<tr class=\"first\"><td class=\"label\">source</td><td>\(ReportPage.text(example.source, language: languages.source))</td><td></td></tr>"
                if let reference = example.reference {
                    s += "<tr><td class=\"label\">reference</td><td>\(ReportPage.text(reference, language: languages.target))</td><td></td></tr>"
                }
                for output in example.outputs {
                    s += "<tr><td class=\"label\">\(HTML.escape(output.label))</td><td>\(ReportPage.text(output.text, language: languages.target))</td><td class=\"score\">\(output.chrF == nil ? "" : HTML.number(output.chrF, digits: 1))</td></tr>"
                }
            }
            return s + "</table>"
        }
    }

    /// A language model's samples: the prime (`source`; empty for none), then
    /// each sample with line breaks kept.
    static func samples(_ examples: [DecodingExample]) -> String {
        if examples.isEmpty { return ReportPage.note("No samples.") }
        var s = "<table class=\"decoding samples\"><tr><th></th><th>text</th></tr>"
        for example in examples {
            let prime = example.source.isEmpty ? "<span class=\"muted\">(none: each sample starts as after a line break)</span>"
                                               : "<span class=\"sample\">\(HTML.escape(example.source))</span>"
            s += "<tr class=\"first\"><td class=\"label\">prime</td><td>\(prime)</td></tr>"
            for output in example.outputs {
                s += "<tr><td class=\"label\">\(HTML.escape(output.label))</td><td class=\"sample\">\(HTML.escape(output.text))</td></tr>"
            }
        }
        return s + "</table>"
    }
}
