/* backend_vecmath: the accuracy of the JIT's inline exp and log (backend/vecmath.c), and of the ops built
 * on them, against double-precision libm, in float ulps of the exact result.
 *
 * Inputs: a sweep of float bit patterns with a prime stride (every binade, from subnormals to the
 * overflow threshold), a sweep linear in value over the interesting range, and the special values,
 * whose results are checked exactly. Each op runs compiled at O3 (vectorized) with its kernel split
 * across 1 and 3 threads, and at O0 (scalar); all must agree bitwise.
 *
 * Bounds, in ulps of the exact result. exp and log were measured over all 2^32 floats (run with
 * --exhaustive [op]; a few minutes per op), both with FMA and with mul + add:
 *   exp 1.010 (FMA) / 0.990 (mul + add), log 0.827 / 0.829.
 * The ops built on them add their own roundings (division, products): their bound is 4 ulps; the
 * exhaustive maxima (with FMA) are in cases[].
 *
 * pow(x, e) for e = 3, 0.5 and -1.7 is measured over x in [0.5, 1e6] (every 61st float there, ~2.9M
 * points): within 2 ulps.
 *
 * sin and cos are measured in absolute error, in units of 2^-24 (half an ulp of 1), for |x| <= 2^22,
 * their domain (vecmath.h); the bit-pattern sweep still checks larger arguments for agreement between
 * O3, threads and O0. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jit.h"
#include "test.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* ---- references, in double ---- */

static double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double ref_silu(double x) { return x / (1 + exp(-x)); }
static double ref_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double ref_cube(double x) { return pow(x, 3); }
static double ref_root(double x) { return pow(x, 0.5); }
static double ref_pow_m17(double x) { return pow(x, (double)-1.7f); }

struct op_case {
    enum ir_op op;
    double (*ref)(double);
    double max_ulp; /* asserted bound on the error; the comment gives the exhaustive maximum (FMA) */
    double lo, hi;  /* the linear sweep */
    int positive;   /* the bit-pattern sweep takes positive floats only (else both signs) */
    double min_x;   /* errors count for x >= min_x only */
    int absolute;   /* error in units of 2^-24 instead of ulps of the result */
    double max_abs; /* if nonzero, errors count for |x| <= max_abs only */
    double exponent; /* pow: x^exponent, the exponent a constant */
};

/* sin, cos: absolute error bound in units of 2^-24. Exhaustive maxima with FMA: sin 1.754, cos 1.710
 * (< 1.1e-7); this sweep's: 1.540 and 1.507. */
#define SINCOS_ABS 2.0

static const struct op_case cases[] = {
    {IR_EXP, exp, 1.02, -104, 89, 0, -INFINITY, 0, 0, 0}, /* 1.010 */
    {IR_LOG, log, 0.85, 0.5, 2, 1, -INFINITY, 0, 0, 0},   /* 0.827 */
    /* Goldberg's log(1 + x) x / ((1 + x) - 1) on the log above */
    {IR_LOG1P, log1p, 3.0, -0.999, 10, 0, -INFINITY, 0, 0, 0}, /* 2.302 */
    /* built on exp / log in codegen.c; their own rounding steps add to exp's error */
    {IR_SIGMOID, ref_sigmoid, 4.0, -30, 30, 0, -INFINITY, 0, 0, 0}, /* 2.825 */
    /* x * sigmoid(x): below x = -87.33 sigmoid(x) is subnormal, and the product magnifies its rounding
     * (to up to |x| < 104 subnormal ulps: absolutely < 2e-43) */
    {IR_SILU, ref_silu, 4.0, -30, 30, 0, -87.33, 0, 0, 0},           /* 3.608 */
    {IR_TANH, tanh, 4.0, -10, 10, 0, -INFINITY, 0, 0, 0},             /* 1.928 */
    {IR_SOFTPLUS, ref_softplus, 4.0, -30, 30, 0, -INFINITY, 0, 0, 0}, /* 2.811 */
    /* sin and cos: their own polynomial and range reduction (vecmath.c) */
    {IR_SIN, sin, SINCOS_ABS, -12868, 12868, 0, -INFINITY, 1, 4194304, 0},
    {IR_COS, cos, SINCOS_ABS, -12868, 12868, 0, -INFINITY, 1, 4194304, 0},
    /* pow(x, e) for x in [0.5, 1e6], swept densely (every 61st float there): within 2 ulp, like PyTorch's
     * float pow (within 1) */
    {IR_POW, ref_cube, 2.0, 0.5, 1e6, 1, 0.5, 0, 1e6, 3},
    {IR_POW, ref_root, 2.0, 0.5, 1e6, 1, 0.5, 0, 1e6, 0.5},
    {IR_POW, ref_pow_m17, 2.0, 0.5, 1e6, 1, 0.5, 0, 1e6, -1.7f},
};

