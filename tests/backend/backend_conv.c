/* backend_conv: the conv ops' kernels (backend/conv.c) against the interpreter, on sizes that hit every
 * edge of their tiling: channels that are not a multiple of the vector width or of the register tile,
 * 1x1, 3x3 and 5x5 kernels, stride 1 and 2, padding 0 to 2, images of 7x7 and 1x1, rows wider than a
 * tile and narrow rows packed side by side. Each case runs the three ops directly and conv2d with a
 * fused epilogue (bias, then silu; and a per-channel add after it, the time embedding's shape), and
 * conv2d and bwd_data with per-row, per-column and transposed operands in their epilogues, through
 * check_graph: O3, O0 and unfused against the interpreter, 1 thread against 2 and 3 bitwise, fused
 * against unfused bitwise. */
#include "autodiff.h"
#include "backend_check.h"

struct conv_case {
    int64_t n, c, h, w, o, k;
    int stride, pad;
};

static void conv_case(const struct conv_case *s) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 4, (int64_t[]){s->n, s->c, s->h, s->w});
    int w = ir_param(g, "w", 4, (int64_t[]){s->o, s->c, s->k, s->k});
    int b = ir_param(g, "b", 1, (int64_t[]){s->o});
    int t = ir_param(g, "t", 4, (int64_t[]){s->n, s->o, 1, 1}); /* a per-image, per-channel add */
    int y = ir_conv2d_op(g, x, w, s->stride, s->pad);
    CHECK_MSG(y >= 0, "%s", ir_graph_error(g));
    if (y < 0) {
        ir_graph_free(g);
        return;
    }
    const struct ir_node yn = *ir_node_at(g, y);
    int dy = ir_input(g, "dy", 4, yn.shape);
    int w2 = ir_param(g, "w2", 4, (int64_t[]){s->o, s->c, s->k, s->k});
    ir_graph_output(g, "y", y);
    int fused = ir_unary(g, IR_SILU, ir_conv2d(g, x, w, b, s->stride, s->pad));
    ir_graph_output(g, "silu_bias", ir_binary_bcast(g, IR_ADD, fused, t));
    /* Per-row and per-column factors and a transposed operand, after conv2d and after bwd_data: for a
     * vector of the epilogue, broadcasts whose lanes take one element (per row, along a row),
     * consecutive elements (per column, along a row) or neither (when a vector spans rows), and a
     * movement op, computed lane by lane. */
    int per_row = ir_param(g, "per_row", 4, (int64_t[]){1, 1, yn.shape[2], 1});
    int per_col = ir_param(g, "per_col", 4, (int64_t[]){1, 1, 1, yn.shape[3]});
    int yt = ir_input(g, "yt", 4, (int64_t[]){yn.shape[0], yn.shape[1], yn.shape[3], yn.shape[2]});
    int e = ir_binary_bcast(g, IR_MUL, ir_binary_bcast(g, IR_ADD, ir_conv2d(g, x, w2, -1, s->stride, s->pad), per_row), per_col);
    ir_graph_output(g, "rows_cols", ir_unary(g, IR_TANH, ir_binary(g, IR_ADD, e, ir_permute(g, yt, (int[]){0, 1, 3, 2}))));
    ir_graph_output(g, "dx", ir_conv2d_bwd_data(g, dy, w, s->stride, s->pad, s->h, s->w));
    int row_x = ir_param(g, "row_x", 4, (int64_t[]){1, 1, s->h, 1});
    int col_x = ir_param(g, "col_x", 4, (int64_t[]){1, 1, 1, s->w});
    int dx2 = ir_binary_bcast(g, IR_ADD, ir_conv2d_bwd_data(g, dy, w2, s->stride, s->pad, s->h, s->w), row_x);
    ir_graph_output(g, "dx_rows_cols", ir_unary(g, IR_TANH, ir_binary_bcast(g, IR_MUL, dx2, col_x)));
    int dw = ir_conv2d_bwd_weight(g, x, dy, s->stride, s->pad, s->k, s->k);
    ir_graph_output(g, "dw", dw);
    ir_graph_output(g, "dw_epilogue", ir_unary(g, IR_TANH, dw));
    char what[128];
    snprintf(what, sizeof what, "conv x [%lld,%lld,%lld,%lld] w [%lld,%lld,%lld,%lld] s%d p%d", (long long)s->n,
             (long long)s->c, (long long)s->h, (long long)s->w, (long long)s->o, (long long)s->c, (long long)s->k,
             (long long)s->k, s->stride, s->pad);
    check_graph(what, g, -1, 1, 1e-4, 1e-4);
    ir_graph_free(g);
}

