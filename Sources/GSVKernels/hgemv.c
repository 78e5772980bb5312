// fp16-weight matrix–vector and small-batch products, the weights widened to fp32 inside the
// kernels: AVX-512 (level 2) and AVX2 + FMA + F16C (level 1) on x86-64, NEON (level 1) on AArch64,
// and portable C (level 0, GCC/Clang vector extensions) everywhere: one implementation
// (hgemm_template.h) instantiated per level.
#include "GSVKernels.h"

#include <stdlib.h>
#include <string.h>

#define GSV_V(name) gsv_v8_##name
#define GSV_V_ATTR
#include "vec.h"

#define GSV_ALWAYS_INLINE inline __attribute__((always_inline))

// Columns per block of the blocked path: the n input slices of one block stay within 16 KB of L1.
#define GSV_HGEMM_X_BYTES 16384
// Inputs up to this size run in one pass: the blocked path reads GSV_HGEMM_ROW_BLOCK weight rows
// side by side, which streams worse, and wins only once the inputs overflow L1 well (C
// microbenchmark, one core: [512, 2048] n = 8 27 → 39 GMAC/s blocked, n = 12 27 → 32; but
// [1536, 512] n = 12 47 → 38).
#define GSV_HGEMM_ONE_PASS_BYTES 32768
// Rows whose accumulators the blocked path carries from one column block to the next.
#define GSV_HGEMM_ROW_BLOCK 8

typedef void (*gsv_hgemm_fn)(const uint16_t *, size_t, size_t, const float *, size_t, float *, size_t, size_t);

// ---------------------------------------------------------------------------------------------
// Portable C: 8-lane vector extensions (vec.h), halves widened with integer operations.

#define GSV_T(name) gsv_portable_##name
#define GSV_T_ATTR
#define GSV_T_V gsv_v8f
#define GSV_T_VLEN 8
#define GSV_T_ZERO() ((gsv_v8f){0})
#define GSV_T_LOADX(p) gsv_v8_load(p)
#define GSV_T_LOADH(p) gsv_v8_load_half(p)
#define GSV_T_LOADX_PART(p, n) gsv_v8_load_part(p, n)
#define GSV_T_LOADH_PART(p, n) gsv_v8_load_half_part(p, n)
#define GSV_T_FMA(a, h, x) ((a) + (h) * (x))
#define GSV_T_REDUCE(v) gsv_v8_sum(v)
#define GSV_T_MAXN 4
#include "hgemm_template.h"
GSV_T_INSTANCE(1) GSV_T_INSTANCE(2) GSV_T_INSTANCE(3) GSV_T_INSTANCE(4)
static const gsv_hgemm_fn gsv_portable_table[GSV_T_MAXN] = {gsv_portable_hgemm_1, gsv_portable_hgemm_2,
                                                             gsv_portable_hgemm_3, gsv_portable_hgemm_4};
#include "hgemm_template_end.h"

static void gsv_widen_portable(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) gsv_v8_store(dst + i, gsv_v8_load_half(src + i));
    if (i < count) gsv_v8_store_part(dst + i, gsv_v8_load_half_part(src + i, count - i), count - i);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// ---------------------------------------------------------------------------------------------
// Level 1: AVX2 + FMA + F16C, 8 columns per vector.
#define GSV_AVX2H __attribute__((target("avx2,fma,f16c")))

GSV_AVX2H static inline float gsv_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

GSV_AVX2H static inline __m256 gsv_load_half8(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

GSV_AVX2H static inline __m256 gsv_load_half8_part(const uint16_t *p, size_t n) {
    uint16_t tmp[8] = {0};
    memcpy(tmp, p, n * sizeof(uint16_t));
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)tmp));
}

// Masked loads read nothing past the first n floats.
GSV_AVX2H static inline __m256 gsv_load8_part(const float *p, size_t n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lanes));
}

