/* frontend.h: the .ebm model language: parse and check a model file, and lower its energy function
 * to graph IR. The grammar is documented in docs/dsl.md.
 *
 * Every error is printed as `file:line:col: error: message`, followed by the source line and a caret
 * under the column, to the FILE given at parse time; functions report failure by return value and never
 * abort. */
#ifndef EBMC_FRONTEND_H
#define EBMC_FRONTEND_H

#include <stdio.h>

#include "ir.h"

struct fe_loc {
    int line, col; /* 1-based */
};

enum fe_init {
    FE_INIT_ZEROS,   /* zeros()                                  */
    FE_INIT_ONES,    /* ones()                                   */
    FE_INIT_NORMAL,  /* normal(std): N(0, std^2)                 */
    FE_INIT_UNIFORM, /* uniform(lo, hi)                          */
    FE_INIT_XAVIER,  /* xavier(): U(+-sqrt(6 / (fan_in + fan_out))), fans as in docs/dsl.md */
    FE_INIT_KAIMING_UNIFORM, /* kaiming_uniform(): U(+-1 / sqrt(fan_in)), PyTorch's default (a = sqrt(5)) */
};

struct fe_param {
    char name[IR_NAME_LEN];
    int ndim;
    int64_t shape[IR_MAX_DIMS];
    enum fe_init init;
    double init_args[2];
    struct fe_loc loc;
};

/* One `key = value` line of the train block. Values are kept as written; their meaning belongs to the
 * runtime, which reports bad values through fe_error_at() so users still see a location. */
struct fe_setting {
    char key[64];
    char value[128]; /* a number, identifier or string (without quotes) as written */
    int is_number;
    double number;
    struct fe_loc loc;      /* of the key */
    struct fe_loc value_loc;
};

struct fe_model; /* opaque: source text, AST, parameters, settings */

/* Parses and checks (names, arity, shapes with a symbolic batch size) a model. Returns NULL after
 * printing the errors to `diag` (at most a handful; parsing stops at the first syntax error). */
struct fe_model *fe_parse_file(const char *path, FILE *diag);
struct fe_model *fe_parse_string(const char *source, const char *filename, FILE *diag);
void fe_model_free(struct fe_model *m);

const char *fe_model_filename(const struct fe_model *m);
/* The energy's first argument, the point x: [B, D] or [B, D1, D2, ...]. */
int fe_model_input_ndim(const struct fe_model *m);             /* rank of x including B */
void fe_model_input_shape(const struct fe_model *m, int64_t batch, int64_t *shape); /* shape[0] = batch */

/* All of the energy's arguments, energy(x: [B, ...], t: [B], ...): input 0 is x; the others condition
 * the energy (a time or noise level, labels) and are never sampled. */
#define FE_MAX_INPUTS 4
int fe_model_n_inputs(const struct fe_model *m);
/* Input i's name (NUL-terminated into name[IR_NAME_LEN]), rank, and shape with shape[0] = batch. */
int fe_model_input_at(const struct fe_model *m, int i, char *name, int64_t batch, int64_t *shape);
int fe_model_n_params(const struct fe_model *m);
const struct fe_param *fe_model_param(const struct fe_model *m, int i);
int fe_model_n_settings(const struct fe_model *m);
const struct fe_setting *fe_model_setting(const struct fe_model *m, int i);
/* The setting with this key, or NULL. */
const struct fe_setting *fe_model_find_setting(const struct fe_model *m, const char *key);

/* Prints `file:line:col: error: <message>` with the source line and a caret. */
void fe_error_at(const struct fe_model *m, struct fe_loc loc, FILE *diag, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Lowers the energy function applied to the graph node `x` (shape: fe_model_input_shape for some
 * batch) into g. Parameters become IR_PARAM nodes named as in the model, so lowering twice (on two
 * inputs) shares them. On success stores the energy node, shape [batch], and returns 0; on failure
 * prints located errors to diag and returns -1. */
int fe_lower_energy(const struct fe_model *m, struct ir_graph *g, int x, int *energy, FILE *diag);
/* The same for an energy of fe_model_n_inputs(m) arguments: inputs[i] is the node for argument i, all
 * with the same batch size. */
int fe_lower_energy_inputs(const struct fe_model *m, struct ir_graph *g, const int *inputs, int *energy, FILE *diag);
/* Adds one input node per argument, named as in the model, at this batch size, and lowers the energy
 * on them (for checks and tests). Returns 0 or -1 as fe_lower_energy. */
int fe_lower_energy_at(const struct fe_model *m, struct ir_graph *g, int64_t batch, int *energy, FILE *diag);

/* The energy's value count per sample: K when it returns [B, K] with K > 1 (one energy per label,
 * E(x, y) = -logit_y(x), a classifier), 0 when it returns one energy, [B] or [B, 1]. */
int fe_model_n_classes(const struct fe_model *m);
/* The index of the function (def) with this name, or -1. */
int fe_model_find_function(const struct fe_model *m, const char *name);
/* Lowers the function `name` called on the energy's arguments (it must take as many), which must return
 * one row per sample, [B, F]: a classifier's `features` (docs/dsl.md). Returns 0 with the node in *out,
 * or -1 after printing located errors to diag. */
int fe_lower_function_inputs(const struct fe_model *m, const char *name, struct ir_graph *g, const int *inputs,
                             int *out, FILE *diag);

/* Prints the AST in a readable indented form (--emit=ast). */
void fe_print_ast(const struct fe_model *m, FILE *out);

#endif
