/* backend_ops: every op of ir.h through the JIT, against the interpreter (see backend_check.h).
 *
 * Tolerances: elementwise results must match to 2e-6 relative (a few float ulps; the JIT computes in
 * float from float inputs, the oracle in double), plus 1e-6 absolute for results near zero. Sums and
 * matmuls add up to ~100 terms of size <= 4 in float, so they get 1e-4 absolute and relative. */
#include "autodiff.h"
#include "backend_check.h"

#include <string.h>

#define EW_ATOL 1e-6
#define EW_RTOL 2e-6
#define RED_ATOL 1e-4
#define RED_RTOL 1e-4

static struct ir_graph *graph(void) { return ir_graph_new(); }

static void unary_op(enum ir_op op, double lo, double hi, double atol) {
    struct ir_graph *g = graph();
    int64_t shape[2] = {37, 29}; /* odd sizes: vector bodies and scalar remainders */
    int y = ir_unary(g, op, ir_input(g, "x", 2, shape));
    ir_graph_output(g, "y", y);
    char what[80];
    snprintf(what, sizeof what, "%s on [%g, %g)", ir_op_name(op), lo, hi);
    check_graph(what, g, lo, hi, atol, EW_RTOL);
    ir_graph_free(g);
}

static void test_unary(void) {
    for (int op = 0; op < IR_OP_COUNT; op++) {
        if (!ir_op_is_unary_elementwise(op) && op != IR_STOP_GRAD) continue;
        int positive = op == IR_LOG || op == IR_LOG1P || op == IR_SQRT || op == IR_RSQRT; /* defined for x > 0 (log1p: > -1) */
        unary_op(op, positive ? 0.01 : -3, 3, EW_ATOL);
        if (positive) unary_op(op, 1, 1e6, EW_ATOL);
        else if (op != IR_EXP && op != IR_SQUARE) unary_op(op, -100, 100, EW_ATOL); /* saturation, no overflow */
    }
    unary_op(IR_EXP, -80, 80, EW_ATOL);
    /* relative precision near zero, where cancellation would show (atol 0) */
    unary_op(IR_TANH, -1, 1, 0); /* both sides of the series/exp switch at |x| = 0.4 */
    unary_op(IR_TANH, -1e-3, 1e-3, 0);
    unary_op(IR_SOFTPLUS, -30, -10, 0); /* log1p of tiny values */
    unary_op(IR_LOG1P, -0.99, 0.01, EW_ATOL);
    unary_op(IR_LOG1P, -1e-3, 1e-3, 0);
    unary_op(IR_SIGMOID, -30, -10, 0);
    unary_op(IR_ELU, -1e-3, 0, 0); /* expm1 near 0 */
    /* gelu's tail, where 1 + tanh(u) would cancel. Its relative condition number there is |x u'(x)| ~ 35
     * at x = -5, so float rounding inside u is magnified that much: 1e-5 relative, no absolute slack. */
    struct ir_graph *t = graph();
    ir_graph_output(t, "y", ir_unary(t, IR_GELU, ir_input(t, "x", 1, (int64_t[]){333})));
    check_graph("gelu on [-8, -3)", t, -8, -3, 0, 1e-5);
    ir_graph_free(t);

    /* leaky_relu and elu with attributes other than the default */
    struct ir_graph *g = graph();
    int x = ir_input(g, "x", 2, (int64_t[]){5, 13});
    ir_graph_output(g, "leaky", ir_unary_attr(g, IR_LEAKY_RELU, x, 0.3));
    ir_graph_output(g, "elu", ir_unary_attr(g, IR_ELU, x, 2.5));
    check_graph("leaky_relu 0.3, elu 2.5", g, -3, 3, EW_ATOL, EW_RTOL);
    ir_graph_free(g);
}

