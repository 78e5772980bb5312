// Small C kernels for instructions Swift cannot reach portably (DESIGN "Speed"): fp16 → fp32
// conversion with F16C and fused multiply-add with AVX2/FMA on x86-64. Every entry point other than
// gsv_kernels_has_f16c() may be called only when that function returned 1; GSVTensor falls back to
// its Swift SIMD kernels otherwise (other CPUs, Apple silicon).
#ifndef GSV_KERNELS_H
#define GSV_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU supports F16C, AVX2 and FMA (checked once at run time), else 0.
int gsv_kernels_has_f16c(void);

/// y[r] = Σ_c half(w[r·cols + c]) · x[c] for r in [row_begin, row_end).
void gsv_hgemv_rows_f16c(const uint16_t *w, size_t cols, const float *x, float *y,
                         size_t row_begin, size_t row_end);

/// For n ≤ 4 input rows x[b·cols …]: y[b·rows + r] = Σ_c half(w[r·cols + c]) · x[b·cols + c],
/// r in [row_begin, row_end). Each weight block is converted once for all n rows.
void gsv_hgemm_small_rows_f16c(const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n,
                               float *y, size_t row_begin, size_t row_end);

/// dst[i] = half(src[i]) for i < count.
void gsv_widen_half_f16c(const uint16_t *src, float *dst, size_t count);

#ifdef __cplusplus
}
#endif

#endif
