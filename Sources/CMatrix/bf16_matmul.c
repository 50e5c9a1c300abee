// bf16 products through oneDNN's matmul primitive: A and B in bf16, C in fp32 (fp32
// accumulation), on the calling thread like cmatrix_sgemm. oneDNN 2.6 has no public bf16 GEMM
// function, so each thread keeps the primitives of the shapes it multiplied (a shape's
// primitive is made once; execution reuses it with the call's pointers).
#include "cmatrix.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <immintrin.h>
#include <stdlib.h>
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
    int trans_a;
    dnnl_memory_desc_t a, b, c;
    dnnl_memory_t ma, mb, mc;   // made once with no data; each call points them at its operands
    size_t scratch_bytes;       // the primitive's scratchpad (packed operands), 0 if none
    dnnl_memory_t mscratch;     // pointed at the thread's scratch buffer by each call
} shape_entry;
static _Thread_local shape_entry t_cache[CACHE];
static _Thread_local int t_count, t_next;
static _Thread_local dnnl_stream_t t_stream;

static shape_entry *find(int trans_a, int trans_b, long m, long n, long k, long lda, long ldb, long ldc, int accumulate) {
    for (int i = 0; i < t_count; i++) {
        shape_entry *e = &t_cache[i];
        if (e->m == m && e->n == n && e->k == k && e->lda == lda && e->ldb == ldb && e->ldc == ldc &&
            e->trans_b == trans_b && e->accumulate == accumulate && e->trans_a == trans_a)
            return e;
    }
    return NULL;
}

static shape_entry *remember(shape_entry e);

/// Frees what an entry holds.
static void release(shape_entry *e) {
    if (e->primitive) dnnl_primitive_destroy(e->primitive);
    if (e->ma) dnnl_memory_destroy(e->ma);
    if (e->mb) dnnl_memory_destroy(e->mb);
    if (e->mc) dnnl_memory_destroy(e->mc);
    if (e->mscratch) dnnl_memory_destroy(e->mscratch);
}

static shape_entry *make(int trans_a, int trans_b, long m, long n, long k, long lda, long ldb, long ldc, int accumulate) {
    shape_entry e = {m, n, k, lda, ldb, ldc, trans_b, accumulate, NULL};
    e.trans_a = trans_a;
    dnnl_dims_t a_dims = {m, k}, a_strides_n = {lda, 1}, a_strides_t = {1, lda};
    dnnl_dims_t b_dims = {k, n}, b_strides_n = {ldb, 1}, b_strides_t = {1, ldb};
    dnnl_dims_t c_dims = {m, n}, c_strides = {ldc, 1};
    if (dnnl_memory_desc_init_by_strides(&e.a, 2, a_dims, dnnl_bf16, trans_a ? a_strides_t : a_strides_n) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&e.b, 2, b_dims, dnnl_bf16, trans_b ? b_strides_t : b_strides_n) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&e.c, 2, c_dims, dnnl_f32, c_strides) != dnnl_success)
        return NULL;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &e.a, &e.b, NULL, &e.c) != dnnl_success) return NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    // The scratchpad is ours: in the library's mode oneDNN allocates and frees it around every
    // execution, so each product faulted fresh pages in (~14k page faults/s in bf16 training).
    if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
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
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e.scratch_bytes = scratch ? dnnl_memory_desc_get_size(scratch) : 0;
    if (status == dnnl_success && e.scratch_bytes > 0 &&
        dnnl_memory_create(&e.mscratch, scratch, g_engine, DNNL_MEMORY_NONE) != dnnl_success)
        status = dnnl_out_of_memory;
    dnnl_primitive_desc_destroy(pd);
    if (status != dnnl_success) {
        release(&e);
        return NULL;
    }
    if (dnnl_memory_create(&e.ma, &e.a, g_engine, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&e.mb, &e.b, g_engine, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&e.mc, &e.c, g_engine, DNNL_MEMORY_NONE) != dnnl_success) {
        release(&e);
        return NULL;
    }
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
        release(slot);
    }
    *slot = e;
    return slot;
}

/// This thread's scratchpad for oneDNN, grown (by half again) to the largest a primitive asked for.
static _Thread_local void *t_scratch;
static _Thread_local size_t t_scratch_bytes;
static void *scratch_buffer(size_t bytes) {
    if (bytes > t_scratch_bytes) {
        free(t_scratch);
        size_t grown = bytes + bytes / 2;
        t_scratch = aligned_alloc(64, (grown + 63) & ~(size_t)63);
        t_scratch_bytes = t_scratch ? grown : 0;
    }
    return t_scratch;
}

