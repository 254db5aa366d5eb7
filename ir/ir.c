/* ir.c: graph construction with shape checking and hash-consing, the verifier and the printer. */
#include "ir.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The op table, as an array indexed by op. */
static const struct {
    const char *name;
    enum ir_kind kind;
    int arity;
    unsigned attrs, grad;
    enum ir_cost cost;
    unsigned props;
    const char *value_key;
    double value_default;
} op_info[IR_OP_COUNT] = {
#define X(e, s, k, n, a, gr, c, pr, vk, vd) [e] = {s, k, n, a, gr, c, pr, vk, vd},
    IR_OPS(X)
#undef X
};

/* Rows that contradict themselves do not compile: the kind fixes the arity (movement: 1, or 2 for
 * concat), a gradient flows only into operands that exist, and a value key goes with IR_A_VALUE. */
#define X(e, s, k, n, a, gr, c, pr, vk, vd)                                                                    \
    _Static_assert((k == IR_K_LEAF) == (n == 0) && (k != IR_K_UNARY || n == 1) && (k != IR_K_BINARY || n == 2) && \
                       (k != IR_K_TERNARY || n == 3) && (k != IR_K_REDUCTION || n == 1) &&                    \
                       (k != IR_K_ALIAS || n == 1) && (k != IR_K_CONTRACTION || n == 2) && n <= IR_MAX_INPUTS, \
                   #e ": kind and arity disagree");                                                            \
    _Static_assert((gr & ~((1u << n) - 1)) == 0 || gr == IR_G_ALL, #e ": gradient into a missing operand");    \
    _Static_assert(((a & IR_A_VALUE) != 0) == (vk != NULL), #e ": a value attribute needs a key");
IR_OPS(X)
#undef X

static int known(enum ir_op op) { return (unsigned)op < IR_OP_COUNT; }

const char *ir_op_name(enum ir_op op) { return known(op) ? op_info[op].name : "?"; }
int ir_op_arity(enum ir_op op) { return known(op) ? op_info[op].arity : 0; }
enum ir_kind ir_op_kind(enum ir_op op) { return known(op) ? op_info[op].kind : IR_K_LEAF; }
unsigned ir_op_attrs(enum ir_op op) { return known(op) ? op_info[op].attrs : 0; }
int ir_op_grad_flows(enum ir_op op, int k) {
    return known(op) && k >= 0 && k < op_info[op].arity && (op_info[op].grad >> k & 1);
}
enum ir_cost ir_op_cost(enum ir_op op) { return known(op) ? op_info[op].cost : IR_C_CHEAP; }
int ir_op_rereads(enum ir_op op) { return known(op) && (op_info[op].props & IR_P_REREADS); }
int ir_op_commutes(enum ir_op op) { return known(op) && (op_info[op].props & IR_P_COMMUTES); }
const char *ir_op_value_key(enum ir_op op) { return known(op) ? op_info[op].value_key : NULL; }
double ir_op_default_attr(enum ir_op op) { return known(op) ? op_info[op].value_default : 0.0; }

int ir_op_from_name(const char *name) {
    for (int i = 0; i < IR_OP_COUNT; i++)
        if (strcmp(op_info[i].name, name) == 0) return i;
    return -1;
}

int ir_op_is_unary_elementwise(enum ir_op op) { return ir_op_kind(op) == IR_K_UNARY; }
int ir_op_is_binary_elementwise(enum ir_op op) { return ir_op_kind(op) == IR_K_BINARY; }
int ir_op_is_elementwise(enum ir_op op) {
    enum ir_kind k = ir_op_kind(op);
    return k == IR_K_UNARY || k == IR_K_BINARY || k == IR_K_TERNARY;
}
int ir_op_is_reduction(enum ir_op op) { return ir_op_kind(op) == IR_K_REDUCTION; }
int ir_op_is_alias(enum ir_op op) { return ir_op_kind(op) == IR_K_ALIAS; }
int ir_op_has_value(enum ir_op op) { return (ir_op_attrs(op) & IR_A_VALUE) != 0; }
int ir_op_is_conv(enum ir_op op) { return op == IR_CONV2D || op == IR_CONV2D_BWD_DATA || op == IR_CONV2D_BWD_WEIGHT; }

/* The shapes: conv2d (x, w) -> y; bwd_data (dy, w) -> dx; bwd_weight (x, dy) -> dw. */
int ir_conv_geometry(const struct ir_node *n, const struct ir_node *a, const struct ir_node *b,
                     struct ir_conv_geometry *cg, char *why, size_t len) {
    const struct ir_node *x = n->op == IR_CONV2D_BWD_DATA ? n : a;
    const struct ir_node *w = n->op == IR_CONV2D_BWD_WEIGHT ? n : b;
    const struct ir_node *y = n->op == IR_CONV2D ? n : n->op == IR_CONV2D_BWD_DATA ? a : b;
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4) {
        snprintf(why, len, "x, w and y must be 4-D");
        return -1;
    }
    *cg = (struct ir_conv_geometry){x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], w->shape[2],
                                    w->shape[3], y->shape[2], y->shape[3], n->start[2], n->start[3], n->step[2],
                                    n->step[3]};
    if (n->start[0] || n->start[1] || n->step[0] != 1 || n->step[1] != 1 || cg->ph < 0 || cg->sh < 1 ||
        cg->ph > (1 << 20) || cg->ph != cg->pw || cg->sh != cg->sw) {
        snprintf(why, len, "padding must be start=0,0,p,p (p >= 0) and stride step=1,1,s,s (s >= 1)");
        return -1;
    }
    if (cg->kh > 64 || cg->kw > 64) { /* the kernels unroll the taps of a row (backend/conv.c) */
        snprintf(why, len, "kernels are limited to 64 x 64");
        return -1;
    }
    if (w->shape[1] != cg->c || y->shape[0] != cg->n || y->shape[1] != cg->o || cg->h + 2 * cg->ph < cg->kh ||
        cg->w + 2 * cg->pw < cg->kw || cg->oh != (cg->h + 2 * cg->ph - cg->kh) / cg->sh + 1 ||
        cg->ow != (cg->w + 2 * cg->pw - cg->kw) / cg->sw + 1) {
        char sx[96], sw[96], sy[96];
        ir_shape_str(sx, sizeof sx, x->ndim, x->shape);
        ir_shape_str(sw, sizeof sw, w->ndim, w->shape);
        ir_shape_str(sy, sizeof sy, y->ndim, y->shape);
        snprintf(why, len, "shapes x %s, w %s, y %s do not match", sx, sw, sy);
        return -1;
    }
    return 0;
}

/* ---- shape rules: one per op (ir.h, ir_infer_shape) ---- */

int ir_same_shape(const struct ir_node *a, const struct ir_node *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

void ir_shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++) {
        if (shape[i] == IR_DIM_SYM) k += (size_t)snprintf(buf + k, len - k, "%sB", i ? ", " : "");
        else k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (k < len) snprintf(buf + k, len - k, "]");
}

/* A node's shape as text, for messages: one buffer per argument position of a message. */
static const char *shp(char buf[96], const struct ir_node *n) {
    ir_shape_str(buf, 96, n->ndim, n->shape);
    return buf;
}

/* A size as text: B for IR_DIM_SYM. */
static const char *dim(char buf[96], int64_t d) {
    ir_shape_str(buf, 96, 1, &d);
    buf[strlen(buf) - 1] = 0; /* "[3]" -> "3" */
    return buf + 1;
}

#define WHY(...) (snprintf(why, len, __VA_ARGS__), -1)

/* Element count as (number of symbolic dims, product of the others). */
static void count_elems(const struct ir_node *n, int *syms, int64_t *rest) {
    *syms = 0, *rest = 1;
    for (int i = 0; i < n->ndim; i++) {
        if (n->shape[i] == IR_DIM_SYM) ++*syms;
        else *rest *= n->shape[i];
    }
}

/* Whether `small` elements from start, step apart, fit in `big` (written so nothing overflows). A
 * symbolic size fits only itself, whole (start 0, step 1). */
static int strided_fits(int64_t start, int64_t step, int64_t small, int64_t big) {
    if (small == IR_DIM_SYM || big == IR_DIM_SYM) return small == big && start == 0 && step == 1;
    return start >= 0 && step >= 1 && start < big && small - 1 <= (big - 1 - start) / step;
}

/* The three convs: conv2d derives y [N, O, OH, OW] from x and w; the bwd ops are given their result
 * (the input's H and W, or the kernel's KH and KW, which the operands leave open), and ir_conv_geometry
 * checks the three shapes against each other. */
static int conv_rule(struct ir_node *n, const struct ir_node *a, const struct ir_node *b, char *why, size_t len) {
    char s1[96], s2[96];
    if (a->ndim != 4 || b->ndim != 4 || (n->op != IR_CONV2D && n->ndim != 4))
        return WHY("needs 4-D operands [N, C, H, W] and [O, C, KH, KW]; got %s and %s", shp(s1, a), shp(s2, b));
    for (int i = 0; i < 4; i++)
        if (b->shape[i] == IR_DIM_SYM || (i > 0 && a->shape[i] == IR_DIM_SYM))
            return WHY("needs fixed sizes except N; got %s and %s", shp(s1, a), shp(s2, b));
    if (n->op == IR_CONV2D) {
        int64_t p = n->start[2], s = n->step[2], c = a->shape[1], o = b->shape[0];
        if (b->shape[1] != c)
            return WHY("the input's %lld channels do not match the weight's %lld: %s and %s", (long long)c,
                       (long long)b->shape[1], shp(s1, a), shp(s2, b));
        if (p >= 0 && s >= 1 && p <= (1 << 20) &&
            (a->shape[2] + 2 * p < b->shape[2] || a->shape[3] + 2 * p < b->shape[3]))
            return WHY("the kernel of %s is larger than the input %s padded by %lld", shp(s1, b), shp(s2, a),
                       (long long)p);
        int64_t y[4] = {a->shape[0], o, s >= 1 ? (a->shape[2] + 2 * p - b->shape[2]) / s + 1 : 0,
                        s >= 1 ? (a->shape[3] + 2 * p - b->shape[3]) / s + 1 : 0};
        n->ndim = 4;
        memcpy(n->shape, y, sizeof y);
    }
    struct ir_conv_geometry cg;
    return ir_conv_geometry(n, a, b, &cg, why, len);
}

int ir_broadcast_shape(int n, const struct ir_node *const *in, int *ndim, int64_t *shape, char *why, size_t len) {
    *ndim = 0;
    for (int k = 0; k < n; k++)
        if (in[k]->ndim > *ndim) *ndim = in[k]->ndim;
    for (int i = 0; i < *ndim; i++) shape[i] = 1;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < in[k]->ndim; i++) {
            int64_t *d = &shape[i + *ndim - in[k]->ndim], dk = in[k]->shape[i];
            if (dk == *d || dk == 1) continue;
            if (*d != 1) {
                char s[IR_MAX_INPUTS][96];
                for (int j = 0; j < n && j < IR_MAX_INPUTS; j++) shp(s[j], in[j]);
                return WHY("shapes %s%s%s%s%s do not broadcast", s[0], n > 2 ? ", " : " and ", s[1], n > 2 ? " and " : "",
                           n > 2 ? s[2] : "");
            }
            *d = dk;
        }
    return 0;
}

