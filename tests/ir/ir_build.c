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

int main(void) {
    test_hash_consing();
    test_shapes();
    test_batched_matmul_shapes();
    test_verifier_catches_corruption();
    test_printer();
    return test_report();
}
