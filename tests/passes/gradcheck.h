/* gradcheck.h: finite-difference checks of ad_grad, evaluated in double by the reference interpreter.
 *
 * A struct gc owns a graph and one random buffer per argument (INPUT/PARAM), created in node order so
 * that its buffers line up with ir_graph_args(). gc_check differentiates a scalar loss with ad_grad,
 * evaluates the gradient with interp_run, and compares every element with a central difference of the
 * loss. gc_check2 also checks second derivatives: it differentiates sum_i(v_i * grad_i) again with
 * fresh random v_i, which exercises every rule on graphs that already contain a backward pass. */
#ifndef EBMC_TESTS_GRADCHECK_H
#define EBMC_TESTS_GRADCHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "interp.h"
#include "ir.h"
#include "op_coverage.h"
#include "test.h"

/* Tolerance, |analytic - fd| <= GC_ATOL + GC_RTOL |fd|. With relative step h = 1e-6 and O(1) values,
 * the central difference has truncation error ~h^2 |f'''| ~ 1e-11 and rounding error ~eps |L| / h ~ 1e-9
 * for losses up to |L| ~ 10 (the worst error seen in these tests is ~1e-9); 1e-6 leaves a wide margin,
 * while a wrong rule is off by O(0.1). */
#define GC_REL_STEP 1e-6
#define GC_ATOL 1e-6
#define GC_RTOL 1e-6
#define GC_MAX_ARGS 32

enum gc_domain {
    GC_ANY,  /* uniform in [-1.5, 1.5] */
    GC_POS,  /* uniform in [0.5, 2]: log, sqrt, divisors */
    GC_AWAY, /* +-[0.3, 1.5]: relu and step, whose kinks at 0 finite differences must not straddle */
};

struct gc {
    struct ir_graph *g;
    int n_args;
    int arg_node[GC_MAX_ARGS];
    double *arg[GC_MAX_ARGS]; /* in ir_graph_args() order */
    uint64_t rng;
    int n_names; /* for unique output and input names */
};

static inline void gc_init(struct gc *c, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->g = ir_graph_new();
    c->rng = seed * 0x9e3779b97f4a7c15ull + 1;
}

static inline void gc_free(struct gc *c) {
    for (int i = 0; i < c->n_args; i++) free(c->arg[i]);
    ir_graph_free(c->g);
}

/* splitmix64: a fixed seed gives the same numbers everywhere. Returns a uniform double in [0, 1). */
static inline double gc_uniform(struct gc *c) {
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

static inline double gc_sample(struct gc *c, enum gc_domain d) {
    double u = gc_uniform(c);
    switch (d) {
    case GC_POS: return 0.5 + 1.5 * u;
    case GC_AWAY: return (gc_uniform(c) < 0.5 ? -1 : 1) * (0.3 + 1.2 * u);
    default: return -1.5 + 3 * u;
    }
}

/* A new INPUT (param = 0) or PARAM argument with random contents. */
static inline int gc_arg(struct gc *c, int param, const char *name, int ndim, const int64_t *shape, enum gc_domain d) {
    int id = param ? ir_param(c->g, name, ndim, shape) : ir_input(c->g, name, ndim, shape);
    CHECK_MSG(id >= 0 && c->n_args < GC_MAX_ARGS, "gc_arg %s: %s", name, ir_graph_error(c->g));
    if (id < 0 || c->n_args >= GC_MAX_ARGS) return -1;
    int ids[GC_MAX_ARGS + 1];
    CHECK(ir_graph_args(c->g, ids) == c->n_args + 1 && ids[c->n_args] == id); /* appended last */
    int64_t n = ir_node_numel(&c->g->nodes[id]);
    double *buf = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) buf[i] = gc_sample(c, d);
    c->arg_node[c->n_args] = id;
    c->arg[c->n_args++] = buf;
    return id;
}

static inline int gc_input(struct gc *c, const char *name, int ndim, const int64_t *shape, enum gc_domain d) {
    return gc_arg(c, 0, name, ndim, shape, d);
}

static inline int gc_param(struct gc *c, const char *name, int ndim, const int64_t *shape, enum gc_domain d) {
    return gc_arg(c, 1, name, ndim, shape, d);
}

/* sum(w * x) for a fresh random input w shaped like x: a scalar [1] loss whose seed is not all ones. */
static inline int gc_weighted_sum(struct gc *c, int x) {
    char name[IR_NAME_LEN];
    snprintf(name, sizeof name, "w%d", c->n_names++);
    const struct ir_node n = c->g->nodes[x];
    int w = gc_input(c, name, n.ndim, n.shape, GC_ANY);
    return ir_sum_all(c->g, ir_binary(c->g, IR_MUL, w, x));
}

