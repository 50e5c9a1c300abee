import Foundation

/// Parses human durations such as `90s`, `10m`, `1h30m`, `1.5h` or a bare
/// number of seconds into seconds. Returns nil for anything else, including
/// negative, NaN and infinite values.
public func parseDuration(_ text: String) -> Double? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    if trimmed.isEmpty { return nil }
    if let seconds = Double(trimmed) { return seconds >= 0 && seconds.isFinite ? seconds : nil }
    var total = 0.0
    var number = ""
    var sawUnit = false
    for ch in trimmed {
        if ch.isNumber || ch == "." {
            number.append(ch)
            continue
        }
        guard let value = Double(number) else { return nil }
        switch ch {
        case "s": total += value
        case "m": total += value * 60
        case "h": total += value * 3600
        case "d": total += value * 86400
        default: return nil
        }
        number = ""
        sawUnit = true
    }
    if !number.isEmpty { return nil }
    return sawUnit && total.isFinite ? total : nil
}

/// Formats seconds as `1h02m`, `3m05s` or `42s` for progress lines.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0, seconds < 1e15 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h\(String(format2(s % 3600 / 60)))m" }
    if s >= 60 { return "\(s / 60)m\(String(format2(s % 60)))s" }
    return "\(s)s"
}

private func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
