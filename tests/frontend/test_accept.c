/* test_accept.c: accepted programs: the parsed model (parameters, initializers, settings), the lowered
 * graph (verifies, energy shape [batch], shared parameters) and what it computes. */
#include <math.h>

#include "fe_test_util.h"
#include "mini_interp.h"
#include "test.h"

static const char *rings =
    "# rings.ebm: comments run from '#' to end of line\n"
    "param W1: [2, 128] = xavier()\n"
    "param b1: [128] = zeros()\n"
    "param W2: [128, 128] = xavier()\n"
    "param b2: [128] = zeros()\n"
    "param w_out: [128, 1] = normal(0.01)\n"
    "param b_out: [1] = zeros()\n"
    "\n"
    "energy(x: [B, 2]) {\n"
    "  h = silu(x @ W1 + b1)\n"
    "  h = silu(h @ W2 + b2)\n"
    "  return sum(h @ w_out + b_out, 1)     # shape [B]\n"
    "}\n"
    "\n"
    "train {\n"
    "  data = rings\n"
    "  objective = dcd-ve\n"
    "  steps = 2000\n"
    "  lr = 1e-3\n"
    "}\n";

/* Parses with no diagnostics at all, or reports what was printed. */
static struct fe_model *parse_ok(const char *source) {
    char *diag;
    struct fe_model *m = parse_capture(source, &diag);
    CHECK_MSG(m != NULL && diag && diag[0] == 0, "diagnostics:\n%s", diag ? diag : "");
    free(diag);
    return m;
}

/* Lowers into a fresh graph at this batch; checks ir_verify and the energy's shape. */
static struct ir_graph *lower_at(const struct fe_model *m, int64_t batch, int *energy) {
    struct ir_graph *g = ir_graph_new();
    int64_t shape[IR_MAX_DIMS];
    fe_model_input_shape(m, batch, shape);
    int x = ir_input(g, "x", fe_model_input_ndim(m), shape);
    CHECK(x >= 0);
    *energy = -1;
    CHECK(fe_lower_energy(m, g, x, energy, stderr) == 0);
    char err[256] = "";
    CHECK_MSG(ir_verify(g, err, sizeof err) == 0, "%s", err);
    CHECK(*energy >= 0 && *energy < g->n_nodes);
    if (*energy >= 0) {
        CHECK(g->nodes[*energy].ndim == 1);
        CHECK(g->nodes[*energy].shape[0] == batch);
    }
    return g;
}

static void fill(double *a, int n, double scale, int seed) {
    for (int i = 0; i < n; i++) a[i] = scale * sin(0.7 * i + 1.3 * seed + 0.1);
}

static double silu(double x) { return x / (1 + exp(-x)); }

