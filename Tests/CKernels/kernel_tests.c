// Tests of the GSVKernels C kernels at every kernel level, against double-precision references
// computed from the definitions (the same references the Swift tests use) and against each other.
// Built and run by scripts/test-kernels-c.sh: natively (every x86-64 level this CPU has) and, cross-
// compiled for AArch64, under qemu-user (the NEON level). Levels above the CPU's are reported as
// skipped, never passed silently. Exit status 0 when every check passed.
//
// The thread pool is compiled into this file with a test hook that stalls helpers between reading a
// job's number and its fields, so the stress test below meets the hand-off race window often.
#define _GNU_SOURCE  // sched_setaffinity, sched_getcpu (also for pool.c, included below)
#include "GSVKernels.h"

#include <dirent.h>
#include <sched.h>

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void gsv_test_hook(void);
#define GSV_POOL_TEST_HOOK() gsv_test_hook()
#include "../../Sources/GSVKernels/pool.c"

static int failures = 0, checks = 0;

#define CHECK(cond, ...)                                                                                   \
    do {                                                                                                   \
        checks++;                                                                                          \
        if (!(cond)) {                                                                                     \
            failures++;                                                                                    \
            if (failures <= 40) {                                                                          \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                \
                printf(__VA_ARGS__);                                                                       \
                printf("\n");                                                                              \
            }                                                                                              \
        }                                                                                                  \
    } while (0)

// xorshift64*: deterministic test data on every machine.
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static void seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }
static uint64_t next_u64(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next_u64() >> 40) * 0x1p-24); }
static float *random_floats(size_t n, float lo, float hi) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = uniform(lo, hi);
    return p;
}

