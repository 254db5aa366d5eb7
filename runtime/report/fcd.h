/* fcd.h: the Fréchet classifier distance (FCD) between two sets of feature vectors.
 *
 * No Inception network exists on these machines, so this is not FID: the features are the penultimate
 * layer of a classifier ebmc trained itself (a model with objective = classify and a `features`
 * function, docs/dsl.md). Each set is summarized by its mean mu and covariance S (unbiased, n - 1), and
 *
 *     FCD = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})
 *
 * the squared 2-Wasserstein distance between the two Gaussians with those moments. Everything is in
 * double; the matrix square roots come from a symmetric eigensolver (cyclic Jacobi), eigenvalues of the
 * positive semi-definite matrices clamped at 0 before their square root. */
#ifndef EBMC_FCD_H
#define EBMC_FCD_H

#include <stdint.h>

/* The largest feature dimension accepted: Jacobi costs O(d^3) per sweep, about a second at 1024. */
#define FCD_MAX_DIM 1024

struct fcd_stats {
    int dim;
    int64_t n;    /* vectors summarized */
    double *mean; /* [dim] */
    double *cov;  /* [dim, dim], row-major, divided by n - 1 */
};

/* Mean and covariance of n vectors of dim floats (x: [n, dim]). Returns 0, or -1 on out of memory, n < 2
 * or dim outside 1 .. FCD_MAX_DIM. */
int fcd_stats_compute(struct fcd_stats *s, const float *x, int64_t n, int dim);
void fcd_stats_free(struct fcd_stats *s);

/* The Fréchet distance between N(mu1, s1) and N(mu2, s2) in dim dimensions (s1, s2 symmetric positive
 * semi-definite, row-major). NaN on out of memory or dim outside 1 .. FCD_MAX_DIM. */
double fcd_frechet(const double *mu1, const double *s1, const double *mu2, const double *s2, int dim);
/* The same for two summaries (NaN if their dims differ). */
double fcd_distance(const struct fcd_stats *a, const struct fcd_stats *b);

/* Eigen-decomposition of the symmetric n x n matrix a (row-major, destroyed) by cyclic Jacobi
 * rotations: eigenvalues into w[n] (ascending), eigenvectors into the columns of v[n, n] (row-major),
 * so that a = v diag(w) v^T. Returns the sweeps it took, or -1 if n < 1 or it did not converge. */
int fcd_eigen_symmetric(double *a, int n, double *w, double *v);

#endif