static void test_rings(void) {
    struct fe_model *m = parse_ok(rings);
    if (!m) return;
    CHECK(strcmp(fe_model_filename(m), "t.ebm") == 0);
    CHECK(fe_model_input_ndim(m) == 2);
    int64_t shape[4];
    fe_model_input_shape(m, 33, shape);
    CHECK(shape[0] == 33 && shape[1] == 2);

    /* parameters, in declaration order */
    static const struct {
        const char *name;
        int ndim;
        int64_t d0, d1;
        enum fe_init init;
        double arg0;
        int line;
    } want[] = {
        {"W1", 2, 2, 128, FE_INIT_XAVIER, 0, 2},  {"b1", 1, 128, 0, FE_INIT_ZEROS, 0, 3},
        {"W2", 2, 128, 128, FE_INIT_XAVIER, 0, 4}, {"b2", 1, 128, 0, FE_INIT_ZEROS, 0, 5},
        {"w_out", 2, 128, 1, FE_INIT_NORMAL, 0.01, 6}, {"b_out", 1, 1, 0, FE_INIT_ZEROS, 0, 7},
    };
    CHECK(fe_model_n_params(m) == 6);
    for (int i = 0; i < 6 && i < fe_model_n_params(m); i++) {
        const struct fe_param *p = fe_model_param(m, i);
        CHECK_MSG(strcmp(p->name, want[i].name) == 0, "param %d is %s", i, p->name);
        CHECK(p->ndim == want[i].ndim && p->shape[0] == want[i].d0);
        if (p->ndim == 2) CHECK(p->shape[1] == want[i].d1);
        CHECK(p->init == want[i].init);
        CHECK(p->init_args[0] == want[i].arg0);
        CHECK(p->loc.line == want[i].line && p->loc.col == 7);
    }
    CHECK(fe_model_param(m, 6) == NULL && fe_model_param(m, -1) == NULL);

    /* settings, as written, with locations */
    CHECK(fe_model_n_settings(m) == 4);
    const struct fe_setting *s = fe_model_find_setting(m, "objective");
    CHECK(s && strcmp(s->value, "dcd-ve") == 0 && !s->is_number);
    CHECK(s && s->loc.line == 17 && s->loc.col == 3 && s->value_loc.line == 17 && s->value_loc.col == 15);
    s = fe_model_find_setting(m, "lr");
    CHECK(s && strcmp(s->value, "1e-3") == 0 && s->is_number && s->number == 1e-3);
    s = fe_model_find_setting(m, "steps");
    CHECK(s && s->is_number && s->number == 2000);
    s = fe_model_setting(m, 0);
    CHECK(s && strcmp(s->key, "data") == 0 && strcmp(s->value, "rings") == 0);
    CHECK(fe_model_find_setting(m, "batch") == NULL && fe_model_setting(m, 4) == NULL);

    /* lowering at batch 4 and what it computes */
    int e;
    struct ir_graph *g = lower_at(m, 4, &e);
    double x[8], W1[256], b1[128], W2[128 * 128], b2[128], wo[128], bo[1];
    fill(x, 8, 1.0, 1), fill(W1, 256, 0.3, 2), fill(b1, 128, 0.1, 3), fill(W2, 128 * 128, 0.1, 4);
    fill(b2, 128, 0.1, 5), fill(wo, 128, 0.2, 6), fill(bo, 1, 0.5, 7);
    struct mini_arg args[] = {{"x", x}, {"W1", W1}, {"b1", b1}, {"W2", W2}, {"b2", b2}, {"w_out", wo}, {"b_out", bo}};
    double *E = mini_eval(g, args, 7, e);
    CHECK(E != NULL);
    for (int r = 0; E && r < 4; r++) {
        double h1[128], h2[128], out = bo[0];
        for (int j = 0; j < 128; j++) h1[j] = silu(x[2 * r] * W1[j] + x[2 * r + 1] * W1[128 + j] + b1[j]);
        for (int j = 0; j < 128; j++) {
            double a = b2[j];
            for (int k = 0; k < 128; k++) a += h1[k] * W2[k * 128 + j];
            h2[j] = silu(a);
        }
        for (int k = 0; k < 128; k++) out += h2[k] * wo[k];
        CHECK_CLOSE(E[r], out, 1e-12, 1e-9);
    }
    free(E);
    ir_graph_free(g);

    /* the AST printer shows the checked types */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fe_print_ast(m, f);
    fclose(f);
    CHECK(strstr(text, "  param w_out [128, 1] = normal(0.01)\n") != NULL);
    CHECK(strstr(text, "  energy x [B, 2]\n    assign h\n      call silu : [B, 128]\n        binary + : [B, 128]\n"
                       "          matmul @ : [B, 128]\n            name x : [B, 2]\n            name W1 : [2, 128]\n") != NULL);
    CHECK(strstr(text, "    objective = dcd-ve\n    steps = 2000 (number)\n") != NULL);
    free(text);

    /* fe_error_at, as the runtime uses it for a bad setting */
    text = NULL;
    f = open_memstream(&text, &len);
    s = fe_model_find_setting(m, "objective");
    fe_error_at(m, s->value_loc, f, "unknown objective '%s'; expected cd, sr-cd or dcd-ve", s->value);
    fclose(f);
    CHECK_MSG(strcmp(text, "t.ebm:17:15: error: unknown objective 'dcd-ve'; expected cd, sr-cd or dcd-ve\n"
                           "  objective = dcd-ve\n"
                           "              ^\n") == 0, "%s", text);
    free(text);
    fe_model_free(m);
}

