/* restore.c: posterior-mean (MALA) and MAP restoration of noisy observations (restore.h). */
#include "restore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "denoise.h"
#include "grid.h"
#include "rng.h"
#include "support.h"

int restore_level(const struct train_config *c, double sigma) {
    int best = 1;
    double gap = INFINITY;
    for (int t = 1; t <= c->levels; t++) {
        struct ladder_level l;
        if (config_ladder(c, t, &l) == 0 && fabs(l.sd / l.mean - sigma) < gap) gap = fabs(l.sd / l.mean - sigma), best = t;
    }
    return best;
}

/* A time objective's MALA restoration (restore.h): y * mean_t* is x_t*, then anneal_down from level t*,
 * the restoration being level 0's chain averaged over its last half. */
static int restore_annealed(struct rt_model *m, const struct restore_options *o, const float *y, float *out, size_t n,
                            struct chain_stats *st) {
    const struct train_config *c = o->ladder;
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *x = malloc(b * d * sizeof(float));
    double *sum = malloc(b * d * sizeof(double));
    int rc = x && sum ? 0 : -1, top = restore_level(c, o->sigma);
    struct ladder_level l;
    config_ladder(c, top, &l);
    for (size_t i = 0; i < n && rc == 0; i += b) {
        size_t k = n - i < b ? n - i : b;
        for (size_t r = 0; r < b; r++) /* pad: repeat */
            for (size_t j = 0; j < d; j++) x[r * d + j] = (float)l.mean * y[(i + r % k) * d + j];
        memset(sum, 0, b * d * sizeof(double));
        rc = anneal_down(m, c, top, o->steps, x, sum, o->seed, TAG_DENOISE, i / b, st);
        int kept = o->steps - o->steps / 2;
        for (size_t j = 0; j < k * d; j++) out[i * d + j] = kept ? (float)(sum[j] / kept) : x[j];
        if (m->progress) m->progress(m->progress_ctx, i + k, n);
    }
    free(x), free(sum);
    return rc;
}

int restore_images(struct rt_model *m, const struct restore_options *o, const float *y, float *out, size_t n,
                   struct chain_stats *st) {
    if (o->ladder && o->method == RESTORE_MALA) return restore_annealed(m, o, y, out, n, st);
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *yb = malloc(b * d * sizeof(float)), *x = malloc(b * d * sizeof(float));
    double *sum = malloc(b * d * sizeof(double));
    if (!yb || !x || !sum) {
        free(yb), free(x), free(sum);
        return -1;
    }
    double s2 = o->sigma * o->sigma;
    int map = o->method == RESTORE_MAP;
    double eta = o->step_size > 0 ? o->step_size : (map ? 0.5 : 0.1) * s2;
    int burn = map ? o->steps - 1 : o->steps / 2; /* averaged: the states after step burn */
    /* MAP: descent is ULA without noise */
    struct langevin lv = {.kind = map ? SAMPLER_ULA : SAMPLER_MALA, .steps = o->steps, .step_size = eta,
                          .noise_scale = map ? 0.0 : 1.0, .sum = sum, .sum_from = burn};
    struct potential pot = {.model = m, .y = yb, .a = 1.0f, .s = (float)o->sigma};
    int rc = 0, kept = o->steps > 0 ? o->steps - burn : 0;
    for (size_t i = 0; i < n && rc == 0; i += b) {
        size_t k = n - i < b ? n - i : b;
        for (size_t r = 0; r < b; r++) memcpy(yb + r * d, y + (i + r % k) * d, d * sizeof(float)); /* pad: repeat */
        memcpy(x, yb, b * d * sizeof(float));
        memset(sum, 0, b * d * sizeof(double));
        rc = langevin_run(&pot, x, &lv, o->seed, TAG_DENOISE, i / b, st);
        for (size_t j = 0; j < k * d; j++) out[i * d + j] = kept > 0 ? (float)(sum[j] / kept) : yb[j];
        if (m->progress) m->progress(m->progress_ctx, i + k, n);
    }
    free(yb), free(x), free(sum);
    return rc;
}

static void write_quality(struct json *j, const char *key, const struct image_quality *q) {
    json_key(j, key), json_object(j);
    json_key(j, "psnr_mean"), json_number(j, q->psnr_mean);
    json_key(j, "psnr_sd"), json_number(j, q->psnr_sd);
    json_key(j, "ssim_mean"), json_number(j, q->ssim_mean);
    json_key(j, "ssim_sd"), json_number(j, q->ssim_sd);
    json_end(j);
}