/* |got - ref| in ulps of the float nearest ref (subnormal ulps below FLT_MIN). Overflow to inf counts
 * as 2^128, one ulp past FLT_MAX. */
static double ulp_error(float got, double ref) {
    if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got) ? 0 : INFINITY;
    if (isinf((float)ref) && got == (float)ref) return 0; /* beyond the float range, correctly inf */
    if (isinf(ref)) return INFINITY;
    double g = isinf(got) ? copysign(0x1p128, got) : got;
    int e = ref == 0 ? -126 : ilogb(ref);
    if (e < -126) e = -126;
    if (e > 127) e = 127;
    return fabs(g - ref) / ldexp(1, e - 23);
}

/* |got - ref| in units of 2^-24; NaN where exactly one of them is NaN */
static double abs_error(float got, double ref) {
    if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got) ? 0 : INFINITY;
    return fabs(got - ref) * 0x1p24;
}

/* ---- running the JIT over many inputs ---- */

#define CHUNK (1 << 20)

struct op_prog {
    struct jit_program *o3, *o0;
};

/* y = op(x), or pow(x, exponent) */
static struct op_prog op_compile(enum ir_op op, double exponent, struct ir_graph **gp) {
    struct ir_graph *g = ir_graph_new();
    int64_t n = CHUNK;
    int x = ir_input(g, "x", 1, &n);
    ir_graph_output(g, "y", op == IR_POW ? ir_binary(g, op, x, ir_const(g, exponent, 1, &n)) : ir_unary(g, op, x));
    char err[256];
    struct op_prog p;
    p.o3 = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p.o3 != NULL, "%s", err);
    struct jit_options o0 = {.opt_level = 0};
    p.o0 = jit_compile(g, &o0, err, sizeof err);
    CHECK_MSG(p.o0 != NULL, "%s", err);
    if (p.o3) jit_set_min_parallel_work(p.o3, 0);
    *gp = g;
    return p;
}

struct stats {
    double max_ulp;
    float worst_x;
    int64_t n, mismatches; /* points; points where O3 1 thread, O3 3 threads and O0 differ */
};

/* Evaluates the first n of x[CHUNK] (the rest padded) and folds the errors into s. */
static void run_chunk(const struct op_case *c, struct op_prog *p, float *x, int64_t n, float *y, float *y3,
                      float *y0, struct stats *s) {
    for (int64_t i = n; i < CHUNK; i++) x[i] = 1;
    float *args[1] = {x}, *o1[1] = {y}, *o3[1] = {y3}, *oo[1] = {y0};
    jit_run(p->o3, args, o1, 1);
    jit_run(p->o3, args, o3, 3);
    jit_run(p->o0, args, oo, 1);
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = to_bits(y[i]);
        if (b != to_bits(y3[i]) || b != to_bits(y0[i])) {
            if (s->mismatches++ == 0)
                fprintf(stderr, "%s(%.9g): O3 1 thread %.9g, O3 3 threads %.9g, O0 %.9g\n", ir_op_name(c->op),
                        x[i], y[i], y3[i], y0[i]);
        }
        double ref = c->ref(x[i]);
        if (x[i] < c->min_x || (c->max_abs && fabs(x[i]) > c->max_abs)) continue;
        double err = c->absolute ? abs_error(y[i], ref) : ulp_error(y[i], ref);
        if (!(err <= s->max_ulp)) { /* NaN-safe: any NaN error becomes the worst */
            s->max_ulp = isnan(err) ? INFINITY : err;
            s->worst_x = x[i];
        }
    }
    s->n += n;
}

