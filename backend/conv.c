/* conv.c: the kernels of the three conv ops (ir.h), as direct convolutions in explicit vector code.
 *
 * conv2d and conv2d_bwd_data are one generator ("direct"): every output row (image, row) is computed
 * in register tiles of RO output channels by up to 4 vectors of consecutive output columns, the vectors
 * running along the row in NCHW; at stride 2 a tile spans several rows (see "Row groups"), and rows
 * narrower than half a vector lie side by side in one (see "Packing"). A block of
 * RO channels of the rows is gathered in memory and stored through the epilogue (bias, activation,
 * whatever elementwise ops the planner fused) as whole rows. The tile sums, over the input channels and
 * the kernel taps, a broadcast weight times a vector of input pixels. Which input pixel each lane of
 * each column vector needs for each tap kx is known at compile time (the shapes are static), so
 * padding costs little: a vector wholly inside the input is one load, one that overlaps its edge a
 * masked load (the lanes outside read nothing and are zero). At stride s > 1 the tiles read instead a
 * copy of the rows an output row needs, split into s phases and with zeros around (see "Scratch
 * copies"): every vector one plain load. Tap rows outside the input are skipped by a branch.
 * conv2d_bwd_data is the same loop with the adjoint's index maps (output pixel i takes input pixel
 * (i + p - k) / s where that divides, the weight w[src, dst] read from its transposed copy), run at
 * stride s on each of the s phases of the output columns apart, so that no lane is a zero that divides
 * nothing; the phases' tiles interleave into the block's rows before the epilogue. Tiles are sized
 * so that the accumulators and either the weights of one tap and one pixel vector, or the pixel vectors
 * and one weight, fit in the vector registers (16 on AVX2: 3 channels x 4 vectors, 6 x 2, 14 x 1).
 *
 * conv2d_bwd_weight ("wgrad") keeps RO x KW accumulators for one (input channel, tap row) of RO output
 * channels, vectors along the output columns of dy, and sums over images, rows and columns; each
 * vector is added up (in a fixed tree) into dw once per chunk of images (a fixed split of the batch,
 * so that small images do not pay a lane sum per image). At stride s > 1 it reads x from a copy of
 * the chunk's channel, split into phases as the direct kernels' copies are. Narrow rows of dy are
 * packed side by side as the direct kernels' are; x then comes from a copy with its padding rows and
 * columns written as zeros, so that no row needs a test, gathered once more into the vectors that meet
 * packed dy's (see "Packed rows").
 *
 * Determinism: each output element is computed by one call, in a loop order that does not depend on
 * [lo, hi), and every FMA is explicit: results are bitwise the same for any thread count. */
#include <stdlib.h>
#include <string.h>

#include "emit.h"

#define MAX_LANES 16
#define MAX_TILE 32 /* accumulators */
#define MAX_VECS 4  /* pixel vectors per tile */
#define MAX_ROWS (MAX_VECS * MAX_LANES) /* output rows per tile */
#define MAX_KW 64   /* kernel columns (taps are unrolled) */
#define WGRAD_SUMS 64 /* FMAs into a wgrad accumulator between lane sums, at least */
#define WGRAD_UNROLL 4 /* steps over an image's rows of dy unrolled, at most */

/* ---- the kernels' parameters, from the node ---- */

struct conv_kernel {
    struct ir_conv_geometry g;
    int direct;        /* conv2d or bwd_data; else bwd_weight */
    int transposed;    /* bwd_data: output pixel i reads input pixel (i + p - k) / s */
    int src, wt;       /* direct: the operand nodes read as pixels and as weights; wgrad: x and dy */
    int64_t dc, dh, dw;  /* direct: the output's channels, rows, columns */
    int64_t sc, sh, sw;  /* direct: the pixel operand's */
};

static void conv_kernel_of(const struct ir_graph *g, const struct ir_node *n, struct conv_kernel *k) {
    char why[160];
    memset(k, 0, sizeof *k);
    ir_conv_geometry(n, ir_node_at(g, n->in[0]), ir_node_at(g, n->in[1]), &k->g, why, sizeof why);
    k->direct = n->op != IR_CONV2D_BWD_WEIGHT;
    k->transposed = n->op == IR_CONV2D_BWD_DATA;
    k->src = n->in[0], k->wt = n->in[1];
    const struct ir_conv_geometry *q = &k->g;
    if (n->op == IR_CONV2D) k->dc = q->o, k->dh = q->oh, k->dw = q->ow, k->sc = q->c, k->sh = q->h, k->sw = q->w;
    else k->dc = q->c, k->dh = q->h, k->dw = q->w, k->sc = q->o, k->sh = q->oh, k->sw = q->ow;
}

/* The column of the pixel operand that tap k of output column i reads, or -1 (zero). */
static int64_t src_col(const struct conv_kernel *k, int64_t i, int64_t tap) {
    const struct ir_conv_geometry *q = &k->g;
    if (!k->transposed) {
        int64_t j = i * q->sw + tap - q->pw;
        return j >= 0 && j < k->sw ? j : -1;
    }
    int64_t t = i + q->pw - tap;
    return t >= 0 && t % q->sw == 0 && t / q->sw < k->sw ? t / q->sw : -1;
}

/* ---- vector helpers ---- */

/* Element idx of a buffer of floats. */
static LLVMValueRef load_at(struct cg *c, LLVMValueRef buf, LLVMValueRef idx) {
    return LLVMBuildLoad2(c->b, c->f32, LLVMBuildInBoundsGEP2(c->b, c->f32, buf, &idx, 1, ""), "");
}

/* Node id's value as an operand read element by element: its slot, or NULL for a constant (*value). */
static int operand_slot(struct cg *c, int id, double *value) {
    id = ir_resolve_alias(c->g, id);
    *value = ir_node_at(c->g, id)->value;
    return ir_node_at(c->g, id)->op == IR_CONST ? -1 : c->plan->slot[id];
}

/* A scalar element of an operand (a weight), splat across vl lanes. */
static LLVMValueRef load_splat(struct cg *c, int id, LLVMValueRef idx, int vl) {
    double value;
    int slot = operand_slot(c, id, &value);
    return splat(c, slot < 0 ? f32c(c, value) : load_elem(c, slot, idx), vl);
}

/* The vector whose lane l is element base + col[l] of operand id, or 0 where col[l] < 0; the columns
 * lie in one row of `len` elements. Where the wanted columns are start + l step (the forward's maps):
 * a load of vl step elements from start, masked to the wanted ones where the row ends or some lanes are
 * zero (masked-off lanes are never read, so start may lie before the row), then for step > 1 a shuffle
 * picking every step-th. Otherwise (bwd_data's stride-s maps) one load of the span between the first and
 * last wanted column, and a shuffle that picks lanes and zeros. */
static LLVMValueRef load_row(struct cg *c, LLVMValueRef buf, LLVMValueRef base, const int64_t *col, int vl, int64_t len);

static LLVMValueRef load_lanes(struct cg *c, int id, LLVMValueRef base, const int64_t *col, int vl, int64_t len) {
    double value;
    int slot = operand_slot(c, id, &value);
    if (slot >= 0) return load_row(c, c->slot_ptr[slot], base, col, vl, len);
    LLVMValueRef lanes[MAX_LANES]; /* a constant operand: the value where a lane reads, 0 elsewhere */
    for (int l = 0; l < vl; l++) lanes[l] = f32c(c, col[l] >= 0 ? value : 0);
    return LLVMConstVector(lanes, (unsigned)vl);
}

