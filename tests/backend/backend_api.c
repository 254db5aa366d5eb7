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
    CHECK_MSG(jit_print_code(g, JIT_CODE_LLVM, sink, err, sizeof err) != 0, "%s: printed", what);
    CHECK_MSG(err[0] != 0, "%s: no message from jit_print_code", what);
    err[0] = 0;
    CHECK_MSG(jit_print_plan(g, JIT_PLAN_FUSED, sink, err, sizeof err) != 0, "%s: plan printed", what);
    CHECK_MSG(err[0] != 0, "%s: no message from jit_print_plan", what);
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

static char *print_code(const struct ir_graph *g, enum jit_code_format format) {
    char err[256];
    FILE *f = tmpfile();
    CHECK_MSG(jit_print_code(g, format, f, err, sizeof err) == 0, "%s", err);
    char *text = slurp(f);
    fclose(f);
    return text;
}

static void test_print(void) {
    struct ir_graph *g = small_graph();
    char *text = print_code(g, JIT_CODE_LLVM_UNOPT);
    CHECK(strstr(text, "define void @k") != NULL);
    CHECK(strstr(text, "noalias") != NULL);
    free(text);
    text = print_code(g, JIT_CODE_LLVM);
    /* every x86-64 has at least SSE: optimized elementwise loops are vector loops */
    CHECK_MSG(strstr(text, " x float>") != NULL, "no vector code in:\n%s", text);
    free(text);
    text = print_code(g, JIT_CODE_ASM);
    CHECK_MSG(strstr(text, "ret") != NULL && strstr(text, "xmm") != NULL, "no x86 vector assembly in:\n%s", text);
    free(text);
    ir_graph_free(g);
}

/* silu(x @ W + b): fused, one matmul kernel whose epilogue adds the broadcast bias and applies silu;
 * unfused, four kernels (matmul, broadcast, add, silu). */
static struct ir_graph *dense_layer(void) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 2, (int64_t[]){37, 5});
    int w = ir_param(g, "W", 2, (int64_t[]){5, 70});
    int b = ir_param(g, "b", 1, (int64_t[]){70});
    int h = ir_unary(g, IR_SILU, ir_binary_bcast(g, IR_ADD, ir_matmul(g, x, w, 0), b));
    ir_graph_output(g, "h", h);
    return g;
}

static void test_fusion(void) {
    struct ir_graph *g = dense_layer();
    check_graph("dense layer", g, -1, 1, 1e-5, 1e-5); /* fused and unfused agree, bitwise */
    char err[256];
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (p) {
        const struct jit_stats *s = jit_get_stats(p);
        CHECK_MSG(s->n_kernels == 1 && s->n_kernels_unfused == 4, "kernels %d (unfused %d)", s->n_kernels,
                  s->n_kernels_unfused);
        CHECK_MSG(s->bytes == (37 * 70 * 4 + 63) / 64 * 64, "bytes %lld", (long long)s->bytes); /* one buffer, 64-byte aligned */
    }
    jit_free(p);
    FILE *f = tmpfile();
    CHECK(jit_print_plan(g, JIT_PLAN_FUSED, f, err, sizeof err) == 0);
    char *text = slurp(f);
    CHECK_MSG(strstr(text, "matmul+epilogue") && strstr(text, "=silu") && strstr(text, "=add"), "%s", text);
    free(text);
    fclose(f);
    f = tmpfile();
    CHECK(jit_print_plan(g, JIT_PLAN_DOT, f, err, sizeof err) == 0);
    text = slurp(f);
    CHECK_MSG(strstr(text, "digraph") && strstr(text, "cluster_0") && !strstr(text, "cluster_1"), "%s", text);
    free(text);
    fclose(f);
    ir_graph_free(g);

    /* A sum with an epilogue, and a sum whose result two nodes use (so it keeps its buffer). */
    g = ir_graph_new();
    int x = ir_input(g, "x", 2, (int64_t[]){33, 70});
    int s1 = ir_sum(g, ir_unary(g, IR_EXP, x), 2);      /* [33, 1] */
    int s2 = ir_sum(g, x, 1);                           /* [1, 70], rows added in order */
    ir_graph_output(g, "a", ir_unary(g, IR_LOG, s1));   /* log-sum-exp shape */
    ir_graph_output(g, "b", ir_unary(g, IR_SQRT, ir_unary(g, IR_SQUARE, s2)));
    int twice = ir_sum(g, x, 3);
    ir_graph_output(g, "c", ir_binary(g, IR_ADD, ir_unary(g, IR_NEG, twice), ir_unary(g, IR_EXP, twice)));
    check_graph("sum epilogues", g, -1, 1, 1e-5, 1e-5);
    ir_graph_free(g);
}