/* Two lowerings into one graph (e.g. data and samples) share the parameter nodes. */
static void test_shared_params(void) {
    struct fe_model *m = parse_ok(rings);
    if (!m) return;
    struct ir_graph *g = ir_graph_new();
    int64_t s1[2] = {4, 2}, s2[2] = {6, 2};
    int x1 = ir_input(g, "x_pos", 2, s1), x2 = ir_input(g, "x_neg", 2, s2), e1 = -1, e2 = -1;
    CHECK(fe_lower_energy(m, g, x1, &e1, stderr) == 0);
    int n_after_first = g->n_nodes;
    CHECK(fe_lower_energy(m, g, x2, &e2, stderr) == 0);
    CHECK(e1 >= 0 && e2 >= 0 && e1 != e2);
    CHECK(g->nodes[e1].shape[0] == 4 && g->nodes[e2].shape[0] == 6);
    int params = 0;
    for (int i = 0; i < g->n_nodes; i++) params += g->nodes[i].op == IR_PARAM;
    CHECK(params == 6);
    CHECK(ir_graph_args(g, NULL) == 8);
    CHECK(g->n_nodes > n_after_first);
    /* lowering the same input again adds nothing: every node is hash-consed */
    int n = g->n_nodes, e3 = -1;
    CHECK(fe_lower_energy(m, g, x1, &e3, stderr) == 0);
    CHECK(e3 == e1 && g->n_nodes == n);
    char err[256];
    CHECK(ir_verify(g, err, sizeof err) == 0);
    ir_graph_free(g);
    fe_model_free(m);
}

/* Parses, lowers at batch 3 with x filled by fill(…, 1.0, 1) and params by fill(…, 0.5, k), and
 * compares the energy with ref(x row) for every row. */
typedef double (*ref_fn)(const double *row);
static void check_program(const char *src, int row_len, ref_fn ref) {
    struct fe_model *m = parse_ok(src);
    if (!m) {
        fprintf(stderr, "program:\n%s\n", src);
        return;
    }
    int e;
    struct ir_graph *g = lower_at(m, 3, &e);
    double x[64], pbuf[8][64];
    struct mini_arg args[9] = {{"x", x}};
    fill(x, 3 * row_len, 1.0, 1);
    for (int i = 0; i < fe_model_n_params(m) && i < 8; i++) {
        fill(pbuf[i], 64, 0.5, i + 2);
        args[i + 1].name = fe_model_param(m, i)->name;
        args[i + 1].data = pbuf[i];
    }
    double *E = e >= 0 ? mini_eval(g, args, fe_model_n_params(m) + 1, e) : NULL;
    CHECK(E != NULL);
    for (int r = 0; E && r < 3; r++) CHECK_CLOSE(E[r], ref(x + r * row_len), 1e-12, 1e-9);
    free(E);
    ir_graph_free(g);
    fe_model_free(m);
}

static double ref_reduce(const double *x) {
    double sq = (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]) / 3, s = x[0] + x[1] + x[2];
    return (sq * 2 - 1) + (-s / 3) * 0.5 + 4 - -1;
}

static double ref_unary(const double *x) {
    double a = x[0], b = 0.7 * a + 0.2;
    double u = silu(a) + log1p(exp(b)) + tanh(a) + (a > 0 ? a : 0) + 1 / (1 + exp(-b)) + exp(-(a * a));
    u = u + log(b * b + 1) + sqrt(a * a + 2) + a - (-b) / 2;
    return u + 2 * a - (3 - b) * (a / 4);
}

static double ref_3d(const double *x) { /* W: [6, 1] = fill(…, 0.5, 2), w: [3] = fill(…, 0.5, 3) */
    double W[64], w[64], v = 0, cols = 0;
    fill(W, 64, 0.5, 2), fill(w, 64, 0.5, 3);
    for (int i = 0; i < 6; i++) v += x[i] * W[i];
    for (int j = 0; j < 3; j++) cols += (x[j] + x[3 + j]) * w[j];
    return v + cols;
}

static double ref_bcast(const double *x) { /* c: [3] = fill(…, 0.5, 2), k: [1] = fill(…, 0.5, 3) */
    double c[64], k[64], s = x[0] + x[1] + x[2], r = 0;
    fill(c, 64, 0.5, 2), fill(k, 64, 0.5, 3);
    for (int j = 0; j < 3; j++) r += x[j] * s + c[j];
    return r + k[0];
}

