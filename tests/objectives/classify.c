/* objective classify: a small classifier E(x, y) = -logit_y(x) on two well-separated classes of 8x8
 * images (labelled IDX files written here, two_classes.h) reaches a held-out accuracy far above chance
 * (0.5) within 60 steps, its loss falls below the chance level log 2, and the run reports the accuracy in
 * ebmc_result, log.csv and metrics.json; a resumed run ends bitwise where an unbroken one does. The
 * refusals: classify on an energy of one value, an energy of one value per label under another
 * objective, unlabelled data, and a label the energy has no value for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e/two_classes.h"
#include "ebmc.h"
#include "support.h"
#include "test.h"

/* %s: the data; %d: the labels the energy has values for; %s: the readout expression */
static const char model_format[] = "param W1: [64, 16] = kaiming_uniform()\n"
                                   "param b1: [16] = zeros()\n"
                                   "param W2: [16, %d] = kaiming_uniform()\n"
                                   "param b2: [%d] = zeros()\n"
                                   "def features(x) {\n"
                                   "  return silu(reshape(x, [B, 64]) @ W1 + b1)\n"
                                   "}\n"
                                   "energy(x: [B, 1, 8, 8]) {\n"
                                   "  return %s\n"
                                   "}\n"
                                   "train {\n"
                                   "  data = \"%s\"\n"
                                   "  objective = classify\n"
                                   "  batch = 32\n"
                                   "  steps = 60\n"
                                   "  lr = 0.01\n"
                                   "  eval_every = 20\n"
                                   "  threads = 1\n"
                                   "}\n";

static struct ebmc_model *load(const char *data, int k, const char *readout, FILE *diag) {
    char text[2048];
    snprintf(text, sizeof text, model_format, k, k, readout, data);
    return ebmc_load_string(text, "classify.ebm", diag);
}

/* Trains a model and returns what ebmc_train did; the diagnostics into err. */
static int train(struct ebmc_model *m, const char *out, struct ebmc_result *r, char *err, size_t len) {
    FILE *diag = fmemopen(err, len, "w");
    int rc = ebmc_train(m, out, NULL, diag, r);
    fclose(diag);
    return rc;
}

