/* The textual IR parser: round trips (print -> parse -> print is identical) on hand-made and random
 * graphs, every diagnostic with its exact location, and robustness: truncations, byte mutations, random
 * bytes and token soup never crash it, every rejection is a located error, and every accepted text gives
 * a valid graph whose printed form parses back to itself. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "op_coverage.h"
#include "test.h"

/* print -> parse -> print must reproduce the text. */
static void check_round_trip(const struct ir_graph *g, const char *what) {
    char *text = ir_print_string(g), err[1024];
    struct ir_graph *p = ir_parse(text, "rt.ir", err, sizeof err);
    CHECK_MSG(p != NULL, "%s: %s\n%s", what, err, text);
    if (p) {
        char *again = ir_print_string(p);
        CHECK_MSG(strcmp(text, again) == 0, "%s: round trip differs:\n%s---\n%s", what, text, again);
        CHECK(p->n_nodes == g->n_nodes && p->n_outputs == g->n_outputs);
        free(again);
        ir_graph_free(p);
    }
    free(text);
}

static void test_hand_made(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s43[2] = {4, 3}, s33[2] = {3, 3}, one = 1;
    int x = ir_input(g, "x \"quoted\" \\ \x01\xc3\xa9", 2, s43), w = ir_param(g, "W", 2, s33);
    int h = ir_matmul(g, x, w, 0);
    ir_graph_output(g, "h", h);
    ir_graph_output(g, "t", ir_matmul(g, w, w, IR_TRANS_A | IR_TRANS_B));
    int bx = ir_input(g, "bx", 3, (int64_t[]){2, 4, 3});
    ir_graph_output(g, "bt", ir_matmul(g, bx, bx, IR_TRANS_A)); /* batched: [2, 3, 3] */
    ir_graph_output(g, "s", ir_sum(g, h, 3u));
    ir_graph_output(g, "m", ir_max(g, h, 1u));
    ir_graph_output(g, "c", ir_const(g, -0.0, 0, NULL));
    double values[] = {0.1, 1.0 / 3, 1e300, -1e-300, 4.9406564584124654e-324, INFINITY, -INFINITY, NAN, -NAN, 123456789.0};
    for (int i = 0; i < (int)(sizeof values / sizeof values[0]); i++) {
        char name[16];
        snprintf(name, sizeof name, "v%d", i);
        ir_graph_output(g, name, ir_const(g, values[i], 1, &one));
    }
    for (int op = 0; op < IR_OP_COUNT; op++) { /* every elementwise op of the table */
        if (ir_op_is_unary_elementwise(op)) ir_unary(g, (enum ir_op)op, h);
        if (ir_op_is_unary_elementwise(op) && ir_op_has_value(op)) ir_unary_attr(g, (enum ir_op)op, h, -1.0 / 3);
        if (ir_op_is_binary_elementwise(op)) ir_binary(g, (enum ir_op)op, h, h);
    }
    ir_where(g, ir_binary(g, IR_LT, h, h), h, ir_unary(g, IR_NEG, h));
    ir_permute(g, h, (int[]){1, 0});
    ir_concat(g, h, ir_pad(g, h, (int64_t[]){1, 0}, (int64_t[]){2, 1}, (int64_t[]){9, 3}), 0);
    ir_slice_axis(g, h, 0, 1, 4, 2);
    ir_stop_grad(g, h);
    ir_binary_bcast(g, IR_DIV, h, ir_param(g, "b", 1, &s43[1]));
    int cx = ir_input(g, "cx", 4, (int64_t[]){2, 3, 5, 5}), cw = ir_param(g, "cw", 4, (int64_t[]){4, 3, 3, 3});
    int cy = ir_conv2d_op(g, cx, cw, 2, 1); /* [2, 4, 3, 3] */
    ir_graph_output(g, "conv_dx", ir_conv2d_bwd_data(g, cy, cw, 2, 1, 5, 5));
    ir_graph_output(g, "conv_dw", ir_conv2d_bwd_weight(g, cx, cy, 2, 1, 3, 3));
    /* Nodes the builders would never make, added as written. */
    struct ir_node n = *ir_node_at(g, h);
    n.op = IR_RESHAPE;
    n.in[0] = h;
    int trivial = ir_node_add(g, &n);
    CHECK(trivial > h);
    n.op = IR_SUM;
    n.axes = 0;
    CHECK(ir_node_add(g, &n) > trivial);
    CHECK(ir_graph_output(g, "trivial", trivial) == 0);
    char err[256];
    CHECK(ir_verify(g, err, sizeof err) == 0);
    check_round_trip(g, "hand-made");
    op_coverage_mark(g, -1);
    op_coverage_check("ir_parse: the hand-made round trip");

    /* The escaped name reads back byte for byte, and -0.0 keeps its sign. */
    char *text = ir_print_string(g);
    struct ir_graph *p = ir_parse(text, "t.ir", err, sizeof err);
    CHECK(p && strcmp(ir_node_at(p, 0)->name, ir_node_at(g, 0)->name) == 0);
    CHECK(p && ir_graph_find_arg(p, "W") == w);
    int c = p ? p->outputs[ir_graph_find_output(p, "c")].node : 0;
    CHECK(p && signbit(ir_node_at(p, c)->value) && ir_node_at(p, c)->value == 0);
    ir_graph_free(p);
    free(text);
    ir_graph_free(g);

    struct ir_graph *empty = ir_graph_new();
    check_round_trip(empty, "empty graph");
    ir_graph_free(empty);
}

