// A small spinning thread pool for the many short parallel loops of autoregressive decoding
// (about a hundred matrix–vector products per GPT token): waking a sleeping thread through the OS
// for each of them costs more than the product itself. Helpers spin briefly for the next job
// before they sleep.
//
// When the cores are shared with other busy processes, a helper that the OS preempts in the middle
// of a chunk holds the whole loop until it runs again (milliseconds, against loops of tens of
// microseconds): the owner measures how long it waits for the helpers after running out of
// tickets, and when that wait is both long and longer than its own share of the work, it takes one
// helper out of the pool for a while (5 ms, doubling up to 0.5 s while it keeps happening soon
// after the helper came back), so the loops run on fewer threads instead of waiting. The owner
// itself waits by spinning briefly, then yielding its core (a helper may be queued behind it).
// A helper that runs a chunk on the owner's own CPU (the OS put both on one core, the other being
// taken) only slows the owner down, whatever the wait: that too takes it out for a while.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // sched_getcpu
#endif
#include "GSVKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GSV_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define GSV_PAUSE() __asm__ __volatile__("yield")
#else
#define GSV_PAUSE() ((void)0)
#endif

// Tests define this to stall a helper between reading a job's number and its fields, and the owner
// between writing a job's fields and publishing its ticket.
#ifndef GSV_POOL_TEST_HOOK
#define GSV_POOL_TEST_HOOK() ((void)0)
#endif

// Spin iterations before a helper sleeps (tens of microseconds: decode loops come every few).
#define GSV_POOL_SPINS 2000

static pthread_mutex_t gsv_pool_owner = PTHREAD_MUTEX_INITIALIZER;  // one job at a time
static pthread_mutex_t gsv_pool_sleep = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gsv_pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t gsv_pool_once = PTHREAD_ONCE_INIT;
static int gsv_pool_helpers = 0;
static int gsv_pool_requested = 0;

// The current job. `ticket` packs the job number (high 32 bits) and the next index (low 32 bits),
// so a helper still looking at a finished job can never take an index of the next one. The fields
// fn/ctx/count are guarded by `gsv_job_seq`, a sequence lock: the owner sets it to 2·job − 1 (odd:
// being written) before writing them and to 2·job after, and a helper uses fields only when it read
// 2·job, the same value, before and after reading them — so the fields it passes on are the ones
// of the job whose number it then takes tickets for (without this, a helper that saw job J's ticket
// could read job J+1's fields, being written, and run an index of job J with them).
static _Atomic(gsv_pool_fn) gsv_job_fn;
static _Atomic(void *) gsv_job_ctx;
static _Atomic uint32_t gsv_job_count;
static _Atomic uint64_t gsv_job_seq = 0;
static _Atomic uint64_t gsv_ticket = 0;
static _Atomic uint32_t gsv_job_done = 0;
static _Atomic int gsv_sleepers = 0;

// Helpers with an index below this take part in jobs; the others sleep on gsv_pool_raise.
static _Atomic int gsv_pool_limit = 16;
static pthread_cond_t gsv_pool_raise = PTHREAD_COND_INITIALIZER;

// Back-off state, used by the owner only (under gsv_pool_owner).
#define GSV_MS 1000000ull
#define GSV_STRAGGLE_NS (200 * 1000ull)  // a wait this long (and longer than the owner's own work)
#define GSV_BACKOFF_MIN (5 * GSV_MS)
#define GSV_BACKOFF_MAX (500 * GSV_MS)
static uint64_t gsv_backoff = GSV_BACKOFF_MIN;
static uint64_t gsv_raise_at = 0;   // when to let one more helper back in
static uint64_t gsv_raised_at = 0;  // when the last one came back
static _Atomic unsigned gsv_straggles = 0;  // back-offs so far (straggling or shared-CPU helpers)
// The CPU the owner runs the current job on (-1: unknown), and how many chunks helpers ran there.
static _Atomic int gsv_owner_cpu = -1;
static _Atomic unsigned gsv_shared = 0;

