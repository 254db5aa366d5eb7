/* ir.h: the graph IR, the one data structure every stage of ebmc shares.
 *
 * A graph is a table of nodes in topological order: a node is appended after its inputs, so a plain
 * loop over ids visits producers before consumers. Nodes are hash-consed: building a node equal to an
 * existing one (same op, inputs, shape and attributes) returns the existing id, which gives common
 * subexpression elimination for free. Shapes are static; the element type is f32 everywhere (the
 * reference interpreter evaluates the same graph in double).
 *
 * Builders check their operands with the op's shape rule (ir_infer_shape) and return a node id >= 0, or
 * -1 with a message in ir_graph_error(); the frontend applies the same rules to its symbolic shapes first,
 * so that users see file:line:col rather than this message.
 */
#ifndef EBMC_IR_H
#define EBMC_IR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IR_MAX_DIMS 4
#define IR_MAX_INPUTS 3
#define IR_NAME_LEN 64
/* The longest parameter name a model may declare: room is left for the runtime's prefixed names of a
 * parameter's gradient and Adam state ("grad:", "new:m:", runtime/model.h). */
#define IR_PARAM_NAME_MAX 47

/* What kind of computation an op is; the backend and the passes decide by kind, not by op. */
enum ir_kind {
    IR_K_LEAF,        /* no operands: input, param, const                                      */
    IR_K_UNARY,       /* elementwise, one operand of the result's shape                        */
    IR_K_BINARY,      /* elementwise, two operands of the result's shape                       */
    IR_K_TERNARY,     /* elementwise, three operands (where)                                   */
    IR_K_REDUCTION,   /* over the axes in `axes`, keeping them as size 1                       */
    IR_K_MOVEMENT,    /* every output element is one operand element (or zero), by index math  */
    IR_K_ALIAS,       /* the operand's elements in the same flat order (reshape, stop_grad)    */
    IR_K_CONTRACTION, /* matmul and the convs: sums of products over a reduced index           */
};

/* The node fields an op uses (struct ir_node); all others are zero in every node of a graph. */
enum {
    IR_A_NONE = 0,
    IR_A_NAME = 1,   /* name: input, param                   */
    IR_A_VALUE = 2,  /* value: const's value, or the op's scalar attribute named in the table */
    IR_A_AXES = 4,   /* axes bitmask                         */
    IR_A_FLAGS = 8,  /* IR_TRANS_A | IR_TRANS_B              */
    IR_A_AXIS = 16,  /* axis                                 */
    IR_A_PERM = 32,  /* perm                                 */
    IR_A_RANGE = 64, /* start and step per axis              */
};

/* Which operands a gradient flows into: bit k for operand k. */
#define IR_G_NONE 0u
#define IR_G_ALL 7u
#define IR_G_2ND_3RD 6u /* where: not into the condition, which only selects */

/* Work per element, for the fusion planner's estimate (backend/plan.c). */
enum ir_cost { IR_C_FREE, IR_C_CHEAP, IR_C_TRANSC };

/* Reading properties. */
#define IR_P_NONE 0u
#define IR_P_REREADS 1u  /* reads some operand element more than once per output element (ir_op_rereads) */
#define IR_P_COMMUTES 2u /* op(a, b) == op(b, a) bitwise for all IEEE inputs: cse orders the operands */

/* The op table: one row per op, every fact about the op that code asks for. Columns:
 *   X(enum, printed name, kind, arity, attributes (IR_A_*), gradient flows (IR_G_*), cost (IR_C_*),
 *     properties (IR_P_*), the printed key of `value` ("" = printed after the op name; NULL = unused),
 *     the default of `value` for ir_unary)
 * Everything else is derived from it (ir.c); a new op is a new row plus its semantics (docs/ir.md,
 * "Adding an op"). Grep an op's enum to find its scalar definition, gradient rule and emitter. */
