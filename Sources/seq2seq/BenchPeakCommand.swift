import ArgumentParser
import Foundation
import Seq2Seq

/// `seq2seq bench peak`: the machine's measured ceilings.
struct BenchPeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Measured FMA peak per instruction set and the matrix library's GFLOP/s on the model's shapes.",
        discussion: """
            The FMA peak runs 12 independent vector FMA chains in registers on every thread at once \
            (best of 3), for the widest instruction set the CPU has and each narrower one; on a CPU \
            with avx512_bf16 the same for the bf16 dot product (vdpbf16ps). The products \
            are timed through the same facade training and decoding use (best of 5), next to the \
            library's own threading and one thread, so the choice per shape can be checked. \
            SEQ2SEQ_ISA=avx2 runs everything as on an AVX2-only CPU.
            """)

    @Option(help: "CPU threads.")
    var threads = 2

    @Flag(help: "Only the FMA peak (skip the products).")
    var fmaOnly = false

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        ComputeThreads.configure(threads)
        print("cpu: \(cpuModelName())")
        print("threads: \(threads)")
        print("instruction set: \(InstructionSet.active) (supported: \(InstructionSet.supported))")
        print("matrix library: \(blasCoreName())")
        for set in InstructionSet.allCases.reversed() where set.rawValue <= InstructionSet.active.rawValue {
            if let g = ComputePeak.fmaGigaflops(set, threads: threads) {
                print("fma peak \(set) (\(set.lanes * 32)-bit): \(String(format: "%.1f", g)) GFLOP/s")
            }
        }
        let bf16Peak = ComputePeak.bf16DotGigaflops(threads: threads)
        if let g = bf16Peak {
            print("bf16 dot peak avx512_bf16 (vdpbf16ps): \(String(format: "%.1f", g)) GFLOP/s")
        } else {
            print("bf16 dot peak: this CPU has no avx512_bf16")
        }
        if fmaOnly { return }
        let peak = ComputePeak.fmaGigaflops(InstructionSet.active, threads: threads) ?? .nan
        for shape in ComputePeak.modelShapes {
            let strategies = ComputePeak.Strategy.allCases.filter { $0.applies(to: shape) }
            let rates = strategies.map { ComputePeak.gemmGigaflops(shape, strategy: $0) }
            let detail = zip(strategies, rates).dropFirst()
                .map { "\($0.rawValue) \(String(format: "%.1f", $1))" }.joined(separator: ", ")
            print("gemm \(shape.name) \(shape.m)x\(shape.n)x\(shape.k): \(String(format: "%.1f", rates[0])) GFLOP/s"
                  + " (\(String(format: "%.0f", 100 * rates[0] / peak))% of peak; \(detail))")
            if let bf16Peak {
                let rate = try ComputePeak.bf16GemmGigaflops(shape)
                print("  bf16 \(String(format: "%.1f", rate)) GFLOP/s (\(String(format: "%.0f", 100 * rate / bf16Peak))% of the bf16 peak, "
                      + "\(String(format: "%.2f", rate / rates[0]))× fp32)")
            }
        }
    }
}

/// `seq2seq bench check`: the compute paths of this CPU against Double references.
struct BenchCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check matrix products and element-wise kernels against Double references on this CPU.",
        discussion: """
            Runs every transpose combination of the matrix product (including the shapes that are split \
            over threads) and every element-wise kernel on the instruction set in use, and exits non-zero \
            if one is off. SEQ2SEQ_ISA=avx2 or SEQ2SEQ_ISA=generic checks a narrower path.
            """)

    @Option(help: "CPU threads.")
    var threads = 2

    func run() throws {
        ComputeThreads.configure(threads)
        print("instruction set: \(InstructionSet.active) (supported: \(InstructionSet.supported))")
        print("matrix library: \(blasCoreName())")
        let results = ComputeCheck.matrixProducts() + ComputeCheck.elementwiseKernels()
        for r in results { print(r) }
        let failed = results.filter { !$0.passed }
        if !failed.isEmpty { throw ExitCode.failure }
        print("all \(results.count) checks passed")
    }
}

/// The CPU's model name, family and model from /proc/cpuinfo, e.g. "AMD EPYC (family 25, model 17)"
/// (virtual machines often show only the vendor's family name); "unknown" elsewhere.
func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
        if line.isEmpty { break }  // first processor only
        let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
    }
    let name = fields["model name"] ?? "unknown"
    guard let family = fields["cpu family"], let model = fields["model"] else { return name }
    return "\(name) (family \(family), model \(model))"
}
