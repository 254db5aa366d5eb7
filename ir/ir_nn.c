/* ir_nn.c: layers built from other IR ops (declared in ir.h). Each is a composite: its gradient, its
 * interpretation and its code come from the ops it is made of, so there is nothing else to keep in step.
 * Shapes are checked here with messages; the frontend checks them first to point at the source. */
#include <string.h>

#include "ir.h"

/* Node id, or NULL. The pointer is good only until the next node is added (the table may move). */
static const struct ir_node *node(struct ir_graph *g, int id) {
    return id >= 0 && id < g->n_nodes ? ir_node_at(g, id) : NULL;
}

/* a reshaped to the given dims (up to 4, listed) */
static int reshape4(struct ir_graph *g, int a, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    int64_t shape[4] = {d0, d1, d2, d3};
    return ir_reshape(g, a, ndim, shape);
}

/* [b, M, K] x [K, N]: one 2-D matmul on [b M, K]. [b, M, K] x [b, K, N]: one batched (3-D) matmul, which
 * runs in the register-blocked matmul kernel like a 2-D one, and whose gradients are batched matmuls. */
int ir_batch_matmul(struct ir_graph *g, int a, int b) {
    const struct ir_node *an = node(g, a), *bn = node(g, b);
    if (!an || !bn) return ir_graph_fail(g, "batch_matmul: operand does not exist");
    if (an->ndim != 3 || (bn->ndim != 2 && bn->ndim != 3))
        return ir_graph_fail(g, "batch_matmul: needs [b, M, K] x [b, K, N] or [b, M, K] x [K, N]");
    if (bn->ndim == 3) return ir_matmul(g, a, b, 0); /* matmul's shape rule checks the rest */
    int64_t nb = an->shape[0], m = an->shape[1], k = an->shape[2], n = bn->shape[1];
    int y = ir_matmul(g, ir_reshape(g, a, 2, (int64_t[]){nb * m, k}), b, 0);
    return reshape4(g, y, 3, nb, m, n, 0);
}

/* A conv node of op with operands a, b, square stride and padding; the result's shape is given for the
 * two bwd ops and comes from the shape rule for conv2d (ir_infer_shape, which checks all three). */
static int conv_node(struct ir_graph *g, enum ir_op op, int a, int b, const int64_t *shape, int stride, int padding) {
    const struct ir_node *in[2] = {node(g, a), node(g, b)};
    if (!in[0] || !in[1]) return ir_graph_fail(g, "%s: operand does not exist", ir_op_name(op));
    if (stride < 1 || padding < 0) return ir_graph_fail(g, "%s: needs stride >= 1 and padding >= 0", ir_op_name(op));
    struct ir_node n = ir_node_blank(op);
    n.ndim = 4;
    if (shape) memcpy(n.shape, shape, sizeof n.shape);
    n.in[0] = a, n.in[1] = b;
    for (int d = 0; d < 4; d++) n.start[d] = d >= 2 ? padding : 0, n.step[d] = d >= 2 ? stride : 1;
    char why[200];
    if (ir_infer_shape(&n, in, why, sizeof why)) return ir_graph_fail(g, "%s: %s", ir_op_name(op), why);
    return ir_node_add(g, &n);
}

int ir_conv2d_op(struct ir_graph *g, int x, int w, int stride, int padding) {
    return conv_node(g, IR_CONV2D, x, w, NULL, stride, padding);
}

int ir_conv2d_bwd_data(struct ir_graph *g, int dy, int w, int stride, int padding, int64_t h, int64_t wd) {
    const struct ir_node *dn = node(g, dy), *wn = node(g, w);
    if (!dn || !wn || dn->ndim != 4 || wn->ndim != 4)
        return ir_graph_fail(g, "conv2d_bwd_data: needs dy [N, O, OH, OW] and w [O, C, KH, KW]");
    int64_t x[4] = {dn->shape[0], wn->shape[1], h, wd};
    return conv_node(g, IR_CONV2D_BWD_DATA, dy, w, x, stride, padding);
}

int ir_conv2d_bwd_weight(struct ir_graph *g, int x, int dy, int stride, int padding, int64_t kh, int64_t kw) {
    const struct ir_node *xn = node(g, x), *dn = node(g, dy);
    if (!xn || !dn || xn->ndim != 4 || dn->ndim != 4)
        return ir_graph_fail(g, "conv2d_bwd_weight: needs x [N, C, H, W] and dy [N, O, OH, OW]");
    int64_t w[4] = {dn->shape[1], xn->shape[1], kh, kw};
    return conv_node(g, IR_CONV2D_BWD_WEIGHT, x, dy, w, stride, padding);
}

/* One conv2d node (its kernel is backend/conv.c's direct convolution), then the bias, which the planner
 * runs in the conv kernel's epilogue with whatever elementwise op follows. */
