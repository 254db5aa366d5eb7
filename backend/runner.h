/* runner.h: internal to backend/. The runner of compiled programs (runner.c) implements the public
 * ebmc_aot_* functions of include/ebmc_aot.h; the JIT runs its programs through the same code, with a
 * descriptor it fills in memory. This header adds what only the JIT and tests need. */
#ifndef EBMC_RUNNER_H
#define EBMC_RUNNER_H

#include <stdint.h>

#include "ebmc_aot.h"

/* Kernels whose estimated work is below this run on one thread; the rest are split across threads. */
#define RUNNER_DEFAULT_MIN_PARALLEL_WORK 32768

void runner_set_min_parallel_work(struct ebmc_aot_instance *inst, int64_t work);

/* Runs the program's kernels once on one thread (outputs stay in the instance) and adds each kernel's
 * CPU time (of the calling thread) to kernel_seconds[i]: a profile for --emit=profile. */
void runner_run_timed(struct ebmc_aot_instance *inst, float *const *args, double *kernel_seconds);

#endif
