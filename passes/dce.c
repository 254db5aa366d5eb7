/* dce.c: dead-code elimination. A node is live if an output needs it; live nodes are copied in their
 * order, so ids become dense again. Arguments (INPUT and PARAM) always stay, even unused ones: programs
 * and the interpreter bind their buffers by argument position, and dropping one would shift the rest. */
#include <stdlib.h>

#include "pass.h"

static int copy_live(struct ir_graph *g, struct ir_node n, int id, void *ctx) { return ir_node_add(g, &n); }

struct ir_graph *pass_dce(const struct ir_graph *in, char *err, size_t errlen) {
    char *live = calloc((size_t)in->n_nodes + 1, 1);
    if (!live) {
        snprintf(err, errlen, "dce: out of memory");
        return NULL;
    }
    for (int i = 0; i < in->n_outputs; i++) live[in->outputs[i].node] = 1;
    /* Consumers come after producers, so one backward sweep marks everything live. */
    for (int id = in->n_nodes - 1; id >= 0; id--) {
        const struct ir_node *n = &in->nodes[id];
        if (n->op == IR_INPUT || n->op == IR_PARAM) live[id] = 1;
        if (!live[id]) continue;
        for (int i = 0; i < ir_op_arity(n->op); i++) live[n->in[i]] = 1;
    }
    struct ir_graph *g = pass_rewrite(in, "dce", live, copy_live, NULL, err, errlen);
    free(live);
    return g;
}