// The reference conversion, from the binary16 definition.
static double ref_half(uint16_t h) {
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0) v = ldexp(m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

// Round-to-nearest-even narrowing for test data (values well inside the normal range).
static uint16_t to_half(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000;
    int e = (int)((b >> 23) & 255) - 127 + 15;
    uint32_t m = b & 0x7FFFFF;
    if (e <= 0) return (uint16_t)sign;  // flush tiny test values
    uint32_t h = ((uint32_t)e << 10) | (m >> 13), rest = m & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static int max_level(void) { return gsv_cpu_level(); }

// Levels the tests run; reports the ones this CPU lacks.
static int level_available(int level, const char *what) {
    if (level <= max_level()) return 1;
    printf("SKIP %s at level %d: this CPU's best level is %d (%s)\n", what, level, max_level(),
           gsv_level_name(max_level()));
    return 0;
}

#if defined(__aarch64__)
#define TOP_LEVEL GSV_LEVEL_SIMD  // no AArch64 code above NEON
#else
#define TOP_LEVEL GSV_LEVEL_WIDE
#endif

// ---------------------------------------------------------------------------------------------

static void test_probe(void) {
    unsigned f = gsv_cpu_features();
    int level = gsv_cpu_level();
    char model[128];
    gsv_cpu_model(model, sizeof model);
    printf("CPU: %s; level %d (%s); features 0x%x\n", model, level, gsv_level_name(level), f);
    CHECK(level >= 0 && level <= GSV_LEVEL_WIDE, "level %d", level);
    CHECK(strlen(model) > 0, "empty model");
    CHECK(gsv_clamp_level(-3) == 0 && gsv_clamp_level(99) == level && gsv_clamp_level(0) == 0, "clamp");
    if (level == GSV_LEVEL_WIDE)
        CHECK((f & (GSV_CPU_AVX512F | GSV_CPU_AVX512BW | GSV_CPU_AVX512DQ | GSV_CPU_AVX512VL | GSV_CPU_AVX2)) ==
                  (GSV_CPU_AVX512F | GSV_CPU_AVX512BW | GSV_CPU_AVX512DQ | GSV_CPU_AVX512VL | GSV_CPU_AVX2),
              "level 2 without the AVX-512 set: 0x%x", f);
#if defined(__aarch64__)
    CHECK((f & GSV_CPU_NEON) && level == GSV_LEVEL_SIMD, "AArch64 without NEON level: 0x%x", f);
#endif
    int affinity = -1;
    double quota = -1;
    int cores = gsv_cpu_available_cores(&affinity, &quota);
    printf("cores: %d (affinity %d, cgroup quota %.2f)\n", cores, affinity, quota);
    CHECK(affinity >= 0 && quota >= 0 && cores >= 0, "cores %d affinity %d quota %f", cores, affinity, quota);
}

static void test_widen(void) {
    uint16_t *bits = malloc(65536 * sizeof *bits);
    float *out = malloc(65536 * sizeof *out);
    for (uint32_t i = 0; i < 65536; i++) bits[i] = (uint16_t)i;
    for (int level = 0; level <= TOP_LEVEL; level++) {
        if (!level_available(level, "widen")) continue;
        // Odd counts and offsets exercise the partial vectors.
        for (size_t start = 0; start < 3; start++) {
            size_t count = 65536 - start - (start ? 5 : 0);
            memset(out, 0, 65536 * sizeof *out);
            gsv_widen_half_at(level, bits + start, out, count);
            int bad = 0;
            for (size_t i = 0; i < count; i++) {
                double want = ref_half(bits[start + i]);
                int ok = isnan(want) ? isnan(out[i]) : (double)out[i] == want && !signbit(out[i]) == !signbit(want);
                if (!ok && bad++ < 3) printf("  pattern 0x%04x: got %g want %g\n", bits[start + i], out[i], want);
            }
            CHECK(bad == 0, "widen level %d start %zu: %d patterns wrong", level, start, bad);
        }
    }
    free(bits);
    free(out);
}

static void test_hgemm(void) {
    const size_t shapes[][2] = {{7, 37}, {33, 64}, {16, 5}, {40, 130}, {19, 2048}, {13, 2056}, {8, 1024}, {3, 1}, {5, 8}};
    const size_t batches[] = {1, 2, 3, 4, 5, 8, 9, 12, 13, 16, 17};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        size_t rows = shapes[si][0], cols = shapes[si][1];
        seed(100 + si);
        uint16_t *w = malloc(rows * cols * sizeof *w);
        for (size_t i = 0; i < rows * cols; i++) w[i] = to_half(uniform(-1, 1));
        size_t nmax = 17;
        float *x = random_floats(nmax * cols, -1, 1);
        double *ref = malloc(nmax * rows * sizeof *ref), *mag = malloc(nmax * rows * sizeof *mag);
        for (size_t b = 0; b < nmax; b++)
            for (size_t r = 0; r < rows; r++) {
                double s = 0, a = 0;
                for (size_t c = 0; c < cols; c++) {
                    double p = ref_half(w[r * cols + c]) * x[b * cols + c];
                    s += p;
                    a += fabs(p);
                }
                ref[b * rows + r] = s;
                mag[b * rows + r] = a;
            }
        float *y = malloc((nmax * rows + 1) * sizeof *y), *one = malloc(rows * sizeof *one);
        for (int level = 0; level <= TOP_LEVEL; level++) {
            if (!level_available(level, "fp16 products")) continue;
            for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
                size_t n = batches[bi];
                for (size_t i = 0; i <= n * rows; i++) y[i] = NAN;
                // Two row ranges, as two threads would split them.
                size_t mid = rows / 3;
                gsv_hgemm_rows_at(level, w, rows, cols, x, n, y, 0, mid);
                gsv_hgemm_rows_at(level, w, rows, cols, x, n, y, mid, rows);
                int bad = 0, unequal = 0;
                for (size_t i = 0; i < n * rows; i++)
                    if (!(fabs(y[i] - ref[i]) <= 2e-6 * mag[i] + 1e-6)) bad++;
                CHECK(bad == 0, "hgemm [%zu, %zu] n %zu level %d: %d values off", rows, cols, n, level, bad);
                CHECK(isnan(y[n * rows]), "hgemm wrote past its output");
                // Every input row equals the single-row product at the same level, bit for bit.
                for (size_t b = 0; b < n; b++) {
                    gsv_hgemv_rows_at(level, w, cols, x + b * cols, one, 0, rows);
                    if (memcmp(one, y + b * rows, rows * sizeof *one) != 0) unequal++;
                }
                CHECK(unequal == 0, "hgemm [%zu, %zu] n %zu level %d: %d rows differ from gemv", rows, cols, n, level,
                      unequal);
            }
        }
        free(w);
        free(x);
        free(ref);
        free(mag);
        free(y);
        free(one);
    }
}