static double ref_half_square(const double *x) { return x[0] * x[0] / 2; }

static double ref_row_mean(const double *x) {
    double m = (x[0] + x[1]) / 2;
    return (x[0] - m) + (x[1] - m) + m;
}

static double ref_new_ops(const double *x) {
    double e = 0;
    for (int i = 0; i < 2; i++) {
        double v = x[i], u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
        double a = fabs(v) + 1 / sqrt(v * v + 1) + (v > 0 ? v : 0.01 * v) + (v > 0 ? v : 0.2 * v) +
                   (v > 0 ? v : expm1(v)) + (v > 0 ? v : 2 * expm1(v)) + v / (1 + exp(-2 * u)) + sin(v) + cos(v);
        double b = pow(fabs(v) + 1, 1.5) + (v >= 0.25 ? v : 0.25) + (0.25 <= v ? 0.25 : v) + (v < 0) + (v <= 0) +
                   (v > 0) + (v >= 0) + 1;
        double c = (v > 0 ? v : -v) + 8;
        e += a + b + c;
    }
    return e;
}

static double ref_reductions(const double *x) { /* x: [2, 3] per row */
    double m = -INFINITY, s = 0, cols = 0;
    for (int i = 0; i < 6; i++) m = fmax(m, x[i]), s += x[i];
    for (int i = 0; i < 6; i++) cols += exp(x[i] - m);
    double lse = m + log(cols), col_max = 0;
    for (int j = 0; j < 3; j++) col_max += fmax(x[j], x[3 + j]);
    return s / 6 + m + lse + col_max;
}

static double ref_movement(const double *x) { /* x: [2, 3] per row; W: [2, 3] = fill(…, 0.5, 2) */
    double W[64], e = 0;
    fill(W, 64, 0.5, 2);
    /* transpose(W) * permute(x, 1, 0) = W^T .* x^T, summed: sum(W .* x) */
    for (int i = 0; i < 6; i++) e += W[i] * x[i];
    /* s = x[:, :, 1:2] (broadcast over 2 columns) + 2 x[:, :, 0::2] */
    e += 2 * (x[1] + x[4]) + 2 * (x[0] + x[2] + x[3] + x[5]);
    double total = x[0] + x[1] + x[2] + x[3] + x[4] + x[5];
    return e + total /* pad adds zeros */ + 2 * total + x[0] + x[1] + x[2] /* concat(x, x, x[:, 0:1]) */;
}

/* The layers lower to exactly ir_nn.c's composites (whose values passes_nn_layers checks against
 * naive loops): rebuilt by hand in the same graph, hash-consing returns the energy's own node. */
