// oneDNN sgemm behind one entry point, with the thread policy of the product:
// - the number of OpenMP threads is set per call from one global count, because OpenMP keeps
//   that setting per OS thread (a thread that never asked would use every core);
// - `cmatrix_parallel` runs our own element-wise splits on the same libgomp team, so there is
//   one pool of threads in the process and a product inside a part stays on its thread;
// - SEQ2SEQ_ISA=avx2|sse41|generic caps the instruction set oneDNN may dispatch to (for tests
//   and for comparisons); it is read once, before the first product.
#include "cmatrix.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// libgomp's entry point for `#pragma omp parallel` (documented in the libgomp manual, "The libgomp
// ABI"). Called directly because the Swift toolchain's clang would link LLVM's OpenMP runtime, a
// second thread pool beside the libgomp one that oneDNN uses.
// The OpenMP API functions are declared here too: omp.h ships with GCC, not with the Swift
// toolchain's clang.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_max_threads(void);
void omp_set_num_threads(int);
int omp_in_parallel(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);

static atomic_int g_threads = 0;        // products; 0 = not configured yet: OpenMP's default
static atomic_int g_team = 0;           // cmatrix_parallel; 0 = not configured yet: OpenMP's default
static atomic_long g_split_rows = 128;  // see cmatrix_set_column_split_rows
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void apply_isa_limit(void) {
    const char *isa = getenv("SEQ2SEQ_ISA");
    if (!isa) return;
    if (!strcmp(isa, "avx2")) dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2);
    else if (!strcmp(isa, "generic") || !strcmp(isa, "sse41")) dnnl_set_max_cpu_isa(dnnl_cpu_isa_sse41);
    // "avx512" or anything else: no cap.
}

static inline void initialize(void) { pthread_once(&g_once, apply_isa_limit); }

void cmatrix_set_threads(int count) {
    initialize();
    atomic_store(&g_threads, count < 1 ? 1 : count);
    atomic_store(&g_team, count < 1 ? 1 : count);
}

void cmatrix_set_product_threads(int count) {
    initialize();
    atomic_store(&g_threads, count < 1 ? 1 : count);
}

int cmatrix_team_threads(void) {
    int t = atomic_load(&g_team);
    return t > 0 ? t : omp_get_max_threads();
}

int cmatrix_threads(void) {
    int t = atomic_load(&g_threads);
    return t > 0 ? t : omp_get_max_threads();
}

void cmatrix_set_column_split_rows(long rows) { atomic_store(&g_split_rows, rows < 0 ? 0 : rows); }
long cmatrix_column_split_rows(void) { return atomic_load(&g_split_rows); }

int cmatrix_in_parallel(void) { return omp_in_parallel(); }

typedef struct {
    void (*body)(void *, long);
    void *context;
    long parts;
} parallel_job;

static void parallel_trampoline(void *data) {
    parallel_job *job = data;
    long stride = omp_get_num_threads();
    for (long p = omp_get_thread_num(); p < job->parts; p += stride) job->body(job->context, p);
}

void cmatrix_parallel(long parts, void (*body)(void *, long), void *context) {
    initialize();
    long team = cmatrix_team_threads();
    if (team > parts) team = parts;
    if (team <= 1 || omp_in_parallel()) {
        for (long p = 0; p < parts; p++) body(context, p);
        return;
    }
    parallel_job job = {body, context, parts};
    GOMP_parallel(parallel_trampoline, &job, (unsigned)team, 0);
}

static inline void sgemm_on_current_threads(int ta, int tb, long m, long n, long k, float alpha, const float *a,
                                            long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cmatrix_sgemm_single(int ta, int tb, long m, long n, long k, float alpha, const float *a, long lda,
                          const float *b, long ldb, float beta, float *c, long ldc) {
    initialize();
    if (!omp_in_parallel() && omp_get_max_threads() != 1) omp_set_num_threads(1);
    sgemm_on_current_threads(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

typedef struct {
    int ta, tb;
    long m, n, k;
    float alpha, beta;
    const float *a, *b;
    long lda, ldb, ldc;
    float *c;
    long parts;
} column_split;

static void column_part(void *data, long part) {
    const column_split *s = data;
    // Column blocks rounded to 16 so every part but the last keeps whole vectors.
    long per = ((s->n + s->parts - 1) / s->parts + 15) & ~15L;
    long n0 = part * per, n1 = n0 + per < s->n ? n0 + per : s->n;
    if (n0 >= n1) return;
    const float *b = s->tb ? s->b + n0 * s->ldb : s->b + n0;  // op(B)[:, n0..<n1]
    sgemm_on_current_threads(s->ta, s->tb, s->m, n1 - n0, s->k, s->alpha, s->a, s->lda, b, s->ldb, s->beta,
                             s->c + n0, s->ldc);
}

void cmatrix_sgemm(int ta, int tb, long m, long n, long k, float alpha, const float *a, long lda, const float *b,
                   long ldb, float beta, float *c, long ldc) {
    initialize();
    if (omp_in_parallel()) {  // inside one of our parts: this thread alone
        sgemm_on_current_threads(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    int threads = cmatrix_threads();
    long split = atomic_load(&g_split_rows);
    if (threads > 1 && m <= split && n >= 128L * threads) {
        // Few rows (a recurrent step): oneDNN's own threading splits such products poorly; each
        // thread takes a block of columns (and so only its part of the weights) instead.
        column_split s = {ta, tb, m, n, k, alpha, beta, a, b, lda, ldb, ldc, c, threads};
        cmatrix_parallel(threads, column_part, &s);
        return;
    }
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
    sgemm_on_current_threads(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cmatrix_backend_description(char *buffer, long capacity) {
    initialize();
    const dnnl_version_t *v = dnnl_version();
    const char *isa;
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: isa = "sse4.1"; break;
    case dnnl_cpu_isa_avx: isa = "avx"; break;
    case dnnl_cpu_isa_avx2: isa = "avx2"; break;
    case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
    case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
    case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
    default: isa = "other"; break;
    }
    snprintf(buffer, (size_t)capacity, "oneDNN %d.%d.%d (%s, OpenMP)", v->major, v->minor, v->patch, isa);
}