/* Evaluates nodes[0..n) into vals (caller-sized), making each a graph output if it is not one yet. */
static inline int gc_eval(struct gc *c, int n, const int *nodes, double **vals) {
    struct ir_graph *g = c->g;
    for (int i = 0; i < n; i++) {
        char name[IR_NAME_LEN];
        snprintf(name, sizeof name, "n%d", nodes[i]);
        if (ir_graph_find_output(g, name) < 0 && ir_graph_output(g, name, nodes[i]) != 0) return -1;
    }
    double **outs = calloc((size_t)g->n_outputs, sizeof *outs);
    for (int i = 0; i < g->n_outputs; i++)
        outs[i] = malloc(sizeof(double) * (size_t)ir_node_numel(&g->nodes[g->outputs[i].node]));
    char err[256] = "";
    int rc = interp_run(g, (const double *const *)c->arg, outs, err, sizeof err);
    CHECK_MSG(rc == 0, "interp_run: %s", err);
    for (int i = 0; i < n && rc == 0; i++) {
        char name[IR_NAME_LEN];
        snprintf(name, sizeof name, "n%d", nodes[i]);
        memcpy(vals[i], outs[ir_graph_find_output(g, name)], sizeof(double) * (size_t)ir_node_numel(&g->nodes[nodes[i]]));
    }
    for (int i = 0; i < g->n_outputs; i++) free(outs[i]);
    free(outs);
    return rc;
}

static inline double gc_eval_scalar(struct gc *c, int node) {
    double v = NAN, *vals[1] = {&v};
    gc_eval(c, 1, &node, vals);
    return v;
}

/* Checks d(loss)/d(wrt[i]) from ad_grad against central differences; wrt must be argument nodes. Fills
 * grads (if non-NULL) with the gradient nodes. Returns the largest error seen, for the record. */
static inline double gc_check(struct gc *c, int loss, int n_wrt, const int *wrt, int *grads, const char *what) {
    int local[GC_MAX_ARGS];
    int *gr = grads ? grads : local;
    CHECK_MSG(loss >= 0 && ir_node_numel(&c->g->nodes[loss]) == 1, "%s: loss must be a scalar", what);
    int rc = ad_grad(c->g, loss, -1, n_wrt, wrt, gr);
    CHECK_MSG(rc == 0, "%s: ad_grad: %s", what, ir_graph_error(c->g));
    if (rc != 0) return INFINITY;
    char err[256];
    CHECK_MSG(ir_verify(c->g, err, sizeof err) == 0, "%s: %s", what, err);

    double worst = 0;
    for (int i = 0; i < n_wrt; i++) {
        int k = 0;
        while (k < c->n_args && c->arg_node[k] != wrt[i]) k++;
        CHECK_MSG(k < c->n_args, "%s: wrt %%%d is not an argument", what, wrt[i]);
        if (k == c->n_args) continue;
        int64_t n = ir_node_numel(&c->g->nodes[wrt[i]]);
        double *an = malloc(sizeof(double) * (size_t)n);
        double *vals[1] = {an};
        if (gc_eval(c, 1, &gr[i], vals) == 0) {
            for (int64_t j = 0; j < n; j++) {
                double v = c->arg[k][j], h = GC_REL_STEP * fmax(1.0, fabs(v));
                double xp = v + h, xm = v - h; /* divide by the step actually taken, not 2h */
                c->arg[k][j] = xp;
                double lp = gc_eval_scalar(c, loss);
                c->arg[k][j] = xm;
                double lm = gc_eval_scalar(c, loss);
                c->arg[k][j] = v;
                double fd = (lp - lm) / (xp - xm), e = fabs(an[j] - fd);
                worst = fmax(worst, e);
                CHECK_MSG(e <= GC_ATOL + GC_RTOL * fabs(fd), "%s: d/d%s[%lld]: analytic %.12g, fd %.12g", what,
                          c->g->nodes[wrt[i]].name, (long long)j, an[j], fd);
            }
        }
        free(an);
    }
    return worst;
}

/* First and second derivatives: checks loss, then loss2 = sum_i sum(v_i * d loss / d wrt[i]). */
static inline void gc_check2(struct gc *c, int loss, int n_wrt, const int *wrt, const char *what) {
    int grads[GC_MAX_ARGS];
    op_coverage_mark(c->g, loss); /* the forward ops whose rules this checks */
    gc_check(c, loss, n_wrt, wrt, grads, what);
    int loss2 = -1;
    for (int i = 0; i < n_wrt; i++) {
        int t = gc_weighted_sum(c, grads[i]);
        loss2 = loss2 < 0 ? t : ir_binary(c->g, IR_ADD, loss2, t);
    }
    char what2[128];
    snprintf(what2, sizeof what2, "%s (second order)", what);
    gc_check(c, loss2, n_wrt, wrt, NULL, what2);
}

#endif
