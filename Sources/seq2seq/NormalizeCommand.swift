import ArgumentParser
import Tokenize

struct NormalizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normalize",
        abstract: "Print the normalized form of each stdin line (what tokenize | detokenize gives back).")

    @Option(help: "Unicode normalization: nfkc, nfc or none.")
    var normalization: NormalizationForm = .nfkc

    func run() throws {
        let normalizer = try Normalizer(form: normalization)
        let reader = LineReader()
        let writer = LineWriter()
        while let line = try reader.nextLine() {
            try writer.write(line: normalizer.normalize(line))
        }
        try writer.flush()
        warnAboutReplacements(reader)
    }
}
