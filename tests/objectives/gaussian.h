/* gaussian.h: the closed-form Gaussian case of objectives.md, shared by the objectives_* checks.
 *
 * Data p = N(mu_p, v_p I) in D = 2 dimensions; energy E(x) = c/2 |x - mu|^2, so q = N(mu, v I), v = 1/c.
 * Parameters theta = (mu_0, mu_1, c): the gradients below are 3-vectors in that order.
 *
 * A Gaussian kernel y = a x + s eps keeps everything Gaussian:
 *     Kp = N(a mu_p, (a^2 v_p + s^2) I),   Kq = N(a mu, (a^2 v + s^2) I)
 *     D_K = KL(p || q) - KL(Kp || Kq)
 * and KL between isotropic Gaussians is closed-form, so grad D_K is too (kernel_grad). The surrogate
 * loss's Monte-Carlo gradient (ebmc_gradients, averaged over REPS independent batches of B points)
 * must match it within 3 standard errors, and the standard error must be small next to the gradient,
 * or the check would have no power (check_against). */
#ifndef OBJECTIVES_GAUSSIAN_H
#define OBJECTIVES_GAUSSIAN_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "rng.h"
#include "test.h"

#define D 2
#define B 1024
#define NP (D + 1)

static const double mu_p[D] = {0.5, -0.3}, v_p = 0.5;
static const double mu0[D] = {0.2, 0.1}, v0 = 0.8; /* the model: c = 1/v0 = 1.25 */

static const char quadratic_src[] =
    "param mu: [2] = zeros()\n"
    "param c: [1] = ones()\n"
    "energy(x: [B, 2]) {\n"
    "  return 0.5 * c * sum(square(x - mu), 1)\n"
    "}\n";

/* d KL(N(m1, v1 I) || N(m2, v2 I)) / d m2 and / d v2 */
static inline void kl_grad(const double *m1, double v1, const double *m2, double v2, double *d_m2, double *d_v2) {
    double r2 = 0;
    for (int j = 0; j < D; j++) {
        d_m2[j] = -(m1[j] - m2[j]) / v2;
        r2 += (m1[j] - m2[j]) * (m1[j] - m2[j]);
    }
    *d_v2 = 0.5 * D * (1 / v2 - v1 / (v2 * v2)) - r2 / (2 * v2 * v2);
}

/* grad of KL(p || q) with respect to (mu, c): the CD gradient once the chains have converged, and the
 * s -> infinity limit of grad D_K. */
static inline void kl_pq_grad(double *g) {
    double dv;
    kl_grad(mu_p, v_p, mu0, v0, g, &dv);
    g[D] = dv * -(v0 * v0); /* dv/dc = -1/c^2 = -v^2 */
}

/* grad D_K with respect to (mu, c = 1/v) for data N(mp, vp I), model N(mu, v I) and the kernel
 * y = a x + s eps. KL(Kp || Kq) depends on theta through m2 = a mu and v2 = a^2 v + s^2, hence the
 * factors a and a^2. */
static inline void kernel_grad_at(double *g, const double *mp, double vp, const double *mu, double v, double a,
                                  double s2) {
    double pm[D], qm[D], dk[D], dvk, dp[D], dvp;
    for (int j = 0; j < D; j++) pm[j] = a * mp[j], qm[j] = a * mu[j];
    kl_grad(mp, vp, mu, v, dp, &dvp);
    kl_grad(pm, a * a * vp + s2, qm, a * a * v + s2, dk, &dvk);
    for (int j = 0; j < D; j++) g[j] = dp[j] - a * dk[j];
    g[D] = (dvp - a * a * dvk) * -(v * v);
}

/* The same for this file's p and q. */
static inline void kernel_grad(double *g, double a, double s2) { kernel_grad_at(g, mu_p, v_p, mu0, v0, a, s2); }

/* Data batch number `rep`: B points of p, from a stream of the tests' own. */
static inline void draw_data(float *x, uint64_t rep) {
    for (int i = 0; i < B * D; i++)
        x[i] = (float)(mu_p[i % D] + sqrt(v_p) * rng_normal(1234, rng_stream(200, rep, 0), (uint64_t)i));
}

/* Mean and standard error over repetitions of a 3-component gradient estimate. */
struct estimate {
    int n;
    double sum[NP], sum2[NP];
};

