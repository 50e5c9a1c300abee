import CMatrix
import Foundation

// The only file that imports the matrix library (CMatrix: oneDNN's sgemm). Everything else
// multiplies matrices through `BLAS.gemm` / `BLAS.gemv`, which take row-major operands and raw
// pointers, and sets threads through `ComputeThreads`.
//
// Backend, chosen by measurement on the model's shapes (`seq2seq bench peak` prints the table):
// oneDNN's `dnnl_sgemm` reached 205–220 GFLOP/s on 2 threads for the output layer and the input
// projections on a Zen 4 (≈ 90–95% of the measured FMA peak of 231) against 150–200 for OpenBLAS
// 0.3.21, whose kernel choice also follows the environment's OPENBLAS_CORETYPE; one thread of
// oneDNN runs at 105–110 (95% of one core's peak). oneDNN's own OpenMP threading is not used: its
// threads spin-wait, which oversubscribed the cores inside our split decoder steps and collapsed
// on a machine shared with other jobs (greedy SMALL 34 sent/s vs 270 on one thread under load),
// and it splits few-row products poorly (64×2048×512: 90 GFLOP/s on 2 threads, less than 1).
// Instead every product runs single-threaded in oneDNN and the facade splits it into blocks of
// columns or rows over its own threads (Dispatch, which blocks when idle).

/// Threads for matrix products and for the element-wise work split with `Parallel.forEach`.
///
/// A product large enough to be worth it is split into one block per thread (by columns or rows,
/// whichever is larger), each block computed by oneDNN on its thread; a product called inside a
/// `Parallel.forEach` part is not split again, so a two-part decoder step uses exactly the
/// configured cores. Results are bit-identical for a fixed thread count; different counts may
/// differ in the last bits (blocks of different widths).
public enum ComputeThreads {
    /// Sets the number of threads (at least 1) for every following product and parallel split
    /// (process-wide; call it once, from the command's `run`).
    public static func configure(_ count: Int) {
        let n = Int32(clamping: max(1, count))
        cmatrix_set_threads(n, n)
    }

    /// Number of threads products use now (before `configure`: every core).
    public static var count: Int {
        let n = Int(cmatrix_product_threads())
        return n > 0 ? n : defaultCount
    }

    /// Number of threads `Parallel.forEach` uses at most.
    static var teamCount: Int {
        let n = Int(cmatrix_team_threads())
        return n > 0 ? n : defaultCount
    }

    static let defaultCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// True while the calling thread runs one part of a split (where products stay single-threaded).
    public static var insideParallelPart: Bool { cmatrix_inside_part() != 0 }

    /// Runs `body` with every product and split on the calling thread alone (e.g. while other
    /// threads decode other batches on the remaining cores).
    public static func onCallingThreadOnly<T>(_ body: () throws -> T) rethrows -> T {
        let previous = cmatrix_set_inside_part(1)
        defer { cmatrix_set_inside_part(previous) }
        return try body()
    }

    /// Runs `body(part)` for every `part < parts`, at most `teamCount` at once (the caller's thread
    /// is one of them), each marked as inside a part. Inside a part, the parts run one after another.
    static func run(parts: Int, _ body: (Int) -> Void) {
        if parts <= 0 { return }
        let team = min(parts, teamCount)
        if parts == 1 || team <= 1 || insideParallelPart {
            let previous = cmatrix_set_inside_part(1)
            defer { cmatrix_set_inside_part(previous) }
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: team) { worker in
                let previous = cmatrix_set_inside_part(1)
                defer { cmatrix_set_inside_part(previous) }
                var part = worker
                while part < parts {
                    shared.value(part)
                    part += team
                }
            }
        }
    }
}

/// A value handed to `concurrentPerform` whose concurrent use the caller guarantees is safe.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Arithmetic of training's matrix products.
public enum TrainingPrecision: String, CaseIterable, Sendable {
    /// 32-bit floats throughout.
    case fp32
    /// Mixed precision: every large product rounds its operands (weights, activations, gradients)
    /// to bf16 and accumulates in fp32; master weights, Adam, softmax, loss, norms and clipping
    /// stay fp32. Needs AVX512_BF16 (`InstructionSet.hasBF16DotProduct`).
    case bf16

