/* model.h: a compiled energy model as the runtime sees it: parameter buffers and the three compiled
 * programs a training run calls. The public API (api/) builds it from a model file; the runtime only
 * binds buffers by name and runs programs, so it never sees the frontend or the passes. */
#ifndef EBMC_MODEL_H
#define EBMC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"
#include "jit.h"

/* Names of the programs' data inputs and outputs. They contain ':' so no model identifier (a parameter
 * or the energy's argument) can collide with them. Prefixed names refer to a parameter <p>: "grad:<p>"
 * outputs bind to its gradient, "m:<p>" and "v:<p>" arguments to its Adam moments; the training step's
 * "new:<p>", "new:m:<p>" and "new:v:<p>" outputs are their updated values (IR_PARAM_NAME_MAX leaves room). */
#define RT_IN_PREFIX "in:"      /* in:<name>: the energy's conditioning argument <name> (a level t: [batch]) */
#define RT_IN_X "in:x"          /* data points (and negatives), [batch, D...]        */
#define RT_IN_WEIGHT "in:w"     /* loss weights, +1/B for data and -1/B for negatives */
#define RT_IN_NOISE "in:noise"  /* standard normal noise of one Langevin step, [batch, D...] */
#define RT_IN_LR "in:lr_t"      /* Adam's step size at this step, bias corrections included, [1] */
#define RT_IN_LABEL "in:label"  /* classify: one-hot labels, [batch, K] */
#define RT_OUT_LOGITS "logits"  /* a classifier's -E(x, y), [batch, K] */
#define RT_OUT_FEATURES "features" /* a classifier's penultimate features, [batch, F] */
#define RT_OUT_X_NEXT "x_next"
#define RT_OUT_ENERGY "energy"
#define RT_OUT_GRAD_X "dE/dx"
#define RT_OUT_LOSS "loss"
#define RT_GRAD_PREFIX "grad:"
#define RT_MOMENT1_PREFIX "m:"
#define RT_MOMENT2_PREFIX "v:"
#define RT_NEW_PREFIX "new:"

struct rt_param {
    char name[IR_NAME_LEN];
    int ndim;
    int64_t shape[IR_MAX_DIMS];
    int64_t numel;
    float *value, *grad;  /* grad is written by the loss program */
    float *adam_m, *adam_v;
    /* the training step's outputs, copied into value, adam_m and adam_v once checked to be finite */
    const float *new_value, *new_m, *new_v;
};

/* A compiled program with its buffers bound: parameter arguments point at parameter values, "m:<param>"
 * and "v:<param>" at its Adam moments, outputs named "grad:<param>" at parameter gradients; every other
 * output gets a buffer of its own ("new:..." ones are also recorded in the parameter). Inputs are set
 * per call through rt_program_input(). */
struct rt_program {
    struct jit_program *jit;
    struct ir_graph *graph; /* instead of jit: the graph the reference interpreter runs (backend = interp) */
    int n_args, n_outs;
    float **args, **outs;
    char (*arg_names)[IR_NAME_LEN];
    char (*out_names)[IR_NAME_LEN];
    int64_t *out_numel;
    unsigned char *out_owned;
    double flops;  /* multiply-add flops per run (ir_graph_flops) */
    int64_t runs;  /* runs so far: rt_model_flops_done */
};

