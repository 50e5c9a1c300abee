/// Text with a per-piece background colour scale (Karpathy et al. 2015,
/// Fig. 2): each character (or subword) is coloured by one unit's activation
/// after reading it — blue negative, white 0, red positive, scaled by the
/// unit's largest magnitude in the sample — with the value as hover text.
/// Where a 0/1 property holds, the piece is underlined, so a reader can see
/// how well the unit follows it.
struct ActivationText {
    /// CSS classes `a0`…`a20`: bucket k shows the value (k − 10) / 10.
    static let bucketsPerSign = 10

    var pieces: [String]
    /// One activation per piece.
    var activations: [Float]
    /// Underline pieces where this is 1 (nil: no underline).
    var property: [Double?]?
    /// At most this many pieces are drawn.
    var limit = 1200

    func html() -> String {
        let n = min(pieces.count, activations.count, limit)
        let scale = max(1e-6, activations.prefix(n).map { abs(Double($0)) }.max() ?? 1)
        var s = "<div class=\"activation-text\">"
        for p in 0..<n {
            let piece = pieces[p]
            if piece == "\n" { s += "<br>"; continue }
            let v = Double(activations[p])
            var classes = "a\(ColorScale.bucket(v / scale, perSign: Self.bucketsPerSign))"
            if let property, p < property.count, property[p] == 1 { classes += " on" }
            let text = piece.hasSuffix("\n") ? String(piece.dropLast()) : piece
            s += "<span class=\"\(classes)\" title=\"\(HTML.number(v, digits: 3))\">\(HTML.escape(text))</span>"
            if piece.hasSuffix("\n") { s += "<br>" }
        }
        s += "</div>"
        if n < pieces.count { s += "<p class=\"note\">First \(HTML.count(n)) of \(HTML.count(pieces.count)) positions shown.</p>" }
        return s
    }

    /// CSS rules for the buckets.
    static func styleRules() -> String {
        (0...(2 * bucketsPerSign)).map { k in
            let v = Double(k - bucketsPerSign) / Double(bucketsPerSign)
            return ".a\(k){background:\(ColorScale.diverging(v))}"
        }.joined()
    }

    /// A small colour bar from −max to +max.
    static func legend(scaleLabel: String) -> String {
        var s = "<div class=\"colour-bar\"><span>−\(HTML.escape(scaleLabel))</span>"
        for k in 0...(2 * bucketsPerSign) { s += "<i class=\"a\(k)\"></i>" }
        return s + "<span>+\(HTML.escape(scaleLabel))</span></div>"
    }
}
