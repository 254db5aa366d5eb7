/* train.c: the training loop, Adam, evaluation, logs and pictures. The negatives are objective.c's. */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "data2d.h"
#include "eval2d.h"
#include "plot.h"
#include "rng.h"
#include "sampler.h"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int model_energy(struct rt_model *m, const float *xy, float *energy, float *grad, size_t n) {
    struct rt_program *p = grad ? &m->energy_grad : &m->energy;
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *chunk = calloc(b * d, sizeof(float));
    if (!chunk) return -1;
    rt_program_input(p, RT_IN_X, chunk);
    for (size_t i = 0; i < n; i += b) {
        size_t k = n - i < b ? n - i : b; /* the last chunk is padded with zeros */
        memset(chunk, 0, b * d * sizeof(float));
        memcpy(chunk, xy + i * d, k * d * sizeof(float));
        rt_program_run(p, m->threads);
        memcpy(energy + i, rt_program_output(p, RT_OUT_ENERGY), k * sizeof(float));
        if (grad) memcpy(grad + i * d, rt_program_output(p, RT_OUT_GRAD_X), k * d * sizeof(float));
    }
    free(chunk);
    return 0;
}

int model_eval2d(struct rt_model *m, int grid, float half, const float *test, size_t n_test, double *nll, double *tv) {
    size_t cells = (size_t)grid * (size_t)grid;
    float *pts = malloc(cells * 2 * sizeof(float)), *e = malloc(cells * sizeof(float));
    double *logp = malloc(cells * sizeof(double));
    int rc = -1;
    if (pts && e && logp && m->dim == 2) {
        eval2d_grid_points(pts, grid, half);
        if (model_energy(m, pts, e, NULL, cells) == 0) {
            eval2d_normalize(logp, e, grid, half);
            *nll = eval2d_nll(logp, grid, half, test, n_test);
            *tv = eval2d_tv(logp, grid, half, test, n_test);
            rc = 0;
        }
    }
    free(pts), free(e), free(logp);
    return rc;
}

int train_step_init(struct train_step *ts, struct rt_model *m) {
    size_t b = (size_t)m->batch, n = b * (size_t)m->dim;
    memset(ts, 0, sizeof *ts);
    ts->xall = calloc(2 * n, sizeof(float)); /* zeros: a resumed run with nothing left to do plots them */
    ts->w = malloc(2 * b * sizeof(float));
    ts->y = malloc(n * sizeof(float));
    if (!ts->xall || !ts->w || !ts->y) {
        train_step_free(ts);
        return -1;
    }
    /* loss = sum(w * E) + alpha/B * sum(E^2) is the surrogate of objectives.md with these weights. */
    for (size_t i = 0; i < b; i++) ts->w[i] = 1.0f / (float)b, ts->w[b + i] = -1.0f / (float)b;
    return 0;
}

void train_step_free(struct train_step *ts) {
    free(ts->xall), free(ts->w), free(ts->y);
    replay_buffer_free(&ts->pcd);
    memset(ts, 0, sizeof *ts);
}

int train_step_negatives(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         float half_width, int64_t step) {
    size_t n = (size_t)m->batch * (size_t)m->dim;
    if (x != ts->xall) memcpy(ts->xall, x, n * sizeof(float));
    return objective_negatives(m, c, ts->xall, ts->xall + n, ts->y, &ts->pcd, half_width, step, &ts->chains);
}

void train_step_loss(struct rt_model *m, struct train_step *ts, double *loss) {
    rt_program_input(&m->loss, RT_IN_X, ts->xall);
    rt_program_input(&m->loss, RT_IN_WEIGHT, ts->w);
    rt_program_run(&m->loss, m->threads);
    *loss = rt_program_output(&m->loss, RT_OUT_LOSS)[0];
}

int train_step_gradients(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         float half_width, int64_t step, double *loss) {
    if (train_step_negatives(m, c, ts, x, half_width, step) != 0) return -1;
    train_step_loss(m, ts, loss);
    return 0;
}

double adam_step_size(const struct train_config *c, int64_t t) {
    return c->lr * sqrt(1 - pow(c->beta2, (double)t)) / (1 - pow(c->beta1, (double)t));
}