// ---------------------------------------------------------------------------------------------

static void test_conv_direct(void) {
    const size_t cases[][5] = {
        // cin, cout, k, dilation, t_out
        {3, 1, 7, 1, 5},   {5, 6, 3, 5, 23}, {16, 16, 11, 3, 200}, {8, 17, 1, 1, 129}, {32, 8, 7, 1, 1000},
        {4, 12, 3, 2, 47}, {4, 12, 3, 2, 96}, {6, 9, 5, 1, 80},    {6, 9, 5, 1, 113},  {2, 3, 2, 1, 7},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        size_t cin = cases[ci][0], cout = cases[ci][1], k = cases[ci][2], d = cases[ci][3], t_out = cases[ci][4];
        seed(200 + ci);
        size_t xs = t_out + (k - 1) * d + 3, ys = t_out + 2;
        float *w = random_floats(cout * cin * k, -1, 1), *x = random_floats(cin * xs, -1, 1);
        float *y0 = random_floats(cout * ys, -1, 1);
        size_t blocks = (cout + GSV_CONV_CO_BLOCK - 1) / GSV_CONV_CO_BLOCK;
        float *packed = malloc(blocks * GSV_CONV_CO_BLOCK * cin * k * sizeof *packed);
        gsv_conv1d_pack_weights(w, cout, cin, k, packed);
        double *ref = malloc(cout * ys * sizeof *ref);
        for (size_t o = 0; o < cout; o++)
            for (size_t t = 0; t < t_out; t++) {
                double s = y0[o * ys + t];
                for (size_t c = 0; c < cin; c++)
                    for (size_t q = 0; q < k; q++) s += (double)w[(o * cin + c) * k + q] * x[c * xs + t + q * d];
                ref[o * ys + t] = s;
            }
        float *y = malloc(cout * ys * sizeof *y), *split = malloc(cout * ys * sizeof *split);
        for (int level = 0; level <= TOP_LEVEL; level++) {
            if (!level_available(level, "direct convolution")) continue;
            memcpy(y, y0, cout * ys * sizeof *y);
            gsv_conv1d_direct_at(level, x, xs, cin, packed, cout, k, d, y, ys, 0, t_out);
            int bad = 0, touched = 0;
            for (size_t o = 0; o < cout; o++) {
                for (size_t t = 0; t < t_out; t++)
                    if (!(fabs(y[o * ys + t] - ref[o * ys + t]) < 1e-4)) bad++;
                for (size_t t = t_out; t < ys; t++)
                    if (y[o * ys + t] != y0[o * ys + t]) touched++;
            }
            CHECK(bad == 0, "conv cin %zu cout %zu k %zu d %zu t %zu level %d: %d values off", cin, cout, k, d, t_out,
                  level, bad);
            CHECK(touched == 0, "conv level %d wrote past the output length", level);
            // Column ranges in multiples of GSV_CONV_COLUMNS (as threads split them) give the same bits.
            memcpy(split, y0, cout * ys * sizeof *split);
            for (size_t t0 = 0; t0 < t_out; t0 += GSV_CONV_COLUMNS) {
                size_t t1 = t0 + GSV_CONV_COLUMNS < t_out ? t0 + GSV_CONV_COLUMNS : t_out;
                gsv_conv1d_direct_at(level, x, xs, cin, packed, cout, k, d, split, ys, t0, t1);
            }
            CHECK(memcmp(split, y, cout * ys * sizeof *y) == 0, "conv level %d: split ranges differ", level);
        }
        free(w);
        free(x);
        free(y0);
        free(packed);
        free(ref);
        free(y);
        free(split);
    }
}

