/* peak.h: the machine's fp32 FMA peak, measured (bench/peak.c), so that every kernel figure can be given
 * as a share of what this CPU does rather than of a number assumed from its model. */
#ifndef EBMC_BENCH_PEAK_H
#define EBMC_BENCH_PEAK_H

/* GFLOP/s (2 flops per lane per FMA) of `threads` threads each running a register-only loop of
 * independent FMAs for about `seconds`: the best of a few repetitions, by the wall clock. Uses 512-bit
 * vectors when the CPU has AVX-512F, else 256-bit FMA, else scalar mul + add (*width gets the lanes per
 * vector). *cpu (if not NULL) gets the same by each thread's CPU time: what a core does while it runs
 * the loop, which a shared machine's load barely changes. */
double bench_fma_peak(int threads, double seconds, int *width, double *cpu);

#endif
