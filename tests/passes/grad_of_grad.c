/* passes_grad_of_grad: differentiating a graph that already contains a backward pass. A small MLP energy
 * E(x) = sum(silu(x W1 + b1) W2) over a batch; g = dE/dx by ad_grad; the score-matching-like loss
 * L = mean over the batch of sum(g * g); then dL/dW1 (and the other parameters, and x) by ad_grad again,
 * checked against finite differences of L evaluated in double by the interpreter. */
#include "gradcheck.h"

enum { BATCH = 4, DIN = 3, HIDDEN = 5 };

static void test_mlp_score_loss(void) {
    struct gc c;
    gc_init(&c, 2024);
    struct ir_graph *g = c.g;
    int x = gc_input(&c, "x", 2, (int64_t[]){BATCH, DIN}, GC_ANY);
    int w1 = gc_param(&c, "W1", 2, (int64_t[]){DIN, HIDDEN}, GC_ANY);
    int b1 = gc_param(&c, "b1", 1, (int64_t[]){HIDDEN}, GC_ANY);
    int w2 = gc_param(&c, "W2", 2, (int64_t[]){HIDDEN, 1}, GC_ANY);

    int h = ir_unary(g, IR_SILU, ir_binary_bcast(g, IR_ADD, ir_matmul(g, x, w1, 0), b1));
    int energy = ir_sum_all(g, ir_matmul(g, h, w2, 0));

    int score;
    CHECK(ad_grad(g, energy, -1, 1, &x, &score) == 0);
    CHECK(g->nodes[score].ndim == 2 && g->nodes[score].shape[0] == BATCH && g->nodes[score].shape[1] == DIN);

    /* L = (1/B) sum_b sum_d g[b,d]^2 */
    int per_sample = ir_sum(g, ir_binary(g, IR_MUL, score, score), 2); /* [B,1] */
    int loss = ir_binary(g, IR_MUL, ir_sum_all(g, per_sample), ir_const(g, 1.0 / BATCH, 1, (int64_t[]){1}));

    /* Every parameter, and x itself (third derivatives of silu). */
    int wrt[4] = {w1, b1, w2, x};
    gc_check(&c, loss, 4, wrt, NULL, "d mean|dE/dx|^2 / d(W1, b1, W2, x)");

    /* Sanity of the first-order part too: dE/dx against finite differences of E. */
    gc_check(&c, energy, 1, &x, NULL, "dE/dx");
    gc_free(&c);
}

/* The same through a conv energy E(x) = sum(v * silu(conv(x, w) + b)): dE/dx is a conv2d_bwd_data,
 * and differentiating |dE/dx|^2 again goes through its rules into conv2d_bwd_weight and conv2d (and
 * their rules), for stride 1 and 2, checked against finite differences in double. */
static void test_conv_score_loss(int stride, int pad, int k) {
    struct gc c;
    gc_init(&c, 77 + (uint64_t)stride * 10 + (uint64_t)pad);
    struct ir_graph *g = c.g;
    int x = gc_input(&c, "x", 4, (int64_t[]){2, 2, 5, 6}, GC_ANY);
    int w = gc_param(&c, "w", 4, (int64_t[]){3, 2, k, k}, GC_ANY);
    int b = gc_param(&c, "b", 1, (int64_t[]){3}, GC_ANY);
    int h = ir_unary(g, IR_SILU, ir_conv2d(g, x, w, b, stride, pad));
    int energy = gc_weighted_sum(&c, h);
    int score;
    CHECK_MSG(ad_grad(g, energy, -1, 1, &x, &score) == 0, "%s", ir_graph_error(g));
    int loss = ir_sum_all(g, ir_binary(g, IR_MUL, score, score));
    int wrt[3] = {w, b, x};
    char what[96];
    snprintf(what, sizeof what, "conv s%d p%d k%d: d|dE/dx|^2 / d(w, b, x)", stride, pad, k);
    gc_check(&c, loss, 3, wrt, NULL, what);
    gc_free(&c);
}

int main(void) {
    test_mlp_score_loss();
    test_conv_score_loss(1, 1, 3);
    test_conv_score_loss(2, 1, 3);
    test_conv_score_loss(2, 0, 1);
    return test_report();
}
