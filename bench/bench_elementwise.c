/* bench_elementwise: ns per element of the JIT's unary elementwise kernels (silu first: the activation
 * of the MLP energy models; then exp, log, sigmoid, tanh, softplus) on [1024, 128] floats, on 1 and 2
 * threads: the median of 21 timed runs after a warm-up, each run several calls long. Inputs are spread
 * over [-8, 8) ([0.01, 100) for log), where activations of a trained model live. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "jit.h"

#define M 1024
#define N 128
#define RUNS 21
#define CALLS 50

static int bench(enum ir_op op) {
    struct ir_graph *g = ir_graph_new();
    int64_t shape[2] = {M, N};
    ir_graph_output(g, "y", ir_unary(g, op, ir_input(g, "x", 2, shape)));
    char err[256];
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    if (!p) {
        fprintf(stderr, "bench_elementwise: %s\n", err);
        ir_graph_free(g);
        return 1;
    }
    float *x = malloc(sizeof(float) * M * N), *y = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * N; i++) {
        float u = (float)((i * 7919) % 10007) / 10007.0f; /* [0, 1) */
        x[i] = op == IR_LOG ? 0.01f + 100.0f * u : 16.0f * u - 8.0f;
    }
    float *args[1] = {x}, *outs[1] = {y};
    printf("%-8s [%d,%d]: compiled in %5.1f ms", ir_op_name(op), M, N, 1e3 * jit_compile_seconds(p));
    for (int nt = 1; nt <= 2; nt++) {
        double t[RUNS];
        jit_run(p, args, outs, nt); /* warm-up: page faults, thread start */
        for (int r = 0; r < RUNS; r++) {
            double t0 = bench_now();
            for (int k = 0; k < CALLS; k++) jit_run(p, args, outs, nt);
            t[r] = (bench_now() - t0) / CALLS;
        }
        qsort(t, RUNS, sizeof t[0], bench_cmp_double);
        double n = (double)M * N;
        printf(" | %dT: %6.1f us, %6.3f ns/elem, %6.2f Gelem/s", nt, 1e6 * t[RUNS / 2], 1e9 * t[RUNS / 2] / n,
               n / t[RUNS / 2] * 1e-9);
    }
    printf("\n");
    free(x);
    free(y);
    jit_free(p);
    ir_graph_free(g);
    return 0;
}

int main(int argc, char **argv) {
    static const enum ir_op ops[] = {IR_SILU, IR_EXP, IR_LOG, IR_SIGMOID, IR_TANH, IR_SOFTPLUS};
    int rc = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (argc > 1 && strcmp(argv[1], ir_op_name(ops[i])) != 0) continue; /* optional: one op by name */
        rc |= bench(ops[i]);
    }
    return rc;
}