/* exp(exp(exp(x))) unfused: three kernels, but the first buffer is dead once the second kernel has read
 * it, so the third reuses it: two buffers' worth of memory. */
static void test_memory_planning(void) {
    struct ir_graph *g = ir_graph_new();
    int64_t n = 1000;
    int x = ir_input(g, "x", 1, &n);
    ir_graph_output(g, "y", ir_unary(g, IR_EXP, ir_unary(g, IR_EXP, ir_unary(g, IR_EXP, x))));
    char err[256];
    struct jit_options unfused = {.opt_level = 3, .no_fusion = 1};
    struct jit_program *p = jit_compile(g, &unfused, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (p) {
        const struct jit_stats *s = jit_get_stats(p);
        CHECK_MSG(s->n_kernels == 3, "%d kernels", s->n_kernels);
        CHECK_MSG(s->bytes == 2 * 4032 && s->bytes_unplanned == 3 * 4032, "bytes %lld of %lld", (long long)s->bytes,
                  (long long)s->bytes_unplanned);
    }
    jit_free(p);
    check_graph("exp chain", g, -1, 1, 1e-5, 1e-5);
    ir_graph_free(g);
}

/* The compile cache: a compiled program lands in EBMC_CACHE_DIR as one object file, the next compile
 * of the same graph loads it (same results), a damaged file is compiled again and replaced; "off"
 * still compiles. */
static void test_cache(void) {
    char dir[] = "/tmp/ebmc-cache-XXXXXX", err[256], cmd[128];
    CHECK(mkdtemp(dir) != NULL);
    setenv("EBMC_CACHE_DIR", dir, 1);
    struct ir_graph *g = dense_layer();
    float x[37 * 5], w[5 * 70], b[70], h1[37 * 70], h2[37 * 70];
    for (int i = 0; i < 37 * 5; i++) x[i] = (float)(i % 7) * 0.25f - 0.7f;
    for (int i = 0; i < 5 * 70; i++) w[i] = (float)(i % 11) * 0.1f - 0.5f;
    for (int i = 0; i < 70; i++) b[i] = (float)i * 0.01f;
    float *args[] = {x, w, b}, *o1[] = {h1}, *o2[] = {h2};
    char path[400] = "";
    for (int round = 0; round < 3; round++) {
        struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
        CHECK_MSG(p != NULL, "round %d: %s", round, err);
        if (!p) break;
        jit_run(p, args, round ? o2 : o1, 1);
        jit_free(p);
        if (round) CHECK_MSG(memcmp(h1, h2, sizeof h1) == 0, "round %d: results differ", round);
        snprintf(cmd, sizeof cmd, "ls %s | grep -c '\\.o$'", dir);
        FILE *ls = popen(cmd, "r");
        int files = -1;
        if (ls) {
            if (fscanf(ls, "%d", &files) != 1) files = -1;
            pclose(ls);
        }
        CHECK_MSG(files == 1, "round %d: %d object files in the cache", round, files);
        if (round == 1) { /* damage the cached file: the next compile must not trust it */
            snprintf(cmd, sizeof cmd, "ls %s/*.o", dir);
            ls = popen(cmd, "r");
            if (ls && fgets(path, sizeof path, ls)) path[strcspn(path, "\n")] = 0;
            if (ls) pclose(ls);
            FILE *f = fopen(path, "w");
            CHECK(f != NULL);
            if (f) fputs("not an object file", f), fclose(f);
        }
    }
    setenv("EBMC_CACHE_DIR", "off", 1);
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK(p != NULL);
    jit_free(p);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
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

/* jit_output: a computed output is read in place, and passing it back as the output buffer gives what a
 * copy gives; an output that is an argument or a constant has no place of its own. */
static void test_outputs_in_place(void) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 2, (int64_t[]){64, 32});
    int b = ir_param(g, "b", 1, (int64_t[]){32});
    ir_graph_output(g, "y", ir_unary(g, IR_EXP, ir_binary_bcast(g, IR_ADD, x, b)));
    ir_graph_output(g, "x", x);
    ir_graph_output(g, "seven", ir_const(g, 7.0, 1, (int64_t[]){5}));
    char err[256];
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    static float xs[64 * 32], bs[32], y[64 * 32], xo[64 * 32], seven[5];
    for (int i = 0; i < 64 * 32; i++) xs[i] = (float)(i % 17) * 0.1f - 0.8f;
    for (int i = 0; i < 32; i++) bs[i] = (float)i * 0.01f;
    float *args[] = {xs, bs}, *copied[] = {y, xo, seven};
    jit_run(p, args, copied, 1);
    float *in_place = jit_output(p, 0);
    CHECK(in_place != NULL && in_place != y);
    CHECK_MSG(jit_output(p, 1) == NULL && jit_output(p, 2) == NULL, "an argument or a constant has a place");
    if (in_place) {
        CHECK(memcmp(in_place, y, sizeof y) == 0); /* the last run's value */
        bs[0] = 1.0f;                                /* another run: in place, nothing copied to y */
        float *outs[] = {in_place, xo, seven};
        jit_run(p, args, outs, 2);
        int column0 = 0, others = 0; /* b[0] changed: column 0 of the new y, and only it, differs from y */
        for (int i = 0; i < 64 * 32; i++) {
            if (i % 32 == 0) column0 += in_place[i] != y[i];
            else others += in_place[i] != y[i];
        }
        CHECK_MSG(column0 == 64 && others == 0, "%d of 64 changed in column 0, %d elsewhere", column0, others);
        CHECK(xo[5] == xs[5] && seven[4] == 7.0f);
    }
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

/* silu(x W1 + b1) then silu(h W2 + b2), the second layer `out` wide: with out = 70 both layers compute
 * the same thing on other buffers and share one compiled body; with 69 they do not. Two such programs
 * compiled together share bodies across programs too. Each computes what the interpreter does. */
static struct ir_graph *two_layers(int out) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 2, (int64_t[]){37, 70});
    int w1 = ir_param(g, "W1", 2, (int64_t[]){70, 70}), b1 = ir_param(g, "b1", 1, (int64_t[]){70});
    int w2 = ir_param(g, "W2", 2, (int64_t[]){70, out}), b2 = ir_param(g, "b2", 1, (int64_t[]){out});
    int h = ir_unary(g, IR_SILU, ir_binary_bcast(g, IR_ADD, ir_matmul(g, x, w1, 0), b1));
    ir_graph_output(g, "y", ir_unary(g, IR_SILU, ir_binary_bcast(g, IR_ADD, ir_matmul(g, h, w2, 0), b2)));
    return g;
}

