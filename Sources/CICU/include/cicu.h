// Small C shim over ICU4C. No stable Swift API: only Sources/Tokenize uses it.
// The header deliberately uses plain C types only, so Swift never sees ICU's
// headers (they clash with the ICU that Foundation bundles). ICU's exported
// symbols carry a version suffix (ubrk_open_72); the shim gives them fixed
// names with our own `cicu_` prefix.
#ifndef CICU_H
#define CICU_H
#include <stdint.h>

/// Returns the ICU version string, e.g. "72.1" (static storage).
const char *cicu_version(void);

#endif
