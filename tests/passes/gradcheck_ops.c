/* passes_gradcheck_ops: the gradient rule of every op against central finite differences in double,
 * first and second order (see gradcheck.h for the method and the tolerance). Each loss is
 * sum(w * f(...)) with a random w, so the adjoint reaching f is not all ones. */
#include "gradcheck.h"

static const int64_t s34[2] = {3, 4};

/* sum(w1 * op(x)) + sum(w2 * op(p)): the rule w.r.t. an input and a param. */
static void check_unary(enum ir_op op, enum gc_domain d, uint64_t seed) {
    struct gc c;
    gc_init(&c, seed);
    int x = gc_input(&c, "x", 2, s34, d);
    int p = gc_param(&c, "p", 2, s34, d);
    int fx = ir_unary(c.g, op, x);
    int fp = ir_unary(c.g, op, p);
    int loss = ir_binary(c.g, IR_ADD, gc_weighted_sum(&c, fx), gc_weighted_sum(&c, fp));
    int wrt[2] = {x, p};
    gc_check2(&c, loss, 2, wrt, ir_op_name(op));
    gc_free(&c);
}

/* Where an elementwise op's operands are drawn: inside its domain, and away from 0 where it has a kink
 * or a jump there (finite differences straddling it would be wrong). */
static enum gc_domain domain(enum ir_op op) {
    switch (op) {
    case IR_LOG:
    case IR_LOG1P: /* x > -1; positive is inside */
    case IR_SQRT:
    case IR_RSQRT: return GC_POS;
    case IR_RELU:
    case IR_STEP: /* zero, and finite differences agree away from the jump */
    case IR_ABS:
    case IR_LEAKY_RELU:
    case IR_ELU:
    case IR_DIV: /* divisors away from 0 */
        return GC_AWAY;
    case IR_POW: return GC_POS; /* d/d exponent needs a positive base; so does pow(p, p) */
    default: return GC_ANY;
    }
}

/* Every unary op of the op table. */
static void test_unary(void) {
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (ir_op_is_unary_elementwise(op)) check_unary(op, domain(op), 1 + (uint64_t)op);

    /* attributes other than the defaults reach the rules */
    struct gc c;
    gc_init(&c, 19);
    int p = gc_param(&c, "p", 2, s34, GC_AWAY);
    int y = ir_binary(c.g, IR_ADD, gc_weighted_sum(&c, ir_unary_attr(c.g, IR_LEAKY_RELU, p, -0.7)),
                      gc_weighted_sum(&c, ir_unary_attr(c.g, IR_ELU, p, 2.5)));
    gc_check2(&c, y, 1, &p, "leaky_relu -0.7, elu 2.5");
    gc_free(&c);
}

/* sum(w * op(x, p)), and the same op with one node on both sides, which must accumulate two adjoints. */
static void check_binary(enum ir_op op, uint64_t seed, enum gc_domain dx, enum gc_domain dp) {
    struct gc c;
    gc_init(&c, seed);
    int x = gc_input(&c, "x", 2, s34, dx);
    int p = gc_param(&c, "p", 2, s34, dp);
    int wrt[2] = {x, p};
    gc_check2(&c, gc_weighted_sum(&c, ir_binary(c.g, op, x, p)), 2, wrt, ir_op_name(op));
    char what[64];
    snprintf(what, sizeof what, "%s(p, p)", ir_op_name(op));
    gc_check2(&c, gc_weighted_sum(&c, ir_binary(c.g, op, p, p)), 1, &p, what);
    gc_free(&c);
}

/* Every binary op of the op table. Ties occur only in op(p, p), where for maximum and minimum both rules
 * together must give the derivative of p; comparisons have zero gradients. */
static void test_binary(void) {
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (ir_op_is_binary_elementwise(op)) check_binary(op, 21 + (uint64_t)op, op == IR_POW ? GC_POS : GC_ANY, domain(op));

    /* Constants are leaves: 1 / p and p * 3 - 2 differentiate only through p. */
    struct gc c;
    gc_init(&c, 25);
    int p = gc_param(&c, "p", 2, s34, GC_AWAY);
    int recip = ir_binary(c.g, IR_DIV, ir_const_like(c.g, 1, p), p);
    int affine = ir_binary(c.g, IR_SUB, ir_binary(c.g, IR_MUL, p, ir_const_like(c.g, 3, p)), ir_const_like(c.g, 2, p));
    gc_check2(&c, ir_binary(c.g, IR_ADD, gc_weighted_sum(&c, recip), gc_weighted_sum(&c, affine)), 1, &p, "consts");
    gc_free(&c);
}

