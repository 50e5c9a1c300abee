import Foundation
import Seq2Seq
import Tokenize

/// Per-token hidden states of a translation model's LSTM encoder over a text,
/// read through the public `Seq2SeqModel.encode(sources:)`: that call returns
/// the final `(h, c)` of every layer, and the final state after the first t
/// tokens of a sentence is the state at token t. So one batch holding every
/// prefix of a sentence yields the state at each of its tokens (O(n²) steps
/// for n tokens, cheap for sentences).
///
/// The LSTM gates (i, f, o) are recomputed from the weights
/// (`encoder.l{k}.weight_ih` …, PyTorch gate order i, f, g, o) and kept only
/// if they reproduce the cell states the model returned
/// (`c_t = f ⊙ c_{t−1} + i ⊙ g` within 1e-3), so a change of parameter
/// layout drops the gates with a note instead of drawing wrong ones.
///
/// Valid for a unidirectional encoder (today's only kind). When the model
/// exposes its per-token encoder states itself, build the `ActivationTrace`
/// from those instead.
struct EncoderStateProbe {
    let model: Seq2SeqModel
    let tokenizer: Tokenizer
    /// The encoder reads each sentence last token first (`ModelManifest.sourceOrderReversed`).
    let reverseSourceOrder: Bool
    var maxTokensPerLine = 60
    var maxPositions = 1200

    /// The trace over `lines` (one sentence each; empty lines skipped), and
    /// a note if the gates could not be recovered.
    func trace(lines: [String]) throws -> (trace: ActivationTrace, gateNote: String?) {
        let (L, H) = (model.configuration.layerCount, model.configuration.hiddenSize)
        var pieces: [String] = []
        var h = [[[Float]]](repeating: [], count: L), c = h   // [L][P][H]
        var gates = [[[[Float]]]](repeating: [[], [], []], count: L)   // [L][i,f,o][P][H]
        let weights = GateWeights(model: model)
        var gateNote: String? = weights == nil ? "the encoder's weights are not laid out as an LSTM's, so gates are not shown" : nil
        let tokens = tokenizer.model.tokens
        for line in lines {
            if pieces.count >= maxPositions { break }
            let ids = Array(tokenizer.encode(line).prefix(min(maxTokensPerLine, maxPositions - pieces.count)))
            if ids.isEmpty { continue }
            let n = ids.count
            let order = reverseSourceOrder ? Array(ids.reversed()) : ids            // encoder order
            let encoded = try model.encode(sources: (1...n).map { Array(order.prefix($0)) })   // batch b = first b+1 tokens
            // State after encoder step t (1-based) of layer l: encoded.h[(l·n + t−1)·H ..< +H].
            func state(_ values: [Float], _ l: Int, _ t: Int) -> ArraySlice<Float> {
                t == 0 ? ArraySlice(repeating: 0, count: H) : values[((l * n + t - 1) * H)..<((l * n + t) * H)]
            }
            let shown = Self.displayPieces(ids.map { tokens.indices.contains(Int($0)) ? tokens[Int($0)] : "?" })
            for j in 0..<n {
                let t = reverseSourceOrder ? n - j : j + 1
                pieces.append(j == n - 1 ? shown[j] + "\n" : shown[j])
                for l in 0..<L {
                    h[l].append(Array(state(encoded.h, l, t)))
                    c[l].append(Array(state(encoded.c, l, t)))
                    guard let weights, gateNote == nil else { continue }
                    let input = l == 0 ? weights.embedding(order[t - 1]) : state(encoded.h, l - 1, t)
                    let g = weights.gates(layer: l, input: input, previousH: state(encoded.h, l, t - 1))
                    // Check: the recomputed gates must give back the model's own cell state.
                    let previousC = state(encoded.c, l, t - 1), currentC = state(encoded.c, l, t)
                    for u in 0..<H {
                        let expected = g.forget[u] * previousC[previousC.startIndex + u] + g.input[u] * g.candidate[u]
                        if abs(expected - currentC[currentC.startIndex + u]) > 1e-3 {
                            gateNote = "gates recomputed from the weights do not reproduce the encoder's cell states, so they are not shown"
                            break
                        }
                    }
                    gates[l][0].append(g.input); gates[l][1].append(g.forget); gates[l][2].append(g.output)
                }
            }
        }
        var states: [NamedActivations] = []
        for l in 0..<L {
            states.append(NamedActivations(name: "layer \(l + 1) cell c", values: c[l]))
            states.append(NamedActivations(name: "layer \(l + 1) hidden h", values: h[l]))
        }
        let gateActivations = gateNote != nil ? [] : (0..<L).map {
            GateActivations(layerName: "encoder layer \($0 + 1)", input: gates[$0][0], forget: gates[$0][1], output: gates[$0][2])
        }
        let origin = "LSTM encoder states after each source subword token"
            + (reverseSourceOrder ? " (the encoder reads each line last token first)" : "")
        return (ActivationTrace(pieces: pieces, states: states, gates: gateActivations, origin: origin), gateNote)
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