int ir_infer_shape(struct ir_node *n, const struct ir_node *const *in, char *why, size_t len) {
    if ((unsigned)n->op >= IR_OP_COUNT) return WHY("unknown op %d", (int)n->op);
    const struct ir_node *a = ir_op_arity(n->op) > 0 ? in[0] : NULL, *b = ir_op_arity(n->op) > 1 ? in[1] : NULL;
    char s1[96], s2[96], s3[96];
    switch (n->op) {
    case IR_BROADCAST: /* given */
        if (a->ndim != n->ndim) return WHY("keeps the rank; got %s to %s", shp(s1, a), shp(s2, n));
        for (int i = 0; i < n->ndim; i++)
            if (a->shape[i] != 1 && a->shape[i] != n->shape[i])
                return WHY("cannot broadcast dimension %d of %s to %s", i, shp(s1, a), shp(s2, n));
        return 0;
    case IR_RESHAPE: { /* given */
        int sa, sn;
        int64_t ra, rn;
        count_elems(a, &sa, &ra);
        count_elems(n, &sn, &rn);
        if (sa != sn || ra != rn) return WHY("cannot reshape %s to %s: the element counts differ", shp(s1, a), shp(s2, n));
        return 0;
    }
    case IR_PERMUTE: {
        unsigned seen = 0;
        int64_t shape[IR_MAX_DIMS];
        for (int i = 0; i < a->ndim; i++) {
            if (n->perm[i] < 0 || n->perm[i] >= a->ndim || (seen >> n->perm[i] & 1))
                return WHY("perm is not a permutation of the %d axes", a->ndim);
            seen |= 1u << n->perm[i];
            shape[i] = a->shape[n->perm[i]];
        }
        n->ndim = a->ndim;
        memcpy(n->shape, shape, sizeof shape);
        return 0;
    }
    case IR_SLICE: /* given; `big` is the operand of a slice and the result of a pad */
    case IR_PAD: {
        if (a->ndim != n->ndim) return WHY("keeps the rank; got %s to %s", shp(s1, a), shp(s2, n));
        const struct ir_node *big = n->op == IR_SLICE ? a : n, *small = n->op == IR_SLICE ? n : a;
        for (int i = 0; i < n->ndim; i++)
            if (!strided_fits(n->start[i], n->step[i], small->shape[i], big->shape[i]))
                return WHY("axis %d: start %lld, step %lld and %s elements do not fit in %s", i, (long long)n->start[i],
                           (long long)n->step[i], dim(s1, small->shape[i]), dim(s2, big->shape[i]));
        return 0;
    }
    case IR_CONCAT: {
        int ax = n->axis;
        if (a->ndim != b->ndim || ax < 0 || ax >= a->ndim)
            return WHY("axis %d does not fit %s and %s", ax, shp(s1, a), shp(s2, b));
        for (int i = 0; i < a->ndim; i++)
            if (i != ax && a->shape[i] != b->shape[i])
                return WHY("dimension %d differs: %s and %s", i, shp(s1, a), shp(s2, b));
        if (a->shape[ax] == IR_DIM_SYM || b->shape[ax] == IR_DIM_SYM)
            return WHY("cannot concat along the symbolic size B: %s and %s", shp(s1, a), shp(s2, b));
        n->ndim = a->ndim;
        memcpy(n->shape, a->shape, sizeof n->shape);
        n->shape[ax] += b->shape[ax];
        return 0;
    }
    case IR_MATMUL: {
        int nd = a->ndim, ta = (n->flags & IR_TRANS_A) != 0, tb = (n->flags & IR_TRANS_B) != 0;
        if ((nd != 2 && nd != 3) || b->ndim != nd)
            return WHY("takes two 2-D or two 3-D operands; got rank %d and %d", a->ndim, b->ndim);
        if (nd == 3 && a->shape[0] != b->shape[0]) return WHY("batch sizes differ: %s and %s", shp(s1, a), shp(s2, b));
        const int64_t *as = a->shape + nd - 2, *bs = b->shape + nd - 2; /* the matrices */
        if (as[!ta] != bs[tb])
            return WHY("inner dimensions differ: %s%s x %s%s", shp(s1, a), ta ? "^T" : "", shp(s2, b), tb ? "^T" : "");
        n->ndim = nd;
        n->shape[0] = a->shape[0];
        n->shape[nd - 2] = as[ta];
        n->shape[nd - 1] = bs[!tb];
        return 0;
    }
    case IR_CONV2D:
    case IR_CONV2D_BWD_DATA:
    case IR_CONV2D_BWD_WEIGHT: return conv_rule(n, a, b, why, len);
    default: break;
    }
    switch (ir_op_kind(n->op)) {
    case IR_K_LEAF: return 0; /* given */
    case IR_K_REDUCTION:
        if (n->axes >> a->ndim) return WHY("reduces over an axis that %s does not have", shp(s1, a));
        n->ndim = a->ndim;
        for (int i = 0; i < a->ndim; i++) n->shape[i] = n->axes >> i & 1 ? 1 : a->shape[i];
        return 0;
    case IR_K_UNARY:
    case IR_K_BINARY:
    case IR_K_TERNARY:
    case IR_K_ALIAS: /* stop_grad; reshape is above */
        for (int k = 1; k < ir_op_arity(n->op); k++)
            if (!ir_same_shape(in[0], in[k])) {
                if (k == 2 || ir_op_arity(n->op) == 3)
                    return WHY("needs equal shapes; got %s, %s and %s", shp(s1, a), shp(s2, b), shp(s3, in[2]));
                return WHY("needs equal shapes; got %s and %s", shp(s1, a), shp(s2, b));
            }
        n->ndim = a->ndim;
        memcpy(n->shape, a->shape, sizeof n->shape);
        return 0;
    default: return WHY("has no shape rule"); /* a movement or contraction op without a case above */
    }
}
#undef WHY

