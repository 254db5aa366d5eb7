/* matmul.c: the matmul kernel, 2-D or batched, in explicit vector code.
 *
 * C = op(A) op(B) over rows [lo, hi) of C, blocked as BLIS blocks a GEMM, for reuse in registers, L1
 * and L2:
 *
 *   for each pass over kc consecutive values of k (the last pass takes the rest of K):
 *     for each slab of at most nc columns of C:
 *       pack op(B): its kc x nc block, panel by panel (kc x cols each, contiguous, zero-padded past the
 *                   last column), into a buffer on the stack;
 *       for each block of at most mc rows of [lo, hi):
 *         pack op(A): its mc x kc block, tile by tile (kc x rows each, in the order the k loop reads
 *                     it), into a buffer on the stack that stays in L2;
 *         for each panel of the slab (the last panel of C may be narrower), which stays in L1:
 *           for each tile of `rows` rows of the block:
 *             rows x vecs accumulator vectors, in registers through the pass: for each k, `vecs`
 *             vectors of the panel, each multiplied by op(A)[i, k] broadcast, for each row i of the
 *             tile (the k loop unrolled by MM_UNROLL in large matmuls); then stored to C (through
 *             the epilogue after the last pass).
 *
 * On AVX2 (16 registers of 8 floats) a tile is 6 rows x 2 vectors: 12 accumulators, the 2 vectors of B
 * and the broadcast A; kc = 256, mc = 126, nc = 512. codegen_matmul_tile chooses these from the host's
 * registers; inspect.c prints the same choice.
 *
 * Why the packing (a 1024^3 matmul, 1 thread, AVX2, interleaved in one process): reading op(A) in
 * place, a tile broadcast from `rows` rows K floats apart, which for K = 1024 share L1 sets; packed,
 * from one contiguous stream (about 10% faster). op(B) was packed per panel for every block of rows,
 * each time from kc rows N floats apart (cache and TLB misses that the copy waited for: 8-9% of the
 * time); packed once per slab, its panels are read back contiguously by each block (7-10% faster). The
 * unrolled k loop gained 3-5% on 1024^3 and on the 128-wide MLP layers; in matmuls of fewer than
 * MM_UNROLL_WORK multiply-adds (a time embedding's, cifar_time's 14 of them), whose run time is
 * microseconds, it is not worth its compile time (a quarter of theirs, 200 ms of LLVM's time in all).
 *
 * A tile that would run past hi repeats row hi - 1 in its missing rows (packed so): they store row
 * hi - 1's own values again, so one tile code serves every [lo, hi).
 *
 * Determinism: each element of C is a chain of FMAs over k in order from 0, its partial sum kept in C
 * (as a float, exactly) between passes, whatever the tile, the panel or the range [lo, hi): results are
 * bitwise the same for any split of the rows, hence any thread count. */
#include "emit.h"

#define MM_VECS 2             /* vectors of B per tile row: 2 leaves the most registers for rows */
#define MM_MAX_ROWS 16        /* rows per tile, at most */
#define MM_MAX_LANES 16       /* floats per vector, at most (AVX-512) */
#define MM_UNROLL 4           /* values of k per trip of a tile's loop */
#define MM_UNROLL_WORK (1 << 22) /* multiply-adds of a matmul (all batches) from which it is unrolled */
#define MM_PANEL_BYTES 16384  /* a kc x cols panel of op(B): half of a 32 KiB L1, the rest for A and C */
#define MM_BLOCK_BYTES 131072 /* the packed mc x kc block of op(A): a quarter of a 512 KiB L2 */
#define MM_SLAB_BYTES 524288  /* the packed kc x nc slab of op(B) (with the block: within any thread's stack) */
#define MM_NARROW 4           /* columns of C, at most, for a narrow matmul (below) */
#define MM_NARROW_BYTES 65536 /* its packed op(B) and row of op(A), at most */

