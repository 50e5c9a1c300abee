import Foundation
import Testing
@testable import Seq2Seq

// Finite-difference gradient checks. Central differences in Float with step
// eps = 1e-2: truncation error O(eps²) ≈ 1e-5, rounding error ≈ 1e-7·|loss|/eps ≈ 1e-5
// for the O(1) losses used here. Tolerance per entry: |fd − analytic| ≤ 2e-3 + 2e-2·|analytic|;
// a wrong or missing term shows up as an error of the order of the gradient itself.
// Each check also requires a non-trivial gradient (max |g| > 1e-3) so it cannot pass vacuously.

/// Compares `analytic` with central differences of `loss` with respect to `p[0..<count]`.
func checkGradient(
    _ name: String, _ p: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
    eps: Float = 1e-2, loss: () -> Double, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(analytic.count == count, "\(name): \(analytic.count) analytic values for \(count) entries", sourceLocation: sourceLocation)
    var worst: Float = 0
    var failures = 0
    for i in 0..<min(count, analytic.count) {
        let old = p[i]
        let up = old + eps, down = old - eps
        p[i] = up
        let lossUp = loss()
        p[i] = down
        let lossDown = loss()
        p[i] = old
        let fd = Float((lossUp - lossDown) / Double(up - down))
        let d = abs(fd - analytic[i])
        worst = max(worst, d)
        if d > 2e-3 + 2e-2 * abs(analytic[i]) { failures += 1 }
    }
    #expect(failures == 0, "\(name): \(failures) of \(count) entries differ from finite differences (max |diff| \(worst))",
            sourceLocation: sourceLocation)
    #expect((analytic.map(abs).max() ?? 0) > 1e-3 || count == 0, "\(name): gradient is (nearly) zero; the check is vacuous",
            sourceLocation: sourceLocation)
}

/// A heap buffer the finite-difference loop can perturb while the loss closure reads it.
final class Floats {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ values: [Float]) {
        count = values.count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        p.update(from: values, count: count)
    }
    deinit { p.deallocate() }
}

func randomArray(_ n: Int, scale: Float, _ random: inout RandomGenerator) -> [Float] {
    (0..<n).map { _ in (2 * random.nextUnitFloat() - 1) * scale }
}

/// Σ w·y in Double.
func weightedSum(_ y: UnsafePointer<Float>, _ w: [Float]) -> Double {
    var s: Double = 0
    for i in 0..<w.count { s += Double(w[i]) * Double(y[i]) }
    return s
}

@Suite struct GradientCheckTests {
    @Test func embedding() {
        var random = RandomGenerator(seed: 11)
        let (V, E) = (6, 3)
        let ids: [Int32] = [1, 4, 1, 5, 0, 4, 4]
        var table = randomArray(V * E, scale: 1, &random)
        let w = randomArray(ids.count * E, scale: 1, &random)
        var y = [Float](repeating: 0, count: ids.count * E)
        var dTable = [Float](repeating: 0, count: V * E)
        table.withUnsafeMutableBufferPointer { t in
            func loss() -> Double {
                y.withUnsafeMutableBufferPointer { Embedding.forward(table: t.baseAddress!, ids: ids, count: ids.count, width: E, output: $0.baseAddress!) }
                return weightedSum(y, w)
            }
            _ = loss()
            Embedding.backward(outputGradient: w, ids: ids, count: ids.count, width: E, tableGradient: &dTable)
            checkGradient("embedding table", t.baseAddress!, count: V * E, analytic: dTable, loss: loss)
        }
        #expect(dTable[2 * E..<3 * E].allSatisfy { $0 == 0 }, "unused rows get no gradient")
    }