void ir_node_canonicalize(struct ir_node *n) {
    unsigned a = ir_op_attrs(n->op);
    for (int i = ir_op_arity(n->op); i < IR_MAX_INPUTS; i++) n->in[i] = -1;
    if (!(a & IR_A_NAME)) memset(n->name, 0, sizeof n->name);
    else { /* bytes after the terminator do not matter */
        size_t len = strnlen(n->name, IR_NAME_LEN - 1);
        memset(n->name + len, 0, IR_NAME_LEN - len);
    }
    if (!(a & IR_A_VALUE)) n->value = 0;
    if (!(a & IR_A_AXES)) n->axes = 0;
    n->flags = a & IR_A_FLAGS ? n->flags & (IR_TRANS_A | IR_TRANS_B) : 0;
    if (!(a & IR_A_AXIS)) n->axis = 0;
    int nd = n->ndim >= 0 && n->ndim <= IR_MAX_DIMS ? n->ndim : 0;
    for (int i = 0; i < IR_MAX_DIMS; i++) {
        if (!(a & IR_A_PERM) || i >= nd) n->perm[i] = 0;
        if (!(a & IR_A_RANGE) || i >= nd) n->start[i] = n->step[i] = 0;
        if (i >= nd) n->shape[i] = 0;
    }
}

