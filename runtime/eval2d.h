/* eval2d.h: evaluation of a 2-D energy model without trusting any sampler (objectives.md,
 * "Evaluation"): exp(-E) normalized numerically on an n x n grid over [-half, half]^2. */
#ifndef EBMC_EVAL2D_H
#define EBMC_EVAL2D_H

#include <stddef.h>

/* Grid cell centres, row-major, row 0 at y = -half: xy has 2 n^2 floats. */
void eval2d_grid_points(float *xy, int n, float half);

/* Turns energies on the grid into log-densities (log of the normalized model density, per unit area),
 * in place. Stable for any energy scale (log-sum-exp). */
void eval2d_normalize(double *logp, const float *energy, int n, float half);

/* Mean negative log-likelihood (nats) of points under the piecewise-constant grid density; points
 * outside the grid count with the density of the nearest cell. NaN if m == 0 or a point is NaN. */
double eval2d_nll(const double *logp, int n, float half, const float *xy, size_t m);

/* Total variation distance between the grid density and the histogram of the points on the same grid.
 * Points outside the square count as mass the grid density lacks. NaN if m == 0 or out of memory. */
double eval2d_tv(const double *logp, int n, float half, const float *xy, size_t m);

#endif
