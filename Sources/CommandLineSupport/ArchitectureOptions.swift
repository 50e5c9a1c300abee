import ArgumentParser
import Seq2Seq

extension CellKind: ExpressibleByArgument {}
extension EncoderKind: ExpressibleByArgument {}
extension AttentionKind: ExpressibleByArgument {}

/// Architecture options shared by `seq2seq train` and `seq2seq bench train|decode`. Each command
/// has its own defaults: `train` the recipe that translates best (`trainingDefaults`), `bench`
/// the PyTorch reference's plain LSTM (`ModelArchitecture.original`).
public struct ArchitectureOptions: ParsableArguments {
    public init() {}

    /// What `seq2seq train` builds unless told otherwise: an LSTM with a bidirectional encoder and
    /// Luong "general" attention without input feeding (chosen by measurement; see the README's
    /// "Translation quality" section: on Tatoeba en→ko at 4000 steps, two seeds, beam-5 dev chrF
    /// 17.95 and 17.83 without input feeding, 16.10 and 17.47 with it, which is also ~10% slower).
    public static let trainingDefaults = ModelArchitecture(cell: .lstm, encoder: .bi, attention: .general, inputFeeding: false)

    @Option(help: "Recurrent cell: rnn (vanilla tanh RNN), gru or lstm (default: lstm).")
    public var cell: CellKind?

    @Option(help: "Encoder: uni (left to right) or bi (both directions, H/2 units each, so the hidden size must be even). Default: bi in train, uni in bench.")
    public var encoder: EncoderKind?

    @Option(help: "Attention of the top decoder layer over the source (Luong et al. 2015): none, dot (score h·e) or general (score h·W_a·e). Default: general in train, none in bench.")
    public var attention: AttentionKind?

    @Flag(inversion: .prefixedNo,
          help: "Input feeding (Luong et al. 2015): decoder layer 0 also reads the previous attentional state h~ (default: off; measured no better on our corpora and ~10% slower).")
    public var inputFeeding: Bool?

    /// Whether any architecture option was given on the command line.
    public var anyGiven: Bool { cell != nil || encoder != nil || attention != nil || inputFeeding != nil }

    /// The choices, completed from `defaults` (input feeding only ever with attention).
    public func architecture(defaults: ModelArchitecture) -> ModelArchitecture {
        let attention = self.attention ?? defaults.attention
        return ModelArchitecture(cell: cell ?? defaults.cell, encoder: encoder ?? defaults.encoder, attention: attention,
                                 inputFeeding: attention != .none && (inputFeeding ?? defaults.inputFeeding))
    }

    /// Throws `ValidationError` for contradicting choices; `hidden` is the hidden size H.
    public func check(hidden: Int, defaults: ModelArchitecture) throws {
        let chosen = architecture(defaults: defaults)
        if chosen.encoder == .bi && hidden % 2 != 0 {
            throw ValidationError("--encoder bi splits --hidden \(hidden) between two directions: give an even --hidden (or --encoder uni)")
        }
        if inputFeeding == true && chosen.attention == .none {
            throw ValidationError("--input-feeding feeds the attentional state back, so it needs --attention dot or general")
        }
    }
}
