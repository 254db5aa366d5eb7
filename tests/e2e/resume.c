/* Runs that survive: a run interrupted and resumed from its folder ends bitwise where the uninterrupted
 * run ends (cd, pcd with its replay buffer, dcd-ve); a diverging run never leaves a non-finite
 * checkpoint; saved runs can be sampled and evaluated, and bad requests are refused with a message;
 * the team size the loop picks for threads = 0 does not change results.
 * A small network and tens of steps keep it quick: identity, not learning, is what is checked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebmc.h"
#include "test.h"

static const char model_text[] = "param W1: [2, 32] = xavier()\n"
                                 "param b1: [32] = zeros()\n"
                                 "param W2: [32, 32] = xavier()\n"
                                 "param b2: [32] = zeros()\n"
                                 "param W3: [32, 1] = xavier()\n"
                                 "param b3: [1] = zeros()\n"
                                 "energy(x: [B, 2]) {\n"
                                 "  h = silu(x @ W1 + b1)\n"
                                 "  h = silu(h @ W2 + b2)\n"
                                 "  return h @ W3 + b3\n"
                                 "}\n"
                                 "train {\n"
                                 "  data = 8gaussians\n"
                                 "  batch = 64\n"
                                 "  buffer_size = 256\n"
                                 "  grid = 32\n"
                                 "  n_samples = 200\n"
                                 "  sample_steps = 10\n"
                                 "  threads = 2\n"
                                 "  seed = 3\n"
                                 "}\n";

static char root[] = "/tmp/ebmc-resume-XXXXXX";

static struct ebmc_model *model(const char *objective, const char *steps, const char *extra[][2]) {
    struct ebmc_model *m = ebmc_load_string(model_text, "small.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return NULL;
    CHECK(ebmc_set(m, "objective", objective, stderr) == 0);
    CHECK(ebmc_set(m, "steps", steps, stderr) == 0);
    CHECK(ebmc_set(m, "eval_every", "20", stderr) == 0);
    for (int k = 0; extra && extra[k][0]; k++) CHECK(ebmc_set(m, extra[k][0], extra[k][1], stderr) == 0);
    CHECK(ebmc_compile(m, stderr) == 0);
    return m;
}

static unsigned char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    *n = -1;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    unsigned char *d = malloc((size_t)*n + 1);
    if (d && fread(d, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
    if (d) d[*n > 0 ? *n : 0] = 0;
    fclose(f);
    return d;
}

static int count_lines(const char *path) {
    long n;
    char *t = (char *)slurp(path, &n);
    int lines = 0;
    for (long i = 0; i < n; i++) lines += t[i] == '\n';
    free(t);
    return lines;
}

/* 60 steps straight vs 30 steps, then a resume to 60 from the folder alone: identical checkpoints
 * (parameters, Adam moments, step, replay buffer, statistics). Returns the resumed model. */
static struct ebmc_model *resume_is_bitwise(const char *objective) {
    char straight[300], split[300], path[400];
    snprintf(straight, sizeof straight, "%s/%s-straight", root, objective);
    snprintf(split, sizeof split, "%s/%s-split", root, objective);
    const char *every[][2] = {{"checkpoint_every", "20"}, {NULL, NULL}};
    struct ebmc_result r;
    struct ebmc_model *m = model(objective, "60", every);
    if (!m) return NULL;
    CHECK(ebmc_train(m, straight, NULL, stderr, &r) == 0);
    CHECK(r.steps_done == 60);
    double nll = r.nll, mmd2 = r.mmd2;
    ebmc_free(m);

    m = model(objective, "30", NULL);
    if (!m) return NULL;
    CHECK(ebmc_train(m, split, NULL, stderr, &r) == 0);
    CHECK(r.steps_done == 30);
    ebmc_free(m);
    /* An interrupted session may have logged steps its checkpoint does not hold: they are dropped. */
    snprintf(path, sizeof path, "%s/log.csv", split);
    FILE *f = fopen(path, "a");
    fputs("31,9,9,9,9,0,,\n", f);
    fclose(f);

    m = ebmc_load_run(split, stderr);
    CHECK(m != NULL);
    if (!m) return NULL;
    CHECK(ebmc_set(m, "steps", "60", stderr) == 0);
    CHECK(ebmc_resume(m, split, NULL, stderr, &r) == 0);
    CHECK(r.steps_start == 30 && r.steps_done == 60);
    CHECK_MSG(r.nll == nll, "%s: resumed NLL %.9g, straight %.9g", objective, r.nll, nll);
    CHECK_MSG(r.mmd2 == mmd2 && isfinite(mmd2), "%s: resumed MMD^2 %.9g, straight %.9g", objective, r.mmd2, mmd2);

    /* The saved run evaluates to the numbers training reported. */
    struct ebmc_metrics e;
    CHECK(ebmc_evaluate(m, &e, stderr) == 0);
    CHECK(e.step == 60 && e.nll == nll && e.mmd2 == mmd2);