static void test_winograd(void) {
    // Transforms: every level equals the portable loops bit for bit.
    const size_t cases[][5] = {
        // cin, dilation, width, tile0, limit cut
        {3, 1, 40, 0, 0}, {2, 1, 37, 5, 9}, {4, 3, 33, 2, 0}, {1, 5, 70, 0, 40}, {2, 1, 16, 0, 70}, {3, 2, 48, 1, 3},
        {2, 1, 9, 0, 0},  {1, 1, 3, 0, 0},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        size_t cin = cases[ci][0], d = cases[ci][1], width = cases[ci][2], tile0 = cases[ci][3], cut = cases[ci][4];
        seed(300 + ci);
        size_t xs = d * 4 * (tile0 + width) + 7 * d + 8, limit = xs - cut;
        float *x = random_floats(cin * xs, -1, 1);
        size_t count = 7 * cin * d * width;
        float *plain = malloc(count * sizeof *plain), *vec = malloc(count * sizeof *vec);
        gsv_wino_input_at(0, x, xs, limit, cin, d, tile0, width, plain);
        size_t cout = cin + 1, tiles = width > 2 ? width - 2 : width;
        float *m = random_floats(7 * cout * d * width, -1, 1);
        size_t out_len = d * 4 * (tile0 + tiles) > cut + 1 ? d * 4 * (tile0 + tiles) - cut : 1;
        float *y0 = random_floats(cout * xs, -1, 1);
        float *yp = malloc(cout * xs * sizeof *yp), *yv = malloc(cout * xs * sizeof *yv);
        memcpy(yp, y0, cout * xs * sizeof *yp);
        gsv_wino_output_at(0, m, cout, d, tile0, tiles, width, yp, xs, out_len);
        for (int level = 1; level <= TOP_LEVEL; level++) {
            if (!level_available(level, "Winograd transforms")) continue;
            for (size_t i = 0; i < count; i++) vec[i] = NAN;
            gsv_wino_input_at(level, x, xs, limit, cin, d, tile0, width, vec);
            CHECK(memcmp(plain, vec, count * sizeof *vec) == 0, "wino input level %d d %zu width %zu limit %zu", level, d,
                  width, limit);
            memcpy(yv, y0, cout * xs * sizeof *yv);
            gsv_wino_output_at(level, m, cout, d, tile0, tiles, width, yv, xs, out_len);
            CHECK(memcmp(yp, yv, cout * xs * sizeof *yv) == 0, "wino output level %d d %zu tiles %zu out_len %zu", level,
                  d, tiles, out_len);
        }
        free(x);
        free(plain);
        free(vec);
        free(m);
        free(y0);
        free(yp);
        free(yv);
    }
    // The whole F(4, 4) convolution (the transforms around naive products) against the definition.
    const size_t convs[][5] = {{3, 4, 7, 1, 50}, {2, 3, 11, 3, 61}, {5, 2, 4, 2, 9}};
    for (size_t ci = 0; ci < sizeof convs / sizeof *convs; ci++) {
        size_t cin = convs[ci][0], cout = convs[ci][1], k = convs[ci][2], d = convs[ci][3], t_out = convs[ci][4];
        seed(400 + ci);
        size_t seg = (k + 3) / 4, xs = t_out + (k - 1) * d, tiles = ((t_out + d - 1) / d + 3) / 4;
        size_t width = tiles + seg - 1, cols = d * width, n = cols - (seg - 1);
        float *w = random_floats(cout * cin * k, -1, 1), *x = random_floats(cin * xs, -1, 1);
        float *u = malloc(7 * seg * cout * cin * sizeof *u), *v = malloc(7 * cin * cols * sizeof *v);
        float *mm = calloc(7 * cout * cols, sizeof *mm), *y = calloc(cout * t_out, sizeof *y);
        gsv_wino_pack_weights(w, cout, cin, k, u);
        for (int level = 0; level <= TOP_LEVEL; level++) {
            if (!level_available(level, "Winograd convolution")) continue;
            gsv_wino_input_at(level, x, xs, t_out + (k - 1) * d, cin, d, 0, width, v);
            memset(mm, 0, 7 * cout * cols * sizeof *mm);
            for (size_t a = 0; a < 7; a++)
                for (size_t j = 0; j < seg; j++)
                    for (size_t o = 0; o < cout; o++)
                        for (size_t c = 0; c < cin; c++) {
                            float uw = u[((a * seg + j) * cout + o) * cin + c];
                            for (size_t t = 0; t < n; t++) mm[(a * cout + o) * cols + t] += uw * v[(a * cin + c) * cols + j + t];
                        }
            memset(y, 0, cout * t_out * sizeof *y);
            gsv_wino_output_at(level, mm, cout, d, 0, tiles, width, y, t_out, t_out);
            int bad = 0;
            for (size_t o = 0; o < cout; o++)
                for (size_t t = 0; t < t_out; t++) {
                    double s = 0;
                    for (size_t c = 0; c < cin; c++)
                        for (size_t q = 0; q < k; q++) s += (double)w[(o * cin + c) * k + q] * x[c * xs + t + q * d];
                    if (!(fabs(y[o * t_out + t] - s) < 1e-4)) bad++;
                }
            CHECK(bad == 0, "Winograd conv cin %zu cout %zu k %zu d %zu level %d: %d values off", cin, cout, k, d, level,
                  bad);
        }
        free(w);
        free(x);
        free(u);
        free(v);
        free(mm);
        free(y);
    }
}

