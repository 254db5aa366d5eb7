/* lower.c: the energy body -> graph IR, and the name and shape check that precedes it.
 *
 * Both are one evaluator. Each value carries a symbolic shape in which the batch dimension is
 * FE_DIM_B, so shapes print as [B, 128] and a rule is checked once for every batch size. Without a
 * graph (at parse time) the evaluator only checks; with one it also emits nodes, substituting the
 * concrete batch. Because the checking code is the lowering code, a model that parsed cannot fail to
 * lower, except for resource limits, which are reported as internal errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fe_internal.h"

enum builtin_kind {
    BI_UNARY,      /* f(e) */
    BI_UNARY_ATTR, /* f(e) or f(e, number): leaky_relu's slope, elu's alpha */
    BI_BINARY,     /* f(a, b), broadcasting like the operators */
    BI_WHERE,      /* where(cond, a, b), broadcasting */
    BI_SUM, /* the reductions: f(e) or f(e, axis, ...) */
    BI_MEAN,
    BI_MAX,
    BI_LOGSUMEXP,
    BI_RESHAPE,
    BI_TRANSPOSE, /* transpose(e) (rank 2) or transpose(e, axis, axis) */
    BI_PERMUTE,   /* permute(e, axis, ...): output axis i is e's axis i-th listed */
    BI_SLICE,     /* slice(e, axis, start, stop[, step]) */
    BI_PAD,       /* pad(e, axis, before, after) */
    BI_CONCAT,    /* concat(e, e, ..., axis) */
    BI_CONV2D,    /* conv2d(x, w[, b][, stride, padding]) */
    BI_AVG_POOL,  /* avg_pool2d(x, k) */
    BI_GROUP_NORM, /* group_norm(x, groups[, gamma, beta]) */
    BI_LAYER_NORM, /* layer_norm(x[, gamma, beta]) */
    BI_RANGE,      /* range(n): the constant vector [0, 1, ..., n - 1] */
};

static const struct builtin {
    const char *name;
    enum builtin_kind kind;
    enum ir_op op;
} builtins[] = {
    {"silu", BI_UNARY, IR_SILU},       {"softplus", BI_UNARY, IR_SOFTPLUS}, {"tanh", BI_UNARY, IR_TANH},
    {"relu", BI_UNARY, IR_RELU},       {"sigmoid", BI_UNARY, IR_SIGMOID},   {"exp", BI_UNARY, IR_EXP},
    {"log", BI_UNARY, IR_LOG},         {"square", BI_UNARY, IR_SQUARE},     {"sqrt", BI_UNARY, IR_SQRT},
    {"abs", BI_UNARY, IR_ABS},         {"rsqrt", BI_UNARY, IR_RSQRT},       {"gelu", BI_UNARY, IR_GELU},
    {"sin", BI_UNARY, IR_SIN},         {"cos", BI_UNARY, IR_COS},           {"log1p", BI_UNARY, IR_LOG1P},
    {"leaky_relu", BI_UNARY_ATTR, IR_LEAKY_RELU}, {"elu", BI_UNARY_ATTR, IR_ELU},
    {"pow", BI_BINARY, IR_POW},        {"maximum", BI_BINARY, IR_MAXIMUM},  {"minimum", BI_BINARY, IR_MINIMUM},
    {"lt", BI_BINARY, IR_LT},          {"le", BI_BINARY, IR_LE},            {"gt", BI_BINARY, IR_GT},
    {"ge", BI_BINARY, IR_GE},          {"eq", BI_BINARY, IR_EQ},            {"where", BI_WHERE, IR_WHERE},
    {"stop_grad", BI_UNARY, IR_STOP_GRAD}, {"sum", BI_SUM, IR_SUM},         {"mean", BI_MEAN, IR_SUM},
    {"max", BI_MAX, IR_MAX},           {"logsumexp", BI_LOGSUMEXP, IR_MAX},
    {"reshape", BI_RESHAPE, IR_RESHAPE},
    {"transpose", BI_TRANSPOSE, IR_PERMUTE}, {"permute", BI_PERMUTE, IR_PERMUTE}, {"slice", BI_SLICE, IR_SLICE},
    {"pad", BI_PAD, IR_PAD},           {"concat", BI_CONCAT, IR_CONCAT},
    {"conv2d", BI_CONV2D, IR_MATMUL},  {"avg_pool2d", BI_AVG_POOL, IR_SUM}, {"group_norm", BI_GROUP_NORM, IR_SUM},
    {"layer_norm", BI_LAYER_NORM, IR_SUM}, {"range", BI_RANGE, IR_CONCAT},
};

#define NORM_EPS 1e-5 /* group_norm and layer_norm: var + eps, as PyTorch's default */
#define N_BUILTINS ((int)(sizeof builtins / sizeof builtins[0]))


/* ---- values ---- */

enum val_kind {
    V_ERR,    /* an error was already reported: propagate silently, so one mistake gives one message */
    V_NUM,    /* a number known at compile time; it takes the shape of whatever it meets */
    V_TENSOR, /* node (or -1 when only checking) with a symbolic shape */
};

struct val {
    enum val_kind kind;
    double num;
    int node;
    int ndim;
    int64_t dims[IR_MAX_DIMS];
};

struct binding {
    const char *name;
    int len;
    struct val v;
};

struct eval {
    const struct fe_model *m;
    struct fe_model *checking; /* set when checking: errors count in it and types are recorded */
    FILE *diag;
    struct ir_graph *g; /* NULL when only checking */
    int64_t batch;
    int *param_node; /* node of each parameter (lowering) */
    char *param_used;
    struct binding *locals;
    int n_locals, cap_locals;
    struct fe_name_index local_names; /* name -> index in locals */
    const struct stmt *body; /* the statements being run: the energy's or a def's */
    int n_body;
    int stmt; /* index in body of the statement being evaluated */
    int failed, n_errors;
    char *def_active; /* per def: a call to it is being inlined (a second one would be recursion) */
    char *def_failed; /* per def: a call reported errors; later calls stay silent */
    char *def_used;
    /* Calls already inlined: a call of the same function on the same values returns the same value
     * (nodes are hash-consed), so f(h) + f(h) nested n deep costs n inlinings, not 2^n. */
    struct fe_name_index memo_index; /* key bytes -> index in memo */
    struct memo {
        struct memo_key *key;
        struct val result;
    } *memo;
    int n_memo, cap_memo;
    long long work; /* expressions evaluated: bounded by FE_MAX_WORK */
    int depth;      /* eval_expr nesting, through inlined calls: bounded by FE_MAX_INLINE_DEPTH */
    int over_limit; /* one of the two was reported */
};

/* A memo key: the function and its argument values, every unused byte zero so keys compare as bytes. */
struct memo_key {
    int def, n_args;
    struct val args[FE_MAX_DEF_ARGS];
};

static void eval_error(struct eval *ev, struct fe_loc loc, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void eval_error(struct eval *ev, struct fe_loc loc, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ev->failed = 1;
    ev->n_errors++;
    if (ev->checking) fe_report(ev->checking, loc, "%s", msg);
    else fe_error_at(ev->m, loc, ev->diag, "%s", msg);
}

static struct val err_val(void) {
    struct val v;
    memset(&v, 0, sizeof v);
    v.kind = V_ERR;
    v.node = -1;
    return v;
}

static struct val num_val(double x) {
    struct val v = err_val();
    v.kind = V_NUM;
    v.num = x;
    return v;
}

static struct val tensor_val(int ndim, const int64_t *dims) {
    struct val v = err_val();
    v.kind = V_TENSOR;
    v.ndim = ndim;
    memcpy(v.dims, dims, sizeof *dims * (size_t)ndim);
    return v;
}

static const char *shape_of(const struct val *v, char *buf, size_t size) {
    if (v->kind == V_NUM) return "a number";
    ir_shape_str(buf, size, v->ndim, v->dims);
    return buf;
}

/* The shape with B replaced by the batch size being lowered. */
static void concrete(const struct eval *ev, int ndim, const int64_t *dims, int64_t *out) {
    for (int i = 0; i < ndim; i++) out[i] = dims[i] == FE_DIM_B ? ev->batch : dims[i];
}

/* Accepts a node just built for value v, after confirming the builder agreed with the check. */
static struct val built(struct eval *ev, int id, struct fe_loc loc, struct val v) {
    if (id < 0) {
        eval_error(ev, loc, "internal error while lowering: %s", ir_graph_error(ev->g));
        return err_val();
    }
    int64_t want[IR_MAX_DIMS];
    concrete(ev, v.ndim, v.dims, want);
    const struct ir_node *n = ir_node_at(ev->g, id);
    if (n->ndim != v.ndim || memcmp(n->shape, want, sizeof *want * (size_t)v.ndim) != 0) {
        char a[96], b[96];
        ir_shape_str(a, sizeof a, v.ndim, want);
        ir_shape_str(b, sizeof b, n->ndim, n->shape);
        eval_error(ev, loc, "internal error while lowering: expected shape %s, the graph built %s", a, b);
        return err_val();
    }
    v.node = id;
    return v;
}

/* Operand k's shape as the IR's rules read it (B is IR_DIM_SYM, FE_DIM_B). */
static const struct ir_node *shape_node(struct ir_node *store, const struct val *v) {
    memset(store, 0, sizeof *store);
    store->ndim = v->ndim;
    memcpy(store->shape, v->dims, sizeof store->shape);
    return store;
}

/* The IR's shape rule for node n (ir_infer_shape) on the n_ops operand values, with B symbolic: the
 * result's symbolic shape in *r, or -1 with the rule's reason in why (callers phrase the message). */
static int rule(struct ir_node *n, int n_ops, const struct val *ops, struct val *r, char *why, size_t len) {
    struct ir_node store[IR_MAX_INPUTS];
    const struct ir_node *in[IR_MAX_INPUTS];
    for (int k = 0; k < n_ops; k++) in[k] = shape_node(&store[k], &ops[k]);
    if (ir_infer_shape(n, in, why, len)) return -1;
    *r = tensor_val(n->ndim, n->shape);
    return 0;
}

/* Broadcasting and matmul can multiply sizes; past FE_MAX_NUMEL elements per batch power they would
 * overflow the IR's 64-bit element counts, so such results are refused. */
static int too_big(struct eval *ev, struct fe_loc loc, const struct val *v) {
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++) {
        if (v->dims[i] == FE_DIM_B) continue;
        if (v->dims[i] > FE_MAX_NUMEL / n) {
            char s[96];
            eval_error(ev, loc, "the result, of shape %s, has more than 2^32 elements", shape_of(v, s, sizeof s));
            return 1;
        }
        n *= v->dims[i];
    }
    return 0;
}

