import Foundation
import Seq2Seq
import Testing
import Tokenize
@testable import Report

/// The encoder states behind the interpretable-cell view: the LSTM replayed
/// from the weights (with gates) must equal what the model's own encoder
/// gives for every prefix, in both source orders.
struct EncoderStateProbeTests {
    static let lines = ["I said \"hello\" (twice).", "It's raining.", "Are you ready?"]

    static func probe(reverse: Bool, cell: CellKind = .lstm, encoder: EncoderKind = .uni,
                      attention: AttentionKind = .none) throws -> EncoderStateProbe {
        let vocabulary = try VocabularyPair.learn(sources: lines, targets: lines, options: VocabularyOptions(size: 300))
        let configuration = ModelConfiguration(sourceVocabularySize: vocabulary.size(of: .source),
                                               targetVocabularySize: vocabulary.size(of: .target),
                                               embeddingSize: 12, hiddenSize: 16, layerCount: 2, cell: cell,
                                               encoder: encoder, attention: attention)
        let model = try Seq2SeqModel(configuration: configuration, seed: 5, initScale: 0.5)
        return EncoderStateProbe(model: model, tokenizer: try vocabulary.tokenizer(for: .source), reverseSourceOrder: reverse)
    }

    @Test(arguments: [false, true])
    func replayedStatesEqualTheModelsPrefixStates(reverse: Bool) throws {
        let probe = try Self.probe(reverse: reverse)
        let weights = try #require(probe.model.parameters.entry("encoder.l1.weight_hh"))
        #expect(weights.shape == [64, 16])
        let lines = probe.prepare(Self.lines)
        #expect(lines.count == 3)
        let (trace, note) = try probe.trace(lines: Self.lines)
        #expect(note == nil)
        #expect(trace.gates.count == 2 && trace.states.count == 4)
        #expect(trace.shapeProblem == nil)
        // The same positions from the public API alone (every prefix through encode(sources:)).
        var offset = 0
        for line in lines {
            let prefix = try probe.prefixStates(line)
            let n = line.count
            for j in 0..<n {
                let step = reverse ? n - 1 - j : j
                for l in 0..<2 {
                    let c = trace.states[2 * l].values[offset + j], h = trace.states[2 * l + 1].values[offset + j]
                    #expect(zip(c, prefix.c[l][step]).allSatisfy { abs($0 - $1) < 1e-4 }, "line \(line.shown), position \(j), layer \(l)")
                    #expect(zip(h, prefix.h[l][step]).allSatisfy { abs($0 - $1) < 1e-4 })
                }
            }
            offset += n
        }
        #expect(offset == trace.pieces.count)
        #expect(trace.pieces.joined() == Self.lines.map { " " + $0 + "\n" }.joined()
                || trace.pieces.joined().replacingOccurrences(of: " ", with: "")
                    == Self.lines.joined(separator: "\n").replacingOccurrences(of: " ", with: "") + "\n")
        // Gates are probabilities.
        for layer in trace.gates {
            #expect(layer.gates.map(\.name) == ["input", "forget", "output"])
            for gate in layer.gates { #expect(gate.values.allSatisfy { $0.allSatisfy { $0 > 0 && $0 < 1 } }) }
        }
    }

    /// A GRU encoder: states of every layer from the prefixes, `h` only, and a note instead of gates.
    @Test func gruEncoderGivesHiddenStatesWithoutGates() throws {
        let probe = try Self.probe(reverse: true, cell: .gru)
        let (trace, note) = try probe.trace(lines: Self.lines)
        #expect(note?.contains("gru") == true)
        #expect(trace.states.map(\.name) == ["layer 1 hidden h", "layer 2 hidden h"])
        #expect(trace.gates.isEmpty && trace.shapeProblem == nil)
        // The last token of the first line (read first by the reversed encoder) has the one-token state.
        let line = probe.prepare(Self.lines)[0]
        let one = try probe.model.encode(sources: [[line.encoderOrder[0]]])
        let last = line.count - 1
        #expect(zip(trace.states[1].values[last], one.h[16..<32]).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// A bidirectional encoder with attention: the top layer's outputs from the attention memory;
    /// without attention there is nothing per token, and the probe says so.
    @Test func bidirectionalEncoderUsesTheAttentionMemory() throws {
        let probe = try Self.probe(reverse: false, encoder: .bi, attention: .general)
        let (trace, note) = try probe.trace(lines: Self.lines)
        #expect(note != nil && trace.gates.isEmpty && trace.shapeProblem == nil)
        #expect(trace.states.count == 1 && trace.states[0].values.first?.count == 16)
        let lines = probe.prepare(Self.lines)
        #expect(trace.pieces.count == lines.reduce(0) { $0 + $1.count })
        // The forward half at a line's last token and the backward half at its first token are the final states.
        let encoded = try probe.model.encode(sources: [lines[0].encoderOrder])
        let top = 16   // layer 2 of [L, 1, H]
        #expect(zip(trace.states[0].values[lines[0].count - 1][0..<8], encoded.h[top..<(top + 8)]).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(trace.states[0].values[0][8..<16], encoded.h[(top + 8)..<(top + 16)]).allSatisfy { abs($0 - $1) < 1e-5 })

        let plain = try Self.probe(reverse: false, encoder: .bi)
        #expect(throws: ReportError.statesUnavailable("a bidirectional encoder without attention does not expose its per-token states")) {
            try plain.trace(lines: Self.lines)
        }
    }
}
