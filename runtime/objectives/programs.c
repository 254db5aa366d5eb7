/* programs.c: the graphs of the energy, sampler, loss, train and langevin programs (programs.h). */
#include "programs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autodiff.h"
#include "model.h"

const char *const program_names[N_PROGRAMS] = {"energy", "sampler", "loss", "train", "langevin"};

int program_used_in_training(enum program p, const struct train_config *c) {
    switch (p) {
    case PROGRAM_LOSS: return 0;
    case PROGRAM_LANGEVIN: /* the time objectives' chains have a step size per row: host loops */
        return config_sampler(c) == SAMPLER_ULA && !objective_is_dcd(c->objective) && !objective_is_time(c->objective) &&
               !objective_is_classify(c->objective);
    default: return 1;
    }
}

double adam_step_size(const struct train_config *c, int64_t t) {
    return c->lr * sqrt(1 - pow(c->beta2, (double)t)) / (1 - pow(c->beta1, (double)t));
}

/* The data input in:x and the conditions, with `batch` rows, into ids[0 .. 1 + n_cond). */
static int add_inputs(const struct energy_fn *e, struct ir_graph *g, int64_t batch, int *ids) {
    int64_t shape[IR_MAX_DIMS];
    memcpy(shape, e->shape, sizeof shape);
    shape[0] = batch;
    ids[0] = ir_input(g, RT_IN_X, e->ndim, shape);
    for (int k = 0; k < e->n_cond; k++) {
        memcpy(shape, e->cond[k].shape, sizeof shape);
        shape[0] = batch;
        ids[1 + k] = ir_input(g, e->cond[k].name, e->cond[k].ndim, shape);
        if (ids[1 + k] < 0) return -1;
    }
    return ids[0] < 0 ? -1 : 0;
}

/* A classifier's energies per label E[B, K] -> the energy of x alone, the marginal
 * E(x) = -log sum_y exp(-E(x, y)), [B] (JEM's reading of a classifier as an energy). */
static int marginal_energy(struct ir_graph *g, int e, int64_t batch) {
    int lse = ir_logsumexp(g, ir_unary(g, IR_NEG, e), 1u << 1);
    return ir_unary(g, IR_NEG, ir_reshape(g, lse, 1, &batch));
}

/* energy(x) -> energy[B] (a classifier: also logits[B, K] = -E(x, y)), and with_grad: dE/dx (the Langevin
 * drift; never d/dt). */
static int build_energy(struct ir_graph *g, const struct energy_fn *e, const struct train_config *c, int with_grad) {
    int in[1 + ENERGY_MAX_COND], en, gx;
    if (add_inputs(e, g, c->batch, in) != 0 || e->lower(e->ctx, g, in, &en) != 0) return -1;
    if (e->n_classes > 0) {
        if (ir_graph_output(g, RT_OUT_LOGITS, ir_unary(g, IR_NEG, en)) != 0) return -1;
        en = marginal_energy(g, en, c->batch);
    }
    if (ir_graph_output(g, RT_OUT_ENERGY, en) != 0) return -1;
    if (with_grad && (ad_grad(g, en, -1, 1, &in[0], &gx) != 0 || ir_graph_output(g, RT_OUT_GRAD_X, gx) != 0)) return -1;
    return 0;
}

/* Adam's update of parameter p (node `param`) with gradient `grad`, in float, with the moments as
 * arguments m:<p> and v:<p> and the step size lr_t (bias corrections included) as an argument:
 *     m' = b1 m + (1 - b1) g,  v' = b2 v + (1 - b2) g^2,  p' = p - lr_t m' / (sqrt(v') + eps)
 * Outputs new:<p>, new:m:<p>, new:v:<p>. */
