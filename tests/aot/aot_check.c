/* aot_check.c: a model compiled ahead of time (gauss.o, gauss.h: `ebmc compile models/8gaussians.ebm
 * -o gauss.o --header gauss.h --name gauss --set batch=64 --set step_size=0.02 --set noise_scale=0.9
 * --set grad_clip=0.5 --set beta1=0.8 --set beta2=0.99`) must give bitwise the JIT's results for the
 * same parameters and inputs: energies, dE/dx, the training loss and every parameter gradient, and a
 * whole training step (new parameters and Adam moments), on one thread and on two. Its Langevin step
 * must equal, bitwise, the host loop runtime/sampler.c runs for MALA and DCD chains, x - eta/2
 * clip(dE/dx) + tau sqrt(eta) noise in float, on the JIT's dE/dx; its Adam update must match Adam
 * computed in double from the JIT's gradients. Parameters and moments are drawn at random first, so
 * that nothing is trivially zero. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "ebmc_aot.h"
#include "gauss.h"
#include "test.h"

enum { B = GAUSS_BATCH, D = GAUSS_DIM };

static struct ebmc_model *m;
static float x[2 * B * D], w[2 * B], noise[B * D], lr_t;

enum { T = 3 };                                                   /* the Adam step checked */
static const double LR = 2e-3, BETA1 = 0.8, BETA2 = 0.99, EPS = 1e-8; /* set below, not the defaults */

static uint64_t lcg = 12345;
static float uniform(float lo, float hi) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((double)(lcg >> 11) / 9007199254740992.0);
}

/* The model's buffer for a parameter "<p>" or its moments "m:<p>", "v:<p>". */
static float *param_by_name(const char *name) {
    int which = strncmp(name, "m:", 2) == 0 ? 1 : strncmp(name, "v:", 2) == 0 ? 2 : 0;
    for (int i = 0; i < ebmc_n_params(m); i++)
        if (strcmp(ebmc_param_name(m, i), name + (which ? 2 : 0)) == 0)
            return which ? ebmc_param_moment(m, i, which) : ebmc_param_data(m, i);
    return NULL;
}

static float *copy_of(const float *src, int64_t n) {
    float *c = malloc(sizeof(float) * (size_t)n);
    memcpy(c, src, sizeof(float) * (size_t)n);
    return c;
}

