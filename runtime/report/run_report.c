/* run_report.c: evaluation, pictures and metrics.json of a training run (run_report.h). */
#include "run_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "data2d.h"
#include "eval2d.h"
#include "grid.h"
#include "plot.h"
#include "programs.h"
#include "run_dir.h"
#include "support.h"
#include "train.h"

enum { N_TEST_2D = 20000, N_TEST_MAX = 1000, N_SHOW = 16 };

int data_is_2d(const struct data_source *ds) { return ds->ndim == 1 && ds->shape[0] == 2 && ds->n_train == 0; }

struct data_box data_source_box(const struct data_source *ds) { return (struct data_box){ds->lo, ds->hi}; }

int held_out_load(struct held_out *h, const struct data_source *ds, uint64_t seed) {
    int64_t n = data_is_2d(ds) ? N_TEST_2D : ds->n_test < N_TEST_MAX ? ds->n_test : N_TEST_MAX;
    h->x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * (size_t)ds->dim);
    h->labels = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!h->x || !h->labels) return -1;
    h->n = data_held_out(ds, seed, h->x, h->labels, n);
    return 0;
}

void held_out_free(struct held_out *h) {
    free(h->x), free(h->labels);
    memset(h, 0, sizeof *h);
}

/* 2-D: the half width of the square the data lives in. */
static float half_width(const struct data_source *ds) { return ds->hi > -ds->lo ? ds->hi : -ds->lo; }

static int eval_grid(struct rt_model *m, const struct train_config *c, float half, const struct held_out *h,
                     double *nll, double *tv) {
    size_t cells = (size_t)c->grid * (size_t)c->grid;
    float *pts = malloc(cells * 2 * sizeof(float)), *e = malloc(cells * sizeof(float));
    double *logp = malloc(cells * sizeof(double));
    int rc = -1;
    if (pts && e && logp) {
        eval2d_grid_points(pts, c->grid, half);
        if (model_energy(m, pts, e, NULL, cells) == 0) {
            eval2d_normalize(logp, e, c->grid, half);
            *nll = eval2d_nll(logp, c->grid, half, h->x, (size_t)h->n);
            *tv = eval2d_tv(logp, c->grid, half, h->x, (size_t)h->n);
            rc = 0;
        }
    }
    free(pts), free(e), free(logp);
    return rc;
}

int run_evaluate(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                 const struct held_out *h, struct run_eval *e) {
    e->nll = e->tv = NAN, e->energy_test = NAN, e->accuracy = NAN;
    if (data_is_2d(ds) && eval_grid(m, c, half_width(ds), h, &e->nll, &e->tv) != 0) return -1;
    if (h->n == 0) return 0;
    if (m->n_classes > 0 && classify_accuracy(m, h->x, h->labels, h->n, &e->accuracy) != 0) return -1;
    float *en = malloc(sizeof(float) * (size_t)h->n);
    if (!en || model_energy(m, h->x, en, NULL, (size_t)h->n) != 0) {
        free(en);
        return -1;
    }
    double sum = 0;
    for (int64_t i = 0; i < h->n; i++) sum += en[i];
    e->energy_test = sum / (double)h->n;
    free(en);
    return 0;
}

int run_sample_mmd(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                   const struct held_out *h, double *mmd2) {
    *mmd2 = NAN;
    if (!data_is_2d(ds)) return 0;
    size_t n = (size_t)c->n_samples;
    float *samples = malloc(n * 2 * sizeof(float));
    int rc = samples ? model_samples(m, c, c->sample_steps, data_source_box(ds), NULL, samples, n) : -1;
    if (rc == 0) *mmd2 = eval2d_mmd(samples, n, h->x, n < (size_t)h->n ? n : (size_t)h->n);
    free(samples);
    return rc;
}

/* ---- pictures ---- */


