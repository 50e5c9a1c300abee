import Foundation

/// Measured ceilings of this machine, so benchmark figures can be given as "% of peak":
/// the register-only FMA rate per instruction set and the matrix library's rate on the
/// model's product shapes.
public enum ComputePeak {
    /// GFLOP/s of 12 independent vector FMA chains per thread, all `threads` threads at once
    /// (best of `trials`); nil if the CPU lacks `set`. About 0.1 s per trial.
    public static func fmaGigaflops(_ set: InstructionSet, threads: Int, trials: Int = 3) -> Double? {
        guard set.rawValue <= InstructionSet.supported.rawValue else { return nil }
        let iterations = 40_000_000 / max(1, set.lanes / 4)
        return bestRate(threads: threads, trials: trials, flopsPerThread: Double(iterations) * 12 * Double(set.lanes) * 2) {
            set.fmaSeconds(iterations: iterations)
        }
    }

    /// Best over `trials` of the summed GFLOP/s of `threads` threads each running `seconds()`
    /// (seconds for `flopsPerThread` FLOP; nil counts as no rate) at once.
    private static func bestRate(threads: Int, trials: Int, flopsPerThread: Double,
                                 _ seconds: @escaping @Sendable () -> Double?) -> Double {
        var best = 0.0
        for _ in 0..<trials {
            let times = UnsafeMutablePointer<Double>.allocate(capacity: threads)
            defer { times.deallocate() }
            times.initialize(repeating: 0, count: threads)
            let shared = UncheckedSendable(times)
            ComputeThreads.run(parts: threads) { part in shared.value[part] = seconds() ?? .infinity }
            var rate = 0.0
            for t in 0..<threads { rate += flopsPerThread / times[t] / 1e9 }
            best = max(best, rate)
        }
        return best
    }

    /// GFLOP/s of 12 independent `vdpbf16ps` chains per thread (a bf16 product and its addition
    /// count 2 FLOP, as in the fp32 figure), all `threads` threads at once, best of `trials`; nil
    /// without AVX512_BF16.
    public static func bf16DotGigaflops(threads: Int, trials: Int = 3) -> Double? {
        guard InstructionSet.hasBF16DotProduct else { return nil }
        let iterations = 10_000_000
        return bestRate(threads: threads, trials: trials, flopsPerThread: Double(iterations) * 12 * 32 * 2) {
            InstructionSet.bf16DotSeconds(iterations: iterations)
        }
    }

