/* backend_mlp: a small MLP energy E(x) = sum(silu(x W1 + b1) W2 + b2), as the frontend would build
 * it, run through the JIT with several outputs: against the interpreter, across thread counts with the
 * default parallel threshold, with arguments rebound between runs, and updating an argument in place.
 * Then its gradients (transposed matmuls, sums back to bias shapes) and a gradient of a gradient, as a
 * training step builds them. */
#include "autodiff.h"
#include "backend_check.h"

#define ATOL 1e-4
#define RTOL 1e-4

struct mlp {
    struct ir_graph *g;
    int x, energy, per_sample, hidden;
};

static struct mlp mlp_new(int64_t batch) {
    struct mlp m;
    struct ir_graph *g = m.g = ir_graph_new();
    m.x = ir_input(g, "x", 2, (int64_t[]){batch, 2});
    int w1 = ir_param(g, "w1", 2, (int64_t[]){2, 32});
    int b1 = ir_param(g, "b1", 1, (int64_t[]){32});
    int w2 = ir_param(g, "w2", 2, (int64_t[]){32, 1});
    int b2 = ir_param(g, "b2", 1, (int64_t[]){1});
    m.hidden = ir_unary(g, IR_SILU, ir_binary_bcast(g, IR_ADD, ir_matmul(g, m.x, w1, 0), b1));
    m.per_sample = ir_binary_bcast(g, IR_ADD, ir_matmul(g, m.hidden, w2, 0), b2);
    m.energy = ir_sum_all(g, m.per_sample);
    ir_graph_output(g, "energy", m.energy);
    ir_graph_output(g, "per_sample", m.per_sample);
    ir_graph_output(g, "hidden", m.hidden);
    ir_graph_output(g, "energy_again", m.energy); /* one node, two outputs */
    return m;
}

/* Runs p on args with nthreads and compares with the interpreter; returns the outputs. */
static float **run_and_compare(const char *what, struct jit_program *p, const struct ir_graph *g,
                               const struct check_args *a, int nthreads) {
    double **ref = (double **)check_outs_new(g, sizeof(double));
    float **out = (float **)check_outs_new(g, sizeof(float));
    char err[256];
    CHECK_MSG(interp_run(g, (const double *const *)a->d, ref, err, sizeof err) == 0, "%s", err);
    jit_run(p, a->f, out, nthreads);
    check_against(what, g, out, ref, ATOL, RTOL);
    check_outs_free(g, (void **)ref);
    return out;
}

static void test_small_batch(void) {
    struct mlp m = mlp_new(64);
    check_graph("mlp batch 64", m.g, -2, 2, ATOL, RTOL);
    ir_graph_free(m.g);
}

/* Batch 1024 is large enough that the default threshold splits the matmuls and activations. */
static void test_default_threshold(void) {
    struct mlp m = mlp_new(1024);
    char err[256];
    struct jit_program *p = jit_compile(m.g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    struct check_args a = check_args_new(m.g, -2, 2);
    float **one = run_and_compare("mlp 1024, 1 thread", p, m.g, &a, 1);
    float **two = run_and_compare("mlp 1024, 2 threads", p, m.g, &a, 2);
    float **dflt = run_and_compare("mlp 1024, default threads", p, m.g, &a, 0);
    CHECK(check_bitwise_equal(m.g, one, two));
    CHECK(check_bitwise_equal(m.g, one, dflt));
    CHECK(one[0][0] == one[3][0]);

    /* new argument values, same program: nothing stale survives from the first run */
    struct check_args b = check_args_new(m.g, -1, 1);
    float **again = run_and_compare("mlp 1024, new arguments", p, m.g, &b, 2);
    CHECK(again[0][0] != one[0][0]);

    check_outs_free(m.g, (void **)one);
    check_outs_free(m.g, (void **)two);
    check_outs_free(m.g, (void **)dflt);
    check_outs_free(m.g, (void **)again);
    check_args_free(&a);
    check_args_free(&b);
    jit_free(p);
    ir_graph_free(m.g);
}

/* A gradient-step-like update x <- x - 0.1 * tanh(x W) written straight into x's own buffer. */
static void test_in_place_update(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t xs[2] = {256, 8};
    int x = ir_input(g, "x", 2, xs);
    int w = ir_param(g, "w", 2, (int64_t[]){8, 8});
    int step = ir_binary(g, IR_MUL, ir_const(g, 0.1, 2, xs), ir_unary(g, IR_TANH, ir_matmul(g, x, w, 0)));
    ir_graph_output(g, "x", ir_binary(g, IR_SUB, x, step));
    struct check_args a = check_args_new(g, -2, 2);
    double **ref = (double **)check_outs_new(g, sizeof(double));
    char err[256];
    CHECK_MSG(interp_run(g, (const double *const *)a.d, ref, err, sizeof err) == 0, "%s", err);
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (p) {
        jit_set_min_parallel_work(p, 0);
        float *outs[1] = {a.f[0]}; /* the output buffer is the argument x */
        jit_run(p, a.f, outs, 2);
        check_against("in-place update", g, outs, ref, 1e-5, 1e-5);
        jit_free(p);
    }
    check_outs_free(g, (void **)ref);
    check_args_free(&a);
    ir_graph_free(g);
}

/* dE/dx and dE/dtheta, and d/dW1 of |dE/dx|^2 (a score-matching-style term). */
static void test_gradients(void) {
    struct mlp m = mlp_new(64);
    struct ir_graph *g = m.g;
    int wrt[5] = {m.x, ir_graph_find_arg(g, "w1"), ir_graph_find_arg(g, "b1"), ir_graph_find_arg(g, "w2"),
                  ir_graph_find_arg(g, "b2")};
    int grads[5], dd[1];
    CHECK_MSG(ad_grad(g, m.energy, -1, 5, wrt, grads) == 0, "%s", ir_graph_error(g));
    static const char *names[5] = {"d_x", "d_w1", "d_b1", "d_w2", "d_b2"};
    for (int i = 0; i < 5; i++) ir_graph_output(g, names[i], grads[i]);
    int score = ir_sum_all(g, ir_unary(g, IR_SQUARE, grads[0]));
    CHECK_MSG(ad_grad(g, score, -1, 1, &wrt[1], dd) == 0, "%s", ir_graph_error(g));
    ir_graph_output(g, "d_w1_of_score", dd[0]);
    check_graph("mlp gradients", g, -2, 2, ATOL, RTOL);
    ir_graph_free(g);
}

int main(void) {
    test_small_batch();
    test_default_threshold();
    test_in_place_update();
    test_gradients();
    return test_report();
}