void codegen_matmul_tile(int64_t m, int64_t n, int64_t k, int trans_a, struct codegen_matmul_tile *t) {
    int regs;
    codegen_host_vectors(&t->lanes, &regs);
    int64_t k_padded = (k + t->lanes - 1) / t->lanes * t->lanes;
    t->narrow = n <= MM_NARROW && !trans_a && (n + 1) * k_padded * (int64_t)sizeof(float) <= MM_NARROW_BYTES;
    t->vecs = MM_VECS;
    t->cols = t->vecs * t->lanes;
    t->rows = (regs - 1 - t->vecs) / t->vecs; /* rows vecs accumulators, vecs vectors of B, one of A */
    if (t->rows > MM_MAX_ROWS) t->rows = MM_MAX_ROWS;
    if (t->rows > m) t->rows = (int)m;
    t->kc = MM_PANEL_BYTES / (t->cols * (int)sizeof(float));
    t->mc = MM_BLOCK_BYTES / (t->kc * (int)sizeof(float)) / t->rows * t->rows;
    int64_t panels = (n + t->cols - 1) / t->cols, most = MM_SLAB_BYTES / (t->kc * (int)sizeof(float)) / t->cols;
    t->nc = (int)(panels < most ? panels : most) * t->cols;
}

struct mm {
    int a, b;           /* the operand nodes */
    int ta, tb;         /* op(A) = A^T (A stored [K, M]), op(B) = B^T (B stored [N, K]) */
    int64_t m, k, n;    /* per batch */
    /* The flat offsets of the current batch's matrices in A, B and C: batch bt's are bt M K, bt K N and
     * bt M N (all 0 for a 2-D matmul). Row indices are within the batch. */
    LLVMValueRef a_base, b_base, c_base;
    struct codegen_matmul_tile t;
    int64_t kc;         /* values of k in a pass, at most (the last may have fewer): t.kc, or K if smaller */
    int unroll;         /* values of k per trip of a tile's loop: MM_UNROLL, or 1 in a small matmul */
    LLVMValueRef slab;  /* [nc kc] floats: the packed slab of op(B), panel by panel, [k][cols] in each */
    LLVMValueRef block; /* [mc kc] floats: the packed block of op(A), tile by tile, [k][rows] in each */
    LLVMValueRef sums;  /* [rows cols] floats: a tile's sums for the epilogue, read back a row at a time */
    LLVMValueRef acc;   /* [rows vecs] vectors: the accumulators */
};

static LLVMValueRef float_at(struct cg *c, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildInBoundsGEP2(c->b, c->f32, base, &idx, 1, "");
}

/* Vector v of a tile row whose first column is ptr, of which `width` columns exist: a plain load or
 * store when the vector is whole, else a masked load (the lanes past the end are 0) or a store of the
 * lanes that exist (store_first). */
static LLVMValueRef tile_load(struct cg *c, const struct mm *mm, LLVMValueRef ptr, int v, int64_t width) {
    int vl = mm->t.lanes, on[64] = {0};
    ptr = float_at(c, ptr, i64c(c, (int64_t)v * vl));
    for (int l = 0; l < vl; l++) on[l] = (int64_t)v * vl + l < width;
    if (on[vl - 1]) {
        LLVMValueRef x = LLVMBuildLoad2(c->b, vec_type(c, vl), ptr, "");
        LLVMSetAlignment(x, 4);
        return x;
    }
    return masked_load(c, ptr, on, vl);
}

static void tile_store(struct cg *c, const struct mm *mm, LLVMValueRef ptr, int v, int64_t width, LLVMValueRef x) {
    int vl = mm->t.lanes, on[64] = {0};
    ptr = float_at(c, ptr, i64c(c, (int64_t)v * vl));
    for (int l = 0; l < vl; l++) on[l] = (int64_t)v * vl + l < width;
    if (on[vl - 1]) LLVMSetAlignment(LLVMBuildStore(c->b, x, ptr), 4);
    else store_first(c, ptr, x, i64c(c, width - (int64_t)v * vl));
}

/* panel[k, j] = op(B)[k0 + k, j0 + j] for k < kn and j < width; 0 for the columns up to the end of the
 * last vector. B^T is read down its rows (k inner), B along its rows (j inner): either way in the order
 * it is stored. */