/* Non-dense textual ids, comments, blank lines, CRLF, tabs, duplicate nodes. */
static void test_lenient_input(void) {
    const char *src = "; a comment before the graph\r\n"
                      "graph {   ; and after the brace\r\n"
                      "\r\n"
                      "\t%7 = input \"x\" : [2,3]\r\n"
                      "  %3=exp %7:[ 2 , 3 ]\r\n"
                      "  %100 = exp %7 : [2, 3]   ; equal to %3: hash-consed into one node\r\n"
                      "  %4 = sum %100 : [2, 1] axes=1\r\n"
                      "  output \"s\" = %4\r\n"
                      "  %5 = add %3, %100 : [2, 3]\r\n"
                      "  output \"a\" = %5\r\n"
                      "}\r\n"
                      "; trailing comment";
    char err[512];
    struct ir_graph *g = ir_parse(src, "t.ir", err, sizeof err);
    CHECK_MSG(g != NULL, "%s", err);
    if (!g) return;
    char *text = ir_print_string(g);
    const char *want = "graph {\n"
                       "  %0 = input \"x\" : [2, 3]\n"
                       "  %1 = exp %0 : [2, 3]\n"
                       "  %2 = sum %1 : [2, 1] axes=1\n"
                       "  %3 = add %1, %1 : [2, 3]\n"
                       "  output \"s\" = %2\n"
                       "  output \"a\" = %3\n"
                       "}\n";
    CHECK_MSG(strcmp(text, want) == 0, "%s", text);
    free(text);
    ir_graph_free(g);
}

/* Random graphs from the builders: every op and attribute. */
static uint64_t rng_state = 1;
static unsigned rnd(unsigned n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33) % n;
}

