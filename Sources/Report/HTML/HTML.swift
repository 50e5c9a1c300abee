import Foundation

/// Helpers for writing HTML and SVG as text. Every string that comes from data
/// (tokens, sentences, paths, command lines) goes through `escape` so that a
/// source containing `<script>` shows as text and cannot break the page.
enum HTML {
    /// `text` safe inside element content and inside double- or single-quoted
    /// attribute values: `& < > " '` become entities, and control characters
    /// other than tab and newline (which HTML forbids) become U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0xFFFE
                    || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A number with `digits` decimals (no locale), or "–" for nil / non-finite.
    static func number(_ value: Double?, digits: Int = 2) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.\(digits)f", value)
    }

    /// 1234567 → "1,234,567".
    static func count(_ value: Int?) -> String {
        guard let value else { return "–" }
        let digits = String(abs(value))
        var groups: [Substring] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(digits[start..<end], at: 0)
            end = start
        }
        return (value < 0 ? "-" : "") + groups.joined(separator: ",")
    }

    /// Seconds as "45 s", "12 min 5 s", "2 h 3 min".
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "–" }
        let s = Int(seconds.rounded())
        if s < 60 { return seconds < 10 ? String(format: "%.1f s", seconds) : "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \((s % 3600) / 60) min"
    }

    /// A coordinate for SVG with at most one decimal.
    static func coordinate(_ value: Double) -> String {
        let r = (value * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Estimated width in pixels of `text` at `fontSize`: East Asian wide
    /// characters (Hangul, CJK) count one em, others 0.6 em. Used to leave
    /// room for labels in SVG, where text does not flow.
    static func estimatedWidth(_ text: String, fontSize: Double) -> Double {
        var ems = 0.0
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFF00...0xFF60).contains(v) || (0x1F300...0x1FAFF).contains(v)
            ems += wide ? 1.0 : 0.6
        }
        return ems * fontSize
    }
}

/// Maps numbers to colours.
enum ColorScale {
    /// White (0) to dark blue (1), for attention weights; values are clamped.
    static func sequential(_ value: Double) -> String {
        let t = min(1, max(0, value.isFinite ? value : 0))
        // Interpolate white (255,255,255) → #08306b (8,48,107), gamma 0.7 so small weights stay visible.
        let g = pow(t, 0.7)
        return hex(255 - g * 247, 255 - g * 207, 255 - g * 148)
    }

    /// Blue (−1) through white (0) to red (+1), for activations; clamped.
    static func diverging(_ value: Double) -> String {
        let t = min(1, max(-1, value.isFinite ? value : 0))
        if t >= 0 { return hex(255 - t * 40, 255 - t * 200, 255 - t * 210) }   // → (215, 55, 45)
        let s = -t
        return hex(255 - s * 222, 255 - s * 153, 255 - s * 75)                   // → (33, 102, 180)
    }

    /// The bucket 0...2n of `value` in [−1, 1] (n buckets per sign), for CSS classes.
    static func bucket(_ value: Double, perSign n: Int) -> Int {
        let t = min(1, max(-1, value.isFinite ? value : 0))
        return Int(((t + 1) * Double(n)).rounded())
    }

    static func hex(_ r: Double, _ g: Double, _ b: Double) -> String {
        func byte(_ x: Double) -> String {
            let v = Int(min(255, max(0, x.rounded())))
            return String(v, radix: 16).leftPadded(to: 2)
        }
        return "#" + byte(r) + byte(g) + byte(b)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