static int add_adam_update(struct ir_graph *g, const struct train_config *c, const char *p, int param, int grad,
                           int lr_t) {
    const struct ir_node *n = ir_node_at(g, param);
    char name[IR_NAME_LEN];
    int64_t shape[IR_MAX_DIMS];
    int ndim = n->ndim;
    memcpy(shape, n->shape, sizeof shape);
    snprintf(name, sizeof name, RT_MOMENT1_PREFIX "%s", p);
    int m = ir_input(g, name, ndim, shape);
    snprintf(name, sizeof name, RT_MOMENT2_PREFIX "%s", p);
    int v = ir_input(g, name, ndim, shape);
    if (m < 0 || v < 0) return -1;
    int m_next = ir_binary(g, IR_ADD, ir_binary(g, IR_MUL, ir_const_like(g, c->beta1, m), m),
                           ir_binary(g, IR_MUL, ir_const_like(g, 1 - c->beta1, grad), grad));
    int g2 = ir_unary(g, IR_SQUARE, grad);
    int v_next = ir_binary(g, IR_ADD, ir_binary(g, IR_MUL, ir_const_like(g, c->beta2, v), v),
                           ir_binary(g, IR_MUL, ir_const_like(g, 1 - c->beta2, g2), g2));
    int v_sqrt = ir_unary(g, IR_SQRT, v_next);
    int denom = ir_binary(g, IR_ADD, v_sqrt, ir_const_like(g, ADAM_EPS, v_sqrt));
    int p_next = ir_binary(g, IR_SUB, param, ir_binary_bcast(g, IR_MUL, lr_t, ir_binary(g, IR_DIV, m_next, denom)));
    if (p_next < 0) return -1;
    snprintf(name, sizeof name, RT_NEW_PREFIX "%s", p);
    if (ir_graph_output(g, name, p_next) != 0) return -1;
    snprintf(name, sizeof name, RT_NEW_PREFIX RT_MOMENT1_PREFIX "%s", p);
    if (ir_graph_output(g, name, m_next) != 0) return -1;
    snprintf(name, sizeof name, RT_NEW_PREFIX RT_MOMENT2_PREFIX "%s", p);
    return ir_graph_output(g, name, v_next);
}

/* The surrogate loss on [2B, ...] (data, then negatives): into *loss, the energies [2B] into *energy. */
static int surrogate_loss(struct ir_graph *g, const struct energy_fn *ef, const struct train_config *c, int *loss,
                          int *energy) {
    int64_t two_b = 2 * (int64_t)c->batch;
    int in[1 + ENERGY_MAX_COND], e;
    int w = add_inputs(ef, g, two_b, in) == 0 ? ir_input(g, RT_IN_WEIGHT, 1, &two_b) : -1;
    if (w < 0) return -1;
    in[0] = ir_stop_grad(g, in[0]);
    if (ef->lower(ef->ctx, g, in, &e) != 0) return -1;
    int fit = ir_sum_all(g, ir_binary(g, IR_MUL, w, e));
    int reg = ir_sum_all(g, ir_unary(g, IR_SQUARE, e));
    *loss = ir_binary(g, IR_ADD, fit, ir_binary(g, IR_MUL, ir_const_like(g, c->alpha / c->batch, reg), reg));
    *energy = e;
    return *loss < 0 ? -1 : 0;
}

/* classify: the cross-entropy of softmax(-E(x, .)) against the labels in:label[B, K] (one-hot rows),
 *     loss = 1/B sum_i -log p(y_i | x_i) = 1/B sum_i (E(x_i, y_i) - E(x_i)),
 * E(x) the marginal energy; *energy gets E(x), [B]. */