static void test_binary(void) {
    for (int op = 0; op < IR_OP_COUNT; op++) {
        if (!ir_op_is_binary_elementwise(op)) continue;
        struct ir_graph *g = graph();
        int64_t shape[3] = {3, 17, 11};
        int a = ir_input(g, "a", 3, shape), b = ir_param(g, "b", 3, shape);
        ir_graph_output(g, "y", ir_binary(g, op, a, b));
        ir_graph_output(g, "same", ir_binary(g, op, a, a)); /* one buffer as both operands */
        /* positive operands keep div away from zero denominators, and pow where it is real */
        check_graph(ir_op_name(op), g, op == IR_DIV || op == IR_POW ? 0.5 : -2, 2, EW_ATOL, EW_RTOL);
        ir_graph_free(g);
    }
    /* pow with negative bases and integer exponents (odd and even), and with exponent 0 */
    struct ir_graph *g = graph();
    int64_t n = 12;
    int a = ir_input(g, "a", 1, &n);
    ir_graph_output(g, "cube", ir_binary(g, IR_POW, a, ir_const(g, 3, 1, &n)));
    ir_graph_output(g, "inv_square", ir_binary(g, IR_POW, a, ir_const(g, -2, 1, &n)));
    ir_graph_output(g, "zero", ir_binary(g, IR_POW, a, ir_const(g, 0, 1, &n)));
    check_graph("pow, integer exponents", g, -2, 2, EW_ATOL, EW_RTOL);
    ir_graph_free(g);
}

static void test_where(void) {
    struct ir_graph *g = graph();
    int64_t shape[2] = {9, 21};
    int x = ir_input(g, "x", 2, shape), a = ir_input(g, "a", 2, shape), b = ir_param(g, "b", 2, shape);
    ir_graph_output(g, "y", ir_where(g, ir_binary(g, IR_GT, x, a), a, b));
    ir_graph_output(g, "raw", ir_where(g, x, a, b)); /* any nonzero value selects a */
    ir_graph_output(g, "bcast", ir_where_bcast(g, ir_input(g, "c", 1, &shape[1]), x, ir_const(g, 0.5, 1, (int64_t[]){1})));
    check_graph("where", g, -2, 2, EW_ATOL, EW_RTOL);
    ir_graph_free(g);
}

static void broadcast_case(int ndim, const int64_t *from, const int64_t *to) {
    struct ir_graph *g = graph();
    int x = ir_input(g, "x", ndim, from);
    int y = ir_broadcast(g, x, ndim, to);
    ir_graph_output(g, "y", y);
    /* and consumed by an elementwise op, as ir_binary_bcast builds it */
    ir_graph_output(g, "z", ir_binary(g, IR_MUL, y, ir_input(g, "w", ndim, to)));
    check_graph("broadcast", g, -2, 2, EW_ATOL, EW_RTOL);
    ir_graph_free(g);
}

static void test_broadcast(void) {
    broadcast_case(2, (int64_t[]){1, 32}, (int64_t[]){64, 32}); /* bias over rows */
    broadcast_case(2, (int64_t[]){64, 1}, (int64_t[]){64, 32}); /* per-row scale */
    broadcast_case(2, (int64_t[]){1, 1}, (int64_t[]){5, 7});    /* scalar */
    broadcast_case(1, (int64_t[]){1}, (int64_t[]){9});
    broadcast_case(3, (int64_t[]){3, 1, 5}, (int64_t[]){3, 4, 5});
    broadcast_case(3, (int64_t[]){1, 4, 1}, (int64_t[]){2, 4, 3});
    broadcast_case(4, (int64_t[]){1, 4, 1, 6}, (int64_t[]){2, 4, 3, 6});
    broadcast_case(4, (int64_t[]){2, 1, 1, 1}, (int64_t[]){2, 3, 5, 7});
    broadcast_case(4, (int64_t[]){1, 3, 1, 7}, (int64_t[]){2, 3, 5, 7});

    /* numpy-style through the builder: reshape + broadcast on both sides */
    struct ir_graph *g = graph();
    int a = ir_input(g, "a", 2, (int64_t[]){6, 1}), b = ir_input(g, "b", 1, (int64_t[]){5});
    ir_graph_output(g, "y", ir_binary_bcast(g, IR_SUB, a, b));
    check_graph("binary_bcast [6,1] - [5]", g, -2, 2, EW_ATOL, EW_RTOL);
    ir_graph_free(g);
}