static void pack_panel(struct cg *c, const struct mm *mm, LLVMValueRef panel, LLVMValueRef k0, LLVMValueRef kn,
                       LLVMValueRef j0, int64_t width) {
    int64_t cols = mm->t.cols, padded = (width + mm->t.lanes - 1) / mm->t.lanes * mm->t.lanes;
    struct loop lk, lj;
    LLVMValueRef j, k;
    if (mm->tb) {
        j = loop_to(c, &lj, width, "pj");
        k = loop_begin(c, &lk, i64c(c, 0), kn, "pack");
    } else {
        k = loop_begin(c, &lk, i64c(c, 0), kn, "pack");
        j = loop_to(c, &lj, width, "pj");
    }
    LLVMValueRef kk = iadd(c, k0, k), jj = iadd(c, j0, j);
    LLVMValueRef idx = iadd(c, mm->b_base, mm->tb ? imad(c, jj, mm->k, kk) : imad(c, kk, mm->n, jj));
    LLVMBuildStore(c->b, codegen_value(c, mm->b, idx), float_at(c, panel, imad(c, k, cols, j)));
    loop_end(c, mm->tb ? &lk : &lj);
    loop_end(c, mm->tb ? &lj : &lk);
    if (padded > width) {
        k = loop_begin(c, &lk, i64c(c, 0), kn, "pad");
        for (int64_t z = width; z < padded; z++)
            LLVMBuildStore(c->b, f32c(c, 0), float_at(c, panel, imad(c, k, cols, i64c(c, z))));
        loop_end(c, &lk);
    }
}

/* The panels of columns [s0, s0 + width) (a slab) over k in [k0, k0 + kn), panel p at slab[p kc cols]. */
static void pack_slab(struct cg *c, const struct mm *mm, LLVMValueRef s0, int64_t width, LLVMValueRef k0, LLVMValueRef kn) {
    int64_t cols = mm->t.cols, full = width / cols, kc = mm->kc;
    if (full > 0) {
        struct loop lp;
        LLVMValueRef p = loop_to(c, &lp, full, "bpack");
        pack_panel(c, mm, float_at(c, mm->slab, imul(c, p, kc * cols)), k0, kn, imad(c, p, cols, s0), cols);
        loop_end(c, &lp);
    }
    if (width % cols)
        pack_panel(c, mm, float_at(c, mm->slab, i64c(c, full * kc * cols)), k0, kn, iadd(c, s0, i64c(c, full * cols)),
                   width % cols);
}

/* block[(t kc + k) rows + r] = op(A)[i, k0 + k] for the tiles t of rows [r0, t_end) of a block, i =
 * r0 + t rows + r clamped to hi - 1, k < kn. A is read along its rows (tiles outer, k inner). A^T is read
 * down its rows (k outer, tiles inner): a whole tile's `rows` elements are consecutive there, and are
 * copied as one vector when A^T is stored (copied element by element, A^T made the 128 x 2048 by
 * 2048 x 1 weight gradient of an MLP's last layer about twice as slow as from a transposed copy). */
static void pack_tiles(struct cg *c, const struct mm *mm, LLVMValueRef r0, LLVMValueRef t_from, LLVMValueRef t_end,
                       LLVMValueRef hi, LLVMValueRef k0, LLVMValueRef kn, int whole) {
    int rows = mm->t.rows, slot = c->plan->slot[ir_resolve_alias(c->g, mm->a)];
    int64_t kc = mm->kc;
    LLVMValueRef last_row = LLVMBuildNSWSub(c->b, hi, i64c(c, 1), "");
    struct loop lt, lk;
    LLVMValueRef t, k;
    if (mm->ta) {
        k = loop_begin(c, &lk, i64c(c, 0), kn, "ak");
        t = loop_begin(c, &lt, t_from, t_end, "apack");
    } else {
        t = loop_begin(c, &lt, t_from, t_end, "apack");
        k = loop_begin(c, &lk, i64c(c, 0), kn, "ak");
    }
    LLVMValueRef to = imul(c, imad(c, t, kc, k), rows), kk = iadd(c, k0, k);
    if (whole) { /* A^T stored, the tile's rows all below hi */
        LLVMValueRef i = imad(c, t, rows, r0);
        LLVMValueRef from = elem_ptr(c, slot, iadd(c, mm->a_base, imad(c, kk, mm->m, i)));
        LLVMValueRef v = LLVMBuildLoad2(c->b, vec_type(c, rows), from, "");
        LLVMSetAlignment(v, 4);
        LLVMSetAlignment(LLVMBuildStore(c->b, v, float_at(c, mm->block, to)), 4);
    } else {
        for (int r = 0; r < rows; r++) {
            LLVMValueRef i = iadd(c, imad(c, t, rows, r0), i64c(c, r));
            i = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, i, hi, ""), i, last_row, "");
            LLVMValueRef idx = iadd(c, mm->a_base, mm->ta ? imad(c, kk, mm->m, i) : imad(c, i, mm->k, kk));
            LLVMBuildStore(c->b, codegen_value(c, mm->a, idx), float_at(c, mm->block, iadd(c, to, i64c(c, r))));
        }
    }
    loop_end(c, mm->ta ? &lt : &lk);
    loop_end(c, mm->ta ? &lk : &lt);
}

