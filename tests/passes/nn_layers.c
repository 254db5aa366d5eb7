/* passes_nn_layers: the composite layers of ir_nn.c. Values against direct loops written here (a naive
 * convolution, window means, normalization by its definition), evaluated by the interpreter; gradients,
 * first and second order, against finite differences (gradcheck.h). */
#include "gradcheck.h"

/* Runs node y of c's graph and compares it with want (n values) to 1e-12. */
static void check_values(struct gc *c, int y, const double *want, int64_t n, const char *what) {
    CHECK_MSG(y >= 0 && ir_node_numel(&c->g->nodes[y]) == n, "%s: %s", what, y < 0 ? ir_graph_error(c->g) : "size");
    if (y < 0) return;
    double *got = malloc(sizeof(double) * (size_t)n), *vals[1] = {got};
    if (gc_eval(c, 1, &y, vals) == 0)
        for (int64_t i = 0; i < n; i++)
            if (!(fabs(got[i] - want[i]) <= 1e-12 * (1 + fabs(want[i])))) {
                CHECK_MSG(0, "%s[%lld]: got %.17g, want %.17g", what, (long long)i, got[i], want[i]);
                break;
            }
    free(got);
}

/* The definition: y[n, o, i, j] = b[o] + sum over c, p, q of w[o, c, p, q] x[n, c, i s + p - pad, j s + q - pad],
 * terms outside x being zero. */
static void naive_conv(const double *x, const double *w, const double *b, double *y, int N, int C, int H, int W,
                       int O, int KH, int KW, int s, int pad) {
    int OH = (H + 2 * pad - KH) / s + 1, OW = (W + 2 * pad - KW) / s + 1;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double acc = b ? b[o] : 0;
                    for (int c = 0; c < C; c++)
                        for (int p = 0; p < KH; p++)
                            for (int q = 0; q < KW; q++) {
                                int r = i * s + p - pad, t = j * s + q - pad;
                                if (r >= 0 && r < H && t >= 0 && t < W)
                                    acc += w[((o * C + c) * KH + p) * KW + q] * x[((n * C + c) * H + r) * W + t];
                            }
                    y[((n * O + o) * OH + i) * OW + j] = acc;
                }
}

static void conv_case(int N, int C, int H, int W, int O, int KH, int KW, int s, int pad, int bias, uint64_t seed) {
    struct gc c;
    gc_init(&c, seed);
    int x = gc_input(&c, "x", 4, (int64_t[]){N, C, H, W}, GC_ANY);
    int w = gc_param(&c, "w", 4, (int64_t[]){O, C, KH, KW}, GC_ANY);
    int b = bias ? gc_param(&c, "b", 1, (int64_t[]){O}, GC_ANY) : -1;
    int y = ir_conv2d(c.g, x, w, b, s, pad);
    int OH = (H + 2 * pad - KH) / s + 1, OW = (W + 2 * pad - KW) / s + 1;
    int64_t n = (int64_t)N * O * OH * OW;
    double *want = malloc(sizeof(double) * (size_t)n);
    naive_conv(c.arg[0], c.arg[1], bias ? c.arg[2] : NULL, want, N, C, H, W, O, KH, KW, s, pad);
    char what[96];
    snprintf(what, sizeof what, "conv2d %dx%dx%dx%d * %dx%dx%dx%d s%d p%d%s", N, C, H, W, O, C, KH, KW, s, pad,
             bias ? " bias" : "");
    check_values(&c, y, want, n, what);
    free(want);
    int wrt[3] = {x, w, b};
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, y)), bias ? 3 : 2, wrt, what);
    gc_free(&c);
}

static void test_conv2d(void) {
    conv_case(2, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1);
    conv_case(1, 2, 7, 5, 3, 3, 2, 2, 0, 0, 2); /* stride 2, rectangular kernel, no padding */
    conv_case(2, 1, 4, 4, 2, 1, 1, 1, 0, 1, 3); /* 1x1 */
    conv_case(1, 2, 5, 5, 1, 5, 5, 3, 2, 0, 4); /* kernel as large as the input, padding 2, stride 3 */
}

