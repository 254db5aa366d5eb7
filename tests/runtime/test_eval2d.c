/* test_eval2d: the grid density against closed forms. */
#include "eval2d.h"
#include "rng.h"
#include "test.h"

#include <stdlib.h>

#define PI 3.14159265358979323846

static void test_grid_points(void) {
    float xy[2 * 16];
    eval2d_grid_points(xy, 4, 2.0f);
    CHECK(xy[0] == -1.5f && xy[1] == -1.5f); /* row 0 is at the bottom */
    CHECK(xy[2] == -0.5f && xy[3] == -1.5f); /* columns go right */
    CHECK(xy[8] == -1.5f && xy[9] == -0.5f); /* row 1 is above row 0 */
    CHECK(xy[30] == 1.5f && xy[31] == 1.5f);
}

/* Energies of N(0, s^2 I) on the grid, optionally scaled and offset. */
static float *gaussian_energy(int n, float half, double s, double scale, double offset) {
    float *xy = malloc(2 * (size_t)n * n * sizeof *xy), *e = malloc((size_t)n * n * sizeof *e);
    eval2d_grid_points(xy, n, half);
    for (size_t i = 0; i < (size_t)n * n; i++) {
        double r2 = (double)xy[2 * i] * xy[2 * i] + (double)xy[2 * i + 1] * xy[2 * i + 1];
        e[i] = (float)(scale * r2 / (2 * s * s) + offset);
    }
    free(xy);
    return e;
}

static double total_mass(const double *logp, int n, float half) {
    double h = 2.0 * half / n, sum = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) sum += exp(logp[i]) * h * h;
    return sum;
}

static float *normal_points(size_t m, double s, double shift, uint64_t stream) {
    float *xy = malloc(2 * m * sizeof *xy);
    rng_fill_normal(xy, 2 * m, 11, stream);
    for (size_t j = 0; j < m; j++) {
        xy[2 * j] = (float)(xy[2 * j] * s + shift);
        xy[2 * j + 1] = (float)(xy[2 * j + 1] * s);
    }
    return xy;
}

static void test_normalize(void) {
    const int n = 64;
    const float half = 3.0f;
    double *logp = malloc((size_t)n * n * sizeof *logp), *ref = malloc((size_t)n * n * sizeof *ref);
    float *e = gaussian_energy(n, half, 0.5, 1.0, 0.0);
    eval2d_normalize(ref, e, n, half);
    CHECK_CLOSE(total_mass(ref, n, half), 1.0, 1e-12, 0);
    free(e);

    /* Shifting every energy by a constant changes nothing, even far beyond exp's range. */
    e = gaussian_energy(n, half, 0.5, 1.0, 1e4);
    eval2d_normalize(logp, e, n, half);
    double worst = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) worst = fmax(worst, fabs(logp[i] - ref[i]));
    CHECK_MSG(worst < 1e-6 * 1e4, "max |difference| %g", worst); /* float energies near 1e4 */
    free(e);

    /* A very peaked density: most cells underflow, the result is still finite and normalized. */
    e = gaussian_energy(n, half, 0.5, 1e3, -1e6);
    eval2d_normalize(logp, e, n, half);
    int finite = 1;
    for (size_t i = 0; i < (size_t)n * n; i++) finite &= isfinite(logp[i]);
    CHECK(finite);
    CHECK_CLOSE(total_mass(logp, n, half), 1.0, 1e-12, 0);

    /* Infinite energy is zero density. */
    e[0] = INFINITY;
    eval2d_normalize(logp, e, n, half);
    CHECK(isinf(logp[0]) && logp[0] < 0);
    CHECK_CLOSE(total_mass(logp, n, half), 1.0, 1e-12, 0);
    free(e);
    free(logp);
    free(ref);
}

