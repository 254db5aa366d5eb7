/* objective.c: the negatives of one training step per objective (objective.h). Nothing else differs
 * between objectives: the loss program that consumes these negatives is the same for all of them. */
#include "objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "rng.h"

int replay_buffer_init(struct replay_buffer *rb, int64_t n, int dim, struct data_box box, uint64_t seed) {
    replay_buffer_free(rb);
    rb->x = malloc(sizeof(float) * (size_t)n * (size_t)dim);
    rb->index = malloc(sizeof(int64_t) * (size_t)n);
    if (!rb->x || !rb->index) {
        replay_buffer_free(rb);
        return -1;
    }
    rb->n = n;
    box_uniform(rb->x, (size_t)n * (size_t)dim, box, seed, rng_stream(TAG_PCD_INIT, 0, 0));
    return 0;
}

void replay_buffer_free(struct replay_buffer *rb) {
    free(rb->x), free(rb->index);
    memset(rb, 0, sizeof *rb);
}

/* PCD: picks B distinct chains of the global batch (a partial Fisher-Yates shuffle of the identity, so
 * the choice depends on (seed, step) only), resets each to noise with probability rho, and copies rows
 * row0 .. row0 + b - 1 of them into xneg: every rank of a job picks the same B chains and takes its own. */
static void pcd_take(struct replay_buffer *rb, const struct train_config *c, int64_t row0, int64_t b, int64_t big_b,
                     int64_t d, float *xneg, struct data_box box, int64_t step) {
    uint64_t pick = rng_stream(TAG_PCD_PICK, (uint64_t)step, 0);
    uint64_t coin = rng_stream(TAG_PCD_RESET, (uint64_t)step, 0), fresh = rng_stream(TAG_PCD_RESET, (uint64_t)step, 1);
    for (int64_t i = 0; i < rb->n; i++) rb->index[i] = i;
    for (int64_t i = 0; i < big_b; i++) {
        int64_t j = i + (int64_t)(rng_uniform(c->seed, pick, (uint64_t)i) * (double)(rb->n - i));
        if (j >= rb->n) j = rb->n - 1;
        int64_t t = rb->index[i];
        rb->index[i] = rb->index[j], rb->index[j] = t;
    }
    for (int64_t i = 0; i < big_b; i++) {
        int reset = rng_uniform(c->seed, coin, (uint64_t)i) < c->reinit_prob, mine = i >= row0 && i < row0 + b;
        rb->resets += reset;
        if (!mine) continue;
        float *row = xneg + (i - row0) * d;
        if (reset) {
            for (int64_t k = 0; k < d; k++)
                row[k] = box_point(box, rng_uniform(c->seed, fresh, (uint64_t)(i * d + k)));
        } else {
            memcpy(row, rb->x + rb->index[i] * d, sizeof(float) * (size_t)d);
        }
    }
    rb->taken += big_b;
}

/* PCD: the end points of the step's B chains back into the buffer. With ranks, each holds b of them:
 * gathered first, so every rank's buffer stays the whole, identical one. */
static int pcd_put(struct replay_buffer *rb, const float *xneg, int64_t b, int64_t big_b, int64_t d) {
    const float *all = xneg;
    float *gathered = NULL;
    if (big_b > b) {
        if (!(gathered = malloc(sizeof(float) * (size_t)(big_b * d)))) return -1;
        parallel_gather_floats(xneg, gathered, b * d);
        all = gathered;
    }
    for (int64_t i = 0; i < big_b; i++) memcpy(rb->x + rb->index[i] * d, all + i * d, sizeof(float) * (size_t)d);
    free(gathered);
    return 0;
}

int objective_negatives(struct rt_model *m, const struct train_config *c, const float *x, float *xneg, float *y,
                        struct replay_buffer *pcd, struct data_box box, int64_t step, struct chain_stats *st) {
    /* this rank's b rows of the global batch of B, from row0 on (the noise of those rows, sampler.h) */
    int64_t b = m->batch, d = m->dim, big_b = b * (m->nranks > 1 ? m->nranks : 1), row0 = b * m->rank;
    size_t n = (size_t)(b * d);
    uint64_t first = (uint64_t)(row0 * d);
    enum sampler_kind kind = config_sampler(c);
    struct langevin lv = {.kind = kind, .steps = c->langevin_steps, .step_size = c->step_size,
                         .noise_scale = c->noise_scale, .grad_clip = c->grad_clip};
    struct potential pot = {.model = m, .a = 1.0f, .s = 1.0f, .row0 = row0};
    double a, s;
    char err[256];
    if (config_check(c, err, sizeof err) != 0) return -1;
    switch (c->objective) {
    case OBJ_CD: /* CD-k: chains start at the data */
        memcpy(xneg, x, n * sizeof(float));
        break;
    case OBJ_SR_CD: /* short-run CD: chains start from uniform noise over the data box */
        box_uniform_at(xneg, n, box, c->seed, rng_stream(TAG_INIT_NOISE, (uint64_t)step, 0), first);
        break;
    case OBJ_PCD: /* persistent chains from the replay buffer, some reset to noise */
        if (!pcd->x && replay_buffer_init(pcd, c->buffer_size, (int)d, box, c->seed) != 0) return -1;
        if (pcd->n < big_b) return -1;
        pcd_take(pcd, c, row0, b, big_b, d, xneg, box, step);
        break;
    case OBJ_DCD_VE:
    case OBJ_DCD_VP: /* y = a x + s eps; the chains sample q(x | y), started at y / a */
        config_kernel(c, &a, &s);
        rng_fill_normal_at(y, n, c->seed, rng_stream(TAG_KERNEL, (uint64_t)step, 0), first);
        for (size_t i = 0; i < n; i++) y[i] = (float)(a * x[i] + s * y[i]);
        pot.y = y, pot.a = (float)a, pot.s = (float)s;
        if (kind == SAMPLER_LINEARIZED) return linearized_draw(&pot, xneg, &lv, c->seed, TAG_LINEARIZED, (uint64_t)step);
        for (size_t i = 0; i < n; i++) xneg[i] = (float)(y[i] / a);
        break;
    default: return -1;
    }
    if (langevin_run(&pot, xneg, &lv, c->seed, TAG_CHAIN, (uint64_t)step, st) != 0) return -1;
    return c->objective == OBJ_PCD ? pcd_put(pcd, xneg, b, big_b, d) : 0;
}