/* load_lanes from a buffer of floats (an operand's or a scratch copy): the row starts at element base. */
static LLVMValueRef load_row(struct cg *c, LLVMValueRef buf, LLVMValueRef base, const int64_t *col, int vl, int64_t len) {
    int first = -1, second = -1, affine = 1;
    int64_t lo = -1, hi = -1, step = 1;
    for (int l = 0; l < vl; l++) {
        if (col[l] < 0) continue;
        if (first < 0) first = l;
        else if (second < 0) second = l;
        if (lo < 0 || col[l] < lo) lo = col[l];
        if (col[l] > hi) hi = col[l];
    }
    if (second >= 0 && col[second] > col[first] && (col[second] - col[first]) % (second - first) == 0)
        step = (col[second] - col[first]) / (second - first);
    LLVMTypeRef vt = vec_type(c, vl);
    if (first < 0) return LLVMConstNull(vt);
    int64_t start = col[first] - first * step;
    for (int l = 0; l < vl; l++) affine &= col[l] < 0 || col[l] == start + l * step;
    int width = (int)(affine ? vl * step : (hi - lo + vl) / vl * vl);
    if (width > 4 * MAX_LANES) { /* strides above 4: lane by lane */
        LLVMValueRef v = LLVMConstNull(vt);
        for (int l = 0; l < vl; l++)
            if (col[l] >= 0)
                v = LLVMBuildInsertElement(c->b, v, load_at(c, buf, iadd(c, base, i64c(c, col[l]))), i32c(c, l), "");
        return v;
    }
    int64_t from = affine ? start : lo;
    int on[4 * MAX_LANES], all = from >= 0 && from + width <= len;
    for (int e = 0; e < width; e++) on[e] = affine ? 0 : e <= hi - lo;
    for (int l = 0; l < vl && affine; l++) {
        on[l * step] = col[l] >= 0;
        all &= col[l] >= 0;
    }
    /* not inbounds: start may lie before the row, or the buffer (those lanes are masked off) */
    LLVMValueRef at = iadd(c, base, i64c(c, from));
    LLVMValueRef ptr = LLVMBuildGEP2(c->b, c->f32, buf, &at, 1, "");
    LLVMTypeRef wt = vec_type(c, width);
    LLVMValueRef v;
    if (all) {
        v = LLVMBuildLoad2(c->b, wt, ptr, "");
        LLVMSetAlignment(v, 4);
    } else {
        v = masked_load(c, ptr, on, width);
    }
    if (affine && step == 1) return v;
    LLVMValueRef pick[MAX_LANES];
    for (int l = 0; l < vl; l++)
        pick[l] = i32c(c, col[l] < 0 ? width : affine ? (int)(l * step) : (int)(col[l] - lo));
    return LLVMBuildShuffleVector(c->b, v, LLVMConstNull(wt), LLVMConstVector(pick, (unsigned)vl), "");
}

/* if (cond) { ... }: returns the block to continue in after the caller's body. */
static LLVMBasicBlockRef if_begin(struct cg *c, LLVMValueRef cond, const char *name) {
    LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "endif");
    LLVMBuildCondBr(c->b, cond, then, done);
    LLVMPositionBuilderAtEnd(c->b, then);
    return done;
}

static void if_end(struct cg *c, LLVMBasicBlockRef done) {
    LLVMBuildBr(c->b, done);
    LLVMMoveBasicBlockAfter(done, LLVMGetInsertBlock(c->b));
    LLVMPositionBuilderAtEnd(c->b, done);
}

/* ---- conv2d and conv2d_bwd_data ---- */

/* The input row that output row `row` reads through tap row ky, and whether there is one. */
static LLVMValueRef src_row(struct cg *c, const struct conv_kernel *k, LLVMValueRef row, LLVMValueRef ky,
                            LLVMValueRef *valid) {
    const struct ir_conv_geometry *q = &k->g;
    LLVMBuilderRef b = c->b;
    LLVMValueRef r;
    if (!k->transposed) {
        r = LLVMBuildSub(b, iadd(c, imul(c, row, q->sh), ky), i64c(c, q->ph), "");
        *valid = LLVMBuildICmp(b, LLVMIntULT, r, i64c(c, k->sh), ""); /* negative wraps: fails */
        return r;
    }
    LLVMValueRef t = LLVMBuildSub(b, iadd(c, row, i64c(c, q->ph)), ky, "");
    r = q->sh == 1 ? t : LLVMBuildSDiv(b, t, i64c(c, q->sh), "");
    *valid = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, t, i64c(c, 0), ""),
                          LLVMBuildICmp(b, LLVMIntSLT, r, i64c(c, k->sh), ""), "");
    if (q->sh > 1)
        *valid = LLVMBuildAnd(b, *valid, LLVMBuildICmp(b, LLVMIntEQ, LLVMBuildSRem(b, t, i64c(c, q->sh), ""),
                                                        i64c(c, 0), ""), "");
    return r;
}

/* The output columns a tile covers: column rw + cs t for t in [0, n) (cs = 1, rw = 0 but for bwd_data
 * at stride s, which runs each phase rw of s separately: there every lane of a phase reads the same taps,
 * consecutive input pixels, and the other taps are left out, not multiplied by zero lanes). In the block
 * (struct block) a row holds its phases one after another, phase rw's columns from `at` on. */
struct phase {
    int64_t rw, cs, n, at;
};

static struct phase phase_of(int64_t dw, int64_t cs, int64_t rw) {
    struct phase ph = {rw, cs, (dw - rw + cs - 1) / cs, 0};
    for (int64_t r = 0; r < rw; r++) ph.at += (dw - r + cs - 1) / cs;
    return ph;
}

/* The columns of the pixel operand that the lanes of the vector of phase columns [t0, t0 + vl) read
 * through tap kx (src_col; -1 past the phase's end). */
static void vector_cols(const struct conv_kernel *k, const struct phase *ph, int64_t t0, int64_t kx, int vl,
                        int64_t *col) {
    for (int l = 0; l < vl; l++) col[l] = t0 + l < ph->n ? src_col(k, ph->rw + ph->cs * (t0 + l), kx) : -1;
}

/* Scratch copies of pixel rows. At stride s > 1 the columns that a vector of consecutive output columns
 * reads through one tap are s apart in the input row: s loads and a shuffle per tap and input channel.
 * So the kernels read a copy of the rows instead, each split into its s phases, phase r holding columns
 * r, r + s, r + 2s, ...: there those columns are consecutive, one load. The direct conv2d copies, per
 * group of output rows, the rows its taps read (one per source row and input channel; zeros for rows
 * outside the input), once for all its tiles, and bwd_data (whose phases read consecutive pixels: s = 1
 * for the copy) likewise, the rows its dividing taps read; wgrad copies one
 * channel of one image, once for all its rows of dw. In the direct kernels' copies each phase has zeros
 * around its columns wherever a vector of the tiles reaches past the row, so that every vector is one
 * plain load, no mask: a lane of a vector that reads no pixel (src_col -1) reads a zero there, or lies
 * past the output row (and its result is dropped). */
struct pixels {
    LLVMValueRef scratch; /* NULL: no copy, read the operand */
    int64_t s, len;       /* the copy's stride, the length of a source row */
    int64_t lead;         /* zeros before each phase's first column */
    int64_t phase_len;    /* lead + columns + zeros after, rounded up to whole vectors */
};

#define MAX_SCRATCH_BYTES (128 << 10) /* within L2 and any thread's stack; else the operand, with masks */

/* Plans a scratch of `rows` copied rows of len pixels at stride s, each phase `lead` zeros then
 * `reach` - lead further positions (columns, then zeros). Returns whether it fits; if so and c, emits it
 * (px->scratch; else NULL). */
static int pixels_plan(struct cg *c, struct pixels *px, int64_t rows, int64_t len, int64_t s, int64_t lead,
                       int64_t reach, int vl) {
    px->scratch = NULL;
    px->s = s, px->len = len, px->lead = lead;
    px->phase_len = (reach + vl - 1) / vl * vl;
    int64_t floats = rows * s * px->phase_len;
    if (floats * (int64_t)sizeof(float) > MAX_SCRATCH_BYTES) return 0;
    if (c) {
        px->scratch = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)floats));
        LLVMSetAlignment(px->scratch, 64);
    }
    return 1;
}

/* Where column j (>= 0) of a source row lies in its copy, or -1 stays -1. */
static int64_t scratch_col(const struct pixels *px, int64_t j) {
    return j < 0 ? -1 : j % px->s * px->phase_len + px->lead + j / px->s;
}

/* The element of copied row `row`. */
static LLVMValueRef scratch_row(struct cg *c, const struct pixels *px, LLVMValueRef row) {
    return imul(c, row, px->s * px->phase_len);
}

/* Copies the row of operand id at element `from` into copied row `row`: each phase read with load_lanes'
 * stride-s loads and stored whole (positions without a column as zeros). */
static void pixels_copy_row(struct cg *c, const struct pixels *px, int id, LLVMValueRef from, LLVMValueRef row,
                            int vl) {
    LLVMValueRef to = scratch_row(c, px, row);
    for (int64_t r = 0; r < px->s; r++)
        for (int64_t p0 = 0; p0 < px->phase_len; p0 += vl) {
            int64_t col[MAX_LANES];
            for (int l = 0; l < vl; l++) {
                int64_t j = (p0 + l - px->lead) * px->s + r;
                col[l] = j >= 0 && j < px->len ? j : -1;
            }
            LLVMValueRef at = iadd(c, to, i64c(c, r * px->phase_len + p0));
            LLVMValueRef st = LLVMBuildStore(c->b, load_lanes(c, id, from, col, vl, px->len),
                                             LLVMBuildInBoundsGEP2(c->b, c->f32, px->scratch, &at, 1, ""));
            LLVMSetAlignment(st, (unsigned)(vl * sizeof(float))); /* phase_len and p0 are whole vectors */
        }
}