static int gsv_current_cpu(void) {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

static uint64_t gsv_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

// Runs indexes of job `job` until its tickets run out; returns how many it ran.
static uint32_t gsv_pool_work(uint32_t job, gsv_pool_fn fn, void *ctx, uint32_t count) {
    uint64_t t = atomic_load(&gsv_ticket);
    uint32_t ran = 0;
    for (;;) {
        if ((uint32_t)(t >> 32) != job || (uint32_t)t >= count) return ran;
        if (atomic_compare_exchange_weak(&gsv_ticket, &t, t + 1)) {
            fn(ctx, (size_t)(uint32_t)t);
            ran++;
            atomic_fetch_add(&gsv_job_done, 1);
            t = atomic_load(&gsv_ticket);
        }
    }
}

// Reads the fields of job `job` into *fn, *ctx, *count; 0 when they are no longer (or not yet
// completely) that job's.
static int gsv_pool_read_job(uint32_t job, gsv_pool_fn *fn, void **ctx, uint32_t *count) {
    uint64_t want = 2 * (uint64_t)job;
    if (atomic_load_explicit(&gsv_job_seq, memory_order_acquire) != want) return 0;
    GSV_POOL_TEST_HOOK();  // tests widen the window between the two checks here
    *fn = atomic_load_explicit(&gsv_job_fn, memory_order_relaxed);
    *ctx = atomic_load_explicit(&gsv_job_ctx, memory_order_relaxed);
    *count = atomic_load_explicit(&gsv_job_count, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&gsv_job_seq, memory_order_relaxed) == want;
}

static void *gsv_pool_helper(void *arg) {
    int index = (int)(intptr_t)arg;
    uint32_t seen = 0;
    for (;;) {
        if (index >= atomic_load_explicit(&gsv_pool_limit, memory_order_relaxed)) {
            // Out of the pool (its core is contended): sleep until the owner lets it back in.
            pthread_mutex_lock(&gsv_pool_sleep);
            while (index >= atomic_load(&gsv_pool_limit)) pthread_cond_wait(&gsv_pool_raise, &gsv_pool_sleep);
            pthread_mutex_unlock(&gsv_pool_sleep);
            seen = (uint32_t)(atomic_load(&gsv_ticket) >> 32);  // jobs from before are done
        }
        uint32_t job;
        int spins = 0;
        while ((job = (uint32_t)(atomic_load(&gsv_ticket) >> 32)) == seen) {
            if (++spins < GSV_POOL_SPINS) {
                GSV_PAUSE();
                continue;
            }
            pthread_mutex_lock(&gsv_pool_sleep);
            atomic_fetch_add(&gsv_sleepers, 1);
            while ((uint32_t)(atomic_load(&gsv_ticket) >> 32) == seen) pthread_cond_wait(&gsv_pool_wake, &gsv_pool_sleep);
            atomic_fetch_sub(&gsv_sleepers, 1);
            pthread_mutex_unlock(&gsv_pool_sleep);
            spins = 0;
        }
        seen = job;
        gsv_pool_fn fn;
        void *ctx;
        uint32_t count;
        if (!gsv_pool_read_job(job, &fn, &ctx, &count)) continue;  // already replaced by a newer job
        if (index >= atomic_load_explicit(&gsv_pool_limit, memory_order_relaxed)) continue;
        if (gsv_pool_work(job, fn, ctx, count) > 0) {
            int owner = atomic_load_explicit(&gsv_owner_cpu, memory_order_relaxed);
            if (owner >= 0 && gsv_current_cpu() == owner) atomic_fetch_add(&gsv_shared, 1);
        }
    }
    return 0;
}

static void gsv_pool_start(void) {
    for (int i = 0; i < gsv_pool_requested; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, gsv_pool_helper, (void *)(intptr_t)gsv_pool_helpers) == 0) gsv_pool_helpers++;
        pthread_attr_destroy(&attr);
    }
}

