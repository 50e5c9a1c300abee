import ArgumentParser
import CommandLineSupport
import Foundation
import Tokenize

extension TextSide: ExpressibleByArgument {}
extension NormalizationForm: ExpressibleByArgument {}

/// Options shared by `tokenize` and `detokenize`.
struct VocabularyChoice: ParsableArguments {
    @Option(help: "Vocabulary prefix written by `seq2seq vocab --output` (e.g. Vocab/tatoeba).")
    var vocab: String

    @Option(help: "Which vocabulary to use: source or target.")
    var side: TextSide = .source

    @Flag(help: "Use integer ids instead of subword strings.")
    var ids = false
}

/// Prints a stderr warning if stdin held invalid UTF-8.
func warnAboutReplacements(_ reader: LineReader) {
    if reader.replacedSequences > 0 {
        printError("warning: replaced \(reader.replacedSequences) invalid UTF-8 sequence(s) in the input with U+FFFD")
    }
}

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Split stdin lines into subword tokens (one output line per input line).")

    @OptionGroup var choice: VocabularyChoice

    func run() throws {
        let tokenizer = try VocabularyPair.load(from: choice.vocab).tokenizer(for: choice.side)
        let reader = LineReader()
        let writer = LineWriter()
        var ids: [Int32] = []
        while let line = try reader.nextLine() {
            ids.removeAll(keepingCapacity: true)
            tokenizer.encode(line, appendingTo: &ids)
            if choice.ids {
                try writer.write(line: ids.map(String.init).joined(separator: " "))
            } else {
                try writer.write(line: ids.map { tokenizer.model.tokens[Int($0)] }.joined(separator: " "))
            }
        }
        try writer.flush()
        warnAboutReplacements(reader)
    }
}
