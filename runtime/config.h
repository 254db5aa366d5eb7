/* config.h: training settings. One table names every setting, its type, default and meaning; the
 * model file's train block, `--set key=value` and the dedicated command-line flags all go through
 * config_set(), so a setting is parsed and validated in exactly one place. */
#ifndef EBMC_CONFIG_H
#define EBMC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum objective { OBJ_CD, OBJ_SR_CD, OBJ_DCD_VE, OBJ_COUNT };
enum sampler_kind { SAMPLER_AUTO, SAMPLER_ULA, SAMPLER_MALA };

struct train_config {
    char data[32];             /* 2-D data set name */
    enum objective objective;
    int steps;                 /* parameter updates */
    int batch;                 /* data points per step (and negatives per step) */
    double lr;                 /* Adam learning rate */
    double beta1, beta2;       /* Adam moments */
    uint64_t seed;
    double alpha;              /* energy regularizer: alpha * mean(E+^2 + E-^2) */
    double sigma;              /* DCD-VE kernel noise: y = x + sigma * eps */
    int langevin_steps;        /* k for CD, M for DCD */
    double step_size;          /* eta in x' = x - eta/2 grad U + tau sqrt(eta) xi */
    double noise_scale;        /* tau */
    double grad_clip;          /* clip grad U elementwise to +-grad_clip; 0 = off */
    enum sampler_kind sampler; /* auto: ULA for cd and sr-cd, MALA for dcd-ve */
    int threads;               /* 0 = all cores */
    int eval_every;            /* steps between held-out evaluations into log.csv; 0 = only at the end */
    int grid;                  /* evaluation grid side (cells) */
    int n_samples;             /* model samples drawn for samples.png */
    int sample_steps;          /* MALA steps for those samples */
};

void config_defaults(struct train_config *c);

/* Sets `key` from its textual value. Returns 0, or -1 with a message in err (unknown key with a
 * suggestion, or a value that does not parse or is out of range). */
int config_set(struct train_config *c, const char *key, const char *value, char *err, size_t errlen);

/* The sampler actually used (resolves SAMPLER_AUTO). */
enum sampler_kind config_sampler(const struct train_config *c);

const char *objective_name(enum objective o);
const char *sampler_name(enum sampler_kind s);

/* Prints every setting as `key = value` lines, or as members of a JSON object (no braces). */
void config_print(const struct train_config *c, FILE *out);
void config_print_json(const struct train_config *c, FILE *out, const char *indent);
/* Prints the table of settings with their meaning, for --help. */
void config_print_help(FILE *out);

#endif
