/* objective.c: the negatives of one training step per objective (objective.h). Nothing else differs
 * between objectives: the loss program that consumes these negatives is the same for all of them. */
#include "objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* PCD: copies B distinct chains into xneg (a partial Fisher-Yates shuffle of the identity, so the
 * choice depends on (seed, step) only) and resets each to noise with probability rho. */
static void pcd_take(struct replay_buffer *rb, const struct train_config *c, int64_t b, int64_t d, float *xneg,
                     struct data_box box, int64_t step) {
    uint64_t pick = rng_stream(TAG_PCD_PICK, (uint64_t)step, 0);
    uint64_t coin = rng_stream(TAG_PCD_RESET, (uint64_t)step, 0), fresh = rng_stream(TAG_PCD_RESET, (uint64_t)step, 1);
    for (int64_t i = 0; i < rb->n; i++) rb->index[i] = i;
    for (int64_t i = 0; i < b; i++) {
        int64_t j = i + (int64_t)(rng_uniform(c->seed, pick, (uint64_t)i) * (double)(rb->n - i));
        if (j >= rb->n) j = rb->n - 1;
        int64_t t = rb->index[i];
        rb->index[i] = rb->index[j], rb->index[j] = t;
    }
    for (int64_t i = 0; i < b; i++) {
        float *row = xneg + i * d;
        if (rng_uniform(c->seed, coin, (uint64_t)i) < c->reinit_prob) {
            for (int64_t k = 0; k < d; k++)
                row[k] = box_point(box, rng_uniform(c->seed, fresh, (uint64_t)(i * d + k)));
            rb->resets++;
        } else {
            memcpy(row, rb->x + rb->index[i] * d, sizeof(float) * (size_t)d);
        }
    }
    rb->taken += b;
}

int objective_negatives(struct rt_model *m, const struct train_config *c, const float *x, float *xneg, float *y,
                        struct replay_buffer *pcd, struct data_box box, int64_t step, struct chain_stats *st) {
    int64_t b = m->batch, d = m->dim;
    size_t n = (size_t)(b * d);
    enum sampler_kind kind = config_sampler(c);
    struct langevin lv = {.kind = kind, .steps = c->langevin_steps, .step_size = c->step_size,
                         .noise_scale = c->noise_scale, .grad_clip = c->grad_clip};
    struct potential pot = {.model = m, .a = 1.0f, .s = 1.0f};
    double a, s;
    char err[256];
    if (config_check(c, err, sizeof err) != 0) return -1;
    switch (c->objective) {
    case OBJ_CD: /* CD-k: chains start at the data */
        memcpy(xneg, x, n * sizeof(float));
        break;
    case OBJ_SR_CD: /* short-run CD: chains start from uniform noise over the data box */
        box_uniform(xneg, n, box, c->seed, rng_stream(TAG_INIT_NOISE, (uint64_t)step, 0));
        break;
    case OBJ_PCD: /* persistent chains from the replay buffer, some reset to noise */
        if (!pcd->x && replay_buffer_init(pcd, c->buffer_size, (int)d, box, c->seed) != 0) return -1;
        if (pcd->n < b) return -1;
        pcd_take(pcd, c, b, d, xneg, box, step);
        break;
    case OBJ_DCD_VE:
    case OBJ_DCD_VP: /* y = a x + s eps; the chains sample q(x | y), started at y / a */
        config_kernel(c, &a, &s);
        rng_fill_normal(y, n, c->seed, rng_stream(TAG_KERNEL, (uint64_t)step, 0));
        for (size_t i = 0; i < n; i++) y[i] = (float)(a * x[i] + s * y[i]);
        pot.y = y, pot.a = (float)a, pot.s = (float)s;
        if (kind == SAMPLER_LINEARIZED) return linearized_draw(&pot, xneg, &lv, c->seed, TAG_LINEARIZED, (uint64_t)step);
        for (size_t i = 0; i < n; i++) xneg[i] = (float)(y[i] / a);
        break;
    default: return -1;
    }
    if (langevin_run(&pot, xneg, &lv, c->seed, TAG_CHAIN, (uint64_t)step, st) != 0) return -1;
    if (c->objective == OBJ_PCD) /* write the end points back */
        for (int64_t i = 0; i < b; i++) memcpy(pcd->x + pcd->index[i] * d, xneg + i * d, sizeof(float) * (size_t)d);
    return 0;
}