/* Zeros into copied row `row` (a source row outside the input). */
static void pixels_zero_row(struct cg *c, const struct pixels *px, LLVMValueRef row, int vl) {
    LLVMValueRef to = scratch_row(c, px, row);
    for (int64_t e = 0; e < px->s * px->phase_len; e += vl) {
        LLVMValueRef at = iadd(c, to, i64c(c, e));
        LLVMValueRef st = LLVMBuildStore(c->b, LLVMConstNull(vec_type(c, vl)),
                                         LLVMBuildInBoundsGEP2(c->b, c->f32, px->scratch, &at, 1, ""));
        LLVMSetAlignment(st, (unsigned)(vl * sizeof(float)));
    }
}

/* The vector whose lanes read columns col (consecutive in the copy, as they are in a phase) from copied
 * row base of a direct kernel's scratch: one load from where lane 0 is, extrapolated from a lane that
 * reads a column (the margins cover the rest: pixels_plan), or 0 if none does. */
static LLVMValueRef load_copy(struct cg *c, const struct pixels *px, LLVMValueRef base, const int64_t *col, int vl) {
    for (int l = 0; l < vl; l++) {
        if (col[l] < 0) continue;
        LLVMValueRef at = iadd(c, base, i64c(c, scratch_col(px, col[l]) - l));
        LLVMValueRef v = LLVMBuildLoad2(c->b, vec_type(c, vl),
                                        LLVMBuildInBoundsGEP2(c->b, c->f32, px->scratch, &at, 1, ""), "");
        LLVMSetAlignment(v, 4);
        return v;
    }
    return LLVMConstNull(vec_type(c, vl));
}

/* Row groups. A tile spans p output rows of one row phase (as its vectors span columns), so that each
 * weight it loads is used by p times more pixel vectors. Rows of a phase are rs apart: rs = the stride
 * for bwd_data (only rows of one phase read the same tap rows), else 1. The groups of an image are the
 * kernel's parallel items, p rows at a time in each row phase; a group may run past its phase's last
 * row (those rows are computed from whatever the copy holds and not stored), so that every tile has p
 * rows. Groups of p > 1 rows read a copy (their rows share one), so they are used only at stride > 1. */
struct rows {
    int64_t rs;     /* rows of a group are rs apart */
    int p;          /* output rows per group */
    int pack;       /* rows side by side in one pixel vector (p is a multiple) */
    int64_t span;   /* source rows a group reads, per input channel: its copy holds these */
    int64_t groups; /* per image */
};

static int64_t phase_rows(const struct conv_kernel *k, int64_t rs, int64_t ry) { return (k->dh - ry + rs - 1) / rs; }

static void rows_of(const struct conv_kernel *k, int p, int pack, struct rows *r) {
    const struct ir_conv_geometry *q = &k->g;
    r->rs = k->transposed ? q->sh : 1, r->p = p, r->pack = pack;
    /* source rows: conv2d's s (t0 + i) - ph + ky; bwd_data's t0 + i + (ry + ph - ky) / s (ky dividing) */
    r->span = k->transposed ? p + (q->kh - 1 + q->sh - 1) / q->sh : q->sh * (p - 1) + q->kh;
    r->groups = 0;
    for (int64_t ry = 0; ry < r->rs && ry < k->dh; ry++) r->groups += (phase_rows(k, r->rs, ry) + p - 1) / p;
}

/* Widens a copy's margins (lead zeros before a phase's columns, reach positions from its first column)
 * to cover a load of w lanes reading columns col (consecutive in one phase of stride s), which starts
 * where lane 0 would be: load_copy extrapolates from the first lane that reads a column. */
static void widen_margins(const int64_t *col, int w, int64_t s, int64_t *lead, int64_t *reach) {
    for (int l = 0; l < w; l++)
        if (col[l] >= 0) { /* lane 0 is at column position col[l] / s - l of its phase */
            int64_t at = col[l] / s - l;
            if (-at > *lead) *lead = -at;
            if (at + w > *reach) *reach = at + w;
            return;
        }
}

/* The direct kernels' scratch for groups of r rows, if they read one (returned): at stride s > 1,
 * phases of s (conv2d) or of 1 (bwd_data), with the margins that the tiles' vectors (the same phases
 * and vectors as emit_direct's) reach. Emitted if c. */
static int direct_plan(struct cg *c, const struct conv_kernel *k, const struct rows *r, int vl, struct pixels *px) {
    int64_t s = k->transposed ? 1 : k->g.sw, cs = k->transposed ? k->g.sw : 1, lead = 0, reach = 0;
    int w = vl / r->pack; /* lanes a load reads (load_pixels) */
    px->scratch = NULL;
    if (k->g.sw == 1) return 0;
    for (int64_t rw = 0; rw < cs && rw < k->dw; rw++) {
        struct phase ph = phase_of(k->dw, cs, rw);
        for (int64_t t0 = 0; t0 < ph.n; t0 += vl)
            for (int64_t kx = 0; kx < k->g.kw; kx++) {
                int64_t col[MAX_LANES];
                vector_cols(k, &ph, t0, kx, w, col);
                widen_margins(col, w, s, &lead, &reach);
            }
    }
    return pixels_plan(c, px, r->span * k->sc, k->sw, s, lead, lead + reach, vl);
}

/* Column vectors per tile row (phase 0 has the most columns). */
static int row_vectors(const struct conv_kernel *k, int vl) {
    int64_t cs = k->transposed ? k->g.sw : 1, vecs = ((k->dw + cs - 1) / cs + vl - 1) / vl;
    return vecs < MAX_VECS ? (int)vecs : MAX_VECS;
}

/* Packing. A phase of at most vl / 2 columns (the last layers of a strided network: 4 x 4 outputs on
 * 8 lanes) would leave most lanes of its vectors idle. So pack rows of a group side by side instead:
 * a pixel vector holds `pack` rows of w = vl / pack lanes (w the phase's columns rounded up to a power
 * of 2), each part loaded from its row's copy. Only groups that read a copy have several rows. */
static int pack_for(int64_t n, int vl) { /* rows of n columns per vector of vl lanes */
    int64_t w = 1;
    while (w < n) w *= 2;
    return w < vl ? (int)(vl / w) : 1;
}

static int row_pack(const struct conv_kernel *k, int vl) {
    int64_t cs = k->transposed ? k->g.sw : 1;
    return pack_for((k->dw + cs - 1) / cs, vl);
}

/* Pixel vectors per tile. */
static int tile_pixels(const struct conv_kernel *k, const struct rows *r, int vl) {
    return r->p / r->pack * row_vectors(k, vl);
}

/* Output channels per tile of npix pixel vectors: ro npix accumulators and either ro weights and a pixel
 * vector, or the npix pixel vectors and a weight (direct_tile's two orders), in regs registers. */
static int tile_channels(const struct conv_kernel *k, int npix, int regs) {
    int ro = (regs - 1) / (npix + 1), ro_pixels = (regs - 1 - npix) / npix;
    if (ro_pixels > ro) ro = ro_pixels;
    if (ro >= k->dc) return (int)k->dc;
    if (ro < 1) return 1;
    /* A divisor of the channels, if one is at least half as many: else the last block is a second
     * copy of the tiles' code */
    for (int d = ro; 2 * d >= ro; d--)
        if (k->dc % d == 0) return d;
    return ro;
}

/* The row groups: the most rows per tile (up to MAX_VECS pixel vectors) whose copy fits, weighed against
 * the rows that the last group of a phase computes in vain; packed rows where the phases are narrow. */
static void direct_rows(const struct conv_kernel *k, int vl, int regs, struct rows *best) {
    rows_of(k, 1, 1, best);
    struct pixels px;
    if (!direct_plan(NULL, k, best, vl, &px)) return; /* no copy: one row per tile */
    int pack = row_pack(k, vl);
    double best_cost = 0;
    for (int m = 1; m * row_vectors(k, vl) <= MAX_VECS; m++) {
        struct rows r;
        rows_of(k, m * pack, pack, &r);
        if (!direct_plan(NULL, k, &r, vl, &px)) break;
        int npix = tile_pixels(k, &r, vl), ro = tile_channels(k, npix, regs);
        /* vectors computed, by the time of an FMA and its share of a weight and of a pixel vector load */
        double cost = (double)r.groups * m * (0.5 + 1.0 / npix + 1.0 / ro);
        if (m == 1 || cost < best_cost) *best = r, best_cost = cost;
    }
}

/* Fills the direct kernels' scratch for a group whose source rows start at `first`: copied row
 * (i, sc) for source row first + i of input channel sc, zeros for rows outside the input. */
