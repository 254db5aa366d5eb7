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

/* The unbiased estimate of the squared maximum mean discrepancy between the 2-D point sets x (n points)
 * and y (m points), with the kernel k(a, b) = sum over h in {0.1, 0.2, 0.5, 1, 2} of
 * exp(-|a - b|^2 / (2 h^2)) (a sum of bandwidths, so no single length scale has to suit every data set):
 *     mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean_{i, j} k(x_i, y_j).
 * Near 0 (either sign) when x and y come from one distribution; grows as they differ, up to 2 * 5.
 * Deterministic for any thread count. NaN if n < 2, m < 2, a coordinate is NaN, or out of memory. */
double eval2d_mmd(const float *x, size_t n, const float *y, size_t m);

#endif
