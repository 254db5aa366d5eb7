/* Checkpoints: a round trip restores every byte; truncated, damaged, foreign and mismatched files are
 * refused with a message naming the file, and leave the model untouched. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "test.h"

static void make_model(struct rt_model *m, int64_t cols) {
    memset(m, 0, sizeof *m);
    int64_t w[2] = {3, cols}, b[1] = {cols};
    rt_model_add_param(m, "W", 2, w);
    rt_model_add_param(m, "b", 1, b);
    for (int k = 0; k < m->n_params; k++)
        for (int64_t i = 0; i < m->params[k].numel; i++) {
            m->params[k].value[i] = (float)(k * 100 + i) * 0.5f;
            m->params[k].adam_m[i] = (float)i;
            m->params[k].adam_v[i] = (float)(i * i);
        }
}

static int same_values(const struct rt_model *a, const struct rt_model *b) {
    for (int k = 0; k < a->n_params; k++) {
        size_t n = sizeof(float) * (size_t)a->params[k].numel;
        if (memcmp(a->params[k].value, b->params[k].value, n) || memcmp(a->params[k].adam_m, b->params[k].adam_m, n) ||
            memcmp(a->params[k].adam_v, b->params[k].adam_v, n))
            return 0;
    }
    return 1;
}

static void zero(struct rt_model *m) {
    for (int k = 0; k < m->n_params; k++) {
        size_t n = sizeof(float) * (size_t)m->params[k].numel;
        memset(m->params[k].value, 0, n), memset(m->params[k].adam_m, 0, n), memset(m->params[k].adam_v, 0, n);
    }
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void copy_prefix(const char *from, const char *to, long n, long flip_at) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    for (long i = 0; i < n; i++) {
        int c = fgetc(in);
        fputc(i == flip_at ? c ^ 0x10 : c, out);
    }
    fclose(in), fclose(out);
}

int main(void) {
    char dir[] = "/tmp/ebmc-ckpt-XXXXXX", path[256], bad[256], err[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);

    struct rt_model a, b;
    make_model(&a, 5);
    make_model(&b, 5);
    CHECK(checkpoint_save(&a, 1234, path, err, sizeof err) == 0);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0); /* the temporary file was renamed away */
    zero(&b);
    int64_t step = 0;
    CHECK(checkpoint_load(&b, &step, path, err, sizeof err) == 0);
    CHECK(step == 1234);
    CHECK(same_values(&a, &b));

    /* Every truncation is refused and leaves the model as it was. */
    long size = file_size(path);
    int refused = 0;
    for (long n = 0; n < size; n++) {
        copy_prefix(path, bad, n, -1);
        zero(&b);
        refused += checkpoint_load(&b, NULL, bad, err, sizeof err) != 0;
        CHECK(b.params[0].value[1] == 0.0f);
    }
    CHECK(refused == size);
    CHECK(strstr(err, bad) != NULL);

    /* A flipped bit anywhere is caught by the checksum (or the magic). */
    for (long at = 0; at < size; at += 7) {
        copy_prefix(path, bad, size, at);
        CHECK(checkpoint_load(&b, NULL, bad, err, sizeof err) != 0);
    }
    copy_prefix(path, bad, size, 40);
    checkpoint_load(&b, NULL, bad, err, sizeof err);
    CHECK(strstr(err, "checksum") != NULL);

    /* A foreign file, a missing file, a model of another shape. */
    FILE *f = fopen(bad, "w");
    fputs("P6\n1 1\n255\n...", f);
    fclose(f);
    CHECK(checkpoint_load(&b, NULL, bad, err, sizeof err) != 0 && strstr(err, "not an ebmc checkpoint"));
    CHECK(checkpoint_load(&b, NULL, "/nonexistent/x.ckpt", err, sizeof err) != 0 && strstr(err, "cannot open"));
    struct rt_model c;
    make_model(&c, 6);
    CHECK(checkpoint_load(&c, NULL, path, err, sizeof err) != 0);
    CHECK_MSG(strstr(err, "'W' has shape [3, 5]; the model's has [3, 6]") != NULL, "%s", err);

    /* An unwritable place is an error, not a crash. */
    CHECK(checkpoint_save(&a, 1, "/nonexistent/dir/model.ckpt", err, sizeof err) != 0 && strstr(err, "cannot write"));

    rt_model_free(&a), rt_model_free(&b), rt_model_free(&c);
    remove(path), remove(bad), rmdir(dir);
    return test_report();
}
