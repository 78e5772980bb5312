// Winograd F(4, 4) transforms for stride-1 1-D convolutions with long kernels (HiFi-GAN's 7- and
// 11-tap residual convolutions). A kernel of K taps is cut into ⌈K/4⌉ segments of four (the last
// padded with zero taps); every segment is a 4-tap convolution shifted by a multiple of four
// inputs, so one input transform per tile of four outputs serves all segments. With dilation d
// the sequence splits into d phases (columns p, p + d, p + 2d, …), each an undilated convolution.
// The matrix products between the transforms are left to BLAS (GSVTensor/WinogradConv1d.swift).
//
// The transforms interpolate at 0, 1, −1, 2, −2, 1/2 and ∞ (seven points, so four outputs of a
// four-tap kernel cost seven products instead of sixteen); the matrices were derived with exact
// rational arithmetic and are checked against direct convolution by the tests.
#include "GSVKernels.h"

// No fused multiply-adds anywhere in this file: the vector transforms below repeat the plain ones'
// operations exactly (the same expressions, GSV_WINO_*_POINTS), so every level gives bit-identical
// results on every machine.
#ifdef __clang__
#pragma clang fp contract(off)
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

// B^T · d: the seven points p[0 … 6] (of type T: a float, or a vector of tiles) of the inputs
// d0 … d6. Every level evaluates exactly these expressions, in this order.
#define GSV_WINO_INPUT_POINTS(T, d0, d1, d2, d3, d4, d5, d6, p)                                              \
    T p[7] = {                                                                                               \
        -2.0f * (d0) + 4.0f * (d1) + 2.5f * (d2) - 5.0f * (d3) - 0.5f * (d4) + (d5),                        \
        2.0f * (d1) - 2.0f * (d2) - 4.5f * (d3) + 0.5f * (d4) + (d5),                                       \
        -2.0f * (d1) + 6.0f * (d2) - 3.5f * (d3) - 1.5f * (d4) + (d5),                                      \
        (d1) - 1.5f * (d2) - 2.0f * (d3) + 1.5f * (d4) + (d5),                                              \
        -(d1) + 2.5f * (d2) - 2.5f * (d4) + (d5),                                                           \
        4.0f * (d1) - 5.0f * (d3) + (d5),                                                                   \
        -2.0f * (d1) + 4.0f * (d2) + 2.5f * (d3) - 5.0f * (d4) - 0.5f * (d5) + (d6),                        \
    }

// A^T · m: the four outputs r[0 … 3] of a tile's seven points m0 … m6.
#define GSV_WINO_OUTPUT_POINTS(T, m0, m1, m2, m3, m4, m5, m6, r)                                             \
    T r[4] = {                                                                                               \
        (m0) + (m1) + (m2) + (m3) + (m4) + (m5),                                                            \
        (m1) - (m2) + 2.0f * ((m3) - (m4)) + 0.5f * (m5),                                                   \
        (m1) + (m2) + 4.0f * ((m3) + (m4)) + 0.25f * (m5),                                                  \
        (m1) - (m2) + 8.0f * ((m3) - (m4)) + 0.125f * (m5) + (m6),                                          \
    }

// G: kernel transform, 7 × 4.
static const double gsv_wino_g[7][4] = {
    {-1.0 / 2, 0, 0, 0},
    {-1.0 / 3, -1.0 / 3, -1.0 / 3, -1.0 / 3},
    {1.0 / 9, -1.0 / 9, 1.0 / 9, -1.0 / 9},
    {1.0 / 36, 1.0 / 18, 1.0 / 9, 2.0 / 9},
    {-1.0 / 60, 1.0 / 30, -1.0 / 15, 2.0 / 15},
    {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45},
    {0, 0, 0, 1},
};