static int write_density_png(struct rt_model *m, const struct train_config *c, float half, const struct held_out *h,
                             const char *path, char *err, size_t errlen) {
    int n = c->grid, panel = 384, pad = 24, title = 28;
    size_t cells = (size_t)n * (size_t)n;
    float *pts = malloc(cells * 2 * sizeof(float)), *e = malloc(cells * sizeof(float));
    float *dens = malloc(cells * sizeof(float)), *hist = calloc(cells, sizeof(float));
    double *logp = malloc(cells * sizeof(double));
    struct canvas cv = {0};
    int rc = -1;
    if (!pts || !e || !dens || !hist || !logp || canvas_init(&cv, 2 * panel + 3 * pad, panel + pad + title, 255, 255, 255)) {
        snprintf(err, errlen, "%s: out of memory drawing it", path);
        goto done;
    }
    eval2d_grid_points(pts, n, half);
    if (model_energy(m, pts, e, NULL, cells)) goto done;
    eval2d_normalize(logp, e, n, half);
    for (size_t i = 0; i < cells; i++) dens[i] = (float)exp(logp[i]);
    for (int64_t i = 0; i < h->n; i++) {
        int cx = (int)((h->x[2 * i] + half) / (2 * half) * n), cy = (int)((h->x[2 * i + 1] + half) / (2 * half) * n);
        if (cx >= 0 && cx < n && cy >= 0 && cy < n) hist[(size_t)cy * n + cx] += 1;
    }
    plot_heatmap(&cv, pad, title, panel, hist, n);
    plot_heatmap(&cv, 2 * pad + panel, title, panel, dens, n);
    char label[4200];
    snprintf(label, sizeof label, "data: %.40s (held-out histogram)", c->data);
    plot_text(&cv, pad, 8, label, 2, 0, 0, 0);
    snprintf(label, sizeof label, "model exp(-E), %s", objective_name(c->objective));
    plot_text(&cv, 2 * pad + panel, 8, label, 2, 0, 0, 0);
    rc = png_write(&cv, path, err, errlen);
done:
    free(pts), free(e), free(dens), free(hist), free(logp);
    canvas_free(&cv);
    return rc;
}

static int write_scatter_png(struct rt_model *m, const struct train_config *c, float half, const struct held_out *h,
                             const float *neg, const float *samples, const char *path, char *err, size_t errlen) {
    int panel = 320, pad = 20, title = 28;
    size_t n = (size_t)c->n_samples;
    struct canvas cv = {0};
    if (canvas_init(&cv, 3 * panel + 4 * pad, panel + pad + title, 255, 255, 255)) {
        snprintf(err, errlen, "%s: out of memory drawing it", path);
        return -1;
    }
    size_t n_data = n < (size_t)m->batch * 4 ? n : (size_t)m->batch * 4;
    if (n_data > (size_t)h->n) n_data = (size_t)h->n;
    const char *titles[3] = {"data", "negatives (last step)", "model samples (MALA)"};
    const float *sets[3] = {h->x, neg, samples};
    size_t counts[3] = {n_data, neg ? (size_t)m->batch : 0, n};
    for (int k = 0; k < 3; k++) {
        int x0 = pad + k * (panel + pad);
        plot_rect(&cv, x0, title, panel, panel, 242, 242, 242);
        plot_scatter(&cv, x0, title, panel, sets[k], counts[k], half, k == 0 ? 30 : 200, k == 0 ? 90 : 60, k == 0 ? 200 : 40);
        plot_text(&cv, x0, 8, titles[k], 2, 0, 0, 0);
    }
    int rc = png_write(&cv, path, err, errlen);
    canvas_free(&cv);
    return rc;
}

/* Rows of N_SHOW images: held-out data, the last negatives, MALA samples from noise and from held-out. */
static int write_image_grid(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                            const struct held_out *h, const float *neg, const char *path, char *err, size_t errlen) {
    size_t d = (size_t)ds->dim, show = N_SHOW < (size_t)m->batch ? N_SHOW : (size_t)m->batch;
    size_t n_data = show < (size_t)h->n ? show : (size_t)h->n;
    float *from_noise = malloc(show * d * sizeof(float)), *from_data = malloc(show * d * sizeof(float));
    int rc = -1;
    if (!from_noise || !from_data) {
        snprintf(err, errlen, "%s: out of memory drawing it", path);
        goto done;
    }
    if (model_samples(m, c, c->sample_steps, data_source_box(ds), NULL, from_noise, show) != 0 ||
        (n_data && model_samples(m, c, c->sample_steps, data_source_box(ds), h->x, from_data, n_data) != 0)) {
        snprintf(err, errlen, "%s: out of memory sampling", path);
        goto done;
    }
    char noise_label[64], data_label[64], title[256];
    if (objective_is_time(c->objective)) { /* annealed down the ladder; from held-out: at t = 0 */
        snprintf(noise_label, sizeof noise_label, "annealed, %d x %d MALA", c->levels, c->sample_steps);
        snprintf(data_label, sizeof data_label, "held-out, %d MALA, t=0", c->sample_steps);
    } else {
        snprintf(noise_label, sizeof noise_label, "from noise, %d MALA", c->sample_steps);
        snprintf(data_label, sizeof data_label, "from held-out, %d MALA", c->sample_steps);
    }
    snprintf(title, sizeof title, "%s on %.200s", objective_name(c->objective), c->data);
    struct grid_row rows[4] = {{"held-out data", h->x, (int)n_data},
                               {"negatives", neg, neg ? (int)show : 0},
                               {noise_label, from_noise, (int)show},
                               {data_label, from_data, (int)n_data}};
    struct grid_spec spec = {title, rows, 4, (int)ds->shape[0], (int)ds->shape[1], (int)ds->shape[2], ds->lo, ds->hi, 0};
    rc = grid_write_png(path, &spec, err, errlen);
done:
    free(from_noise), free(from_data);
    return rc;
}

