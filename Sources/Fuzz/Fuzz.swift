// libFuzzer driver for the readers and the tokenizer round trip. Built and run
// only by `Scripts/fuzz.sh TARGET SECONDS` (with -sanitize=fuzzer); not part of
// `swift build` or `swift test`. The target is chosen by the environment
// variable SEQ2SEQ_FUZZ_TARGET: tsv, safetensors, vocabulary or roundtrip.
// A violated property is reported as a crash (`fatalError`), which libFuzzer
// saves as `crash-…` for a regression test.
#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// One fuzzing target: `run` gets each input; `seeds` are written by `--write-seeds`.
protocol FuzzTarget {
    static func run(_ bytes: [UInt8])
    static var seeds: [[UInt8]] { get }
}

enum Targets {
    static let all: [String: any FuzzTarget.Type] = [
        "tsv": TSVTarget.self,
        "safetensors": SafeTensorsTarget.self,
        "vocabulary": VocabularyTarget.self,
        "roundtrip": RoundTripTarget.self,
    ]
    nonisolated(unsafe) static var current: (any FuzzTarget.Type)?
}

/// Fails the run with a message (libFuzzer records the input as a crash).
func violation(_ message: String) -> Never {
    fatalError("property violated: \(message)")
}

@main
struct FuzzMain {
    static func main() {
        let name = getenv("SEQ2SEQ_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = Targets.all[name] else {
            print("set SEQ2SEQ_FUZZ_TARGET to one of: \(Targets.all.keys.sorted().joined(separator: ", "))")
            exit(2)
        }
        Targets.current = target
        if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
            let folder = CommandLine.arguments[2]
            for (i, seed) in target.seeds.enumerated() {
                let fd = open("\(folder)/seed-\(i)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = seed.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            exit(0)
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            Targets.current?.run(bytes)
            return 0
        })
    }
}
