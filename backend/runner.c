/* runner.c: runs a compiled program (JIT or ahead of time): binds the caller's buffers, places the
 * program's own buffers in one arena at the offsets memory planning chose, and calls the kernels in
 * order from one OpenMP parallel region. Needs no LLVM, so AOT-compiled models link with this alone. */
#include "runner.h"

#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kernel_state {
    atomic_uint claimed; /* bitmask of chunks taken in the current run */
    atomic_int done;     /* chunks finished in the current run */
};

struct ebmc_aot_instance {
    const struct ebmc_aot_program *p;
    float **bufs; /* [0, n_args): the caller's, rebound by every run; the rest point into arena */
    void *arena;
    struct kernel_state *state;
    int64_t min_parallel_work;
};

struct ebmc_aot_instance *ebmc_aot_new(const struct ebmc_aot_program *p) {
    struct ebmc_aot_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return NULL;
    inst->p = p;
    inst->min_parallel_work = RUNNER_DEFAULT_MIN_PARALLEL_WORK;
    inst->bufs = calloc((size_t)p->n_slots + 1, sizeof *inst->bufs);
    inst->state = calloc((size_t)p->n_kernels + 1, sizeof *inst->state);
    /* 64-byte aligned (a cache line, one AVX-512 vector), as are the offsets in it */
    inst->arena = aligned_alloc(64, (size_t)p->arena_bytes + 64);
    if (!inst->bufs || !inst->state || !inst->arena) {
        ebmc_aot_free(inst);
        return NULL;
    }
    for (int s = p->n_args; s < p->n_slots; s++) inst->bufs[s] = (float *)((char *)inst->arena + p->slot_offset[s]);
    return inst;
}

void ebmc_aot_free(struct ebmc_aot_instance *inst) {
    if (!inst) return;
    free(inst->bufs);
    free(inst->state);
    free(inst->arena);
    free(inst);
}

void runner_set_min_parallel_work(struct ebmc_aot_instance *inst, int64_t work) { inst->min_parallel_work = work; }

static int find(const struct ebmc_aot_tensor *t, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0) return i;
    return -1;
}

int ebmc_aot_find_arg(const struct ebmc_aot_program *p, const char *name) { return find(p->args, p->n_args, name); }
int ebmc_aot_find_output(const struct ebmc_aot_program *p, const char *name) {
    return find(p->outputs, p->n_outputs, name);
}

/* Work claiming. A parallel kernel is cut into one chunk per thread. Each thread first claims its own
 * chunk (so, on a quiet machine, a thread keeps touching the same rows from kernel to kernel, as with a
 * static split), then any chunk nobody has claimed yet, and moves on once every chunk is done. A thread
 * the OS has descheduled (another process wants the core) therefore holds up at most a chunk it already
 * took: with a static split and barriers, a busy machine made every one of a program's hundreds of
 * barriers wait a whole time slice, and 2 threads ran 10x slower than 1. Each output element is computed
 * by the same code whichever thread runs its chunk, so results are identical for any thread count. */
#define MAX_CHUNKS 32

static int is_parallel(const struct ebmc_aot_instance *inst, const struct ebmc_aot_kernel *k) {
    return k->range > 1 && k->work >= inst->min_parallel_work;
}

static int n_chunks(const struct ebmc_aot_instance *inst, const struct ebmc_aot_kernel *k, int nt) {
    if (!is_parallel(inst, k)) return 1;
    int n = nt < MAX_CHUNKS ? nt : MAX_CHUNKS;
    return k->range < n ? (int)k->range : n;
}

static void run_team(struct ebmc_aot_instance *inst, int t, int nt) {
    const struct ebmc_aot_program *p = inst->p;
    for (int i = 0; i < p->n_kernels; i++) {
        const struct ebmc_aot_kernel *k = &p->kernels[i];
        struct kernel_state *st = &inst->state[i];
        int n = n_chunks(inst, k, nt);
        for (int j = 0; j < n; j++) {
            int c = (t + j) % n; /* own chunk first */
            unsigned bit = 1u << c;
            if (atomic_fetch_or_explicit(&st->claimed, bit, memory_order_relaxed) & bit) continue;
            int64_t lo = k->range * c / n, hi = k->range * (c + 1) / n;
            if (lo < hi) k->fn(inst->bufs, lo, hi);
            atomic_fetch_add_explicit(&st->done, 1, memory_order_release);
        }
        for (int spins = 0; atomic_load_explicit(&st->done, memory_order_acquire) < n; spins++)
            if (spins >= 1000) sched_yield();
    }
}

static int64_t numel(const struct ebmc_aot_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

void runner_run_timed(struct ebmc_aot_instance *inst, float *const *args, double *kernel_seconds) {
    const struct ebmc_aot_program *p = inst->p;
    for (int i = 0; i < p->n_args; i++) inst->bufs[i] = args[i];
    for (int i = 0; i < p->n_kernels; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0); /* on a shared machine: the time it ran */
        p->kernels[i].fn(inst->bufs, 0, p->kernels[i].range);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        kernel_seconds[i] += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    }
}

float *ebmc_aot_output(struct ebmc_aot_instance *inst, int i) {
    int slot = inst->p->outputs[i].slot;
    return slot >= inst->p->n_args ? inst->bufs[slot] : NULL;
}

void ebmc_aot_run(struct ebmc_aot_instance *inst, float *const *args, float *const *outs, int nthreads) {
    const struct ebmc_aot_program *p = inst->p;
    for (int i = 0; i < p->n_args; i++) inst->bufs[i] = args[i];
    int nt = nthreads > 0 ? nthreads : omp_get_max_threads();
    int any_parallel = 0;
    for (int i = 0; i < p->n_kernels; i++) any_parallel |= is_parallel(inst, &p->kernels[i]);
    if (nt > 1 && any_parallel) {
        for (int i = 0; i < p->n_kernels; i++) {
            atomic_store_explicit(&inst->state[i].claimed, 0, memory_order_relaxed);
            atomic_store_explicit(&inst->state[i].done, 0, memory_order_relaxed);
        }
#pragma omp parallel num_threads(nt)
        run_team(inst, omp_get_thread_num(), omp_get_num_threads());
    } else {
        for (int i = 0; i < p->n_kernels; i++) p->kernels[i].fn(inst->bufs, 0, p->kernels[i].range);
    }
    /* After every kernel has run, so an output buffer may be an argument (in-place updates). */
    for (int i = 0; i < p->n_outputs; i++) {
        const struct ebmc_aot_tensor *o = &p->outputs[i];
        int64_t n = numel(o);
        if (o->slot < 0) {
            for (int64_t j = 0; j < n; j++) outs[i][j] = o->value;
        } else if (outs[i] != inst->bufs[o->slot]) {
            memmove(outs[i], inst->bufs[o->slot], (size_t)n * sizeof(float));
        }
    }
}