static int write_metrics(const struct train_config *c, const struct data_source *ds, const char *path,
                         const char *model_name, const struct train_summary *s, char *err, size_t errlen) {
    char note[512];
    struct atomic_file af;
    if (atomic_open(&af, path, "w", err, errlen) != 0) return -1;
    struct json j;
    json_begin(&j, af.f);
    json_object(&j);
    json_key(&j, "model"), json_string(&j, model_name);
    json_key(&j, "data"), json_object(&j);
    json_key(&j, "kind"), json_string(&j, ds->kind);
    json_key(&j, "shape"), json_array_flat(&j);
    for (int i = 0; i < ds->ndim; i++) json_int(&j, ds->shape[i]);
    json_end(&j);
    json_key(&j, "n_train"), json_int(&j, ds->n_train);
    json_key(&j, "n_test"), json_int(&j, ds->n_test);
    json_key(&j, "range"), json_array_flat(&j), json_number(&j, ds->lo), json_number(&j, ds->hi), json_end(&j);
    json_end(&j);
    json_key(&j, "steps_done"), json_int(&j, s->steps_done);
    json_key(&j, "resumed_from_step"), json_int(&j, s->steps_start);
    json_key(&j, "seconds"), json_number(&j, s->seconds);
    json_key(&j, "steps_per_sec"), json_number(&j, s->steps_per_sec);
    json_key(&j, "gflop_per_step"), json_number(&j, s->gflop_per_step); /* matmuls and convolutions */
    json_key(&j, "gflops"), json_number(&j, s->gflops);
    json_key(&j, "energy_data"), json_number(&j, s->energy_data);
    json_key(&j, "energy_neg"), json_number(&j, s->energy_neg);
    json_key(&j, "energy_test"), json_number(&j, s->energy_test);
    if (objective_is_classify(c->objective)) {
        json_key(&j, "accuracy"), json_number(&j, s->accuracy);
        snprintf(note, sizeof note, "fraction of the first %lld held-out samples whose most probable label, argmax_y "
                 "-E(x, y), is theirs", (long long)(ds->n_test < N_TEST_MAX ? ds->n_test : N_TEST_MAX));
        json_key(&j, "accuracy_note"), json_string(&j, note);
    }
    if (data_is_2d(ds)) {
        json_key(&j, "nll_start"), json_number(&j, s->nll_start);
        json_key(&j, "nll"), json_number(&j, s->nll);
        json_key(&j, "tv"), json_number(&j, s->tv);
        snprintf(note, sizeof note, "nats, held-out points, model density normalized on a %dx%d grid", c->grid, c->grid);
        json_key(&j, "nll_units"), json_string(&j, note);
        json_key(&j, "mmd2"), json_number(&j, s->mmd2);
        snprintf(note, sizeof note,
                 "unbiased MMD^2 between %d model samples (%d MALA steps from noise) and as many held-out points; "
                 "kernel: sum of Gaussians with bandwidths 0.1, 0.2, 0.5, 1, 2",
                 c->n_samples, c->sample_steps);
        json_key(&j, "mmd2_note"), json_string(&j, note);
    }
    if (isfinite(s->fcd)) {
        json_key(&j, "fcd"), json_object(&j);
        json_key(&j, "value"), json_number(&j, s->fcd);
        json_key(&j, "floor"), json_number(&j, s->fcd_floor);
        json_key(&j, "ceiling"), json_number(&j, s->fcd_ceiling);
        json_key(&j, "n"), json_int(&j, s->fcd_n);
        json_key(&j, "features"), json_int(&j, s->fcd_features);
        json_key(&j, "classifier"), json_string(&j, c->fcd_classifier);
        snprintf(note, sizeof note, "Frechet classifier distance (not FID) on the features of the classifier run "
                 "fcd_classifier: %d model samples (%d MALA steps) vs as many held-out samples; floor: training vs "
                 "held-out; ceiling: uniform noise over the data box vs held-out", s->fcd_n, c->sample_steps);
        json_key(&j, "note"), json_string(&j, note);
        json_end(&j);
    }
    json_key(&j, "acceptance"), json_number(&j, s->acceptance);
    json_key(&j, "diverged"), json_bool(&j, s->diverged);
    json_key(&j, "message"), json_string(&j, s->message);
    double a, sd;
    if (config_kernel(c, &a, &sd) == 0) {
        json_key(&j, "kernel"), json_object_flat(&j);
        json_key(&j, "a"), json_number(&j, a);
        json_key(&j, "s"), json_number(&j, sd);
        json_end(&j);
    }
    if (c->objective == OBJ_PCD) json_key(&j, "pcd_reset_fraction"), json_number(&j, s->reset_fraction);
    json_key(&j, "config");
    config_write_json(c, &j);
    json_end(&j);
    json_finish(&j);
    return atomic_commit(&af, err, errlen);
}