static void test_layers_lower(void) {
    struct fe_model *m = parse_ok("param w: [4, 2, 3, 3] = normal(0.1)\n"
                                  "param b: [4] = zeros()\n"
                                  "param u: [2] = ones()\n"
                                  "energy(x: [B, 2, 6, 5]) {\n"
                                  "  h = silu(conv2d(x, w, b, 1, 1))\n"
                                  "  h = group_norm(h, 2, b, b)\n"
                                  "  p = layer_norm(avg_pool2d(h, 2), u, u) + group_norm(avg_pool2d(h, 2), 4)\n"
                                  "  return sum(p, 1, 2, 3) + sum(conv2d(x, w, 2, 1), 1, 2, 3)\n"
                                  "}\n");
    if (!m) return;
    int e;
    struct ir_graph *g = lower_at(m, 3, &e);
    int x = ir_graph_find_arg(g, "x"), w = ir_graph_find_arg(g, "w"), b = ir_graph_find_arg(g, "b");
    int u = ir_graph_find_arg(g, "u");
    int h = ir_group_norm(g, ir_unary(g, IR_SILU, ir_conv2d(g, x, w, b, 1, 1)), 2, b, b, 1e-5);
    int pool = ir_avg_pool2d(g, h, 2);
    int p = ir_binary(g, IR_ADD, ir_layer_norm(g, pool, u, u, 1e-5), ir_group_norm(g, pool, 4, -1, -1, 1e-5));
    int64_t batch = 3;
    int sp = ir_reshape(g, ir_sum(g, p, 14), 1, &batch);
    int sc = ir_reshape(g, ir_sum(g, ir_conv2d(g, x, w, -1, 2, 1), 14), 1, &batch);
    CHECK_MSG(ir_binary(g, IR_ADD, sp, sc) == e, "the lowered layers differ from ir_nn.c's");
    ir_graph_free(g);
    fe_model_free(m);

    /* batched matmul, both forms, lowers to ir_batch_matmul */
    m = parse_ok("param w: [3, 4] = normal(0.1)\n"
                 "energy(x: [B, 2, 3]) { return sum(x @ w, 1, 2) + sum((x @ w) @ transpose(x @ w, 1, 2), 1, 2) }\n");
    if (!m) return;
    g = lower_at(m, 3, &e);
    x = ir_graph_find_arg(g, "x"), w = ir_graph_find_arg(g, "w");
    int xw = ir_batch_matmul(g, x, w);
    int s1 = ir_reshape(g, ir_sum(g, xw, 6), 1, &batch);
    int s2 = ir_reshape(g, ir_sum(g, ir_batch_matmul(g, xw, ir_permute(g, xw, (int[]){0, 2, 1})), 6), 1, &batch);
    CHECK_MSG(ir_binary(g, IR_ADD, s1, s2) == e, "batched matmul lowers differently");
    ir_graph_free(g);
    fe_model_free(m);
}

static double ref_defs(const double *x) { /* W: [2, 2] = fill(…, 0.5, 2), b: [2] = fill(…, 0.5, 3) */
    double W[64], b[64], h[2] = {x[0], x[1]};
    fill(W, 64, 0.5, 2), fill(b, 64, 0.5, 3);
    for (int rep = 0; rep < 2; rep++) { /* h = res(h) twice: h + tanh(h @ W + b) */
        double t[2];
        for (int j = 0; j < 2; j++) t[j] = tanh(h[0] * W[j] + h[1] * W[2 + j] + b[j]);
        h[0] += t[0], h[1] += t[1];
    }
    double sq = 0;
    for (int j = 0; j < 2; j++) sq += h[j] * h[j] * 0.5;
    return sq + 3;
}

