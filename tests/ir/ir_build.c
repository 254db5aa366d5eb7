/* Graph IR: builders, shape rules, hash-consing, the verifier and the printer. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "test.h"

static void test_hash_consing(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s[2] = {4, 3};
    int x = ir_input(g, "x", 2, s);
    int a = ir_unary(g, IR_EXP, x), b = ir_unary(g, IR_EXP, x);
    CHECK(a == b);
    CHECK(ir_binary(g, IR_ADD, a, x) == ir_binary(g, IR_ADD, b, x));
    CHECK(ir_binary(g, IR_ADD, a, x) != ir_binary(g, IR_ADD, x, a)); /* no commutativity assumed */
    CHECK(ir_const(g, 0.0, 2, s) != ir_const(g, -0.0, 2, s));        /* bitwise constants */
    CHECK(ir_input(g, "x", 2, s) == x);
    int64_t other[2] = {4, 4};
    CHECK(ir_input(g, "x", 2, other) < 0); /* same name, other shape */
    CHECK(strstr(ir_graph_error(g), "'x'") != NULL);
    /* Many nodes: the hash table grows and still finds every one. */
    int prev = x, ids[3000];
    for (int i = 0; i < 3000; i++) ids[i] = prev = ir_unary(g, IR_TANH, prev);
    prev = x;
    for (int i = 0; i < 3000; i++) {
        prev = ir_unary(g, IR_TANH, prev);
        if (prev != ids[i]) {
            CHECK(prev == ids[i]);
            break;
        }
    }
    ir_graph_free(g);
}

/* Batched matmul shapes: [b, M, K] x [b, K, N] with the flags on the last two dims. */
static void test_batched_matmul_shapes(void) {
    struct ir_graph *g = ir_graph_new();
    /* batched: [3, 4, 2] x [3, 5, 2]^T -> [3, 4, 5]; batch sizes and ranks must agree */
    int bx = ir_input(g, "bx", 3, (int64_t[]){3, 4, 2}), bw = ir_param(g, "bw", 3, (int64_t[]){3, 5, 2});
    int bh = ir_matmul(g, bx, bw, IR_TRANS_B);
    CHECK(bh >= 0 && ir_node_at(g, bh)->ndim == 3 && ir_node_at(g, bh)->shape[0] == 3 &&
          ir_node_at(g, bh)->shape[1] == 4 && ir_node_at(g, bh)->shape[2] == 5);
    CHECK(ir_matmul(g, bx, bw, 0) < 0 && strstr(ir_graph_error(g), "inner dimensions") != NULL);
    CHECK(ir_matmul(g, bx, ir_param(g, "w", 2, (int64_t[]){2, 5}), 0) < 0 &&
          strstr(ir_graph_error(g), "rank 3 and 2") != NULL);
    CHECK(ir_matmul(g, bx, ir_param(g, "bw2", 3, (int64_t[]){2, 2, 5}), 0) < 0 &&
          strstr(ir_graph_error(g), "batch sizes differ") != NULL);
    CHECK(ir_matmul(g, ir_input(g, "x1", 1, (int64_t[]){2}), ir_input(g, "x1b", 1, (int64_t[]){2}), 0) < 0);
    ir_graph_free(g);
}

static void test_shapes(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t sx[2] = {8, 2}, sw[2] = {2, 5}, sb[1] = {5};
    int x = ir_input(g, "x", 2, sx), w = ir_param(g, "w", 2, sw), b = ir_param(g, "b", 1, sb);
    int h = ir_matmul(g, x, w, 0);
    CHECK(h >= 0 && ir_node_at(g, h)->shape[0] == 8 && ir_node_at(g, h)->shape[1] == 5);
    CHECK(ir_matmul(g, x, x, 0) < 0);
    CHECK(strstr(ir_graph_error(g), "inner dimensions") != NULL);
    int ht = ir_matmul(g, x, x, IR_TRANS_A); /* [2, 8] x [8, 2] */
    CHECK(ht >= 0 && ir_node_at(g, ht)->shape[0] == 2 && ir_node_at(g, ht)->shape[1] == 2);
    int y = ir_binary_bcast(g, IR_ADD, h, b);
    CHECK(y >= 0 && ir_node_at(g, y)->ndim == 2 && ir_node_at(g, y)->shape[1] == 5);
    CHECK(ir_binary(g, IR_ADD, h, b) < 0); /* unbroadcast binary ops need equal shapes */
    CHECK(ir_binary_bcast(g, IR_ADD, h, x) < 0);
    CHECK(strstr(ir_graph_error(g), "do not broadcast") != NULL);
    int s = ir_sum(g, y, 1u);
    CHECK(ir_node_at(g, s)->shape[0] == 1 && ir_node_at(g, s)->shape[1] == 5);
    CHECK(ir_sum(g, y, 4u) < 0);
    int back = ir_sum_to(g, y, 1, sb); /* the adjoint of broadcasting the bias */
    CHECK(back >= 0 && ir_node_at(g, back)->ndim == 1 && ir_node_at(g, back)->shape[0] == 5);
    int64_t flat[1] = {40}, bad[1] = {41};
    CHECK(ir_reshape(g, y, 1, flat) >= 0);
    CHECK(ir_reshape(g, y, 1, bad) < 0);
    int64_t again[2] = {8, 5};
    CHECK(ir_reshape(g, ir_reshape(g, y, 1, flat), 2, again) == y); /* reshape of reshape folds */
    CHECK(ir_unary(g, IR_EXP, 12345) < 0);
    char err[256];
    CHECK(ir_verify(g, err, sizeof err) == 0);
    CHECK(ir_graph_args(g, NULL) == 3);
    CHECK(ir_graph_find_arg(g, "w") == w);
    CHECK(ir_graph_output(g, "y", y) == 0);
    CHECK(ir_graph_output(g, "y", x) < 0);
    ir_graph_free(g);
}