static void record_type(struct eval *ev, struct expr *e, const struct val *v) {
    if (!ev->checking || v->kind == V_ERR) return;
    e->typed = 1;
    e->is_number = v->kind == V_NUM;
    e->tndim = v->ndim;
    memcpy(e->tdims, v->dims, sizeof v->dims);
}

/* ---- names ---- */

static int same_name(const char *a, int la, const char *b, int lb) { return la == lb && memcmp(a, b, (size_t)la) == 0; }

static int find_param(const struct fe_model *m, const char *name, int len) {
    return fe_names_find(&m->param_names, name, len);
}

static struct binding *find_local(struct eval *ev, const char *name, int len) {
    int i = fe_names_find(&ev->local_names, name, len);
    return i >= 0 ? &ev->locals[i] : NULL;
}

static int bind(struct eval *ev, const char *name, int len, struct val v, struct fe_loc loc) {
    struct binding *b = find_local(ev, name, len);
    if (!b) {
        if (ev->n_locals == ev->cap_locals) {
            int cap = ev->cap_locals ? ev->cap_locals * 2 : 16;
            struct binding *grown = realloc(ev->locals, sizeof *grown * (size_t)cap);
            if (!grown) {
                eval_error(ev, loc, "out of memory");
                return -1;
            }
            ev->locals = grown;
            ev->cap_locals = cap;
        }
        if (fe_names_add(&ev->local_names, name, len, ev->n_locals)) {
            eval_error(ev, loc, "out of memory");
            return -1;
        }
        b = &ev->locals[ev->n_locals++];
        b->name = name;
        b->len = len;
    }
    b->v = v;
    return 0;
}

static int find_def(const struct fe_model *m, const char *name, int len) {
    return fe_names_find(&m->def_names, name, len);
}

static const struct builtin *find_builtin(const char *name, int len) {
    for (int i = 0; i < N_BUILTINS; i++)
        if (same_name(builtins[i].name, (int)strlen(builtins[i].name), name, len)) return &builtins[i];
    return NULL;
}

/* "; did you mean 'x'?" among the names in scope, or "". */
static const char *name_hint(struct eval *ev, const char *name, int len, char *buf, size_t size) {
    enum { MAXC = 64 };
    const char *cands[MAXC];
    char store[MAXC][IR_NAME_LEN];
    int n = 0;
    for (int i = ev->n_locals - 1; i >= 0 && n < MAXC; i--, n++) {
        fe_clip(store[n], sizeof store[n], ev->locals[i].name, ev->locals[i].len);
        cands[n] = store[n];
    }
    for (int i = 0; i < ev->m->n_params && n < MAXC; i++) cands[n++] = ev->m->params[i].p.name;
    const char *s = fe_suggest(name, len, cands, n);
    if (!s || !*s) return "";
    snprintf(buf, size, "; did you mean '%s'?", s);
    return buf;
}

static struct val eval_name(struct eval *ev, struct expr *e) {
    char name[48], hint[80];
    fe_clip(name, sizeof name, e->text, e->len);
    struct binding *b = find_local(ev, e->text, e->len);
    if (b) return b->v;
    int pi = find_param(ev->m, e->text, e->len);
    if (pi >= 0) {
        const struct param_info *p = &ev->m->params[pi];
        if (ev->param_used) ev->param_used[pi] = 1;
        if (p->bad) return err_val();
        struct val v = tensor_val(p->p.ndim, p->p.shape);
        v.node = ev->param_node ? ev->param_node[pi] : -1;
        return v;
    }
    if (same_name(e->text, e->len, "B", 1)) {
        eval_error(ev, e->loc, "B (the batch size) can only appear in shapes");
        return err_val();
    }
    if (find_builtin(e->text, e->len) || find_def(ev->m, e->text, e->len) >= 0) {
        eval_error(ev, e->loc, "'%s' is a function; call it as %s(...)", name, name);
        return err_val();
    }
    for (int i = ev->stmt; i < ev->n_body; i++) {
        const struct stmt *s = &ev->body[i];
        if (!s->is_return && same_name(s->name, s->len, e->text, e->len)) {
            eval_error(ev, e->loc, "'%s' is used before it is assigned (at %d:%d)", name, s->loc.line, s->loc.col);
            return err_val();
        }
    }
    eval_error(ev, e->loc, "'%s' is not defined%s", name, name_hint(ev, e->text, e->len, hint, sizeof hint));
    return err_val();
}

/* ---- operators ---- */

static struct val apply_unary(struct eval *ev, enum ir_op op, double attr, const char *fname, struct val a,
                              struct fe_loc loc) {
    if (a.kind == V_ERR) return a;
    if (a.kind == V_NUM) {
        double r = ir_scalar_unary(op, a.num, attr);
        if (!isfinite(r)) {
            eval_error(ev, loc, "%s(%g) is not a finite number", fname, a.num);
            return err_val();
        }
        return num_val(r);
    }
    struct val r = tensor_val(a.ndim, a.dims);
    return ev->g ? built(ev, ir_unary_attr(ev->g, op, a.node, attr), loc, r) : r;
}

/* An elementwise op on n operands (2, or 3 for where): numbers fold, or take the result's shape; tensors
 * broadcast numpy style (right-aligned; B stretches only from 1 and never meets another size). op_char
 * is the operator for '+' and friends (messages name it as written), 0 for a function call. */
static struct val elementwise(struct eval *ev, struct fe_loc loc, enum ir_op op, const char *fname, int op_char,
                              int n, const struct val *v) {
    int nd = 0, all_num = 1;
    for (int k = 0; k < n; k++) {
        if (v[k].kind == V_ERR) return err_val();
        all_num &= v[k].kind == V_NUM;
    }
    if (all_num) {
        double r = n == 3 ? ir_scalar_where(v[0].num, v[1].num, v[2].num) : ir_scalar_binary(op, v[0].num, v[1].num);
        if (!isfinite(r)) {
            if (op_char) eval_error(ev, loc, "%g %c %g is not a finite number", v[0].num, op_char, v[1].num);
            else eval_error(ev, loc, "%s(%g, %g) is not a finite number", fname, v[0].num, v[1].num);
            return err_val();
        }
        return num_val(r);
    }
    struct ir_node store[3];
    const struct ir_node *in[3];
    int n_tensors = 0;
    for (int k = 0; k < n; k++)
        if (v[k].kind == V_TENSOR) in[n_tensors++] = shape_node(&store[k], &v[k]);
    int64_t dims[IR_MAX_DIMS];
    char why[200];
    if (ir_broadcast_shape(n_tensors, in, &nd, dims, why, sizeof why)) {
        char buf[3][96];
        const char *s[3];
        for (int j = 0; j < n; j++) s[j] = shape_of(&v[j], buf[j], sizeof buf[j]);
        if (op_char) eval_error(ev, loc, "'%c' needs shapes that broadcast; got %s %c %s", op_char, s[0], op_char, s[1]);
        else if (n == 2) eval_error(ev, loc, "%s needs shapes that broadcast; got %s and %s", fname, s[0], s[1]);
        else eval_error(ev, loc, "%s needs shapes that broadcast; got %s, %s and %s", fname, s[0], s[1], s[2]);
        return err_val();
    }
    struct val r = tensor_val(nd, dims);
    if (too_big(ev, loc, &r)) return err_val();
    if (!ev->g) return r;
    int64_t to[IR_MAX_DIMS];
    concrete(ev, nd, dims, to);
    int ids[3];
    for (int k = 0; k < n; k++) {
        ids[k] = v[k].kind == V_NUM ? ir_const(ev->g, v[k].num, nd, to) : ir_broadcast_to(ev->g, v[k].node, nd, to);
        if (ids[k] < 0) return built(ev, -1, loc, r);
    }
    return built(ev, n == 3 ? ir_where(ev->g, ids[0], ids[1], ids[2]) : ir_binary(ev->g, op, ids[0], ids[1]), loc, r);
}

