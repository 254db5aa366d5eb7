/* autodiff.c: reverse-mode automatic differentiation on the graph IR.
 *
 * The node table is topologically sorted, so walking ids downward from y visits every consumer before
 * its producers: when we reach a node, its adjoint is complete. Adjoints live in an array indexed by
 * forward node id (O(1) lookup, O(N) overall). Every rule is written with the ordinary builders, so the
 * gradient nodes are plain graph nodes with rules of their own, and differentiating again works.
 * Builders only append, so existing nodes never change; hash-consing may hand back an existing node
 * (e.g. sigmoid(x) for silu's rule), which is just sharing. */
#include "autodiff.h"

#include <stdlib.h>
#include <string.h>

/* State of one ad_grad call. Arrays cover forward nodes 0..y only: y depends on nothing later. */
struct ad {
    struct ir_graph *g;
    int *adjoint;  /* adjoint node id per forward node, -1 = none (zero) so far */
    char *reaches; /* the node is a wrt node, or a gradient can flow from it to one */
};

/* adjoint[id] += d. Every failing builder sets the graph error; we only pass its -1 on. */
static int accumulate(struct ad *ad, int id, int d) {
    if (d < 0) return -1;
    ad->adjoint[id] = ad->adjoint[id] < 0 ? d : ir_binary(ad->g, IR_ADD, ad->adjoint[id], d);
    return ad->adjoint[id] < 0 ? -1 : 0;
}

static int mul(struct ir_graph *g, int a, int b) { return ir_binary(g, IR_MUL, a, b); }
static int add(struct ir_graph *g, int a, int b) { return ir_binary(g, IR_ADD, a, b); }
static int scalar_like(struct ir_graph *g, double v, int like) { return ir_const_like(g, v, like); }

/* cond ? gy : 0 and cond ? 0 : gy: the gradient of a select, with no product that could turn an inf in
 * the unselected branch's adjoint into NaN. */
static int pick(struct ir_graph *g, int cond, int gy) { return ir_where(g, cond, gy, scalar_like(g, 0, gy)); }
static int pick_not(struct ir_graph *g, int cond, int gy) { return ir_where(g, cond, scalar_like(g, 0, gy), gy); }

/* GELU's tanh form as x s(2u), u = K (x + C x^3) (ir_scalar.c): with s = sigmoid(2u),
 * d/dx = s + x 2s(1 - s) u' and u' = K (1 + 3 C x^2). */
static int gelu_rule(struct ir_graph *g, int x, int gy) {
    const double K = IR_GELU_K, C = IR_GELU_C;
    int x2 = ir_unary(g, IR_SQUARE, x);
    int u2 = mul(g, scalar_like(g, 2 * K, x), add(g, x, mul(g, scalar_like(g, C, x), mul(g, x2, x))));
    int s = ir_unary(g, IR_SIGMOID, u2);
    int du2 = mul(g, scalar_like(g, 2 * K, x), add(g, scalar_like(g, 1, x), mul(g, scalar_like(g, 3 * C, x), x2)));
    int ds = mul(g, mul(g, s, ir_binary(g, IR_SUB, scalar_like(g, 1, x), s)), du2);
    return mul(g, gy, add(g, s, mul(g, x, ds)));
}

/* d(op(x))/dx * gy for the unary elementwise ops; x is the operand, y the node itself. Returns the
 * contribution to x's adjoint, or -1. */