#define GSV_T(name) gsv_avx2_##name
#define GSV_T_ATTR GSV_AVX2H
#define GSV_T_V __m256
#define GSV_T_VLEN 8
#define GSV_T_ZERO() _mm256_setzero_ps()
#define GSV_T_LOADX(p) _mm256_loadu_ps(p)
#define GSV_T_LOADH(p) gsv_load_half8(p)
#define GSV_T_LOADX_PART(p, n) gsv_load8_part(p, n)
#define GSV_T_LOADH_PART(p, n) gsv_load_half8_part(p, n)
#define GSV_T_FMA(a, h, x) _mm256_fmadd_ps(h, x, a)
#define GSV_T_REDUCE(v) gsv_hsum256(v)
#define GSV_T_MAXN 12
#include "hgemm_template.h"
GSV_T_INSTANCE(1) GSV_T_INSTANCE(2) GSV_T_INSTANCE(3) GSV_T_INSTANCE(4) GSV_T_INSTANCE(5) GSV_T_INSTANCE(6)
GSV_T_INSTANCE(7) GSV_T_INSTANCE(8) GSV_T_INSTANCE(9) GSV_T_INSTANCE(10) GSV_T_INSTANCE(11) GSV_T_INSTANCE(12)
static const gsv_hgemm_fn gsv_avx2_table[GSV_T_MAXN] = {
    gsv_avx2_hgemm_1, gsv_avx2_hgemm_2, gsv_avx2_hgemm_3, gsv_avx2_hgemm_4,  gsv_avx2_hgemm_5,  gsv_avx2_hgemm_6,
    gsv_avx2_hgemm_7, gsv_avx2_hgemm_8, gsv_avx2_hgemm_9, gsv_avx2_hgemm_10, gsv_avx2_hgemm_11, gsv_avx2_hgemm_12};
#include "hgemm_template_end.h"

GSV_AVX2H static void gsv_widen_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, gsv_load_half8(src + i));
    for (; i < count; i++) dst[i] = _cvtsh_ss(src[i]);
}

// ---------------------------------------------------------------------------------------------
// Level 2: AVX-512.
#define GSV_AVX512H __attribute__((target("avx512f,f16c,fma")))

// The first n (< 16) halves at p widened, the rest zero, without reading past them.
GSV_AVX512H static inline __m512 gsv_load_half16_part(const uint16_t *p, size_t n) {
    uint16_t tmp[16] = {0};
    memcpy(tmp, p, n * sizeof(uint16_t));
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)tmp));
}

// One row at a time with 16 columns per vector (the partial last vector masked) reads the matrix
// as a single sequential stream: on a 2-core Zen 4 VM it streams 30 GB/s per core where reading
// four rows side by side (four streams 1–4 KB apart) reached 12 GB/s.
#define GSV_T(name) gsv_avx512_##name
#define GSV_T_ATTR GSV_AVX512H
#define GSV_T_V __m512
#define GSV_T_VLEN 16
#define GSV_T_ZERO() _mm512_setzero_ps()
#define GSV_T_LOADX(p) _mm512_loadu_ps(p)
#define GSV_T_LOADH(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define GSV_T_LOADX_PART(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), p)
#define GSV_T_LOADH_PART(p, n) gsv_load_half16_part(p, n)
#define GSV_T_FMA(a, h, x) _mm512_fmadd_ps(h, x, a)
#define GSV_T_REDUCE(v) _mm512_reduce_add_ps(v)
#define GSV_T_MAXN 16
#include "hgemm_template.h"
GSV_T_INSTANCE(1) GSV_T_INSTANCE(2) GSV_T_INSTANCE(3) GSV_T_INSTANCE(4) GSV_T_INSTANCE(5) GSV_T_INSTANCE(6)
GSV_T_INSTANCE(7) GSV_T_INSTANCE(8) GSV_T_INSTANCE(9) GSV_T_INSTANCE(10) GSV_T_INSTANCE(11) GSV_T_INSTANCE(12)
GSV_T_INSTANCE(13) GSV_T_INSTANCE(14) GSV_T_INSTANCE(15) GSV_T_INSTANCE(16)
static const gsv_hgemm_fn gsv_avx512_table[GSV_T_MAXN] = {
    gsv_avx512_hgemm_1,  gsv_avx512_hgemm_2,  gsv_avx512_hgemm_3,  gsv_avx512_hgemm_4,
    gsv_avx512_hgemm_5,  gsv_avx512_hgemm_6,  gsv_avx512_hgemm_7,  gsv_avx512_hgemm_8,
    gsv_avx512_hgemm_9,  gsv_avx512_hgemm_10, gsv_avx512_hgemm_11, gsv_avx512_hgemm_12,
    gsv_avx512_hgemm_13, gsv_avx512_hgemm_14, gsv_avx512_hgemm_15, gsv_avx512_hgemm_16};