void gsv_wino_pack_weights(const float *w, size_t cout, size_t cin, size_t k, float *u) {
    size_t segments = (k + 3) / 4;
    for (size_t a = 0; a < GSV_WINO_POINTS; a++)
        for (size_t j = 0; j < segments; j++)
            for (size_t o = 0; o < cout; o++)
                for (size_t c = 0; c < cin; c++) {
                    double v = 0;
                    for (size_t q = 0; q < 4; q++) {
                        size_t tap = 4 * j + q;
                        if (tap < k) v += gsv_wino_g[a][q] * (double)w[(o * cin + c) * k + tap];
                    }
                    u[((a * segments + j) * cout + o) * cin + c] = (float)v;
                }
}

// B^T · d for one tile: the seven inputs row[base + l·dilation] (zero at or past `limit`) to the
// seven points dst[a·plane].
static inline void gsv_wino_input_tile(const float *row, size_t base, size_t dilation, size_t limit, float *dst,
                                       size_t plane) {
    float d[7];
    if (base + 6 * dilation < limit) {
        for (size_t l = 0; l < 7; l++) d[l] = row[base + l * dilation];
    } else {
        // Past the readable columns: zeros (they meet only zero taps or dropped outputs, but
        // whatever lies there must not leak in through rounding, nor as NaN).
        for (size_t l = 0; l < 7; l++) {
            size_t t = base + l * dilation;
            d[l] = t < limit ? row[t] : 0.0f;
        }
    }
    GSV_WINO_INPUT_POINTS(float, d[0], d[1], d[2], d[3], d[4], d[5], d[6], p);
    for (size_t a = 0; a < 7; a++) dst[a * plane] = p[a];
}

// A^T · m for one tile: the seven points src[a·plane] to four outputs, added to row[base + i·dilation]
// below out_len.
static inline void gsv_wino_output_tile(const float *src, size_t plane, float *row, size_t base, size_t dilation,
                                        size_t out_len) {
    GSV_WINO_OUTPUT_POINTS(float, src[0], src[plane], src[2 * plane], src[3 * plane], src[4 * plane], src[5 * plane],
                           src[6 * plane], r);
    for (size_t i = 0; i < 4; i++) {
        size_t t = base + i * dilation;
        if (t < out_len) row[t] += r[i];
    }
}

static void gsv_wino_output_plain(const float *m, size_t cout, size_t dilation, size_t tile0, size_t tiles,
                                  size_t width, float *y, size_t y_stride, size_t out_len) {
    size_t cols = dilation * width, plane = cout * cols;
    for (size_t o = 0; o < cout; o++)
        for (size_t p = 0; p < dilation; p++)
            for (size_t n = 0; n < tiles; n++)
                gsv_wino_output_tile(m + o * cols + p * width + n, plane, y + o * y_stride,
                                     p + dilation * 4 * (tile0 + n), dilation, out_len);
}

// Portable C (and, compiled for AArch64, NEON): eight tiles at a time (winograd_template.h).
#define GSV_V(name) gsv_portable_##name
#define GSV_V_ATTR
#include "vec.h"
#include "winograd_template.h"
#undef GSV_V
#undef GSV_V_ATTR

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// Level 1: the same with AVX2.
#define GSV_V(name) gsv_avx2_##name
#define GSV_V_ATTR __attribute__((target("avx2")))
#include "vec.h"
#include "winograd_template.h"
#undef GSV_V
#undef GSV_V_ATTR

// Level 2: sixteen tiles at a time. With dilation 1 a tile's columns are contiguous and are moved with
// permutes; otherwise the input transform gathers a phase's strided columns. The rest runs the
// one-tile code above.
#define GSV_WINO_AVX512 __attribute__((target("avx512f,avx512dq")))

GSV_WINO_AVX512 static inline __m512 gsv_w_mul(float c, __m512 v) { return _mm512_mul_ps(_mm512_set1_ps(c), v); }