    @Test func linear() {
        var random = RandomGenerator(seed: 12)
        let (N, I, O) = (4, 3, 5)
        let x = Floats(randomArray(N * I, scale: 1, &random))
        let W = Floats(randomArray(O * I, scale: 1, &random))
        let b = Floats(randomArray(O, scale: 1, &random))
        let w = randomArray(N * O, scale: 1, &random)
        var y = [Float](repeating: 0, count: N * O)
        func loss() -> Double {
            Linear.forward(input: x.p, rows: N, inputSize: I, outputSize: O, weight: W.p, bias: b.p, output: &y)
            return weightedSum(y, w)
        }
        var dW = [Float](repeating: 0, count: O * I), db = [Float](repeating: 0, count: O), dx = [Float](repeating: 0, count: N * I)
        _ = loss()
        Linear.backward(outputGradient: w, input: x.p, rows: N, inputSize: I, outputSize: O, weight: W.p,
                        weightGradient: &dW, biasGradient: &db, inputGradient: &dx)
        checkGradient("linear weight", W.p, count: W.count, analytic: dW, loss: loss)
        checkGradient("linear bias", b.p, count: b.count, analytic: db, loss: loss)
        checkGradient("linear input", x.p, count: x.count, analytic: dx, loss: loss)
    }

    @Test(arguments: [Float(0), 0.1])
    func softmaxCrossEntropy(labelSmoothing: Float) {
        var random = RandomGenerator(seed: 13)
        let (N, V) = (5, 7)
        let logits = Floats(randomArray(N * V, scale: 3, &random))
        let targets: [Int32] = [3, 0, -1, 6, 3]  // −1: ignored row
        var scratch = [Float](repeating: 0, count: V)
        func loss() -> Double {
            var z = Array(UnsafeBufferPointer(start: logits.p, count: N * V))
            return SoftmaxCrossEntropy.forwardBackward(logits: &z, targets: targets, rows: N, classes: V,
                                                       labelSmoothing: labelSmoothing, gradientScale: nil, scratch: &scratch)
        }
        var grad = Array(UnsafeBufferPointer(start: logits.p, count: N * V))
        let sum = SoftmaxCrossEntropy.forwardBackward(logits: &grad, targets: targets, rows: N, classes: V,
                                                      labelSmoothing: labelSmoothing, gradientScale: 1, scratch: &scratch)
        #expect(abs(sum - loss()) < 1e-9, "loss must not depend on whether gradients are requested")
        #expect(grad[2 * V..<3 * V].allSatisfy { $0 == 0 }, "ignored row has zero gradient")
        checkGradient("softmax-CE logits (ε = \(labelSmoothing))", logits.p, count: logits.count, analytic: grad, loss: loss)

        // Against a direct Double evaluation of the formula.
        var expected: Double = 0
        for n in 0..<N where targets[n] >= 0 {
            let row = (0..<V).map { Double(logits.p[n * V + $0]) }
            let m = row.max()!
            let logZ = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            let nll = logZ - row[Int(targets[n])]
            let smooth = row.map { logZ - $0 }.reduce(0, +) / Double(V)
            expected += Double(1 - labelSmoothing) * nll + Double(labelSmoothing) * smooth
        }
        #expect(abs(loss() - expected) < 1e-5 * max(1, abs(expected)))
    }

    @Test func dropoutWithFixedMask() {
        var random = RandomGenerator(seed: 14)
        let n = 40
        var mask = [Float](repeating: 0, count: n)
        Dropout.makeMask(&mask, count: n, probability: 0.3, random: &random)
        #expect(mask.contains(0) && mask.contains(1 / 0.7), "mask has both dropped and kept entries")
        let x = Floats(randomArray(n, scale: 1, &random))
        let w = randomArray(n, scale: 1, &random)
        var y = [Float](repeating: 0, count: n)
        func loss() -> Double {
            Dropout.forward(x.p, mask: mask, output: &y, count: n)
            return weightedSum(y, w)
        }
        var dx = [Float](repeating: 0, count: n)
        Dropout.backward(w, mask: mask, inputGradient: &dx, count: n)
        checkGradient("dropout input", x.p, count: n, analytic: dx, loss: loss)
    }

