/* interp.c: the reference interpreter. One double buffer per node, filled in node order (the table is
 * topologically sorted), each op written as the plainest loop that matches its definition in ir.h. This
 * is the oracle for the JIT and for gradient checks, so clarity wins over speed everywhere. */
#include "interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* Row-major strides of a shape: stride[i] = product of shape[i+1..]. */
static void strides_of(const struct ir_node *n, int64_t *stride) {
    int64_t s = 1;
    for (int i = n->ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= n->shape[i];
    }
}

/* Splits a flat row-major index into per-axis coordinates of shape n. */
static void unravel(const struct ir_node *n, int64_t flat, int64_t *coord) {
    for (int i = n->ndim - 1; i >= 0; i--) {
        coord[i] = flat % n->shape[i];
        flat /= n->shape[i];
    }
}

/* Output element i takes the input element at the same coordinates, with size-1 input dims pinned to 0. */
static void eval_broadcast(const struct ir_node *n, const struct ir_node *a, const double *x, double *y) {
    int64_t astride[IR_MAX_DIMS], coord[IR_MAX_DIMS];
    strides_of(a, astride);
    for (int64_t i = 0; i < ir_node_numel(n); i++) {
        unravel(n, i, coord);
        int64_t j = 0;
        for (int d = 0; d < n->ndim; d++) j += (a->shape[d] == 1 ? 0 : coord[d]) * astride[d];
        y[i] = x[j];
    }
}

/* Every input element adds into (sum) or competes for (max) the output element at its coordinates, with
 * reduced axes pinned to 0. max keeps the first of equal values and never takes a NaN. */
static void eval_reduce(const struct ir_node *n, const struct ir_node *a, const double *x, double *y) {
    int64_t ostride[IR_MAX_DIMS], coord[IR_MAX_DIMS];
    strides_of(n, ostride);
    for (int64_t j = 0; j < ir_node_numel(n); j++) y[j] = n->op == IR_MAX ? -INFINITY : 0.0;
    for (int64_t i = 0; i < ir_node_numel(a); i++) {
        unravel(a, i, coord);
        int64_t j = 0;
        for (int d = 0; d < a->ndim; d++) j += (n->axes >> d & 1 ? 0 : coord[d]) * ostride[d];
        if (n->op == IR_SUM) y[j] += x[i];
        else if (x[i] > y[j]) y[j] = x[i];
    }
}

/* Movement: each output element is an input element (or zero) at coordinates computed from its own. */
static void eval_movement(const struct ir_node *n, const struct ir_node *a, const struct ir_node *b,
                          const double *x, const double *w, double *y) {
    int64_t astride[IR_MAX_DIMS], bstride[IR_MAX_DIMS] = {0}, coord[IR_MAX_DIMS];
    strides_of(a, astride);
    if (b) strides_of(b, bstride);
    for (int64_t i = 0; i < ir_node_numel(n); i++) {
        unravel(n, i, coord);
        int64_t j = 0;
        int from_b = 0, zero = 0;
        for (int d = 0; d < n->ndim; d++) {
            switch (n->op) {
            case IR_PERMUTE: j += coord[d] * astride[n->perm[d]]; break;
            case IR_SLICE: j += (n->start[d] + coord[d] * n->step[d]) * astride[d]; break;
            case IR_PAD: {
                int64_t rel = coord[d] - n->start[d];
                if (rel < 0 || rel % n->step[d] || rel / n->step[d] >= a->shape[d]) zero = 1;
                else j += rel / n->step[d] * astride[d];
                break;
            }
            default: /* IR_CONCAT */
                if (d == n->axis && coord[d] >= a->shape[d]) from_b = 1, coord[d] -= a->shape[d];
            }
        }
        if (n->op == IR_CONCAT)
            for (int d = 0; d < n->ndim; d++) j += coord[d] * (from_b ? bstride[d] : astride[d]);
        y[i] = zero ? 0.0 : from_b ? w[j] : x[j];
    }
}

/* y[M,N] = op(a)[M,K] op(b)[K,N]; a stored [K,M] when transposed, b stored [N,K] when transposed. A 3-D
 * matmul does that for each of its b batches: matrices at consecutive offsets of x, w and y. */
static void eval_matmul(const struct ir_node *n, const struct ir_node *a, const double *x, const double *w,
                        double *y) {
    int nd = n->ndim, ta = (n->flags & IR_TRANS_A) != 0, tb = (n->flags & IR_TRANS_B) != 0;
    int64_t batch = nd == 3 ? n->shape[0] : 1, m = n->shape[nd - 2], nn = n->shape[nd - 1];
    int64_t k = a->shape[ta ? nd - 2 : nd - 1];
    for (int64_t bt = 0; bt < batch; bt++, x += m * k, w += k * nn, y += m * nn)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                double acc = 0.0;
                for (int64_t p = 0; p < k; p++) {
                    double av = ta ? x[p * m + i] : x[i * k + p];
                    double bv = tb ? w[j * k + p] : w[p * nn + j];
                    acc += av * bv;
                }
                y[i * nn + j] = acc;
            }
}

/* The three conv ops as one loop nest over every (image, out channel, out pixel, in channel, tap) term
 * x[n, c, iy, ix] w[o, c, ky, kx], which conv2d adds into y, bwd_data (operands dy, w) into dx and
 * bwd_weight (operands x, dy) into dw: each is the sum of its own terms, the definition itself. */
