// The direct convolution of conv1d.c for one target, with the 8-lane vectors of vec.h (included
// before this file with the same GSV_V/GSV_V_ATTR): portable C, AVX2 + FMA, and on AArch64 NEON.
// The includer also defines GSV_C_ROWS (output channels of a block handled per pass, 4 or 8) and
// GSV_C_NV (vectors of 8 columns per pass): GSV_C_ROWS · GSV_C_NV accumulators stay in registers
// while every input channel and tap streams past. Every output is accumulated in the same order
// (input channel, then tap) whatever the pass and tail, so a column's value does not depend on where
// column ranges start.

// Rows `rows` of a block's pass × `nv` vectors at column t, the last vector holding `last` (1 … 8)
// columns. Always inlined with constant nv (and last = 8 in the main loop).
GSV_V_ATTR static inline __attribute__((always_inline)) void
GSV_V(conv_pass)(const float *x, size_t x_stride, size_t cin, const float *wb, size_t k, size_t dilation,
                 float *const *r, size_t t, int nv, size_t last) {
    gsv_v8f a[GSV_C_ROWS][GSV_C_NV];
    for (int j = 0; j < GSV_C_ROWS; j++)
        for (int v = 0; v < nv; v++)
            a[j][v] = v == nv - 1 && last < 8 ? GSV_V(load_part)(r[j] + 8 * v, last) : GSV_V(load)(r[j] + 8 * v);
    for (size_t c = 0; c < cin; c++) {
        const float *xr = x + c * x_stride + t;
        const float *wr = wb + c * k * GSV_CONV_CO_BLOCK;
        for (size_t q = 0; q < k; q++, wr += GSV_CONV_CO_BLOCK) {
            const float *xp = xr + q * dilation;
            gsv_v8f xv[GSV_C_NV];
            for (int v = 0; v < nv; v++)
                xv[v] = v == nv - 1 && last < 8 ? GSV_V(load_part)(xp + 8 * v, last) : GSV_V(load)(xp + 8 * v);
            for (int j = 0; j < GSV_C_ROWS; j++) {
                gsv_v8f w = GSV_V(splat)(wr[j]);
                for (int v = 0; v < nv; v++) a[j][v] = a[j][v] + w * xv[v];
            }
        }
    }
    for (int j = 0; j < GSV_C_ROWS; j++)
        for (int v = 0; v < nv; v++) {
            if (v == nv - 1 && last < 8) GSV_V(store_part)(r[j] + 8 * v, a[j][v], last);
            else GSV_V(store)(r[j] + 8 * v, a[j][v]);
        }
}

GSV_V_ATTR static void GSV_V(conv1d_direct)(const float *x, size_t x_stride, size_t cin, const float *packed,
                                            size_t cout, size_t k, size_t dilation, float *y, size_t y_stride,
                                            size_t t_begin, size_t t_end) {
    size_t blocks = (cout + GSV_CONV_CO_BLOCK - 1) / GSV_CONV_CO_BLOCK;
    float spare[8 * GSV_C_NV];  // rows past cout accumulate here (results discarded)
    float *r[GSV_C_ROWS];
    const size_t step = 8 * GSV_C_NV;
    for (size_t t = t_begin; t < t_end; t += step) {
        size_t n = t_end - t < step ? t_end - t : step;
        int nv = (int)((n + 7) / 8);
        size_t last = n - 8 * (size_t)(nv - 1);
        for (size_t b = 0; b < blocks; b++) {
            for (size_t half = 0; half < GSV_CONV_CO_BLOCK; half += GSV_C_ROWS) {
                const float *wb = packed + b * cin * k * GSV_CONV_CO_BLOCK + half;
                size_t have = cout - b * GSV_CONV_CO_BLOCK;
                if (half >= have) break;
                for (int j = 0; j < GSV_C_ROWS; j++)
                    r[j] = half + (size_t)j < have ? y + (b * GSV_CONV_CO_BLOCK + half + (size_t)j) * y_stride + t : spare;
                if (n == step) {
                    GSV_V(conv_pass)(x, x_stride, cin, wb, k, dilation, r, t, GSV_C_NV, 8);
                    continue;
                }
                switch (nv) {
#if GSV_C_NV >= 3
                case 3: GSV_V(conv_pass)(x, x_stride, cin, wb, k, dilation, r, t, 3, last); break;
#endif
#if GSV_C_NV >= 2
                case 2: GSV_V(conv_pass)(x, x_stride, cin, wb, k, dilation, r, t, 2, last); break;
#endif
                default: GSV_V(conv_pass)(x, x_stride, cin, wb, k, dilation, r, t, 1, last); break;
                }
            }
        }
    }
}
