/* jit.h: compiles a graph to native code through the LLVM C API (LLVM 19) and ORC LLJIT.
 *
 * Each fused group of ops becomes a kernel `void k(float **bufs, int64_t lo, int64_t hi)` over a
 * [lo, hi) range of its parallel axis; jit_run calls the kernels in order from one OpenMP parallel
 * region, each kernel finished before the next starts. Modules are optimized with "default<O3>", or
 * "default<O1>" for matmul and conv kernels (loop unrolling off: jit.c says why), on a TargetMachine
 * for the host CPU (name and features), so loops vectorize for AVX-512 where the machine has it. */
#ifndef EBMC_JIT_H
#define EBMC_JIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"

struct jit_program;

struct jit_options {
    int opt_level;          /* 0: no LLVM optimization; 3 (default when opts is NULL): jit.c's kernel_pipeline */
    int no_fusion;          /* one kernel per computed node (for tests and --stats comparisons) */
    int no_memory_planning; /* a separate buffer per stored value */
    int no_cache_read;      /* compile even if the compile cache has the program (to time the compile) */
};

/* What a compiled program is made of (ebmc compile --stats). */
struct jit_stats {
    int n_kernels, n_kernels_unfused; /* kernels run per call, with and without fusion */
    int n_bodies;                     /* distinct kernel bodies compiled (jit.c: kernels share equal ones) */
    int64_t bytes;                    /* program-owned buffer memory, after memory planning */
    int64_t bytes_unplanned;          /* the same with one buffer per value and no fusion */
    double compile_seconds;           /* planning, IR building, LLVM optimization and JIT materialization, */
                                      /* summed over the threads that compiled its kernels */
};

/* The bytes of buffers jit_compile(g, NULL, ...) would allocate (the arena of the memory plan), found
 * without allocating them, so a caller can refuse a program too big for the machine. -1 with a
 * message in err when g cannot be planned. */
int64_t jit_arena_bytes(const struct ir_graph *g, char *err, size_t errlen);

/* Compiles g (verified first), on the OpenMP default number of threads. The program keeps no pointer to
 * g. Returns NULL with a message in err. */
struct jit_program *jit_compile(const struct ir_graph *g, const struct jit_options *opts, char *err, size_t errlen);

/* One program for jit_compile_all: g and opts (NULL: the defaults) in; program (NULL on failure, with a
 * message in err) out. */
struct jit_request {
    const struct ir_graph *g;
    const struct jit_options *opts;
    struct jit_program *program;
    char err[512];
};
/* Compiles n programs together, their kernels spread over up to `threads` threads (jit.c, "Compiling"). */
void jit_compile_all(struct jit_request *requests, int n, int threads);

/* Runs the program. args: one buffer per ir_graph_args() node, in that order; outs: one per graph
 * output. Intermediate buffers belong to the program, so a program is not reentrant. nthreads <= 0 means
 * the OpenMP default. */
void jit_run(struct jit_program *p, float *const *args, float *const *outs, int nthreads);
void jit_free(struct jit_program *p);
/* Output i in the program's own memory (ebmc_aot_output): passed as outs[i], jit_run copies nothing. */
float *jit_output(struct jit_program *p, int i);

/* Prints the code compiled for g: LLVM IR before or after optimization, or the host's assembly. */
enum jit_code_format { JIT_CODE_LLVM_UNOPT, JIT_CODE_LLVM, JIT_CODE_ASM };
int jit_print_code(const struct ir_graph *g, enum jit_code_format format, FILE *out, char *err, size_t errlen);

/* Compiles n graphs ahead of time into one object file at path: for graph i, its kernels (symbols
 * prefixed with symbols[i] and '_') and a `const struct ebmc_aot_program symbols[i]` descriptor
 * (include/ebmc_aot.h) to run them with. Code is for the host CPU, optimized as the JIT's. Returns 0,
 * or -1 with a message. */
int jit_emit_object(int n, const struct ir_graph *const *graphs, const char *const *symbols, const char *path,
                    char *err, size_t errlen);

/* Prints the kernel plan for g (inspect.c): the nodes each fused kernel computes, each kernel as a loop
 * nest over its buffers, the graph for Graphviz with one cluster per kernel, or a profile: g compiled
 * and run on made-up inputs, each kernel's time on one thread (median of several runs). */
enum jit_plan_format { JIT_PLAN_FUSED, JIT_PLAN_KERNELS, JIT_PLAN_DOT, JIT_PLAN_PROFILE };
int jit_print_plan(const struct ir_graph *g, enum jit_plan_format format, FILE *out, char *err, size_t errlen);
/* Kernels whose estimated work (about one unit per flop or element) is below this run on one thread;
 * the rest are split across threads. 0 splits every kernel (tests use it to exercise the splits). */
void jit_set_min_parallel_work(struct jit_program *p, int64_t work);
/* Seconds spent compiling this program (jit_stats.compile_seconds: summed over the threads). */
double jit_compile_seconds(const struct jit_program *p);
/* Seconds LLVM spent on kernel i (plan order): building, optimizing and compiling it to an object
 * file; 0 if the compile cache had it. */
double jit_kernel_compile_seconds(const struct jit_program *p, int i);
/* Runs p once on one thread, adding each kernel's time to kernel_seconds[i] (kernels in plan order). */
void jit_run_timed(struct jit_program *p, float *const *args, double *kernel_seconds);
const struct jit_stats *jit_get_stats(const struct jit_program *p);

#endif