/* The tiles of rows [r0, r1), over k in [k0, k0 + kn), into the block (pack_tiles). */
static void pack_block(struct cg *c, const struct mm *mm, LLVMValueRef r0, LLVMValueRef r1, LLVMValueRef hi,
                       LLVMValueRef k0, LLVMValueRef kn) {
    int rows = mm->t.rows;
    LLVMValueRef tiles = LLVMBuildSDiv(c->b, iadd(c, LLVMBuildNSWSub(c->b, r1, r0, ""), i64c(c, rows - 1)), i64c(c, rows), "");
    LLVMValueRef whole = i64c(c, 0);
    if (mm->ta && c->plan->slot[ir_resolve_alias(c->g, mm->a)] >= 0) {
        whole = LLVMBuildSDiv(c->b, LLVMBuildNSWSub(c->b, hi, r0, ""), i64c(c, rows), ""); /* tiles below hi */
        whole = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, whole, tiles, ""), whole, tiles, "");
        pack_tiles(c, mm, r0, i64c(c, 0), whole, hi, k0, kn, 1);
    }
    pack_tiles(c, mm, r0, whole, tiles, hi, k0, kn, 0);
}

/* One value of k in a tile: nv vectors of the panel's row k, each times each row's op(A)[i, k] (from the
 * tile's packed a) broadcast. */
static void k_step(struct cg *c, const struct mm *mm, LLVMValueRef panel, LLVMValueRef a, LLVMValueRef k, int nv) {
    const struct codegen_matmul_tile *t = &mm->t;
    int vl = t->lanes, rows = t->rows, n_acc = rows * t->vecs;
    LLVMValueRef bv[MM_VECS];
    for (int v = 0; v < nv; v++) {
        bv[v] = LLVMBuildLoad2(c->b, vec_type(c, vl), float_at(c, panel, imad(c, k, t->cols, i64c(c, v * vl))), "");
        LLVMSetAlignment(bv[v], 4);
    }
    LLVMValueRef a_k = float_at(c, a, imul(c, k, rows));
    for (int r = 0; r < rows; r++) {
        LLVMValueRef x = splat(c, LLVMBuildLoad2(c->b, c->f32, float_at(c, a_k, i64c(c, r)), ""), vl);
        for (int v = 0; v < nv; v++) {
            int i = r * t->vecs + v;
            acc_set(c, mm->acc, n_acc, i, vl, codegen_mul_add(c, x, bv[v], acc_get(c, mm->acc, n_acc, i, vl)));
        }
    }
}

/* The tile's sums, its vectors acc[r vecs + v] for rows crow[r], to C as they are. */
static void store_sums(struct cg *c, const struct mm *mm, LLVMValueRef *crow, int nv, int64_t width) {
    const struct codegen_matmul_tile *t = &mm->t;
    for (int r = 0; r < t->rows; r++)
        for (int v = 0; v < nv; v++)
            tile_store(c, mm, crow[r], v, width, acc_get(c, mm->acc, t->rows * t->vecs, r * t->vecs + v, t->lanes));
}

/* The tile's results through the epilogue, in vectors (codegen_store_results), from its sums in memory:
 * a loop over the rows, not one copy of the epilogue per row, as it may be long (exp, log). */
