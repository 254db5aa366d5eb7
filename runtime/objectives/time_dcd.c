/* time_dcd.c: the objectives of a time-dependent energy E(x, t) on a noise ladder (objectives.md,
 * "Time-dependent EBM"). Each batch row gets its own level t, so one step trains every level at once, and
 * its data row is diffused to x_t in closed form; the loss program is the shared surrogate on x_t and the
 * negatives, both at their t. They differ in the negatives only:
 *
 *     time-dcd-ve, time-dcd-vp   posterior draws x~ ~ q(. | y, t) for y = a_t x_t + s_t eps:
 *                                grad D = E[grad E(x_t, t)] - E_y E_{x~}[grad E(x~, t)]
 *     time-cd                    the CD baseline: annealed Langevin from noise, the level-L spread, down
 *                                the ladder to the row's own level (the model's q_t, approximately)
 */
#include "objective.h"

#include <stdlib.h>

#include "rng.h"

/* Draws each row's level into t[i] and t[b + i] and diffuses row i of x in place to x_t = mean_t x +
 * sd_t eps (eps from `noise`, overwritten); rows get their level's kernel and step in ra, rs, eta. */
static void diffuse(const struct train_config *c, int64_t b, int64_t d, float *x, float *noise, float *t, float *ra,
                    float *rs, float *eta, int64_t step) {
    uint64_t levels = rng_stream(TAG_LEVEL, (uint64_t)step, 0);
    rng_fill_normal(noise, (size_t)(b * d), c->seed, rng_stream(TAG_KERNEL, (uint64_t)step, 1));
    for (int64_t i = 0; i < b; i++) {
        int level = (int)(rng_uniform(c->seed, levels, (uint64_t)i) * c->levels);
        if (level >= c->levels) level = c->levels - 1;
        struct ladder_level l;
        config_ladder(c, level, &l);
        t[i] = t[b + i] = (float)level;
        ra[i] = (float)l.a, rs[i] = (float)l.s, eta[i] = (float)l.eta;
        for (int64_t j = i * d; j < (i + 1) * d; j++) x[j] = (float)(l.mean * x[j] + l.sd * noise[j]);
    }
}

/* time-cd: every chain starts at the top (box centre + sd_L eps) and runs langevin_steps steps on
 * E(x, l) at each level l = L-1 .. 0 down to its own level, where it stops (step size 0 below it). */
static int annealed_negatives(struct rt_model *m, const struct train_config *c, float *xneg, const float *t, float *tl,
                              float *eta, struct data_box box, int64_t step, struct chain_stats *st) {
    int64_t b = m->batch, d = m->dim;
    struct ladder_level top, l;
    config_ladder(c, c->levels, &top);
    float centre = 0.5f * (box.lo + box.hi);
    rng_fill_normal(xneg, (size_t)(b * d), c->seed, rng_stream(TAG_INIT_NOISE, (uint64_t)step, 0));
    for (int64_t j = 0; j < b * d; j++) xneg[j] = centre + (float)top.sd * xneg[j];
    for (int level = c->levels - 1; level >= 0; level--) {
        config_ladder(c, level, &l);
        for (int64_t i = 0; i < b; i++) tl[i] = (float)level, eta[i] = t[i] <= level ? (float)l.eta : 0.0f;
        struct potential pot = {.model = m, .a = 1, .s = 1, .t = tl};
        struct langevin lv = {.kind = config_sampler(c), .steps = c->langevin_steps, .step_size = l.eta,
                              .noise_scale = c->noise_scale, .grad_clip = c->grad_clip, .row_eta = eta};
        if (langevin_run(&pot, xneg, &lv, c->seed, TAG_CHAIN, (uint64_t)step * (uint64_t)(c->levels + 1) + (uint64_t)level,
                         st) != 0)
            return -1;
    }
    return 0;
}

int time_negatives(struct rt_model *m, const struct train_config *c, float *x, float *xneg, float *y, float *t,
                   struct data_box box, int64_t step, struct chain_stats *st) {
    int64_t b = m->batch, d = m->dim;
    float *row = malloc(sizeof(float) * 3 * (size_t)b); /* each chain's kernel a_t, s_t and step eta_t */
    if (!row) return -1;
    float *ra = row, *rs = row + b, *eta = row + 2 * b;
    diffuse(c, b, d, x, xneg, t, ra, rs, eta, step);
    int rc;
    if (c->objective == OBJ_TIME_CD) {
        rc = annealed_negatives(m, c, xneg, t, ra, eta, box, step, st); /* ra: scratch for the chain levels */
    } else { /* y = a_t x_t + s_t eps'; the chains sample q(x~ | y, t), started at y / a_t */
        rng_fill_normal(y, (size_t)(b * d), c->seed, rng_stream(TAG_KERNEL, (uint64_t)step, 2));
        for (int64_t i = 0; i < b; i++)
            for (int64_t j = i * d; j < (i + 1) * d; j++) {
                y[j] = ra[i] * x[j] + rs[i] * y[j];
                xneg[j] = y[j] / ra[i];
            }
        struct potential pot = {.model = m, .y = y, .a = 1, .s = 1, .t = t, .row_a = ra, .row_s = rs};
        struct langevin lv = {.kind = config_sampler(c), .steps = c->langevin_steps, .step_size = c->step_size,
                              .noise_scale = c->noise_scale, .grad_clip = c->grad_clip, .row_eta = eta};
        rc = langevin_run(&pot, xneg, &lv, c->seed, TAG_CHAIN, (uint64_t)step, st);
    }
    free(row);
    return rc;
}