static void test_verifier_catches_corruption(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s[2] = {3, 4};
    int x = ir_input(g, "x", 2, s);
    int e = ir_unary(g, IR_EXP, x);
    char err[256];
    CHECK(ir_verify(g, err, sizeof err) == 0);
    g->nodes[e].shape[1] = 5;
    CHECK(ir_verify(g, err, sizeof err) != 0);
    CHECK(strstr(err, "%1") != NULL);
    g->nodes[e].shape[1] = 4;
    g->nodes[e].in[0] = e; /* a cycle */
    CHECK(ir_verify(g, err, sizeof err) != 0);
    ir_graph_free(g);
}

static void test_printer(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s[2] = {2, 3};
    int x = ir_input(g, "x", 2, s);
    int t = ir_matmul(g, x, x, IR_TRANS_B);
    ir_graph_output(g, "t", ir_sum(g, t, 2u));
    char *buf = ir_print_string(g);
    CHECK(strstr(buf, "%0 = input \"x\" : [2, 3]\n") != NULL);
    CHECK(strstr(buf, "%1 = matmul %0, %0 : [2, 2] trans_b\n") != NULL);
    CHECK(strstr(buf, "%2 = sum %1 : [2, 1] axes=1\n") != NULL);
    CHECK(strstr(buf, "output \"t\" = %2\n") != NULL);
    free(buf);
    ir_graph_free(g);
}

/* The shape rules on symbolic shapes, as the frontend uses them: B (IR_DIM_SYM) equals only itself, a 1
 * broadcasts to it, and a rule that would compute with it refuses it. */
static struct ir_node shaped(int ndim, const int64_t *shape) {
    struct ir_node n;
    memset(&n, 0, sizeof n);
    n.ndim = ndim;
    for (int i = 0; i < ndim; i++) n.shape[i] = shape[i];
    return n;
}