// ---------------------------------------------------------------------------------------------

static void test_attention(void) {
    const size_t shapes[][2] = {{32, 16}, {24, 4}, {40, 2}, {8, 2}, {64, 1}, {5, 1}};
    const size_t lens[] = {1, 2, 15, 16, 17, 63, 64, 65, 130, 150};
    const size_t capacity = 150;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        size_t hd = shapes[si][0];
        seed(500 + si);
        size_t blocks = (capacity + GSV_KEY_BLOCK - 1) / GSV_KEY_BLOCK, kt_block = hd * GSV_KEY_BLOCK;
        float *kt = calloc(blocks * kt_block, sizeof *kt), *keys = random_floats(capacity * hd, -2, 2);
        float *v = random_floats(capacity * hd, -1, 1), *q = random_floats(hd, -2, 2);
        for (size_t j = 0; j < capacity; j++)
            for (size_t dd = 0; dd < hd; dd++) kt[(j / 16) * kt_block + dd * 16 + j % 16] = keys[j * hd + dd];
        float *scores = malloc(blocks * GSV_KEY_BLOCK * sizeof *scores), *out = malloc((hd + 1) * sizeof *out);
        double *s = malloc(capacity * sizeof *s);
        float scale = 1.0f / sqrtf((float)hd);
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
            size_t len = lens[li];
            double mx = -INFINITY, total = 0;
            for (size_t j = 0; j < len; j++) {
                double dot = 0;
                for (size_t dd = 0; dd < hd; dd++) dot += (double)q[dd] * keys[j * hd + dd];
                s[j] = dot * scale;
                if (s[j] > mx) mx = s[j];
            }
            for (size_t j = 0; j < len; j++) total += (s[j] = exp(s[j] - mx));
            for (int level = 0; level <= TOP_LEVEL; level++) {
                if (!level_available(level, "attention")) continue;
                for (size_t dd = 0; dd <= hd; dd++) out[dd] = NAN;
                gsv_attend_at(level, q, hd, kt, kt_block, v, hd, len, scale, scores, out);
                double err = 0, perr = 0;
                for (size_t dd = 0; dd < hd; dd++) {
                    double want = 0;
                    for (size_t j = 0; j < len; j++) want += s[j] / total * v[j * hd + dd];
                    double e = fabs(out[dd] - want);
                    if (!(e <= err)) err = e;
                }
                for (size_t j = 0; j < len; j++) {
                    double e = fabs(scores[j] - s[j] / total);
                    if (!(e <= perr)) perr = e;
                }
                CHECK(err < 2e-6 && perr < 2e-6, "attention hd %zu len %zu level %d: error %g, probabilities %g", hd, len,
                      level, err, perr);
                CHECK(isnan(out[hd]), "attention wrote past its output");
            }
        }
        free(kt);
        free(keys);
        free(v);
        free(q);
        free(scores);
        free(out);
        free(s);
    }
}

