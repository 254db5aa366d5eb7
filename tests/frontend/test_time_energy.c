/* test_time_energy.c: a time-dependent energy E(x, t) of the shape models/mnist_time.ebm has (a
 * sinusoidal embedding of t through a small MLP, added per channel after each convolution, the energy
 * read out as <sum-pool(h), Linear(embedding)>), at a small size, through the whole compiler:
 *   - autodiff: d(sum w E)/dx and d/d(every parameter) against central differences, in double by the
 *     reference interpreter, first and second order (the sampler needs dE/dx, training its gradients);
 *   - the JIT: the sampler program (E and dE/dx, both inputs bound) against the interpreter, fused and
 *     unfused, at 1, 2 and 3 threads (backend_check.h). */
#include "backend_check.h"
#include "fe_test_util.h"
#include "passes/gradcheck.h"

static const char *src =
    "param Wt: [8, 8] = normal(0.3)\n"
    "param bt: [8] = zeros()\n"
    "param K1: [4, 1, 3, 3] = normal(0.3)\n"
    "param A1: [8, 4] = normal(0.3)\n"
    "param K2: [4, 4, 3, 3] = normal(0.2)\n"
    "param A2: [8, 4] = normal(0.3)\n"
    "param Wo: [8, 4] = normal(0.3)\n"
    "def embed(t) {\n"
    "  a = reshape(t, [B, 1]) * exp(-0.5 * range(4))\n"
    "  return silu(concat(sin(a), cos(a), 1) @ Wt + bt)   # [B, 8]\n"
    "}\n"
    "def block(h, K, A, e, stride) {\n"
    "  h = conv2d(h, K, stride, 1)\n"
    "  return silu(h + reshape(e @ A, [B, 4, 1, 1]))      # per-channel add, [B, 4] -> [B, 4, H, W]\n"
    "}\n"
    "energy(x: [B, 1, 6, 6], t: [B]) {\n"
    "  e = embed(t)\n"
    "  h = block(x, K1, A1, e, 1)\n"
    "  h = block(h, K2, A2, e, 2)                         # [B, 4, 3, 3]\n"
    "  return sum(sum(h, 2, 3) * (e @ Wo), 1)\n"
    "}\n";

static const char *const params[] = {"Wt", "bt", "K1", "A1", "K2", "A2", "Wo"};
#define N_PARAMS 7

static void check_gradients(const struct fe_model *m) {
    struct gc c;
    gc_init(&c, 7);
    int64_t xs[4] = {3, 1, 6, 6}, ts[1] = {3};
    int wrt[1 + N_PARAMS];
    wrt[0] = gc_input(&c, "x", 4, xs, GC_ANY);
    int t = gc_input(&c, "t", 1, ts, GC_POS);
    for (int i = 0; i < fe_model_n_params(m); i++) {
        const struct fe_param *p = fe_model_param(m, i);
        wrt[1 + i] = gc_param(&c, p->name, p->ndim, p->shape, GC_ANY);
    }
    int in[2] = {wrt[0], t}, e = -1;
    CHECK(fe_lower_energy_inputs(m, c.g, in, &e, stderr) == 0);
    for (int i = 0; i < N_PARAMS; i++) CHECK(strcmp(c.g->nodes[wrt[1 + i]].name, params[i]) == 0);
    if (e >= 0) gc_check2(&c, gc_weighted_sum(&c, e), 1 + N_PARAMS, wrt, "E(x, t)");
    gc_free(&c);
}

static void check_jit(const struct fe_model *m) {
    struct ir_graph *g = ir_graph_new();
    int e = -1, gx = -1;
    CHECK(fe_lower_energy_at(m, g, 5, &e, stderr) == 0);
    int x = ir_graph_find_arg(g, "x");
    CHECK(x >= 0 && ir_graph_find_arg(g, "t") >= 0);
    CHECK(ad_grad(g, e, -1, 1, &x, &gx) == 0);
    CHECK(ir_graph_output(g, "energy", e) == 0 && ir_graph_output(g, "dE/dx", gx) == 0);
    check_graph("E(x, t) and dE/dx", g, -1, 1, 1e-4, 1e-4);
    ir_graph_free(g);
}

int main(void) {
    char *diag = NULL;
    struct fe_model *m = parse_capture(src, &diag);
    CHECK_MSG(m != NULL && diag && diag[0] == 0, "%s", diag ? diag : "");
    free(diag);
    if (!m) return test_report();
    check_gradients(m);
    check_jit(m);
    fe_model_free(m);
    return test_report();
}
