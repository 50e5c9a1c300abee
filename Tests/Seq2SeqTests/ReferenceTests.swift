import Foundation
import Testing
@testable import Seq2Seq

/// One PyTorch reference file in `../shared/reference/` (layout, conventions and tolerances in
/// that folder's README) and the architecture it was made with.
struct ReferenceCase: CustomTestStringConvertible, Sendable {
    let file: String
    let configuration: ModelConfiguration
    /// Whether the file has the second optimizer step (`step2.*`) and `clip_coef`.
    let hasSecondStep: Bool

    var testDescription: String { file }
    var path: String { referenceDirectory() + "/" + file }
    var exists: Bool { FileManager.default.fileExists(atPath: path) }

    static func tiny(_ cell: CellKind = .lstm, hidden: Int = 7, encoder: EncoderKind = .uni,
                     attention: AttentionKind = .none, feeding: Bool = false) -> ModelConfiguration {
        ModelConfiguration(sourceVocabularySize: 11, targetVocabularySize: 13, embeddingSize: 5, hiddenSize: hidden,
                           layerCount: 2, cell: cell, encoder: encoder, attention: attention, inputFeeding: feeding)
    }

    static let all: [ReferenceCase] = [
        ReferenceCase(file: "lstm_seq2seq_tiny.safetensors", configuration: tiny(), hasSecondStep: true),
        ReferenceCase(file: "lstm_seq2seq_tiny_attention.safetensors", configuration: tiny(attention: .general),
                      hasSecondStep: true),
        ReferenceCase(file: "gru_seq2seq_tiny.safetensors", configuration: tiny(.gru), hasSecondStep: false),
        ReferenceCase(file: "rnn_tanh_seq2seq_tiny.safetensors", configuration: tiny(.rnn), hasSecondStep: false),
        ReferenceCase(file: "bilstm_luong_feed_seq2seq_tiny.safetensors",
                      configuration: tiny(hidden: 8, encoder: .bi, attention: .general, feeding: true), hasSecondStep: false),
    ]

    static let anyExists = all.contains { $0.exists }
}

/// The reference tensors of one file.
struct ReferenceTensors {
    let file: SafeTensors
    let configuration: ModelConfiguration

    init(_ c: ReferenceCase) throws {
        file = try SafeTensors(contentsOf: c.path)
        configuration = c.configuration
    }

    func floats(_ name: String) -> [Float] { file.tensors[name]?.floats ?? [] }
    func scalar(_ name: String) -> Float { floats(name).first ?? .nan }

    func rows(_ name: String, lengths: String) -> [[Int32]] {
        guard let t = file.tensors[name], let n = file.tensors[lengths] else { return [] }
        let ids = t.integers, lens = n.integers, width = t.shape[1]
        return lens.enumerated().map { b, len in (0..<Int(len)).map { Int32(ids[b * width + $0]) } }
    }

    func model() throws -> Seq2SeqModel {
        let p = ParameterBuffer(shapes: configuration.parameterShapes)
        for e in p.entries { p.setValues(e.name, floats(e.name)) }
        return try Seq2SeqModel(configuration: configuration, parameters: p)
    }

    func batch() throws -> Batch {
        try Batch(sources: rows("source_ids", lengths: "source_lengths"),
                  decoderInputs: rows("decoder_input", lengths: "target_lengths"),
                  decoderTargets: rows("decoder_target", lengths: "target_lengths"))
    }
}

/// Compares the model with the PyTorch values of every reference file: forward activations,
/// loss, every gradient, the pre-clip norm and the parameters after clip + Adam (and the
/// second step where the file has it), within 1e-5 absolute / 1e-4 relative.
@Suite(.enabled(if: ReferenceCase.anyExists, "../shared/reference is not beside the package"))
struct ReferenceTests {
    @Test(arguments: ReferenceCase.all)
    func readerSeesEveryTensor(_ c: ReferenceCase) throws {
        try #require(c.exists, "\(c.path) is missing")
        let ref = try ReferenceTensors(c)
        #expect(ref.file.tensors["source_lengths"]?.integers == [6, 2, 4])
        #expect(ref.file.metadata["reference_info"] != nil)
        for (name, shape) in c.configuration.parameterShapes {
            #expect(ref.file.tensors[name]?.shape == shape, "\(name) has shape \(ref.file.tensors[name]?.shape ?? []), layout says \(shape)")
        }
    }