    /// Two-layer stack of each cell over a packed batch (with an empty row), with non-zero
    /// initial states, gradients into the top output and the final states, and dropout with
    /// a fixed mask (same seed for every forward).
    @Test(arguments: CellKind.allCases, [Float(0), 0.25])
    func recurrentStack(cell: CellKind, dropout: Float) {
        var random = RandomGenerator(seed: 15)
        let config = ModelConfiguration(sourceVocabularySize: 7, targetVocabularySize: 7, embeddingSize: 3, hiddenSize: 4,
                                        layerCount: 2, cell: cell)
        let params = ParameterBuffer(shapes: config.parameterShapes)
        let grads = ParameterBuffer(layoutOf: params)
        for i in 0..<params.count { params.pointer[i] = (2 * random.nextUnitFloat() - 1) * 0.6 }
        let stack = RecurrentStack(side: "encoder", embedding: "src_embedding", configuration: config, parameters: params, gradients: grads)
        let sequences: [[Int32]] = [[1, 2, 3], [4, 5, 6, 1, 2], [], [6, 6]]
        let P = Packing(lengths: sequences.map(\.count))
        let ids = P.pack(sequences, fill: 0)
        let (B, H, L) = (4, 4, 2)
        let h0 = Floats(randomArray(L * B * H, scale: 0.5, &random))
        let c0 = Floats(randomArray(L * B * H, scale: 0.5, &random))
        let wTop = randomArray(P.total * H, scale: 1, &random)
        let wH = randomArray(L * B * H, scale: 1, &random)
        let wC = randomArray(L * B * H, scale: 1, &random)
        var finalH = [Float](repeating: 0, count: L * B * H), finalC = finalH

        func loss() -> Double {
            var r: RandomGenerator? = RandomGenerator(seed: 99)  // same dropout masks every time
            let top = stack.forward(ids: ids, packing: P, h0: h0.p, c0: c0.p, finalH: &finalH, finalC: &finalC, dropout: dropout, random: &r)
            return weightedSum(top, wTop) + weightedSum(finalH, wH) + (cell.hasCellState ? weightedSum(finalC, wC) : 0)
        }
        _ = loss()
        grads.zero()
        var dh0 = [Float](repeating: 0, count: L * B * H), dc0 = dh0
        stack.backward(dTop: wTop, ids: ids, packing: P, c0: c0.p, dFinalH: wH, dFinalC: cell.hasCellState ? wC : nil,
                       dh0: &dh0, dc0: &dc0)
        for e in params.entries where e.name.hasPrefix("encoder") || e.name == "src_embedding" {
            checkGradient("\(cell) \(e.name)", params.pointer + e.offset, count: e.count, analytic: grads.values(e.name), loss: loss)
        }
        checkGradient("\(cell) h0", h0.p, count: h0.count, analytic: dh0, loss: loss)
        if cell.hasCellState { checkGradient("c0", c0.p, count: c0.count, analytic: dc0, loss: loss) }
        // The empty row (sorted last) passes its initial state straight through.
        let emptyRow = P.rank[2]
        for l in 0..<L { for j in 0..<H {
            #expect(dh0[(l * B + emptyRow) * H + j] == wH[(l * B + emptyRow) * H + j])
        } }
    }