int train_step_update(struct rt_model *m, const struct train_config *c, struct train_step *ts, int64_t t, double *loss) {
    float lr_t = (float)adam_step_size(c, t);
    rt_program_input(&m->train, RT_IN_X, ts->xall);
    rt_program_input(&m->train, RT_IN_WEIGHT, ts->w);
    rt_program_input(&m->train, RT_IN_LR, &lr_t);
    rt_program_run(&m->train, m->threads);
    *loss = rt_program_output(&m->train, RT_OUT_LOSS)[0];
    return isfinite(*loss) && rt_commit_update(m);
}

/* threads = 0 ("all cores") on a machine shared with other work. A team waits at every kernel for its
 * slowest member, so when another process holds a core, 2 threads ran 3x slower than 1 (rings: 32
 * against 92 steps/s beside one busy loop). Results do not depend on the team size (every kernel is
 * bitwise the same for any split; host noise is keyed by index), so each period of the run times a
 * window of steps on all cores and one on a single thread, then runs the rest of the period on the
 * faster: at most one window in TUNE_PERIOD steps runs on the slower. */
enum { TUNE_PERIOD = 200, TUNE_WINDOW = 10 };

struct team_tuner {
    int all, choice;    /* the team of all cores; the team chosen for the rest of the period */
    double seconds[2];  /* time of this period's windows: all cores, one thread */
};

/* The team size for the k-th step of this run. */
static int tuned_team(struct team_tuner *tt, int64_t k) {
    int64_t pos = k % TUNE_PERIOD;
    if (tt->all <= 1) return 1;
    if (pos == 0) tt->seconds[0] = tt->seconds[1] = 0;
    if (pos == 2 * TUNE_WINDOW) tt->choice = tt->seconds[1] < tt->seconds[0] ? 1 : tt->all;
    return pos < TUNE_WINDOW ? tt->all : pos < 2 * TUNE_WINDOW ? 1 : tt->choice;
}

/* Adds the step's time to its window, if it was in one. */
static void tuner_record(struct team_tuner *tt, int64_t k, double seconds) {
    int64_t pos = k % TUNE_PERIOD;
    if (pos < 2 * TUNE_WINDOW) tt->seconds[pos < TUNE_WINDOW ? 0 : 1] += seconds;
}

static void progress(const struct train_io *io, int step, int steps, double loss, double rate, int final) {
    if (!io->progress) return;
    double eta = rate > 0 ? (steps - step) / rate : 0;
    if (io->is_tty) {
        fprintf(io->progress, "\r  step %*d/%d  loss %+.4f  %6.1f steps/s  ETA %4.0fs ", (int)log10(steps) + 1, step,
                steps, loss, rate, eta);
        if (final) fputc('\n', io->progress);
    } else if (final || step % (steps / 10 > 0 ? steps / 10 : 1) == 0) {
        fprintf(io->progress, "  step %d/%d  loss %+.4f  %.1f steps/s  ETA %.0fs\n", step, steps, loss, rate, eta);
    }
    fflush(io->progress);
}

/* ---- pictures ---- */

static void path_join(char *buf, size_t len, const char *dir, const char *file) { snprintf(buf, len, "%s/%s", dir, file); }

static int write_density_png(struct rt_model *m, const struct train_config *c, const struct train_io *io, float half,
                             const float *test, size_t n_test, char *err, size_t errlen) {
    int n = c->grid, panel = 384, pad = 24, title = 28;
    size_t cells = (size_t)n * (size_t)n;
    float *pts = malloc(cells * 2 * sizeof(float)), *e = malloc(cells * sizeof(float));
    float *dens = malloc(cells * sizeof(float)), *hist = calloc(cells, sizeof(float));
    double *logp = malloc(cells * sizeof(double));
    struct canvas cv = {0};
    int rc = -1;
    if (!pts || !e || !dens || !hist || !logp || canvas_init(&cv, 2 * panel + 3 * pad, panel + pad + title, 255, 255, 255)) {
        snprintf(err, errlen, "out of memory drawing density.png");
        goto done;
    }
    eval2d_grid_points(pts, n, half);
    if (model_energy(m, pts, e, NULL, cells)) goto done;
    eval2d_normalize(logp, e, n, half);
    for (size_t i = 0; i < cells; i++) dens[i] = (float)exp(logp[i]);
    for (size_t i = 0; i < n_test; i++) {
        int cx = (int)((test[2 * i] + half) / (2 * half) * n), cy = (int)((test[2 * i + 1] + half) / (2 * half) * n);
        if (cx >= 0 && cx < n && cy >= 0 && cy < n) hist[(size_t)cy * n + cx] += 1;
    }
    plot_heatmap(&cv, pad, title, panel, hist, n);
    plot_heatmap(&cv, 2 * pad + panel, title, panel, dens, n);
    char label[128];
    snprintf(label, sizeof label, "data: %s (held-out histogram)", c->data);
    plot_text(&cv, pad, 8, label, 2, 0, 0, 0);
    snprintf(label, sizeof label, "model exp(-E), %s", objective_name(c->objective));
    plot_text(&cv, 2 * pad + panel, 8, label, 2, 0, 0, 0);
    char path[4096];
    path_join(path, sizeof path, io->out_dir, "density.png");
    rc = png_write(&cv, path, err, errlen);
done:
    free(pts), free(e), free(dens), free(hist), free(logp);
    canvas_free(&cv);
    return rc;
}

