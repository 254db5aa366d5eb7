/* simplify.c: constant folding and algebraic simplification, one forward sweep.
 *
 * Each node is rebuilt in a new graph from its already simplified operands, and the first rule that
 * applies replaces it (a rule that makes a new node simplifies that node too). The rules (docs/ir.md):
 *   folding      op(const...) -> const for every elementwise op, broadcast, reshape, sum (value times
 *                the reduced count), max, matmul (a * b * K), permute, slice, pad (of +0 only) and
 *                concat (of two equal constants); IR_CONST is a splat, so these are exact;
 *                where(const, a, b) -> a or b
 *   identities   x+0, 0+x, x-0, x*1, 1*x, x/1 -> x;  0-x, x*-1, -1*x, x/-1 -> neg x;
 *                x*0, 0*x, matmul with a zero operand -> const 0;  neg(neg x) -> x;
 *                stop_grad(stop_grad x) -> stop_grad x;  c1*(c2*x) -> (c1*c2)*x if c1 or c2 is a
 *                power of two (then exact)
 *   movement     reshape, broadcast, slice or pad to the operand's own shape and the identity permute
 *                -> operand; reshape(reshape x) and broadcast(broadcast x) -> one node; sum and max
 *                drop axes of size 1 (no axes left -> operand)
 *   sharing      silu(x) -> x * sigmoid(x) when the graph computes sigmoid(x) too (silu's gradient
 *                does), so that one sigmoid, stored by the forward kernel, serves both
 * Like other compilers' fast-math modes, x*0 -> 0 assumes x is finite and signed zeros are not
 * distinguished; every other rule gives the same IEEE result (the one reassociation is exact), so the
 * simplified graph computes the same values. Dead nodes are left for dce. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"


static int simplify_node(struct ir_graph *g, struct ir_node n);
static int fold_scale(struct ir_graph *g, struct ir_node n, int const_first);

/* op(x) as a new node, itself simplified (so 0 - neg(y) becomes y). */
static int emit_unary(struct ir_graph *g, enum ir_op op, int x) {
    struct ir_node n = g->nodes[x];
    n.op = op;
    n.in[0] = x;
    n.in[1] = -1;
    return simplify_node(g, n);
}

/* A power of two scales without rounding. */
static int is_pow2(double v) {
    int e;
    return isfinite(v) && v != 0 && fabs(frexp(v, &e)) == 0.5;
}

/* n = c1 * (c2 * x) or a permutation of it (the outer constant is operand 0 if const_first): becomes
 * (c1 * c2) * x when one of the constants is a power of two, since then both orders round once, at the
 * same value (barring overflow and underflow), in double and in the JIT's f32 alike. */
static int fold_scale(struct ir_graph *g, struct ir_node n, int const_first) {
    const struct ir_node *c1 = &g->nodes[n.in[const_first ? 0 : 1]], *inner = &g->nodes[n.in[const_first ? 1 : 0]];
    if (inner->op == IR_MUL) {
        const struct ir_node *i0 = &g->nodes[inner->in[0]], *i1 = &g->nodes[inner->in[1]];
        const struct ir_node *c2 = i0->op == IR_CONST ? i0 : i1->op == IR_CONST ? i1 : NULL;
        int rest = c2 == i0 ? inner->in[1] : inner->in[0];
        if (c2 && (is_pow2(c1->value) || is_pow2(c2->value)) && isnormal(c1->value * c2->value)) {
            int c = ir_const(g, c1->value * c2->value, n.ndim, n.shape);
            if (c < 0) return -1;
            n.in[0] = const_first ? c : rest;
            n.in[1] = const_first ? rest : c;
            return simplify_node(g, n);
        }
    }
    return ir_node_add(g, &n);
}

/* Returns the id in g of a node equal in value to n, whose inputs are ids in g. Operands are copied, not
 * pointed to: adding nodes may move g's node table. */
