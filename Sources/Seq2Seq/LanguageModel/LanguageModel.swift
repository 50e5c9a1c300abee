/// The recurrent state carried from one chunk to the next: `h` (and `c` for the LSTM) of every
/// layer for B rows, `[L, B, H]`.
///
/// Truncated BPTT: a chunk starts from this state, and `LanguageModel` replaces it by the
/// chunk's final states after the chunk has run (and after its backward pass, which reads the
/// initial cell state). The values are carried, the gradient is not: nothing flows back into
/// an earlier chunk.
public final class RecurrentState {
    public let layerCount: Int, rowCount: Int, hiddenSize: Int
    public let cell: CellKind
    private(set) var h = FloatBuffer(), c = FloatBuffer()          // [L, B, H] start of the next chunk
    private(set) var nextH = FloatBuffer(), nextC = FloatBuffer()  // [L, B, H] end of the last chunk

    /// A zero state for `rows` rows of `configuration`'s model.
    public convenience init(configuration: LanguageModelConfiguration, rows: Int) {
        self.init(layerCount: configuration.layerCount, rows: rows, hiddenSize: configuration.hiddenSize, cell: configuration.cell)
    }

    init(layerCount: Int, rows: Int, hiddenSize: Int, cell: CellKind) {
        self.layerCount = layerCount
        rowCount = rows
        self.hiddenSize = hiddenSize
        self.cell = cell
        reset()
    }

    /// Sets every state to zero (the start of a text).
    public func reset() {
        let n = layerCount * rowCount * hiddenSize
        for buffer in [h, c, nextH, nextC] { buffer.zeroed(n) }
    }

    /// Hidden states `[L, B, H]`.
    public var hidden: [Float] { h.array(layerCount * rowCount * hiddenSize) }
    /// Cell states `[L, B, H]` (LSTM; zeros for other cells).
    public var cellState: [Float] { c.array(layerCount * rowCount * hiddenSize) }

    /// Overwrites the state (e.g. restored from a checkpoint); each array holds `[L, B, H]` floats.
    public func set(hidden: [Float], cellState: [Float]) throws {
        let n = layerCount * rowCount * hiddenSize
        guard hidden.count == n, cellState.count == n else {
            throw LanguageModelError.mismatchedState("expected \(n) floats per state, got \(hidden.count) and \(cellState.count)")
        }
        h.reserve(n).update(from: hidden, count: n)
        c.reserve(n).update(from: cellState, count: n)
    }

    /// A new state holding rows `range` of this one.
    func rows(_ range: Range<Int>) -> RecurrentState {
        let part = RecurrentState(layerCount: layerCount, rows: range.count, hiddenSize: hiddenSize, cell: cell)
        copyRows(from: self, range.lowerBound, to: part, 0, count: range.count)
        return part
    }

    /// Writes `part`'s state into rows starting at `row`.
    func setRows(_ row: Int, from part: RecurrentState) {
        copyRows(from: part, 0, to: self, row, count: part.rowCount)
    }

    private func copyRows(from a: RecurrentState, _ aRow: Int, to b: RecurrentState, _ bRow: Int, count: Int) {
        let H = hiddenSize
        for l in 0..<layerCount {
            (b.h.pointer + (l * b.rowCount + bRow) * H).update(from: a.h.pointer + (l * a.rowCount + aRow) * H, count: count * H)
            (b.c.pointer + (l * b.rowCount + bRow) * H).update(from: a.c.pointer + (l * a.rowCount + aRow) * H, count: count * H)
        }
    }

    /// The final states of the chunk just run become the start of the next one.
    func advance() {
        swap(&h, &nextH)
        swap(&c, &nextC)
    }
}

/// One chunk of B streams for truncated BPTT, packed time-major (`Packing` of the streams'
/// lengths; streams are ordered longest first, as `TextStreams` makes them).
public struct TokenChunk: Sendable {
    /// Steps of each stream in this chunk (non-increasing; 0 allowed).
    public let lengths: [Int]
    /// Input unit ids `[N]`, packed: step t of stream b at `offsets[t] + b`.
    public let inputs: [Int32]
    /// Target ids `[N]` (the next unit of each input), same packing.
    public let targets: [Int32]

