import Foundation
import Seq2Seq
import Tokenize

/// Per-token hidden states of a translation model's encoder over a text, by
/// the best means the model's kind allows:
///
/// - Unidirectional LSTM: the recurrence is replayed from the weights
///   (`src_embedding`, `encoder.l{k}.weight_ih` …, PyTorch gate order i, f, g, o),
///   which yields `h`, `c` and the gates i, f, o of every layer at every token
///   in O(n) per line. The replay is trusted only if it ends in the very states
///   the model's own `encode(sources:)` returns for every line (within 1e-3).
/// - Other unidirectional encoders (GRU, RNN), or a replay that does not match:
///   the public API alone — the final state after the first t tokens is the
///   state at token t, so one batch holding every prefix of a line gives `h`
///   (and `c`) of every layer at each of its tokens (O(n²), no gates).
/// - Bidirectional encoder with attention: the top layer's outputs
///   `[h_fwd ; h_bwd]` per token (`EncodedSources.memory`), no gates.
/// - Bidirectional encoder without attention: no per-token states are exposed;
///   `trace` throws `ReportError.statesUnavailable` with the reason.
///
/// When the model exposes all per-token encoder states itself, build the
/// `ActivationTrace` from those instead.
struct EncoderStateProbe {
    let model: Seq2SeqModel
    let tokenizer: Tokenizer
    /// The encoder reads each sentence last token first (`ModelManifest.sourceOrderReversed`).
    let reverseSourceOrder: Bool
    var maxTokensPerLine = 80
    var maxPositions = 1200

    /// One line: its ids in encoder order, and how each token is shown (reading order).
    struct Line {
        var encoderOrder: [Int32]
        var shown: [String]
        var count: Int { encoderOrder.count }
    }

    /// States of one line, per layer, indexed by encoder step: each `[n][H]`
    /// (gates empty when unknown).
    struct LineStates {
        var h: [[[Float]]], c: [[[Float]]]
        var input: [[[Float]]] = [], forget: [[[Float]]] = [], output: [[[Float]]] = []
    }

    /// The trace over `lines` (one sentence each; empty lines skipped), and
    /// a note if the gates could not be recovered.
    func trace(lines: [String]) throws -> (trace: ActivationTrace, gateNote: String?) {
        let prepared = prepare(lines)
        let configuration = model.configuration
        if configuration.encoder == .bi {
            return (try memoryTrace(prepared), "a bidirectional encoder exposes only its top layer's outputs, so gates are not shown")
        }
        let L = configuration.layerCount
        var states: [LineStates]
        var gateNote: String?
        if prepared.isEmpty {
            states = []
        } else if configuration.cell != .lstm {
            gateNote = "the saturation picture is drawn for LSTM gates, and this model's cell is \(configuration.cell.rawValue)"
            states = try prepared.map(prefixStates)
        } else if let weights = GateWeights(model: model),
                  prepared.allSatisfy({ $0.encoderOrder.allSatisfy(weights.isInVocabulary) }) {
            states = prepared.map { weights.replay($0.encoderOrder) }
            if try !replayMatchesModel(states, prepared) {
                gateNote = "gates replayed from the weights do not reproduce the encoder's states, so they are not shown"
                states = try prepared.map(prefixStates)
            }
        } else {
            gateNote = "the encoder's weights are not laid out as an LSTM's, so gates are not shown"
            states = try prepared.map(prefixStates)
        }
        // Reading order: position j of a line of n tokens is encoder step n−1−j when reversed.
        var pieces: [String] = []
        var h = [[[Float]]](repeating: [], count: L), c = h                  // [L][P][H]
        var gates = [[[[Float]]]](repeating: [[], [], []], count: L)         // [L][i,f,o][P][H]
        for (line, state) in zip(prepared, states) {
            let n = line.count
            for j in 0..<n {
                let step = reverseSourceOrder ? n - 1 - j : j
                pieces.append(j == n - 1 ? line.shown[j] + "\n" : line.shown[j])
                for l in 0..<L {
                    h[l].append(state.h[l][step])
                    if !state.c.isEmpty { c[l].append(state.c[l][step]) }
                    if !state.input.isEmpty {
                        gates[l][0].append(state.input[l][step])
                        gates[l][1].append(state.forget[l][step])
                        gates[l][2].append(state.output[l][step])
                    }
                }
            }
        }
        var named: [NamedActivations] = []
        for l in 0..<L {
            if !c[l].isEmpty { named.append(NamedActivations(name: "layer \(l + 1) cell c", values: c[l])) }
            named.append(NamedActivations(name: "layer \(l + 1) hidden h", values: h[l]))
        }
        let gateActivations = gateNote != nil || pieces.isEmpty ? [] : (0..<L).map {
            GateActivations(layerName: "encoder layer \($0 + 1)", input: gates[$0][0], forget: gates[$0][1], output: gates[$0][2])
        }
        let origin = "\(configuration.cell.rawValue.uppercased()) encoder states after each source subword token"
            + (reverseSourceOrder ? " (the encoder reads each line last token first)" : "")
        return (ActivationTrace(pieces: pieces, states: named, gates: gateActivations, origin: origin), gateNote)
    }

