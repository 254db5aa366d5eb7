/* gen2d.c: the built-in 2-D generators (runtime/data2d.c) as an endless source. Step t's global batch is
 * the draw (seed, TAG_DATA stream t) of B points, the held-out set the draw (seed, TAG_TEST stream 0): the
 * streams the training loop used before sources existed, so 2-D runs stay bitwise the same. */
#include "loaders.h"

#include "data2d.h"
#include "objective.h"
#include "rng.h"

int data_gen2d_open(struct data_source *ds, int kind) {
    float half = data2d_half_width((enum data2d_kind)kind);
    ds->kind = "2d";
    ds->gen = kind;
    ds->ndim = 1, ds->shape[0] = 2, ds->dim = 2;
    ds->lo = -half, ds->hi = half;
    return 0;
}

void data_gen2d_rows(const struct data_source *ds, uint64_t seed, int64_t step, int64_t first, int64_t rows, float *out) {
    data2d_sample_from((enum data2d_kind)ds->gen, out, (size_t)first, (size_t)rows, seed,
                       rng_stream(TAG_DATA, (uint64_t)step, 0));
}

void data_gen2d_held_out(const struct data_source *ds, uint64_t seed, float *out, int64_t n) {
    data2d_sample((enum data2d_kind)ds->gen, out, (size_t)n, seed, rng_stream(TAG_TEST, 0, 0));
}
