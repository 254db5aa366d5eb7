/* pass.h: graph-to-graph passes, looked up by name, and pipelines of them (`ebmc opt --passes=a,b,c`).
 *
 * A pass reads a graph and returns a new one; it never changes its input. Every pass keeps the outputs
 * (same names, same order, same values) and every argument (INPUT and PARAM nodes, in the same order:
 * compiled programs and the interpreter take their buffers in that order). Nodes are copied through
 * ir_node_add, so every pass result is hash-consed. The passes and their rules are listed in docs/ir.md. */
#ifndef EBMC_PASS_H
#define EBMC_PASS_H

#include <stddef.h>
#include <stdio.h>

#include "ir.h"

/* The pipeline `ebmc compile --emit=opt` runs. */
#define PASS_DEFAULT_PIPELINE "simplify,cse,dce"

struct pass_info {
    const char *name;
    const char *summary; /* one line, for help text */
    /* Returns a new graph, or NULL with a message in err. */
    struct ir_graph *(*run)(const struct ir_graph *in, char *err, size_t errlen);
};

/* The registry, in a fixed order. */
int pass_count(void);
const struct pass_info *pass_at(int i);
/* The pass with this name, or NULL. */
const struct pass_info *pass_find(const char *name);

/* simplify: constant folding and algebraic identities (simplify.c). */
struct ir_graph *pass_simplify(const struct ir_graph *in, char *err, size_t errlen);
/* cse: a rebuild through the hash-consing builder, with add and mul operands in id order (pass.c). */
struct ir_graph *pass_cse(const struct ir_graph *in, char *err, size_t errlen);
/* dce: drops the nodes no output needs; keeps every argument (dce.c). */
struct ir_graph *pass_dce(const struct ir_graph *in, char *err, size_t errlen);

/* Runs a comma-separated pipeline of pass names on a copy of `in` ("" runs none and returns a copy).
 * print_after: NULL, or a comma-separated list of pass names; after each run of one of them the graph is
 * printed to `out`, preceded by a line `; after PASS`. Each pass's result is checked with ir_verify.
 * Returns the final graph, or NULL with a message in err (an unknown pass name, or which pass failed). */
struct ir_graph *pass_run_pipeline(const struct ir_graph *in, const char *pipeline, const char *print_after,
                                   FILE *out, char *err, size_t errlen);

/* Helpers for writing passes. ---------------------------------------------------------------------- */

/* Adds `n` to g with each input replaced by map[input]. Returns the new id, or -1 with ir_graph_error(g). */
int pass_copy_node(struct ir_graph *g, const struct ir_node *n, const int *map);
/* Copies in's outputs to out, node ids through map. Returns 0, or -1 with ir_graph_error(out). */
int pass_copy_outputs(const struct ir_graph *in, struct ir_graph *out, const int *map);
/* The rebuild every pass is: a new graph, in's nodes visited in order (only those with keep[id] set, if
 * keep is non-NULL), each handed to rewrite with its inputs already mapped to new ids (and its id in
 * `in`), which returns the node's id in the new graph (or -1 with ir_graph_error set); then in's outputs.
 * `who` names the pass in messages. Returns the new graph, or NULL with a message in err. */
typedef int (*pass_rewrite_fn)(struct ir_graph *g, struct ir_node n, int id, void *ctx);
struct ir_graph *pass_rewrite(const struct ir_graph *in, const char *who, const char *keep, pass_rewrite_fn rewrite,
                              void *ctx, char *err, size_t errlen);

#endif