    /// Best-of-`trials` GFLOP/s of `shape` as a bf16 product (`BLAS.gemmBFloat16`, operands converted
    /// before timing, fp32 results), split over the configured threads like `gemm`.
    public static func bf16GemmGigaflops(_ shape: Shape, trials: Int = 5) throws -> Double {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        let a = (0..<(m * k)).map { Float($0 % 17) * 0.01 }, b = (0..<(k * n)).map { Float($0 % 13) * 0.01 }
        var a16 = [UInt16](repeating: 0, count: a.count), b16 = [UInt16](repeating: 0, count: b.count)
        Kernels.toBFloat16(a, &a16, count: a.count)
        Kernels.toBFloat16(b, &b16, count: b.count)
        var c = [Float](repeating: 0, count: m * n)
        let ldb = shape.transB ? k : n
        let repeats = max(2, Int(3e10 / shape.flops))
        try BLAS.gemmBFloat16(transB: shape.transB, m: m, n: n, k: k, a: a16, lda: k, b: b16, ldb: ldb, c: &c, ldc: n)
        var best = Double.infinity
        for _ in 0..<trials {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats {
                try BLAS.gemmBFloat16(transB: shape.transB, m: m, n: n, k: k, a: a16, lda: k, b: b16, ldb: ldb, c: &c, ldc: n)
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats))
        }
        return shape.flops / best / 1e9
    }

    /// A product shape `[m, k] · op([k, n])` of the model and where it occurs.
    public struct Shape: Sendable {
        public var name: String
        public var m: Int, n: Int, k: Int
        public var transB: Bool
        public init(_ name: String, m: Int, n: Int, k: Int, transB: Bool) {
            (self.name, self.m, self.n, self.k, self.transB) = (name, m, n, k, transB)
        }
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    /// The dominant products of SMALL (E256 H256 V8000) and MEDIUM (E512 H512 V16000) with batch
    /// 64 and ~1200 target tokens per batch (the PyTorch peers' gemm_backends.c shapes and more).
    public static let modelShapes: [Shape] = [
        Shape("SMALL output layer fwd [T·B,H]x[H,V]", m: 1200, n: 8000, k: 256, transB: true),
        Shape("SMALL output layer dX [T·B,V]x[V,H]", m: 1200, n: 256, k: 8000, transB: false),
        Shape("SMALL input projection [T·B,E]x[E,4H]", m: 1200, n: 1024, k: 256, transB: true),
        Shape("SMALL recurrent step [B,H]x[H,4H]", m: 64, n: 1024, k: 256, transB: true),
        Shape("SMALL recurrent step bwd [B,4H]x[4H,H]", m: 64, n: 256, k: 1024, transB: false),
        Shape("SMALL greedy output [B,H]x[H,V]", m: 64, n: 8000, k: 256, transB: true),
        Shape("SMALL beam output [5B,H]x[H,V]", m: 320, n: 8000, k: 256, transB: true),
        Shape("MEDIUM output layer fwd", m: 1200, n: 16000, k: 512, transB: true),
        Shape("MEDIUM recurrent step", m: 64, n: 2048, k: 512, transB: true),
        Shape("MEDIUM recurrent step bwd", m: 64, n: 512, k: 2048, transB: false),
        Shape("MEDIUM greedy step [B,E+H]x[E+H,4H]", m: 64, n: 2048, k: 1024, transB: true),
        Shape("MEDIUM greedy output", m: 64, n: 16000, k: 512, transB: true),
        Shape("SMALL one-sentence beam output [5,H]x[H,V]", m: 5, n: 8000, k: 256, transB: true),
        Shape("MEDIUM one-sentence beam output", m: 5, n: 16000, k: 512, transB: true),
    ]

    /// How a product is run, for comparing the choices behind `BLAS.gemm`.
    public enum Strategy: String, CaseIterable, Sendable {
        /// `BLAS.gemm` as training and decoding use it (split over the configured threads).
        case facade
        /// One thread.
        case singleThread = "1 thread"
        /// `Kernels.fewRowsTimesTransposed` (the hand-written kernel for ≤ `fewRowsLimit` rows that streams the
        /// weights without packing), one thread; only for such shapes.
        case fewRowsKernel = "few-rows kernel"

        /// Whether `shape` can be run this way.
        public func applies(to shape: Shape) -> Bool { self != .fewRowsKernel || (shape.m <= Kernels.fewRowsLimit && shape.transB) }
    }

    /// Best-of-`trials` GFLOP/s of `shape` run with `strategy` (about 0.1 s per trial).
    public static func gemmGigaflops(_ shape: Shape, strategy: Strategy = .facade, trials: Int = 5) -> Double {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        for i in a.indices { a[i] = Float(i % 17) * 0.01 }
        for i in b.indices { b[i] = Float(i % 13) * 0.01 }
        let ldb = shape.transB ? k : n
        let repeats = max(2, Int(1.5e10 / shape.flops))
        func once() {
            if strategy == .fewRowsKernel {
                Kernels.fewRowsTimesTransposed(m: m, n: n, k: k, a: a, lda: k, w: b, ldw: k, c: &c, ldc: n)
            } else if strategy == .singleThread {
                BLAS.gemmSingleThreaded(transB: shape.transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, c: &c, ldc: n)
            } else {
                BLAS.gemm(transB: shape.transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, c: &c, ldc: n)
            }
        }
        once()  // kernel generation, thread start
        var best = Double.infinity
        for _ in 0..<trials {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats { once() }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats))
        }
        return shape.flops / best / 1e9
    }
}
