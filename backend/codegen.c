/* codegen.c: a plan (plan.c) -> LLVM IR, one function per kernel.
 *
 * Values are emitted through emit_value(node, flat index): a node with a buffer is a load, anything
 * else (constants, nodes fused into this kernel) is computed in place from its inputs, and a kernel's
 * main loop value (a sum or matmul with an epilogue) is the value that loop just finished. The
 * epilogues of matmul and conv kernels run in explicit vectors of consecutive elements
 * (codegen_store_results, "vector epilogues" below), the same operations lane by lane.
 *
 * Determinism: no instruction carries fast-math flags, so every rewrite LLVM may make (vectorizing the
 * range loop or not, peeling a remainder) keeps each element's exact IEEE result, and every element is
 * computed by one call in a loop order that does not depend on [lo, hi). Kernels therefore give
 * bitwise-identical results for any split, hence any thread count. Reductions and FMAs are explicit. */
#include "codegen.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/TargetMachine.h>

#include "emit.h"
#include "vecmath.h"

static int host_lanes, host_regs;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* The host's vector width and register count; EBMC_VECTOR_LANES=4, 8 or 16 generates for another
 * width instead (LLVM splits or widens the vectors), so that tests check on this machine the tiles
 * that machines of the other widths get. */
static void read_host_vectors(void) {
    char *f = LLVMGetHostCPUFeatures();
    int avx512 = f && strstr(f, "+avx512f"), avx = f && strstr(f, "+avx,") != NULL;
    host_regs = avx512 ? 32 : 16;
    host_lanes = avx512 ? 16 : avx ? 8 : 4;
    LLVMDisposeMessage(f);
    const char *lanes = getenv("EBMC_VECTOR_LANES");
    if (lanes && (!strcmp(lanes, "4") || !strcmp(lanes, "8") || !strcmp(lanes, "16")))
        host_lanes = atoi(lanes), host_regs = host_lanes == 16 ? 32 : 16;
}

void codegen_host_vectors(int *lanes, int *regs) { /* kernels compile on several threads (jit.c) */
    pthread_once(&host_once, read_host_vectors);
    *lanes = host_lanes, *regs = host_regs;
}

/* A call of a float intrinsic, on scalars or vectors as its arguments are. */
static LLVMValueRef intrinsic(struct cg *c, const char *name, LLVMValueRef *args, unsigned n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef overload = LLVMTypeOf(args[0]);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &overload, 1);
    LLVMTypeRef type = LLVMIntrinsicGetType(c->ctx, id, &overload, 1);
    return LLVMBuildCall2(c->b, type, fn, args, n, "");
}

static LLVMValueRef intrinsic1(struct cg *c, const char *name, LLVMValueRef x) { return intrinsic(c, name, &x, 1); }

/* Constant v shaped like the values computed: a float, or a vector of c->vl in a vector epilogue. */
static LLVMValueRef const_like(struct cg *c, double v) {
    LLVMValueRef lanes[16];
    for (int l = 0; l < c->vl; l++) lanes[l] = f32c(c, v);
    return c->vl ? LLVMConstVector(lanes, (unsigned)c->vl) : f32c(c, v);
}

static LLVMValueRef select_gt0(struct cg *c, LLVMValueRef x, LLVMValueRef yes, LLVMValueRef no) {
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, x, const_like(c, 0), ""), yes, no, "");
}

/* yes where x > 0 or x is NaN: relu and step let NaN through (ir_scalar.c) */
static LLVMValueRef select_ugt0(struct cg *c, LLVMValueRef x, LLVMValueRef yes, LLVMValueRef no) {
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, x, const_like(c, 0), ""), yes, no, "");
}

/* ---- index arithmetic for broadcast and sum ----
 * The input's dims are classified and collapsed: size-1 dims dropped, neighbours of the same kind
 * merged. A flat input index is then built from an output index o (KEPT and BROADCAST dims take their
 * coordinates from o) and a reduced index r (REDUCED dims take theirs from r); a BROADCAST dim has
 * input size 1 and so contributes no stride. */

enum dim_kind { DIM_KEPT, DIM_BROADCAST, DIM_REDUCED };

struct dim {
    int64_t size; /* the extent iterated over: the output's for broadcast, the input's for sum */
    enum dim_kind kind;
};

static int collapse_dims(int ndim, const int64_t *size, const enum dim_kind *kind, struct dim *out) {
    int nd = 0;
    for (int i = 0; i < ndim; i++) {
        if (size[i] == 1) continue;
        if (nd > 0 && out[nd - 1].kind == kind[i]) {
            out[nd - 1].size *= size[i];
        } else {
            out[nd].size = size[i];
            out[nd].kind = kind[i];
            nd++;
        }
    }
    return nd;
}

static int takes_from_r(enum dim_kind k) { return k == DIM_REDUCED; }

static LLVMValueRef split_index(struct cg *c, const struct dim *d, int nd, LLVMValueRef o, LLVMValueRef r) {
    LLVMValueRef idx = NULL;
    int64_t stride = 1;
    for (int k = nd - 1; k >= 0; k--) {
        LLVMValueRef *src = takes_from_r(d[k].kind) ? &r : &o;
        /* Dims further out that draw from the same index: if any, this coordinate wraps around; if
         * any of them is not broadcast, they need the quotient. */
        int wraps = 0, more = 0;
        for (int j = 0; j < k; j++)
            if (takes_from_r(d[j].kind) == takes_from_r(d[k].kind)) {
                wraps = 1;
                more |= d[j].kind != DIM_BROADCAST;
            }
        LLVMValueRef coord = *src;
        if (wraps && d[k].kind != DIM_BROADCAST) coord = LLVMBuildURem(c->b, *src, i64c(c, d[k].size), "");
        if (more) *src = LLVMBuildUDiv(c->b, *src, i64c(c, d[k].size), "");
        if (d[k].kind == DIM_BROADCAST) continue;
        idx = idx ? imad(c, coord, stride, idx) : imul(c, coord, stride);
        stride *= d[k].size;
    }
    return idx ? idx : i64c(c, 0);
}

