/* The closed-form Gaussian check of objectives.md for DCD-VE, run through the whole system (model
 * file, autodiff, JIT, MALA, loss program).
 *
 * Data p = N(mu_p, v_p I) in 2-D; energy E(x) = c/2 |x - mu|^2, so q = N(mu, v I) with v = 1/c. With the
 * kernel y = x + sigma eps every distribution stays Gaussian and
 *     D(mu, v) = KL(N(mu_p, v_p) || N(mu, v)) - KL(N(mu_p, v_p + s2) || N(mu, v + s2)),   s2 = sigma^2
 * has a closed-form gradient. The Monte-Carlo gradient of the surrogate loss must match it within
 * 3 standard errors, both with exact posterior draws (checks the formula) and with ebmc's MALA chains. */
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "rng.h"
#include "test.h"

#define D 2
#define B 1024
#define REPS 40

static const double mu_p[D] = {0.5, -0.3}, v_p = 0.5, sigma = 0.5;
static const double mu0[D] = {0.2, 0.1}, v0 = 0.8;

/* d KL(N(m1, v1 I) || N(m2, v2 I)) / d m2 and / d v2 */
static void kl_grad(const double *m1, double v1, const double *m2, double v2, double *d_m2, double *d_v2) {
    double r2 = 0;
    for (int j = 0; j < D; j++) {
        d_m2[j] = -(m1[j] - m2[j]) / v2;
        r2 += (m1[j] - m2[j]) * (m1[j] - m2[j]);
    }
    *d_v2 = 0.5 * D * (1 / v2 - v1 / (v2 * v2)) - r2 / (2 * v2 * v2);
}

/* Closed-form gradient of D with respect to (mu_0, mu_1, c). */
static void closed_form(double *g, double s2) {
    double a[D], av, b[D], bv;
    kl_grad(mu_p, v_p, mu0, v0, a, &av);
    kl_grad(mu_p, v_p + s2, mu0, v0 + s2, b, &bv);
    for (int j = 0; j < D; j++) g[j] = a[j] - b[j];
    g[D] = (av - bv) * -(v0 * v0); /* dv/dc = -1/c^2 = -v^2 */
}

static void draw_data(float *x, uint64_t rep) {
    for (int i = 0; i < B * D; i++)
        x[i] = (float)(mu_p[i % D] + sqrt(v_p) * rng_normal(1234, rng_stream(200, rep, 0), (uint64_t)i));
}

/* Mean and standard error over repetitions of a 3-component gradient estimate. */
struct estimate {
    double sum[D + 1], sum2[D + 1];
};

static void add(struct estimate *e, const double *g) {
    for (int k = 0; k <= D; k++) e->sum[k] += g[k], e->sum2[k] += g[k] * g[k];
}

static void check_against(const struct estimate *e, const double *want, const char *what) {
    for (int k = 0; k <= D; k++) {
        double mean = e->sum[k] / REPS, var = (e->sum2[k] / REPS - mean * mean) * REPS / (REPS - 1);
        double se = sqrt(var / REPS);
        fprintf(stderr, "%s: component %d: Monte Carlo %.5f +- %.5f, closed form %.5f\n", what, k, mean, se, want[k]);
        CHECK_MSG(fabs(mean - want[k]) <= 3 * se, "%s component %d off by %.2f standard errors", what, k,
                  fabs(mean - want[k]) / se);
        /* The check has power only if the error bars are small next to the gradient itself. */
        CHECK_MSG(se < 0.1 * fabs(want[k]), "%s component %d: standard error %.4f too large", what, k, se);
    }
}

