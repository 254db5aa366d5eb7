/* train.c: the training loop: batches from a data source, negatives from the objective (objective.c),
 * one compiled training step (the loss's gradients and Adam), checkpoints and log.csv. What a run shows
 * at the end is run_report.c's. */
#include "train.h"

#include <errno.h>
#include <signal.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "parallel.h"
#include "programs.h"
#include "rng.h"
#include "run_dir.h"
#include "run_report.h"
#include "sampler.h"
#include "support.h"

int model_energy(struct rt_model *m, const float *xy, float *energy, float *grad, size_t n) {
    struct rt_program *p = grad ? &m->energy_grad : &m->energy;
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *chunk = calloc(b * d, sizeof(float));
    if (!chunk) return -1;
    rt_program_input(p, RT_IN_X, chunk);
    rt_bind_level(m, p, NULL); /* a time-dependent energy at t = 0, the data's own level */
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

int train_step_init(struct train_step *ts, struct rt_model *m) {
    size_t b = (size_t)m->batch, n = b * (size_t)m->dim;
    memset(ts, 0, sizeof *ts);
    ts->xall = calloc(2 * n, sizeof(float)); /* zeros: a resumed run with nothing left to do plots them */
    ts->w = malloc(2 * b * sizeof(float));
    ts->y = malloc(n * sizeof(float));
    ts->t = m->level_input[0] ? calloc(2 * b, sizeof(float)) : NULL;
    ts->label = m->n_classes > 0 ? calloc(b * (size_t)m->n_classes, sizeof(float)) : NULL;
    if (!ts->xall || !ts->w || !ts->y || (m->level_input[0] && !ts->t) || (m->n_classes > 0 && !ts->label)) {
        train_step_free(ts);
        return -1;
    }
    /* loss = sum(w * E) + alpha/B * sum(E^2) is the surrogate of objectives.md with these weights. */
    for (size_t i = 0; i < b; i++) ts->w[i] = 1.0f / (float)b, ts->w[b + i] = -1.0f / (float)b;
    return 0;
}

void train_step_free(struct train_step *ts) {
    free(ts->xall), free(ts->w), free(ts->y), free(ts->t), free(ts->label);
    replay_buffer_free(&ts->pcd);
    memset(ts, 0, sizeof *ts);
}

int train_step_negatives(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         struct data_box box, int64_t step) {
    size_t n = (size_t)m->batch * (size_t)m->dim;
    if (x != ts->xall) memcpy(ts->xall, x, n * sizeof(float));
    if (objective_is_time(c->objective)) {
        if (!ts->t) return -1; /* ebmc_compile refuses a time objective for an energy without a level */
        return time_negatives(m, c, ts->xall, ts->xall + n, ts->y, ts->t, box, step, &ts->chains);
    }
    return objective_negatives(m, c, ts->xall, ts->xall + n, ts->y, &ts->pcd, box, step, &ts->chains);
}

void train_step_loss(struct rt_model *m, struct train_step *ts, double *loss) {
    rt_program_input(&m->loss, RT_IN_X, ts->xall);
    rt_program_input(&m->loss, RT_IN_WEIGHT, ts->w);
    if (ts->label) rt_program_input(&m->loss, RT_IN_LABEL, ts->label);
    rt_bind_level(m, &m->loss, ts->t);
    rt_program_run(&m->loss, m->threads);
    *loss = rt_program_output(&m->loss, RT_OUT_LOSS)[0];
}

int train_step_gradients(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         struct data_box box, int64_t step, double *loss) {
    if (train_step_negatives(m, c, ts, x, box, step) != 0) return -1;
    train_step_loss(m, ts, loss);
    return 0;
}

int train_step_update(struct rt_model *m, const struct train_config *c, struct train_step *ts, int64_t t, double *loss) {
    float lr_t = (float)adam_step_size(c, t);
    rt_program_input(&m->train, RT_IN_X, ts->xall);
    rt_program_input(&m->train, RT_IN_WEIGHT, ts->w);
    rt_program_input(&m->train, RT_IN_LR, &lr_t);
    if (ts->label) rt_program_input(&m->train, RT_IN_LABEL, ts->label);
    rt_bind_level(m, &m->train, ts->t);
    rt_program_run(&m->train, m->threads);
    *loss = rt_program_output(&m->train, RT_OUT_LOSS)[0];
    size_t n = 2 * (size_t)m->batch * (size_t)m->dim;
    if (!isfinite(*loss)) {
        size_t bad = 0;
        while (bad < n && isfinite(ts->xall[bad])) bad++;
        snprintf(ts->why, sizeof ts->why, "%s",
                 bad < n ? (bad < n / 2 ? "the data batch holds a non-finite value"
                                        : "the negatives hold a non-finite value (the sampler's chains diverged)")
                         : "the loss is not finite (the energies overflow)");
        return 0;
    }
    return rt_commit_update(m, ts->why, sizeof ts->why);
}

static int ranks_of(const struct rt_model *m) { return m->nranks > 1 ? m->nranks : 1; }

/* The numbers of a step that every rank must agree on, summed across ranks in one all-reduce. */
enum { SUM_LOSS, SUM_E_DATA, SUM_E_NEG, SUM_PROPOSED, SUM_ACCEPTED, SUM_STOP, N_SUMS };

/* The update of a data-parallel step, after train_step_negatives(): the loss program's gradients on this
 * rank's rows, summed across ranks in place and divided by their number (each rank's loss weights are
 * 1/b of its b rows, so the mean over N ranks is the gradient at the global batch B = N b), then the adam
 * program: every rank applies the same update to the same parameters. sums[] (this rank's, summed in
 * place) carry the loss and the energy sums, so the finite check is the same on every rank. Returns as
 * train_step_update. */
static int train_step_update_ranks(struct rt_model *m, const struct train_config *c, struct train_step *ts, int64_t t,
                                   double *sums, double *loss) {
    float lr_t = (float)adam_step_size(c, t);
    int n = ranks_of(m);
    train_step_loss(m, ts, loss);
    const float *e = rt_program_output(&m->loss, RT_OUT_ENERGY);
    for (int i = 0; i < m->batch; i++) sums[SUM_E_DATA] += e[i], sums[SUM_E_NEG] += e[m->batch + i];
    sums[SUM_LOSS] = *loss;
    double t0 = clock_seconds();
    parallel_sum_floats(m->grad_arena, m->grad_numel);
    parallel_sum_doubles(sums, N_SUMS);
    ts->allreduce_seconds += clock_seconds() - t0;
    for (int64_t i = 0; i < m->grad_numel; i++) m->grad_arena[i] /= (float)n;
    *loss = sums[SUM_LOSS] / n;
    if (!isfinite(*loss)) {
        snprintf(ts->why, sizeof ts->why, "the loss is not finite (on some rank: the energies overflow, or the data or "
                                          "negatives hold a non-finite value)");
        return 0;
    }
    rt_program_input(&m->adam, RT_IN_X, ts->xall); /* read by no kernel (programs.h) */
    rt_program_input(&m->adam, RT_IN_LR, &lr_t);
    rt_program_run(&m->adam, m->threads);
    return rt_commit_update(m, ts->why, sizeof ts->why);
}

/* The parameters and Adam moments of every rank, compared by checksum. Returns 0, or -1 with a message. */
static int check_ranks_agree(const struct rt_model *m, int64_t step, char *msg, size_t len) {
    uint64_t h = PARALLEL_HASH_START;
    for (int k = 0; k < m->n_params; k++) {
        const struct rt_param *p = &m->params[k];
        size_t bytes = sizeof(float) * (size_t)p->numel;
        h = parallel_hash(parallel_hash(parallel_hash(h, p->value, bytes), p->adam_m, bytes), p->adam_v, bytes);
    }
    int bad;
    if (parallel_same(h, &bad)) return 0;
    snprintf(msg, len,
             "after step %lld the parameters of rank %d differ from rank 0's (checksums of every parameter and Adam "
             "moment): the ranks no longer train one model. Every rank must run the same ebmc build on the same "
             "data and settings",
             (long long)step, bad);
    return -1;
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

/* log.csv of a resumed run: keeps the header and the rows up to step `start` (an interrupted session
 * may have logged steps past its last checkpoint, which this session runs again), then appends. */
static FILE *reopen_log(const char *path, int64_t start, const char *header) {
    char ignored[256];
    char *text = file_read_all(path, 0, NULL, ignored, sizeof ignored); /* no log yet: start one */
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

#define LOG_HEADER "step,loss,energy_data,energy_neg,steps_per_sec,acceptance,nll,tv,energy_test,accuracy,fcd\n"


static volatile sig_atomic_t stop_requested;
void train_request_stop(void) { stop_requested = 1; }

/* A log field: empty when not measured (NaN). */
static void log_field(FILE *log, double v) {
    if (isfinite(v)) fprintf(log, ",%.6f", v);
    else fputc(',', log);
}

int train_run(struct rt_model *m, const struct train_config *c, struct data_source *ds, const struct train_io *io,
              struct run_state *resume, int64_t start, struct train_summary *s) {
    memset(s, 0, sizeof *s);
    s->mmd2 = s->nll = s->tv = s->nll_start = s->energy_test = s->accuracy = NAN;
    s->fcd = s->fcd_floor = s->fcd_ceiling = NAN;
    struct team_tuner tuner = {m->threads, m->threads, {0, 0}};
    if (ds->dim != m->dim) {
        snprintf(s->message, sizeof s->message, "the data (%s) has %lld values per sample, the model's input %d",
                 ds->spec, (long long)ds->dim, m->dim);
        return -1;
    }
    if (config_check(c, s->message, sizeof s->message) != 0) return -1;
    if (resume && start == c->steps) { /* nothing to do: leave the run's pictures and metrics as they are */
        s->steps_start = s->steps_done = (int)start;
        snprintf(s->message, sizeof s->message, "the run already has %lld steps; raise steps to continue it",
                 (long long)start);
        return 0;
    }
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
    struct data_box box = data_source_box(ds);
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *pcd_backup = NULL;
    struct held_out test = {0};
    struct run_eval ev;
    struct train_step ts;
    FILE *log = NULL;
    int rc = -1;
    if (train_step_init(&ts, m) != 0) {
        snprintf(s->message, sizeof s->message, "out of memory");
        return -1;
    }
    if (held_out_load(&test, ds, c->seed) != 0) goto oom;
    s->steps_start = s->steps_done = (int)start;
    char ckpt[4200];
    if (io->out_dir) {
        if (make_dirs(io->out_dir, s->message, sizeof s->message) != 0) goto done;
        char path[4200];
        run_path(path, sizeof path, io->out_dir, "log.csv");
        run_path(ckpt, sizeof ckpt, io->out_dir, "model.ckpt");
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
    /* A data-parallel job (parallel.h): rank 0 evaluates, logs and writes; the others only train. */
    int ranks = ranks_of(m), evaluates = m->rank == 0;
    if (ranks > 1 && check_ranks_agree(m, start, s->message, sizeof s->message) != 0) goto done;
    if (resume && resume->has_run_info) s->nll_start = resume->nll_start;
    else if (evaluates) {
        if (run_evaluate(m, c, ds, &test, &ev)) goto oom;
        s->nll_start = ev.nll;
    }
    const struct chain_stats *st = &ts.chains;
    double t0 = clock_seconds(), eval_seconds = 0, loss = 0, train_flops = 0;
    stop_requested = 0;
    int evaluated = 0, has_negatives = 0, classify = objective_is_classify(c->objective);
    int scored_last = 0;           /* the last step's evaluation scored the samples (train_io.score) */
    char score_err[4400] = "";     /* why it could not, if it could not */
    int64_t pcd_taken = 0, pcd_resets = 0;
    for (int64_t step = start; step < c->steps; step++) {
        /* PCD's diverging step has already written its chains back: keep the buffer as it was before. */
        if (ts.pcd.x) {
            size_t bytes = sizeof(float) * (size_t)ts.pcd.n * d;
            if (!pcd_backup && !(pcd_backup = malloc(bytes))) goto oom;
            memcpy(pcd_backup, ts.pcd.x, bytes);
            pcd_taken = ts.pcd.taken, pcd_resets = ts.pcd.resets;
        }
        if (c->threads == 0) { /* all cores: or one, whichever is faster now */
            m->threads = tuned_team(&tuner, step - start);
            omp_set_num_threads(m->threads);
        }
        double step_t0 = clock_seconds(), step_flops0 = rt_model_flops_done(m);
        struct chain_stats before = ts.chains;
        if (classify) { /* supervised: the batch and its labels, no negatives */
            if (classify_batch(m, c, ds, step, ts.xall, ts.label, s->message, sizeof s->message) != 0) goto done;
        } else {
            data_batch(ds, c->seed, step, (int64_t)b * ranks, m->rank, ranks, ts.xall);
            if (train_step_negatives(m, c, &ts, ts.xall, box, step)) goto oom;
            has_negatives = 1;
        }
        const float *e = rt_program_output(ranks > 1 ? &m->loss : &m->train, RT_OUT_ENERGY);
        double sums[N_SUMS] = {0};
        int finite, stop_now = 0;
        if (ranks > 1) {
            sums[SUM_PROPOSED] = (double)(ts.chains.proposed - before.proposed);
            sums[SUM_ACCEPTED] = (double)(ts.chains.accepted - before.accepted);
            sums[SUM_STOP] = stop_requested; /* every rank stops at the same step, or none does */
            finite = train_step_update_ranks(m, c, &ts, step + 1, sums, &loss);
            ts.chains.proposed = before.proposed + (long)sums[SUM_PROPOSED];
            ts.chains.accepted = before.accepted + (long)sums[SUM_ACCEPTED];
            /* the sum alone decides: a signal that lands after this rank's share was sent counts next step */
            stop_now = sums[SUM_STOP] > 0;
        } else {
            finite = train_step_update(m, c, &ts, step + 1, &loss);
        }
        tuner_record(&tuner, step - start, clock_seconds() - step_t0);
        train_flops += rt_model_flops_done(m) - step_flops0;
        if (!finite) {
            s->diverged = 1;
            snprintf(s->message, sizeof s->message,
                     "training diverged at step %lld (loss %g): %s; parameters are those after step %lld. Try a "
                     "larger alpha, a smaller step_size or lr, or sampler = mala.",
                     (long long)step + 1, loss, ts.why, (long long)step);
            if (pcd_backup) {
                memcpy(ts.pcd.x, pcd_backup, sizeof(float) * (size_t)ts.pcd.n * d);
                ts.pcd.taken = pcd_taken, ts.pcd.resets = pcd_resets;
            }
            break;
        }
        s->steps_done = (int)step + 1;
        double ed = 0, en = 0;
        if (ranks > 1) ed = sums[SUM_E_DATA], en = sums[SUM_E_NEG];
        else
            for (size_t i = 0; i < b; i++) ed += e[i], en += classify ? 0 : e[b + i]; /* classify: e is [B] */
        s->energy_data = ed / (double)(b * ranks), s->energy_neg = classify ? NAN : en / (double)(b * ranks);
        if (ranks > 1 && c->check_ranks_every > 0 && ((step + 1) % c->check_ranks_every == 0 || step + 1 == c->steps) &&
            check_ranks_agree(m, step + 1, s->message, sizeof s->message) != 0)
            goto done;
        /* steps/s counts training only: evaluation time is measured and left out. */
        double rate = (double)(step + 1 - start) / (clock_seconds() - t0 - eval_seconds);
        int last = step + 1 == c->steps;
        int eval_now = evaluates && (last || (c->eval_every > 0 && (step + 1) % c->eval_every == 0));
        if (eval_now) {
            double te = clock_seconds();
            if (run_evaluate(m, c, ds, &test, &ev)) goto oom;
            s->nll = ev.nll, s->tv = ev.tv, s->energy_test = ev.energy_test, s->accuracy = ev.accuracy;
            char err[4400]; /* a picture that cannot be written is not worth stopping the training for */
            if (io->out_dir && !last &&
                run_write_progress_png(m, c, ds, &test, has_negatives ? ts.xall + b * d : NULL, io->out_dir, step + 1,
                                       err, sizeof err) != 0 && io->progress)
                fprintf(io->progress, "\nwarning: %s\n", err);
            if (io->score && io->out_dir) { /* FCD along the run: log.csv's fcd column */
                s->fcd = NAN;
                if (io->score(io->score_ctx, s, score_err, sizeof score_err) == 0) score_err[0] = 0;
                else if (!last && io->progress) fprintf(io->progress, "\nwarning: fcd_classifier: %s\n", score_err);
                scored_last = last;
            }
            eval_seconds += clock_seconds() - te;
        }
        evaluated = eval_now;
        if (log) {
            fprintf(log, "%lld,%.6g,%.6g", (long long)step + 1, loss, s->energy_data);
            if (isfinite(s->energy_neg)) fprintf(log, ",%.6g", s->energy_neg);
            else fputc(',', log); /* classify has no negatives */
            fprintf(log, ",%.2f,%.4f", rate, st->proposed ? (double)st->accepted / (double)st->proposed : 0.0);
            log_field(log, eval_now ? ev.nll : NAN);
            log_field(log, eval_now ? ev.tv : NAN);
            log_field(log, eval_now ? ev.energy_test : NAN);
            log_field(log, eval_now ? ev.accuracy : NAN);
            log_field(log, eval_now ? s->fcd : NAN);
            fputc('\n', log);
        }
        if (log && !last && c->checkpoint_every > 0 && (step + 1) % c->checkpoint_every == 0) {
            struct run_state rs = {ts.pcd, ts.chains, s->nll_start, 1};
            fflush(log); /* the log holds at least the checkpoint's steps */
            if (checkpoint_save_state(m, step + 1, &rs, ckpt, s->message, sizeof s->message) != 0) goto done;
        }
        progress(io, (int)step + 1, c->steps, loss, rate, last);
        if ((ranks > 1 ? stop_now : stop_requested) && !last) {
            s->interrupted = 1;
            if (io->progress) fputc('\n', io->progress);
            snprintf(s->message, sizeof s->message, "interrupted after step %lld of %d", (long long)step + 1, c->steps);
            break;
        }
    }
    s->seconds = clock_seconds() - t0 - eval_seconds;
    s->steps_per_sec = (s->steps_done - s->steps_start) / (s->seconds > 0 ? s->seconds : 1);
    s->gflop_per_step = s->steps_done > s->steps_start ? train_flops / 1e9 / (s->steps_done - s->steps_start) : 0;
    s->gflops = train_flops / 1e9 / (s->seconds > 0 ? s->seconds : 1);
    s->allreduce_seconds = ts.allreduce_seconds, s->allreduce_floats = ranks > 1 ? m->grad_numel : 0;
    s->acceptance = st->proposed ? (double)st->accepted / (double)st->proposed : 0.0;
    s->reset_fraction = ts.pcd.taken ? (double)ts.pcd.resets / (double)ts.pcd.taken : 0.0;
    if (!evaluated && evaluates) {
        if (run_evaluate(m, c, ds, &test, &ev)) goto oom;
        s->nll = ev.nll, s->tv = ev.tv, s->energy_test = ev.energy_test, s->accuracy = ev.accuracy;
    }
    if (io->progress && s->diverged) fprintf(io->progress, "\n");
    if (io->out_dir) {
        char err[4400];
        struct run_state rs = {ts.pcd, ts.chains, s->nll_start, 1};
        /* The checkpoint first: pictures are cheap to redraw, training steps are not. */
        if (checkpoint_save_state(m, s->steps_done, &rs, ckpt, err, sizeof err) != 0) {
            if (!s->diverged) {
                snprintf(s->message, sizeof s->message, "%s", err);
                goto done;
            }
            /* diverged with a non-finite moment: model.ckpt stays the last checkpoint saved */
            size_t k = strlen(s->message);
            snprintf(s->message + k, sizeof s->message - k, " (%.100s)", err);
        }
        if (io->score && !s->diverged && !scored_last && io->score(io->score_ctx, s, score_err, sizeof score_err) != 0)
            scored_last = 1; /* score_err says why */
        if (scored_last && score_err[0]) {
            snprintf(s->message, sizeof s->message, "fcd_classifier: %.400s", score_err);
            goto done;
        }
        if (run_write_report(m, c, ds, &test, has_negatives ? ts.xall + b * d : NULL, io->out_dir, io->model_name, s,
                             err, sizeof err) != 0) {
            snprintf(s->message, sizeof s->message, "%.250s", err);
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
        snprintf(s->message, sizeof s->message, "%.200s/log.csv: write failed: %s", io->out_dir, strerror(errno));
        rc = -1;
    }
    free(pcd_backup);
    held_out_free(&test);
    train_step_free(&ts);
    return rc;
}
