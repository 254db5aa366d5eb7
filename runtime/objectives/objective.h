/* objective.h: the negatives of one training step, for each objective of objectives.md.
 *
 * Every objective shares the one surrogate-loss program (train.h); the objectives differ only in the
 * function here that fills the negative half of the batch:
 *
 *     cd      k sampler steps on E, started at the data batch
 *     sr-cd   k sampler steps on E, started from uniform noise over the data box
 *     pcd     k sampler steps on E, started from B distinct chains of a persistent replay buffer, each
 *             first reset to uniform noise with probability rho; the end points are written back
 *     dcd-ve  y = x + sigma eps; M sampler steps on U_y(x) = E(x) + |y - x|^2 / (2 sigma^2), started at y
 *     dcd-vp  y = a x + s eps, a = sqrt(1 - beta), s = sqrt(beta); M steps on U_y(x) = E(x) +
 *             |y - a x|^2 / (2 s^2), started at y / a
 *
 * with the sampler config_sampler() names: ULA, MALA, or (DCD only) the linearized one-step draw. Every
 * random number comes from the counter-based RNG keyed by (seed, step, purpose), so the negatives are a
 * function of the settings, the parameters, the data batch, the step and (PCD) the buffer, whatever the
 * thread count. */
#ifndef EBMC_OBJECTIVE_H
#define EBMC_OBJECTIVE_H

#include <stdint.h>

#include "config.h"
#include "model.h"
#include "sampler.h"


/* PCD's persistent chains. Step t takes B distinct chains chosen uniformly at random (a pure function
 * of (seed, t)), resets each to uniform noise over the data box with probability reinit_prob, runs the
 * sampler and writes the end points back. The buffer is all the state an objective carries from one
 * step to the next: a checkpoint that must resume a PCD run bitwise has to save x[0 .. n*D). */
struct replay_buffer {
    float *x;       /* [n, D] chain states; NULL until the first PCD step fills it with uniform noise */
    int64_t n;      /* chains (buffer_size) */
    int64_t *index; /* [n] scratch; entries 0..B-1 are the chains of the last step, in batch order */
    int64_t taken;  /* chains taken so far, over all steps */
    int64_t resets; /* of which reset to noise */
};

/* Allocates and fills the buffer with uniform noise over the data box (stream TAG_PCD_INIT).
 * Returns 0, or -1 on out of memory. */
int replay_buffer_init(struct replay_buffer *rb, int64_t n, int dim, struct data_box box, uint64_t seed);
void replay_buffer_free(struct replay_buffer *rb);

/* Writes the negatives of the data batch x[B, D] to xneg[B, D] for the objective of c. y[B, D] is
 * scratch for the DCD observations (left holding them); pcd is the replay buffer (filled on first use);
 * st accumulates MALA statistics (may be NULL). Returns 0, or -1 on out of memory or a setting that
 * config_check() rejects. */
int objective_negatives(struct rt_model *m, const struct train_config *c, const float *x, float *xneg, float *y,
                        struct replay_buffer *pcd, struct data_box box, int64_t step, struct chain_stats *st);

/* The time objectives (time_dcd.c): for each row i a level t_i uniform on 0 .. L-1 and the data row
 * diffused in place to x_t = mean_t x + sd_t eps. time-dcd-*: y = a_t x_t + s_t eps', and M sampler
 * steps (step size eta_t) on U_y(x~) = E(x~, t) + |y - a_t x~|^2 / (2 s_t^2) started at y / a_t into
 * xneg. time-cd: annealed chains from noise over the box's centre down to each row's level. t[2B] gets
 * the levels of the data rows and, the same, of the negatives. y[B, D] is scratch. Returns 0, or -1 on
 * out of memory. */
int time_negatives(struct rt_model *m, const struct train_config *c, float *x, float *xneg, float *y, float *t,
                   struct data_box box, int64_t step, struct chain_stats *st);

#endif
