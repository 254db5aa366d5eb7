/* bench_conv: speed of the layers that no other benchmark covers, on 1 and 2 threads:
 *
 *   conv2d forward (one conv2d node: backend/conv.c's direct convolution), on
 *     shapes of a 32x32-image EBM: a 64->64 channel 3x3 layer, the 3->64 input layer, a stride-2 layer;
 *   conv2d backward: the gradient program autodiff builds for dx and dw given dy (the seed), after the
 *     default passes, which drop the unused forward; 2x the forward's flops;
 *   batch_matmul with both operands batched (one batched matmul: the register-blocked matmul kernel, a
 *     2-D matmul per batch), and the form with a 2-D right operand (one 2-D matmul on [b M, K]);
 *   its backward (da and db given dy: two batched matmuls); 2x the forward's flops;
 *   the workloads W3 (a conv energy and its gradients, bench_w3) and W5 (a 1024^3 matmul).
 *
 * Each figure is the median of RUNS timed runs after a warm-up call (the machines are shared), each run
 * CALLS calls long, CALLS chosen so that a run takes at least ~20 ms. Also prints the compile time (a
 * cache hit's few ms when $EBMC_CACHE_DIR already holds the program: empty it for cold times), the kernel count and arena bytes of each program, and a spot check of a few
 * output elements against direct sums in double, so a wrong graph cannot pass for a fast one.
 * bench/torch_conv.py times the same shapes in PyTorch; both print `RESULT` lines with the same names.
 *
 * Usage: bench_conv [--runs N] [--only SUBSTRING] [--plan | --kernels | --profile] [--asm]
 *   --plan prints each program's fused kernels (ebmc compile --emit=fused), --kernels their loop nests,
 *   --profile each kernel's time on one thread (--emit=profile); --asm prints their host assembly.
 * Peak: every figure is also a share of the FMA peak of the same thread count, measured at start-up by
 * bench/peak.c's loop (EBMC_PEAK_GFLOPS, GFLOP/s per core, overrides the measurement). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "bench.h"
#include "jit.h"
#include "pass.h"
#include "peak.h"

#define MIN_RUN_SECONDS 0.02

static int runs = 11;
static const char *only = NULL;
static int print_plan = -1; /* or a jit_plan_format: --plan fused groups, --kernels loop nests, --profile times */
static int print_asm = 0;   /* --asm: the host assembly of each program */
static double peak[3], peak_cpu; /* measured GFLOP/s of 1 and 2 threads; of 1 thread by CPU time */

/* Deterministic values in [-0.5, 0.5): a multiplicative hash of the index and a per-buffer salt. */
static void fill(float *x, int64_t n, unsigned salt) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(((uint64_t)i * 2654435761u + salt * 40503u) % 1000) / 1000.0f - 0.5f;
}

static int64_t numel_of(const struct ir_graph *g, int id) { return ir_node_numel(ir_node_at(g, id)); }

/* A compiled program with its buffers: args in ir_graph_args() order, one buffer per output. */
#define PROG_MAX 32 /* arguments or outputs (W3 has 9 outputs: its energy and 8 gradients) */

struct prog {
    struct ir_graph *g; /* after the default passes */
    struct jit_program *p;
    int n_args, n_outs;
    float *args[PROG_MAX], *outs[PROG_MAX], *owned[PROG_MAX]; /* outs: in the program's memory, else owned */
};

static void prog_free(struct prog *pr) {
    for (int i = 0; i < pr->n_args; i++) free(pr->args[i]);
    for (int i = 0; i < pr->n_outs; i++) free(pr->owned[i]);
    if (pr->p) jit_free(pr->p);
    ir_graph_free(pr->g);
}

/* Runs the default passes (as ebmc does before compiling: dce drops what no output needs), compiles,
 * and allocates and fills the buffers. Frees g. Returns 0 or -1 with a message on stderr. */
