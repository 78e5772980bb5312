// The one CPU-feature probe of the package: which vector instructions this CPU and OS support, the
// kernel level they make available, and the CPU's name. Every kernel, GSVTensor's BLAS set-up and
// `bench` read it from here.
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE  // sched_getaffinity, CPU_COUNT
#endif
#include "GSVKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sched.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

// XCR0 through xgetbv (the OS saves the vector registers the bits name).
static unsigned long long gsv_xcr0(void) {
    unsigned int eax, edx;
    __asm__ __volatile__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static unsigned gsv_probe(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1;
    unsigned long long xcr0 = osxsave ? gsv_xcr0() : 0;
    int ymm = (xcr0 & 0x6) == 0x6;            // SSE and AVX state
    int zmm = ymm && (xcr0 & 0xE0) == 0xE0;   // opmask, upper ZMM0-15, ZMM16-31
    if (ymm && ((c >> 28) & 1)) f |= GSV_CPU_AVX;
    if (ymm && ((c >> 12) & 1)) f |= GSV_CPU_FMA;
    if (ymm && ((c >> 29) & 1)) f |= GSV_CPU_F16C;
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (ymm && ((b >> 5) & 1)) f |= GSV_CPU_AVX2;
        if (zmm && ((b >> 16) & 1)) f |= GSV_CPU_AVX512F;
        if (zmm && ((b >> 17) & 1)) f |= GSV_CPU_AVX512DQ;
        if (zmm && ((b >> 30) & 1)) f |= GSV_CPU_AVX512BW;
        if (zmm && ((b >> 31) & 1)) f |= GSV_CPU_AVX512VL;
    }
    return f;
}

static void gsv_model(char *buf, size_t n) {
    unsigned r[12];
    if (__get_cpuid_max(0x80000000, 0) < 0x80000004) {
        snprintf(buf, n, "x86-64");
        return;
    }
    for (unsigned i = 0; i < 3; i++) __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = 0;
    const char *p = s;
    while (*p == ' ') p++;
    snprintf(buf, n, "%s", p);
}

#elif defined(__aarch64__)

#if defined(__APPLE__)
#include <sys/sysctl.h>

static int gsv_sysctl_flag(const char *name) {
    int v = 0;
    size_t size = sizeof v;
    return sysctlbyname(name, &v, &size, 0, 0) == 0 && v != 0;
}

static unsigned gsv_probe(void) {
    unsigned f = GSV_CPU_NEON;
    if (gsv_sysctl_flag("hw.optional.arm.FEAT_FP16") || gsv_sysctl_flag("hw.optional.neon_fp16")) f |= GSV_CPU_NEON_FP16;
    if (gsv_sysctl_flag("hw.optional.arm.FEAT_FHM")) f |= GSV_CPU_NEON_FHM;
    return f;
}

static void gsv_model(char *buf, size_t n) {
    size_t size = n;
    if (sysctlbyname("machdep.cpu.brand_string", buf, &size, 0, 0) != 0) snprintf(buf, n, "Apple silicon");
}

#else
#include <sys/auxv.h>

static unsigned gsv_probe(void) {
    // Advanced SIMD (with fp16 <-> fp32 conversions) is part of every AArch64 CPU Linux runs on.
    unsigned f = GSV_CPU_NEON;
    unsigned long hw = getauxval(AT_HWCAP);
    if (hw & (1UL << 10)) f |= GSV_CPU_NEON_FP16;  // HWCAP_ASIMDHP: FEAT_FP16 vector arithmetic
    if (hw & (1UL << 23)) f |= GSV_CPU_NEON_FHM;   // HWCAP_ASIMDFHM: FMLAL/FMLSL
    return f;
}

// /proc/cpuinfo names few ARM cores; "CPU implementer" and "CPU part" identify them.
static void gsv_model(char *buf, size_t n) {
    snprintf(buf, n, "AArch64");
    FILE *file = fopen("/proc/cpuinfo", "r");
    if (!file) return;
    char line[256], impl[32] = "", part[32] = "";
    while (fgets(line, sizeof line, file)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        value[strcspn(value, "\n")] = 0;
        if (!strncmp(line, "model name", 10) || !strncmp(line, "Hardware", 8)) {
            snprintf(buf, n, "%s", value);
            fclose(file);
            return;
        }
        if (!strncmp(line, "CPU implementer", 15) && !impl[0]) snprintf(impl, sizeof impl, "%s", value);
        if (!strncmp(line, "CPU part", 8) && !part[0]) snprintf(part, sizeof part, "%s", value);
    }
    fclose(file);
    if (impl[0]) snprintf(buf, n, "AArch64 (implementer %s, part %s)", impl, part);
}
#endif

