/* mini_interp.h: evaluates one node of a lowered graph with the reference interpreter
 * (backend/interp.c, which needs no LLVM), binding arguments by name, so frontend tests can check what
 * an energy computes. */
#ifndef EBMC_MINI_INTERP_H
#define EBMC_MINI_INTERP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "ir.h"

struct mini_arg {
    const char *name;
    const double *data;
};

/* A malloc'd copy of node `want`'s value, or NULL if an argument is missing or evaluation fails. Adds
 * `want` as an output of g (once). */
static double *mini_eval(struct ir_graph *g, const struct mini_arg *args, int n_args, int want) {
    char name[IR_NAME_LEN];
    snprintf(name, sizeof name, "mini:%d", want);
    if (ir_graph_find_output(g, name) < 0 && ir_graph_output(g, name, want) != 0) return NULL;
    int n = ir_graph_args(g, NULL), *ids = malloc(sizeof(int) * (size_t)(n + 1));
    const double **bound = calloc((size_t)n + 1, sizeof *bound);
    double **outs = calloc((size_t)g->n_outputs, sizeof *outs);
    double *result = NULL;
    int ok = ids && bound && outs;
    if (ok) ir_graph_args(g, ids);
    for (int i = 0; ok && i < n; i++) {
        for (int k = 0; k < n_args; k++)
            if (strcmp(args[k].name, g->nodes[ids[i]].name) == 0) bound[i] = args[k].data;
        ok = bound[i] != NULL;
    }
    for (int o = 0; ok && o < g->n_outputs; o++)
        ok = (outs[o] = malloc(sizeof(double) * (size_t)ir_node_numel(&g->nodes[g->outputs[o].node]))) != NULL;
    char err[256];
    if (ok && interp_run(g, bound, outs, err, sizeof err) == 0) {
        int o = ir_graph_find_output(g, name);
        result = outs[o];
        outs[o] = NULL;
    }
    for (int o = 0; outs && o < g->n_outputs; o++) free(outs[o]);
    free(outs), free(bound), free(ids);
    return result;
}

#endif
