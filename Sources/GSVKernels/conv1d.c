// Direct stride-1 1-D convolution for narrow channel counts (the late HiFi-GAN stages), where one
// sgemm per kernel tap has an inner dimension of only 16–64 and BLAS runs far below peak.
// AVX-512F and AVX2+FMA versions, selected at run time by GSVTensor/GSVModels.
#include "GSVKernels.h"

void gsv_conv1d_pack_weights(const float *w, size_t cout, size_t cin, size_t k, float *packed) {
    size_t blocks = (cout + GSV_CONV_CO_BLOCK - 1) / GSV_CONV_CO_BLOCK;
    for (size_t b = 0; b < blocks; b++)
        for (size_t c = 0; c < cin; c++)
            for (size_t t = 0; t < k; t++)
                for (size_t j = 0; j < GSV_CONV_CO_BLOCK; j++) {
                    size_t o = b * GSV_CONV_CO_BLOCK + j;
                    packed[((b * cin + c) * k + t) * GSV_CONV_CO_BLOCK + j] = o < cout ? w[(o * cin + c) * k + t] : 0.0f;
                }
}

// One output channel block, columns [t, t + n): plain loops (tails, and CPUs without AVX2).
static void gsv_conv_tail(const float *x, size_t x_stride, size_t cin, const float *wb, size_t k, size_t dilation,
                          float *y, size_t y_stride, size_t rows, size_t t, size_t n) {
    for (size_t j = 0; j < rows; j++) {
        for (size_t i = 0; i < n; i++) {
            float s = y[j * y_stride + t + i];
            for (size_t c = 0; c < cin; c++)
                for (size_t q = 0; q < k; q++)
                    s += wb[(c * k + q) * GSV_CONV_CO_BLOCK + j] * x[c * x_stride + t + i + q * dilation];
            y[j * y_stride + t + i] = s;
        }
    }
}

// Output channels in block b (GSV_CONV_CO_BLOCK, fewer in the last block).
static inline size_t gsv_block_size(size_t cout, size_t b) {
    size_t left = cout - b * GSV_CONV_CO_BLOCK;
    return left < GSV_CONV_CO_BLOCK ? left : GSV_CONV_CO_BLOCK;
}