static void test_random_graphs(void) {
    for (int seed = 1; seed <= 200; seed++) {
        rng_state = (uint64_t)seed;
        struct ir_graph *g = ir_graph_new();
        int64_t s[2] = {1 + rnd(4), 1 + rnd(4)};
        int ids[64], n = 0;
        ids[n++] = ir_input(g, "x", 2, s);
        int64_t ws[2] = {s[1], 1 + rnd(4)};
        ids[n++] = ir_param(g, "w", 2, ws);
        for (int k = 0; k < 40 && n < 64; k++) {
            int a = ids[rnd((unsigned)n)], b = ids[rnd((unsigned)n)], r = -1;
            const struct ir_node *na = ir_node_at(g, a);
            switch (rnd(10)) {
            case 0: r = ir_unary(g, op_of_kind(IR_K_UNARY, (unsigned)rnd(1000)), a); break;
            case 1: r = ir_binary_bcast(g, op_of_kind(IR_K_BINARY, (unsigned)rnd(1000)), a, b); break;
            case 2: r = ir_const_like(g, (double)((int)rnd(7) - 3) / 2, a); break;
            case 3: r = rnd(2) ? ir_sum(g, a, rnd(1u << na->ndim)) : ir_max(g, a, rnd(1u << na->ndim)); break;
            case 4: {
                int64_t flat = ir_node_numel(na);
                r = ir_reshape(g, a, 1, &flat);
                break;
            }
            case 5: r = ir_matmul(g, a, b, rnd(4)); break;
            case 6: r = ir_stop_grad(g, a); break;
            case 7: r = ir_sum_all(g, a); break;
            case 8: r = ir_where_bcast(g, a, b, ids[rnd((unsigned)n)]); break;
            case 9: {
                int ax = (int)rnd((unsigned)na->ndim);
                switch (rnd(4)) {
                case 0: r = ir_permute(g, a, na->ndim == 2 ? (int[]){1, 0} : (int[]){0}); break;
                case 1: r = ir_pad_axis(g, a, ax, rnd(3), rnd(3)); break;
                case 2: r = ir_slice_axis(g, a, ax, 0, na->shape[ax], 1 + rnd(2)); break;
                case 3: r = ir_concat(g, a, a, ax); break;
                }
                break;
            }
            }
            if (r >= 0) ids[n++] = r;
        }
        for (int k = 0; k < 3; k++) {
            char name[8];
            snprintf(name, sizeof name, "o%d", k);
            ir_graph_output(g, name, ids[rnd((unsigned)n)]);
        }
        char what[32];
        snprintf(what, sizeof what, "random graph %d", seed);
        check_round_trip(g, what);
        ir_graph_free(g);
    }
}

/* Each input must fail with exactly this first line (file t.ir). */
static void expect_error(const char *src, const char *want) {
    char err[1024];
    struct ir_graph *g = ir_parse(src, "t.ir", err, sizeof err);
    CHECK_MSG(g == NULL, "accepted:\n%s", src);
    ir_graph_free(g);
    if (g) return;
    size_t n = strcspn(err, "\n");
    CHECK_MSG(strlen(want) == n && strncmp(err, want, n) == 0, "\n  got:  %.*s\n  want: %s", (int)n, err, want);
}

#define G(body) "graph {\n" body "}\n"

