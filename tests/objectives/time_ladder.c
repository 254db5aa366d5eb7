/* The closed-form Gaussian check of objectives.md, level by level, for the time objectives: an energy
 * E(x, t) = c_t/2 |x - mu_t|^2 with its own (mu_t, c_t) per level, selected by a one-hot of t built
 * in the DSL (range, eq, @). A training step draws each row's level uniformly, diffuses the data to
 *
 *     p_t = N(mean_t mu_p, (mean_t^2 v_p + sd_t^2) I)
 *
 * and samples q(x~ | y, t) for y = a_t x_t + s_t eps by MALA. Only rows at level t reach (mu_t, c_t),
 * a fraction 1/L of them in expectation, so the Monte-Carlo gradient of level t's parameters must match
 * (1/L) grad D_t, with D_t the kernel divergence between p_t and q_t for the kernel (a_t, s_t), within
 * 3 standard errors (each below 10% of the level's largest gradient component), for every level of a VE and a VP ladder. The ladder's own numbers (config_ladder)
 * are checked against their definitions first. */
#include "config.h"
#include "gaussian.h"

#define L 3
#define REPS 150

static const char time_src[] =
    "param MU: [3, 2] = zeros()\n"
    "param C: [3, 1] = ones()\n"
    "energy(x: [B, 2], t: [B]) {\n"
    "  onehot = eq(reshape(t, [B, 1]), range(3))\n"
    "  return 0.5 * sum((onehot @ C) * square(x - onehot @ MU), 1)\n"
    "}\n";

/* Level t's model: mu_t = mu0 - 0.2 t (both coordinates), v_t = v0 (1 + t / 2). */
static double model_mu(int t, int j) { return mu0[j] - 0.2 * t; }
static double model_v(int t) { return v0 * (1 + 0.5 * t); }

static void check_ladder_numbers(void) {
    struct train_config c;
    config_defaults(&c);
    c.objective = OBJ_TIME_DCD_VE, c.levels = 4, c.sigma_min = 0.1, c.sigma_max = 0.8, c.level_step = 0.5;
    double sig[5] = {0, 0.1, 0.2, 0.4, 0.8}; /* geometric: ratio 2 */
    struct ladder_level l;
    for (int t = 0; t <= 4; t++) {
        CHECK(config_ladder(&c, t, &l) == 0);
        CHECK(l.a == 1 && l.mean == 1 && fabs(l.sd - sig[t]) < 1e-12);
        if (t < 4) CHECK(fabs(l.s * l.s - (sig[t + 1] * sig[t + 1] - sig[t] * sig[t])) < 1e-12);
        if (t < 4) CHECK(fabs(l.eta - 0.5 * l.s * l.s) < 1e-12);
    }
    CHECK(config_ladder(&c, 5, &l) == -1);
    c.objective = OBJ_TIME_DCD_VP, c.beta_min = 0.1, c.beta_max = 0.4;
    double mean = 1;
    for (int t = 0; t < 4; t++) {
        double beta = 0.1 + 0.1 * t;
        CHECK(config_ladder(&c, t, &l) == 0);
        CHECK(fabs(l.mean - mean) < 1e-12 && fabs(l.sd * l.sd + mean * mean - 1) < 1e-12);
        CHECK(fabs(l.a - sqrt(1 - beta)) < 1e-12 && fabs(l.s - sqrt(beta)) < 1e-12);
        mean *= sqrt(1 - beta);
    }
    c.objective = OBJ_DCD_VE;
    CHECK(config_ladder(&c, 0, &l) == -1);
}

static void check_objective(const char *objective, const char *const (*extra)[2], int n_extra) {
    const char *settings[8][2] = {{"objective", objective}, {"levels", "3"}, {"langevin_steps", "40"},
                                  {"level_step", "0.5"}};
    int n = 4;
    for (int k = 0; k < n_extra; k++) settings[n][0] = extra[k][0], settings[n][1] = extra[k][1], n++;
    struct ebmc_model *m = gaussian_model(time_src, (const char *const(*)[2])settings, n);
    if (!m) return;
    int i_mu = ebmc_find_param(m, "MU"), i_c = ebmc_find_param(m, "C");
    CHECK(i_mu >= 0 && i_c >= 0);
    for (int t = 0; t < L; t++) {
        for (int j = 0; j < D; j++) ebmc_param_data(m, i_mu)[t * D + j] = (float)model_mu(t, j);
        ebmc_param_data(m, i_c)[t] = (float)(1 / model_v(t));
    }
    struct estimate e[L];
    memset(e, 0, sizeof e);
    float *x = malloc(sizeof(float) * B * D);
    for (int rep = 0; rep < REPS; rep++) {
        double loss;
        draw_data(x, (uint64_t)rep);
        CHECK(ebmc_gradients(m, x, rep, &loss, stderr) == 0);
        for (int t = 0; t < L; t++) {
            double g[NP];
            for (int j = 0; j < D; j++) g[j] = ebmc_param_grad(m, i_mu)[t * D + j];
            g[D] = ebmc_param_grad(m, i_c)[t];
            add(&e[t], g);
        }
    }
    free(x);
    double acc = ebmc_acceptance(m);
    fprintf(stderr, "%s: MALA acceptance rate %.3f\n", objective, acc);
    CHECK(acc > 0.3 && acc <= 1.0);
    /* the model's own settings, as the runtime resolved them */
    struct train_config c;
    config_defaults(&c);
    for (int k = 0; k < n; k++) CHECK(config_set(&c, settings[k][0], settings[k][1], NULL, 0) == 0);
    for (int t = 0; t < L; t++) {
        struct ladder_level l;
        CHECK(config_ladder(&c, t, &l) == 0);
        double mp[D], mu[D], want[NP];
        for (int j = 0; j < D; j++) mp[j] = l.mean * mu_p[j], mu[j] = model_mu(t, j);
        kernel_grad_at(want, mp, l.mean * l.mean * v_p + l.sd * l.sd, mu, model_v(t), l.a, l.s * l.s);
        double scale = 0, ref[NP];
        for (int k = 0; k < NP; k++) want[k] /= L, scale = fmax(scale, fabs(want[k]));
        for (int k = 0; k < NP; k++) ref[k] = scale; /* power against the level's gradient, not each component */
        char what[64];
        snprintf(what, sizeof what, "%s level %d (a %.3f, s %.3f)", objective, t, l.a, l.s);
        check_against(&e[t], want, what, 0.1, ref);
    }
    ebmc_free(m);
}

int main(void) {
    check_ladder_numbers();
    static const char *const ve[][2] = {{"sigma_min", "0.2"}, {"sigma_max", "1.0"}};
    check_objective("time-dcd-ve", ve, 2);
    static const char *const vp[][2] = {{"beta_min", "0.05"}, {"beta_max", "0.5"}};
    check_objective("time-dcd-vp", vp, 2);
    return test_report();
}
