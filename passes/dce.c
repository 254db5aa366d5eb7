/* dce.c: dead-code elimination. A node is live if an output needs it; live nodes are copied in their
 * order, so ids become dense again. Arguments (INPUT and PARAM) always stay, even unused ones: programs
 * and the interpreter bind their buffers by argument position, and dropping one would shift the rest. */
#include <stdlib.h>

#include "pass.h"

struct ir_graph *pass_dce(const struct ir_graph *in, char *err, size_t errlen) {
    char *live = calloc((size_t)in->n_nodes + 1, 1);
    int *map = malloc(sizeof(int) * ((size_t)in->n_nodes + 1));
    struct ir_graph *g = ir_graph_new();
    if (!live || !map || !g) {
        snprintf(err, errlen, "dce: out of memory");
        goto fail;
    }
    for (int i = 0; i < in->n_outputs; i++) live[in->outputs[i].node] = 1;
    /* Consumers come after producers, so one backward sweep marks everything live. */
    for (int id = in->n_nodes - 1; id >= 0; id--) {
        const struct ir_node *n = &in->nodes[id];
        if (n->op == IR_INPUT || n->op == IR_PARAM) live[id] = 1;
        if (!live[id]) continue;
        for (int i = 0; i < ir_op_arity(n->op); i++) live[n->in[i]] = 1;
    }
    for (int id = 0; id < in->n_nodes; id++) {
        map[id] = -1;
        if (live[id] && (map[id] = pass_copy_node(g, &in->nodes[id], map)) < 0) {
            snprintf(err, errlen, "dce: %%%d: %s", id, ir_graph_error(g));
            goto fail;
        }
    }
    if (pass_copy_outputs(in, g, map) != 0) {
        snprintf(err, errlen, "dce: %s", ir_graph_error(g));
        goto fail;
    }
    free(live);
    free(map);
    return g;
fail:
    free(live);
    free(map);
    ir_graph_free(g);
    return NULL;
}
