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
        snprintf(why, len, "shapes x [%lld,%lld,%lld,%lld], w [%lld,%lld,%lld,%lld], y [%lld,%lld,%lld,%lld] do not match",
                 (long long)x->shape[0], (long long)x->shape[1], (long long)x->shape[2], (long long)x->shape[3],
                 (long long)w->shape[0], (long long)w->shape[1], (long long)w->shape[2], (long long)w->shape[3],
                 (long long)y->shape[0], (long long)y->shape[1], (long long)y->shape[2], (long long)y->shape[3]);
        return -1;
    }
    return 0;
}

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

static struct ir_node blank(enum ir_op op, int ndim, const int64_t *shape) {
    struct ir_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.ndim = ndim;
    for (int i = 0; i < ndim; i++) n.shape[i] = shape[i];
    for (int i = 0; i < IR_MAX_INPUTS; i++) n.in[i] = -1;
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

int ir_unary_attr(struct ir_graph *g, enum ir_op op, int a, double attr) {
    if (check_id(g, a)) return -1;
    if (!ir_op_is_unary_elementwise(op) && op != IR_STOP_GRAD)
        return ir_graph_fail(g, "'%s' is not a unary elementwise op", ir_op_name(op));
    const struct ir_node *x = &g->nodes[a];
    struct ir_node n = blank(op, x->ndim, x->shape);
    n.in[0] = a;
    if (ir_op_has_value(op)) n.value = attr;
    return intern(g, &n);
}

int ir_unary(struct ir_graph *g, enum ir_op op, int a) { return ir_unary_attr(g, op, a, ir_op_default_attr(op)); }

int ir_stop_grad(struct ir_graph *g, int a) { return ir_unary(g, IR_STOP_GRAD, a); }

int ir_same_shape(const struct ir_node *a, const struct ir_node *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

void ir_shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

int ir_binary(struct ir_graph *g, enum ir_op op, int a, int b) {
    if (check_id(g, a) || check_id(g, b)) return -1;
    if (!ir_op_is_binary_elementwise(op)) return ir_graph_fail(g, "'%s' is not a binary elementwise op", ir_op_name(op));
    const struct ir_node *x = &g->nodes[a], *y = &g->nodes[b];
    if (!ir_same_shape(x, y)) {
        char sa[96], sb[96];
        ir_shape_str(sa, sizeof sa, x->ndim, x->shape);
        ir_shape_str(sb, sizeof sb, y->ndim, y->shape);
        return ir_graph_fail(g, "%s needs equal shapes, got %s and %s", ir_op_name(op), sa, sb);
    }
    struct ir_node n = blank(op, x->ndim, x->shape);
    n.in[0] = a;
    n.in[1] = b;
    return intern(g, &n);
}

int ir_where(struct ir_graph *g, int cond, int a, int b) {
    if (check_id(g, cond) || check_id(g, a) || check_id(g, b)) return -1;
    const struct ir_node *c = &g->nodes[cond], *x = &g->nodes[a], *y = &g->nodes[b];
    if (!ir_same_shape(c, x) || !ir_same_shape(c, y)) {
        char sc[96], sa[96], sb[96];
        ir_shape_str(sc, sizeof sc, c->ndim, c->shape);
        ir_shape_str(sa, sizeof sa, x->ndim, x->shape);
        ir_shape_str(sb, sizeof sb, y->ndim, y->shape);
        return ir_graph_fail(g, "where needs equal shapes, got %s, %s and %s", sc, sa, sb);
    }
    struct ir_node n = blank(IR_WHERE, x->ndim, x->shape);
    n.in[0] = cond;
    n.in[1] = a;
    n.in[2] = b;
    return intern(g, &n);
}

int ir_broadcast(struct ir_graph *g, int a, int ndim, const int64_t *shape) {
    if (check_id(g, a) || check_shape(g, ndim, shape)) return -1;
    const struct ir_node *x = &g->nodes[a];
    if (x->ndim != ndim) return ir_graph_fail(g, "broadcast keeps the rank: %d != %d", x->ndim, ndim);
    int trivial = 1;
    for (int i = 0; i < ndim; i++) {
        if (x->shape[i] != 1 && x->shape[i] != shape[i])
            return ir_graph_fail(g, "cannot broadcast dimension %d of size %lld to %lld", i, (long long)x->shape[i],
                        (long long)shape[i]);
        trivial &= x->shape[i] == shape[i];
    }
    if (trivial) return a;
    struct ir_node n = blank(IR_BROADCAST, ndim, shape);
    n.in[0] = a;
    return intern(g, &n);
}

int ir_reshape(struct ir_graph *g, int a, int ndim, const int64_t *shape) {
    if (check_id(g, a) || check_shape(g, ndim, shape)) return -1;
    const struct ir_node *x = &g->nodes[a];
    struct ir_node n = blank(IR_RESHAPE, ndim, shape);
    if (ir_node_numel(x) != ir_node_numel(&n)) {
        char sa[96], sb[96];
        ir_shape_str(sa, sizeof sa, x->ndim, x->shape);
        ir_shape_str(sb, sizeof sb, ndim, shape);
        return ir_graph_fail(g, "cannot reshape %s to %s: element counts differ", sa, sb);
    }
    if (ir_same_shape(x, &n)) return a;
    if (x->op == IR_RESHAPE) a = x->in[0]; /* reshape of reshape is one reshape */
    if (ir_same_shape(&g->nodes[a], &n)) return a;
    n.in[0] = a;
    return intern(g, &n);
}

static int reduce(struct ir_graph *g, enum ir_op op, int a, unsigned axes) {
    if (check_id(g, a)) return -1;
    const struct ir_node *x = &g->nodes[a];
    if (axes >> x->ndim) return ir_graph_fail(g, "%s over an axis the operand (rank %d) does not have", ir_op_name(op), x->ndim);
    struct ir_node n = blank(op, x->ndim, x->shape);
    for (int i = 0; i < x->ndim; i++)
        if (axes >> i & 1) n.shape[i] = 1;
    if (axes == 0) return a;
    n.axes = axes;
    n.in[0] = a;
    return intern(g, &n);
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
    const struct ir_node *x = &g->nodes[a], *y = &g->nodes[b];
    int nd = x->ndim;
    if ((nd != 2 && nd != 3) || y->ndim != nd)
        return ir_graph_fail(g, "matmul takes two 2-D or two 3-D operands, got rank %d and %d", x->ndim, y->ndim);
    if (nd == 3 && x->shape[0] != y->shape[0])
        return ir_graph_fail(g, "matmul batch sizes differ: %lld and %lld", (long long)x->shape[0], (long long)y->shape[0]);
    const int64_t *xs = x->shape + nd - 2, *ys = y->shape + nd - 2; /* the matrices */
    int64_t m = flags & IR_TRANS_A ? xs[1] : xs[0];
    int64_t ka = flags & IR_TRANS_A ? xs[0] : xs[1];
    int64_t kb = flags & IR_TRANS_B ? ys[1] : ys[0];
    int64_t nn = flags & IR_TRANS_B ? ys[0] : ys[1];
    if (ka != kb)
        return ir_graph_fail(g, "matmul inner dimensions differ: [%lld, %lld] x [%lld, %lld]", (long long)m, (long long)ka,
                    (long long)kb, (long long)nn);
    int64_t shape[3] = {x->shape[0], m, nn};
    struct ir_node n = blank(IR_MATMUL, nd, shape + 3 - nd);
    n.in[0] = a;
    n.in[1] = b;
    n.flags = flags & (IR_TRANS_A | IR_TRANS_B);
    return intern(g, &n);
}

int ir_broadcast_to(struct ir_graph *g, int a, int ndim, const int64_t *shape) {
    if (check_id(g, a) || check_shape(g, ndim, shape)) return -1;
    const struct ir_node x = g->nodes[a];
    if (x.ndim > ndim) return ir_graph_fail(g, "cannot broadcast rank %d to rank %d", x.ndim, ndim);
    int64_t padded[IR_MAX_DIMS];
    for (int i = 0; i < ndim; i++) padded[i] = i < ndim - x.ndim ? 1 : x.shape[i - (ndim - x.ndim)];
    return ir_broadcast(g, ir_reshape(g, a, ndim, padded), ndim, shape);
}

/* The numpy broadcast of the n operands' shapes into ndim/shape. Returns 0, or -1 with a message. */
static int broadcast_shapes(struct ir_graph *g, int n, const int *ids, int *ndim, int64_t *shape) {
    *ndim = 0;
    for (int k = 0; k < n; k++)
        if (g->nodes[ids[k]].ndim > *ndim) *ndim = g->nodes[ids[k]].ndim;
    for (int i = 0; i < *ndim; i++) shape[i] = 1;
    for (int k = 0; k < n; k++) {
        const struct ir_node *x = &g->nodes[ids[k]];
        for (int i = 0; i < x->ndim; i++) {
            int64_t *d = &shape[i + *ndim - x->ndim];
            if (x->shape[i] == *d || x->shape[i] == 1) continue;
            if (*d != 1) {
                char buf[IR_MAX_INPUTS][96];
                for (int j = 0; j < n; j++) ir_shape_str(buf[j], sizeof buf[j], g->nodes[ids[j]].ndim, g->nodes[ids[j]].shape);
                return ir_graph_fail(g, "shapes %s%s%s%s%s do not broadcast", buf[0], n > 2 ? ", " : " and ", buf[1],
                            n > 2 ? " and " : "", n > 2 ? buf[2] : "");
            }
            *d = x->shape[i];
        }
    }
    return 0;
}

/* ---- movement ---- */

int ir_permute(struct ir_graph *g, int a, const int *perm) {
    if (check_id(g, a)) return -1;
    const struct ir_node *x = &g->nodes[a];
    struct ir_node n = blank(IR_PERMUTE, x->ndim, x->shape);
    unsigned seen = 0;
    int identity = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= x->ndim || (seen >> perm[i] & 1))
            return ir_graph_fail(g, "permute: not a permutation of the %d axes", x->ndim);
        seen |= 1u << perm[i];
        n.perm[i] = perm[i];
        n.shape[i] = x->shape[perm[i]];
        identity &= perm[i] == i;
    }
    if (identity) return a;
    n.in[0] = a;
    return intern(g, &n);
}