/* where(x > q, p, q * q): both branches, and the condition's operand q gets gradient only through b. A
 * cubed base to pow (b with a negative base, integer exponent) checks the d/da rule alone. */
static void test_where_pow(void) {
    struct gc c;
    gc_init(&c, 45);
    int x = gc_input(&c, "x", 2, s34, GC_ANY);
    int p = gc_param(&c, "p", 2, s34, GC_ANY);
    int q = gc_param(&c, "q", 2, s34, GC_ANY);
    int w = ir_where(c.g, ir_binary(c.g, IR_GT, x, q), p, ir_binary(c.g, IR_MUL, q, q));
    int wrt[3] = {x, p, q};
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, w)), 3, wrt, "where");
    int cube = ir_binary(c.g, IR_POW, p, ir_const_like(c.g, 3, p));
    gc_check2(&c, gc_weighted_sum(&c, cube), 1, &p, "pow(p, 3)");
    gc_free(&c);
}

/* C = op(A) op(B) for A [2,3] and B [3,4] in the layouts each flag implies; squared so the first
 * derivatives depend on both operands. Also the Gram matrix A^T A, one node on both sides. */
static void test_matmul(void) {
    for (unsigned flags = 0; flags < 4; flags++) {
        int ta = (flags & IR_TRANS_A) != 0, tb = (flags & IR_TRANS_B) != 0;
        int64_t sa[2] = {ta ? 3 : 2, ta ? 2 : 3}, sb[2] = {tb ? 4 : 3, tb ? 3 : 4};
        struct gc c;
        gc_init(&c, 30 + flags);
        int a = gc_input(&c, "a", 2, sa, GC_ANY);
        int b = gc_param(&c, "b", 2, sb, GC_ANY);
        int mm = ir_matmul(c.g, a, b, flags);
        int wrt[2] = {a, b};
        char what[64];
        snprintf(what, sizeof what, "matmul flags=%u", flags);
        gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, mm)), 2, wrt, what);
        gc_free(&c);
    }
    for (unsigned flags = 0; flags < 4; flags++) { /* batched: [2, 2, 3] x [2, 3, 4] per flag layout */
        int ta = (flags & IR_TRANS_A) != 0, tb = (flags & IR_TRANS_B) != 0;
        int64_t sa[3] = {2, ta ? 3 : 2, ta ? 2 : 3}, sb[3] = {2, tb ? 4 : 3, tb ? 3 : 4};
        struct gc c;
        gc_init(&c, 50 + flags);
        int a = gc_input(&c, "a", 3, sa, GC_ANY);
        int b = gc_param(&c, "b", 3, sb, GC_ANY);
        int mm = ir_matmul(c.g, a, b, flags);
        CHECK(mm >= 0 && ir_node_at(c.g, mm)->ndim == 3);
        int wrt[2] = {a, b};
        char what[64];
        snprintf(what, sizeof what, "batched matmul flags=%u", flags);
        gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, mm)), 2, wrt, what);
        gc_free(&c);
    }
    for (unsigned flags = IR_TRANS_A; flags <= IR_TRANS_B; flags++) { /* A^T A and A A^T */
        struct gc c;
        gc_init(&c, 40 + flags);
        int a = gc_param(&c, "a", 2, (int64_t[]){2, 3}, GC_ANY);
        char what[64];
        snprintf(what, sizeof what, "gram flags=%u", flags);
        gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, ir_matmul(c.g, a, a, flags))), 1, &a, what);
        gc_free(&c);
    }
}

/* A bias b [3] added to x [4,3] (reshape to [1,3], then broadcast), and broadcasts of every kind of
 * size-1 pattern, squared so the adjoint reaching the broadcast varies. */