static void test_symbolic_rules(void) {
    const int64_t B = IR_DIM_SYM;
    char why[200];
    struct ir_node x = shaped(2, (int64_t[]){B, 3}), w = shaped(2, (int64_t[]){3, 4}), v = shaped(1, (int64_t[]){4});
    struct ir_node n = shaped(0, NULL);
    n.op = IR_MATMUL;
    CHECK(ir_infer_shape(&n, (const struct ir_node *[]){&x, &w}, why, sizeof why) == 0);
    CHECK(n.ndim == 2 && n.shape[0] == B && n.shape[1] == 4);
    CHECK(ir_infer_shape(&n, (const struct ir_node *[]){&w, &x}, why, sizeof why) < 0 && strstr(why, "[B, 3]"));
    /* [B, 4] + [4] -> [B, 4]; [B, 1] + [4] too; [B] + [4] does not broadcast */
    int nd;
    int64_t out[IR_MAX_DIMS];
    struct ir_node h = shaped(2, (int64_t[]){B, 4}), col = shaped(2, (int64_t[]){B, 1}), b1 = shaped(1, (int64_t[]){B});
    CHECK(ir_broadcast_shape(2, (const struct ir_node *[]){&h, &v}, &nd, out, why, sizeof why) == 0 && nd == 2 &&
          out[0] == B && out[1] == 4);
    CHECK(ir_broadcast_shape(2, (const struct ir_node *[]){&col, &v}, &nd, out, why, sizeof why) == 0 && out[1] == 4);
    CHECK(ir_broadcast_shape(2, (const struct ir_node *[]){&b1, &v}, &nd, out, why, sizeof why) < 0 &&
          strstr(why, "[B] and [4]"));
    /* reshape counts B apart from the fixed sizes */
    struct ir_node r = shaped(3, (int64_t[]){B, 2, 2});
    r.op = IR_RESHAPE;
    CHECK(ir_infer_shape(&r, (const struct ir_node *[]){&h}, why, sizeof why) == 0);
    r = shaped(2, (int64_t[]){4, 4});
    r.op = IR_RESHAPE;
    CHECK(ir_infer_shape(&r, (const struct ir_node *[]){&h}, why, sizeof why) < 0);
    /* concat along B and a slice of B are refused; along a fixed axis B passes through */
    struct ir_node c = shaped(0, NULL);
    c.op = IR_CONCAT;
    CHECK(ir_infer_shape(&c, (const struct ir_node *[]){&h, &h}, why, sizeof why) < 0 && strstr(why, "symbolic"));
    c.axis = 1;
    CHECK(ir_infer_shape(&c, (const struct ir_node *[]){&h, &h}, why, sizeof why) == 0 && c.shape[0] == B &&
          c.shape[1] == 8);
    struct ir_node sl = shaped(2, (int64_t[]){B, 2});
    sl.op = IR_SLICE;
    sl.step[0] = sl.step[1] = 1;
    CHECK(ir_infer_shape(&sl, (const struct ir_node *[]){&h}, why, sizeof why) == 0);
    sl.start[0] = 1;
    CHECK(ir_infer_shape(&sl, (const struct ir_node *[]){&h}, why, sizeof why) < 0);
    /* conv2d: N may be B, the rest must be fixed */
    struct ir_node img = shaped(4, (int64_t[]){B, 2, 5, 5}), k = shaped(4, (int64_t[]){3, 2, 3, 3}), cv = shaped(0, NULL);
    cv.op = IR_CONV2D;
    for (int d = 0; d < 4; d++) cv.step[d] = 1;
    cv.start[2] = cv.start[3] = 1;
    CHECK(ir_infer_shape(&cv, (const struct ir_node *[]){&img, &k}, why, sizeof why) == 0);
    CHECK(cv.shape[0] == B && cv.shape[1] == 3 && cv.shape[2] == 5 && cv.shape[3] == 5);
    img.shape[2] = B;
    CHECK(ir_infer_shape(&cv, (const struct ir_node *[]){&img, &k}, why, sizeof why) < 0 && strstr(why, "fixed"));
}

/* ir_graph_flops against closed forms: 2 flops per multiply-add, whatever the transposes and batching. */
static void test_flops(void) {
    struct ir_graph *g = ir_graph_new();
    int a = ir_input(g, "a", 2, (int64_t[]){4, 3}), b = ir_param(g, "b", 2, (int64_t[]){3, 5});
    int c = ir_input(g, "c", 3, (int64_t[]){2, 4, 3}), d = ir_input(g, "d", 3, (int64_t[]){2, 3, 6});
    int at = ir_input(g, "at", 2, (int64_t[]){3, 4});
    ir_graph_output(g, "ab", ir_matmul(g, a, b, 0));             /* 4 x 5 x 3 */
    ir_graph_output(g, "atb", ir_matmul(g, at, b, IR_TRANS_A));  /* 4 x 5 x 3 */
    ir_graph_output(g, "cd", ir_batch_matmul(g, c, d));          /* 2 x 4 x 6 x 3 */
    CHECK(ir_graph_flops(g) == 2.0 * (60 + 60 + 144));
    ir_graph_free(g);
    /* x [2, 3, 9, 9], w [4, 3, 3, 3], stride 2, padding 1: y [2, 4, 5, 5]; the gradients do as many */
    g = ir_graph_new();
    int x = ir_input(g, "x", 4, (int64_t[]){2, 3, 9, 9}), w = ir_param(g, "w", 4, (int64_t[]){4, 3, 3, 3});
    int y = ir_conv2d_op(g, x, w, 2, 1);
    CHECK(y >= 0 && g->nodes[y].shape[2] == 5);
    ir_graph_output(g, "y", y);
    ir_graph_output(g, "dx", ir_conv2d_bwd_data(g, y, w, 2, 1, 9, 9));
    ir_graph_output(g, "dw", ir_conv2d_bwd_weight(g, x, y, 2, 1, 3, 3));
    CHECK(ir_graph_flops(g) == 3 * 2.0 * (2 * 4 * 5 * 5) * (3 * 3 * 3));
    ir_graph_free(g);
}

int main(void) {
    test_flops();
    test_hash_consing();
    test_shapes();
    test_batched_matmul_shapes();
    test_verifier_catches_corruption();
    test_printer();
    test_symbolic_rules();
    return test_report();
}
