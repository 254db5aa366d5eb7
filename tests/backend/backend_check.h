/* backend_check.h: the comparison every backend test makes. A graph gets random arguments; the
 * interpreter evaluates it in double; the JIT runs it at O3, O0 and O3 without fusion and memory
 * planning, with every kernel split across 1, 2 and 3 threads. Each JIT output must be within atol + rtol * |ref| of the interpreter's, and the
 * multithreaded results must be bitwise equal to the 1-thread ones. With EBMC_TEST_SHORT=1 (test.h: the
 * sanitizer run, which instruments the compiler and not the code it generates) only at O3. */
#ifndef EBMC_BACKEND_CHECK_H
#define EBMC_BACKEND_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "jit.h"
#include "op_coverage.h"
#include "test.h"

static uint64_t check_rng_state = 0x9e3779b97f4a7c15ull;

/* Set: check_graph compiles only the fused O3 program (the others cost compile time). */
static int check_fused_only;

/* Uniform in [lo, hi) from xorshift64*: reproducible on every machine. */
static double check_uniform(double lo, double hi) {
    check_rng_state ^= check_rng_state >> 12;
    check_rng_state ^= check_rng_state << 25;
    check_rng_state ^= check_rng_state >> 27;
    uint64_t r = check_rng_state * 2685821657736338717ull;
    return lo + (hi - lo) * (double)(r >> 11) * (1.0 / 9007199254740992.0);
}

static int64_t check_numel(const struct ir_graph *g, int id) { return ir_node_numel(ir_node_at(g, id)); }

/* Arguments for g, uniform in [lo, hi): float for the JIT, the same values as double for the oracle. */
struct check_args {
    int n;
    float **f;
    double **d;
};

static struct check_args check_args_new(const struct ir_graph *g, double lo, double hi) {
    struct check_args a;
    int ids[g->n_nodes + 1];
    a.n = ir_graph_args(g, ids);
    a.f = calloc((size_t)a.n + 1, sizeof *a.f);
    a.d = calloc((size_t)a.n + 1, sizeof *a.d);
    for (int i = 0; i < a.n; i++) {
        int64_t k = check_numel(g, ids[i]);
        a.f[i] = malloc(sizeof(float) * (size_t)k);
        a.d[i] = malloc(sizeof(double) * (size_t)k);
        for (int64_t j = 0; j < k; j++) {
            a.f[i][j] = (float)check_uniform(lo, hi);
            a.d[i][j] = a.f[i][j];
        }
    }
    return a;
}

static void check_args_free(struct check_args *a) {
    for (int i = 0; i < a->n; i++) {
        free(a->f[i]);
        free(a->d[i]);
    }
    free(a->f);
    free(a->d);
}

/* One buffer per graph output, of element type size `elem`. */
static void **check_outs_new(const struct ir_graph *g, size_t elem) {
    void **o = calloc((size_t)g->n_outputs + 1, sizeof *o);
    for (int i = 0; i < g->n_outputs; i++) o[i] = calloc((size_t)check_numel(g, g->outputs[i].node), elem);
    return o;
}

static void check_outs_free(const struct ir_graph *g, void **o) {
    for (int i = 0; i < g->n_outputs; i++) free(o[i]);
    free(o);
}

/* Compares one run's outputs with the oracle's; one CHECK per output, naming the worst element. */
static void check_against(const char *what, const struct ir_graph *g, float **got, double **ref, double atol,
                          double rtol) {
    for (int i = 0; i < g->n_outputs; i++) {
        int64_t k = check_numel(g, g->outputs[i].node), bad = 0, worst = 0;
        double worst_excess = -1;
        for (int64_t j = 0; j < k; j++) {
            double diff = fabs((double)got[i][j] - ref[i][j]), limit = atol + rtol * fabs(ref[i][j]);
            if (!(diff <= limit)) bad++; /* NaN counts as bad */
            double excess = diff != diff ? INFINITY : diff - limit;
            if (excess > worst_excess) {
                worst_excess = excess;
                worst = j;
            }
        }
        CHECK_MSG(bad == 0, "%s: output '%s': %lld of %lld elements off; e.g. [%lld]: jit %.9g, interp %.9g", what,
                  g->outputs[i].name, (long long)bad, (long long)k, (long long)worst, (double)got[i][worst],
                  ref[i][worst]);
    }
}

static int check_bitwise_equal(const struct ir_graph *g, float **a, float **b) {
    for (int i = 0; i < g->n_outputs; i++)
        if (memcmp(a[i], b[i], sizeof(float) * (size_t)check_numel(g, g->outputs[i].node)) != 0) return 0;
    return 1;
}

/* The whole comparison for one graph, with arguments drawn from [lo, hi): the JIT at O0, at O3, and at
 * O3 without fusion and memory planning, each against the interpreter and across thread counts; and
 * fused against unfused bitwise (fusion keeps every value in f32 and changes no operation). */
static void check_graph(const char *what, const struct ir_graph *g, double lo, double hi, double atol, double rtol) {
    op_coverage_mark(g, -1);
    struct check_args args = check_args_new(g, lo, hi);
    double **ref = (double **)check_outs_new(g, sizeof(double));
    char err[256] = "";
    int rc = interp_run(g, (const double *const *)args.d, ref, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: interp: %s", what, err);
    static const struct jit_options configs[] = {{.opt_level = 3}, {.opt_level = 0}, {.opt_level = 3, .no_fusion = 1, .no_memory_planning = 1}};
    static const char *const names[] = {"O3", "O0", "O3 unfused"};
    float **fused = NULL;
    for (int c = 0; c < (check_fused_only || test_short() ? 1 : 3) && rc == 0; c++) {
        struct jit_program *p = jit_compile(g, &configs[c], err, sizeof err);
        CHECK_MSG(p != NULL, "%s: jit_compile %s: %s", what, names[c], err);
        if (!p) continue;
        jit_set_min_parallel_work(p, 0); /* split every kernel, however small */
        float **one = (float **)check_outs_new(g, sizeof(float));
        jit_run(p, args.f, one, 1);
        char label[160];
        snprintf(label, sizeof label, "%s (%s)", what, names[c]);
        check_against(label, g, one, ref, atol, rtol);
        for (int nt = 2; nt <= 3; nt++) {
            float **many = (float **)check_outs_new(g, sizeof(float));
            jit_run(p, args.f, many, nt);
            CHECK_MSG(check_bitwise_equal(g, one, many), "%s: %d threads differ from 1 thread", label, nt);
            check_outs_free(g, (void **)many);
        }
        if (c == 0) fused = one;
        else {
            if (fused) CHECK_MSG(check_bitwise_equal(g, fused, one), "%s: differs from the fused program", label);
            check_outs_free(g, (void **)one);
        }
        jit_free(p);
    }
    if (fused) check_outs_free(g, (void **)fused);
    check_outs_free(g, (void **)ref);
    check_args_free(&args);
}

#endif