int ir_graph_fail(struct ir_graph *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof g->error, fmt, ap);
    va_end(ap);
    return -1;
}

struct ir_graph *ir_graph_new(void) {
    struct ir_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->hash_cap = 256;
    g->hash_slots = malloc(sizeof(int) * (size_t)g->hash_cap);
    if (!g->hash_slots) {
        free(g);
        return NULL;
    }
    memset(g->hash_slots, -1, sizeof(int) * (size_t)g->hash_cap);
    return g;
}

void ir_graph_free(struct ir_graph *g) {
    if (!g) return;
    free(g->nodes);
    free(g->hash_slots);
    free(g->outputs);
    free(g);
}

const char *ir_graph_error(const struct ir_graph *g) { return g->error; }

int64_t ir_node_numel(const struct ir_node *n) {
    int64_t k = 1;
    for (int i = 0; i < n->ndim; i++) k *= n->shape[i];
    return k;
}

double ir_graph_flops(const struct ir_graph *g) {
    double flops = 0;
    for (int id = 0; id < g->n_nodes; id++) {
        const struct ir_node *n = &g->nodes[id];
        if (n->op == IR_MATMUL) {
            const struct ir_node *a = &g->nodes[n->in[0]];
            flops += 2.0 * (double)ir_node_numel(n) * (double)a->shape[n->flags & IR_TRANS_A ? a->ndim - 2 : a->ndim - 1];
        } else if (n->op == IR_CONV2D || n->op == IR_CONV2D_BWD_DATA || n->op == IR_CONV2D_BWD_WEIGHT) {
            struct ir_conv_geometry q;
            char why[8];
            if (ir_conv_geometry(n, &g->nodes[n->in[0]], &g->nodes[n->in[1]], &q, why, sizeof why) == 0)
                flops += 2.0 * (double)(q.n * q.o * q.oh * q.ow) * (double)(q.c * q.kh * q.kw);
        }
    }
    return flops;
}

int ir_resolve_alias(const struct ir_graph *g, int id) {
    while (ir_op_is_alias(g->nodes[id].op)) id = g->nodes[id].in[0];
    return id;
}

/* ---- hash-consing ---- */

/* Nodes are compared field by field (not with memcmp) so padding never matters. Every node is canonical
 * (ir_node_canonicalize: fields its op does not use are zero), so comparing and hashing every field
 * compares what the op uses. */
static int node_equal(const struct ir_node *a, const struct ir_node *b) {
    if (a->op != b->op || a->ndim != b->ndim || a->axes != b->axes || a->flags != b->flags || a->axis != b->axis)
        return 0;
    for (int i = 0; i < IR_MAX_DIMS; i++)
        if (a->perm[i] != b->perm[i] || a->start[i] != b->start[i] || a->step[i] != b->step[i]) return 0;
    if (memcmp(&a->value, &b->value, sizeof a->value) != 0) return 0; /* bitwise: -0.0 != 0.0 */
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    for (int i = 0; i < IR_MAX_INPUTS; i++)
        if (a->in[i] != b->in[i]) return 0;
    return strcmp(a->name, b->name) == 0;
}

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t name_hash(const char *name) {
    uint64_t h = mix(0, IR_OP_COUNT);
    for (const char *c = name; *c; c++) h = mix(h, (uint64_t)(unsigned char)*c);
    return h;
}

/* Arguments hash by name alone, so ir_graph_find_arg finds one in the table whatever its kind and shape. */
static uint64_t node_hash(const struct ir_node *n) {
    if (n->op == IR_INPUT || n->op == IR_PARAM) return name_hash(n->name);
    uint64_t h = mix(0, (uint64_t)n->op);
    for (int i = 0; i < n->ndim; i++) h = mix(h, (uint64_t)n->shape[i]);
    for (int i = 0; i < IR_MAX_INPUTS; i++) h = mix(h, (uint64_t)(int64_t)n->in[i]);
    uint64_t bits;
    memcpy(&bits, &n->value, sizeof bits);
    h = mix(h, bits);
    h = mix(h, n->axes);
    h = mix(h, n->flags);
    h = mix(h, (uint64_t)n->axis);
    for (int i = 0; i < IR_MAX_DIMS; i++)
        h = mix(mix(mix(h, (uint64_t)n->perm[i]), (uint64_t)n->start[i]), (uint64_t)n->step[i]);
    for (const char *c = n->name; *c; c++) h = mix(h, (uint64_t)(unsigned char)*c);
    return h;
}

static int hash_find_slot(const struct ir_graph *g, const struct ir_node *n) {
    size_t mask = (size_t)g->hash_cap - 1;
    size_t i = node_hash(n) & mask;
    while (g->hash_slots[i] >= 0 && !node_equal(&g->nodes[g->hash_slots[i]], n)) i = (i + 1) & mask;
    return (int)i;
}

static int hash_grow(struct ir_graph *g) {
    int cap = g->hash_cap * 2;
    int *slots = malloc(sizeof(int) * (size_t)cap);
    if (!slots) return -1;
    memset(slots, -1, sizeof(int) * (size_t)cap);
    free(g->hash_slots);
    g->hash_slots = slots;
    g->hash_cap = cap;
    for (int id = 0; id < g->n_nodes; id++) g->hash_slots[hash_find_slot(g, &g->nodes[id])] = id;
    return 0;
}

