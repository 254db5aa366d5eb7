/* backend_random.c: differential tests of the whole backend (fusion, memory planning, code generation,
 * the threaded runner) on random seeded graphs. Each graph mixes elementwise ops (every unary op the
 * IR has), broadcasting binary ops and comparisons, where, sums and maxima over random axes, matmuls
 * with random transpose flags, reshapes, movement ops (permute, slice, pad, concat) and small conv2d
 * layers, with random outputs, so nodes get several consumers, epilogues fuse into matmuls and sums,
 * and buffers are reused. backend_check.h's check_graph runs each one at O3 (every fourth also at O0 and
 * O3 unfused, which must match fused bitwise), on 1, 2 and 3 threads, against the reference
 * interpreter; with EBMC_TEST_SHORT=1 (test.h) the first 50 graphs at O3 only. A failure names its seed:
 *     backend_random SEED     replays one graph and prints it. */
#include <math.h>
#include <stdio.h>

#include "backend_check.h"

static uint64_t rng;
static unsigned rnd(unsigned n) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng >> 33) % n;
}

/* Ops whose operand must be positive, by name: the set grows with the IR. */
static int needs_positive(enum ir_op op) {
    const char *name = ir_op_name(op);
    return !strcmp(name, "log") || !strcmp(name, "log1p") || !strcmp(name, "sqrt") || !strcmp(name, "rsqrt");
}

static int positive(struct ir_graph *g, int a) {
    return ir_binary(g, IR_ADD, ir_unary(g, IR_SOFTPLUS, a), ir_const_like(g, 0.25, a));
}

static int random_unary(struct ir_graph *g, int a) {
    enum ir_op ops[IR_OP_COUNT];
    int n = 0;
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (ir_op_is_unary_elementwise((enum ir_op)op) && ir_op_arity((enum ir_op)op) == 1) ops[n++] = (enum ir_op)op;
    enum ir_op op = ops[rnd((unsigned)n)];
    if (needs_positive(op)) a = positive(g, a);
    if (op == IR_EXP) a = ir_unary(g, IR_TANH, a); /* keeps exp's result small */
    return ir_unary(g, op, a);
}

/* A matmul of a (2-D) with a node or new parameter of matching shape; scaled by 1/K so values stay O(1). */
static int random_matmul(struct ir_graph *g, int a, int *ids, int n, int *n_params) {
    const struct ir_node *x = ir_node_at(g, a);
    if (x->ndim != 2) return -1;
    unsigned ta = rnd(2), tb = rnd(2);
    int64_t m = x->shape[ta ? 1 : 0], k = x->shape[ta ? 0 : 1];
    int b = -1;
    for (int tries = 0; tries < 8 && b < 0; tries++) { /* an existing node, so operands get shared */
        const struct ir_node *y = ir_node_at(g, ids[rnd((unsigned)n)]);
        if (y->ndim == 2 && y->shape[tb ? 1 : 0] == k) b = (int)(y - g->nodes);
    }
    if (b < 0) {
        char name[16];
        snprintf(name, sizeof name, "w%d", (*n_params)++);
        int64_t cols = 1 + rnd(70), shape[2] = {tb ? cols : k, tb ? k : cols};
        b = ir_param(g, name, 2, shape);
    }
    (void)m;
    int y = ir_matmul(g, a, b, (ta ? IR_TRANS_A : 0) | (tb ? IR_TRANS_B : 0));
    return ir_binary(g, IR_MUL, y, ir_const_like(g, 1.0 / (double)k, y));
}

/* A permute, slice, pad or concat of a along a random axis. */
static int random_movement(struct ir_graph *g, int a, int b) {
    const struct ir_node *x = ir_node_at(g, a), *y = ir_node_at(g, b);
    int ax = (int)rnd((unsigned)x->ndim);
    int64_t len = x->shape[ax];
    switch (rnd(4)) {
    case 0: return x->ndim == 2 ? ir_permute(g, a, (int[]){1, 0}) : -1;
    case 1: {
        int64_t start = rnd((unsigned)len), stop = start + 1 + rnd((unsigned)(len - start));
        return ir_slice_axis(g, a, ax, start, stop, 1 + rnd(3));
    }
    case 2: return ir_pad_axis(g, a, ax, rnd(3), rnd(3));
    default: { /* b if it fits beside a, else a itself */
        int fits = y->ndim == x->ndim;
        for (int i = 0; fits && i < x->ndim; i++) fits = i == ax || y->shape[i] == x->shape[i];
        return ir_concat(g, a, fits ? b : a, ax);
    }
    }
}

