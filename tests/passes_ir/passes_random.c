/* passes_random.c: differential tests of the passes on random seeded graphs, and the pipeline API.
 *
 * Each graph mixes every op with the constants the identities look for (0, 1, -1, powers of two) and
 * with nodes the builders never make (trivial reshapes and broadcasts, reshape of reshape), so every
 * rule fires. Each pass alone and the default pipeline must keep arguments and outputs, produce a valid
 * graph, and give the reference interpreter's outputs within 1e-12 relative; the pipeline must be
 * idempotent. A failure names its seed. */
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "ir.h"
#include "pass.h"
#include "test.h"

static uint64_t rng_state;
static unsigned rnd(unsigned n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33) % n;
}

/* A node as written, through ir_node_add (no builder rewriting). */
static int raw(struct ir_graph *g, enum ir_op op, int a, int ndim, const int64_t *shape) {
    struct ir_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.ndim = ndim;
    memcpy(n.shape, shape, sizeof(int64_t) * (size_t)ndim);
    n.in[0] = a;
    n.in[1] = n.in[2] = -1;
    return ir_node_add(g, &n);
}

static struct ir_graph *random_graph(int seed) {
    static const double consts[] = {0, 1, -1, 2, 0.5, -0.25, 3, 0.1};
    rng_state = (uint64_t)seed * 2654435761u + 17;
    struct ir_graph *g = ir_graph_new();
    int64_t s[2] = {1 + rnd(3), 1 + rnd(3)};
    int ids[96], n = 0;
    ids[n++] = ir_input(g, "x", 2, s);
    ids[n++] = ir_param(g, "w", 2, s);
    ids[n++] = ir_param(g, "v", 1, s); /* often unused: dce must keep it */
    for (int k = 0; k < 60 && n < 96; k++) {
        int a = ids[rnd((unsigned)n)], b = ids[rnd((unsigned)n)], r = -1;
        struct ir_node na = *ir_node_at(g, a);
        int64_t flat = ir_node_numel(&na);
        switch (rnd(15)) {
        case 0:
        case 1: {
            static const enum ir_op safe[] = {IR_NEG,       IR_TANH, IR_SIGMOID,    IR_SILU, IR_SOFTPLUS, IR_RELU,
                                              IR_STEP,      IR_NEG,  IR_STOP_GRAD,  IR_EXP,  IR_ABS,      IR_GELU,
                                              IR_LEAKY_RELU, IR_ELU, IR_SIN,        IR_COS};
            enum ir_op op = safe[rnd(sizeof safe / sizeof *safe)];
            if (op == IR_EXP) a = ir_unary(g, IR_TANH, a); /* bounded, so exp stays finite */
            r = ir_unary(g, op, a);
            break;
        }
        case 2:
        case 3: r = ir_binary_bcast(g, (enum ir_op)(IR_ADD + (int)rnd(3)), a, b); break;
        case 4: r = ir_const_like(g, consts[rnd(sizeof consts / sizeof *consts)], a); break;
        case 5: r = ir_binary(g, (enum ir_op)(IR_ADD + (int)rnd(4)), a, ir_const_like(g, consts[rnd(5)], a)); break;
        case 6: r = ir_binary(g, (enum ir_op)(IR_ADD + (int)rnd(3)), ir_const_like(g, consts[rnd(5)], a), a); break;
        case 7: r = rnd(3) ? ir_sum(g, a, rnd(1u << na.ndim)) : ir_max(g, a, rnd(1u << na.ndim)); break;
        case 8: r = raw(g, IR_RESHAPE, raw(g, IR_RESHAPE, a, 1, &flat), na.ndim, na.shape); break;
        case 9: r = raw(g, IR_BROADCAST, a, na.ndim, na.shape); break;
        case 10: r = ir_matmul(g, a, b, rnd(4)); break;
        case 11: r = ir_binary(g, IR_MUL, ir_const_like(g, consts[3 + rnd(3)], a),
                               ir_binary(g, IR_MUL, a, ir_const_like(g, consts[3 + rnd(5)], a)));
            break;
        case 12: r = ir_binary_bcast(g, (enum ir_op)(IR_MAXIMUM + (int)rnd(IR_EQ - IR_MAXIMUM + 1)), a, b); break;
        case 14: { /* movement, with constant operands sometimes (simplify folds them) */
            int ax = (int)rnd((unsigned)na.ndim);
            switch (rnd(4)) {
            case 0: r = ir_permute(g, a, na.ndim == 2 ? (int[]){1, 0} : (int[]){0}); break;
            case 1: r = ir_pad_axis(g, a, ax, rnd(2), rnd(2)); break;
            case 2: r = ir_slice_axis(g, a, ax, rnd(2) && na.shape[ax] > 1, na.shape[ax], 1 + rnd(2)); break;
            case 3: r = ir_concat(g, a, rnd(2) ? a : ir_const_like(g, consts[rnd(3)], a), ax); break;
            }
            break;
        }
        case 13: { /* where, with a condition that is sometimes a constant (simplify picks a branch) */
            int cond = rnd(2) ? ir_binary(g, IR_GT, a, b) : ir_const_like(g, consts[rnd(3)], a);
            r = ir_where_bcast(g, cond, a, b);
            break;
        }
        }
        if (r >= 0) ids[n++] = r;
    }
    for (int k = 0; k < 4; k++) {
        char name[8];
        snprintf(name, sizeof name, "o%d", k);
        ir_graph_output(g, name, ids[n - 1 - (int)rnd((unsigned)(n < 8 ? n : 8))]);
    }
    return g;
}

