/* backend_specials: every op on NaN, infinities, signed zeros and ties, exactly as the table in
 * docs/ir.md ("Special values") states, in the interpreter (double, rounded to float) and in compiled
 * code (O3, vectorized, and O0). Results must match bit for bit (any NaN matches NaN; zeros by sign).
 * Each elementwise op of the op table must have rows here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "jit.h"
#include "test.h"

#define NAN_ NAN
#define INF INFINITY

struct row {
    enum ir_op op;
    float a, b, c; /* operands; where: cond, a, b */
    float want;
};

static const struct row rows[] = {
    {IR_NEG, NAN_, 0, 0, NAN_}, {IR_NEG, INF, 0, 0, -INF}, {IR_NEG, 0.0f, 0, 0, -0.0f},
    {IR_EXP, NAN_, 0, 0, NAN_}, {IR_EXP, INF, 0, 0, INF}, {IR_EXP, -INF, 0, 0, 0}, {IR_EXP, -0.0f, 0, 0, 1},
    {IR_LOG, NAN_, 0, 0, NAN_}, {IR_LOG, INF, 0, 0, INF}, {IR_LOG, -INF, 0, 0, NAN_}, {IR_LOG, 0.0f, 0, 0, -INF},
    {IR_LOG, -0.0f, 0, 0, -INF}, {IR_LOG, -1, 0, 0, NAN_},
    {IR_LOG1P, NAN_, 0, 0, NAN_}, {IR_LOG1P, INF, 0, 0, INF}, {IR_LOG1P, -INF, 0, 0, NAN_}, {IR_LOG1P, -1, 0, 0, -INF},
    {IR_LOG1P, -0.0f, 0, 0, -0.0f}, {IR_LOG1P, -2, 0, 0, NAN_}, {IR_LOG1P, 0x1p-30f, 0, 0, 0x1p-30f},
    {IR_TANH, NAN_, 0, 0, NAN_}, {IR_TANH, INF, 0, 0, 1}, {IR_TANH, -INF, 0, 0, -1}, {IR_TANH, -0.0f, 0, 0, -0.0f},
    {IR_SIGMOID, NAN_, 0, 0, NAN_}, {IR_SIGMOID, INF, 0, 0, 1}, {IR_SIGMOID, -INF, 0, 0, 0},
    {IR_SIGMOID, -0.0f, 0, 0, 0.5f},
    {IR_SILU, NAN_, 0, 0, NAN_}, {IR_SILU, INF, 0, 0, INF}, {IR_SILU, -INF, 0, 0, NAN_}, /* -inf * 0 */
    {IR_SILU, -0.0f, 0, 0, -0.0f},
    {IR_SOFTPLUS, NAN_, 0, 0, NAN_}, {IR_SOFTPLUS, INF, 0, 0, INF}, {IR_SOFTPLUS, -INF, 0, 0, 0},
    {IR_RELU, NAN_, 0, 0, NAN_}, {IR_RELU, INF, 0, 0, INF}, {IR_RELU, -INF, 0, 0, 0}, {IR_RELU, -0.0f, 0, 0, 0.0f},
    {IR_STEP, NAN_, 0, 0, 1}, {IR_STEP, INF, 0, 0, 1}, {IR_STEP, -INF, 0, 0, 0}, {IR_STEP, 0.0f, 0, 0, 0},
    {IR_SQUARE, NAN_, 0, 0, NAN_}, {IR_SQUARE, -INF, 0, 0, INF}, {IR_SQUARE, -0.0f, 0, 0, 0.0f},
    {IR_SQRT, NAN_, 0, 0, NAN_}, {IR_SQRT, INF, 0, 0, INF}, {IR_SQRT, -INF, 0, 0, NAN_}, {IR_SQRT, -0.0f, 0, 0, -0.0f},
    {IR_SQRT, -1, 0, 0, NAN_},
    {IR_ABS, NAN_, 0, 0, NAN_}, {IR_ABS, -INF, 0, 0, INF}, {IR_ABS, -0.0f, 0, 0, 0.0f},
    {IR_RSQRT, NAN_, 0, 0, NAN_}, {IR_RSQRT, INF, 0, 0, 0}, {IR_RSQRT, -INF, 0, 0, NAN_}, {IR_RSQRT, 0.0f, 0, 0, INF},
    {IR_RSQRT, -0.0f, 0, 0, -INF},
    {IR_LEAKY_RELU, NAN_, 0, 0, NAN_}, {IR_LEAKY_RELU, INF, 0, 0, INF}, {IR_LEAKY_RELU, -INF, 0, 0, -INF},
    {IR_LEAKY_RELU, -0.0f, 0, 0, -0.0f},
    {IR_ELU, NAN_, 0, 0, NAN_}, {IR_ELU, INF, 0, 0, INF}, {IR_ELU, -INF, 0, 0, -1}, {IR_ELU, -0.0f, 0, 0, -0.0f},
    {IR_GELU, NAN_, 0, 0, NAN_}, {IR_GELU, INF, 0, 0, INF}, {IR_GELU, -INF, 0, 0, NAN_}, /* -inf * 0 */
    {IR_GELU, -0.0f, 0, 0, -0.0f},
    {IR_SIN, NAN_, 0, 0, NAN_}, {IR_SIN, INF, 0, 0, NAN_}, {IR_SIN, -0.0f, 0, 0, -0.0f},
    {IR_COS, NAN_, 0, 0, NAN_}, {IR_COS, -INF, 0, 0, NAN_}, {IR_COS, -0.0f, 0, 0, 1},
    {IR_ADD, NAN_, 1, 0, NAN_}, {IR_ADD, INF, -INF, 0, NAN_}, {IR_ADD, 0.0f, -0.0f, 0, 0.0f},
    {IR_ADD, -0.0f, -0.0f, 0, -0.0f},
    {IR_SUB, 1, NAN_, 0, NAN_}, {IR_SUB, INF, INF, 0, NAN_}, {IR_SUB, 0.0f, 0.0f, 0, 0.0f},
    {IR_MUL, NAN_, 0, 0, NAN_}, {IR_MUL, INF, 0, 0, NAN_}, {IR_MUL, -0.0f, 1, 0, -0.0f},
    {IR_DIV, NAN_, 1, 0, NAN_}, {IR_DIV, 1, 0.0f, 0, INF}, {IR_DIV, 1, -0.0f, 0, -INF}, {IR_DIV, 0, 0, 0, NAN_},
    {IR_DIV, INF, INF, 0, NAN_},
    {IR_POW, NAN_, 2, 0, NAN_}, {IR_POW, NAN_, 0, 0, 1}, {IR_POW, 1, NAN_, 0, 1}, {IR_POW, -8, 1.0f / 3, 0, NAN_},
    {IR_POW, 0.0f, -1, 0, INF}, {IR_POW, -0.0f, -1, 0, -INF}, {IR_POW, -0.0f, 2, 0, 0.0f}, {IR_POW, -2, 3, 0, -8},
    {IR_POW, -1, INF, 0, 1}, {IR_POW, INF, -1, 0, 0}, {IR_POW, 2, -INF, 0, 0},
    {IR_MAXIMUM, NAN_, 1, 0, NAN_}, {IR_MAXIMUM, 1, NAN_, 0, NAN_}, {IR_MAXIMUM, -INF, 1, 0, 1},
    {IR_MAXIMUM, 0.0f, -0.0f, 0, 0.0f}, {IR_MAXIMUM, -0.0f, 0.0f, 0, -0.0f}, /* ties: the first */
    {IR_MINIMUM, NAN_, 1, 0, NAN_}, {IR_MINIMUM, 1, NAN_, 0, NAN_}, {IR_MINIMUM, INF, 1, 0, 1},
    {IR_MINIMUM, 0.0f, -0.0f, 0, 0.0f}, {IR_MINIMUM, -0.0f, 0.0f, 0, -0.0f},
    {IR_LT, NAN_, 1, 0, 0}, {IR_LT, -INF, INF, 0, 1}, {IR_LT, -0.0f, 0.0f, 0, 0},
    {IR_LE, NAN_, NAN_, 0, 0}, {IR_LE, -0.0f, 0.0f, 0, 1},
    {IR_GT, 1, NAN_, 0, 0}, {IR_GT, INF, 1, 0, 1},
    {IR_GE, NAN_, 1, 0, 0}, {IR_GE, INF, INF, 0, 1},
    {IR_EQ, NAN_, NAN_, 0, 0}, {IR_EQ, 0.0f, -0.0f, 0, 1}, {IR_EQ, INF, INF, 0, 1},
    {IR_WHERE, NAN_, 1, 2, 1}, {IR_WHERE, -0.0f, 1, 2, 2}, {IR_WHERE, INF, NAN_, 2, NAN_},
};