/* NLL of N(0, s^2 I) samples under the grid-normalized Gaussian energy is the Gaussian's entropy. */
static void test_gaussian_nll(void) {
    const int n = 400;
    const float half = 4.0f; /* 8 standard deviations: the truncated mass is ~e^-32 */
    const double s = 0.5;
    const size_t m = 200000;
    double *logp = malloc((size_t)n * n * sizeof *logp);
    float *e = gaussian_energy(n, half, s, 1.0, 0.0);
    eval2d_normalize(logp, e, n, half);
    float *xy = normal_points(m, s, 0.0, 1);
    double nll = eval2d_nll(logp, n, half, xy, m);
    /* The exact NLL of the same samples: their difference is the grid's discretization alone, which for
     * cell side h is about h^2 / (12 s^2) = 1.3e-4 here (the centre's r^2 versus the point's). */
    double exact = 0;
    for (size_t j = 0; j < m; j++) {
        double r2 = (double)xy[2 * j] * xy[2 * j] + (double)xy[2 * j + 1] * xy[2 * j + 1];
        exact += log(2 * PI * s * s) + r2 / (2 * s * s);
    }
    exact /= m;
    CHECK_CLOSE(nll, exact, 1e-3, 0);
    /* -log p(x) = log(2 pi s^2) + Exp(1) for a 2-D Gaussian, so the standard error is 1/sqrt(m). */
    double entropy = log(2 * PI * exp(1.0) * s * s);
    CHECK_CLOSE(nll, entropy, 5 / sqrt((double)m) + 1e-3, 0);
    free(xy);
    free(e);
    free(logp);
}

/* Constant energy is the uniform density on the square: NLL = log(area) for any point, even outside. */
static void test_uniform(void) {
    const int n = 50;
    const float half = 4.0f;
    double *logp = malloc((size_t)n * n * sizeof *logp);
    float *e = malloc((size_t)n * n * sizeof *e);
    for (int i = 0; i < n * n; i++) e[i] = 3.5f;
    eval2d_normalize(logp, e, n, half);
    float pts[] = {0.0f, 0.0f, -3.99f, 3.99f, 100.0f, -100.0f, 4.0f, 4.0f, -4.0f, -4.0f};
    CHECK_CLOSE(eval2d_nll(logp, n, half, pts, 5), log(64.0), 1e-12, 0);
    float nan_pt[] = {NAN, 0.0f};
    CHECK(isnan(eval2d_nll(logp, n, half, nan_pt, 1)));
    CHECK(isnan(eval2d_nll(logp, n, half, pts, 0)));
    CHECK(isnan(eval2d_tv(logp, n, half, pts, 0)));

    /* Uniform samples: TV small; points all outside: TV is exactly 1. */
    size_t m = 100000;
    float *u = malloc(2 * m * sizeof *u);
    rng_fill_uniform(u, 2 * m, 3, 4);
    for (size_t j = 0; j < 2 * m; j++) u[j] = (u[j] * 2 - 1) * half;
    /* Each cell's count is ~Poisson(m p), so E|q_c - p| = sqrt(2 p / (pi m)) and the expected TV is
     * 0.5 * n^2 * sqrt(2 p / (pi m)) with p = 1 / n^2: 0.0631; its spread over cells is ~1e-3. */
    double tv = eval2d_tv(logp, n, half, u, m);
    CHECK_CLOSE(tv, 0.5 * n * sqrt(2.0 / (PI * (double)m)), 0.005, 0);
    float out[] = {5.0f, 0.0f, 0.0f, -4.5f};
    CHECK_CLOSE(eval2d_tv(logp, n, half, out, 2), 1.0, 1e-12, 0);
    free(u);
    free(e);
    free(logp);
}

static void test_tv(void) {
    const int n = 32;
    const float half = 2.5f;
    const double s = 0.5;
    const size_t m = 200000;
    double *logp = malloc((size_t)n * n * sizeof *logp);
    float *e = gaussian_energy(n, half, s, 1.0, 0.0);
    eval2d_normalize(logp, e, n, half);
    /* Against its own sample: the histogram's noise, 0.5 * sqrt(2 / (pi m)) * sum_c sqrt(p_c) = 0.014
     * (sum_c sqrt(p_c) ~ 2 sqrt(2 pi) s / h), plus the centre-value bias, ~h^2 / (3 s^2) / 2 = 0.004. */
    float *same = normal_points(m, s, 0.0, 2);
    double tv_same = eval2d_tv(logp, n, half, same, m);
    CHECK_MSG(tv_same < 0.03, "tv against its own sample %g", tv_same);
    /* Shifted by 2 standard deviations: TV(N(0, 1), N(2, 1)) = 2 Phi(1) - 1 = 0.683. */
    float *shifted = normal_points(m, s, 2 * s, 3);
    double tv_shift = eval2d_tv(logp, n, half, shifted, m);
    CHECK_CLOSE(tv_shift, 0.6826894921, 0.03, 0);
    free(same);
    free(shifted);
    free(e);
    free(logp);
}

int main(void) {
    test_grid_points();
    test_normalize();
    test_gaussian_nll();
    test_uniform();
    test_tv();
    return test_report();
}