/* Oracle for the oracle: exact draws from the Gaussian posterior q(x~ | y). */
static void exact_posterior(struct estimate *e) {
    double c = 1 / v0, prec = c + 1 / (sigma * sigma);
    float x[B * D];
    for (uint64_t rep = 0; rep < REPS; rep++) {
        draw_data(x, rep);
        double g[D + 1] = {0};
        for (int i = 0; i < B; i++) {
            double r2_data = 0, r2_neg = 0;
            for (int j = 0; j < D; j++) {
                uint64_t idx = (uint64_t)(i * D + j);
                double y = x[i * D + j] + sigma * rng_normal(99, rng_stream(201, rep, 0), idx);
                double mean = (c * mu0[j] + y / (sigma * sigma)) / prec;
                double xt = mean + rng_normal(99, rng_stream(202, rep, 0), idx) / sqrt(prec);
                double rd = x[i * D + j] - mu0[j], rn = xt - mu0[j];
                g[j] += (-c * rd + c * rn) / B; /* dE/dmu = -c (x - mu) */
                r2_data += rd * rd, r2_neg += rn * rn;
            }
            g[D] += 0.5 * (r2_data - r2_neg) / B; /* dE/dc = |x - mu|^2 / 2 */
        }
        add(e, g);
    }
}

static const char model_src[] =
    "param mu: [2] = zeros()\n"
    "param c: [1] = ones()\n"
    "energy(x: [B, 2]) {\n"
    "  return 0.5 * c * sum(square(x - mu), 1)\n"
    "}\n";

static void ebmc_mala(struct estimate *e, double *acceptance) {
    struct ebmc_model *m = ebmc_load_string(model_src, "gaussian.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return;
    char batch[16];
    snprintf(batch, sizeof batch, "%d", B);
    const char *settings[][2] = {{"objective", "dcd-ve"}, {"sampler", "mala"}, {"sigma", "0.5"}, {"alpha", "0"},
                                 {"batch", batch}, {"langevin_steps", "60"}, {"step_size", "0.05"}, {"threads", "2"}};
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++)
        CHECK(ebmc_set(m, settings[k][0], settings[k][1], stderr) == 0);
    CHECK(ebmc_compile(m, stderr) == 0);
    CHECK(ebmc_n_params(m) == 2);
    int i_mu = strcmp(ebmc_param_name(m, 0), "mu") == 0 ? 0 : 1, i_c = 1 - i_mu;
    for (int j = 0; j < D; j++) ebmc_param_data(m, i_mu)[j] = (float)mu0[j];
    ebmc_param_data(m, i_c)[0] = (float)(1 / v0);
    float *x = malloc(sizeof(float) * B * D);
    for (uint64_t rep = 0; rep < REPS; rep++) {
        double loss, g[D + 1];
        draw_data(x, rep);
        CHECK(ebmc_gradients(m, x, (int64_t)rep, &loss, stderr) == 0);
        for (int j = 0; j < D; j++) g[j] = ebmc_param_grad(m, i_mu)[j];
        g[D] = ebmc_param_grad(m, i_c)[0];
        add(e, g);
    }
    *acceptance = ebmc_acceptance(m);
    free(x);
    ebmc_free(m);
}

int main(void) {
    double want[D + 1];
    closed_form(want, sigma * sigma);

    struct estimate exact = {0};
    exact_posterior(&exact);
    check_against(&exact, want, "exact posterior");

    struct estimate mala = {0};
    double acceptance = 0;
    ebmc_mala(&mala, &acceptance);
    fprintf(stderr, "MALA acceptance rate: %.3f\n", acceptance);
    CHECK(acceptance > 0.3 && acceptance <= 1.0);
    check_against(&mala, want, "ebmc dcd-ve (MALA)");

    /* The limits of objectives.md: D -> 0 as sigma -> 0, D -> KL(p || q) as sigma -> infinity. */
    double g0[D + 1], ginf[D + 1], kl_m[D], kl_v;
    closed_form(g0, 1e-12);
    closed_form(ginf, 1e12);
    kl_grad(mu_p, v_p, mu0, v0, kl_m, &kl_v);
    for (int k = 0; k <= D; k++) CHECK_CLOSE(g0[k], 0.0, 1e-9, 0);
    for (int j = 0; j < D; j++) CHECK_CLOSE(ginf[j], kl_m[j], 1e-9, 1e-6);
    CHECK_CLOSE(ginf[D], -kl_v * v0 * v0, 1e-9, 1e-6);
    return test_report();
}