    /// Packs per-stream inputs and targets (each stream's targets as long as its inputs).
    /// - Throws: `LanguageModelError.mismatchedState` for unequal lengths or lengths that grow.
    public init(inputs: [[Int32]], targets: [[Int32]]) throws {
        guard inputs.count == targets.count, zip(inputs, targets).allSatisfy({ $0.count == $1.count }) else {
            throw LanguageModelError.mismatchedState("every stream needs as many targets as inputs")
        }
        guard !inputs.isEmpty, zip(inputs, inputs.dropFirst()).allSatisfy({ $0.count >= $1.count }) else {
            throw LanguageModelError.mismatchedState("a chunk needs streams ordered longest first")
        }
        lengths = inputs.map(\.count)
        let P = Packing(lengths: lengths)
        self.inputs = P.pack(inputs, fill: 0)
        self.targets = P.pack(targets, fill: 0)
    }

    /// Already packed ids (lengths non-increasing).
    init(lengths: [Int], packedInputs: [Int32], packedTargets: [Int32]) {
        self.lengths = lengths
        inputs = packedInputs
        targets = packedTargets
    }

    /// B: number of streams.
    public var rowCount: Int { lengths.count }
    /// N: units predicted in this chunk.
    public var unitCount: Int { lengths.reduce(0, +) }
    var packing: Packing { Packing(lengths: lengths) }

    /// The chunk of streams `range` only (still ordered longest first).
    func rows(_ range: Range<Int>) -> TokenChunk {
        let P = packing
        let part = Array(lengths[range])
        let Q = Packing(lengths: part)
        var x = [Int32](repeating: 0, count: max(Q.total, 1)), y = x
        for t in 0..<Q.maxLength {
            for r in 0..<Q.batchSizes[t] {
                x[Q.offsets[t] + r] = inputs[P.offsets[t] + range.lowerBound + r]
                y[Q.offsets[t] + r] = targets[P.offsets[t] + range.lowerBound + r]
            }
        }
        return TokenChunk(lengths: part, packedInputs: x, packedTargets: y)
    }
}

/// A recurrent language model: `embedding` → L recurrent layers (`RecurrentStack`, any cell) →
/// dropout → `out_weight`/`out_bias` → softmax over the next unit.
///
/// Parameters live in one `ParameterBuffer` (names in `LanguageModelConfiguration`);
/// `gradients` has the same layout. Not thread-safe: one instance per thread.
public final class LanguageModel {
    public let configuration: LanguageModelConfiguration
    public let parameters: ParameterBuffer
    /// Gradients of the last `computeGradients` call.
    public let gradients: ParameterBuffer

    let stack: RecurrentStack
    let V: Int, H: Int
    let outWeight: UnsafeMutablePointer<Float>, outBias: UnsafeMutablePointer<Float>    // [V, H], [V]
    let dOutWeight: UnsafeMutablePointer<Float>, dOutBias: UnsafeMutablePointer<Float>  // [V, H], [V]
    let logits = FloatBuffer()      // [N, V]  logits; after a training forward, scale·∂loss/∂logits
    let dropped = FloatBuffer()     // [N, H]  top output after dropout (the output layer's input)
    let mask = FloatBuffer()        // [N, H]  dropout mask on the top output
    let dTop = FloatBuffer()        // [N, H]  gradient w.r.t. the top output
    let scratch = FloatBuffer()     // [V]
    private var outputInput: UnsafeMutablePointer<Float>?   // [N, H] what the output layer read
    private var droppedOut = false
    private var lastPacking: Packing?                        // of the last forward
    private let oneStep = Packing(lengths: [1])              // sampling: one unit of one row

    /// A new model with parameters drawn uniformly from [−initScale, initScale].
    public convenience init(configuration: LanguageModelConfiguration, seed: UInt64, initScale: Float = 0.1) throws {
        try configuration.validate()
        let p = ParameterBuffer(shapes: configuration.parameterShapes)
        var random = RandomGenerator(seed: seed)
        for i in 0..<p.count { p.pointer[i] = (2 * random.nextUnitFloat() - 1) * initScale }
        try self.init(configuration: configuration, adopting: p)
    }