// B^T · d for sixteen tiles: d_l holds input l of each tile; the seven points go to dst[a·plane].
GSV_WINO_AVX512 static inline void gsv_wino_input_points(__m512 d0, __m512 d1, __m512 d2, __m512 d3, __m512 d4,
                                                         __m512 d5, __m512 d6, float *dst, size_t plane) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 t;
    t = _mm512_add_ps(gsv_w_mul(-2, d0), gsv_w_mul(4, d1));
    t = _mm512_add_ps(t, gsv_w_mul(2.5f, d2));
    t = _mm512_sub_ps(t, gsv_w_mul(5, d3));
    t = _mm512_sub_ps(t, gsv_w_mul(0.5f, d4));
    _mm512_storeu_ps(dst, _mm512_add_ps(t, d5));
    t = _mm512_sub_ps(gsv_w_mul(2, d1), gsv_w_mul(2, d2));
    t = _mm512_sub_ps(t, gsv_w_mul(4.5f, d3));
    t = _mm512_add_ps(t, gsv_w_mul(0.5f, d4));
    _mm512_storeu_ps(dst + plane, _mm512_add_ps(t, d5));
    t = _mm512_add_ps(gsv_w_mul(-2, d1), gsv_w_mul(6, d2));
    t = _mm512_sub_ps(t, gsv_w_mul(3.5f, d3));
    t = _mm512_sub_ps(t, gsv_w_mul(1.5f, d4));
    _mm512_storeu_ps(dst + 2 * plane, _mm512_add_ps(t, d5));
    t = _mm512_sub_ps(d1, gsv_w_mul(1.5f, d2));
    t = _mm512_sub_ps(t, gsv_w_mul(2, d3));
    t = _mm512_add_ps(t, gsv_w_mul(1.5f, d4));
    _mm512_storeu_ps(dst + 3 * plane, _mm512_add_ps(t, d5));
    t = _mm512_add_ps(_mm512_xor_ps(d1, sign), gsv_w_mul(2.5f, d2));
    t = _mm512_sub_ps(t, gsv_w_mul(2.5f, d4));
    _mm512_storeu_ps(dst + 4 * plane, _mm512_add_ps(t, d5));
    t = _mm512_sub_ps(gsv_w_mul(4, d1), gsv_w_mul(5, d3));
    _mm512_storeu_ps(dst + 5 * plane, _mm512_add_ps(t, d5));
    t = _mm512_add_ps(gsv_w_mul(-2, d1), gsv_w_mul(4, d2));
    t = _mm512_add_ps(t, gsv_w_mul(2.5f, d3));
    t = _mm512_sub_ps(t, gsv_w_mul(5, d4));
    t = _mm512_sub_ps(t, gsv_w_mul(0.5f, d5));
    _mm512_storeu_ps(dst + 6 * plane, _mm512_add_ps(t, d6));
}