/* Feeds every input from a generator to run_chunk, CHUNK at a time. */
struct sweep {
    float *x, *y, *y3, *y0;
    int64_t fill;
};

static void sweep_push(const struct op_case *c, struct op_prog *p, struct sweep *w, struct stats *s, float v) {
    w->x[w->fill++] = v;
    if (w->fill == CHUNK) {
        run_chunk(c, p, w->x, w->fill, w->y, w->y3, w->y0, s);
        w->fill = 0;
    }
}

static void sweep_flush(const struct op_case *c, struct op_prog *p, struct sweep *w, struct stats *s) {
    if (w->fill) run_chunk(c, p, w->x, w->fill, w->y, w->y3, w->y0, s);
    w->fill = 0;
}

static void check_op(const struct op_case *c, int exhaustive) {
    struct ir_graph *g;
    struct op_prog p = op_compile(c->op, c->exponent, &g);
    if (!p.o3 || !p.o0) return;
    struct sweep w = {malloc(sizeof(float) * CHUNK), malloc(sizeof(float) * CHUNK), malloc(sizeof(float) * CHUNK),
                      malloc(sizeof(float) * CHUNK), 0};
    struct stats s = {0, 0, 0, 0};
    if (exhaustive) {
        for (uint64_t u = 0; u <= 0xFFFFFFFFu; u++) sweep_push(c, &p, &w, &s, from_bits((uint32_t)u));
    } else {
        /* every binade: bit patterns with a prime stride, positive and (unless c->positive) negative */
        const uint32_t stride = c->positive ? 2039 : 4093;
        for (uint64_t u = 0; u < 0x7F800000u; u += stride) {
            sweep_push(c, &p, &w, &s, from_bits((uint32_t)u));
            if (!c->positive) sweep_push(c, &p, &w, &s, -from_bits((uint32_t)u));
        }
        /* a range that matters (pow's [0.5, 1e6]): every 61st float in it */
        if (c->positive && c->max_abs)
            for (uint32_t u = to_bits((float)c->min_x); u <= to_bits((float)c->max_abs); u += 61)
                sweep_push(c, &p, &w, &s, from_bits(u));
        /* linear in value: where results are largest and most used */
        for (int i = 0; i < 1000000; i++) sweep_push(c, &p, &w, &s, (float)(c->lo + (c->hi - c->lo) * i / 1e6));
    }
    sweep_flush(c, &p, &w, &s);
    char name[48];
    if (c->op == IR_POW) snprintf(name, sizeof name, "pow(x, %g)", c->exponent);
    else snprintf(name, sizeof name, "%s", ir_op_name(c->op));
    fprintf(stderr, "%-12s %10lld points: max error %.3f %s at x = %.9g\n", name, (long long)s.n, s.max_ulp,
            c->absolute ? "x 2^-24 absolute" : "ulp", s.worst_x);
    CHECK_MSG(s.max_ulp <= c->max_ulp, "%s: %.3f ulp at x = %.9g (bound %.1f)", name, s.max_ulp, s.worst_x,
              c->max_ulp);
    CHECK_MSG(s.mismatches == 0, "%s: %lld results differ between O3, O3 on 3 threads and O0", name,
              (long long)s.mismatches);
    free(w.x);
    free(w.y);
    free(w.y3);
    free(w.y0);
    jit_free(p.o3);
    jit_free(p.o0);
    ir_graph_free(g);
}

/* ---- special values: exact results ---- */

static int same(float got, float want) { return isnan(want) ? isnan(got) : to_bits(got) == to_bits(want); }

