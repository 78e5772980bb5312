// fp16-weight matrix-vector kernels (F16C + AVX2 + FMA), selected at run time by GSVTensor.
#include "GSVKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define GSV_TARGET __attribute__((target("avx2,fma,f16c")))

int gsv_kernels_has_f16c(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2") &&
                  __builtin_cpu_supports("fma")) ? 1 : 0;
    }
    return cached;
}

GSV_TARGET static inline float gsv_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

GSV_TARGET static inline __m256 gsv_load_half8(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

GSV_TARGET void gsv_hgemv_rows_f16c(const uint16_t *w, size_t cols, const float *x, float *y,
                                    size_t row_begin, size_t row_end) {
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t *row = w + r * cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            a0 = _mm256_fmadd_ps(gsv_load_half8(row + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(gsv_load_half8(row + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(gsv_load_half8(row + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(gsv_load_half8(row + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= cols; c += 8) {
            a0 = _mm256_fmadd_ps(gsv_load_half8(row + c), _mm256_loadu_ps(x + c), a0);
        }
        float s = gsv_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; c < cols; c++) s += _cvtsh_ss(row[c]) * x[c];
        y[r] = s;
    }
}

GSV_TARGET void gsv_widen_half_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, gsv_load_half8(src + i));
    for (; i < count; i++) dst[i] = _cvtsh_ss(src[i]);
}

#define GSV_AVX512H __attribute__((target("avx512f,f16c,fma")))

static int gsv_hgemv_level(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = !gsv_kernels_has_f16c() ? 0 : __builtin_cpu_supports("avx512f") ? 2 : 1;
    }
    return cached;
}

// The first popcount(m) halves at p (m = a low-bit mask), the rest zero, without reading past them.
GSV_AVX512H static inline __m512 gsv_load_half16(const uint16_t *p, __mmask16 m) {
    uint16_t tmp[16] = {0};
    for (int i = 0; i < 16 && (m >> i) & 1; i++) tmp[i] = p[i];
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)tmp));
}

// One row at a time, 16 columns per vector, one accumulator per row, the last vector masked. Rows
// are contiguous, so this reads the matrix as a single sequential stream: on a 2-core Zen 4 VM it
// streams 30 GB/s per core where reading four rows side by side (four streams 1–4 KB apart)
// reached 12 GB/s. Same summation order as before, so bit-identical results.
GSV_AVX512H static void gsv_hgemv_rows_avx512(const uint16_t *w, size_t cols, const float *x, float *y,
                                              size_t row_begin, size_t row_end) {
    size_t full = cols & ~(size_t)15;
    __mmask16 tail = (__mmask16)((1u << (cols - full)) - 1u);
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t *p = w + r * cols;
        __m512 a = _mm512_setzero_ps();
        size_t c = 0;
        for (; c < full; c += 16)
            a = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + c))), _mm512_loadu_ps(x + c), a);
        if (tail) a = _mm512_fmadd_ps(gsv_load_half16(p + c, tail), _mm512_maskz_loadu_ps(tail, x + c), a);
        y[r] = _mm512_reduce_add_ps(a);
    }
}

// N input rows (a compile-time constant in every instantiation below, so the N accumulators stay in
// registers): each 16-column weight vector is converted once and used for every row.
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

// n input rows `xs` floats apart (n a compile-time constant in every instantiation below, so the n
// accumulators stay in registers): each 16-column weight vector is converted once and used for
// every input row. When the n input rows do not fit in L1 together (e.g. 12 rows of 2048), the
// columns are cut into blocks whose input slices do, and the accumulators of
// GSV_HGEMM_ROW_BLOCK weight rows are carried from block to block; every accumulator still sums
// its columns in order, so both paths give bit-identical results.
GSV_AVX512H static GSV_ALWAYS_INLINE void gsv_hgemm_block_avx512(const uint16_t *w, size_t rows, size_t cols,
                                                                  const float *x, size_t xs, const size_t n, float *y,
                                                                  size_t row_begin, size_t row_end) {
    size_t full = cols & ~(size_t)15;
    __mmask16 tail = (__mmask16)((1u << (cols - full)) - 1u);
    if (n * cols * sizeof(float) <= GSV_HGEMM_ONE_PASS_BYTES) {
        for (size_t r = row_begin; r < row_end; r++) {
            const uint16_t *p = w + r * cols;
            __m512 a[16];
#pragma GCC unroll 16
            for (size_t b = 0; b < n; b++) a[b] = _mm512_setzero_ps();
            size_t c = 0;
            for (; c < full; c += 16) {
                __m512 h = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + c)));
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) a[b] = _mm512_fmadd_ps(h, _mm512_loadu_ps(x + b * xs + c), a[b]);
            }
            if (tail) {
                __m512 h = gsv_load_half16(p + c, tail);
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) a[b] = _mm512_fmadd_ps(h, _mm512_maskz_loadu_ps(tail, x + b * xs + c), a[b]);
            }