GSV_WINO_AVX512 static void gsv_wino_input_avx512(const float *x, size_t x_stride, size_t limit, size_t cin,
                                                  size_t dilation, size_t tile0, size_t width, float *v) {
    size_t cols = dilation * width, plane = cin * cols;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)(4 * dilation)));
    __m512i idx[7];
    for (int l = 0; l < 7; l++) idx[l] = _mm512_add_epi32(step, _mm512_set1_epi32((int)(l * dilation)));
    // Dilation 1: inputs l of sixteen tiles are every fourth of 64 contiguous columns.
    const __m512i pick[4] = {
        _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
        _mm512_setr_epi32(1, 5, 9, 13, 17, 21, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0),
        _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 0, 0, 0, 0, 0, 0, 0, 0),
        _mm512_setr_epi32(3, 7, 11, 15, 19, 23, 27, 31, 0, 0, 0, 0, 0, 0, 0, 0),
    };
    for (size_t c = 0; c < cin; c++) {
        const float *row = x + c * x_stride;
        for (size_t p = 0; p < dilation; p++) {
            float *dst = v + c * cols + p * width;
            size_t n = 0;
            for (; n + 16 <= width; n += 16) {
                size_t base = p + dilation * 4 * (tile0 + n);
                if (base + dilation * (4 * 15 + 6) >= limit) break;
                const float *b = row + base;
                if (dilation == 1) {
                    __m512 v0 = _mm512_loadu_ps(b), v1 = _mm512_loadu_ps(b + 16);
                    __m512 v2 = _mm512_loadu_ps(b + 32), v3 = _mm512_loadu_ps(b + 48);
                    __m512 d[4];
                    for (int l = 0; l < 4; l++)
                        d[l] = _mm512_shuffle_f32x4(_mm512_permutex2var_ps(v0, pick[l], v1),
                                                    _mm512_permutex2var_ps(v2, pick[l], v3), 0x44);
                    // Inputs 4 … 6 are inputs 0 … 2 of the next tile.
                    __m512 d4 = _mm512_castsi512_ps(_mm512_alignr_epi32(
                        _mm512_castps_si512(_mm512_set1_ps(b[64])), _mm512_castps_si512(d[0]), 1));
                    __m512 d5 = _mm512_castsi512_ps(_mm512_alignr_epi32(
                        _mm512_castps_si512(_mm512_set1_ps(b[65])), _mm512_castps_si512(d[1]), 1));
                    __m512 d6 = _mm512_castsi512_ps(_mm512_alignr_epi32(
                        _mm512_castps_si512(_mm512_set1_ps(b[66])), _mm512_castps_si512(d[2]), 1));
                    gsv_wino_input_points(d[0], d[1], d[2], d[3], d4, d5, d6, dst + n, plane);
                    continue;
                }
                __m512 d0 = _mm512_i32gather_ps(idx[0], b, 4), d1 = _mm512_i32gather_ps(idx[1], b, 4);
                __m512 d2 = _mm512_i32gather_ps(idx[2], b, 4), d3 = _mm512_i32gather_ps(idx[3], b, 4);
                __m512 d4 = _mm512_i32gather_ps(idx[4], b, 4), d5 = _mm512_i32gather_ps(idx[5], b, 4);
                __m512 d6 = _mm512_i32gather_ps(idx[6], b, 4);
                gsv_wino_input_points(d0, d1, d2, d3, d4, d5, d6, dst + n, plane);
            }
            for (; n < width; n++)
                gsv_wino_input_tile(row, p + dilation * 4 * (tile0 + n), dilation, limit, dst + n, plane);
        }
    }
}