static int unary_rule(struct ir_graph *g, const struct ir_node *n, int x, int y, int gy) {
    switch (n->op) {
    case IR_NEG: return ir_unary(g, IR_NEG, gy);
    case IR_EXP: return mul(g, gy, y);
    case IR_LOG: return ir_binary(g, IR_DIV, gy, x);
    case IR_LOG1P: return ir_binary(g, IR_DIV, gy, add(g, x, scalar_like(g, 1, x)));
    case IR_TANH: /* 1 - tanh^2 */
        return mul(g, gy, ir_binary(g, IR_SUB, scalar_like(g, 1, x), ir_unary(g, IR_SQUARE, y)));
    case IR_SIGMOID: /* s (1 - s) */
        return mul(g, gy, mul(g, y, ir_binary(g, IR_SUB, scalar_like(g, 1, x), y)));
    case IR_SILU: { /* d(x s)/dx = s + x s (1 - s) = s + y (1 - s): in y, the output the next layer
                     * reads anyway, so that a forward pass saves s and y for it, not x as well */
        int s = ir_unary(g, IR_SIGMOID, x);
        return mul(g, gy, add(g, s, mul(g, y, ir_binary(g, IR_SUB, scalar_like(g, 1, x), s))));
    }
    case IR_SOFTPLUS: return mul(g, gy, ir_unary(g, IR_SIGMOID, x));
    case IR_RELU: return mul(g, gy, ir_unary(g, IR_STEP, x));
    case IR_SQUARE: return mul(g, gy, mul(g, scalar_like(g, 2, x), x));
    case IR_SQRT: return ir_binary(g, IR_DIV, gy, mul(g, scalar_like(g, 2, x), y));
    case IR_ABS: { /* sign(x), 0 at 0 */
        int zero = scalar_like(g, 0, x);
        return mul(g, gy, ir_binary(g, IR_SUB, ir_binary(g, IR_GT, x, zero), ir_binary(g, IR_LT, x, zero)));
    }
    case IR_RSQRT: /* -x^(-3/2) / 2 = -y^3 / 2 */
        return mul(g, gy, mul(g, scalar_like(g, -0.5, x), mul(g, y, ir_unary(g, IR_SQUARE, y))));
    case IR_LEAKY_RELU:
        return ir_where(g, ir_binary(g, IR_GT, x, scalar_like(g, 0, x)), gy, mul(g, scalar_like(g, n->value, x), gy));
    case IR_ELU: /* alpha e^x = y + alpha below 0 */
        return ir_where(g, ir_binary(g, IR_GT, x, scalar_like(g, 0, x)), gy, mul(g, gy, add(g, y, scalar_like(g, n->value, x))));
    case IR_GELU: return gelu_rule(g, x, gy);
    case IR_SIN: return mul(g, gy, ir_unary(g, IR_COS, x));
    case IR_COS: return ir_unary(g, IR_NEG, mul(g, gy, ir_unary(g, IR_SIN, x)));
    default: return ir_graph_fail(g, "autodiff: no rule for '%s'", ir_op_name(n->op));
    }
}

/* C = op(A) op(B). With A' = op(A), B' = op(B): dA' = dC B'^T and dB' = A'^T dC. A transposed operand
 * takes the transpose of that, which the matmul flags express directly: (P Q)^T = Q^T P^T. A batched
 * (3-D) matmul is one such product per batch, so the same rules hold batch by batch. */
static int matmul_grad_a(struct ir_graph *g, int b, int dc, unsigned flags) {
    int tb = (flags & IR_TRANS_B) != 0;
    if (!(flags & IR_TRANS_A)) return ir_matmul(g, dc, b, tb ? 0 : IR_TRANS_B); /* dC B'^T */
    return ir_matmul(g, b, dc, (tb ? IR_TRANS_A : 0) | IR_TRANS_B);             /* B' dC^T */
}

static int matmul_grad_b(struct ir_graph *g, int a, int dc, unsigned flags) {
    int ta = (flags & IR_TRANS_A) != 0;
    if (!(flags & IR_TRANS_B)) return ir_matmul(g, a, dc, ta ? 0 : IR_TRANS_A); /* A'^T dC */
    return ir_matmul(g, dc, a, IR_TRANS_A | (ta ? IR_TRANS_B : 0));             /* dC^T A' */
}