#else

static unsigned gsv_probe(void) { return 0; }
static void gsv_model(char *buf, size_t n) { snprintf(buf, n, "unknown CPU"); }

#endif

unsigned gsv_cpu_features(void) {
    static int done = 0;
    static unsigned cached = 0;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&cached, gsv_probe(), __ATOMIC_RELAXED);
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}

int gsv_cpu_level(void) {
    unsigned f = gsv_cpu_features();
    const unsigned simd = GSV_CPU_AVX | GSV_CPU_AVX2 | GSV_CPU_FMA | GSV_CPU_F16C;
    const unsigned wide = GSV_CPU_AVX512F | GSV_CPU_AVX512BW | GSV_CPU_AVX512DQ | GSV_CPU_AVX512VL;
    if (f & GSV_CPU_NEON) return GSV_LEVEL_SIMD;
    if ((f & simd) != simd) return GSV_LEVEL_PORTABLE;
    return (f & wide) == wide ? GSV_LEVEL_WIDE : GSV_LEVEL_SIMD;
}

int gsv_clamp_level(int level) {
    int best = gsv_cpu_level();
    return level < 0 ? 0 : level > best ? best : level;
}

const char *gsv_level_name(int level) {
    switch (level) {
    case GSV_LEVEL_PORTABLE: return "portable C";
#if defined(__aarch64__)
    case GSV_LEVEL_SIMD: return "NEON";
#else
    case GSV_LEVEL_SIMD: return "AVX2+FMA+F16C";
    case GSV_LEVEL_WIDE: return "AVX-512";
#endif
    default: return "unknown";
    }
}

void gsv_cpu_model(char *buf, size_t size) {
    if (size == 0) return;
    gsv_model(buf, size);
}

#if defined(__linux__)
// The CPU quota of cgroup v2 directory `dir` (under /sys/fs/cgroup) and each of its parents, the
// smallest in cores; 0 when none is set.
static double gsv_cgroup2_quota(char *dir) {
    double best = 0;
    for (;;) {
        char path[4200];
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", dir);
        FILE *f = fopen(path, "r");
        if (f) {
            char q[32] = "";
            double period = 0;
            if (fscanf(f, "%31s %lf", q, &period) == 2 && strcmp(q, "max") != 0 && period > 0) {
                double cores = atof(q) / period;
                if (cores > 0 && (best == 0 || cores < best)) best = cores;
            }
            fclose(f);
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            if (dir[0] && strcmp(dir, "/") != 0) {  // the root itself last
                dir[0] = 0;
                continue;
            }
            return best;
        }
        *slash = 0;
    }
}

// cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us of the process's cpu controller directory.
static double gsv_cgroup1_quota(const char *dir) {
    const char *mounts[] = {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"};
    for (int m = 0; m < 2; m++) {
        char path[4200];
        double quota = 0, period = 0;
        snprintf(path, sizeof path, "%s%s/cpu.cfs_quota_us", mounts[m], dir);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int ok = fscanf(f, "%lf", &quota) == 1;
        fclose(f);
        snprintf(path, sizeof path, "%s%s/cpu.cfs_period_us", mounts[m], dir);
        f = fopen(path, "r");
        if (!f) continue;
        ok = ok && fscanf(f, "%lf", &period) == 1;
        fclose(f);
        return ok && quota > 0 && period > 0 ? quota / period : 0;
    }
    return 0;
}

static double gsv_cgroup_quota(void) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return 0;
    char line[4096];
    double quota = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *a = strchr(line, ':');
        char *b = a ? strchr(a + 1, ':') : 0;
        if (!b) continue;
        *b = 0;
        const char *controllers = a + 1;
        char *dir = b + 1;
        if (!strcmp(line, "0") && !controllers[0]) {
            quota = gsv_cgroup2_quota(dir);
        } else if (strstr(controllers, "cpu") && (!strcmp(controllers, "cpu") || strstr(controllers, "cpu,") ||
                                                 strstr(controllers, ",cpu"))) {
            quota = gsv_cgroup1_quota(dir);
        }
        if (quota > 0) break;
    }
    fclose(f);
    return quota;
}
#endif

int gsv_cpu_available_cores(int *affinity, double *quota) {
    int a = 0;
    double q = 0;
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) a = CPU_COUNT(&set);
    q = gsv_cgroup_quota();
#endif
    if (affinity) *affinity = a;
    if (quota) *quota = q;
    int cores = a;
    if (q > 0) {
        int rounded = (int)(q + 0.5);
        if (rounded < 1) rounded = 1;
        if (cores == 0 || rounded < cores) cores = rounded;
    }
    return cores;
}
