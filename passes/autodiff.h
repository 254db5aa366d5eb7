/* autodiff.h: reverse-mode automatic differentiation on the graph IR.
 *
 * Functional: it appends gradient nodes to the graph and never changes existing ones, so one forward
 * graph yields several gradient programs, and a graph that already contains a backward pass can be
 * differentiated again (gradients of gradients). Every rule is written with builder ops that have
 * rules of their own. IR_STOP_GRAD passes no gradient. */
#ifndef EBMC_AUTODIFF_H
#define EBMC_AUTODIFF_H

#include "ir.h"

/* For each wrt[i], grads[i] = the gradient of sum(seed * y) with respect to node wrt[i] (same shape as
 * wrt[i]); seed = -1 means all ones. A node y does not depend on gets a zero constant. Returns 0, or
 * -1 with ir_graph_error(g) set. */
int ad_grad(struct ir_graph *g, int y, int seed, int n_wrt, const int *wrt, int *grads);

#endif