/* Whether `small` elements from start, step apart, fit in `big` (written so nothing overflows). */
static int strided_fits(int64_t start, int64_t step, int64_t small, int64_t big) {
    return start >= 0 && step >= 1 && start < big && small - 1 <= (big - 1 - start) / step;
}

/* Slice and pad share their attributes; `big` is the operand of a slice and the result of a pad. */
static int strided(struct ir_graph *g, enum ir_op op, int a, const int64_t *start, const int64_t *step,
                   const int64_t *shape) {
    if (check_id(g, a)) return -1;
    const struct ir_node *x = &g->nodes[a];
    if (check_shape(g, x->ndim, shape)) return -1;
    struct ir_node n = blank(op, x->ndim, shape);
    const int64_t *big = op == IR_SLICE ? x->shape : shape, *small = op == IR_SLICE ? shape : x->shape;
    int identity = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (!strided_fits(start[i], step[i], small[i], big[i]))
            return ir_graph_fail(g, "%s: axis %d: start %lld, step %lld and %lld elements do not fit in %lld", ir_op_name(op), i,
                        (long long)start[i], (long long)step[i], (long long)small[i], (long long)big[i]);
        n.start[i] = start[i];
        n.step[i] = step[i];
        identity &= small[i] == big[i] && start[i] == 0 && (step[i] == 1 || small[i] == 1);
    }
    if (identity) return a;
    n.in[0] = a;
    return intern(g, &n);
}