static int prog_build(struct prog *pr, struct ir_graph *g, const char *what) {
    char err[512];
    memset(pr, 0, sizeof *pr);
    pr->g = pass_run_pipeline(g, PASS_DEFAULT_PIPELINE, NULL, NULL, err, sizeof err);
    ir_graph_free(g);
    if (!pr->g || !(pr->p = jit_compile(pr->g, NULL, err, sizeof err))) {
        fprintf(stderr, "bench_conv: %s: %s\n", what, err);
        prog_free(pr);
        return -1;
    }
    int ids[PROG_MAX];
    if (ir_graph_args(pr->g, NULL) > PROG_MAX || pr->g->n_outputs > PROG_MAX) {
        fprintf(stderr, "bench_conv: %s: more than %d arguments or outputs\n", what, PROG_MAX);
        prog_free(pr);
        return -1;
    }
    pr->n_args = ir_graph_args(pr->g, ids);
    pr->n_outs = pr->g->n_outputs;
    for (int i = 0; i < pr->n_args; i++) {
        pr->args[i] = malloc(sizeof(float) * (size_t)numel_of(pr->g, ids[i]));
        fill(pr->args[i], numel_of(pr->g, ids[i]), (unsigned)i + 1);
    }
    /* Outputs are read where the kernels write them, as PyTorch's are: a copy out of the program's memory
     * would add a pass over them (16 MiB for the 3 -> 64 forward) that no consumer needs. */
    for (int i = 0; i < pr->n_outs; i++)
        if (!(pr->outs[i] = jit_output(pr->p, i)))
            pr->outs[i] = pr->owned[i] = malloc(sizeof(float) * (size_t)numel_of(pr->g, pr->g->outputs[i].node));
    if (print_plan >= 0) {
        printf("---- plan of %s\n", what);
        jit_print_plan(pr->g, (enum jit_plan_format)print_plan, stdout, err, sizeof err);
    }
    if (print_asm) jit_print_code(pr->g, JIT_CODE_ASM, stdout, err, sizeof err);
    return 0;
}

/* Times the program on 1 and 2 threads and prints one line each, plus a RESULT line per thread count
 * (name, threads, median seconds, GFLOP/s) for comparing with torch_conv.py's. */
static void prog_time(struct prog *pr, const char *name, double flops) {
    const struct jit_stats *st = jit_get_stats(pr->p);
    printf("%s: compiled in %.0f ms, %d kernels, arena %.1f MiB\n", name, 1e3 * jit_compile_seconds(pr->p), st->n_kernels,
           (double)st->bytes / (1 << 20));
    for (int nt = 1; nt <= 2; nt++) {
        double t0 = bench_now();
        jit_run(pr->p, pr->args, pr->outs, nt); /* warm-up: page faults, thread start; also sizes a run */
        double once = bench_now() - t0;
        int calls = once >= MIN_RUN_SECONDS ? 1 : (int)(MIN_RUN_SECONDS / (once > 1e-6 ? once : 1e-6)) + 1;
        double *t = malloc(sizeof(double) * (size_t)runs), *cpu = malloc(sizeof(double) * (size_t)runs);
        for (int r = 0; r < runs; r++) {
            double c0 = bench_cpu_now();
            t0 = bench_now();
            for (int k = 0; k < calls; k++) jit_run(pr->p, pr->args, pr->outs, nt);
            t[r] = (bench_now() - t0) / calls;
            cpu[r] = (bench_cpu_now() - c0) / calls;
        }
        qsort(t, (size_t)runs, sizeof t[0], bench_cmp_double);
        qsort(cpu, (size_t)runs, sizeof cpu[0], bench_cmp_double);
        if (nt == 1) { /* one thread: its CPU time is the time it was scheduled */
            printf("  1 thread : median CPU time %8.2f ms, %6.1f GFLOP/s = %4.1f%% of the %.0f peak by CPU time\n",
                   1e3 * cpu[runs / 2], flops / cpu[runs / 2] * 1e-9, 100 * flops / cpu[runs / 2] * 1e-9 / peak_cpu,
                   peak_cpu);
            printf("CPURESULT %s 1 %.6f\n", name, cpu[runs / 2]);
        }
        free(cpu);
        double med = t[runs / 2], gf = flops / med * 1e-9;
        printf("  %d thread%s: median %8.2f ms, %6.1f GFLOP/s = %4.1f%% of %.0f peak (best %.1f GFLOP/s)\n", nt,
               nt > 1 ? "s" : " ", 1e3 * med, gf, 100 * gf / peak[nt], peak[nt], flops / t[0] * 1e-9);
        printf("RESULT %s %d %.6f %.2f\n", name, nt, med, gf);
        free(t);
    }
}

