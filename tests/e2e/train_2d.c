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

int main(void) {
    train("cd");
    train("dcd-ve");
    return test_report();
}
