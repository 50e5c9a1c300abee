// Small C shim over ICU4C. No stable Swift API: only Sources/Tokenize uses it.
// The header deliberately uses plain C types only, so Swift never sees ICU's
// headers (they clash with the ICU that Foundation bundles). ICU's exported
// symbols carry a version suffix (ubrk_open_72); the shim gives them fixed
// names with our own `cicu_` prefix. Text is UTF-16 (`uint16_t *`), lengths
// are in UTF-16 code units.
#ifndef CICU_H
#define CICU_H
#include <stdint.h>

/// Returns the ICU version string, e.g. "72.1" (static storage).
const char *cicu_version(void);

// MARK: - UTF-8 -> UTF-16

/// Converts UTF-8 to UTF-16; invalid bytes become U+FFFD.
/// Returns the UTF-16 length; if it is larger than `capacity`, nothing useful
/// was written and the caller must retry with at least that capacity.
/// A negative result is a failed ICU call (the negated UErrorCode).
int32_t cicu_utf8_to_utf16(const uint8_t *source, int32_t length,
                           uint16_t *destination, int32_t capacity,
                           int32_t *replacements);

// MARK: - Normalization

/// Normalization forms for `cicu_normalize_text`.
enum {
    CICU_FORM_NONE = 0,
    CICU_FORM_NFC = 1,
    CICU_FORM_NFKC = 2,
};

/// Cleans and normalizes one line of text:
///  1. every White_Space character (tab, U+00A0, U+3000, U+2028, ...) becomes U+0020;
///  2. control characters (Cc) and format characters (Cf: U+200B, U+FEFF, U+00AD,
///     bidi marks, ...) are dropped, except a ZWJ between two emoji and emoji
///     tag characters after an emoji (they are part of emoji sequences);
///  3. ICU NFC or NFKC (or nothing for CICU_FORM_NONE);
///  4. runs of spaces collapse to one space; leading and trailing spaces go.
/// `scratch` must hold at least `length` units. Returns the result length; if it
/// exceeds `capacity`, retry with that capacity. Negative = -(UErrorCode).
int32_t cicu_normalize_text(int32_t form,
                            const uint16_t *source, int32_t length,
                            uint16_t *scratch,
                            uint16_t *destination, int32_t capacity);

// MARK: - Word breaking

/// An ICU word break iterator (UBRK_WORD). Opening one costs tens of
/// microseconds: open once, then reuse it with `cicu_word_breaker_set_text`.
/// Not thread-safe: use one per thread.
typedef struct cicu_word_breaker cicu_word_breaker;

/// Opens a word break iterator for `locale` ("" = root). NULL on failure,
/// with the ICU error code in `*status` (may be NULL).
cicu_word_breaker *cicu_word_breaker_open(const char *locale, int32_t *status);

/// Closes an iterator opened with `cicu_word_breaker_open` (NULL is fine).
void cicu_word_breaker_close(cicu_word_breaker *breaker);

/// Points the iterator at `text` (which must stay alive while iterating) and
/// resets it to the start. Returns 0 or -(UErrorCode).
int32_t cicu_word_breaker_set_text(cicu_word_breaker *breaker,
                                   const uint16_t *text, int32_t length);

/// The next boundary after the current one, or -1 at the end.
int32_t cicu_word_breaker_next(cicu_word_breaker *breaker);

/// The rule status of the boundary last returned: 0-99 none (spaces,
/// punctuation), 100-199 number, 200-299 letter, 300-399 kana, 400-499 ideographic.
int32_t cicu_word_breaker_rule_status(const cicu_word_breaker *breaker);

/// Sets `text` and collects all segments in one call: segment k is
/// [ends[k-1], ends[k]) with ends[-1] = 0, and its rule status is statuses[k].
/// Returns the segment count; if it exceeds `capacity`, only `capacity` were
/// stored and the caller should retry with more room. Negative = -(UErrorCode).
/// `statuses` may be NULL when the rule statuses are not needed (faster).
int32_t cicu_word_breaker_segments(cicu_word_breaker *breaker,
                                   const uint16_t *text, int32_t length,
                                   int32_t *ends, int32_t *statuses,
                                   int32_t capacity);

#endif