static int simplify_node(struct ir_graph *g, struct ir_node n) {
    int arity = ir_op_arity(n.op);
    struct ir_node a = arity > 0 ? g->nodes[n.in[0]] : n, b = arity > 1 ? g->nodes[n.in[1]] : n;
    int ca = arity > 0 && a.op == IR_CONST, cb = arity > 1 && b.op == IR_CONST;
    int x = n.in[0], y = n.in[1];

    if (ir_op_is_unary_elementwise(n.op) || n.op == IR_STOP_GRAD) {
        if (ca) return ir_const(g, ir_scalar_unary(n.op, a.value, n.value), n.ndim, n.shape);
        if (n.op == IR_NEG && a.op == IR_NEG) return a.in[0];
        if (n.op == IR_STOP_GRAD && a.op == IR_STOP_GRAD) return x;
    } else if (ir_op_is_binary_elementwise(n.op)) {
        if (ca && cb) return ir_const(g, ir_scalar_binary(n.op, a.value, b.value), n.ndim, n.shape);
        switch (n.op) {
        case IR_ADD:
            if (ca && a.value == 0) return y;
            if (cb && b.value == 0) return x;
            break;
        case IR_SUB:
            if (cb && b.value == 0) return x;
            if (ca && a.value == 0) return emit_unary(g, IR_NEG, y);
            break;
        case IR_MUL:
            if (ca && a.value == 1) return y;
            if (cb && b.value == 1) return x;
            if ((ca && a.value == 0) || (cb && b.value == 0)) return ir_const(g, 0.0, n.ndim, n.shape);
            if (ca && a.value == -1) return emit_unary(g, IR_NEG, y);
            if (cb && b.value == -1) return emit_unary(g, IR_NEG, x);
            if (ca || cb) return fold_scale(g, n, ca);
            break;
        case IR_DIV:
            if (cb && b.value == 1) return x;
            if (cb && b.value == -1) return emit_unary(g, IR_NEG, x);
            break;
        default: break;
        }
    } else {
        switch (n.op) {
        case IR_WHERE: /* a constant condition picks an operand; three constants fold */
            if (ca) return ir_scalar_where(a.value, 1, 0) != 0 ? y : n.in[2];
            break;
        case IR_BROADCAST:
        case IR_RESHAPE:
            if (ca) return ir_const(g, a.value, n.ndim, n.shape);
            if (ir_same_shape(&a, &n)) return x;
            if (a.op == n.op) { /* reshape(reshape x), broadcast(broadcast x): x's dims still fit */
                n.in[0] = a.in[0];
                return simplify_node(g, n);
            }
            break;
        case IR_SUM:
        case IR_MAX:
            if (ca && n.op == IR_MAX) return ir_const(g, isnan(a.value) ? -INFINITY : a.value, n.ndim, n.shape);
            if (ca) return ir_const(g, a.value * (double)(ir_node_numel(&a) / ir_node_numel(&n)), n.ndim, n.shape);
            for (int i = 0; i < n.ndim; i++)
                if (a.shape[i] == 1) n.axes &= ~(1u << i); /* reducing one element is the element */
            if (n.axes == 0) return x;
            break;
        case IR_PERMUTE: {
            int identity = 1;
            for (int i = 0; i < n.ndim; i++) identity &= n.perm[i] == i;
            if (identity) return x;
        } /* fall through */
        case IR_SLICE: /* the same splat in a new shape */
            if (ca) return ir_const(g, a.value, n.ndim, n.shape);
            if (n.op == IR_SLICE && ir_same_shape(&a, &n)) return x; /* then it takes every element */
            break;
        case IR_PAD: /* zeros padded with zeros */
            if (ca && a.value == 0 && !signbit(a.value)) return ir_const(g, 0.0, n.ndim, n.shape);
            if (ir_same_shape(&a, &n)) return x;
            break;
        case IR_CONCAT:
            if (ca && cb && memcmp(&a.value, &b.value, sizeof a.value) == 0) return ir_const(g, a.value, n.ndim, n.shape);
            break;
        case IR_MATMUL: {
            int64_t k = a.shape[n.flags & IR_TRANS_A ? a.ndim - 2 : a.ndim - 1]; /* 2-D or batched */
            if (ca && cb) return ir_const(g, a.value * b.value * (double)k, n.ndim, n.shape);
            if ((ca && a.value == 0) || (cb && b.value == 0)) return ir_const(g, 0.0, n.ndim, n.shape);
            break;
        }
        default: break;
        }
    }
    return ir_node_add(g, &n);
}

/* The input graph, and for each of its nodes whether some sigmoid reads it. */
struct simplify_ctx {
    const struct ir_graph *in;
    char *has_sigmoid;
};

/* silu(x) is emitted as x * sigmoid(x) (codegen.c, ir_scalar.c), so the rewrite is exact. Without it
 * the backward pass computes sigmoid(x) a second time, in a kernel of its own. */
static int simplify_rewrite(struct ir_graph *g, struct ir_node n, int id, void *ctx) {
    const struct simplify_ctx *s = ctx;
    if (n.op == IR_SILU && s->has_sigmoid[s->in->nodes[id].in[0]]) {
        int sig = emit_unary(g, IR_SIGMOID, n.in[0]);
        if (sig < 0) return -1;
        n.op = IR_MUL;
        n.in[1] = sig;
    }
    return simplify_node(g, n);
}

struct ir_graph *pass_simplify(const struct ir_graph *in, char *err, size_t errlen) {
    struct simplify_ctx s = {in, calloc((size_t)in->n_nodes + 1, 1)};
    if (!s.has_sigmoid) {
        snprintf(err, errlen, "simplify: out of memory");
        return NULL;
    }
    for (int id = 0; id < in->n_nodes; id++)
        if (in->nodes[id].op == IR_SIGMOID) s.has_sigmoid[in->nodes[id].in[0]] = 1;
    struct ir_graph *g = pass_rewrite(in, "simplify", NULL, simplify_rewrite, &s, err, errlen);
    free(s.has_sigmoid);
    return g;
}
