// C shim over oneDNN's sgemm. No stable Swift API: imported by exactly one Swift file,
// Sources/Seq2Seq/Math/BLAS.swift, which is the facade everything else uses.
// Plain C types only; oneDNN's header is included by the .c file alone.
#ifndef CMATRIX_H
#define CMATRIX_H

#ifdef __cplusplus
extern "C" {
#endif

/// Row-major single-precision C = alpha·op(A)·op(B) + beta·C (the CBLAS row-major contract),
/// computed on the calling thread alone: oneDNN never starts threads of its own here. The
/// facade splits large products over its threads itself.
void cmatrix_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
                   const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// Row-major integer product C = (A − ao)·Bᵀ for u8 A [m, k] (lda) and s8 B [n, k] (ldb) into s32
/// C [m, n] (ldc), on the calling thread (oneDNN's gemm_u8s8s32). Returns 0 on success.
/// Without VNNI the u8·s8 pair sums saturate at 16 bits: keep A within 0…127 there.
int cmatrix_gemm_u8s8s32_nt(long m, long n, long k, const unsigned char *a, long lda, unsigned char ao,
                            const signed char *b, long ldb, int *c, long ldc);

/// Row-major C = A·op(B) (accumulate: C += A·op(B)) for bf16 A [m, k] (lda) and B [k, n] (ldb;
/// trans_b: stored [n, k]), fp32 accumulation into fp32 C [m, n] (ldc), on the calling thread
/// (oneDNN's matmul primitive, kept per thread and shape). bf16 values are the upper 16 bits of
/// IEEE floats. Returns 0 on success (a CPU without bf16 support still computes, slowly).
int cmatrix_gemm_bf16(int trans_b, long m, long n, long k, const unsigned short *a, long lda, const unsigned short *b,
                      long ldb, int accumulate, float *c, long ldc);

/// Row-major C = op(A)·op(B) (accumulate: C += …) for fp32 operands, rounded to bf16 first (into
/// buffers of the calling thread) and multiplied with fp32 accumulation: mixed-precision training.
/// Only for CPUs with AVX512_BF16 (the rounding uses vcvtne2ps2bf16). `a16`/`b16`, when not NULL,
/// are A/B already rounded (same layout and leading dimension): that operand is not rounded again.
/// Returns 0 on success.
int cmatrix_sgemm_as_bf16(int trans_a, int trans_b, long m, long n, long k, const float *a, const unsigned short *a16,
                          long lda, const float *b, const unsigned short *b16, long ldb, int accumulate, float *c,
                          long ldc);

/// fp32 → bf16 of n floats, exactly as cmatrix_sgemm_as_bf16 rounds its operands (AVX512_BF16 only).
void cmatrix_round_to_bf16(const float *x, long n, unsigned short *y);

/// A per-thread override of the facade's bf16 training mode (-1 none, 0 off, 1 on), for tests.
int cmatrix_bf16_override(void);
void cmatrix_set_bf16_override(int value);

/// 1 if oneDNN's int8 products use VNNI (u8·s8 dot products without 16-bit saturation).
int cmatrix_has_vnni(void);

/// Thread settings kept process-wide for the facade: threads per product, threads of the
/// element-wise splits (0 = not configured: the caller picks its default).
void cmatrix_set_threads(int products, int team);
int cmatrix_product_threads(void);
int cmatrix_team_threads(void);

/// Marks the calling thread as running one part of a split (1) or not (0): products called
/// there stay on the thread. Returns the previous mark.
int cmatrix_set_inside_part(int inside);
int cmatrix_inside_part(void);

/// "oneDNN 2.6.3 (avx512_core)" — library version and the instruction set it dispatched to.
/// Writes at most `capacity` bytes (NUL included) into `buffer`.
void cmatrix_backend_description(char *buffer, long capacity);

#ifdef __cplusplus
}
#endif
#endif