static void test_programs(void) {
    /* reductions over one axis (also negative) with the axis dropped; numbers fold; ';' separates */
    check_program("energy(x: [B, 3]) {\n"
                  "  a = mean(square(x), 1) * 2 - 1\n"
                  "  b = -sum(x, -1) / 3;  c = 2 * 3 - 4 / 2\n"
                  "  return a + b * 0.5 + c - -1\n"
                  "}\n",
                  3, ref_reduce);
    /* every unary builtin; numbers on either side of each operator; precedence of unary minus */
    check_program("energy(x: [B]) {\n"
                  "  a = x\n"
                  "  b = 0.7 * x + 0.2\n"
                  "  u = silu(a) + softplus(b) + tanh(a) + relu(a) + sigmoid(b) + exp(-square(a))\n"
                  "  u = u + log(square(b) + 1) + sqrt(square(a) + 2) + stop_grad(a) - (-b) / 2\n"
                  "  return u + 2 * a - (3 - b) * (a / 4)\n"
                  "}\n",
                  1, ref_unary);
    /* a rank-3 input, reshape with B, a reduction of a middle axis */
    check_program("param W: [6, 1] = normal(0.1)\n"
                  "param w: [3] = ones()\n"
                  "energy(x: [B, 2, 3]) {\n"
                  "  v = reshape(x, [B, 6]) @ W\n"
                  "  cols = sum(x, 1)\n"
                  "  return sum(v, 1) + sum(cols * w, -1)\n"
                  "}\n",
                  6, ref_3d);
    /* the same with reshape's -1, inferred anew at each call of a function: 6, then 3 */
    check_program("param W: [6, 1] = normal(0.1)\n"
                  "param w: [3] = ones()\n"
                  "def flat(h) { return reshape(h, [B, -1]) }\n"
                  "energy(x: [B, 2, 3]) {\n"
                  "  v = flat(reshape(flat(x), [B, -1, 3])) @ W\n"
                  "  cols = sum(x, 1)\n"
                  "  return sum(v, 1) + sum(flat(cols) * w, -1)\n"
                  "}\n",
                  6, ref_3d);
    /* broadcasting [B, 3] * [B, 1] + [3], then [B] + [1] */
    check_program("param c: [3] = zeros()\n"
                  "param k: [1] = uniform(-0.5, 0.5)\n"
                  "energy(x: [B, 3]) {\n"
                  "  s = reshape(sum(x, 1), [B, 1])\n"
                  "  return sum(x * s + c, 1) + k\n"
                  "}\n",
                  3, ref_bcast);
    /* [B, 1] is returned as [B]; rank-1 input */
    check_program("energy(x: [B, 1]) { return x * x / 2 }", 1, ref_half_square);
    check_program("energy(x: [B]) { return square(x) * 0.5 }", 1, ref_half_square);
    /* the elementwise builtins beyond the basic ones, with numbers on either side */
    check_program("energy(x: [B, 2]) {\n"
                  "  a = abs(x) + rsqrt(square(x) + 1) + leaky_relu(x) + leaky_relu(x, 0.2) + elu(x) + elu(x, 2)\n"
                  "  a = a + gelu(x) + sin(x) + cos(x)\n"
                  "  b = pow(abs(x) + 1, 1.5) + maximum(x, 0.25) + minimum(0.25, x) + lt(x, 0) + le(x, 0)\n"
                  "  b = b + gt(x, 0) + ge(x, 0) + eq(x, x)\n"
                  "  return sum(a + b + where(gt(x, 0), x, -x) + pow(2, 3), 1)\n"
                  "}\n",
                  2, ref_new_ops);
    /* several axes at once; max and logsumexp */
    check_program("energy(x: [B, 2, 3]) {\n"
                  "  return mean(x, 1, 2) + max(x, -1, 1) + logsumexp(x, 1, 2) + sum(max(x, 1), 1)\n"
                  "}\n",
                  6, ref_reductions);
    /* movement: transpose, permute with B moving, slice (negative indexes, step), pad, n-ary concat */
    check_program("param W: [2, 3] = normal(0.1)\n"
                  "energy(x: [B, 2, 3]) {\n"
                  "  t = permute(x, 2, 0, 1) * reshape(transpose(W), [3, 1, 2])\n"
                  "  s = slice(x, 2, 1, 2) + slice(x, -1, 0, 3, 2) + slice(x, 2, -3, 3, 2)\n"
                  "  p = pad(x, 1, 1, 2)\n"
                  "  c = concat(x, x, slice(x, 1, 0, 1), 1)\n"
                  "  return sum(t, 0, 2) + sum(s, 1, 2) + sum(p, 1, 2) + sum(c, 1, 2)\n"
                  "}\n",
                  6, ref_movement);
    /* user functions: called twice, calling another, a number argument, the model's parameters inside,
     * local names that do not leak (h inside res is not the energy's h), defined after use */
    check_program("param W: [2, 2] = normal(0.1)\n"
                  "param b: [2] = zeros()\n"
                  "def half_square(v, k) { return sum(square(v), 1) * k }\n"
                  "energy(x: [B, 2]) {\n"
                  "  h = res(res(x))\n"
                  "  return half_square(h, 0.5) + three()\n"
                  "}\n"
                  "def res(a) { h = tanh(a @ W + b)  return a + h }\n"
                  "def three() { return 3 }\n",
                  2, ref_defs);
    /* reductions within a sample (across the batch they are refused: test_errors.c) */
    check_program("energy(x: [B, 2]) { return sum(x - reshape(mean(x, 1), [B, 1]), 1) + mean(x, -1) }", 2, ref_row_mean);
}

