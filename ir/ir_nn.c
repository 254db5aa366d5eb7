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

/* Concatenates parts[0..n) along axis as a balanced tree, so each element is copied log2(n) times
 * rather than up to n times by a chain. */
static int concat_tree(struct ir_graph *g, const int *parts, int n, int axis) {
    if (n == 1) return parts[0];
    int left = concat_tree(g, parts, n / 2, axis);
    return left < 0 ? -1 : ir_concat(g, left, concat_tree(g, parts + n / 2, n - n / 2, axis), axis);
}

/* [b, M, K] x [K, N]: one 2-D matmul on [b M, K]. [b, M, K] x [b, K, N]: one batched (3-D) matmul, which
 * runs in the register-blocked matmul kernel like a 2-D one, and whose gradients are batched matmuls. */
int ir_batch_matmul(struct ir_graph *g, int a, int b) {
    const struct ir_node *an = node(g, a), *bn = node(g, b);
    if (!an || !bn) return ir_graph_fail(g, "batch_matmul: operand does not exist");
    int64_t nb = an->shape[0], m = an->shape[1], k = an->shape[2], n = bn->shape[bn->ndim - 1];
    if (an->ndim != 3 || (bn->ndim != 2 && bn->ndim != 3) || bn->shape[bn->ndim - 2] != k ||
        (bn->ndim == 3 && bn->shape[0] != nb))
        return ir_graph_fail(g, "batch_matmul: needs [b, M, K] x [b, K, N] or [b, M, K] x [K, N]");
    if (bn->ndim == 3) return ir_matmul(g, a, b, 0);
    int y = ir_matmul(g, ir_reshape(g, a, 2, (int64_t[]){nb * m, k}), b, 0);
    return reshape4(g, y, 3, nb, m, n, 0);
}

/* im2col: every (kh, kw) offset of the kernel is a strided slice of the padded input, [N, C, OH, OW];
 * stacked along a new axis they are [N, C, KH KW, OH OW], per image a [C KH KW, OH OW] matrix whose
 * rows are in the order (c, kh, kw) of the weight's columns. The weight [O, C KH KW], broadcast over
 * the batch, times it is the convolution, already in [N, O, OH OW] order: the bias (and whatever
 * elementwise op follows) then runs in the matmul's epilogue. */
int ir_conv2d(struct ir_graph *g, int x, int w, int bias, int stride, int padding) {
    const struct ir_node *xn = node(g, x), *wn = node(g, w), *bn = bias >= 0 ? node(g, bias) : NULL;
    if (!xn || !wn || (bias >= 0 && !bn)) return ir_graph_fail(g, "conv2d: operand does not exist");
    if (xn->ndim != 4 || wn->ndim != 4 || xn->shape[1] != wn->shape[1] || stride < 1 || padding < 0)
        return ir_graph_fail(g, "conv2d: needs x [N, C, H, W], w [O, C, KH, KW], stride >= 1 and padding >= 0");
    int64_t n = xn->shape[0], c = xn->shape[1], h = xn->shape[2] + 2 * padding, wd = xn->shape[3] + 2 * padding;
    int64_t o = wn->shape[0], kh = wn->shape[2], kw = wn->shape[3];
    if (kh > h || kw > wd) return ir_graph_fail(g, "conv2d: the kernel is larger than the padded input");
    if (bn && (bn->ndim != 1 || bn->shape[0] != o)) return ir_graph_fail(g, "conv2d: the bias must be [O]");
    int64_t oh = (h - kh) / stride + 1, ow = (wd - kw) / stride + 1;
    int xp = ir_pad(g, x, (int64_t[]){0, 0, padding, padding}, (int64_t[]){1, 1, 1, 1}, (int64_t[]){n, c, h, wd});
    int parts[64 * 64], k = 0;
    if (kh * kw > 64 * 64) return ir_graph_fail(g, "conv2d: kernels are limited to 4096 elements");
    for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
            int patch = ir_slice(g, xp, (int64_t[]){0, 0, i, j}, (int64_t[]){1, 1, stride, stride},
                                 (int64_t[]){n, c, oh, ow});
            if ((parts[k++] = reshape4(g, patch, 4, n, c, 1, oh * ow)) < 0) return -1;
        }
    int cols = reshape4(g, concat_tree(g, parts, k, 2), 3, n, c * kh * kw, oh * ow, 0);
    int wb = ir_broadcast(g, reshape4(g, w, 3, 1, o, c * kh * kw, 0), 3, (int64_t[]){n, o, c * kh * kw});
    int y = reshape4(g, ir_matmul(g, wb, cols, 0), 4, n, o, oh, ow);
    return bias >= 0 ? ir_binary_bcast(g, IR_ADD, y, reshape4(g, bias, 3, o, 1, 1, 0)) : y;
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