static inline void add(struct estimate *e, const double *g) {
    e->n++;
    for (int k = 0; k < NP; k++) e->sum[k] += g[k], e->sum2[k] += g[k] * g[k];
}

static inline double est_mean(const struct estimate *e, int k) { return e->sum[k] / e->n; }

static inline double est_se(const struct estimate *e, int k) {
    double mean = est_mean(e, k), var = (e->sum2[k] / e->n - mean * mean) * e->n / (e->n - 1);
    return sqrt((var > 0 ? var : 0) / e->n);
}

/* |MC - want| <= 3 SE per component, and SE < power * |want| (power = 0.1 unless the caller asks
 * for another reference scale through power_ref: then SE < power * |power_ref[k]|). */
static inline void check_against(const struct estimate *e, const double *want, const char *what, double power,
                          const double *power_ref) {
    for (int k = 0; k < NP; k++) {
        double mean = est_mean(e, k), se = est_se(e, k), ref = power_ref ? power_ref[k] : want[k];
        fprintf(stderr, "%s: component %d: Monte Carlo %.6f +- %.6f, closed form %.6f (%.2f SE)\n", what, k, mean,
                se, want[k], se > 0 ? fabs(mean - want[k]) / se : 0.0);
        CHECK_MSG(fabs(mean - want[k]) <= 3 * se, "%s component %d off by %.2f standard errors", what, k,
                  fabs(mean - want[k]) / se);
        CHECK_MSG(se < power * fabs(ref), "%s component %d: standard error %.5f too large (need < %.5f)", what, k,
                  se, power * fabs(ref));
    }
}

/* A model of quadratic_src (or src) with the given settings, compiled, parameters set to (mu0, 1/v0). */
static inline struct ebmc_model *gaussian_model(const char *src, const char *const (*settings)[2], int n_settings) {
    struct ebmc_model *m = ebmc_load_string(src ? src : quadratic_src, "gaussian.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return NULL;
    char batch[16];
    snprintf(batch, sizeof batch, "%d", B);
    CHECK(ebmc_set(m, "batch", batch, stderr) == 0);
    CHECK(ebmc_set(m, "alpha", "0", stderr) == 0);
    CHECK(ebmc_set(m, "threads", "2", stderr) == 0);
    for (int k = 0; k < n_settings; k++) CHECK(ebmc_set(m, settings[k][0], settings[k][1], stderr) == 0);
    if (ebmc_compile(m, stderr) != 0) {
        CHECK(!"compile");
        ebmc_free(m);
        return NULL;
    }
    if (!src) {
        CHECK(ebmc_n_params(m) == 2);
        int i_mu = strcmp(ebmc_param_name(m, 0), "mu") == 0 ? 0 : 1, i_c = 1 - i_mu;
        for (int j = 0; j < D; j++) ebmc_param_data(m, i_mu)[j] = (float)mu0[j];
        ebmc_param_data(m, i_c)[0] = (float)(1 / v0);
    }
    return m;
}

/* REPS steps of ebmc_gradients on fresh data batches; the gradient of (mu, c) of each goes into e.
 * Returns the MALA acceptance rate (0 for other samplers). */
static inline double run_gradients(struct ebmc_model *m, int reps, struct estimate *e) {
    int i_mu = strcmp(ebmc_param_name(m, 0), "mu") == 0 ? 0 : 1, i_c = 1 - i_mu;
    float *x = malloc(sizeof(float) * B * D);
    for (int rep = 0; rep < reps; rep++) {
        double loss, g[NP];
        draw_data(x, (uint64_t)rep);
        CHECK(ebmc_gradients(m, x, rep, &loss, stderr) == 0);
        for (int j = 0; j < D; j++) g[j] = ebmc_param_grad(m, i_mu)[j];
        g[D] = ebmc_param_grad(m, i_c)[0];
        add(e, g);
    }
    free(x);
    return ebmc_acceptance(m);
}

/* Convenience: a quadratic model with these settings, run for reps batches. */
static inline double gaussian_run(const char *const (*settings)[2], int n_settings, int reps, struct estimate *e) {
    struct ebmc_model *m = gaussian_model(NULL, settings, n_settings);
    if (!m) return 0;
    double acc = run_gradients(m, reps, e);
    ebmc_free(m);
    return acc;
}

#endif
