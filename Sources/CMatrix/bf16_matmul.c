// bf16 products through oneDNN's matmul primitive: A and B in bf16, C in fp32 (fp32
// accumulation), on the calling thread like cmatrix_sgemm. oneDNN 2.6 has no public bf16 GEMM
// function, so each thread keeps the primitives of the shapes it multiplied (a shape's
// primitive is made once; execution reuses it with the call's pointers).
#include "cmatrix.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <string.h>

int omp_get_max_threads(void);
void omp_set_num_threads(int);

static dnnl_engine_t g_engine;
static dnnl_status_t g_engine_status = dnnl_runtime_error;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;
static void make_engine(void) { g_engine_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0); }

enum { CACHE = 48 };
typedef struct {
    long m, n, k, lda, ldb, ldc;
    int trans_b, accumulate;
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t a, b, c;
} shape_entry;
static _Thread_local shape_entry t_cache[CACHE];
static _Thread_local int t_count, t_next;
static _Thread_local dnnl_stream_t t_stream;

static shape_entry *find(int trans_b, long m, long n, long k, long lda, long ldb, long ldc, int accumulate) {
    for (int i = 0; i < t_count; i++) {
        shape_entry *e = &t_cache[i];
        if (e->m == m && e->n == n && e->k == k && e->lda == lda && e->ldb == ldb && e->ldc == ldc &&
            e->trans_b == trans_b && e->accumulate == accumulate)
            return e;
    }
    return NULL;
}

static shape_entry *remember(shape_entry e);

static shape_entry *make(int trans_b, long m, long n, long k, long lda, long ldb, long ldc, int accumulate) {
    shape_entry e = {m, n, k, lda, ldb, ldc, trans_b, accumulate, NULL};
    dnnl_dims_t a_dims = {m, k}, a_strides = {lda, 1};
    dnnl_dims_t b_dims = {k, n}, b_strides_n = {ldb, 1}, b_strides_t = {1, ldb};
    dnnl_dims_t c_dims = {m, n}, c_strides = {ldc, 1};
    if (dnnl_memory_desc_init_by_strides(&e.a, 2, a_dims, dnnl_bf16, a_strides) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&e.b, 2, b_dims, dnnl_bf16, trans_b ? b_strides_t : b_strides_n) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&e.c, 2, c_dims, dnnl_f32, c_strides) != dnnl_success)
        return NULL;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &e.a, &e.b, NULL, &e.c) != dnnl_success) return NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    if (accumulate) {   // C += A·B: the sum post-op reads the old C
        if (dnnl_post_ops_create(&ops) != dnnl_success || dnnl_post_ops_append_sum(ops, 1.0f) != dnnl_success ||
            dnnl_primitive_attr_set_post_ops(attr, ops) != dnnl_success) {
            if (ops) dnnl_post_ops_destroy(ops);
            dnnl_primitive_attr_destroy(attr);
            return NULL;
        }
    }
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t status = dnnl_primitive_desc_create(&pd, &desc, attr, g_engine, NULL);
    if (ops) dnnl_post_ops_destroy(ops);
    dnnl_primitive_attr_destroy(attr);
    if (status != dnnl_success) return NULL;
    status = dnnl_primitive_create(&e.primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    if (status != dnnl_success) return NULL;
    return remember(e);
}

/// Stores `e` (a primitive, or NULL for a shape oneDNN refused: not asked again) in the cache.
static shape_entry *remember(shape_entry e) {
    shape_entry *slot;
    if (t_count < CACHE) {
        slot = &t_cache[t_count++];
    } else {   // full: replace the oldest entry
        slot = &t_cache[t_next];
        t_next = (t_next + 1) % CACHE;
        if (slot->primitive) dnnl_primitive_destroy(slot->primitive);
    }
    *slot = e;
    return slot;
}

int cmatrix_gemm_bf16(int trans_b, long m, long n, long k, const unsigned short *a, long lda, const unsigned short *b,
                      long ldb, int accumulate, float *c, long ldc) {
    pthread_once(&g_engine_once, make_engine);
    if (g_engine_status != dnnl_success) return (int)g_engine_status;
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
    if (!t_stream && dnnl_stream_create(&t_stream, g_engine, dnnl_stream_default_flags) != dnnl_success) return -1;
    shape_entry *e = find(trans_b, m, n, k, lda, ldb, ldc, accumulate);
    if (!e) e = make(trans_b, m, n, k, lda, ldb, ldc, accumulate);
    if (!e) e = remember((shape_entry){m, n, k, lda, ldb, ldc, trans_b, accumulate, NULL});
    if (!e->primitive) return -2;   // refused (e.g. no bf16 support on this CPU)
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL;
    int result = -3;
    if (dnnl_memory_create(&ma, &e->a, g_engine, (void *)a) == dnnl_success &&
        dnnl_memory_create(&mb, &e->b, g_engine, (void *)b) == dnnl_success &&
        dnnl_memory_create(&mc, &e->c, g_engine, c) == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
        result = dnnl_primitive_execute(e->primitive, t_stream, 3, args) == dnnl_success &&
                         dnnl_stream_wait(t_stream) == dnnl_success
                     ? 0 : -4;
    }
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    return result;
}
