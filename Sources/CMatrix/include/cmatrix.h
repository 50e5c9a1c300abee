// C shim over oneDNN's sgemm and its OpenMP thread team (libgomp).
// No stable Swift API: imported by exactly one Swift file,
// Sources/Seq2Seq/Math/BLAS.swift, which is the facade everything else uses.
// Plain C types only; oneDNN and OpenMP headers are included by the .c file alone.
#ifndef CMATRIX_H
#define CMATRIX_H

#ifdef __cplusplus
extern "C" {
#endif

/// Threads used by every following product and by `cmatrix_parallel` (at least 1).
void cmatrix_set_threads(int count);
/// Threads of every following product only (the team size of `cmatrix_parallel` stays): the
/// semantics of OpenBLAS's openblas_set_num_threads, for callers written against it.
void cmatrix_set_product_threads(int count);
/// Threads a product uses now.
int cmatrix_threads(void);
/// Threads `cmatrix_parallel` uses at most.
int cmatrix_team_threads(void);

/// Row-major single-precision C = alpha·op(A)·op(B) + beta·C (the CBLAS row-major contract).
/// Inside a `cmatrix_parallel` part the product runs on the calling thread alone.
void cmatrix_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
                   const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// The same product on the calling thread only (no team), whatever `cmatrix_threads()` is.
void cmatrix_sgemm_single(int trans_a, int trans_b, long m, long n, long k, float alpha,
                          const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// Rows up to which a product with enough columns is split by columns over the team, each part
/// single-threaded (0 = never). Chosen by measurement (`seq2seq bench peak`).
void cmatrix_set_column_split_rows(long rows);
long cmatrix_column_split_rows(void);

/// Runs body(context, part) for every part < parts on the same thread team the products use
/// (min(parts, cmatrix_team_threads()) threads; the caller is one of them). Products called inside a
/// part run single-threaded, so the team never oversubscribes the cores.
void cmatrix_parallel(long parts, void (*body)(void *context, long part), void *context);

/// 1 while the calling thread runs inside a `cmatrix_parallel` part.
int cmatrix_in_parallel(void);

/// "oneDNN 2.6.3 (avx512_core, OpenMP)" — library version and the instruction set it dispatched to.
/// Writes at most `capacity` bytes (NUL included) into `buffer`.
void cmatrix_backend_description(char *buffer, long capacity);

#ifdef __cplusplus
}
#endif
#endif
