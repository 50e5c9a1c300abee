// Element-wise kernels at the machine's vector width, chosen at run time.
// No stable Swift API: imported by exactly one Swift file, Sources/Seq2Seq/Math/Kernels.swift.
//
// Every kernel is compiled three times from one source (kernels_body.h): for AVX-512
// (512-bit vectors), for AVX2 + FMA (256-bit) and for baseline x86-64 (128-bit SSE2), and the
// widest one the CPU and the operating system support is used. The binary itself needs no more
// than baseline x86-64: wider code runs only after CPUID said it may.
#ifndef CKERNELS_H
#define CKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels, narrowest first.
enum { CK_ISA_GENERIC = 0, CK_ISA_AVX2 = 1, CK_ISA_AVX512 = 2, CK_ISA_COUNT = 3 };

/// Widest level the CPU and OS support (CPUID + XGETBV).
int ck_isa_supported(void);
/// Level used by the kernels: the supported one, capped by SEQ2SEQ_ISA=avx512|avx2|generic if set.
int ck_isa_active(void);
/// Level the calling thread uses: `level` (capped at the supported one) until called with -1,
/// which returns the thread to `ck_isa_active()`. For tests that run every path in one process.
void ck_isa_set_thread_override(int level);
/// Level the calling thread uses now.
int ck_isa_current(void);
/// "avx512", "avx2", "generic".
const char *ck_isa_name(int level);

void ck_exp(const float *x, float *y, long n);
void ck_sigmoid(const float *x, float *y, long n);
void ck_tanh(const float *x, float *y, long n);

void ck_lstm_cell(float *z, const float *c_prev, float *c, float *tanh_c, float *h, long hidden);
void ck_lstm_cell_backward(const float *gates, const float *tanh_c, const float *c_prev, const float *dy,
                           const float *dh, float *dc, float *dz, long hidden);

float ck_sum(const float *x, long n);
float ck_sum_of_squares(const float *x, long n);
float ck_maximum(const float *x, long n);
float ck_exp_shifted(const float *x, float shift, float *y, long n);
void ck_add(const float *x, float *y, long n);
void ck_add_column_sums(const float *x, long rows, long columns, float *y);
void ck_add_scalar(float c, float *x, long n);
void ck_scale(float c, float *x, long n);
void ck_scale_and_add(float a, float b, float *x, long n);
void ck_multiply(const float *x, const float *m, float *y, long n);
void ck_adam_step(float *p, const float *g, float *m, float *v, long n, float beta1, float beta2, float epsilon,
                  float step_size, float inv_correction2);
void ck_few_rows_times_transposed(long m, long n, long k, const float *a, long lda, const float *w, long ldw,
                                  float *c, long ldc);

/// Checksum lanes and non-finite F32 count over `blocks` 32-byte blocks (see TensorIntegrity.swift).
void ck_integrity_scan(const unsigned char *p, long blocks, unsigned long long lanes[4], int floats, long *non_finite);

/// fp32 → bf16 (round to nearest even; NaN stays NaN): y[i] = upper 16 bits of the rounded x[i].
void ck_to_bf16(const float *x, unsigned short *y, long n);

/// In place: x[j] −= log Σ_i e^(x[i]) (computed with the row's maximum as shift); returns that value.
float ck_log_softmax_row(float *x, long n);
/// QuantizedMatrix's input row: s = max_j |x[j]| / levels (1 for zeros), q[j] = round(x[j] / s) + levels
/// (ties to even) clamped to [0, 2·levels]; returns s.
float ck_quantize_row(const float *x, long k, long levels, unsigned char *q);
/// out[v] += s · scales[v] · p[v] for v < n (integer sums back to float).
void ck_dequantize_add(const int *p, float s, const float *scales, float *out, long n);

/// Whether the CPU has AVX512_BF16 (vdpbf16ps) with the ZMM state enabled.
int ck_has_avx512_bf16(void);
/// C[r, v] += Σ_k A[r, k]·W[v, k] over bf16 A [m, k] (lda) and W [n, k] (ldw) with fp32 sums, for
/// few rows (vdpbf16ps, W streamed once, no packing); a row's result does not depend on the other
/// rows. Returns 0 (and does nothing) without AVX512_BF16.
int ck_bf16_few_rows_times_transposed(long m, long n, long k, const unsigned short *a, long lda, const unsigned short *w,
                                      long ldw, float *c, long ldc);
/// Seconds for `iterations` rounds of 12 independent vdpbf16ps chains on this thread, or -1 without
/// AVX512_BF16. FLOP = iterations · 12 · 32 · 2.
double ck_bf16_dot_seconds(long iterations);

/// Seconds for `iterations` rounds of 12 independent vector FMA chains at `level` on this thread
/// (level above the supported one: returns -1). FLOP = iterations · 12 · lanes · 2.
double ck_fma_seconds(int level, long iterations);
/// Float lanes of one vector at `level` (16, 8, 4).
int ck_isa_lanes(int level);

#ifdef __cplusplus
}
#endif
#endif
