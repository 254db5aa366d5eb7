/* Checkpoints: a round trip restores every byte, the run state (PCD replay buffer, statistics) included;
 * truncated, damaged, foreign and mismatched files are refused with a message naming the file, and leave
 * the model untouched; a non-finite state is never saved; version 1 files still load. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "test.h"

static void make_model(struct rt_model *m, int64_t cols) {
    memset(m, 0, sizeof *m);
    m->dim = 2;
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

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Reads a checkpoint, lets edit() change its bytes, rewrites it with a fresh checksum. */
static void rewrite(const char *from, const char *to, long (*edit)(unsigned char *, long)) {
    long n = file_size(from);
    unsigned char *d = malloc((size_t)n);
    FILE *f = fopen(from, "rb");
    if (!d || !f || fread(d, 1, (size_t)n, f) != (size_t)n) abort();
    fclose(f);
    n = edit(d, n - 8);
    uint64_t h = fnv1a(d, (size_t)n);
    memcpy(d + n, &h, 8);
    f = fopen(to, "wb");
    fwrite(d, 1, (size_t)n + 8, f);
    fclose(f);
    free(d);
}

/* version 2 without sections -> version 1: drop the section count (the 4 bytes before the checksum) */
static long to_version1(unsigned char *d, long body) {
    uint32_t v = 1;
    memcpy(d + 8, &v, 4);
    return body - 4;
}

