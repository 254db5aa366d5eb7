/* op_coverage.h: which ops of the op table (ir.h) a test has exercised. A test marks the ops of every
 * graph it checks and ends with op_coverage_check(), which fails for each op no check reached: an op
 * added to the table without a test fails the test instead of skipping it. */
#ifndef EBMC_OP_COVERAGE_H
#define EBMC_OP_COVERAGE_H

#include <stdlib.h>

#include "ir.h"
#include "test.h"

static char op_covered[IR_OP_COUNT];

/* Marks the ops of the nodes `root` depends on (itself included), or of every node if root < 0. */
static inline void op_coverage_mark(const struct ir_graph *g, int root) {
    char *need = calloc((size_t)g->n_nodes + 1, 1);
    if (!need) return;
    if (root >= 0 && root < g->n_nodes) need[root] = 1;
    for (int id = g->n_nodes - 1; id >= 0; id--) {
        const struct ir_node *n = ir_node_at(g, id);
        if (root >= 0 && !need[id]) continue;
        op_covered[n->op] = 1;
        for (int k = 0; k < ir_op_arity(n->op); k++) need[n->in[k]] = 1;
    }
    free(need);
}

/* The (r mod count)-th op of kind k, for random graphs over every op of a kind. */
static inline enum ir_op op_of_kind(enum ir_kind k, unsigned r) {
    int count = 0;
    for (int op = 0; op < IR_OP_COUNT; op++) count += ir_op_kind(op) == k;
    r %= (unsigned)count;
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (ir_op_kind(op) == k && r-- == 0) return (enum ir_op)op;
    return IR_INPUT;
}

static inline void op_coverage_check(const char *test) {
    for (int op = 0; op < IR_OP_COUNT; op++)
        CHECK_MSG(op_covered[op], "%s: no check covers op '%s'", test, ir_op_name((enum ir_op)op));
}

#endif
