import Foundation
import Testing
@testable import Seq2Seq

/// Compares the model with PyTorch values in `../shared/reference/lstm_seq2seq_tiny.safetensors`
/// (layout and tolerances in that folder's README).
@Suite struct ReferenceTests {
    struct Reference {
        let file: SafeTensors
        let configuration = ModelConfiguration(
            sourceVocabularySize: 11, targetVocabularySize: 13, embeddingSize: 5, hiddenSize: 7, layerCount: 2)

        func floats(_ name: String) -> [Float] { file.tensors[name]?.floats ?? [] }
        func scalar(_ name: String) -> Float { floats(name).first ?? .nan }

        func rows(_ name: String, lengths: String) -> [[Int32]] {
            guard let t = file.tensors[name], let n = file.tensors[lengths] else { return [] }
            let ids = t.integers, lens = n.integers, width = t.shape[1]
            return lens.enumerated().map { b, len in (0..<Int(len)).map { Int32(ids[b * width + $0]) } }
        }

        func model(prefix: String = "") throws -> Seq2SeqModel {
            let p = ParameterBuffer(shapes: configuration.parameterShapes)
            for e in p.entries { p.setValues(e.name, floats(prefix + e.name)) }
            return try Seq2SeqModel(configuration: configuration, parameters: p)
        }

        func batch() throws -> Batch {
            try Batch(sources: rows("source_ids", lengths: "source_lengths"),
                      decoderInputs: rows("decoder_input", lengths: "target_lengths"),
                      decoderTargets: rows("decoder_target", lengths: "target_lengths"))
        }
    }

    static func load() throws -> Reference? {
        let path = referenceDirectory() + "/lstm_seq2seq_tiny.safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            print("note: \(path) not found; skipping the PyTorch reference comparison")
            return nil
        }
        return Reference(file: try SafeTensors(contentsOf: path))
    }

    @Test func readerSeesEveryTensor() throws {
        guard let ref = try Self.load() else { return }
        #expect(ref.file.tensors.count == 118)
        #expect(ref.file.tensors["source_lengths"]?.integers == [6, 2, 4])
        #expect(ref.file.tensors["encoder.l1.weight_ih"]?.shape == [28, 7])
        #expect(ref.file.metadata["reference_info"] != nil)
    }

    @Test func forwardMatchesPyTorch() throws {
        guard let ref = try Self.load() else { return }
        let model = try ref.model()
        let batch = try ref.batch()
        let result = try model.loss(for: batch)
        #expect(result.tokenCount == 12)
        let (h, c) = model.lastEncoderFinalStates()
        let diffs = [
            expectClose(h, ref.floats("encoder_final_h"), abs: 1e-5, "encoder_final_h"),
            expectClose(c, ref.floats("encoder_final_c"), abs: 1e-5, "encoder_final_c"),
            expectClose(model.lastDecoderOutput(), ref.floats("decoder_output"), abs: 1e-5, "decoder_output"),
            expectClose(model.lastLogits(), ref.floats("logits"), abs: 1e-5, "logits"),
            expectClose([result.loss], ref.floats("loss"), abs: 1e-5, "loss"),
        ]
        print("reference: max |diff| encoder h \(diffs[0]), c \(diffs[1]), decoder output \(diffs[2]), logits \(diffs[3]), loss \(diffs[4])")
    }

    /// Gradients, the pre-clip norm, and two clip + Adam steps.
    @Test func gradientsAndAdamStepsMatchPyTorch() throws {
        guard let ref = try Self.load() else { return }
        let model = try ref.model()
        let batch = try ref.batch()
        let optimizer = AdamOptimizer(layoutOf: model.parameters)
        var random = RandomGenerator(seed: 0)
        var maxGradientDiff: Float = 0, maxParameterDiff: Float = 0
        for (step, prefix) in [(1, ""), (2, "step2.")] {
            let loss = try model.computeGradients(for: batch, random: &random)
            if step == 2 { expectClose([loss.loss], ref.floats("loss_after_step"), abs: 1e-5, "loss_after_step") }
            for e in model.gradients.entries {
                maxGradientDiff = max(maxGradientDiff, expectClose(model.gradients.values(e.name), ref.floats(prefix + "grad." + e.name), abs: 1e-6, rel: 1e-4,
                            prefix + "grad." + e.name))
            }
            let (norm, coefficient) = GradientClipping.clip(model.gradients, maxNorm: 1.0)
            expectClose([norm], ref.floats(prefix + "grad_norm_before_clip"), abs: 1e-6, rel: 1e-5, prefix + "grad_norm_before_clip")
            expectClose([coefficient], ref.floats(prefix + "clip_coef"), abs: 0, "clip_coef")
            optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: 0.01)
            for e in model.parameters.entries {
                maxParameterDiff = max(maxParameterDiff, expectClose(model.parameters.values(e.name), ref.floats(prefix + "after_step." + e.name), abs: 1e-5,
                            prefix + "after_step." + e.name))
            }
        }
        let final = try model.loss(for: batch)
        let lossDiff = expectClose([final.loss], ref.floats("step2.loss_after_step"), abs: 1e-5, "step2.loss_after_step")
        print("reference: max |diff| gradients \(maxGradientDiff), parameters after Adam \(maxParameterDiff), final loss \(lossDiff)")
    }

    /// The clipping branch, which the reference data never reach (norm 0.46 < 1):
    /// with max norm 0.1 every gradient must be scaled by 0.1 / (norm + 1e-6).
    @Test func clippingScalesReferenceGradients() throws {
        guard let ref = try Self.load() else { return }
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
