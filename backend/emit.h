/* emit.h: internal to backend/: the state of one kernel's emission and the small LLVM-building helpers
 * that codegen.c and conv.c (the convolution kernels) share. */
#ifndef EBMC_EMIT_H
#define EBMC_EMIT_H

#include <stdio.h>

#include <llvm-c/DebugInfo.h>

#include "codegen.h"

struct cg {
    const struct ir_graph *g;
    const struct codegen_plan *plan;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, i64, ptr, void_t;
    int fma;                 /* the CPU has fused multiply-add */
    const char *prefix;      /* of kernel symbol names */
    LLVMValueRef fn;                 /* the kernel body being emitted */
    const struct codegen_kernel *k;  /* ... and its plan */
    int out;                         /* the slot of its first root (a main loop accumulates there) */
    int root, main;                  /* its first root; its main loop's node (root itself without epilogue) */
    LLVMValueRef main_value;         /* while emitting the epilogue: the main loop's finished value */
    int n_known;                     /* while storing roots: roots [0, n_known) are computed, */
    LLVMValueRef root_value[CODEGEN_MAX_ROOTS]; /* with these values at the current element */
    /* While storing a vector of results (codegen_store_results): its lanes, 0 otherwise; the i1 mask of
     * the lanes that exist and their count, NULL when all do; the size of the aligned blocks of the
     * output's elements one of which holds all the lanes. */
    int vl;
    LLVMValueRef lanes_on, lanes_n;
    int64_t lane_block;
    LLVMValueRef *slot_ptr;  /* per slot: the body's pointer parameter, NULL if the kernel does not use it */
    /* scratch, n_slots + 2 entries each */
    char *used;
    int *slots;
    LLVMTypeRef *types;
    LLVMValueRef *args;
};


static inline LLVMValueRef i64c(struct cg *c, int64_t v) { return LLVMConstInt(c->i64, (unsigned long long)v, 1); }
static inline LLVMValueRef f32c(struct cg *c, double v) { return LLVMConstReal(c->f32, v); }

static inline LLVMValueRef iadd(struct cg *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }

static inline LLVMValueRef imul(struct cg *c, LLVMValueRef a, int64_t k) {
    return k == 1 ? a : LLVMBuildNSWMul(c->b, a, i64c(c, k), "");
}

/* a * k + b, the shape of every 2-D index */
static inline LLVMValueRef imad(struct cg *c, LLVMValueRef a, int64_t k, LLVMValueRef b) { return iadd(c, imul(c, a, k), b); }

static inline LLVMValueRef elem_ptr(struct cg *c, int slot, LLVMValueRef idx) {
    return LLVMBuildInBoundsGEP2(c->b, c->f32, c->slot_ptr[slot], &idx, 1, "");
}

static inline LLVMValueRef load_elem(struct cg *c, int slot, LLVMValueRef idx) {
    return LLVMBuildLoad2(c->b, c->f32, elem_ptr(c, slot, idx), "");
}

static inline void store_elem(struct cg *c, int slot, LLVMValueRef idx, LLVMValueRef v) {
    LLVMBuildStore(c->b, v, elem_ptr(c, slot, idx));
}

/* Loops are `for (iv = lo; iv < hi; iv++)`, opened and closed around the body the caller emits. */
struct loop {
    LLVMBasicBlockRef head, exit;
    LLVMValueRef iv;
    int rolled; /* set between loop_begin and loop_end: LLVM must not unroll it (its body fills the registers) */
};

static inline LLVMValueRef loop_begin(struct cg *c, struct loop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name) {
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
    char label[32];
    snprintf(label, sizeof label, "%s.loop", name);
    l->head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, label);
    l->rolled = 0;
    snprintf(label, sizeof label, "%s.body", name);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, label);
    snprintf(label, sizeof label, "%s.end", name);
    l->exit = LLVMAppendBasicBlockInContext(c->ctx, c->fn, label);
    LLVMBuildBr(c->b, l->head);
    LLVMPositionBuilderAtEnd(c->b, l->head);
    l->iv = LLVMBuildPhi(c->b, c->i64, name);
    LLVMAddIncoming(l->iv, &lo, &pre, 1);
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, l->iv, hi, ""), body, l->exit);
    LLVMPositionBuilderAtEnd(c->b, body);
    return l->iv;
}

static inline LLVMValueRef loop_to(struct cg *c, struct loop *l, int64_t n, const char *name) {
    return loop_begin(c, l, i64c(c, 0), i64c(c, n), name);
}

static inline void loop_end(struct cg *c, struct loop *l) {
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
    LLVMValueRef next = iadd(c, l->iv, i64c(c, 1));
    LLVMValueRef br = LLVMBuildBr(c->b, l->head);
    if (l->rolled) { /* llvm.loop !{self, !{"llvm.loop.unroll.disable"}} */
        LLVMMetadataRef self = LLVMTemporaryMDNode(c->ctx, NULL, 0);
        LLVMMetadataRef off = LLVMMDStringInContext2(c->ctx, "llvm.loop.unroll.disable", 24);
        LLVMMetadataRef ops[2] = {self, LLVMMDNodeInContext2(c->ctx, &off, 1)};
        LLVMMetadataRef id = LLVMMDNodeInContext2(c->ctx, ops, 2);
        LLVMMetadataReplaceAllUsesWith(self, id);
        LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c->ctx, "llvm.loop", 9), LLVMMetadataAsValue(c->ctx, id));
    }
    LLVMAddIncoming(l->iv, &next, &latch, 1);
    LLVMMoveBasicBlockAfter(l->exit, latch); /* keeps the printed IR in reading order */
    LLVMPositionBuilderAtEnd(c->b, l->exit);
}

