/* train_gaussians.c: trains an energy-based model on a mixture of eight Gaussians with nothing but a
 * model compiled ahead of time and the small runner library: no LLVM, no ebmc runtime.
 *
 *     build/ebmc compile models/8gaussians.ebm -o model.o --header model.h --name model --set batch=256
 *     cc -O2 -Iinclude -I. examples/aot/train_gaussians.c model.o build/backend/libebmc_run.a \
 *        -fopenmp -lm -o train_gaussians
 *     ./train_gaussians 1000
 *
 * Each step: a batch of data; negatives by contrastive divergence (10 steps of the compiled Langevin
 * program, starting from the data); then the compiled training step, which computes the loss's
 * gradients and applies Adam to the parameters and moments in place. At the end it compares the mean
 * energy of data with that of uniform noise over the data box: a model that learned anything gives
 * data the lower energy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc_aot.h"

#ifndef MODEL_HEADER /* the build above: --name model (tests/aot builds it for another name) */
#define MODEL_HEADER "model.h"
#define MODEL model
#define ADAM_LR MODEL_LR /* Adam's settings, as the train program was compiled with them */
#define ADAM_BETA1 MODEL_BETA1
#define ADAM_BETA2 MODEL_BETA2
#endif
#include MODEL_HEADER

#define GLUE(a, b) a##b
#define SYMBOL(model, program) GLUE(model, program)
#define ENERGY SYMBOL(MODEL, _energy)
#define SAMPLER SYMBOL(MODEL, _sampler)
#define TRAIN SYMBOL(MODEL, _train)
#define LANGEVIN SYMBOL(MODEL, _langevin)

enum { LANGEVIN_STEPS = 10 };

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

/* Every buffer the programs take or give, by name: the inputs, each parameter and its Adam moments
 * ("m:<p>", "v:<p>", zeros at first). The training step's outputs "new:<name>" go to the buffer <name>. */
struct buffer {
    const char *name;
    float *data;
};
static struct buffer buffers[64];
static int n_buffers;

static float *buffer(const char *name) {
    if (strncmp(name, "new:", 4) == 0) name += 4;
    for (int i = 0; i < n_buffers; i++)
        if (strcmp(buffers[i].name, name) == 0) return buffers[i].data;
    return NULL;
}

/* bufs[i] for tensor ts[i]; "in:x" is x: the training step's batch, or the chains. */
static void bind(const struct ebmc_aot_tensor *ts, int n, float **bufs, float *x) {
    for (int i = 0; i < n; i++) bufs[i] = strcmp(ts[i].name, "in:x") == 0 ? x : buffer(ts[i].name);
}

static void data_batch(float *x, int n) { /* eight Gaussians on a circle of radius 2.8, sd 0.2 */
    for (int i = 0; i < n; i++) {
        float angle = 0.7853982f * (float)(int)(8 * uniform());
        x[2 * i] = 2.8f * cosf(angle) + 0.2f * normal();
        x[2 * i + 1] = 2.8f * sinf(angle) + 0.2f * normal();
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
    const struct ebmc_aot_program *train = &TRAIN, *langevin = &LANGEVIN, *energy = &ENERGY;
    const int b = (int)energy->args[0].shape[0]; /* in:x [B, 2] */

    float *xall = malloc(sizeof(float) * 4 * (size_t)b), *w = malloc(sizeof(float) * 2 * (size_t)b);
    float *e = malloc(sizeof(float) * 2 * (size_t)b), *noise = malloc(sizeof(float) * 2 * (size_t)b);
    float *xneg = xall + 2 * b, loss = 0, lr_t = 0;
    for (int i = 0; i < b; i++) w[i] = 1.0f / (float)b, w[b + i] = -1.0f / (float)b;
    buffers[n_buffers++] = (struct buffer){"in:w", w};
    buffers[n_buffers++] = (struct buffer){"in:lr_t", &lr_t};
    buffers[n_buffers++] = (struct buffer){"in:noise", noise};
    buffers[n_buffers++] = (struct buffer){"loss", &loss};
    buffers[n_buffers++] = (struct buffer){"energy", e};
    for (int i = 0; i < train->n_args && n_buffers < 64; i++) { /* parameters and moments */
        const struct ebmc_aot_tensor *t = &train->args[i];
        if (strncmp(t->name, "in:", 3) == 0) continue;
        float *data = calloc((size_t)numel(t), sizeof(float));
        buffers[n_buffers++] = (struct buffer){t->name, data};
        if (t->name[1] == ':' || t->ndim < 2) continue; /* moments and biases start at zero */
        float scale = sqrtf(2.0f / (float)(t->shape[0] + t->shape[1]));
        for (int64_t j = 0; j < numel(t); j++) data[j] = scale * normal();
    }

    float *train_args[64], *train_outs[64], *langevin_args[64], *energy_args[64];
    bind(train->args, train->n_args, train_args, xall); /* data and negatives */
    bind(train->outputs, train->n_outputs, train_outs, NULL);
    bind(langevin->args, langevin->n_args, langevin_args, xneg);
    bind(energy->args, energy->n_args, energy_args, xneg);
    float *langevin_outs[1] = {xneg}; /* x_next, in place */
    struct ebmc_aot_instance *run_train = ebmc_aot_new(train), *run_langevin = ebmc_aot_new(langevin);
    struct ebmc_aot_instance *run_energy = ebmc_aot_new(energy);
    if (!run_train || !run_langevin || !run_energy) return 1;

    for (int step = 1; step <= steps; step++) {
        data_batch(xall, b);
        memcpy(xneg, xall, sizeof(float) * 2 * (size_t)b); /* CD: chains start at the data */
        for (int k = 0; k < LANGEVIN_STEPS; k++) {
            for (int i = 0; i < 2 * b; i++) noise[i] = normal();
            ebmc_aot_run(run_langevin, langevin_args, langevin_outs, 0);
        }
        lr_t = (float)(ADAM_LR * sqrt(1 - pow(ADAM_BETA2, step)) / (1 - pow(ADAM_BETA1, step)));
        ebmc_aot_run(run_train, train_args, train_outs, 0); /* loss, gradients, Adam: in place */
        if (step % 100 == 0 || step == steps) printf("step %5d  loss %+.4f\n", step, loss);
    }

    data_batch(xneg, b);
    float e_data = mean_energy(run_energy, energy_args, e, b);
    for (int i = 0; i < 2 * b; i++) xneg[i] = 8 * uniform() - 4;
    float e_noise = mean_energy(run_energy, energy_args, e, b);
    printf("mean energy: data %.3f, uniform noise %.3f; energy gap %.3f %s\n", e_data, e_noise, e_noise - e_data,
           e_noise > e_data ? "(data lower: ok)" : "(data not lower: not learned)");

    ebmc_aot_free(run_train), ebmc_aot_free(run_langevin), ebmc_aot_free(run_energy);
    for (int i = 5; i < n_buffers; i++) free(buffers[i].data); /* parameters and moments */
    free(xall), free(w), free(e), free(noise);
    return e_noise > e_data ? 0 : 1;
}