    @Test(arguments: ReferenceCase.all)
    func forwardMatchesPyTorch(_ c: ReferenceCase) throws {
        try #require(c.exists, "\(c.path) is missing")
        let ref = try ReferenceTensors(c)
        let model = try ref.model()
        let result = try model.loss(for: try ref.batch())
        #expect(result.tokenCount == 12)
        let (h, cState) = model.lastEncoderFinalStates()
        var diffs = [
            "encoder_output": expectClose(model.lastEncoderOutput(), ref.floats("encoder_output"), abs: 1e-5, rel: 1e-4, "encoder_output"),
            "encoder_final_h": expectClose(h, ref.floats("encoder_final_h"), abs: 1e-5, rel: 1e-4, "encoder_final_h"),
            "decoder_output": expectClose(model.lastDecoderOutput(), ref.floats("decoder_output"), abs: 1e-5, rel: 1e-4, "decoder_output"),
            "logits": expectClose(model.lastLogits(), ref.floats("logits"), abs: 1e-5, rel: 1e-4, "logits"),
            "loss": expectClose([result.loss], ref.floats("loss"), abs: 1e-5, rel: 1e-4, "loss"),
        ]
        if c.configuration.cell.hasCellState {
            diffs["encoder_final_c"] = expectClose(cState, ref.floats("encoder_final_c"), abs: 1e-5, rel: 1e-4, "encoder_final_c")
        }
        if c.configuration.attention != .none {
            let (context, hidden) = model.lastAttentionContextAndHidden()
            diffs["attention_weights"] = expectClose(model.lastAttentionWeights(), ref.floats("attention_weights"), abs: 1e-5, rel: 1e-4, "attention_weights")
            diffs["attention_context"] = expectClose(context, ref.floats("attention_context"), abs: 1e-5, rel: 1e-4, "attention_context")
            diffs["attentional_hidden"] = expectClose(hidden, ref.floats("attentional_hidden"), abs: 1e-5, rel: 1e-4, "attentional_hidden")
        }
        print("reference \(c.file): max |diff| " + diffs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// Gradients, the pre-clip norm, and one (or two) clip + Adam steps.
    @Test(arguments: ReferenceCase.all)
    func gradientsAndAdamStepsMatchPyTorch(_ c: ReferenceCase) throws {
        try #require(c.exists, "\(c.path) is missing")
        let ref = try ReferenceTensors(c)
        let model = try ref.model()
        let batch = try ref.batch()
        let optimizer = AdamOptimizer(layoutOf: model.parameters)
        var random = RandomGenerator(seed: 0)
        var maxGradientDiff: Float = 0, maxParameterDiff: Float = 0
        for (step, prefix) in c.hasSecondStep ? [(1, ""), (2, "step2.")] : [(1, "")] {
            let loss = try model.computeGradients(for: batch, random: &random)
            if step == 2 { expectClose([loss.loss], ref.floats("loss_after_step"), abs: 1e-5, "loss_after_step") }
            for e in model.gradients.entries {
                maxGradientDiff = max(maxGradientDiff, expectClose(model.gradients.values(e.name), ref.floats(prefix + "grad." + e.name),
                                                                   abs: 1e-6, rel: 1e-4, prefix + "grad." + e.name))
            }
            let (norm, coefficient) = GradientClipping.clip(model.gradients, maxNorm: 1.0)
            expectClose([norm], ref.floats(prefix + "grad_norm_before_clip"), abs: 1e-6, rel: 1e-5, prefix + "grad_norm_before_clip")
            if c.hasSecondStep { expectClose([coefficient], ref.floats(prefix + "clip_coef"), abs: 0, "clip_coef") }
            optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: 0.01)
            for e in model.parameters.entries {
                maxParameterDiff = max(maxParameterDiff, expectClose(model.parameters.values(e.name), ref.floats(prefix + "after_step." + e.name),
                                                                     abs: 1e-5, rel: 1e-4, prefix + "after_step." + e.name))
            }
        }
        let final = try model.loss(for: batch)
        let lossDiff = expectClose([final.loss], ref.floats(c.hasSecondStep ? "step2.loss_after_step" : "loss_after_step"),
                                   abs: 1e-5, rel: 1e-4, "loss after the last step")
        print("reference \(c.file): max |diff| gradients \(maxGradientDiff), parameters after Adam \(maxParameterDiff), final loss \(lossDiff)")
    }

    /// The clipping branch, which the reference data never reach (norm 0.46 < 1):
    /// with max norm 0.1 every gradient must be scaled by 0.1 / (norm + 1e-6).
    @Test func clippingScalesReferenceGradients() throws {
        let c = ReferenceCase.all[0]
        try #require(c.exists, "\(c.path) is missing")
        let ref = try ReferenceTensors(c)
        let grads = ParameterBuffer(shapes: ref.configuration.parameterShapes)
        for e in grads.entries { grads.setValues(e.name, ref.floats("grad." + e.name)) }
        let (norm, coefficient) = GradientClipping.clip(grads, maxNorm: 0.1)
        let expectedNorm = ref.scalar("grad_norm_before_clip")
        let expectedCoefficient = 0.1 / (expectedNorm + 1e-6)
        expectClose([norm], [expectedNorm], abs: 1e-6, "norm")
        expectClose([coefficient], [expectedCoefficient], abs: 1e-6, "clip_coef")
        for e in grads.entries {
            expectClose(grads.values(e.name), ref.floats("grad." + e.name).map { $0 * expectedCoefficient }, abs: 1e-9, rel: 1e-5, e.name)
        }
        expectClose([grads.l2Norm()], [0.1], abs: 1e-6, "norm after clipping")
    }
}