/* Inits, settings in every form, comments, CRLF, unused parameters (a warning; still in the graph). */
static void test_declarations(void) {
    char *diag;
    struct fe_model *m = parse_capture("param a: [2, 3, 4, 5] = ones()\r\n"
                      "param b: [5] = uniform(-0.5, 2)\r\n"
                      "param c: [4, 1] = normal(1e-2)\r\n"
                      "param unused: [7] = zeros()   # never read\r\n"
                      "train { name = \"two words\"; neg = -4.5e+2; word = a.b-c_d; hex = 0x1; e = .5 }\r\n"
                      "energy(x: [B, 3, 4, 5]) {\r\n"
                      "  y = sum(a, 0) * x + b + c\r\n"
                      "  return mean(reshape(y, [B, 60]), 1)\r\n"
                      "}\r\n",
                      &diag);
    CHECK_MSG(m != NULL, "%s", diag);
    CHECK_MSG(diag && strcmp(diag, "t.ebm:4:7: warning: parameter 'unused' is not used by the energy\n"
                                   "param unused: [7] = zeros()   # never read\n"
                                   "      ^\n") == 0, "%s", diag);
    free(diag);
    /* an uncalled function is a warning too: its body (here with an error) is never checked */
    struct fe_model *d = parse_capture("energy(x: [B]) { return x }\ndef f(a) { return a @ a }\n", &diag);
    CHECK_MSG(d != NULL && diag && strcmp(diag, "t.ebm:2:5: warning: function 'f' is never called, so its body is not "
                                               "checked\ndef f(a) { return a @ a }\n    ^\n") == 0, "%s", diag);
    free(diag);
    fe_model_free(d);
    if (!m) return;
    CHECK(fe_model_n_params(m) == 4);
    const struct fe_param *p = fe_model_param(m, 0);
    CHECK(p->ndim == 4 && p->shape[3] == 5 && p->init == FE_INIT_ONES);
    p = fe_model_param(m, 1);
    CHECK(p->init == FE_INIT_UNIFORM && p->init_args[0] == -0.5 && p->init_args[1] == 2);
    p = fe_model_param(m, 2);
    CHECK(p->init == FE_INIT_NORMAL && p->init_args[0] == 1e-2);
    CHECK(fe_model_n_settings(m) == 5);
    const struct fe_setting *s = fe_model_find_setting(m, "name");
    CHECK(s && strcmp(s->value, "two words") == 0 && !s->is_number && s->value_loc.col == 16);
    s = fe_model_find_setting(m, "neg");
    CHECK(s && s->is_number && s->number == -450 && strcmp(s->value, "-4.5e+2") == 0);
    s = fe_model_find_setting(m, "word");
    CHECK(s && !s->is_number && strcmp(s->value, "a.b-c_d") == 0);
    s = fe_model_find_setting(m, "hex"); /* hexadecimal is not a number here */
    CHECK(s && !s->is_number && strcmp(s->value, "0x1") == 0);
    s = fe_model_find_setting(m, "e");
    CHECK(s && s->is_number && s->number == 0.5);
    CHECK(fe_model_input_ndim(m) == 4);
    int e;
    struct ir_graph *g = lower_at(m, 2, &e);
    CHECK(ir_graph_find_arg(g, "unused") >= 0); /* every parameter is an argument, used or not */
    int ids[8];
    CHECK(ir_graph_args(g, ids) == 5);
    CHECK(strcmp(g->nodes[ids[1]].name, "a") == 0 && strcmp(g->nodes[ids[4]].name, "unused") == 0);
    ir_graph_free(g);
    fe_model_free(m);
}

/* An input whose shape does not match the model is refused with a message. */
static void test_bad_input(void) {
    struct fe_model *m = parse_ok(rings);
    if (!m) return;
    struct ir_graph *g = ir_graph_new();
    int64_t shape[2] = {4, 3};
    int x = ir_input(g, "x", 2, shape), e = -1;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(fe_lower_energy(m, g, x, &e, f) == -1);
    CHECK(fe_lower_energy(m, g, 99, &e, f) == -1);
    fclose(f);
    char line[256];
    CHECK_MSG(strcmp(nth_line(text, 0, line, sizeof line),
                     "t.ebm:9:8: error: the energy's argument 'x' is [B, 2]; the input node has shape [4, 3]") == 0,
              "%s", text);
    CHECK(strcmp(nth_line(text, 3, line, sizeof line), "t.ebm:9:8: error: the input node %99 does not exist in the graph") == 0);
    free(text);
    ir_graph_free(g);
    fe_model_free(m);
}

