// Microbenchmark of the GSVKernels C kernels at every kernel level this CPU has, one thread, on the
// v2 model's shapes (scripts/bench-kernels-c.sh builds and runs it). Times are the thread's CPU
// time (time it was not running on a busy machine does not count), best of several runs; compare
// levels within one run, on one machine.
#include "GSVKernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t state = 88172645463325252ull;
static float uniform(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (float)((state >> 40) * 0x1p-24) * 2 - 1;
}
static float *floats(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = uniform();
    return p;
}

#define BEST(reps, body)                                                                                   \
    ({                                                                                                     \
        double best_ = 1e30;                                                                               \
        for (int rep_ = 0; rep_ < (reps); rep_++) {                                                        \
            double t0_ = now();                                                                            \
            body;                                                                                          \
            double t_ = now() - t0_;                                                                       \
            if (t_ < best_) best_ = t_;                                                                    \
        }                                                                                                  \
        best_;                                                                                             \
    })

static double wall(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// One fp16 product cut into `chunks` row blocks, as Parallel.forRanges cuts it for the pool.
struct product {
    int level;
    const uint16_t *w;
    size_t rows, cols, per;
    const float *x;
    float *y;
};

static void product_chunk(void *ctx, size_t i) {
    const struct product *p = ctx;
    size_t r0 = i * p->per, r1 = r0 + p->per < p->rows ? r0 + p->per : p->rows;
    if (r0 < r1) gsv_hgemv_rows_at(p->level, p->w, p->cols, p->x, p->y, r0, r1);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// `pool` mode: wall time of GPT-like decode steps (96 fp16 products of the v2 layer shapes, each
// cut in `threads` chunks through gsv_pool_run, a little serial work between them) with 1 and with
// 2 threads, alternating, `rounds` rounds of `steps` steps; prints the median ms/step of each. Run it
// beside a busy process pinned to one core to see the pool under contention (the 2-thread runs must
// not be slower than the 1-thread runs).
static int pool_mode(int rounds, int steps) {
    int level = gsv_cpu_level();
    const size_t layers = 24, shapes[4][2] = {{1536, 512}, {512, 512}, {2048, 512}, {512, 2048}};
    uint16_t *w[24][4];
    for (size_t l = 0; l < layers; l++)
        for (int m = 0; m < 4; m++) {
            size_t n = shapes[m][0] * shapes[m][1];
            w[l][m] = malloc(n * 2);
            for (size_t i = 0; i < n; i++) w[l][m][i] = (uint16_t)(0x3000 + (i * 2654435761u >> 20) % 0x800);
        }
    float *x = floats(2048), *y = malloc(2048 * sizeof *y);
    double *times[2];
    times[0] = malloc((size_t)rounds * sizeof(double));
    times[1] = malloc((size_t)rounds * sizeof(double));
    for (int r = 0; r < rounds; r++)
        for (int threads = 1; threads <= 2; threads++) {
            double t0 = wall();
            for (int s = 0; s < steps; s++)
                for (size_t l = 0; l < layers; l++)
                    for (int m = 0; m < 4; m++) {
                        struct product p = {level, w[l][m], shapes[m][0], shapes[m][1], 0, x, y};
                        p.per = (p.rows + (size_t)threads - 1) / (size_t)threads;
                        if (threads == 1 || !gsv_pool_run((size_t)threads, threads - 1, product_chunk, &p))
                            for (size_t i = 0; i < (size_t)threads; i++) product_chunk(&p, i);
                        for (size_t i = 0; i < shapes[m][1] && i < 512; i++) x[i] = x[i] * 0.5f + y[i] * 1e-3f;
                    }
            times[threads - 1][r] = (wall() - t0) / steps * 1e3;
        }
    for (int t = 0; t < 2; t++) qsort(times[t], (size_t)rounds, sizeof(double), compare_doubles);
    printf("pool: decode-like steps (96 fp16 products, level %s), median of %d rounds x %d steps, wall time: "
           "1 thread %.2f ms/step, 2 threads %.2f ms/step (2/1 = %.2f)\n",
           gsv_level_name(level), rounds, steps, times[0][rounds / 2], times[1][rounds / 2],
           times[1][rounds / 2] / times[0][rounds / 2]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "pool")) return pool_mode(argc > 2 ? atoi(argv[2]) : 9, argc > 3 ? atoi(argv[3]) : 100);
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    int top = gsv_cpu_level();
    char model[128];
    gsv_cpu_model(model, sizeof model);
    printf("CPU %s, best level %d (%s); best of %d runs, one thread\n", model, top, gsv_level_name(top), reps);

    // The v2 GPT's 24 layers (fp16): in_proj [1536, 512], out_proj [512, 512], linear1 [2048, 512],
    // linear2 [512, 2048]: 151 MB, one token's weight stream.
    const size_t layers = 24, shapes[4][2] = {{1536, 512}, {512, 512}, {2048, 512}, {512, 2048}};
    uint16_t *w[24][4];
    size_t bytes = 0;
    for (size_t l = 0; l < layers; l++)
        for (int m = 0; m < 4; m++) {
            size_t n = shapes[m][0] * shapes[m][1];
            w[l][m] = malloc(n * 2);
            for (size_t i = 0; i < n; i++) w[l][m][i] = (uint16_t)(0x3000 + (i * 2654435761u >> 20) % 0x800);
            bytes += n * 2;
        }
    float *x = floats(16 * 2048), *y = malloc(16 * 2048 * sizeof *y);
    for (int level = 0; level <= top; level++) {
        for (size_t n = 1; n <= 12; n = n == 1 ? 4 : n + 8) {
            double t = BEST(reps, {
                for (size_t l = 0; l < layers; l++)
                    for (int m = 0; m < 4; m++) {
                        if (n == 1) gsv_hgemv_rows_at(level, w[l][m], shapes[m][1], x, y, 0, shapes[m][0]);
                        else gsv_hgemm_rows_at(level, w[l][m], shapes[m][0], shapes[m][1], x, n, y, 0, shapes[m][0]);
                    }
            });
            printf("fp16 GPT layers, batch %2zu, level %d %-14s %7.2f ms/step  %5.1f GB/s  %5.1f GMAC/s\n", n, level,
                   gsv_level_name(level), t * 1e3, (double)bytes / t * 1e-9, (double)bytes / 2 * (double)n / t * 1e-9);
        }
    }

    // Decode attention: 24 layers × 16 heads of 32 dimensions over 270 cached positions.
    const size_t heads = 16 * 24, hd = 32, len = 270, blocks = (len + 15) / 16;
    float *kt = floats(heads * blocks * 16 * hd), *vv = floats(heads * len * hd), *q = floats(heads * hd);
    float *scores = malloc(blocks * 16 * sizeof *scores), *out = malloc(heads * hd * sizeof *out);
    for (int level = 0; level <= top; level++) {
        double t = BEST(reps, {
            for (size_t h = 0; h < heads; h++)
                gsv_attend_at(level, q + h * hd, hd, kt + h * blocks * 16 * hd, 16 * hd, vv + h * len * hd, hd, len,
                              0.17f, scores, out + h * hd);
        });
        printf("attention 24 layers x 16 heads, 270 positions, level %d %-14s %7.3f ms\n", level, gsv_level_name(level),
               t * 1e3);
    }

    // HiFi-GAN direct convolutions (stride 1): channels, taps, dilation, 8000 output columns.
    const size_t convs[][3] = {{128, 3, 1}, {64, 7, 3}, {32, 11, 5}, {16, 7, 1}};
    for (size_t ci = 0; ci < 4; ci++) {
        size_t c = convs[ci][0], k = convs[ci][1], d = convs[ci][2], t_out = 8000, xs = t_out + (k - 1) * d;
        float *cw = floats(c * c * k), *cx = floats(c * xs), *cy = calloc(c * t_out, sizeof *cy);
        float *packed = malloc(((c + 7) / 8) * 8 * c * k * sizeof *packed);
        gsv_conv1d_pack_weights(cw, c, c, k, packed);
        for (int level = 0; level <= top; level++) {
            double t = BEST(reps > 3 ? 3 : reps, gsv_conv1d_direct_at(level, cx, xs, c, packed, c, k, d, cy, t_out, 0, t_out));
            printf("direct conv %3zu ch, %2zu taps, dilation %zu, 8000 columns, level %d %-14s %7.2f ms  %5.1f GFLOP/s\n",
                   c, k, d, level, gsv_level_name(level), t * 1e3, 2.0 * (double)(c * c * k * t_out) / t * 1e-9);
        }
        free(cw);
        free(cx);
        free(cy);
        free(packed);
    }

    // Winograd transforms: 128 channels, 2048 output columns, dilations 1 and 3.
    for (size_t d = 1; d <= 3; d += 2) {
        size_t c = 128, tiles = 512 / d, width = tiles + 2, xs = d * 4 * width + 7 * d + 8;
        float *wx = floats(c * xs), *wv = malloc(7 * c * d * width * sizeof *wv), *wy = calloc(c * xs, sizeof *wy);
        for (int level = 0; level <= top; level++) {
            double ti = BEST(reps, gsv_wino_input_at(level, wx, xs, xs, c, d, 0, width, wv));
            double to = BEST(reps, gsv_wino_output_at(level, wv, c, d, 0, tiles, width, wy, xs, xs));
            printf("Winograd transforms 128 ch, dilation %zu, level %d %-14s input %6.3f ms, output %6.3f ms\n", d, level,
                   gsv_level_name(level), ti * 1e3, to * 1e3);
        }
        free(wx);
        free(wv);
        free(wy);
    }
    return 0;
}
