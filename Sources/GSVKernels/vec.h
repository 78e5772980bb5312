// Portable 8-lane float vectors (GCC/Clang vector extensions) for the portable kernel level and for
// code compiled once per target (plain, AVX2, NEON): loads and stores of whole and partial vectors,
// lane masks, select, max, a fixed-order sum, exact half widening and e^x.
//
// The types are defined once; the helpers are defined at each inclusion, named GSV_V(name) and
// compiled with GSV_V_ATTR, which the includer defines (clang rejects calls that pass 32-byte
// vectors between functions of different targets, even inlined ones, so each target gets its own).
#ifndef GSV_VEC_TYPES
#define GSV_VEC_TYPES

#include <stdint.h>
#include <string.h>

// 32-byte vectors are passed only between inlined helpers, never across an ABI boundary.
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float gsv_v8f __attribute__((vector_size(32)));
typedef uint32_t gsv_v8u __attribute__((vector_size(32)));
typedef int32_t gsv_v8i __attribute__((vector_size(32)));
typedef uint16_t gsv_v8h __attribute__((vector_size(16)));

#endif

#define GSV_VINLINE GSV_V_ATTR static inline __attribute__((always_inline))

GSV_VINLINE gsv_v8f GSV_V(splat)(float f) { return (gsv_v8f){f, f, f, f, f, f, f, f}; }

GSV_VINLINE gsv_v8f GSV_V(load)(const float *p) {
    gsv_v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

// The first n (< 8) floats at p, the rest zero; reads nothing past them.
GSV_VINLINE gsv_v8f GSV_V(load_part)(const float *p, size_t n) {
    gsv_v8f v = {0};
    memcpy(&v, p, n * sizeof(float));
    return v;
}

GSV_VINLINE void GSV_V(store)(float *p, gsv_v8f v) { memcpy(p, &v, sizeof v); }
GSV_VINLINE void GSV_V(store_part)(float *p, gsv_v8f v, size_t n) { memcpy(p, &v, n * sizeof(float)); }

// Lanes below n: all ones; the others zero.
GSV_VINLINE gsv_v8i GSV_V(lanes_below)(size_t n) {
    const gsv_v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
    int32_t k = n > 8 ? 8 : (int32_t)n;
    return lane < (gsv_v8i){k, k, k, k, k, k, k, k};
}

// m ? a : b, lane by lane (m all ones or zero).
GSV_VINLINE gsv_v8f GSV_V(select)(gsv_v8i m, gsv_v8f a, gsv_v8f b) {
    return (gsv_v8f)(((gsv_v8i)a & m) | ((gsv_v8i)b & ~m));
}

GSV_VINLINE gsv_v8f GSV_V(max)(gsv_v8f a, gsv_v8f b) { return GSV_V(select)(a > b, a, b); }

GSV_VINLINE float GSV_V(sum)(gsv_v8f v) {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

GSV_VINLINE float GSV_V(hmax)(gsv_v8f v) {
    float m = v[0];
    for (int i = 1; i < 8; i++) m = v[i] > m ? v[i] : m;
    return m;
}

// Exact half → float with integer operations: exponent and mantissa moved into a float's fields and
// rescaled by 2^112 (exact for normals and, through float subnormal arithmetic, for half
// subnormals); infinities and NaNs get the float's all-ones exponent.
GSV_VINLINE gsv_v8f GSV_V(widen)(gsv_v8u h) {
    gsv_v8u sign = (h & 0x8000u) << 16, mag = h & 0x7FFFu;
    gsv_v8f scaled = (gsv_v8f)(mag << 13) * 0x1p112f;
    gsv_v8u special = (gsv_v8u)(((gsv_v8i)((mag + 0x400u) << 16)) >> 8) & 0x7F800000u;
    return (gsv_v8f)((gsv_v8u)scaled | special | sign);
}

GSV_VINLINE gsv_v8f GSV_V(load_half)(const uint16_t *p) {
    gsv_v8h h;
    memcpy(&h, p, sizeof h);
    return GSV_V(widen)(__builtin_convertvector(h, gsv_v8u));
}

GSV_VINLINE gsv_v8f GSV_V(load_half_part)(const uint16_t *p, size_t n) {
    gsv_v8h h = {0};
    memcpy(&h, p, n * sizeof(uint16_t));
    return GSV_V(widen)(__builtin_convertvector(h, gsv_v8u));
}

// e^x for x ≤ 0 (softmax after the max is subtracted), relative error below 2e-7 down to about
// −87, exactly 0 below about −88 (where e^x is below the smallest normal float): x = n·ln2 + r with
// |r| ≤ ln2/2, e^r by its degree-7 Taylor polynomial, 2^n built in the exponent field.
GSV_VINLINE gsv_v8f GSV_V(exp)(gsv_v8f x) {
    x = GSV_V(max)(x, GSV_V(splat)(-88.0f));
    const gsv_v8f round = GSV_V(splat)(12582912.0f);  // 1.5 · 2^23: adding it rounds to an integer
    gsv_v8f n = (x * 1.44269504088896341f + round) - round;
    gsv_v8f r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    gsv_v8f p = GSV_V(splat)(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    gsv_v8i e = __builtin_convertvector(n, gsv_v8i) + 127;
    e = e & (e > 0);  // 2^n with n ≤ −127 → 0
    return p * (gsv_v8f)(e << 23);
}

#undef GSV_VINLINE
