// fp16-weight matrix-vector kernels (F16C + AVX2 + FMA), selected at run time by GSVTensor.
#include "GSVKernels.h"

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

GSV_TARGET void gsv_hgemm_small_rows_f16c(const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n,
                                          float *y, size_t row_begin, size_t row_end) {
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t *row = w + r * cols;
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 h = gsv_load_half8(row + c);
            for (size_t b = 0; b < n && b < 4; b++) {
                a[b] = _mm256_fmadd_ps(h, _mm256_loadu_ps(x + b * cols + c), a[b]);
            }
        }
        for (size_t b = 0; b < n && b < 4; b++) {
            float s = gsv_hsum(a[b]);
            for (size_t k = c; k < cols; k++) s += _cvtsh_ss(row[k]) * x[b * cols + k];
            y[b * rows + r] = s;
        }
    }
}

GSV_TARGET void gsv_widen_half_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, gsv_load_half8(src + i));
    for (; i < count; i++) dst[i] = _cvtsh_ss(src[i]);
}

#else  // Not x86: no F16C; GSVTensor never calls the kernels below.

int gsv_kernels_has_f16c(void) { return 0; }

void gsv_hgemv_rows_f16c(const uint16_t *w, size_t cols, const float *x, float *y,
                         size_t row_begin, size_t row_end) {
    (void)w; (void)cols; (void)x; (void)y; (void)row_begin; (void)row_end;
}

void gsv_hgemm_small_rows_f16c(const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n,
                               float *y, size_t row_begin, size_t row_end) {
    (void)w; (void)rows; (void)cols; (void)x; (void)n; (void)y; (void)row_begin; (void)row_end;
}

void gsv_widen_half_f16c(const uint16_t *src, float *dst, size_t count) {
    (void)src; (void)dst; (void)count;
}

#endif