    char a[400], b[400];
    snprintf(a, sizeof a, "%s/model.ckpt", straight);
    snprintf(b, sizeof b, "%s/model.ckpt", split);
    long na, nb;
    unsigned char *da = slurp(a, &na), *db = slurp(b, &nb);
    CHECK(da && db && na > 0);
    long first = -1;
    for (long i = 0; da && db && i < (na < nb ? na : nb) && first < 0; i++)
        if (da[i] != db[i]) first = i;
    CHECK_MSG(na == nb && first < 0, "%s: checkpoints differ (%ld and %ld bytes, first difference at %ld)", objective,
              na, nb, first);
    free(da), free(db);
    CHECK_MSG(count_lines(path) == 61, "%s: log.csv has %d lines, want header + 60", objective, count_lines(path));

    return m;
}

/* A huge step size blows the chains up within a few steps: model.ckpt must hold the last finite state. */
static void divergence_keeps_a_good_checkpoint(void) {
    char dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/diverge", root);
    const char *wild[][2] = {{"lr", "10"},               {"step_size", "1e4"}, {"alpha", "0"},
                             {"checkpoint_every", "2"}, {NULL, NULL}};
    struct ebmc_model *m = model("sr-cd", "40", wild);
    if (!m) return;
    struct ebmc_result r;
    CHECK(ebmc_train(m, dir, NULL, stderr, &r) == 1);
    CHECK(r.diverged && r.steps_done < 40);
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    CHECK(ebmc_restore(m, path, stderr) == 0);
    int finite = 1;
    for (int k = 0; k < ebmc_n_params(m); k++)
        for (int64_t i = 0; i < ebmc_param_numel(m, k); i++) finite &= isfinite(ebmc_param_data(m, k)[i]) != 0;
    CHECK_MSG(finite, "model.ckpt of a diverged run holds a non-finite parameter");
    struct ebmc_metrics e;
    CHECK(ebmc_evaluate(m, &e, stderr) == 0);
    CHECK_MSG(e.step == r.steps_done, "model.ckpt holds step %lld; the last good step is %d", (long long)e.step,
              r.steps_done);
    ebmc_free(m);
}

/* m: a trained model. */
static void sample_and_errors(struct ebmc_model *m) {
    char out[400];
    if (!m) return;
    snprintf(out, sizeof out, "%s/s.csv", root);
    CHECK(ebmc_write_samples(m, 100, 5, out, stderr) == 0);
    CHECK(count_lines(out) == 100); /* one row per sample, no header */
    snprintf(out, sizeof out, "%s/s.png", root);
    CHECK(ebmc_write_samples(m, 100, 5, out, stderr) == 0);
    CHECK(access(out, F_OK) == 0);
    snprintf(out, sizeof out, "%s/s.jpg", root);
    CHECK(ebmc_write_samples(m, 100, 5, out, stderr) == -1);
    CHECK(access(out, F_OK) != 0);
    ebmc_free(m);
    CHECK(ebmc_load_run("/nonexistent/run", stderr) == NULL);
    CHECK(ebmc_load_run(root, stderr) == NULL); /* a folder without model.ebm */
}

/* threads = 0 lets the loop switch between all cores and one thread as it measures them (its first
 * windows run on each); a run with it ends bitwise where a single-threaded run ends. */
static void team_size_does_not_change_results(void) {
    char dirs[2][300], paths[2][400];
    const char *threads[2] = {"0", "1"};
    unsigned char *data[2];
    long n[2];
    for (int i = 0; i < 2; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/threads-%s", root, threads[i]);
        const char *extra[][2] = {{"threads", threads[i]}, {NULL, NULL}};
        struct ebmc_model *m = model("dcd-ve", "40", extra);
        struct ebmc_result r;
        CHECK(m && ebmc_train(m, dirs[i], NULL, stderr, &r) == 0 && r.steps_done == 40);
        ebmc_free(m);
        snprintf(paths[i], sizeof paths[i], "%s/model.ckpt", dirs[i]);
        data[i] = slurp(paths[i], &n[i]);
    }
    CHECK_MSG(data[0] && data[1] && n[0] > 0 && n[0] == n[1] && memcmp(data[0], data[1], (size_t)n[0]) == 0,
              "threads = 0 and threads = 1 end in different checkpoints");
    free(data[0]), free(data[1]);
}

int main(void) {
    CHECK(mkdtemp(root) != NULL);
    team_size_does_not_change_results();
    ebmc_free(resume_is_bitwise("cd"));
    ebmc_free(resume_is_bitwise("pcd"));
    struct ebmc_model *m = resume_is_bitwise("dcd-ve");
    sample_and_errors(m);
    divergence_keeps_a_good_checkpoint();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (test_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return test_report();
}