static int classify_loss(struct ir_graph *g, const struct energy_fn *ef, const struct train_config *c, int *loss,
                         int *energy) {
    int64_t b = c->batch, shape[2] = {b, ef->n_classes};
    int in[1 + ENERGY_MAX_COND], e;
    if (ef->n_classes < 2) {
        ir_graph_fail(g, "objective classify needs an energy of one value per label, [B, K]");
        return -1;
    }
    int label = add_inputs(ef, g, b, in) == 0 ? ir_input(g, RT_IN_LABEL, 2, shape) : -1;
    if (label < 0) return -1;
    in[0] = ir_stop_grad(g, in[0]);
    if (ef->lower(ef->ctx, g, in, &e) != 0) return -1;
    int marginal = marginal_energy(g, e, b);
    int nll = ir_binary(g, IR_SUB, ir_sum_all(g, ir_binary(g, IR_MUL, label, e)), ir_sum_all(g, marginal));
    *loss = ir_binary(g, IR_MUL, ir_const_like(g, 1.0 / (double)b, nll), nll);
    *energy = marginal;
    return *loss < 0 ? -1 : 0;
}

/* The objective's loss (the surrogate, or classify's cross-entropy) and its parameter gradients: as
 * grad:<p> outputs, or with `update` fed to Adam. */
static int build_loss(struct ir_graph *g, const struct energy_fn *ef, const struct train_config *c, int update) {
    int loss, e;
    if ((objective_is_classify(c->objective) ? classify_loss : surrogate_loss)(g, ef, c, &loss, &e) != 0) return -1;
    if (ir_graph_output(g, RT_OUT_LOSS, loss) || ir_graph_output(g, RT_OUT_ENERGY, e)) return -1;
    int64_t one = 1;
    int lr_t = update ? ir_input(g, RT_IN_LR, 1, &one) : 0;
    if (lr_t < 0) return -1;
    for (int i = 0; i < ef->n_params; i++) {
        const char *p = ef->params[i];
        int id = ir_graph_find_arg(g, p), grad;
        if (id < 0) continue; /* a parameter the energy never uses keeps a zero gradient and its value */
        char name[IR_NAME_LEN];
        snprintf(name, sizeof name, RT_GRAD_PREFIX "%s", p); /* fits: IR_PARAM_NAME_MAX */
        if (ad_grad(g, loss, -1, 1, &id, &grad) != 0) return -1;
        if (update ? add_adam_update(g, c, p, id, grad, lr_t) : ir_graph_output(g, name, grad)) return -1;
    }
    return 0;
}

/* Adam alone, the update of a data-parallel step (parallel.h): the gradients come in as grad:<p>
 * arguments (the loss program's, summed across ranks), and the update is add_adam_update's, the one the
 * train program fuses. The energy is lowered only for the parameters it uses and their shapes: its nodes
 * are dead, and in:x stays an argument that no kernel reads. */
static int build_adam(struct ir_graph *g, const struct energy_fn *ef, const struct train_config *c) {
    int64_t one = 1;
    int in[1 + ENERGY_MAX_COND], e;
    int lr_t = add_inputs(ef, g, c->batch, in) == 0 ? ir_input(g, RT_IN_LR, 1, &one) : -1;
    if (lr_t < 0 || ef->lower(ef->ctx, g, in, &e) != 0) return -1;
    for (int i = 0; i < ef->n_params; i++) {
        const char *p = ef->params[i];
        int id = ir_graph_find_arg(g, p);
        if (id < 0) continue; /* as build_loss: a parameter the energy never uses keeps its value */
        const struct ir_node *n = ir_node_at(g, id);
        char name[IR_NAME_LEN];
        snprintf(name, sizeof name, RT_GRAD_PREFIX "%s", p);
        int grad = ir_input(g, name, n->ndim, n->shape);
        if (grad < 0 || add_adam_update(g, c, p, id, grad, lr_t) != 0) return -1;
    }
    return 0;
}

/* One ULA step on E for a batch of chains, with the settings' step size, noise scale and clipping:
 *     x_next = x - eta/2 clip(dE/dx) + tau sqrt(eta) noise
 * the same float operations, in the same order, as the host loop in runtime/sampler.c. */