int main(void) {
    char root[] = "/tmp/ebmc-classify-XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    CHECK(write_two_classes(root, 8, 512, 200) == 0);
    char data[4200], out[4200], path[4400], err[4096];
    snprintf(data, sizeof data, "%s/train-images-idx3-ubyte", root);
    snprintf(out, sizeof out, "%s/run", root);

    struct ebmc_model *m = load(data, 2, "-(features(x) @ W2 + b2)", stderr);
    CHECK(m != NULL);
    struct ebmc_result r;
    if (m) {
        CHECK_MSG(train(m, out, &r, err, sizeof err) == 0, "%s", err);
        fprintf(stderr, "held-out accuracy after %d steps: %.4f\n", r.steps_done, r.accuracy);
        CHECK(r.steps_done == 60);
        CHECK(r.accuracy > 0.9); /* chance: 0.5 */
        struct ebmc_metrics e;
        CHECK(ebmc_evaluate(m, &e, stderr) == 0 && e.accuracy == r.accuracy);
        ebmc_free(m);
    }
    /* log.csv: the loss starts near log 2 (two labels, small logits) and ends well below it; the
     * accuracy column is filled at each evaluation */
    snprintf(path, sizeof path, "%s/log.csv", out);
    char *text = file_read_all(path, 0, NULL, err, sizeof err);
    CHECK(text != NULL);
    if (text) {
        /* the accuracy column, by its name in the header */
        int column = -1, k = 0;
        for (const char *h = text; *h && *h != '\n'; h += strcspn(h, ",\n"), h += *h == ',', k++)
            if (strncmp(h, "accuracy", 8) == 0 && (h[8] == ',' || h[8] == '\n')) column = k;
        CHECK(column > 0);
        double first = NAN, last = NAN, acc = NAN;
        int rows = 0;
        for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
            int step;
            double loss;
            if (sscanf(line + 1, "%d,%lf", &step, &loss) != 2) continue;
            if (rows++ == 0) first = loss;
            last = loss;
            const char *field = line + 1;
            for (int i = 0; i < column && field; i++) field = strchr(field, ',') ? strchr(field, ',') + 1 : NULL;
            if (step == 60 && field) acc = atof(field);
        }
        fprintf(stderr, "loss %.4f -> %.4f over %d rows, accuracy column at 60: %.4f\n", first, last, rows, acc);
        CHECK(rows == 60);
        CHECK(first > 0.3 && first < 1.5);
        CHECK(last < 0.5 * log(2.0));
        CHECK(acc > 0.9);
        free(text);
    }
    snprintf(path, sizeof path, "%s/metrics.json", out);
    char *metrics = file_read_all(path, 0, NULL, err, sizeof err);
    CHECK(metrics && strstr(metrics, "\"accuracy\": ") && strstr(metrics, "\"objective\": \"classify\""));
    free(metrics);
    snprintf(path, sizeof path, "%s/samples.png", out);
    CHECK(access(path, F_OK) != 0); /* a classifier is not a generator: no pictures */

    /* resumed: 30 steps, then --resume to 60, give the unbroken run's checkpoint bit for bit (the labelled
     * batches are a function of the step, as the unlabelled ones) */
    char half[4200], a[4400], b[4400];
    snprintf(half, sizeof half, "%s/half", root);
    m = load(data, 2, "-(features(x) @ W2 + b2)", stderr);
    CHECK(m && ebmc_set(m, "steps", "30", stderr) == 0);
    if (m) CHECK_MSG(train(m, half, &r, err, sizeof err) == 0, "%s", err);
    ebmc_free(m);
    m = ebmc_load_run(half, stderr);
    CHECK(m && ebmc_set(m, "steps", "60", stderr) == 0);
    if (m) CHECK_MSG(ebmc_resume(m, half, NULL, stderr, &r) == 0 && r.steps_done == 60, "resume to 60");
    ebmc_free(m);
    snprintf(a, sizeof a, "%s/model.ckpt", out);
    snprintf(b, sizeof b, "%s/model.ckpt", half);
    size_t la = 0, lb = 0;
    char *ca = file_read_all(a, 0, &la, err, sizeof err), *cb = file_read_all(b, 0, &lb, err, sizeof err);
    CHECK(ca && cb && la == lb && memcmp(ca, cb, la) == 0);
    free(ca), free(cb);

    /* refusals */
    m = load(data, 2, "sum(features(x) @ W2 + b2, 1)", stderr); /* one energy per sample */
    CHECK(m != NULL);
    if (m) {
        CHECK(train(m, NULL, &r, err, sizeof err) != 0);
        CHECK_MSG(strstr(err, "one value per label") != NULL, "%s", err);
        ebmc_free(m);
    }
    m = load(data, 2, "-(features(x) @ W2 + b2)", stderr);
    CHECK(m != NULL);
    if (m) {
        CHECK(ebmc_set(m, "objective", "dcd-ve", stderr) == 0);
        CHECK(train(m, NULL, &r, err, sizeof err) != 0);
        CHECK_MSG(strstr(err, "returns 2 values per sample") != NULL, "%s", err);
        ebmc_free(m);
    }
    /* a model whose train block does not say classify: [B, K] is a located error, as before */
    m = ebmc_load_string("param W: [4, 3] = zeros()\nenergy(x: [B, 4]) {\n  return x @ W\n}\n", "t.ebm", NULL);
    CHECK(m == NULL);
    /* unlabelled data: a .csv file of 64 values a row */
    snprintf(path, sizeof path, "%s/images.csv", root);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 40; i++)
        for (int j = 0; j < 64; j++) fprintf(f, "%d%c", (i + j) % 7, j == 63 ? '\n' : ',');
    if (f) fclose(f);
    m = ebmc_load_string("param W: [64, 2] = zeros()\nenergy(x: [B, 64]) {\n  return x @ W\n}\n"
                         "train {\n  objective = classify\n  batch = 8\n  steps = 2\n}\n",
                         "csv.ebm", stderr);
    CHECK(m != NULL);
    if (m) {
        CHECK(ebmc_set(m, "data", path, stderr) == 0);
        CHECK(train(m, NULL, &r, err, sizeof err) != 0);
        CHECK_MSG(strstr(err, "needs labelled data") != NULL, "%s", err);
        ebmc_free(m);
    }
    /* a label the energy has no value for: the set's first training label becomes 2, the energy has 2 */
    char three[4200];
    snprintf(three, sizeof three, "%s/three", root);
    CHECK(make_dirs(three, err, sizeof err) == 0);
    CHECK(write_two_classes(three, 8, 64, 16) == 0);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", three);
    f = fopen(path, "r+b");
    if (f) fseek(f, 8, SEEK_SET), fputc(2, f), fclose(f);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", three);
    m = load(path, 2, "-(features(x) @ W2 + b2)", stderr);
    CHECK(m != NULL);
    if (m) {
        CHECK(ebmc_set(m, "batch", "64", stderr) == 0);
        CHECK(train(m, NULL, &r, err, sizeof err) != 0);
        CHECK_MSG(strstr(err, "has a label 2") != NULL, "%s", err);
        ebmc_free(m);
    }
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", root);
    return test_report();
}