/* A conv layer's gradients through autodiff, fused into a small stack, as a training step runs them. */
static void conv_stack_gradients(void) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 4, (int64_t[]){3, 5, 9, 11});
    int w1 = ir_param(g, "w1", 4, (int64_t[]){17, 5, 3, 3}), b1 = ir_param(g, "b1", 1, (int64_t[]){17});
    int w2 = ir_param(g, "w2", 4, (int64_t[]){6, 17, 3, 3});
    int h = ir_unary(g, IR_SILU, ir_conv2d(g, x, w1, b1, 1, 1));
    int e = ir_sum_all(g, ir_unary(g, IR_SQUARE, ir_conv2d(g, h, w2, -1, 2, 1)));
    int wrt[4] = {x, w1, b1, w2}, grads[4];
    CHECK_MSG(ad_grad(g, e, -1, 4, wrt, grads) == 0, "%s", ir_graph_error(g));
    const char *names[4] = {"dx", "dw1", "db1", "dw2"};
    for (int i = 0; i < 4; i++) ir_graph_output(g, names[i], grads[i]);
    check_graph("conv stack gradients", g, -1, 1, 1e-3, 1e-4);
    ir_graph_free(g);
}

int main(void) {
    static const struct conv_case cases[] = {
        {2, 3, 7, 7, 5, 3, 1, 1},    /* 7x7, 3 -> 5 channels */
        {2, 17, 7, 7, 19, 3, 2, 1},  /* stride 2, channels past a vector */
        {1, 4, 1, 1, 3, 1, 1, 0},    /* 1x1 image, 1x1 kernel */
        {1, 2, 1, 1, 3, 3, 1, 1},    /* 1x1 image, 3x3 kernel: only the centre tap */
        {2, 3, 9, 10, 4, 5, 1, 2},   /* 5x5, padding 2 */
        {1, 3, 11, 9, 2, 5, 2, 0},   /* 5x5, stride 2, no padding */
        {1, 5, 6, 40, 13, 3, 1, 1},  /* rows wider than a tile of column vectors */
        {2, 8, 8, 8, 16, 1, 2, 0},   /* 1x1 kernel, stride 2 */
        {1, 3, 8, 9, 4, 3, 2, 2},    /* padding 2 with stride 2 */
        {2, 5, 13, 15, 6, 3, 2, 0},  /* stride 2, odd widths, no padding */
        {1, 2, 10, 12, 3, 4, 2, 1},  /* stride 2, an even kernel */
        {5, 3, 20, 21, 4, 3, 2, 1},  /* wgrad's chunks of images: 4 and 1 */
        {5, 2, 9, 9, 3, 3, 1, 1},    /* ... at stride 1 */
        {1, 600, 4, 16, 2, 3, 2, 1}, /* stride 2 with a copy past MAX_SCRATCH_BYTES: the operand, shuffled */
        /* tiles of several output rows (stride 2): groups that run past their row phase's last row */
        {3, 9, 15, 7, 11, 3, 2, 1},  /* bwd_data's row phases of 8 and 7 rows, 11 channels */
        {2, 6, 13, 13, 10, 3, 2, 2}, /* padding 2: the first rows of a group read zeros */
        {2, 20, 7, 7, 33, 3, 2, 0},  /* 7x7 to 3x3, no padding, 33 channels */
        {1, 4, 5, 30, 9, 3, 2, 1},   /* two column vectors per row */
        {2, 3, 1, 1, 5, 3, 2, 1},    /* 1x1 image at stride 2 */
        /* narrow rows packed side by side in a vector (conv.c, "Packing") */
        {2, 16, 8, 8, 20, 3, 2, 1},  /* 8x8 to 4x4, as cifar_time's last layer */
        {3, 5, 4, 4, 7, 3, 2, 1},    /* 4x4 to 2x2: four rows a vector on 8 lanes */
        {2, 7, 6, 5, 9, 3, 2, 1},    /* rows of 3 columns, 3 rows: parts with an idle lane, a group past the end */
        {2, 5, 8, 6, 7, 3, 2, 1},    /* 4 rows of 3 columns: wgrad's packed dy with an idle lane per part */
        {2, 6, 4, 4, 5, 3, 1, 1},    /* stride 1: wgrad's copy with its padding rows only for packing */
        {3, 4, 2, 2, 6, 3, 1, 1},    /* 2x2 at stride 1 */
        {1, 3, 10, 23, 4, 3, 3, 1},  /* stride 3: bwd_data's 3 column phases, read back lane by lane */
        {2, 5, 14, 14, 6, 3, 2, 1},  /* 14x14 to 7x7, as W3's last layer: wgrad's 7 rows of dy in pairs and one */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) conv_case(&cases[i]);
    conv_stack_gradients();
    return test_report();
}
