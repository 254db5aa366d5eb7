/* mini_interp.h: a tiny double-precision evaluator of graph IR, so frontend tests can check what a
 * lowered energy computes without depending on the backend. Arguments are bound by name. */
#ifndef EBMC_MINI_INTERP_H
#define EBMC_MINI_INTERP_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct mini_arg {
    const char *name;
    const double *data;
};

/* Multi-index of flat index i in a row-major shape. */
static void mini_unflatten(int64_t i, int ndim, const int64_t *shape, int64_t *idx) {
    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
}

static double mini_unary(enum ir_op op, double x) {
    switch (op) {
    case IR_NEG: return -x;
    case IR_EXP: return exp(x);
    case IR_LOG: return log(x);
    case IR_TANH: return tanh(x);
    case IR_SIGMOID: return 1 / (1 + exp(-x));
    case IR_SILU: return x / (1 + exp(-x));
    case IR_SOFTPLUS: return log1p(exp(x));
    case IR_RELU: return x > 0 ? x : 0;
    case IR_STEP: return x > 0;
    case IR_SQUARE: return x * x;
    case IR_SQRT: return sqrt(x);
    default: return x;
    }
}

/* Evaluates every node; returns a malloc'd copy of node `want`'s value, or NULL if an arg is missing. */
static double *mini_eval(const struct ir_graph *g, const struct mini_arg *args, int n_args, int want) {
    double **v = calloc((size_t)g->n_nodes, sizeof *v);
    double *result = NULL;
    int ok = 1;
    for (int id = 0; id < g->n_nodes && ok; id++) {
        const struct ir_node *n = &g->nodes[id];
        int64_t numel = ir_node_numel(n);
        double *out = v[id] = calloc((size_t)numel, sizeof *out);
        const double *a = n->in[0] >= 0 ? v[n->in[0]] : NULL, *b = n->in[1] >= 0 ? v[n->in[1]] : NULL;
        const struct ir_node *na = n->in[0] >= 0 ? &g->nodes[n->in[0]] : NULL;
        const struct ir_node *nb = n->in[1] >= 0 ? &g->nodes[n->in[1]] : NULL;
        int64_t idx[IR_MAX_DIMS];
        switch (n->op) {
        case IR_INPUT:
        case IR_PARAM: {
            const double *src = NULL;
            for (int i = 0; i < n_args; i++)
                if (strcmp(args[i].name, n->name) == 0) src = args[i].data;
            if (!src) ok = 0;
            else memcpy(out, src, sizeof *out * (size_t)numel);
            break;
        }
        case IR_CONST:
            for (int64_t i = 0; i < numel; i++) out[i] = n->value;
            break;
        case IR_ADD: for (int64_t i = 0; i < numel; i++) out[i] = a[i] + b[i]; break;
        case IR_SUB: for (int64_t i = 0; i < numel; i++) out[i] = a[i] - b[i]; break;
        case IR_MUL: for (int64_t i = 0; i < numel; i++) out[i] = a[i] * b[i]; break;
        case IR_DIV: for (int64_t i = 0; i < numel; i++) out[i] = a[i] / b[i]; break;
        case IR_BROADCAST:
            for (int64_t i = 0; i < numel; i++) {
                mini_unflatten(i, n->ndim, n->shape, idx);
                int64_t j = 0;
                for (int d = 0; d < n->ndim; d++) j = j * na->shape[d] + (na->shape[d] == 1 ? 0 : idx[d]);
                out[i] = a[j];
            }
            break;
        case IR_SUM:
            for (int64_t i = 0; i < ir_node_numel(na); i++) {
                mini_unflatten(i, na->ndim, na->shape, idx);
                int64_t j = 0;
                for (int d = 0; d < n->ndim; d++) j = j * n->shape[d] + ((n->axes >> d & 1) ? 0 : idx[d]);
                out[j] += a[i];
            }
            break;
        case IR_RESHAPE:
        case IR_STOP_GRAD: memcpy(out, a, sizeof *out * (size_t)numel); break;
        case IR_MATMUL: {
            int ta = (n->flags & IR_TRANS_A) != 0, tb = (n->flags & IR_TRANS_B) != 0;
            int64_t M = n->shape[0], N = n->shape[1], K = ta ? na->shape[0] : na->shape[1];
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double s = 0;
                    for (int64_t k = 0; k < K; k++)
                        s += (ta ? a[k * na->shape[1] + i] : a[i * na->shape[1] + k]) *
                             (tb ? b[j * nb->shape[1] + k] : b[k * nb->shape[1] + j]);
                    out[i * N + j] = s;
                }
            break;
        }
        default:
            for (int64_t i = 0; i < numel; i++) out[i] = mini_unary(n->op, a[i]);
        }
    }
    if (ok && want >= 0 && want < g->n_nodes) {
        int64_t numel = ir_node_numel(&g->nodes[want]);
        result = malloc(sizeof *result * (size_t)numel);
        memcpy(result, v[want], sizeof *result * (size_t)numel);
    }
    for (int id = 0; id < g->n_nodes; id++) free(v[id]);
    free(v);
    return result;
}

#endif
