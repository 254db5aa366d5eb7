/* run_report.h: what a training run shows, chosen by the kind of data and nothing else:
 *   every source   the held-out samples' mean energy (log.csv, metrics.json);
 *   2-D points     held-out grid NLL and TV (exp(-E) normalized on a grid), MMD^2 of model samples,
 *                  density.png (held-out histogram | model density) and samples.png (scatter plots);
 *   images         samples.png: rows of held-out data, the last step's negatives, samples from noise
 *                  and samples started at held-out images (MALA on E).
 *   a classifier   (objective classify) held-out accuracy in log.csv and metrics.json, no pictures: it is
 *                  trained as a feature network for FCD, not as a generator.
 * The training loop calls run_evaluate as it goes and run_write_report at the end; `ebmc eval` calls
 * them on a saved run. */
#ifndef EBMC_RUN_REPORT_H
#define EBMC_RUN_REPORT_H

#include <stdint.h>

#include "config.h"
#include "data.h"
#include "model.h"
#include "sampler.h"

struct train_summary;

/* The held-out samples a run is scored on (loaded once per run). */
struct held_out {
    float *x;
    int32_t *labels; /* [n] class labels (-1: unlabelled) */
    int64_t n;
};
/* Loads up to the run's evaluation size (2-D: 20000 points from their own stream; otherwise up to 1000
 * samples of the source's held-out part). Returns 0, or -1 on out of memory. */
int held_out_load(struct held_out *h, const struct data_source *ds, uint64_t seed);
void held_out_free(struct held_out *h);

/* The data box chains from noise start in: the source's [lo, hi] per value. */
struct data_box data_source_box(const struct data_source *ds);
/* Whether the source's samples are 2-D points, which get the grid evaluation. */
int data_is_2d(const struct data_source *ds);

struct run_eval {
    double nll, tv;      /* 2-D: held-out grid NLL (nats) and TV; NaN otherwise */
    double energy_test;  /* mean energy of the held-out samples */
    double accuracy;     /* a classifier's held-out accuracy (classify.h); NaN otherwise */
};
int run_evaluate(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                 const struct held_out *h, struct run_eval *e);

/* MMD^2 of c->n_samples model samples against held-out points (2-D; NaN for other data). */
int run_sample_mmd(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                   const struct held_out *h, double *mmd2);

/* The pictures (density.png and samples.png, or samples.png of images) and metrics.json of a run into
 * out_dir; for 2-D data also s->mmd2, from the samples drawn for samples.png. negatives: the last
 * step's, [batch, D] (NULL: that row stays empty). Returns 0, or -1 with "path: problem" in err. */
int run_write_report(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                     const struct held_out *h, const float *negatives, const char *out_dir, const char *model_name,
                     struct train_summary *s, char *err, size_t errlen);

/* At an evaluation during training (not the last): for image data, the picture samples.png will show at
 * the end, as samples-STEP.png (step zero-padded to 6 digits), so a long run shows how its samples
 * evolve; other data, and classifiers, write nothing. Returns 0, or -1 with "path: problem" in err. */
int run_write_progress_png(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                           const struct held_out *h, const float *negatives, const char *out_dir, int64_t step,
                           char *err, size_t errlen);

/* n model samples (MALA chains of `steps` steps from noise; annealed, `steps` per level, for a time
 * objective of c) as a picture: a scatter plot over the data box for 2-D points, a grid of images 16 to
 * a row for images. Returns 0, or -1 with "path: problem". */
int run_write_samples_png(const struct train_config *c, const struct data_source *ds, const float *x, int64_t n,
                          int steps, const char *path, char *err, size_t errlen);

#endif
