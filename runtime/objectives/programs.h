/* programs.h: the graphs of the programs a model compiles to, built from its energy function and the
 * training settings. A conditioned energy E(x, t) takes its conditions as further inputs of every
 * program, of the program's batch (in:t[2B] in loss and train). The energy comes as a callback that lowers E(x) into a graph, so this file needs
 * no frontend: the API passes the model's lowering, tests may pass any graph builder.
 *
 *     energy    in:x[B, ...] (, in:t[B])          -> energy[B]
 *     sampler   in:x[B, ...]                      -> energy[B], dE/dx[B, ...]
 *     loss      in:x[2B, ...], in:w[2B]           -> loss[1], energy[2B], grad:<p> for every parameter p
 *               classify: in:x[B, ...], in:label[B, K] -> loss[1], energy[B], grad:<p>
 *     train     loss's inputs, in:lr_t[1], m:<p>, v:<p> -> loss, energy, new:<p>, new:m:<p>, new:v:<p>
 *     langevin  in:x[B, ...], in:noise[B, ...]    -> x_next[B, ...]   (one ULA step on E)
 *
 * loss is the surrogate of objectives.md with weights w = +1/B for data, -1/B for negatives:
 *     loss = sum(w * E(sg(x))) + alpha / B * sum(E(sg(x))^2)
 * and train feeds its gradients to Adam, whose update the fusion pass runs in the epilogue of the kernel
 * computing each gradient.
 *
 * A classifier's energy returns [B, K], one energy per label E(x, y) = -logit_y(x). Its programs read
 * it as the energy of x alone through the marginal E(x) = -log sum_y exp(-E(x, y)) (energy[B], and
 * dE/dx of that), the energy program also outputs logits[B, K] = -E(x, .), and its loss is classify's
 * cross-entropy of softmax(-E(x, .)) against one-hot labels (runtime/objectives/classify.c). */
#ifndef EBMC_PROGRAMS_H
#define EBMC_PROGRAMS_H

#include <stddef.h>

#include "config.h"
#include "ir.h"

enum program { PROGRAM_ENERGY, PROGRAM_SAMPLER, PROGRAM_LOSS, PROGRAM_TRAIN, PROGRAM_LANGEVIN, N_PROGRAMS };
extern const char *const program_names[N_PROGRAMS];

/* The model's energy: lower(ctx, g, inputs, &e) adds E(x, c...) to g for the input nodes inputs[0] = x
 * and inputs[1 + k] = condition k, and stores the energy node (shape [batch]); returns 0, or -1 after
 * reporting the problem itself. ndim/shape: x's rank and shape (shape[0], the batch, is set by each
 * program); cond: the conditioning inputs (a time level t: [B]), named in:<name> in every program,
 * never differentiated. params: the names of every parameter the model declares, in order (those the
 * energy does not use get no gradient). */
#define ENERGY_MAX_COND 3
struct energy_fn {
    int (*lower)(void *ctx, struct ir_graph *g, const int *inputs, int *energy);
    void *ctx;
    int ndim;
    int64_t shape[IR_MAX_DIMS];
    int n_cond;
    struct energy_cond {
        char name[IR_NAME_LEN]; /* the graph input's name, in:<name> */
        int ndim;
        int64_t shape[IR_MAX_DIMS];
    } cond[ENERGY_MAX_COND];
    int n_params;
    const char *const *params;
    int n_classes; /* the energy returns [B, K], K = n_classes > 1 (a classifier); 0: [B] */
    /* A classifier's penultimate features, [B, F], on the same inputs as lower (NULL: the model has none). */
    int (*lower_features)(void *ctx, struct ir_graph *g, const int *inputs, int *features);
};

/* The program's graph (before the default passes), or NULL with the reason in err. */
struct ir_graph *program_build(enum program p, const struct energy_fn *e, const struct train_config *c, char *err,
                               size_t errlen);

/* The Adam program, which a data-parallel job runs instead of train, after summing the loss program's
 * gradients across ranks (parallel.h): train's update alone, the gradients as arguments,
 *     adam      in:lr_t[1], grad:<p>, m:<p>, v:<p>  -> new:<p>, new:m:<p>, new:v:<p>
 * It is not among the programs above (compile -o and --stats list those): one process never needs it. */
#define PROGRAM_ADAM N_PROGRAMS
struct ir_graph *program_build_adam(const struct energy_fn *e, const struct train_config *c, char *err, size_t errlen);

/* The features program of a classifier (fcd.h scores samples with it), compiled on demand like adam:
 *     features  in:x[B, ...]                      -> features[B, F]   */
#define PROGRAM_FEATURES (N_PROGRAMS + 1)
struct ir_graph *program_build_features(const struct energy_fn *e, const struct train_config *c, char *err,
                                        size_t errlen);

/* Whether training runs program p with these settings: langevin only when the objective's chains are
 * ULA on E itself (not a DCD posterior), loss never (it is compiled for checks and inspection). */
int program_used_in_training(enum program p, const struct train_config *c);

/* Adam, whose update the train program computes: its epsilon, and its step size at step t = 1, 2, ...
 * with both bias corrections folded in, lr sqrt(1 - beta2^t) / (1 - beta1^t), the in:lr_t input. */
#define ADAM_EPS 1e-8
double adam_step_size(const struct train_config *c, int64_t t);

#endif
