/* passes_autodiff_graph: what ad_grad does to the graph rather than the values of its rules. It only
 * appends; stop_grad blocks the gradient; unreachable wrt nodes get a zero constant; branches that lead
 * to no wrt node are pruned; the seed works; errors are reported; and a very deep chain is handled in
 * linear time without recursion. */
#include <time.h>

#include "gradcheck.h"

static int node_same(const struct ir_node *a, const struct ir_node *b) {
    if (a->op != b->op || a->ndim != b->ndim || a->axes != b->axes || a->flags != b->flags) return 0;
    if (memcmp(&a->value, &b->value, sizeof a->value) != 0 || strcmp(a->name, b->name) != 0) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return a->in[0] == b->in[0] && a->in[1] == b->in[1];
}

/* The MLP of grad_of_grad.c; returns the energy node. */
static int build_mlp(struct gc *c, int *x, int *w1) {
    struct ir_graph *g = c->g;
    *x = gc_input(c, "x", 2, (int64_t[]){4, 3}, GC_ANY);
    *w1 = gc_param(c, "W1", 2, (int64_t[]){3, 5}, GC_ANY);
    int b1 = gc_param(c, "b1", 1, (int64_t[]){5}, GC_ANY);
    int w2 = gc_param(c, "W2", 2, (int64_t[]){5, 1}, GC_ANY);
    int h = ir_unary(g, IR_SILU, ir_binary_bcast(g, IR_ADD, ir_matmul(g, *x, *w1, 0), b1));
    return ir_sum_all(g, ir_matmul(g, h, w2, 0));
}

/* Snapshot the node table and outputs, differentiate twice (a gradient of a gradient), compare. */
static void test_functional(void) {
    struct gc c;
    gc_init(&c, 1);
    struct ir_graph *g = c.g;
    int x, w1;
    int energy = build_mlp(&c, &x, &w1);
    ir_graph_output(g, "energy", energy);
    int n = g->n_nodes;
    struct ir_node *before = malloc(sizeof *before * (size_t)n);
    memcpy(before, g->nodes, sizeof *before * (size_t)n);

    int score, dw1;
    CHECK(ad_grad(g, energy, -1, 1, &x, &score) == 0);
    int loss = ir_sum_all(g, ir_unary(g, IR_SQUARE, score));
    CHECK(ad_grad(g, loss, -1, 1, &w1, &dw1) == 0);
    CHECK(g->n_nodes > n);

    int same = 1;
    for (int i = 0; i < n; i++) same &= node_same(&before[i], &g->nodes[i]);
    CHECK_MSG(same, "ad_grad changed an existing node");
    CHECK(g->n_outputs == 1 && g->outputs[0].node == energy && strcmp(g->outputs[0].name, "energy") == 0);
    char err[256];
    CHECK_MSG(ir_verify(g, err, sizeof err) == 0, "%s", err);

    /* The hash table still finds the forward nodes: rebuilding one adds nothing. */
    int m = g->n_nodes;
    CHECK(ir_matmul(g, x, w1, 0) < n && g->n_nodes == m);
    /* Differentiating again gives the very same nodes: gradients are hash-consed too. */
    int again;
    CHECK(ad_grad(g, energy, -1, 1, &x, &again) == 0 && again == score && g->n_nodes == m);
    free(before);
    gc_free(&c);
}