static LLVMValueRef broadcast_index(struct cg *c, const struct ir_node *n, LLVMValueRef o) {
    const struct ir_node *x = ir_node_at(c->g, n->in[0]);
    enum dim_kind kind[IR_MAX_DIMS];
    for (int i = 0; i < n->ndim; i++) kind[i] = x->shape[i] == n->shape[i] ? DIM_KEPT : DIM_BROADCAST;
    struct dim d[IR_MAX_DIMS];
    int nd = collapse_dims(n->ndim, n->shape, kind, d);
    return split_index(c, d, nd, o, NULL);
}

/* ---- elementwise math ---- */

/* Inline polynomial code, not llvm.exp / llvm.log: those become scalar libm calls that keep every loop
 * using them from vectorizing. */
static LLVMValueRef emit_exp(struct cg *c, LLVMValueRef x) { return vecmath_exp(c->b, x, c->fma); }
static LLVMValueRef emit_log(struct cg *c, LLVMValueRef x) { return vecmath_log(c->b, x, c->fma); }

/* 1 / (1 + exp(-x)) evaluated with exp(-|x|) <= 1, so it never overflows. */
static LLVMValueRef emit_sigmoid(struct cg *c, LLVMValueRef x) {
    LLVMValueRef e = emit_exp(c, LLVMBuildFNeg(c->b, intrinsic1(c, "llvm.fabs", x), ""));
    LLVMValueRef s = LLVMBuildFDiv(c->b, const_like(c, 1), LLVMBuildFAdd(c->b, const_like(c, 1), e, ""), "");
    LLVMValueRef neg = LLVMBuildFMul(c->b, e, s, ""); /* exp(x) / (1 + exp(x)) for x < 0 */
    LLVMValueRef ge0 = LLVMBuildFCmp(c->b, LLVMRealOGE, x, const_like(c, 0), "");
    return LLVMBuildSelect(c->b, ge0, s, neg, "");
}

/* log1p(e) = log(u) * e / (u - 1) with u = 1 + e keeps full relative precision for tiny e, where
 * log(1 + e) would round to 0 (Goldberg's trick); u = 1 gives e itself (and -0 stays -0), u = inf inf. */
static LLVMValueRef emit_log1p(struct cg *c, LLVMValueRef e) {
    LLVMValueRef u = LLVMBuildFAdd(c->b, const_like(c, 1), e, "");
    LLVMValueRef um1 = LLVMBuildFSub(c->b, u, const_like(c, 1), "");
    LLVMValueRef ratio = LLVMBuildFDiv(c->b, e, um1, "");
    LLVMValueRef l = LLVMBuildFMul(c->b, emit_log(c, u), ratio, "");
    LLVMValueRef is1 = LLVMBuildFCmp(c->b, LLVMRealOEQ, u, const_like(c, 1), "");
    LLVMValueRef isinf = LLVMBuildFCmp(c->b, LLVMRealOEQ, u, const_like(c, INFINITY), "");
    return LLVMBuildSelect(c->b, is1, e, LLVMBuildSelect(c->b, isinf, u, l, ""), "");
}

/* max(x, 0) + log1p(exp(-|x|)) */
static LLVMValueRef emit_softplus(struct cg *c, LLVMValueRef x) {
    LLVMValueRef e = emit_exp(c, LLVMBuildFNeg(c->b, intrinsic1(c, "llvm.fabs", x), ""));
    return LLVMBuildFAdd(c->b, select_gt0(c, x, x, const_like(c, 0)), emit_log1p(c, e), "");
}

/* tanh has no intrinsic. For |x| >= 0.4: 1 - 2 / (exp(2|x|) + 1), which saturates to 1 instead of
 * overflowing; below 0.4 that form cancels, so use the Taylor series to x^13 (error < 1e-8 relative). */
static LLVMValueRef emit_tanh(struct cg *c, LLVMValueRef x) {
    static const double coef[] = {-1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835, -1382.0 / 155925,
                                  21844.0 / 6081075};
    LLVMBuilderRef b = c->b;
    LLVMValueRef a = intrinsic1(c, "llvm.fabs", x);
    LLVMValueRef a2 = LLVMBuildFMul(b, a, a, "");
    LLVMValueRef q = const_like(c, coef[5]);
    for (int i = 4; i >= 0; i--) q = LLVMBuildFAdd(b, const_like(c, coef[i]), LLVMBuildFMul(b, a2, q, ""), "");
    LLVMValueRef small = LLVMBuildFAdd(b, a, LLVMBuildFMul(b, a, LLVMBuildFMul(b, a2, q, ""), ""), "");
    LLVMValueRef e = emit_exp(c, LLVMBuildFAdd(b, a, a, ""));
    LLVMValueRef large =
        LLVMBuildFSub(b, const_like(c, 1), LLVMBuildFDiv(b, const_like(c, 2), LLVMBuildFAdd(b, e, const_like(c, 1), ""), ""), "");
    LLVMValueRef t = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, a, const_like(c, 0.4), ""), small, large, "");
    LLVMValueRef args[2] = {t, x};
    return intrinsic(c, "llvm.copysign", args, 2);
}

/* e^x - 1 = (u - 1) x / log(u) with u = e^x: the quotient cancels u's rounding error, so small x keep
 * full relative precision (Kahan's trick); u = 1 and u = 0 are taken exactly. */
static LLVMValueRef emit_expm1(struct cg *c, LLVMValueRef x) {
    LLVMBuilderRef b = c->b;
    LLVMValueRef u = emit_exp(c, x), um1 = LLVMBuildFSub(b, u, const_like(c, 1), "");
    LLVMValueRef q = LLVMBuildFDiv(b, LLVMBuildFMul(b, um1, x, ""), emit_log(c, u), "");
    q = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, um1, const_like(c, -1), ""), um1, q, "");
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, u, const_like(c, 1), ""), x, q, "");
}

/* GELU as x sigmoid(2u), u = IR_GELU_K (x + IR_GELU_C x^3), in ir_scalar.c's order of operations. */
static LLVMValueRef emit_gelu(struct cg *c, LLVMValueRef x) {
    LLVMBuilderRef b = c->b;
    LLVMValueRef x3 = LLVMBuildFMul(b, LLVMBuildFMul(b, LLVMBuildFMul(b, const_like(c, IR_GELU_C), x, ""), x, ""), x, "");
    LLVMValueRef u2 = LLVMBuildFMul(b, const_like(c, 2 * IR_GELU_K), LLVMBuildFAdd(b, x, x3, ""), "");
    return LLVMBuildFMul(b, x, emit_sigmoid(c, u2), "");
}

