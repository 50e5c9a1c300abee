import Seq2Seq

/// Per-character hidden states of a language model over a text, read as one
/// stream from a zero state with the model's own forward pass
/// (`LanguageModel.activations`, what `seq2seq lm states` prints): `h` (and an
/// LSTM's `c`) of every layer, and the sigmoid gates (LSTM i, f, o; GRU r, z).
///
/// Positions are the text's characters, whatever the units:
/// - `char`: one unit per character.
/// - `jamo`: a Hangul syllable is read as 2–3 conjoining jamo; it is shown
///   with the states after its last jamo (when the model has read the whole
///   syllable), the states after its first jamo are left out.
/// - `subword`: one position per BPE piece (the word-boundary mark shown as a
///   space, `</s>` as the line break it stands for).
struct LanguageModelStateProbe {
    let model: LanguageModel
    let units: any TextUnits

    /// What one text looks like to the model: the unit ids, and per shown piece
    /// the index of the unit whose states stand for it.
    struct Positions {
        var ids: [Int32]
        /// [P]
        var pieces: [String]
        /// [P] indices into `ids`, increasing.
        var rows: [Int]
    }

    /// The trace over `text` (prepared: NFC, LF line ends).
    /// - Throws: `ReportError.statesUnavailable` if the text gives no units; model errors.
    func trace(text: String) throws -> ActivationTrace {
        let positions = try self.positions(of: text)
        let configuration = model.configuration
        let gateNames = Self.gateNames(configuration.cell)
        var states: [NamedActivations] = []
        var gates: [GateActivations] = []
        for layer in 0..<configuration.layerCount {
            var h: [[Float]] = [], c: [[Float]] = []                              // [P][H]
            var gate = [[[Float]]](repeating: [], count: gateNames.count)         // [G][P][H]
            var next = 0                                                          // next position to fill
            try model.activations(of: positions.ids, layer: layer, names: { _ in "" }) { step in
                guard next < positions.rows.count, positions.rows[next] == step.index else { return }
                next += 1
                h.append(step.h)
                if let cell = step.c { c.append(cell) }
                for (g, name) in gateNames.enumerated() {
                    gate[g].append(step.gates.first { $0.name == name.short }?.values ?? [])
                }
            }
            if !c.isEmpty { states.append(NamedActivations(name: "layer \(layer + 1) cell c", values: c)) }
            states.append(NamedActivations(name: "layer \(layer + 1) hidden h", values: h))
            if !gateNames.isEmpty {
                gates.append(GateActivations(layerName: "layer \(layer + 1)",
                                             gates: zip(gateNames, gate).map { ($0.long, $1) }))
            }
        }
        return ActivationTrace(pieces: positions.pieces, states: states, gates: gates, origin: origin)
    }

    /// One line about where the numbers come from.
    var origin: String {
        let cell = model.configuration.cell.rawValue.uppercased()
        let reading = "\(cell) language-model states, the text read as one stream from a zero state"
        switch units.kind {
        case .char: return reading + ", after each character"
        case .jamo: return reading + "; the model reads each Hangul syllable as 2–3 jamo, and a syllable is shown with the states after its last jamo"
        case .subword: return reading + ", after each subword piece (▁ shown as a space, </s> as a line break)"
        }
    }

    /// The sigmoid gates `LanguageModel.activations` reports for `cell`: its short name and the name shown.
    static func gateNames(_ cell: CellKind) -> [(short: String, long: String)] {
        switch cell {
        case .lstm: return [("i", "input"), ("f", "forget"), ("o", "output")]
        case .gru: return [("r", "reset"), ("z", "update")]
        case .rnn: return []
        }
    }

    /// Units of `text` and the piece each shown position stands for.
    func positions(of text: String) throws -> Positions {
        let ids = units.encode(text)
        guard !ids.isEmpty else { throw ReportError.statesUnavailable("the text gives the model no units to read") }
        switch units.kind {
        case .subword:
            return Positions(ids: ids, pieces: EncoderStateProbe.displayPieces(ids.map { units.name(of: $0) }),
                             rows: Array(ids.indices))
        case .char, .jamo:
            // Each character is 1 unit, a Hangul syllable 2–3 with jamo units: its last unit stands for it.
            var pieces: [String] = [], rows: [Int] = []
            var end = 0
            for scalar in text.unicodeScalars {
                end += units.kind == .jamo ? (Hangul.decompose(scalar)?.count ?? 1) : 1
                pieces.append(String(scalar))
                rows.append(end - 1)
            }
            guard end == ids.count else {
                throw ReportError.statesUnavailable("the text's \(pieces.count) characters gave \(ids.count) units where \(end) were expected")
            }
            return Positions(ids: ids, pieces: pieces, rows: rows)
        }
    }
}