static enum ir_op binary_op(int c) {
    return c == '+' ? IR_ADD : c == '-' ? IR_SUB : c == '*' ? IR_MUL : IR_DIV;
}

/* An energy is a function of one sample: nothing may combine values of different samples (reduce or
 * contract over B, reshape across it, slice, pad or concat along it). Otherwise a sample's energy would
 * depend on the rest of its batch: on the padding of the last chunk, and on whether data and negatives
 * are evaluated together. */
static void mixes_batch(struct eval *ev, struct fe_loc loc, const char *what, const char *how) {
    eval_error(ev, loc, "%s %s, which mixes samples: an energy must be a function of one sample", what, how);
}

static struct val matmul(struct eval *ev, struct expr *e, struct val a, struct val b) {
    char sa[96], sb[96];
    if (a.kind == V_NUM || b.kind == V_NUM) {
        eval_error(ev, e->loc, "matmul needs two tensors; the %s operand is a number (use '*' to scale)",
                   a.kind == V_NUM ? "left" : "right");
        return err_val();
    }
    if (a.ndim >= 2 && a.dims[a.ndim - 1] == FE_DIM_B) {
        mixes_batch(ev, e->loc, "matmul", "sums over the batch axis B");
        return err_val();
    }
    /* batched, [b, M, K] @ [b, K, N] or [b, M, K] @ [K, N], is one 3-D matmul or a 2-D one on a's rows
     * (ir_batch_matmul); either way matmul's shape rule decides, on a's matrices in the second form */
    struct ir_node n = ir_node_blank(IR_MATMUL);
    struct val ops[2] = {a, b}, r;
    char why[200];
    int batched = a.ndim == 3, rows = batched && b.ndim == 2;
    if (rows) ops[0] = tensor_val(2, a.dims + 1);
    if (rule(&n, 2, ops, &r, why, sizeof why)) {
        if (batched)
            eval_error(ev, e->loc, "batched matmul needs [b, M, K] @ [b, K, N] or [b, M, K] @ [K, N]; got %s @ %s",
                       shape_of(&a, sa, sizeof sa), shape_of(&b, sb, sizeof sb));
        else
            eval_error(ev, e->loc, "matmul needs [M, K] @ [K, N]; got %s @ %s", shape_of(&a, sa, sizeof sa),
                       shape_of(&b, sb, sizeof sb));
        return err_val();
    }
    if (rows) r = tensor_val(3, (int64_t[]){a.dims[0], r.dims[0], r.dims[1]});
    if (too_big(ev, e->loc, &r)) return err_val();
    if (!ev->g) return r;
    return built(ev, batched ? ir_batch_matmul(ev->g, a.node, b.node) : ir_matmul(ev->g, a.node, b.node, 0), e->loc, r);
}

static struct val binary(struct eval *ev, struct expr *e, struct val a, struct val b) {
    if (a.kind == V_ERR || b.kind == V_ERR) return err_val();
    if (e->op == '@') return matmul(ev, e, a, b);
    if (e->op == '/' && b.kind == V_NUM && b.num == 0) {
        eval_error(ev, e->loc, "division by zero");
        return err_val();
    }
    struct val v[2] = {a, b};
    return elementwise(ev, e->loc, binary_op(e->op), NULL, e->op, 2, v);
}

/* ---- builtin calls ---- */

static struct val eval_expr(struct eval *ev, struct expr *e);

/* sum, mean, max, logsumexp: f(e) reduces every axis, to [1]; f(e, axis, ...) the listed axes, which
 * are dropped from the shape. Lowered as the IR reduction (or composite) keeping dims, then a reshape. */
static struct val reduce(struct eval *ev, struct expr *e, const struct builtin *f) {
    if (e->n_args < 1) {
        eval_error(ev, e->loc, "%s takes a tensor and optional axes, as in %s(e) or %s(e, axis, ...); got 0 arguments",
                   f->name, f->name, f->name);
        return err_val();
    }
    struct val a = eval_expr(ev, e->args[0]);
    struct val ax[IR_MAX_DIMS + 1];
    int n_axes = e->n_args - 1, bad = a.kind == V_ERR;
    for (int k = 0; k < n_axes && k <= IR_MAX_DIMS; k++) bad |= (ax[k] = eval_expr(ev, e->args[k + 1])).kind == V_ERR;
    if (bad) return err_val();
    if (a.kind == V_NUM) {
        eval_error(ev, e->args[0]->start, "%s needs a tensor; got a number", f->name);
        return err_val();
    }
    unsigned axes = n_axes ? 0 : (1u << a.ndim) - 1;
    for (int k = 0; k < n_axes; k++) {
        struct expr *axis_expr = e->args[k + 1];
        char s[96];
        if (k == a.ndim) {
            eval_error(ev, axis_expr->start, "%s of a tensor of rank %d takes at most %d axes", f->name, a.ndim, a.ndim);
            return err_val();
        }
        if (ax[k].kind != V_NUM || ax[k].num != floor(ax[k].num)) {
            eval_error(ev, axis_expr->start, "the axis of %s must be an integer constant", f->name);
            return err_val();
        }
        if (ax[k].num < -a.ndim || ax[k].num >= a.ndim) {
            eval_error(ev, axis_expr->start, "axis %g is out of range for shape %s; use 0..%d or -%d..-1", ax[k].num,
                       shape_of(&a, s, sizeof s), a.ndim - 1, a.ndim);
            return err_val();
        }
        int axis = (int)ax[k].num < 0 ? (int)ax[k].num + a.ndim : (int)ax[k].num;
        if (axes >> axis & 1) {
            eval_error(ev, axis_expr->start, "axis %d is listed twice", axis);
            return err_val();
        }
        axes |= 1u << axis;
    }
    for (int i = 0; i < a.ndim; i++)
        if ((axes >> i & 1) && a.dims[i] == FE_DIM_B) {
            mixes_batch(ev, n_axes ? e->args[1]->start : e->loc, f->name,
                        n_axes ? "reduces over the batch axis B" : "of every axis reduces over the batch axis B too");
            return err_val();
        }
    int64_t dims[IR_MAX_DIMS], one = 1;
    int nd = 0;
    for (int i = 0; i < a.ndim; i++)
        if (!(axes >> i & 1)) dims[nd++] = a.dims[i];
    struct val r = nd ? tensor_val(nd, dims) : tensor_val(1, &one); /* rank 0 is not in the language */
    if (!ev->g) return r;
    int64_t to[IR_MAX_DIMS];
    concrete(ev, r.ndim, r.dims, to);
    int kept = f->kind == BI_SUM    ? ir_sum(ev->g, a.node, axes)
               : f->kind == BI_MEAN ? ir_mean(ev->g, a.node, axes)
               : f->kind == BI_MAX  ? ir_max(ev->g, a.node, axes)
                                    : ir_logsumexp(ev->g, a.node, axes);
    return built(ev, kept < 0 ? -1 : ir_reshape(ev->g, kept, r.ndim, to), e->loc, r);
}

/* reshape's -1 in r (at most one, the parser checked): what a's elements leave for it, with as many B as
 * a has. r is a copy: a function's body is lowered once per call, each time with its own shapes. */
static int infer_dim(struct eval *ev, struct expr *e, const struct val *a, struct val *r) {
    int at = -1, pa = 0, pr = 0;
    int64_t per_a = 1, per_r = 1; /* elements per B^k: products of the other dimensions */
    for (int i = 0; i < a->ndim; i++) a->dims[i] == FE_DIM_B ? pa++ : (per_a *= a->dims[i]);
    for (int i = 0; i < r->ndim; i++) {
        if (r->dims[i] == FE_DIM_INFER) at = i;
        else r->dims[i] == FE_DIM_B ? pr++ : (per_r *= r->dims[i]);
    }
    if (at < 0) return 0;
    if (pa == pr && per_a % per_r == 0) {
        r->dims[at] = per_a / per_r;
        return 0;
    }
    char sa[96];
    if (pa != pr)
        eval_error(ev, e->loc, "cannot reshape %s with a -1 (inferred) dimension: the shape lists B %d time(s), the tensor has it %d",
                   shape_of(a, sa, sizeof sa), pr, pa);
    else
        eval_error(ev, e->loc, "cannot reshape %s with a -1 (inferred) dimension: the other dimensions' product %lld "
                   "does not divide its %lld", shape_of(a, sa, sizeof sa), (long long)per_r, (long long)per_a);
    return -1;
}

