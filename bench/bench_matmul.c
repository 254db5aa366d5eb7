/* bench_matmul: GFLOP/s of the JIT's matmul kernel on [1024, 128] x [128, 128] (the hidden layer of a
 * batch-1024 MLP), for each transpose flag, on 1 and 2 threads: the median of 21 timed runs after a
 * warm-up, each run long enough (several calls) to be timed reliably. Also prints the compile time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "jit.h"

#define M 1024
#define K 128
#define N 128
#define RUNS 21
#define CALLS 20

static int bench(unsigned flags) {
    struct ir_graph *g = ir_graph_new();
    int64_t as[2] = {M, K}, bs[2] = {K, N};
    if (flags & IR_TRANS_A) as[0] = K, as[1] = M;
    if (flags & IR_TRANS_B) bs[0] = N, bs[1] = K;
    int a_id = ir_input(g, "a", 2, as); /* node order is argument order: a, then b */
    int b_id = ir_param(g, "b", 2, bs);
    int y = ir_matmul(g, a_id, b_id, flags);
    ir_graph_output(g, "y", y);
    char err[256];
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    if (!p) {
        fprintf(stderr, "bench_matmul: %s\n", err);
        ir_graph_free(g);
        return 1;
    }
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N), *c = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++) a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < K * N; i++) b[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    float *args[2] = {a, b}, *outs[1] = {c};
    printf("matmul [%d,%d]x[%d,%d]%s%s: compiled in %.1f ms\n", M, K, K, N, flags & IR_TRANS_A ? " trans_a" : "",
           flags & IR_TRANS_B ? " trans_b" : "", 1e3 * jit_compile_seconds(p));
    for (int nt = 1; nt <= 2; nt++) {
        double t[RUNS];
        jit_run(p, args, outs, nt); /* warm-up: page faults, thread start */
        for (int r = 0; r < RUNS; r++) {
            double t0 = bench_now();
            for (int k = 0; k < CALLS; k++) jit_run(p, args, outs, nt);
            t[r] = (bench_now() - t0) / CALLS;
        }
        qsort(t, RUNS, sizeof t[0], bench_cmp_double);
        double flops = 2.0 * M * N * K;
        printf("  %d thread%s: median %.1f us, %.1f GFLOP/s (best %.1f)\n", nt, nt > 1 ? "s" : " ", 1e6 * t[RUNS / 2],
               flops / t[RUNS / 2] * 1e-9, flops / t[0] * 1e-9);
    }
    free(a);
    free(b);
    free(c);
    jit_free(p);
    ir_graph_free(g);
    return 0;
}

int main(void) {
    int rc = 0;
    for (unsigned flags = 0; flags < 4; flags++) rc |= bench(flags);
    return rc;
}