static void test_errors(void) {
    expect_error("", "t.ir:1:1: error: expected 'graph {', found end of file");
    expect_error("grap {\n}\n", "t.ir:1:1: error: expected 'graph {', found 'grap'");
    expect_error("graph\n{\n}\n", "t.ir:1:6: error: expected '{' after 'graph', found end of line");
    expect_error("graph { %0 = input \"x\" : [2]\n}\n", "t.ir:1:9: error: unexpected '%' after 'graph {'");
    expect_error("graph {\n  %0 = input \"x\" : [2]\n", "t.ir:1:7: error: this graph has no closing '}'");
    expect_error(G("  %1 = exp %0 : [2]\n"),
                 "t.ir:2:12: error: %0 is not defined (nodes must be defined before they are used)");
    expect_error(G("  %0 = input \"x\" : [2]\n  %0 = exp %0 : [2]\n"), "t.ir:3:3: error: %0 is defined twice");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = expp %0 : [2]\n"), "t.ir:3:8: error: unknown op 'expp'");
    expect_error(G("  %0 = input \"x\" : [2, 0]\n"), "t.ir:2:24: error: dimension sizes must be positive");
    /* the newer ops' attributes */
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = permute %0 : [3, 2]\n"), "t.ir:3:27: error: expected 'perm=', found end of line");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = permute %0 : [3, 2] perm=1\n"),
                 "t.ir:3:34: error: perm needs 2 values, one per dimension");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = permute %0 : [3, 2] perm=1,1\n"),
                 "t.ir:3:8: error: permute: perm is not a permutation of the 2 axes (operands %0: [2, 3]; result: [3, 2])");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = slice %0 : [1, 3] start=0,0\n"), "t.ir:3:35: error: expected 'step=', found end of line");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = exp %0 : [2, 3] start=0,0\n"),
                 "t.ir:3:24: error: 'start' applies to slice, pad and convs only, not exp");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = leaky_relu %0 : [2, 3]\n"), "t.ir:3:30: error: expected 'slope=', found end of line");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = elu %0 : [2, 3] slope=1\n"),
                 "t.ir:3:24: error: 'slope' applies to leaky_relu only, not elu");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = concat %0, %0 : [2, 6] axis=0\n"),
                 "t.ir:3:8: error: concat: the result should have shape [4, 3] (operands %0: [2, 3], %0: [2, 3]; result: [2, 6])");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = where %0, %0 : [2, 3]\n"),
                 "t.ir:3:21: error: expected ',' before the next operand, found ':'");
    expect_error(G("  %0 = input \"x\" : [1, 1, 1, 1, 1]\n"), "t.ir:2:33: error: shapes have at most 4 dimensions");
    expect_error(G("  %0 = input \"x\" : [99999999999999999999]\n"),
                 "t.ir:2:21: error: a dimension size is too large (at most 9223372036854775807)");
    expect_error(G("  %0 = input \"x\" : [4294967296, 4294967296]\n"), "t.ir:2:20: error: shape has too many elements");
    expect_error(G("  %0 = input \"x\" : [2\n"), "t.ir:2:22: error: expected ',' or ']' in the shape, found end of line");
    expect_error(G("  %0 = input \"x\" : 2\n"), "t.ir:2:20: error: expected a shape like '[2, 3]', found '2'");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = sum %0 : [2, 1]\n"),
                 "t.ir:3:23: error: expected 'axes=' (the axes it reduces), found end of line");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = sum %0 : [2, 1] axes=2\n"),
                 "t.ir:3:29: error: axis 2 is out of range for rank 2");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = sum %0 : [1, 1] axes=1,1\n"),
                 "t.ir:3:31: error: axis 1 is listed twice");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = exp %0 : [2] axes=0\n"),
                 "t.ir:3:21: error: 'axes' applies to sum and max only, not exp");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = exp %0 : [2] trans_a\n"),
                 "t.ir:3:21: error: 'trans_a' applies to matmul only, not exp");
    expect_error(G("  %0 = input \"x\" : [2, 2]\n  %1 = matmul %0, %0 : [2, 2] trans_b trans_b\n"),
                 "t.ir:3:39: error: 'trans_b' is given twice");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = exp %0 : [2] fast\n"), "t.ir:3:21: error: unknown attribute 'fast'");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = exp %0 : [2] ,\n"), "t.ir:3:21: error: unexpected ',' after the node");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = exp %0, %0 : [2]\n"), "t.ir:3:14: error: exp takes 1 operand");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = add %0 : [2]\n"),
                 "t.ir:3:15: error: expected ',' before the next operand, found ':'");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = add %0, %0\n"),
                 "t.ir:3:18: error: expected ':' and the node's shape, found end of line");
    expect_error(G("  %0 = input x : [2]\n"), "t.ir:2:14: error: expected the argument's name in double quotes, found 'x'");
    expect_error(G("  %0 = input \"x : [2]\n"), "t.ir:2:14: error: unterminated name (a '\"' is missing)");
    expect_error(G("  %0 = input \"\" : [2]\n"), "t.ir:2:14: error: names cannot be empty");
    expect_error(G("  %0 = input \"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01\" : [2]\n"),
                 "t.ir:2:14: error: name is longer than 63 bytes");
    expect_error(G("  %0 = input \"a\\n\" : [2]\n"), "t.ir:2:16: error: unknown escape in a name (use \\\", \\\\ or \\xNN)");
    expect_error(G("  %0 = input \"a\\x00\" : [2]\n"), "t.ir:2:16: error: names cannot contain a NUL byte");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = param \"x\" : [2]\n"),
                 "t.ir:3:8: error: 'x' is already an argument of another kind or shape");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = exp %0 : [3]\n"),
                 "t.ir:3:8: error: exp: the result should have shape [2] (operands %0: [2]; result: [3])");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = input \"y\" : [3]\n  %2 = add %0, %1 : [2]\n"),
                 "t.ir:4:8: error: add: needs equal shapes; got [2] and [3] (operands %0: [2], %1: [3]; result: [2])");
    expect_error(G("  %0 = input \"x\" : [2, 3]\n  %1 = matmul %0, %0 : [2, 2]\n"),
                 "t.ir:3:8: error: matmul: inner dimensions differ: [2, 3] x [2, 3] (operands %0: [2, 3], %0: [2, 3]; result: [2, 2])");
    expect_error(G("  %0 = input \"x\" : [2, 4, 3]\n  %1 = matmul %0, %0 : [2, 4, 4] trans_a\n"),
                 "t.ir:3:8: error: matmul: the result should have shape [2, 3, 3] (operands %0: [2, 4, 3], %0: [2, 4, 3]; result: [2, 4, 4])");
    expect_error(G("  %0 = input \"x\" : [2, 4, 3]\n  %1 = input \"y\" : [3, 3, 4]\n  %2 = matmul %0, %1 : [2, 4, 4]\n"),
                 "t.ir:4:8: error: matmul: batch sizes differ: [2, 4, 3] and [3, 3, 4] (operands %0: [2, 4, 3], %1: [3, 3, 4]; result: [2, 4, 4])");
    expect_error(G("  %0 = input \"x\" : [2, 4, 3]\n  %1 = input \"y\" : [3, 4]\n  %2 = matmul %0, %1 : [2, 4, 4]\n"),
                 "t.ir:4:8: error: matmul: takes two 2-D or two 3-D operands; got rank 3 and 2 (operands %0: [2, 4, 3], %1: [3, 4]; result: [2, 4, 4])");
    expect_error(G("  %0 = input \"x\" : [6]\n  %1 = reshape %0 : [4]\n"),
                 "t.ir:3:8: error: reshape: cannot reshape [6] to [4]: the element counts differ (operands %0: [6]; result: [4])");
    expect_error(G("  %0 = input \"x\" : [2]\n  %1 = broadcast %0 : [3]\n"),
                 "t.ir:3:8: error: broadcast: cannot broadcast dimension 0 of [2] to [3] (operands %0: [2]; result: [3])");
    expect_error(G("  %0 = const : [2]\n"), "t.ir:2:14: error: expected the constant's value (a number), found ':'");
    expect_error(G("  %0 = const 1x : [2]\n"), "t.ir:2:14: error: expected the constant's value (a number), found '1x'");
    expect_error(G("  %0 = input \"x\" : [2]\n  output \"y\" = %0\n  output \"y\" = %0\n"),
                 "t.ir:4:10: error: output 'y' is defined twice");
    expect_error(G("  output \"y\" = %3\n"), "t.ir:2:16: error: %3 is not defined (nodes must be defined before they are used)");
    expect_error(G("  output y = %3\n"), "t.ir:2:10: error: expected the output's name in double quotes, found 'y'");
    expect_error(G("  %99999999999 = input \"x\" : [2]\n"), "t.ir:2:4: error: a node id is too large (at most 2147483647)");
    expect_error(G("  % 1 = input \"x\" : [2]\n"), "t.ir:2:4: error: expected digits after '%', found ' '");
    expect_error(G("  x = input \"x\" : [2]\n"),
                 "t.ir:2:3: error: expected a node ('%N = op ...'), an output ('output \"name\" = %N') or '}', found 'x'");
    expect_error(G("") "graph {\n}\n", "t.ir:3:1: error: unexpected text after the graph (a file holds one graph)");
    expect_error("graph {\n} x\n", "t.ir:2:3: error: unexpected 'x' after the graph's '}'");
    expect_error("graph {\n\x01\n}\n",
                 "t.ir:2:1: error: expected a node ('%N = op ...'), an output ('output \"name\" = %N') or '}', found byte 0x01");

    /* The source line and a caret under the column, tabs kept so the caret lines up. */
    char err[512];
    CHECK(ir_parse("graph {\n\t%0 = input \"x\" : [2] zz\n}\n", "f.ir", err, sizeof err) == NULL);
    CHECK_MSG(strcmp(err, "f.ir:2:23: error: unknown attribute 'zz'\n\t%0 = input \"x\" : [2] zz\n\t                     ^") == 0,
              "%s", err);
    /* A tiny buffer truncates; NULL text and name are an empty file without a name. */
    char tiny[8];
    CHECK(ir_parse("graph", "f.ir", tiny, sizeof tiny) == NULL && strlen(tiny) == 7);
    CHECK(ir_parse(NULL, NULL, err, sizeof err) == NULL && strncmp(err, "<input>:1:1: error:", 19) == 0);
    CHECK(ir_parse("graph", "f.ir", NULL, 0) == NULL);
}