static struct val reshape(struct eval *ev, struct expr *e) {
    if (e->n_args != 2) {
        eval_error(ev, e->loc, "reshape takes 2 arguments, as in reshape(e, [B, 4]); got %d", e->n_args);
        return err_val();
    }
    struct val a = eval_expr(ev, e->args[0]);
    struct expr *list = e->args[1];
    if (list->kind != EX_DIMS) {
        eval_error(ev, list->start, "the second argument of reshape must be a shape list, as in [B, 4]");
        return err_val();
    }
    if (a.kind == V_ERR || list->ndim < 0) return err_val();
    if (a.kind == V_NUM) {
        eval_error(ev, e->args[0]->start, "reshape needs a tensor; got a number");
        return err_val();
    }
    struct val r = tensor_val(list->ndim, list->dims);
    if (infer_dim(ev, e, &a, &r) != 0) return err_val();
    struct ir_node n;
    shape_node(&n, &r); /* the requested shape */
    n.op = IR_RESHAPE;
    char why[200];
    if (rule(&n, 1, &a, &r, why, sizeof why)) {
        char sa[96], sr[96];
        eval_error(ev, e->loc, "cannot reshape %s to %s: the element counts differ", shape_of(&a, sa, sizeof sa),
                   shape_of(&r, sr, sizeof sr));
        return err_val();
    }
    /* Row-major, a sample's elements stay its own iff as many elements come before B in both shapes. */
    int64_t before_a = 1, before_r = 1;
    int pa = 0;
    for (int i = 0; i < a.ndim; i++) pa += a.dims[i] == FE_DIM_B;
    for (int i = 0; i < a.ndim && a.dims[i] != FE_DIM_B; i++) before_a *= a.dims[i];
    for (int i = 0; i < r.ndim && r.dims[i] != FE_DIM_B; i++) before_r *= r.dims[i];
    if (pa > 1 || (pa == 1 && before_a != before_r)) {
        char sa[96], sr[96], what[224];
        snprintf(what, sizeof what, "reshape of %s to %s", shape_of(&a, sa, sizeof sa), shape_of(&r, sr, sizeof sr));
        mixes_batch(ev, e->loc, what, "moves elements across the batch axis B");
        return err_val();
    }
    if (!ev->g) return r;
    int64_t to[IR_MAX_DIMS];
    concrete(ev, r.ndim, r.dims, to);
    return built(ev, ir_reshape(ev->g, a.node, r.ndim, to), e->loc, r);
}

/* ---- movement ---- */

/* Argument k of call e as an integer constant in [lo, hi]; `what` names it in messages. */
static int int_arg(struct eval *ev, struct expr *e, int k, const char *what, int64_t lo, int64_t hi, int64_t *out) {
    struct val v = eval_expr(ev, e->args[k]);
    if (v.kind == V_ERR) return -1;
    char fname[48];
    fe_clip(fname, sizeof fname, e->text, e->len);
    if (v.kind != V_NUM || v.num != floor(v.num)) {
        eval_error(ev, e->args[k]->start, "the %s of %s must be an integer constant", what, fname);
        return -1;
    }
    if (v.num < (double)lo || v.num > (double)hi) {
        eval_error(ev, e->args[k]->start, "%s %g is out of range; use %lld..%lld", what, v.num, (long long)lo,
                   (long long)hi);
        return -1;
    }
    *out = (int64_t)v.num;
    return 0;
}

/* Argument k as an axis of a tensor of rank ndim (negative counts from the end), normalized. */
static int axis_arg(struct eval *ev, struct expr *e, int k, const struct val *a, int *axis) {
    int64_t v;
    if (int_arg(ev, e, k, "axis", -a->ndim, a->ndim - 1, &v)) return -1;
    *axis = (int)(v < 0 ? v + a->ndim : v);
    return 0;
}

/* The first argument, which must be a tensor. */
static int tensor_arg(struct eval *ev, struct expr *e, struct val *a) {
    *a = eval_expr(ev, e->args[0]);
    if (a->kind == V_ERR) return -1;
    if (a->kind == V_NUM) {
        char fname[48];
        eval_error(ev, e->args[0]->start, "%s needs a tensor; got a number", fe_clip(fname, sizeof fname, e->text, e->len));
        return -1;
    }
    return 0;
}

/* Slicing, padding or concatenating along B would need a size like B - 1 or 2B, which shapes cannot say. */
static int not_batch(struct eval *ev, struct expr *e, int k, const struct val *a, int axis, const char *verb) {
    if (a->dims[axis] != FE_DIM_B) return 0;
    eval_error(ev, e->args[k]->start, "cannot %s along the batch axis B", verb);
    return -1;
}

static struct val permute(struct eval *ev, struct expr *e, const struct builtin *f) {
    struct val a;
    int transpose = f->kind == BI_TRANSPOSE;
    if (e->n_args < 1 || tensor_arg(ev, e, &a)) {
        if (e->n_args < 1) eval_error(ev, e->loc, "%s needs a tensor argument", f->name);
        return err_val();
    }
    int perm[IR_MAX_DIMS] = {0};
    for (int i = 0; i < a.ndim; i++) perm[i] = i;
    if (transpose && e->n_args == 1) {
        if (a.ndim != 2) {
            char s[96];
            eval_error(ev, e->loc, "transpose(e) needs a rank-2 tensor; got %s (use transpose(e, axis, axis))",
                       shape_of(&a, s, sizeof s));
            return err_val();
        }
        perm[0] = 1, perm[1] = 0;
    } else if (transpose) {
        int x, y;
        if (e->n_args != 3) {
            eval_error(ev, e->loc, "transpose takes 1 or 3 arguments, as in transpose(e) or transpose(e, 0, 1); got %d",
                       e->n_args);
            return err_val();
        }
        if (axis_arg(ev, e, 1, &a, &x) || axis_arg(ev, e, 2, &a, &y)) return err_val();
        perm[x] = y, perm[y] = x;
    } else {
        if (e->n_args != a.ndim + 1) {
            char s[96];
            eval_error(ev, e->loc, "permute of %s takes %d axes; got %d", shape_of(&a, s, sizeof s), a.ndim, e->n_args - 1);
            return err_val();
        }
        unsigned seen = 0;
        for (int i = 0; i < a.ndim; i++) {
            if (axis_arg(ev, e, i + 1, &a, &perm[i])) return err_val();
            if (seen >> perm[i] & 1) {
                eval_error(ev, e->args[i + 1]->start, "axis %d is listed twice", perm[i]);
                return err_val();
            }
            seen |= 1u << perm[i];
        }
    }
    struct ir_node n = ir_node_blank(IR_PERMUTE);
    memcpy(n.perm, perm, sizeof n.perm);
    struct val r;
    char why[200];
    if (rule(&n, 1, &a, &r, why, sizeof why)) { /* the axes were checked above */
        eval_error(ev, e->loc, "internal error: permute: %s", why);
        return err_val();
    }
    return ev->g ? built(ev, ir_permute(ev->g, a.node, perm), e->loc, r) : r;
}

/* slice(e, axis, start, stop[, step]): start and stop count from the end when negative, as in Python;
 * pad(e, axis, before, after): zeros. */
static struct val slice_or_pad(struct eval *ev, struct expr *e, const struct builtin *f) {
    int pad = f->kind == BI_PAD;
    if (pad ? e->n_args != 4 : e->n_args < 4 || e->n_args > 5) {
        if (pad) eval_error(ev, e->loc, "pad takes 4 arguments, as in pad(e, axis, before, after); got %d", e->n_args);
        else eval_error(ev, e->loc, "slice takes 4 or 5 arguments, as in slice(e, axis, start, stop[, step]); got %d",
                        e->n_args);
        return err_val();
    }
    struct val a;
    int axis;
    if (tensor_arg(ev, e, &a) || axis_arg(ev, e, 1, &a, &axis) || not_batch(ev, e, 1, &a, axis, f->name))
        return err_val();
    int64_t n = a.dims[axis], x, y, step = 1;
    struct val r = a;
    if (pad) {
        if (int_arg(ev, e, 2, "padding", 0, FE_MAX_DIM, &x) || int_arg(ev, e, 3, "padding", 0, FE_MAX_DIM, &y))
            return err_val();
        r.dims[axis] = n + x + y;
        if (too_big(ev, e->loc, &r)) return err_val();
        return ev->g ? built(ev, ir_pad_axis(ev->g, a.node, axis, x, y), e->loc, r) : r;
    }
    if (int_arg(ev, e, 2, "start", -n, n - 1, &x) || int_arg(ev, e, 3, "stop", -n, n, &y) ||
        (e->n_args == 5 && int_arg(ev, e, 4, "step", 1, FE_MAX_DIM, &step)))
        return err_val();
    if (x < 0) x += n;
    if (y < 0) y += n;
    if (x >= y) {
        eval_error(ev, e->args[2]->start, "slice needs start < stop; got %lld:%lld on an axis of size %lld", (long long)x,
                   (long long)y, (long long)n);
        return err_val();
    }
    r.dims[axis] = (y - x + step - 1) / step;
    return ev->g ? built(ev, ir_slice_axis(ev->g, a.node, axis, x, y, step), e->loc, r) : r;
}