    /// The top layer's outputs `[h_fwd ; h_bwd]` at every token, from the attention memory.
    func memoryTrace(_ lines: [Line]) throws -> ActivationTrace {
        guard model.configuration.attention != .none else {
            throw ReportError.statesUnavailable("a bidirectional encoder without attention does not expose its per-token states")
        }
        let H = model.configuration.hiddenSize
        var pieces: [String] = [], outputs: [[Float]] = []
        if !lines.isEmpty {
            let encoded = try model.encode(sources: lines.map(\.encoderOrder))
            guard encoded.memory.count == encoded.memoryOffsets.last.map({ $0 * H }) else {
                throw ReportError.statesUnavailable("the encoder returned no per-token outputs")
            }
            for (b, line) in lines.enumerated() {
                let n = line.count
                for j in 0..<n {
                    let row = encoded.memoryOffsets[b] + (reverseSourceOrder ? n - 1 - j : j)
                    outputs.append(Array(encoded.memory[(row * H)..<((row + 1) * H)]))
                    pieces.append(j == n - 1 ? line.shown[j] + "\n" : line.shown[j])
                }
            }
        }
        let name = "top layer output (units 0–\(H / 2 - 1) forward, \(H / 2)–\(H - 1) backward)"
        return ActivationTrace(pieces: pieces, states: [NamedActivations(name: name, values: outputs)],
                               origin: "Bidirectional \(model.configuration.cell.rawValue.uppercased()) encoder outputs at each source subword token")
    }

    /// Tokenized lines, cut to `maxTokensPerLine` and `maxPositions` in total.
    func prepare(_ lines: [String]) -> [Line] {
        let tokens = tokenizer.model.tokens
        var prepared: [Line] = []
        var total = 0
        for line in lines where total < maxPositions {
            let ids = Array(tokenizer.encode(line).prefix(min(maxTokensPerLine, maxPositions - total)))
            if ids.isEmpty { continue }
            total += ids.count
            prepared.append(Line(encoderOrder: reverseSourceOrder ? ids.reversed() : ids,
                                 shown: Self.displayPieces(ids.map { tokens.indices.contains(Int($0)) ? tokens[Int($0)] : "?" })))
        }
        return prepared
    }

    /// True if every line's replayed last state equals the model's own final encoder state.
    func replayMatchesModel(_ states: [LineStates], _ lines: [Line]) throws -> Bool {
        let encoded = try model.encode(sources: lines.map(\.encoderOrder))
        let (B, H) = (lines.count, model.configuration.hiddenSize)
        for (b, state) in states.enumerated() {
            for l in 0..<model.configuration.layerCount {
                let last = lines[b].count - 1
                for u in 0..<H {
                    let index = (l * B + b) * H + u
                    for (mine, theirs) in [(state.h[l][last][u], encoded.h[index]), (state.c[l][last][u], encoded.c[index])]
                    where abs(mine - theirs) > 1e-3 + 1e-3 * abs(theirs) {
                        return false
                    }
                }
            }
        }
        return true
    }

    /// `h` and `c` at every step of a line from the public API: one batch of all its prefixes.
    func prefixStates(_ line: Line) throws -> LineStates {
        let (L, H, n) = (model.configuration.layerCount, model.configuration.hiddenSize, line.count)
        let encoded = try model.encode(sources: (1...n).map { Array(line.encoderOrder.prefix($0)) })   // row t = first t+1 tokens
        func steps(_ values: [Float], _ l: Int) -> [[Float]] {
            (0..<n).map { t in Array(values[((l * n + t) * H)..<((l * n + t + 1) * H)]) }
        }
        return LineStates(h: (0..<L).map { steps(encoded.h, $0) },
                          c: encoded.c.isEmpty ? [] : (0..<L).map { steps(encoded.c, $0) })
    }

    /// Subword tokens as they appear in the text: the word-boundary mark is a
    /// space; a byte-fallback token `<0xHH>` shows its ASCII character, and a
    /// run of byte tokens that spells one UTF-8 character shows that character
    /// on its first byte (the other bytes show nothing).
    static func displayPieces(_ tokens: [String]) -> [String] {
        let bytes = tokens.map(byteValue)
        var shown: [String] = []
        var j = 0
        while j < tokens.count {
            guard let byte = bytes[j] else {
                shown.append(tokens[j].replacingOccurrences(of: SubwordModel.mark, with: " "))
                j += 1
                continue
            }
            let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            let run = (j..<min(tokens.count, j + length)).compactMap { bytes[$0] }
            if run.count == length, let text = String(bytes: run, encoding: .utf8), !text.isEmpty,
               text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
                shown.append(text)
                shown += Array(repeating: "", count: length - 1)
                j += length
            } else {
                shown.append("\u{FFFD}")
                j += 1
            }
        }
        return shown
    }

    /// The byte of a `<0xHH>` token, or nil.
    static func byteValue(_ token: String) -> UInt8? {
        guard token.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">") else { return nil }
        return UInt8(token.dropFirst(3).prefix(2), radix: 16)
    }
}

