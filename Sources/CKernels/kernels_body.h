// The kernels, written once over a vector type `vf` of CK_VBYTES bytes and included by
// kernels_avx512.c (64), kernels_avx2.c (32) and kernels_generic.c (16), each of which sets the
// function attributes (target ISA) and CK_FN(name), the suffixed name. Plain vector arithmetic,
// no library calls: glibc's expf/tanhf are scalar.
//
// exp(x) = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 ∈ [−ln2/2, ln2/2]; e^r from the
// Cephes degree-6 polynomial (relative error ≈ 1e-7). n is rounded with the 1.5·2^23 "magic number"
// trick, whose bit pattern also holds n as an integer, so 2^n is built with integer shifts.
// Inputs are clamped to [−87.3, 88.3] (NaN passes through): no overflow to inf, no denormals, so
// sigmoid and tanh saturate cleanly. The same formulas as the scalar Swift `Kernels.exp`.
//
// Tails (the last n mod lanes elements) go through the same vector code on a padded copy, so
// every element sees the same arithmetic whatever its position.
#include <stddef.h>
#include <string.h>

#define LANES (CK_VBYTES / 4)
typedef float vf __attribute__((vector_size(CK_VBYTES)));
typedef int vi __attribute__((vector_size(CK_VBYTES)));