int gsv_pool_run(size_t count, int helpers, gsv_pool_fn fn, void *ctx) {
    if (count == 0) return 1;
    if (count > UINT32_MAX || helpers < 1) return 0;
    if (pthread_mutex_trylock(&gsv_pool_owner) != 0) return 0;  // another caller holds the pool
    if (gsv_pool_requested == 0) gsv_pool_requested = helpers > 16 ? 16 : helpers;
    pthread_once(&gsv_pool_once, gsv_pool_start);
    if (gsv_pool_helpers == 0) {
        pthread_mutex_unlock(&gsv_pool_owner);
        return 0;
    }
    uint64_t t0 = gsv_now_ns();
    int limit = atomic_load_explicit(&gsv_pool_limit, memory_order_relaxed);
    if (limit > gsv_pool_helpers) atomic_store(&gsv_pool_limit, limit = gsv_pool_helpers);
    if (limit < gsv_pool_helpers && t0 >= gsv_raise_at) {
        // Let one helper back in (woken if it sleeps out of the pool).
        pthread_mutex_lock(&gsv_pool_sleep);
        atomic_store(&gsv_pool_limit, ++limit);
        pthread_cond_broadcast(&gsv_pool_raise);
        pthread_mutex_unlock(&gsv_pool_sleep);
        gsv_raised_at = t0;
        gsv_raise_at = t0 + gsv_backoff;
    }
    if (limit == 0) {
        // Every helper is out: the loop runs here.
        for (size_t i = 0; i < count; i++) fn(ctx, i);
        pthread_mutex_unlock(&gsv_pool_owner);
        return 1;
    }
    uint32_t job = (uint32_t)(atomic_load(&gsv_ticket) >> 32) + 1;
    if (job == 0) job = 1;  // 0 is what helpers start from
    atomic_store_explicit(&gsv_job_seq, 2 * (uint64_t)job - 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);  // the odd value is seen before any field changes
    atomic_store_explicit(&gsv_job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&gsv_job_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&gsv_job_count, (uint32_t)count, memory_order_relaxed);
    atomic_store_explicit(&gsv_job_seq, 2 * (uint64_t)job, memory_order_release);
    atomic_store(&gsv_job_done, 0);
    atomic_store_explicit(&gsv_owner_cpu, gsv_current_cpu(), memory_order_relaxed);
    unsigned shared = atomic_load_explicit(&gsv_shared, memory_order_relaxed);
    GSV_POOL_TEST_HOOK();  // new fields, old ticket: what a stale helper must not combine
    atomic_store(&gsv_ticket, (uint64_t)job << 32);  // publishes the job (sequentially consistent)
    if (atomic_load(&gsv_sleepers) > 0) {
        pthread_mutex_lock(&gsv_pool_sleep);
        pthread_cond_broadcast(&gsv_pool_wake);
        pthread_mutex_unlock(&gsv_pool_sleep);
    }
    gsv_pool_work(job, fn, ctx, (uint32_t)count);
    uint64_t t1 = gsv_now_ns();
    for (unsigned spins = 0; atomic_load(&gsv_job_done) < (uint32_t)count; spins++) {
        if (spins < 256 || (spins & 63) != 0) {
            GSV_PAUSE();
            continue;
        }
        if (gsv_now_ns() - t1 > 20000) sched_yield();  // 20 µs: a helper may be waiting for this core
    }
    uint64_t t2 = gsv_now_ns();
    int straggled = t2 - t1 > GSV_STRAGGLE_NS && t2 - t1 > t1 - t0;
    // (a helper's report of sharing the owner's CPU may come in the next job: counted there)
    int shared_cpu = atomic_load_explicit(&gsv_shared, memory_order_relaxed) != shared;
    if (straggled || shared_cpu) {
        // A helper straggled or ran on this CPU: one fewer for a while, longer when it happens
        // soon after a helper came back (the contention goes on).
        atomic_fetch_add(&gsv_straggles, 1);
        gsv_backoff = t2 - gsv_raised_at < 1000 * GSV_MS ? gsv_backoff * 2 : GSV_BACKOFF_MIN;
        if (gsv_backoff > GSV_BACKOFF_MAX) gsv_backoff = GSV_BACKOFF_MAX;
        if (limit > 0) atomic_store(&gsv_pool_limit, limit - 1);
        gsv_raise_at = t2 + gsv_backoff;
    }
    pthread_mutex_unlock(&gsv_pool_owner);
    return 1;
}

// Not in the public header yet (no Swift caller): the C kernel tests declare them.
int gsv_pool_active_helpers(void);
unsigned gsv_pool_straggles(void);
unsigned gsv_pool_shared_cpu_chunks(void);

unsigned gsv_pool_shared_cpu_chunks(void) { return atomic_load(&gsv_shared); }

int gsv_pool_active_helpers(void) {
    int limit = atomic_load(&gsv_pool_limit);
    return limit < gsv_pool_helpers ? limit : gsv_pool_helpers;
}

unsigned gsv_pool_straggles(void) { return atomic_load(&gsv_straggles); }

static _Atomic int gsv_lanes = 0;

int gsv_lanes_enter(void) { return atomic_fetch_add(&gsv_lanes, 1) + 1; }
int gsv_lanes_leave(void) { return atomic_fetch_sub(&gsv_lanes, 1) - 1; }
int gsv_lanes_active(void) { return atomic_load(&gsv_lanes); }