static void direct_fill(struct cg *c, const struct conv_kernel *k, const struct rows *r, const struct pixels *px,
                        LLVMValueRef img, LLVMValueRef first, int vl) {
    struct loop li, lsc;
    LLVMValueRef i = loop_to(c, &li, r->span, "fi");
    LLVMValueRef srow = iadd(c, first, i);
    LLVMValueRef valid = LLVMBuildICmp(c->b, LLVMIntULT, srow, i64c(c, k->sh), ""); /* negative wraps */
    LLVMBasicBlockRef done = if_begin(c, valid, "fcopy");
    LLVMValueRef sc = loop_to(c, &lsc, k->sc, "fsc");
    LLVMValueRef from = imul(c, iadd(c, imul(c, iadd(c, imul(c, img, k->sc), sc), k->sh), srow), k->sw);
    pixels_copy_row(c, px, k->src, from, imad(c, i, k->sc, sc), vl);
    loop_end(c, &lsc);
    if_end(c, done);
    done = if_begin(c, LLVMBuildNot(c->b, valid, ""), "fzero");
    sc = loop_to(c, &lsc, k->sc, "zsc");
    pixels_zero_row(c, px, imad(c, i, k->sc, sc), vl);
    loop_end(c, &lsc);
    if_end(c, done);
    loop_end(c, &li);
}

/* The weight of output channel o0 + o, input channel sc, tap (ky, kx), splat: w[dst, src, ky, kx] for
 * conv2d; for bwd_data w[src, dst, ky, kx], read from its transpose wt[dst, ky, kx, src] (plan.c) so that
 * the loop over sc reads each weight stream in order, whole cache lines (in w a tile's few dst were 9
 * floats apart in lines a row of src apart: L1 lost the lines before they were used up). */
static LLVMValueRef tile_weight(struct cg *c, const struct conv_kernel *k, LLVMValueRef o0, int o, LLVMValueRef sc,
                                LLVMValueRef ky, int64_t kx, int vl) {
    LLVMValueRef oc = iadd(c, o0, i64c(c, o));
    LLVMValueRef tap = iadd(c, imul(c, iadd(c, imul(c, oc, k->g.kh), ky), k->g.kw), i64c(c, kx));
    if (k->transposed) return splat(c, load_elem(c, c->plan->transposed[k->wt], imad(c, tap, k->sc, sc)), vl);
    return load_splat(c, k->wt, iadd(c, imul(c, imad(c, oc, k->sc, sc), k->g.kh * k->g.kw), iadd(c, imul(c, ky, k->g.kw), i64c(c, kx))), vl);
}

/* acc[i] += w x */
static void tile_fma(struct cg *c, LLVMValueRef acc, int n_acc, int i, LLVMValueRef w, LLVMValueRef x, int vl) {
    acc_set(c, acc, n_acc, i, vl, codegen_mul_add(c, w, x, acc_get(c, acc, n_acc, i, vl)));
}

/* A group: output rows ry + rs (t0 + i), i < p, of image img; its row phase has n rows; its copy
 * holds source rows from `first` on. */
struct group {
    LLVMValueRef img, ry, t0, n, first;
};

static LLVMValueRef group_row(struct cg *c, const struct rows *r, const struct group *gr, int i) {
    return iadd(c, gr->ry, imul(c, iadd(c, gr->t0, i64c(c, i)), r->rs));
}

/* The tile results of an output channel block: rows [o][i] of the output's columns, phase by phase. */
struct block {
    LLVMValueRef o0, buf;
    int ro;
};

/* The pixel vector of `pack` rows side by side (bases: their rows), each part w = vl / pack lanes
 * reading columns col of its row. */
static LLVMValueRef load_pixels(struct cg *c, const struct conv_kernel *k, const struct pixels *px,
                                const LLVMValueRef *base, int pack, const int64_t *col, int vl) {
    int w = vl / pack;
    LLVMValueRef part[MAX_LANES];
    for (int j = 0; j < pack; j++)
        part[j] = px->scratch ? load_copy(c, px, base[j], col, w) : load_lanes(c, k->src, base[j], col, w, k->sw);
    for (; w < vl; w *= 2, pack /= 2) /* concatenated pairwise */
        for (int j = 0; j < pack / 2; j++) {
            LLVMValueRef lanes[MAX_LANES];
            for (int l = 0; l < 2 * w; l++) lanes[l] = i32c(c, l);
            part[j] = LLVMBuildShuffleVector(c->b, part[2 * j], part[2 * j + 1], LLVMConstVector(lanes, (unsigned)(2 * w)), "");
        }
    return part[0];
}

/* One tile: output channels [o0, o0 + ro) x the group's rows x phase columns [col0, col0 + nvec vl)
 * (packed: [col0, col0 + vl / pack), nvec = 1), summed over tap rows, input channels and tap columns,
 * into the block's rows. */
static void direct_tile(struct cg *c, const struct conv_kernel *k, const struct rows *r, const struct pixels *px,
                        const struct group *gr, const struct block *bk, const struct phase *ph, int64_t col0,
                        int nvec, int vl) {
    const struct ir_conv_geometry *q = &k->g;
    int ro = bk->ro, p = r->p, pack = r->pack, w = vl / pack, npix = p / pack * nvec, n_acc = ro * npix;
    int64_t col[MAX_KW][MAX_VECS][MAX_LANES];
    int used[MAX_KW] = {0};
    for (int64_t kx = 0; kx < q->kw; kx++)
        for (int v = 0; v < nvec; v++) {
            vector_cols(k, ph, col0 + (int64_t)v * vl, kx, w, col[kx][v]);
            for (int l = 0; l < w; l++) used[kx] |= col[kx][v][l] >= 0;
        }
    LLVMValueRef acc = entry_alloca(c, LLVMArrayType2(vec_type(c, vl), (unsigned)n_acc));
    for (int a = 0; a < n_acc; a++) acc_set(c, acc, n_acc, a, vl, LLVMConstNull(vec_type(c, vl)));
    struct loop lky, lsc;
    LLVMValueRef ky = loop_to(c, &lky, q->kh, "ky"), valid, row0 = group_row(c, r, gr, 0);
    LLVMValueRef srow = src_row(c, k, row0, ky, &valid); /* of the group's first row */
    int64_t step = k->transposed ? 1 : q->sh;           /* between the source rows of its rows */
    if (r->p > 1) { /* whether any row reads one: rows outside the input read the zeros copied for them */
        LLVMValueRef last = iadd(c, srow, i64c(c, (r->p - 1) * step));
        valid = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, last, i64c(c, 0), ""),
                             LLVMBuildICmp(c->b, LLVMIntSLT, srow, i64c(c, k->sh), ""), "");
        if (k->transposed && q->sh > 1) {
            LLVMValueRef t = LLVMBuildSub(c->b, iadd(c, row0, i64c(c, q->ph)), ky, "");
            LLVMValueRef even = LLVMBuildICmp(c->b, LLVMIntEQ, LLVMBuildSRem(c->b, t, i64c(c, q->sh), ""), i64c(c, 0), "");
            valid = LLVMBuildAnd(c->b, valid, even, "");
        }
    }
    LLVMBasicBlockRef done = if_begin(c, valid, "row");
    LLVMValueRef slot = px->scratch ? LLVMBuildNSWSub(c->b, srow, gr->first, "") : NULL;
    LLVMValueRef sc = loop_to(c, &lsc, k->sc, "sc"), base[MAX_ROWS];
    lsc.rolled = 1; /* unrolled, two iterations' loads would overlap and spill accumulators */
    /* the rows' copies lie a constant apart (kept out of the address arithmetic LLVM would vectorize) */
    for (int i = 0; i < r->p; i++)
        base[i] = px->scratch ? scratch_row(c, px, iadd(c, imad(c, slot, k->sc, sc), i64c(c, i * step * k->sc)))
                              : imul(c, iadd(c, imul(c, iadd(c, imul(c, gr->img, k->sc), sc), k->sh), srow), k->sw);
    /* Per tap, either the ro weights stay in registers while the pixel vectors pass (ro + 1 + ro npix
     * registers), or the npix pixel vectors while the weights pass (npix + 1 + ro npix): whichever is
     * fewer (tile_channels sized ro for it). Each accumulator sees the same FMAs in the same order. */
    int hold_pixels = npix < ro;
    for (int64_t kx = 0; kx < q->kw; kx++) {
        if (!used[kx]) continue; /* no lane of this phase reads tap kx */
        LLVMValueRef wv[MAX_TILE], xv[MAX_VECS];
        for (int o = 0; o < ro && !hold_pixels; o++) wv[o] = tile_weight(c, k, bk->o0, o, sc, ky, kx, vl);
        for (int x = 0; x < npix; x++) {
            int i = x / nvec * pack, v = x % nvec;
            xv[x] = load_pixels(c, k, px, &base[i], pack, col[kx][v], vl);
            for (int o = 0; o < ro && !hold_pixels; o++) tile_fma(c, acc, n_acc, o * npix + x, wv[o], xv[x], vl);
        }
        for (int o = 0; o < ro && hold_pixels; o++) {
            LLVMValueRef w = tile_weight(c, k, bk->o0, o, sc, ky, kx, vl);
            for (int x = 0; x < npix; x++) tile_fma(c, acc, n_acc, o * npix + x, w, xv[x], vl);
        }
    }
    loop_end(c, &lsc);
    if_end(c, done);
    loop_end(c, &lky);
    /* Into the block's rows (a packed vector's rows apart): the lanes of columns that exist, one vector
     * (a phase's columns are consecutive there). */
    LLVMTypeRef bt = LLVMArrayType2(c->f32, (unsigned)(bk->ro * p * k->dw));
    for (int o = 0; o < ro; o++)
        for (int x = 0; x < npix; x++)
            for (int j = 0; j < pack; j++) {
                LLVMValueRef a = acc_get(c, acc, n_acc, o * npix + x, vl);
                int64_t row = (int64_t)(o * p + x / nvec * pack + j) * k->dw, t0 = col0 + (int64_t)(x % nvec) * vl;
                int cols = (int)(ph->n - t0 < w ? ph->n - t0 : w);
                if (pack > 1 || cols < vl) { /* lanes [j w, j w + cols) */
                    LLVMValueRef lanes[MAX_LANES];
                    for (int l = 0; l < cols; l++) lanes[l] = i32c(c, j * w + l);
                    a = LLVMBuildShuffleVector(c->b, a, LLVMGetPoison(LLVMTypeOf(a)), LLVMConstVector(lanes, (unsigned)cols), "");
                }
                LLVMValueRef idx[2] = {i64c(c, 0), i64c(c, row + ph->at + t0)};
                LLVMValueRef st = LLVMBuildStore(c->b, a, LLVMBuildInBoundsGEP2(c->b, bt, bk->buf, idx, 2, ""));
                LLVMSetAlignment(st, 4);
            }
}

