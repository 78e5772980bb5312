// Fused single-query attention for the T2S GPT (one query row of one head against a cached prefix
// of keys and values): scores, softmax and the weighted sum of values in one pass over the cache,
// with no BLAS call per head. Used for every decode step and for the rows of the prompt pass.
// Level 2: AVX-512 (intrinsics, below); levels 1 and 0: attention_template.h compiled for AVX2 + FMA,
// for portable C, and on AArch64 for NEON.
#include "GSVKernels.h"

#include <math.h>

// Portable C (and, compiled for AArch64, NEON).
#define GSV_V(name) gsv_portable_##name
#define GSV_V_ATTR
#include "vec.h"
#include "attention_template.h"
#undef GSV_V
#undef GSV_V_ATTR

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// Level 1: the same code with AVX2 + FMA.
#define GSV_V(name) gsv_avx2_##name
#define GSV_V_ATTR __attribute__((target("avx2,fma")))
#include "vec.h"
#include "attention_template.h"
#undef GSV_V
#undef GSV_V_ATTR

// Level 2: AVX-512.
#define GSV_AVX512 __attribute__((target("avx512f,fma")))

// e^x for x ≤ 0 (softmax after the max is subtracted); relative error below 2e-7, exact 0 below
// about −103: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-7 Taylor polynomial, then 2^n by
// vscalefps (no exponent-field arithmetic, so no overflow or denormal special cases).
GSV_AVX512 static inline __m512 gsv_exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static inline __mmask16 gsv_tail_mask(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

GSV_AVX512 static void gsv_attend_avx512(const float *q, size_t hd, const float *kt, size_t kt_block, const float *v,
                                         size_t v_stride, size_t len, float scale, float *scores, float *out) {
    // Scores, one block of 16 keys at a time: the keys are stored transposed, so every FMA is
    // vertical, and block after block is one sequential stream (four blocks side by side, four
    // streams, read the cache markedly slower). While a block is scored, the value rows of its
    // positions are prefetched: they are read right after the softmax, and without the prefetch
    // that second pass waits on memory (one-core, cold-cache microbenchmark, 24 layers × 8 heads,
    // head-major cache: 270 positions 1.91 → 1.44 ms, 600 positions 4.05 → 2.64 ms).
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (size_t j = 0; j < len; j += 16) {
        size_t n = len - j < 16 ? len - j : 16;
        __mmask16 m = gsv_tail_mask(n);
        const char *vp = (const char *)(v + j * v_stride);
        for (size_t p = 0; p < n; p++)
            for (size_t o = 0; o < hd * sizeof(float); o += 64) _mm_prefetch(vp + p * v_stride * sizeof(float) + o, _MM_HINT_T0);
        __m512 a = _mm512_setzero_ps();
        const float *k = kt + (j / 16) * kt_block;
        for (size_t d = 0; d < hd; d++) a = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_maskz_loadu_ps(m, k + 16 * d), a);
        a = _mm512_mul_ps(a, _mm512_set1_ps(scale));
        _mm512_mask_storeu_ps(scores + j, m, a);
        vmax = _mm512_mask_max_ps(vmax, m, vmax, a);
    }
    __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    // exp and sum.
    __m512 vsum = _mm512_setzero_ps();
    size_t j;
    for (j = 0; j < len; j += 16) {
        __mmask16 m = gsv_tail_mask(len - j);
        __m512 e = gsv_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, scores + j), mx));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(scores + j, m, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (j = 0; j < len; j += 16) {
        __mmask16 m = gsv_tail_mask(len - j);
        _mm512_mask_storeu_ps(scores + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, scores + j), inv));
    }
    // out = Σ_j p_j · v_j, 16 head dimensions per vector (the last one masked), two keys per
    // iteration into separate accumulators.
    for (size_t d0 = 0; d0 < hd; d0 += 32) {
        __mmask16 m0 = gsv_tail_mask(hd - d0), m1 = hd - d0 > 16 ? gsv_tail_mask(hd - d0 - 16) : 0;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
        const float *vr = v + d0;
        size_t i = 0;
        for (; i + 2 <= len; i += 2, vr += 2 * v_stride) {
            __m512 p = _mm512_set1_ps(scores[i]), r = _mm512_set1_ps(scores[i + 1]);
            a0 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m0, vr), a0);
            a1 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m1, vr + 16), a1);
            b0 = _mm512_fmadd_ps(r, _mm512_maskz_loadu_ps(m0, vr + v_stride), b0);
            b1 = _mm512_fmadd_ps(r, _mm512_maskz_loadu_ps(m1, vr + v_stride + 16), b1);
        }
        if (i < len) {
            __m512 p = _mm512_set1_ps(scores[i]);
            a0 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m0, vr), a0);
            a1 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m1, vr + 16), a1);
        }
        _mm512_mask_storeu_ps(out + d0, m0, _mm512_add_ps(a0, b0));
        if (m1) _mm512_mask_storeu_ps(out + d0 + 16, m1, _mm512_add_ps(a1, b1));
    }
}

#endif

void gsv_attend_at(int level, const float *q, size_t hd, const float *kt, size_t kt_block, const float *v,
                   size_t v_stride, size_t len, float scale, float *scores, float *out) {
    if (len == 0) {
        for (size_t d = 0; d < hd; d++) out[d] = 0;
        return;
    }
    level = gsv_clamp_level(level);
#if defined(__x86_64__) || defined(__i386__)
    if (level >= GSV_LEVEL_WIDE) {
        gsv_attend_avx512(q, hd, kt, kt_block, v, v_stride, len, scale, scores, out);
        return;
    }
    if (level == GSV_LEVEL_SIMD) {
        gsv_avx2_attend(q, hd, kt, kt_block, v, v_stride, len, scale, scores, out);
        return;
    }
#endif
    gsv_portable_attend(q, hd, kt, kt_block, v, v_stride, len, scale, scores, out);
}

void gsv_add_layer_norm(float *x, const float *delta, const float *weight, const float *bias, size_t n, float eps) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] += delta[i];
        s += x[i];
    }
    double mean = s / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - mean;
        ss += d * d;
    }
    float rs = (float)(1.0 / sqrt(ss / (double)n + (double)eps)), m = (float)mean;
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - m) * rs * weight[i] + bias[i];
}