    /// Makes every following product use this precision (process-wide: call it once, from the
    /// command's `run`, before training starts). bf16 on a CPU without AVX512_BF16 stays fp32.
    public func apply() {
        BLAS.roundsToBFloatsEverywhere = self == .bf16 && InstructionSet.hasBF16DotProduct
    }
}

/// Description of the matrix library and the instruction set it dispatched to,
/// e.g. "oneDNN 2.6.3 (avx512_core)".
public func blasCoreName() -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    cmatrix_backend_description(&buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Row-major single-precision matrix products (the CBLAS row-major contract).
enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major.
    ///
    /// - `op(A)` is `[m, k]`: `A` is stored `[m, k]` (leading dimension `lda ≥ k`)
    ///   or, with `transA`, `[k, m]` (`lda ≥ m`).
    /// - `op(B)` is `[k, n]`: `B` is stored `[k, n]` (`ldb ≥ n`) or, with `transB`, `[n, k]` (`ldb ≥ k`).
    /// - `C` is `[m, n]` with `ldc ≥ n`.
    ///
    /// Empty products (`m`, `n` or `k` zero) are handled: with `k == 0`, `C` is scaled by `beta`
    /// (`beta == 0` clears it, NaNs included).
    @inline(__always)
    static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { for j in 0..<n { row[j] = 0 } } else { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        if roundsToBFloat16 && alpha == 1 && (beta == 0 || beta == 1) && 2 * m * n * k >= minimumBFloat16FLOPs {
            return gemmThroughBFloat16(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                       beta: beta, c: c, ldc: ldc)
        }
        let parts = splitParts(m: m, n: n, k: k)
        if parts == 1 {
            cmatrix_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        // One block per thread along the larger of m and n (so a few-row recurrent step splits its
        // columns and each thread reads only its share of the weights), in multiples of 16.
        let (ta, tb) = (transA ? Int32(1) : 0, transB ? Int32(1) : 0)
        let (aS, bS, cS) = (UncheckedSendable(a), UncheckedSendable(b), UncheckedSendable(c))
        let byColumns = n >= m
        let length = byColumns ? n : m
        let block = ((length + parts - 1) / parts + 15) & ~15
        ComputeThreads.run(parts: parts) { part in
            let lo = part * block, hi = min(length, lo + block)
            guard lo < hi else { return }
            if byColumns {  // C[:, lo..<hi] = op(A) · op(B)[:, lo..<hi]
                let b = transB ? bS.value + lo * ldb : bS.value + lo
                cmatrix_sgemm(ta, tb, m, hi - lo, k, alpha, aS.value, lda, b, ldb, beta, cS.value + lo, ldc)
            } else {        // C[lo..<hi, :] = op(A)[lo..<hi, :] · op(B)
                let a = transA ? aS.value + lo : aS.value + lo * lda
                cmatrix_sgemm(ta, tb, hi - lo, n, k, alpha, a, lda, bS.value, ldb, beta, cS.value + lo * ldc, ldc)
            }
        }
    }

    /// `C = A · op(B)` (`accumulate`: `C += A · op(B)`) with A `[m, k]` (lda) and B `[k, n]` (ldb;
    /// `transB`: stored `[n, k]`) in bf16 (`Kernels.toBFloat16`), fp32 accumulation into fp32 C
    /// `[m, n]` (ldc); split over the threads like `gemm` unless `splitsOverThreads` is false (one
    /// call: a refusal then leaves C untouched, so the caller can recompute it). bf16 doubles the products per
    /// instruction on CPUs with AVX512_BF16 (`vdpbf16ps`); elsewhere oneDNN emulates it.
    /// - Throws: `ModelError.invalidConfiguration` when oneDNN refuses the product.
    static func gemmBFloat16(
        transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        accumulate: Bool = false, c: UnsafeMutablePointer<Float>, ldc: Int, splitsOverThreads: Bool = true
    ) throws {
        if m == 0 || n == 0 { return }
        if k == 0 {   // an empty sum
            if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        let (tb, acc) = (transB ? Int32(1) : 0, accumulate ? Int32(1) : 0)
        let (aS, bS, cS) = (UncheckedSendable(a), UncheckedSendable(b), UncheckedSendable(c))
        let status = inBlocks(m: m, n: n, k: k, splits: splitsOverThreads) { rows, columns in
            let b = transB ? bS.value + columns.lowerBound * ldb : bS.value + columns.lowerBound
            return cmatrix_gemm_bf16(tb, rows.count, columns.count, k, aS.value + rows.lowerBound * lda, lda, b, ldb, acc,
                                     cS.value + rows.lowerBound * ldc + columns.lowerBound, ldc)
        }
        if status != 0 {
            throw ModelError.invalidConfiguration("oneDNN refused a bf16 product \(m)×\(n)×\(k) (status \(status))")
        }
    }

    /// Mixed-precision training (`train --precision bf16`): while true, every `gemm` with alpha 1,
    /// beta 0 or 1 and at least `minimumBFloat16FLOPs` rounds both operands to bf16 and accumulates
    /// in fp32 (`cmatrix_sgemm_as_bf16`); results, master weights and everything else stay fp32.
    /// Set it once, before any product, and only when `InstructionSet.hasBF16DotProduct`.
    nonisolated(unsafe) static var roundsToBFloatsEverywhere = false

    /// Whether this thread's products round to bf16: `withBFloat16Products`'s choice, else the
    /// process-wide mode.
    static var roundsToBFloat16: Bool {
        let override = cmatrix_bf16_override()
        return override >= 0 ? override == 1 : roundsToBFloatsEverywhere
    }

    /// Runs `body` with this thread's products in bf16 (`on`) or fp32, whatever the process-wide
    /// mode (tests compare both in one process without disturbing other threads).
    static func withBFloat16Products<R>(_ on: Bool, _ body: () throws -> R) rethrows -> R {
        let previous = cmatrix_bf16_override()
        cmatrix_set_bf16_override(on && InstructionSet.hasBF16DotProduct ? 1 : 0)   // the rounding needs AVX512_BF16
        defer { cmatrix_set_bf16_override(previous) }
        return try body()
    }

    /// Smaller products stay fp32 (rounding both operands would cost more than it saves).
    static let minimumBFloat16FLOPs = 1 << 20

    /// `gemm` (alpha 1, beta 0 or 1) with operands rounded to bf16, split over the threads like
    /// `gemm`. A block oneDNN refuses (it refuses before writing) is computed in fp32 instead, so
    /// no block is ever added twice.
    private static func gemmThroughBFloat16(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let (ta, tb, acc) = (transA ? Int32(1) : 0, transB ? Int32(1) : 0, beta == 1 ? Int32(1) : 0)
        // Operands already held in bf16 (`BFloat16Operands`: weights, the logit gradient) are read as they are.
        let (a16, b16) = (BFloat16Operands.bfloat16(at: a), BFloat16Operands.bfloat16(at: b))
        let (aS, bS, cS) = (UncheckedSendable(a), UncheckedSendable(b), UncheckedSendable(c))
        let (a16S, b16S) = (UncheckedSendable(a16), UncheckedSendable(b16))
        _ = inBlocks(m: m, n: n, k: k) { rows, columns in
            let aOffset = transA ? rows.lowerBound : rows.lowerBound * lda
            let bOffset = transB ? columns.lowerBound * ldb : columns.lowerBound
            let (a, b) = (aS.value + aOffset, bS.value + bOffset)
            let c = cS.value + rows.lowerBound * ldc + columns.lowerBound
            if cmatrix_sgemm_as_bf16(ta, tb, rows.count, columns.count, k, a, a16S.value.map { $0 + aOffset }, lda,
                                     b, b16S.value.map { $0 + bOffset }, ldb, acc, c, ldc) != 0 {
                cmatrix_sgemm(ta, tb, rows.count, columns.count, k, 1, a, lda, b, ldb, beta, c, ldc)
            }
            return 0
        }
    }

    /// `x[0..<count]` rounded to bf16 into `y`, as the mixed-precision products round their
    /// operands (round to nearest even; needs AVX512_BF16).
    static func roundToBFloat16(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<UInt16>) {
        cmatrix_round_to_bf16(x, count, y)
    }

    /// Runs `block(rows, columns)` for each block of C `[m, n]` when the product is split over the
    /// threads as `gemm` splits it (one block per thread along the larger of m and n, in multiples
    /// of 16; the whole of C when not split); returns the first non-zero status of a block, or 0.
    private static func inBlocks(m: Int, n: Int, k: Int, splits: Bool = true,
                                 _ block: @Sendable (_ rows: Range<Int>, _ columns: Range<Int>) -> Int32) -> Int32 {
        let parts = splits ? splitParts(m: m, n: n, k: k) : 1
        if parts == 1 { return block(0..<m, 0..<n) }
        let byColumns = n >= m
        let length = byColumns ? n : m
        let size = ((length + parts - 1) / parts + 15) & ~15
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: parts) { statuses in   // on the stack
            statuses.initialize(repeating: 0)
            let shared = UncheckedSendable(statuses)
            ComputeThreads.run(parts: parts) { part in
                let lo = part * size, hi = min(length, lo + size)
                guard lo < hi else { return }
                shared.value[part] = byColumns ? block(0..<m, lo..<hi) : block(lo..<hi, 0..<n)
            }
            return statuses.first { $0 != 0 } ?? 0
        }
    }

    /// Products below this many FLOPs stay on one thread (waking a second costs ~10 µs).
    static let minimumSplitFLOPs = 2_000_000

    /// Blocks a product is split into: `ComputeThreads.count`, or 1 inside a parallel part and
    /// for small products.
    static func splitParts(m: Int, n: Int, k: Int) -> Int {
        let threads = ComputeThreads.count
        if threads <= 1 || 2 * m * n * k < minimumSplitFLOPs || max(m, n) < 32 * threads { return 1 }
        return ComputeThreads.insideParallelPart ? 1 : threads
    }

    /// The same product on the calling thread alone, whatever `ComputeThreads.count` is
    /// (for benchmarks that compare threading strategies).
    static func gemmSingleThreaded(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 || k == 0 { return gemm(m: m, n: n, k: 0, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc) }
        cmatrix_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// `y = alpha · op(A) · x + beta · y`, row-major. `A` is stored `[m, n]` (`lda ≥ n`);
    /// without `trans`, `x` has `n` entries and `y` has `m`; with `trans`, `x` has `m` and `y` has `n`.
    @inline(__always)
    static func gemv(
        trans: Bool = false,
        m: Int, n: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>,
        beta: Float = 0,
        y: UnsafeMutablePointer<Float>
    ) {
        if m == 0 || n == 0 {
            let count = trans ? n : m
            for i in 0..<count { y[i] = beta == 0 ? 0 : y[i] * beta }
            return
        }
        if trans {
            gemm(m: 1, n: n, k: m, alpha: alpha, a: x, lda: m, b: a, ldb: lda, beta: beta, c: y, ldc: n)  // [1, m]·[m, n]
        } else {
            gemm(m: m, n: 1, k: n, alpha: alpha, a: a, lda: lda, b: x, ldb: 1, beta: beta, c: y, ldc: 1)  // [m, n]·[n, 1]
        }
    }

    /// `C = (A − ao) · Bᵀ` in integers on the calling thread: A `[m, k]` u8 (lda), B `[n, k]` s8
    /// (ldb), C `[m, n]` s32 (ldc). Returns false if the library refused the arguments.
    static func gemmInt8(m: Int, n: Int, k: Int, a: UnsafePointer<UInt8>, lda: Int, aOffset: UInt8,
                         b: UnsafePointer<Int8>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) -> Bool {
        if m == 0 || n == 0 { return true }
        return a.withMemoryRebound(to: UInt8.self, capacity: 1) { a in
            b.withMemoryRebound(to: CChar.self, capacity: 1) { b in
                c.withMemoryRebound(to: CInt.self, capacity: 1) { c in
                    cmatrix_gemm_u8s8s32_nt(m, n, k, a, lda, aOffset, b, ldb, c, ldc) == 0
                }
            }
        }
    }

    /// Whether int8 products run on VNNI (no 16-bit saturation of u8·s8 pairs).
    static var int8HasVNNI: Bool { cmatrix_has_vnni() != 0 }
}