static inline vf CK_FN(splat)(float x) { return (vf){0} + x; }
static inline vf CK_FN(load)(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void CK_FN(store)(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf CK_FN(load_part)(const float *p, long n, float fill) {
    vf v = CK_FN(splat)(fill);
    for (long i = 0; i < n; i++) v[i] = p[i];
    return v;
}
static inline void CK_FN(store_part)(float *p, vf v, long n) { for (long i = 0; i < n; i++) p[i] = v[i]; }
/// m ? a : b lane by lane (m from a vector comparison: all ones or zero).
static inline vf CK_FN(select)(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }

static inline vf CK_FN(vexp)(vf x) {
    x = CK_FN(select)(x < -87.3f, CK_FN(splat)(-87.3f), x);
    x = CK_FN(select)(x > 88.3f, CK_FN(splat)(88.3f), x);
    const float magic = 12582912.0f;  // 1.5 · 2^23
    vf t = x * 1.44269504f + magic;
    vf n = t - magic;
    vf r = (x - n * 0.693359375f) - n * -2.1219444e-4f;  // ln2 split in two (Cephes C1, C2)
    vf p = CK_FN(splat)(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.16657959e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.00000012e-1f;
    vf er = p * (r * r) + r + 1.0f;
    vi bits = ((vi)t - 0x4B400000 + 127) << 23;  // bits(t) = 0x4B40_0000 + n
    return er * (vf)bits;
}
static inline vf CK_FN(vsigmoid)(vf x) { return 1.0f / (1.0f + CK_FN(vexp)(-x)); }
static inline vf CK_FN(vtanh)(vf x) { return 2.0f / (1.0f + CK_FN(vexp)(-2.0f * x)) - 1.0f; }

#define CK_MAP(name, fn)                                                             \
    void CK_FN(name)(const float *x, float *y, long n) {                             \
        long i = 0;                                                                  \
        for (; i + LANES <= n; i += LANES) CK_FN(store)(y + i, fn(CK_FN(load)(x + i))); \
        if (i < n) CK_FN(store_part)(y + i, fn(CK_FN(load_part)(x + i, n - i, 0)), n - i); \
    }
CK_MAP(exp, CK_FN(vexp))
CK_MAP(sigmoid, CK_FN(vsigmoid))
CK_MAP(tanh, CK_FN(vtanh))

/// Fused LSTM gate pass for one row (gate order i, f, g, o): activates z [4H] in place and writes
/// c = f·c_prev + i·g, tanh(c), h = o·tanh(c) [H]. c_prev may alias c.
static inline void CK_FN(lstm_lanes)(float *z, const float *cp, float *c, float *tc, float *h, long H, long j,
                                     long count) {
    float *zi = z + j, *zf = z + H + j, *zg = z + 2 * H + j, *zo = z + 3 * H + j;
    vf i, f, g, o, cprev;
    if (count == LANES) {
        i = CK_FN(load)(zi); f = CK_FN(load)(zf); g = CK_FN(load)(zg); o = CK_FN(load)(zo); cprev = CK_FN(load)(cp + j);
    } else {
        i = CK_FN(load_part)(zi, count, 0); f = CK_FN(load_part)(zf, count, 0); g = CK_FN(load_part)(zg, count, 0);
        o = CK_FN(load_part)(zo, count, 0); cprev = CK_FN(load_part)(cp + j, count, 0);
    }
    i = CK_FN(vsigmoid)(i); f = CK_FN(vsigmoid)(f); g = CK_FN(vtanh)(g); o = CK_FN(vsigmoid)(o);
    vf cj = f * cprev + i * g;
    vf t = CK_FN(vtanh)(cj);
    vf hj = o * t;
    if (count == LANES) {
        CK_FN(store)(zi, i); CK_FN(store)(zf, f); CK_FN(store)(zg, g); CK_FN(store)(zo, o);
        CK_FN(store)(c + j, cj); CK_FN(store)(tc + j, t); CK_FN(store)(h + j, hj);
    } else {
        CK_FN(store_part)(zi, i, count); CK_FN(store_part)(zf, f, count); CK_FN(store_part)(zg, g, count);
        CK_FN(store_part)(zo, o, count); CK_FN(store_part)(c + j, cj, count); CK_FN(store_part)(tc + j, t, count);
        CK_FN(store_part)(h + j, hj, count);
    }
}
void CK_FN(lstm_cell)(float *z, const float *cp, float *c, float *tc, float *h, long H) {
    long j = 0;
    for (; j + LANES <= H; j += LANES) CK_FN(lstm_lanes)(z, cp, c, tc, h, H, j, LANES);
    if (j < H) CK_FN(lstm_lanes)(z, cp, c, tc, h, H, j, H - j);
}

/// Backward of the gate pass for one row: with dh_total = dy + dh,
///   dc' = dc + dh_total·o·(1 − tanh²c);  dz_i = dc'·g·i(1−i);  dz_f = dc'·c_prev·f(1−f);
///   dz_g = dc'·i·(1−g²);  dz_o = dh_total·tanh c·o(1−o);  dc ← dc'·f.
static inline void CK_FN(lstm_back_lanes)(const float *gates, const float *tc, const float *cp, const float *dy,
                                          const float *dh, float *dc, float *dz, long H, long j, long count) {
    vf i, f, g, o, t, c0, y, hh, cc;
    if (count == LANES) {
        i = CK_FN(load)(gates + j); f = CK_FN(load)(gates + H + j); g = CK_FN(load)(gates + 2 * H + j);
        o = CK_FN(load)(gates + 3 * H + j); t = CK_FN(load)(tc + j); c0 = CK_FN(load)(cp + j);
        y = CK_FN(load)(dy + j); hh = CK_FN(load)(dh + j); cc = CK_FN(load)(dc + j);
    } else {
        i = CK_FN(load_part)(gates + j, count, 0); f = CK_FN(load_part)(gates + H + j, count, 0);
        g = CK_FN(load_part)(gates + 2 * H + j, count, 0); o = CK_FN(load_part)(gates + 3 * H + j, count, 0);
        t = CK_FN(load_part)(tc + j, count, 0); c0 = CK_FN(load_part)(cp + j, count, 0);
        y = CK_FN(load_part)(dy + j, count, 0); hh = CK_FN(load_part)(dh + j, count, 0);
        cc = CK_FN(load_part)(dc + j, count, 0);
    }
    vf dht = y + hh;
    vf dcj = cc + dht * o * (1.0f - t * t);
    vf di = dcj * g * i * (1.0f - i), df = dcj * c0 * f * (1.0f - f);
    vf dg = dcj * i * (1.0f - g * g), dO = dht * t * o * (1.0f - o);
    vf dcn = dcj * f;
    if (count == LANES) {
        CK_FN(store)(dz + j, di); CK_FN(store)(dz + H + j, df); CK_FN(store)(dz + 2 * H + j, dg);
        CK_FN(store)(dz + 3 * H + j, dO); CK_FN(store)(dc + j, dcn);
    } else {
        CK_FN(store_part)(dz + j, di, count); CK_FN(store_part)(dz + H + j, df, count);
        CK_FN(store_part)(dz + 2 * H + j, dg, count); CK_FN(store_part)(dz + 3 * H + j, dO, count);
        CK_FN(store_part)(dc + j, dcn, count);
    }
}
void CK_FN(lstm_cell_backward)(const float *gates, const float *tc, const float *cp, const float *dy,
                               const float *dh, float *dc, float *dz, long H) {
    long j = 0;
    for (; j + LANES <= H; j += LANES) CK_FN(lstm_back_lanes)(gates, tc, cp, dy, dh, dc, dz, H, j, LANES);
    if (j < H) CK_FN(lstm_back_lanes)(gates, tc, cp, dy, dh, dc, dz, H, j, H - j);
}

/// Lanes of v added in a fixed order (deterministic for a given level).
static inline float CK_FN(hsum)(vf v) {
    float s = 0;
    for (int l = 0; l < LANES; l++) s += v[l];
    return s;
}

float CK_FN(sum)(const float *x, long n) {
    vf a0 = {0}, a1 = {0};
    long i = 0;
    for (; i + 2 * LANES <= n; i += 2 * LANES) { a0 += CK_FN(load)(x + i); a1 += CK_FN(load)(x + i + LANES); }
    for (; i + LANES <= n; i += LANES) a0 += CK_FN(load)(x + i);
    if (i < n) a1 += CK_FN(load_part)(x + i, n - i, 0);
    return CK_FN(hsum)(a0 + a1);
}

float CK_FN(sum_of_squares)(const float *x, long n) {
    vf a0 = {0}, a1 = {0};
    long i = 0;
    for (; i + 2 * LANES <= n; i += 2 * LANES) {
        vf u = CK_FN(load)(x + i), w = CK_FN(load)(x + i + LANES);
        a0 += u * u; a1 += w * w;
    }
    for (; i + LANES <= n; i += LANES) { vf u = CK_FN(load)(x + i); a0 += u * u; }
    if (i < n) { vf u = CK_FN(load_part)(x + i, n - i, 0); a1 += u * u; }
    return CK_FN(hsum)(a0 + a1);
}

/// max_i x[i] for n ≥ 1 (a NaN in x may or may not win, as with the Swift version).
float CK_FN(maximum)(const float *x, long n) {
    if (n < LANES) {
        float m = x[0];
        for (long i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
        return m;
    }
    vf acc = CK_FN(load)(x);
    long i = LANES;
    for (; i + LANES <= n; i += LANES) { vf v = CK_FN(load)(x + i); acc = CK_FN(select)(v > acc, v, acc); }
    if (i < n) { vf v = CK_FN(load)(x + n - LANES); acc = CK_FN(select)(v > acc, v, acc); }  // overlapping tail
    float m = acc[0];
    for (int l = 1; l < LANES; l++) m = acc[l] > m ? acc[l] : m;
    return m;
}

/// y = exp(x − shift), returns Σ y. x and y may be the same buffer.
float CK_FN(exp_shifted)(const float *x, float shift, float *y, long n) {
    vf a0 = {0}, a1 = {0};
    long i = 0;
    for (; i + 2 * LANES <= n; i += 2 * LANES) {
        vf e0 = CK_FN(vexp)(CK_FN(load)(x + i) - shift), e1 = CK_FN(vexp)(CK_FN(load)(x + i + LANES) - shift);
        CK_FN(store)(y + i, e0); CK_FN(store)(y + i + LANES, e1);
        a0 += e0; a1 += e1;
    }
    for (; i + LANES <= n; i += LANES) {
        vf e = CK_FN(vexp)(CK_FN(load)(x + i) - shift);
        CK_FN(store)(y + i, e);
        a0 += e;
    }
    if (i < n) {
        vf e = CK_FN(vexp)(CK_FN(load_part)(x + i, n - i, -INFINITY) - shift);  // padding: e^-inf = 0
        CK_FN(store_part)(y + i, e, n - i);
        a1 += e;
    }
    return CK_FN(hsum)(a0 + a1);
}

void CK_FN(add)(const float *x, float *y, long n) {
    long i = 0;
    for (; i + LANES <= n; i += LANES) CK_FN(store)(y + i, CK_FN(load)(y + i) + CK_FN(load)(x + i));
    for (; i < n; i++) y[i] += x[i];
}

void CK_FN(add_column_sums)(const float *x, long rows, long columns, float *y) {
    for (long r = 0; r < rows; r++) CK_FN(add)(x + r * columns, y, columns);
}

void CK_FN(add_scalar)(float c, float *x, long n) {
    long i = 0;
    for (; i + LANES <= n; i += LANES) CK_FN(store)(x + i, CK_FN(load)(x + i) + c);
    for (; i < n; i++) x[i] += c;
}

void CK_FN(scale)(float c, float *x, long n) {
    long i = 0;
    for (; i + LANES <= n; i += LANES) CK_FN(store)(x + i, CK_FN(load)(x + i) * c);
    for (; i < n; i++) x[i] *= c;
}

/// x = x·a + b.
void CK_FN(scale_and_add)(float a, float b, float *x, long n) {
    long i = 0;
    for (; i + LANES <= n; i += LANES) CK_FN(store)(x + i, CK_FN(load)(x + i) * a + b);
    if (i < n) CK_FN(store_part)(x + i, CK_FN(load_part)(x + i, n - i, 0) * a + b, n - i);
}

void CK_FN(multiply)(const float *x, const float *m, float *y, long n) {
    long i = 0;
    for (; i + LANES <= n; i += LANES) CK_FN(store)(y + i, CK_FN(load)(x + i) * CK_FN(load)(m + i));
    for (; i < n; i++) y[i] = x[i] * m[i];
}

static inline vf CK_FN(vsqrt)(vf x) {
#if CK_VBYTES == 64
    return (vf)_mm512_sqrt_ps((__m512)x);
#elif CK_VBYTES == 32
    return (vf)_mm256_sqrt_ps((__m256)x);
#elif defined(__SSE2__)
    return (vf)_mm_sqrt_ps((__m128)x);
#else
    for (int l = 0; l < LANES; l++) x[l] = sqrtf(x[l]);
    return x;
#endif
}

/// Adam: m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p −= stepSize·m / (√v · invCorrection2 + ε).
static inline void CK_FN(adam_lanes)(float *p, const float *g, float *m, float *v, long count, float b1, float b2,
                                     float eps, float step, float inv2) {
    vf gi, mi, vi_, pi;
    if (count == LANES) { gi = CK_FN(load)(g); mi = CK_FN(load)(m); vi_ = CK_FN(load)(v); pi = CK_FN(load)(p); }
    else {
        gi = CK_FN(load_part)(g, count, 0); mi = CK_FN(load_part)(m, count, 0);
        vi_ = CK_FN(load_part)(v, count, 0); pi = CK_FN(load_part)(p, count, 0);
    }
    mi = b1 * mi + (1 - b1) * gi;
    vi_ = b2 * vi_ + (1 - b2) * gi * gi;
    pi = pi - step * mi / (CK_FN(vsqrt)(vi_) * inv2 + eps);
    if (count == LANES) { CK_FN(store)(m, mi); CK_FN(store)(v, vi_); CK_FN(store)(p, pi); }
    else { CK_FN(store_part)(m, mi, count); CK_FN(store_part)(v, vi_, count); CK_FN(store_part)(p, pi, count); }
}
void CK_FN(adam_step)(float *p, const float *g, float *m, float *v, long n, float b1, float b2, float eps,
                      float step, float inv2) {
    long i = 0;
    for (; i + LANES <= n; i += LANES) CK_FN(adam_lanes)(p + i, g + i, m + i, v + i, LANES, b1, b2, eps, step, inv2);
    if (i < n) CK_FN(adam_lanes)(p + i, g + i, m + i, v + i, n - i, b1, b2, eps, step, inv2);
}

/// Lanes 0..3 of the result = the lane sums of s0, s1, s2, s3: a shuffle tree (about 3 shuffles
/// and adds per halving) instead of four scalar reductions, whose 4 × LANES scalar additions cost
/// as much as the FMAs themselves for k = 256 at 16 lanes.
static inline vf CK_FN(hsum4)(vf s0, vf s1, vf s2, vf s3) {
#if CK_VBYTES == 64
    vf p01 = __builtin_shufflevector(s0, s1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
             __builtin_shufflevector(s0, s1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    vf p23 = __builtin_shufflevector(s2, s3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
             __builtin_shufflevector(s2, s3, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    vf q = __builtin_shufflevector(p01, p23, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
           __builtin_shufflevector(p01, p23, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    vf r = __builtin_shufflevector(q, q, 0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13) +
           __builtin_shufflevector(q, q, 2, 3, 6, 7, 10, 11, 14, 15, 2, 3, 6, 7, 10, 11, 14, 15);
    return __builtin_shufflevector(r, r, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6) +
           __builtin_shufflevector(r, r, 1, 3, 5, 7, 1, 3, 5, 7, 1, 3, 5, 7, 1, 3, 5, 7);
#elif CK_VBYTES == 32
    vf p01 = __builtin_shufflevector(s0, s1, 0, 1, 2, 3, 8, 9, 10, 11) +
             __builtin_shufflevector(s0, s1, 4, 5, 6, 7, 12, 13, 14, 15);
    vf p23 = __builtin_shufflevector(s2, s3, 0, 1, 2, 3, 8, 9, 10, 11) +
             __builtin_shufflevector(s2, s3, 4, 5, 6, 7, 12, 13, 14, 15);
    vf r = __builtin_shufflevector(p01, p23, 0, 1, 4, 5, 8, 9, 12, 13) +
           __builtin_shufflevector(p01, p23, 2, 3, 6, 7, 10, 11, 14, 15);
    return __builtin_shufflevector(r, r, 0, 2, 4, 6, 0, 2, 4, 6) + __builtin_shufflevector(r, r, 1, 3, 5, 7, 1, 3, 5, 7);
#else
    vf p01 = __builtin_shufflevector(s0, s1, 0, 1, 4, 5) + __builtin_shufflevector(s0, s1, 2, 3, 6, 7);
    vf p23 = __builtin_shufflevector(s2, s3, 0, 1, 4, 5) + __builtin_shufflevector(s2, s3, 2, 3, 6, 7);
    return __builtin_shufflevector(p01, p23, 0, 2, 4, 6) + __builtin_shufflevector(p01, p23, 1, 3, 5, 7);
#endif
}

/// C[r, v] += Σ_k A[r, k]·W[v, k] for r < m (few rows, e.g. one sentence's beams), v < n:
/// streams W [n, k] once, four rows at a time, with no packing. Rows of A go in pairs: 8 sums
/// from 6 loads per step of k, so the loop is bound by the FMAs, not by the loads (one row at
/// a time needed 5 loads for 4 FMAs). The four dot products of a row are reduced together
/// (hsum4). An odd last row is paired with itself, so every row goes through the same
/// arithmetic whatever its neighbours (a sentence's result does not depend on its batch).
void CK_FN(few_rows_times_transposed)(long m, long n, long k, const float *a, long lda, const float *w, long ldw,
                                      float *c, long ldc) {
    long kv = k - k % LANES;
    for (long v = 0; v < n; v += 4) {
        long rows = n - v < 4 ? n - v : 4;
        const float *w0 = w + v * ldw;
        const float *w1 = w + (v + (rows > 1 ? 1 : 0)) * ldw;
        const float *w2 = w + (v + (rows > 2 ? 2 : 0)) * ldw;
        const float *w3 = w + (v + (rows > 3 ? 3 : 0)) * ldw;
        for (long r = 0; r < m; r += 2) {
            long r1 = r + 1 < m ? r + 1 : r;
            const float *a0 = a + r * lda, *a1 = a + r1 * lda;
            vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
            vf t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
            long j = 0;
            for (; j < kv; j += LANES) {
                vf x = CK_FN(load)(a0 + j), y = CK_FN(load)(a1 + j);
                vf u0 = CK_FN(load)(w0 + j), u1 = CK_FN(load)(w1 + j);
                vf u2 = CK_FN(load)(w2 + j), u3 = CK_FN(load)(w3 + j);
                s0 += x * u0; s1 += x * u1; s2 += x * u2; s3 += x * u3;
                t0 += y * u0; t1 += y * u1; t2 += y * u2; t3 += y * u3;
            }
            if (j < k) {
                vf x = CK_FN(load_part)(a0 + j, k - j, 0), y = CK_FN(load_part)(a1 + j, k - j, 0);
                vf u0 = CK_FN(load_part)(w0 + j, k - j, 0), u1 = CK_FN(load_part)(w1 + j, k - j, 0);
                vf u2 = CK_FN(load_part)(w2 + j, k - j, 0), u3 = CK_FN(load_part)(w3 + j, k - j, 0);
                s0 += x * u0; s1 += x * u1; s2 += x * u2; s3 += x * u3;
                t0 += y * u0; t1 += y * u1; t2 += y * u2; t3 += y * u3;
            }
            vf d0 = CK_FN(hsum4)(s0, s1, s2, s3);
            vf d1 = CK_FN(hsum4)(t0, t1, t2, t3);
            float *c0 = c + r * ldc + v;
            for (long i = 0; i < rows; i++) c0[i] += d0[i];
            if (r1 != r) {
                float *c1 = c + r1 * ldc + v;
                for (long i = 0; i < rows; i++) c1[i] += d1[i];
            }
        }
    }
}

/// 12 independent FMA chains in registers (≥ 2 pipes × 4-cycle latency), no memory traffic.
double CK_FN(fma_seconds)(long iterations, double (*now)(void)) {
    vf a0 = CK_FN(splat)(1.00f), a1 = CK_FN(splat)(1.01f), a2 = CK_FN(splat)(1.02f), a3 = CK_FN(splat)(1.03f);
    vf a4 = CK_FN(splat)(1.04f), a5 = CK_FN(splat)(1.05f), a6 = CK_FN(splat)(1.06f), a7 = CK_FN(splat)(1.07f);
    vf a8 = CK_FN(splat)(1.08f), a9 = CK_FN(splat)(1.09f), a10 = CK_FN(splat)(1.10f), a11 = CK_FN(splat)(1.11f);
    const vf mul = CK_FN(splat)(0.999999f), add = CK_FN(splat)(1e-7f);
    double t0 = now();
    for (long i = 0; i < iterations; i++) {
        a0 = a0 * mul + add; a1 = a1 * mul + add; a2 = a2 * mul + add; a3 = a3 * mul + add;
        a4 = a4 * mul + add; a5 = a5 * mul + add; a6 = a6 * mul + add; a7 = a7 * mul + add;
        a8 = a8 * mul + add; a9 = a9 * mul + add; a10 = a10 * mul + add; a11 = a11 * mul + add;
    }
    double dt = now() - t0;
    vf s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
    volatile float sink = s[0];
    (void)sink;
    return dt;
}

/// fp32 → bf16 with rounding to nearest even (the upper 16 bits of the rounded float); NaN stays a
/// quiet NaN of the same sign.
void CK_FN(to_bf16)(const float *x, unsigned short *y, long n) {
    for (long i = 0; i < n; i++) {
        unsigned u;
        memcpy(&u, x + i, 4);
        unsigned r = (u & 0x7FFFFFFFu) > 0x7F800000u ? (u | 0x00400000u) : u + 0x7FFFu + ((u >> 16) & 1u);
        y[i] = (unsigned short)(r >> 16);
    }
}

/// The checksum lanes and non-finite count of `blocks` 32-byte blocks at `p` (TensorIntegrity,
/// little-endian): lane j ← (lane j ^ word j) · FNV prime for the four 64-bit words of a block;
/// `*non_finite` += the F32 values whose exponent bits are all ones (when `floats`). One vector
/// holds the four lanes, so the loop is bound by one multiply's latency per 32 bytes.
void CK_FN(integrity_scan)(const unsigned char *p, long blocks, unsigned long long lanes[4], int floats,
                           long *non_finite) {
    typedef unsigned long long u64x4 __attribute__((vector_size(32)));
    typedef unsigned int u32x8 __attribute__((vector_size(32)));
    typedef int i32x8 __attribute__((vector_size(32)));
    u64x4 h = {lanes[0], lanes[1], lanes[2], lanes[3]};
    const unsigned long long prime = 0x00000100000001B3ULL;
    long bad = 0;
    for (long start = 0; start < blocks; start += 1L << 24) {   // per-lane counts stay below 2^31
        long end = blocks - start < (1L << 24) ? blocks : start + (1L << 24);
        i32x8 count = {0};
        for (long i = start; i < end; i++) {
            u64x4 w;
            memcpy(&w, p + 32 * i, 32);
            h = (h ^ w) * prime;
            if (floats) {
                u32x8 bits = (u32x8)w & 0x7F800000u;
                count -= (i32x8)(bits == 0x7F800000u);
            }
        }
        for (int j = 0; j < 8; j++) bad += count[j];
    }
    for (int j = 0; j < 4; j++) lanes[j] = h[j];
    *non_finite += bad;
}

/// In place over one row: x[j] −= log Σ_i e^(x[i]) (shifted by the row's maximum, no overflow);
/// returns that log-sum-exp. Three passes over a row that stays in cache (read once from memory).
float CK_FN(log_softmax_row)(float *x, long n) {
    if (n <= 0) return 0;
    vf big = CK_FN(splat)(-INFINITY);
    long i = 0;
    for (; i + LANES <= n; i += LANES) { vf v = CK_FN(load)(x + i); big = CK_FN(select)(v > big, v, big); }
    if (i < n) { vf v = CK_FN(load_part)(x + i, n - i, -INFINITY); big = CK_FN(select)(v > big, v, big); }
    float m = big[0];
    for (int l = 1; l < LANES; l++) m = big[l] > m ? big[l] : m;
    vf a0 = {0}, a1 = {0};
    for (i = 0; i + 2 * LANES <= n; i += 2 * LANES) {
        a0 += CK_FN(vexp)(CK_FN(load)(x + i) - m);
        a1 += CK_FN(vexp)(CK_FN(load)(x + i + LANES) - m);
    }
    for (; i + LANES <= n; i += LANES) a0 += CK_FN(vexp)(CK_FN(load)(x + i) - m);
    if (i < n) a1 += CK_FN(vexp)(CK_FN(load_part)(x + i, n - i, -INFINITY) - m);  // padding: e^-inf = 0
    float shift = m + (float)log((double)CK_FN(hsum)(a0 + a1));
    for (i = 0; i + LANES <= n; i += LANES) CK_FN(store)(x + i, CK_FN(load)(x + i) - shift);
    if (i < n) CK_FN(store_part)(x + i, CK_FN(load_part)(x + i, n - i, 0) - shift, n - i);
    return shift;
}

/// QuantizedMatrix's input rows: s = max_j |x[j]| / L (1 for a row of zeros), q[j] = round(x[j] / s)
/// + L (nearest, ties to even) clamped to [0, 2L]. Returns s. A non-finite x[j] gives a non-finite
/// s or a q[j] of 0, never a trap.
float CK_FN(quantize_row)(const float *x, long k, long levels, unsigned char *q) {
    typedef unsigned char vu8 __attribute__((vector_size(LANES)));
    vf big = {0};
    long i = 0;
    for (; i + LANES <= k; i += LANES) {
        vf v = CK_FN(load)(x + i);
        v = CK_FN(select)(v < 0, -v, v);
        big = CK_FN(select)(v > big, v, big);
    }
    if (i < k) {
        vf v = CK_FN(load_part)(x + i, k - i, 0);
        v = CK_FN(select)(v < 0, -v, v);
        big = CK_FN(select)(v > big, v, big);
    }
    float largest = 0;
    for (int l = 0; l < LANES; l++) largest = big[l] > largest ? big[l] : largest;
    float s = largest > 0 ? largest / (float)levels : 1, inverse = 1 / s;
    const float magic = 12582912.0f, L = (float)levels;  // 1.5 · 2^23: adding it rounds to an integer
    for (i = 0; i < k; i += LANES) {
        long count = k - i < LANES ? k - i : LANES;
        vf t = (count == LANES ? CK_FN(load)(x + i) : CK_FN(load_part)(x + i, count, 0)) * inverse;
        t = (t + magic) - magic + L;
        t = CK_FN(select)(t > 0, t, CK_FN(splat)(0));          // also NaN → 0
        t = CK_FN(select)(t < 2 * L, t, CK_FN(splat)(2 * L));
        vu8 b = __builtin_convertvector(__builtin_convertvector(t, vi), vu8);
        if (count == LANES) memcpy(q + i, &b, LANES);
        else for (long l = 0; l < count; l++) q[i + l] = b[l];
    }
    return s;
}

/// out[v] += s · scales[v] · p[v]: QuantizedMatrix's integer sums of one row back to float.
void CK_FN(dequantize_add)(const int *p, float s, const float *scales, float *out, long n) {
    for (long i = 0; i < n; i += LANES) {
        long count = n - i < LANES ? n - i : LANES;
        vi pv = {0};
        vf scale, o;
        if (count == LANES) {
            memcpy(&pv, p + i, sizeof pv);
            scale = CK_FN(load)(scales + i);
            o = CK_FN(load)(out + i);
        } else {
            for (long l = 0; l < count; l++) pv[l] = p[i + l];
            scale = CK_FN(load_part)(scales + i, count, 0);
            o = CK_FN(load_part)(out + i, count, 0);
        }
        o = o + (scale * s) * __builtin_convertvector(pv, vf);
        if (count == LANES) CK_FN(store)(out + i, o);
        else CK_FN(store_part)(out + i, o, count);
    }
}

#undef LANES
#undef CK_MAP
