// Small C kernels for instructions Swift cannot reach portably (DESIGN "Speed"): fp16 → fp32
// conversion, fused multiply-add and wide vectors, with AVX-512 and AVX2+FMA+F16C code on x86-64,
// NEON code on AArch64 and portable C everywhere, chosen per call by a kernel level (below).
// Tests check every level against the portable code and double-precision references, natively
// (Swift tests, Tests/CKernels) and for AArch64 under qemu (scripts/test-kernels-c.sh).
#ifndef GSV_KERNELS_H
#define GSV_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel levels. Every `_at` entry point takes one and runs the best code at or below it that this
/// CPU supports (gsv_clamp_level), so any level may be asked for anywhere; tests and `bench` force
/// lower ones to compare them on one machine.
/// Portable C: plain loops, on every CPU (the reference the vector code is tested against).
#define GSV_LEVEL_PORTABLE 0
/// x86-64: AVX2 + FMA + F16C (with OS support). AArch64: NEON (Advanced SIMD, fp16 conversions).
#define GSV_LEVEL_SIMD 1
/// x86-64: AVX-512 F/BW/DQ/VL on top of level 1. (No AArch64 code at this level.)
#define GSV_LEVEL_WIDE 2

/// CPU feature bits found by gsv_cpu_features (instructions the CPU has and the OS enables).
#define GSV_CPU_AVX (1u << 0)
#define GSV_CPU_AVX2 (1u << 1)
#define GSV_CPU_FMA (1u << 2)
#define GSV_CPU_F16C (1u << 3)
#define GSV_CPU_AVX512F (1u << 4)
#define GSV_CPU_AVX512BW (1u << 5)
#define GSV_CPU_AVX512DQ (1u << 6)
#define GSV_CPU_AVX512VL (1u << 7)
/// AArch64 Advanced SIMD.
#define GSV_CPU_NEON (1u << 8)
/// AArch64 FEAT_FP16: half-precision vector arithmetic.
#define GSV_CPU_NEON_FP16 (1u << 9)
/// AArch64 FEAT_FHM: half-precision multiplies accumulated in single precision (FMLAL).
#define GSV_CPU_NEON_FHM (1u << 10)

/// The feature bits of this CPU (probed once).
unsigned gsv_cpu_features(void);

/// The best kernel level of this CPU: GSV_LEVEL_WIDE with every AVX-512 F/BW/DQ/VL bit and the
/// level-1 set; GSV_LEVEL_SIMD with AVX + AVX2 + FMA + F16C, or on AArch64; else GSV_LEVEL_PORTABLE.
int gsv_cpu_level(void);

/// `level` limited to [0, gsv_cpu_level()].
int gsv_clamp_level(int level);

/// A level's name on this architecture, e.g. "AVX2+FMA+F16C", "NEON", "portable C".
const char *gsv_level_name(int level);

/// The CPU's name (x86 brand string, Apple's brand string, or what /proc/cpuinfo says), NUL-terminated.
void gsv_cpu_model(char *buf, size_t size);

/// Cores this process may run on: the CPUs in its affinity mask (`*affinity`, 0 when unknown) and
/// its cgroup CPU quota in cores (`*quota`, 0 when unlimited or unknown). Returns the smaller, the
/// quota rounded to the nearest core and at least 1 (0 when neither is known).
int gsv_cpu_available_cores(int *affinity, double *quota);

/// y[r] = Σ_c half(w[r·cols + c]) · x[c] for r in [row_begin, row_end), with code `level`: one row at
/// a time, as one sequential stream, with one accumulator of 16 (level 2) or 8 lanes.
void gsv_hgemv_rows_at(int level, const uint16_t *w, size_t cols, const float *x, float *y,
                       size_t row_begin, size_t row_end);

