// AVX2 + FMA instantiation of kernels_body.h (256-bit vectors). Only called after CPUID and
// XGETBV reported AVX2 and FMA with the YMM state enabled (dispatch.c).
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#define CK_VBYTES 32
#define CK_FN(name) ck_avx2_##name
#pragma clang attribute push(__attribute__((target("avx2,fma,bmi2,f16c"))), apply_to = function)
#include "kernels_body.h"
#pragma clang attribute pop
#endif
