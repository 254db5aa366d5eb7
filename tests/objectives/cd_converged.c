/* CD with chains long enough to converge (objectives.md, "Checks that must hold").
 *
 * CD-k starts its chains at the data batch. With MALA, which leaves q_theta exactly invariant, and
 * enough steps to forget the start, the negatives are draws from q_theta, so the surrogate's expected
 * gradient is E_p[grad E] - E_q[grad E] = grad KL(p || q_theta), closed-form for the Gaussian model.
 *
 * Mixing: q = N(mu, v I) with v = 0.8 (c = 1.25). MALA with eta = 0.5 contracts the distance to the
 * stationary law by about (1 - eta c / 2) = 0.69 per accepted step, so 100 steps shrink the initial
 * offset (the data's mean and spread, O(1)) by ~1e-16: far below the Monte-Carlo error.
 *
 * The negative control shows the check has power to detect chains that have not converged: CD-2 with a
 * tiny step leaves the negatives at the data, its gradient is ~0 and must be many SE from grad KL. */
#include "gaussian.h"

#define REPS 40

int main(void) {
    double want[NP];
    kl_pq_grad(want);

    static const char *const converged[][2] = {
        {"objective", "cd"}, {"sampler", "mala"}, {"langevin_steps", "100"}, {"step_size", "0.5"}};
    struct estimate e = {0};
    double acc = gaussian_run(converged, 4, REPS, &e);
    fprintf(stderr, "cd, MALA, k = 100, eta = 0.5: acceptance rate %.3f\n", acc);
    CHECK(acc > 0.5 && acc <= 1.0);
    check_against(&e, want, "cd (MALA, k = 100) vs grad KL(p||q)", 0.1, NULL);

    static const char *const short_run[][2] = {
        {"objective", "cd"}, {"sampler", "mala"}, {"langevin_steps", "2"}, {"step_size", "0.001"}};
    struct estimate s = {0};
    acc = gaussian_run(short_run, 4, REPS, &s);
    double worst = 0;
    for (int k = 0; k < NP; k++) {
        double z = fabs(est_mean(&s, k) - want[k]) / est_se(&s, k);
        fprintf(stderr, "negative control cd (MALA, k = 2, eta = 0.001): component %d: %.6f +- %.6f vs grad KL %.6f "
                        "(%.1f SE)\n", k, est_mean(&s, k), est_se(&s, k), want[k], z);
        if (z > worst) worst = z;
    }
    fprintf(stderr, "negative control acceptance rate %.3f\n", acc);
    CHECK_MSG(worst > 10, "unconverged CD-2 is only %.1f SE from grad KL: the check would not notice", worst);
    return test_report();
}
