/* interp_ops: every op of the reference interpreter against values worked out by hand (literals, or the
 * closed form evaluated with libm for transcendental functions), never against the interpreter itself. */
#include <string.h>

#include "interp.h"
#include "ir.h"
#include "test.h"

/* Results of exact arithmetic on small integers are compared exactly; libm results to a few ulps. */
#define EXACT 0.0
#define ULPS 1e-15

/* Runs g (single output) and compares the output with want[0..n). */
static void check_output(struct ir_graph *g, const double *const *args, const double *want, int n, double rtol,
                         const char *what) {
    double out[64];
    char err[256] = "";
    double *outs[1] = {out};
    CHECK(g->n_outputs == 1);
    int rc = interp_run(g, args, outs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", what, err);
    if (rc != 0) return;
    for (int i = 0; i < n; i++)
        CHECK_MSG(fabs(out[i] - want[i]) <= rtol * fabs(want[i]), "%s[%d]: got %.17g, want %.17g", what, i, out[i],
                  want[i]);
}

static void check_unary(enum ir_op op, const double *x, const double *want, double rtol) {
    struct ir_graph *g = ir_graph_new();
    int64_t shape[1] = {4};
    int in = ir_input(g, "x", 1, shape);
    ir_graph_output(g, "y", op == IR_STOP_GRAD ? ir_stop_grad(g, in) : ir_unary(g, op, in));
    const double *args[1] = {x};
    check_output(g, args, want, 4, rtol, ir_op_name(op));
    ir_graph_free(g);
}

static void test_unary(void) {
    const double x[4] = {-2, -0.5, 0.5, 2};
    const double pos[4] = {0.25, 1, 4, 9};

    check_unary(IR_NEG, x, (double[]){2, 0.5, -0.5, -2}, EXACT);
    check_unary(IR_EXP, x, (double[]){0.1353352832366127, 0.6065306597126334, 1.6487212707001282, 7.38905609893065},
                ULPS);
    check_unary(IR_LOG, pos, (double[]){-1.3862943611198906, 0, 1.3862943611198906, 2.1972245773362196}, ULPS);
    check_unary(IR_TANH, x,
                (double[]){-0.9640275800758169, -0.46211715726000974, 0.46211715726000974, 0.9640275800758169}, ULPS);
    check_unary(IR_SIGMOID, x,
                (double[]){0.11920292202211755, 0.3775406687981454, 0.6224593312018546, 0.8807970779778823}, ULPS);
    check_unary(IR_SILU, x,
                (double[]){-0.2384058440442351, -0.1887703343990727, 0.3112296656009273, 1.7615941559557646}, ULPS);
    check_unary(IR_SOFTPLUS, x,
                (double[]){0.1269280110429725, 0.4740769841801067, 0.9740769841801067, 2.1269280110429727}, ULPS);
    check_unary(IR_RELU, x, (double[]){0, 0, 0.5, 2}, EXACT);
    check_unary(IR_STEP, x, (double[]){0, 0, 1, 1}, EXACT);
    check_unary(IR_SQUARE, x, (double[]){4, 0.25, 0.25, 4}, EXACT);
    check_unary(IR_SQRT, pos, (double[]){0.5, 1, 2, 3}, EXACT);
    check_unary(IR_STOP_GRAD, x, x, EXACT);
    check_unary(IR_ABS, x, (double[]){2, 0.5, 0.5, 2}, EXACT);
    check_unary(IR_RSQRT, pos, (double[]){2, 1, 0.5, 1.0 / 3}, EXACT);
    check_unary(IR_LEAKY_RELU, x, (double[]){-0.02, -0.005, 0.5, 2}, EXACT); /* default slope 0.01 */
    check_unary(IR_ELU, x, (double[]){-0.8646647167633873, -0.3934693402873666, 0.5, 2}, ULPS);
    /* x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), worked out with libm */
    check_unary(IR_GELU, x,
                (double[]){-0.045402305912224966, -0.15428599017485609, 0.34571400982514394, 1.9545976940877752}, 1e-14);
    check_unary(IR_SIN, x, (double[]){-0.9092974268256817, -0.479425538604203, 0.479425538604203, 0.9092974268256817},
                ULPS);
    check_unary(IR_COS, x, (double[]){-0.4161468365471424, 0.8775825618903728, 0.8775825618903728, -0.4161468365471424},
                ULPS);

    /* At 0, relu and step are 0 (step(x) = x > 0); far out, the stable forms neither overflow nor NaN. */
    const double edge[4] = {0, -0.0, 1000, -1000};
    check_unary(IR_RELU, edge, (double[]){0, 0, 1000, 0}, EXACT);
    check_unary(IR_STEP, edge, (double[]){0, 0, 1, 0}, EXACT);
    check_unary(IR_SOFTPLUS, edge, (double[]){0.6931471805599453, 0.6931471805599453, 1000, 0}, ULPS);
    check_unary(IR_SIGMOID, edge, (double[]){0.5, 0.5, 1, 0}, EXACT);
    check_unary(IR_SILU, edge, (double[]){0, 0, 1000, 0}, EXACT);
}

static void test_binary(void) {
    static const enum ir_op ops[] = {IR_ADD,     IR_SUB, IR_MUL, IR_DIV, IR_POW, IR_MAXIMUM,
                                     IR_MINIMUM, IR_LT,  IR_LE,  IR_GT,  IR_GE,  IR_EQ};
    static const double want[][4] = {{1.5, 1, 5, 12}, {0.5, 3, 1, -4}, {0.5, -2, 6, 32}, {2, -2, 1.5, 0.5},
                                     {1, 0.5, 9, 65536},  {1, 2, 3, 8},     {0.5, -1, 2, 4},   {0, 0, 0, 1},
                                     {0, 0, 0, 1},        {1, 1, 1, 0},     {1, 1, 1, 0},      {0, 0, 0, 0}};
    const double a[4] = {1, 2, 3, 4}, b[4] = {0.5, -1, 2, 8};
    int64_t shape[2] = {2, 2}; /* rank 2 so elementwise ops are seen to ignore the shape */
    for (int k = 0; k < (int)(sizeof ops / sizeof ops[0]); k++) {
        struct ir_graph *g = ir_graph_new();
        int x = ir_input(g, "a", 2, shape), y = ir_input(g, "b", 2, shape);
        ir_graph_output(g, "c", ir_binary(g, ops[k], x, y));
        const double *args[2] = {a, b};
        check_output(g, args, want[k], 4, EXACT, ir_op_name(ops[k]));
        ir_graph_free(g);
    }
}

/* where(c, a, b): any nonzero c (negative, NaN) picks a. */
static void test_where(void) {
    const double c[4] = {0, -0.0, -3, NAN}, a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    struct ir_graph *g = ir_graph_new();
    int64_t n = 4;
    int xc = ir_input(g, "c", 1, &n), xa = ir_input(g, "a", 1, &n), xb = ir_input(g, "b", 1, &n);
    ir_graph_output(g, "y", ir_where(g, xc, xa, xb));
    const double *args[3] = {c, a, b};
    check_output(g, args, (double[]){5, 6, 3, 4}, 4, EXACT, "where");
    ir_graph_free(g);
}

/* A[2,3] x B[3,4] with distinct M, K, N, so any index mix-up shows. Each flag stores its operand
 * transposed, and the product must not change. */
static void test_matmul(void) {
    const double a[6] = {1, 2, 3, 4, 5, 6};                            /* [2,3] */
    const double at[6] = {1, 4, 2, 5, 3, 6};                           /* A^T stored [3,2] */
    const double b[12] = {1, 0, 2, -1, 0, 1, 1, 2, 3, -1, 0, 1};       /* [3,4] */
    const double bt[12] = {1, 0, 3, 0, 1, -1, 2, 1, 0, -1, 2, 1};      /* B^T stored [4,3] */
    const double want[8] = {10, -1, 4, 6, 22, -1, 13, 12};             /* [2,4] */
    for (unsigned flags = 0; flags < 4; flags++) {
        int ta = (flags & IR_TRANS_A) != 0, tb = (flags & IR_TRANS_B) != 0;
        int64_t sa[2] = {ta ? 3 : 2, ta ? 2 : 3}, sb[2] = {tb ? 4 : 3, tb ? 3 : 4};
        struct ir_graph *g = ir_graph_new();
        int x = ir_input(g, "a", 2, sa), w = ir_param(g, "b", 2, sb);
        int c = ir_matmul(g, x, w, flags);
        CHECK(c >= 0 && g->nodes[c].shape[0] == 2 && g->nodes[c].shape[1] == 4);
        ir_graph_output(g, "c", c);
        const double *args[2] = {ta ? at : a, tb ? bt : b};
        char what[32];
        snprintf(what, sizeof what, "matmul flags=%u", flags);
        check_output(g, args, want, 8, EXACT, what);
        ir_graph_free(g);
    }
    /* batched: batch 0 is the product above, batch 1 has A scaled by -2 (so C by -2) */
    for (unsigned flags = 0; flags < 4; flags++) {
        int ta = (flags & IR_TRANS_A) != 0, tb = (flags & IR_TRANS_B) != 0;
        int64_t sa[3] = {2, ta ? 3 : 2, ta ? 2 : 3}, sb[3] = {2, tb ? 4 : 3, tb ? 3 : 4};
        double a2[12], b2[24], want2[16];
        for (int i = 0; i < 6; i++) a2[i] = (ta ? at : a)[i], a2[6 + i] = -2 * (ta ? at : a)[i];
        for (int i = 0; i < 12; i++) b2[i] = b2[12 + i] = (tb ? bt : b)[i];
        for (int i = 0; i < 8; i++) want2[i] = want[i], want2[8 + i] = -2 * want[i];
        struct ir_graph *g = ir_graph_new();
        int x = ir_input(g, "a", 3, sa), w = ir_param(g, "b", 3, sb);
        int c = ir_matmul(g, x, w, flags);
        CHECK(c >= 0 && g->nodes[c].ndim == 3 && g->nodes[c].shape[0] == 2 && g->nodes[c].shape[1] == 2 &&
              g->nodes[c].shape[2] == 4);
        ir_graph_output(g, "c", c);
        const double *args[2] = {a2, b2};
        char what[40];
        snprintf(what, sizeof what, "batched matmul flags=%u", flags);
        check_output(g, args, want2, 16, EXACT, what);
        ir_graph_free(g);
    }
}

static void check_sum(int ndim, const int64_t *shape, const double *x, unsigned axes, const double *want, int n) {
    struct ir_graph *g = ir_graph_new();
    ir_graph_output(g, "s", ir_sum(g, ir_input(g, "x", ndim, shape), axes));
    const double *args[1] = {x};
    char what[32];
    snprintf(what, sizeof what, "sum axes=%u", axes);
    check_output(g, args, want, n, EXACT, what);
    ir_graph_free(g);
}

static void test_max(void) {
    const double x[6] = {1, -5, 3, NAN, 2, -1};
    struct ir_graph *g = ir_graph_new();
    ir_graph_output(g, "m", ir_max(g, ir_input(g, "x", 2, (int64_t[]){2, 3}), 2));
    const double *args[1] = {x};
    check_output(g, args, (double[]){3, 2}, 2, EXACT, "max, NaN skipped");
    ir_graph_free(g);
}

/* x = [[1, 2, 3], [4, 5, 6]] */
static void test_movement(void) {
    const double x[6] = {1, 2, 3, 4, 5, 6}, y[2] = {7, 8};
    const double *args[2] = {x, y};
    struct ir_graph *g = ir_graph_new();
    int a = ir_input(g, "x", 2, (int64_t[]){2, 3}), b = ir_input(g, "y", 2, (int64_t[]){2, 1});
    ir_graph_output(g, "t", ir_permute(g, a, (int[]){1, 0}));
    check_output(g, args, (double[]){1, 4, 2, 5, 3, 6}, 6, EXACT, "permute");
    ir_graph_free(g);

    g = ir_graph_new();
    a = ir_input(g, "x", 2, (int64_t[]){2, 3});
    ir_graph_output(g, "s", ir_slice(g, a, (int64_t[]){0, 0}, (int64_t[]){1, 2}, (int64_t[]){2, 2}));
    check_output(g, args, (double[]){1, 3, 4, 6}, 4, EXACT, "slice step 2");
    ir_graph_free(g);

    g = ir_graph_new();
    a = ir_input(g, "x", 2, (int64_t[]){2, 3});
    ir_graph_output(g, "p", ir_pad(g, a, (int64_t[]){1, 0}, (int64_t[]){1, 2}, (int64_t[]){3, 6}));
    check_output(g, args, (double[]){0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0}, 18, EXACT, "pad");
    ir_graph_free(g);

    g = ir_graph_new();
    a = ir_input(g, "x", 2, (int64_t[]){2, 3});
    b = ir_input(g, "y", 2, (int64_t[]){2, 1});
    ir_graph_output(g, "c", ir_concat(g, a, b, 1));
    check_output(g, args, (double[]){1, 2, 3, 7, 4, 5, 6, 8}, 8, EXACT, "concat");
    ir_graph_free(g);
}

static void test_sum(void) {
    const double x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const int64_t s23[2] = {2, 3}, s223[3] = {2, 2, 3};
    check_sum(2, s23, x, 1, (double[]){5, 7, 9}, 3); /* axis 0 */
    check_sum(2, s23, x, 2, (double[]){6, 15}, 2);   /* axis 1 */
    check_sum(2, s23, x, 3, (double[]){21}, 1);      /* both */
    /* [2,2,3] over axes 0 and 2 -> [1,2,1]: (1+2+3)+(7+8+9), (4+5+6)+(10+11+12) */
    check_sum(3, s223, x, 5, (double[]){30, 48}, 2);
    /* over axis 1 only -> [2,1,3] */
    check_sum(3, s223, x, 2, (double[]){5, 7, 9, 17, 19, 21}, 6);
}

static void check_broadcast(int ndim, const int64_t *from, const int64_t *to, const double *x, const double *want,
                            int n) {
    struct ir_graph *g = ir_graph_new();
    ir_graph_output(g, "b", ir_broadcast(g, ir_input(g, "x", ndim, from), ndim, to));
    const double *args[1] = {x};
    check_output(g, args, want, n, EXACT, "broadcast");
    ir_graph_free(g);
}

static void test_broadcast_reshape_const(void) {
    check_broadcast(2, (int64_t[]){1, 3}, (int64_t[]){2, 3}, (double[]){1, 2, 3}, (double[]){1, 2, 3, 1, 2, 3}, 6);
    check_broadcast(2, (int64_t[]){2, 1}, (int64_t[]){2, 3}, (double[]){10, 20},
                    (double[]){10, 10, 10, 20, 20, 20}, 6);
    check_broadcast(2, (int64_t[]){1, 1}, (int64_t[]){2, 2}, (double[]){7}, (double[]){7, 7, 7, 7}, 4);
    check_broadcast(3, (int64_t[]){2, 1, 3}, (int64_t[]){2, 2, 3}, (double[]){1, 2, 3, 4, 5, 6},
                    (double[]){1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}, 12);

    /* reshape keeps the row-major order */
    struct ir_graph *g = ir_graph_new();
    const double x[6] = {1, 2, 3, 4, 5, 6};
    ir_graph_output(g, "r", ir_reshape(g, ir_input(g, "x", 2, (int64_t[]){2, 3}), 2, (int64_t[]){3, 2}));
    check_output(g, (const double *[]){x}, x, 6, EXACT, "reshape");
    ir_graph_free(g);

    /* a constant takes no argument and fills its shape */
    g = ir_graph_new();
    ir_graph_output(g, "c", ir_const(g, -2.5, 2, (int64_t[]){2, 2}));
    check_output(g, NULL, (double[]){-2.5, -2.5, -2.5, -2.5}, 4, EXACT, "const");
    ir_graph_free(g);
}

/* Arguments bind in node-table order whatever their kind; every output is copied out, an argument too. */
static void test_args_and_outputs(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s1[1] = {3}, s23[2] = {2, 3};
    int x = ir_input(g, "x", 2, s23);
    int bias = ir_param(g, "bias", 1, s1);
    int scale = ir_input(g, "scale", 2, s23);
    int y = ir_binary(g, IR_MUL, ir_binary_bcast(g, IR_ADD, x, bias), scale); /* (x + bias) * scale */
    ir_graph_output(g, "y", y);
    ir_graph_output(g, "bias_out", bias);
    ir_graph_output(g, "total", ir_sum_all(g, y));

    const double xv[6] = {1, 2, 3, 4, 5, 6}, bv[3] = {10, 20, 30}, sv[6] = {1, 1, 1, 2, 2, 2};
    const double *args[3] = {xv, bv, sv};
    double yo[6], bo[3], to[1];
    double *outs[3] = {yo, bo, to};
    char err[256] = "";
    CHECK(interp_run(g, args, outs, err, sizeof err) == 0);
    const double want[6] = {11, 22, 33, 28, 50, 72};
    for (int i = 0; i < 6; i++) CHECK(yo[i] == want[i]);
    for (int i = 0; i < 3; i++) CHECK(bo[i] == bv[i]);
    CHECK(to[0] == 216);
    ir_graph_free(g);
}

/* Buffers are freed after their last use: a node read twice by one consumer (t * t), a node nobody
 * reads, and one node named by two outputs and also read by a later node must all come out right
 * (and valgrind-clean). */
static void test_buffer_lifetimes(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s[1] = {2};
    int x = ir_input(g, "x", 1, s);
    int t = ir_unary(g, IR_EXP, x);
    int u = ir_binary(g, IR_MUL, t, t);
    ir_unary(g, IR_NEG, x); /* dead */
    int total = ir_sum_all(g, ir_binary(g, IR_ADD, u, x));
    ir_graph_output(g, "u", u);
    ir_graph_output(g, "total", total);
    ir_graph_output(g, "u_again", u);
    const double xv[2] = {0, 1};
    double uo[2], to[1], ua[2];
    double *outs[3] = {uo, to, ua};
    char err[256] = "";
    CHECK(interp_run(g, (const double *[]){xv}, outs, err, sizeof err) == 0);
    const double e2 = 7.38905609893065; /* e^2 */
    CHECK(uo[0] == 1 && fabs(uo[1] - e2) <= ULPS * e2 && ua[0] == uo[0] && ua[1] == uo[1]);
    CHECK(fabs(to[0] - (1 + e2 + 1)) <= ULPS * to[0]);
    ir_graph_free(g);
}

/* A corrupted graph is refused with a message instead of read out of bounds. */
static void test_invalid_graph(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s[1] = {2};
    int x = ir_input(g, "x", 1, s);
    int y = ir_unary(g, IR_EXP, x);
    ir_graph_output(g, "y", y);
    g->nodes[y].in[0] = 5; /* not an earlier node */
    double out[2];
    double *outs[1] = {out};
    const double xv[2] = {0, 0};
    char err[256] = "";
    CHECK(interp_run(g, (const double *[]){xv}, outs, err, sizeof err) == -1);
    CHECK(strstr(err, "not an earlier node") != NULL);
    ir_graph_free(g);
}

int main(void) {
    test_unary();
    test_binary();
    test_where();
    test_max();
    test_movement();
    test_matmul();
    test_sum();
    test_broadcast_reshape_const();
    test_args_and_outputs();
    test_buffer_lifetimes();
    test_invalid_graph();
    return test_report();
}