/* Pushes node id's (complete) adjoint to those of its operands that lead to a wrt node. */
static int propagate(struct ad *ad, int id) {
    struct ir_graph *g = ad->g;
    const struct ir_node n = g->nodes[id]; /* a copy: builders may move the node table */
    int gy = ad->adjoint[id];
    int a = n.in[0], b = n.in[1];
    int need_a = a >= 0 && ad->reaches[a], need_b = b >= 0 && ad->reaches[b];
    const struct ir_node x = a >= 0 ? g->nodes[a] : n;
    int c = n.in[2], need_c = c >= 0 && ad->reaches[c];

    /* Leaves, stop_grad, and piecewise constant ops (step, comparisons): no gradient (the op table). */
    if (!ir_op_grad_flows(n.op, 0) && !ir_op_grad_flows(n.op, 1) && !ir_op_grad_flows(n.op, 2)) return 0;
    switch (n.op) {
    case IR_ADD:
        if (need_a && accumulate(ad, a, gy)) return -1;
        if (need_b && accumulate(ad, b, gy)) return -1;
        return 0;
    case IR_SUB:
        if (need_a && accumulate(ad, a, gy)) return -1;
        if (need_b && accumulate(ad, b, ir_unary(g, IR_NEG, gy))) return -1;
        return 0;
    case IR_MUL:
        if (need_a && accumulate(ad, a, mul(g, gy, b))) return -1;
        if (need_b && accumulate(ad, b, mul(g, gy, a))) return -1;
        return 0;
    case IR_DIV: /* y = a / b: dy/da = 1/b, dy/db = -a/b^2 = -y/b */
        if (need_a && accumulate(ad, a, ir_binary(g, IR_DIV, gy, b))) return -1;
        if (need_b && accumulate(ad, b, ir_unary(g, IR_NEG, ir_binary(g, IR_DIV, mul(g, gy, id), b)))) return -1;
        return 0;
    case IR_POW: /* y = a^b: dy/da = b a^(b-1) (any a where pow is defined), dy/db = y log(a) (a > 0) */
        if (need_a && accumulate(ad, a, mul(g, gy, mul(g, b, ir_binary(g, IR_POW, a, ir_binary(g, IR_SUB, b, scalar_like(g, 1, b)))))))
            return -1;
        if (need_b && accumulate(ad, b, mul(g, gy, mul(g, id, ir_unary(g, IR_LOG, a))))) return -1;
        return 0;
    case IR_MAXIMUM: /* to the operand the forward select picked: a on ties and where a is NaN */
    case IR_MINIMUM: {
        int picked_a = ir_where(g, ir_binary(g, IR_EQ, a, a), ir_binary(g, n.op == IR_MAXIMUM ? IR_GE : IR_LE, a, b),
                                scalar_like(g, 1, a));
        if (need_a && accumulate(ad, a, pick(g, picked_a, gy))) return -1;
        if (need_b && accumulate(ad, b, pick_not(g, picked_a, gy))) return -1;
        return 0;
    }
    case IR_WHERE: /* operands: cond, a, b */
        if (need_b && accumulate(ad, b, pick(g, a, gy))) return -1;
        if (need_c && accumulate(ad, c, pick_not(g, a, gy))) return -1;
        return 0;
    case IR_BROADCAST: return need_a ? accumulate(ad, a, ir_sum_to(g, gy, x.ndim, x.shape)) : 0;
    case IR_SUM: return need_a ? accumulate(ad, a, ir_broadcast(g, gy, x.ndim, x.shape)) : 0; /* dims kept */
    case IR_MAX: { /* to the elements equal to the max, split evenly among ties */
        if (!need_a) return 0;
        int hit = ir_binary(g, IR_EQ, a, ir_broadcast(g, id, x.ndim, x.shape));
        int share = ir_binary(g, IR_DIV, gy, ir_sum(g, hit, n.axes));
        return accumulate(ad, a, mul(g, hit, ir_broadcast(g, share, x.ndim, x.shape)));
    }
    case IR_RESHAPE: return need_a ? accumulate(ad, a, ir_reshape(g, gy, x.ndim, x.shape)) : 0;
    case IR_PERMUTE: { /* the inverse permutation */
        int inv[IR_MAX_DIMS];
        for (int i = 0; i < n.ndim; i++) inv[n.perm[i]] = i;
        return need_a ? accumulate(ad, a, ir_permute(g, gy, inv)) : 0;
    }
    case IR_SLICE: return need_a ? accumulate(ad, a, ir_pad(g, gy, n.start, n.step, x.shape)) : 0;
    case IR_PAD: return need_a ? accumulate(ad, a, ir_slice(g, gy, n.start, n.step, x.shape)) : 0;
    case IR_CONCAT: {
        int64_t na = x.shape[n.axis];
        if (need_a && accumulate(ad, a, ir_slice_axis(g, gy, n.axis, 0, na, 1))) return -1;
        if (need_b && accumulate(ad, b, ir_slice_axis(g, gy, n.axis, na, n.shape[n.axis], 1))) return -1;
        return 0;
    }
    /* The three conv ops are bilinear and adjoint to each other: with y = conv(x, w),
     * <y, gy> = <x, bwd_data(gy, w)> = <w, bwd_weight(x, gy)>, so each one's gradients are the other two. */
    case IR_CONV2D: {
        int s = (int)n.step[2], p = (int)n.start[2];
        const struct ir_node *w = &g->nodes[b];
        int64_t kh = w->shape[2], kw = w->shape[3];
        if (need_a && accumulate(ad, a, ir_conv2d_bwd_data(g, gy, b, s, p, x.shape[2], x.shape[3]))) return -1;
        if (need_b && accumulate(ad, b, ir_conv2d_bwd_weight(g, a, gy, s, p, kh, kw))) return -1;
        return 0;
    }
    case IR_CONV2D_BWD_DATA: { /* y = bwd_data(dy, w): a = dy, b = w */
        int s = (int)n.step[2], p = (int)n.start[2];
        const struct ir_node *w = &g->nodes[b];
        int64_t kh = w->shape[2], kw = w->shape[3];
        if (need_a && accumulate(ad, a, ir_conv2d_op(g, gy, b, s, p))) return -1;
        if (need_b && accumulate(ad, b, ir_conv2d_bwd_weight(g, gy, a, s, p, kh, kw))) return -1;
        return 0;
    }
    case IR_CONV2D_BWD_WEIGHT: { /* y = bwd_weight(x, dy): a = x, b = dy */
        int s = (int)n.step[2], p = (int)n.start[2];
        if (need_a && accumulate(ad, a, ir_conv2d_bwd_data(g, b, gy, s, p, x.shape[2], x.shape[3]))) return -1;
        if (need_b && accumulate(ad, b, ir_conv2d_op(g, a, gy, s, p))) return -1;
        return 0;
    }
    case IR_MATMUL:
        if (need_a && accumulate(ad, a, matmul_grad_a(g, b, gy, n.flags))) return -1;
        if (need_b && accumulate(ad, b, matmul_grad_b(g, a, gy, n.flags))) return -1;
        return 0;
    default:
        if (!ir_op_is_unary_elementwise(n.op)) return ir_graph_fail(g, "autodiff: no rule for '%s'", ir_op_name(n.op));
        return need_a ? accumulate(ad, a, unary_rule(g, &n, a, id, gy)) : 0;
    }
}

