/* model.c: parameter storage and program binding. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

int rt_model_add_param(struct rt_model *m, const char *name, int ndim, const int64_t *shape) {
    struct rt_param *ps = realloc(m->params, sizeof *ps * (size_t)(m->n_params + 1));
    if (!ps) return -1;
    m->params = ps;
    struct rt_param *p = &ps[m->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) p->shape[i] = shape[i], p->numel *= shape[i];
    size_t n = (size_t)p->numel;
    p->value = calloc(n, sizeof(float));
    p->grad = calloc(n, sizeof(float));
    p->adam_m = calloc(n, sizeof(float));
    p->adam_v = calloc(n, sizeof(float));
    if (!p->value || !p->grad || !p->adam_m || !p->adam_v) {
        free(p->value), free(p->grad), free(p->adam_m), free(p->adam_v);
        return -1;
    }
    return m->n_params++;
}

int rt_model_find_param(const struct rt_model *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) return i;
    return -1;
}

int rt_model_pack_grads(struct rt_model *m) {
    int64_t total = 0;
    for (int i = 0; i < m->n_params; i++) total += m->params[i].numel;
    if (m->grad_arena) return -1; /* once: the gradients already point into an arena */
    float *arena = calloc((size_t)(total > 0 ? total : 1), sizeof(float));
    if (!arena) return -1;
    int64_t at = 0;
    for (int i = 0; i < m->n_params; i++) {
        free(m->params[i].grad);
        m->params[i].grad = arena + at;
        at += m->params[i].numel;
    }
    m->grad_arena = arena, m->grad_numel = total;
    return 0;
}

/* The parameter that `name` is `prefix` followed by, or -1. */
static int prefixed_param(const struct rt_model *m, const char *name, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(name, prefix, n) == 0 ? rt_model_find_param(m, name + n) : -1;
}

static void program_free(struct rt_program *p) {
    if (p->outs)
        for (int i = 0; i < p->n_outs; i++)
            if (p->out_owned[i]) free(p->outs[i]);
    jit_free(p->jit);
    ir_graph_free(p->graph);
    free(p->args), free(p->outs), free(p->arg_names), free(p->out_names), free(p->out_numel), free(p->out_owned);
    memset(p, 0, sizeof *p);
}

int rt_program_bind(struct rt_program *p, struct rt_model *m, struct ir_graph *g, struct jit_program *jit,
                    char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    p->jit = jit;
    p->n_args = ir_graph_args(g, NULL);
    p->n_outs = g->n_outputs;
    int *ids = malloc(sizeof(int) * (size_t)(p->n_args + 1));
    p->args = calloc((size_t)p->n_args + 1, sizeof *p->args);
    p->arg_names = calloc((size_t)p->n_args + 1, sizeof *p->arg_names);
    p->outs = calloc((size_t)p->n_outs + 1, sizeof *p->outs);
    p->out_names = calloc((size_t)p->n_outs + 1, sizeof *p->out_names);
    p->out_numel = calloc((size_t)p->n_outs + 1, sizeof *p->out_numel);
    p->out_owned = calloc((size_t)p->n_outs + 1, 1);
    if (!ids || !p->args || !p->arg_names || !p->outs || !p->out_names || !p->out_numel || !p->out_owned) goto oom;
    ir_graph_args(g, ids);
    for (int i = 0; i < p->n_args; i++) {
        const struct ir_node *n = ir_node_at(g, ids[i]);
        int k;
        memcpy(p->arg_names[i], n->name, IR_NAME_LEN);
        if (n->op == IR_PARAM) {
            int k = rt_model_find_param(m, n->name);
            if (k < 0) {
                snprintf(err, errlen, "program parameter '%s' is not a model parameter", n->name);
                goto fail;
            }
            p->args[i] = m->params[k].value;
        } else if ((k = prefixed_param(m, n->name, RT_MOMENT1_PREFIX)) >= 0) {
            p->args[i] = m->params[k].adam_m;
        } else if ((k = prefixed_param(m, n->name, RT_MOMENT2_PREFIX)) >= 0) {
            p->args[i] = m->params[k].adam_v;
        } else if ((k = prefixed_param(m, n->name, RT_GRAD_PREFIX)) >= 0) {
            p->args[i] = m->params[k].grad; /* the adam program's gradients (programs.h) */
        } else if (m->level_input[0] && strcmp(n->name, m->level_input) == 0) {
            if (!m->level_zero && !(m->level_zero = calloc(2 * (size_t)m->batch, sizeof(float)))) goto oom;
            p->args[i] = m->level_zero;
        }
    }
    for (int i = 0; i < p->n_outs; i++) {
        const struct ir_output *o = &g->outputs[i];
        memcpy(p->out_names[i], o->name, IR_NAME_LEN);
        p->out_numel[i] = ir_node_numel(ir_node_at(g, o->node));
        int k = prefixed_param(m, o->name, RT_GRAD_PREFIX);
        if (k >= 0) {
            p->outs[i] = m->params[k].grad;
            continue;
        }
        /* Read where the kernels compute it, saving a copy per run, unless it is a constant or an
         * argument (jit_output: NULL) or the interpreter runs the program. */
        p->outs[i] = jit ? jit_output(jit, i) : NULL;
        if (!p->outs[i]) {
            p->outs[i] = calloc((size_t)p->out_numel[i], sizeof(float));
            if (!p->outs[i]) goto oom;
            p->out_owned[i] = 1;
        }
        size_t np = strlen(RT_NEW_PREFIX);
        if (strncmp(o->name, RT_NEW_PREFIX, np) != 0) continue;
        const char *new_name = o->name + np;
        if ((k = prefixed_param(m, new_name, RT_MOMENT1_PREFIX)) >= 0) m->params[k].new_m = p->outs[i];
        else if ((k = prefixed_param(m, new_name, RT_MOMENT2_PREFIX)) >= 0) m->params[k].new_v = p->outs[i];
        else if ((k = rt_model_find_param(m, new_name)) >= 0) m->params[k].new_value = p->outs[i];
    }
    free(ids);
    p->flops = ir_graph_flops(g);
    if (!jit) p->graph = g;
    return 0;
oom:
    snprintf(err, errlen, "out of memory binding a program");
fail:
    free(ids);
    p->jit = NULL; /* the caller still owns jit on failure */
    program_free(p);
    return -1;
}

