/* interp.h: the reference interpreter. Evaluates a graph in double precision, one op at a time, with
 * the most direct C we can write. It shares no code with the LLVM backend: it is the oracle for every
 * codegen test and the evaluator for finite-difference gradient checks. */
#ifndef EBMC_INTERP_H
#define EBMC_INTERP_H

#include <stddef.h>

#include "ir.h"

/* args: one buffer per ir_graph_args() node, in that order; outs: one per graph output (sized as the
 * output node). Returns 0, or -1 with a message in err (e.g. out of memory). */
int interp_run(const struct ir_graph *g, const double *const *args, double *const *outs, char *err, size_t errlen);

#endif
