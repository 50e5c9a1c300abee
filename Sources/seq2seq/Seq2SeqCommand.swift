import ArgumentParser
import Seq2Seq
import Tokenize

@main
struct Seq2SeqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Korean <-> English LSTM encoder-decoder: vocabularies, training, evaluation.",
        subcommands: [
            VocabCommand.self, TokenizeCommand.self, DetokenizeCommand.self,
            NormalizeCommand.self, TrainCommand.self, EvalCommand.self, BenchCommand.self, LMCommand.self,
        ])
}