static void eval_conv(const struct ir_node *n, const struct ir_node *a, const struct ir_node *b, const double *p,
                      const double *q, double *out) {
    struct ir_conv_geometry g;
    char why[160];
    if (ir_conv_geometry(n, a, b, &g, why, sizeof why)) return; /* verified before */
    memset(out, 0, sizeof(double) * (size_t)ir_node_numel(n));
    for (int64_t i = 0; i < g.n; i++)
        for (int64_t o = 0; o < g.o; o++)
            for (int64_t oy = 0; oy < g.oh; oy++)
                for (int64_t ox = 0; ox < g.ow; ox++)
                    for (int64_t c = 0; c < g.c; c++)
                        for (int64_t ky = 0; ky < g.kh; ky++)
                            for (int64_t kx = 0; kx < g.kw; kx++) {
                                int64_t iy = oy * g.sh + ky - g.ph, ix = ox * g.sw + kx - g.pw;
                                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                                int64_t xi = ((i * g.c + c) * g.h + iy) * g.w + ix;
                                int64_t wi = ((o * g.c + c) * g.kh + ky) * g.kw + kx;
                                int64_t yi = ((i * g.o + o) * g.oh + oy) * g.ow + ox;
                                if (n->op == IR_CONV2D) out[yi] += p[xi] * q[wi];
                                else if (n->op == IR_CONV2D_BWD_DATA) out[xi] += p[yi] * q[wi];
                                else out[wi] += p[xi] * q[yi];
                            }
}

int interp_run(const struct ir_graph *g, const double *const *args, double *const *outs, char *err, size_t errlen) {
    char why[256];
    if (ir_verify(g, why, sizeof why) != 0) return fail_with(err, errlen, "interp: invalid graph: %s", why);

    /* A buffer is freed after its last consumer, so long unrolled graphs (sampling chains) fit in memory;
     * outputs live to the end. */
    double **buf = calloc((size_t)g->n_nodes + 1, sizeof *buf); /* +1: a graph may have no nodes */
    int *last_use = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!buf || !last_use) {
        free(buf);
        free(last_use);
        return fail_with(err, errlen, "interp: out of memory");
    }
    for (int id = 0; id < g->n_nodes; id++) {
        last_use[id] = id;
        for (int k = 0; k < ir_op_arity(g->nodes[id].op); k++) last_use[g->nodes[id].in[k]] = id;
    }
    for (int i = 0; i < g->n_outputs; i++) last_use[g->outputs[i].node] = g->n_nodes;

    int rc = 0, next_arg = 0;
    for (int id = 0; id < g->n_nodes && rc == 0; id++) {
        const struct ir_node *n = &g->nodes[id];
        int64_t count = ir_node_numel(n);
        double *y = buf[id] = malloc(sizeof(double) * (size_t)count);
        if (!y) {
            rc = fail_with(err, errlen, "interp: out of memory for %%%d (%lld elements)", id, (long long)count);
            break;
        }
        const struct ir_node *a = ir_op_arity(n->op) > 0 ? &g->nodes[n->in[0]] : NULL;
        const double *x = a ? buf[n->in[0]] : NULL;
        const double *w = ir_op_arity(n->op) > 1 ? buf[n->in[1]] : NULL;
        const double *v = ir_op_arity(n->op) > 2 ? buf[n->in[2]] : NULL;
        switch (n->op) {
        case IR_INPUT:
        case IR_PARAM: /* arguments arrive in node-table order, the order ir_graph_args() lists them */
            memcpy(y, args[next_arg++], sizeof(double) * (size_t)count);
            break;
        case IR_CONST:
            for (int64_t i = 0; i < count; i++) y[i] = n->value;
            break;
        case IR_BROADCAST: eval_broadcast(n, a, x, y); break;
        case IR_SUM:
        case IR_MAX: eval_reduce(n, a, x, y); break;
        case IR_RESHAPE: memcpy(y, x, sizeof(double) * (size_t)count); break;
        case IR_MATMUL: eval_matmul(n, a, x, w, y); break;
        case IR_CONV2D:
        case IR_CONV2D_BWD_DATA:
        case IR_CONV2D_BWD_WEIGHT: eval_conv(n, a, &g->nodes[n->in[1]], x, w, y); break;
        case IR_PERMUTE:
        case IR_SLICE:
        case IR_PAD: eval_movement(n, a, NULL, x, NULL, y); break;
        case IR_CONCAT: eval_movement(n, a, &g->nodes[n->in[1]], x, w, y); break;
        case IR_WHERE:
            for (int64_t i = 0; i < count; i++) y[i] = ir_scalar_where(x[i], w[i], v[i]);
            break;
        default:
            if (ir_op_arity(n->op) == 1)
                for (int64_t i = 0; i < count; i++) y[i] = ir_scalar_unary(n->op, x[i], n->value);
            else
                for (int64_t i = 0; i < count; i++) y[i] = ir_scalar_binary(n->op, x[i], w[i]);
        }
        for (int k = 0; k < ir_op_arity(n->op); k++) {
            int in = n->in[k];
            if (last_use[in] == id) { /* NULL makes the second free for x * x a no-op */
                free(buf[in]);
                buf[in] = NULL;
            }
        }
        if (last_use[id] == id) { /* nothing reads this node */
            free(buf[id]);
            buf[id] = NULL;
        }
    }
    for (int i = 0; i < g->n_outputs && rc == 0; i++) {
        const struct ir_output *o = &g->outputs[i];
        memcpy(outs[i], buf[o->node], sizeof(double) * (size_t)ir_node_numel(&g->nodes[o->node]));
    }
    for (int id = 0; id < g->n_nodes; id++) free(buf[id]);
    free(buf);
    free(last_use);
    return rc;
}