int ir_slice(struct ir_graph *g, int a, const int64_t *start, const int64_t *step, const int64_t *shape) {
    return strided(g, IR_SLICE, a, start, step, shape);
}

int ir_pad(struct ir_graph *g, int a, const int64_t *start, const int64_t *step, const int64_t *shape) {
    return strided(g, IR_PAD, a, start, step, shape);
}

int ir_concat(struct ir_graph *g, int a, int b, int axis) {
    if (check_id(g, a) || check_id(g, b)) return -1;
    const struct ir_node *x = &g->nodes[a], *y = &g->nodes[b];
    if (axis < 0 || axis >= x->ndim || x->ndim != y->ndim) return ir_graph_fail(g, "concat: bad axis %d or ranks differ", axis);
    struct ir_node n = blank(IR_CONCAT, x->ndim, x->shape);
    for (int i = 0; i < x->ndim; i++)
        if (i != axis && x->shape[i] != y->shape[i]) return ir_graph_fail(g, "concat: dimension %d differs", i);
    n.shape[axis] += y->shape[axis];
    n.axis = axis;
    n.in[0] = a;
    n.in[1] = b;
    return intern(g, &n);
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

int ir_binary_bcast(struct ir_graph *g, enum ir_op op, int a, int b) {
    if (check_id(g, a) || check_id(g, b)) return -1;
    int ids[2] = {a, b}, nd;
    int64_t out[IR_MAX_DIMS];
    if (broadcast_shapes(g, 2, ids, &nd, out)) return -1;
    a = ir_broadcast_to(g, a, nd, out);
    if (a < 0) return -1;
    b = ir_broadcast_to(g, b, nd, out);
    if (b < 0) return -1;
    return ir_binary(g, op, a, b);
}

int ir_where_bcast(struct ir_graph *g, int cond, int a, int b) {
    if (check_id(g, cond) || check_id(g, a) || check_id(g, b)) return -1;
    int ids[3] = {cond, a, b}, nd;
    int64_t out[IR_MAX_DIMS];
    if (broadcast_shapes(g, 3, ids, &nd, out)) return -1;
    for (int k = 0; k < 3; k++)
        if ((ids[k] = ir_broadcast_to(g, ids[k], nd, out)) < 0) return -1;
    return ir_where(g, ids[0], ids[1], ids[2]);
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

/* ---- verifier: rebuild each node's expected shape from its inputs ---- */

/* Checks node n as if it had id `id` in g (its operands must be earlier nodes of g). Returns 0, or -1
 * with a message (without the node's id) in err. Shared by ir_verify and ir_node_add. */
static int check_node(const struct ir_graph *g, int id, const struct ir_node *n, char *err, size_t errlen) {
#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)
    if ((unsigned)n->op >= IR_OP_COUNT) BAD("unknown op %d", (int)n->op);
    if (n->ndim < 0 || n->ndim > IR_MAX_DIMS) BAD("bad rank %d", n->ndim);
    for (int i = 0; i < n->ndim; i++)
        if (n->shape[i] <= 0) BAD("dimension %d is %lld", i, (long long)n->shape[i]);
    for (int i = 0; i < ir_op_arity(n->op); i++)
        if (n->in[i] < 0 || n->in[i] >= id) BAD("operand %d (%%%d) is not an earlier node", i, n->in[i]);
    const struct ir_node *a = ir_op_arity(n->op) > 0 ? &g->nodes[n->in[0]] : NULL;
    const struct ir_node *b = ir_op_arity(n->op) > 1 ? &g->nodes[n->in[1]] : NULL;
    switch (n->op) {
    case IR_INPUT:
    case IR_PARAM:
        if (!n->name[0]) BAD("unnamed argument");
        break;
    case IR_CONST: break;
    case IR_BROADCAST:
        if (a->ndim != n->ndim) BAD("rank changes");
        for (int i = 0; i < n->ndim; i++)
            if (a->shape[i] != 1 && a->shape[i] != n->shape[i]) BAD("dimension %d cannot broadcast", i);
        break;
    case IR_SUM:
    case IR_MAX:
        if (a->ndim != n->ndim || (n->axes >> n->ndim)) BAD("axes do not fit the operand");
        for (int i = 0; i < n->ndim; i++)
            if (n->shape[i] != ((n->axes >> i & 1) ? 1 : a->shape[i])) BAD("dimension %d is wrong", i);
        break;
    case IR_RESHAPE:
        if (ir_node_numel(a) != ir_node_numel(n)) BAD("element count changes");
        break;
    case IR_PERMUTE: {
        unsigned seen = 0;
        if (a->ndim != n->ndim) BAD("rank changes");
        for (int i = 0; i < n->ndim; i++) {
            if (n->perm[i] < 0 || n->perm[i] >= n->ndim || (seen >> n->perm[i] & 1)) BAD("perm is not a permutation");
            seen |= 1u << n->perm[i];
            if (n->shape[i] != a->shape[n->perm[i]]) BAD("dimension %d is wrong", i);
        }
        break;
    }
    case IR_SLICE:
    case IR_PAD: {
        if (a->ndim != n->ndim) BAD("rank changes");
        const struct ir_node *big = n->op == IR_SLICE ? a : n, *small = n->op == IR_SLICE ? n : a;
        for (int i = 0; i < n->ndim; i++)
            if (!strided_fits(n->start[i], n->step[i], small->shape[i], big->shape[i]))
                BAD("axis %d: start %lld, step %lld and %lld elements do not fit in %lld", i, (long long)n->start[i],
                    (long long)n->step[i], (long long)small->shape[i], (long long)big->shape[i]);
        break;
    }
    case IR_CONCAT:
        if (a->ndim != n->ndim || b->ndim != n->ndim || n->axis < 0 || n->axis >= n->ndim) BAD("bad axis or ranks");
        for (int i = 0; i < n->ndim; i++)
            if (n->shape[i] != (i == n->axis ? a->shape[i] + b->shape[i] : a->shape[i]) ||
                (i != n->axis && b->shape[i] != a->shape[i]))
                BAD("dimension %d is wrong", i);
        break;
    case IR_CONV2D:
    case IR_CONV2D_BWD_DATA:
    case IR_CONV2D_BWD_WEIGHT: {
        struct ir_conv_geometry cg;
        if (ir_conv_geometry(n, a, b, &cg, err, errlen)) return -1;
        break;
    }
    case IR_MATMUL: {
        int nd = n->ndim, ta = (n->flags & IR_TRANS_A) != 0, tb = (n->flags & IR_TRANS_B) != 0;
        if ((nd != 2 && nd != 3) || a->ndim != nd || b->ndim != nd) BAD("operands and result must be all 2-D or all 3-D");
        if (nd == 3 && (a->shape[0] != n->shape[0] || b->shape[0] != n->shape[0])) BAD("batch sizes differ");
        const int64_t *as = a->shape + nd - 2, *bs = b->shape + nd - 2, *cs = n->shape + nd - 2;
        if (as[ta] != cs[0] || bs[!tb] != cs[1] || as[!ta] != bs[tb]) BAD("shapes do not multiply");
        break;
    }
    default: /* elementwise: every operand has the result's shape */
        for (int i = 0; i < ir_op_arity(n->op); i++)
            if (!ir_same_shape(&g->nodes[n->in[i]], n)) BAD("elementwise shapes differ");
    }
    return 0;
#undef BAD
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
    fputc('[', out);
    for (int i = 0; i < ndim; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)shape[i]);
    fputc(']', out);
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
