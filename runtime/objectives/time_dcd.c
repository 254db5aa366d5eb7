/* time_dcd.c: DCD on a noise ladder for a time-dependent energy E(x, t) (objectives.md, "Time-dependent
 * EBM"). Each batch row gets its own level, so one training step trains every level at once; the loss
 * program is the shared surrogate, fed the diffused data x_t and the posterior draws, both at their t:
 *
 *     grad D = E[grad E(x_t, t)] - E_y E_{x~ ~ q(. | y, t)}[grad E(x~, t)]
 */
#include "objective.h"

#include <stdlib.h>

#include "rng.h"

int time_dcd_negatives(struct rt_model *m, const struct train_config *c, float *x, float *xneg, float *y, float *t,
                       int64_t step, struct chain_stats *st) {
    int64_t b = m->batch, d = m->dim;
    float *row = malloc(sizeof(float) * 3 * (size_t)b); /* each chain's kernel a_t, s_t and step eta_t */
    if (!row) return -1;
    float *ra = row, *rs = row + b, *eta = row + 2 * b;
    uint64_t levels = rng_stream(TAG_LEVEL, (uint64_t)step, 0);
    rng_fill_normal(xneg, (size_t)(b * d), c->seed, rng_stream(TAG_KERNEL, (uint64_t)step, 1)); /* eps */
    rng_fill_normal(y, (size_t)(b * d), c->seed, rng_stream(TAG_KERNEL, (uint64_t)step, 2));    /* eps' */
    for (int64_t i = 0; i < b; i++) {
        int level = (int)(rng_uniform(c->seed, levels, (uint64_t)i) * c->levels);
        if (level >= c->levels) level = c->levels - 1;
        struct ladder_level l;
        config_ladder(c, level, &l);
        t[i] = t[b + i] = (float)level;
        ra[i] = (float)l.a, rs[i] = (float)l.s, eta[i] = (float)l.eta;
        for (int64_t j = i * d; j < (i + 1) * d; j++) {
            x[j] = (float)(l.mean * x[j] + l.sd * xneg[j]);
            y[j] = (float)(l.a * x[j] + l.s * y[j]);
            xneg[j] = (float)(y[j] / l.a);
        }
    }
    struct potential pot = {m, y, 1.0f, 1.0f, t, ra, rs};
    struct langevin lv = {config_sampler(c), c->langevin_steps, c->step_size, c->noise_scale, c->grad_clip, eta};
    int rc = langevin_run(&pot, xneg, &lv, c->seed, TAG_CHAIN, (uint64_t)step, st);
    free(row);
    return rc;
}
