/// Luong global attention (Luong, Pham & Manning 2015) on the top decoder layer.
///
/// For a decoder output h_t `[H]` and the encoder outputs e_j `[H]` of its own source
/// sentence (j < S, the source length; nothing past it is looked at):
///
///     s_tj = h_tᵀ · W_a · e_j      ("general";  "dot": h_tᵀ · e_j)
///     a_t  = softmax_j(s_t)                                     [S]
///     c_t  = Σ_j a_tj · e_j                                     [H]
///     h̃_t  = tanh(W_c · [c_t ; h_t] + b_c)                      [H]   (context first, then h_t)
///
/// The scores are computed against *keys* k_j = W_a · e_j (= e_j for "dot"), prepared
/// once per source sentence, so a decoding step costs two passes over the sentence's
/// memory. Row functions (`forwardRow`, `backwardRow`) are shared by training and
/// decoding; the `[c ; h] → h̃` projection runs as one GEMM over many rows.
///
/// Weights: W_a `[H, H]` (general only), W_c `[H, 2H]`, b_c `[H]`.
struct GlobalAttention {
    let kind: AttentionKind
    let H: Int
    let wA: UnsafeMutablePointer<Float>?
    let wC: UnsafeMutablePointer<Float>, bC: UnsafeMutablePointer<Float>

    init(kind: AttentionKind, hiddenSize: Int, parameters: ParameterBuffer) {
        self.kind = kind
        H = hiddenSize
        wA = kind == .general ? parameters.view("attention.W_a") : nil
        wC = parameters.view("attention.W_c")
        bC = parameters.view("attention.b_c")
    }

    /// Names and shapes of the attention tensors (none for `.none`).
    static func parameterShapes(kind: AttentionKind, hiddenSize H: Int) -> [(name: String, shape: [Int])] {
        switch kind {
        case .none: return []
        case .dot: return [("attention.W_c", [H, 2 * H]), ("attention.b_c", [H])]
        case .general: return [("attention.W_a", [H, H]), ("attention.W_c", [H, 2 * H]), ("attention.b_c", [H])]
        }
    }
}

// MARK: Memory and keys

extension GlobalAttention {
    /// Keys for `rows` memory rows: `K = M · W_aᵀ` (k_j = W_a e_j) for "general"; "dot" uses
    /// the memory itself (nothing is written).   M `[rows, H]`, K `[rows, H]`.
    func prepareKeys(memory M: UnsafePointer<Float>, rows: Int, keys K: UnsafeMutablePointer<Float>) {
        guard let wA else { return }
        BLAS.gemm(transB: true, m: rows, n: H, k: H, a: M, lda: H, b: wA, ldb: H, beta: 0, c: K, ldc: H)
    }

    /// Backward of `prepareKeys`: `dM += dK · W_a` and `dW_a += dKᵀ · M` ("general");
    /// `dM += dK` ("dot").   dK, M, dM `[rows, H]`.
    func prepareKeysBackward(keysGradient dK: UnsafePointer<Float>, memory M: UnsafePointer<Float>, rows: Int,
                             memoryGradient dM: UnsafeMutablePointer<Float>, gradients: GlobalAttention) {
        if let wA, let dWA = gradients.wA {
            BLAS.gemm(m: rows, n: H, k: H, a: dK, lda: H, b: wA, ldb: H, beta: 1, c: dM, ldc: H)
            BLAS.gemm(transA: true, m: H, n: H, k: rows, a: dK, lda: H, b: M, ldb: H, beta: 1, c: dWA, ldc: H)
        } else {
            Kernels.add(dK, into: dM, count: rows * H)
        }
    }
}

// MARK: One row: scores, softmax, context

extension GlobalAttention {
    /// Attention of one query over one sentence's memory.
    ///
    /// - query h `[H]`; memory `[S, H]` (e_j) and keys `[S, H]` (k_j) of the row's sentence.
    /// - Writes the weights a `[S]` and the context c `[H]`. S = 0 gives c = 0.
    func forwardRow(query h: UnsafePointer<Float>, memory M: UnsafePointer<Float>, keys K: UnsafePointer<Float>,
                    length S: Int, weights a: UnsafeMutablePointer<Float>, context c: UnsafeMutablePointer<Float>) {
        c.update(repeating: 0, count: H)
        guard S > 0 else { return }
        for j in 0..<S { a[j] = Kernels.dot(h, K + j * H, count: H) }           // s_j = h · k_j
        let m = Kernels.maximum(a, count: S)
        let sum = Kernels.expShiftedInPlace(a, shift: m, count: S)                // a_j = e^(s_j − m)
        let inverse = 1 / sum
        for j in 0..<S {
            a[j] *= inverse                                                      // softmax
            Kernels.addScaled(M + j * H, scale: a[j], into: c, count: H)         // c += a_j · e_j
        }
    }