struct rt_model {
    int dim;   /* data dimension D (product of the non-batch dims of x) */
    /* A time-dependent energy E(x, t): its level argument's input name in:<t> ([batch] floats, the level
     * index), "" for E(x). Every program binds it to level_zero ([2 batch] zeros: t = 0, the data's own
     * level) until a caller binds levels of its own with rt_bind_level. */
    char level_input[IR_NAME_LEN];
    float *level_zero;
    int batch; /* B: chains, data points and negatives per call (a rank's share of the global batch) */
    int threads;
    int rank, nranks; /* this process's place in a data-parallel job (parallel.h): 0 and 1 when alone */
    int n_params;
    struct rt_param *params;
    const char *source; /* the model text (not owned; NULL: none): saved in checkpoints as part of their identity */
    struct rt_program energy;      /* in:x[B, D] -> energy[B]                                      */
    struct rt_program energy_grad; /* in:x[B, D] -> energy[B], dE/dx[B, D]                          */
    struct rt_program loss;        /* in:x[2B, D], in:w[2B] -> loss[1], energy[2B], grad:<param>  */
    /* One training step: the loss program's gradients fed to Adam, the update fused into the kernels that
     * compute them. in:x, in:w, in:lr_t[1], m:<param>, v:<param> -> loss, energy, new:<param>,
     * new:m:<param>, new:v:<param> (rt_commit_update copies them in). */
    struct rt_program train;
    /* in:x[B, D], in:noise[B, D] -> x_next[B, D]: one ULA step on E, x - eta/2 clip(dE/dx) + tau sqrt(eta)
     * noise, the update fused into the dE/dx kernel. Compiled only when the objective's chains are ULA on
     * E (jit NULL otherwise); the samplers then use it instead of energy_grad and a host loop. */
    struct rt_program langevin;
    /* A data-parallel job's update (programs.h: program_build_adam), run on the gradients summed across
     * ranks; compiled instead of train when there is more than one rank (jit NULL otherwise). */
    struct rt_program adam;
    /* A classifier (energy [B, K]): K, and its features program in:x[B, D] -> features[B, F], compiled
     * when first asked for (jit NULL until then). n_classes = 0 for an energy of one value. */
    int n_classes;
    struct rt_program features;
    /* Long sampling work (model_samples, annealed_samples, restore_images) reports each chunk of the batch
     * done: report(ctx, rows done, rows in all). NULL: silent (training's own samples, the tests). */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
    float *grad_arena;  /* every parameter's gradient, one after another (rt_model_pack_grads), or NULL */
    int64_t grad_numel; /* floats in grad_arena */
};

/* Adds a parameter (buffers zeroed). Returns its index, or -1 on out of memory. */
int rt_model_add_param(struct rt_model *m, const char *name, int ndim, const int64_t *shape);
int rt_model_find_param(const struct rt_model *m, const char *name);
/* Moves every gradient into one buffer, grad_arena, in parameter order (zeroed), so that one all-reduce
 * covers them all in place. Call once, after the last rt_model_add_param and before binding programs.
 * Returns 0, or -1 on out of memory or a second call (the gradients are left as they were). */
int rt_model_pack_grads(struct rt_model *m);

/* Binds program `p` compiled from graph `g` (takes ownership of jit). With jit NULL, the program runs g
 * on the reference interpreter and takes ownership of g instead. Returns 0, or -1 with a message (an
 * argument that is neither a parameter nor an input, out of memory); the caller then still owns both. */
int rt_program_bind(struct rt_program *p, struct rt_model *m, struct ir_graph *g, struct jit_program *jit,
                    char *err, size_t errlen);
/* Points the input argument `name` at buf. Returns 0, or -1 if there is no such input. */
int rt_program_input(struct rt_program *p, const char *name, const float *buf);
/* Binds the level input of p (if the model has one) to t[batch of p], or to level 0 when t is NULL. */
void rt_bind_level(const struct rt_model *m, struct rt_program *p, const float *t);
/* The buffer of output `name`, or NULL. */
float *rt_program_output(const struct rt_program *p, const char *name);
/* Runs p (the interpreter ignores threads; if it runs out of memory, every output is NaN). */
void rt_program_run(struct rt_program *p, int threads);
/* The multiply-add flops of every program run so far (training's share of the FMA peak). */
double rt_model_flops_done(const struct rt_model *m);
int rt_program_ready(const struct rt_program *p); /* bound, to the JIT or the interpreter */

/* After the train program ran: if every updated parameter and moment is finite, copies them into the
 * parameters and returns 1; otherwise leaves the parameters as they were, names the first tensor that
 * is not finite in why (if not NULL) and returns 0. */
int rt_commit_update(struct rt_model *m, char *why, size_t len);

void rt_model_free(struct rt_model *m); /* frees buffers and programs, not m itself */

#endif