static void test_layer_norm(void) {
    const size_t sizes[] = {1, 7, 512, 1000};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        seed(600 + si);
        float *x = random_floats(n, -3, 5), *delta = random_floats(n, -1, 1);
        float *w = random_floats(n, 0.5f, 1.5f), *b = random_floats(n, -0.2f, 0.2f);
        double mean = 0, var = 0;
        double *h = malloc(n * sizeof *h);
        for (size_t i = 0; i < n; i++) mean += (h[i] = (double)(x[i] + delta[i]));
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) var += (h[i] - mean) * (h[i] - mean);
        var /= (double)n;
        gsv_add_layer_norm(x, delta, w, b, n, 1e-5f);
        double err = 0;
        for (size_t i = 0; i < n; i++) {
            double want = (h[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
            double e = fabs(x[i] - want);
            if (!(e <= err)) err = e;
        }
        CHECK(err < 1e-5, "add_layer_norm n %zu: error %g", n, err);
        free(x);
        free(delta);
        free(w);
        free(b);
        free(h);
    }
}

// ---------------------------------------------------------------------------------------------
// Thread pool: many short jobs back to back, each with its own context, alternating between two
// loop bodies that check they were handed their own kind of context. An index run twice, skipped,
// run for the wrong job or with another job's body is counted.

static _Atomic unsigned hook_calls = 0;
static _Thread_local uint64_t hook_rng = 0;

// Stalls some helpers for a few microseconds between reading a job's number and its fields: the
// window in which the owner may publish the next job.
static void gsv_test_hook(void) {
    atomic_fetch_add_explicit(&hook_calls, 1, memory_order_relaxed);
    if (!hook_rng) hook_rng = (uint64_t)(uintptr_t)&hook_rng | 1;
    hook_rng ^= hook_rng << 13;
    hook_rng ^= hook_rng >> 7;
    hook_rng ^= hook_rng << 17;
    unsigned spins = (unsigned)(hook_rng % 4) == 0 ? (unsigned)(hook_rng >> 20) % 3000 : 0;
    for (volatile unsigned i = 0; i < spins; i++) {
    }
}

typedef struct {
    int kind;        // 0 or 1: which body this context belongs to
    uint32_t job;    // the job's number
    size_t count;
    _Atomic uint32_t *visits;
    _Atomic uint32_t *wrong;  // shared: wrong body/context pairs seen
} pool_ctx;

