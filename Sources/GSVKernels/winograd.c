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

void gsv_wino_input(const float *x, size_t x_stride, size_t limit, size_t cin, size_t dilation, size_t tile0,
                    size_t width, float *v) {
    size_t cols = dilation * width, plane = cin * cols;
    for (size_t c = 0; c < cin; c++) {
        const float *row = x + c * x_stride;
        for (size_t p = 0; p < dilation; p++) {
            float *dst = v + c * cols + p * width;
            for (size_t n = 0; n < width; n++) {
                size_t base = p + dilation * 4 * (tile0 + n);
                float d[7];
                if (base + 6 * dilation < limit) {
                    for (size_t l = 0; l < 7; l++) d[l] = row[base + l * dilation];
                } else {
                    // Past the readable columns: zeros (they meet only zero taps or dropped outputs,
                    // but whatever lies there must not leak in through rounding, nor as NaN).
                    for (size_t l = 0; l < 7; l++) {
                        size_t t = base + l * dilation;
                        d[l] = t < limit ? row[t] : 0.0f;
                    }
                }
                // B^T · d
                dst[n] = -2 * d[0] + 4 * d[1] + 2.5f * d[2] - 5 * d[3] - 0.5f * d[4] + d[5];
                dst[plane + n] = 2 * d[1] - 2 * d[2] - 4.5f * d[3] + 0.5f * d[4] + d[5];
                dst[2 * plane + n] = -2 * d[1] + 6 * d[2] - 3.5f * d[3] - 1.5f * d[4] + d[5];
                dst[3 * plane + n] = d[1] - 1.5f * d[2] - 2 * d[3] + 1.5f * d[4] + d[5];
                dst[4 * plane + n] = -d[1] + 2.5f * d[2] - 2.5f * d[4] + d[5];
                dst[5 * plane + n] = 4 * d[1] - 5 * d[3] + d[5];
                dst[6 * plane + n] = -2 * d[1] + 4 * d[2] + 2.5f * d[3] - 5 * d[4] - 0.5f * d[5] + d[6];
            }
        }
    }
}

void gsv_wino_output(const float *m, size_t cout, size_t dilation, size_t tile0, size_t tiles, size_t width,
                     float *y, size_t y_stride, size_t out_len) {
    size_t cols = dilation * width, plane = cout * cols;
    for (size_t o = 0; o < cout; o++) {
        float *row = y + o * y_stride;
        for (size_t p = 0; p < dilation; p++) {
            const float *src = m + o * cols + p * width;
            for (size_t n = 0; n < tiles; n++) {
                float m0 = src[n], m1 = src[plane + n], m2 = src[2 * plane + n], m3 = src[3 * plane + n];
                float m4 = src[4 * plane + n], m5 = src[5 * plane + n], m6 = src[6 * plane + n];
                // A^T · m
                float r[4] = {
                    m0 + m1 + m2 + m3 + m4 + m5,
                    m1 - m2 + 2 * (m3 - m4) + 0.5f * m5,
                    m1 + m2 + 4 * (m3 + m4) + 0.25f * m5,
                    m1 - m2 + 8 * (m3 - m4) + 0.125f * m5 + m6,
                };
                size_t base = p + dilation * 4 * (tile0 + n);
                for (size_t i = 0; i < 4; i++) {
                    size_t t = base + i * dilation;
                    if (t < out_len) row[t] += r[i];
                }
            }
        }
    }
}