/// The product with bf16 operands as described (A transposed in memory when trans_a).
static int multiply(int trans_a, int trans_b, long m, long n, long k, const unsigned short *a, long lda,
                    const unsigned short *b, long ldb, int accumulate, float *c, long ldc) {
    pthread_once(&g_engine_once, make_engine);
    if (g_engine_status != dnnl_success) return (int)g_engine_status;
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
    if (!t_stream && dnnl_stream_create(&t_stream, g_engine, dnnl_stream_default_flags) != dnnl_success) return -1;
    shape_entry *e = find(trans_a, trans_b, m, n, k, lda, ldb, ldc, accumulate);
    if (!e) e = make(trans_a, trans_b, m, n, k, lda, ldb, ldc, accumulate);
    if (!e) {
        shape_entry refused = {m, n, k, lda, ldb, ldc, trans_b, accumulate, NULL};
        refused.trans_a = trans_a;
        e = remember(refused);
    }
    if (!e->primitive) return -2;   // refused (e.g. no bf16 support on this CPU)
    // No allocation per call (decoding calls this at every step): the entry's memory objects
    // are pointed at this call's operands.
    if (dnnl_memory_set_data_handle(e->ma, (void *)a) != dnnl_success ||
        dnnl_memory_set_data_handle(e->mb, (void *)b) != dnnl_success ||
        dnnl_memory_set_data_handle(e->mc, c) != dnnl_success)
        return -3;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->ma}, {DNNL_ARG_WEIGHTS, e->mb}, {DNNL_ARG_DST, e->mc},
                               {DNNL_ARG_SCRATCHPAD, e->mscratch}};
    int count = 3;
    if (e->scratch_bytes > 0) {
        void *scratch = scratch_buffer(e->scratch_bytes);
        if (!scratch || dnnl_memory_set_data_handle(e->mscratch, scratch) != dnnl_success) return -5;
        count = 4;
    }
    return dnnl_primitive_execute(e->primitive, t_stream, count, args) == dnnl_success &&
                   dnnl_stream_wait(t_stream) == dnnl_success
               ? 0 : -4;
}

int cmatrix_gemm_bf16(int trans_b, long m, long n, long k, const unsigned short *a, long lda, const unsigned short *b,
                      long ldb, int accumulate, float *c, long ldc) {
    return multiply(0, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}

// fp32 → bf16 (round to nearest even, NaN kept) of a [rows, cols] matrix with leading dimension
// ld into a dense [rows, cols] one: 32 values per vcvtne2ps2bf16.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void round_rows(const float *x, long rows, long cols, long ld,
                                                                            unsigned short *y) {
    for (long r = 0; r < rows; r++) {
        const float *in = x + r * ld;
        unsigned short *out = y + r * cols;
        long j = 0;
        for (; j + 32 <= cols; j += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(in + j + 16), _mm512_loadu_ps(in + j));
            _mm512_storeu_si512((void *)(out + j), (__m512i)v);
        }
        if (j < cols) {
            long left = cols - j;
            __mmask16 lo = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1);
            __mmask16 hi = (__mmask16)(left <= 16 ? 0 : (1u << (left - 16)) - 1);
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, in + j + 16), _mm512_maskz_loadu_ps(lo, in + j));
            __mmask32 all = (__mmask32)(left >= 32 ? 0xFFFFFFFFu : (1u << left) - 1);
            _mm512_mask_storeu_epi16(out + j, all, (__m512i)v);
        }
    }
}

void cmatrix_round_to_bf16(const float *x, long n, unsigned short *y) { round_rows(x, 1, n, n, y); }

static _Thread_local int t_bf16_override = -1;
int cmatrix_bf16_override(void) { return t_bf16_override; }
void cmatrix_set_bf16_override(int value) { t_bf16_override = value; }

/// Thread-local bf16 copies of the operands, grown by half again past the largest use (batches
/// vary in length: growing to the exact size re-faulted megabytes of fresh pages at each new maximum).
static _Thread_local unsigned short *t_buffers[2];
static _Thread_local long t_capacity[2];
static unsigned short *buffer(int which, long count) {
    if (count > t_capacity[which]) {
        free(t_buffers[which]);
        long grown = count + count / 2;
        t_buffers[which] = malloc((size_t)grown * sizeof(unsigned short));
        t_capacity[which] = t_buffers[which] ? grown : 0;
    }
    return t_buffers[which];
}

/// `*x16` (ld `*ld`) for an fp32 operand [rows, cols] not yet held in bf16: rounded into this
/// thread's buffer `which` (dense, so `*ld` becomes cols). Returns 0, or -5 without memory.
static int round_operand(int which, const float *x, long rows, long cols, const unsigned short **x16, long *ld) {
    if (*x16) return 0;
    unsigned short *rounded = buffer(which, rows * cols);
    if (!rounded) return -5;
    round_rows(x, rows, cols, *ld, rounded);
    *x16 = rounded;
    *ld = cols;
    return 0;
}

int cmatrix_sgemm_as_bf16(int trans_a, int trans_b, long m, long n, long k, const float *a, const unsigned short *a16,
                          long lda, const float *b, const unsigned short *b16, long ldb, int accumulate, float *c,
                          long ldc) {
    long lda16 = lda, ldb16 = ldb;
    if (round_operand(0, a, trans_a ? k : m, trans_a ? m : k, &a16, &lda16) != 0 ||
        round_operand(1, b, trans_b ? n : k, trans_b ? k : n, &b16, &ldb16) != 0)
        return -5;
    return multiply(trans_a, trans_b, m, n, k, a16, lda16, b16, ldb16, accumulate, c, ldc);
}
