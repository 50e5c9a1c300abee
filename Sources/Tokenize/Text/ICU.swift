import CICU

// The only Swift file that imports the CICU shim: everything else in the
// module goes through these thin wrappers (the shim has no stable Swift API).

/// The ICU version this build links against, e.g. "72.1".
public func icuVersion() -> String { String(cString: cicu_version()) }

/// Thin wrappers over the CICU shim functions. Lengths are UTF-16 code units;
/// results follow the shim's conventions (negative = ICU error, a result
/// larger than the capacity = retry with that capacity).
enum ICU {
    static func utf8ToUTF16(_ source: UnsafeBufferPointer<UInt8>, into destination: UnsafeMutablePointer<UInt16>,
                            capacity: Int) -> Int {
        var replaced: Int32 = 0
        return Int(cicu_utf8_to_utf16(source.baseAddress, Int32(source.count), destination, Int32(capacity), &replaced))
    }

    static func normalize(form: NormalizationForm, _ source: UnsafePointer<UInt16>, count: Int,
                          scratch: UnsafeMutablePointer<UInt16>,
                          into destination: UnsafeMutablePointer<UInt16>, capacity: Int) -> Int {
        let cForm: Int32
        switch form {
        case .nfkc: cForm = Int32(CICU_FORM_NFKC)
        case .nfc: cForm = Int32(CICU_FORM_NFC)
        case .none: cForm = Int32(CICU_FORM_NONE)
        }
        return Int(cicu_normalize_text(cForm, source, Int32(count), scratch, destination, Int32(capacity)))
    }

    /// An ICU UBRK_WORD break iterator, opened once and reused. Not thread-safe.
    final class WordBreaker {
        private let breaker: OpaquePointer

        /// Opens the iterator for the root locale; throws `TokenizeError.icuFailure`.
        init() throws {
            var status: Int32 = 0
            guard let b = cicu_word_breaker_open("", &status) else {
                throw TokenizeError.icuFailure(operation: "ubrk_open(UBRK_WORD)", code: status)
            }
            breaker = b
        }

        deinit { cicu_word_breaker_close(breaker) }

        /// Segment ends (and rule statuses if `statuses` is non-nil) of `text`;
        /// returns the segment count (may exceed `capacity`: retry) or a negative error.
        func segments(_ text: UnsafePointer<UInt16>, count: Int, ends: UnsafeMutablePointer<Int32>,
                      statuses: UnsafeMutablePointer<Int32>?, capacity: Int) -> Int {
            Int(cicu_word_breaker_segments(breaker, text, Int32(count), ends, statuses, Int32(capacity)))
        }
    }
}
