/* restore.h: denoising with a trained energy as the prior (objectives.md, "Denoising"). An observation
 * y = x + sigma eps is restored from the posterior q(x | y) ~ exp(-U_y(x)),
 *     U_y(x) = E(x) + |y - x|^2 / (2 sigma^2),
 * the same U_y DCD-VE samples in training: by MALA on U_y started at y, reporting the mean of the chain
 * over its last half (an estimate of the posterior mean, the restoration of least expected squared
 * error), or by descent on U_y (MAP).
 *
 * A time-dependent energy E(x, t) restores by MALA from the matching level instead (objectives.md,
 * "Time-dependent EBM"): y scaled by mean_t is distributed as the level-t data x_t = mean_t x + sd_t eps
 * when sd_t / mean_t = sigma, so y starts the annealed generation at the level t* nearest that, goes down
 * the ladder as generation does (K MALA steps a level, each level's own step), and the restoration is the
 * mean of level 0's chain over its last half. MAP stays descent on U_y with E(x, 0). */
#ifndef EBMC_RESTORE_H
#define EBMC_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "image.h"
#include "sampler.h"

enum restore_method { RESTORE_MALA, RESTORE_MAP };

struct restore_options {
    enum restore_method method;
    double sigma;     /* the noise level of the observations */
    int steps;        /* MALA steps, or descent steps */
    double step_size; /* eta of x' = x - eta/2 grad U (+ sqrt(eta) xi for MALA); 0: 0.1 sigma^2 for MALA,
                         0.5 sigma^2 for MAP (a step on the Gaussian term alone then halves the distance to y) */
    uint64_t seed;
    const struct train_config *ladder; /* a time objective's settings: MALA anneals from the matching level */
};

/* The level annealing restores observations of noise sigma from: t in 1 .. levels with sd_t / mean_t
 * nearest sigma. */
int restore_level(const struct train_config *c, double sigma);

/* Restores n observations y[n, D] into out[n, D], in chunks of the model's batch. st (may be NULL)
 * accumulates MALA statistics. Returns 0, or -1 on out of memory. */
int restore_images(struct rt_model *m, const struct restore_options *o, const float *y, float *out, size_t n,
                   struct chain_stats *st);


/* The denoising experiment on a run's held-out images at one noise level: the first n_tune held-out
 * images (fewer when the held-out set has fewer than n_tune + n_eval) choose the Gaussian filter's width (denoise.h), the n_eval after them are corrupted with
 * noise o->sigma (stream TAG_DENOISE, sub 0), restored with the model, and scored (PSNR on the data's
 * range, SSIM) against their clean versions beside the noisy input and the filter. Writes png_path (rows:
 * clean, noisy, filter, model; up to 16 images) and json_path (every figure and setting) when not NULL. */
struct restore_summary {
    int64_t n;                          /* images scored */
    int64_t n_tune;                     /* images the filter was tuned on */
    double filter_sigma;                /* pixels, chosen on the tuning images */
    struct image_quality noisy, filter, model;
    double acceptance;                  /* MALA's, 0 for MAP */
    int level;                          /* annealed from this level (a time objective's MALA); -1 if not */
    double level_sigma;                 /* that level's sd_t / mean_t */
    double seconds;                     /* the model's restoration */
};
struct data_source;
int restore_experiment(struct rt_model *m, const struct data_source *ds, const struct restore_options *o,
                       int64_t n_tune, int64_t n_eval, const char *png_path, const char *json_path,
                       struct restore_summary *r, char *err, size_t errlen);

#endif