/* Image data get the grid of samples.png, but a classifier's energy is over labels: it has no samples. */
static int draws_image_grid(const struct train_config *c, const struct data_source *ds) {
    return ds->is_image && !objective_is_classify(c->objective);
}

int run_write_report(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                     const struct held_out *h, const float *negatives, const char *out_dir, const char *model_name,
                     struct train_summary *s, char *err, size_t errlen) {
    char path[4200];
    int rc = 0;
    if (data_is_2d(ds)) {
        float half = half_width(ds), *samples = malloc(sizeof(float) * 2 * (size_t)c->n_samples);
        run_path(path, sizeof path, out_dir, "density.png");
        rc = write_density_png(m, c, half, h, path, err, errlen);
        run_path(path, sizeof path, out_dir, "samples.png");
        if (rc == 0 && (!samples || model_samples(m, c, c->sample_steps, data_source_box(ds), NULL, samples,
                                                  (size_t)c->n_samples) != 0)) {
            snprintf(err, errlen, "%s: out of memory sampling", path);
            rc = -1;
        }
        if (rc == 0) {
            size_t n = (size_t)c->n_samples;
            s->mmd2 = eval2d_mmd(samples, n, h->x, n < (size_t)h->n ? n : (size_t)h->n);
            rc = write_scatter_png(m, c, half, h, negatives, samples, path, err, errlen);
        }
        free(samples);
    } else if (draws_image_grid(c, ds)) {
        run_path(path, sizeof path, out_dir, "samples.png");
        rc = write_image_grid(m, c, ds, h, negatives, path, err, errlen);
    }
    run_path(path, sizeof path, out_dir, "metrics.json");
    return rc == 0 ? write_metrics(c, ds, path, model_name, s, err, errlen) : -1;
}

int run_write_progress_png(struct rt_model *m, const struct train_config *c, const struct data_source *ds,
                           const struct held_out *h, const float *negatives, const char *out_dir, int64_t step,
                           char *err, size_t errlen) {
    if (!draws_image_grid(c, ds)) return 0;
    char file[32], path[4200];
    snprintf(file, sizeof file, "samples-%06lld.png", (long long)step);
    if (run_path(path, sizeof path, out_dir, file) != 0) return fail_with(err, errlen, "%.200s: path too long", out_dir);
    return write_image_grid(m, c, ds, h, negatives, path, err, errlen);
}

int run_write_samples_png(const struct train_config *c, const struct data_source *ds, const float *x, int64_t n,
                          int steps, const char *path, char *err, size_t errlen) {
    char title[160];
    if (objective_is_time(c->objective))
        snprintf(title, sizeof title, "%lld samples annealed over %d levels, %d MALA steps each", (long long)n,
                 c->levels, steps);
    else snprintf(title, sizeof title, "%lld samples from noise, %d MALA steps", (long long)n, steps);
    if (data_is_2d(ds)) {
        int panel = 480, pad = 20, top = 28;
        struct canvas cv = {0};
        if (canvas_init(&cv, panel + 2 * pad, panel + pad + top, 255, 255, 255) != 0)
            return fail_with(err, errlen, "out of memory drawing %s", path);
        struct data_box box = data_source_box(ds);
        plot_rect(&cv, pad, top, panel, panel, 242, 242, 242);
        plot_scatter(&cv, pad, top, panel, x, (size_t)n, box.hi > -box.lo ? box.hi : -box.lo, 200, 60, 40);
        plot_text(&cv, pad, 8, title, 2, 0, 0, 0);
        int rc = png_write(&cv, path, err, errlen);
        canvas_free(&cv);
        return rc;
    }
    if (!ds->is_image) return fail_with(err, errlen, "%s: samples of shape [%lld] have no picture", path, (long long)ds->dim);
    int per_row = 16, nrows = (int)((n + per_row - 1) / per_row);
    struct grid_row *rows = calloc((size_t)nrows, sizeof *rows);
    if (!rows) return fail_with(err, errlen, "out of memory drawing %s", path);
    for (int r = 0; r < nrows; r++) {
        rows[r].images = x + (size_t)r * (size_t)per_row * (size_t)ds->dim;
        rows[r].n = (int)(n - (int64_t)r * per_row < per_row ? n - (int64_t)r * per_row : per_row);
    }
    struct grid_spec spec = {title, rows, nrows, (int)ds->shape[0], (int)ds->shape[1], (int)ds->shape[2], ds->lo, ds->hi, 0};
    int rc = grid_write_png(path, &spec, err, errlen);
    free(rows);
    return rc;
}