static int wanted(const char *name) { return !only || strstr(name, only); }

/* ---- conv2d ---- */

struct conv_shape {
    int64_t n, c, h, w, o, k;
    int stride, pad;
};

static int64_t out_dim(int64_t in, const struct conv_shape *s) { return (in + 2 * s->pad - s->k) / s->stride + 1; }

static double conv_flops(const struct conv_shape *s) {
    return 2.0 * s->n * s->o * out_dim(s->h, s) * out_dim(s->w, s) * s->c * s->k * s->k;
}

/* x[n, c, h, w] with zero padding: the input as the convolution sees it. */
static double xat(const float *x, const struct conv_shape *s, int64_t n, int64_t c, int64_t h, int64_t w) {
    h -= s->pad, w -= s->pad;
    return h < 0 || w < 0 || h >= s->h || w >= s->w ? 0 : x[((n * s->c + c) * s->h + h) * s->w + w];
}

/* The largest error of 97 sampled elements of y (or dw) against a direct sum, relative to the sum of
 * the terms' magnitudes (so cancellation does not inflate it). mode 0: y = conv(x, w); 1: dw given dy. */
static double conv_check(const struct conv_shape *s, int mode, const float *x, const float *w_or_dy, const float *got) {
    int64_t oh = out_dim(s->h, s), ow = out_dim(s->w, s);
    int64_t total = mode == 0 ? s->n * s->o * oh * ow : s->o * s->c * s->k * s->k;
    double worst = 0;
    for (int64_t t = 0; t < 97; t++) {
        int64_t idx = (t * 7919 * 7919 + 13) % total, i = idx;
        double sum = 0, mag = 0;
        if (mode == 0) {
            int64_t q = i % ow, p = (i /= ow) % oh, o = (i /= oh) % s->o, n = i / s->o;
            for (int64_t c = 0; c < s->c; c++)
                for (int64_t a = 0; a < s->k; a++)
                    for (int64_t b = 0; b < s->k; b++) {
                        double v = xat(x, s, n, c, p * s->stride + a, q * s->stride + b) * w_or_dy[((o * s->c + c) * s->k + a) * s->k + b];
                        sum += v, mag += fabs(v);
                    }
        } else {
            int64_t b = i % s->k, a = (i /= s->k) % s->k, c = (i /= s->k) % s->c, o = i / s->c;
            for (int64_t n = 0; n < s->n; n++)
                for (int64_t p = 0; p < oh; p++)
                    for (int64_t q = 0; q < ow; q++) {
                        double v = xat(x, s, n, c, p * s->stride + a, q * s->stride + b) * w_or_dy[((n * s->o + o) * oh + p) * ow + q];
                        sum += v, mag += fabs(v);
                    }
        }
        double e = fabs(sum - got[idx]) / (mag > 0 ? mag : 1);
        if (e > worst) worst = e;
    }
    return worst;
}

static void conv_name(char *buf, size_t len, const struct conv_shape *s, const char *what) {
    snprintf(buf, len, "conv_%s_x%lldx%lldx%lldx%lld_w%lldx%lldx%lldx%lld_s%d_p%d", what, (long long)s->n,
             (long long)s->c, (long long)s->h, (long long)s->w, (long long)s->o, (long long)s->c, (long long)s->k,
             (long long)s->k, s->stride, s->pad);
}