static int same(double got, float want) {
    float g = (float)got;
    if (isnan(want)) return isnan(g);
    return memcmp(&g, &want, sizeof g) == 0;
}

/* Builds y = op(a[, b[, c]]) over every row of op, runs it both ways and compares with the rows. */
static int check_op(enum ir_op op) {
    int n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) n += rows[i].op == op;
    if (n == 0) return 0;
    int64_t len = n;
    int arity = ir_op_arity(op);
    float *fa[3];
    double *da[3];
    for (int k = 0; k < arity; k++) fa[k] = malloc(sizeof(float) * (size_t)n), da[k] = malloc(sizeof(double) * (size_t)n);
    const struct row *mine[256];
    for (size_t i = 0, j = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].op == op) {
            const float v[3] = {rows[i].a, rows[i].b, rows[i].c};
            for (int k = 0; k < arity; k++) fa[k][j] = v[k], da[k][j] = v[k];
            mine[j++] = &rows[i];
        }
    struct ir_graph *g = ir_graph_new();
    int in[3];
    const char *names[3] = {"a", "b", "c"};
    for (int k = 0; k < arity; k++) in[k] = ir_input(g, names[k], 1, &len);
    int y = arity == 1 ? ir_unary(g, op, in[0]) : arity == 2 ? ir_binary(g, op, in[0], in[1]) : ir_where(g, in[0], in[1], in[2]);
    ir_graph_output(g, "y", y);
    double *ref = malloc(sizeof(double) * (size_t)n);
    float *got = malloc(sizeof(float) * (size_t)n);
    char err[256];
    CHECK_MSG(interp_run(g, (const double *const *)da, &ref, err, sizeof err) == 0, "%s", err);
    for (int j = 0; j < n; j++)
        CHECK_MSG(same(ref[j], mine[j]->want), "interp: %s(%g, %g, %g) = %g, docs/ir.md says %g", ir_op_name(op),
                  mine[j]->a, mine[j]->b, mine[j]->c, ref[j], mine[j]->want);
    static const struct jit_options o0 = {.opt_level = 0};
    for (int opt = 0; opt < 2; opt++) {
        struct jit_program *p = jit_compile(g, opt ? &o0 : NULL, err, sizeof err);
        CHECK_MSG(p != NULL, "%s", err);
        if (!p) continue;
        jit_run(p, fa, &got, 1);
        for (int j = 0; j < n; j++)
            CHECK_MSG(same(got[j], mine[j]->want), "jit %s: %s(%g, %g, %g) = %g, docs/ir.md says %g", opt ? "O0" : "O3",
                      ir_op_name(op), mine[j]->a, mine[j]->b, mine[j]->c, got[j], mine[j]->want);
        jit_free(p);
    }
    free(ref);
    free(got);
    for (int k = 0; k < arity; k++) free(fa[k]), free(da[k]);
    ir_graph_free(g);
    return n;
}