int ir_conv2d(struct ir_graph *g, int x, int w, int bias, int stride, int padding) {
    const struct ir_node *bn = bias >= 0 ? node(g, bias) : NULL;
    if (bias >= 0 && !bn) return ir_graph_fail(g, "conv2d: operand does not exist");
    int y = ir_conv2d_op(g, x, w, stride, padding);
    if (y < 0 || bias < 0) return y;
    int64_t o = ir_node_at(g, y)->shape[1];
    bn = node(g, bias);
    if (bn->ndim != 1 || bn->shape[0] != o) return ir_graph_fail(g, "conv2d: the bias must be [O]");
    return ir_binary_bcast(g, IR_ADD, y, reshape4(g, bias, 3, o, 1, 1, 0));
}

/* Mean over each k x k window (stride k): [N C OH, k, OW, k] summed over the two k axes. Rows and
 * columns past the last whole window are dropped. */
int ir_avg_pool2d(struct ir_graph *g, int x, int k) {
    const struct ir_node *xn = node(g, x);
    if (!xn || xn->ndim != 4 || k < 1 || xn->shape[2] < k || xn->shape[3] < k)
        return ir_graph_fail(g, "avg_pool2d: needs x [N, C, H, W] with H, W >= k >= 1");
    int64_t n = xn->shape[0], c = xn->shape[1], oh = xn->shape[2] / k, ow = xn->shape[3] / k;
    int whole = ir_slice(g, x, (int64_t[]){0, 0, 0, 0}, (int64_t[]){1, 1, 1, 1}, (int64_t[]){n, c, oh * k, ow * k});
    int s = ir_sum(g, reshape4(g, whole, 4, n * c * oh, k, ow, k), 2u | 8u);
    s = reshape4(g, s, 4, n, c, oh, ow);
    return ir_binary(g, IR_MUL, s, ir_const_like(g, 1.0 / (double)(k * k), s));
}

/* (x - mean) / sqrt(var + eps) over the last axis of x reshaped to `rows`, back in x's shape. */
static int normalize(struct ir_graph *g, int x, int ndim, const int64_t *rows, double eps) {
    int64_t shape[IR_MAX_DIMS];
    const struct ir_node *xn = ir_node_at(g, x);
    int nd = xn->ndim;
    memcpy(shape, xn->shape, sizeof shape);
    unsigned last = 1u << (ndim - 1);
    int r = ir_reshape(g, x, ndim, rows);
    int d = ir_binary(g, IR_SUB, r, ir_broadcast(g, ir_mean(g, r, last), ndim, rows));
    int var = ir_mean(g, ir_unary(g, IR_SQUARE, d), last);
    int inv = ir_unary(g, IR_RSQRT, ir_binary(g, IR_ADD, var, ir_const_like(g, eps, var)));
    return ir_reshape(g, ir_binary(g, IR_MUL, d, ir_broadcast(g, inv, ndim, rows)), nd, shape);
}

/* y * gamma + beta with gamma, beta [D] along axis `axis` of y (either may be -1: none). */
static int affine(struct ir_graph *g, int y, int axis, int gamma, int beta) {
    const struct ir_node *yn = ir_node_at(g, y);
    int64_t shape[IR_MAX_DIMS];
    for (int i = 0; i < yn->ndim; i++) shape[i] = i == axis ? yn->shape[i] : 1;
    if (gamma >= 0) y = ir_binary_bcast(g, IR_MUL, y, ir_reshape(g, gamma, yn->ndim, shape));
    if (beta >= 0 && y >= 0) y = ir_binary_bcast(g, IR_ADD, y, ir_reshape(g, beta, ir_node_at(g, y)->ndim, shape));
    return y;
}

static int check_affine(struct ir_graph *g, const char *what, int gamma, int beta, int64_t d) {
    for (int k = 0; k < 2; k++) {
        int id = k ? beta : gamma;
        const struct ir_node *p = id >= 0 ? node(g, id) : NULL;
        if (id >= 0 && (!p || p->ndim != 1 || p->shape[0] != d))
            return ir_graph_fail(g, "%s: %s must be [%lld]", what, k ? "beta" : "gamma", (long long)d);
    }
    return 0;
}

int ir_group_norm(struct ir_graph *g, int x, int groups, int gamma, int beta, double eps) {
    const struct ir_node *xn = node(g, x);
    if (!xn || xn->ndim < 2 || groups < 1 || xn->shape[1] % groups)
        return ir_graph_fail(g, "group_norm: needs x [N, C, ...] with C divisible by the number of groups");
    int64_t c = xn->shape[1], rows[3] = {xn->shape[0], groups, ir_node_numel(xn) / xn->shape[0] / groups};
    if (check_affine(g, "group_norm", gamma, beta, c)) return -1;
    int y = normalize(g, x, 3, rows, eps);
    return y < 0 ? -1 : affine(g, y, 1, gamma, beta);
}

int ir_layer_norm(struct ir_graph *g, int x, int gamma, int beta, double eps) {
    const struct ir_node *xn = node(g, x);
    if (!xn || xn->ndim < 1) return ir_graph_fail(g, "layer_norm: needs a tensor");
    int last = xn->ndim - 1; /* read now: building nodes may move the node table */
    int64_t d = xn->shape[last], rows[2] = {ir_node_numel(xn) / d, d};
    if (check_affine(g, "layer_norm", gamma, beta, d)) return -1;
    int y = normalize(g, x, 2, rows, eps);
    return y < 0 ? -1 : affine(g, y, last, gamma, beta);
}