static int bench_conv(const struct conv_shape *s) {
    char name[160];
    int64_t oh = out_dim(s->h, s), ow = out_dim(s->w, s);
    int64_t xs[4] = {s->n, s->c, s->h, s->w}, ws[4] = {s->o, s->c, s->k, s->k}, ys[4] = {s->n, s->o, oh, ow};
    struct prog pr;

    conv_name(name, sizeof name, s, "fwd");
    if (wanted(name)) {
        struct ir_graph *g = ir_graph_new();
        int x = ir_input(g, "x", 4, xs), w = ir_param(g, "w", 4, ws);
        ir_graph_output(g, "y", ir_conv2d(g, x, w, -1, s->stride, s->pad));
        if (prog_build(&pr, g, name)) return 1;
        prog_time(&pr, name, conv_flops(s));
        printf("  check: max relative error of sampled y %.1e\n", conv_check(s, 0, pr.args[0], pr.args[1], pr.outs[0]));
        prog_free(&pr);
    }

    conv_name(name, sizeof name, s, "bwd");
    if (wanted(name)) {
        /* dx and dw of sum(dy * conv(x, w)): what a training step's backward pass does for this layer. */
        struct ir_graph *g = ir_graph_new();
        int x = ir_input(g, "x", 4, xs), w = ir_param(g, "w", 4, ws);
        int y = ir_conv2d(g, x, w, -1, s->stride, s->pad);
        int dy = ir_input(g, "dy", 4, ys), wrt[2] = {x, w}, grads[2];
        if (y < 0 || dy < 0 || ad_grad(g, y, dy, 2, wrt, grads) != 0) {
            fprintf(stderr, "bench_conv: %s: %s\n", name, ir_graph_error(g));
            ir_graph_free(g);
            return 1;
        }
        ir_graph_output(g, "dx", grads[0]);
        ir_graph_output(g, "dw", grads[1]);
        if (prog_build(&pr, g, name)) return 1;
        prog_time(&pr, name, 2 * conv_flops(s));
        /* args: x, w, dy (node order); outputs: dx, dw */
        printf("  check: max relative error of sampled dw %.1e\n", conv_check(s, 1, pr.args[0], pr.args[2], pr.outs[1]));
        prog_free(&pr);
    }
    return 0;
}

/* ---- batched matmul ---- */

static int bench_bmm(int64_t nb, int64_t m, int64_t k, int64_t n, int batched_b) {
    char name[128], bdims[64] = "";
    if (batched_b) snprintf(bdims, sizeof bdims, "%lldx", (long long)nb);
    snprintf(name, sizeof name, "bmm_%lldx%lldx%lld_x_%s%lldx%lld", (long long)nb, (long long)m, (long long)k, bdims,
             (long long)k, (long long)n);
    if (!wanted(name)) return 0;
    struct ir_graph *g = ir_graph_new();
    int a = ir_input(g, "a", 3, (int64_t[]){nb, m, k});
    int b = batched_b ? ir_param(g, "b", 3, (int64_t[]){nb, k, n}) : ir_param(g, "b", 2, (int64_t[]){k, n});
    ir_graph_output(g, "y", ir_batch_matmul(g, a, b));
    struct prog pr;
    if (prog_build(&pr, g, name)) return 1;
    prog_time(&pr, name, 2.0 * nb * m * k * n);
    /* spot check: 97 elements against a direct sum */
    double worst = 0;
    for (int64_t t = 0; t < 97; t++) {
        int64_t idx = (t * 7919 * 7919 + 13) % (nb * m * n), j = idx % n, i = idx / n % m, bi = idx / n / m;
        double sum = 0, mag = 0;
        for (int64_t q = 0; q < k; q++) {
            double v = (double)pr.args[0][(bi * m + i) * k + q] * pr.args[1][((batched_b ? bi : 0) * k + q) * n + j];
            sum += v, mag += fabs(v);
        }
        double e = fabs(sum - pr.outs[0][idx]) / (mag > 0 ? mag : 1);
        if (e > worst) worst = e;
    }
    printf("  check: max relative error of sampled y %.1e\n", worst);
    prog_free(&pr);
    return 0;
}

/* The backward of the batched form: da = dy b^T and db = a^T dy per batch (autodiff's two batched
 * matmuls, b read through a transposed copy), 2x the forward's flops. */
