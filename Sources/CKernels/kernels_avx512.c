// AVX-512 instantiation of kernels_body.h (512-bit vectors). Only called after CPUID and XGETBV
// reported AVX-512F/DQ/BW/VL with the ZMM state enabled (dispatch.c).
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#define CK_VBYTES 64
#define CK_FN(name) ck_avx512_##name
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi2,f16c"), \
                                            min_vector_width(512))), apply_to = function)
#include "kernels_body.h"
#pragma clang attribute pop
#endif