int model_samples(struct rt_model *m, const struct train_config *c, int steps, float half, float *out, size_t n) {
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *x = malloc(b * d * sizeof(float));
    if (!x) return -1;
    struct potential pot = {m, NULL, 1, 1};
    struct langevin lv = {SAMPLER_MALA, steps, c->step_size, 1.0, 0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += b) {
        rng_fill_uniform(x, b * d, c->seed, rng_stream(TAG_SAMPLE_INIT, i / b, 0));
        for (size_t j = 0; j < b * d; j++) x[j] = (2 * x[j] - 1) * half;
        rc = langevin_run(&pot, x, &lv, c->seed, TAG_SAMPLES, i / b, NULL);
        size_t k = n - i < b ? n - i : b;
        memcpy(out + i * d, x, k * d * sizeof(float));
    }
    free(x);
    return rc;
}

static int write_samples_png(struct rt_model *m, const struct train_config *c, const struct train_io *io, float half,
                             const float *test, const float *neg, const float *samples, char *err, size_t errlen) {
    int panel = 320, pad = 20, title = 28;
    size_t n = (size_t)c->n_samples;
    struct canvas cv = {0};
    int rc = -1;
    if (canvas_init(&cv, 3 * panel + 4 * pad, panel + pad + title, 255, 255, 255)) {
        snprintf(err, errlen, "out of memory drawing samples.png");
        goto done;
    }
    size_t n_data = n < (size_t)m->batch * 4 ? n : (size_t)m->batch * 4;
    const char *titles[3] = {"data", "negatives (last step)", "model samples (MALA)"};
    const float *sets[3] = {test, neg, samples};
    size_t counts[3] = {n_data, (size_t)m->batch, n};
    for (int k = 0; k < 3; k++) {
        int x0 = pad + k * (panel + pad);
        for (int yy = 0; yy < panel; yy++) /* light panel background */
            for (int xx = 0; xx < panel; xx++) memset(&cv.rgb[3 * ((size_t)(title + yy) * cv.w + x0 + xx)], 242, 3);
        plot_scatter(&cv, x0, title, panel, sets[k], counts[k], half, k == 0 ? 30 : 200, k == 0 ? 90 : 60, k == 0 ? 200 : 40);
        plot_text(&cv, x0, 8, titles[k], 2, 0, 0, 0);
    }
    char path[4096];
    path_join(path, sizeof path, io->out_dir, "samples.png");
    rc = png_write(&cv, path, err, errlen);
done:
    canvas_free(&cv);
    return rc;
}