/* ---- robustness ---- */

static const char *sample =
    "; sample\n"
    "graph {\n"
    "  %0 = input \"x\" : [4, 2]\n"
    "  %1 = param \"W\\\"1\" : [2, 3]\n"
    "  %2 = matmul %0, %1 : [4, 3]\n"
    "  %3 = const -1.5e-3 : [4, 3]\n"
    "  %4 = add %2, %3 : [4, 3]\n"
    "  %5 = sum %4 : [1, 3] axes=0\n"
    "  %6 = broadcast %5 : [4, 3]\n"
    "  %7 = matmul %6, %4 : [3, 3] trans_a\n"
    "  %8 = reshape %7 : [9]\n"
    "  output \"y\" = %8\n"
    "}\n";

static int n_accepted, n_rejected;

static void try_parse(const char *src) {
    char err[1024];
    struct ir_graph *g = ir_parse(src, "t.ir", err, sizeof err);
    if (!g) {
        int line, col, k = 0;
        int ok = sscanf(err, "t.ir:%d:%d: error: %n", &line, &col, &k) == 2 && k > 0 && line >= 1 && col >= 1;
        CHECK_MSG(ok, "rejected without a located error: %s\n--- input ---\n%s", err, src);
        n_rejected++;
        return;
    }
    CHECK(ir_verify(g, err, sizeof err) == 0);
    check_round_trip(g, "accepted input");
    ir_graph_free(g);
    n_accepted++;
}