static int build_langevin(struct ir_graph *g, const struct energy_fn *e, const struct train_config *c) {
    if (build_energy(g, e, c, 1) != 0) return -1;
    int x = ir_graph_find_arg(g, RT_IN_X), gx = g->outputs[ir_graph_find_output(g, RT_OUT_GRAD_X)].node;
    const struct ir_node *xn = ir_node_at(g, x);
    int noise = ir_input(g, RT_IN_NOISE, xn->ndim, xn->shape);
    if (c->grad_clip > 0) { /* g > c ? c : g < -c ? -c : g, as the host's clip: a NaN stays NaN */
        int hi = ir_const_like(g, c->grad_clip, gx), lo = ir_const_like(g, -c->grad_clip, gx);
        gx = ir_where(g, ir_binary(g, IR_GT, gx, hi), hi, ir_where(g, ir_binary(g, IR_LT, gx, lo), lo, gx));
    }
    int drift = ir_binary(g, IR_MUL, ir_const_like(g, 0.5 * c->step_size, gx), gx);
    int kick = ir_binary(g, IR_MUL, ir_const_like(g, c->noise_scale * sqrt(c->step_size), noise), noise);
    int next = ir_binary(g, IR_ADD, ir_binary(g, IR_SUB, x, drift), kick);
    g->n_outputs = 0; /* the program's only output: ULA needs neither the energy nor dE/dx */
    return next < 0 ? -1 : ir_graph_output(g, RT_OUT_X_NEXT, next);
}

/* A classifier's features program: in:x -> features[B, F]. */
static int build_features(struct ir_graph *g, const struct energy_fn *e, const struct train_config *c) {
    int in[1 + ENERGY_MAX_COND], f;
    if (!e->lower_features) {
        ir_graph_fail(g, "the model has no features function (def features(x), docs/dsl.md)");
        return -1;
    }
    if (add_inputs(e, g, c->batch, in) != 0 || e->lower_features(e->ctx, g, in, &f) != 0) return -1;
    return ir_graph_output(g, RT_OUT_FEATURES, f);
}

/* The graph of program p (PROGRAM_ADAM: the Adam program) or NULL with the reason in err. */
static struct ir_graph *build(int p, const struct energy_fn *e, const struct train_config *c, char *err, size_t errlen) {
    const char *name = p == PROGRAM_ADAM ? "adam" : p == PROGRAM_FEATURES ? "features" : program_names[p];
    struct ir_graph *g = ir_graph_new();
    if (!g) {
        snprintf(err, errlen, "out of memory building the %s graph", name);
        return NULL;
    }
    int rc;
    switch (p) {
    case PROGRAM_LOSS: rc = build_loss(g, e, c, 0); break;
    case PROGRAM_TRAIN: rc = build_loss(g, e, c, 1); break;
    case PROGRAM_LANGEVIN: rc = build_langevin(g, e, c); break;
    case PROGRAM_ADAM: rc = build_adam(g, e, c); break;
    case PROGRAM_FEATURES: rc = build_features(g, e, c); break;
    default: rc = build_energy(g, e, c, p == PROGRAM_SAMPLER); break;
    }
    if (rc != 0) {
        /* the energy's own errors were reported by its lowering; a graph error says what it is */
        snprintf(err, errlen, "building the %s graph: %s", name,
                 ir_graph_error(g)[0] ? ir_graph_error(g) : "the energy could not be lowered");
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

struct ir_graph *program_build(enum program p, const struct energy_fn *e, const struct train_config *c, char *err,
                               size_t errlen) {
    return build(p, e, c, err, errlen);
}

struct ir_graph *program_build_adam(const struct energy_fn *e, const struct train_config *c, char *err, size_t errlen) {
    return build(PROGRAM_ADAM, e, c, err, errlen);
}

struct ir_graph *program_build_features(const struct energy_fn *e, const struct train_config *c, char *err,
                                        size_t errlen) {
    return build(PROGRAM_FEATURES, e, c, err, errlen);
}
