/// The gate-saturation scatter plot of one LSTM or GRU layer (Karpathy et al. 2015,
/// Fig. 3): one dot per unit and gate at (fraction of positions with the gate
/// below 0.1, fraction above 0.9).
struct SaturationScatter {
    var saturation: GateSaturation

    static let colors = ["input": "#2b8cbe", "forget": "#e6550d", "output": "#31a354", "reset": "#756bb1", "update": "#e6550d"]
    static let size = 300.0, margin = 44.0

    func svg() -> String {
        let (W, M) = (Self.size + Self.margin + 14, Self.margin)
        let plot = Self.size - 10
        func px(_ v: Double) -> String { HTML.coordinate(M + v * plot) }
        func py(_ v: Double) -> String { HTML.coordinate(10 + (1 - v) * plot) }
        var s = "<svg class=\"scatter\" viewBox=\"0 0 \(Int(W)) \(Int(Self.size + M))\" width=\"\(Int(W))\" height=\"\(Int(Self.size + M))\" role=\"img\" aria-label=\"gate saturation, \(HTML.escape(saturation.layerName))\">"
        for t in stride(from: 0.0, through: 1.0, by: 0.2) {
            s += "<line class=\"grid\" x1=\"\(px(t))\" x2=\"\(px(t))\" y1=\"\(py(0))\" y2=\"\(py(1))\"/>"
            s += "<line class=\"grid\" x1=\"\(px(0))\" x2=\"\(px(1))\" y1=\"\(py(t))\" y2=\"\(py(t))\"/>"
            s += "<text class=\"tick\" x=\"\(px(t))\" y=\"\(HTML.coordinate(10 + plot + 14))\" text-anchor=\"middle\">\(HTML.number(t, digits: 1))</text>"
            s += "<text class=\"tick\" x=\"\(HTML.coordinate(M - 5))\" y=\"\(py(t))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(HTML.number(t, digits: 1))</text>"
        }
        s += "<line class=\"diagonal\" x1=\"\(px(0))\" y1=\"\(py(1))\" x2=\"\(px(1))\" y2=\"\(py(0))\"/>"
        s += "<rect class=\"frame\" x=\"\(px(0))\" y=\"\(py(1))\" width=\"\(HTML.coordinate(plot))\" height=\"\(HTML.coordinate(plot))\"/>"
        s += "<text class=\"axis-label\" x=\"\(px(0.5))\" y=\"\(Int(Self.size + M - 4))\" text-anchor=\"middle\">fraction left-saturated (&lt; 0.1)</text>"
        s += "<text class=\"axis-label\" transform=\"translate(12 \(py(0.5))) rotate(-90)\" text-anchor=\"middle\">fraction right-saturated (&gt; 0.9)</text>"
        for gate in saturation.gates {
            let color = Self.colors[gate.name] ?? "#555"
            for (u, f) in gate.fractions.enumerated() {
                s += "<circle class=\"unit\" cx=\"\(px(f.left))\" cy=\"\(py(f.right))\" r=\"2.6\" fill=\"\(color)\"><title>\(gate.name) gate, unit \(u): \(HTML.number(f.left)) left, \(HTML.number(f.right)) right</title></circle>"
            }
        }
        var lx = Double(M) + 8
        for gate in saturation.gates {
            s += "<circle cx=\"\(HTML.coordinate(lx))\" cy=\"20\" r=\"4\" fill=\"\(Self.colors[gate.name] ?? "#555")\"/>"
            s += "<text class=\"legend\" x=\"\(HTML.coordinate(lx + 7))\" y=\"24\">\(gate.name)</text>"
            lx += HTML.estimatedWidth(gate.name, fontSize: 11) + 24
        }
        return s + "</svg>"
    }
}