#define IR_OPS(X)                                                                                                 \
    X(IR_INPUT, "input", IR_K_LEAF, 0, IR_A_NAME, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0)                      \
    X(IR_PARAM, "param", IR_K_LEAF, 0, IR_A_NAME, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0)                      \
    X(IR_CONST, "const", IR_K_LEAF, 0, IR_A_VALUE, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, "", 0) /* every element */   \
    X(IR_NEG, "neg", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                          \
    X(IR_EXP, "exp", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0)                         \
    X(IR_LOG, "log", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0)                         \
    X(IR_LOG1P, "log1p", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0) /* log(1 + x) */    \
    X(IR_TANH, "tanh", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0)                       \
    X(IR_SIGMOID, "sigmoid", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0)                 \
    X(IR_SILU, "silu", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0) /* x sigmoid(x) */    \
    X(IR_SOFTPLUS, "softplus", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0) /* stable */  \
    X(IR_RELU, "relu", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                        \
    X(IR_STEP, "step", IR_K_UNARY, 1, IR_A_NONE, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0) /* relu' */           \
    X(IR_SQUARE, "square", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                    \
    X(IR_SQRT, "sqrt", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                        \
    X(IR_ABS, "abs", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                          \
    X(IR_RSQRT, "rsqrt", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                      \
    X(IR_LEAKY_RELU, "leaky_relu", IR_K_UNARY, 1, IR_A_VALUE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, "slope", 0.01)     \
    X(IR_ELU, "elu", IR_K_UNARY, 1, IR_A_VALUE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, "alpha", 1.0)                   \
    X(IR_GELU, "gelu", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0) /* tanh form */       \
    X(IR_SIN, "sin", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0)                         \
    X(IR_COS, "cos", IR_K_UNARY, 1, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0)                         \
    X(IR_ADD, "add", IR_K_BINARY, 2, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_COMMUTES, NULL, 0)                     \
    X(IR_SUB, "sub", IR_K_BINARY, 2, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                         \
    X(IR_MUL, "mul", IR_K_BINARY, 2, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_COMMUTES, NULL, 0)                     \
    X(IR_DIV, "div", IR_K_BINARY, 2, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                         \
    X(IR_POW, "pow", IR_K_BINARY, 2, IR_A_NONE, IR_G_ALL, IR_C_TRANSC, IR_P_NONE, NULL, 0) /* C's pow */          \
    X(IR_MAXIMUM, "maximum", IR_K_BINARY, 2, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                 \
    X(IR_MINIMUM, "minimum", IR_K_BINARY, 2, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                 \
    X(IR_LT, "lt", IR_K_BINARY, 2, IR_A_NONE, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0) /* 1 if true else 0 */   \
    X(IR_LE, "le", IR_K_BINARY, 2, IR_A_NONE, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0)                          \
    X(IR_GT, "gt", IR_K_BINARY, 2, IR_A_NONE, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0)                          \
    X(IR_GE, "ge", IR_K_BINARY, 2, IR_A_NONE, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0)                          \
    X(IR_EQ, "eq", IR_K_BINARY, 2, IR_A_NONE, IR_G_NONE, IR_C_CHEAP, IR_P_NONE, NULL, 0)                          \
    X(IR_WHERE, "where", IR_K_TERNARY, 3, IR_A_NONE, IR_G_2ND_3RD, IR_C_CHEAP, IR_P_NONE, NULL, 0) /* c ? a : b */ \
    X(IR_BROADCAST, "broadcast", IR_K_MOVEMENT, 1, IR_A_NONE, IR_G_ALL, IR_C_CHEAP, IR_P_REREADS, NULL, 0)        \
    X(IR_SUM, "sum", IR_K_REDUCTION, 1, IR_A_AXES, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                      \
    X(IR_MAX, "max", IR_K_REDUCTION, 1, IR_A_AXES, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                      \
    X(IR_RESHAPE, "reshape", IR_K_ALIAS, 1, IR_A_NONE, IR_G_ALL, IR_C_FREE, IR_P_NONE, NULL, 0)                   \
    X(IR_MATMUL, "matmul", IR_K_CONTRACTION, 2, IR_A_FLAGS, IR_G_ALL, IR_C_CHEAP, IR_P_REREADS, NULL, 0)          \
    X(IR_CONV2D, "conv2d", IR_K_CONTRACTION, 2, IR_A_RANGE, IR_G_ALL, IR_C_CHEAP, IR_P_REREADS, NULL, 0)          \
    X(IR_CONV2D_BWD_DATA, "conv2d_bwd_data", IR_K_CONTRACTION, 2, IR_A_RANGE, IR_G_ALL, IR_C_CHEAP, IR_P_REREADS, \
      NULL, 0)                                                                                                    \
    X(IR_CONV2D_BWD_WEIGHT, "conv2d_bwd_weight", IR_K_CONTRACTION, 2, IR_A_RANGE, IR_G_ALL, IR_C_CHEAP,           \
      IR_P_REREADS, NULL, 0)                                                                                      \
    X(IR_PERMUTE, "permute", IR_K_MOVEMENT, 1, IR_A_PERM, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)               \
    X(IR_SLICE, "slice", IR_K_MOVEMENT, 1, IR_A_RANGE, IR_G_ALL, IR_C_CHEAP, IR_P_NONE, NULL, 0)                  \
    X(IR_PAD, "pad", IR_K_MOVEMENT, 1, IR_A_RANGE, IR_G_ALL, IR_C_CHEAP, IR_P_REREADS, NULL, 0)                   \
    X(IR_CONCAT, "concat", IR_K_MOVEMENT, 2, IR_A_AXIS, IR_G_ALL, IR_C_CHEAP, IR_P_REREADS, NULL, 0)              \
    X(IR_STOP_GRAD, "stop_grad", IR_K_ALIAS, 1, IR_A_NONE, IR_G_NONE, IR_C_FREE, IR_P_NONE, NULL, 0)

/* The ops' meanings, beyond their names (docs/ir.md has them all, with NaN, inf and tie behaviour):
 *   softplus log(1 + e^x) computed stably; step 1 if x > 0 else 0; rsqrt 1/sqrt(x);
 *   leaky_relu x > 0 ? x : slope x; elu x > 0 ? x : alpha (e^x - 1); gelu x sigmoid(2u) (ir_scalar.c);
 *   pow is C's pow (a < 0 only with an integer exponent); maximum a >= b ? a : b, minimum a <= b ? a : b
 *   (a on ties; a NaN operand is selected, so NaN if either is); relu and step let NaN through
 *   (relu(NaN) = NaN, step(NaN) = 1: NaN selects x); comparisons are ordered (false on NaN); where: cond != 0 (NaN included) picks a;
 *   broadcast: same rank, input dims 1 or equal to the output's; sum/max over `axes` (max skips NaN);
 *   reshape: same element count, row-major; matmul: op(a)[M,K] x op(b)[K,N] with op = transpose where
 *   flagged, or batched [b,..] x [b,..] -> [b,M,N] with the flags on the last two dims; permute: output
 *   axis i is input axis perm[i]; slice: out[c] = in[start + c step]; pad: out[start + c step] = in[c],
 *   zero elsewhere; concat: a then b along `axis`; conv2d (x, w) -> y, conv2d_bwd_data (dy, w) -> dx,
 *   conv2d_bwd_weight (x, dy) -> dw: x [N,C,H,W], w [O,C,KH,KW], y [N,O,OH,OW] with OH = (H + 2p - KH) / s
 *   + 1, cross-correlation with zero padding p (start = 0,0,p,p) and stride s (step = 1,1,s,s), the two
 *   bwd ops its adjoints in x and in w (ir_conv_geometry). Pad and concat read an operand element at a clamped
 *   index where the output is padding or comes from the other operand (so no load is out of bounds):
 *   some elements more than once, hence IR_P_REREADS. */

enum ir_op {
#define X(e, ...) e,
    IR_OPS(X)
#undef X
        IR_OP_COUNT
};

/* matmul flags */
#define IR_TRANS_A 1u
#define IR_TRANS_B 2u

struct ir_node {
    enum ir_op op;
    int ndim;
    int64_t shape[IR_MAX_DIMS];
    int in[IR_MAX_INPUTS]; /* -1 where unused */
    double value;          /* IR_CONST: the value; IR_LEAKY_RELU: slope; IR_ELU: alpha */
    unsigned axes;         /* IR_SUM, IR_MAX: bit i set = reduce axis i */
    unsigned flags;        /* IR_MATMUL: IR_TRANS_A | IR_TRANS_B */
    int axis;              /* IR_CONCAT */
    int perm[IR_MAX_DIMS]; /* IR_PERMUTE: a permutation of 0 .. ndim-1 */
    int64_t start[IR_MAX_DIMS], step[IR_MAX_DIMS]; /* IR_SLICE, IR_PAD, convs: start >= 0, step >= 1 */
    char name[IR_NAME_LEN]; /* IR_INPUT, IR_PARAM */
};

struct ir_output {
    char name[IR_NAME_LEN];
    int node;
};

struct ir_graph {
    struct ir_node *nodes;
    int n_nodes, cap_nodes;
    int *hash_slots; /* open addressing over node ids, -1 = empty */
    int hash_cap;
    struct ir_output *outputs;
    int n_outputs, cap_outputs;
    char error[256];
};

/* Facts from the op table (IR_OPS). */
const char *ir_op_name(enum ir_op op);
int ir_op_arity(enum ir_op op);
/* The op with this printed name, or -1. */
int ir_op_from_name(const char *name);
enum ir_kind ir_op_kind(enum ir_op op);
unsigned ir_op_attrs(enum ir_op op);              /* IR_A_* bits */
int ir_op_grad_flows(enum ir_op op, int operand); /* a gradient flows into this operand */
enum ir_cost ir_op_cost(enum ir_op op);
int ir_op_rereads(enum ir_op op);  /* IR_P_REREADS */
int ir_op_commutes(enum ir_op op); /* IR_P_COMMUTES */
/* The printed key of the op's `value` attribute ("slope"), "" for const's (printed after the op name),
 * or NULL if it has none. */
const char *ir_op_value_key(enum ir_op op);
double ir_op_default_attr(enum ir_op op);
int ir_op_is_unary_elementwise(enum ir_op op);  /* kind IR_K_UNARY */
int ir_op_is_binary_elementwise(enum ir_op op); /* kind IR_K_BINARY */
int ir_op_is_elementwise(enum ir_op op);        /* unary, binary or ternary */
int ir_op_is_reduction(enum ir_op op);          /* kind IR_K_REDUCTION: they take `axes` */
int ir_op_is_alias(enum ir_op op);              /* kind IR_K_ALIAS */
int ir_op_has_value(enum ir_op op);             /* uses `value`: const, leaky_relu, elu */
int ir_op_is_conv(enum ir_op op);               /* conv2d and its two adjoints */

/* The three shapes of a conv node n (of any of the three conv ops; a, b its operands), its padding and
 * stride. Returns 0, or -1 with a message in why if the shapes or attributes disagree. */
struct ir_conv_geometry {
    int64_t n, c, h, w; /* x */
    int64_t o, kh, kw;  /* w [O, C, KH, KW] */
    int64_t oh, ow;     /* y [N, O, OH, OW] */
    int64_t ph, pw, sh, sw;
};
int ir_conv_geometry(const struct ir_node *n, const struct ir_node *a, const struct ir_node *b,
                     struct ir_conv_geometry *cg, char *why, size_t len);
/* Zeroes the fields n's op does not use (IR_A_*) and the inputs past its arity: the canonical form
 * every node of a graph has, so nodes are compared and hashed on what they mean. */
void ir_node_canonicalize(struct ir_node *n);

struct ir_graph *ir_graph_new(void);
void ir_graph_free(struct ir_graph *g);
const char *ir_graph_error(const struct ir_graph *g);
/* Sets ir_graph_error() (printf-style) and returns -1: how builders and passes report a failure. */
int ir_graph_fail(struct ir_graph *g, const char *fmt, ...);
int64_t ir_node_numel(const struct ir_node *n);
/* The multiply-add work of g's contractions, in flops (2 per multiply-add): matmuls and the three
 * convolutions, what the machine's FMA peak bounds. Elementwise work is not counted. */
double ir_graph_flops(const struct ir_graph *g);
static inline const struct ir_node *ir_node_at(const struct ir_graph *g, int id) { return &g->nodes[id]; }
/* Same rank and dims. */
int ir_same_shape(const struct ir_node *a, const struct ir_node *b);
/* "[2, 3]" into buf (truncated to len; IR_DIM_SYM prints as B); ir_print_shape writes the same to a FILE. */
void ir_shape_str(char *buf, size_t len, int ndim, const int64_t *shape);
/* The node an alias chain (reshape, stop_grad: same elements, same order) starts from; id if none. */
int ir_resolve_alias(const struct ir_graph *g, int id);

/* Builders. Each returns a node id, or -1 with ir_graph_error() set. */
int ir_input(struct ir_graph *g, const char *name, int ndim, const int64_t *shape);
int ir_param(struct ir_graph *g, const char *name, int ndim, const int64_t *shape);
int ir_const(struct ir_graph *g, double value, int ndim, const int64_t *shape);
/* ir_unary gives leaky_relu and elu their default attribute (slope 0.01, alpha 1); ir_unary_attr sets it. */
int ir_unary(struct ir_graph *g, enum ir_op op, int a);
int ir_unary_attr(struct ir_graph *g, enum ir_op op, int a, double attr);
int ir_binary(struct ir_graph *g, enum ir_op op, int a, int b); /* equal shapes */
int ir_where(struct ir_graph *g, int cond, int a, int b);       /* equal shapes */
/* numpy broadcasting: right-aligned, size-1 dims stretch; inserts reshape and broadcast nodes. */
int ir_binary_bcast(struct ir_graph *g, enum ir_op op, int a, int b);
int ir_where_bcast(struct ir_graph *g, int cond, int a, int b);
int ir_broadcast(struct ir_graph *g, int a, int ndim, const int64_t *shape);
/* a reshaped (size-1 dims in front) and broadcast to the given shape, numpy style. */
int ir_broadcast_to(struct ir_graph *g, int a, int ndim, const int64_t *shape);
int ir_sum(struct ir_graph *g, int a, unsigned axes);
int ir_max(struct ir_graph *g, int a, unsigned axes);
int ir_reshape(struct ir_graph *g, int a, int ndim, const int64_t *shape);
/* op(a) [M, K] x op(b) [K, N] -> [M, N], op = transpose where flagged. Batched: 3-D operands with the
 * same leading size b, one product per batch -> [b, M, N]; the flags transpose the last two dims. */
int ir_matmul(struct ir_graph *g, int a, int b, unsigned flags);
/* Movement. A permute, slice or pad that changes nothing returns a. Slice and pad are each other's
 * adjoint: slice picks in[start + c step] into out[c] for out's `shape`; pad puts in[c] at
 * out[start + c step] of a zero tensor of `shape`. */
int ir_permute(struct ir_graph *g, int a, const int *perm);
int ir_slice(struct ir_graph *g, int a, const int64_t *start, const int64_t *step, const int64_t *shape);
int ir_pad(struct ir_graph *g, int a, const int64_t *start, const int64_t *step, const int64_t *shape);
int ir_concat(struct ir_graph *g, int a, int b, int axis);
/* One axis only: a[..., start:stop:step, ...] and zeros before/after along `axis`. */
int ir_slice_axis(struct ir_graph *g, int a, int axis, int64_t start, int64_t stop, int64_t step);
int ir_pad_axis(struct ir_graph *g, int a, int axis, int64_t before, int64_t after);
int ir_stop_grad(struct ir_graph *g, int a);
/* A constant with the shape of node `like`. */
int ir_const_like(struct ir_graph *g, double value, int like);
/* The sum of every element, shape [1]. */
int ir_sum_all(struct ir_graph *g, int a);
/* Composite reductions over `axes`, keeping the reduced dims (size 1), like sum:
 * mean = sum * (1/n); logsumexp = m + log(sum(exp(x - m))) with m = stop_grad(max(x)) (0 where that
 * is infinite, so all -inf gives -inf and a +inf gives +inf), which never overflows, and whose gradient (softmax) does not depend on m. */
int ir_mean(struct ir_graph *g, int a, unsigned axes);
int ir_logsumexp(struct ir_graph *g, int a, unsigned axes);
/* Layers as composites of the ops above (ir_nn.c); gradients come from autodiff of the parts.
 * batch_matmul: see below.
 * conv2d: x [N, C, H, W] * w [O, C, KH, KW] (NCHW, cross-correlation as in PyTorch), zero padding on
 *   both sides, dilation 1, optional bias [O] (-1: none): one conv2d node -> [N, O, OH, OW], plus the bias.
 * avg_pool2d: mean over k x k windows with stride k (a partial last window is dropped).
 * group_norm: x [N, C, ...] normalized over each group of C/groups channels (and all positions);
 * layer_norm: over the last axis. gamma, beta: [C] or [D], or -1 for none. */
int ir_conv2d(struct ir_graph *g, int x, int w, int bias, int stride, int padding);
/* The conv ops themselves (no bias): conv2d x * w; its gradient in x given dy, for an input of size
 * h x w (stride 2 leaves it ambiguous); its gradient in w given x and dy, for a kh x kw kernel. */
int ir_conv2d_op(struct ir_graph *g, int x, int w, int stride, int padding);
int ir_conv2d_bwd_data(struct ir_graph *g, int dy, int w, int stride, int padding, int64_t h, int64_t wd);
int ir_conv2d_bwd_weight(struct ir_graph *g, int x, int dy, int stride, int padding, int64_t kh, int64_t kw);
/* [b, M, K] x [b, K, N] -> [b, M, N] (one batched matmul), or [b, M, K] x [K, N] (one 2-D matmul) */
int ir_batch_matmul(struct ir_graph *g, int a, int b);
int ir_avg_pool2d(struct ir_graph *g, int x, int k);
int ir_group_norm(struct ir_graph *g, int x, int groups, int gamma, int beta, double eps);
int ir_layer_norm(struct ir_graph *g, int x, int gamma, int beta, double eps);
/* Reduce `a` (broadcast from shape `to`) back down to `to`: the adjoint of broadcasting. */
int ir_sum_to(struct ir_graph *g, int a, int ndim, const int64_t *shape);

/* Graph outputs, in the order they are added. Returns 0, or -1 if the name is taken. */
int ir_graph_output(struct ir_graph *g, const char *name, int node);
int ir_graph_find_output(const struct ir_graph *g, const char *name);

/* Arguments are the INPUT and PARAM nodes in node-table order: this is the order in which the
 * interpreter and compiled programs take their buffers. Returns the count; fills ids if non-NULL. */
int ir_graph_args(const struct ir_graph *g, int *ids);
/* The INPUT or PARAM node with this name, or -1. */
int ir_graph_find_arg(const struct ir_graph *g, const char *name);

/* An elementwise op applied to numbers, in double: the definition of the op (ir_scalar.c). attr is the
 * node's `value` (leaky_relu's slope, elu's alpha); other ops ignore it. */
double ir_scalar_unary(enum ir_op op, double x, double attr);
double ir_scalar_binary(enum ir_op op, double a, double b);
double ir_scalar_where(double cond, double a, double b);
/* gelu's tanh form: x/2 (1 + tanh(u)) = x sigmoid(2u), u = IR_GELU_K (x + IR_GELU_C x^3) */
#define IR_GELU_K 0.7978845608028654 /* sqrt(2 / pi) */
#define IR_GELU_C 0.044715

/* ---- shape rules (ir.c, "shape rules"): one per op, used by the builders, the verifier and the frontend ----
 *
 * ir_infer_shape applies n's op rule to the operands' shapes (in[k], k < the op's arity; only their ndim
 * and shape are read) and n's attributes. Ops whose result shape is part of what the node says (leaves,
 * broadcast, reshape, slice, pad, conv2d_bwd_data, conv2d_bwd_weight) read it from n and check it
 * against the operands; for every other op the rule writes n->ndim and n->shape. Returns 0, or -1 with
 * the reason in why, phrased to follow the op's name ("needs equal shapes; got [2] and [3]").
 *
 * A dimension may be IR_DIM_SYM, one unknown size (the frontend's batch B, printed "B" by ir_shape_str):
 * it equals only itself, a 1 broadcasts to it, and a rule that would compute with it (concat along it,
 * a strided slice or pad of it, a conv's C, H or W) refuses it. Graphs never hold it: builders and the
 * verifier need positive sizes. The verifier is this rule and a comparison (ir_verify). */
#define IR_DIM_SYM (-1)
int ir_infer_shape(struct ir_node *n, const struct ir_node *const *in, char *why, size_t len);
/* A node of op with every field zero and no operands (in[] = -1): to be filled in for ir_infer_shape
 * or ir_node_add. */
struct ir_node ir_node_blank(enum ir_op op);
/* numpy broadcasting of n shapes (right-aligned, size-1 dims stretch) into ndim/shape, or -1 with why. */
int ir_broadcast_shape(int n, const struct ir_node *const *in, int *ndim, int64_t *shape, char *why, size_t len);

/* Checks every node's shape against its op and inputs. Returns 0, or -1 with a message in err. */
int ir_verify(const struct ir_graph *g, char *err, size_t errlen);

/* Stable textual form: one node per line, `%id = op operands : [shape] attrs`. */
void ir_print(const struct ir_graph *g, FILE *out);
void ir_print_shape(FILE *out, int ndim, const int64_t *shape);
/* The same text in a malloc'd string (NULL on out of memory); the caller frees it. */
char *ir_print_string(const struct ir_graph *g);

/* ---- exact node insertion and the parser of the textual form (ir_parse.c; docs/ir.md) ---- */

/* Adds a fully specified node: op, rank, shape, inputs, and the attribute its op uses (value, axes,
 * flags or name; the others are ignored). Unlike the builders it never rewrites (a trivial reshape or
 * broadcast stays as written): the node is checked with ir_verify's rules and hash-consed. This is how
 * the parser and the passes copy nodes. Returns the node's id, or -1 with ir_graph_error() set. */
int ir_node_add(struct ir_graph *g, const struct ir_node *n);

/* Prints a name in double quotes, escaping '"', '\\' and bytes outside printable ASCII as \xNN. */
void ir_print_name(FILE *out, const char *name);

/* Parses the textual form that ir_print writes (one graph; comments start with ';'). Textual ids are
 * renamed to the new graph's ids; as nodes are hash-consed, equal nodes written twice become one node,
 * and a graph printed by ir_print parses back to a graph that prints identically. Returns the graph,
 * or NULL with `file:line:col: error: message`, the source line and a caret in err. Never aborts. */
struct ir_graph *ir_parse(const char *text, const char *filename, char *err, size_t errlen);

#endif
