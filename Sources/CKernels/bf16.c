// bf16 dot-product ceiling: AVX512_BF16's vdpbf16ps multiplies 32 bf16 pairs per 512-bit
// instruction and adds each lane's two products into an fp32 accumulator (twice the fp32 FMA's
// products per instruction). Only reached after CPUID says the CPU has AVX512_BF16 and the
// operating system saves the ZMM state, and SEQ2SEQ_ISA does not narrow below AVX-512 (ck_has_avx512_bf16).
#include "ckernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <time.h>

static int g_has_bf16;
static pthread_once_t g_bf16_once = PTHREAD_ONCE_INIT;
static void detect_bf16(void) {
    if (ck_isa_active() < CK_ISA_AVX512) return;   // SEQ2SEQ_ISA=avx2 narrows this too
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return;
    g_has_bf16 = (a >> 5) & 1;  // CPUID.(EAX=7, ECX=1):EAX[5] AVX512_BF16
}

int ck_has_avx512_bf16(void) {   // CPUID once (it traps to the hypervisor in a VM)
    pthread_once(&g_bf16_once, detect_bf16);
    return g_has_bf16;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/// 12 independent vdpbf16ps chains in registers; FLOP = iterations · 12 · 32 pairs · 2.
__attribute__((target("avx512f,avx512bf16"))) static double bf16_dot_seconds(long iterations) {
    __m512 acc[12];
    for (int j = 0; j < 12; j++) acc[j] = _mm512_set1_ps(0.001f * (float)j);
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3F80);   // bf16 1.0
    __m512bh y = (__m512bh)_mm512_set1_epi16(0x3380);   // bf16 ≈ 6e-8: sums stay finite
    double t0 = now_seconds();
    for (long i = 0; i < iterations; i++) {
        for (int j = 0; j < 12; j++) acc[j] = _mm512_dpbf16_ps(acc[j], x, y);
    }
    double dt = now_seconds() - t0;
    __m512 s = acc[0];
    for (int j = 1; j < 12; j++) s = _mm512_add_ps(s, acc[j]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return dt;
}

double ck_bf16_dot_seconds(long iterations) { return ck_has_avx512_bf16() ? bf16_dot_seconds(iterations) : -1; }
#else
int ck_has_avx512_bf16(void) { return 0; }
double ck_bf16_dot_seconds(long iterations) { (void)iterations; return -1; }
#endif