/* The vector of output columns [j, j + vl) of the block's row that starts at element `from`: one load
 * where the columns are consecutive there (one phase), else its phases' parts interleaved (cs dividing
 * vl, so that lane l is of phase l mod cs), else lane by lane. Reads may run past the row's end (into
 * the next row, or the block's vector of slack), into lanes that are not stored. */
static LLVMValueRef block_vector(struct cg *c, const struct conv_kernel *k, const struct block *bk, LLVMValueRef from,
                                 LLVMValueRef j, int vl) {
    int64_t cs = k->transposed ? k->g.sw : 1;
    LLVMTypeRef vt = vec_type(c, vl);
    if (cs == 1 || cs >= k->dw) {
        LLVMValueRef at = iadd(c, from, j);
        LLVMValueRef v = LLVMBuildLoad2(c->b, vt, LLVMBuildInBoundsGEP2(c->b, c->f32, bk->buf, &at, 1, ""), "");
        LLVMSetAlignment(v, 4);
        return v;
    }
    if (vl % cs == 0) {
        int w = vl / (int)cs;
        LLVMValueRef part[MAX_LANES], t = LLVMBuildSDiv(c->b, j, i64c(c, cs), ""), v = LLVMGetPoison(vt);
        for (int64_t rw = 0; rw < cs; rw++) {
            LLVMValueRef at = iadd(c, iadd(c, from, t), i64c(c, phase_of(k->dw, cs, rw).at));
            part[rw] = LLVMBuildLoad2(c->b, vec_type(c, w), LLVMBuildInBoundsGEP2(c->b, c->f32, bk->buf, &at, 1, ""), "");
            LLVMSetAlignment(part[rw], 4);
        }
        for (int l = 0; l < vl; l++) /* lane l: phase l mod cs, its column l / cs */
            v = LLVMBuildInsertElement(c->b, v, LLVMBuildExtractElement(c->b, part[l % cs], i32c(c, l / (int)cs), ""),
                                       i32c(c, l), "");
        return v;
    }
    LLVMValueRef v = LLVMGetPoison(vt);
    for (int l = 0; l < vl; l++) {
        LLVMValueRef col = iadd(c, j, i64c(c, l)); /* past the row: column 0 (a lane not stored) */
        col = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, col, i64c(c, k->dw), ""), col, i64c(c, 0), "");
        LLVMValueRef rw = LLVMBuildSRem(c->b, col, i64c(c, cs), "");
        LLVMValueRef at = LLVMBuildSDiv(c->b, col, i64c(c, cs), "");
        for (int64_t r = 1; r < cs; r++) /* + the phase's start */
            at = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, rw, i64c(c, r), ""),
                                 iadd(c, at, i64c(c, phase_of(k->dw, cs, r).at)), at, "");
        v = LLVMBuildInsertElement(c->b, v, load_at(c, bk->buf, iadd(c, from, at)), i32c(c, l), "");
    }
    return v;
}

/* The vector of results at offset j of channel o's run of row i of a group (len elements, run over a
 * row or, flat, over the group's rows), from the block to the output through the epilogue. */
static void store_run_vector(struct cg *c, const struct conv_kernel *k, const struct rows *r, const struct group *gr,
                             const struct block *bk, int i, LLVMValueRef row, LLVMValueRef o, LLVMValueRef j,
                             LLVMValueRef len, int whole, int flat, int vl) {
    LLVMValueRef v = block_vector(c, k, bk, imul(c, iadd(c, imul(c, o, r->p), i64c(c, i)), k->dw), j, vl);
    LLVMValueRef n = NULL;
    if (!whole) {
        LLVMValueRef rest = LLVMBuildNSWSub(c->b, len, j, "");
        n = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, rest, i64c(c, vl), ""), rest, i64c(c, vl), "");
    }
    LLVMValueRef oc = iadd(c, bk->o0, o);
    LLVMValueRef out = imul(c, iadd(c, imul(c, iadd(c, imul(c, gr->img, k->dc), oc), k->dh), row), k->dw);
    codegen_store_results(c, iadd(c, out, j), v, n, flat ? k->dh * k->dw : k->dw);
}

/* Output channels [o0, o0 + ro) of a group: every phase's tiles, then the epilogue on whole rows, in
 * vectors (codegen_store_results), for the group's rows that exist: one run over them all where they
 * are consecutive (rs = 1), so that narrow rows still make whole vectors. Left to LLVM's vectorizer,
 * the epilogue of a row of 28 ran 4 lanes wide and one of 7 on scalars, and in each its own copy per
 * channel of the block: the 1 -> 64 channel SiLU layer of W3 took 35 ms, of which the convolution 7.
 * An epilogue is one loop over the channels and the vectors of their runs; plain stores (no epilogue)
 * of a row are unrolled instead, so that LLVM passes the tile's sums straight to them (as a loop, which
 * reads them back from the block, the 3 -> 64 channel forward of bench_conv took twice as long). */
static void direct_block(struct cg *c, const struct conv_kernel *k, const struct rows *r, const struct pixels *px,
                         const struct group *gr, const struct block *bk, int vl) {
    int64_t cs = k->transposed ? k->g.sw : 1;
    for (int64_t rw = 0; rw < cs && rw < k->dw; rw++) {
        struct phase ph = phase_of(k->dw, cs, rw);
        int64_t vecs = (ph.n + vl - 1) / vl;
        int rows = r->p / r->pack, per_group = vecs < MAX_VECS / rows ? (int)vecs : MAX_VECS / rows;
        for (int64_t col0 = 0; col0 < ph.n; col0 += (int64_t)per_group * vl) {
            int64_t left = (ph.n - col0 + vl - 1) / vl;
            direct_tile(c, k, r, px, gr, bk, &ph, col0, left < per_group ? (int)left : per_group, vl);
        }
    }
    int flat = r->rs == 1 && r->p > 1; /* one row: a run of dw, a constant */
    LLVMValueRef len = i64c(c, k->dw); /* elements of each channel's run */
    if (flat) { /* the rows that exist, t0 .. min(t0 + p, n) */
        LLVMValueRef left = LLVMBuildNSWSub(c->b, gr->n, gr->t0, ""), p = i64c(c, r->p);
        len = imul(c, LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, p, ""), left, p, ""), k->dw);
    }
    int whole = !flat && k->dw % vl == 0; /* every vector of the run whole */
    int unrolled = !flat && c->main == c->root;
    LLVMValueRef vectors = LLVMBuildSDiv(c->b, iadd(c, len, i64c(c, vl - 1)), i64c(c, vl), "");
    for (int i = 0; i < (flat ? 1 : r->p); i++) {
        LLVMValueRef exists = LLVMBuildICmp(c->b, LLVMIntSLT, iadd(c, gr->t0, i64c(c, i)), gr->n, "");
        LLVMBasicBlockRef done = if_begin(c, exists, "store");
        LLVMValueRef row = group_row(c, r, gr, i);
        if (unrolled) {
            for (int o = 0; o < bk->ro; o++)
                for (int64_t j = 0; j < k->dw; j += vl)
                    store_run_vector(c, k, r, gr, bk, i, row, i64c(c, o), i64c(c, j), len, whole, flat, vl);
        } else {
            struct loop lo, lj;
            LLVMValueRef o = loop_to(c, &lo, bk->ro, "epo");
            LLVMValueRef j = imul(c, loop_begin(c, &lj, i64c(c, 0), vectors, "epi"), vl);
            store_run_vector(c, k, r, gr, bk, i, row, o, j, len, whole, flat, vl);
            loop_end(c, &lj);
            loop_end(c, &lo);
        }
        if_end(c, done);
    }
}