GSV_WINO_AVX512 static void gsv_wino_output_avx512(const float *m, size_t cout, size_t dilation, size_t tile0,
                                                   size_t tiles, size_t width, float *y, size_t y_stride,
                                                   size_t out_len) {
    // Strided outputs (dilation > 1) stay one tile at a time: scattering them back measured slower
    // than the plain loop on Zen 4.
    if (dilation != 1) {
        gsv_wino_output_plain(m, cout, dilation, tile0, tiles, width, y, y_stride, out_len);
        return;
    }
    size_t plane = cout * width;
    for (size_t o = 0; o < cout; o++) {
        float *row = y + o * y_stride;
        const float *src = m + o * width;
        size_t n = 0;
        for (; n + 16 <= tiles && 4 * (tile0 + n) + 4 * 15 + 3 < out_len; n += 16) {
            __m512 m0 = _mm512_loadu_ps(src + n), m1 = _mm512_loadu_ps(src + plane + n);
            __m512 m2 = _mm512_loadu_ps(src + 2 * plane + n), m3 = _mm512_loadu_ps(src + 3 * plane + n);
            __m512 m4 = _mm512_loadu_ps(src + 4 * plane + n), m5 = _mm512_loadu_ps(src + 5 * plane + n);
            __m512 m6 = _mm512_loadu_ps(src + 6 * plane + n);
            __m512 r0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(m0, m1), m2), m3), m4), m5);
            __m512 r1 = _mm512_add_ps(_mm512_add_ps(_mm512_sub_ps(m1, m2), gsv_w_mul(2, _mm512_sub_ps(m3, m4))),
                                      gsv_w_mul(0.5f, m5));
            __m512 r2 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(m1, m2), gsv_w_mul(4, _mm512_add_ps(m3, m4))),
                                      gsv_w_mul(0.25f, m5));
            __m512 r3 = _mm512_add_ps(
                _mm512_add_ps(_mm512_add_ps(_mm512_sub_ps(m1, m2), gsv_w_mul(8, _mm512_sub_ps(m3, m4))), gsv_w_mul(0.125f, m5)),
                m6);
            // Interleave: the four outputs of a tile are four adjacent columns (a 4 × 16 transpose).
            __m512 lo01 = _mm512_unpacklo_ps(r0, r1), hi01 = _mm512_unpackhi_ps(r0, r1);
            __m512 lo23 = _mm512_unpacklo_ps(r2, r3), hi23 = _mm512_unpackhi_ps(r2, r3);
            __m512 x0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(lo01), _mm512_castps_pd(lo23)));
            __m512 x1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(lo01), _mm512_castps_pd(lo23)));
            __m512 x2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(hi01), _mm512_castps_pd(hi23)));
            __m512 x3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(hi01), _mm512_castps_pd(hi23)));
            __m512 y0 = _mm512_shuffle_f32x4(x0, x1, 0x44), y1 = _mm512_shuffle_f32x4(x0, x1, 0xEE);
            __m512 y2 = _mm512_shuffle_f32x4(x2, x3, 0x44), y3 = _mm512_shuffle_f32x4(x2, x3, 0xEE);
            __m512 out[4] = {
                _mm512_shuffle_f32x4(y0, y2, 0x88), _mm512_shuffle_f32x4(y0, y2, 0xDD),
                _mm512_shuffle_f32x4(y1, y3, 0x88), _mm512_shuffle_f32x4(y1, y3, 0xDD),
            };
            float *b = row + 4 * (tile0 + n);
            for (int i = 0; i < 4; i++) _mm512_storeu_ps(b + 16 * i, _mm512_add_ps(_mm512_loadu_ps(b + 16 * i), out[i]));
        }
        for (; n < tiles; n++) gsv_wino_output_tile(src + n, plane, row, 4 * (tile0 + n), 1, out_len);
    }
}
#endif

void gsv_wino_input_at(int level, const float *x, size_t x_stride, size_t limit, size_t cin, size_t dilation,
                       size_t tile0, size_t width, float *v) {
    level = gsv_clamp_level(level);
#if defined(__x86_64__) || defined(__i386__)
    if (level >= GSV_LEVEL_WIDE) {
        gsv_wino_input_avx512(x, x_stride, limit, cin, dilation, tile0, width, v);
        return;
    }
    if (level == GSV_LEVEL_SIMD) {
        gsv_avx2_wino_input(x, x_stride, limit, cin, dilation, tile0, width, v);
        return;
    }
#endif
    gsv_portable_wino_input(x, x_stride, limit, cin, dilation, tile0, width, v);
}

void gsv_wino_output_at(int level, const float *m, size_t cout, size_t dilation, size_t tile0, size_t tiles,
                        size_t width, float *y, size_t y_stride, size_t out_len) {
    level = gsv_clamp_level(level);
#if defined(__x86_64__) || defined(__i386__)
    if (level >= GSV_LEVEL_WIDE) {
        gsv_wino_output_avx512(m, cout, dilation, tile0, tiles, width, y, y_stride, out_len);
        return;
    }
    if (level == GSV_LEVEL_SIMD) {
        gsv_avx2_wino_output(m, cout, dilation, tile0, tiles, width, y, y_stride, out_len);
        return;
    }
#endif
    gsv_portable_wino_output(m, cout, dilation, tile0, tiles, width, y, y_stride, out_len);
}
