/* The linearized one-step DCD draw, sampler = linearized (objectives.md):
 *
 *     x~ = y/a - (s^2/a^2) grad E(y/a) + (s/a) xi
 *
 * It is the exact posterior q(x~ | y) only when E is linear over the scale s/a. So:
 *
 * 1. Linear E(x) = w . x (the exact case; the parameter is called k in the model). The posterior is exactly N(y/a - t w, t I), t = s^2/a^2, and
 *    the DCD gradient of the surrogate is E_p[x] - E_y E_{x~|y}[x~] = t w. The linearized draw must
 *    match it within 3 standard errors, for VE and VP, and so must M MALA steps on the same posterior
 *    (an independent sampler of the same law).
 *
 * 2. Quadratic E(x) = c/2 |x - mu|^2 (not exact). grad E(y/a) = c (y/a - mu), so with z = y/a - mu ~
 *    N(mu_p - mu, (v_p + t) I) the draw is x~ - mu = (1 - c t) z + sqrt(t) xi, Gaussian, and the expected
 *    surrogate gradient has its own closed form:
 *        d/dmu: -c^2 t (mu_p - mu)                   (the exact posterior gives -c^2 t / (1 + c t) (mu_p - mu))
 *        d/dc:  |mu_p - mu|^2 / 2 + D v_p / 2 - (1 - c t)^2 |mu_p - mu|^2 / 2 - D ((1 - c t)^2 (v_p + t) + t) / 2
 *    The Monte-Carlo gradient must match that within 3 standard errors (and, for the record, it is far
 *    from grad D_K: the linearized draw overshoots the mean gradient by the factor 1 + c t). */
#include "gaussian.h"

#define REPS 40
#define REPS_QUADRATIC 160 /* the c component of the linearized gradient is small: more batches for power */

static void linearized_closed_form(double *g, double t) {
    double c = 1 / v0, ct = c * t, r2 = 0;
    for (int j = 0; j < D; j++) {
        g[j] = -c * c * t * (mu_p[j] - mu0[j]);
        r2 += (mu_p[j] - mu0[j]) * (mu_p[j] - mu0[j]);
    }
    g[D] = 0.5 * (r2 + D * v_p) - 0.5 * ((1 - ct) * (1 - ct) * r2 + D * ((1 - ct) * (1 - ct) * (v_p + t) + t));
}

static void quadratic(const char *objective, const char *knob, const char *value, double a, double s) {
    const char *const settings[][2] = {{"objective", objective}, {"sampler", "linearized"}, {knob, value}};
    double t = s * s / (a * a), want[NP], exact[NP];
    linearized_closed_form(want, t);
    kernel_grad(exact, a, s * s);
    /* The closed forms agree on the factor 1 + c t for the mean, as derived above. */
    for (int j = 0; j < D; j++) CHECK_CLOSE(want[j], exact[j] * (1 + t / v0), 1e-12, 1e-9);
    struct estimate e = {0};
    gaussian_run(settings, 3, REPS_QUADRATIC, &e);
    char what[128];
    snprintf(what, sizeof what, "%s linearized, quadratic E (%s = %s)", objective, knob, value);
    check_against(&e, want, what, 0.1, NULL);
    for (int k = 0; k < NP; k++)
        fprintf(stderr, "  component %d: grad D_K (exact posterior) would be %.6f: %.1f SE away\n", k, exact[k],
                fabs(est_mean(&e, k) - exact[k]) / est_se(&e, k));
    CHECK_MSG(fabs(est_mean(&e, 1) - exact[1]) > 3 * est_se(&e, 1),
              "the linearized draw should be measurably biased for quadratic E");
}

static const char linear_src[] =
    "param k: [2] = zeros()\n"
    "energy(x: [B, 2]) {\n"
    "  return sum(x * k, 1)\n"
    "}\n";
static const double w0[D] = {0.7, -0.4};

static void linear(const char *objective, const char *sampler, const char *knob, const char *value, double a,
                   double s) {
    const char *const settings[][2] = {
        {"objective", objective}, {"sampler", sampler}, {knob, value}, {"langevin_steps", "60"}, {"step_size", "0.1"}};
    struct ebmc_model *m = gaussian_model(linear_src, settings, 5);
    if (!m) return;
    CHECK(ebmc_n_params(m) == 1);
    for (int j = 0; j < D; j++) ebmc_param_data(m, 0)[j] = (float)w0[j];
    double t = s * s / (a * a), want[NP] = {t * w0[0], t * w0[1], 0};
    struct estimate e = {0};
    float *x = malloc(sizeof(float) * B * D);
    for (int rep = 0; rep < REPS; rep++) {
        double loss, g[NP] = {0};
        draw_data(x, (uint64_t)rep);
        CHECK(ebmc_gradients(m, x, rep, &loss, stderr) == 0);
        for (int j = 0; j < D; j++) g[j] = ebmc_param_grad(m, 0)[j];
        add(&e, g);
    }
    free(x);
    char what[128];
    snprintf(what, sizeof what, "%s %s, linear E (%s = %s)", objective, sampler, knob, value);
    for (int k = 0; k < D; k++) { /* component D is unused here */
        double mean = est_mean(&e, k), se = est_se(&e, k);
        fprintf(stderr, "%s: component %d: Monte Carlo %.6f +- %.6f, exact t w %.6f (%.2f SE)\n", what, k, mean, se,
                want[k], fabs(mean - want[k]) / se);
        CHECK_MSG(fabs(mean - want[k]) <= 3 * se, "%s component %d off by %.2f SE", what, k, fabs(mean - want[k]) / se);
        CHECK_MSG(se < 0.1 * fabs(want[k]), "%s component %d: standard error %.5f too large", what, k, se);
    }
    if (strcmp(sampler, "mala") == 0) {
        fprintf(stderr, "%s: MALA acceptance rate %.3f\n", what, ebmc_acceptance(m));
        CHECK(ebmc_acceptance(m) > 0.3);
    }
    ebmc_free(m);
}

int main(void) {
    double a_vp = sqrt(1 - 0.3), s_vp = sqrt(0.3);
    linear("dcd-ve", "linearized", "sigma", "0.5", 1, 0.5);
    linear("dcd-ve", "mala", "sigma", "0.5", 1, 0.5);
    linear("dcd-vp", "linearized", "beta", "0.3", a_vp, s_vp);
    linear("dcd-vp", "mala", "beta", "0.3", a_vp, s_vp);
    quadratic("dcd-ve", "sigma", "0.5", 1, 0.5);
    quadratic("dcd-vp", "beta", "0.3", a_vp, s_vp);
    return test_report();
}