static int write_metrics(const struct train_config *c, const struct train_io *io, const struct train_summary *s,
                         char *err, size_t errlen) {
    char path[4096], tmp[4200];
    path_join(path, sizeof path, io->out_dir, "metrics.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"model\": \"%s\",\n", io->model_name ? io->model_name : "");
    fprintf(f, "  \"steps_done\": %d,\n  \"resumed_from_step\": %d,\n", s->steps_done, s->steps_start);
    fprintf(f, "  \"seconds\": %.3f,\n  \"steps_per_sec\": %.2f,\n", s->seconds, s->steps_per_sec);
    fprintf(f, "  \"nll_start\": %.6f,\n  \"nll\": %.6f,\n  \"tv\": %.6f,\n", s->nll_start, s->nll, s->tv);
    fprintf(f, "  \"nll_units\": \"nats, held-out points, model density normalized on a %dx%d grid\",\n", c->grid, c->grid);
    if (isfinite(s->mmd2)) fprintf(f, "  \"mmd2\": %.6g,\n", s->mmd2);
    else fprintf(f, "  \"mmd2\": null,\n");
    fprintf(f, "  \"mmd2_note\": \"unbiased MMD^2 between %d model samples (%d MALA steps from noise) and as many "
               "held-out points; kernel: sum of Gaussians with bandwidths 0.1, 0.2, 0.5, 1, 2\",\n",
            c->n_samples, c->sample_steps);
    fprintf(f, "  \"energy_data\": %.6g,\n  \"energy_neg\": %.6g,\n  \"acceptance\": %.4f,\n", s->energy_data,
            s->energy_neg, s->acceptance);
    fprintf(f, "  \"diverged\": %s,\n  \"message\": \"%s\",\n", s->diverged ? "true" : "false", s->message);
    double a, sd;
    if (config_kernel(c, &a, &sd) == 0) fprintf(f, "  \"kernel\": {\"a\": %.9g, \"s\": %.9g},\n", a, sd);
    if (c->objective == OBJ_PCD) fprintf(f, "  \"pcd_reset_fraction\": %.6f,\n", s->reset_fraction);
    fprintf(f, "  \"config\": {\n");
    config_print_json(c, f, "    ");
    fprintf(f, "  }\n}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the loop ---- */

#define N_TEST 20000

int train_test_points(const struct train_config *c, float *out, size_t n, float *half) {
    int kind = data2d_from_name(c->data);
    if (kind < 0) return -1;
    *half = data2d_half_width((enum data2d_kind)kind);
    /* Held-out points come from their own stream, never seen in training. */
    data2d_sample((enum data2d_kind)kind, out, n, c->seed, rng_stream(TAG_TEST, 0, 0));
    return 0;
}

int train_evaluate(struct rt_model *m, const struct train_config *c, double *nll, double *tv, double *mmd2) {
    size_t n = (size_t)c->n_samples, n_ref = n < N_TEST ? n : N_TEST;
    float *test = malloc(N_TEST * 2 * sizeof(float)), *samples = malloc(n * 2 * sizeof(float)), half = 0;
    int rc = -1;
    if (test && samples && m->dim == 2 && train_test_points(c, test, N_TEST, &half) == 0 &&
        model_eval2d(m, c->grid, half, test, N_TEST, nll, tv) == 0 &&
        model_samples(m, c, c->sample_steps, half, samples, n) == 0) {
        *mmd2 = eval2d_mmd(samples, n, test, n_ref);
        rc = 0;
    }
    free(test), free(samples);
    return rc;
}

/* log.csv of a resumed run: keeps the header and the rows up to step `start` (an interrupted session
 * may have logged steps past its last checkpoint, which this session runs again), then appends. */
static FILE *reopen_log(const char *path, int64_t start, const char *header) {
    FILE *in = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    if (in) {
        fseek(in, 0, SEEK_END);
        long n = ftell(in);
        rewind(in);
        text = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (text) text[len = fread(text, 1, (size_t)n, in)] = 0;
        fclose(in);
    }
    FILE *out = fopen(path, "w");
    if (!out) {
        free(text);
        return NULL;
    }
    fputs(header, out);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *end;
        long long step = strtoll(line, &end, 10);
        if (end != line && *end == ',' && step >= 1 && step <= start) fprintf(out, "%s\n", line);
    }
    free(text);
    return out;
}

#define LOG_HEADER "step,loss,energy_data,energy_neg,steps_per_sec,acceptance,nll,tv\n"

int train_run(struct rt_model *m, const struct train_config *c, const struct train_io *io, struct run_state *resume,
              int64_t start, struct train_summary *s) {
    memset(s, 0, sizeof *s);
    s->mmd2 = NAN;
    struct team_tuner tuner = {m->threads, m->threads, {0, 0}};
    int kind = data2d_from_name(c->data);
    if (kind < 0 || m->dim != 2) {
        snprintf(s->message, sizeof s->message, "data set '%s' needs a model on 2-D points (x: [B, 2])", c->data);
        return -1;
    }
    if (config_check(c, s->message, sizeof s->message) != 0) return -1;
    if (start < 0 || start > c->steps) {
        snprintf(s->message, sizeof s->message, "the run has %lld steps; cannot continue it to %d in total",
                 (long long)start, c->steps);
        return -1;
    }
    if (c->objective == OBJ_PCD && start > 0 && (!resume || !resume->pcd.x || resume->pcd.n != c->buffer_size)) {
        snprintf(s->message, sizeof s->message,
                 "pcd: the checkpoint at step %lld holds no replay buffer of buffer_size = %d chains, so the run "
                 "cannot continue as it would have",
                 (long long)start, c->buffer_size);
        return -1;
    }
    float half = data2d_half_width((enum data2d_kind)kind);
    size_t b = (size_t)m->batch, n_samples = (size_t)c->n_samples;
    float *test = malloc(N_TEST * 2 * sizeof(float)), *samples = NULL, *pcd_backup = NULL;
    struct train_step ts;
    FILE *log = NULL;
    int rc = -1;
    if (train_step_init(&ts, m) != 0 || !test) {
        snprintf(s->message, sizeof s->message, "out of memory");
        free(test);
        return -1;
    }
    train_test_points(c, test, N_TEST, &half);
    s->steps_start = s->steps_done = (int)start;
    char ckpt[4096];
    if (io->out_dir) {
        if (mkdir(io->out_dir, 0777) != 0 && errno != EEXIST) {
            snprintf(s->message, sizeof s->message, "%s: cannot create directory: %s", io->out_dir, strerror(errno));
            goto done;
        }
        char path[4096];
        path_join(path, sizeof path, io->out_dir, "log.csv");
        path_join(ckpt, sizeof ckpt, io->out_dir, "model.ckpt");
        if (!(log = resume ? reopen_log(path, start, LOG_HEADER) : fopen(path, "w"))) {
            snprintf(s->message, sizeof s->message, "%s: cannot write: %s", path, strerror(errno));
            goto done;
        }
        if (!resume) fputs(LOG_HEADER, log);
    }
    if (resume) { /* the run state continues where the checkpoint left it */
        ts.pcd = resume->pcd;
        memset(&resume->pcd, 0, sizeof resume->pcd);
        ts.chains = resume->chains;
    }
    if (resume && resume->has_run_info) s->nll_start = resume->nll_start;
    else {
        double tv0;
        if (model_eval2d(m, c->grid, half, test, N_TEST, &s->nll_start, &tv0)) goto oom;
    }
    const struct chain_stats *st = &ts.chains;
    double t0 = now_seconds(), eval_seconds = 0, loss = 0;
    int evaluated = 0;
    int64_t pcd_taken = 0, pcd_resets = 0;
    for (int64_t step = start; step < c->steps; step++) {
        /* PCD's diverging step has already written its chains back: keep the buffer as it was before. */
        if (ts.pcd.x) {
            size_t bytes = sizeof(float) * (size_t)ts.pcd.n * (size_t)m->dim;
            if (!pcd_backup && !(pcd_backup = malloc(bytes))) goto oom;
            memcpy(pcd_backup, ts.pcd.x, bytes);
            pcd_taken = ts.pcd.taken, pcd_resets = ts.pcd.resets;
        }
        if (c->threads == 0) { /* all cores: or one, whichever is faster now */
            m->threads = tuned_team(&tuner, step - start);
            omp_set_num_threads(m->threads);
        }
        double step_t0 = now_seconds();
        data2d_sample((enum data2d_kind)kind, ts.xall, b, c->seed, rng_stream(TAG_DATA, (uint64_t)step, 0));
        if (train_step_negatives(m, c, &ts, ts.xall, half, step)) goto oom;
        const float *e = rt_program_output(&m->train, RT_OUT_ENERGY);
        int finite = train_step_update(m, c, &ts, step + 1, &loss);
        tuner_record(&tuner, step - start, now_seconds() - step_t0);
        if (!finite) {
            s->diverged = 1;
            snprintf(s->message, sizeof s->message,
                     "training diverged at step %lld (loss %g): non-finite loss or Adam update; parameters are those "
                     "after step %lld. Try a larger alpha, a smaller step_size or lr, or sampler = mala.",
                     (long long)step, loss, (long long)step - 1);
            if (pcd_backup) {
                memcpy(ts.pcd.x, pcd_backup, sizeof(float) * (size_t)ts.pcd.n * (size_t)m->dim);
                ts.pcd.taken = pcd_taken, ts.pcd.resets = pcd_resets;
            }
            break;
        }
        s->steps_done = (int)step + 1;
        double ed = 0, en = 0;
        for (size_t i = 0; i < b; i++) ed += e[i], en += e[b + i];
        s->energy_data = ed / (double)b, s->energy_neg = en / (double)b;
        /* steps/s counts training only: evaluation time is measured and left out. */
        double rate = (double)(step + 1 - start) / (now_seconds() - t0 - eval_seconds);
        int last = step + 1 == c->steps, eval_now = last || (c->eval_every > 0 && (step + 1) % c->eval_every == 0);
        if (eval_now) {
            double te = now_seconds();
            if (model_eval2d(m, c->grid, half, test, N_TEST, &s->nll, &s->tv)) goto oom;
            eval_seconds += now_seconds() - te;
        }
        evaluated = eval_now;
        if (log) {
            fprintf(log, "%lld,%.6g,%.6g,%.6g,%.2f,%.4f", (long long)step + 1, loss, s->energy_data, s->energy_neg,
                    rate, st->proposed ? (double)st->accepted / (double)st->proposed : 0.0);
            if (eval_now) fprintf(log, ",%.6f,%.6f\n", s->nll, s->tv);
            else fprintf(log, ",,\n");
        }
        if (log && !last && c->checkpoint_every > 0 && (step + 1) % c->checkpoint_every == 0) {
            struct run_state rs = {ts.pcd, ts.chains, s->nll_start, 1};
            fflush(log); /* the log holds at least the checkpoint's steps */
            if (checkpoint_save_state(m, step + 1, &rs, ckpt, s->message, sizeof s->message) != 0) goto done;
        }
        progress(io, (int)step + 1, c->steps, loss, rate, last);
    }
    s->seconds = now_seconds() - t0 - eval_seconds;
    s->steps_per_sec = (s->steps_done - s->steps_start) / (s->seconds > 0 ? s->seconds : 1);
    s->acceptance = st->proposed ? (double)st->accepted / (double)st->proposed : 0.0;
    s->reset_fraction = ts.pcd.taken ? (double)ts.pcd.resets / (double)ts.pcd.taken : 0.0;
    if (!evaluated && model_eval2d(m, c->grid, half, test, N_TEST, &s->nll, &s->tv)) goto oom;
    if (io->progress && s->diverged) fprintf(io->progress, "\n");
    if (io->out_dir) {
        char err[512];
        struct run_state rs = {ts.pcd, ts.chains, s->nll_start, 1};
        /* The checkpoint first: pictures are cheap to redraw, training steps are not. */
        if (checkpoint_save_state(m, s->steps_done, &rs, ckpt, err, sizeof err) != 0) {
            if (!s->diverged) {
                snprintf(s->message, sizeof s->message, "%s", err);
                goto done;
            }
            /* diverged with a non-finite moment: model.ckpt stays the last checkpoint saved */
            size_t k = strlen(s->message);
            snprintf(s->message + k, sizeof s->message - k, " (%s)", err);
        }
        if (!(samples = malloc(n_samples * 2 * sizeof(float))) ||
            model_samples(m, c, c->sample_steps, half, samples, n_samples))
            goto oom;
        s->mmd2 = eval2d_mmd(samples, n_samples, test, n_samples < N_TEST ? n_samples : N_TEST);
        if (write_density_png(m, c, io, half, test, N_TEST, err, sizeof err) ||
            write_samples_png(m, c, io, half, test, ts.xall + b * 2, samples, err, sizeof err) ||
            write_metrics(c, io, s, err, sizeof err)) {
            snprintf(s->message, sizeof s->message, "%s", err);
            goto done;
        }
    }
    rc = s->diverged ? 1 : 0;
    goto done;
oom:
    snprintf(s->message, sizeof s->message, "out of memory");
done:
    if (c->threads == 0) { /* evaluation, sampling and later calls: all cores again */
        m->threads = tuner.all;
        omp_set_num_threads(tuner.all);
    }
    if (log && fclose(log) != 0 && rc == 0) {
        snprintf(s->message, sizeof s->message, "%s/log.csv: write failed: %s", io->out_dir, strerror(errno));
        rc = -1;
    }
    free(test), free(samples), free(pcd_backup);
    train_step_free(&ts);
    return rc;
}