/* concat(a, b, ..., axis): left to right, as a chain of two-operand concats. */
static struct val concat(struct eval *ev, struct expr *e) {
    if (e->n_args < 3) {
        eval_error(ev, e->loc, "concat takes 2 or more tensors and an axis, as in concat(a, b, 1); got %d arguments",
                   e->n_args);
        return err_val();
    }
    struct val r;
    int axis;
    if (tensor_arg(ev, e, &r) || axis_arg(ev, e, e->n_args - 1, &r, &axis) ||
        not_batch(ev, e, e->n_args - 1, &r, axis, "concat"))
        return err_val();
    for (int k = 1; k < e->n_args - 1; k++) {
        struct val b = eval_expr(ev, e->args[k]);
        if (b.kind == V_ERR || (b.kind == V_TENSOR && axis < b.ndim && not_batch(ev, e, k, &b, axis, "concat")))
            return err_val();
        struct ir_node n = ir_node_blank(IR_CONCAT);
        n.axis = axis;
        struct val ops[2] = {r, b}, next;
        char why[200];
        if (b.kind != V_TENSOR || rule(&n, 2, ops, &next, why, sizeof why)) {
            char sa[96], sb[96];
            eval_error(ev, e->args[k]->start, "concat along axis %d needs shapes that agree on the other axes; got %s and %s",
                       axis, shape_of(&r, sa, sizeof sa), shape_of(&b, sb, sizeof sb));
            return err_val();
        }
        if (too_big(ev, e->loc, &next)) return err_val();
        r = ev->g ? built(ev, ir_concat(ev->g, r.node, b.node, axis), e->loc, next) : next;
        if (r.kind == V_ERR) return r;
    }
    return r;
}

/* range(n): [0, 1, ..., n - 1], the frequencies of a sinusoidal embedding and the levels a one-hot
 * compares against. No op of its own: doubling, r = concat(r, r + len), then a slice, so log2(n)
 * constant nodes that the simplifier folds. Values up to 2^24 are exact in float. */
#define FE_MAX_RANGE ((int64_t)1 << 24)
static struct val range(struct eval *ev, struct expr *e) {
    int64_t n;
    if (e->n_args != 1) {
        eval_error(ev, e->loc, "range takes 1 argument, as in range(16); got %d", e->n_args);
        return err_val();
    }
    if (int_arg(ev, e, 0, "length", 1, FE_MAX_RANGE, &n)) return err_val();
    struct val r = tensor_val(1, &n);
    if (!ev->g) return r;
    int64_t len = 1;
    int node = ir_const(ev->g, 0, 1, &len);
    while (len < n && node >= 0) {
        node = ir_concat(ev->g, node, ir_binary(ev->g, IR_ADD, node, ir_const(ev->g, (double)len, 1, &len)), 0);
        len *= 2;
    }
    if (len > n && node >= 0) node = ir_slice_axis(ev->g, node, 0, 0, n, 1);
    return built(ev, node, e->loc, r);
}

/* ---- layers (composites of ir_nn.c) ---- */

/* Argument k: a tensor whose axes from `from` on have fixed sizes (not B), of rank `rank` if >= 0. */
static int layer_arg(struct eval *ev, struct expr *e, int k, int rank, int from, const char *what, struct val *v) {
    *v = eval_expr(ev, e->args[k]);
    if (v->kind == V_ERR) return -1;
    char fname[48], s[96];
    fe_clip(fname, sizeof fname, e->text, e->len);
    int ok = v->kind == V_TENSOR && (rank < 0 || v->ndim == rank);
    for (int i = from; ok && i < v->ndim; i++) ok = v->dims[i] != FE_DIM_B;
    if (!ok) {
        eval_error(ev, e->args[k]->start, "the %s of %s must be %s; got %s", what, fname,
                   rank == 4 && from == 1 ? "[N, C, H, W] with fixed C, H, W"
                   : rank == 4           ? "[O, C, KH, KW] with fixed sizes"
                   : rank == 1           ? "a vector [n]"
                                         : "a tensor with fixed sizes after the first axis",
                   shape_of(v, s, sizeof s));
        return -1;
    }
    return 0;
}

/* gamma and beta, vectors [d], at arguments k and k + 1 */
static int affine_args(struct eval *ev, struct expr *e, int k, int64_t d, struct val *gamma, struct val *beta) {
    for (int j = 0; j < 2; j++) {
        struct val *v = j ? beta : gamma;
        if (layer_arg(ev, e, k + j, 1, 0, j ? "beta" : "gamma", v)) return -1;
        if (v->dims[0] != d) {
            eval_error(ev, e->args[k + j]->start, "%s must have %lld elements, one per normalized channel; got %lld",
                       j ? "beta" : "gamma", (long long)d, (long long)v->dims[0]);
            return -1;
        }
    }
    return 0;
}

static struct val layer(struct eval *ev, struct expr *e, const struct builtin *f) {
    static const struct {
        enum builtin_kind kind;
        int min, max;
        const char *usage;
    } forms[] = {
        {BI_CONV2D, 2, 5, "conv2d(x, w), conv2d(x, w, b), conv2d(x, w, stride, padding) or conv2d(x, w, b, stride, padding)"},
        {BI_AVG_POOL, 2, 2, "avg_pool2d(x, k)"},
        {BI_GROUP_NORM, 2, 4, "group_norm(x, groups) or group_norm(x, groups, gamma, beta)"},
        {BI_LAYER_NORM, 1, 3, "layer_norm(x) or layer_norm(x, gamma, beta)"},
    };
    int fi = 0;
    while (forms[fi].kind != f->kind) fi++;
    int n = e->n_args;
    if (n < forms[fi].min || n > forms[fi].max || (f->kind != BI_CONV2D && n == forms[fi].max - 1 && n > forms[fi].min)) {
        eval_error(ev, e->loc, "%s takes the forms %s; got %d arguments", f->name, forms[fi].usage, n);
        return err_val();
    }
    struct val x, w, b, gamma, beta;
    int has_b = 0, has_affine = 0;
    int64_t stride = 1, padding = 0, k = 1, groups = 1;
    b = gamma = beta = err_val();
    switch (f->kind) {
    case BI_CONV2D: {
        has_b = n == 3 || n == 5;
        if (layer_arg(ev, e, 0, 4, 1, "input", &x) || layer_arg(ev, e, 1, 4, 0, "weight", &w)) return err_val();
        if (has_b && layer_arg(ev, e, 2, 1, 0, "bias", &b)) return err_val();
        if (n >= 4 && (int_arg(ev, e, n - 2, "stride", 1, 1 << 16, &stride) ||
                       int_arg(ev, e, n - 1, "padding", 0, 1 << 16, &padding)))
            return err_val();
        if (has_b && b.dims[0] != w.dims[0]) {
            eval_error(ev, e->args[2]->start, "the bias of conv2d must have %lld elements, one per output channel",
                       (long long)w.dims[0]);
            return err_val();
        }
        struct ir_node cn = ir_node_blank(IR_CONV2D);
        for (int d = 0; d < 4; d++) cn.start[d] = d >= 2 ? padding : 0, cn.step[d] = d >= 2 ? stride : 1;
        struct val ops[2] = {x, w}, r;
        char why[200];
        if (rule(&cn, 2, ops, &r, why, sizeof why)) {
            eval_error(ev, e->loc, "conv2d: %s", why);
            return err_val();
        }
        if (too_big(ev, e->loc, &r)) return err_val();
        return ev->g ? built(ev, ir_conv2d(ev->g, x.node, w.node, has_b ? b.node : -1, (int)stride, (int)padding),
                             e->loc, r)
                     : r;
    }
    case BI_AVG_POOL: {
        if (layer_arg(ev, e, 0, 4, 1, "input", &x)) return err_val();
        int64_t most = x.dims[2] < x.dims[3] ? x.dims[2] : x.dims[3];
        if (int_arg(ev, e, 1, "window", 1, most, &k)) return err_val();
        int64_t dims[4] = {x.dims[0], x.dims[1], x.dims[2] / k, x.dims[3] / k};
        struct val r = tensor_val(4, dims);
        return ev->g ? built(ev, ir_avg_pool2d(ev->g, x.node, (int)k), e->loc, r) : r;
    }
    case BI_GROUP_NORM: {
        if (layer_arg(ev, e, 0, -1, 1, "input", &x)) return err_val();
        if (x.ndim < 2) {
            char s[96];
            eval_error(ev, e->args[0]->start, "group_norm needs [N, C, ...]; got %s", shape_of(&x, s, sizeof s));
            return err_val();
        }
        if (int_arg(ev, e, 1, "number of groups", 1, x.dims[1], &groups)) return err_val();
        if (x.dims[1] % groups) {
            eval_error(ev, e->args[1]->start, "group_norm needs the %lld channels to divide into %lld groups",
                       (long long)x.dims[1], (long long)groups);
            return err_val();
        }
        has_affine = n == 4;
        if (has_affine && affine_args(ev, e, 2, x.dims[1], &gamma, &beta)) return err_val();
        struct val r = tensor_val(x.ndim, x.dims);
        return ev->g ? built(ev, ir_group_norm(ev->g, x.node, (int)groups, has_affine ? gamma.node : -1,
                                               has_affine ? beta.node : -1, NORM_EPS), e->loc, r)
                     : r;
    }
    default: { /* BI_LAYER_NORM */
        if (tensor_arg(ev, e, &x)) return err_val();
        if (x.dims[x.ndim - 1] == FE_DIM_B) {
            eval_error(ev, e->args[0]->start, "layer_norm normalizes the last axis, which cannot be the batch axis B");
            return err_val();
        }
        has_affine = n == 3;
        if (has_affine && affine_args(ev, e, 1, x.dims[x.ndim - 1], &gamma, &beta)) return err_val();
        struct val r = tensor_val(x.ndim, x.dims);
        return ev->g ? built(ev, ir_layer_norm(ev->g, x.node, has_affine ? gamma.node : -1, has_affine ? beta.node : -1,
                                               NORM_EPS), e->loc, r)
                     : r;
    }
    }
}