// Every channel block, columns [t_begin, t_end), with plain loops.
static void gsv_conv_plain(const float *x, size_t x_stride, size_t cin, const float *packed, size_t cout, size_t k,
                           size_t dilation, float *y, size_t y_stride, size_t t_begin, size_t t_end) {
    size_t blocks = (cout + GSV_CONV_CO_BLOCK - 1) / GSV_CONV_CO_BLOCK;
    for (size_t b = 0; b < blocks; b++)
        gsv_conv_tail(x, x_stride, cin, packed + b * cin * k * GSV_CONV_CO_BLOCK, k, dilation,
                      y + b * GSV_CONV_CO_BLOCK * y_stride, y_stride, gsv_block_size(cout, b), t_begin, t_end - t_begin);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define GSV_AVX2 __attribute__((target("avx2,fma")))
#define GSV_AVX512 __attribute__((target("avx512f,fma")))

// Column t of the output rows of channel block b; rows past `cout` point at `spare` (results
// discarded), so the kernels run without per-row branches.
static inline void gsv_block_rows(float *y, size_t y_stride, size_t cout, size_t b, size_t t, float *rows[4],
                                  float *spare) {
    size_t n = gsv_block_size(cout, b);
    for (size_t j = 0; j < 4; j++) rows[j] = j < n ? y + (b * GSV_CONV_CO_BLOCK + j) * y_stride + t : spare;
}

GSV_AVX2 static void gsv_conv1d_direct_avx2(const float *x, size_t x_stride, size_t cin, const float *packed, size_t cout,
                                            size_t k, size_t dilation, float *y, size_t y_stride, size_t t_begin,
                                            size_t t_end) {
    size_t blocks = (cout + GSV_CONV_CO_BLOCK - 1) / GSV_CONV_CO_BLOCK;
    float spare[16] = {0};
    float *r[4];
    size_t t = t_begin;
    // 16 columns × 4 output channels in 8 accumulators.
    for (; t + 16 <= t_end; t += 16) {
        for (size_t b = 0; b < blocks; b++) {
            const float *wb = packed + b * cin * k * GSV_CONV_CO_BLOCK;
            gsv_block_rows(y, y_stride, cout, b, t, r, spare);
            __m256 a00 = _mm256_loadu_ps(r[0]), a01 = _mm256_loadu_ps(r[0] + 8);
            __m256 a10 = _mm256_loadu_ps(r[1]), a11 = _mm256_loadu_ps(r[1] + 8);
            __m256 a20 = _mm256_loadu_ps(r[2]), a21 = _mm256_loadu_ps(r[2] + 8);
            __m256 a30 = _mm256_loadu_ps(r[3]), a31 = _mm256_loadu_ps(r[3] + 8);
            for (size_t c = 0; c < cin; c++) {
                const float *xr = x + c * x_stride + t;
                const float *wr = wb + c * k * GSV_CONV_CO_BLOCK;
                for (size_t q = 0; q < k; q++, wr += GSV_CONV_CO_BLOCK) {
                    const float *xp = xr + q * dilation;
                    __m256 x0 = _mm256_loadu_ps(xp), x1 = _mm256_loadu_ps(xp + 8);
                    __m256 w = _mm256_broadcast_ss(wr);
                    a00 = _mm256_fmadd_ps(w, x0, a00); a01 = _mm256_fmadd_ps(w, x1, a01);
                    w = _mm256_broadcast_ss(wr + 1);
                    a10 = _mm256_fmadd_ps(w, x0, a10); a11 = _mm256_fmadd_ps(w, x1, a11);
                    w = _mm256_broadcast_ss(wr + 2);
                    a20 = _mm256_fmadd_ps(w, x0, a20); a21 = _mm256_fmadd_ps(w, x1, a21);
                    w = _mm256_broadcast_ss(wr + 3);
                    a30 = _mm256_fmadd_ps(w, x0, a30); a31 = _mm256_fmadd_ps(w, x1, a31);
                }
            }
            _mm256_storeu_ps(r[0], a00); _mm256_storeu_ps(r[0] + 8, a01);
            _mm256_storeu_ps(r[1], a10); _mm256_storeu_ps(r[1] + 8, a11);
            _mm256_storeu_ps(r[2], a20); _mm256_storeu_ps(r[2] + 8, a21);
            _mm256_storeu_ps(r[3], a30); _mm256_storeu_ps(r[3] + 8, a31);
        }
    }
    if (t < t_end) gsv_conv_plain(x, x_stride, cin, packed, cout, k, dilation, y, y_stride, t, t_end);
}

GSV_AVX512 static void gsv_conv1d_direct_avx512(const float *x, size_t x_stride, size_t cin, const float *packed,
                                                size_t cout, size_t k, size_t dilation, float *y, size_t y_stride,
                                                size_t t_begin, size_t t_end) {
    size_t blocks = (cout + GSV_CONV_CO_BLOCK - 1) / GSV_CONV_CO_BLOCK;
    float spare[64] = {0};
    float *r[4];
    size_t t = t_begin;
    // 64 columns × 4 output channels in 16 accumulators.
    for (; t + 64 <= t_end; t += 64) {
        for (size_t b = 0; b < blocks; b++) {
            const float *wb = packed + b * cin * k * GSV_CONV_CO_BLOCK;
            gsv_block_rows(y, y_stride, cout, b, t, r, spare);
            __m512 a[4][4];
            for (size_t j = 0; j < 4; j++)
                for (size_t v = 0; v < 4; v++) a[j][v] = _mm512_loadu_ps(r[j] + 16 * v);
            for (size_t c = 0; c < cin; c++) {
                const float *xr = x + c * x_stride + t;
                const float *wr = wb + c * k * GSV_CONV_CO_BLOCK;
                for (size_t q = 0; q < k; q++, wr += GSV_CONV_CO_BLOCK) {
                    const float *xp = xr + q * dilation;
                    __m512 x0 = _mm512_loadu_ps(xp), x1 = _mm512_loadu_ps(xp + 16);
                    __m512 x2 = _mm512_loadu_ps(xp + 32), x3 = _mm512_loadu_ps(xp + 48);
                    for (size_t j = 0; j < 4; j++) {
                        __m512 w = _mm512_set1_ps(wr[j]);
                        a[j][0] = _mm512_fmadd_ps(w, x0, a[j][0]);
                        a[j][1] = _mm512_fmadd_ps(w, x1, a[j][1]);
                        a[j][2] = _mm512_fmadd_ps(w, x2, a[j][2]);
                        a[j][3] = _mm512_fmadd_ps(w, x3, a[j][3]);
                    }
                }
            }
            for (size_t j = 0; j < 4; j++)
                for (size_t v = 0; v < 4; v++) _mm512_storeu_ps(r[j] + 16 * v, a[j][v]);
        }
    }
    // The rest, 16 columns at a time; the last partial vector is masked.
    for (; t < t_end; t += 16) {
        size_t n = t_end - t < 16 ? t_end - t : 16;
        __mmask16 m = (__mmask16)((1u << n) - 1u);
        for (size_t b = 0; b < blocks; b++) {
            const float *wb = packed + b * cin * k * GSV_CONV_CO_BLOCK;
            gsv_block_rows(y, y_stride, cout, b, t, r, spare);
            __m512 a[4];
            for (size_t j = 0; j < 4; j++) a[j] = _mm512_maskz_loadu_ps(m, r[j]);
            for (size_t c = 0; c < cin; c++)
                for (size_t q = 0; q < k; q++) {
                    __m512 xv = _mm512_maskz_loadu_ps(m, x + c * x_stride + t + q * dilation);
                    for (size_t j = 0; j < 4; j++)
                        a[j] = _mm512_fmadd_ps(_mm512_set1_ps(wb[(c * k + q) * GSV_CONV_CO_BLOCK + j]), xv, a[j]);
                }
            for (size_t j = 0; j < 4; j++) _mm512_mask_storeu_ps(r[j], m, a[j]);
        }
    }
}

static int gsv_conv_level(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) cached = 2;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) cached = 1;
        else cached = 0;
    }
    return cached;
}

#else

static int gsv_conv_level(void) { return 0; }

#endif

int gsv_conv1d_direct_max_level(void) { return gsv_conv_level(); }

void gsv_conv1d_direct_at(int level, const float *x, size_t x_stride, size_t cin, const float *packed, size_t cout,
                          size_t k, size_t dilation, float *y, size_t y_stride, size_t t_begin, size_t t_end) {
    if (level > gsv_conv_level()) level = gsv_conv_level();
#if defined(__x86_64__) || defined(__i386__)
    switch (level) {
    case 2: gsv_conv1d_direct_avx512(x, x_stride, cin, packed, cout, k, dilation, y, y_stride, t_begin, t_end); return;
    case 1: gsv_conv1d_direct_avx2(x, x_stride, cin, packed, cout, k, dilation, y, y_stride, t_begin, t_end); return;
    default: break;
    }
#endif
    gsv_conv_plain(x, x_stride, cin, packed, cout, k, dilation, y, y_stride, t_begin, t_end);
}
