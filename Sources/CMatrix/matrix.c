// oneDNN sgemm, always on the calling thread.
//
// oneDNN (Debian's build) threads with OpenMP, whose idle threads spin-wait: a team of two spinning
// inside our own split of a decoder step oversubscribed the cores, and on a machine shared with
// other jobs a spinning barrier waits for a thread that is not scheduled. So oneDNN gets one
// OpenMP thread per calling thread (OpenMP keeps that setting per OS thread, hence the check on
// every call) and the Swift facade splits products over its own threads, which block when idle.
//
// SEQ2SEQ_ISA=avx2|sse41|generic caps the instruction set oneDNN may dispatch to (for tests and
// comparisons); it is read once, before the first product.
#include "cmatrix.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The OpenMP API (libgomp, which oneDNN links): declared here because omp.h ships with GCC, not
// with the Swift toolchain's clang.
int omp_get_max_threads(void);
void omp_set_num_threads(int);

static atomic_int g_products = 0, g_team = 0;
static _Thread_local int t_inside_part = 0;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void apply_isa_limit(void) {
    const char *isa = getenv("SEQ2SEQ_ISA");
    if (!isa) return;
    if (!strcmp(isa, "avx2")) dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2);
    else if (!strcmp(isa, "generic") || !strcmp(isa, "sse2") || !strcmp(isa, "sse41"))
        dnnl_set_max_cpu_isa(dnnl_cpu_isa_sse41);
    // "avx512" or anything else: no cap.
}

void cmatrix_sgemm(int ta, int tb, long m, long n, long k, float alpha, const float *a, long lda, const float *b,
                   long ldb, float beta, float *c, long ldc) {
    pthread_once(&g_once, apply_isa_limit);
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int cmatrix_gemm_u8s8s32_nt(long m, long n, long k, const unsigned char *a, long lda, unsigned char ao,
                            const signed char *b, long ldb, int *c, long ldc) {
    pthread_once(&g_once, apply_isa_limit);
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
    const int32_t zero = 0;
    dnnl_status_t status = dnnl_gemm_u8s8s32('N', 'T', 'F', m, n, k, 1.0f, a, lda, ao, (const int8_t *)b, ldb, 0,
                                             0.0f, (int32_t *)c, ldc, &zero);
    return status == dnnl_success ? 0 : (int)status;
}

int cmatrix_has_vnni(void) {
    pthread_once(&g_once, apply_isa_limit);
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_vnni: case dnnl_cpu_isa_avx512_core_bf16: case dnnl_cpu_isa_avx512_core_amx:
    case dnnl_cpu_isa_avx2_vnni:
        return 1;
    default:
        return 0;
    }
}

void cmatrix_set_threads(int products, int team) {
    atomic_store(&g_products, products < 0 ? 0 : products);
    atomic_store(&g_team, team < 0 ? 0 : team);
}
int cmatrix_product_threads(void) { return atomic_load(&g_products); }
int cmatrix_team_threads(void) { return atomic_load(&g_team); }

int cmatrix_set_inside_part(int inside) {
    int previous = t_inside_part;
    t_inside_part = inside;
    return previous;
}
int cmatrix_inside_part(void) { return t_inside_part; }

void cmatrix_backend_description(char *buffer, long capacity) {
    pthread_once(&g_once, apply_isa_limit);
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
    snprintf(buffer, (size_t)capacity, "oneDNN %d.%d.%d (%s)", v->major, v->minor, v->patch, isa);
}