/* Runs p on x (and w) with the model's parameters; returns malloc'd outputs in p's order. */
static float **run_aot(const struct ebmc_aot_program *p, int threads) {
    float **args = calloc((size_t)p->n_args, sizeof *args), **outs = calloc((size_t)p->n_outputs, sizeof *outs);
    for (int i = 0; i < p->n_args; i++) {
        const char *name = p->args[i].name;
        args[i] = strcmp(name, "in:x") == 0       ? x
                  : strcmp(name, "in:w") == 0     ? w
                  : strcmp(name, "in:noise") == 0 ? noise
                  : strcmp(name, "in:lr_t") == 0  ? &lr_t
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

/* Adam at step T from the JIT's gradients (ebmc_loss ran last), in double, per parameter element. */
static void adam_reference(double g, double p, double mo, double v, double *p_next, double *m_next, double *v_next) {
    *m_next = BETA1 * mo + (1 - BETA1) * g;
    *v_next = BETA2 * v + (1 - BETA2) * g * g;
    double lr = LR * sqrt(1 - pow(BETA2, T)) / (1 - pow(BETA1, T));
    *p_next = p - lr * *m_next / (sqrt(*v_next) + EPS);
}

/* The AOT training step against the JIT's (ebmc_step), bitwise, and against Adam in double. The
 * parameters and moments are restored afterwards. */
static void check_train_step(int threads) {
    int np = ebmc_n_params(m);
    float *saved[3][16];
    for (int i = 0; i < np; i++)
        for (int which = 0; which < 3; which++)
            saved[which][i] = copy_of(which ? ebmc_param_moment(m, i, which) : ebmc_param_data(m, i), ebmc_param_numel(m, i));
    lr_t = (float)(LR * sqrt(1 - pow(BETA2, T)) / (1 - pow(BETA1, T)));
    float **outs = run_aot(&gauss_train, threads);
    double loss;
    CHECK(ebmc_step(m, x, x + B * D, T, &loss) == 1);
    float jit_loss = (float)loss;
    expect_same("train loss", outs[ebmc_aot_find_output(&gauss_train, "loss")], &jit_loss, 1);
    double worst = 0;
    for (int i = 0; i < np; i++) {
        static const char *const prefix[3] = {"new:", "new:m:", "new:v:"};
        int64_t n = ebmc_param_numel(m, i);
        for (int which = 0; which < 3; which++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s", prefix[which], ebmc_param_name(m, i));
            int k = ebmc_aot_find_output(&gauss_train, name);
            CHECK_MSG(k >= 0, "no output %s", name);
            if (k < 0) continue;
            expect_same(name, outs[k], which ? ebmc_param_moment(m, i, which) : ebmc_param_data(m, i), (size_t)n);
            for (int64_t j = 0; j < n; j++) {
                double ref[3];
                adam_reference(ebmc_param_grad(m, i)[j], saved[0][i][j], saved[1][i][j], saved[2][i][j], &ref[0],
                               &ref[1], &ref[2]);
                /* a few float roundings: relative to the terms' sizes (for p: the step, and p's own ulp) */
                double g = ebmc_param_grad(m, i)[j];
                double scale = which == 0   ? fabs(ref[0] - saved[0][i][j]) + 1e-2 * fabs(saved[0][i][j])
                               : which == 1 ? BETA1 * fabs(saved[1][i][j]) + (1 - BETA1) * fabs(g)
                                            : ref[2];
                double err = fabs(outs[k][j] - ref[which]) / (scale > 0 ? scale : 1);
                if (err > worst) worst = err;
            }
        }
        for (int which = 0; which < 3; which++) { /* back to the state before the step */
            float *dst = which ? ebmc_param_moment(m, i, which) : ebmc_param_data(m, i);
            memcpy(dst, saved[which][i], sizeof(float) * (size_t)n);
            free(saved[which][i]);
        }
    }
    CHECK_MSG(worst < 1e-4, "Adam update differs from the double reference: relative error %.3g", worst);
    free_outs(&gauss_train, outs);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    m = ebmc_load(argv[1], stderr);
    CHECK(m != NULL);
    if (!m) return test_report();
    CHECK(ebmc_set(m, "batch", "64", stderr) == 0);
    CHECK(ebmc_set(m, "threads", "1", stderr) == 0);
    CHECK(ebmc_set(m, "lr", "2e-3", stderr) == 0 && ebmc_set(m, "beta1", "0.8", stderr) == 0);
    CHECK(ebmc_set(m, "beta2", "0.99", stderr) == 0);
    CHECK(ebmc_compile(m, stderr) == 0);
    for (int i = 0; i < ebmc_n_params(m); i++)
        for (int64_t j = 0; j < ebmc_param_numel(m, i); j++) {
            ebmc_param_data(m, i)[j] = uniform(-0.3f, 0.3f);
            ebmc_param_moment(m, i, 1)[j] = uniform(-1e-2f, 1e-2f);
            ebmc_param_moment(m, i, 2)[j] = uniform(0, 1e-4f);
        }
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
        CHECK(ebmc_loss(m, x, x + B * D, &loss, stderr) == 0);
        outs = run_aot(&gauss_loss, threads);
        float jit_loss = (float)loss;
        expect_same("loss", outs[ebmc_aot_find_output(&gauss_loss, "loss")], &jit_loss, 1);
        for (int i = 0; i < ebmc_n_params(m); i++) {
            char name[64];
            snprintf(name, sizeof name, "grad:%s", ebmc_param_name(m, i));
            int k = ebmc_aot_find_output(&gauss_loss, name);
            CHECK_MSG(k >= 0, "no output %s", name);
            if (k >= 0) expect_same(name, outs[k], ebmc_param_grad(m, i), (size_t)ebmc_param_numel(m, i));
        }
        free_outs(&gauss_loss, outs);

        check_train_step(threads);

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