static void test_stop_grad(void) {
    struct gc c;
    gc_init(&c, 2);
    struct ir_graph *g = c.g;
    const int64_t s[2] = {2, 3};
    int x = gc_input(&c, "x", 2, s, GC_ANY);
    int p = gc_param(&c, "p", 2, s, GC_ANY);
    int w = gc_input(&c, "w", 2, s, GC_ANY);
    double *xv = c.arg[0], *pv = c.arg[1], *wv = c.arg[2];

    /* sum(w * stop_grad(x) * x): only the unblocked factor is differentiated, so the gradient is w * x. */
    int sgx = ir_stop_grad(g, x);
    int l1 = ir_sum_all(g, ir_binary(g, IR_MUL, w, ir_binary(g, IR_MUL, sgx, x)));
    int d1;
    CHECK(ad_grad(g, l1, -1, 1, &x, &d1) == 0);
    double v[6], *vals[1] = {v};
    CHECK(gc_eval(&c, 1, &d1, vals) == 0);
    for (int i = 0; i < 6; i++) CHECK_CLOSE(v[i], wv[i] * xv[i], 0, 1e-15);

    /* sum(w * stop_grad(x)): x only reaches y through stop_grad, so its gradient is the zero constant. */
    int l2 = ir_sum_all(g, ir_binary(g, IR_MUL, w, sgx));
    int d2, d2s;
    CHECK(ad_grad(g, l2, -1, 1, &x, &d2) == 0);
    CHECK(g->nodes[d2].op == IR_CONST && g->nodes[d2].value == 0 && g->nodes[d2].ndim == 2 &&
          g->nodes[d2].shape[0] == 2 && g->nodes[d2].shape[1] == 3);
    /* ... but the gradient with respect to the stop_grad node itself is an ordinary adjoint: w. */
    CHECK(ad_grad(g, l2, -1, 1, &sgx, &d2s) == 0);
    CHECK(gc_eval(&c, 1, &d2s, vals) == 0);
    for (int i = 0; i < 6; i++) CHECK_CLOSE(v[i], wv[i], 0, 1e-15);

    /* sum(stop_grad(x * p) * p): the gradient w.r.t. p is the blocked product, x * p. */
    int l3 = ir_sum_all(g, ir_binary(g, IR_MUL, ir_stop_grad(g, ir_binary(g, IR_MUL, x, p)), p));
    int d3;
    CHECK(ad_grad(g, l3, -1, 1, &p, &d3) == 0);
    CHECK(gc_eval(&c, 1, &d3, vals) == 0);
    for (int i = 0; i < 6; i++) CHECK_CLOSE(v[i], xv[i] * pv[i], 0, 1e-15);
    gc_free(&c);
}

/* Zero constants for wrt nodes y does not depend on; a branch that leads to no wrt node is never touched. */
static void test_unreachable_and_pruning(void) {
    struct ir_graph *g = ir_graph_new();
    const int64_t s[2] = {2, 3};
    int x = ir_input(g, "x", 2, s);
    int p = ir_param(g, "p", 2, s);
    int ep = ir_unary(g, IR_EXP, p);
    int y = ir_binary(g, IR_ADD, ir_sum_all(g, ir_unary(g, IR_TANH, x)), ir_sum_all(g, ep));
    int q = ir_param(g, "q", 1, (int64_t[]){7}); /* created after y */
    int n = g->n_nodes;
    int wrt[3] = {x, q, x}, grads[3];
    CHECK(ad_grad(g, y, -1, 3, wrt, grads) == 0);
    CHECK(grads[0] == grads[2]); /* duplicates are fine */
    CHECK(g->nodes[grads[1]].op == IR_CONST && g->nodes[grads[1]].value == 0 && g->nodes[grads[1]].ndim == 1 &&
          g->nodes[grads[1]].shape[0] == 7);
    for (int id = n; id < g->n_nodes; id++) /* nothing about exp(p): that branch does not reach x */
        CHECK(g->nodes[id].in[0] != ep && g->nodes[id].in[1] != ep);

    /* The gradient of y with respect to y is the seed: ones by default, else the seed node. */
    int dy, seed = ir_const(g, 3, 1, (int64_t[]){1});
    CHECK(ad_grad(g, y, -1, 1, &y, &dy) == 0);
    CHECK(g->nodes[dy].op == IR_CONST && g->nodes[dy].value == 1);
    CHECK(ad_grad(g, y, seed, 1, &y, &dy) == 0 && dy == seed);
    ir_graph_free(g);
}