/// For any n input rows x[b·cols …]: y[b·rows + r] = Σ_c half(w[r·cols + c]) · x[b·cols + c], r in
/// [row_begin, row_end), with code `level`. Each weight vector is converted once per pass of up to
/// 16 input rows (level 2), 12 (level 1) or 4 (level 0), and every input row sums its columns in the
/// order of gsv_hgemv_rows_at at the same level, so batched and single rows agree bit for bit.
void gsv_hgemm_rows_at(int level, const uint16_t *w, size_t rows, size_t cols, const float *x, size_t n, float *y,
                       size_t row_begin, size_t row_end);

/// dst[i] = half(src[i]) for i < count (exact at every level).
void gsv_widen_half_at(int level, const uint16_t *src, float *dst, size_t count);

/// Output channels per block of the packed convolution weights.
#define GSV_CONV_CO_BLOCK 8

/// Output columns the vector kernels keep in registers at a time (48 at level 2, 16 at level 1 on
/// x86-64, 8 otherwise: column ranges split across threads in multiples of 48 leave only one
/// partial block).
#define GSV_CONV_COLUMNS 48

/// Packs PyTorch conv weights w [cout][cin][k] into blocks of GSV_CONV_CO_BLOCK output channels,
/// [⌈cout/8⌉][cin][k][8] (missing channels zero). `packed` holds ⌈cout/8⌉·8·cin·k floats.
void gsv_conv1d_pack_weights(const float *w, size_t cout, size_t cin, size_t k, float *packed);

/// Direct stride-1 convolution, accumulating into y (preset it with the bias or zeros):
/// y[o·y_stride + t] += Σ_c Σ_q w[o][c][q] · x[c·x_stride + t + q·dilation] for t in [t_begin, t_end),
/// o < cout, with `packed` from gsv_conv1d_pack_weights, using code `level` (level 0 is plain loops,
/// correct but slower than BLAS; tests check every level against the others). Every input row must
/// hold the columns up to t_end + (k−1)·dilation. Disjoint column ranges may run on different threads.
void gsv_conv1d_direct_at(int level, const float *x, size_t x_stride, size_t cin, const float *packed, size_t cout,
                          size_t k, size_t dilation, float *y, size_t y_stride, size_t t_begin, size_t t_end);

/// Interpolation points of the Winograd F(4, 4) transforms (products per tile of four outputs).
#define GSV_WINO_POINTS 7

/// Transforms PyTorch conv weights w [cout][cin][k] for gsv_wino_*_at: u [7][⌈k/4⌉][cout][cin], segment j
/// holding taps 4j … 4j+3 (taps past k are zero).
void gsv_wino_pack_weights(const float *w, size_t cout, size_t cin, size_t k, float *u);

/// Input transform of tiles tile0 … tile0 + width − 1 of every phase: v[a][c][p·width + n] is point a
/// of the inputs x[c·x_stride + p + d·(4·(tile0 + n) + l)], l < 7 (d = dilation, p < d). Columns at or
/// past `limit` read as zero. v holds 7·cin·d·width floats.
/// Level 2 moves sixteen tiles at a time (8 at level 1, 4 with NEON), with permutes at dilation 1
/// and gathers otherwise; every level runs the same operations in the same order (no fused
/// multiply-add), so all give bit-identical results.
void gsv_wino_input_at(int level, const float *x, size_t x_stride, size_t limit, size_t cin, size_t dilation,
                       size_t tile0, size_t width, float *v);

/// Output transform, accumulating: for tiles n < `tiles` of every phase p, the four outputs
/// y[o·y_stride + p + d·(4·(tile0 + n) + i)] (those below out_len) += point-wise products m[a][o][p·width + n]
/// mapped back. m holds 7·cout·d·width floats.
/// Bit-identical at every level, as gsv_wino_input_at.
void gsv_wino_output_at(int level, const float *m, size_t cout, size_t dilation, size_t tile0, size_t tiles,
                        size_t width, float *y, size_t y_stride, size_t out_len);

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
