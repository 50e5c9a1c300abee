import ArgumentParser
import Tokenize

struct NormalizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normalize",
        abstract: "Print the normalized form of each stdin line (what tokenize | detokenize gives back).")

    @Option(help: "Unicode normalization: nfkc, nfc or none.")
    var normalization: NormalizationForm?

    @Option(help: "Use the normalization stored with this vocabulary (prefix from `seq2seq vocab --output`).")
    var vocab: String?

    func validate() throws {
        if normalization != nil && vocab != nil {
            throw ValidationError("give either --normalization or --vocab, not both")
        }
    }

    func run() throws {
        let form = try vocab.map { try VocabularyPair.load(from: $0).normalization } ?? normalization ?? .nfkc
        let normalizer = try Normalizer(form: form)
        let reader = LineReader()
        let writer = LineWriter()
        while let line = try reader.nextLine() {
            try writer.write(line: normalizer.normalize(line))
        }
        try writer.flush()
        warnAboutReplacements(reader)
    }
}