static void pool_body(pool_ctx *c, int kind, size_t i) {
    if (c->kind != kind || i >= c->count) {
        atomic_fetch_add(c->wrong, 1);
        return;
    }
    atomic_fetch_add(&c->visits[i], 1);
    // A little work, varying by index, so helpers finish at different times.
    volatile float acc = 0;
    for (size_t k = 0; k < (i * 7) % 50; k++) acc += (float)k;
}
static void pool_body0(void *ctx, size_t i) { pool_body(ctx, 0, i); }
static void pool_body1(void *ctx, size_t i) { pool_body(ctx, 1, i); }

static void test_pool(int helpers, int jobs) {
    _Atomic uint32_t wrong = 0;
    enum { MAXC = 64 };
    pool_ctx ctx[2];
    _Atomic uint32_t visits[2][MAXC];
    int bad_jobs = 0, ran = 0;
    for (int j = 0; j < jobs; j++) {
        int kind = j & 1;
        pool_ctx *c = &ctx[kind];
        // Counts alternate between small and large, so a stale helper reading the wrong count would
        // find indexes to take.
        c->kind = kind;
        c->job = (uint32_t)j;
        c->count = kind ? 2 + (size_t)(j * 7) % (MAXC - 2) : 1 + (size_t)j % 3;
        c->visits = visits[kind];
        c->wrong = &wrong;
        for (size_t i = 0; i < MAXC; i++) atomic_store(&visits[kind][i], 0);
        if (!gsv_pool_run(c->count, helpers, kind ? pool_body1 : pool_body0, c)) continue;
        ran++;
        for (size_t i = 0; i < MAXC; i++)
            if (atomic_load(&visits[kind][i]) != (i < c->count ? 1u : 0u)) {
                bad_jobs++;
                break;
            }
    }
    CHECK(ran == jobs, "pool ran %d of %d jobs", ran, jobs);
    CHECK(bad_jobs == 0, "pool: %d jobs ran an index other than once", bad_jobs);
    CHECK(atomic_load(&wrong) == 0, "pool: %u indexes ran with another job's body or context", atomic_load(&wrong));
    printf("pool: %d jobs, %d helpers, %u hand-offs through the stalling hook\n", jobs, helpers,
           atomic_load(&hook_calls));
}

// Back-off under contention: helpers that stall inside chunks (as a helper does when the OS
// preempts it for another busy process) are taken out of the pool; once they stop stalling they
// come back. Every index still runs exactly once.
static pthread_t main_thread;
static _Atomic int stall_helpers = 0;
static _Atomic uint32_t backoff_visits[8];

static double wall_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void backoff_body(void *ctx, size_t i) {
    (void)ctx;
    if (atomic_load(&stall_helpers) && !pthread_equal(pthread_self(), main_thread)) {
        struct timespec d = {0, 2000000};  // 2 ms, as a preempted helper
        nanosleep(&d, 0);
    } else {
        double until = wall_now() + 30e-6;  // 30 µs of work, so that helpers find indexes to take
        while (wall_now() < until) {
        }
    }
    atomic_fetch_add(&backoff_visits[i], 1);
}

static int run_backoff_jobs(int jobs) {
    int bad = 0;
    for (int j = 0; j < jobs; j++) {
        for (int i = 0; i < 8; i++) atomic_store(&backoff_visits[i], 0);
        if (!gsv_pool_run(8, 3, backoff_body, 0)) return -1;
        for (int i = 0; i < 8; i++) bad += atomic_load(&backoff_visits[i]) != 1;
    }
    return bad;
}