/* C's pow: |a|^b (vecmath_pow, in double), then the sign for a negative base (an integer b, odd or
 * even; NaN otherwise) and the cases C defines as 1 whatever the other operand: b = 0, a = 1, and a = -1 with
 * b = +-inf. */
static LLVMValueRef emit_pow(struct cg *c, LLVMValueRef a, LLVMValueRef e) {
    LLVMBuilderRef b = c->b;
    LLVMValueRef one = const_like(c, 1), abs_a = intrinsic1(c, "llvm.fabs", a);
    LLVMValueRef r = vecmath_pow(b, a, e, c->fma);
    LLVMValueRef half = LLVMBuildFMul(b, e, const_like(c, 0.5), "");
    LLVMValueRef is_int = LLVMBuildFCmp(b, LLVMRealOEQ, intrinsic1(c, "llvm.floor", e), e, "");
    LLVMValueRef is_odd = LLVMBuildAnd(b, is_int, LLVMBuildFCmp(b, LLVMRealONE, intrinsic1(c, "llvm.floor", half), half, ""), "");
    /* an odd exponent keeps the base's sign, -0 included (pow(-0, -1) = -inf) */
    r = LLVMBuildSelect(b, is_odd, intrinsic(c, "llvm.copysign", (LLVMValueRef[]){r, a}, 2), r, "");
    LLVMValueRef bad = LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealOLT, a, const_like(c, 0), ""), LLVMBuildNot(b, is_int, ""), "");
    r = LLVMBuildSelect(b, bad, const_like(c, __builtin_nanf("")), r, "");
    LLVMValueRef inf_e = LLVMBuildFCmp(b, LLVMRealOEQ, intrinsic1(c, "llvm.fabs", e), const_like(c, __builtin_inff()), "");
    LLVMValueRef unit = LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOEQ, a, one, ""),
                                    LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealOEQ, abs_a, one, ""), inf_e, ""), "");
    unit = LLVMBuildOr(b, unit, LLVMBuildFCmp(b, LLVMRealOEQ, e, const_like(c, 0), ""), "");
    return LLVMBuildSelect(b, unit, one, r, "");
}

/* x if x p y or x is NaN, else y: maximum and minimum (ir_scalar.c) */
static LLVMValueRef select_first(struct cg *c, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y) {
    LLVMValueRef first = LLVMBuildOr(c->b, LLVMBuildFCmp(c->b, p, x, y, ""), LLVMBuildFCmp(c->b, LLVMRealUNO, x, x, ""), "");
    return LLVMBuildSelect(c->b, first, x, y, "");
}

/* 1.0 where the comparison holds (ordered: false on NaN, as in C), else 0.0 */
static LLVMValueRef emit_flag(struct cg *c, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y) {
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, p, x, y, ""), const_like(c, 1), const_like(c, 0), "");
}

static LLVMValueRef emit_unary(struct cg *c, const struct ir_node *n, LLVMValueRef x) {
    LLVMBuilderRef b = c->b;
    switch (n->op) {
    case IR_NEG: return LLVMBuildFNeg(b, x, "");
    case IR_EXP: return emit_exp(c, x);
    case IR_LOG: return emit_log(c, x);
    case IR_LOG1P: return emit_log1p(c, x);
    case IR_TANH: return emit_tanh(c, x);
    case IR_SIGMOID: return emit_sigmoid(c, x);
    case IR_SILU: return LLVMBuildFMul(b, x, emit_sigmoid(c, x), "");
    case IR_SOFTPLUS: return emit_softplus(c, x);
    case IR_RELU: return select_ugt0(c, x, x, const_like(c, 0));
    case IR_STEP: return select_ugt0(c, x, const_like(c, 1), const_like(c, 0));
    case IR_SQUARE: return LLVMBuildFMul(b, x, x, "");
    case IR_SQRT: return intrinsic1(c, "llvm.sqrt", x);
    case IR_ABS: return intrinsic1(c, "llvm.fabs", x);
    case IR_RSQRT: return LLVMBuildFDiv(b, const_like(c, 1), intrinsic1(c, "llvm.sqrt", x), "");
    case IR_LEAKY_RELU: return select_gt0(c, x, x, LLVMBuildFMul(b, const_like(c, n->value), x, ""));
    case IR_ELU: return select_gt0(c, x, x, LLVMBuildFMul(b, const_like(c, n->value), emit_expm1(c, x), ""));
    case IR_GELU: return emit_gelu(c, x);
    case IR_SIN: return vecmath_sin(b, x, c->fma);
    case IR_COS: return vecmath_cos(b, x, c->fma);
    default: return NULL;
    }
}

static LLVMValueRef emit_binary(struct cg *c, enum ir_op op, LLVMValueRef x, LLVMValueRef y) {
    switch (op) {
    case IR_ADD: return LLVMBuildFAdd(c->b, x, y, "");
    case IR_SUB: return LLVMBuildFSub(c->b, x, y, "");
    case IR_MUL: return LLVMBuildFMul(c->b, x, y, "");
    case IR_DIV: return LLVMBuildFDiv(c->b, x, y, "");
    case IR_POW: return emit_pow(c, x, y);
    case IR_MAXIMUM: return select_first(c, LLVMRealOGE, x, y);
    case IR_MINIMUM: return select_first(c, LLVMRealOLE, x, y);
    case IR_LT: return emit_flag(c, LLVMRealOLT, x, y);
    case IR_LE: return emit_flag(c, LLVMRealOLE, x, y);
    case IR_GT: return emit_flag(c, LLVMRealOGT, x, y);
    case IR_GE: return emit_flag(c, LLVMRealOGE, x, y);
    case IR_EQ: return emit_flag(c, LLVMRealOEQ, x, y);
    default: return NULL;
    }
}

/* ---- values ---- */

static LLVMValueRef emit_value(struct cg *c, int id, LLVMValueRef idx);
static LLVMValueRef emit_compute(struct cg *c, int id, LLVMValueRef idx);

/* ---- movement: index arithmetic on coordinates ---- */

/* The coordinates of flat row-major index idx in shape n. */
static void unravel_index(struct cg *c, const struct ir_node *n, LLVMValueRef idx, LLVMValueRef *coord) {
    for (int d = n->ndim - 1; d >= 0; d--) {
        coord[d] = d > 0 ? LLVMBuildURem(c->b, idx, i64c(c, n->shape[d]), "") : idx;
        if (d > 0) idx = LLVMBuildUDiv(c->b, idx, i64c(c, n->shape[d]), "");
    }
}