static int bench_bmm_bwd(int64_t nb, int64_t m, int64_t k, int64_t n) {
    char name[128];
    snprintf(name, sizeof name, "bmm_bwd_%lldx%lldx%lld_x_%lldx%lldx%lld", (long long)nb, (long long)m, (long long)k,
             (long long)nb, (long long)k, (long long)n);
    if (!wanted(name)) return 0;
    struct ir_graph *g = ir_graph_new();
    int a = ir_input(g, "a", 3, (int64_t[]){nb, m, k});
    int b = ir_param(g, "b", 3, (int64_t[]){nb, k, n});
    int y = ir_batch_matmul(g, a, b);
    int dy = ir_input(g, "dy", 3, (int64_t[]){nb, m, n}), wrt[2] = {a, b}, grads[2];
    if (y < 0 || dy < 0 || ad_grad(g, y, dy, 2, wrt, grads) != 0) {
        fprintf(stderr, "bench_conv: %s: %s\n", name, ir_graph_error(g));
        ir_graph_free(g);
        return 1;
    }
    ir_graph_output(g, "da", grads[0]);
    ir_graph_output(g, "db", grads[1]);
    struct prog pr;
    if (prog_build(&pr, g, name)) return 1;
    prog_time(&pr, name, 4.0 * nb * m * k * n);
    /* spot check of da (args: a, b, dy in node order): da[bi, i, q] = sum_j dy[bi, i, j] b[bi, q, j] */
    double worst = 0;
    for (int64_t t = 0; t < 97; t++) {
        int64_t idx = (t * 7919 * 7919 + 13) % (nb * m * k), q = idx % k, i = idx / k % m, bi = idx / k / m;
        double sum = 0, mag = 0;
        for (int64_t j = 0; j < n; j++) {
            double v = (double)pr.args[2][(bi * m + i) * n + j] * pr.args[1][(bi * k + q) * n + j];
            sum += v, mag += fabs(v);
        }
        double e = fabs(sum - pr.outs[0][idx]) / (mag > 0 ? mag : 1);
        if (e > worst) worst = e;
    }
    printf("  check: max relative error of sampled da %.1e\n", worst);
    prog_free(&pr);
    return 0;
}

/* ---- the workloads W3 and W5 ---- */

/* W3's conv energy on x [128, 1, 28, 28]: conv3x3 1->64, SiLU, conv3x3 stride 2 64->128, SiLU, conv3x3
 * stride 2 128->256, SiLU, the mean over pixels, linear 256->1; E = the sum over the batch. One
 * evaluation of E and its gradients in x (what each sampler step needs) and in every parameter (what
 * the loss needs): the unit a DCD-VE step repeats. Flops: 3x the forward's convs and linear. */
static int bench_w3(void) {
    const char *name = "w3_energy_grad_x128x1x28x28";
    if (!wanted(name)) return 0;
    struct ir_graph *g = ir_graph_new();
    int64_t n = 128;
    int x = ir_input(g, "x", 4, (int64_t[]){n, 1, 28, 28});
    int w1 = ir_param(g, "w1", 4, (int64_t[]){64, 1, 3, 3}), b1 = ir_param(g, "b1", 1, (int64_t[]){64});
    int w2 = ir_param(g, "w2", 4, (int64_t[]){128, 64, 3, 3}), b2 = ir_param(g, "b2", 1, (int64_t[]){128});
    int w3 = ir_param(g, "w3", 4, (int64_t[]){256, 128, 3, 3}), b3 = ir_param(g, "b3", 1, (int64_t[]){256});
    int wl = ir_param(g, "wl", 2, (int64_t[]){256, 1});
    int h = ir_unary(g, IR_SILU, ir_conv2d(g, x, w1, b1, 1, 1));
    h = ir_unary(g, IR_SILU, ir_conv2d(g, h, w2, b2, 2, 1));
    h = ir_unary(g, IR_SILU, ir_conv2d(g, h, w3, b3, 2, 1));
    int m = ir_reshape(g, ir_mean(g, h, 4u | 8u), 2, (int64_t[]){n, 256});
    int e = ir_sum_all(g, ir_matmul(g, m, wl, 0));
    int wrt[8] = {x, w1, b1, w2, b2, w3, b3, wl}, grads[8];
    if (e < 0 || ad_grad(g, e, -1, 8, wrt, grads) != 0) {
        fprintf(stderr, "bench_conv: %s: %s\n", name, ir_graph_error(g));
        ir_graph_free(g);
        return 1;
    }
    ir_graph_output(g, "e", e);
    for (int i = 0; i < 8; i++) {
        char out[16];
        snprintf(out, sizeof out, "d%d", i);
        ir_graph_output(g, out, grads[i]);
    }
    struct prog pr;
    if (prog_build(&pr, g, name)) return 1;
    double fwd = 2.0 * n * (64 * 28 * 28 * 9 + 128 * 14 * 14 * 64 * 9 + 256 * 7 * 7 * 128 * 9 + 256);
    prog_time(&pr, name, 3 * fwd);
    prog_free(&pr);
    return 0;
}

