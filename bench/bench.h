/* bench.h: what every benchmark needs: a monotonic clock, and a comparison to sort repeated timings by
 * (the machines are shared and noisy, so benchmarks report medians, never single runs). */
#ifndef EBMC_BENCH_H
#define EBMC_BENCH_H

#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of the whole process: on a shared machine, a 1-thread run's time while it was scheduled,
 * which the other processes' load changes far less than the wall clock. */
static inline double bench_cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