/* The flat row-major index of coord in shape x. */
static LLVMValueRef ravel_index(struct cg *c, const struct ir_node *x, LLVMValueRef *coord) {
    LLVMValueRef idx = i64c(c, 0);
    for (int d = 0; d < x->ndim; d++) idx = imad(c, idx, x->shape[d], coord[d]);
    return idx;
}

static LLVMValueRef select_i64(struct cg *c, LLVMValueRef cond, LLVMValueRef yes, LLVMValueRef no) {
    return LLVMBuildSelect(c->b, cond, yes, no, "");
}

/* Element idx of a permute, slice, pad or concat. Pad and concat compute an in-bounds index for every
 * operand they may read (clamped where the element is padding or from the other operand) and select:
 * a select of two loads vectorizes, a branch would not. */
static LLVMValueRef emit_movement(struct cg *c, const struct ir_node *n, LLVMValueRef idx) {
    const struct ir_node *x = ir_node_at(c->g, n->in[0]);
    LLVMValueRef coord[IR_MAX_DIMS], in[IR_MAX_DIMS];
    LLVMBuilderRef b = c->b;
    unravel_index(c, n, idx, coord);
    switch (n->op) {
    case IR_PERMUTE:
        for (int d = 0; d < n->ndim; d++) in[n->perm[d]] = coord[d];
        return emit_value(c, n->in[0], ravel_index(c, x, in));
    case IR_SLICE:
        for (int d = 0; d < n->ndim; d++) in[d] = imad(c, coord[d], n->step[d], i64c(c, n->start[d]));
        return emit_value(c, n->in[0], ravel_index(c, x, in));
    case IR_PAD: {
        LLVMValueRef inside = LLVMConstInt(LLVMInt1TypeInContext(c->ctx), 1, 0);
        for (int d = 0; d < n->ndim; d++) {
            /* rel = coord - start, unsigned: negative rel wraps to a huge value and fails the bound */
            LLVMValueRef rel = LLVMBuildSub(b, coord[d], i64c(c, n->start[d]), "");
            LLVMValueRef q = n->step[d] == 1 ? rel : LLVMBuildUDiv(b, rel, i64c(c, n->step[d]), "");
            LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntULT, q, i64c(c, x->shape[d]), "");
            if (n->step[d] > 1)
                ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntEQ, LLVMBuildURem(b, rel, i64c(c, n->step[d]), ""),
                                                        i64c(c, 0), ""), "");
            in[d] = select_i64(c, ok, q, i64c(c, 0));
            inside = LLVMBuildAnd(b, inside, ok, "");
        }
        return LLVMBuildSelect(b, inside, emit_value(c, n->in[0], ravel_index(c, x, in)), f32c(c, 0), "");
    }
    default: { /* IR_CONCAT */
        const struct ir_node *y = ir_node_at(c->g, n->in[1]);
        int ax = n->axis;
        LLVMValueRef from_a = LLVMBuildICmp(b, LLVMIntSLT, coord[ax], i64c(c, x->shape[ax]), "");
        LLVMValueRef at = coord[ax];
        coord[ax] = select_i64(c, from_a, at, i64c(c, x->shape[ax] - 1));
        LLVMValueRef va = emit_value(c, n->in[0], ravel_index(c, x, coord));
        coord[ax] = select_i64(c, from_a, i64c(c, 0), LLVMBuildSub(b, at, i64c(c, x->shape[ax]), ""));
        LLVMValueRef vb = emit_value(c, n->in[1], ravel_index(c, y, coord));
        return LLVMBuildSelect(b, from_a, va, vb, "");
    }
    }
}

/* ---- vector epilogues ----
 * codegen_store_results computes vl consecutive elements of the results at once, in vectors: every
 * value on the way is a vector of vl lanes, and the buffers are read as vectors. A broadcast keeps the
 * lanes consecutive in its input, or sends them all to one element (a bias along a row or an image
 * plane: loaded once and splat), as broadcast_lanes tells; a broadcast of any other kind and a movement
 * op are computed lane by lane. Each lane computes exactly what codegen_store_result would. */

/* How the lanes (consecutive elements within one aligned block of c->lane_block elements of the output) map
 * through broadcast n: 1 to consecutive elements of its input, 0 all to one, -1 otherwise. The lanes
 * keep their offsets in the trailing dims the input keeps, and lose them in those it broadcasts. */
static int broadcast_lanes(struct cg *c, const struct ir_node *n) {
    const struct ir_node *x = ir_node_at(c->g, n->in[0]);
    int64_t kept = 1, spread = 1;
    int keeps = 1, spreads = 1;
    for (int d = n->ndim - 1; d >= 0 && (keeps || spreads); d--) {
        if (n->shape[d] == 1) continue;
        int kept_here = x->shape[d] == n->shape[d];
        if (keeps && kept_here) kept *= n->shape[d];
        else keeps = 0;
        if (spreads && !kept_here) spread *= n->shape[d];
        else spreads = 0;
    }
    return spread % c->lane_block == 0 ? 0 : kept % c->lane_block == 0 ? 1 : -1;
}

/* Node id at scalar element idx, in scalar code (no epilogue value is read this way: a main loop's or
 * root's value only ever reaches an epilogue elementwise). */
static LLVMValueRef scalar_value(struct cg *c, int id, LLVMValueRef idx, int compute) {
    int vl = c->vl;
    c->vl = 0;
    LLVMValueRef v = compute ? emit_compute(c, id, idx) : emit_value(c, id, idx);
    c->vl = vl;
    return v;
}

/* Node id at element idx, the same in every lane. */
static LLVMValueRef scalar_splat(struct cg *c, int id, LLVMValueRef idx) {
    return splat(c, scalar_value(c, id, idx, 0), c->vl);
}

/* Node id's lanes idx + l one by one (a lane that does not exist computes element idx again): vl copies
 * of its inlined tree, which is fine for the movement ops and odd broadcasts that come here (an operand
 * read through them is mostly stored, so a copy is a load). */