    /// A model over `values`, which it uses itself (not copied); the layout must be
    /// `configuration.parameterShapes`.
    public init(configuration: LanguageModelConfiguration, adopting values: ParameterBuffer) throws {
        try configuration.validate()
        let layout = configuration.parameterShapes
        guard layout.map(\.name) == values.entries.map(\.name), layout.map(\.shape) == values.entries.map(\.shape) else {
            throw LanguageModelError.invalidConfiguration("the parameter tensors do not match the configuration's layout")
        }
        self.configuration = configuration
        parameters = values
        gradients = ParameterBuffer(layoutOf: values)
        (V, H) = (configuration.vocabularySize, configuration.hiddenSize)
        stack = RecurrentStack(prefix: configuration.layerPrefix, embedding: "embedding", cell: configuration.cell,
                               vocabularySize: V, embeddingSize: configuration.embeddingSize, hiddenSize: H,
                               layerCount: configuration.layerCount, parameters: values, gradients: gradients)
        outWeight = values.view("out_weight"); outBias = values.view("out_bias")
        dOutWeight = gradients.view("out_weight"); dOutBias = gradients.view("out_bias")
    }

    /// Forward and backward over one chunk from `state` (with dropout if the configuration has
    /// it). Sets `gradients` to ∂loss/∂parameters, loss = mean over the chunk's N units, and
    /// advances `state` to the chunk's final states (detached: no gradient flows into it).
    public func computeGradients(on chunk: TokenChunk, state: RecurrentState,
                                 random: inout RandomGenerator) throws -> LossResult {
        var r: RandomGenerator? = random
        let result = try run(chunk, state: state, training: true, random: &r)
        random = r!
        return result
    }

    /// Forward-only loss over one chunk (no dropout; gradients untouched); advances `state`.
    public func loss(on chunk: TokenChunk, state: RecurrentState) throws -> LossResult {
        var none: RandomGenerator? = nil
        return try run(chunk, state: state, training: false, random: &none)
    }

    func run(_ chunk: TokenChunk, state: RecurrentState, training: Bool, random: inout RandomGenerator?) throws -> LossResult {
        try check(chunk.inputs, rows: chunk.rowCount, state: state)
        try check(chunk.targets, rows: chunk.rowCount, state: state)
        return runChecked(chunk, state: state, training: training, meanOver: chunk.unitCount, random: &random)
    }

    /// `run` on a chunk already checked; with `training`, the gradients are of the summed loss
    /// divided by `meanOver` (the chunk's own units, or all units of a chunk split in parts).
    func runChecked(_ chunk: TokenChunk, state: RecurrentState, training: Bool, meanOver count: Int,
                    random: inout RandomGenerator?) -> LossResult {
        let P = chunk.packing, N = P.total
        let p = training ? configuration.dropout : 0
        let sum = chunk.inputs.withUnsafeBufferPointer { inputs in
            chunk.targets.withUnsafeBufferPointer { targets in
                forward(ids: inputs.baseAddress!, packing: P, state: state, dropout: p, random: &random,
                        targets: targets.baseAddress!, gradientScale: training ? 1 / Float(max(count, 1)) : nil)
            }
        }
        if training {
            gradients.zero()
            chunk.inputs.withUnsafeBufferPointer { backward(ids: $0.baseAddress!, packing: P, state: state) }
        }
        state.advance()
        return LossResult(loss: Float(sum / Double(max(N, 1))), lossSum: sum, tokenCount: N)
    }

    /// Throws unless every id is in the vocabulary and the state has `rows` rows of this model.
    func check(_ ids: [Int32], rows: Int, state: RecurrentState) throws {
        for id in ids where id < 0 || Int(id) >= V { throw LanguageModelError.tokenOutOfRange(id: id, vocabularySize: V) }
        let c = configuration
        guard state.rowCount == rows, state.layerCount == c.layerCount, state.hiddenSize == H, state.cell == c.cell else {
            throw LanguageModelError.mismatchedState(
                "the state has \(state.rowCount) rows of \(state.layerCount)×\(state.hiddenSize) \(state.cell.rawValue), "
                    + "the chunk \(rows) rows for a \(c.layerCount)×\(H) \(c.cell.rawValue) model")
        }
    }