/// The encoder's LSTM weights, transposed so that one gate pre-activation
/// vector is a sum of contiguous rows (`x[k] · Wᵀ[k, :]`), which vectorizes.
private struct GateWeights {
    let H: Int
    let embeddingSize: Int
    let embedding: [Float]                 // [Vs, E]
    let inputWeights: [[Float]]            // per layer [I, 4H] (transposed weight_ih)
    let recurrentWeights: [[Float]]        // per layer [H, 4H] (transposed weight_hh)
    let biases: [[Float]]                  // per layer [4H] (bias_ih + bias_hh)

    init?(model: Seq2SeqModel) {
        let p = model.parameters, config = model.configuration
        guard config.cell == .lstm, config.encoder == .uni else { return nil }
        let (E, H) = (config.embeddingSize, config.hiddenSize)
        guard let emb = p.entry("src_embedding"), emb.shape == [config.sourceVocabularySize, E] else { return nil }
        var inputs: [[Float]] = [], recurrents: [[Float]] = [], biases: [[Float]] = []
        for l in 0..<config.layerCount {
            let I = l == 0 ? E : H
            let names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map { "encoder.l\(l).\($0)" }
            let shapes = [[4 * H, I], [4 * H, H], [4 * H], [4 * H]]
            guard zip(names, shapes).allSatisfy({ p.entry($0)?.shape == $1 }) else { return nil }
            inputs.append(Self.transpose(p.values(names[0]), rows: 4 * H, columns: I))
            recurrents.append(Self.transpose(p.values(names[1]), rows: 4 * H, columns: H))
            biases.append(zip(p.values(names[2]), p.values(names[3])).map { $0 + $1 })
        }
        self.H = H
        embeddingSize = E
        embedding = p.values("src_embedding")
        inputWeights = inputs
        recurrentWeights = recurrents
        self.biases = biases
    }

    /// Runs the LSTM stack over `ids` (encoder order) from zero states:
    /// `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')`, layer k > 0 reading layer k−1's `h`.
    func replay(_ ids: [Int32]) -> EncoderStateProbe.LineStates {
        let L = inputWeights.count
        var states = EncoderStateProbe.LineStates(h: Array(repeating: [], count: L), c: Array(repeating: [], count: L),
                                                  input: Array(repeating: [], count: L),
                                                  forget: Array(repeating: [], count: L),
                                                  output: Array(repeating: [], count: L))
        var h = [[Float]](repeating: [Float](repeating: 0, count: H), count: L), c = h
        for id in ids {
            for l in 0..<L {
                let x = l == 0 ? embedding(id) : ArraySlice(h[l - 1])
                let g = gates(layer: l, input: x, previousH: ArraySlice(h[l]))
                for u in 0..<H {
                    c[l][u] = g.forget[u] * c[l][u] + g.input[u] * g.candidate[u]
                    h[l][u] = g.output[u] * c[l][u].hyperbolicTangent
                }
                states.h[l].append(h[l]); states.c[l].append(c[l])
                states.input[l].append(g.input); states.forget[l].append(g.forget); states.output[l].append(g.output)
            }
        }
        return states
    }

    func isInVocabulary(_ id: Int32) -> Bool { id >= 0 && (Int(id) + 1) * embeddingSize <= embedding.count }

    func embedding(_ id: Int32) -> ArraySlice<Float> {
        embedding[(Int(id) * embeddingSize)..<((Int(id) + 1) * embeddingSize)]
    }

    /// i, f, o (sigmoid) and the candidate g (tanh) of layer `layer`, each [H].
    func gates(layer: Int, input: ArraySlice<Float>, previousH: ArraySlice<Float>)
        -> (input: [Float], forget: [Float], output: [Float], candidate: [Float]) {
        var pre = biases[layer]   // [4H]
        pre.withUnsafeMutableBufferPointer { out in
            func accumulate(_ x: ArraySlice<Float>, _ w: [Float]) {
                w.withUnsafeBufferPointer { w in
                    for (k, xk) in x.enumerated() where xk != 0 {
                        let row = w.baseAddress! + k * 4 * H
                        for r in 0..<(4 * H) { out[r] += xk * row[r] }
                    }
                }
            }
            accumulate(input, inputWeights[layer])
            accumulate(previousH, recurrentWeights[layer])
        }
        func sigmoid(_ v: Float) -> Float { 1 / (1 + (-v).exponential) }
        return (input: pre[0..<H].map(sigmoid), forget: pre[H..<(2 * H)].map(sigmoid),
                output: pre[(3 * H)..<(4 * H)].map(sigmoid), candidate: pre[(2 * H)..<(3 * H)].map { $0.hyperbolicTangent })
    }

    static func transpose(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        var t = [Float](repeating: 0, count: m.count)
        for r in 0..<rows { for k in 0..<columns { t[k * rows + r] = m[r * columns + k] } }
        return t
    }
}

extension Float {
    fileprivate var exponential: Float { Float(Foundation.exp(Double(self))) }
    fileprivate var hyperbolicTangent: Float { Float(Foundation.tanh(Double(self))) }
}
