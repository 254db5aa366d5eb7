/* The limits of objectives.md for DCD-VE: D_K -> 0 as sigma -> 0 and D_K -> KL(p || q) as sigma -> inf,
 * checked on ebmc's Monte-Carlo gradient (dcd-ve, MALA on U_y), not only on the closed form.
 *
 * Small sigma (0.02): the posterior q(x~ | y) is N(mean, 1/(c + 1/sigma^2)) with mean within ~c sigma^2
 * of y, width ~sigma. MALA with eta = sigma^2 (eta times the posterior precision ~ 1) contracts by
 * ~1/2 per step; 30 steps from y mix. The gradient must be ~0: within 3 SE of the (tiny) closed form,
 * and with a standard error below 1% of grad KL(p || q), so "~0" is measured against the scale of the
 * gradient at large sigma, not against its own noise.
 *
 * Large sigma (30): the kernel term |y - x~|^2 / (2 sigma^2) has curvature 1/900, negligible next to
 * c = 1.25, so the posterior is (nearly) q itself: a Gaussian that MALA with eta = 0.5 mixes on
 * (contraction ~0.69 per step). The chains start at y, O(sigma sqrt(D)) ~ 42 away from q's mass; MALA
 * accepts every inward move on a Gaussian target (log acceptance = (|x|^2 - |x'|^2) eta c^2 / 8 for a
 * centred Gaussian) and needs ~log(42 / 1e-3) / 0.37 ~ 30 steps to arrive, so 150 steps mix. The
 * gradient must match grad D_K (within 0.1% of grad KL here) within 3 SE. */
#include "gaussian.h"

#define REPS 40

int main(void) {
    double kl[NP], g_small[NP], g_large[NP];
    kl_pq_grad(kl);
    kernel_grad(g_small, 1, 0.02 * 0.02);
    kernel_grad(g_large, 1, 30.0 * 30.0);
    /* The closed forms themselves: ~0 at sigma = 0.02, ~grad KL at sigma = 30. */
    for (int k = 0; k < NP; k++) {
        CHECK_MSG(fabs(g_small[k]) < 1e-3 * fabs(kl[k]), "closed form at sigma 0.02: %g vs KL %g", g_small[k], kl[k]);
        CHECK_MSG(fabs(g_large[k] - kl[k]) < 2e-3 * fabs(kl[k]), "closed form at sigma 30: %g vs KL %g", g_large[k],
                  kl[k]);
    }

    static const char *const small[][2] = {{"objective", "dcd-ve"},  {"sampler", "mala"},      {"sigma", "0.02"},
                                           {"langevin_steps", "30"}, {"step_size", "0.0004"}};
    struct estimate e = {0};
    double acc = gaussian_run(small, 5, REPS, &e);
    fprintf(stderr, "dcd-ve sigma = 0.02: MALA acceptance rate %.3f\n", acc);
    CHECK(acc > 0.3 && acc <= 1.0);
    check_against(&e, g_small, "dcd-ve sigma = 0.02 (-> 0)", 0.01, kl);
    for (int k = 0; k < NP; k++)
        fprintf(stderr, "  component %d: |MC| = %.6f is %.4f of |grad KL| = %.4f\n", k, fabs(est_mean(&e, k)),
                fabs(est_mean(&e, k)) / fabs(kl[k]), fabs(kl[k]));

    static const char *const large[][2] = {{"objective", "dcd-ve"},   {"sampler", "mala"},  {"sigma", "30"},
                                           {"langevin_steps", "150"}, {"step_size", "0.5"}};
    struct estimate l = {0};
    acc = gaussian_run(large, 5, REPS, &l);
    fprintf(stderr, "dcd-ve sigma = 30: MALA acceptance rate %.3f\n", acc);
    CHECK(acc > 0.5 && acc <= 1.0);
    check_against(&l, g_large, "dcd-ve sigma = 30 (-> grad KL)", 0.1, NULL);
    for (int k = 0; k < NP; k++) {
        fprintf(stderr, "  component %d: MC %.6f vs grad KL(p||q) %.6f (%.2f SE)\n", k, est_mean(&l, k), kl[k],
                fabs(est_mean(&l, k) - kl[k]) / est_se(&l, k));
        CHECK(fabs(est_mean(&l, k) - kl[k]) <= 3 * est_se(&l, k) + fabs(g_large[k] - kl[k]));
    }
    return test_report();
}