    /// Embedding → stack (from `state`, final states into `state.next`) → dropout → logits `[N, V]`.
    /// With `targets`, returns the summed cross-entropy; with `gradientScale`, `logits` then holds
    /// `gradientScale · ∂loss/∂logits` for `backward`.
    @discardableResult
    func forward(ids: UnsafePointer<Int32>, packing P: Packing, state: RecurrentState, dropout p: Float,
                 random: inout RandomGenerator?, targets: UnsafePointer<Int32>?, gradientScale: Float?) -> Double {
        let N = P.total
        lastPacking = P
        let top = stack.forward(ids: ids, packing: P, h0: state.h.pointer, c0: state.c.pointer,
                                finalH: state.nextH.pointer, finalC: state.nextC.pointer, dropout: p, random: &random)
        droppedOut = p > 0 && random != nil
        var y = top                                                                      // [N, H]
        if droppedOut {
            Dropout.makeMask(mask.reserve(N * H), count: N * H, probability: p, random: &random!)
            y = dropped.reserve(N * H)
            Dropout.forward(top, mask: mask.pointer, output: y, count: N * H)
        }
        outputInput = y
        let z = logits.reserve(N * V)                                                    // [N, V]
        Linear.forward(input: y, rows: N, inputSize: H, outputSize: V, weight: outWeight, bias: outBias, output: z)
        guard let targets else { return 0 }
        return SoftmaxCrossEntropy.forwardBackward(logits: z, targets: targets, rows: N, classes: V, labelSmoothing: 0,
                                                   gradientScale: gradientScale, scratch: scratch.reserve(V))
    }

    /// Backward of the last training `forward`, walking it in reverse; accumulates into `gradients`.
    /// The chunk's initial state is a constant (truncation): no gradient is computed for it.
    func backward(ids: UnsafePointer<Int32>, packing P: Packing, state: RecurrentState) {
        let N = P.total
        let d = dTop.reserve(N * H)                                                      // [N, H]
        Linear.backward(outputGradient: logits.pointer, input: outputInput!, rows: N, inputSize: H, outputSize: V,
                        weight: outWeight, weightGradient: dOutWeight, biasGradient: dOutBias, inputGradient: d)
        if droppedOut { Dropout.backward(d, mask: mask.pointer, inputGradient: d, count: N * H) }   // through dropout
        stack.backward(dTop: d, ids: ids, packing: P, c0: state.c.pointer, dFinalH: nil, dFinalC: nil, dh0: nil, dc0: nil)
    }

    // MARK: Inference

    /// Feeds `ids` to one row from `state` (1 row; no dropout), advances the state, and returns
    /// the logits `[V]` after the last id (valid until the next call).
    /// - Throws: `LanguageModelError.tokenOutOfRange`, `.mismatchedState`; empty `ids` is a mismatch.
    public func feed(_ ids: [Int32], state: RecurrentState) throws -> UnsafeMutablePointer<Float> {
        guard !ids.isEmpty else { throw LanguageModelError.mismatchedState("feed needs at least one unit") }
        try check(ids, rows: 1, state: state)
        let P = ids.count == 1 ? oneStep : Packing(lengths: [ids.count])
        var none: RandomGenerator? = nil
        _ = ids.withUnsafeBufferPointer {
            forward(ids: $0.baseAddress!, packing: P, state: state, dropout: 0, random: &none, targets: nil, gradientScale: nil)
        }
        state.advance()
        return logits.pointer + (ids.count - 1) * V
    }

    /// Logits `[N, V]` of the last forward, in packed order (tests, `lm states`).
    func lastLogits() -> [Float] { logits.array((lastPacking?.total ?? 0) * V) }

    /// The activations layer `l` kept from the last forward, packed `[N, …]`: `h`, LSTM `c`, and
    /// the activated gates (LSTM i, f, g, o; GRU r, z, n; RNN: h again) `[N, G·H]`.
    func layerActivations(_ l: Int) -> (h: UnsafePointer<Float>, c: UnsafePointer<Float>?, gates: UnsafePointer<Float>) {
        let cache = stack.caches[l][0]
        return (UnsafePointer(cache.h.pointer), configuration.cell.hasCellState ? UnsafePointer(cache.c.pointer) : nil,
                UnsafePointer(cache.gates.pointer))
    }
}