static void emit_direct(struct cg *c, const struct conv_kernel *k, LLVMValueRef lo, LLVMValueRef hi) {
    const struct ir_conv_geometry *q = &k->g;
    int vl, regs;
    codegen_host_vectors(&vl, &regs);
    struct rows r;
    direct_rows(k, vl, regs, &r);
    struct pixels px;
    direct_plan(c, k, &r, vl, &px);
    int ro = tile_channels(k, tile_pixels(k, &r, vl), regs);
    struct block bk = {NULL, NULL, ro};
    bk.buf = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)(ro * r.p * k->dw + vl))); /* + a vector read past */
    struct loop lit, lob;
    LLVMValueRef it = loop_begin(c, &lit, lo, hi, "group");
    struct group gr;
    gr.img = LLVMBuildSDiv(c->b, it, i64c(c, r.groups), "");
    LLVMValueRef g = LLVMBuildSRem(c->b, it, i64c(c, r.groups), ""), start = i64c(c, 0);
    gr.ry = i64c(c, 0), gr.n = i64c(c, phase_rows(k, r.rs, 0));
    for (int64_t ry = 1, before = 0; ry < r.rs && ry < k->dh; ry++) { /* which row phase group g is in */
        before += (phase_rows(k, r.rs, ry - 1) + r.p - 1) / r.p;
        LLVMValueRef in = LLVMBuildICmp(c->b, LLVMIntSGE, g, i64c(c, before), "");
        gr.ry = LLVMBuildSelect(c->b, in, i64c(c, ry), gr.ry, "");
        gr.n = LLVMBuildSelect(c->b, in, i64c(c, phase_rows(k, r.rs, ry)), gr.n, "");
        start = LLVMBuildSelect(c->b, in, i64c(c, before), start, "");
    }
    gr.t0 = imul(c, LLVMBuildNSWSub(c->b, g, start, ""), r.p);
    if (!k->transposed) { /* s t0 - ph (rows_of) */
        gr.first = LLVMBuildSub(c->b, imul(c, gr.t0, q->sh), i64c(c, q->ph), "");
    } else { /* t0 + floor((ry + ph - kh + 1) / s), the division made on a non-negative number */
        LLVMValueRef num = iadd(c, gr.ry, i64c(c, q->ph - q->kh + 1 + q->sh * q->kh));
        gr.first = iadd(c, gr.t0, i64c(c, -q->kh));
        gr.first = iadd(c, gr.first, LLVMBuildSDiv(c->b, num, i64c(c, q->sh), ""));
    }
    if (px.scratch) direct_fill(c, k, &r, &px, gr.img, gr.first, vl);
    int64_t blocks = k->dc / ro, rest = k->dc % ro;
    bk.o0 = imul(c, loop_to(c, &lob, blocks, "oblk"), ro);
    direct_block(c, k, &r, &px, &gr, &bk, vl);
    loop_end(c, &lob);
    if (rest) {
        struct block last = {i64c(c, blocks * ro), bk.buf, (int)rest};
        direct_block(c, k, &r, &px, &gr, &last, vl);
    }
    loop_end(c, &lit);
}

/* ---- conv2d_bwd_weight ---- */

/* The columns of x that lanes t < w of a vector of dy's columns t0 + t read through tap kx (-1: padding,
 * or no column of dy there). */
static void wgrad_cols(const struct conv_kernel *k, int64_t kx, int64_t t0, int w, int64_t *col) {
    struct conv_kernel fwd = *k;
    fwd.transposed = 0, fwd.sw = k->g.w;
    for (int t = 0; t < w; t++) col[t] = t0 + t < k->g.ow ? src_col(&fwd, t0 + t, kx) : -1;
}

/* acc[o kw + kx] += dy[img, o0 + o, oy] x its row of x through tap (ky, kx), if that row is not padding;
 * x from the operand, or from the copy of the chunk's rows (px). */
static void wgrad_row(struct cg *c, const struct conv_kernel *k, const struct pixels *px, LLVMValueRef img,
                      LLVMValueRef img0, LLVMValueRef oy, LLVMValueRef o0, int ro, LLVMValueRef ci, LLVMValueRef ky,
                      LLVMValueRef acc, int vl) {
    const struct ir_conv_geometry *q = &k->g;
    int kw = (int)q->kw, n_acc = ro * kw;
    LLVMValueRef iy = LLVMBuildSub(c->b, iadd(c, imul(c, oy, q->sh), ky), i64c(c, q->ph), "");
    LLVMBasicBlockRef done = if_begin(c, LLVMBuildICmp(c->b, LLVMIntULT, iy, i64c(c, q->h), ""), "row");
    LLVMValueRef xbase = px->scratch ? scratch_row(c, px, imad(c, LLVMBuildNSWSub(c->b, img, img0, ""), q->h, iy))
                                     : imul(c, iadd(c, imul(c, iadd(c, imul(c, img, q->c), ci), q->h), iy), q->w);
    for (int64_t col0 = 0; col0 < q->ow; col0 += vl) {
        LLVMValueRef dyv[MAX_TILE];
        int64_t ident[MAX_LANES];
        for (int l = 0; l < vl; l++) ident[l] = col0 + l < q->ow ? col0 + l : -1;
        for (int o = 0; o < ro; o++) {
            LLVMValueRef oc = iadd(c, o0, i64c(c, o));
            LLVMValueRef ybase = imul(c, iadd(c, imul(c, iadd(c, imul(c, img, q->o), oc), q->oh), oy), q->ow);
            dyv[o] = load_lanes(c, k->wt, ybase, ident, vl, q->ow);
        }
        for (int64_t kx = 0; kx < kw; kx++) {
            int64_t col[MAX_LANES];
            wgrad_cols(k, kx, col0, vl, col);
            for (int l = 0; l < vl && px->scratch; l++) col[l] = scratch_col(px, col[l]);
            LLVMValueRef xv = px->scratch ? load_row(c, px->scratch, xbase, col, vl, px->s * px->phase_len)
                                          : load_lanes(c, k->src, xbase, col, vl, q->w);
            for (int o = 0; o < ro; o++) {
                int i = o * kw + (int)kx;
                acc_set(c, acc, n_acc, i, vl, codegen_mul_add(c, dyv[o], xv, acc_get(c, acc, n_acc, i, vl)));
            }
        }
    }
    if_end(c, done);
}

/* Rows of dy side by side in a vector (see "Packing"): vl / w of them (w: dy's columns rounded up to
 * a power of 2). Where that does not divide dy's rows, the last vector of an image holds fewer. */
static int wgrad_pack(const struct conv_kernel *k, int vl) { return pack_for(k->g.ow, vl); }

/* Packed rows. Where dy's rows are packed, a vector of dy holds rows oy0 .. oy0 + rows (rows <= pack)
 * as they lie, consecutive (one masked load), and the vector of x that meets it through tap (ky, kx)
 * has part j's pixels (row oy0 + j of dy) in lanes j ow .. (j + 1) ow: built from the copy of the
 * chunk's padded rows, where padding reads zeros, once per (chunk, input channel) into a second copy,
 * the vectors [image][ky][vector of rows][kx] (the gathered copy), which every block of output channels
 * then reads with one load a vector. With dy in parts of w lanes, LLVM expanded each load of dy
 * (vexpandps), and W3's 7 x 7 wgrad ran at 26 multiply-adds a ns; with x's vectors built for each
 * block, at 33. */
static LLVMValueRef packed_x(struct cg *c, const struct conv_kernel *k, const struct pixels *px, LLVMValueRef img,
                             LLVMValueRef img0, LLVMValueRef oy0, LLVMValueRef ky, int64_t kx, int pack, int rows,
                             int vl) {
    const struct ir_conv_geometry *q = &k->g;
    int w = vl / pack;
    LLVMValueRef base[MAX_LANES], pick[MAX_LANES];
    /* padded row (oy0 + j) s + ky of this image's copy (a missing row reads row oy0's, in the copy) */
    LLVMValueRef first = iadd(c, imul(c, LLVMBuildNSWSub(c->b, img, img0, ""), q->h + 2 * q->ph), imul(c, oy0, q->sh));
    for (int j = 0; j < pack; j++)
        base[j] = scratch_row(c, px, iadd(c, iadd(c, first, ky), i64c(c, j < rows ? j * q->sh : 0)));
    int64_t col[MAX_LANES];
    wgrad_cols(k, kx, 0, w, col);
    LLVMValueRef xv = load_pixels(c, k, px, base, pack, col, vl);
    /* lane l: part l / ow's lane l mod ow; lanes without a pixel of dy zero (not whatever lies there) */
    for (int l = 0; l < vl; l++) pick[l] = i32c(c, l < rows * q->ow ? l / q->ow * w + l % q->ow : vl);
    if (q->ow < w || rows < pack)
        xv = LLVMBuildShuffleVector(c->b, xv, LLVMConstNull(LLVMTypeOf(xv)), LLVMConstVector(pick, (unsigned)vl), "");
    return xv;
}