    /// Bidirectional two-layer stack of each cell: both directions, the backward one reading
    /// each row from its own last token, layer 1 reading `[fwd ; bwd]`, gradients into the
    /// joined outputs and the joined final states.
    @Test(arguments: CellKind.allCases)
    func bidirectionalStack(cell: CellKind) {
        var random = RandomGenerator(seed: 17)
        let config = ModelConfiguration(sourceVocabularySize: 7, targetVocabularySize: 7, embeddingSize: 3, hiddenSize: 6,
                                        layerCount: 2, dropout: 0, cell: cell, encoder: .bi)
        let params = ParameterBuffer(shapes: config.parameterShapes)
        let grads = ParameterBuffer(layoutOf: params)
        for i in 0..<params.count { params.pointer[i] = (2 * random.nextUnitFloat() - 1) * 0.6 }
        let stack = RecurrentStack(side: "encoder", embedding: "src_embedding", configuration: config, parameters: params, gradients: grads)
        let sequences: [[Int32]] = [[1, 2, 3], [4, 5, 6, 1, 2], [], [6]]
        let P = Packing(lengths: sequences.map(\.count))
        let ids = P.pack(sequences, fill: 0)
        let (B, H, L) = (4, 6, 2)
        let wTop = randomArray(P.total * H, scale: 1, &random)
        let wH = randomArray(L * B * H, scale: 1, &random), wC = randomArray(L * B * H, scale: 1, &random)
        var finalH = [Float](repeating: 0, count: L * B * H), finalC = finalH
        func loss() -> Double {
            var r: RandomGenerator? = nil
            let top = stack.forward(ids: ids, packing: P, h0: nil, c0: nil, finalH: &finalH, finalC: &finalC, dropout: 0, random: &r)
            return weightedSum(top, wTop) + weightedSum(finalH, wH) + (cell.hasCellState ? weightedSum(finalC, wC) : 0)
        }
        _ = loss()
        grads.zero()
        stack.backward(dTop: wTop, ids: ids, packing: P, c0: nil, dFinalH: wH, dFinalC: cell.hasCellState ? wC : nil,
                       dh0: nil, dc0: nil)
        for e in params.entries where e.name.hasPrefix("encoder") || e.name == "src_embedding" {
            checkGradient("bi \(cell) \(e.name)", params.pointer + e.offset, count: e.count, analytic: grads.values(e.name), loss: loss)
        }
    }

