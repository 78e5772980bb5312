// CPU feature levels for code outside the kernels (GSVTensor's BLAS set-up).
#include "GSVKernels.h"

int gsv_cpu_simd_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
            cached = 2;
        } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            cached = 1;
        } else {
            cached = 0;
        }
    }
    return cached;
#else
    return 0;
#endif
}