/* W5: a 1024^3 matmul through the generated matmul kernel. */
static int bench_w5(void) {
    const char *name = "w5_matmul_1024x1024x1024";
    if (!wanted(name)) return 0;
    struct ir_graph *g = ir_graph_new();
    int a = ir_input(g, "a", 2, (int64_t[]){1024, 1024}), b = ir_param(g, "b", 2, (int64_t[]){1024, 1024});
    ir_graph_output(g, "y", ir_matmul(g, a, b, 0));
    struct prog pr;
    if (prog_build(&pr, g, name)) return 1;
    prog_time(&pr, name, 2.0 * 1024 * 1024 * 1024);
    prog_free(&pr);
    return 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--plan")) print_plan = JIT_PLAN_FUSED;
        else if (!strcmp(argv[i], "--kernels")) print_plan = JIT_PLAN_KERNELS;
        else if (!strcmp(argv[i], "--profile")) print_plan = JIT_PLAN_PROFILE;
        else if (!strcmp(argv[i], "--asm")) print_asm = 1;
        else {
            fprintf(stderr, "usage: bench_conv [--runs N] [--only SUBSTRING] [--plan | --kernels | --profile] [--asm]\n");
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    const char *pk = getenv("EBMC_PEAK_GFLOPS");
    for (int nt = 1; nt <= 2; nt++)
        peak[nt] = pk && atof(pk) > 0 ? nt * atof(pk) : bench_fma_peak(nt, 0.5, NULL, nt == 1 ? &peak_cpu : NULL);
    if (pk && atof(pk) > 0) peak_cpu = atof(pk);
    printf("fp32 FMA peak (%s): %.1f GFLOP/s on 1 thread, %.1f on 2; %d runs per median\n",
           pk && atof(pk) > 0 ? "EBMC_PEAK_GFLOPS" : "measured", peak[1], peak[2], runs);
    printf("RESULT peak 1 %.2f\nRESULT peak 2 %.2f\nCPURESULT peak 1 %.2f\n", peak[1], peak[2], peak_cpu);
    /* A 32x32-image EBM: the 3->64 input layer, a 64->64 layer, a stride-2 downsampling 64->128 layer;
     * and models/cifar_time.ebm's last layer, 8x8 -> 4x4 (rows narrower than a vector). */
    const struct conv_shape convs[] = {
        {64, 64, 32, 32, 64, 3, 1, 1},
        {64, 3, 32, 32, 64, 3, 1, 1},
        {64, 64, 32, 32, 128, 3, 2, 1},
        {64, 64, 8, 8, 64, 3, 2, 1},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) rc |= bench_conv(&convs[i]);
    rc |= bench_bmm(8, 128, 128, 128, 1);
    rc |= bench_bmm(32, 256, 64, 256, 1); /* attention-like: [heads B, T, d] x [heads B, d, T] */
    rc |= bench_bmm(8, 128, 128, 128, 0);
    rc |= bench_bmm_bwd(8, 128, 128, 128);
    rc |= bench_bmm_bwd(32, 256, 64, 256);
    rc |= bench_w3();
    rc |= bench_w5();
    return rc;
}
