/// Errors from the tokenizer library. Each description says what to do next.
public enum TokenizeError: Error, CustomStringConvertible, Equatable {
    /// An ICU service could not be opened (missing ICU data, out of memory).
    case icuFailure(operation: String, code: Int32)
    /// No vocabulary at this prefix (`PREFIX.meta` is missing).
    case vocabularyNotFound(prefix: String)
    /// A vocabulary file exists but cannot be read or parsed.
    case badVocabularyFile(path: String, reason: String)
    /// The requested vocabulary size cannot hold the special and byte tokens.
    case vocabularySizeTooSmall(requested: Int, minimum: Int)
    /// There was no text to learn a vocabulary from.
    case emptyTrainingText(side: String)
    /// Unknown normalization name.
    case unknownNormalization(String)
    /// A vocabulary prefix that names a folder or nothing (`adir/`, `""`).
    case badVocabularyPrefix(String)

    public var description: String {
        switch self {
        case .icuFailure(let operation, let code): return "ICU \(operation) failed (UErrorCode \(code)); check that libicu and its data are installed (apt-get install libicu-dev)"
        case .vocabularyNotFound(let prefix): return "\(prefix).meta: no vocabulary here; create one with `seq2seq vocab PAIRS.tsv --output \(prefix)`"
        case .badVocabularyFile(let path, let reason): return "\(path): \(reason); recreate the vocabulary with `seq2seq vocab`"
        case .vocabularySizeTooSmall(let requested, let minimum): return "vocabulary size \(requested) is too small: it must hold 4 special tokens, 256 byte tokens and the word-boundary mark; use at least \(minimum)"
        case .emptyTrainingText(let side): return "no \(side) text to learn a vocabulary from; check the corpus file"
        case .unknownNormalization(let name): return "unknown normalization '\(name)'; use nfkc, nfc or none"
        case .badVocabularyPrefix(let prefix): return "'\(prefix)' is not a vocabulary prefix: it must name files inside a folder, such as Vocab/NAME (which writes Vocab/NAME.meta, …)"
        }
    }
}