static LLVMValueRef lane_by_lane(struct cg *c, int id, LLVMValueRef idx) {
    LLVMValueRef v = LLVMGetPoison(vec_type(c, c->vl));
    for (int l = 0; l < c->vl; l++) {
        LLVMValueRef i = iadd(c, idx, i64c(c, l));
        if (c->lanes_n) i = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, i64c(c, l), c->lanes_n, ""), i, idx, "");
        v = LLVMBuildInsertElement(c->b, v, scalar_value(c, id, i, 1), i32c(c, l), "");
    }
    return v;
}

/* Elements idx .. idx + vl - 1 of a buffer: the lanes that exist. */
static LLVMValueRef load_vector(struct cg *c, int slot, LLVMValueRef idx) {
    LLVMValueRef p = elem_ptr(c, slot, idx);
    if (c->lanes_on) return masked_load_with(c, p, c->lanes_on);
    LLVMValueRef v = LLVMBuildLoad2(c->b, vec_type(c, c->vl), p, "");
    LLVMSetAlignment(v, 4);
    return v;
}

static void store_vector(struct cg *c, int slot, LLVMValueRef idx, LLVMValueRef v) {
    LLVMValueRef p = elem_ptr(c, slot, idx);
    if (!c->lanes_on) {
        LLVMSetAlignment(LLVMBuildStore(c->b, v, p), 4);
        return;
    }
    if (LLVMIsConstant(c->lanes_n)) { /* fewer than vl */
        store_first(c, p, v, c->lanes_n);
        return;
    }
    LLVMBasicBlockRef whole = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "whole");
    LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "part");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "stored");
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, c->lanes_n, i64c(c, c->vl), ""), whole, part);
    LLVMPositionBuilderAtEnd(c->b, whole);
    LLVMSetAlignment(LLVMBuildStore(c->b, v, p), 4);
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, part);
    store_first(c, p, v, c->lanes_n);
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, done);
}

/* Element idx (row-major) of node id, computed from its inputs. Only elementwise (where included),
 * broadcast, movement, alias and const nodes can be computed this way; sums and matmuls always have
 * buffers. */
static LLVMValueRef emit_compute(struct cg *c, int id, LLVMValueRef idx) {
    const struct ir_node *n = ir_node_at(c->g, id);
    if (c->vl && n->op == IR_BROADCAST) {
        int how = broadcast_lanes(c, n);
        if (how == 0) return scalar_splat(c, n->in[0], broadcast_index(c, n, idx));
        if (how < 0) return lane_by_lane(c, id, idx);
    }
    if (c->vl && (n->op == IR_PERMUTE || n->op == IR_SLICE || n->op == IR_PAD || n->op == IR_CONCAT))
        return lane_by_lane(c, id, idx);
    if (ir_op_is_unary_elementwise(n->op)) return emit_unary(c, n, emit_value(c, n->in[0], idx));
    if (ir_op_is_binary_elementwise(n->op)) {
        int swap = codegen_swaps_operands(c->g, n);
        LLVMValueRef x = emit_value(c, n->in[swap], idx); /* first: equal kernels emit equal code */
        return emit_binary(c, n->op, x, emit_value(c, n->in[!swap], idx));
    }
    switch (n->op) {
    case IR_CONST: return const_like(c, n->value);
    case IR_RESHAPE:
    case IR_STOP_GRAD: return emit_value(c, n->in[0], idx);
    case IR_BROADCAST: return emit_value(c, n->in[0], broadcast_index(c, n, idx));
    case IR_PERMUTE:
    case IR_SLICE:
    case IR_PAD:
    case IR_CONCAT: return emit_movement(c, n, idx);
    case IR_WHERE: { /* any nonzero condition, NaN included, picks a (unordered or not equal) */
        LLVMValueRef cond = LLVMBuildFCmp(c->b, LLVMRealUNE, emit_value(c, n->in[0], idx), const_like(c, 0), "");
        return LLVMBuildSelect(c->b, cond, emit_value(c, n->in[1], idx), emit_value(c, n->in[2], idx), "");
    }
    default: return NULL;
    }
}

static LLVMValueRef emit_value(struct cg *c, int id, LLVMValueRef idx) {
    id = ir_resolve_alias(c->g, id); /* same flat index */
    if (id == c->main && c->main_value) return c->main_value;
    for (int r = 0; r < c->n_known; r++)
        if (c->k->roots[r] == id) return c->root_value[r];
    int slot = c->plan->slot[id];
    if (slot < 0) return emit_compute(c, id, idx);
    return c->vl ? load_vector(c, slot, idx) : load_elem(c, slot, idx);
}

/* v stored at element idx of a buffer: one float, or in a vector epilogue the lanes that exist. */
static void store_value(struct cg *c, int slot, LLVMValueRef idx, LLVMValueRef v) {
    if (c->vl) store_vector(c, slot, idx, v);
    else store_elem(c, slot, idx, v);
}

/* Computes and stores element idx of every root, in order: a later root takes an earlier one's value
 * as computed here, not from its buffer. */
static void store_roots(struct cg *c, LLVMValueRef idx) {
    for (int r = 0; r < c->k->n_roots; r++) {
        LLVMValueRef v = emit_compute(c, c->k->roots[r], idx);
        store_value(c, c->plan->slot[c->k->roots[r]], idx, v);
        c->root_value[r] = v;
        c->n_known = r + 1;
    }
    c->n_known = 0;
}

/* Stores element idx of the kernel's results, given v, the main loop's value there: through the
 * epilogue if the kernel has one. (Called by codegen_store_results with vectors.) */
void codegen_store_result(struct cg *c, LLVMValueRef idx, LLVMValueRef v) {
    if (c->main == c->root) {
        store_value(c, c->out, idx, v);
        return;
    }
    c->main_value = v;
    store_roots(c, idx);
    c->main_value = NULL;
}

void codegen_store_results(struct cg *c, LLVMValueRef idx, LLVMValueRef v, LLVMValueRef n, int64_t lane_block) {
    c->vl = (int)LLVMGetVectorSize(LLVMTypeOf(v));
    if (n && LLVMIsConstant(n) && LLVMConstIntGetSExtValue(n) >= c->vl) n = NULL;
    c->lanes_n = n, c->lanes_on = NULL, c->lane_block = lane_block;
    if (n) { /* lane l < n, compared in i32 lanes (i64 lanes take several instructions on AVX2) */
        LLVMTypeRef i32 = LLVMInt32TypeInContext(c->ctx), i32v = LLVMVectorType(i32, (unsigned)c->vl);
        LLVMValueRef iota[16];
        for (int l = 0; l < c->vl; l++) iota[l] = i32c(c, l);
        LLVMValueRef count = LLVMBuildInsertElement(c->b, LLVMGetPoison(i32v), LLVMBuildTrunc(c->b, n, i32, ""), i32c(c, 0), "");
        count = LLVMBuildShuffleVector(c->b, count, LLVMGetPoison(i32v), LLVMConstNull(i32v), "");
        c->lanes_on = LLVMBuildICmp(c->b, LLVMIntSLT, LLVMConstVector(iota, (unsigned)c->vl), count, "");
    }
    codegen_store_result(c, idx, v);
    c->vl = 0, c->lanes_n = c->lanes_on = NULL;
}