static struct val call_def(struct eval *ev, struct expr *e, int d);
static struct val inline_def(struct eval *ev, int d, const struct val *args, int n, struct fe_loc loc);

static struct val eval_call(struct eval *ev, struct expr *e) {
    char name[48];
    fe_clip(name, sizeof name, e->text, e->len);
    int d = find_def(ev->m, e->text, e->len);
    if (d >= 0) return call_def(ev, e, d);
    const struct builtin *f = find_builtin(e->text, e->len);
    /* A shape list is an argument only in reshape(e, [dims]). */
    for (int i = 0; i < e->n_args; i++)
        if (e->args[i]->kind == EX_DIMS && !(f && f->kind == BI_RESHAPE && i == 1)) {
            eval_error(ev, e->args[i]->loc, "a shape list [...] is only allowed as the second argument of reshape");
            return err_val();
        }
    if (!f) {
        enum { MAXN = N_BUILTINS + 64 };
        const char *names[MAXN];
        char def_names[64][IR_NAME_LEN];
        int n_names = 0;
        for (int i = 0; i < N_BUILTINS; i++) names[n_names++] = builtins[i].name;
        for (int i = 0; i < ev->m->n_defs && i < 64; i++)
            names[n_names++] = fe_clip(def_names[i], sizeof def_names[i], ev->m->defs[i].name, ev->m->defs[i].len);
        const char *s = fe_suggest(e->text, e->len, names, n_names);
        if (find_param(ev->m, e->text, e->len) >= 0)
            eval_error(ev, e->loc, "'%s' is a parameter, not a function", name);
        else if (find_local(ev, e->text, e->len))
            eval_error(ev, e->loc, "'%s' is a variable, not a function", name);
        else if (same_name(e->text, e->len, "matmul", 6))
            eval_error(ev, e->loc, "unknown function 'matmul'; use the @ operator, as in a @ b");
        else if (s) eval_error(ev, e->loc, "unknown function '%s'; did you mean '%s'?", name, s);
        else {
            int init = 0;
            for (int i = 0; i < fe_n_inits; i++) init |= same_name(e->text, e->len, fe_init_names[i], (int)strlen(fe_init_names[i]));
            if (init) eval_error(ev, e->loc, "'%s' initializes parameters; it cannot be used inside energy", name);
            else eval_error(ev, e->loc, "unknown function '%s'", name);
        }
        for (int i = 0; i < e->n_args; i++) eval_expr(ev, e->args[i]); /* their own errors, if any */
        return err_val();
    }
    switch (f->kind) {
    case BI_UNARY: {
        if (e->n_args != 1) {
            eval_error(ev, e->loc, "%s takes 1 argument; got %d", f->name, e->n_args);
            return err_val();
        }
        return apply_unary(ev, f->op, 0, f->name, eval_expr(ev, e->args[0]), e->loc);
    }
    case BI_UNARY_ATTR: {
        const char *attr_name = f->op == IR_ELU ? "alpha" : "slope";
        if (e->n_args < 1 || e->n_args > 2) {
            eval_error(ev, e->loc, "%s takes 1 or 2 arguments, as in %s(e) or %s(e, %s); got %d", f->name, f->name,
                       f->name, attr_name, e->n_args);
            return err_val();
        }
        struct val a = eval_expr(ev, e->args[0]);
        struct val attr = e->n_args == 2 ? eval_expr(ev, e->args[1]) : num_val(ir_op_default_attr(f->op));
        if (attr.kind == V_ERR) return err_val();
        if (attr.kind != V_NUM) {
            eval_error(ev, e->args[1]->start, "the %s of %s must be a number constant", attr_name, f->name);
            return err_val();
        }
        return apply_unary(ev, f->op, attr.num, f->name, a, e->loc);
    }
    case BI_BINARY:
    case BI_WHERE: {
        int n = f->kind == BI_WHERE ? 3 : 2;
        if (e->n_args != n) {
            eval_error(ev, e->loc, "%s takes %d arguments; got %d", f->name, n, e->n_args);
            return err_val();
        }
        struct val v[3];
        for (int k = 0; k < n; k++) v[k] = eval_expr(ev, e->args[k]);
        return elementwise(ev, e->loc, f->op, f->name, 0, n, v);
    }
    case BI_SUM:
    case BI_MEAN:
    case BI_MAX:
    case BI_LOGSUMEXP: return reduce(ev, e, f);
    case BI_RESHAPE: return reshape(ev, e);
    case BI_TRANSPOSE:
    case BI_PERMUTE: return permute(ev, e, f);
    case BI_SLICE:
    case BI_PAD: return slice_or_pad(ev, e, f);
    case BI_CONCAT: return concat(ev, e);
    case BI_CONV2D:
    case BI_AVG_POOL:
    case BI_GROUP_NORM:
    case BI_LAYER_NORM: return layer(ev, e, f);
    case BI_RANGE: return range(ev, e);
    }
    return err_val();
}

static struct val eval_expr(struct eval *ev, struct expr *e) {
    if (ev->work >= FE_MAX_WORK || ev->depth >= FE_MAX_INLINE_DEPTH) {
        if (!ev->over_limit && ev->work >= FE_MAX_WORK)
            eval_error(ev, e->loc, "the energy is too large once its functions are inlined (more than %d "
                       "operations; every call inlines the function's body again)", FE_MAX_WORK);
        else if (!ev->over_limit)
            eval_error(ev, e->loc, "functions call each other too deeply (more than %d nested expressions once "
                       "inlined)", FE_MAX_INLINE_DEPTH);
        ev->over_limit = 1;
        return err_val();
    }
    ev->work++;
    ev->depth++;
    struct val v;
    switch (e->kind) {
    case EX_NUMBER: v = num_val(e->number); break;
    case EX_NAME: v = eval_name(ev, e); break;
    case EX_NEG: v = apply_unary(ev, IR_NEG, 0, "-", eval_expr(ev, e->a), e->loc); break;
    case EX_BINARY: {
        struct val a = eval_expr(ev, e->a);
        struct val b = eval_expr(ev, e->b);
        v = binary(ev, e, a, b);
        break;
    }
    case EX_CALL: v = eval_call(ev, e); break;
    default: /* EX_DIMS outside reshape was reported by eval_call */ v = err_val(); break;
    }
    record_type(ev, e, &v);
    ev->depth--;
    return v;
}

/* ---- the body ---- */

/* Runs statements [0, n) in the current scope; the value of the return statement goes to *ret (an
 * error value if there is none or it failed). Returns -1 only when out of memory. */