static void test_broadcast(void) {
    struct gc c;
    gc_init(&c, 50);
    int x = gc_input(&c, "x", 2, (int64_t[]){4, 3}, GC_ANY);
    int b = gc_param(&c, "b", 1, (int64_t[]){3}, GC_ANY);
    int wrt[2] = {x, b};
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, ir_binary_bcast(c.g, IR_ADD, x, b))), 2, wrt, "bias");
    gc_free(&c);

    static const int64_t from[][3] = {{2, 1, 3}, {1, 4, 1}, {1, 1, 1}, {2, 4, 1}};
    const int64_t to[3] = {2, 4, 3};
    for (int i = 0; i < 4; i++) {
        gc_init(&c, 51 + (uint64_t)i);
        int p = gc_param(&c, "p", 3, from[i], GC_ANY);
        int y = ir_unary(c.g, IR_SQUARE, ir_broadcast(c.g, p, 3, to));
        char what[64];
        snprintf(what, sizeof what, "broadcast #%d", i);
        gc_check2(&c, gc_weighted_sum(&c, y), 1, &p, what);
        gc_free(&c);
    }
}

/* sum over every nonempty axis subset of a [2,3,4] tensor (the result keeps dims), then squared. */
static void test_sum(void) {
    for (unsigned axes = 1; axes < 8; axes++) {
        struct gc c;
        gc_init(&c, 60 + axes);
        int x = gc_input(&c, "x", 3, (int64_t[]){2, 3, 4}, GC_ANY);
        char what[64];
        snprintf(what, sizeof what, "sum axes=%u", axes);
        gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, ir_sum(c.g, x, axes))), 1, &x, what);
        gc_free(&c);
    }
}

/* max over every nonempty axis subset (random values: no ties), a max with exact ties (each tied
 * element gets an equal share: a subgradient, so checked against the rule, not finite differences),
 * and the composites mean and logsumexp. */
static void test_max_mean_logsumexp(void) {
    for (unsigned axes = 1; axes < 8; axes++) {
        struct gc c;
        gc_init(&c, 80 + axes);
        int x = gc_input(&c, "x", 3, (int64_t[]){2, 3, 4}, GC_ANY);
        char what[64];
        snprintf(what, sizeof what, "max axes=%u", axes);
        gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, ir_max(c.g, x, axes))), 1, &x, what);
        snprintf(what, sizeof what, "mean axes=%u", axes);
        gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, ir_mean(c.g, x, axes))), 1, &x, what);
        snprintf(what, sizeof what, "logsumexp axes=%u", axes);
        gc_check2(&c, gc_weighted_sum(&c, ir_logsumexp(c.g, x, axes)), 1, &x, what);
        gc_free(&c);
    }
    /* ties: max over rows of [[1, 3, 3], [2, 2, 2]] sends the gradient 1/2, 1/2 and 1/3 each */
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 2, (int64_t[]){2, 3});
    int dx;
    CHECK(ad_grad(g, ir_sum_all(g, ir_max(g, x, 2)), -1, 1, &x, &dx) == 0);
    ir_graph_output(g, "dx", dx);
    double in[6] = {1, 3, 3, 2, 2, 2}, out[6];
    const double *args[1] = {in};
    double *outs[1] = {out};
    char err[256];
    CHECK_MSG(interp_run(g, args, outs, err, sizeof err) == 0, "%s", err);
    const double want[6] = {0, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3};
    for (int i = 0; i < 6; i++) CHECK_MSG(out[i] == want[i], "max tie gradient [%d] = %g, want %g", i, out[i], want[i]);
    ir_graph_free(g);
}

/* Movement: every op, on a rank-3 tensor, followed by a nonlinearity so the adjoint varies. */
static void test_movement(void) {
    struct gc c;
    gc_init(&c, 90);
    int x = gc_input(&c, "x", 3, (int64_t[]){2, 3, 4}, GC_ANY);
    int p = gc_param(&c, "p", 3, (int64_t[]){2, 2, 4}, GC_ANY);
    int wrt[2] = {x, p};
    int perm = ir_permute(c.g, x, (int[]){2, 0, 1});
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, perm)), 1, &x, "permute");
    int sl = ir_slice(c.g, x, (int64_t[]){1, 0, 1}, (int64_t[]){1, 2, 2}, (int64_t[]){1, 2, 2});
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, sl)), 1, &x, "slice");
    int pd = ir_pad(c.g, x, (int64_t[]){0, 1, 2}, (int64_t[]){1, 2, 1}, (int64_t[]){3, 7, 7});
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, pd)), 1, &x, "pad");
    int cat = ir_concat(c.g, x, p, 1);
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, cat)), 2, wrt, "concat");
    int self = ir_concat(c.g, p, p, 2); /* one node on both sides */
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, self)), 1, &p, "concat(p, p)");
    gc_free(&c);
}