/* Runs the epilogue over elements [lo, hi) of the output, where the main loop left its values. */
static void epilogue_range(struct cg *c, LLVMValueRef lo, LLVMValueRef hi) {
    if (c->main == c->root) return;
    struct loop l;
    LLVMValueRef i = loop_begin(c, &l, lo, hi, "epi");
    codegen_store_result(c, i, load_elem(c, c->out, i));
    loop_end(c, &l);
}

/* ---- kernels ---- */

/* Elementwise ops and broadcasts: one output element per item. */
static void emit_map_kernel(struct cg *c, LLVMValueRef lo, LLVMValueRef hi) {
    struct loop l;
    LLVMValueRef i = loop_begin(c, &l, lo, hi, "i");
    store_roots(c, i);
    loop_end(c, &l);
}

/* ---- reductions ----
 * Without reassociation a float reduction cannot vectorize, so we split the accumulator ourselves:
 * LANES partial sums, each added to in a fixed order, then combined in a fixed order. */

#define LANES CODEGEN_SUM_LANES

struct reduction {
    enum ir_op op;      /* IR_SUM or IR_MAX */
    LLVMValueRef lanes; /* [LANES x float]: partial sum l takes terms t with t % LANES == l */
    LLVMValueRef tail;  /* float: the terms past the last multiple of LANES */
};

/* The reduction's identity and its step. max keeps acc unless v is greater, so NaNs are skipped and
 * the result does not depend on how the terms are grouped (max is exact). */
static LLVMValueRef reduce_init(struct cg *c, enum ir_op op) { return f32c(c, op == IR_MAX ? -__builtin_inf() : 0); }

static LLVMValueRef reduce_step(struct cg *c, enum ir_op op, LLVMValueRef acc, LLVMValueRef v) {
    if (op == IR_SUM) return LLVMBuildFAdd(c->b, acc, v, "");
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, v, acc, ""), v, acc, "");
}

static LLVMValueRef lane_ptr(struct cg *c, struct reduction *red, LLVMValueRef l) {
    LLVMValueRef idx[2] = {i64c(c, 0), l};
    return LLVMBuildInBoundsGEP2(c->b, LLVMArrayType2(c->f32, LANES), red->lanes, idx, 2, "");
}

static void reduction_begin(struct cg *c, struct reduction *red, enum ir_op op) {
    red->op = op;
    red->lanes = entry_alloca(c, LLVMArrayType2(c->f32, LANES));
    red->tail = entry_alloca(c, c->f32);
    for (int l = 0; l < LANES; l++) LLVMBuildStore(c->b, reduce_init(c, op), lane_ptr(c, red, i64c(c, l)));
    LLVMBuildStore(c->b, reduce_init(c, op), red->tail);
}

/* Adds the len elements of node `input` from flat index base on. The inner lane loop has a constant
 * trip count: LLVM unrolls it and the SLP vectorizer turns the LANES chains into vector operations. */
static void reduction_row(struct cg *c, struct reduction *red, int input, LLVMValueRef base, int64_t len) {
    int64_t blocks = len / LANES;
    struct loop lb, ll, lt;
    if (blocks > 0) {
        LLVMValueRef b = loop_to(c, &lb, blocks, "blk");
        LLVMValueRef l = loop_to(c, &ll, LANES, "lane");
        LLVMValueRef p = lane_ptr(c, red, l);
        LLVMValueRef acc = LLVMBuildLoad2(c->b, c->f32, p, "");
        LLVMValueRef v = emit_value(c, input, iadd(c, base, imad(c, b, LANES, l)));
        LLVMBuildStore(c->b, reduce_step(c, red->op, acc, v), p);
        loop_end(c, &ll);
        loop_end(c, &lb);
    }
    if (len % LANES) {
        LLVMValueRef t = loop_begin(c, &lt, i64c(c, blocks * LANES), i64c(c, len), "t");
        LLVMValueRef v = emit_value(c, input, iadd(c, base, t));
        LLVMBuildStore(c->b, reduce_step(c, red->op, LLVMBuildLoad2(c->b, c->f32, red->tail, ""), v), red->tail);
        loop_end(c, &lt);
    }
}

/* Combines the partial sums in order, then the tail. (A pairwise tree would be shorter, but the SLP
 * vectorizer then pairs up the lanes badly.) */
static LLVMValueRef reduction_end(struct cg *c, struct reduction *red) {
    LLVMValueRef sum = LLVMBuildLoad2(c->b, c->f32, lane_ptr(c, red, i64c(c, 0)), "");
    for (int l = 1; l < LANES; l++)
        sum = reduce_step(c, red->op, sum, LLVMBuildLoad2(c->b, c->f32, lane_ptr(c, red, i64c(c, l)), ""));
    return reduce_step(c, red->op, sum, LLVMBuildLoad2(c->b, c->f32, red->tail, ""));
}

/* ---- sum ---- */

/* Sum or max: one output element per item. If the innermost input dim is reduced, each element reduces its
 * contiguous rows with split accumulators. Otherwise rows of the input are added into the output range
 * in order, so the inner loop runs along contiguous kept elements and vectorizes as it is. */