/* Appends n unless an equal node exists; returns its id. */
static int intern(struct ir_graph *g, struct ir_node *n) {
    ir_node_canonicalize(n);
    int slot = hash_find_slot(g, n);
    if (g->hash_slots[slot] >= 0) return g->hash_slots[slot];
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        struct ir_node *nodes = realloc(g->nodes, sizeof *nodes * (size_t)cap);
        if (!nodes) return ir_graph_fail(g, "out of memory");
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    int id = g->n_nodes++;
    g->nodes[id] = *n;
    if (2 * g->n_nodes > g->hash_cap) {
        if (hash_grow(g) != 0) return ir_graph_fail(g, "out of memory");
    } else {
        g->hash_slots[slot] = id;
    }
    return id;
}

/* ---- builders ---- */

static int check_shape(struct ir_graph *g, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > IR_MAX_DIMS) return ir_graph_fail(g, "rank %d is outside 0..%d", ndim, IR_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] <= 0) return ir_graph_fail(g, "dimension %d has size %lld; sizes must be positive", i,
                                       (long long)shape[i]);
    return 0;
}

static int check_id(struct ir_graph *g, int id) {
    if (id == -1 && g->error[0]) return -1; /* an operand's builder failed: keep its message */
    if (id < 0 || id >= g->n_nodes) return ir_graph_fail(g, "operand %%%d does not exist", id);
    return 0;
}

struct ir_node ir_node_blank(enum ir_op op) {
    struct ir_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    for (int i = 0; i < IR_MAX_INPUTS; i++) n.in[i] = -1;
    return n;
}

static struct ir_node blank(enum ir_op op, int ndim, const int64_t *shape) {
    struct ir_node n = ir_node_blank(op);
    n.ndim = ndim;
    for (int i = 0; i < ndim; i++) n.shape[i] = shape[i];
    return n;
}

static int named(struct ir_graph *g, enum ir_op op, const char *name, int ndim, const int64_t *shape) {
    if (check_shape(g, ndim, shape)) return -1;
    if (!name || !*name || strlen(name) >= IR_NAME_LEN)
        return ir_graph_fail(g, "argument names must have 1 to %d characters", IR_NAME_LEN - 1);
    int other = ir_graph_find_arg(g, name);
    struct ir_node n = blank(op, ndim, shape);
    strcpy(n.name, name);
    if (other >= 0 && !node_equal(&g->nodes[other], &n))
        return ir_graph_fail(g, "'%s' is already an argument of another kind or shape", name);
    return intern(g, &n);
}

int ir_input(struct ir_graph *g, const char *name, int ndim, const int64_t *shape) {
    return named(g, IR_INPUT, name, ndim, shape);
}

int ir_param(struct ir_graph *g, const char *name, int ndim, const int64_t *shape) {
    return named(g, IR_PARAM, name, ndim, shape);
}

int ir_const(struct ir_graph *g, double value, int ndim, const int64_t *shape) {
    if (check_shape(g, ndim, shape)) return -1;
    struct ir_node n = blank(IR_CONST, ndim, shape);
    n.value = value;
    return intern(g, &n);
}

/* Applies n's shape rule to its operands (which check_id has vetted), with the op's name in a failure. */
static int rule(struct ir_graph *g, struct ir_node *n) {
    const struct ir_node *in[IR_MAX_INPUTS];
    for (int k = 0; k < ir_op_arity(n->op); k++) in[k] = &g->nodes[n->in[k]];
    char why[200];
    if (ir_infer_shape(n, in, why, sizeof why)) return ir_graph_fail(g, "%s: %s", ir_op_name(n->op), why);
    return 0;
}

/* A node of op on operands a, b, c (-1: none), shaped by its rule. */
static struct ir_node operands(enum ir_op op, int a, int b, int c) {
    struct ir_node n = blank(op, 0, NULL);
    n.in[0] = a, n.in[1] = b, n.in[2] = c;
    return n;
}

static int build(struct ir_graph *g, struct ir_node *n) { return rule(g, n) ? -1 : intern(g, n); }

int ir_unary_attr(struct ir_graph *g, enum ir_op op, int a, double attr) {
    if (check_id(g, a)) return -1;
    if (!ir_op_is_unary_elementwise(op) && op != IR_STOP_GRAD)
        return ir_graph_fail(g, "'%s' is not a unary elementwise op", ir_op_name(op));
    struct ir_node n = operands(op, a, -1, -1);
    if (ir_op_has_value(op)) n.value = attr;
    return build(g, &n);
}

int ir_unary(struct ir_graph *g, enum ir_op op, int a) { return ir_unary_attr(g, op, a, ir_op_default_attr(op)); }

int ir_stop_grad(struct ir_graph *g, int a) { return ir_unary(g, IR_STOP_GRAD, a); }

int ir_binary(struct ir_graph *g, enum ir_op op, int a, int b) {
    if (check_id(g, a) || check_id(g, b)) return -1;
    if (!ir_op_is_binary_elementwise(op)) return ir_graph_fail(g, "'%s' is not a binary elementwise op", ir_op_name(op));
    struct ir_node n = operands(op, a, b, -1);
    return build(g, &n);
}

int ir_where(struct ir_graph *g, int cond, int a, int b) {
    if (check_id(g, cond) || check_id(g, a) || check_id(g, b)) return -1;
    struct ir_node n = operands(IR_WHERE, cond, a, b);
    return build(g, &n);
}

int ir_broadcast(struct ir_graph *g, int a, int ndim, const int64_t *shape) {
    if (check_id(g, a) || check_shape(g, ndim, shape)) return -1;
    struct ir_node n = blank(IR_BROADCAST, ndim, shape);
    n.in[0] = a;
    if (rule(g, &n)) return -1;
    return ir_same_shape(&g->nodes[a], &n) ? a : intern(g, &n);
}