static double **run(const struct ir_graph *g, int seed) {
    int n_args = ir_graph_args(g, NULL), ids[8];
    double **args = calloc(8, sizeof *args), **outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
    ir_graph_args(g, ids);
    rng_state = (uint64_t)seed;
    for (int i = 0; i < n_args && i < 8; i++) {
        int64_t numel = ir_node_numel(ir_node_at(g, ids[i]));
        args[i] = malloc(sizeof(double) * (size_t)numel);
        for (int64_t j = 0; j < numel; j++) args[i][j] = (double)((int)rnd(4001) - 2000) / 1000;
    }
    for (int i = 0; i < g->n_outputs; i++)
        outs[i] = malloc(sizeof(double) * (size_t)ir_node_numel(ir_node_at(g, g->outputs[i].node)));
    char err[256];
    CHECK_MSG(interp_run(g, (const double *const *)args, outs, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 8; i++) free(args[i]);
    free(args);
    return outs;
}

/* o must compute what g computes, with the same arguments and outputs. */
static void compare(const struct ir_graph *g, const struct ir_graph *o, const char *what, int seed) {
    char err[256];
    CHECK_MSG(ir_verify(o, err, sizeof err) == 0, "seed %d, %s: %s", seed, what, err);
    int na = ir_graph_args(g, NULL), ia[8], ib[8];
    CHECK_MSG(na == ir_graph_args(o, NULL), "seed %d, %s: argument count", seed, what);
    ir_graph_args(g, ia);
    ir_graph_args(o, ib);
    for (int i = 0; i < na; i++)
        CHECK_MSG(strcmp(ir_node_at(g, ia[i])->name, ir_node_at(o, ib[i])->name) == 0, "seed %d, %s: argument %d", seed,
                  what, i);
    CHECK(g->n_outputs == o->n_outputs);
    double **a = run(g, seed), **b = run(o, seed);
    for (int i = 0; i < g->n_outputs; i++) {
        CHECK(strcmp(g->outputs[i].name, o->outputs[i].name) == 0);
        for (int64_t j = 0; j < ir_node_numel(ir_node_at(g, g->outputs[i].node)); j++) {
            double x = a[i][j], y = b[i][j], scale = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
            if (!isfinite(x)) continue; /* x*0 -> 0 assumes finite x */
            if (!(fabs(x - y) <= 1e-12 * scale)) {
                CHECK_MSG(0, "seed %d, %s: output %s[%lld] = %.17g, optimized %.17g", seed, what, g->outputs[i].name,
                          (long long)j, x, y);
                break;
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) free(a[i]), free(b[i]);
    free(a);
    free(b);
}

static void test_random(void) {
    long before = 0, after = 0;
    for (int seed = 1; seed <= 300; seed++) {
        struct ir_graph *g = random_graph(seed);
        char err[512];
        for (int p = 0; p < pass_count(); p++) {
            struct ir_graph *o = pass_at(p)->run(g, err, sizeof err);
            CHECK_MSG(o != NULL, "seed %d, %s: %s", seed, pass_at(p)->name, err);
            if (o) compare(g, o, pass_at(p)->name, seed);
            ir_graph_free(o);
        }
        struct ir_graph *o = pass_run_pipeline(g, PASS_DEFAULT_PIPELINE, NULL, NULL, err, sizeof err);
        CHECK_MSG(o != NULL, "seed %d: %s", seed, err);
        if (!o) {
            ir_graph_free(g);
            continue;
        }
        compare(g, o, "pipeline", seed);
        before += g->n_nodes;
        after += o->n_nodes;
        struct ir_graph *again = pass_run_pipeline(o, PASS_DEFAULT_PIPELINE, NULL, NULL, err, sizeof err);
        char *p1 = ir_print_string(o), *p2 = again ? ir_print_string(again) : NULL;
        CHECK_MSG(p2 && strcmp(p1, p2) == 0, "seed %d: the pipeline is not idempotent:\n%s---\n%s", seed, p1, p2);
        free(p1);
        free(p2);
        ir_graph_free(again);
        ir_graph_free(o);
        ir_graph_free(g);
    }
    fprintf(stderr, "random graphs: %ld nodes before the pipeline, %ld after\n", before, after);
    CHECK(after < before);
}

/* Pipeline strings, --print-after, and errors. */
static void test_pipeline_api(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s = 3;
    int x = ir_input(g, "x", 1, &s);
    ir_graph_output(g, "y", ir_binary(g, IR_MUL, x, ir_const(g, 1.0, 1, &s)));
    char err[256];
    CHECK(pass_find("simplify") && pass_find("cse") && pass_find("dce") && !pass_find("nope"));
    CHECK(pass_count() == 3 && pass_at(3) == NULL && pass_at(-1) == NULL);

    static const struct {
        const char *pipeline, *print_after, *error; /* error: NULL = success */
    } cases[] = {
        {"", NULL, NULL},
        {"simplify, dce", NULL, NULL},
        {"dce,dce,cse", "dce", NULL},
        {"simplify,nope", NULL, "unknown pass 'nope' in the pipeline (have: simplify, cse, dce)"},
        {"simplify,,dce", NULL, "empty pass name in the pipeline 'simplify,,dce'"},
        {"simplify,", NULL, "empty pass name in the pipeline 'simplify,'"},
        {",", NULL, "empty pass name in the pipeline ','"},
        {"simplify", "nope", "unknown pass 'nope' in --print-after (have: simplify, cse, dce)"},
        {"simplify", "dce", "--print-after: pass 'dce' is not in the pipeline 'simplify'"},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct ir_graph *o = pass_run_pipeline(g, cases[i].pipeline, cases[i].print_after, f, err, sizeof err);
        fclose(f);
        if (cases[i].error) CHECK_MSG(!o && strcmp(err, cases[i].error) == 0, "'%s': %s", cases[i].pipeline, o ? "ok" : err);
        else CHECK_MSG(o != NULL, "'%s': %s", cases[i].pipeline, err);
        if (i == 2) { /* dce ran twice: printed twice */
            const char *first = strstr(buf, "; after dce\n");
            CHECK(first && strstr(first + 1, "; after dce\n") && !strstr(buf, "; after cse"));
        }
        if (i == 1) CHECK(o && o->n_nodes == 1 && o->outputs[0].node == 0);
        free(buf);
        ir_graph_free(o);
    }
    /* An empty pipeline is an exact copy. */
    struct ir_graph *c = pass_run_pipeline(g, "", NULL, NULL, err, sizeof err);
    char *a = ir_print_string(g), *b = ir_print_string(c);
    CHECK(strcmp(a, b) == 0);
    free(a);
    free(b);
    ir_graph_free(c);
    ir_graph_free(g);
}

int main(void) {
    test_pipeline_api();
    test_random();
    return test_report();
}