static void test_shared_bodies(void) {
    setenv("EBMC_CACHE_DIR", "off", 1);
    struct ir_graph *same = two_layers(70), *other = two_layers(69);
    check_graph("two equal layers", same, -1, 1, 1e-5, 1e-5);
    check_graph("two layers of other widths", other, -1, 1, 1e-5, 1e-5);
    struct jit_request both[2] = {{.g = same}, {.g = other}};
    jit_compile_all(both, 2, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_MSG(both[i].program != NULL, "%s", both[i].err);
        if (!both[i].program) continue;
        const struct jit_stats *s = jit_get_stats(both[i].program);
        /* the other graph's first layer is the same graph's (compiled once, for both) */
        CHECK_MSG(s->n_kernels == 2 && s->n_bodies == (i == 0 ? 1 : 2), "program %d: %d kernels, %d bodies", i,
                  s->n_kernels, s->n_bodies);
        struct check_args args = check_args_new(both[i].g, -1, 1);
        double **ref = (double **)check_outs_new(both[i].g, sizeof(double));
        float **got = (float **)check_outs_new(both[i].g, sizeof(float));
        char err[256];
        CHECK(interp_run(both[i].g, (const double *const *)args.d, ref, err, sizeof err) == 0);
        jit_run(both[i].program, args.f, got, 2);
        check_against(i ? "other widths, compiled together" : "equal layers, compiled together", both[i].g, got, ref,
                      1e-5, 1e-5);
        check_outs_free(both[i].g, (void **)got);
        check_outs_free(both[i].g, (void **)ref);
        check_args_free(&args);
        jit_free(both[i].program);
    }
    ir_graph_free(same);
    ir_graph_free(other);
}

int main(void) {
    test_bad_graphs();
    test_print();
    test_fusion();
    test_memory_planning();
    test_cache();
    test_no_kernels();
    test_outputs_in_place();
    test_compile_seconds();
    test_shared_bodies();
    return test_report();
}