int ir_reshape(struct ir_graph *g, int a, int ndim, const int64_t *shape) {
    if (check_id(g, a) || check_shape(g, ndim, shape)) return -1;
    struct ir_node n = blank(IR_RESHAPE, ndim, shape);
    n.in[0] = a;
    if (rule(g, &n)) return -1;
    if (ir_same_shape(&g->nodes[a], &n)) return a;
    if (g->nodes[a].op == IR_RESHAPE) a = g->nodes[a].in[0]; /* reshape of reshape is one reshape */
    if (ir_same_shape(&g->nodes[a], &n)) return a;
    n.in[0] = a;
    return intern(g, &n);
}

static int reduce(struct ir_graph *g, enum ir_op op, int a, unsigned axes) {
    if (check_id(g, a)) return -1;
    struct ir_node n = operands(op, a, -1, -1);
    n.axes = axes;
    if (rule(g, &n)) return -1;
    return axes == 0 ? a : intern(g, &n);
}

int ir_sum(struct ir_graph *g, int a, unsigned axes) { return reduce(g, IR_SUM, a, axes); }
int ir_max(struct ir_graph *g, int a, unsigned axes) { return reduce(g, IR_MAX, a, axes); }

int ir_mean(struct ir_graph *g, int a, unsigned axes) {
    if (check_id(g, a)) return -1;
    int s = ir_sum(g, a, axes);
    if (s < 0) return -1;
    double n = (double)(ir_node_numel(&g->nodes[a]) / ir_node_numel(&g->nodes[s]));
    return ir_binary(g, IR_MUL, s, ir_const_like(g, 1 / n, s));
}

int ir_logsumexp(struct ir_graph *g, int a, unsigned axes) {
    if (check_id(g, a)) return -1;
    int64_t shape[IR_MAX_DIMS];
    memcpy(shape, g->nodes[a].shape, sizeof shape);
    int nd = g->nodes[a].ndim;
    int m = ir_stop_grad(g, ir_max(g, a, axes));
    /* The shift must be finite: a row of -inf (or one holding +inf) shifts by 0, giving log(0) = -inf
     * (log(inf) = +inf) instead of NaN from inf - inf. m - m == 0 holds for finite m only. */
    m = ir_where(g, ir_binary(g, IR_EQ, ir_binary(g, IR_SUB, m, m), ir_const_like(g, 0, m)), m, ir_const_like(g, 0, m));
    int shifted = ir_binary(g, IR_SUB, a, ir_broadcast(g, m, nd, shape));
    return ir_binary(g, IR_ADD, m, ir_unary(g, IR_LOG, ir_sum(g, ir_unary(g, IR_EXP, shifted), axes)));
}

int ir_matmul(struct ir_graph *g, int a, int b, unsigned flags) {
    if (check_id(g, a) || check_id(g, b)) return -1;
    struct ir_node n = operands(IR_MATMUL, a, b, -1);
    n.flags = flags & (IR_TRANS_A | IR_TRANS_B);
    return build(g, &n);
}

int ir_broadcast_to(struct ir_graph *g, int a, int ndim, const int64_t *shape) {
    if (check_id(g, a) || check_shape(g, ndim, shape)) return -1;
    const struct ir_node x = g->nodes[a];
    if (x.ndim > ndim) return ir_graph_fail(g, "cannot broadcast rank %d to rank %d", x.ndim, ndim);
    int64_t padded[IR_MAX_DIMS];
    for (int i = 0; i < ndim; i++) padded[i] = i < ndim - x.ndim ? 1 : x.shape[i - (ndim - x.ndim)];
    return ir_broadcast(g, ir_reshape(g, a, ndim, padded), ndim, shape);
}

/* ---- movement ---- */

int ir_permute(struct ir_graph *g, int a, const int *perm) {
    if (check_id(g, a)) return -1;
    struct ir_node n = operands(IR_PERMUTE, a, -1, -1);
    int identity = 1;
    for (int i = 0; i < g->nodes[a].ndim; i++) identity &= (n.perm[i] = perm[i]) == i;
    if (rule(g, &n)) return -1;
    return identity ? a : intern(g, &n);
}

/* Slice and pad share their attributes and take their result's shape as given. */
static int strided(struct ir_graph *g, enum ir_op op, int a, const int64_t *start, const int64_t *step,
                   const int64_t *shape) {
    if (check_id(g, a)) return -1;
    int nd = g->nodes[a].ndim;
    if (check_shape(g, nd, shape)) return -1;
    struct ir_node n = blank(op, nd, shape);
    n.in[0] = a;
    memcpy(n.start, start, sizeof *start * (size_t)nd);
    memcpy(n.step, step, sizeof *step * (size_t)nd);
    if (rule(g, &n)) return -1;
    int identity = 1;
    for (int i = 0; i < nd; i++) identity &= start[i] == 0 && (step[i] == 1 || shape[i] == 1);
    return identity && ir_same_shape(&g->nodes[a], &n) ? a : intern(g, &n);
}

int ir_slice(struct ir_graph *g, int a, const int64_t *start, const int64_t *step, const int64_t *shape) {
    return strided(g, IR_SLICE, a, start, step, shape);
}

int ir_pad(struct ir_graph *g, int a, const int64_t *start, const int64_t *step, const int64_t *shape) {
    return strided(g, IR_PAD, a, start, step, shape);
}

int ir_concat(struct ir_graph *g, int a, int b, int axis) {
    if (check_id(g, a) || check_id(g, b)) return -1;
    struct ir_node n = operands(IR_CONCAT, a, b, -1);
    n.axis = axis;
    return build(g, &n);
}