/* avg_pool2d with a partial last window (dropped), and group_norm / layer_norm against their formulas */
static void test_pool_norm(void) {
    struct gc c;
    gc_init(&c, 10);
    int x = gc_input(&c, "x", 4, (int64_t[]){2, 3, 5, 4}, GC_ANY);
    int y = ir_avg_pool2d(c.g, x, 2);
    double want[2 * 3 * 2 * 2];
    for (int nc = 0; nc < 6; nc++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                const double *p = c.arg[0] + nc * 20 + i * 8 + j * 2;
                want[(nc * 2 + i) * 2 + j] = (p[0] + p[1] + p[4] + p[5]) / 4;
            }
    check_values(&c, y, want, 24, "avg_pool2d");
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_SQUARE, y)), 1, &x, "avg_pool2d");
    gc_free(&c);

    gc_init(&c, 11);
    x = gc_input(&c, "x", 3, (int64_t[]){2, 4, 3}, GC_ANY);
    int gamma = gc_param(&c, "gamma", 1, (int64_t[]){4}, GC_ANY), beta = gc_param(&c, "beta", 1, (int64_t[]){4}, GC_ANY);
    y = ir_group_norm(c.g, x, 2, gamma, beta, 1e-5);
    double gn[24];
    for (int n = 0; n < 2; n++)
        for (int grp = 0; grp < 2; grp++) { /* channels 2 grp, 2 grp + 1: 6 values each */
            const double *v = c.arg[0] + n * 12 + grp * 6;
            double mean = 0, var = 0;
            for (int k = 0; k < 6; k++) mean += v[k] / 6;
            for (int k = 0; k < 6; k++) var += (v[k] - mean) * (v[k] - mean) / 6;
            for (int k = 0; k < 6; k++) {
                int ch = grp * 2 + k / 3;
                gn[n * 12 + grp * 6 + k] = (v[k] - mean) / sqrt(var + 1e-5) * c.arg[1][ch] + c.arg[2][ch];
            }
        }
    check_values(&c, y, gn, 24, "group_norm");
    int wrt[3] = {x, gamma, beta};
    gc_check2(&c, gc_weighted_sum(&c, y), 3, wrt, "group_norm");
    int ln = ir_layer_norm(c.g, x, -1, -1, 1e-5);
    double lw[24];
    for (int r = 0; r < 8; r++) {
        const double *v = c.arg[0] + r * 3;
        double mean = (v[0] + v[1] + v[2]) / 3, var = 0;
        for (int k = 0; k < 3; k++) var += (v[k] - mean) * (v[k] - mean) / 3;
        for (int k = 0; k < 3; k++) lw[r * 3 + k] = (v[k] - mean) / sqrt(var + 1e-5);
    }
    check_values(&c, ln, lw, 24, "layer_norm");
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, ln)), 1, &x, "layer_norm");
    int g3 = gc_param(&c, "g3", 1, (int64_t[]){3}, GC_ANY), b3 = gc_param(&c, "b3", 1, (int64_t[]){3}, GC_ANY);
    int wrt3[3] = {x, g3, b3};
    gc_check2(&c, gc_weighted_sum(&c, ir_layer_norm(c.g, x, g3, b3, 1e-5)), 3, wrt3, "layer_norm affine");
    gc_free(&c);
}

/* batched matmul, both forms, against the loops, and by finite differences */
static void test_batch_matmul(void) {
    struct gc c;
    gc_init(&c, 20);
    int a = gc_input(&c, "a", 3, (int64_t[]){3, 2, 4}, GC_ANY);
    int b = gc_param(&c, "b", 3, (int64_t[]){3, 4, 5}, GC_ANY);
    int w = gc_param(&c, "w", 2, (int64_t[]){4, 5}, GC_ANY);
    double want[30], want2[30];
    for (int n = 0; n < 3; n++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 5; j++) {
                double s = 0, s2 = 0;
                for (int k = 0; k < 4; k++) {
                    s += c.arg[0][(n * 2 + i) * 4 + k] * c.arg[1][(n * 4 + k) * 5 + j];
                    s2 += c.arg[0][(n * 2 + i) * 4 + k] * c.arg[2][k * 5 + j];
                }
                want[(n * 2 + i) * 5 + j] = s, want2[(n * 2 + i) * 5 + j] = s2;
            }
    int y = ir_batch_matmul(c.g, a, b), y2 = ir_batch_matmul(c.g, a, w);
    check_values(&c, y, want, 30, "batch_matmul");
    check_values(&c, y2, want2, 30, "batch_matmul, 2-D right operand");
    int wrt[3] = {a, b, w};
    gc_check2(&c, gc_weighted_sum(&c, ir_unary(c.g, IR_TANH, ir_binary(c.g, IR_ADD, y, y2))), 3, wrt, "batch_matmul");
    gc_free(&c);
}

int main(void) {
    test_batch_matmul();
    test_conv2d();
    test_pool_norm();
    return test_report();
}