#include "hgemm_template_end.h"

#elif defined(__aarch64__)
#include <arm_neon.h>

// ---------------------------------------------------------------------------------------------
// Level 1: NEON. A "vector" is two q registers (8 columns), so a row's sum runs two multiply-add
// chains, and a pass keeps up to 12 input rows (24 registers) of accumulators.
typedef struct {
    float32x4_t lo, hi;
} gsv_n8f;

static inline gsv_n8f gsv_n_zero(void) {
    gsv_n8f v = {vdupq_n_f32(0), vdupq_n_f32(0)};
    return v;
}

static inline gsv_n8f gsv_n_loadx(const float *p) {
    gsv_n8f v = {vld1q_f32(p), vld1q_f32(p + 4)};
    return v;
}

static inline gsv_n8f gsv_n_loadh(const uint16_t *p) {
    float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
    gsv_n8f v = {vcvt_f32_f16(vget_low_f16(h)), vcvt_high_f32_f16(h)};
    return v;
}

static inline gsv_n8f gsv_n_loadx_part(const float *p, size_t n) {
    float tmp[8] = {0};
    memcpy(tmp, p, n * sizeof(float));
    return gsv_n_loadx(tmp);
}

static inline gsv_n8f gsv_n_loadh_part(const uint16_t *p, size_t n) {
    uint16_t tmp[8] = {0};
    memcpy(tmp, p, n * sizeof(uint16_t));
    return gsv_n_loadh(tmp);
}

static inline gsv_n8f gsv_n_fma(gsv_n8f a, gsv_n8f h, gsv_n8f x) {
    gsv_n8f v = {vfmaq_f32(a.lo, h.lo, x.lo), vfmaq_f32(a.hi, h.hi, x.hi)};
    return v;
}

static inline float gsv_n_reduce(gsv_n8f v) { return vaddvq_f32(vaddq_f32(v.lo, v.hi)); }

#define GSV_T(name) gsv_neon_##name
#define GSV_T_ATTR
#define GSV_T_V gsv_n8f
#define GSV_T_VLEN 8
#define GSV_T_ZERO() gsv_n_zero()
#define GSV_T_LOADX(p) gsv_n_loadx(p)
#define GSV_T_LOADH(p) gsv_n_loadh(p)
#define GSV_T_LOADX_PART(p, n) gsv_n_loadx_part(p, n)
#define GSV_T_LOADH_PART(p, n) gsv_n_loadh_part(p, n)
#define GSV_T_FMA(a, h, x) gsv_n_fma(a, h, x)
#define GSV_T_REDUCE(v) gsv_n_reduce(v)
#define GSV_T_MAXN 12
#include "hgemm_template.h"
GSV_T_INSTANCE(1) GSV_T_INSTANCE(2) GSV_T_INSTANCE(3) GSV_T_INSTANCE(4) GSV_T_INSTANCE(5) GSV_T_INSTANCE(6)
GSV_T_INSTANCE(7) GSV_T_INSTANCE(8) GSV_T_INSTANCE(9) GSV_T_INSTANCE(10) GSV_T_INSTANCE(11) GSV_T_INSTANCE(12)
static const gsv_hgemm_fn gsv_neon_table[GSV_T_MAXN] = {
    gsv_neon_hgemm_1, gsv_neon_hgemm_2, gsv_neon_hgemm_3, gsv_neon_hgemm_4,  gsv_neon_hgemm_5,  gsv_neon_hgemm_6,
    gsv_neon_hgemm_7, gsv_neon_hgemm_8, gsv_neon_hgemm_9, gsv_neon_hgemm_10, gsv_neon_hgemm_11, gsv_neon_hgemm_12};
#include "hgemm_template_end.h"

static void gsv_widen_neon(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        gsv_n8f v = gsv_n_loadh(src + i);
        vst1q_f32(dst + i, v.lo);
        vst1q_f32(dst + i + 4, v.hi);
    }
    if (i < count) gsv_widen_portable(src + i, dst + i, count - i);
}

#endif

