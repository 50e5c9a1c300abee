import Foundation

/// An SVG line chart: several series over one x axis, gaps where a value is
/// missing, a dot with hover text per point, and an optional vertical marker
/// (the best checkpoint).
struct LineChart {
    struct Series {
        var name: String
        var color: String
        /// (x, y) in data units; nil y leaves a gap.
        var points: [(x: Double, y: Double?)]
        var dashed = false
    }

    var title: String
    var xLabel: String
    var series: [Series]
    /// Vertical line at this x with a label.
    var marker: (x: Double, label: String)?
    /// Start the y axis at 0 (scores) instead of the data minimum (losses).
    var yFromZero = false

    static let width = 460.0, height = 270.0
    /// Longer series are thinned to about this many points (the chart is 400 pixels wide).
    static let maxLinePoints = 800
    static let left = 48.0, right = 14.0, top = 40.0, bottom = 42.0

    /// `series` with every k-th point (and the last) when it has more than `maxLinePoints`.
    static func thinned(_ series: Series) -> Series {
        let n = series.points.count
        guard n > maxLinePoints else { return series }
        let stride = (n + maxLinePoints - 1) / maxLinePoints
        var copy = series
        copy.points = Swift.stride(from: 0, to: n, by: stride).map { series.points[$0] }
        if (n - 1) % stride != 0 { copy.points.append(series.points[n - 1]) }
        return copy
    }

