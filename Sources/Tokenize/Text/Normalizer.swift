/// Unicode normalization form applied before word breaking. It is stored with
/// the vocabulary so that training and translation always agree.
public enum NormalizationForm: String, Sendable, CaseIterable, Codable {
    /// Compatibility composition: full-width → ASCII, ① → 1, ㈜ → (주),
    /// decomposed Hangul jamo composed. The default.
    case nfkc
    /// Canonical composition only.
    case nfc
    /// No Unicode normalization (the space/control cleanup still applies).
    case none

}

/// First pipeline stage: cleans and normalizes one line of text.
///
/// What it does, in this order (and nothing more):
/// 1. every Unicode White_Space character (tab, U+00A0, U+3000, U+2028, …) becomes a space;
/// 2. control characters and zero-width format characters (U+200B, U+FEFF, U+00AD,
///    bidi marks, ZWNJ) are dropped; a ZWJ between two emoji and emoji tag
///    characters stay, so emoji sequences survive intact;
/// 3. NFKC, NFC or no normalization through ICU;
/// 4. runs of spaces collapse to one space, leading/trailing spaces are removed.
///
/// Invalid UTF-8 cannot occur in a Swift `String`; bytes decoded elsewhere should
/// already carry U+FFFD. Not thread-safe (reuses buffers): one per thread.
public final class Normalizer {
    /// The normalization form applied in step 3.
    public let form: NormalizationForm
    private let input = ScratchBuffer<UInt16>()    // raw line, UTF-16
    private let scratch = ScratchBuffer<UInt16>()  // after cleanup
    let output = ScratchBuffer<UInt16>()           // normalized line, UTF-16

    /// Creates a normalizer; throws `TokenizeError.icuFailure` if ICU's
    /// normalization data cannot be loaded.
    public init(form: NormalizationForm = .nfkc) throws {
        self.form = form
        let probe = [UInt16]("Ａ①".utf16)
        var out = [UInt16](repeating: 0, count: 16)
        var tmp = [UInt16](repeating: 0, count: 16)
        let n = ICU.normalize(form: form, probe, count: probe.count, scratch: &tmp, into: &out, capacity: 16)
        if n < 0 { throw TokenizeError.icuFailure(operation: "unorm2 normalizer", code: Int32(-n)) }
    }

    /// Returns the normalized form of `text` (see the type's documentation).
    public func normalize(_ text: String) -> String {
        let n = normalizeToBuffer(text)
        return String(decoding: UnsafeBufferPointer(start: output.pointer, count: n), as: UTF16.self)
    }

    /// Normalizes `text` into `output` and returns its length in UTF-16 units.
    func normalizeToBuffer(_ text: String) -> Int {
        var text = text
        let length = text.withUTF8 { utf8 -> Int in
            guard utf8.count > 0 else { return 0 }
            var needed = utf8.count + 1   // UTF-16 never needs more units than UTF-8 bytes
            while true {
                input.reserve(needed)
                let n = ICU.utf8ToUTF16(utf8, into: input.pointer, capacity: input.capacity)
                if n < 0 { return 0 }
                if n <= input.capacity { return n }
                needed = n
            }
        }
        return normalizeUTF16(count: length)
    }

    /// Normalizes the first `count` units of `input` into `output`.
    private func normalizeUTF16(count: Int) -> Int {
        guard count > 0 else { return 0 }
        scratch.reserve(count)
        var capacity = count * 3 + 16
        while true {
            output.reserve(capacity)
            let n = ICU.normalize(form: form, input.pointer, count: count, scratch: scratch.pointer,
                                  into: output.pointer, capacity: output.capacity)
            if n < 0 {
                // ICU failed on data it accepted at init: keep the raw text rather than lose it.
                output.reserve(count)
                output.pointer.update(from: input.pointer, count: count)
                return count
            }
            if n <= output.capacity { return n }
            capacity = n
        }
    }
}
