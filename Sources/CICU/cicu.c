// The only file that includes ICU headers (see include/cicu.h).
#include "cicu.h"
#include <unicode/uversion.h>
#include <unicode/ustring.h>
#include <unicode/unorm2.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/utf16.h>
#include <stdio.h>
#include <stdlib.h>

const char *cicu_version(void) {
    static char buffer[U_MAX_VERSION_STRING_LENGTH];
    UVersionInfo info;
    u_getVersion(info);
    u_versionToString(info, buffer);
    return buffer;
}

// MARK: - UTF-8 -> UTF-16

int32_t cicu_utf8_to_utf16(const uint8_t *source, int32_t length,
                           uint16_t *destination, int32_t capacity,
                           int32_t *replacements) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t written = 0, substitutions = 0;
    u_strFromUTF8WithSub((UChar *)destination, capacity, &written,
                         (const char *)source, length, 0xFFFD, &substitutions, &status);
    if (replacements) *replacements = substitutions;
    if (status == U_BUFFER_OVERFLOW_ERROR) return written > capacity ? written : capacity + 1;
    if (U_FAILURE(status)) return -(int32_t)status;
    return written;
}

// MARK: - Normalization

static int cicu_is_emoji_base(UChar32 c) {
    return u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC)
        || u_hasBinaryProperty(c, UCHAR_EMOJI_MODIFIER)
        || c == 0xFE0F || c == 0x20E3
        || (c >= 0xE0020 && c <= 0xE007F);
}

/// Steps 1 and 2 of cicu_normalize_text; output length <= input length.
static int32_t cicu_clean(const UChar *s, int32_t n, UChar *out) {
    int32_t i = 0, o = 0;
    UChar32 previous = 0;   // last code point written (0 = none)
    while (i < n) {
        UChar32 c;
        int32_t start = i;
        U16_NEXT(s, i, n, c);
        if (c < 0x80) {     // ASCII fast path
            if (c >= 0x20 && c < 0x7F) { out[o++] = (UChar)c; previous = c; continue; }
            if (c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D) {
                out[o++] = 0x20; previous = 0x20;
            }
            continue;       // other C0 controls and DEL are dropped
        }
        if (c >= 0x3400 && c < 0xD800) {   // CJK, Yi, Hangul: no spaces, controls or format characters
            out[o++] = (UChar)c; previous = c; continue;
        }
        if (u_isUWhiteSpace(c)) { out[o++] = 0x20; previous = 0x20; continue; }
        int8_t type = u_charType(c);
        if (type == U_CONTROL_CHAR) continue;
        if (type == U_FORMAT_CHAR) {
            int keep = 0;
            if (c == 0x200D) {          // ZWJ: keep only between two emoji
                if (previous != 0 && cicu_is_emoji_base(previous) && i < n) {
                    UChar32 next; int32_t j = i;
                    U16_NEXT(s, j, n, next);
                    keep = u_hasBinaryProperty(next, UCHAR_EXTENDED_PICTOGRAPHIC);
                }
            } else if (c >= 0xE0020 && c <= 0xE007F) {   // emoji tag sequence
                keep = previous != 0 && cicu_is_emoji_base(previous);
            }
            if (!keep) continue;
        }
        for (int32_t k = start; k < i; k++) out[o++] = s[k];
        previous = c;
    }
    return o;
}

static const UNormalizer2 *cicu_normalizer(int32_t form, UErrorCode *status) {
    switch (form) {
    case CICU_FORM_NFC: return unorm2_getNFCInstance(status);
    case CICU_FORM_NFKC: return unorm2_getNFKCInstance(status);
    default: return NULL;
    }
}