static int run_stmts(struct eval *ev, const struct stmt *stmts, int n, struct val *ret, const struct stmt **ret_stmt) {
    const struct fe_model *m = ev->m;
    ev->body = stmts;
    ev->n_body = n;
    *ret = err_val();
    *ret_stmt = NULL;
    for (int i = 0; i < n; i++) {
        const struct stmt *s = &stmts[i];
        ev->stmt = i;
        char name[48];
        if (!s->is_return) {
            fe_clip(name, sizeof name, s->name, s->len);
            int bad_target = 1;
            if (find_param(m, s->name, s->len) >= 0) eval_error(ev, s->loc, "cannot assign to parameter '%s'", name);
            else if (same_name(s->name, s->len, "B", 1)) eval_error(ev, s->loc, "'B' is the batch size and cannot be assigned");
            else bad_target = 0;
            ev->stmt = i + 1; /* the target is defined from here on; a use inside its own value is not */
            struct val v = eval_expr(ev, s->value);
            ev->stmt = i;
            if (bad_target) continue;
            if (bind(ev, s->name, s->len, v, s->loc)) return -1;
            continue;
        }
        *ret = eval_expr(ev, s->value);
        *ret_stmt = s;
    }
    return 0;
}

/* A call to def d: arguments are evaluated in the caller's scope, then d's body runs in a scope of its
 * own (the arguments bound to its parameter names; the model's parameters stay visible), and its
 * return value replaces the call. Each call inlines the body again, checked for the shapes it gets. */
static struct val call_def(struct eval *ev, struct expr *e, int d) {
    const struct def_info *f = &ev->m->defs[d];
    char name[48];
    fe_clip(name, sizeof name, f->name, f->len);
    if (e->n_args != f->n_args) {
        eval_error(ev, e->loc, "%s takes %d argument%s; got %d", name, f->n_args, f->n_args == 1 ? "" : "s", e->n_args);
        return err_val();
    }
    if (ev->def_active[d]) {
        eval_error(ev, e->loc, "'%s' calls itself (directly or through other functions); functions are inlined, so "
                   "they cannot be recursive", name);
        return err_val();
    }
    struct val args[FE_MAX_DEF_ARGS];
    int bad = 0;
    for (int i = 0; i < e->n_args; i++) bad |= (args[i] = eval_expr(ev, e->args[i])).kind == V_ERR;
    ev->def_used[d] = 1;
    if (bad || ev->def_failed[d]) return err_val();
    return inline_def(ev, d, args, e->n_args, e->loc);
}

/* The body of def d run on argument values args[n] (n = its arity), in a scope of its own. */
static struct val inline_def(struct eval *ev, int d, const struct val *args, int n, struct fe_loc loc) {
    const struct def_info *f = &ev->m->defs[d];
    struct memo_key *key = calloc(1, sizeof *key);
    if (!key) {
        eval_error(ev, loc, "out of memory");
        return err_val();
    }
    key->def = d;
    key->n_args = n;
    for (int i = 0; i < n; i++) {
        struct val *k = &key->args[i];
        k->kind = args[i].kind;
        k->num = args[i].kind == V_NUM ? args[i].num : 0;
        k->node = args[i].kind == V_TENSOR ? args[i].node : 0;
        k->ndim = args[i].kind == V_TENSOR ? args[i].ndim : 0;
        for (int j = 0; j < k->ndim; j++) k->dims[j] = args[i].dims[j];
    }
    int seen = fe_names_find(&ev->memo_index, (const char *)key, (int)sizeof *key);
    if (seen >= 0) {
        free(key);
        return ev->memo[seen].result;
    }
    /* a fresh scope; the caller's is put back afterwards */
    struct binding *locals = ev->locals;
    struct fe_name_index local_names = ev->local_names;
    int n_locals = ev->n_locals, cap_locals = ev->cap_locals, stmt = ev->stmt, n_body = ev->n_body;
    const struct stmt *body = ev->body;
    int errors = ev->n_errors;
    ev->locals = NULL;
    memset(&ev->local_names, 0, sizeof ev->local_names);
    ev->n_locals = ev->cap_locals = 0;
    ev->def_active[d] = 1;
    struct val r = err_val();
    const struct stmt *ret_stmt;
    int rc = 0;
    for (int i = 0; i < f->n_args && rc == 0; i++) rc = bind(ev, f->args[i].text, f->args[i].len, args[i], f->args[i].loc);
    if (rc == 0) rc = run_stmts(ev, f->stmts, f->n_stmts, &r, &ret_stmt);
    ev->def_active[d] = 0;
    free(ev->locals);
    free(ev->local_names.slots);
    ev->locals = locals;
    ev->local_names = local_names;
    ev->n_locals = n_locals;
    ev->cap_locals = cap_locals;
    ev->stmt = stmt;
    ev->body = body;
    ev->n_body = n_body;
    if (rc != 0 || ev->n_errors != errors) {
        ev->def_failed[d] = 1;
        free(key);
        return err_val();
    }
    if (ev->n_memo == ev->cap_memo) {
        int cap = ev->cap_memo ? 2 * ev->cap_memo : 16;
        struct memo *grown = realloc(ev->memo, sizeof *grown * (size_t)cap);
        if (!grown) {
            free(key);
            return r; /* not remembered: the next call inlines again */
        }
        ev->memo = grown;
        ev->cap_memo = cap;
    }
    if (fe_names_add(&ev->memo_index, (const char *)key, (int)sizeof *key, ev->n_memo)) {
        free(key);
        return r;
    }
    ev->memo[ev->n_memo++] = (struct memo){key, r};
    return r;
}

/* Frees what evaluation allocated (the flags, param_node and param_used are the callers'). */
static void eval_free(struct eval *ev) {
    free(ev->locals);
    free(ev->local_names.slots);
    for (int i = 0; i < ev->n_memo; i++) free(ev->memo[i].key);
    free(ev->memo);
    free(ev->memo_index.slots);
}

/* Runs the energy's statements with argument i bound to in[i]; on success *out is the energy, [B]. */
static int eval_body(struct eval *ev, const struct val *in, struct val *out) {
    const struct fe_model *m = ev->m;
    *out = err_val();
    for (int i = 0; i < m->n_inputs; i++)
        if (bind(ev, m->inputs[i].name, m->inputs[i].len, in[i], m->inputs[i].loc)) return -1;
    struct val v;
    const struct stmt *s;
    if (run_stmts(ev, m->stmts, m->n_stmts, &v, &s)) return -1;
    if (s && v.kind != V_ERR) {
        /* [B, K], K > 1: one energy per label, E(x, y) = -logit_y(x), for a model whose train block says
         * objective = classify (so a forgotten readout elsewhere is still an error here, at its line) */
        const struct fe_setting *obj = fe_model_find_setting(m, "objective");
        int classifier = obj && strcmp(obj->value, "classify") == 0;
        int ok = v.kind == V_TENSOR && v.dims[0] == FE_DIM_B &&
                 (v.ndim == 1 || (v.ndim == 2 && (v.dims[1] == 1 || (classifier && v.dims[1] > 1))));
        if (!ok) {
            char sh[96];
            eval_error(ev, s->value->start, "energy must return shape [B] or [B, 1]%s; got %s",
                       classifier ? " or [B, K] (one energy per label)" : "", shape_of(&v, sh, sizeof sh));
        } else if (v.ndim == 2 && v.dims[1] > 1) {
            if (ev->checking) ev->checking->n_classes = (int)v.dims[1];
            *out = v;
        } else if (v.ndim == 2) {
            int64_t b = FE_DIM_B;
            struct val r = tensor_val(1, &b);
            if (ev->g) r = built(ev, ir_reshape(ev->g, v.node, 1, &ev->batch), s->value->start, r);
            *out = r;
        } else {
            *out = v;
        }
    }
    return ev->failed || out->kind == V_ERR ? -1 : 0;
}

/* ---- entry points ---- */

/* The per-def flags of ev (one allocation); 0 or -1 when out of memory. */
static int alloc_def_flags(struct eval *ev) {
    size_t n = (size_t)ev->m->n_defs + 1;
    ev->def_active = calloc(3 * n, 1);
    if (!ev->def_active) return -1;
    ev->def_failed = ev->def_active + n;
    ev->def_used = ev->def_active + 2 * n;
    return 0;
}

/* A function's name and arguments must not hide a builtin, a parameter or each other. */
static void check_def_names(struct fe_model *m) {
    for (int d = 0; d < m->n_defs; d++) {
        const struct def_info *f = &m->defs[d];
        char name[48], arg[48];
        fe_clip(name, sizeof name, f->name, f->len);
        if (find_builtin(f->name, f->len))
            fe_report(m, f->loc, "'%s' is a builtin function; give the function another name", name);
        else if (find_param(m, f->name, f->len) >= 0)
            fe_report(m, f->loc, "function '%s' has the same name as a parameter", name);
        else if (same_name(f->name, f->len, "B", 1))
            fe_report(m, f->loc, "'B' is the batch size and cannot name a function");
        for (int i = 0; i < f->n_args; i++)
            if (find_param(m, f->args[i].text, f->args[i].len) >= 0)
                fe_report(m, f->args[i].loc, "the argument '%s' of '%s' has the same name as a parameter",
                          fe_clip(arg, sizeof arg, f->args[i].text, f->args[i].len), name);
    }
}

