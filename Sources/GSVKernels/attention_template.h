// The fused attention of attention.c for one target, written once with the 8-lane vectors of vec.h:
// attention.c includes this file once per kernel level after defining GSV_V(name) and GSV_V_ATTR
// (the level's names and target attributes; vec.h's helpers are included with them): portable C,
// AVX2 + FMA, and on AArch64 NEON (what the vector extensions compile to there). Same algorithm as the AVX-512 kernel: a block
// of 16 keys is two 8-lane vectors (two multiply-add chains), the value rows of a block are
// prefetched while it is scored, and the weighted sum runs 16 head dimensions × two positions at a
// time.

GSV_V_ATTR static void GSV_V(attend)(const float *q, size_t hd, const float *kt, size_t kt_block, const float *v,
                                     size_t v_stride, size_t len, float scale, float *scores, float *out) {
    const gsv_v8f ninf = GSV_V(splat)(-__builtin_inff());
    gsv_v8f vmax = ninf;
    for (size_t j = 0; j < len; j += 16) {
        size_t n = len - j < 16 ? len - j : 16;
        const char *vp = (const char *)(v + j * v_stride);
        for (size_t p = 0; p < n; p++)
            for (size_t o = 0; o < hd * sizeof(float); o += 64) __builtin_prefetch(vp + p * v_stride * sizeof(float) + o);
        const float *k = kt + (j / 16) * kt_block;
        gsv_v8f a0 = {0}, a1 = {0};
        for (size_t d = 0; d < hd; d++) {
            gsv_v8f qd = GSV_V(splat)(q[d]);
            a0 = a0 + qd * GSV_V(load)(k + 16 * d);
            a1 = a1 + qd * GSV_V(load)(k + 16 * d + 8);
        }
        a0 = a0 * scale;
        a1 = a1 * scale;
        // scores holds whole blocks; lanes past len are never read as scores.
        GSV_V(store)(scores + j, a0);
        GSV_V(store)(scores + j + 8, a1);
        vmax = GSV_V(max)(vmax, GSV_V(select)(GSV_V(lanes_below)(n), a0, ninf));
        if (n > 8) vmax = GSV_V(max)(vmax, GSV_V(select)(GSV_V(lanes_below)(n - 8), a1, ninf));
    }
    gsv_v8f mx = GSV_V(splat)(GSV_V(hmax)(vmax));
    gsv_v8f vsum = {0};
    for (size_t j = 0; j < len; j += 8) {
        gsv_v8f e = GSV_V(exp)(GSV_V(load)(scores + j) - mx);
        e = (gsv_v8f)((gsv_v8i)e & GSV_V(lanes_below)(len - j));
        GSV_V(store)(scores + j, e);
        vsum = vsum + e;
    }
    gsv_v8f inv = GSV_V(splat)(1.0f / GSV_V(sum)(vsum));
    for (size_t j = 0; j < len; j += 8) GSV_V(store)(scores + j, GSV_V(load)(scores + j) * inv);
    // out = Σ_j p_j · v_j: 16 head dimensions (two vectors, partial at the end) × two positions.
    for (size_t d0 = 0; d0 < hd; d0 += 16) {
        size_t n0 = hd - d0 < 8 ? hd - d0 : 8, n1 = hd - d0 > 8 ? (hd - d0 - 8 < 8 ? hd - d0 - 8 : 8) : 0;
        gsv_v8f a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        const float *vr = v + d0;
        size_t i = 0;
        if (n0 == 8 && n1 == 8) {
            for (; i + 2 <= len; i += 2, vr += 2 * v_stride) {
                gsv_v8f p = GSV_V(splat)(scores[i]), r = GSV_V(splat)(scores[i + 1]);
                a0 = a0 + p * GSV_V(load)(vr);
                a1 = a1 + p * GSV_V(load)(vr + 8);
                b0 = b0 + r * GSV_V(load)(vr + v_stride);
                b1 = b1 + r * GSV_V(load)(vr + v_stride + 8);
            }
            if (i < len) {
                gsv_v8f p = GSV_V(splat)(scores[i]);
                a0 = a0 + p * GSV_V(load)(vr);
                a1 = a1 + p * GSV_V(load)(vr + 8);
            }
        } else {
            for (; i < len; i++, vr += v_stride) {
                gsv_v8f p = GSV_V(splat)(scores[i]);
                a0 = a0 + p * GSV_V(load_part)(vr, n0);
                if (n1) a1 = a1 + p * GSV_V(load_part)(vr + 8, n1);
            }
        }
        GSV_V(store_part)(out + d0, a0 + b0, n0);
        if (n1) GSV_V(store_part)(out + d0 + 8, a1 + b1, n1);
    }
}