/* A small conv2d of a 2-D node seen as one channel [1, 1, R, C], flattened back to 2-D. */
static int random_conv(struct ir_graph *g, int a, int *n_params) {
    const struct ir_node *x = ir_node_at(g, a);
    if (x->ndim != 2) return -1;
    int64_t r = x->shape[0], c = x->shape[1], kh = 1 + rnd(r < 2 ? 1 : 2), kw = 1 + rnd(c < 2 ? 1 : 2);
    int stride = 1 + (int)rnd(2), pad = (int)rnd(2);
    char name[16];
    snprintf(name, sizeof name, "k%d", (*n_params)++);
    int w = ir_param(g, name, 4, (int64_t[]){2, 1, kh, kw});
    int y = ir_conv2d(g, ir_reshape(g, a, 4, (int64_t[]){1, 1, r, c}), w, -1, stride, pad);
    if (y < 0) return -1;
    const struct ir_node *yn = ir_node_at(g, y);
    return ir_reshape(g, y, 2, (int64_t[]){2 * yn->shape[2], yn->shape[3]});
}

static struct ir_graph *random_graph(int seed) {
    rng = (uint64_t)seed * 2654435761u + 1;
    struct ir_graph *g = ir_graph_new();
    int64_t shape[2] = {1 + rnd(40), 1 + rnd(70)};
    int ids[64], n = 0, n_params = 0;
    ids[n++] = ir_input(g, "x", 2, shape);
    int64_t row[2] = {1, shape[1]}, col[2] = {shape[0], 1};
    ids[n++] = ir_param(g, "row", 2, row);
    ids[n++] = ir_param(g, "col", 2, col);
    for (int step = 0; step < 16 && n < 64; step++) {
        int a = ids[rnd((unsigned)n)], b = ids[rnd((unsigned)n)], r = -1;
        const struct ir_node *x = ir_node_at(g, a);
        switch (rnd(15)) {
        case 0:
        case 1:
        case 2: r = random_unary(g, a); break;
        case 3:
        case 4: r = ir_binary_bcast(g, (enum ir_op)(IR_ADD + (int)rnd(3)), a, b); break;
        case 5: r = ir_binary_bcast(g, IR_DIV, a, positive(g, b)); break;
        case 6: r = ir_sum(g, a, (1u + rnd((1u << x->ndim) - 1)) & ((1u << x->ndim) - 1)); break;
        case 7:
        case 8: r = random_matmul(g, a, ids, n, &n_params); break;
        case 9: {
            int64_t flat[2] = {1, ir_node_numel(x)};
            r = rnd(2) ? ir_reshape(g, a, 2, flat) : ir_reshape(g, a, 1, flat + 1); /* [1, n] or [n] */
            break;
        }
        case 10: r = ir_binary_bcast(g, (enum ir_op)(IR_MAXIMUM + (int)rnd(IR_EQ - IR_MAXIMUM + 1)), a, b); break;
        case 11: r = ir_where_bcast(g, ir_binary_bcast(g, IR_GT, a, b), a, b); break;
        case 12: r = ir_max(g, a, (1u + rnd((1u << x->ndim) - 1)) & ((1u << x->ndim) - 1)); break;
        case 13: r = random_movement(g, a, b); break;
        case 14: r = rnd(3) ? random_unary(g, a) : random_conv(g, a, &n_params); break; /* convs compile slowly */
        }
        if (r >= 0) ids[n++] = r;
    }
    int outs = 1 + (int)rnd(3);
    for (int i = 0; i < outs; i++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", i);
        ir_graph_output(g, name, ids[n - 1 - (int)rnd((unsigned)(n < 8 ? n : 8))]);
    }
    return g;
}

int main(int argc, char **argv) {
    int first = 0, last = test_short() ? 49 : 199;
    if (argc > 1) first = last = atoi(argv[1]);
    for (int seed = first; seed <= last; seed++) {
        struct ir_graph *g = random_graph(seed);
        char err[256], label[48];
        CHECK_MSG(ir_verify(g, err, sizeof err) == 0, "seed %d: %s", seed, err);
        if (argc > 1) ir_print(g, stdout);
        snprintf(label, sizeof label, "seed %d", seed);
        int before = test_failures;
        check_fused_only = seed % 4 != 0; /* every fourth graph also at O0 and unfused */
        check_graph(label, g, -1, 1, 2e-4, 2e-4);
        if (test_failures != before) fprintf(stderr, "replay with: backend_random %d\n", seed);
        ir_graph_free(g);
    }
    return test_report();
}