// Input rows `cols` floats apart fall on a few L1 sets when cols · 4 is a multiple of 1 KB (rows
// 4 KB apart, as in the v2 GPT's 1024 … 4096-wide layers, all on the same ones): beyond the L1's
// 8 ways every input load misses. Passes of more than 4 rows then read a copy whose rows are 64
// bytes further apart. C microbenchmark, one core, GMAC/s (AVX-512, with the column blocks above):
// [4096, 1024] n = 12 25 → 28, n = 16 16 → 28; [1024, 4096] n = 12 16 → 32. Same arithmetic, so
// bit-identical results. Each thread makes its own copy (at most 16 rows, a few µs against the
// products' hundreds).
static _Thread_local float *gsv_hgemm_pad_buf = 0;
static _Thread_local size_t gsv_hgemm_pad_cap = 0;

static const float *gsv_hgemm_padded_input(const float *x, size_t cols, size_t n, size_t *stride) {
    *stride = cols;
    if (n <= 4 || (cols * sizeof(float)) % 1024 != 0) return x;
    size_t xs = cols + 16, need = xs * n;
    if (need > gsv_hgemm_pad_cap) {
        // 64-byte aligned, so no input vector straddles two cache lines.
        void *p = 0;
        if (posix_memalign(&p, 64, need * sizeof(float)) != 0) return x;  // unpadded: slower, equally correct
        free(gsv_hgemm_pad_buf);
        gsv_hgemm_pad_buf = (float *)p;
        gsv_hgemm_pad_cap = need;
    }
    for (size_t b = 0; b < n; b++) memcpy(gsv_hgemm_pad_buf + b * xs, x + b * cols, cols * sizeof(float));
    *stride = xs;
    return gsv_hgemm_pad_buf;
}

void gsv_hgemv_rows_at(int level, const uint16_t *w, size_t cols, const float *x, float *y, size_t row_begin,
                       size_t row_end) {
    level = gsv_clamp_level(level);
#if defined(__x86_64__) || defined(__i386__)
    if (level >= GSV_LEVEL_WIDE) {
        gsv_avx512_hgemm_1(w, 0, cols, x, cols, y, row_begin, row_end);
        return;
    }
    if (level == GSV_LEVEL_SIMD) {
        gsv_avx2_hgemm_1(w, 0, cols, x, cols, y, row_begin, row_end);
        return;
    }
#elif defined(__aarch64__)
    if (level >= GSV_LEVEL_SIMD) {
        gsv_neon_hgemm_1(w, 0, cols, x, cols, y, row_begin, row_end);
        return;
    }
#endif
    gsv_portable_hgemm_1(w, 0, cols, x, cols, y, row_begin, row_end);
}

void gsv_hgemm_rows_at(int level, const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n, float *y,
                       size_t row_begin, size_t row_end) {
    level = gsv_clamp_level(level);
    const gsv_hgemm_fn *table = gsv_portable_table;
    size_t pass = sizeof gsv_portable_table / sizeof *gsv_portable_table;
#if defined(__x86_64__) || defined(__i386__)
    if (level >= GSV_LEVEL_WIDE) table = gsv_avx512_table, pass = sizeof gsv_avx512_table / sizeof *gsv_avx512_table;
    else if (level == GSV_LEVEL_SIMD) table = gsv_avx2_table, pass = sizeof gsv_avx2_table / sizeof *gsv_avx2_table;
#elif defined(__aarch64__)
    if (level >= GSV_LEVEL_SIMD) table = gsv_neon_table, pass = sizeof gsv_neon_table / sizeof *gsv_neon_table;
#endif
    for (size_t b0 = 0; b0 < n; b0 += pass) {
        size_t nb = n - b0 < pass ? n - b0 : pass, xs;
        const float *xp = gsv_hgemm_padded_input(x + b0 * cols, cols, nb, &xs);
        table[nb - 1](w, rows, cols, xp, xs, y + b0 * rows, row_begin, row_end);
    }
}

void gsv_widen_half_at(int level, const uint16_t *src, float *dst, size_t count) {
    level = gsv_clamp_level(level);
#if defined(__x86_64__) || defined(__i386__)
    if (level >= GSV_LEVEL_SIMD) {
        gsv_widen_f16c(src, dst, count);
        return;
    }
#elif defined(__aarch64__)
    if (level >= GSV_LEVEL_SIMD) {
        gsv_widen_neon(src, dst, count);
        return;
    }
#endif
    gsv_widen_portable(src, dst, count);
}
