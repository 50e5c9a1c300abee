import Foundation
import Testing

/// `seq2seq bench check` on every instruction-set level this CPU can run. oneDNN fixes its
/// instruction set once per process, so the narrower paths of the matrix products are only
/// reachable in a fresh process started with SEQ2SEQ_ISA (the element-wise kernels are also
/// checked per level in-process by Seq2SeqTests).
@Suite struct ComputeCheckCLITests {
    @Test(arguments: ["", "avx2", "generic"])
    func productsAndKernelsMatchDoubleReferences(isa: String) throws {
        let environment = isa.isEmpty ? [:] : ["SEQ2SEQ_ISA": isa]
        for threads in ["1", "2"] {
            let result = try BinaryRunner.run("seq2seq", ["bench", "check", "--threads", threads],
                                              environment: environment, timeout: 120)
            #expect(result.status == 0, "SEQ2SEQ_ISA=\(isa) --threads \(threads):\n\(result.output)\(result.errors)")
            #expect(result.output.contains("all ") && result.output.contains("checks passed"))
            if isa == "avx2" {
                // Never wider than asked: both the kernels and the matrix library run AVX2 (or less).
                #expect(result.output.contains("instruction set: avx2") || result.output.contains("instruction set: generic"))
                #expect(!result.output.contains("avx512_core"), "\(result.output)")
            }
        }
    }
}
