/* codegen.h: internal to backend/. plan.c turns a verified graph into a plan (which nodes are fused
 * into which kernel, which buffer slot holds each stored value, where each slot lives in the arena);
 * codegen.c turns the plan into an LLVM module of kernels; jit.c optimizes, JIT-compiles and runs it.
 * Nothing outside backend/ includes this.
 *
 * Every kernel is `void k<id>(float **bufs, int64_t lo, int64_t hi)`: it reads its operands from
 * bufs[slot] and computes items [lo, hi) of its parallel axis (flat elements for elementwise ops and
 * broadcasts, output elements for sums, rows for matmuls: [b M] rows of a batched one; output rows
 * (image, row) for conv2d and conv2d_bwd_data, rows of dw for conv2d_bwd_weight). Each output
 * element is computed by exactly one call with a loop order that does not depend on [lo, hi), and no
 * instruction has fast-math flags, so results are bitwise the same for any split. */
#ifndef EBMC_CODEGEN_H
#define EBMC_CODEGEN_H

#include <llvm-c/Core.h>
#include <stddef.h>
#include <stdint.h>

#include "ebmc_aot.h"
#include "ir.h"

enum codegen_kernel_kind {
    CODEGEN_NODE,      /* computes node */
    CODEGEN_TRANSPOSE, /* stores conv2d_bwd_data's weight transposed (codegen_transpose_dims) */
};

/* The most values one kernel stores: Adam needs 3 (m, v and the parameter, from one gradient). */
#define CODEGEN_MAX_ROOTS 8

struct codegen_kernel {
    enum codegen_kernel_kind kind;
    int node;      /* the node it stores (its first root) or transposes */
    int main;      /* -1, or the sum or matmul whose loop the kernel runs, the roots being its epilogue */
    int slot;      /* the buffer it writes (root r: slot + r) */
    int n_roots;   /* the nodes it stores, all at the same flat index, ascending: */
    int roots[CODEGEN_MAX_ROOTS]; /* a later root may read an earlier one */
    int64_t range; /* its parallel axis is [0, range) */
    int64_t work;  /* rough operation count: decides whether splitting it across threads pays */
};

struct codegen_plan {
    int n_nodes;
    /* Per node: the slot of bufs[] that holds its value, or -1 if it has none: a constant (an immediate
     * in its users), a node inlined into its consumer's kernel, or a kernel's main loop. Reshape and
     * stop_grad share their input's slot. */
    int *slot;
    int *transposed;     /* per node: the slot holding its transpose, or -1 */
    int n_args;          /* slots [0, n_args) are the caller's buffers, in ir_graph_args() order */
    int n_slots;         /* slots [n_args, n_slots) belong to the program */
    int64_t *slot_numel; /* per slot: its element count */
    int64_t *slot_offset;    /* per program slot: its byte offset in the arena (64-byte aligned) */
    int64_t arena_bytes;     /* the arena: the peak of the live program slots */
    int64_t unplanned_bytes; /* what the program slots would take with a buffer each */
    struct codegen_kernel *kernels; /* in execution order */
    int n_kernels;
};

struct codegen_options {
    int no_fusion;          /* one kernel per computed node, as before fusion */
    int no_memory_planning; /* every slot its own range of the arena */
};

/* Plans kernels and buffers for a verified graph (opts may be NULL: fuse and plan memory). Returns 0,
 * or -1 with a message (out of memory). */
int codegen_plan(const struct ir_graph *g, const struct codegen_options *opts, struct codegen_plan *plan, char *err,
                 size_t errlen);
void codegen_plan_free(struct codegen_plan *plan);


/* Whether node n reads operand i from a transposed copy (plan->transposed), which a CODEGEN_TRANSPOSE
 * kernel stores before the first kernel that reads it: conv2d_bwd_data's weight (conv.c). A matmul
 * reads a transposed A or B in place, as it packs it (matmul.c). */
int codegen_reads_transposed(const struct ir_node *n, int operand);
/* The matrix that the transpose of a conv weight x [O, C, kh, kw] transposes: [O, C kh kw]. */
void codegen_transpose_dims(const struct ir_node *x, int64_t *rows, int64_t *cols);

/* The host's vector lanes (floats) and vector registers: AVX-512 has 32 registers of 16 floats, AVX2 16
 * of 8. A kernel's register tile (accumulators and the operands they keep live) must fit in them, or
 * LLVM spills in the inner loop. */
