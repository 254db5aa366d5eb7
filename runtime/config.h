/* config.h: training settings. One table names every setting, its type, default and meaning; the
 * model file's train block, `--set key=value` and the dedicated command-line flags all go through
 * config_set(), so a setting is parsed and validated in exactly one place. */
#ifndef EBMC_CONFIG_H
#define EBMC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* time-dcd-ve, time-dcd-vp: DCD on a noise ladder for an energy E(x, t) of a level t (objectives.md,
 * "Time-dependent EBM"; runtime/objectives/time_dcd.c). */
/* time-cd: the CD baseline on time-dcd-ve's ladder, negatives by annealed Langevin from noise. */
/* classify: supervised, for labelled data and an energy of one value per label E(x, y) = -logit_y(x):
 * cross-entropy of softmax(-E(x, .)) against the labels (runtime/objectives/classify.c). */
enum objective { OBJ_CD, OBJ_SR_CD, OBJ_PCD, OBJ_DCD_VE, OBJ_DCD_VP, OBJ_TIME_DCD_VE, OBJ_TIME_DCD_VP, OBJ_TIME_CD,
                 OBJ_CLASSIFY, OBJ_COUNT };
/* linearized: the one-step draw x~ = y/a - (s^2/a^2) grad E(y/a) + (s/a) xi, DCD objectives only. */
enum sampler_kind { SAMPLER_AUTO, SAMPLER_ULA, SAMPLER_MALA, SAMPLER_LINEARIZED, SAMPLER_COUNT };

/* The most PCD chains a replay buffer holds (the buffer_size setting's range), which bounds a checkpoint. */
#define CONFIG_MAX_BUFFER_SIZE 10000000

/* What runs the compiled programs: the LLVM JIT, or the reference interpreter (backend/interp.c, in
 * double, one op at a time: slow, for cross-checking the JIT on a user's own model). */
enum config_backend { BACKEND_JIT, BACKEND_INTERP };

struct train_config {
    char data[4096];           /* the data source's spec (runtime/data/data.h: data_open) */
    int data_scale;            /* enum data_scale */
    int image_size;            /* image folders: S x S (0: 32) */
    double held_out;           /* held-out fraction of sources without a test part (0: 0.1) */
    int data_limit;            /* at most this many training samples (0: all) */
    enum objective objective;
    int steps;                 /* parameter updates */
    int batch;                 /* data points per step (and negatives per step) */
    double lr;                 /* Adam learning rate */
    double beta1, beta2;       /* Adam moments */
    uint64_t seed;
    double alpha;              /* energy regularizer: alpha * mean(E+^2 + E-^2) */
    double sigma;              /* DCD-VE kernel noise: y = x + sigma * eps */
    double beta;               /* DCD-VP kernel: y = sqrt(1 - beta) x + sqrt(beta) eps */
    int langevin_steps;        /* k for CD, sr-CD and PCD, M for DCD (the linearized draw ignores it) */
    double step_size;          /* eta in x' = x - eta/2 grad U + tau sqrt(eta) xi */
    double noise_scale;        /* tau */
    double grad_clip;          /* clip grad U elementwise to +-grad_clip; 0 = off */
    enum sampler_kind sampler; /* auto: ULA for cd, sr-cd, pcd; MALA for dcd-ve, dcd-vp */
    int levels;                /* time-*: the ladder's levels L; E(x, t) for t = 0 .. L-1 */
    double sigma_min, sigma_max; /* time-dcd-ve, time-cd: sigma_1 .. sigma_L geometric between these (sigma_0 = 0) */
    double beta_min, beta_max; /* time-dcd-vp: beta_0 .. beta_{L-1} linear between these */
    double level_step;         /* time-*: the MALA step at level t is level_step * s_t^2 */
    int buffer_size;           /* PCD: persistent chains in the replay buffer */
    double reinit_prob;        /* PCD: probability rho that a chain restarts from noise at a step */
    int threads;               /* 0 = all cores (training switches to 1 while that is faster) */
    int backend;               /* enum config_backend: what runs the programs */
    int eval_every;            /* steps between held-out evaluations into log.csv; 0 = only at the end */
    int checkpoint_every;      /* steps between checkpoints (RUN_DIR/model.ckpt); 0 = only at the end */
    int ranks;                 /* processes of the data-parallel job (parallel.h); 0 = as many as it has */
    int check_ranks_every;     /* steps between checksums of the ranks' parameters (0 = never) */
    int grid;                  /* evaluation grid side (cells) */
    int n_samples;             /* model samples drawn for samples.png */
    int sample_steps;          /* MALA steps for those samples */
    char fcd_classifier[4096]; /* a classifier's run folder: FCD of fcd_n samples into metrics.json; "none" */
    int fcd_n;                 /* samples (and held-out and training samples) of that FCD */
};

void config_defaults(struct train_config *c);

/* Sets `key` from its textual value. Returns 0, or -1 with a message in err (unknown key with a
 * suggestion, or a value that does not parse or is out of range). */
int config_set(struct train_config *c, const char *key, const char *value, char *err, size_t errlen);

/* The value of setting `key` as config.txt writes it, into buf. Returns 0, 1 if the value is a number
 * (*number set, when non-NULL), or -1 for an unknown key. */
int config_get(const struct train_config *c, const char *key, char *buf, size_t len, double *number);

/* The sampler actually used (resolves SAMPLER_AUTO). */
enum sampler_kind config_sampler(const struct train_config *c);

/* Checks the combinations of settings that no single setting can check on its own (the linearized
 * draw needs a DCD objective; the PCD buffer must hold a batch). Returns 0, or -1 with a message. */
int config_check(const struct train_config *c, char *err, size_t errlen);

/* 1 for the DCD objectives, whose negatives sample the posterior q(x | y) of a Gaussian kernel. */
int objective_is_dcd(enum objective o);
/* The DCD kernel y = a x + s eps of the objective: VE a = 1, s = sigma; VP a = sqrt(1 - beta),
 * s = sqrt(beta). Returns -1 (a = s = 1) for an objective that is not DCD. */
int config_kernel(const struct train_config *c, double *a, double *s);

/* 1 for the supervised objective (classify), which draws no negatives. */
int objective_is_classify(enum objective o);
/* 1 for the objectives of an energy E(x, t) on a noise ladder. */
int objective_is_time(enum objective o);
/* Level t of the ladder of a time objective: the kernel x_{t+1} = a x_t + s eps, the marginal
 * x_t = mean x_0 + sd eps (VE: a = mean = 1, s^2 = sigma_{t+1}^2 - sigma_t^2, sd = sigma_t; VP: a =
 * sqrt(1 - beta_t), s = sqrt(beta_t), mean = prod_{k<t} a_k, sd = sqrt(1 - mean^2)) and the MALA step
 * eta at that level. t = levels gives the top (a, s, eta unused). Returns -1 for other objectives. */
struct ladder_level {
    double a, s, mean, sd, eta;
};
int config_ladder(const struct train_config *c, int t, struct ladder_level *out);

const char *objective_name(enum objective o);
const char *sampler_name(enum sampler_kind s);

struct json;
/* Prints every setting as `key = value` lines, or writes them as one JSON object. */
void config_print(const struct train_config *c, FILE *out);
void config_write_json(const struct train_config *c, struct json *j);
/* Prints the table of settings with their meaning, for --help. */
void config_print_help(FILE *out);

#endif