static void test_robustness(void) {
    size_t n = strlen(sample);
    char *buf = malloc(n + 1);
    for (size_t k = 0; k <= n; k++) { /* every truncation */
        memcpy(buf, sample, k);
        buf[k] = 0;
        try_parse(buf);
    }
    static const char repl[] = {' ', '%', '"', ',', '9', '0', 'x', '\n', ']', '[', '=', ':', '\\', ';', '-', (char)0xff};
    for (size_t i = 0; i < n; i++) /* every single-byte replacement, and every deletion */
        for (size_t r = 0; r <= sizeof repl; r++) {
            memcpy(buf, sample, n + 1);
            if (r == sizeof repl) memmove(buf + i, buf + i + 1, n - i);
            else buf[i] = repl[r];
            try_parse(buf);
        }
    free(buf);
    char rnd_buf[256];
    for (int t = 0; t < 2000; t++) { /* random bytes */
        rng_state = (uint64_t)t * 7919 + 1;
        size_t len = rnd(255);
        for (size_t i = 0; i < len; i++) rnd_buf[i] = (char)(1 + rnd(255));
        rnd_buf[len] = 0;
        try_parse(rnd_buf);
    }
    static const char *const tokens[] = {"graph", "{", "}", "\n", "%0", "%1", "%2", " = ", "input", "param", "const",
                                         "exp", "add", "sum", "matmul", "reshape", "broadcast", "\"x\"", "\"y\"",
                                         ": ", "[2]", "[2, 2]", "[1, 2]", "axes=0", "axes=", "trans_a", ",", "1.5",
                                         "nan", "output", ";c\n", " "};
    char soup[1024];
    for (int t = 0; t < 5000; t++) { /* token soup, mostly well-formed prefixes */
        rng_state = (uint64_t)t * 104729 + 3;
        size_t len = (size_t)snprintf(soup, sizeof soup, "graph {\n");
        int count = 1 + (int)rnd(30);
        for (int k = 0; k < count && len < sizeof soup - 32; k++)
            len += (size_t)snprintf(soup + len, sizeof soup - len, "%s", tokens[rnd(sizeof tokens / sizeof *tokens)]);
        if (rnd(2)) snprintf(soup + len, sizeof soup - len, "\n}\n");
        try_parse(soup);
    }
    fprintf(stderr, "robustness: %d inputs accepted, %d rejected with a located error\n", n_accepted, n_rejected);
    CHECK(n_accepted > 50 && n_rejected > 1000);
}

int main(void) {
    test_hand_made();
    test_lenient_input();
    test_random_graphs();
    test_errors();
    test_robustness();
    return test_report();
}