static void store_results(struct cg *c, const struct mm *mm, LLVMValueRef i0, LLVMValueRef hi, LLVMValueRef j0, int nv,
                          int64_t width) {
    const struct codegen_matmul_tile *t = &mm->t;
    for (int r = 0; r < t->rows; r++)
        for (int v = 0; v < nv; v++) {
            LLVMValueRef p = float_at(c, mm->sums, i64c(c, (int64_t)r * t->cols + v * t->lanes));
            LLVMValueRef x = acc_get(c, mm->acc, t->rows * t->vecs, r * t->vecs + v, t->lanes);
            LLVMSetAlignment(LLVMBuildStore(c->b, x, p), 4);
        }
    struct loop lr;
    LLVMValueRef r = loop_to(c, &lr, t->rows, "epirow");
    LLVMValueRef i = iadd(c, i0, r), last_row = LLVMBuildNSWSub(c->b, hi, i64c(c, 1), "");
    i = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, i, hi, ""), i, last_row, "");
    for (int v = 0; v < nv; v++) {
        int64_t j = (int64_t)v * t->lanes;
        LLVMValueRef x = LLVMBuildLoad2(c->b, vec_type(c, t->lanes), float_at(c, mm->sums, imad(c, r, t->cols, i64c(c, j))), "");
        LLVMSetAlignment(x, 4);
        LLVMValueRef idx = iadd(c, mm->c_base, imad(c, i, mm->n, iadd(c, j0, i64c(c, j))));
        codegen_store_results(c, idx, x, width - j < t->lanes ? i64c(c, width - j) : NULL, mm->n);
    }
    loop_end(c, &lr);
}

/* One tile, rows [i0, i0 + rows) of C (clamped to hi - 1; tile `tile` of the packed block) by columns
 * [j0, j0 + width) (the packed panel), over k in [k0, k0 + kn): from 0 (k0 = 0) or from C's partial
 * sums, to C: through the epilogue in the last pass (`last`), as partial sums before. */
static void emit_tile(struct cg *c, const struct mm *mm, LLVMValueRef panel, LLVMValueRef i0, LLVMValueRef hi,
                      LLVMValueRef tile, LLVMValueRef j0, int64_t width, LLVMValueRef k0, LLVMValueRef kn,
                      LLVMValueRef last) {
    const struct codegen_matmul_tile *t = &mm->t;
    int vl = t->lanes, rows = t->rows, nv = (int)((width + vl - 1) / vl), n_acc = rows * t->vecs;
    LLVMValueRef crow[MM_MAX_ROWS];
    LLVMValueRef first = LLVMBuildICmp(c->b, LLVMIntEQ, k0, i64c(c, 0), "");
    LLVMValueRef last_row = LLVMBuildNSWSub(c->b, hi, i64c(c, 1), "");
    LLVMValueRef a = float_at(c, mm->block, imul(c, tile, mm->kc * rows));
    for (int r = 0; r < rows; r++) {
        LLVMValueRef i = iadd(c, i0, i64c(c, r));
        i = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, i, hi, ""), i, last_row, "");
        crow[r] = float_at(c, c->slot_ptr[c->out], iadd(c, mm->c_base, imad(c, i, mm->n, j0)));
        for (int v = 0; v < nv; v++) {
            LLVMValueRef sum = tile_load(c, mm, crow[r], v, width);
            sum = LLVMBuildSelect(c->b, first, LLVMConstNull(vec_type(c, vl)), sum, "");
            acc_set(c, mm->acc, n_acc, r * t->vecs + v, vl, sum);
        }
    }
    struct loop lk;
    LLVMValueRef whole = LLVMBuildSDiv(c->b, kn, i64c(c, mm->unroll), "");
    LLVMValueRef k = loop_begin(c, &lk, i64c(c, 0), whole, "k");
    for (int u = 0; u < mm->unroll; u++) k_step(c, mm, panel, a, imad(c, k, mm->unroll, i64c(c, u)), nv);
    loop_end(c, &lk);
    if (!LLVMIsConstant(kn) || LLVMConstIntGetSExtValue(kn) % mm->unroll) {
        k = loop_begin(c, &lk, imul(c, whole, mm->unroll), kn, "krest");
        k_step(c, mm, panel, a, k, nv);
        loop_end(c, &lk);
    }
    if (c->main == c->root) {
        store_sums(c, mm, crow, nv, width); /* no epilogue: partial sums and results alike */
    } else if (LLVMIsConstant(last)) { /* the only pass */
        store_results(c, mm, i0, hi, j0, nv, width);
    } else { /* one copy of the tile's loop serves every pass */
        LLVMBasicBlockRef epi = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "epilogue");
        LLVMBasicBlockRef partial = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "partial");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "stored");
        LLVMBuildCondBr(c->b, last, epi, partial);
        LLVMPositionBuilderAtEnd(c->b, epi);
        store_results(c, mm, i0, hi, j0, nv, width);
        LLVMBuildBr(c->b, done);
        LLVMPositionBuilderAtEnd(c->b, partial);
        store_sums(c, mm, crow, nv, width);
        LLVMBuildBr(c->b, done);
        LLVMPositionBuilderAtEnd(c->b, done);
    }
}

