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

/// The bf16 form of ck_few_rows_times_transposed: W [n, k] streamed once, four rows at a time,
/// rows of A in pairs (an odd last row paired with itself), 32 bf16 pairs per vdpbf16ps; the
/// tail of k through masked loads (zeros contribute nothing).
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void bf16_few_rows(long m, long n, long k, const unsigned short *a, long lda, const unsigned short *w, long ldw,
                          float *c, long ldc) {
    for (long v = 0; v < n; v += 4) {
        long rows = n - v < 4 ? n - v : 4;
        const unsigned short *w0 = w + v * ldw;
        const unsigned short *w1 = w + (v + (rows > 1 ? 1 : 0)) * ldw;
        const unsigned short *w2 = w + (v + (rows > 2 ? 2 : 0)) * ldw;
        const unsigned short *w3 = w + (v + (rows > 3 ? 3 : 0)) * ldw;
        for (long r = 0; r < m; r += 2) {
            long r1 = r + 1 < m ? r + 1 : r;
            const unsigned short *a0 = a + r * lda, *a1 = a + r1 * lda;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
            for (long j = 0; j < k; j += 32) {
                __mmask32 lanes = k - j >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (k - j)) - 1);
                __m512bh x = (__m512bh)_mm512_maskz_loadu_epi16(lanes, a0 + j);
                __m512bh y = (__m512bh)_mm512_maskz_loadu_epi16(lanes, a1 + j);
                __m512bh u0 = (__m512bh)_mm512_maskz_loadu_epi16(lanes, w0 + j);
                __m512bh u1 = (__m512bh)_mm512_maskz_loadu_epi16(lanes, w1 + j);
                __m512bh u2 = (__m512bh)_mm512_maskz_loadu_epi16(lanes, w2 + j);
                __m512bh u3 = (__m512bh)_mm512_maskz_loadu_epi16(lanes, w3 + j);
                s0 = _mm512_dpbf16_ps(s0, x, u0); s1 = _mm512_dpbf16_ps(s1, x, u1);
                s2 = _mm512_dpbf16_ps(s2, x, u2); s3 = _mm512_dpbf16_ps(s3, x, u3);
                t0 = _mm512_dpbf16_ps(t0, y, u0); t1 = _mm512_dpbf16_ps(t1, y, u1);
                t2 = _mm512_dpbf16_ps(t2, y, u2); t3 = _mm512_dpbf16_ps(t3, y, u3);
            }
            float d0[4] = {_mm512_reduce_add_ps(s0), _mm512_reduce_add_ps(s1), _mm512_reduce_add_ps(s2), _mm512_reduce_add_ps(s3)};
            float d1[4] = {_mm512_reduce_add_ps(t0), _mm512_reduce_add_ps(t1), _mm512_reduce_add_ps(t2), _mm512_reduce_add_ps(t3)};
            float *c0 = c + r * ldc + v;
            for (long i = 0; i < rows; i++) c0[i] += d0[i];
            if (r1 != r) {
                float *c1 = c + r1 * ldc + v;
                for (long i = 0; i < rows; i++) c1[i] += d1[i];
            }
        }
    }
}

int ck_bf16_few_rows_times_transposed(long m, long n, long k, const unsigned short *a, long lda, const unsigned short *w,
                                      long ldw, float *c, long ldc) {
    if (!ck_has_avx512_bf16()) return 0;
    bf16_few_rows(m, n, k, a, lda, w, ldw, c, ldc);
    return 1;
}
#else
int ck_has_avx512_bf16(void) { return 0; }
double ck_bf16_dot_seconds(long iterations) { (void)iterations; return -1; }
int ck_bf16_few_rows_times_transposed(long m, long n, long k, const unsigned short *a, long lda, const unsigned short *w,
                                      long ldw, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)c; (void)ldc;
    return 0;
}
#endif