int fe_lower_energy(const struct fe_model *m, struct ir_graph *g, int x, int *energy, FILE *diag) {
    if (m && m->n_inputs > 1) {
        fe_error_at(m, m->inputs[1].loc, diag, "this energy takes %d arguments; lower it with all of them",
                    m->n_inputs);
        return -1;
    }
    return fe_lower_energy_inputs(m, g, &x, energy, diag);
}

/* Lowers the energy (def < 0) or def `def` called on the energy's arguments. */
static int lower_on_inputs(const struct fe_model *m, int def, struct ir_graph *g, const int *inputs, int *energy,
                           FILE *diag);

int fe_lower_energy_inputs(const struct fe_model *m, struct ir_graph *g, const int *inputs, int *energy, FILE *diag) {
    return lower_on_inputs(m, -1, g, inputs, energy, diag);
}

int fe_model_n_classes(const struct fe_model *m) { return m->n_classes; }

int fe_model_find_function(const struct fe_model *m, const char *name) {
    return fe_names_find(&m->def_names, name, (int)strlen(name));
}

int fe_lower_function_inputs(const struct fe_model *m, const char *name, struct ir_graph *g, const int *inputs,
                             int *out, FILE *diag) {
    if (!m || !name || !m->has_energy) return -1;
    int d = fe_model_find_function(m, name);
    if (d < 0) {
        fe_error_at(m, m->energy_loc, diag, "the model has no function '%s'; add one, as in def %s(x) { ... }", name,
                    name);
        return -1;
    }
    const struct def_info *f = &m->defs[d];
    if (f->n_args != m->n_inputs) {
        fe_error_at(m, f->loc, diag, "'%s' takes %d argument%s; it must take the energy's %d (%.*s%s)", name,
                    f->n_args, f->n_args == 1 ? "" : "s", m->n_inputs, m->inputs[0].len, m->inputs[0].name,
                    m->n_inputs > 1 ? ", ..." : "");
        return -1;
    }
    return lower_on_inputs(m, d, g, inputs, out, diag);
}

static int lower_on_inputs(const struct fe_model *m, int def, struct ir_graph *g, const int *inputs, int *energy,
                           FILE *diag) {
    if (!m || !g || !energy || !inputs || !m->has_energy) return -1;
    struct eval ev;
    memset(&ev, 0, sizeof ev);
    ev.m = m;
    ev.diag = diag;
    ev.g = g;
    struct val in[FE_MAX_INPUTS], out;
    for (int k = 0; k < m->n_inputs; k++) {
        const struct fe_input *a = &m->inputs[k];
        char want[96], got[96];
        ir_shape_str(want, sizeof want, a->ndim, a->dims);
        if (inputs[k] < 0 || inputs[k] >= g->n_nodes) {
            fe_error_at(m, a->loc, diag, "the input node %%%d does not exist in the graph", inputs[k]);
            return -1;
        }
        const struct ir_node *xn = ir_node_at(g, inputs[k]);
        int ok = xn->ndim == a->ndim && xn->shape[0] > 0 && (k == 0 || xn->shape[0] == ev.batch);
        for (int i = 1; ok && i < xn->ndim; i++) ok = xn->shape[i] == a->dims[i];
        if (!ok) {
            ir_shape_str(got, sizeof got, xn->ndim, xn->shape);
            fe_error_at(m, a->loc, diag, "the energy's argument '%.*s' is %s; the input node has shape %s", a->len,
                        a->name, want, got);
            return -1;
        }
        ev.batch = xn->shape[0];
        in[k] = tensor_val(a->ndim, a->dims);
        in[k].node = inputs[k];
    }
    if (alloc_def_flags(&ev)) return -1;
    /* Every parameter is added, used or not, in declaration order: the graph's argument order then
     * follows the model file, and lowering again finds the same (hash-consed) nodes. */
    ev.param_node = malloc(sizeof *ev.param_node * (size_t)(m->n_params + 1));
    if (!ev.param_node) return -1;
    int rc = 0;
    for (int i = 0; i < m->n_params && rc == 0; i++) {
        const struct fe_param *p = &m->params[i].p;
        ev.param_node[i] = ir_param(g, p->name, p->ndim, p->shape);
        if (ev.param_node[i] < 0) {
            fe_error_at(m, p->loc, diag, "cannot add parameter '%s' to the graph: %s", p->name, ir_graph_error(g));
            rc = -1;
        }
    }
    if (rc == 0 && def < 0) rc = eval_body(&ev, in, &out);
    if (rc == 0 && def >= 0) { /* a function of the energy's arguments returning one row per sample */
        const struct def_info *f = &m->defs[def];
        out = inline_def(&ev, def, in, m->n_inputs, f->loc);
        rc = out.kind == V_ERR || ev.failed ? -1 : 0;
        if (rc == 0 && !(out.kind == V_TENSOR && out.ndim == 2 && out.dims[0] == FE_DIM_B)) {
            char sh[96], name[48];
            eval_error(&ev, f->loc, "'%s' must return one row per sample, [B, F]; got %s",
                       fe_clip(name, sizeof name, f->name, f->len), shape_of(&out, sh, sizeof sh));
            rc = -1;
        }
    }
    if (rc == 0) *energy = out.node;
    free(ev.param_node);
    eval_free(&ev);
    free(ev.def_active);
    return rc;
}

int fe_lower_energy_at(const struct fe_model *m, struct ir_graph *g, int64_t batch, int *energy, FILE *diag) {
    if (!m || !g || !m->has_energy) return -1;
    int ids[FE_MAX_INPUTS];
    for (int i = 0; i < m->n_inputs; i++) {
        int64_t shape[IR_MAX_DIMS];
        char name[IR_NAME_LEN];
        int ndim = fe_model_input_at(m, i, name, batch, shape);
        if ((ids[i] = ir_input(g, name, ndim, shape)) < 0) {
            fe_error_at(m, m->inputs[i].loc, diag, "internal error: %s", ir_graph_error(g));
            return -1;
        }
    }
    return fe_lower_energy_inputs(m, g, ids, energy, diag);
}

int fe_check_energy(struct fe_model *m) {
    if (!m->has_energy) return -1;
    struct eval ev;
    memset(&ev, 0, sizeof ev);
    ev.m = m;
    ev.checking = m;
    ev.diag = m->diag;
    ev.param_used = calloc((size_t)m->n_params + 1, 1);
    if (!ev.param_used || alloc_def_flags(&ev)) {
        free(ev.param_used);
        fe_report(m, m->energy_loc, "out of memory");
        return -1;
    }
    struct val in[FE_MAX_INPUTS], out;
    for (int i = 0; i < m->n_inputs; i++) {
        const struct fe_input *a = &m->inputs[i];
        char name[48];
        if (find_param(m, a->name, a->len) >= 0)
            fe_report(m, a->loc, "the argument '%s' has the same name as a parameter",
                      fe_clip(name, sizeof name, a->name, a->len));
        in[i] = a->bad ? err_val() : tensor_val(a->ndim, a->dims);
    }
    check_def_names(m);
    eval_body(&ev, in, &out);
    eval_free(&ev);
    if (m->n_errors == 0) {
        for (int i = 0; i < m->n_params; i++)
            if (!ev.param_used[i])
                fe_warn(m, m->params[i].p.loc, "parameter '%s' is not used by the energy", m->params[i].p.name);
        /* an uncalled function's body is never checked (its shapes come from its calls) */
        for (int d = 0; d < m->n_defs; d++)
            if (!ev.def_used[d]) {
                char name[48];
                fe_warn(m, m->defs[d].loc, "function '%s' is never called, so its body is not checked",
                        fe_clip(name, sizeof name, m->defs[d].name, m->defs[d].len));
            }
    }
    free(ev.param_used);
    free(ev.def_active);
    if (m->n_errors) return -1;

    /* Self-test: lower once at a probe batch size, so a disagreement between this check and the IR
     * builders surfaces here, at a location, rather than later in the runtime. */
    struct ir_graph *g = ir_graph_new();
    if (!g) {
        fe_report(m, m->energy_loc, "out of memory");
        return -1;
    }
    int energy = -1, rc = fe_lower_energy_at(m, g, FE_PROBE_BATCH, &energy, m->diag);
    char err[256];
    if (rc == 0 && ir_verify(g, err, sizeof err) != 0) {
        fe_report(m, m->energy_loc, "internal error: the lowered energy does not verify: %s", err);
        rc = -1;
    }
    if (rc != 0 && m->n_errors == 0) m->n_errors++;
    ir_graph_free(g);
    return rc;
}
