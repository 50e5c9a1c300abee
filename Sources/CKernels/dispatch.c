// Run-time choice of the kernel instantiation: CPUID says what the CPU has, XGETBV says whether
// the operating system saves the wider registers; SEQ2SEQ_ISA=avx512|avx2|generic may narrow the
// choice (never widen it). Tests switch one thread to a narrower level with
// ck_isa_set_thread_override, so every path runs in one process without disturbing other threads.
#include "ckernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

typedef struct {
    void (*exp)(const float *, float *, long);
    void (*sigmoid)(const float *, float *, long);
    void (*tanh)(const float *, float *, long);
    void (*lstm_cell)(float *, const float *, float *, float *, float *, long);
    void (*lstm_cell_backward)(const float *, const float *, const float *, const float *, const float *, float *,
                               float *, long);
    float (*sum)(const float *, long);
    float (*sum_of_squares)(const float *, long);
    float (*maximum)(const float *, long);
    float (*exp_shifted)(const float *, float, float *, long);
    void (*add)(const float *, float *, long);
    void (*add_column_sums)(const float *, long, long, float *);
    void (*add_scalar)(float, float *, long);
    void (*scale)(float, float *, long);
    void (*scale_and_add)(float, float, float *, long);
    void (*multiply)(const float *, const float *, float *, long);
    void (*adam_step)(float *, const float *, float *, float *, long, float, float, float, float, float);
    void (*few_rows_times_transposed)(long, long, long, const float *, long, const float *, long, float *, long);
    double (*fma_seconds)(long, double (*)(void));
    void (*integrity_scan)(const unsigned char *, long, unsigned long long *, int, long *);
    void (*to_bf16)(const float *, unsigned short *, long);
    float (*quantize_row)(const float *, long, long, unsigned char *);
    void (*dequantize_add)(const int *, float, const float *, float *, long);
    float (*log_softmax_row)(float *, long);
} kernel_table;

#define DECLARE(P)                                                                                              \
    void ck_##P##_exp(const float *, float *, long);                                                            \
    void ck_##P##_sigmoid(const float *, float *, long);                                                        \
    void ck_##P##_tanh(const float *, float *, long);                                                           \
    void ck_##P##_lstm_cell(float *, const float *, float *, float *, float *, long);                           \
    void ck_##P##_lstm_cell_backward(const float *, const float *, const float *, const float *, const float *, \
                                     float *, float *, long);                                                  \
    float ck_##P##_sum(const float *, long);                                                                    \
    float ck_##P##_sum_of_squares(const float *, long);                                                         \
    float ck_##P##_maximum(const float *, long);                                                                \
    float ck_##P##_exp_shifted(const float *, float, float *, long);                                            \
    void ck_##P##_add(const float *, float *, long);                                                            \
    void ck_##P##_add_column_sums(const float *, long, long, float *);                                          \
    void ck_##P##_add_scalar(float, float *, long);                                                             \
    void ck_##P##_scale(float, float *, long);                                                                  \
    void ck_##P##_scale_and_add(float, float, float *, long);                                                   \
    void ck_##P##_multiply(const float *, const float *, float *, long);                                        \
    void ck_##P##_adam_step(float *, const float *, float *, float *, long, float, float, float, float, float);  \
    void ck_##P##_few_rows_times_transposed(long, long, long, const float *, long, const float *, long, float *, \
                                            long);                                                              \
    double ck_##P##_fma_seconds(long, double (*)(void));                                                        \
    void ck_##P##_integrity_scan(const unsigned char *, long, unsigned long long *, int, long *);                \
    void ck_##P##_to_bf16(const float *, unsigned short *, long);                                              \
    float ck_##P##_quantize_row(const float *, long, long, unsigned char *);                                    \
    void ck_##P##_dequantize_add(const int *, float, const float *, float *, long);                            \
    float ck_##P##_log_softmax_row(float *, long);
#define TABLE(P)                                                                                               \
    {ck_##P##_exp, ck_##P##_sigmoid, ck_##P##_tanh, ck_##P##_lstm_cell, ck_##P##_lstm_cell_backward,          \
     ck_##P##_sum, ck_##P##_sum_of_squares, ck_##P##_maximum, ck_##P##_exp_shifted, ck_##P##_add,             \
     ck_##P##_add_column_sums, ck_##P##_add_scalar, ck_##P##_scale, ck_##P##_scale_and_add, ck_##P##_multiply, \
     ck_##P##_adam_step, ck_##P##_few_rows_times_transposed, ck_##P##_fma_seconds, ck_##P##_integrity_scan, ck_##P##_to_bf16, \
     ck_##P##_quantize_row, ck_##P##_dequantize_add, ck_##P##_log_softmax_row}

DECLARE(generic)
#if defined(__x86_64__)
DECLARE(avx2)
DECLARE(avx512)
static const kernel_table tables[CK_ISA_COUNT] = {TABLE(generic), TABLE(avx2), TABLE(avx512)};
#else
static const kernel_table tables[CK_ISA_COUNT] = {TABLE(generic), TABLE(generic), TABLE(generic)};
#endif

static int g_supported = CK_ISA_GENERIC, g_active = CK_ISA_GENERIC;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Thread_local int t_override = -1;

static int detect(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CK_ISA_GENERIC;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(osxsave && avx && fma)) return CK_ISA_GENERIC;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6) return CK_ISA_GENERIC;  // XMM and YMM state saved by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return CK_ISA_GENERIC;
    int avx2 = (b >> 5) & 1;
    if (!avx2) return CK_ISA_GENERIC;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);  // F, DQ, BW, VL
    if (avx512 && (xcr0_lo & 0xE6) == 0xE6) return CK_ISA_AVX512;  // opmask, ZMM_Hi256, Hi16_ZMM saved
    return CK_ISA_AVX2;
