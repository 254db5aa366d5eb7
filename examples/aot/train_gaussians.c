/* train_gaussians.c: trains an energy-based model on a mixture of eight Gaussians with nothing but a
 * model compiled ahead of time and the small runner library: no LLVM, no ebmc runtime.
 *
 *     build/ebmc compile models/8gaussians.ebm -o model.o --header model.h --name model --set batch=256
 *     cc -O2 -Iinclude -I. examples/aot/train_gaussians.c model.o build/backend/libebmc_run.a \
 *        -fopenmp -lm -o train_gaussians
 *     ./train_gaussians 1000
 *
 * Each step: a batch of data; negatives by contrastive divergence (10 unadjusted Langevin steps from the
 * data, driven by the compiled sampler program's dE/dx); the compiled training program's loss and
 * parameter gradients; an Adam update. At the end it compares the mean energy of data with that of
 * uniform noise over the data box: a model that learned anything gives data the lower energy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc_aot.h"

#ifndef MODEL_HEADER
#define MODEL_HEADER "model.h"
#define MODEL model
#endif
#include MODEL_HEADER

#define GLUE(a, b) a##b
#define SYMBOL(model, program) GLUE(model, program)
#define ENERGY SYMBOL(MODEL, _energy)
#define SAMPLER SYMBOL(MODEL, _sampler)
#define TRAIN SYMBOL(MODEL, _train)

enum { LANGEVIN_STEPS = 10 };
static const float STEP_SIZE = 0.01f, LR = 1e-3f;

static uint64_t rng_state = 42;
static float uniform(void) { /* [0, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 40) / 16777216.0);
}
static float normal(void) { return sqrtf(-2 * logf(1 - uniform())) * cosf(6.2831853f * uniform()); }

static int64_t numel(const struct ebmc_aot_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* The model's parameters: every argument of the training program but its inputs (names "in:..."). */
struct param {
    const char *name;
    int64_t n;
    float *value, *grad, *m, *v;
};

static void data_batch(float *x, int n) { /* eight Gaussians on a circle of radius 2.8, sd 0.2 */
    for (int i = 0; i < n; i++) {
        float angle = 0.7853982f * (float)(int)(8 * uniform());
        x[2 * i] = 2.8f * cosf(angle) + 0.2f * normal();
        x[2 * i + 1] = 2.8f * sinf(angle) + 0.2f * normal();
    }
}

/* Binds a program's arguments: "in:x" to x, "in:w" to w, parameters by name. */
static void bind(const struct ebmc_aot_program *p, float **args, float *x, float *w, struct param *ps, int np) {
    for (int i = 0; i < p->n_args; i++) {
        args[i] = strcmp(p->args[i].name, "in:x") == 0 ? x : strcmp(p->args[i].name, "in:w") == 0 ? w : NULL;
        for (int k = 0; k < np && !args[i]; k++)
            if (strcmp(ps[k].name, p->args[i].name) == 0) args[i] = ps[k].value;
    }
}

