/* aot_check.c: a model compiled ahead of time (gauss.o, gauss.h: `ebmc compile models/8gaussians.ebm
 * -o gauss.o --header gauss.h --name gauss --set batch=64 --set step_size=0.02 --set noise_scale=0.9
 * --set grad_clip=0.5`) must give bitwise the JIT's results for the same parameters and inputs:
 * energies, dE/dx, the training loss and every parameter gradient, on one thread and on two. Its
 * Langevin step must equal, bitwise, the host loop runtime/sampler.c runs for MALA and DCD chains,
 * x - eta/2 clip(dE/dx) + tau sqrt(eta) noise in float, on the JIT's dE/dx. Parameters are drawn at
 * random first, so that no part of the network is trivially zero. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "ebmc_aot.h"
#include "gauss.h"
#include "test.h"

enum { B = GAUSS_BATCH, D = GAUSS_DIM };

static struct ebmc_model *m;
static float x[2 * B * D], w[2 * B], noise[B * D];

static uint64_t lcg = 12345;
static float uniform(float lo, float hi) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((double)(lcg >> 11) / 9007199254740992.0);
}

static float *param_by_name(const char *name) {
    for (int i = 0; i < ebmc_n_params(m); i++)
        if (strcmp(ebmc_param_name(m, i), name) == 0) return ebmc_param_data(m, i);
    return NULL;
}

/* Runs p on x (and w) with the model's parameters; returns malloc'd outputs in p's order. */
static float **run_aot(const struct ebmc_aot_program *p, int threads) {
    float **args = calloc((size_t)p->n_args, sizeof *args), **outs = calloc((size_t)p->n_outputs, sizeof *outs);
    for (int i = 0; i < p->n_args; i++) {
        const char *name = p->args[i].name;
        args[i] = strcmp(name, "in:x") == 0 ? x : strcmp(name, "in:w") == 0 ? w : strcmp(name, "in:noise") == 0 ? noise
                                                                                                   : param_by_name(name);
        CHECK_MSG(args[i] != NULL, "%s: no buffer for argument %s", p->name, name);
    }
    for (int i = 0; i < p->n_outputs; i++) {
        int64_t n = 1;
        for (int d = 0; d < p->outputs[i].ndim; d++) n *= p->outputs[i].shape[d];
        outs[i] = calloc((size_t)n, sizeof(float));
    }
    struct ebmc_aot_instance *inst = ebmc_aot_new(p);
    CHECK(inst != NULL);
    if (inst) ebmc_aot_run(inst, args, outs, threads);
    ebmc_aot_free(inst);
    free(args);
    return outs;
}

static void free_outs(const struct ebmc_aot_program *p, float **outs) {
    for (int i = 0; i < p->n_outputs; i++) free(outs[i]);
    free(outs);
}

static void expect_same(const char *what, const float *aot, const float *jit, size_t n) {
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (memcmp(&aot[i], &jit[i], sizeof(float)) != 0) bad = i;
    CHECK_MSG(bad == n, "%s: element %zu differs: AOT %.9g, JIT %.9g", what, bad, bad < n ? aot[bad] : 0.0f,
              bad < n ? jit[bad] : 0.0f);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    m = ebmc_load(argv[1], stderr);
    CHECK(m != NULL);
    if (!m) return test_report();
    CHECK(ebmc_set(m, "batch", "64", stderr) == 0);
    CHECK(ebmc_set(m, "threads", "1", stderr) == 0);
    CHECK(ebmc_compile(m, stderr) == 0);
    for (int i = 0; i < ebmc_n_params(m); i++)
        for (int64_t j = 0; j < ebmc_param_numel(m, i); j++) ebmc_param_data(m, i)[j] = uniform(-0.3f, 0.3f);
    for (int i = 0; i < 2 * B * D; i++) x[i] = uniform(-4, 4);
    for (int i = 0; i < B; i++) w[i] = 1.0f / B, w[B + i] = -1.0f / B;
    for (int i = 0; i < B * D; i++) noise[i] = uniform(-2, 2);

    for (int threads = 1; threads <= 2; threads++) {
        float e[B], grad[B * D];
        CHECK(ebmc_energy(m, x, e, B) == 0);
        float **outs = run_aot(&gauss_energy, threads);
        expect_same("energy", outs[ebmc_aot_find_output(&gauss_energy, "energy")], e, B);
        free_outs(&gauss_energy, outs);

        CHECK(ebmc_energy_grad(m, x, e, grad, B) == 0);
        outs = run_aot(&gauss_sampler, threads);
        expect_same("sampler energy", outs[ebmc_aot_find_output(&gauss_sampler, "energy")], e, B);
        expect_same("dE/dx", outs[ebmc_aot_find_output(&gauss_sampler, "dE/dx")], grad, B * D);
        free_outs(&gauss_sampler, outs);

        double loss;
        CHECK(ebmc_loss(m, x, x + B * D, &loss) == 0);
        outs = run_aot(&gauss_train, threads);
        float jit_loss = (float)loss;
        expect_same("loss", outs[ebmc_aot_find_output(&gauss_train, "loss")], &jit_loss, 1);
        for (int i = 0; i < ebmc_n_params(m); i++) {
            char name[64];
            snprintf(name, sizeof name, "grad:%s", ebmc_param_name(m, i));
            int k = ebmc_aot_find_output(&gauss_train, name);
            CHECK_MSG(k >= 0, "no output %s", name);
            if (k >= 0) expect_same(name, outs[k], ebmc_param_grad(m, i), (size_t)ebmc_param_numel(m, i));
        }
        free_outs(&gauss_train, outs);

        float next[B * D];
        const float half_eta = (float)(0.5 * 0.02), sd = (float)(0.9 * sqrt(0.02)), c = 0.5f;
        for (int i = 0; i < B * D; i++) {
            float g = grad[i] > c ? c : grad[i] < -c ? -c : grad[i];
            next[i] = x[i] - half_eta * g + sd * noise[i];
        }
        outs = run_aot(&gauss_langevin, threads);
        expect_same("langevin x_next", outs[ebmc_aot_find_output(&gauss_langevin, "x_next")], next, B * D);
        free_outs(&gauss_langevin, outs);
    }
    CHECK(ebmc_aot_find_arg(&gauss_train, "nonexistent") == -1);
    ebmc_free(m);
    return test_report();
}
