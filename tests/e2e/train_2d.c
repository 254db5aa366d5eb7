/* End to end: a few hundred steps on 8gaussians must lower the held-out grid NLL, for CD and DCD-VE.
 *
 * The margin: an untrained network's density is nearly flat over the 8x8 box, NLL ~ log(64) = 4.2
 * nats. Learning only the circle of radius 2 that the modes sit on (width ~0.3) already gives
 * ~log(2 pi 2 * 0.75) = 2.2; the eight modes themselves have entropy ~0.3. So a drop of 1.5 nats means
 * the model learned at least the ring, which a broken gradient, sign or sampler does not produce. */
#include <stdio.h>

#include "ebmc.h"
#include "test.h"

static void train(const char *objective) {
    struct ebmc_model *m = ebmc_load(EBMC_SOURCE_DIR "/models/8gaussians.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return;
    const char *settings[][2] = {{"objective", objective}, {"steps", "400"}, {"batch", "256"},
                                 {"eval_every", "0"},      {"threads", "2"}, {"seed", "1"}};
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++)
        CHECK(ebmc_set(m, settings[k][0], settings[k][1], stderr) == 0);
    struct ebmc_result r;
    CHECK(ebmc_compile(m, stderr) == 0);
    int rc = ebmc_train(m, NULL, NULL, stderr, &r);
    fprintf(stderr, "%s: NLL %.3f -> %.3f nats, TV %.3f, %.0f steps/s, acceptance %.2f\n", objective, r.nll_start,
            r.nll, r.tv, r.steps_per_sec, r.acceptance);
    CHECK(rc == 0);
    CHECK(!r.diverged);
    CHECK(r.steps_done == 400);
    CHECK_MSG(r.nll < r.nll_start - 1.5, "%s did not learn: NLL %.3f -> %.3f", objective, r.nll_start, r.nll);
    ebmc_free(m);
}

/* The flop count (metrics.json's gflop_per_step) against a closed form: one more ULA step per chain adds
 * one evaluation of dE/dx on each of the B chains, whatever the rest of the step costs: 2 flops per
 * multiply-add of the forward up to the last hidden layer (a ULA step needs no E) and of the backward
 * through every layer. */
static double gflop_per_step(int langevin_steps) {
    struct ebmc_model *m = ebmc_load(EBMC_SOURCE_DIR "/models/8gaussians.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return 0;
    char k[16];
    snprintf(k, sizeof k, "%d", langevin_steps);
    const char *settings[][2] = {{"objective", "cd"}, {"sampler", "ula"}, {"langevin_steps", k},
                                 {"steps", "2"},      {"batch", "64"},    {"eval_every", "0"}};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        CHECK(ebmc_set(m, settings[i][0], settings[i][1], stderr) == 0);
    struct ebmc_result r = {0};
    CHECK(ebmc_train(m, NULL, NULL, stderr, &r) == 0);
    CHECK(r.gflops > 0);
    ebmc_free(m);
    return r.gflop_per_step;
}

static void flop_count(void) {
    const double hidden = 2 * 128 + 128 * 128 + 128 * 128, last = 128 * 1; /* models/8gaussians.ebm */
    const double macs = hidden + (hidden + last);
    double g3 = gflop_per_step(3), g4 = gflop_per_step(4), g6 = gflop_per_step(6);
    CHECK_CLOSE((g4 - g3) * 1e9, 64 * 2 * macs, 0, 1e-9);
    CHECK_CLOSE((g6 - g4) * 1e9, 2 * 64 * 2 * macs, 0, 1e-9);
}

int main(void) {
    flop_count();
    train("cd");
    train("dcd-ve");
    return test_report();
}