static float mean_energy(struct ebmc_aot_instance *energy, float **args, float *e, int b) {
    float *outs[1] = {e}, sum = 0;
    ebmc_aot_run(energy, args, outs, 0);
    for (int i = 0; i < b; i++) sum += e[i];
    return sum / (float)b;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 1000;
    const struct ebmc_aot_program *train = &TRAIN, *sampler = &SAMPLER, *energy = &ENERGY;
    const int b = (int)sampler->args[0].shape[0]; /* in:x [B, 2] */

    struct param ps[16];
    int np = 0;
    for (int i = 0; i < train->n_args && np < 16; i++) {
        const struct ebmc_aot_tensor *t = &train->args[i];
        if (strncmp(t->name, "in:", 3) == 0) continue;
        struct param *p = &ps[np++];
        p->name = t->name;
        p->n = numel(t);
        p->value = malloc(sizeof(float) * (size_t)p->n);
        p->grad = calloc((size_t)p->n, sizeof(float));
        p->m = calloc((size_t)p->n, sizeof(float));
        p->v = calloc((size_t)p->n, sizeof(float));
        float scale = t->ndim == 2 ? sqrtf(2.0f / (float)(t->shape[0] + t->shape[1])) : 0.0f; /* biases start at 0 */
        for (int64_t j = 0; j < p->n; j++) p->value[j] = scale * normal();
    }

    float *xall = malloc(sizeof(float) * 4 * (size_t)b), *w = malloc(sizeof(float) * 2 * (size_t)b);
    float *e = malloc(sizeof(float) * 2 * (size_t)b), *dedx = malloc(sizeof(float) * 2 * (size_t)b);
    float *xneg = xall + 2 * b, loss = 0;
    for (int i = 0; i < b; i++) w[i] = 1.0f / (float)b, w[b + i] = -1.0f / (float)b;

    float *train_args[32], *sampler_args[32], *energy_args[32], *train_outs[32];
    bind(train, train_args, xall, w, ps, np);
    bind(sampler, sampler_args, xneg, NULL, ps, np);
    bind(energy, energy_args, xneg, NULL, ps, np);
    for (int i = 0; i < train->n_outputs; i++) { /* loss, energy, then grad:<param> */
        train_outs[i] = strcmp(train->outputs[i].name, "loss") == 0 ? &loss : e;
        for (int k = 0; k < np; k++)
            if (strncmp(train->outputs[i].name, "grad:", 5) == 0 && strcmp(train->outputs[i].name + 5, ps[k].name) == 0)
                train_outs[i] = ps[k].grad;
    }
    float *sampler_outs[2] = {e, dedx};
    struct ebmc_aot_instance *run_train = ebmc_aot_new(train), *run_sampler = ebmc_aot_new(sampler);
    struct ebmc_aot_instance *run_energy = ebmc_aot_new(energy);
    if (!run_train || !run_sampler || !run_energy) return 1;

    for (int step = 1; step <= steps; step++) {
        data_batch(xall, b);
        memcpy(xneg, xall, sizeof(float) * 2 * (size_t)b); /* CD: chains start at the data */
        for (int k = 0; k < LANGEVIN_STEPS; k++) {
            ebmc_aot_run(run_sampler, sampler_args, sampler_outs, 0);
            for (int i = 0; i < 2 * b; i++) xneg[i] += -0.5f * STEP_SIZE * dedx[i] + sqrtf(STEP_SIZE) * normal();
        }
        ebmc_aot_run(run_train, train_args, train_outs, 0);
        float c1 = 1 - powf(0.9f, (float)step), c2 = 1 - powf(0.999f, (float)step);
        for (int k = 0; k < np; k++)
            for (int64_t j = 0; j < ps[k].n; j++) {
                float g = ps[k].grad[j];
                ps[k].m[j] = 0.9f * ps[k].m[j] + 0.1f * g;
                ps[k].v[j] = 0.999f * ps[k].v[j] + 0.001f * g * g;
                ps[k].value[j] -= LR * (ps[k].m[j] / c1) / (sqrtf(ps[k].v[j] / c2) + 1e-8f);
            }
        if (step % 100 == 0 || step == steps) printf("step %5d  loss %+.4f\n", step, loss);
    }

    data_batch(xneg, b);
    float e_data = mean_energy(run_energy, energy_args, e, b);
    for (int i = 0; i < 2 * b; i++) xneg[i] = 8 * uniform() - 4;
    float e_noise = mean_energy(run_energy, energy_args, e, b);
    printf("mean energy: data %.3f, uniform noise %.3f; energy gap %.3f %s\n", e_data, e_noise, e_noise - e_data,
           e_noise > e_data ? "(data lower: ok)" : "(data not lower: not learned)");

    ebmc_aot_free(run_train), ebmc_aot_free(run_sampler), ebmc_aot_free(run_energy);
    for (int k = 0; k < np; k++) free(ps[k].value), free(ps[k].grad), free(ps[k].m), free(ps[k].v);
    free(xall), free(w), free(e), free(dedx);
    return e_noise > e_data ? 0 : 1;
}