static void emit_sum_kernel(struct cg *c, LLVMValueRef lo, LLVMValueRef hi) {
    const struct ir_node *n = ir_node_at(c->g, c->main), *x = ir_node_at(c->g, n->in[0]);
    int out = c->out;
    enum dim_kind kind[IR_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) kind[i] = (n->axes >> i & 1) ? DIM_REDUCED : DIM_KEPT;
    struct dim d[IR_MAX_DIMS];
    int nd = collapse_dims(x->ndim, x->shape, kind, d);
    int64_t reduced = 1;
    for (int k = 0; k < nd; k++)
        if (d[k].kind == DIM_REDUCED) reduced *= d[k].size;
    struct loop lo_loop, r_loop;
    if (nd > 0 && d[nd - 1].kind == DIM_REDUCED) {
        int64_t row_len = d[nd - 1].size; /* stride 1 in the input */
        struct reduction red;
        LLVMValueRef o = loop_begin(c, &lo_loop, lo, hi, "o");
        reduction_begin(c, &red, n->op);
        LLVMValueRef r = loop_to(c, &r_loop, reduced / row_len, "row");
        reduction_row(c, &red, n->in[0], split_index(c, d, nd, o, imul(c, r, row_len)), row_len);
        loop_end(c, &r_loop);
        codegen_store_result(c, o, reduction_end(c, &red));
        loop_end(c, &lo_loop);
    } else {
        LLVMValueRef o = loop_begin(c, &lo_loop, lo, hi, "o");
        store_elem(c, out, o, reduce_init(c, n->op));
        loop_end(c, &lo_loop);
        LLVMValueRef r = loop_to(c, &r_loop, reduced, "r");
        o = loop_begin(c, &lo_loop, lo, hi, "o");
        LLVMValueRef v = emit_value(c, n->in[0], split_index(c, d, nd, o, r));
        store_elem(c, out, o, reduce_step(c, n->op, load_elem(c, out, o), v));
        loop_end(c, &lo_loop);
        loop_end(c, &r_loop);
        epilogue_range(c, lo, hi);
    }
}

/* ---- shared with matmul.c and conv.c ---- */

LLVMValueRef codegen_value(struct cg *c, int id, LLVMValueRef idx) { return emit_value(c, id, idx); }

/* acc + x * y, fused when the CPU has FMA (llvm.fma is exact, unlike contraction, which LLVM may apply
 * to some copies of a loop and not others). */
LLVMValueRef codegen_mul_add(struct cg *c, LLVMValueRef x, LLVMValueRef y, LLVMValueRef acc) {
    if (!c->fma) return LLVMBuildFAdd(c->b, acc, LLVMBuildFMul(c->b, x, y, ""), "");
    LLVMValueRef args[3] = {x, y, acc};
    LLVMTypeRef type = LLVMTypeOf(x); /* float, or a vector of them (conv.c) */
    unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &type, 1);
    return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, &type, 1), fn, args, 3, "");
}

static LLVMValueRef smin_smax(struct cg *c, LLVMValueRef x, LLVMValueRef bound, LLVMIntPredicate keep) {
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, keep, x, bound, ""), x, bound, "");
}

void codegen_batch_begin(struct cg *c, struct batch_loop *bl, int64_t batch, int64_t rows, LLVMValueRef lo,
                         LLVMValueRef hi) {
    bl->batch = batch;
    if (batch == 1) {
        bl->bt = i64c(c, 0), bl->lo = lo, bl->hi = hi;
        return;
    }
    LLVMValueRef first = LLVMBuildSDiv(c->b, lo, i64c(c, rows), "");
    LLVMValueRef end = LLVMBuildSDiv(c->b, iadd(c, hi, i64c(c, rows - 1)), i64c(c, rows), "");
    bl->bt = loop_begin(c, &bl->l, first, end, "batch");
    LLVMValueRef row0 = imul(c, bl->bt, rows);
    bl->lo = smin_smax(c, LLVMBuildNSWSub(c->b, lo, row0, ""), i64c(c, 0), LLVMIntSGT);
    bl->hi = smin_smax(c, LLVMBuildNSWSub(c->b, hi, row0, ""), i64c(c, rows), LLVMIntSLT);
}

void codegen_batch_end(struct cg *c, struct batch_loop *bl) {
    if (bl->batch > 1) loop_end(c, &bl->l);
}

static LLVMAttributeRef enum_attr(struct cg *c, const char *name) {
    return LLVMCreateEnumAttribute(c->ctx, LLVMGetEnumAttributeKindForName(name, strlen(name)), 0);
}

/* A kernel is two functions: the exported k<id>(bufs, lo, hi) (the wrapper) loads the pointers it needs
 * and calls its body, whose pointer parameters are noalias. Inlined, the body's noalias turns into alias
 * metadata, so the vectorizer needs no runtime overlap checks; not inlined, it is the same promise. (A
 * caller may pass one buffer as two arguments: noalias parameters may overlap as long as neither is
 * written. The output is a program-owned buffer.) The body depends on the kernel's computation alone,
 * not on its slots, so kernels that compute the same thing on other buffers can share one (jit.c). */

/* The slots the body of k takes into c->slots: its outputs, then what it reads in the order it reads
 * them (not in slot order, so that the same computation on other buffers has the same body). Returns
 * how many, and the body's type in *type. */
static int kernel_params(struct cg *c, const struct codegen_kernel *k, LLVMTypeRef *type) {
    int n_ptrs = 0, n_written = k->kind == CODEGEN_NODE ? k->n_roots : 1;
    for (int r = 0; r < n_written; r++) c->slots[n_ptrs++] = k->slot + r;
    n_ptrs += codegen_kernel_reads(c->g, c->plan, k, c->used, c->slots + n_ptrs);
    for (int i = 0; i < n_ptrs; i++) c->types[i] = c->ptr;
    c->types[n_ptrs] = c->types[n_ptrs + 1] = c->i64;
    *type = LLVMFunctionType(c->void_t, c->types, (unsigned)n_ptrs + 2, 0);
    return n_ptrs;
}

/* The body of k, named body_name: internal and always inlined (into its wrapper, in the same module), or
 * exported (called from a wrapper in another module). */