/* Where the gathered copy holds the vector of x for the chunk's image img, tap (ky, kx) and dy's rows
 * from oy0 (a multiple of pack). */
static LLVMValueRef gathered_at(struct cg *c, const struct conv_kernel *k, LLVMValueRef img, LLVMValueRef img0,
                                LLVMValueRef ky, LLVMValueRef oy0, int64_t kx, int pack, int vl) {
    int64_t vecs = (k->g.oh + pack - 1) / pack;
    LLVMValueRef at = imad(c, LLVMBuildNSWSub(c->b, img, img0, ""), k->g.kh, ky);
    at = imad(c, at, vecs, LLVMBuildSDiv(c->b, oy0, i64c(c, pack), ""));
    return imul(c, imad(c, at, k->g.kw, i64c(c, kx)), vl);
}

/* wgrad_row for dy's rows oy0 .. oy0 + rows side by side, x from the gathered copy. */
static void wgrad_packed_rows(struct cg *c, const struct conv_kernel *k, LLVMValueRef gathered, LLVMValueRef img,
                              LLVMValueRef img0, LLVMValueRef oy0, LLVMValueRef o0, int ro, LLVMValueRef ky,
                              LLVMValueRef acc, int pack, int rows, int vl) {
    const struct ir_conv_geometry *q = &k->g;
    int kw = (int)q->kw, n_acc = ro * kw;
    LLVMValueRef dyv[MAX_TILE];
    int64_t ycol[MAX_LANES];
    for (int l = 0; l < vl; l++) ycol[l] = l < rows * q->ow ? l : -1;
    for (int o = 0; o < ro; o++) {
        LLVMValueRef oc = iadd(c, o0, i64c(c, o));
        LLVMValueRef ybase = imul(c, iadd(c, imul(c, iadd(c, imul(c, img, q->o), oc), q->oh), oy0), q->ow);
        dyv[o] = load_lanes(c, k->wt, ybase, ycol, vl, rows * q->ow);
    }
    for (int64_t kx = 0; kx < kw; kx++) {
        LLVMValueRef at = gathered_at(c, k, img, img0, ky, oy0, kx, pack, vl);
        LLVMValueRef xv = LLVMBuildLoad2(c->b, vec_type(c, vl), LLVMBuildInBoundsGEP2(c->b, c->f32, gathered, &at, 1, ""), "");
        LLVMSetAlignment(xv, (unsigned)(vl * sizeof(float)));
        for (int o = 0; o < ro; o++) {
            int i = o * kw + (int)kx;
            acc_set(c, acc, n_acc, i, vl, codegen_mul_add(c, dyv[o], xv, acc_get(c, acc, n_acc, i, vl)));
        }
    }
}

/* Fills the gathered copy for the chunk's images [img0, img_end) from the copy px. */
static void wgrad_gather(struct cg *c, const struct conv_kernel *k, const struct pixels *px, LLVMValueRef gathered,
                         LLVMValueRef img0, LLVMValueRef img_end, int pack, int vl) {
    const struct ir_conv_geometry *q = &k->g;
    struct loop li, lk, lv;
    LLVMValueRef img = loop_begin(c, &li, img0, img_end, "gimg");
    LLVMValueRef ky = loop_to(c, &lk, q->kh, "gky");
    for (int tail = 0; tail < 2; tail++) { /* the whole vectors of rows, then the last, fewer rows */
        int rows = tail ? (int)(q->oh % pack) : pack;
        if (rows == 0 || (!tail && q->oh < pack)) continue;
        LLVMValueRef oy0 = tail ? i64c(c, q->oh / pack * pack) : imul(c, loop_to(c, &lv, q->oh / pack, "gv"), pack);
        for (int64_t kx = 0; kx < q->kw; kx++) {
            LLVMValueRef at = gathered_at(c, k, img, img0, ky, oy0, kx, pack, vl);
            LLVMValueRef st = LLVMBuildStore(c->b, packed_x(c, k, px, img, img0, oy0, ky, kx, pack, rows, vl),
                                             LLVMBuildInBoundsGEP2(c->b, c->f32, gathered, &at, 1, ""));
            LLVMSetAlignment(st, (unsigned)(vl * sizeof(float)));
        }
        if (!tail) loop_end(c, &lv);
    }
    loop_end(c, &lk);
    loop_end(c, &li);
}

/* dw[o0 .. o0 + ro, ci, ky, 0 .. KW) += the sums of images [img0, img_end), into the output buffer (the
 * first images start from zero). px: their channels ci, copied in image order. */
static void wgrad_tile(struct cg *c, const struct conv_kernel *k, const struct pixels *px, LLVMValueRef gathered,
                       LLVMValueRef img0, LLVMValueRef img_end, LLVMValueRef o0, int ro, LLVMValueRef ci,
                       LLVMValueRef ky, int pack, int vl) {
    const struct ir_conv_geometry *q = &k->g;
    int kw = (int)q->kw, n_acc = ro * kw;
    LLVMValueRef acc = entry_alloca(c, LLVMArrayType2(vec_type(c, vl), (unsigned)n_acc));
    for (int i = 0; i < n_acc; i++) acc_set(c, acc, n_acc, i, vl, LLVMConstNull(vec_type(c, vl)));
    struct loop limg, loy;
    LLVMValueRef img = loop_begin(c, &limg, img0, img_end, "img");
    /* A few vectors of rows per image are unrolled (LLVM's unroller is off: jit.c): as a loop of 2
     * iterations, the 4 x 4 images' wgrad ran at two thirds of the speed. */
    int64_t steps = q->oh / pack, unrolled = steps <= WGRAD_UNROLL;
    for (int64_t s = 0; s < (unrolled ? steps : 1); s++) {
        LLVMValueRef oy = imul(c, unrolled ? i64c(c, s) : loop_to(c, &loy, steps, "oy"), pack);
        if (pack > 1) wgrad_packed_rows(c, k, gathered, img, img0, oy, o0, ro, ky, acc, pack, pack, vl);
        else wgrad_row(c, k, px, img, img0, oy, o0, ro, ci, ky, acc, vl);
        if (!unrolled) loop_end(c, &loy);
    }
    if (q->oh % pack) /* the image's last rows, fewer than pack */
        wgrad_packed_rows(c, k, gathered, img, img0, i64c(c, steps * pack), o0, ro, ky, acc, pack, (int)(q->oh % pack), vl);
    loop_end(c, &limg);
    LLVMValueRef first = LLVMBuildICmp(c->b, LLVMIntEQ, img0, i64c(c, 0), "");
    for (int o = 0; o < ro; o++)
        for (int kx = 0; kx < kw; kx++) {
            LLVMValueRef oc = iadd(c, o0, i64c(c, o));
            LLVMValueRef idx = imul(c, iadd(c, imul(c, imad(c, oc, q->c, ci), q->kh), ky), q->kw);
            idx = iadd(c, idx, i64c(c, kx));
            LLVMValueRef prev = LLVMBuildSelect(c->b, first, f32c(c, 0), load_elem(c, c->out, idx), "");
            store_elem(c, c->out, idx, LLVMBuildFAdd(c->b, prev, lane_sum(c, acc_get(c, acc, n_acc, o * kw + kx, vl)), ""));
        }
}

/* A wgrad kernel's plan: ro rows of dw per tile, dy's rows packed `pack` to a vector, images in chunks
 * of nb, x read from a copy (copy; px.scratch when emitted) or not; packed, also the gathered copy. */
struct wgrad {
    int ro, pack, copy;
    int64_t nb;
    struct pixels px;
    LLVMValueRef gathered; /* emitted, packed: the vectors of x, [nb][kh][ceil(oh / pack)][kw] */
};

static int64_t wgrad_gathered_floats(const struct conv_kernel *k, const struct wgrad *wg, int64_t nb, int vl) {
    return wg->pack > 1 ? nb * k->g.kh * ((k->g.oh + wg->pack - 1) / wg->pack) * k->g.kw * vl : 0;
}

/* The copy's rows per image: x's rows, and its padding rows as zeros where rows are packed. */
static int64_t wgrad_copy_rows(const struct conv_kernel *k, const struct wgrad *wg) {
    return wg->pack > 1 ? k->g.h + 2 * k->g.ph : k->g.h;
}

