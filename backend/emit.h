/* emit.h: internal to backend/: the state of one kernel's emission and the small LLVM-building helpers
 * that codegen.c and conv.c (the convolution kernels) share. */
#ifndef EBMC_EMIT_H
#define EBMC_EMIT_H

#include <stdio.h>

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
    LLVMValueRef tile;               /* a matmul kernel's accumulator tile (an alloca) */
    int n_known;                     /* while storing roots: roots [0, n_known) are computed, */
    LLVMValueRef root_value[CODEGEN_MAX_ROOTS]; /* with these values at the current element */
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
};

static inline LLVMValueRef loop_begin(struct cg *c, struct loop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name) {
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
    char label[32];
    snprintf(label, sizeof label, "%s.loop", name);
    l->head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, label);
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
    LLVMBuildBr(c->b, l->head);
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

/* Stores element idx of the kernel's results given v, the main loop's value there: through the
 * epilogue (the kernel's other roots) if it has one (codegen.c). */
void codegen_store_result(struct cg *c, LLVMValueRef idx, LLVMValueRef v);
/* acc + x * y for floats or vectors of them: llvm.fma when the CPU has FMA, else mul then add. */
LLVMValueRef codegen_mul_add(struct cg *c, LLVMValueRef x, LLVMValueRef y, LLVMValueRef acc);

/* ---- conv.c ---- */

/* The kernel of a conv node (c->main) over items [lo, hi) of its parallel axis (conv_range). */
void conv_emit_kernel(struct cg *c, LLVMValueRef lo, LLVMValueRef hi);

#endif