/* Accumulators live in the entry block, so that SROA turns them into registers. */
static inline LLVMValueRef entry_alloca(struct cg *c, LLVMTypeRef type) {
    LLVMBuilderRef eb = LLVMCreateBuilderInContext(c->ctx);
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first) LLVMPositionBuilderBefore(eb, first);
    else LLVMPositionBuilderAtEnd(eb, entry);
    LLVMValueRef a = LLVMBuildAlloca(eb, type, "acc");
    LLVMDisposeBuilder(eb);
    return a;
}

/* ---- vectors ---- */

static inline LLVMTypeRef vec_type(struct cg *c, int n) { return LLVMVectorType(c->f32, (unsigned)n); }

static inline LLVMValueRef i32c(struct cg *c, int v) {
    return LLVMConstInt(LLVMInt32TypeInContext(c->ctx), (unsigned)v, 0);
}

/* x in all vl lanes. */
static inline LLVMValueRef splat(struct cg *c, LLVMValueRef x, int vl) {
    LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetPoison(vec_type(c, vl)), x, i32c(c, 0), "");
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(LLVMInt32TypeInContext(c->ctx), (unsigned)vl));
    return LLVMBuildShuffleVector(c->b, v, LLVMGetPoison(vec_type(c, vl)), zeros, "");
}

/* Accumulators: an alloca of n vectors indexed by constants, which SROA turns into registers. */
static inline LLVMValueRef acc_slot(struct cg *c, LLVMValueRef acc, int n, int i, int vl) {
    LLVMValueRef idx[2] = {i64c(c, 0), i64c(c, i)};
    return LLVMBuildInBoundsGEP2(c->b, LLVMArrayType2(vec_type(c, vl), (unsigned)n), acc, idx, 2, "");
}

static inline LLVMValueRef acc_get(struct cg *c, LLVMValueRef acc, int n, int i, int vl) {
    return LLVMBuildLoad2(c->b, vec_type(c, vl), acc_slot(c, acc, n, i, vl), "");
}

static inline void acc_set(struct cg *c, LLVMValueRef acc, int n, int i, int vl, LLVMValueRef v) {
    LLVMBuildStore(c->b, v, acc_slot(c, acc, n, i, vl));
}

/* Masked vector loads of floats at ptr: lane e is read where the i1 vector mask has it on; the lanes off
 * are never touched (they may lie outside the buffer) and load as 0. (Stores: store_first.) */
static inline LLVMValueRef masked_load_with(struct cg *c, LLVMValueRef ptr, LLVMValueRef mask) {
    LLVMTypeRef wt = vec_type(c, (int)LLVMGetVectorSize(LLVMTypeOf(mask))), types[2] = {wt, c->ptr};
    unsigned iid = LLVMLookupIntrinsicID("llvm.masked.load", 16);
    LLVMValueRef args[4] = {ptr, i32c(c, 4), mask, LLVMConstNull(wt)};
    return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, iid, types, 2),
                          LLVMGetIntrinsicDeclaration(c->mod, iid, types, 2), args, 4, "");
}

/* The constant mask with lane e on where on[e]. */
static inline LLVMValueRef lane_mask(struct cg *c, const int *on, int width) {
    LLVMValueRef mask[64];
    for (int e = 0; e < width; e++) mask[e] = LLVMConstInt(LLVMInt1TypeInContext(c->ctx), (unsigned long long)on[e], 0);
    return LLVMConstVector(mask, (unsigned)width);
}

static inline LLVMValueRef masked_load(struct cg *c, LLVMValueRef ptr, const int *on, int width) {
    return masked_load_with(c, ptr, lane_mask(c, on, width));
}

/* The sum of v's lanes in a fixed tree: halves added until one lane is left. */
static inline LLVMValueRef lane_sum(struct cg *c, LLVMValueRef v) {
    for (int w = (int)LLVMGetVectorSize(LLVMTypeOf(v)) / 2; w >= 1; w /= 2) {
        LLVMValueRef lo[32], hi[32];
        for (int l = 0; l < w; l++) lo[l] = i32c(c, l), hi[l] = i32c(c, w + l);
        LLVMValueRef poison = LLVMGetPoison(LLVMTypeOf(v));
        LLVMValueRef a = LLVMBuildShuffleVector(c->b, v, poison, LLVMConstVector(lo, (unsigned)w), "");
        LLVMValueRef b = LLVMBuildShuffleVector(c->b, v, poison, LLVMConstVector(hi, (unsigned)w), "");
        v = LLVMBuildFAdd(c->b, a, b, "");
    }
    return LLVMBuildExtractElement(c->b, v, i32c(c, 0), "");
}