/* [2,6] -> [3,4] and [2,6] -> [12], each followed by a nonlinearity that sees the new layout. */
static void test_reshape(void) {
    struct gc c;
    gc_init(&c, 70);
    int x = gc_input(&c, "x", 2, (int64_t[]){2, 6}, GC_ANY);
    int p = gc_param(&c, "p", 2, (int64_t[]){3, 4}, GC_ANY);
    int r = ir_reshape(c.g, x, 2, (int64_t[]){3, 4});
    int wrt[2] = {x, p};
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, ir_binary(c.g, IR_MUL, r, p))), 2, wrt, "reshape");
    int flat = ir_reshape(c.g, x, 1, (int64_t[]){12});
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, flat)), 1, &x, "reshape flat");
    gc_free(&c);
}

/* Each conv op in both operands, first and second derivatives (their rules are one another). */
static void test_conv(void) {
    for (int op = 0; op < 3; op++)
        for (int stride = 1; stride <= 2; stride++) {
            struct gc c;
            gc_init(&c, 60 + (uint64_t)(op * 2 + stride));
            int64_t xs[4] = {2, 2, 5, 4}, ws[4] = {3, 2, 3, 3};
            int64_t ys[4] = {2, 3, (5 + 2 - 3) / stride + 1, (4 + 2 - 3) / stride + 1};
            int a, b, y;
            if (op == 0) {
                a = gc_input(&c, "x", 4, xs, GC_ANY), b = gc_param(&c, "w", 4, ws, GC_ANY);
                y = ir_conv2d_op(c.g, a, b, stride, 1);
            } else if (op == 1) {
                a = gc_input(&c, "dy", 4, ys, GC_ANY), b = gc_param(&c, "w", 4, ws, GC_ANY);
                y = ir_conv2d_bwd_data(c.g, a, b, stride, 1, xs[2], xs[3]);
            } else {
                a = gc_input(&c, "x", 4, xs, GC_ANY), b = gc_param(&c, "dy", 4, ys, GC_ANY);
                y = ir_conv2d_bwd_weight(c.g, a, b, stride, 1, ws[2], ws[3]);
            }
            CHECK_MSG(y >= 0, "%s", ir_graph_error(c.g));
            int wrt[2] = {a, b};
            char what[64];
            snprintf(what, sizeof what, "%s stride %d", ir_op_name(ir_node_at(c.g, y)->op), stride);
            gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, y)), 2, wrt, what);
            gc_free(&c);
        }
}

/* NaN selects itself, forward and backward: maximum(NaN, 1), minimum(NaN, 1) and relu(NaN) are NaN and
 * pass the whole gradient to the NaN operand; maximum(1, NaN) passes it to the second. */
static void test_nan(void) {
    struct gc c;
    gc_init(&c, 99);
    int64_t one = 1;
    int a = gc_param(&c, "a", 1, &one, GC_ANY), b = gc_param(&c, "b", 1, &one, GC_ANY);
    c.arg[0][0] = NAN;
    c.arg[1][0] = 1;
    const enum ir_op ops[3] = {IR_MAXIMUM, IR_MINIMUM, IR_RELU};
    for (int k = 0; k < 3; k++)
        for (int swap = 0; swap < (k < 2 ? 2 : 1); swap++) {
            int y = k < 2 ? ir_binary(c.g, ops[k], swap ? b : a, swap ? a : b) : ir_unary(c.g, IR_RELU, a);
            int wrt[2] = {a, b}, gr[2];
            CHECK(ad_grad(c.g, y, -1, 2, wrt, gr) == 0);
            double v = gc_eval_scalar(&c, y), da = gc_eval_scalar(&c, gr[0]), db = gc_eval_scalar(&c, gr[1]);
            CHECK_MSG(isnan(v) && da == 1 && db == 0, "%s%s: value %g, d/dNaN %g, d/d1 %g", ir_op_name(ops[k]),
                      swap ? " (NaN second)" : "", v, da, db);
        }
    gc_free(&c);
}

int main(void) {
    test_conv();
    test_nan();
    test_unary();
    test_binary();
    test_where_pow();
    test_matmul();
    test_broadcast();
    test_sum();
    test_reshape();
    test_max_mean_logsumexp();
    test_movement();
    op_coverage_check("passes_gradcheck_ops");
    return test_report();
}