int rt_program_input(struct rt_program *p, const char *name, const float *buf) {
    for (int i = 0; i < p->n_args; i++)
        if (strcmp(p->arg_names[i], name) == 0) {
            p->args[i] = (float *)buf; /* programs never write their arguments */
            return 0;
        }
    return -1;
}

void rt_bind_level(const struct rt_model *m, struct rt_program *p, const float *t) {
    if (m->level_input[0]) rt_program_input(p, m->level_input, t ? t : m->level_zero);
}

float *rt_program_output(const struct rt_program *p, const char *name) {
    for (int i = 0; i < p->n_outs; i++)
        if (strcmp(p->out_names[i], name) == 0) return p->outs[i];
    return NULL;
}

int rt_program_ready(const struct rt_program *p) { return p->jit || p->graph; }

/* The interpreter runs in double: the float buffers are widened before and narrowed after. */
static void interp_program_run(struct rt_program *p) {
    const struct ir_graph *g = p->graph;
    int *ids = malloc(sizeof(int) * (size_t)(p->n_args + 1));
    double **args = calloc((size_t)p->n_args + 1, sizeof *args), **outs = calloc((size_t)p->n_outs + 1, sizeof *outs);
    int ok = ids && args && outs;
    if (ok) ir_graph_args(g, ids);
    for (int i = 0; ok && i < p->n_args; i++) {
        int64_t n = ir_node_numel(ir_node_at(g, ids[i]));
        ok = (args[i] = malloc(sizeof(double) * (size_t)n)) != NULL;
        for (int64_t j = 0; ok && j < n; j++) args[i][j] = p->args[i][j];
    }
    for (int i = 0; ok && i < p->n_outs; i++) ok = (outs[i] = malloc(sizeof(double) * (size_t)p->out_numel[i])) != NULL;
    char err[256];
    ok = ok && interp_run(g, (const double *const *)args, outs, err, sizeof err) == 0;
    for (int i = 0; i < p->n_outs; i++)
        for (int64_t j = 0; j < p->out_numel[i]; j++) p->outs[i][j] = ok ? (float)outs[i][j] : NAN;
    for (int i = 0; args && i < p->n_args; i++) free(args[i]);
    for (int i = 0; outs && i < p->n_outs; i++) free(outs[i]);
    free(ids), free(args), free(outs);
}

void rt_program_run(struct rt_program *p, int threads) {
    if (p->graph) interp_program_run(p);
    else jit_run(p->jit, p->args, p->outs, threads);
    p->runs++;
}

double rt_model_flops_done(const struct rt_model *m) {
    const struct rt_program *all[] = {&m->energy, &m->energy_grad, &m->loss,     &m->train,
                                      &m->langevin, &m->adam,      &m->features};
    double flops = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) flops += all[i]->flops * (double)all[i]->runs;
    return flops;
}

static int all_finite(const float *x, int64_t n) {
    int ok = 1;
    for (int64_t i = 0; i < n; i++) ok &= isfinite(x[i]) != 0; /* no early exit: this loop vectorizes */
    return ok;
}

int rt_commit_update(struct rt_model *m, char *why, size_t len) {
    for (int k = 0; k < m->n_params; k++) {
        const struct rt_param *p = &m->params[k];
        if (!p->new_value) continue; /* a parameter the energy never uses keeps its value */
        const char *what = !all_finite(p->new_m, p->numel)       ? "the gradient of"
                           : !all_finite(p->new_v, p->numel)     ? "Adam's second moment of"
                           : !all_finite(p->new_value, p->numel) ? "the Adam update of"
                                                                 : NULL;
        if (what) {
            if (why) snprintf(why, len, "%s parameter '%s' is not finite", what, p->name);
            return 0;
        }
    }
    for (int k = 0; k < m->n_params; k++) {
        struct rt_param *p = &m->params[k];
        if (!p->new_value) continue;
        size_t bytes = sizeof(float) * (size_t)p->numel;
        memcpy(p->value, p->new_value, bytes);
        memcpy(p->adam_m, p->new_m, bytes);
        memcpy(p->adam_v, p->new_v, bytes);
    }
    return 1;
}

void rt_model_free(struct rt_model *m) {
    program_free(&m->energy);
    program_free(&m->energy_grad);
    program_free(&m->loss);
    program_free(&m->train);
    program_free(&m->langevin);
    program_free(&m->adam);
    program_free(&m->features);
    for (int i = 0; i < m->n_params; i++) {
        struct rt_param *p = &m->params[i];
        free(p->value), free(p->adam_m), free(p->adam_v);
        if (!m->grad_arena) free(p->grad);
    }
    free(m->grad_arena);
    m->grad_arena = NULL, m->grad_numel = 0;
    free(m->params);
    free(m->level_zero);
    m->level_zero = NULL;
    m->params = NULL;
    m->n_params = 0;
}