/* Columns [j0, j0 + width) of rows [r0, r1) of C (a block of [lo, hi)), for one pass over k: the
 * tiles of rows, reading the packed panel. */
static void emit_panel(struct cg *c, const struct mm *mm, LLVMValueRef panel, LLVMValueRef r0, LLVMValueRef r1,
                       LLVMValueRef hi, LLVMValueRef j0, int64_t width, LLVMValueRef k0, LLVMValueRef kn,
                       LLVMValueRef last) {
    int rows = mm->t.rows;
    struct loop li;
    LLVMValueRef span = iadd(c, LLVMBuildNSWSub(c->b, r1, r0, ""), i64c(c, rows - 1));
    LLVMValueRef tiles = LLVMBuildSDiv(c->b, span, i64c(c, rows), "");
    LLVMValueRef tile = loop_begin(c, &li, i64c(c, 0), tiles, "tile");
    emit_tile(c, mm, panel, imad(c, tile, rows, r0), hi, tile, j0, width, k0, kn, last);
    loop_end(c, &li);
}

/* Columns [s0, s0 + width) (a slab) of rows [lo, hi) of C, for one pass over k in [k0, k0 + kn): the
 * slab of op(B) packed, then the rows in blocks of mc, each packed and run panel by panel. */
static void emit_slab(struct cg *c, const struct mm *mm, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef s0,
                      int64_t width, LLVMValueRef k0, LLVMValueRef kn, LLVMValueRef last) {
    int64_t cols = mm->t.cols, full = width / cols, mc = mm->t.mc, rows = mm->t.rows, kc = mm->kc;
    pack_slab(c, mm, s0, width, k0, kn);
    struct loop lb, lp;
    /* ceil(n / mc) blocks of equal size (whole tiles), so that no block is a sliver */
    LLVMBuilderRef b = c->b;
    LLVMValueRef n = LLVMBuildNSWSub(b, hi, lo, ""), one = i64c(c, 1);
    LLVMValueRef blocks = LLVMBuildSDiv(b, iadd(c, n, i64c(c, mc - 1)), i64c(c, mc), "");
    LLVMValueRef div = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, blocks, one, ""), blocks, one, "");
    LLVMValueRef size = LLVMBuildSDiv(b, LLVMBuildNSWSub(b, iadd(c, n, div), one, ""), div, "");
    size = imul(c, LLVMBuildSDiv(b, iadd(c, size, i64c(c, rows - 1)), i64c(c, rows), ""), rows);
    LLVMValueRef block = loop_begin(c, &lb, i64c(c, 0), blocks, "rows");
    LLVMValueRef r0 = iadd(c, LLVMBuildNSWMul(b, block, size, ""), lo), r1 = iadd(c, r0, size);
    r1 = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, r1, hi, ""), r1, hi, "");
    pack_block(c, mm, r0, r1, hi, k0, kn);
    if (full > 0) {
        LLVMValueRef p = loop_to(c, &lp, full, "panel");
        emit_panel(c, mm, float_at(c, mm->slab, imul(c, p, kc * cols)), r0, r1, hi, imad(c, p, cols, s0), cols, k0, kn, last);
        loop_end(c, &lp);
    }
    if (width % cols)
        emit_panel(c, mm, float_at(c, mm->slab, i64c(c, full * kc * cols)), r0, r1, hi, iadd(c, s0, i64c(c, full * cols)),
                   width % cols, k0, kn, last);
    loop_end(c, &lb);
}

/* One pass over k in [k0, k0 + kn) for rows [lo, hi) of C, slab by slab of nc columns (the last slab
 * takes the rest of N). */
static void emit_pass(struct cg *c, const struct mm *mm, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef k0,
                      LLVMValueRef kn, LLVMValueRef last) {
    int64_t nc = mm->t.nc, full = mm->n / nc;
    if (full > 0) {
        struct loop ls;
        LLVMValueRef s = loop_to(c, &ls, full, "slab");
        emit_slab(c, mm, lo, hi, imul(c, s, nc), nc, k0, kn, last);
        loop_end(c, &ls);
    }
    if (mm->n % nc) emit_slab(c, mm, lo, hi, i64c(c, full * nc), mm->n % nc, k0, kn, last);
}