static void check_specials(enum ir_op op, const float *x, const float *want, int n) {
    struct ir_graph *g;
    struct op_prog p = op_compile(op, 0, &g);
    if (!p.o3 || !p.o0) return;
    float *in = malloc(sizeof(float) * CHUNK), *y = malloc(sizeof(float) * CHUNK);
    float *y0 = malloc(sizeof(float) * CHUNK);
    /* repeated, so that each value lands in every vector lane; O0 is the scalar code */
    for (int64_t i = 0; i < CHUNK; i++) in[i] = x[i % n];
    float *args[1] = {in}, *o3[1] = {y}, *oo[1] = {y0};
    jit_run(p.o3, args, o3, 1);
    jit_run(p.o0, args, oo, 1);
    for (int64_t i = 0; i < 64 * n; i++) {
        CHECK_MSG(same(y[i], want[i % n]), "%s(%.9g) = %.9g at O3, want %.9g", ir_op_name(op), in[i], y[i],
                  want[i % n]);
        CHECK_MSG(same(y0[i], want[i % n]), "%s(%.9g) = %.9g at O0, want %.9g", ir_op_name(op), in[i], y0[i],
                  want[i % n]);
    }
    free(in);
    free(y);
    free(y0);
    jit_free(p.o3);
    jit_free(p.o0);
    ir_graph_free(g);
}

static void test_specials(void) {
    const float inf = INFINITY, nan = NAN, tiny = from_bits(1); /* 2^-149 */
    const float exp_x[] = {nan, -nan, inf, -inf, 0.0f, -0.0f, 89.0f, 88.7228394f, 1000, FLT_MAX,
                           -104, -200, -FLT_MAX, tiny, -tiny};
    const float exp_y[] = {nan, nan, inf, 0, 1, 1, inf, inf, inf, inf, 0, 0, 0, 1, 1};
    check_specials(IR_EXP, exp_x, exp_y, sizeof exp_x / sizeof exp_x[0]);
    const float log_x[] = {nan, -nan, inf, -inf, 0.0f, -0.0f, -1, -tiny, -FLT_MAX, 1};
    const float log_y[] = {nan, nan, inf, nan, -inf, -inf, nan, nan, nan, 0};
    check_specials(IR_LOG, log_x, log_y, sizeof log_x / sizeof log_x[0]);
    /* the ops built on them, at their extremes */
    const float sig_x[] = {nan, inf, -inf, 0, 200, -200};
    const float sig_y[] = {nan, 1, 0, 0.5f, 1, 0};
    check_specials(IR_SIGMOID, sig_x, sig_y, sizeof sig_x / sizeof sig_x[0]);
    const float silu_x[] = {nan, inf, -inf, 0, 200, -200};
    const float silu_y[] = {nan, inf, nan, 0, 200, -0.0f}; /* -inf * 0 and -200 * 0 */
    check_specials(IR_SILU, silu_x, silu_y, sizeof silu_x / sizeof silu_x[0]);
    const float tanh_x[] = {nan, inf, -inf, 0, -0.0f, 100, -100};
    const float tanh_y[] = {nan, 1, -1, 0, -0.0f, 1, -1};
    check_specials(IR_TANH, tanh_x, tanh_y, sizeof tanh_x / sizeof tanh_x[0]);
    const float sp_x[] = {nan, inf, -inf, 1000, -200};
    const float sp_y[] = {nan, inf, 0, 1000, 0};
    check_specials(IR_SOFTPLUS, sp_x, sp_y, sizeof sp_x / sizeof sp_x[0]);
    const float sin_x[] = {nan, inf, -inf, 0, 4194305, -1e30f, FLT_MAX}; /* NaN past 2^22 */
    const float sin_y[] = {nan, nan, nan, 0, nan, nan, nan};
    check_specials(IR_SIN, sin_x, sin_y, 7);
    const float cos_y[] = {nan, nan, nan, 1, nan, nan, nan};
    check_specials(IR_COS, sin_x, cos_y, 7);
}

/* backend_vecmath [--exhaustive [op]] */
int main(int argc, char **argv) {
    int exhaustive = argc > 1 && strcmp(argv[1], "--exhaustive") == 0;
    const char *only = exhaustive && argc > 2 ? argv[2] : NULL;
    if (!exhaustive) test_specials();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!only || strcmp(only, ir_op_name(cases[i].op)) == 0) check_op(&cases[i], exhaustive);
    return test_report();
}