static void test_pool_backoff(void) {
    main_thread = pthread_self();
    int helpers = gsv_pool_helpers;  // started (pool.c is compiled into this file)
    CHECK(helpers > 0, "pool has no helpers");
    unsigned before = gsv_pool_straggles();
    atomic_store(&stall_helpers, 1);
    // A stall needs a helper to take a ticket first; on a loaded machine (or under emulation) the
    // owner may run whole jobs alone for a while, so keep going until one is noticed (bounded).
    int bad = 0;
    for (int tries = 0; tries < 50 && gsv_pool_straggles() == before; tries++) bad += run_backoff_jobs(40);
    int during = gsv_pool_active_helpers();
    atomic_store(&stall_helpers, 0);
    CHECK(bad == 0, "back-off: %d indexes ran other than once while helpers stalled", bad);
    CHECK(gsv_pool_straggles() > before, "stalling helpers were not noticed");
    CHECK(during < helpers, "helpers still all in the pool while stalling (%d of %d)", during, helpers);
    // Without stalls helpers come back, one per back-off period (on a busy machine real preemption
    // may take some out again, so the test asks for one to come back, not all).
    int most = during;
    for (int round = 0; round < 400 && most < helpers; round++) {
        bad += run_backoff_jobs(10);
        struct timespec d = {0, 5000000};
        nanosleep(&d, 0);
        if (gsv_pool_active_helpers() > most) most = gsv_pool_active_helpers();
    }
    CHECK(most > during, "no helper came back (%d of %d active)", gsv_pool_active_helpers(), helpers);
    CHECK(bad == 0, "back-off: %d indexes ran other than once", bad);
    printf("pool back-off: %d of %d helpers while stalling, %u straggles noticed, up to %d back afterwards\n", during,
           helpers, gsv_pool_straggles() - before, most);
}

#if defined(__linux__)
// Sets the CPU affinity of every thread of this process (sched_setaffinity is per thread).
static int pin_all_threads(const cpu_set_t *set) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    int ok = 1;
    struct dirent *e;
    while ((e = readdir(d)) != 0) {
        if (e->d_name[0] == '.') continue;
        if (sched_setaffinity(atoi(e->d_name), sizeof *set, set) != 0) ok = 0;
    }
    closedir(d);
    return ok;
}

// Owner and helpers squeezed onto one CPU (as when the OS puts them together, the other core being
// taken): the helpers' chunks only slow the owner down, and the pool notices and takes them out.
static void test_pool_shared_cpu(void) {
    cpu_set_t old, one;
    if (sched_getaffinity(0, sizeof old, &old) != 0 || CPU_COUNT(&old) < 2) {
        printf("pool on one CPU: SKIPPED (needs 2 CPUs in the affinity mask)\n");
        return;
    }
    main_thread = pthread_self();
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    CHECK(pin_all_threads(&one), "could not pin the threads to one CPU");
    unsigned before = gsv_pool_shared_cpu_chunks(), backoffs = gsv_pool_straggles();
    int bad = 0, rounds = 0;
    // Helpers may be out of the pool after the previous test: wait (up to ~4 s) until one is back
    // and has run a chunk on this CPU.
    for (; rounds < 400 && gsv_pool_shared_cpu_chunks() == before; rounds++) {
        bad += run_backoff_jobs(10);
        struct timespec d = {0, 10000000};
        nanosleep(&d, 0);
    }
    unsigned shared = gsv_pool_shared_cpu_chunks() - before;
    bad += run_backoff_jobs(10);  // the report may come in the job after the chunk
    int during = gsv_pool_active_helpers();
    CHECK(pin_all_threads(&old), "could not restore the threads' CPU affinity");
    CHECK(bad == 0, "one CPU: %d indexes ran other than once", bad);
    CHECK(shared > 0, "no helper chunk on the owner's CPU noticed in %d rounds", rounds);
    CHECK(gsv_pool_straggles() > backoffs, "helpers on the owner's CPU did not make the pool back off");
    printf("pool on one CPU: %u helper chunks on the owner's CPU noticed, %d of %d helpers left\n", shared, during,
           gsv_pool_helpers);
}
#endif

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");  // fewer pool jobs (under emulation)
    test_probe();
    test_widen();
    test_hgemm();
    test_conv_direct();
    test_winograd();
    test_attention();
    test_layer_norm();
    test_pool(3, quick ? 20000 : 200000);
    test_pool_backoff();
#if defined(__linux__)
    test_pool_shared_cpu();
#endif
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
