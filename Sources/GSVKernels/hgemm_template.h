// The fp16-weight matrix products of hgemv.c, written once for every vector width: hgemv.c includes
// this file once per kernel level after defining
//   GSV_T(name)            the level's function names (e.g. gsv_avx2_##name)
//   GSV_T_ATTR             function attributes (target ISA)
//   GSV_T_V, GSV_T_VLEN    the float vector type and its lanes
//   GSV_T_ZERO()           a zero vector
//   GSV_T_LOADX(p)         GSV_T_VLEN floats (unaligned)
//   GSV_T_LOADH(p)         GSV_T_VLEN halves, widened
//   GSV_T_LOADX_PART(p, n), GSV_T_LOADH_PART(p, n)   the first n < GSV_T_VLEN of them, the rest zero,
//                          reading nothing past them
//   GSV_T_FMA(a, h, x)     a + h·x (fused where the ISA has it)
//   GSV_T_REDUCE(v)        the sum of the lanes, as a float
//   GSV_T_MAXN             input rows per pass (accumulators kept in registers)
//
// Every input row keeps one accumulator vector per weight row and adds its columns in order, one
// vector at a time, the last one partial; so a row's result does not depend on how many rows share
// the pass, nor on the column blocks of the blocked path below: batched and single products agree
// bit for bit at each level.

// n input rows `xs` floats apart (n a compile-time constant in every instantiation, so the n
// accumulators stay in registers): each weight vector is widened once and used for every input row.
// When the n rows do not fit in L1 together, the columns are cut into blocks whose input slices do,
// and the accumulators of GSV_HGEMM_ROW_BLOCK weight rows are carried from block to block.
GSV_T_ATTR static GSV_ALWAYS_INLINE void GSV_T(hgemm_block)(const uint16_t *w, size_t rows, size_t cols,
                                                           const float *x, size_t xs, const size_t n, float *y,
                                                           size_t row_begin, size_t row_end) {
    const size_t full = cols - cols % GSV_T_VLEN, rest = cols - full;
    if (n * cols * sizeof(float) <= GSV_HGEMM_ONE_PASS_BYTES) {
        for (size_t r = row_begin; r < row_end; r++) {
            const uint16_t *p = w + r * cols;
            GSV_T_V a[GSV_T_MAXN];
#pragma GCC unroll 16
            for (size_t b = 0; b < n; b++) a[b] = GSV_T_ZERO();
            for (size_t c = 0; c < full; c += GSV_T_VLEN) {
                GSV_T_V h = GSV_T_LOADH(p + c);
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) a[b] = GSV_T_FMA(a[b], h, GSV_T_LOADX(x + b * xs + c));
            }
            if (rest) {
                GSV_T_V h = GSV_T_LOADH_PART(p + full, rest);
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) a[b] = GSV_T_FMA(a[b], h, GSV_T_LOADX_PART(x + b * xs + full, rest));
            }
#pragma GCC unroll 16
            for (size_t b = 0; b < n; b++) y[b * rows + r] = GSV_T_REDUCE(a[b]);
        }
        return;
    }
    size_t cb = (GSV_HGEMM_X_BYTES / (sizeof(float) * n)) / GSV_T_VLEN * GSV_T_VLEN;
    if (cb < GSV_T_VLEN) cb = GSV_T_VLEN;
    GSV_T_V acc[GSV_HGEMM_ROW_BLOCK][GSV_T_MAXN];
    for (size_t rb = row_begin; rb < row_end; rb += GSV_HGEMM_ROW_BLOCK) {
        size_t nr = row_end - rb < GSV_HGEMM_ROW_BLOCK ? row_end - rb : GSV_HGEMM_ROW_BLOCK;
        for (size_t i = 0; i < nr; i++)
            for (size_t b = 0; b < n; b++) acc[i][b] = GSV_T_ZERO();
        for (size_t c0 = 0; c0 < full; c0 += cb) {
            size_t c1 = full - c0 < cb ? full : c0 + cb;
            for (size_t i = 0; i < nr; i++) {
                const uint16_t *p = w + (rb + i) * cols;
                GSV_T_V a[GSV_T_MAXN];
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) a[b] = acc[i][b];
                for (size_t c = c0; c < c1; c += GSV_T_VLEN) {
                    GSV_T_V h = GSV_T_LOADH(p + c);
#pragma GCC unroll 16
                    for (size_t b = 0; b < n; b++) a[b] = GSV_T_FMA(a[b], h, GSV_T_LOADX(x + b * xs + c));
                }
#pragma GCC unroll 16
                for (size_t b = 0; b < n; b++) acc[i][b] = a[b];
            }
        }
        for (size_t i = 0; i < nr; i++) {
            if (rest) {
                GSV_T_V h = GSV_T_LOADH_PART(w + (rb + i) * cols + full, rest);
                for (size_t b = 0; b < n; b++)
                    acc[i][b] = GSV_T_FMA(acc[i][b], h, GSV_T_LOADX_PART(x + b * xs + full, rest));
            }
            for (size_t b = 0; b < n; b++) y[b * rows + rb + i] = GSV_T_REDUCE(acc[i][b]);
        }
    }
}

#define GSV_T_INSTANCE(N)                                                                                    \
    GSV_T_ATTR static void GSV_T(hgemm_##N)(const uint16_t *w, size_t rows, size_t cols, const float *x, size_t xs, \
                                            float *y, size_t r0, size_t r1) {                               \
        GSV_T(hgemm_block)(w, rows, cols, x, xs, N, y, r0, r1);                                             \
    }
