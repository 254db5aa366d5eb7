/* peak.c: the fp32 FMA peak of 1 and 2 threads (bench_fma_peak, peak.h), and `peak`, which prints it.
 *
 * The loop keeps ACC independent accumulators in registers and does one FMA on each per iteration, so
 * the only limit is the FMA pipes: with latency L and P pipes, L x P accumulators are needed (Zen: 4 x 2
 * = 8). 12 leave room and, with the two operands, fit in the 16 vector registers of AVX2 (more spill
 * there). No loads or stores in the loop; the accumulators' sum is returned, so none can be dropped. */
#include "peak.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define ACC 12
#define ITERS 1000000 /* FMAs per accumulator per timed call: 16 M FMAs, a few ms */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define FMA_BODY(T, FMA, SET1, ADD)                                                                 \
    T a = SET1(1.0000001f), b = SET1(-1e-7f), acc[ACC];                                            \
    for (int i = 0; i < ACC; i++) acc[i] = SET1((float)i);                                         \
    for (int64_t it = 0; it < iters; it++) {                                                        \
        __asm__ volatile("" : "+x"(a)); /* a stays a register operand: nothing hoists */            \
        _Pragma("GCC unroll 12") for (int i = 0; i < ACC; i++) acc[i] = FMA(acc[i], a, b);          \
    }                                                                                               \
    T s = acc[0];                                                                                   \
    for (int i = 1; i < ACC; i++) s = ADD(s, acc[i]);                                               \
    float out[sizeof(T) / 4];                                                                       \
    memcpy(out, &s, sizeof out);                                                                    \
    return out[0];

__attribute__((target("avx512f"))) static float loop512(int64_t iters) {
    FMA_BODY(__m512, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_add_ps)
}
__attribute__((target("avx2,fma"))) static float loop256(int64_t iters) {
    FMA_BODY(__m256, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_add_ps)
}
static int lanes(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 16 : __builtin_cpu_supports("fma") ? 8 : 1;
}
#else
static float loop512(int64_t iters) { (void)iters; return 0; }
static float loop256(int64_t iters) { (void)iters; return 0; }
static int lanes(void) { return 1; }
#endif

/* Scalar fallback: a mul and an add count as the two flops of an FMA. */
static float loop1(int64_t iters) {
    float a = 1.0000001f, b = -1e-7f, acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = (float)i;
    for (int64_t it = 0; it < iters; it++) {
        __asm__ volatile("" : "+r"(a));
#pragma GCC unroll 12
        for (int i = 0; i < ACC; i++) acc[i] = acc[i] * a + b;
    }
    float s = 0;
    for (int i = 0; i < ACC; i++) s += acc[i];
    return s;
}

struct job {
    int width;
    int64_t calls;
    double seconds, cpu_seconds;
    volatile float sink;
};

static double thread_cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *run(void *arg) {
    struct job *j = arg;
    double t0 = bench_now(), c0 = thread_cpu_now();
    for (int64_t c = 0; c < j->calls; c++)
        j->sink += j->width == 16 ? loop512(ITERS) : j->width == 8 ? loop256(ITERS) : loop1(ITERS);
    j->seconds = bench_now() - t0;
    j->cpu_seconds = thread_cpu_now() - c0;
    return NULL;
}

/* One timed round of `threads` threads, each doing `calls` calls: GFLOP/s over the slowest thread (by
 * wall time; *cpu: by CPU time). */
static double round_gflops(int threads, int width, int64_t calls, double *cpu) {
    struct job jobs[64];
    pthread_t tid[64];
    if (threads > 64) threads = 64;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){width, calls, 0, 0, 0};
        if (t > 0 && pthread_create(&tid[t], NULL, run, &jobs[t]) != 0) return 0;
    }
    run(&jobs[0]);
    double worst = jobs[0].seconds, worst_cpu = jobs[0].cpu_seconds;
    for (int t = 1; t < threads; t++) {
        pthread_join(tid[t], NULL);
        if (jobs[t].seconds > worst) worst = jobs[t].seconds;
        if (jobs[t].cpu_seconds > worst_cpu) worst_cpu = jobs[t].cpu_seconds;
    }
    double flops = 2.0 * width * ACC * (double)ITERS * (double)calls * threads;
    *cpu = flops / worst_cpu * 1e-9;
    return flops / worst * 1e-9;
}

double bench_fma_peak(int threads, double seconds, int *width, double *cpu) {
    int w = lanes();
    double gf_cpu, best = 0, best_cpu = 0;
    if (width) *width = w;
    round_gflops(1, w, 4, &gf_cpu); /* warm-up: the clock ramps up, the AVX-512 license is taken */
    double t0 = bench_now();
    round_gflops(1, w, 1, &gf_cpu);
    double once = bench_now() - t0;
    int64_t calls = (int64_t)(seconds / 5 / (once > 1e-6 ? once : 1e-6)) + 1;
    for (int r = 0; r < 5; r++) { /* the best of 5: on a shared machine, the one not preempted */
        double gf = round_gflops(threads, w, calls, &gf_cpu);
        if (gf > best) best = gf;
        if (gf_cpu > best_cpu) best_cpu = gf_cpu;
    }
    if (cpu) *cpu = best_cpu;
    return best;
}

#ifdef BENCH_PEAK_MAIN
int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0) {
        fprintf(stderr, "usage: peak [SECONDS per thread count, default 1]\n");
        return 2;
    }
    for (int t = 1; t <= 2; t++) {
        int w;
        double cpu, gf = bench_fma_peak(t, seconds, &w, &cpu);
        printf("fp32 FMA peak, %d thread%s, %d-lane vectors, %d accumulators: %.1f GFLOP/s (%.1f by CPU time)\n", t,
               t > 1 ? "s" : "", w, ACC, gf, cpu);
        printf("RESULT peak %d %.2f\n", t, gf);
    }
    return 0;
}
#endif