/* Narrow matmuls. Where C has a few columns (at most MM_NARROW: an energy's last layer, N = 1, or the
 * gradient into 2-D points, N = 2), a tile's vectors of `cols` columns would be nearly empty: on
 * AVX-512 the 1024 x 128 x 1 layer of W1's network, 1 lane of 32 busy, ran at 1.1 multiply-adds a ns,
 * and the 1024 x 128 x 2 one at 2.3: 233 of the 2078 us of its Langevin step (as dot products, 27). Each element of C is
 * instead a dot product along k in vectors: op(B)'s columns packed once as rows of k (zeros up to a
 * whole vector), a row of A read in place (whole vectors, then a masked one) or, computed, packed
 * likewise, n accumulators, each added up in a fixed tree (lane_sum): the same order whatever [lo, hi)
 * is. Not where A is transposed: its rows' elements lie M apart (the tiles read it as vectors). */
/* acc[j] += x times the vector of packed op(B)'s column j (bt) at element `at` of k, for j < n. */
static void narrow_step(struct cg *c, LLVMValueRef bt, LLVMValueRef acc, int n, int64_t k_padded, LLVMValueRef x,
                        LLVMValueRef at, int vl) {
    for (int j = 0; j < n; j++) {
        LLVMValueRef y = LLVMBuildLoad2(c->b, vec_type(c, vl), float_at(c, bt, iadd(c, i64c(c, j * k_padded), at)), "");
        LLVMSetAlignment(y, (unsigned)(vl * sizeof(float)));
        acc_set(c, acc, n, j, vl, codegen_mul_add(c, x, y, acc_get(c, acc, n, j, vl)));
    }
}

static void emit_narrow(struct cg *c, const struct mm *mm, struct batch_loop *bl) {
    int vl = mm->t.lanes, n = (int)mm->n;
    int64_t k_padded = (mm->k + vl - 1) / vl * vl, whole = mm->k / vl;
    int a_slot = c->plan->slot[ir_resolve_alias(c->g, mm->a)], in_place = a_slot >= 0;
    LLVMValueRef bt = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)(n * k_padded)));
    LLVMValueRef arow = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)k_padded));
    LLVMSetAlignment(bt, 64);
    LLVMSetAlignment(arow, 64);
    struct loop lk, li, lv;
    for (int64_t kk = mm->k; kk < k_padded; kk++) { /* the zeros past k, in each row */
        LLVMBuildStore(c->b, f32c(c, 0), float_at(c, arow, i64c(c, kk)));
        for (int j = 0; j < n; j++) LLVMBuildStore(c->b, f32c(c, 0), float_at(c, bt, i64c(c, j * k_padded + kk)));
    }
    LLVMValueRef k = loop_to(c, &lk, mm->k, "bpack");
    for (int j = 0; j < n; j++) {
        LLVMValueRef idx = iadd(c, mm->b_base, mm->tb ? imad(c, i64c(c, j), mm->k, k) : imad(c, k, mm->n, i64c(c, j)));
        LLVMBuildStore(c->b, codegen_value(c, mm->b, idx), float_at(c, bt, iadd(c, i64c(c, j * k_padded), k)));
    }
    loop_end(c, &lk);
    LLVMValueRef i = loop_begin(c, &li, bl->lo, bl->hi, "row");
    LLVMValueRef a_row = iadd(c, mm->a_base, imul(c, i, mm->k)), a_ptr = arow;
    if (in_place) {
        a_ptr = elem_ptr(c, a_slot, a_row);
    } else {
        k = loop_to(c, &lk, mm->k, "apack");
        LLVMBuildStore(c->b, codegen_value(c, mm->a, iadd(c, a_row, k)), float_at(c, arow, k));
        loop_end(c, &lk);
    }
    LLVMValueRef acc = entry_alloca(c, LLVMArrayType2(vec_type(c, vl), (unsigned)n));
    for (int j = 0; j < n; j++) acc_set(c, acc, n, j, vl, LLVMConstNull(vec_type(c, vl)));
    int64_t vectors = in_place ? whole : k_padded / vl; /* read whole; a packed row is zero-padded */
    if (vectors > 0) {
        LLVMValueRef at = imul(c, loop_to(c, &lv, vectors, "kv"), vl);
        LLVMValueRef x = LLVMBuildLoad2(c->b, vec_type(c, vl), float_at(c, a_ptr, at), "");
        LLVMSetAlignment(x, 4);
        narrow_step(c, bt, acc, n, k_padded, x, at, vl);
        loop_end(c, &lv);
    }
    if (in_place && mm->k % vl) { /* the last, partial vector: lanes past k not read (past the buffer), zero */
        int on[64];
        for (int l = 0; l < vl; l++) on[l] = l < mm->k % vl;
        LLVMValueRef at = i64c(c, whole * vl);
        narrow_step(c, bt, acc, n, k_padded, masked_load(c, float_at(c, a_ptr, at), on, vl), at, vl);
    }
    for (int j = 0; j < n; j++)
        codegen_store_result(c, iadd(c, mm->c_base, imad(c, i, mm->n, i64c(c, j))), lane_sum(c, acc_get(c, acc, n, j, vl)));
    loop_end(c, &li);
}