/* The plan, the copy emitted if c. Images in chunks of nb, each chunk's sums added up in vectors before
 * one lane sum per element of dw: nb such that an accumulator takes WGRAD_SUMS FMAs or more per lane
 * sum, fewer if that is what the copy fits. The copy: at stride s > 1, x's channel split into phases;
 * where rows are packed, also at stride 1, with zeros around (the margins that the parts' loads reach,
 * as direct_plan's). Rows are packed only if the copy of one image fits. */
static void wgrad_plan(struct cg *c, const struct conv_kernel *k, int vl, int regs, struct wgrad *wg) {
    const struct ir_conv_geometry *q = &k->g;
    wg->ro = (regs - 1) / ((int)q->kw + 1); /* ro KW accumulators, ro vectors of dy and one of x */
    if (wg->ro < 1) wg->ro = 1;
    for (wg->pack = wgrad_pack(k, vl);; wg->pack = 1) {
        int64_t per_image = (q->oh + wg->pack - 1) / wg->pack * ((q->ow + vl - 1) / vl);
        int64_t nb = (WGRAD_SUMS + per_image - 1) / per_image;
        wg->nb = nb < q->n ? nb : q->n, wg->copy = 0, wg->px.scratch = NULL, wg->gathered = NULL;
        if (q->sw == 1 && wg->pack == 1) return;
        int64_t lead = 0, reach = (q->w + q->sw - 1) / q->sw;
        if (wg->pack > 1) {
            reach = 0;
            for (int64_t kx = 0; kx < q->kw; kx++) {
                int64_t col[MAX_LANES];
                wgrad_cols(k, kx, 0, vl / wg->pack, col);
                widen_margins(col, vl / wg->pack, q->sw, &lead, &reach);
            }
        }
        for (nb = wg->nb; nb >= 1; nb--) {
            int64_t gathered = wgrad_gathered_floats(k, wg, nb, vl);
            if (gathered * (int64_t)sizeof(float) <= MAX_SCRATCH_BYTES &&
                pixels_plan(c, &wg->px, nb * wgrad_copy_rows(k, wg), q->w, q->sw, lead, lead + reach, vl)) {
                wg->nb = nb, wg->copy = 1, wg->gathered = NULL;
                if (c && gathered) {
                    wg->gathered = entry_alloca(c, LLVMArrayType2(c->f32, (unsigned)gathered));
                    LLVMSetAlignment(wg->gathered, 64);
                }
                return;
            }
        }
        if (wg->pack == 1) return; /* no copy fits: read the operand */
    }
}

static void emit_wgrad(struct cg *c, const struct conv_kernel *k, LLVMValueRef lo, LLVMValueRef hi) {
    const struct ir_conv_geometry *q = &k->g;
    int vl, regs;
    codegen_host_vectors(&vl, &regs);
    struct wgrad wg;
    wgrad_plan(c, k, vl, regs, &wg);
    struct loop ln, lb, lc, lk, lh, li;
    LLVMValueRef img0 = imul(c, loop_to(c, &ln, (q->n + wg.nb - 1) / wg.nb, "chunk"), wg.nb);
    LLVMValueRef img_end = iadd(c, img0, i64c(c, wg.nb)), n = i64c(c, q->n);
    img_end = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, img_end, n, ""), img_end, n, "");
    LLVMValueRef ci = loop_to(c, &lc, q->c, "ci");
    if (wg.px.scratch) { /* x[img, ci] of the chunk's images, once for all rows of dw */
        int64_t rows = wgrad_copy_rows(k, &wg), pad = wg.pack > 1 ? q->ph : 0;
        LLVMValueRef img = loop_begin(c, &li, img0, img_end, "fimg");
        LLVMValueRef h = loop_to(c, &lh, rows, "fh"), srow = LLVMBuildSub(c->b, h, i64c(c, pad), "");
        LLVMValueRef to = imad(c, LLVMBuildNSWSub(c->b, img, img0, ""), rows, h);
        LLVMValueRef valid = LLVMBuildICmp(c->b, LLVMIntULT, srow, i64c(c, q->h), ""); /* negative wraps */
        LLVMBasicBlockRef done = if_begin(c, valid, "fcopy");
        pixels_copy_row(c, &wg.px, k->src, imul(c, iadd(c, imul(c, imad(c, img, q->c, ci), q->h), srow), q->w), to, vl);
        if_end(c, done);
        done = if_begin(c, LLVMBuildNot(c->b, valid, ""), "fzero");
        pixels_zero_row(c, &wg.px, to, vl);
        if_end(c, done);
        loop_end(c, &lh);
        loop_end(c, &li);
        if (wg.gathered) wgrad_gather(c, k, &wg.px, wg.gathered, img0, img_end, wg.pack, vl);
    }
    /* blocks of ro rows of dw within [lo, hi), then the rest one by one */
    LLVMValueRef blocks = LLVMBuildSDiv(c->b, LLVMBuildNSWSub(c->b, hi, lo, ""), i64c(c, wg.ro), "");
    for (int pass = 0; pass < 2; pass++) {
        int rows = pass == 0 ? wg.ro : 1;
        LLVMValueRef o0;
        if (pass == 0) o0 = imad(c, loop_begin(c, &lb, i64c(c, 0), blocks, "oblk"), wg.ro, lo);
        else o0 = loop_begin(c, &lb, imad(c, blocks, wg.ro, lo), hi, "o");
        LLVMValueRef ky = loop_to(c, &lk, q->kh, "ky");
        wgrad_tile(c, k, &wg.px, wg.gathered, img0, img_end, o0, rows, ci, ky, wg.pack, vl);
        loop_end(c, &lk);
        loop_end(c, &lb);
    }
    loop_end(c, &lc);
    loop_end(c, &ln);
    if (c->main != c->root) { /* the epilogue, on the finished sums */
        struct loop le;
        int64_t per_row = q->c * q->kh * q->kw;
        LLVMValueRef i = loop_begin(c, &le, imul(c, lo, per_row), imul(c, hi, per_row), "epi");
        codegen_store_result(c, i, load_elem(c, c->out, i));
        loop_end(c, &le);
    }
}

void codegen_conv_tiles(const struct ir_graph *g, const struct ir_node *n, struct codegen_conv_tiles *t) {
    struct conv_kernel k;
    struct pixels px;
    int vl, regs;
    codegen_host_vectors(&vl, &regs);
    conv_kernel_of(g, n, &k);
    memset(t, 0, sizeof *t);
    if (k.direct) {
        struct rows r;
        direct_rows(&k, vl, regs, &r);
        t->rows = r.p, t->pack = r.pack, t->row_step = r.rs, t->groups = r.groups;
        t->channels = tile_channels(&k, tile_pixels(&k, &r, vl), regs);
        t->copies = direct_plan(NULL, &k, &r, vl, &px) ? (int)px.s : 0;
    } else {
        struct wgrad wg;
        wgrad_plan(NULL, &k, vl, regs, &wg);
        t->rows = 1, t->pack = wg.pack, t->channels = wg.ro;
        t->copies = wg.copy ? (int)wg.px.s : 0;
    }
}

void codegen_conv_plan(const struct ir_graph *g, const struct ir_node *n, int64_t *range, int64_t *work) {
    struct conv_kernel k;
    struct codegen_conv_tiles t;
    conv_kernel_of(g, n, &k);
    codegen_conv_tiles(g, n, &t);
    const struct ir_conv_geometry *q = &k.g;
    *work = q->n * q->o * q->oh * q->ow * q->c * q->kh * q->kw;
    *range = k.direct ? q->n * t.groups : q->o; /* row groups (image, group), or rows of dw */
}

void conv_emit_kernel(struct cg *c, LLVMValueRef lo, LLVMValueRef hi) {
    struct conv_kernel k;
    conv_kernel_of(c->g, ir_node_at(c->g, c->main), &k);
    if (k.direct) emit_direct(c, &k, lo, hi);
    else emit_wgrad(c, &k, lo, hi);
}

/* ---- the transposed weight ----
 * conv2d_bwd_data reads its weight w [O, C, kh, kw] as [C kh kw, O] (codegen_reads_transposed), from
 * a copy this kernel stores, rows [lo, hi) of it, element by element: weights are small (at most a few
 * hundred thousand floats, copied in tens of microseconds), and this loop compiles in a few
 * milliseconds where register-blocked transposes took 55-75. */
void conv_emit_weight_transpose(struct cg *c, int id, int out, LLVMValueRef lo, LLVMValueRef hi) {
    int64_t rows, cols;
    codegen_transpose_dims(ir_node_at(c->g, id), &rows, &cols);
    struct loop lc, lr;
    LLVMValueRef col = loop_begin(c, &lc, lo, hi, "c");
    LLVMValueRef row = loop_to(c, &lr, rows, "r");
    store_elem(c, out, imad(c, col, rows, row), codegen_value(c, id, imad(c, row, cols, col)));
    loop_end(c, &lr);
    loop_end(c, &lc);
}
