/* sampler.h: Langevin samplers (ULA and MALA) on a potential
 *
 *     U(x) = E(x) + |y - a x|^2 / (2 s^2)      (the Gaussian term only when y is given)
 *
 * which is the model energy for CD and the DCD posterior q(x | y) otherwise (objectives.md). Every
 * call advances model->batch independent chains, one per row of x. */
#ifndef EBMC_SAMPLER_H
#define EBMC_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

/* The box [lo, hi]^D every data value lies in: where chains from noise start. */
struct data_box {
    float lo, hi;
};
/* The point of the box at u in [0, 1): centre + (2u - 1) half-width (for a box centred at 0, exactly
 * (2u - 1) half, as the 2-D runs have always drawn it). */
static inline float box_point(struct data_box b, double u) {
    float half = 0.5f * (b.hi - b.lo), centre = 0.5f * (b.hi + b.lo);
    return (float)((2 * u - 1) * half) + centre;
}
/* out[i] = uniform noise over the box, from (seed, stream) (rng_fill_uniform); _at: from index first on. */
void box_uniform(float *out, size_t n, struct data_box b, uint64_t seed, uint64_t stream);
void box_uniform_at(float *out, size_t n, struct data_box b, uint64_t seed, uint64_t stream, uint64_t first);

struct potential {
    struct rt_model *model;
    const float *y; /* [B, D] observations, or NULL for U = E */
    float a, s;     /* kernel y = a x + s eps */
    int64_t row0;   /* the global row of chain 0: chain i draws the noise of row row0 + i (a rank of a
                       data-parallel job holds rows row0 .. row0 + B - 1 of the global batch; 0 alone) */
    /* A time-dependent energy: t[B] the chains' levels (NULL: level 0), and each chain's own kernel
     * row_a[B], row_s[B] in place of a, s (NULL: a, s). */
    const float *t, *row_a, *row_s;
};

struct langevin {
    enum sampler_kind kind; /* SAMPLER_ULA or SAMPLER_MALA (langevin_run); SAMPLER_LINEARIZED: linearized_draw */
    int steps;
    double step_size;   /* eta */
    double noise_scale; /* tau: proposal x' = x - eta/2 grad U + tau sqrt(eta) xi */
    double grad_clip;   /* 0 = off */
    const float *row_eta; /* [B]: each chain's own step size in place of step_size (NULL: step_size) */
    double *sum;          /* [B, D], or NULL: the states after steps sum_from .. steps-1 are added to it (a
                             posterior mean over the chain's tail costs no extra evaluation) */
    int sum_from;
};

struct chain_stats {
    long proposed, accepted; /* MALA proposals; acceptance rate = accepted / proposed */
};

/* u[B] = U(x), grad[B*D] = dU/dx (before clipping). */
void potential_eval(const struct potential *pot, const float *x, float *u, float *grad);

/* Runs the chains in x (updated in place). Noise for step j comes from stream rng_stream(tag, step, j)
 * under `seed`, so a run is a function of its arguments only. Returns 0, or -1 on out of memory. */
int langevin_run(const struct potential *pot, float *x, const struct langevin *opt, uint64_t seed, uint32_t tag,
                 uint64_t step, struct chain_stats *stats);

/* The linearized one-step draw from the DCD posterior q(x | y) (objectives.md): with x0 = y / a,
 *
 *     x = x0 - (s^2 / a^2) clip(grad E(x0)) + tau (s / a) xi,       xi ~ N(0, I) from rng_stream(tag, step, 0)
 *
 * the exact posterior when E is linear over the scale s / a (tau = 1, no clipping). One gradient
 * evaluation. pot->y must be set. Writes x[B, D]. Returns 0, or -1 on out of memory. */
int linearized_draw(const struct potential *pot, float *x, const struct langevin *opt, uint64_t seed, uint32_t tag,
                    uint64_t step);


/* Model samples: n points (n * D floats) from `steps` MALA steps on E with step size c->step_size,
 * started from uniform noise over the box (start NULL) or at start[n * D], keyed by c->seed. Runs in
 * chunks of the model's batch. A time objective's samples from noise are annealed_samples() instead
 * (`steps` per level); from start, they are MALA on E(x, 0) with level 0's step. Returns 0, or -1 on out of memory. */
int model_samples(struct rt_model *m, const struct train_config *c, int steps, struct data_box box, const float *start,
                  float *out, size_t n);

/* Annealed generation on the ladder of a time objective (objectives.md): x_L = box centre + sd_L eps
 * (VE; for VP, N(0, I)), then anneal_down from level L. Chunks as model_samples, keyed by (c->seed,
 * chunk). Returns 0, or -1 on out of memory. */
int annealed_samples(struct rt_model *m, const struct train_config *c, int steps, struct data_box box, float *out,
                     size_t n);

/* Annealing down the ladder: x holds the model's batch of chains at level `from` (draws of x_from); for
 * t = from-1 .. 0, `steps` MALA steps (step size eta_t of config_ladder) on
 * U(x) = E(x, t) + |x_{t+1} - a_t x|^2 / (2 s_t^2) started at x_{t+1} / a_t, with the noise of
 * rng_stream(tag, chunk * (L + 1) + t, .). x ends as x_0; level 0's states after step steps / 2 are added
 * to sum0 unless it is NULL. Returns 0, or -1 on out of memory. */
int anneal_down(struct rt_model *m, const struct train_config *c, int from, int steps, float *x, double *sum0,
                uint64_t seed, uint32_t tag, uint64_t chunk, struct chain_stats *st);

#endif
