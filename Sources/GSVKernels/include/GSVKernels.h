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

/// The best code gsv_hgemv_rows_at / gsv_hgemm_rows_at run here: 2 = AVX-512F + F16C, 1 = AVX2 + F16C +
/// FMA, 0 = none (then they must not be called).
int gsv_hgemv_max_level(void);

/// gsv_hgemv_rows_f16c with code `level` (capped at gsv_hgemv_max_level; level 2 reads one row at a
/// time, as one sequential stream, with 16-wide vectors).
void gsv_hgemv_rows_at(int level, const uint16_t *w, size_t cols, const float *x, float *y,
                       size_t row_begin, size_t row_end);

/// For any n input rows x[b·cols …]: y[b·rows + r] = Σ_c half(w[r·cols + c]) · x[b·cols + c], r in
/// [row_begin, row_end), with code `level`. Each weight vector is converted once per 16 (level 2) or
/// 8 (level 1) rows.
void gsv_hgemm_rows_at(int level, const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n, float *y,
                       size_t row_begin, size_t row_end);

/// dst[i] = half(src[i]) for i < count.
void gsv_widen_half_f16c(const uint16_t *src, float *dst, size_t count);

/// Output channels per block of the packed convolution weights.
#define GSV_CONV_CO_BLOCK 8

/// Output columns the AVX-512 kernel keeps in registers at a time (column ranges split across
/// threads in multiples of this leave only one partial block).
#define GSV_CONV_COLUMNS 48

/// Packs PyTorch conv weights w [cout][cin][k] into blocks of GSV_CONV_CO_BLOCK output channels,
/// [⌈cout/8⌉][cin][k][8] (missing channels zero). `packed` holds ⌈cout/8⌉·8·cin·k floats.
void gsv_conv1d_pack_weights(const float *w, size_t cout, size_t cin, size_t k, float *packed);

/// The best code gsv_conv1d_direct_at runs here: 2 = AVX-512F, 1 = AVX2 + FMA, 0 = plain loops
/// (correct, but slower than BLAS).
int gsv_conv1d_direct_max_level(void);

/// Direct stride-1 convolution, accumulating into y (preset it with the bias or zeros):
/// y[o·y_stride + t] += Σ_c Σ_q w[o][c][q] · x[c·x_stride + t + q·dilation] for t in [t_begin, t_end),
/// o < cout, with `packed` from gsv_conv1d_pack_weights, using code `level` (capped at
/// gsv_conv1d_direct_max_level; tests check every level against the others). Every input row must
/// hold the columns up to t_end + (k−1)·dilation. Disjoint column ranges may run on different threads.
void gsv_conv1d_direct_at(int level, const float *x, size_t x_stride, size_t cin, const float *packed, size_t cout,
                          size_t k, size_t dilation, float *y, size_t y_stride, size_t t_begin, size_t t_end);

/// Interpolation points of the Winograd F(4, 4) transforms (products per tile of four outputs).
#define GSV_WINO_POINTS 7

/// Transforms PyTorch conv weights w [cout][cin][k] for gsv_wino_*: u [7][⌈k/4⌉][cout][cin], segment j
/// holding taps 4j … 4j+3 (taps past k are zero).
void gsv_wino_pack_weights(const float *w, size_t cout, size_t cin, size_t k, float *u);

/// Input transform of tiles tile0 … tile0 + width − 1 of every phase: v[a][c][p·width + n] is point a
/// of the inputs x[c·x_stride + p + d·(4·(tile0 + n) + l)], l < 7 (d = dilation, p < d). Columns at or
/// past `limit` read as zero. v holds 7·cin·d·width floats.
void gsv_wino_input(const float *x, size_t x_stride, size_t limit, size_t cin, size_t dilation, size_t tile0,
                    size_t width, float *v);

/// Output transform, accumulating: for tiles n < `tiles` of every phase p, the four outputs
/// y[o·y_stride + p + d·(4·(tile0 + n) + i)] (those below out_len) += point-wise products m[a][o][p·width + n]
/// mapped back. m holds 7·cout·d·width floats.
void gsv_wino_output(const float *m, size_t cout, size_t dilation, size_t tile0, size_t tiles, size_t width,
                     float *y, size_t y_stride, size_t out_len);

/// gsv_wino_input / gsv_wino_output at a given level: 2 = AVX-512F (gathered tiles), below = plain
/// loops; both give bit-identical results. The unsuffixed functions use the CPU's level.
void gsv_wino_input_at(int level, const float *x, size_t x_stride, size_t limit, size_t cin, size_t dilation,
                       size_t tile0, size_t width, float *v);
void gsv_wino_output_at(int level, const float *m, size_t cout, size_t dilation, size_t tile0, size_t tiles,
                        size_t width, float *y, size_t y_stride, size_t out_len);

/// The x86-64 vector level of this CPU (with OS support): 2 = AVX-512 F/BW/DQ/VL, 1 = AVX2 + FMA,
/// 0 = neither or not x86-64.
int gsv_cpu_simd_level(void);

/// The best code gsv_attend_at runs here: 1 = AVX-512F, 0 = plain loops.
int gsv_attend_max_level(void);

/// Positions per block of the transposed key layout of gsv_attend_at.
#define GSV_KEY_BLOCK 16

/// Softmax attention of one query of one head over `len` cached positions:
/// scores[j] = softmax_j(scale · Σ_d q[d] · K(d, j)) and out[d] = Σ_j scores[j] · v[j·v_stride + d]
/// for d < hd. Keys are stored transposed in blocks of GSV_KEY_BLOCK positions:
/// K(d, j) = kt[(j / 16)·kt_block + d·16 + j % 16] (kt_block floats from one block to the next);
/// values by position. `scores` holds at least ⌈len/16⌉·16 floats and receives the probabilities.
void gsv_attend_at(int level, const float *q, size_t hd, const float *kt, size_t kt_block, const float *v,
                   size_t v_stride, size_t len, float scale, float *scores, float *out);

/// x = LayerNorm(x + delta) over n values (mean and variance in double), times weight plus bias.
void gsv_add_layer_norm(float *x, const float *delta, const float *weight, const float *bias, size_t n, float eps);

/// A loop body for gsv_pool_run: called once per index.
typedef void (*gsv_pool_fn)(void *ctx, size_t index);

/// Runs fn(ctx, i) for every i < count on the calling thread and the process's spinning helper
/// threads (started on first use, `helpers` of them, at most 16), returning when all have run.
/// Returns 1 when done, 0 without running anything when the pool is busy with another caller's
/// job (or no helper could start): the caller then runs the loop another way.
int gsv_pool_run(size_t count, int helpers, gsv_pool_fn fn, void *ctx);

/// Lanes: independent pieces of work that run at the same time on different threads (e.g. one
/// fragment's SoVITS decode beside the next fragment's GPT) and share the cores between them.
/// `gsv_lanes_enter` / `gsv_lanes_leave` count them; each returns the count after the change.
int gsv_lanes_enter(void);
int gsv_lanes_leave(void);
/// Lanes running now (0 when nothing declared itself a lane).
int gsv_lanes_active(void);

#ifdef __cplusplus
}
#endif

#endif