#else
    return CK_ISA_GENERIC;
#endif
}

static void initialize(void) {
    g_supported = detect();
    g_active = g_supported;
    const char *want = getenv("SEQ2SEQ_ISA");
    if (want) {
        int level = -1;
        if (!strcmp(want, "avx512")) level = CK_ISA_AVX512;
        else if (!strcmp(want, "avx2")) level = CK_ISA_AVX2;
        else if (!strcmp(want, "generic") || !strcmp(want, "sse2") || !strcmp(want, "sse41")) level = CK_ISA_GENERIC;
        if (level >= 0 && level < g_active) g_active = level;
    }
}

int ck_isa_supported(void) { pthread_once(&g_once, initialize); return g_supported; }
int ck_isa_active(void) { pthread_once(&g_once, initialize); return g_active; }

void ck_isa_set_thread_override(int level) {
    pthread_once(&g_once, initialize);
    t_override = level < 0 ? -1 : (level > g_supported ? g_supported : level);
}

int ck_isa_current(void) {
    pthread_once(&g_once, initialize);
    return t_override >= 0 ? t_override : g_active;
}

const char *ck_isa_name(int level) {
    switch (level) {
    case CK_ISA_AVX512: return "avx512";
    case CK_ISA_AVX2: return "avx2";
    default: return "generic";
    }
}

int ck_isa_lanes(int level) { return level == CK_ISA_AVX512 ? 16 : level == CK_ISA_AVX2 ? 8 : 4; }

static inline const kernel_table *T(void) { return &tables[ck_isa_current()]; }

void ck_exp(const float *x, float *y, long n) { T()->exp(x, y, n); }
void ck_sigmoid(const float *x, float *y, long n) { T()->sigmoid(x, y, n); }
void ck_tanh(const float *x, float *y, long n) { T()->tanh(x, y, n); }
void ck_lstm_cell(float *z, const float *cp, float *c, float *tc, float *h, long H) { T()->lstm_cell(z, cp, c, tc, h, H); }
void ck_lstm_cell_backward(const float *g, const float *tc, const float *cp, const float *dy, const float *dh, float *dc,
                           float *dz, long H) {
    T()->lstm_cell_backward(g, tc, cp, dy, dh, dc, dz, H);
}
float ck_sum(const float *x, long n) { return T()->sum(x, n); }
float ck_sum_of_squares(const float *x, long n) { return T()->sum_of_squares(x, n); }
float ck_maximum(const float *x, long n) { return T()->maximum(x, n); }
float ck_exp_shifted(const float *x, float s, float *y, long n) { return T()->exp_shifted(x, s, y, n); }
void ck_add(const float *x, float *y, long n) { T()->add(x, y, n); }
void ck_add_column_sums(const float *x, long r, long c, float *y) { T()->add_column_sums(x, r, c, y); }
void ck_add_scalar(float c, float *x, long n) { T()->add_scalar(c, x, n); }
void ck_scale(float c, float *x, long n) { T()->scale(c, x, n); }
void ck_scale_and_add(float a, float b, float *x, long n) { T()->scale_and_add(a, b, x, n); }
void ck_multiply(const float *x, const float *m, float *y, long n) { T()->multiply(x, m, y, n); }
void ck_adam_step(float *p, const float *g, float *m, float *v, long n, float b1, float b2, float eps, float step,
                  float inv2) {
    T()->adam_step(p, g, m, v, n, b1, b2, eps, step, inv2);
}
void ck_few_rows_times_transposed(long m, long n, long k, const float *a, long lda, const float *w, long ldw, float *c,
                                  long ldc) {
    T()->few_rows_times_transposed(m, n, k, a, lda, w, ldw, c, ldc);
}

void ck_integrity_scan(const unsigned char *p, long blocks, unsigned long long lanes[4], int floats, long *non_finite) {
    T()->integrity_scan(p, blocks, lanes, floats, non_finite);
}

void ck_to_bf16(const float *x, unsigned short *y, long n) { T()->to_bf16(x, y, n); }
float ck_log_softmax_row(float *x, long n) { return T()->log_softmax_row(x, n); }
float ck_quantize_row(const float *x, long k, long levels, unsigned char *q) { return T()->quantize_row(x, k, levels, q); }
void ck_dequantize_add(const int *p, float s, const float *scales, float *out, long n) {
    T()->dequantize_add(p, s, scales, out, n);
}

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double ck_fma_seconds(int level, long iterations) {
    if (level < 0 || level > ck_isa_supported()) return -1;
    return tables[level].fma_seconds(iterations, monotonic_seconds);
}