void codegen_host_vectors(int *lanes, int *regs);

/* The matmul kernel's blocking (matmul.c), for a matmul whose op(A) has m rows, op(B) n columns and
 * both k values of the inner dimension per batch: tiles of `rows` rows of C by `vecs` vectors of `lanes`
 * floats (cols = vecs lanes columns) stay in registers through a pass over `kc` values of k, reading a
 * kc x cols panel of op(B) (packed, in a slab of nc columns) and a rows x kc strip of op(A) (packed, in
 * a block of mc rows). Or, `narrow` (C of a few columns, op(A) = A), each element of C is a dot product
 * along k. */
struct codegen_matmul_tile {
    int lanes, vecs, cols, rows, kc, mc, nc, narrow;
};
void codegen_matmul_tile(int64_t m, int64_t n, int64_t k, int trans_a, struct codegen_matmul_tile *t);

/* Independent partial sums per reduction (codegen.c): one AVX-512 vector of floats. */
#define CODEGEN_SUM_LANES 16

/* A conv node's kernel (conv.c): its parallel axis [0, range) and its multiply-add count. */
void codegen_conv_plan(const struct ir_graph *g, const struct ir_node *n, int64_t *range, int64_t *work);
/* Its kernel's tiles (conv.c), for what inspect prints. conv2d and bwd_data: tiles of `channels`
 * output channels by `rows` output rows `row_step` apart (one row phase), the parallel items being
 * `groups` groups of rows per image; bwd_weight: `channels` rows of dw per tile. pack: rows side by
 * side in each pixel vector (of dy for bwd_weight). copies: whether it reads the pixel operand from a
 * copy of its rows split into phases: the phase count (the stride; 1 for bwd_data, whose copy only adds
 * zeros around, and for bwd_weight's packed rows at stride 1), or 0 for no copy. */
struct codegen_conv_tiles {
    int rows, pack, channels, copies;
    int64_t row_step, groups;
};
void codegen_conv_tiles(const struct ir_graph *g, const struct ir_node *n, struct codegen_conv_tiles *t);

/* Whether the add or mul n computes in[1] op in[0] (a canonical order: plan.c). */
int codegen_swaps_operands(const struct ir_graph *g, const struct ir_node *n);

/* Sets used[s] (n_slots entries) for every slot kernel k reads and, when order is not NULL, lists those
 * slots in order[] as the kernel first reads them (operand by operand), returning how many. */
int codegen_kernel_reads(const struct ir_graph *g, const struct codegen_plan *plan, const struct codegen_kernel *k,
                         char *used, int *order);

/* The kernel's symbol name: prefix, then "k12" (computes node 12) or "t5" (transposes node 5). */
void codegen_kernel_name(char *buf, size_t len, const char *prefix, const struct codegen_kernel *k);

/* The runner's description of the planned program (arguments, outputs, arena layout, kernel ranges;
 * kernel functions left NULL for the caller). Arrays and names are malloc'd: free with
 * codegen_describe_free. Returns 0, or -1 when out of memory. */
int codegen_describe(const struct ir_graph *g, const struct codegen_plan *plan, const char *name,
                     struct ebmc_aot_program *d);
void codegen_describe_free(struct ebmc_aot_program *d);

/* Adds the plan's kernels [first, first + count) to mod, named with prefix (see codegen_kernel_name);
 * fma: the target has fused multiply-add (else mul + add). Each kernel is self-contained (no function
 * or global shared with another), so kernels can go to separate modules. Returns 0, or -1 when out of
 * memory. */
int codegen_add_kernels(LLVMModuleRef mod, const struct ir_graph *g, const struct codegen_plan *plan, int first,
                        int count, int fma, const char *prefix);

/* The two halves of a kernel for separate modules: codegen_add_body adds the body of kernel `kernel`
 * alone, exported as `name`; it computes the same thing whatever slots the kernel reads and writes, so
 * one compiled body can serve every kernel whose body prints the same. codegen_add_wrappers adds the
 * plan's kernels k<id> (unprefixed), each calling body_names[k] (declared, defined elsewhere). Return 0,
 * or -1 when out of memory. */
int codegen_add_body(LLVMModuleRef mod, const struct ir_graph *g, const struct codegen_plan *plan, int kernel, int fma,
                     const char *name);
int codegen_add_wrappers(LLVMModuleRef mod, const struct ir_graph *g, const struct codegen_plan *plan,
                         const char *const *body_names);

#endif
