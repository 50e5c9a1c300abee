import Foundation

/// The activations of one layer after it read one unit (`seq2seq lm states`): the raw material
/// of the lecture notes' "interpretable cells" (a cell that tracks quotes, line length, …).
public struct UnitActivations: Sendable, Equatable {
    /// Position of the unit in the text (0-based).
    public var index: Int
    /// The unit as text (a character; a jamo with `--units jamo`; a subword piece).
    public var unit: String
    /// Hidden state h_t `[H]`.
    public var h: [Float]
    /// Cell state c_t `[H]` (LSTM only).
    public var c: [Float]?
    /// Gate activations by name, each `[H]`: LSTM i, f, o, g; GRU r, z, n (z = update gate); none for rnn.
    public var gates: [(name: String, values: [Float])]

    public static func == (a: UnitActivations, b: UnitActivations) -> Bool {
        a.index == b.index && a.unit == b.unit && a.h == b.h && a.c == b.c
            && a.gates.map(\.name) == b.gates.map(\.name) && a.gates.map(\.values) == b.gates.map(\.values)
    }

    /// One JSON object: `{"index":…,"char":"…","h":[…],"c":[…],"i":[…],"f":[…],"o":[…],"g":[…]}`
    /// (only the fields the cell has; floats with 6 significant digits).
    public var jsonLine: String {
        var line = "{\"index\":\(index),\"char\":\(jsonString(unit)),\"h\":\(jsonArray(h))"
        if let c { line += ",\"c\":\(jsonArray(c))" }
        for (name, values) in gates { line += ",\"\(name)\":\(jsonArray(values))" }
        return line + "}"
    }
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for s in text.unicodeScalars {
        switch s {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if s.value < 0x20 || s.value == 0x2028 || s.value == 0x2029 {
                out += String(format: "\\u%04x", s.value)
            } else {
                out.unicodeScalars.append(s)
            }
        }
    }
    return out + "\""
}

/// A JSON array of floats with 6 significant digits (activations are finite).
func jsonArray(_ values: [Float]) -> String {
    "[" + values.map { $0.isFinite ? String(format: "%.6g", Double($0)) : "null" }.joined(separator: ",") + "]"
}

extension LanguageModel {
    /// Reads `units` as one stream (from a zero state, in pieces of `chunkLength` with the state
    /// carried) and calls `body` with layer `layer`'s activations after each unit.
    /// - Throws: `LanguageModelError.invalidConfiguration` for a layer outside 0..<L; unit errors.
    public func activations(of units: [Int32], layer: Int, names: (Int32) -> String, chunkLength: Int = 256,
                            _ body: (UnitActivations) throws -> Void) throws {
        let c = configuration
        guard (0..<c.layerCount).contains(layer) else {
            throw LanguageModelError.invalidConfiguration("layer \(layer) does not exist; the model has layers 0…\(c.layerCount - 1)")
        }
        let H = c.hiddenSize, GH = c.cell.gateCount * H
        let state = RecurrentState(configuration: c, rows: 1)
        let gateNames: [(name: String, block: Int)]
        switch c.cell {
        case .lstm: gateNames = [("i", 0), ("f", 1), ("o", 3), ("g", 2)]   // stored i, f, g, o
        case .gru: gateNames = [("r", 0), ("z", 1), ("n", 2)]
        case .rnn: gateNames = []
        }
        var start = 0
        while start < units.count {
            let piece = Array(units[start..<min(start + max(chunkLength, 1), units.count)])
            _ = try feed(piece, state: state)
            let (h, cellState, gates) = layerActivations(layer)      // one row: packed row t = step t
            for t in 0..<piece.count {
                try body(UnitActivations(
                    index: start + t, unit: names(piece[t]),
                    h: Array(UnsafeBufferPointer(start: h + t * H, count: H)),
                    c: cellState.map { Array(UnsafeBufferPointer(start: $0 + t * H, count: H)) },
                    gates: gateNames.map { ($0.name, Array(UnsafeBufferPointer(start: gates + t * GH + $0.block * H, count: H))) }))
            }
            start += piece.count
        }
    }
}