static LLVMValueRef emit_body(struct cg *c, const struct codegen_kernel *k, const char *body_name, int inline_it) {
    int out = k->slot, n_written = k->kind == CODEGEN_NODE ? k->n_roots : 1, *slots = c->slots;
    c->k = k;
    c->out = out;
    c->root = k->node;
    c->main = k->main >= 0 ? k->main : k->node;
    c->main_value = NULL;
    c->n_known = 0;
    LLVMTypeRef body_type;
    int n_ptrs = kernel_params(c, k, &body_type);
    LLVMValueRef body = LLVMAddFunction(c->mod, body_name, body_type);
    if (inline_it) {
        LLVMSetLinkage(body, LLVMInternalLinkage);
        LLVMAddAttributeAtIndex(body, LLVMAttributeFunctionIndex, enum_attr(c, "alwaysinline"));
    }
    LLVMAddAttributeAtIndex(body, LLVMAttributeFunctionIndex, enum_attr(c, "nounwind"));
    for (int i = 0; i < n_ptrs; i++) {
        LLVMAddAttributeAtIndex(body, (unsigned)i + 1, enum_attr(c, "noalias"));
        LLVMAddAttributeAtIndex(body, (unsigned)i + 1, enum_attr(c, "nocapture"));
        c->slot_ptr[slots[i]] = LLVMGetParam(body, (unsigned)i);
        LLVMSetValueName2(c->slot_ptr[slots[i]], i < n_written ? "out" : "in", i < n_written ? 3 : 2);
    }
    LLVMValueRef lo = LLVMGetParam(body, (unsigned)n_ptrs), hi = LLVMGetParam(body, (unsigned)n_ptrs + 1);
    LLVMSetValueName2(lo, "lo", 2);
    LLVMSetValueName2(hi, "hi", 2);

    c->fn = body;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, body, "entry"));
    enum ir_op op = ir_node_at(c->g, c->main)->op;
    if (k->kind == CODEGEN_TRANSPOSE) conv_emit_weight_transpose(c, k->node, out, lo, hi);
    else if (ir_op_is_reduction(op)) emit_sum_kernel(c, lo, hi);
    else if (op == IR_MATMUL) matmul_emit_kernel(c, lo, hi);
    else if (ir_op_is_conv(op)) conv_emit_kernel(c, lo, hi);
    else emit_map_kernel(c, lo, hi);
    LLVMBuildRetVoid(c->b);
    for (int i = 0; i < n_ptrs; i++) c->slot_ptr[slots[i]] = NULL;
    return body;
}

/* The wrapper of k, named with c->prefix, calling body_name (defined in this module or declared). */
static void emit_wrapper(struct cg *c, const struct codegen_kernel *k, const char *body_name) {
    LLVMTypeRef body_type;
    int n_ptrs = kernel_params(c, k, &body_type);
    LLVMValueRef body = LLVMGetNamedFunction(c->mod, body_name);
    if (!body) body = LLVMAddFunction(c->mod, body_name, body_type);
    char name[160];
    codegen_kernel_name(name, sizeof name, c->prefix, k);
    LLVMTypeRef wparams[3] = {c->ptr, c->i64, c->i64};
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, wparams, 3, 0));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, enum_attr(c, "nounwind"));
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
    for (int i = 0; i < n_ptrs; i++) {
        LLVMValueRef s = i64c(c, c->slots[i]);
        LLVMValueRef p = LLVMBuildInBoundsGEP2(c->b, c->ptr, LLVMGetParam(fn, 0), &s, 1, "");
        c->args[i] = LLVMBuildLoad2(c->b, c->ptr, p, "");
    }
    c->args[n_ptrs] = LLVMGetParam(fn, 1);
    c->args[n_ptrs + 1] = LLVMGetParam(fn, 2);
    LLVMBuildCall2(c->b, body_type, body, c->args, (unsigned)n_ptrs + 2, "");
    LLVMBuildRetVoid(c->b);
}

/* What kernel first + i gets: its body and wrapper, its body alone (named body_names[i]), or its
 * wrapper alone (calling body_names[i]). */
enum emit_part { EMIT_KERNEL, EMIT_BODY, EMIT_WRAPPER };

static int add_kernels(LLVMModuleRef mod, const struct ir_graph *g, const struct codegen_plan *plan, int first,
                       int count, int fma, const char *prefix, enum emit_part part, const char *const *body_names) {
    struct cg c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.plan = plan;
    c.ctx = LLVMGetModuleContext(mod);
    c.fma = fma;
    c.prefix = prefix;
    c.mod = mod;
    c.b = LLVMCreateBuilderInContext(c.ctx);
    c.f32 = LLVMFloatTypeInContext(c.ctx);
    c.i64 = LLVMInt64TypeInContext(c.ctx);
    c.ptr = LLVMPointerTypeInContext(c.ctx, 0);
    c.void_t = LLVMVoidTypeInContext(c.ctx);
    size_t n = (size_t)plan->n_slots + CODEGEN_MAX_ROOTS + 2; /* slots: the roots', then each slot read */
    c.slot_ptr = calloc(n, sizeof *c.slot_ptr);
    c.used = malloc(n);
    c.slots = malloc(n * sizeof *c.slots);
    c.types = malloc(n * sizeof *c.types);
    c.args = malloc(n * sizeof *c.args);
    int ok = c.slot_ptr && c.used && c.slots && c.types && c.args;
    for (int i = first; ok && i < first + count; i++) {
        const struct codegen_kernel *k = &plan->kernels[i];
        if (part == EMIT_KERNEL) {
            char kname[160], name[176];
            codegen_kernel_name(kname, sizeof kname, prefix, k);
            snprintf(name, sizeof name, "%s.body", kname);
            emit_wrapper(&c, k, LLVMGetValueName(emit_body(&c, k, name, 1)));
        } else if (part == EMIT_BODY) {
            emit_body(&c, k, body_names[i - first], 0);
        } else {
            emit_wrapper(&c, k, body_names[i - first]);
        }
    }
    free(c.slot_ptr);
    free(c.used);
    free(c.slots);
    free(c.types);
    free(c.args);
    LLVMDisposeBuilder(c.b);
    return ok ? 0 : -1;
}

int codegen_add_kernels(LLVMModuleRef mod, const struct ir_graph *g, const struct codegen_plan *plan, int first,
                        int count, int fma, const char *prefix) {
    return add_kernels(mod, g, plan, first, count, fma, prefix, EMIT_KERNEL, NULL);
}

int codegen_add_body(LLVMModuleRef mod, const struct ir_graph *g, const struct codegen_plan *plan, int kernel, int fma,
                     const char *name) {
    const char *names[1] = {name};
    return add_kernels(mod, g, plan, kernel, 1, fma, "", EMIT_BODY, names);
}

int codegen_add_wrappers(LLVMModuleRef mod, const struct ir_graph *g, const struct codegen_plan *plan,
                         const char *const *body_names) {
    return add_kernels(mod, g, plan, 0, plan->n_kernels, 0, "", EMIT_WRAPPER, body_names);
}