/* k is cut into passes of kc (the last pass takes the remainder and runs the epilogue); one copy of the
 * code runs them all, told at run time how many values of k its pass has and whether it is the last (a
 * copy per kind of pass took twice the compile time). A transposed operand is read in place by the
 * packing. A batched matmul's rows are those of all its batches ([b M] rows of C); each batch is a 2-D
 * matmul done the same way (codegen_batch_begin). */
void matmul_emit_kernel(struct cg *c, LLVMValueRef lo, LLVMValueRef hi) {
    const struct ir_node *n = ir_node_at(c->g, c->main), *a = ir_node_at(c->g, n->in[0]);
    int nd = n->ndim, ta = (n->flags & IR_TRANS_A) != 0;
    struct mm mm = {
        .a = n->in[0],
        .b = n->in[1],
        .ta = ta,
        .tb = (n->flags & IR_TRANS_B) != 0,
        .m = n->shape[nd - 2],
        .k = a->shape[ta ? nd - 2 : nd - 1],
        .n = n->shape[nd - 1],
    };
    codegen_matmul_tile(mm.m, mm.n, mm.k, ta, &mm.t);
    mm.kc = mm.k < mm.t.kc ? mm.k : mm.t.kc;
    int64_t batches = nd == 3 ? n->shape[0] : 1;
    mm.unroll = (double)batches * (double)mm.m * (double)mm.n * (double)mm.k >= MM_UNROLL_WORK ? MM_UNROLL : 1;
    if (!mm.t.narrow) {
        mm.slab = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)(mm.kc * mm.t.nc)));
        LLVMSetAlignment(mm.slab, 64);
        mm.block = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)(mm.t.mc * mm.kc)));
        LLVMSetAlignment(mm.block, 64);
        mm.sums = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)(mm.t.rows * mm.t.cols)));
        mm.acc = entry_alloca(c, LLVMArrayType2(vec_type(c, mm.t.lanes), (unsigned)(mm.t.rows * mm.t.vecs)));
    }
    struct batch_loop bl;
    codegen_batch_begin(c, &bl, batches, mm.m, lo, hi);
    mm.a_base = imul(c, bl.bt, mm.m * mm.k);
    mm.b_base = imul(c, bl.bt, mm.k * mm.n);
    mm.c_base = imul(c, bl.bt, mm.m * mm.n);
    int64_t kc = mm.kc, passes = (mm.k + kc - 1) / kc; /* >= 1: k >= 1 */
    if (mm.t.narrow) {
        emit_narrow(c, &mm, &bl);
    } else if (passes == 1) {
        emit_pass(c, &mm, bl.lo, bl.hi, i64c(c, 0), i64c(c, mm.k), LLVMConstInt(LLVMInt1TypeInContext(c->ctx), 1, 0));
    } else {
        struct loop lp;
        LLVMValueRef pass = loop_to(c, &lp, passes, "pass"), k0 = imul(c, pass, kc);
        LLVMValueRef left = LLVMBuildNSWSub(c->b, i64c(c, mm.k), k0, "");
        LLVMValueRef kn = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, i64c(c, kc), ""), left, i64c(c, kc), "");
        emit_pass(c, &mm, bl.lo, bl.hi, k0, kn, LLVMBuildICmp(c->b, LLVMIntEQ, pass, i64c(c, passes - 1), "last"));
        loop_end(c, &lp);
    }
    codegen_batch_end(c, &bl);
}