/* Reductions and the composites on them, per row of x [rows, 3]. */
static void test_reductions(void) {
    static const float x[][3] = {{-INF, -INF, -INF}, {1, INF, 2}, {1, NAN_, 2}, {INF, -INF, 0}, {NAN_, NAN_, NAN_}};
    static const float want_lse[] = {-INF, INF, NAN_, INF, NAN_}; /* a +inf wins over a -inf */
    static const float want_sum[] = {-INF, INF, NAN_, NAN_, NAN_};
    static const float want_max[] = {-INF, INF, 2, INF, -INF}; /* max skips NaN */
    static const float want_mean[] = {-INF, INF, NAN_, NAN_, NAN_};
    const int n = 5;
    int64_t shape[2] = {n, 3};
    struct ir_graph *g = ir_graph_new();
    int in = ir_input(g, "x", 2, shape);
    ir_graph_output(g, "logsumexp", ir_logsumexp(g, in, 2u));
    ir_graph_output(g, "sum", ir_sum(g, in, 2u));
    ir_graph_output(g, "max", ir_max(g, in, 2u));
    ir_graph_output(g, "mean", ir_mean(g, in, 2u));
    const float *want[] = {want_lse, want_sum, want_max, want_mean};
    float fx[15], *fo[4], *fargs[1] = {fx};
    double dx[15], *dout[4], *dargs[1] = {dx};
    for (int i = 0; i < 15; i++) fx[i] = x[i / 3][i % 3], dx[i] = fx[i];
    for (int k = 0; k < 4; k++) fo[k] = malloc(sizeof(float) * (size_t)n), dout[k] = malloc(sizeof(double) * (size_t)n);
    char err[256];
    CHECK_MSG(interp_run(g, (const double *const *)dargs, dout, err, sizeof err) == 0, "%s", err);
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (p) jit_run(p, fargs, fo, 1);
    for (int k = 0; k < 4; k++)
        for (int r = 0; r < n; r++) {
            CHECK_MSG(same(dout[k][r], want[k][r]), "interp %s of row %d = %g, want %g", g->outputs[k].name, r,
                      dout[k][r], want[k][r]);
            if (p)
                CHECK_MSG(same(fo[k][r], want[k][r]), "jit %s of row %d = %g, want %g", g->outputs[k].name, r,
                          fo[k][r], want[k][r]);
        }
    for (int k = 0; k < 4; k++) free(fo[k]), free(dout[k]);
    jit_free(p);
    ir_graph_free(g);
}

int main(void) {
    for (int op = 0; op < IR_OP_COUNT; op++) {
        int n = check_op((enum ir_op)op);
        if (ir_op_is_elementwise(op))
            CHECK_MSG(n > 0, "elementwise op '%s' has no rows (add them here and to docs/ir.md)", ir_op_name(op));
    }
    test_reductions();
    return test_report();
}