#pragma GCC unroll 16
            for (size_t b = 0; b < n; b++) y[b * rows + r] = _mm512_reduce_add_ps(a[b]);
        }
        return;
    }
    size_t cb = (GSV_HGEMM_X_BYTES / (sizeof(float) * n)) & ~(size_t)15;  // ≥ 256 for n ≤ 16
    __m512 acc[GSV_HGEMM_ROW_BLOCK][16];
    for (size_t rb = row_begin; rb < row_end; rb += GSV_HGEMM_ROW_BLOCK) {
        size_t nr = row_end - rb < GSV_HGEMM_ROW_BLOCK ? row_end - rb : GSV_HGEMM_ROW_BLOCK;
        for (size_t i = 0; i < nr; i++)
            for (size_t b = 0; b < n; b++) acc[i][b] = _mm512_setzero_ps();
        for (size_t c0 = 0; c0 < full; c0 += cb) {
            size_t c1 = full - c0 < cb ? full : c0 + cb;
            for (size_t i = 0; i < nr; i++) {
                const uint16_t *p = w + (rb + i) * cols;
                __m512 a[16];
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) a[b] = acc[i][b];
                for (size_t c = c0; c < c1; c += 16) {
                    __m512 h = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + c)));
#pragma GCC unroll 16
                    for (size_t b = 0; b < n; b++) a[b] = _mm512_fmadd_ps(h, _mm512_loadu_ps(x + b * xs + c), a[b]);
                }
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) acc[i][b] = a[b];
            }
        }
        for (size_t i = 0; i < nr; i++) {
            if (tail) {
                __m512 h = gsv_load_half16(w + (rb + i) * cols + full, tail);
                for (size_t b = 0; b < n; b++)
                    acc[i][b] = _mm512_fmadd_ps(h, _mm512_maskz_loadu_ps(tail, x + b * xs + full), acc[i][b]);
            }
            for (size_t b = 0; b < n; b++) y[b * rows + rb + i] = _mm512_reduce_add_ps(acc[i][b]);
        }
    }
}

GSV_TARGET static GSV_ALWAYS_INLINE void gsv_hgemm_block_avx2(const uint16_t *w, size_t rows, size_t cols,
                                                               const float *x, const size_t n, float *y,
                                                               size_t row_begin, size_t row_end) {
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t *row = w + r * cols;
        __m256 a[8];
#pragma GCC unroll 8
        for (size_t b = 0; b < n; b++) a[b] = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 h = gsv_load_half8(row + c);
#pragma GCC unroll 8
            for (size_t b = 0; b < n; b++) a[b] = _mm256_fmadd_ps(h, _mm256_loadu_ps(x + b * cols + c), a[b]);
        }
#pragma GCC unroll 8
        for (size_t b = 0; b < n; b++) {
            float s = gsv_hsum(a[b]);
            for (size_t k = c; k < cols; k++) s += _cvtsh_ss(row[k]) * x[b * cols + k];
            y[b * rows + r] = s;
        }
    }
}

#define GSV_HGEMM_N(N)                                                                                         \
    GSV_AVX512H static void gsv_hgemm512_##N(const uint16_t *w, size_t rows, size_t cols, const float *x, size_t xs, \
                                             float *y, size_t r0, size_t r1) {                                 \
        gsv_hgemm_block_avx512(w, rows, cols, x, xs, N, y, r0, r1);                                           \
    }
GSV_HGEMM_N(1) GSV_HGEMM_N(2) GSV_HGEMM_N(3) GSV_HGEMM_N(4) GSV_HGEMM_N(5) GSV_HGEMM_N(6) GSV_HGEMM_N(7) GSV_HGEMM_N(8)
GSV_HGEMM_N(9) GSV_HGEMM_N(10) GSV_HGEMM_N(11) GSV_HGEMM_N(12) GSV_HGEMM_N(13) GSV_HGEMM_N(14) GSV_HGEMM_N(15)
GSV_HGEMM_N(16)

#define GSV_HGEMM2_N(N)                                                                                          \
    GSV_TARGET static void gsv_hgemm256_##N(const uint16_t *w, size_t rows, size_t cols, const float *x, float *y,   \
                                            size_t r0, size_t r1) {                                            \
        gsv_hgemm_block_avx2(w, rows, cols, x, N, y, r0, r1);                                                  \
    }
