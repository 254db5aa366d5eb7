/* DCD-VP against its closed form (objectives.md, "Checks that must hold").
 *
 * Kernel y = a x + s eps with a = sqrt(1 - beta), s = sqrt(beta). Then
 *     Kp = N(a mu_p, (a^2 v_p + s^2) I),   Kq = N(a mu, (a^2 v + s^2) I),
 * and the posterior q(x~ | y) ∝ exp(-c/2 |x~ - mu|^2 - |y - a x~|^2 / (2 s^2)) is Gaussian with precision
 * c + a^2/s^2 and mean (c mu + a y / s^2) / (c + a^2/s^2). The Monte-Carlo gradient of the surrogate must
 * match grad D_K within 3 standard errors: with exact posterior draws (checks the formula and this
 * test's algebra) and with ebmc's dcd-vp (y drawn by the runtime, M MALA steps on U_y started at y/a). */
#include "gaussian.h"

#define REPS 40
static const double beta = 0.3;

static void exact_posterior(struct estimate *e, double a, double s) {
    double c = 1 / v0, prec = c + a * a / (s * s);
    float x[B * D];
    for (uint64_t rep = 0; rep < REPS; rep++) {
        draw_data(x, rep);
        double g[NP] = {0};
        for (int i = 0; i < B; i++) {
            double r2_data = 0, r2_neg = 0;
            for (int j = 0; j < D; j++) {
                uint64_t idx = (uint64_t)(i * D + j);
                double y = a * x[i * D + j] + s * rng_normal(99, rng_stream(201, rep, 0), idx);
                double mean = (c * mu0[j] + a * y / (s * s)) / prec;
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

int main(void) {
    double a = sqrt(1 - beta), s = sqrt(beta), want[NP], ve[NP];
    kernel_grad(want, a, s * s);
    /* KL is invariant under x -> a x, so VP with (a, s) is VE with sigma = s/a: a check of the algebra. */
    kernel_grad(ve, 1, s * s / (a * a));
    for (int k = 0; k < NP; k++) CHECK_CLOSE(want[k], ve[k], 1e-12, 1e-9);

    struct estimate exact = {0};
    exact_posterior(&exact, a, s);
    check_against(&exact, want, "dcd-vp exact posterior", 0.1, NULL);

    static const char *const settings[][2] = {{"objective", "dcd-vp"}, {"sampler", "mala"}, {"beta", "0.3"},
                                              {"langevin_steps", "60"},  {"step_size", "0.1"}};
    struct estimate mala = {0};
    double acc = gaussian_run(settings, 5, REPS, &mala);
    fprintf(stderr, "dcd-vp (beta %.2f: a %.4f, s %.4f) MALA acceptance rate: %.3f\n", beta, a, s, acc);
    CHECK(acc > 0.3 && acc <= 1.0);
    check_against(&mala, want, "ebmc dcd-vp (MALA, M = 60)", 0.1, NULL);
    return test_report();
}