int ir_slice_axis(struct ir_graph *g, int a, int axis, int64_t start, int64_t stop, int64_t step) {
    if (check_id(g, a)) return -1;
    const struct ir_node *x = &g->nodes[a];
    if (axis < 0 || axis >= x->ndim || step < 1 || start < 0 || stop > x->shape[axis] || start >= stop)
        return ir_graph_fail(g, "slice: bad axis %d or range %lld:%lld:%lld", axis, (long long)start, (long long)stop,
                    (long long)step);
    int64_t st[IR_MAX_DIMS] = {0}, sp[IR_MAX_DIMS] = {1, 1, 1, 1}, shape[IR_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    st[axis] = start;
    sp[axis] = step;
    shape[axis] = (stop - start + step - 1) / step;
    return ir_slice(g, a, st, sp, shape);
}

int ir_pad_axis(struct ir_graph *g, int a, int axis, int64_t before, int64_t after) {
    if (check_id(g, a)) return -1;
    const struct ir_node *x = &g->nodes[a];
    if (axis < 0 || axis >= x->ndim || before < 0 || after < 0) return ir_graph_fail(g, "pad: bad axis %d or padding", axis);
    int64_t st[IR_MAX_DIMS] = {0}, sp[IR_MAX_DIMS] = {1, 1, 1, 1}, shape[IR_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    st[axis] = before;
    shape[axis] += before + after;
    return ir_pad(g, a, st, sp, shape);
}

/* The numpy broadcast of the n operands (ids) to one shape, each operand reshaped and broadcast to it. */
static int broadcast_all(struct ir_graph *g, int n, int *ids) {
    const struct ir_node *in[IR_MAX_INPUTS];
    for (int k = 0; k < n; k++) {
        if (check_id(g, ids[k])) return -1;
        in[k] = &g->nodes[ids[k]];
    }
    int nd;
    int64_t out[IR_MAX_DIMS];
    char why[200];
    if (ir_broadcast_shape(n, in, &nd, out, why, sizeof why)) return ir_graph_fail(g, "%s", why);
    for (int k = 0; k < n; k++)
        if ((ids[k] = ir_broadcast_to(g, ids[k], nd, out)) < 0) return -1;
    return 0;
}

int ir_binary_bcast(struct ir_graph *g, enum ir_op op, int a, int b) {
    int ids[2] = {a, b};
    return broadcast_all(g, 2, ids) ? -1 : ir_binary(g, op, ids[0], ids[1]);
}

int ir_where_bcast(struct ir_graph *g, int cond, int a, int b) {
    int ids[3] = {cond, a, b};
    return broadcast_all(g, 3, ids) ? -1 : ir_where(g, ids[0], ids[1], ids[2]);
}

int ir_const_like(struct ir_graph *g, double value, int like) {
    if (check_id(g, like)) return -1;
    return ir_const(g, value, g->nodes[like].ndim, g->nodes[like].shape);
}

int ir_sum_all(struct ir_graph *g, int a) {
    if (check_id(g, a)) return -1;
    unsigned axes = (1u << g->nodes[a].ndim) - 1;
    int64_t one = 1;
    return ir_reshape(g, ir_sum(g, a, axes), 1, &one);
}

int ir_sum_to(struct ir_graph *g, int a, int ndim, const int64_t *shape) {
    if (check_id(g, a)) return -1;
    const struct ir_node x = g->nodes[a];
    if (ndim > x.ndim) return ir_graph_fail(g, "cannot sum rank %d down to rank %d", x.ndim, ndim);
    /* Leading axes that broadcasting added, and axes stretched from 1. */
    unsigned axes = 0;
    int lead = x.ndim - ndim;
    for (int i = 0; i < x.ndim; i++) {
        int j = i - lead;
        if (j < 0 || (shape[j] == 1 && x.shape[i] != 1)) axes |= 1u << i;
        else if (shape[j] != x.shape[i]) return ir_graph_fail(g, "cannot sum dimension %d of size %lld to %lld", i,
                                                   (long long)x.shape[i], (long long)shape[j]);
    }
    return ir_reshape(g, ir_sum(g, a, axes), ndim, shape);
}

/* ---- outputs and arguments ---- */

int ir_graph_output(struct ir_graph *g, const char *name, int node) {
    if (check_id(g, node)) return -1;
    if (!name || !*name || strlen(name) >= IR_NAME_LEN)
        return ir_graph_fail(g, "output names must have 1 to %d characters", IR_NAME_LEN - 1);
    if (ir_graph_find_output(g, name) >= 0) return ir_graph_fail(g, "output '%s' is defined twice", name);
    if (g->n_outputs == g->cap_outputs) {
        int cap = g->cap_outputs ? g->cap_outputs * 2 : 8;
        struct ir_output *o = realloc(g->outputs, sizeof *o * (size_t)cap);
        if (!o) return ir_graph_fail(g, "out of memory");
        g->outputs = o;
        g->cap_outputs = cap;
    }
    struct ir_output *o = &g->outputs[g->n_outputs++];
    memset(o, 0, sizeof *o);
    strcpy(o->name, name);
    o->node = node;
    return 0;
}

int ir_graph_find_output(const struct ir_graph *g, const char *name) {
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0) return i;
    return -1;
}

int ir_graph_args(const struct ir_graph *g, int *ids) {
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == IR_INPUT || g->nodes[i].op == IR_PARAM) {
            if (ids) ids[k] = i;
            k++;
        }
    return k;
}

int ir_graph_find_arg(const struct ir_graph *g, const char *name) {
    size_t mask = (size_t)g->hash_cap - 1;
    for (size_t i = name_hash(name) & mask; g->hash_slots[i] >= 0; i = (i + 1) & mask) {
        const struct ir_node *n = &g->nodes[g->hash_slots[i]];
        if ((n->op == IR_INPUT || n->op == IR_PARAM) && strcmp(n->name, name) == 0) return g->hash_slots[i];
    }
    return -1;
}

/* ---- verifier: each node's shape rule, and a comparison ---- */

/* Checks node n as if it had id `id` in g (its operands must be earlier nodes of g). Returns 0, or -1
 * with a message (without the node's id) in err. Shared by ir_verify and ir_node_add. */
