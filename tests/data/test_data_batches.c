/* test_data_batches: batches are a pure function of (seed, step, rank): the 2-D generators give exactly
 * the draws the training loop always used; for a finite source each epoch covers every training sample
 * once, epochs differ, a step's batch is the same whenever it is asked for, ranks partition the global
 * batch, and held-out samples never appear in a batch. */
#include "data.h"
#include "data2d.h"
#include "files.h"
#include "objective.h"
#include "rng.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static char err[8192];

static void test_generators(void) {
    struct data_source ds;
    CHECK_MSG(data_open(&ds, "rings", NULL, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(ds.kind, "2d") == 0 && ds.ndim == 1 && ds.shape[0] == 2 && ds.dim == 2 && ds.n_train == 0);
    CHECK(ds.lo == -data2d_half_width(DATA2D_RINGS) && ds.hi == data2d_half_width(DATA2D_RINGS));
    enum { B = 10 };
    float want[2 * B], got[2 * B];
    for (int64_t step = 0; step < 3; step++) {
        data2d_sample(DATA2D_RINGS, want, B, 42, rng_stream(TAG_DATA, (uint64_t)step, 0));
        data_batch(&ds, 42, step, B, 0, 1, got);
        CHECK(memcmp(want, got, sizeof want) == 0);
        /* three ranks' rows, one after the other, are the global batch */
        int64_t at = 0;
        for (int r = 0; r < 3; r++) {
            data_batch(&ds, 42, step, B, r, 3, got + at);
            at += 2 * ((r + 1) * B / 3 - r * B / 3);
        }
        CHECK(at == 2 * B && memcmp(want, got, sizeof want) == 0);
    }
    float held[2 * 7];
    int32_t labels[7];
    data2d_sample(DATA2D_RINGS, want, 7, 42, rng_stream(TAG_TEST, 0, 0));
    CHECK(data_held_out(&ds, 42, held, labels, 7) == 7);
    CHECK(memcmp(want, held, sizeof held) == 0 && labels[0] == -1);
    data_close(&ds);
}

/* Which sample a row is: row i of the file holds the value i everywhere. */
static int id(const float *row) { return (int)row[0]; }

static void test_epochs(const char *path) {
    enum { N = 23, D = 3, B = 5 };
    float x[N * D];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) x[i * D + j] = (float)i;
    uint8_t buf[1024];
    size_t len = make_npy(buf, "<f4", "(23, 3)", x, sizeof x);
    write_bytes(path, buf, len);
    struct data_source ds;
    struct data_options o = {DATA_SCALE_NONE, 0, 0.2, 0};
    CHECK_MSG(data_open(&ds, path, &o, err, sizeof err) == 0, "%s", err);
    CHECK(ds.n_train == 19 && ds.n_test == 4);
    int held[4 * D];
    float t[4 * D];
    CHECK(data_held_out(&ds, 7, t, NULL, 10) == 4);
    for (int i = 0; i < 4; i++) held[i] = id(t + i * D);

    /* 8 steps of 5 = 40 positions: epoch 0 is 0..18, epoch 1 19..37, then 2 of epoch 2 */
    enum { STEPS = 8 };
    int seq[STEPS * B];
    float rows[B * D];
    for (int s = 0; s < STEPS; s++) {
        data_batch(&ds, 7, s, B, 0, 1, rows);
        for (int i = 0; i < B; i++) {
            seq[s * B + i] = id(rows + i * D);
            CHECK(rows[i * D + 2] == rows[i * D]); /* whole rows */
        }
    }
    for (int e = 0; e < 2; e++) {
        int count[N] = {0};
        for (int i = 0; i < 19; i++) count[seq[e * 19 + i]]++;
        for (int i = 0; i < N; i++) {
            int is_held = i == held[0] || i == held[1] || i == held[2] || i == held[3];
            CHECK_MSG(count[i] == (is_held ? 0 : 1), "epoch %d: sample %d taken %d times", e, i, count[i]);
        }
    }
    CHECK(memcmp(seq, seq + 19, 19 * sizeof(int)) != 0); /* epochs are different permutations */

    /* a step's batch does not depend on what was asked before (the cached permutation is refreshed) */
    for (int s = STEPS - 1; s >= 0; s--) {
        data_batch(&ds, 7, s, B, 0, 1, rows);
        for (int i = 0; i < B; i++) CHECK(id(rows + i * D) == seq[s * B + i]);
    }
    /* ranks: 2 and 3 of them take disjoint consecutive rows of the global batch */
    for (int n = 2; n <= 3; n++)
        for (int s = 0; s < STEPS; s++) {
            int at = 0;
            for (int r = 0; r < n; r++) {
                int rows_r = (r + 1) * B / n - r * B / n;
                data_batch(&ds, 7, s, B, r, n, rows);
                for (int i = 0; i < rows_r; i++) CHECK(id(rows + i * D) == seq[s * B + at + i]);
                at += rows_r;
            }
            CHECK(at == B);
        }
    /* another seed, another order; another open, the same order */
    data_batch(&ds, 8, 0, B, 0, 1, rows);
    int same = 1;
    for (int i = 0; i < B; i++) same &= id(rows + i * D) == seq[i];
    struct data_source again;
    CHECK(data_open(&again, path, &o, err, sizeof err) == 0);
    data_batch(&again, 7, 3, B, 0, 1, rows);
    for (int i = 0; i < B; i++) CHECK(id(rows + i * D) == seq[3 * B + i]);
    data_close(&again);
    CHECK(!same);
    data_close(&ds);

    /* the held-out part does not depend on the seed or the limit; the limit bounds the training part */
    o.limit = 6;
    CHECK(data_open(&ds, path, &o, err, sizeof err) == 0 && ds.n_train == 6 && ds.n_test == 4);
    CHECK(data_held_out(&ds, 99, t, NULL, 4) == 4);
    for (int i = 0; i < 4; i++) CHECK(id(t + i * D) == held[i]);
    int count[N] = {0};
    for (int s = 0; s < 6; s++) {
        data_batch(&ds, 1, s, 1, 0, 1, rows);
        count[id(rows)]++;
    }
    int distinct = 0;
    for (int i = 0; i < N; i++) distinct += count[i] == 1;
    CHECK(distinct == 6);
    data_close(&ds);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_data_batches SCRATCH_DIR\n");
        return 2;
    }
    snprintf(test_dir, sizeof test_dir, "%s", argv[1]);
    test_mkdir(test_dir);
    test_generators();
    test_epochs(tpath("ids.npy"));
    return test_report();
}
