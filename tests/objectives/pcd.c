/* PCD's replay buffer (objectives.md: "k ULA steps on E_theta from a persistent buffer; each chain reset
 * to noise with prob rho").
 *
 * Through ebmc_negatives and ebmc_replay_buffer, step by step:
 *   - the buffer starts as uniform noise over the data box (8gaussians: [-4, 4]^2);
 *   - k = 0 (the negatives are the chains' starting points): every negative of step t+1 that was not
 *     reset is bitwise a point of the buffer as step t left it, and only reset chains change the buffer;
 *   - k = 3: exactly B chains change per step (the ones taken), each changed entry is bitwise one of the
 *     step's negatives (the end points are written back), and every other entry is untouched;
 *     a continued chain moved by at most a few Langevin increments (eta = 1e-4: < 0.1, checked with
 *     rho = 0), a reset one jumped to fresh noise, which lands within 0.2 of its old place with
 *     probability ~pi 0.04/64 < 0.2% (so counting moves > 0.2 as resets undercounts by < 0.2%);
 *   - the fraction of reset chains is rho within 3 binomial standard errors (rho = 0.1), is 0 for
 *     rho = 0 and 1 for rho = 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "rng.h"
#include "test.h"

#define D 2
#define B 256
#define N 2048
#define STEPS 20

static const char src[] =
    "param mu: [2] = zeros()\n"
    "param c: [1] = ones()\n"
    "energy(x: [B, 2]) {\n"
    "  return 0.5 * c * sum(square(x - mu), 1)\n"
    "}\n";

static struct ebmc_model *pcd_model(const char *k, const char *rho) {
    struct ebmc_model *m = ebmc_load_string(src, "pcd.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return NULL;
    const char *settings[][2] = {{"objective", "pcd"}, {"batch", "256"},          {"buffer_size", "2048"},
                                 {"reinit_prob", rho}, {"langevin_steps", k},     {"step_size", "1e-4"},
                                 {"sampler", "ula"},   {"data", "8gaussians"},    {"threads", "2"}};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        CHECK(ebmc_set(m, settings[i][0], settings[i][1], stderr) == 0);
    CHECK(ebmc_compile(m, stderr) == 0);
    return m;
}

static void data(float *x, int step) {
    for (int i = 0; i < B * D; i++) x[i] = (float)rng_normal(5, rng_stream(300, (uint64_t)step, 0), (uint64_t)i);
}

static int same(const float *a, const float *b) { return memcmp(a, b, sizeof(float) * D) == 0; }

/* Index of the row of set[n] bitwise equal to p, or -1. */
static int find(const float *set, int n, const float *p) {
    for (int i = 0; i < n; i++)
        if (same(set + i * D, p)) return i;
    return -1;
}

/* Runs STEPS steps; returns the fraction of reset chains observed. */
static double run(const char *k, const char *rho) {
    struct ebmc_model *m = pcd_model(k, rho);
    if (!m) return -1;
    int moving = strcmp(k, "0") != 0;
    float x[B * D], neg[B * D], *prev = malloc(sizeof(float) * N * D);
    int64_t n = -1;
    CHECK(ebmc_replay_buffer(m, &n) == NULL && n == 0);
    data(x, 0);
    CHECK(ebmc_negatives(m, x, 0, neg) == 0);
    const float *buf = ebmc_replay_buffer(m, &n);
    CHECK(buf != NULL && n == N);
    if (!buf || n != N) return -1;
    if (!moving) { /* the buffer is still its uniform initialization (resets are uniform too) */
        double mean[D] = {0}, var[D] = {0}, lo = 1e9, hi = -1e9;
        for (int i = 0; i < N * D; i++) {
            mean[i % D] += buf[i] / N, var[i % D] += buf[i] * buf[i] / N;
            lo = fmin(lo, buf[i]), hi = fmax(hi, buf[i]);
        }
        fprintf(stderr, "initial buffer: range [%.3f, %.3f], mean (%.3f, %.3f), E[x^2] (%.3f, %.3f) (uniform: 0, 5.333)\n",
                lo, hi, mean[0], mean[1], var[0], var[1]);
        CHECK(lo >= -4 && hi <= 4 && lo < -3.9 && hi > 3.9);
        for (int j = 0; j < D; j++) CHECK(fabs(mean[j]) < 0.2 && fabs(var[j] - 16.0 / 3) < 0.4);
    }
    long taken = 0, resets = 0, bad_start = 0, bad_count = 0, bad_writeback = 0;
    double max_move = 0;
    for (int t = 1; t <= STEPS; t++) {
        memcpy(prev, buf, sizeof(float) * N * D);
        data(x, t);
        CHECK(ebmc_negatives(m, x, t, neg) == 0);
        buf = ebmc_replay_buffer(m, &n);
        int changed = 0, reset_here = 0;
        for (int i = 0; i < N; i++) {
            if (same(buf + i * D, prev + i * D)) continue;
            changed++;
            if (find(neg, B, buf + i * D) < 0) bad_writeback++; /* a changed entry that is not a negative */
            double d = hypot(buf[i * D] - prev[i * D], buf[i * D + 1] - prev[i * D + 1]);
            if (d > 0.2) reset_here++;
            else max_move = fmax(max_move, d);
        }
        if (moving) {
            if (changed != B) bad_count++;
        } else {
            /* k = 0: a negative is its chain's start, so every non-reset negative is an old buffer point,
             * and only the resets change the buffer. */
            int from_buffer = 0;
            for (int j = 0; j < B; j++) from_buffer += find(prev, N, neg + j * D) >= 0;
            if (from_buffer + changed != B) bad_start++;
            reset_here = changed; /* exact: nothing but a reset changes the buffer when k = 0 */
        }
        taken += B, resets += reset_here;
    }
    CHECK_MSG(bad_writeback == 0, "%ld changed buffer entries are not negatives of their step", bad_writeback);
    CHECK_MSG(bad_count == 0, "%ld steps changed the wrong number of chains", bad_count);
    CHECK_MSG(bad_start == 0, "%ld steps had negatives that did not start from the buffer", bad_start);
    if (moving && strcmp(rho, "0") == 0) { /* all chains continue: the distance classification is sound */
        fprintf(stderr, "k = %s: largest move of a continued chain in one step: %.4f\n", k, max_move);
        CHECK(max_move > 0 && max_move < 0.1);
    }
    double frac = (double)resets / (double)taken;
    fprintf(stderr, "k = %s, rho = %s: %ld of %ld chains reset: %.4f\n", k, rho, resets, taken, frac);
    free(prev);
    ebmc_free(m);
    return frac;
}

int main(void) {
    double rho = 0.1, se = sqrt(rho * (1 - rho) / (STEPS * B));
    for (int moving = 0; moving < 2; moving++) {
        const char *k = moving ? "3" : "0";
        double f = run(k, "0.1");
        CHECK_MSG(fabs(f - rho) <= 3 * se + 0.002, "reset fraction %.4f, want %.2f +- %.4f", f, rho, 3 * se);
        CHECK(run(k, "0") == 0.0);
        CHECK(run(k, "1") > 0.99);
    }
    /* Settings PCD cannot run with are refused before compiling. */
    struct ebmc_model *m = ebmc_load_string(src, "pcd.ebm", stderr);
    CHECK(m && ebmc_set(m, "objective", "pcd", stderr) == 0 && ebmc_set(m, "batch", "256", stderr) == 0 &&
          ebmc_set(m, "buffer_size", "100", stderr) == 0);
    fprintf(stderr, "(an error is expected next)\n");
    CHECK(m && ebmc_compile(m, stderr) != 0);
    ebmc_free(m);
    return test_report();
}
