// Winograd transforms of winograd.c for one target, eight tiles at a time with the 8-lane vectors
// of vec.h (included before this file with the same GSV_V/GSV_V_ATTR): portable C, AVX2, and on
// AArch64 NEON. The points are GSV_WINO_*_POINTS evaluated on vectors, so every tile gets exactly
// the operations of the one-tile code; tiles that do not fill a vector, or read near `limit`, run
// the one-tile code.

typedef float GSV_V(f4) __attribute__((vector_size(16)));

// Inputs l of eight tiles whose 32 columns are contiguous at b (dilation 1): every fourth column.
GSV_V_ATTR static inline __attribute__((always_inline)) gsv_v8f GSV_V(every4)(gsv_v8f v0, gsv_v8f v1, gsv_v8f v2,
                                                                            gsv_v8f v3, int l) {
    GSV_V(f4) lo, hi;
    switch (l) {
    case 0: lo = __builtin_shufflevector(v0, v1, 0, 4, 8, 12); hi = __builtin_shufflevector(v2, v3, 0, 4, 8, 12); break;
    case 1: lo = __builtin_shufflevector(v0, v1, 1, 5, 9, 13); hi = __builtin_shufflevector(v2, v3, 1, 5, 9, 13); break;
    case 2: lo = __builtin_shufflevector(v0, v1, 2, 6, 10, 14); hi = __builtin_shufflevector(v2, v3, 2, 6, 10, 14); break;
    default: lo = __builtin_shufflevector(v0, v1, 3, 7, 11, 15); hi = __builtin_shufflevector(v2, v3, 3, 7, 11, 15); break;
    }
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
}

GSV_V_ATTR static void GSV_V(wino_input)(const float *x, size_t x_stride, size_t limit, size_t cin, size_t dilation,
                                         size_t tile0, size_t width, float *v) {
    size_t cols = dilation * width, plane = cin * cols;
    for (size_t c = 0; c < cin; c++) {
        const float *row = x + c * x_stride;
        for (size_t p = 0; p < dilation; p++) {
            float *dst = v + c * cols + p * width;
            size_t n = 0;
            for (; n + 8 <= width; n += 8) {
                size_t base = p + dilation * 4 * (tile0 + n);
                if (base + dilation * (4 * 7 + 6) >= limit) break;
                const float *b = row + base;
                gsv_v8f d0, d1, d2, d3, d4, d5, d6;
                if (dilation == 1) {
                    gsv_v8f v0 = GSV_V(load)(b), v1 = GSV_V(load)(b + 8), v2 = GSV_V(load)(b + 16), v3 = GSV_V(load)(b + 24);
                    d0 = GSV_V(every4)(v0, v1, v2, v3, 0);
                    d1 = GSV_V(every4)(v0, v1, v2, v3, 1);
                    d2 = GSV_V(every4)(v0, v1, v2, v3, 2);
                    d3 = GSV_V(every4)(v0, v1, v2, v3, 3);
                    // Inputs 4 … 6 are inputs 0 … 2 of the next tile.
                    d4 = __builtin_shufflevector(d0, GSV_V(splat)(b[32]), 1, 2, 3, 4, 5, 6, 7, 8);
                    d5 = __builtin_shufflevector(d1, GSV_V(splat)(b[33]), 1, 2, 3, 4, 5, 6, 7, 8);
                    d6 = __builtin_shufflevector(d2, GSV_V(splat)(b[34]), 1, 2, 3, 4, 5, 6, 7, 8);
                } else {
                    float t[7][8];
                    for (int i = 0; i < 8; i++)
                        for (int l = 0; l < 7; l++) t[l][i] = b[dilation * (size_t)(4 * i + l)];
                    d0 = GSV_V(load)(t[0]), d1 = GSV_V(load)(t[1]), d2 = GSV_V(load)(t[2]), d3 = GSV_V(load)(t[3]);
                    d4 = GSV_V(load)(t[4]), d5 = GSV_V(load)(t[5]), d6 = GSV_V(load)(t[6]);
                }
                GSV_WINO_INPUT_POINTS(gsv_v8f, d0, d1, d2, d3, d4, d5, d6, pts);
                for (size_t a = 0; a < 7; a++) GSV_V(store)(dst + a * plane + n, pts[a]);
            }
            for (; n < width; n++)
                gsv_wino_input_tile(row, p + dilation * 4 * (tile0 + n), dilation, limit, dst + n, plane);
        }
    }
}

GSV_V_ATTR static void GSV_V(wino_output)(const float *m, size_t cout, size_t dilation, size_t tile0, size_t tiles,
                                          size_t width, float *y, size_t y_stride, size_t out_len) {
    // Strided outputs (dilation > 1) stay one tile at a time, as at the AVX-512 level.
    if (dilation != 1) {
        gsv_wino_output_plain(m, cout, dilation, tile0, tiles, width, y, y_stride, out_len);
        return;
    }
    size_t plane = cout * width;
    for (size_t o = 0; o < cout; o++) {
        float *row = y + o * y_stride;
        const float *src = m + o * width;
        size_t n = 0;
        for (; n + 8 <= tiles && 4 * (tile0 + n) + 4 * 7 + 3 < out_len; n += 8) {
            GSV_WINO_OUTPUT_POINTS(gsv_v8f, GSV_V(load)(src + n), GSV_V(load)(src + plane + n),
                                   GSV_V(load)(src + 2 * plane + n), GSV_V(load)(src + 3 * plane + n),
                                   GSV_V(load)(src + 4 * plane + n), GSV_V(load)(src + 5 * plane + n),
                                   GSV_V(load)(src + 6 * plane + n), r);
            // The four outputs of a tile are four adjacent columns: a 4 × 8 transpose.
            gsv_v8f lo01 = __builtin_shufflevector(r[0], r[1], 0, 8, 1, 9, 2, 10, 3, 11);
            gsv_v8f hi01 = __builtin_shufflevector(r[0], r[1], 4, 12, 5, 13, 6, 14, 7, 15);
            gsv_v8f lo23 = __builtin_shufflevector(r[2], r[3], 0, 8, 1, 9, 2, 10, 3, 11);
            gsv_v8f hi23 = __builtin_shufflevector(r[2], r[3], 4, 12, 5, 13, 6, 14, 7, 15);
            gsv_v8f out[4] = {
                __builtin_shufflevector(lo01, lo23, 0, 1, 8, 9, 2, 3, 10, 11),
                __builtin_shufflevector(lo01, lo23, 4, 5, 12, 13, 6, 7, 14, 15),
                __builtin_shufflevector(hi01, hi23, 0, 1, 8, 9, 2, 3, 10, 11),
                __builtin_shufflevector(hi01, hi23, 4, 5, 12, 13, 6, 7, 14, 15),
            };
            float *b = row + 4 * (tile0 + n);
            for (int i = 0; i < 4; i++) GSV_V(store)(b + 8 * i, GSV_V(load)(b + 8 * i) + out[i]);
        }
        for (; n < tiles; n++) gsv_wino_output_tile(src + n, plane, row, 4 * (tile0 + n), 1, out_len);
    }
}
