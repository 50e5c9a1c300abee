import Foundation
import Testing
@testable import Seq2Seq

/// `<package root>/../shared/reference`, found from this file's path.
func referenceDirectory(filePath: String = #filePath) -> String {
    var url = URL(fileURLWithPath: filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/Seq2SeqTests/File.swift → package root
    return url.deletingLastPathComponent().appendingPathComponent("shared/reference").path
}

/// Largest |a − b| and whether every element satisfies |a − b| ≤ abs + rel·|b|.
func compare(_ a: [Float], _ b: [Float], abs: Float, rel: Float) -> (maxDiff: Float, ok: Bool) {
    guard a.count == b.count else { return (.infinity, false) }
    var maxDiff: Float = 0
    var ok = true
    for (x, y) in zip(a, b) {
        let d = Swift.abs(x - y)
        maxDiff = max(maxDiff, d)
        if !(d <= abs + rel * Swift.abs(y)) { ok = false }
    }
    return (maxDiff, ok)
}

/// Expects `actual ≈ expected` elementwise; prints the max difference on failure.
/// Returns the max difference.
@discardableResult
func expectClose(
    _ actual: [Float], _ expected: [Float], abs: Float, rel: Float = 0, _ name: String,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Float {
    let (d, ok) = compare(actual, expected, abs: abs, rel: rel)
    #expect(!expected.isEmpty, "\(name): no expected values", sourceLocation: sourceLocation)
    #expect(ok, "\(name): max |diff| = \(d) (count \(actual.count) vs \(expected.count))", sourceLocation: sourceLocation)
    return d
}

/// Random token sequences with ids in 1..<vocabulary and lengths in `lengths`.
func randomSequences(_ count: Int, lengths: ClosedRange<Int>, vocabulary: Int, random: inout RandomGenerator) -> [[Int32]] {
    (0..<count).map { _ in
        let n = Int.random(in: lengths, using: &random)
        return (0..<n).map { _ in Int32.random(in: 1..<Int32(vocabulary), using: &random) }
    }
}

/// Greedy decoding through the production search (`GreedySearch` over the model's decoder
/// state): from `bos`, the most probable token until `eos` or `maxLength` tokens. Returns
/// the tokens without `<s>`/`</s>`; empty sources give an empty output.
func greedyDecode(_ model: Seq2SeqModel, sources: [[Int32]], maxLength: Int, bos: Int32 = 2, eos: Int32 = 3) throws -> [[Int32]] {
    var outputs = [[Int32]](repeating: [], count: sources.count)
    let live = sources.indices.filter { !sources[$0].isEmpty }
    if live.isEmpty { return outputs }
    var scorer = ModelStepScorer(state: try model.makeDecoderState(for: try model.encode(sources: live.map { sources[$0] })))
    let best = try GreedySearch(beginOfSentence: bos, endOfSentence: eos)
        .search(&scorer, maxOutputLengths: live.map { _ in maxLength })
    for (i, hypothesis) in zip(live, best) { outputs[i] = hypothesis.tokens }
    return outputs
}