static long rename_section(unsigned char *d, long body) {
    for (long i = 0; i + 4 <= body; i++)
        if (memcmp(d + i, "RUN1", 4) == 0) {
            memcpy(d + i, "XYZ1", 4);
            break;
        }
    return body;
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

    /* The run state: replay buffer, MALA statistics, initial NLL. */
    char state[256];
    snprintf(state, sizeof state, "%s/state.ckpt", dir);
    struct run_state rs = {{0}, {0}, 0, 0}, back;
    CHECK(replay_buffer_init(&rs.pcd, 7, 2, (struct data_box){-4.0f, 4.0f}, 11) == 0);
    rs.pcd.taken = 70, rs.pcd.resets = 5, rs.chains.proposed = 1000, rs.chains.accepted = 777, rs.nll_start = 4.25;
    CHECK(checkpoint_save_state(&a, 99, &rs, state, err, sizeof err) == 0);
    zero(&b);
    memset(&back, 0xff, sizeof back);
    CHECK(checkpoint_load_state(&b, &step, &back, state, err, sizeof err) == 0);
    CHECK(step == 99 && same_values(&a, &b));
    CHECK(back.has_run_info && back.nll_start == 4.25 && back.chains.proposed == 1000 && back.chains.accepted == 777);
    CHECK(back.pcd.x && back.pcd.index && back.pcd.n == 7 && back.pcd.taken == 70 && back.pcd.resets == 5);
    CHECK(back.pcd.x && memcmp(back.pcd.x, rs.pcd.x, sizeof(float) * 14) == 0);
    replay_buffer_free(&back.pcd);
    /* A plain load of a file with a run state restores the parameters alone; a file without one gives an
     * empty state. */
    zero(&b);
    CHECK(checkpoint_load(&b, NULL, state, err, sizeof err) == 0 && same_values(&a, &b));
    CHECK(checkpoint_load_state(&b, NULL, &back, path, err, sizeof err) == 0);
    CHECK(!back.has_run_info && back.pcd.x == NULL);

    /* Truncations and flipped bits in the sections are refused too; the run state is left untouched. */
    size = file_size(state);
    refused = 0;
    for (long n = 0; n < size; n++) {
        copy_prefix(state, bad, n, -1);
        back.nll_start = -1;
        refused += checkpoint_load_state(&b, NULL, &back, bad, err, sizeof err) != 0;
        CHECK(back.nll_start == -1);
    }
    CHECK(refused == size);
    for (long at = 0; at < size; at += 5) {
        copy_prefix(state, bad, size, at);
        CHECK(checkpoint_load_state(&b, NULL, &back, bad, err, sizeof err) != 0);
    }
    rewrite(state, bad, rename_section);
    CHECK(checkpoint_load_state(&b, NULL, &back, bad, err, sizeof err) != 0);
    CHECK_MSG(strstr(err, "unknown section 'XYZ1'") != NULL, "%s", err);
    /* A buffer of points of another dimension is not this model's. */
    struct rt_model d3;
    make_model(&d3, 5);
    d3.dim = 3;
    CHECK(checkpoint_load_state(&d3, NULL, &back, state, err, sizeof err) != 0);
    CHECK_MSG(strstr(err, "replay buffer") != NULL, "%s", err);

    /* Version 1 files (no sections) still load. */
    rewrite(path, bad, to_version1);
    zero(&b);
    CHECK(checkpoint_load_state(&b, &step, &back, bad, err, sizeof err) == 0);
    CHECK(step == 1234 && same_values(&a, &b) && !back.has_run_info);

    /* A non-finite parameter, moment or chain is never saved: the file on disk stays as it was. */
    long before = file_size(state);
    a.params[1].value[2] = NAN;
    CHECK(checkpoint_save_state(&a, 100, &rs, state, err, sizeof err) != 0);
    CHECK_MSG(strstr(err, "non-finite") != NULL && strstr(err, "'b'") != NULL, "%s", err);
    a.params[1].value[2] = 1.0f, a.params[0].adam_v[0] = INFINITY;
    CHECK(checkpoint_save(&a, 100, state, err, sizeof err) != 0);
    a.params[0].adam_v[0] = 0.0f, rs.pcd.x[3] = NAN;
    CHECK(checkpoint_save_state(&a, 100, &rs, state, err, sizeof err) != 0 && strstr(err, "replay buffer"));
    CHECK(file_size(state) == before);
    CHECK(checkpoint_load_state(&b, &step, &back, state, err, sizeof err) == 0 && step == 99);
    replay_buffer_free(&back.pcd);
    replay_buffer_free(&rs.pcd);

    /* The model text is part of the identity: a checkpoint of one text is refused by a model of another
     * (same names and shapes), saying where they part; one without a text (older, or a model without
     * one) compares nothing. */
    static const char text[] = "energy(x) {\n  return silu(x)\n}\n";
    static const struct {
        const char *other, *says;
    } edits[] = {
        {"energy(x) {\n  return tanh(x)\n}\n", "(line 2 is '  return tanh(x)' here and '  return silu(x)' in the checkpoint)"},
        {"energy(x) {\n  return silu(x)\n}\n# more\n", "(line 4 is '# more' here and missing in the checkpoint)"},
        {"energy(x) {\n", "(line 2 is '  return silu(x)' in the checkpoint and missing here)"},
        {"energy(x) {\n  return silu(x)\x01\n}\n", "(line 2 is '  return silu(x)?' here and '  return silu(x)' in the checkpoint)"},
    };
    a.source = text;
    CHECK(checkpoint_save(&a, 7, path, err, sizeof err) == 0);
    b.source = text;
    zero(&b);
    CHECK_MSG(checkpoint_load(&b, &step, path, err, sizeof err) == 0 && step == 7 && same_values(&a, &b), "%s", err);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        b.source = edits[i].other;
        zero(&b);
        CHECK(checkpoint_load(&b, NULL, path, err, sizeof err) == CHECKPOINT_OTHER_TEXT);
        CHECK_MSG(strstr(err, "the model text is not the one this checkpoint was trained with") && strstr(err, edits[i].says),
                  "%s", err);
        CHECK(b.params[0].value[1] == 0.0f); /* refused: the model is untouched */
    }
    b.source = NULL;
    CHECK(checkpoint_load(&b, NULL, path, err, sizeof err) == 0);
    a.source = NULL;
    CHECK(checkpoint_save(&a, 7, path, err, sizeof err) == 0);
    b.source = edits[0].other;
    CHECK(checkpoint_load(&b, NULL, path, err, sizeof err) == 0);

    rt_model_free(&a), rt_model_free(&b), rt_model_free(&c), rt_model_free(&d3);
    remove(path), remove(bad), remove(state), rmdir(dir);
    return test_report();
}