/* Lanes [0, n) of v stored at ptr, 0 < n < its width (n an i64, constant or not), as at most one
 * store of each power of two below the width: a loop of masked stores (vmaskmovps) ran at 5.8 ns a
 * store on this Zen 3, one of plain stores at 1.0 ns (the bound of its 3-cycle add chain). */
static inline void store_first(struct cg *c, LLVMValueRef ptr, LLVMValueRef v, LLVMValueRef n) {
    int width = (int)LLVMGetVectorSize(LLVMTypeOf(v));
    LLVMValueRef lanes[64];
    for (int w = width / 2; w >= 1; w /= 2) {
        LLVMValueRef on = LLVMBuildICmp(c->b, LLVMIntNE, LLVMBuildAnd(c->b, n, i64c(c, w), ""), i64c(c, 0), "");
        for (int l = 0; l < w; l++) lanes[l] = i32c(c, l);
        LLVMValueRef low = w == 1 ? LLVMBuildExtractElement(c->b, v, i32c(c, 0), "")
                                  : LLVMBuildShuffleVector(c->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(lanes, (unsigned)w), "");
        if (LLVMIsConstant(on)) {
            if (!LLVMConstIntGetZExtValue(on)) continue;
            LLVMSetAlignment(LLVMBuildStore(c->b, low, ptr), 4);
        } else {
            LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "part");
            LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "parted");
            LLVMBuildCondBr(c->b, on, yes, next);
            LLVMPositionBuilderAtEnd(c->b, yes);
            LLVMSetAlignment(LLVMBuildStore(c->b, low, ptr), 4);
            LLVMBuildBr(c->b, next);
            LLVMPositionBuilderAtEnd(c->b, next);
        }
        if (w == 1) break;
        /* the lanes left move down by w where these were stored */
        for (int l = 0; l < width; l++) lanes[l] = i32c(c, l + w < width ? l + w : width - 1);
        LLVMValueRef rest = LLVMBuildShuffleVector(c->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(lanes, (unsigned)width), "");
        v = LLVMBuildSelect(c->b, on, rest, v, "");
        ptr = LLVMBuildInBoundsGEP2(c->b, c->f32, ptr, (LLVMValueRef[]){LLVMBuildSelect(c->b, on, i64c(c, w), i64c(c, 0), "")}, 1, "");
    }
}

/* Batches. A batched kernel's parallel axis is the rows of every batch, batch after batch ([b M] rows of
 * C for a matmul); a range [lo, hi) of it may start and end anywhere. The kernel loops over the batches
 * it overlaps and, for each, over its rows within [lo, hi): a block of rows never straddles two batches.
 * Each element is still computed by the same code whatever [lo, hi) is. With one batch, no loop. */
struct batch_loop {
    struct loop l;
    int64_t batch;
    LLVMValueRef bt, lo, hi; /* the batch, and the range of its rows (within it) to compute */
};

void codegen_batch_begin(struct cg *c, struct batch_loop *bl, int64_t batch, int64_t rows, LLVMValueRef lo,
                         LLVMValueRef hi);
void codegen_batch_end(struct cg *c, struct batch_loop *bl);

/* Element idx (flat, row-major) of node id: a load from its buffer, or computed in place (codegen.c). */
LLVMValueRef codegen_value(struct cg *c, int id, LLVMValueRef idx);

/* Stores element idx of the kernel's results given v, the main loop's value there: through the
 * epilogue (the kernel's other roots) if it has one (codegen.c). */
void codegen_store_result(struct cg *c, LLVMValueRef idx, LLVMValueRef v);

/* The same for elements idx .. idx + vl - 1 at once, v the vector of the main loop's values there: n
 * (an i64, 1 <= n <= vl), if not NULL, the number of those elements that exist (the others are neither
 * read nor written); the lanes that exist lie in one aligned block of lane_block elements of the output
 * (a row, an image plane), which tells how they map through broadcasts. */
void codegen_store_results(struct cg *c, LLVMValueRef idx, LLVMValueRef v, LLVMValueRef n, int64_t lane_block);
/* acc + x * y for floats or vectors of them: llvm.fma when the CPU has FMA, else mul then add. */
LLVMValueRef codegen_mul_add(struct cg *c, LLVMValueRef x, LLVMValueRef y, LLVMValueRef acc);

/* ---- matmul.c ---- */

/* The kernel of a matmul node (c->main) over rows [lo, hi) of C ([b M] rows for a batched one). */
void matmul_emit_kernel(struct cg *c, LLVMValueRef lo, LLVMValueRef hi);

/* ---- conv.c ---- */

/* The kernel of a conv node (c->main) over items [lo, hi) of its parallel axis (conv_range). */
void conv_emit_kernel(struct cg *c, LLVMValueRef lo, LLVMValueRef hi);
/* The transposed copy of the weight node id into slot out, rows [lo, hi) of it (a CODEGEN_TRANSPOSE
 * kernel). */
void conv_emit_weight_transpose(struct cg *c, int id, int out, LLVMValueRef lo, LLVMValueRef hi);

#endif
