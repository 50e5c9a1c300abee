import ArgumentParser
import CommandLineSupport
import Seq2Seq
import Tokenize

@main
struct Seq2SeqCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Korean <-> English recurrent encoder-decoders: vocabularies, training, evaluation, serving.",
        subcommands: [
            VocabCommand.self, TokenizeCommand.self, DetokenizeCommand.self,
            NormalizeCommand.self, TrainCommand.self, EvalCommand.self, AverageCommand.self, ReportCommand.self,
            BenchCommand.self, ServeCommand.self, LMCommand.self, ShortlistCommand.self, CleanCommand.self, BackTranslateCommand.self,
        ])

    /// Runs the command, then checks that standard output was written (see `CommandRunner`).
    static func main() async { await CommandRunner.mainAsync(Self.self) }
}