static int check_node(const struct ir_graph *g, int id, const struct ir_node *n, char *err, size_t errlen) {
    if ((unsigned)n->op >= IR_OP_COUNT) return snprintf(err, errlen, "unknown op %d", (int)n->op), -1;
    if (n->ndim < 0 || n->ndim > IR_MAX_DIMS) return snprintf(err, errlen, "bad rank %d", n->ndim), -1;
    for (int i = 0; i < n->ndim; i++)
        if (n->shape[i] <= 0) return snprintf(err, errlen, "dimension %d is %lld", i, (long long)n->shape[i]), -1;
    if ((ir_op_attrs(n->op) & IR_A_NAME) && !n->name[0]) return snprintf(err, errlen, "unnamed argument"), -1;
    const struct ir_node *in[IR_MAX_INPUTS];
    for (int k = 0; k < ir_op_arity(n->op); k++) {
        if (n->in[k] < 0 || n->in[k] >= id)
            return snprintf(err, errlen, "operand %d (%%%d) is not an earlier node", k, n->in[k]), -1;
        in[k] = &g->nodes[n->in[k]];
    }
    struct ir_node want = *n;
    if (ir_infer_shape(&want, in, err, errlen)) return -1;
    if (!ir_same_shape(&want, n)) {
        char s[96];
        ir_shape_str(s, sizeof s, want.ndim, want.shape);
        return snprintf(err, errlen, "the result should have shape %s", s), -1;
    }
    return 0;
}

int ir_verify(const struct ir_graph *g, char *err, size_t errlen) {
    for (int id = 0; id < g->n_nodes; id++) {
        char why[200];
        if (check_node(g, id, &g->nodes[id], why, sizeof why) != 0) {
            snprintf(err, errlen, "%%%d (%s): %s", id, ir_op_name(g->nodes[id].op), why);
            return -1;
        }
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].node < 0 || g->outputs[i].node >= g->n_nodes) {
            snprintf(err, errlen, "output '%s' names no node", g->outputs[i].name);
            return -1;
        }
    return 0;
}

int ir_node_add(struct ir_graph *g, const struct ir_node *src) {
    if ((unsigned)src->op >= IR_OP_COUNT) return ir_graph_fail(g, "unknown op %d", (int)src->op);
    if (ir_op_attrs(src->op) & IR_A_NAME) {
        size_t len = strnlen(src->name, IR_NAME_LEN);
        if (len == 0 || len >= IR_NAME_LEN)
            return ir_graph_fail(g, "argument names must have 1 to %d characters", IR_NAME_LEN - 1);
    }
    struct ir_node n = *src;
    ir_node_canonicalize(&n);
    if (n.op == IR_INPUT || n.op == IR_PARAM) {
        int other = ir_graph_find_arg(g, n.name);
        if (other >= 0 && !node_equal(&g->nodes[other], &n))
            return ir_graph_fail(g, "'%s' is already an argument of another kind or shape", n.name);
    }
    char why[200];
    if (check_node(g, g->n_nodes, &n, why, sizeof why) != 0) return ir_graph_fail(g, "%s: %s", ir_op_name(n.op), why);
    return intern(g, &n);
}

/* ---- printer ---- */

void ir_print_shape(FILE *out, int ndim, const int64_t *shape) {
    char buf[96];
    ir_shape_str(buf, sizeof buf, ndim, shape);
    fputs(buf, out);
}

/* Names are quoted; '"', '\\' and bytes outside printable ASCII are escaped so that ir_parse reads the
 * same bytes back. */
void ir_print_name(FILE *out, const char *name) {
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c > 0x7e) fprintf(out, "\\x%02x", *c);
        else fputc(*c, out);
    }
    fputc('"', out);
}

static void print_list(FILE *out, const char *key, int n, const int64_t *v) {
    fputs(key, out);
    for (int i = 0; i < n; i++) fprintf(out, "%s%lld", i ? "," : "", (long long)v[i]);
}

static void print_list_int(FILE *out, const char *key, int n, const int *v) {
    int64_t w[IR_MAX_DIMS];
    for (int i = 0; i < n; i++) w[i] = v[i];
    print_list(out, key, n, w);
}

void ir_print(const struct ir_graph *g, FILE *out) {
    fprintf(out, "graph {\n");
    for (int id = 0; id < g->n_nodes; id++) {
        const struct ir_node *n = &g->nodes[id];
        fprintf(out, "  %%%d = %s", id, ir_op_name(n->op));
        unsigned attrs = ir_op_attrs(n->op);
        const char *vkey = ir_op_value_key(n->op);
        if (attrs & IR_A_NAME) {
            fputc(' ', out);
            ir_print_name(out, n->name);
        }
        if (vkey && !*vkey) fprintf(out, " %.17g", n->value);
        for (int i = 0; i < ir_op_arity(n->op); i++) fprintf(out, "%s %%%d", i ? "," : "", n->in[i]);
        fprintf(out, " : ");
        ir_print_shape(out, n->ndim, n->shape);
        if (attrs & IR_A_AXES) {
            fprintf(out, " axes=");
            int first = 1;
            for (int i = 0; i < n->ndim; i++)
                if (n->axes >> i & 1) {
                    fprintf(out, "%s%d", first ? "" : ",", i);
                    first = 0;
                }
        }
        if (attrs & IR_A_PERM) print_list_int(out, " perm=", n->ndim, n->perm);
        if (attrs & IR_A_RANGE) {
            print_list(out, " start=", n->ndim, n->start);
            print_list(out, " step=", n->ndim, n->step);
        }
        if (attrs & IR_A_AXIS) fprintf(out, " axis=%d", n->axis);
        if (vkey && *vkey) fprintf(out, " %s=%.17g", vkey, n->value);
        if ((attrs & IR_A_FLAGS) && n->flags)
            fprintf(out, "%s%s", n->flags & IR_TRANS_A ? " trans_a" : "", n->flags & IR_TRANS_B ? " trans_b" : "");
        fputc('\n', out);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        fprintf(out, "  output ");
        ir_print_name(out, g->outputs[i].name);
        fprintf(out, " = %%%d\n", g->outputs[i].node);
    }
    fprintf(out, "}\n");
}

char *ir_print_string(const struct ir_graph *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    ir_print(g, f);
    fclose(f);
    return buf;
}
