/* train.h: the training loop and the evaluation of a 2-D energy model.
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
#include "model.h"
#include "objective.h"
#include "sampler.h"

struct train_summary {
    int steps_done;            /* the run's total, counting steps done before a resume */
    int steps_start;           /* steps the run had when this session started (0 unless resumed) */
    double seconds, steps_per_sec; /* this session's training time and rate */
    double nll_start, nll, tv; /* held-out grid NLL (nats) before and after training; total variation */
    double acceptance;         /* MALA acceptance rate over the run (0 if ULA) */
    double reset_fraction;     /* PCD: fraction of the chains taken that were reset to noise */
    double mmd2;               /* unbiased MMD^2, model samples vs held-out data (eval2d_mmd); NaN if no
                                  out_dir (the samples are drawn for samples.png) */
    double energy_data, energy_neg;
    int diverged;              /* training stopped on a non-finite loss or gradient */
    char message[256];         /* why training stopped early, if it did */
};

struct train_io {
    const char *out_dir;  /* density.png, samples.png, log.csv, metrics.json, model.ckpt go here; NULL: nowhere */
    const char *model_name;
    FILE *progress;       /* progress line (\r-updated when is_tty); NULL: silent */
    int is_tty;
};

/* The buffers of one training step: data and negatives as one [2B, D] batch, loss weights, DCD
 * observations, MALA statistics and PCD's replay buffer (the one piece of sampler state that lives
 * from step to step). */
struct train_step {
    float *xall; /* rows 0..B-1: data; rows B..2B-1: negatives */
    float *w;    /* +1/B for data, -1/B for negatives */
    float *y;    /* DCD: the diffused data the posterior chains condition on */
    struct chain_stats chains;
    struct replay_buffer pcd;
};

int train_step_init(struct train_step *ts, struct rt_model *m);
void train_step_free(struct train_step *ts);

/* Copies the data batch x[B, D] in (unless x is ts->xall) and draws the objective's negatives into
 * rows B..2B-1 of ts->xall (noise keyed by `step`; PCD also advances its buffer). Returns 0, or -1 on
 * out of memory or settings config_check() rejects. */
int train_step_negatives(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         float half_width, int64_t step);
/* Runs the loss program, the same for every objective, on ts->xall. Afterwards every parameter's grad
 * holds the surrogate-loss gradient. */
void train_step_loss(struct rt_model *m, struct train_step *ts, double *loss);
/* One step without the update: train_step_negatives(), then train_step_loss(). Returns 0 or -1. */
int train_step_gradients(struct rt_model *m, const struct train_config *c, struct train_step *ts, const float *x,
                         float half_width, int64_t step, double *loss);

/* Adam's epsilon, and its step size at step t = 1, 2, ... with both bias corrections folded in:
 * lr sqrt(1 - beta2^t) / (1 - beta1^t). The update itself is compiled (the train program). */
#define ADAM_EPS 1e-8
double adam_step_size(const struct train_config *c, int64_t t);

/* Runs the train program (the loss's gradients and Adam's update at step t) on ts->xall, after
 * train_step_negatives(). Returns 1 if the update was finite and is now in the parameters, 0 if it was
 * not (the parameters and moments are unchanged). */
int train_step_update(struct rt_model *m, const struct train_config *c, struct train_step *ts, int64_t t, double *loss);

/* Trains m in place from step `start` (0: a fresh run) up to c->steps steps in total. With out_dir,
 * writes model.ckpt (parameters, Adam moments, step, run state) every c->checkpoint_every steps and at
 * the end. resume (NULL for a fresh run): the run state restored with the parameters at step `start`;
 * train_run takes its replay buffer over, and appends to log.csv (dropping rows past `start`, written
 * after the checkpoint by an interrupted session). Returns 0 when every step ran (summary filled), 1 when
 * training diverged (the parameters, and model.ckpt, are those of the last good step), -1 on an I/O or
 * memory error or a resume that does not fit the settings (message in summary). */
int train_run(struct rt_model *m, const struct train_config *c, const struct train_io *io, struct run_state *resume,
              int64_t start, struct train_summary *s);

/* Model samples: n points from `steps` MALA steps on E (step size c->step_size) started from uniform
 * noise over [-half, half]^D, keyed by c->seed. Returns 0, or -1 on out of memory. */
int model_samples(struct rt_model *m, const struct train_config *c, int steps, float half, float *out, size_t n);

/* The held-out points of a run: n points of c->data from their own stream (never trained on). Returns
 * 0, or -1 for a data set that is not 2-D. half gets the data box's half width. */
int train_test_points(const struct train_config *c, float *out, size_t n, float *half);

/* A saved model's metrics as at the end of training: held-out grid NLL and TV (c->grid), and the MMD^2
 * of c->n_samples model samples (c->sample_steps MALA steps) against as many held-out points. */
int train_evaluate(struct rt_model *m, const struct train_config *c, double *nll, double *tv, double *mmd2);

/* Energies of n points (xy: n * D floats) in chunks of the model's batch, and dE/dx (n * D floats)
 * unless grad is NULL. */
int model_energy(struct rt_model *m, const float *xy, float *energy, float *grad, size_t n);

/* Held-out grid NLL and TV of the model against test points. */
int model_eval2d(struct rt_model *m, int grid, float half, const float *test, size_t n_test, double *nll, double *tv);

#endif
