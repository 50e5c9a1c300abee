import ArgumentParser
import CommandLineSupport
import Tokenize

struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Join subword tokens (or ids) on stdin back into text: the inverse of `tokenize`.")

    @OptionGroup var choice: VocabularyChoice

    func run() throws {
        let vocabulary = try VocabularyPair.load(from: choice.vocab)
        let detokenizer = Detokenizer(model: vocabulary.model(for: choice.side))
        let size = vocabulary.size(of: choice.side)
        let reader = LineReader()
        let writer = LineWriter()
        var badIds = 0
        while let line = try reader.nextLine() {
            if choice.ids {
                try writer.write(line: detokenizer.decode(Detokenizer.ids(line: line, count: size, invalid: &badIds)))
            } else {
                try writer.write(line: Detokenizer.detokenize(line: line))
            }
        }
        try writer.flush()
        warnAboutReplacements(reader)
        if badIds > 0 {
            printError("warning: skipped \(badIds) field(s) that are not ids in 0..<\(size)")
        }
    }
}