static int write_summary_json(const char *path, const struct data_source *ds, const struct restore_options *o,
                              const struct restore_summary *r, char *err, size_t errlen) {
    struct atomic_file af;
    if (atomic_open(&af, path, "w", err, errlen) != 0) return -1;
    struct json j;
    json_begin(&j, af.f);
    json_object(&j);
    json_key(&j, "data"), json_string(&j, ds->spec);
    json_key(&j, "noise_sigma"), json_number(&j, o->sigma);
    json_key(&j, "method"), json_string(&j, o->method == RESTORE_MAP ? "map" : "mala");
    json_key(&j, "steps"), json_int(&j, o->steps);
    json_key(&j, "step_size"), json_number(&j, o->step_size);
    json_key(&j, "seed"), json_int(&j, (int64_t)o->seed);
    json_key(&j, "images"), json_int(&j, r->n);
    json_key(&j, "psnr_range"), json_number(&j, ds->hi - ds->lo);
    write_quality(&j, "noisy", &r->noisy);
    write_quality(&j, "gaussian_filter", &r->filter);
    json_key(&j, "gaussian_filter_sigma_pixels"), json_number(&j, r->filter_sigma);
    json_key(&j, "filter_tuning_images"), json_int(&j, r->n_tune);
    write_quality(&j, "model", &r->model);
    json_key(&j, "acceptance"), json_number(&j, r->acceptance);
    if (r->level >= 0) {
        json_key(&j, "annealed_from_level"), json_int(&j, r->level);
        json_key(&j, "annealed_from_level_sigma"), json_number(&j, r->level_sigma);
    }
    json_key(&j, "seconds"), json_number(&j, r->seconds);
    json_end(&j);
    json_finish(&j);
    return atomic_commit(&af, err, errlen);
}

int restore_experiment(struct rt_model *m, const struct data_source *ds, const struct restore_options *o,
                       int64_t n_tune, int64_t n_eval, const char *png_path, const char *json_path,
                       struct restore_summary *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (!ds->is_image) {
        snprintf(err, errlen, "denoising needs image data; %s has samples of %lld values", ds->spec, (long long)ds->dim);
        return -1;
    }
    if (n_eval >= 1 && n_tune > ds->n_test - n_eval) n_tune = ds->n_test - n_eval; /* a small held-out set */
    if (n_tune < 1 || n_eval < 1) {
        snprintf(err, errlen, "%s holds %lld held-out images: scoring %lld needs at least %lld (one more tunes the filter)",
                 ds->spec, (long long)ds->n_test, (long long)n_eval, (long long)n_eval + 1);
        return -1;
    }
    int64_t total = n_tune + n_eval;
    r->n_tune = n_tune;
    int c = (int)ds->shape[0], h = (int)ds->shape[1], w = (int)ds->shape[2];
    size_t d = (size_t)ds->dim, count = image_values((size_t)total, c, h, w);
    double range = ds->hi - ds->lo;
    float *clean = count ? malloc(count * sizeof(float)) : NULL, *noisy = count ? malloc(count * sizeof(float)) : NULL;
    float *restored = malloc((size_t)n_eval * d * sizeof(float)), *filtered = malloc((size_t)n_eval * d * sizeof(float));
    struct denoise_baseline base;
    struct chain_stats st = {0, 0};
    int rc = -1;
    if (!clean || !noisy || !restored || !filtered) {
        snprintf(err, errlen, "out of memory for %lld images", (long long)total);
        goto done;
    }
    data_held_out(ds, o->seed, clean, NULL, total);
    if (denoise_baseline(clean, (size_t)n_tune, (size_t)n_eval, c, h, w, range, o->sigma, o->seed,
                         rng_stream(TAG_DENOISE, 0, 0), noisy, &base, err, errlen) != 0)
        goto done;
    const float *clean_eval = clean + (size_t)n_tune * d, *noisy_eval = noisy + (size_t)n_tune * d;
    double t0 = clock_seconds();
    if (restore_images(m, o, noisy_eval, restored, (size_t)n_eval, &st) != 0) {
        snprintf(err, errlen, "out of memory restoring");
        goto done;
    }
    r->seconds = clock_seconds() - t0;
    if (image_quality(restored, clean_eval, (size_t)n_eval, c, h, w, range, NULL, NULL, &r->model, err, errlen) != 0 ||
        denoise_blur(filtered, noisy_eval, (size_t)n_eval, c, h, w, base.sigma, err, errlen) != 0)
        goto done;
    r->n = n_eval, r->filter_sigma = base.sigma, r->noisy = base.noisy, r->filter = base.blurred;
    r->acceptance = st.proposed ? (double)st.accepted / (double)st.proposed : 0;
    r->level = -1, r->level_sigma = NAN;
    if (o->ladder && o->method == RESTORE_MALA) {
        struct ladder_level l;
        r->level = restore_level(o->ladder, o->sigma);
        config_ladder(o->ladder, r->level, &l);
        r->level_sigma = l.sd / l.mean;
    }
    if (png_path) {
        int show = n_eval < 16 ? (int)n_eval : 16;
        char title[160], filter_label[64];
        if (r->level >= 0)
            snprintf(title, sizeof title, "denoising at sigma %.3g: annealed from level %d (sigma %.3g), %d MALA steps a level",
                     o->sigma, r->level, r->level_sigma, o->steps);
        else
            snprintf(title, sizeof title, "denoising at sigma %.3g: %s, %d steps", o->sigma,
                     o->method == RESTORE_MAP ? "MAP descent" : "MALA posterior mean", o->steps);
        snprintf(filter_label, sizeof filter_label, "Gaussian filter %.2g px", base.sigma);
        struct grid_row rows[4] = {{"clean", clean_eval, show}, {"noisy", noisy_eval, show},
                                   {filter_label, filtered, show}, {"EBM restored", restored, show}};
        struct grid_spec spec = {title, rows, 4, c, h, w, ds->lo, ds->hi, 0};
        if (grid_write_png(png_path, &spec, err, errlen) != 0) goto done;
    }
    rc = json_path ? write_summary_json(json_path, ds, o, r, err, errlen) : 0;
done:
    free(clean), free(noisy), free(restored), free(filtered);
    return rc;
}