/// Step 4: collapse space runs (normalization may create new White_Space
/// characters, e.g. NFKC maps U+00A8 to U+0020 U+0308), trim both ends.
static int32_t cicu_collapse_spaces(UChar *s, int32_t n) {
    int32_t i = 0, o = 0;
    int pending = 0;
    while (i < n) {
        UChar32 c;
        int32_t start = i;
        U16_NEXT(s, i, n, c);
        if (c == 0x20 || (c >= 0x80 && (c < 0x3400 || c >= 0xD800) && u_isUWhiteSpace(c)) || (c >= 0x09 && c <= 0x0D)) {
            pending = o > 0;
            continue;
        }
        if (pending) { s[o++] = 0x20; pending = 0; }
        for (int32_t k = start; k < i; k++) s[o++] = s[k];
    }
    return o;
}

int32_t cicu_normalize_text(int32_t form,
                            const uint16_t *source, int32_t length,
                            uint16_t *scratch,
                            uint16_t *destination, int32_t capacity) {
    int32_t cleaned = cicu_clean((const UChar *)source, length, (UChar *)scratch);
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *normalizer = cicu_normalizer(form, &status);
    if (U_FAILURE(status)) return -(int32_t)status;
    int32_t n;
    if (normalizer == NULL) {
        if (cleaned > capacity) return cleaned;
        for (int32_t k = 0; k < cleaned; k++) destination[k] = scratch[k];
        n = cleaned;
    } else {
        n = unorm2_normalize(normalizer, (const UChar *)scratch, cleaned,
                             (UChar *)destination, capacity, &status);
        if (status == U_BUFFER_OVERFLOW_ERROR) return n > capacity ? n : capacity + 1;
        if (U_FAILURE(status)) return -(int32_t)status;
    }
    return cicu_collapse_spaces((UChar *)destination, n);
}

// MARK: - Word breaking

struct cicu_word_breaker { UBreakIterator *iterator; };

cicu_word_breaker *cicu_word_breaker_open(const char *locale, int32_t *status) {
    UErrorCode error = U_ZERO_ERROR;
    static const UChar empty[1] = {0};
    UBreakIterator *iterator = ubrk_open(UBRK_WORD, locale, empty, 0, &error);
    if (status) *status = (int32_t)error;
    if (U_FAILURE(error)) return NULL;
    cicu_word_breaker *breaker = (cicu_word_breaker *)malloc(sizeof *breaker);
    if (!breaker) { ubrk_close(iterator); if (status) *status = U_MEMORY_ALLOCATION_ERROR; return NULL; }
    breaker->iterator = iterator;
    return breaker;
}

void cicu_word_breaker_close(cicu_word_breaker *breaker) {
    if (!breaker) return;
    ubrk_close(breaker->iterator);
    free(breaker);
}

int32_t cicu_word_breaker_set_text(cicu_word_breaker *breaker,
                                   const uint16_t *text, int32_t length) {
    UErrorCode status = U_ZERO_ERROR;
    ubrk_setText(breaker->iterator, (const UChar *)text, length, &status);
    if (U_FAILURE(status)) return -(int32_t)status;
    ubrk_first(breaker->iterator);
    return 0;
}

int32_t cicu_word_breaker_next(cicu_word_breaker *breaker) {
    int32_t b = ubrk_next(breaker->iterator);
    return b == UBRK_DONE ? -1 : b;
}

int32_t cicu_word_breaker_rule_status(const cicu_word_breaker *breaker) {
    return ubrk_getRuleStatus(breaker->iterator);
}

int32_t cicu_word_breaker_segments(cicu_word_breaker *breaker,
                                   const uint16_t *text, int32_t length,
                                   int32_t *ends, int32_t *statuses,
                                   int32_t capacity) {
    int32_t r = cicu_word_breaker_set_text(breaker, text, length);
    if (r < 0) return r;
    int32_t count = 0;
    for (int32_t b = ubrk_next(breaker->iterator); b != UBRK_DONE; b = ubrk_next(breaker->iterator)) {
        if (count < capacity) {
            ends[count] = b;
            if (statuses) statuses[count] = ubrk_getRuleStatus(breaker->iterator);
        }
        count++;
    }
    return count;
}