    /// The chart as an `<svg>` element.
    func svg() -> String {
        let all = series.flatMap { $0.points.compactMap { p in p.y.map { (p.x, $0) } } }
        guard !all.isEmpty else {
            return "<p class=\"note\">\(HTML.escape(title)): no values to draw.</p>"
        }
        let (W, H) = (Self.width, Self.height)
        let (plotW, plotH) = (W - Self.left - Self.right, H - Self.top - Self.bottom)
        var xs = all.map(\.0) + (marker.map { [$0.x] } ?? [])
        if xs.count == 1 { xs.append(xs[0] + 1) }
        let xTicks = Axis.ticks(low: xs.min()!, high: xs.max()!)
        let ys = all.map(\.1)
        let yLow = yFromZero ? min(0, ys.min()!) : ys.min()!
        let yTicks = Axis.ticks(low: yLow, high: yFromZero ? max(ys.max()!, yLow + 1) : ys.max()!)
        let (x0, x1) = (xTicks.first!, xTicks.last!), (y0, y1) = (yTicks.first!, yTicks.last!)
        func px(_ x: Double) -> Double { Self.left + (x - x0) / max(1e-12, x1 - x0) * plotW }
        func py(_ y: Double) -> Double { Self.top + plotH - (y - y0) / max(1e-12, y1 - y0) * plotH }

        var s = "<svg class=\"chart\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" width=\"\(Int(W))\" height=\"\(Int(H))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        s += "<title>\(HTML.escape(title))</title>"
        s += "<text class=\"chart-title\" x=\"\(Int(Self.left))\" y=\"16\">\(HTML.escape(title))</text>"
        // Grid and tick labels.
        for t in yTicks {
            let y = HTML.coordinate(py(t))
            s += "<line class=\"grid\" x1=\"\(Int(Self.left))\" x2=\"\(Int(W - Self.right))\" y1=\"\(y)\" y2=\"\(y)\"/>"
            s += "<text class=\"tick\" x=\"\(Int(Self.left - 5))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Axis.label(t, step: yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1))</text>"
        }
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        func formatX(_ v: Double) -> String { v == v.rounded() ? HTML.count(Int(v)) : HTML.number(v, digits: 1) }
        for t in xTicks {
            let x = HTML.coordinate(px(t))
            s += "<line class=\"grid\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(Int(Self.top))\" y2=\"\(Int(H - Self.bottom))\"/>"
            s += "<text class=\"tick\" x=\"\(x)\" y=\"\(Int(H - Self.bottom + 14))\" text-anchor=\"middle\">\(Axis.label(t, step: xStep))</text>"
        }
        s += "<rect class=\"frame\" x=\"\(Int(Self.left))\" y=\"\(Int(Self.top))\" width=\"\(Int(plotW))\" height=\"\(Int(plotH))\"/>"
        s += "<text class=\"axis-label\" x=\"\(HTML.coordinate(Self.left + plotW / 2))\" y=\"\(Int(H - 6))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        if let marker {
            let x = HTML.coordinate(px(marker.x))
            s += "<line class=\"best-marker\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(Int(Self.top))\" y2=\"\(Int(H - Self.bottom))\"><title>\(HTML.escape(marker.label))</title></line>"
            // Inside the plot, on the side of the line with more room.
            let onRight = px(marker.x) < Self.left + plotW / 2
            let labelX = HTML.coordinate(px(marker.x) + (onRight ? 4 : -4))
            s += "<text class=\"best-label\" x=\"\(labelX)\" y=\"\(Int(Self.top + 12))\" text-anchor=\"\(onRight ? "start" : "end")\">\(HTML.escape(marker.label))</text>"
        }
        // Series: one polyline per unbroken run (at most `maxLinePoints` points), a dot per point.
        for series in series.map(Self.thinned) {
            var runs: [[(Double, Double)]] = [[]]
            for p in series.points {
                if let y = p.y { runs[runs.count - 1].append((p.x, y)) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
            }
            for run in runs where !run.isEmpty {
                let points = run.map { "\(HTML.coordinate(px($0.0))),\(HTML.coordinate(py($0.1)))" }.joined(separator: " ")
                s += "<polyline class=\"series\" data-series=\"\(HTML.escape(series.name))\" points=\"\(points)\" stroke=\"\(series.color)\"\(series.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            }
            if series.points.count <= 400 {
                for p in series.points {
                    guard let y = p.y else { continue }
                    s += "<circle class=\"point\" cx=\"\(HTML.coordinate(px(p.x)))\" cy=\"\(HTML.coordinate(py(y)))\" r=\"2.2\" fill=\"\(series.color)\"><title>\(HTML.escape(series.name)) \(HTML.number(y, digits: 3)) at \(HTML.escape(xLabel)) \(HTML.escape(formatX(p.x)))</title></circle>"
                }
            }
        }
        // Legend, top right.
        var lx = W - Self.right
        for series in series.reversed() {
            let w = HTML.estimatedWidth(series.name, fontSize: 11) + 22
            lx -= w
            s += "<line x1=\"\(HTML.coordinate(lx))\" x2=\"\(HTML.coordinate(lx + 14))\" y1=\"29\" y2=\"29\" stroke=\"\(series.color)\" stroke-width=\"2.5\"\(series.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            s += "<text class=\"legend\" x=\"\(HTML.coordinate(lx + 17))\" y=\"32\">\(HTML.escape(series.name))</text>"
        }
        return s + "</svg>"
    }
}

/// "Nice" axis ticks (multiples of 1, 2 or 5 × 10^k) that cover a range.
enum Axis {
    static func ticks(low: Double, high: Double, target: Int = 5) -> [Double] {
        var (lo, hi) = (low, high)
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let raw = (hi - lo) / Double(target)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(lo / step) * step, last = ceil(hi / step) * step
        var ticks: [Double] = []
        var t = first
        while t <= last + step * 1e-9 && ticks.count < 50 { ticks.append(t); t += step }
        return ticks
    }

    /// A tick label with as many decimals as the step needs.
    static func label(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : min(6, Int(ceil(-log10(step))))
        let v = abs(value) < step * 1e-9 ? 0 : value
        return decimals == 0 ? HTML.count(Int(v.rounded())) : String(format: "%.\(decimals)f", v)
    }

    /// Seconds as a tick label: "0", "45s", "3m", "1h20m".
    static func durationLabel(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s == 0 { return "0" }
        if s < 120 { return "\(s)s" }
        if s < 7200 { return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s" }
        return "\(s / 3600)h\((s % 3600) / 60)m"
    }
}
