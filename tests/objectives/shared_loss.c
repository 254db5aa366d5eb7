/* "CD-k and DCD share the same loss graph: only the negative sampler differs" (objectives.md), checked
 * two ways on a small MLP energy, for every objective and sampler:
 *
 * 1. The printed training-step graphs (ebmc_emit "grad": the sampler's energy/dE/dx program and the
 *    loss program with its parameter gradients) are the same text for every objective and sampler.
 * 2. The compiled step: a step's gradient (ebmc_gradients) equals the gradient the CD model's loss
 *    program gives on that objective's negatives (ebmc_negatives on a fresh model with the same
 *    settings but 1 thread instead of 2, fed to ebmc_loss of a cd model), bitwise. Anything an
 *    objective adds to the loss, or a loss program of its own, breaks the equality; so do negatives that
 *    depend on the thread count.
 *
 * Also: the negatives really differ between objectives (else 2 proves nothing), and drawing them twice
 * gives the same numbers. */
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "rng.h"
#include "test.h"

#define D 2
#define B 64

static const char src[] =
    "param W1: [2, 32] = xavier()\n"
    "param b1: [32] = zeros()\n"
    "param W2: [32, 1] = xavier()\n"
    "param b2: [1] = zeros()\n"
    "energy(x: [B, 2]) {\n"
    "  h = silu(x @ W1 + b1)\n"
    "  return 0.5 * sum(square(x), 1) + sum(h @ W2 + b2, 1)\n"
    "}\n";

struct variant {
    const char *objective, *sampler, *step_size;
};
/* cd/mala takes large steps: with small ones MALA accepts everything and draws what ULA draws. */
static const struct variant variants[] = {
    {"cd", "ula", "0.05"},         {"cd", "mala", "0.5"},    {"sr-cd", "ula", "0.05"},
    {"pcd", "ula", "0.05"},        {"dcd-ve", "mala", "0.05"}, {"dcd-ve", "ula", "0.05"},
    {"dcd-vp", "mala", "0.05"},    {"dcd-ve", "linearized", "0.05"}, {"dcd-vp", "linearized", "0.05"},
};
#define NV (int)(sizeof variants / sizeof variants[0])

static struct ebmc_model *model(const struct variant *v, const char *threads) {
    struct ebmc_model *m = ebmc_load_string(src, "mlp.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return NULL;
    const char *settings[][2] = {{"objective", v->objective}, {"sampler", v->sampler}, {"batch", "64"},
                                 {"threads", threads},        {"alpha", "0.1"},         {"seed", "7"},
                                 {"langevin_steps", "4"},     {"step_size", v->step_size},    {"buffer_size", "256"}};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        CHECK(ebmc_set(m, settings[i][0], settings[i][1], stderr) == 0);
    return m;
}

static char *emit(struct ebmc_model *m) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(ebmc_emit(m, "grad", NULL, NULL, f, stderr) == 0);
    fclose(f);
    return text;
}

/* All parameter gradients, concatenated. */
static float *grads(struct ebmc_model *m, int64_t *total) {
    *total = 0;
    for (int i = 0; i < ebmc_n_params(m); i++) *total += ebmc_param_numel(m, i);
    float *g = malloc(sizeof(float) * (size_t)*total), *p = g;
    for (int i = 0; i < ebmc_n_params(m); i++) {
        memcpy(p, ebmc_param_grad(m, i), sizeof(float) * (size_t)ebmc_param_numel(m, i));
        p += ebmc_param_numel(m, i);
    }
    return g;
}

int main(void) {
    float x[B * D], neg[NV][B * D];
    for (int i = 0; i < B * D; i++) x[i] = (float)(2 * rng_normal(11, rng_stream(400, 0, 0), (uint64_t)i));
    const int64_t step = 3;

    /* 1: one printed training step for all. */
    struct ebmc_model *ref = model(&variants[0], "2");
    char *ref_text = emit(ref);
    CHECK(strstr(ref_text, "grad:W1") != NULL);
    for (int v = 1; v < NV; v++) {
        struct ebmc_model *m = model(&variants[v], "2");
        char *text = emit(m);
        CHECK_MSG(strcmp(text, ref_text) == 0, "%s/%s prints a different training-step graph than cd",
                  variants[v].objective, variants[v].sampler);
        free(text);
        ebmc_free(m);
    }
    free(ref_text);
    CHECK(ebmc_compile(ref, stderr) == 0);

    /* 2: a step's gradient is the shared loss program's gradient on the objective's negatives. */
    for (int v = 0; v < NV; v++) {
        const char *o = variants[v].objective, *s = variants[v].sampler;
        /* a takes the step with 2 threads; b, with 1 thread, only draws the negatives: so the
         * equality also says the negatives do not depend on the thread count. */
        struct ebmc_model *a = model(&variants[v], "2"), *b = model(&variants[v], "1");
        CHECK(ebmc_compile(a, stderr) == 0 && ebmc_compile(b, stderr) == 0);
        double loss_a, loss_ref;
        CHECK(ebmc_gradients(a, x, step, &loss_a, stderr) == 0);
        CHECK(ebmc_negatives(b, x, step, neg[v]) == 0);
        CHECK(ebmc_loss(ref, x, neg[v], &loss_ref, stderr) == 0);
        int64_t na, nr;
        float *ga = grads(a, &na), *gr = grads(ref, &nr);
        CHECK(na == nr && na > 0);
        CHECK_MSG(loss_a == loss_ref && memcmp(ga, gr, sizeof(float) * (size_t)na) == 0,
                  "%s/%s: the step's gradient is not the shared loss on its negatives (loss %.9g vs %.9g)", o, s,
                  loss_a, loss_ref);
        float again[B * D];
        if (strcmp(o, "pcd") != 0) { /* pcd's buffer has moved on (the fresh model b matched a) */
            CHECK(ebmc_negatives(b, x, step, again) == 0);
            CHECK_MSG(memcmp(again, neg[v], sizeof again) == 0, "%s/%s: negatives are not repeatable", o, s);
        }
        fprintf(stderr, "%s/%s: loss %.6f, shared loss on its negatives %.6f, %lld gradients identical\n", o, s, loss_a,
                loss_ref, (long long)na);
        free(ga), free(gr);
        ebmc_free(a), ebmc_free(b);
    }
    /* The negatives differ between objectives, so the equality above is not vacuous. */
    for (int v = 0; v < NV; v++)
        for (int w = v + 1; w < NV; w++)
            CHECK_MSG(memcmp(neg[v], neg[w], sizeof neg[v]) != 0, "%s/%s and %s/%s drew the same negatives",
                      variants[v].objective, variants[v].sampler, variants[w].objective, variants[w].sampler);
    ebmc_free(ref);

    /* The linearized draw exists only for DCD: refused with a reason for the others. */
    static const struct variant wrong = {"cd", "linearized", "0.05"};
    struct ebmc_model *m = model(&wrong, "2");
    fprintf(stderr, "(an error is expected next)\n");
    CHECK(ebmc_compile(m, stderr) != 0);
    ebmc_free(m);
    return test_report();
}
