import ArgumentParser
import Seq2Seq

extension CellKind: ExpressibleByArgument {}
extension EncoderKind: ExpressibleByArgument {}
extension AttentionKind: ExpressibleByArgument {}

/// Architecture options shared by `seq2seq train` and `seq2seq bench train|decode`.
public struct ArchitectureOptions: ParsableArguments {
    public init() {}

    @Option(help: "Recurrent cell: rnn (vanilla tanh RNN), gru or lstm.")
    public var cell: CellKind = .lstm

    @Option(help: "Encoder: uni (left to right) or bi (both directions, H/2 units each, so the hidden size must be even).")
    public var encoder: EncoderKind = .uni

    @Option(help: "Attention of the top decoder layer over the source (Luong et al. 2015): none, dot (score h·e) or general (score h·W_a·e).")
    public var attention: AttentionKind = .none

    @Flag(inversion: .prefixedNo,
          help: "Input feeding: decoder layer 0 also reads the previous attentional state h~ (default: on with attention).")
    public var inputFeeding: Bool?

    /// Throws `ValidationError` for contradicting choices; `hidden` is the hidden size H.
    public func check(hidden: Int) throws {
        if encoder == .bi && hidden % 2 != 0 {
            throw ValidationError("--encoder bi splits --hidden \(hidden) between two directions: give an even --hidden")
        }
        if inputFeeding == true && attention == .none {
            throw ValidationError("--input-feeding feeds the attentional state back, so it needs --attention dot or general")
        }
    }

    /// The choices, with input feeding on by default when there is attention.
    public var architecture: ModelArchitecture {
        ModelArchitecture(cell: cell, encoder: encoder, attention: attention,
                          inputFeeding: attention != .none && (inputFeeding ?? true))
    }
}