    /// The attention layer alone: scores, masked softmax, context, [c ; h] → h̃, with a loss on
    /// h̃ and on the weights; gradients w.r.t. the query, memory, keys and W_c, b_c.
    @Test(arguments: [AttentionKind.dot, .general])
    func attentionLayer(kind: AttentionKind) {
        var random = RandomGenerator(seed: 18)
        let (H, S, n) = (5, 4, 3)
        let params = ParameterBuffer(shapes: GlobalAttention.parameterShapes(kind: kind, hiddenSize: H))
        let grads = ParameterBuffer(layoutOf: params)
        for i in 0..<params.count { params.pointer[i] = (2 * random.nextUnitFloat() - 1) * 0.6 }
        let attention = GlobalAttention(kind: kind, hiddenSize: H, parameters: params)
        let gradients = GlobalAttention(kind: kind, hiddenSize: H, parameters: grads)
        let queries = Floats(randomArray(n * H, scale: 1, &random))   // [n, H]
        let memory = Floats(randomArray(S * H, scale: 1, &random))    // [S, H] one sentence
        let lengths = [4, 2, 3]                                       // each query sees a prefix
        let wOut = randomArray(n * H, scale: 1, &random), wA = randomArray(n * S, scale: 1, &random)
        var keys = [Float](repeating: 0, count: S * H), a = [Float](repeating: 0, count: n * S)
        var ch = [Float](repeating: 0, count: n * 2 * H), y = [Float](repeating: 0, count: n * H)
        func loss() -> Double {
            keys = Array(UnsafeBufferPointer(start: memory.p, count: S * H))
            attention.prepareKeys(memory: memory.p, rows: S, keys: &keys)
            a = [Float](repeating: 0, count: n * S)
            for r in 0..<n {
                ch.withUnsafeMutableBufferPointer { c in
                    attention.forwardRow(query: queries.p + r * H, memory: memory.p, keys: keys, length: lengths[r],
                                         weights: &a[r * S], context: c.baseAddress! + r * 2 * H)
                    (c.baseAddress! + r * 2 * H + H).update(from: queries.p + r * H, count: H)
                }
            }
            attention.combine(rows: n, contextAndHidden: ch, output: &y)
            return weightedSum(y, wOut) + weightedSum(a, wA)
        }
        _ = loss()
        var dPre = [Float](repeating: 0, count: n * H), dch = [Float](repeating: 0, count: n * 2 * H)
        attention.combineBackward(rows: n, outputGradient: wOut, output: y, preActivationGradient: &dPre, inputGradient: &dch)
        attention.combineWeightGradients(rows: n, preActivationGradient: dPre, contextAndHidden: ch, gradients: gradients)
        var dq = [Float](repeating: 0, count: n * H), dM = [Float](repeating: 0, count: S * H), dK = dM
        var scratch = [Float](repeating: 0, count: S)
        for r in 0..<n {
            dq.withUnsafeMutableBufferPointer { q in
                let dqr = q.baseAddress! + r * H
                dqr.update(from: dch.withUnsafeBufferPointer { $0.baseAddress! } + r * 2 * H + H, count: H)
                // The weights' own loss term enters as a gradient on the scores through the softmax:
                // fold it in by treating w·a as part of da (dc·e_j + w_j).
                let dc = Array(dch[(r * 2 * H)..<(r * 2 * H + H)])
                attention.backwardRow(query: queries.p + r * H, memory: memory.p, keys: keys, length: lengths[r],
                                      weights: Array(a[(r * S)...]), contextGradient: dc, queryGradient: dqr,
                                      memoryGradient: &dM, keysGradient: &dK, scratch: &scratch)
                // Σ_j w_j a_j: d/ds_j = a_j (w_j − Σ_k a_k w_k), into the query and keys like any score gradient.
                let S_r = lengths[r]
                let mean = (0..<S_r).reduce(Float(0)) { $0 + a[r * S + $1] * wA[r * S + $1] }
                for j in 0..<S_r {
                    let ds = a[r * S + j] * (wA[r * S + j] - mean)
                    for k in 0..<H {
                        dqr[k] += ds * keys[j * H + k]
                        dK[j * H + k] += ds * queries.p[r * H + k]
                    }
                }
            }
        }
        attention.prepareKeysBackward(keysGradient: dK, memory: memory.p, rows: S, memoryGradient: &dM, gradients: gradients)
        checkGradient("\(kind) queries", queries.p, count: queries.count, analytic: dq, loss: loss)
        checkGradient("\(kind) memory", memory.p, count: memory.count, analytic: dM, loss: loss)
        for e in params.entries {
            checkGradient("\(kind) \(e.name)", params.pointer + e.offset, count: e.count, analytic: grads.values(e.name), loss: loss)
        }
    }

    /// Whole model: embeddings, both stacks, the state hand-over, output layer,
    /// label-smoothed loss and dropout (fixed masks), on random small shapes.
    @Test func wholeModel() throws {
        var random = RandomGenerator(seed: 16)
        let config = ModelConfiguration(sourceVocabularySize: 9, targetVocabularySize: 8, embeddingSize: 4, hiddenSize: 5,
                                        layerCount: 2, dropout: 0.2)
        let model = try Seq2SeqModel(configuration: config, seed: 3, initScale: 0.5)
        let sources = randomSequences(4, lengths: 1...6, vocabulary: 9, random: &random)
        let targets = randomSequences(4, lengths: 1...5, vocabulary: 8, random: &random)
        let batch = try Batch(sources: sources, targets: targets, bos: 1, eos: 2)
        func loss() -> Double {
            var r: RandomGenerator? = RandomGenerator(seed: 5)
            return Double((try? model.run(batch, labelSmoothing: 0.1, training: true, random: &r))?.loss ?? .nan)
        }
        _ = loss()
        let analytic = ParameterBuffer(layoutOf: model.parameters)
        analytic.copy(from: model.gradients)
        for e in model.parameters.entries {
            checkGradient(e.name, model.parameters.pointer + e.offset, count: e.count, analytic: analytic.values(e.name), loss: loss)
        }
    }
}
