/* ebmc_aot.h: running programs compiled ahead of time with
 *
 *     ebmc compile MODEL.ebm -o model.o --header model.h
 *
 * model.o holds each program of the model (energy; sampler: E and dE/dx; loss: the surrogate loss and
 * its parameter gradients; train: one training step, those gradients fed to Adam; langevin: one
 * Langevin step of the sampler) as native kernels plus a descriptor, `const struct ebmc_aot_program`, declared in
 * model.h with the names and shapes of its arguments and outputs. Link model.o with the ebmc_run library
 * (libebmc_run.a, which needs only OpenMP) and run a program like this:
 *
 *     struct ebmc_aot_instance *p = ebmc_aot_new(&rings_energy);    // its working memory
 *     float *args[] = {x, W1, b1, ...};  float *outs[] = {energy};     // in the header's order
 *     ebmc_aot_run(p, args, outs, 1);
 *     ebmc_aot_free(p);
 *
 * Results are bitwise those of the JIT for the same graph on the same CPU: the kernels are the same code,
 * compiled by the same LLVM pipeline for the host CPU that ran `ebmc compile`. */
#ifndef EBMC_AOT_H
#define EBMC_AOT_H

#include <stdint.h>

#define EBMC_AOT_MAX_DIMS 4

/* One kernel: computes items [lo, hi) of its parallel axis, reading and writing bufs[slot]. */
typedef void (*ebmc_aot_kernel_fn)(float **bufs, int64_t lo, int64_t hi);

struct ebmc_aot_kernel {
    ebmc_aot_kernel_fn fn;
    int64_t range; /* items [0, range) */
    int64_t work;  /* estimated operations: kernels below a threshold run on one thread */
};

/* An argument or output. An output with slot < 0 is a constant: every element equals value. */
struct ebmc_aot_tensor {
    const char *name;
    int slot;
    int ndim;
    int64_t shape[EBMC_AOT_MAX_DIMS];
    float value;
};

struct ebmc_aot_program {
    const char *name;
    int n_args, n_outputs, n_slots, n_kernels;
    int64_t arena_bytes;                  /* working memory: every program-owned buffer */
    const struct ebmc_aot_tensor *args;   /* args[i] is buffer slot i */
    const struct ebmc_aot_tensor *outputs;
    const int64_t *slot_offset;           /* byte offset in the arena of each program-owned slot */
    const struct ebmc_aot_kernel *kernels; /* in execution order */
};

struct ebmc_aot_instance;

/* A runnable instance of program p (its working memory). NULL when out of memory. */
struct ebmc_aot_instance *ebmc_aot_new(const struct ebmc_aot_program *p);
/* Runs it: args and outs in the order of p->args and p->outputs, each a buffer of the listed shape.
 * nthreads <= 0: the OpenMP default. An instance runs one call at a time. Outputs are written after
 * every kernel has run, so an output that is computed (not itself an argument) may be written into an
 * argument's buffer: the train program can update the parameters and Adam moments in place. Nothing then
 * checks the update (the JIT's training loop copies it in only when finite): one non-finite step
 * overwrites the parameters for good. A matmul kernel packs its operands on the stack of the thread
 * that runs it (up to 640 KiB on AVX2: backend/matmul.c), so call it from threads with 1 MiB or more. */
void ebmc_aot_run(struct ebmc_aot_instance *inst, float *const *args, float *const *outs, int nthreads);
void ebmc_aot_free(struct ebmc_aot_instance *inst);
/* Where output i is computed in the instance's working memory: passed back as outs[i], ebmc_aot_run
 * copies nothing to it (a big output's copy can cost as much as the kernel that computes it). Holds
 * the last run's value until the next run. NULL for an output that is a constant or an argument. */
float *ebmc_aot_output(struct ebmc_aot_instance *inst, int i);
/* The index of the argument or output with this name, or -1. */
int ebmc_aot_find_arg(const struct ebmc_aot_program *p, const char *name);
int ebmc_aot_find_output(const struct ebmc_aot_program *p, const char *name);

#endif