static void test_sum(void) {
    int64_t shape[4] = {3, 4, 5, 6};
    for (unsigned axes = 1; axes < 16; axes++) {
        struct ir_graph *g = graph();
        ir_graph_output(g, "y", ir_sum(g, ir_input(g, "x", 4, shape), axes));
        char what[40];
        snprintf(what, sizeof what, "sum axes mask 0x%x", axes);
        check_graph(what, g, -2, 2, RED_ATOL, RED_RTOL);
        ir_graph_free(g);
    }
    int64_t wide[2] = {67, 45}; /* long reductions in both directions */
    for (unsigned axes = 1; axes < 4; axes++) {
        struct ir_graph *g = graph();
        ir_graph_output(g, "y", ir_sum(g, ir_input(g, "x", 2, wide), axes));
        check_graph("sum [67, 45]", g, -2, 2, RED_ATOL, RED_RTOL);
        ir_graph_free(g);
    }
    struct ir_graph *g = graph(); /* size-1 axes, reduced or not */
    ir_graph_output(g, "y", ir_sum(g, ir_input(g, "x", 3, (int64_t[]){1, 8, 1}), 5));
    ir_graph_output(g, "all", ir_sum_all(g, ir_input(g, "x", 3, (int64_t[]){1, 8, 1})));
    check_graph("sum over size-1 axes", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

/* max over every axis subset, and logsumexp (max, exp, sum, log) on large values it must not overflow */
static void test_max(void) {
    int64_t shape[4] = {3, 4, 5, 6};
    for (unsigned axes = 1; axes < 16; axes++) {
        struct ir_graph *g = graph();
        ir_graph_output(g, "y", ir_max(g, ir_input(g, "x", 4, shape), axes));
        char what[40];
        snprintf(what, sizeof what, "max axes mask 0x%x", axes);
        check_graph(what, g, -2, 2, EW_ATOL, EW_RTOL);
        ir_graph_free(g);
    }
    struct ir_graph *g = graph();
    int x = ir_input(g, "x", 2, (int64_t[]){67, 45});
    ir_graph_output(g, "rows", ir_max(g, x, 2));
    ir_graph_output(g, "cols", ir_max(g, x, 1));
    ir_graph_output(g, "lse", ir_logsumexp(g, x, 2));
    ir_graph_output(g, "lse_big", ir_logsumexp(g, ir_binary(g, IR_MUL, x, ir_const_like(g, 100, x)), 1));
    ir_graph_output(g, "relu_max", ir_max(g, ir_unary(g, IR_RELU, x), 3)); /* fused input, ties at 0 */
    check_graph("max [67, 45], logsumexp", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

/* Movement ops on their own (a kernel each) and inlined into a consumer, with odd sizes. */
static void test_movement(void) {
    struct ir_graph *g = graph();
    int x = ir_input(g, "x", 4, (int64_t[]){3, 5, 4, 7});
    int y = ir_input(g, "y", 4, (int64_t[]){3, 2, 4, 7});
    ir_graph_output(g, "perm", ir_permute(g, x, (int[]){3, 1, 0, 2}));
    ir_graph_output(g, "perm2", ir_permute(g, x, (int[]){1, 0, 2, 3}));
    ir_graph_output(g, "slice", ir_slice(g, x, (int64_t[]){1, 0, 1, 2}, (int64_t[]){1, 2, 1, 3}, (int64_t[]){2, 3, 3, 2}));
    ir_graph_output(g, "pad", ir_pad(g, x, (int64_t[]){0, 2, 1, 3}, (int64_t[]){1, 1, 2, 1}, (int64_t[]){3, 8, 9, 11}));
    ir_graph_output(g, "concat1", ir_concat(g, x, y, 1));
    ir_graph_output(g, "concat3", ir_concat(g, x, x, 3));
    /* inlined: an elementwise producer into movement, movement into an elementwise consumer and a sum */
    int e = ir_unary(g, IR_TANH, x);
    int pe = ir_pad_axis(g, e, 1, 1, 2);
    ir_graph_output(g, "exp_pad", ir_unary(g, IR_EXP, pe));
    ir_graph_output(g, "sum_slice", ir_sum(g, ir_slice_axis(g, ir_unary(g, IR_SIN, x), 3, 1, 7, 2), 8));
    ir_graph_output(g, "cat_sum", ir_sum(g, ir_concat(g, ir_unary(g, IR_NEG, y), ir_unary(g, IR_ABS, y), 0), 1));
    check_graph("movement", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

/* The composite layers: conv2d (im2col: pad, slices, concats, permutes, matmul), pooling, norms. */
static void test_layers(void) {
    struct ir_graph *g = graph();
    int x = ir_input(g, "x", 4, (int64_t[]){3, 4, 9, 8});
    int w = ir_param(g, "w", 4, (int64_t[]){5, 4, 3, 3});
    int b = ir_param(g, "b", 1, (int64_t[]){5});
    int gamma = ir_param(g, "gamma", 1, (int64_t[]){4});
    ir_graph_output(g, "conv", ir_conv2d(g, x, w, b, 1, 1));
    ir_graph_output(g, "conv_s2", ir_unary(g, IR_SILU, ir_conv2d(g, x, w, -1, 2, 0)));
    ir_graph_output(g, "pool", ir_avg_pool2d(g, x, 2));
    ir_graph_output(g, "group_norm", ir_group_norm(g, x, 2, gamma, gamma, 1e-5));
    ir_graph_output(g, "layer_norm", ir_layer_norm(g, x, -1, -1, 1e-5));
    check_graph("conv2d, avg_pool2d, group_norm, layer_norm", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
    /* batched matmul, both forms, with gradients */
    g = graph();
    x = ir_input(g, "x", 3, (int64_t[]){5, 7, 33});
    w = ir_param(g, "w", 3, (int64_t[]){5, 33, 18});
    int w2 = ir_param(g, "w2", 2, (int64_t[]){33, 18});
    int bm = ir_binary(g, IR_ADD, ir_batch_matmul(g, x, w), ir_batch_matmul(g, x, w2));
    ir_graph_output(g, "bmm", bm);
    int wrt_bm[3] = {x, w, w2}, g_bm[3];
    CHECK(ad_grad(g, ir_sum_all(g, ir_unary(g, IR_SQUARE, bm)), -1, 3, wrt_bm, g_bm) == 0);
    for (int i = 0; i < 3; i++) ir_graph_output(g, i == 0 ? "dx" : i == 1 ? "dw" : "dw2", g_bm[i]);
    check_graph("batch_matmul", g, -1, 1, 1e-3, 1e-4);
    ir_graph_free(g);

    /* and the backward pass of a conv, pool and norm stack: pads, slices, concats and permutes of adjoints */
    g = graph();
    x = ir_input(g, "x", 4, (int64_t[]){2, 3, 6, 7});
    w = ir_param(g, "w", 4, (int64_t[]){4, 3, 3, 2});
    b = ir_param(g, "b", 1, (int64_t[]){4});
    int h = ir_group_norm(g, ir_unary(g, IR_TANH, ir_conv2d(g, x, w, b, 2, 1)), 2, b, b, 1e-5);
    int loss = ir_sum_all(g, ir_avg_pool2d(g, ir_unary(g, IR_SQUARE, h), 2));
    int wrt[3] = {x, w, b}, grads[3];
    CHECK_MSG(ad_grad(g, loss, -1, 3, wrt, grads) == 0, "%s", ir_graph_error(g));
    ir_graph_output(g, "dx", grads[0]);
    ir_graph_output(g, "dw", grads[1]);
    ir_graph_output(g, "db", grads[2]);
    check_graph("conv2d stack, gradients", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

static void test_reshape_and_stop_grad(void) {
    struct ir_graph *g = graph();
    int x = ir_input(g, "x", 2, (int64_t[]){6, 10});
    int r = ir_reshape(g, x, 3, (int64_t[]){3, 4, 5});
    int s = ir_stop_grad(g, r);
    ir_graph_output(g, "reshaped_arg", r);  /* an alias of the caller's buffer */
    ir_graph_output(g, "stopped", s);
    ir_graph_output(g, "arg", x);
    ir_graph_output(g, "exp", ir_unary(g, IR_EXP, s));
    int t = ir_reshape(g, ir_unary(g, IR_NEG, x), 2, (int64_t[]){15, 4});
    ir_graph_output(g, "reshaped_kernel", t);
    ir_graph_output(g, "summed", ir_sum(g, t, 1));
    check_graph("reshape, stop_grad", g, -2, 2, EW_ATOL, EW_RTOL);
    ir_graph_free(g);
}

static void test_const(void) {
    struct ir_graph *g = graph();
    int64_t shape[2] = {9, 7};
    int c = ir_const(g, 2.5, 2, shape);
    int x = ir_input(g, "x", 2, shape);
    ir_graph_output(g, "const", c);
    ir_graph_output(g, "reshaped_const", ir_reshape(g, c, 1, (int64_t[]){63}));
    ir_graph_output(g, "x_plus_c", ir_binary(g, IR_ADD, x, c));
    ir_graph_output(g, "c_over_x", ir_binary(g, IR_DIV, c, x));
    int ones = ir_const(g, 1.0, 2, (int64_t[]){7, 3});
    ir_graph_output(g, "x_at_ones", ir_matmul(g, x, ones, 0)); /* consts feed matmuls too */
    ir_graph_output(g, "sum_const", ir_sum(g, ir_const(g, -0.5, 2, (int64_t[]){4, 6}), 1));
    ir_graph_output(g, "bcast_const", ir_broadcast(g, ir_const(g, 3.0, 2, (int64_t[]){1, 7}), 2, shape));
    check_graph("const", g, 0.5, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

static void matmul_case(int64_t m, int64_t k, int64_t n, unsigned flags) {
    struct ir_graph *g = graph();
    int64_t as[2] = {m, k}, bs[2] = {k, n};
    if (flags & IR_TRANS_A) as[0] = k, as[1] = m;
    if (flags & IR_TRANS_B) bs[0] = n, bs[1] = k;
    int a = ir_input(g, "a", 2, as), y = ir_matmul(g, a, ir_param(g, "b", 2, bs), flags);
    ir_graph_output(g, "y", y);
    /* an epilogue with a per-row factor, a per-column term and a transposed operand: its vectors take
     * one element, consecutive elements, and lane by lane (codegen.c, "vector epilogues") */
    int e = ir_binary_bcast(g, IR_MUL, ir_matmul(g, a, ir_param(g, "b2", 2, bs), flags),
                            ir_param(g, "per_row", 2, (int64_t[]){m, 1}));
    e = ir_binary_bcast(g, IR_ADD, e, ir_param(g, "per_col", 2, (int64_t[]){1, n}));
    e = ir_binary(g, IR_ADD, e, ir_permute(g, ir_input(g, "zt", 2, (int64_t[]){n, m}), (int[]){1, 0}));
    ir_graph_output(g, "epilogue", ir_unary(g, IR_TANH, e));
    /* op(A) without a buffer (a constant): packed by the kernel */
    ir_graph_output(g, "const_a", ir_matmul(g, ir_const(g, 0.75, 2, as), ir_param(g, "b3", 2, bs), flags));
    char what[80];
    snprintf(what, sizeof what, "matmul %lldx%lldx%lld%s%s", (long long)m, (long long)k, (long long)n,
             flags & IR_TRANS_A ? " trans_a" : "", flags & IR_TRANS_B ? " trans_b" : "");
    check_graph(what, g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

static void test_matmul(void) {
    for (unsigned flags = 0; flags < 4; flags++) {
        matmul_case(7, 13, 5, flags);
        matmul_case(1, 1, 1, flags);
        matmul_case(1, 9, 33, flags);
        matmul_case(33, 64, 17, flags);
        matmul_case(20, 3, 130, flags); /* eight panels of 16 columns and a partial one (AVX2) */
        matmul_case(6, 300, 70, flags); /* k in two passes (256, 44 on AVX2), one code for both */
        /* Around backend/matmul.c's blocking (AVX2: tiles of 6 rows x 16 columns, passes of 256 values of
         * k unrolled by 4, blocks of 126 rows, slabs of 512 columns; AVX-512: 14 x 32, 128, 126, 1024;
         * SSE: 6 x 8, 512, 126, 256): */
        matmul_case(13, 257, 17, flags); /* tiles 6, 6, 1 (the last one's rows repeated); k 256 + 1; 16 + 1 columns */
        matmul_case(253, 7, 33, flags);  /* blocks of 90, 90, 73 rows (AVX2); two panels and one column; k 4 + 3 */
        matmul_case(130, 9, 531, flags); /* slabs of 512 and 19 columns (AVX2; 256 x 2 + 19 on SSE), blocks 66 + 64 */
        matmul_case(15, 5, 1030, flags); /* a slab of 1024 columns and one of 6 (AVX-512) */
        matmul_case(5, 513, 16, flags);  /* fewer rows than a tile; three passes; one whole panel */
        matmul_case(17, 1, 1, flags);    /* k = 1, one column */
        matmul_case(33, 40, 20, flags);  /* trans_a: 5 whole tiles of A^T (AVX2) as vectors, a clamped one */
        matmul_case(70, 301, 200, flags); /* >= MM_UNROLL_WORK multiply-adds: k unrolled by 4; 45 in the last pass */
        /* narrow (C of at most 4 columns): dot products along k, whole vectors then a masked one */
        matmul_case(9, 37, 2, flags);
        matmul_case(5, 32, 4, flags);
        matmul_case(3, 200, 1, flags);
    }
    /* one operand in several matmuls, read both ways (transposed operands are packed in place) */
    struct ir_graph *g = graph();
    int w = ir_param(g, "w", 2, (int64_t[]){6, 10});
    int x = ir_input(g, "x", 2, (int64_t[]){9, 10});
    int y = ir_input(g, "y", 2, (int64_t[]){9, 6});
    ir_graph_output(g, "x_wt", ir_matmul(g, x, w, IR_TRANS_B));
    ir_graph_output(g, "x_wt_again", ir_matmul(g, ir_unary(g, IR_NEG, x), w, IR_TRANS_B));
    ir_graph_output(g, "y_w", ir_matmul(g, y, w, 0));
    ir_graph_output(g, "wt_yt", ir_matmul(g, w, y, IR_TRANS_A | IR_TRANS_B));
    ir_graph_output(g, "const_t", ir_matmul(g, x, ir_const(g, 0.5, 2, (int64_t[]){3, 10}), IR_TRANS_B));
    ir_graph_output(g, "const_a", ir_matmul(g, ir_const(g, -0.25, 2, (int64_t[]){7, 9}), y, 0)); /* no slot for A */
    ir_graph_output(g, "const_at", ir_matmul(g, ir_const(g, 0.75, 2, (int64_t[]){9, 7}), y, IR_TRANS_A)); /* nor A^T */
    check_graph("shared matmul operands", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
    /* transposed operands of short and long k (two passes), each read by two matmuls */
    g = graph();
    w = ir_param(g, "w", 2, (int64_t[]){6, 10});
    int z = ir_input(g, "z", 2, (int64_t[]){300, 8});
    ir_graph_output(g, "wt_y", ir_matmul(g, w, ir_input(g, "y", 2, (int64_t[]){6, 4}), IR_TRANS_A));
    ir_graph_output(g, "x_wt", ir_matmul(g, ir_input(g, "x", 2, (int64_t[]){9, 10}), w, IR_TRANS_B));
    ir_graph_output(g, "zt_v", ir_matmul(g, z, ir_input(g, "v", 2, (int64_t[]){300, 5}), IR_TRANS_A));
    ir_graph_output(g, "u_zt", ir_matmul(g, ir_input(g, "u", 2, (int64_t[]){5, 8}), z, IR_TRANS_B));
    check_graph("transposed operands", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

/* Batched (3-D) matmuls: [b, M, K] x [b, K, N] in the layouts the flags imply. Every kernel is split
 * across 1-3 threads with no minimum work, so chunks start and end inside batches (b M rows, cut at
 * arbitrary rows); with b = 1 the kernel has no batch loop. */
static void batched_matmul_case(int64_t nb, int64_t m, int64_t k, int64_t n, unsigned flags, int epilogue) {
    struct ir_graph *g = graph();
    int64_t as[3] = {nb, m, k}, bs[3] = {nb, k, n};
    if (flags & IR_TRANS_A) as[1] = k, as[2] = m;
    if (flags & IR_TRANS_B) bs[1] = n, bs[2] = k;
    int y = ir_matmul(g, ir_input(g, "a", 3, as), ir_param(g, "b", 3, bs), flags);
    CHECK(y >= 0 && ir_node_at(g, y)->ndim == 3 && ir_node_at(g, y)->shape[0] == nb);
    if (epilogue) { /* tanh(y + bias[N]): the matmul's epilogue when fused */
        int bias = ir_param(g, "bias", 1, (int64_t[]){n});
        y = ir_unary(g, IR_TANH, ir_binary_bcast(g, IR_ADD, y, bias));
    }
    ir_graph_output(g, "y", y);
    char what[96];
    snprintf(what, sizeof what, "batched matmul %lldx%lldx%lldx%lld%s%s%s", (long long)nb, (long long)m, (long long)k,
             (long long)n, flags & IR_TRANS_A ? " trans_a" : "", flags & IR_TRANS_B ? " trans_b" : "",
             epilogue ? " + epilogue" : "");
    check_graph(what, g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

static void test_batched_matmul(void) {
    for (unsigned flags = 0; flags < 4; flags++) {
        batched_matmul_case(3, 7, 13, 5, flags, 0);   /* M = 7: a tile of 6 rows and one of 1 (AVX2) per batch */
        batched_matmul_case(1, 6, 300, 70, flags, 0); /* b = 1; k in two passes */
        batched_matmul_case(2, 6, 300, 70, flags, 1); /* the same, batched, and N = 70: a full and a partial panel */
        batched_matmul_case(5, 9, 4, 130, flags, 0);  /* full column panels and a partial one */
        batched_matmul_case(4, 1, 9, 3, flags, 1);    /* one row per batch */
        batched_matmul_case(3, 13, 257, 17, flags, 1); /* partial tiles, passes and panels in every batch */
        batched_matmul_case(2, 253, 5, 18, flags, 0);  /* blocks of 90, 90, 73 rows per batch (AVX2) */
        batched_matmul_case(2, 7, 6, 520, flags, 1);   /* slabs of 512 and 8 columns per batch (AVX2) */
        batched_matmul_case(2, 20, 33, 17, flags, 0);  /* trans_a: whole and clamped tiles of each batch's A^T */
    }
    /* one 3-D operand read both ways; a matmul read by another (stored, not fused) */
    struct ir_graph *g = graph();
    int w = ir_param(g, "w", 3, (int64_t[]){3, 6, 10});
    int x = ir_input(g, "x", 3, (int64_t[]){3, 9, 10});
    int y = ir_input(g, "y", 3, (int64_t[]){3, 9, 6});
    int xwt = ir_matmul(g, x, w, IR_TRANS_B);
    ir_graph_output(g, "x_wt", xwt);
    ir_graph_output(g, "y_w", ir_matmul(g, y, w, 0));
    ir_graph_output(g, "wt_yt", ir_matmul(g, w, y, IR_TRANS_A | IR_TRANS_B));
    ir_graph_output(g, "xwt_t_y", ir_matmul(g, ir_unary(g, IR_NEG, xwt), y, IR_TRANS_A));
    ir_graph_output(g, "const_t", ir_matmul(g, x, ir_const(g, 0.5, 3, (int64_t[]){3, 4, 10}), IR_TRANS_B));
    check_graph("shared batched matmul operands", g, -2, 2, RED_ATOL, RED_RTOL);
    ir_graph_free(g);
}

/* `backend_ops matmul`: the matmuls alone (CMakeLists.txt runs them at other vector widths too). */
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "matmul")) {
        test_matmul();
        test_batched_matmul();
        return test_report();
    }
    test_unary();
    test_binary();
    test_where();
    test_broadcast();
    test_sum();
    test_max();
    test_movement();
    test_layers();
    test_reshape_and_stop_grad();
    test_const();
    test_matmul();
    test_batched_matmul();
    op_coverage_check("backend_ops");
    return test_report();
}
