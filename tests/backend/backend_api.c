/* backend_api: the JIT's edges: invalid graphs fail with a message instead of crashing, printing the
 * LLVM IR before and after optimization, graphs without kernels, and the compile-time report. */
#include <stdio.h>
#include <string.h>

#include "backend_check.h"

static struct ir_graph *small_graph(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t s[2] = {64, 32};
    int x = ir_input(g, "x", 2, s);
    int b = ir_param(g, "b", 1, (int64_t[]){32});
    ir_graph_output(g, "y", ir_unary(g, IR_RELU, ir_binary_bcast(g, IR_ADD, x, b)));
    return g;
}

static void expect_rejected(const char *what, const struct ir_graph *g) {
    char err[256] = "";
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p == NULL, "%s: compiled", what);
    CHECK_MSG(strstr(err, "invalid graph") != NULL, "%s: message '%s'", what, err);
    jit_free(p);
    err[0] = 0;
    FILE *sink = tmpfile();
    CHECK_MSG(jit_print_llvm(g, 1, sink, err, sizeof err) != 0, "%s: printed", what);
    CHECK_MSG(err[0] != 0, "%s: no message from jit_print_llvm", what);
    fclose(sink);
}

static void test_bad_graphs(void) {
    struct ir_graph *g = small_graph();
    int last = g->n_nodes - 1;
    g->nodes[last].shape[1] = 31; /* relu's shape no longer matches its operand */
    expect_rejected("corrupt shape", g);
    g->nodes[last].shape[1] = 32;
    g->nodes[last].in[0] = last; /* reads itself */
    expect_rejected("cyclic operand", g);
    g->nodes[last].in[0] = last - 1;
    g->outputs[0].node = 1000;
    expect_rejected("output names no node", g);
    g->outputs[0].node = last;
    char err[256];
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err); /* repaired: fine again */
    CHECK_MSG(p != NULL, "%s", err);
    jit_free(p);
    ir_graph_free(g);
}

/* Reads a whole stream into a malloc'd string. */
static char *slurp(FILE *f) {
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    return s;
}

static void test_print(void) {
    struct ir_graph *g = small_graph();
    char err[256];
    for (int optimized = 0; optimized <= 1; optimized++) {
        FILE *f = tmpfile();
        CHECK_MSG(jit_print_llvm(g, optimized, f, err, sizeof err) == 0, "%s", err);
        char *text = slurp(f);
        CHECK(strstr(text, "define void @k") != NULL);
        /* every x86-64 has at least SSE: optimized elementwise loops are vector loops */
        if (optimized) CHECK_MSG(strstr(text, " x float>") != NULL, "no vector code in:\n%s", text);
        else CHECK(strstr(text, "noalias") != NULL);
        free(text);
        fclose(f);
    }
    ir_graph_free(g);
}

/* Outputs that are arguments, reshapes of arguments or constants need no kernel at all. */
static void test_no_kernels(void) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 2, (int64_t[]){3, 4});
    ir_graph_output(g, "x", x);
    ir_graph_output(g, "flat", ir_reshape(g, x, 1, (int64_t[]){12}));
    ir_graph_output(g, "seven", ir_const(g, 7.0, 1, (int64_t[]){5}));
    check_graph("no kernels", g, -1, 1, 0, 0);
    ir_graph_free(g);

    g = ir_graph_new(); /* no nodes, no outputs */
    char err[256];
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (p) jit_run(p, NULL, NULL, 2);
    jit_free(p);
    ir_graph_free(g);
}

static void test_compile_seconds(void) {
    struct ir_graph *g = small_graph();
    char err[256];
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (p) {
        double s = jit_compile_seconds(p);
        CHECK_MSG(s > 0 && s < 60, "compile took %g s", s);
        fprintf(stderr, "small graph compiled in %.1f ms\n", 1e3 * s);
    }
    jit_free(p);
    ir_graph_free(g);
}

int main(void) {
    test_bad_graphs();
    test_print();
    test_no_kernels();
    test_compile_seconds();
    return test_report();
}