GSV_HGEMM2_N(1) GSV_HGEMM2_N(2) GSV_HGEMM2_N(3) GSV_HGEMM2_N(4) GSV_HGEMM2_N(5) GSV_HGEMM2_N(6) GSV_HGEMM2_N(7)
GSV_HGEMM2_N(8)

typedef void (*gsv_hgemm_fn)(const uint16_t *, size_t, size_t, const float *, float *, size_t, size_t);
typedef void (*gsv_hgemm512_fn)(const uint16_t *, size_t, size_t, const float *, size_t, float *, size_t, size_t);

static const gsv_hgemm512_fn gsv_hgemm512[16] = {
    gsv_hgemm512_1, gsv_hgemm512_2, gsv_hgemm512_3, gsv_hgemm512_4, gsv_hgemm512_5, gsv_hgemm512_6,
    gsv_hgemm512_7, gsv_hgemm512_8, gsv_hgemm512_9, gsv_hgemm512_10, gsv_hgemm512_11, gsv_hgemm512_12,
    gsv_hgemm512_13, gsv_hgemm512_14, gsv_hgemm512_15, gsv_hgemm512_16};
static const gsv_hgemm_fn gsv_hgemm256[8] = {gsv_hgemm256_1, gsv_hgemm256_2, gsv_hgemm256_3, gsv_hgemm256_4,
                                             gsv_hgemm256_5, gsv_hgemm256_6, gsv_hgemm256_7, gsv_hgemm256_8};

int gsv_hgemv_max_level(void) { return gsv_hgemv_level(); }

void gsv_hgemv_rows_at(int level, const uint16_t *w, size_t cols, const float *x, float *y, size_t row_begin,
                       size_t row_end) {
    if (level > gsv_hgemv_level()) level = gsv_hgemv_level();
    if (level >= 2) gsv_hgemv_rows_avx512(w, cols, x, y, row_begin, row_end);
    else gsv_hgemv_rows_f16c(w, cols, x, y, row_begin, row_end);
}

// Input rows `cols` floats apart fall on a few L1 sets when cols · 4 is a multiple of 1 KB (rows
// 4 KB apart, as in the v2 GPT's 1024 … 4096-wide layers, all on the same ones): beyond the L1's
// 8 ways every input load misses. The level-2 kernel then reads a copy whose rows are 64 bytes
// further apart. C microbenchmark, one core, GMAC/s (with the column blocks above): [4096, 1024]
// n = 12 25 → 28, n = 16 16 → 28; [1024, 4096] n = 12 16 → 32. Same arithmetic, so
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

void gsv_hgemm_rows_at(int level, const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n, float *y,
                       size_t row_begin, size_t row_end) {
    if (level > gsv_hgemv_level()) level = gsv_hgemv_level();
    size_t pass = level >= 2 ? 16 : 8;
    for (size_t b0 = 0; b0 < n; b0 += pass) {
        size_t nb = n - b0 < pass ? n - b0 : pass;
        if (level >= 2) {
            size_t xs;
            const float *xp = gsv_hgemm_padded_input(x + b0 * cols, cols, nb, &xs);
            gsv_hgemm512[nb - 1](w, rows, cols, xp, xs, y + b0 * rows, row_begin, row_end);
        } else {
            gsv_hgemm256[nb - 1](w, rows, cols, x + b0 * cols, y + b0 * rows, row_begin, row_end);
        }
    }
}

#else  // Not x86: no F16C; GSVTensor never calls the kernels below.

int gsv_kernels_has_f16c(void) { return 0; }

void gsv_hgemv_rows_f16c(const uint16_t *w, size_t cols, const float *x, float *y,
                         size_t row_begin, size_t row_end) {
    (void)w; (void)cols; (void)x; (void)y; (void)row_begin; (void)row_end;
}

void gsv_widen_half_f16c(const uint16_t *src, float *dst, size_t count) {
    (void)src; (void)dst; (void)count;
}

int gsv_hgemv_max_level(void) { return 0; }

void gsv_hgemv_rows_at(int level, const uint16_t *w, size_t cols, const float *x, float *y, size_t row_begin,
                       size_t row_end) {
    (void)level; (void)w; (void)cols; (void)x; (void)y; (void)row_begin; (void)row_end;
}

void gsv_hgemm_rows_at(int level, const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n, float *y,
                       size_t row_begin, size_t row_end) {
    (void)level; (void)w; (void)rows; (void)cols; (void)x; (void)n; (void)y; (void)row_begin; (void)row_end;
}

#endif
