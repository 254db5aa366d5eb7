/* train.h: the training loop, for any data source and input shape.
 *
 * A step: draw a data batch, draw negatives with the objective's sampler (objective.h), run the
 * compiled loss program (surrogate loss and its parameter gradients, objectives.md), update with Adam.
 * Every objective shares the one loss program; only the negatives differ: train_step_negatives() is the
 * only place the objective is consulted, train_step_loss() never looks at it. */
#ifndef EBMC_TRAIN_H
#define EBMC_TRAIN_H

#include <stdio.h>

#include "checkpoint.h"
#include "config.h"
#include "data.h"
#include "model.h"
#include "objective.h"
#include "sampler.h"

struct train_summary {
    int steps_done;            /* the run's total, counting steps done before a resume */
    int steps_start;           /* steps the run had when this session started (0 unless resumed) */
    double seconds, steps_per_sec; /* this session's training time and rate */
    double gflop_per_step, gflops; /* a step's matmul and convolution work (rt_model_flops_done), and
                                      its rate over the training time: the share of the FMA peak */
    double allreduce_seconds;  /* of which this rank spent in the step's all-reduces (0 alone; it includes
                                  waiting for the slowest rank) */
    int64_t allreduce_floats;  /* floats each step's gradient all-reduce sums */
    double nll_start, nll, tv; /* 2-D: held-out grid NLL (nats) before and after training; total variation
                                  (NaN for other data) */
    double acceptance;         /* MALA acceptance rate over the run (0 if ULA) */
    double reset_fraction;     /* PCD: fraction of the chains taken that were reset to noise */
    double mmd2;               /* unbiased MMD^2, model samples vs held-out data (eval2d_mmd); NaN if no
                                  out_dir (the samples are drawn for samples.png) */
    double energy_data, energy_neg; /* mean energy of the last step's data and negatives */
    double energy_test;        /* mean energy of the held-out samples at the last evaluation */
    double accuracy;           /* classify: held-out accuracy at the last evaluation (NaN otherwise) */
    double fcd, fcd_floor, fcd_ceiling; /* train_io.score's figures at the end (NaN without) */
    int fcd_n, fcd_features;
    int diverged;              /* training stopped on a non-finite loss or gradient */
    int interrupted;           /* stopped early on train_request_stop() (checkpointed: resumable) */
    char message[512];         /* why training stopped early, if it did */
};

struct train_io {
    const char *out_dir;  /* density.png, samples.png, log.csv, metrics.json, model.ckpt go here; NULL: nowhere */
    const char *model_name;
    FILE *progress;       /* progress line (\r-updated when is_tty); NULL: silent */
    int is_tty;
    /* With out_dir: called once after the last step, before metrics.json is written, to fill the
     * summary's fcd figures (the API's FCD against a classifier run, fcd_classifier). Returns 0, or -1
     * with the reason in err (the run then fails after its checkpoint is saved). NULL: none. */
    int (*score)(void *ctx, struct train_summary *s, char *err, size_t errlen);
    void *score_ctx;
};

/* The buffers of one training step: data and negatives as one [2B, D] batch, loss weights, DCD
 * observations, MALA statistics and PCD's replay buffer (the one piece of sampler state that lives
 * from step to step). */
struct train_step {
    float *xall; /* rows 0..B-1: data; rows B..2B-1: negatives */
    float *w;    /* +1/B for data, -1/B for negatives */
    float *y;    /* DCD: the diffused data the posterior chains condition on */
    float *t;    /* a time-dependent energy's [2B] levels (time objectives draw them; NULL otherwise) */
    float *label; /* a classifier's one-hot labels of the data rows, [B, K] (NULL for an energy of one value) */
    struct chain_stats chains;
    struct replay_buffer pcd;
    char why[160]; /* after a step that was not finite: which tensor was not */
    double allreduce_seconds; /* a data-parallel job: time in the all-reduces so far */
};

int train_step_init(struct train_step *ts, struct rt_model *m);
void train_step_free(struct train_step *ts);

/* Copies the data batch x[B, D] in (unless x is ts->xall) and draws the objective's negatives into
 * rows B..2B-1 of ts->xall (noise keyed by `step`; PCD also advances its buffer). Returns 0, or -1 on
 * out of memory or settings config_check() rejects. */
int train_step_negatives(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         struct data_box box, int64_t step);
/* Runs the loss program, the same for every objective, on ts->xall. Afterwards every parameter's grad
 * holds the surrogate-loss gradient. */
void train_step_loss(struct rt_model *m, struct train_step *ts, double *loss);
/* One step without the update: train_step_negatives(), then train_step_loss(). Returns 0 or -1. */
int train_step_gradients(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         struct data_box box, int64_t step, double *loss);

/* Runs the train program (the loss's gradients and Adam's update at step t) on ts->xall, after
 * train_step_negatives(). Returns 1 if the update was finite and is now in the parameters, 0 if it was
 * not (the parameters and moments are unchanged). */
int train_step_update(struct rt_model *m, const struct train_config *c, struct train_step *ts, int64_t t, double *loss);

/* Trains m in place on the data source ds from step `start` (0: a fresh run) up to c->steps steps in
 * total. With out_dir, writes model.ckpt (parameters, Adam moments, step, run state) every
 * c->checkpoint_every steps and at the end, log.csv as it goes, and the run's report (run_report.h) at
 * the end. resume (NULL for a fresh run): the run state restored with the parameters at step `start`;
 * train_run takes its replay buffer over, and appends to log.csv (dropping rows past `start`, written
 * after the checkpoint by an interrupted session). Returns 0 when every step ran (summary filled), 1 when
 * training diverged (the parameters, and model.ckpt, are those of the last good step), -1 on an I/O or
 * memory error or a resume that does not fit the settings (message in summary). */
int train_run(struct rt_model *m, const struct train_config *c, struct data_source *ds, const struct train_io *io,
              struct run_state *resume, int64_t start, struct train_summary *s);

/* A request to stop training at the end of the current step, checkpointing first (async-signal-safe: it
 * only sets a flag, so a SIGINT handler may call it). train_run clears it when it starts. */
void train_request_stop(void);

/* Energies of n points (x: n * D floats) in chunks of the model's batch, and dE/dx (n * D floats)
 * unless grad is NULL. Returns 0, or -1 on out of memory. */
int model_energy(struct rt_model *m, const float *x, float *energy, float *grad, size_t n);

#endif
