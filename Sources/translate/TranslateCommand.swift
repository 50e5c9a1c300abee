import ArgumentParser
import Seq2Seq

@main
struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate text with a trained seq2seq model.")
    func run() throws {}
}
