import Foundation
import Testing
@testable import Seq2Seq

/// `../shared/reference/char_lm_tbptt_tiny.safetensors`: a 1-layer LSTM character LM (E 5, H 6)
/// on "hello hello help hell", three truncated-BPTT chunks (7, 7, 6) with the state carried and
/// detached, clip 1.0 + Adam (lr 0.01) after each chunk.
let languageModelReferencePath = referenceDirectory() + "/char_lm_tbptt_tiny.safetensors"

@Suite(.enabled(if: FileManager.default.fileExists(atPath: languageModelReferencePath),
                "../shared/reference/char_lm_tbptt_tiny.safetensors is not beside the package"))
struct LanguageModelReferenceTests {
    static let path = languageModelReferencePath
    static let configuration = LanguageModelConfiguration(vocabularySize: 6, embeddingSize: 5, hiddenSize: 6, layerCount: 1)

    @Test func everyChunkMatchesPyTorch() throws {
        let file = try SafeTensors(contentsOf: Self.path)
        func floats(_ name: String) -> [Float] { file.tensors[name]?.floats ?? [] }
        let c = Self.configuration
        let p = ParameterBuffer(shapes: c.parameterShapes)
        for e in p.entries {
            #expect(file.tensors[e.name]?.shape == e.shape, "\(e.name): reference shape differs from the layout")
            p.setValues(e.name, floats(e.name))
        }
        let model = try LanguageModel(configuration: c, adopting: p)
        var options = TrainingOptions()
        options.learningRate = 0.01
        options.maxGradientNorm = 1.0
        let trainer = LanguageModelTrainer(model: model, options: options)
        let ids = (file.tensors["text_ids"]?.integers ?? []).map { Int32($0) }
        try #require(ids.count == 21)
        let state = RecurrentState(configuration: c, rows: 1)
        for (k, start) in stride(from: 0, to: 20, by: 7).enumerated() {
            let end = min(start + 7, 20)
            let chunk = try TokenChunk(inputs: [Array(ids[start..<end])], targets: [Array(ids[start + 1..<end + 1])])
            let tag = "chunk\(k)"
            expectClose(state.hidden, floats(tag + ".initial_h"), abs: 1e-5, rel: 1e-4, tag + ".initial_h")
            expectClose(state.cellState, floats(tag + ".initial_c"), abs: 1e-5, rel: 1e-4, tag + ".initial_c")
            // Logits from a forward-only pass over a copy of the state (training leaves gradients in their place).
            let copy = RecurrentState(configuration: c, rows: 1)
            try copy.set(hidden: state.hidden, cellState: state.cellState)
            _ = try model.loss(on: chunk, state: copy)
            expectClose(model.lastLogits(), floats(tag + ".logits"), abs: 1e-5, rel: 1e-4, tag + ".logits")
            let result = try trainer.train(on: chunk, state: state)
            #expect(state.hidden == copy.hidden && state.cellState == copy.cellState, "training and inference carry the same state")
            expectClose([result.loss], floats(tag + ".loss"), abs: 1e-5, rel: 1e-4, tag + ".loss")
            expectClose([result.gradientNorm], floats(tag + ".grad_norm_before_clip"), abs: 1e-5, rel: 1e-4, tag + ".norm")
            for e in p.entries {
                // `gradients` now holds the clipped gradient; undo the clip to compare with PyTorch's raw one.
                let raw = model.gradients.values(e.name).map { $0 / result.clipCoefficient }
                expectClose(raw, floats(tag + ".grad." + e.name), abs: 1e-5, rel: 1e-4, tag + ".grad." + e.name)
                expectClose(model.parameters.values(e.name), floats(tag + ".after_step." + e.name), abs: 1e-5, rel: 1e-4,
                            tag + ".after_step." + e.name)
            }
        }
    }
}
