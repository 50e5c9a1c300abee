// Baseline x86-64 instantiation of kernels_body.h (128-bit SSE2 vectors): runs on every x86-64 CPU.
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#define CK_VBYTES 16
#define CK_FN(name) ck_generic_##name
#include "kernels_body.h"
