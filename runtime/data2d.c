/* data2d.c: the 2-D toy densities used across the EBM literature (the FFJORD/DCD set), generated in
 * code. Point i uses only draws (seed, stream, i * DRAWS_PER_POINT + k), so any batch can be
 * regenerated, split across threads or extended without changing earlier points. */
#include "data2d.h"

#include "rng.h"

#include <math.h>
#include <string.h>

#define DRAWS_PER_POINT 8
#define PI 3.14159265358979323846

static const char *const kind_names[DATA2D_COUNT] = {
    [DATA2D_8GAUSSIANS] = "8gaussians", [DATA2D_RINGS] = "rings", [DATA2D_CHECKERBOARD] = "checkerboard",
    [DATA2D_SPIRALS] = "spirals",       [DATA2D_MOONS] = "moons", [DATA2D_PINWHEEL] = "pinwheel",
    [DATA2D_SWISSROLL] = "swissroll",
};

int data2d_from_name(const char *name) {
    for (int k = 0; k < DATA2D_COUNT; k++)
        if (name && strcmp(name, kind_names[k]) == 0) return k;
    return -1;
}

const char *data2d_name(enum data2d_kind kind) {
    return (unsigned)kind < DATA2D_COUNT ? kind_names[kind] : "?";
}

const char *data2d_names(void) {
    return "8gaussians, rings, checkerboard, spirals, moons, pinwheel, swissroll";
}

/* Half-widths leave a margin around the support, so the evaluation grid also sees where the model puts
 * mass it should not; pinwheel's radial tail (radius 2 + 0.6 z) needs the extra half unit. */
float data2d_half_width(enum data2d_kind kind) { return kind == DATA2D_PINWHEEL ? 4.5f : 4.0f; }

/* The k-th independent draw of one point: each draw uses its own Philox block. */
struct point_draws {
    uint64_t seed, stream, base;
    int k;
};

static double next_uniform(struct point_draws *d) {
    return rng_uniform(d->seed, d->stream, d->base + (uint64_t)d->k++);
}

static double next_normal(struct point_draws *d) {
    return rng_normal(d->seed, d->stream, d->base + (uint64_t)d->k++);
}

/* 8 modes on the circle of radius 2, std 0.1 (entropy log 8 + log(2 pi e 0.01) = 0.31 nats). */
static void gen_8gaussians(struct point_draws *d, double p[2]) {
    int mode = (int)(next_uniform(d) * 8.0);
    double a = mode * (PI / 4.0);
    p[0] = 2.0 * cos(a) + 0.1 * next_normal(d);
    p[1] = 2.0 * sin(a) + 0.1 * next_normal(d);
}

/* 4 concentric circles of radii 0.75, 1.5, 2.25, 3; a ring's share of points grows with its radius
 * (weights 1:2:3:4), so the density along every ring is the same. */
static void gen_rings(struct point_draws *d, double p[2]) {
    double u = next_uniform(d) * 10.0;
    int ring = u < 1.0 ? 1 : u < 3.0 ? 2 : u < 6.0 ? 3 : 4;
    double a = 2.0 * PI * next_uniform(d), r = 0.75 * ring;
    p[0] = r * cos(a) + 0.08 * next_normal(d);
    p[1] = r * sin(a) + 0.08 * next_normal(d);
}

/* FFJORD's checkerboard: the 8 "black" unit squares of a 4x4 board on [-2, 2]^2, scaled by 1.5. */
static void gen_checkerboard(struct point_draws *d, double p[2]) {
    double x = next_uniform(d) * 4.0 - 2.0;
    double y = next_uniform(d) - (next_uniform(d) < 0.5 ? 0.0 : 2.0);
    y += (double)((int)floor(x) & 1); /* floor(x) in -2..1; & 1 is Python's % 2 for these */
    p[0] = 1.5 * x;
    p[1] = 1.5 * y;
}

/* FFJORD's 2spirals: two arms of 1.5 turns, point symmetric, radius up to ~3.2. */
static void gen_spirals(struct point_draws *d, double p[2]) {
    double t = sqrt(next_uniform(d)) * 3.0 * PI;
    double x = -cos(t) * t + 0.5 * next_uniform(d);
    double y = sin(t) * t + 0.5 * next_uniform(d);
    double s = next_uniform(d) < 0.5 ? 1.0 : -1.0;
    p[0] = s * x / 3.0 + 0.1 * next_normal(d);
    p[1] = s * y / 3.0 + 0.1 * next_normal(d);
}

/* sklearn's make_moons (noise 0.05), centred and scaled by 2: x in [-3, 3], y in [-1.5, 1.5]. */
static void gen_moons(struct point_draws *d, double p[2]) {
    int inner = next_uniform(d) < 0.5;
    double t = PI * next_uniform(d);
    double x = inner ? 1.0 - cos(t) : cos(t);
    double y = inner ? 0.5 - sin(t) : sin(t);
    p[0] = 2.0 * (x - 0.5 + 0.05 * next_normal(d));
    p[1] = 2.0 * (y - 0.25 + 0.05 * next_normal(d));
}

/* FFJORD's pinwheel: 5 arms, radial std 0.3, tangential std 0.1, twist rate 0.25, scaled by 2. */
static void gen_pinwheel(struct point_draws *d, double p[2]) {
    int arm = (int)(next_uniform(d) * 5.0);
    double f0 = 1.0 + 0.3 * next_normal(d), f1 = 0.1 * next_normal(d);
    double a = arm * (2.0 * PI / 5.0) + 0.25 * exp(f0);
    double c = cos(a), s = sin(a);
    p[0] = 2.0 * (f0 * c + f1 * s);
    p[1] = 2.0 * (f1 * c - f0 * s);
}

/* FFJORD's swissroll: sklearn's make_swiss_roll (noise 1) seen from the side, divided by 5. */
static void gen_swissroll(struct point_draws *d, double p[2]) {
    double t = 1.5 * PI * (1.0 + 2.0 * next_uniform(d));
    p[0] = (t * cos(t) + next_normal(d)) / 5.0;
    p[1] = (t * sin(t) + next_normal(d)) / 5.0;
}

static void (*const generators[DATA2D_COUNT])(struct point_draws *d, double p[2]) = {
    [DATA2D_8GAUSSIANS] = gen_8gaussians, [DATA2D_RINGS] = gen_rings,
    [DATA2D_CHECKERBOARD] = gen_checkerboard, [DATA2D_SPIRALS] = gen_spirals,
    [DATA2D_MOONS] = gen_moons, [DATA2D_PINWHEEL] = gen_pinwheel,
    [DATA2D_SWISSROLL] = gen_swissroll,
};

void data2d_sample(enum data2d_kind kind, float *xy, size_t n, uint64_t seed, uint64_t stream) {
    data2d_sample_from(kind, xy, 0, n, seed, stream);
}

void data2d_sample_from(enum data2d_kind kind, float *xy, size_t first, size_t n, uint64_t seed, uint64_t stream) {
    if ((unsigned)kind >= DATA2D_COUNT) return;
    void (*gen)(struct point_draws *, double[2]) = generators[kind];
    /* Threads only pay off for large draws (a training batch is ~1000 points). */
#pragma omp parallel for schedule(static) if (n >= 16384)
    for (size_t i = 0; i < n; i++) {
        struct point_draws d = {seed, stream, (uint64_t)(first + i) * DRAWS_PER_POINT, 0};
        double p[2];
        gen(&d, p);
        xy[2 * i] = (float)p[0];
        xy[2 * i + 1] = (float)p[1];
    }
}