/* A time-dependent energy: two arguments, a sinusoidal embedding of t from range, sin, cos and concat,
 * and a per-channel add broadcast from [B, C] to [B, C, H, W]. Its value at two batch rows must match
 * the same formula evaluated here. */
static const char *time_src =
    "param W: [4, 3] = normal(0.5)\n"
    "def embed(t) {\n"
    "  f = exp(-0.7 * range(2))          # frequencies 1, e^-0.7\n"
    "  a = reshape(t, [B, 1]) * f\n"
    "  return concat(sin(a), cos(a), 1)  # [B, 4]\n"
    "}\n"
    "energy(x: [B, 3, 2, 2], t: [B]) {\n"
    "  h = x + reshape(embed(t) @ W, [B, 3, 1, 1])\n"
    "  return 0.5 * sum(square(h), 1, 2, 3)\n"
    "}\n";

static void test_time_inputs(void) {
    struct fe_model *m = parse_ok(time_src);
    if (!m) return;
    CHECK(fe_model_n_inputs(m) == 2);
    char name[IR_NAME_LEN];
    int64_t shape[IR_MAX_DIMS];
    CHECK(fe_model_input_at(m, 0, name, 5, shape) == 4 && strcmp(name, "x") == 0 && shape[0] == 5 && shape[1] == 3);
    CHECK(fe_model_input_at(m, 1, name, 5, shape) == 1 && strcmp(name, "t") == 0 && shape[0] == 5);
    CHECK(fe_model_input_at(m, 2, name, 5, shape) == 0);
    struct ir_graph *g = ir_graph_new();
    int64_t xs[4] = {2, 3, 2, 2}, ts[1] = {2};
    int in[2] = {ir_input(g, "x", 4, xs), ir_input(g, "t", 1, ts)}, e = -1;
    CHECK(fe_lower_energy(m, g, in[0], &e, stderr) == -1); /* one input is not enough */
    CHECK(fe_lower_energy_inputs(m, g, in, &e, stderr) == 0);
    char err[256] = "";
    CHECK_MSG(ir_verify(g, err, sizeof err) == 0, "%s", err);
    double x[24], t[2] = {0.3, 4.0}, w[12];
    fill(x, 24, 1.0, 1);
    fill(w, 12, 0.5, 2);
    struct mini_arg args[] = {{"x", x}, {"t", t}, {"W", w}};
    double *got = mini_eval(g, args, 3, e);
    CHECK(got != NULL);
    for (int b = 0; got && b < 2; b++) {
        double emb[4] = {sin(t[b]), sin(t[b] * exp(-0.7)), cos(t[b]), cos(t[b] * exp(-0.7))}, want = 0;
        for (int c = 0; c < 3; c++) {
            double add = 0;
            for (int k = 0; k < 4; k++) add += emb[k] * w[k * 3 + c];
            for (int p = 0; p < 4; p++) want += 0.5 * (x[b * 12 + c * 4 + p] + add) * (x[b * 12 + c * 4 + p] + add);
        }
        CHECK_MSG(fabs(got[b] - want) < 1e-9 * (1 + fabs(want)), "row %d: %g vs %g", b, got[b], want);
    }
    free(got);
    ir_graph_free(g);
    fe_model_free(m);
    /* range(n) for n not a power of two: exactly 0 .. n-1 */
    m = parse_ok("energy(x: [B, 5]) {\n  return sum(x * range(5), 1)\n}\n");
    if (!m) return;
    g = ir_graph_new();
    int64_t x5[2] = {1, 5};
    int xin = ir_input(g, "x", 2, x5);
    CHECK(fe_lower_energy(m, g, xin, &e, stderr) == 0);
    double ones[5] = {1, 1, 1, 1, 1};
    struct mini_arg a1[] = {{"x", ones}};
    got = mini_eval(g, a1, 1, e);
    CHECK(got && got[0] == 10);
    free(got);
    ir_graph_free(g);
    fe_model_free(m);
}

int main(void) {
    test_rings();
    test_time_inputs();
    test_shared_params();
    test_programs();
    test_layers_lower();
    test_declarations();
    test_bad_input();
    return test_report();
}