static int check_args(struct ir_graph *g, int y, int seed, int n_wrt, const int *wrt, int *grads) {
    if (y < 0 || y >= g->n_nodes) return ir_graph_fail(g, "autodiff: output %%%d does not exist", y);
    if (n_wrt < 0 || (n_wrt > 0 && (!wrt || !grads))) return ir_graph_fail(g, "autodiff: bad wrt list");
    for (int i = 0; i < n_wrt; i++)
        if (wrt[i] < 0 || wrt[i] >= g->n_nodes) return ir_graph_fail(g, "autodiff: wrt node %%%d does not exist", wrt[i]);
    if (seed == -1) return 0;
    if (seed < 0 || seed >= g->n_nodes) return ir_graph_fail(g, "autodiff: seed %%%d does not exist", seed);
    if (!ir_same_shape(&g->nodes[seed], &g->nodes[y])) return ir_graph_fail(g, "autodiff: seed %%%d is not shaped like output %%%d", seed, y);
    return 0;
}

int ad_grad(struct ir_graph *g, int y, int seed, int n_wrt, const int *wrt, int *grads) {
    if (check_args(g, y, seed, n_wrt, wrt, grads)) return -1;
    int n = y + 1; /* y depends only on earlier nodes */
    struct ad ad = {g, malloc(sizeof(int) * (size_t)n), calloc((size_t)n, 1)};
    char *live = calloc((size_t)n, 1);
    int rc = -1;
    if (!ad.adjoint || !ad.reaches || !live) {
        ir_graph_fail(g, "autodiff: out of memory");
        goto done;
    }

    /* Forward: which nodes a gradient could flow from into a wrt node (ir_op_grad_flows). */
    for (int i = 0; i < n_wrt; i++)
        if (wrt[i] < n) ad.reaches[wrt[i]] = 1;
    for (int id = 0; id < n; id++) {
        const struct ir_node *nd = &g->nodes[id];
        for (int k = 0; k < IR_MAX_INPUTS; k++)
            if (nd->in[k] >= 0 && ir_op_grad_flows(nd->op, k) && ad.reaches[nd->in[k]]) ad.reaches[id] = 1;
    }
    /* Backward: which of those y depends on. Only these nodes get adjoints. */
    live[y] = ad.reaches[y];
    for (int id = y; id >= 0; id--) {
        if (!live[id]) continue;
        for (int k = 0; k < IR_MAX_INPUTS; k++) {
            int in = g->nodes[id].in[k];
            if (in >= 0 && ir_op_grad_flows(g->nodes[id].op, k) && ad.reaches[in]) live[in] = 1;
        }
    }

    for (int id = 0; id < n; id++) ad.adjoint[id] = -1;
    if (live[y]) ad.adjoint[y] = seed == -1 ? ir_const_like(g, 1, y) : seed;
    if (live[y] && ad.adjoint[y] < 0) goto done;
    for (int id = y; id >= 0; id--)
        if (live[id] && ad.adjoint[id] >= 0 && propagate(&ad, id)) goto done;

    /* A wrt node y does not depend on, or reaches only through stop_grad, has a zero gradient. */
    for (int i = 0; i < n_wrt; i++) {
        int d = wrt[i] < n ? ad.adjoint[wrt[i]] : -1;
        grads[i] = d >= 0 ? d : ir_const_like(g, 0, wrt[i]);
        if (grads[i] < 0) goto done;
    }
    rc = 0;
done:
    free(ad.adjoint);
    free(ad.reaches);
    free(live);
    return rc;
}