    /// Backward of `forwardRow`, walking it in reverse.
    ///
    /// - dc `[H]`: gradient w.r.t. the context. Adds into dh `[H]` (the query), dM and dK
    ///   `[S, H]` (the sentence's memory and keys). `scratch` holds S floats.
    func backwardRow(query h: UnsafePointer<Float>, memory M: UnsafePointer<Float>, keys K: UnsafePointer<Float>,
                     length S: Int, weights a: UnsafePointer<Float>, contextGradient dc: UnsafePointer<Float>,
                     queryGradient dh: UnsafeMutablePointer<Float>, memoryGradient dM: UnsafeMutablePointer<Float>,
                     keysGradient dK: UnsafeMutablePointer<Float>, scratch da: UnsafeMutablePointer<Float>) {
        guard S > 0 else { return }
        var weighted: Float = 0                                                  // Σ_k a_k · da_k
        for j in 0..<S {
            da[j] = Kernels.dot(dc, M + j * H, count: H)                        // backprop into a_j
            weighted += a[j] * da[j]
            Kernels.addScaled(dc, scale: a[j], into: dM + j * H, count: H)      // into e_j through c
        }
        for j in 0..<S {
            let ds = a[j] * (da[j] - weighted)                                  // through the softmax
            Kernels.addScaled(K + j * H, scale: ds, into: dh, count: H)         // into the query
            Kernels.addScaled(h, scale: ds, into: dK + j * H, count: H)         // into k_j
        }
    }
}

// MARK: Attentional hidden state h̃ = tanh(W_c [c ; h] + b_c)

extension GlobalAttention {
    /// `h̃ = tanh([c ; h] · W_cᵀ + b_c)` for `rows` rows.   ch `[rows, 2H]`, h̃ `[rows, H]`.
    /// Output columns `columns` only (default all), so decoding can split the product.
    func combine(rows n: Int, contextAndHidden ch: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>,
                 columns: Range<Int>? = nil) {
        let cols = columns ?? 0..<H
        let (j0, w) = (cols.lowerBound, cols.count)
        for r in 0..<n { (y + r * H + j0).update(from: bC + j0, count: w) }
        Kernels.addProductTransposed(m: n, n: w, k: 2 * H, a: ch, lda: 2 * H, w: wC + j0 * 2 * H, ldw: 2 * H,
                                     c: y + j0, ldc: H)
        for r in 0..<n { Kernels.tanhInPlace(y + r * H + j0, count: w) }
    }

    /// Backward of `combine` for `rows` rows: `dPre = dh̃ ⊙ (1 − h̃²)` `[rows, H]`,
    /// `d[c ; h] = dPre · W_c` `[rows, 2H]`. The weight gradients follow in `combineWeightGradients`.
    func combineBackward(rows n: Int, outputGradient dy: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         preActivationGradient dPre: UnsafeMutablePointer<Float>,
                         inputGradient dch: UnsafeMutablePointer<Float>) {
        for i in 0..<n * H { dPre[i] = dy[i] * (1 - y[i] * y[i]) }               // backprop through tanh
        BLAS.gemm(m: n, n: 2 * H, k: H, a: dPre, lda: H, b: wC, ldb: 2 * H, beta: 0, c: dch, ldc: 2 * H)
    }

    /// `dW_c += dPreᵀ · [c ; h]`, `db_c += Σ dPre` over `rows` rows (one GEMM for a whole batch).
    func combineWeightGradients(rows n: Int, preActivationGradient dPre: UnsafePointer<Float>,
                                contextAndHidden ch: UnsafePointer<Float>, gradients: GlobalAttention) {
        BLAS.gemm(transA: true, m: H, n: 2 * H, k: n, a: dPre, lda: H, b: ch, ldb: 2 * H, beta: 1, c: gradients.wC, ldc: 2 * H)
        Kernels.addColumnSums(dPre, rows: n, columns: H, into: gradients.bC)
    }
}
