import Foundation

/// Turns `ReportContent` into one self-contained HTML document: inline CSS
/// and SVG, no scripts, no external resources, every data string escaped.
public enum ReportPage {
    /// Section headings of a translation model's page, in page order (tests look for these).
    public static let headings = headings(for: .translation)

    /// Section headings of a page about `model`, in page order.
    public static func headings(for model: ReportedModel) -> [String] {
        ["Run summary", "Training curves", "Attention", "Interpretable cells",
         model == .translation ? "Translations" : "Samples"]
    }

    static func anchors(for model: ReportedModel) -> [String] {
        ["summary", "curves", "attention", "cells", model == .translation ? "translations" : "samples"]
    }

    /// The complete HTML document.
    public static func html(_ content: ReportContent, generatedAt: Date = Date()) -> String {
        let stamp = ISO8601DateFormatter().string(from: generatedAt)
        let (headings, anchors) = (headings(for: content.model), anchors(for: content.model))
        var page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(content.title))</title>
        <style>
        \(ReportStyle.css)
        \(ActivationText.styleRules())
        </style>
        </head>
        <body>
        <h1>\(HTML.escape(content.title))</h1>
        <p class="subtitle">seq2seq report · \(HTML.escape(content.summary.modelDirectory)) · generated \(HTML.escape(stamp))</p>
        <nav>\(zip(anchors, headings).map { "<a href=\"#\($0)\">\($1)</a>" }.joined())</nav>

        """
        let bodies = [
            SummarySection.html(content.summary),
            CurvesSection.html(content.curves, model: content.model),
            AttentionSection.html(content.attention, languages: content.languages),
            CellsSection.html(content.cells),
            DecodingSection.html(content.decoding, languages: content.languages, model: content.model),
        ]
        for (index, body) in bodies.enumerated() {
            page += "<section id=\"\(anchors[index])\">\n<h2>\(index + 1). \(headings[index])</h2>\n\(body)\n</section>\n"
        }
        page += "</body>\n</html>\n"
        return page
    }

    /// A one-line note paragraph (escaped).
    static func note(_ text: String) -> String { "<p class=\"note\">\(HTML.escape(text))</p>" }

    /// `text` in a span with a `lang` attribute when the language is known,
    /// so the browser picks Korean glyph forms for Korean text.
    static func text(_ text: String, language: String?) -> String {
        guard let language, ["ko", "en"].contains(language) else { return HTML.escape(text) }
        return "<span lang=\"\(language)\">\(HTML.escape(text))</span>"
    }
}

/// Language tags of the model's two sides ("ko", "en", or nil).
public struct LanguagePair: Sendable, Equatable {
    public var source: String?
    public var target: String?
    public init(source: String?, target: String?) {
        self.source = source
        self.target = target
    }
}