/* ad_grad(f, seed = w) is the gradient of sum(w * f). */
static void test_seed(void) {
    struct gc c;
    gc_init(&c, 3);
    struct ir_graph *g = c.g;
    int x = gc_input(&c, "x", 2, (int64_t[]){2, 3}, GC_ANY);
    int w = gc_input(&c, "w", 2, (int64_t[]){2, 3}, GC_ANY);
    int f = ir_unary(g, IR_SIGMOID, ir_unary(g, IR_SQUARE, x));
    int d_seed, d_sum;
    CHECK(ad_grad(g, f, w, 1, &x, &d_seed) == 0);
    CHECK(ad_grad(g, ir_sum_all(g, ir_binary(g, IR_MUL, w, f)), -1, 1, &x, &d_sum) == 0);
    double a[6], b[6], *vals[2] = {a, b};
    int nodes[2] = {d_seed, d_sum};
    CHECK(gc_eval(&c, 2, nodes, vals) == 0);
    for (int i = 0; i < 6; i++) CHECK_CLOSE(a[i], b[i], 0, 1e-15);
    gc_free(&c);
}

static void test_errors(void) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 1, (int64_t[]){3});
    int y = ir_sum_all(g, ir_unary(g, IR_EXP, x));
    int bad_seed = ir_const(g, 1, 1, (int64_t[]){3});
    int d, missing = 1000;
    CHECK(ad_grad(g, -1, -1, 1, &x, &d) == -1 && strstr(ir_graph_error(g), "autodiff"));
    CHECK(ad_grad(g, g->n_nodes, -1, 1, &x, &d) == -1 && strstr(ir_graph_error(g), "does not exist"));
    CHECK(ad_grad(g, y, -1, 1, &missing, &d) == -1 && strstr(ir_graph_error(g), "wrt"));
    CHECK(ad_grad(g, y, bad_seed, 1, &x, &d) == -1 && strstr(ir_graph_error(g), "seed"));
    CHECK(ad_grad(g, y, -7, 1, &x, &d) == -1 && strstr(ir_graph_error(g), "seed"));
    CHECK(ad_grad(g, y, -1, 1, NULL, &d) == -1);
    CHECK(ad_grad(g, y, -1, 0, NULL, NULL) == 0); /* nothing asked, nothing to do */
    ir_graph_free(g);
}

/* h_{k+1} = h_k + c tanh(h_k), DEPTH times: 3 nodes per step. dh_N/dh_0 is the product of
 * 1 + c (1 - tanh(h_k)^2), computed directly here. A lookup that is linear in the graph size (O(N^2)
 * overall) would take seconds at this size, which the printed time shows; the node count is asserted. */
enum { DEPTH = 20000 };

static void test_deep_chain(void) {
    struct gc c;
    gc_init(&c, 4);
    struct ir_graph *g = c.g;
    const double k = 1e-3;
    int x = gc_input(&c, "x", 1, (int64_t[]){2}, GC_ANY);
    int coef = ir_const_like(g, k, x), h = x;
    for (int i = 0; i < DEPTH; i++) h = ir_binary(g, IR_ADD, h, ir_binary(g, IR_MUL, coef, ir_unary(g, IR_TANH, h)));
    int y = ir_sum_all(g, h);
    int n = g->n_nodes;
    CHECK(n >= 3 * DEPTH);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int d;
    CHECK(ad_grad(g, y, -1, 1, &x, &d) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    /* Shown, not asserted (tests do not time; a sanitizer build runs 50x slower): natively ~10 ms. */
    printf("ad_grad on %d nodes: %.3f s\n", n, secs);
    CHECK_MSG(g->n_nodes - n <= 4 * n, "%d gradient nodes for %d forward nodes", g->n_nodes - n, n);

    double v[2], *vals[1] = {v};
    CHECK(gc_eval(&c, 1, &d, vals) == 0);
    for (int j = 0; j < 2; j++) {
        double hj = c.arg[0][j], want = 1;
        for (int i = 0; i < DEPTH; i++) {
            double t = tanh(hj);
            want *= 1 + k * (1 - t * t);
            hj += k * t;
        }
        /* The same operations in another order: rounding drifts by ~DEPTH * eps. */
        CHECK_CLOSE(v[j], want, 0, 1e-9);
    }
    gc_free(&c);
}

int main(void) {
    test_functional();
    test_stop_grad();
    test_unreachable_and_pruning();
    test_seed();
    test_errors();
    test_deep_chain();
    return test_report();
}
