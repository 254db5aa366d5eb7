/* fcd.c: feature statistics, the Fréchet distance between Gaussians and the symmetric eigensolver it
 * needs (fcd.h). */
#include "fcd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { JACOBI_MAX_SWEEPS = 100 };

int fcd_eigen_symmetric(double *a, int n, double *w, double *v) {
    if (n < 1) return -1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) v[(size_t)i * n + j] = i == j;
    double total = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) total += a[i] * a[i];
    int sweep = 0, converged = 0;
    for (; sweep < JACOBI_MAX_SWEEPS && !converged; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += a[(size_t)p * n + q] * a[(size_t)p * n + q];
        /* relative to the whole matrix: below this the remaining rotations move eigenvalues by less than
         * double's rounding of the largest one */
        if (off <= 1e-30 * total || off == 0) {
            converged = 1;
            break;
        }
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[(size_t)p * n + q];
                if (apq == 0) continue;
                /* the rotation in the (p, q) plane that zeroes a_pq: cot 2phi = (a_qq - a_pp) / (2 a_pq),
                 * t = tan phi the smaller root of t^2 + 2 theta t - 1 = 0 (the stable choice) */
                double theta = (a[(size_t)q * n + q] - a[(size_t)p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* columns p, q of a and v: A J */
                    double akp = a[(size_t)k * n + p], akq = a[(size_t)k * n + q];
                    a[(size_t)k * n + p] = c * akp - s * akq, a[(size_t)k * n + q] = s * akp + c * akq;
                    double vkp = v[(size_t)k * n + p], vkq = v[(size_t)k * n + q];
                    v[(size_t)k * n + p] = c * vkp - s * vkq, v[(size_t)k * n + q] = s * vkp + c * vkq;
                }
                for (int k = 0; k < n; k++) { /* rows p, q: J^T (A J) */
                    double apk = a[(size_t)p * n + k], aqk = a[(size_t)q * n + k];
                    a[(size_t)p * n + k] = c * apk - s * aqk, a[(size_t)q * n + k] = s * apk + c * aqk;
                }
                a[(size_t)p * n + q] = a[(size_t)q * n + p] = 0; /* exactly, not a rounding residue */
            }
    }
    if (!converged) return -1;
    for (int i = 0; i < n; i++) w[i] = a[(size_t)i * n + i];
    /* ascending, the eigenvectors moved with their values (selection sort: n swaps of a column) */
    for (int i = 0; i < n; i++) {
        int lo = i;
        for (int j = i + 1; j < n; j++)
            if (w[j] < w[lo]) lo = j;
        if (lo == i) continue;
        double t = w[i];
        w[i] = w[lo], w[lo] = t;
        for (int k = 0; k < n; k++) {
            t = v[(size_t)k * n + i];
            v[(size_t)k * n + i] = v[(size_t)k * n + lo], v[(size_t)k * n + lo] = t;
        }
    }
    return sweep;
}

int fcd_stats_compute(struct fcd_stats *s, const float *x, int64_t n, int dim) {
    memset(s, 0, sizeof *s);
    if (n < 2 || dim < 1 || dim > FCD_MAX_DIM) return -1;
    s->mean = calloc((size_t)dim, sizeof(double));
    s->cov = calloc((size_t)dim * (size_t)dim, sizeof(double));
    double *row = malloc(sizeof(double) * (size_t)dim);
    if (!s->mean || !s->cov || !row) {
        free(row);
        fcd_stats_free(s);
        return -1;
    }
    s->dim = dim, s->n = n;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < dim; j++) s->mean[j] += x[i * dim + j];
    for (int j = 0; j < dim; j++) s->mean[j] /= (double)n;
    /* centred first: the textbook sum(x x^T) - n mu mu^T cancels catastrophically when |mu| >> sd */
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < dim; j++) row[j] = x[i * dim + j] - s->mean[j];
        for (int j = 0; j < dim; j++) {
            double *c = s->cov + (size_t)j * dim;
            for (int k = j; k < dim; k++) c[k] += row[j] * row[k];
        }
    }
    for (int j = 0; j < dim; j++)
        for (int k = j; k < dim; k++) {
            double c = s->cov[(size_t)j * dim + k] / (double)(n - 1);
            s->cov[(size_t)j * dim + k] = s->cov[(size_t)k * dim + j] = c;
        }
    free(row);
    return 0;
}

void fcd_stats_free(struct fcd_stats *s) {
    free(s->mean), free(s->cov);
    memset(s, 0, sizeof *s);
}

/* out = v diag(f(w)) v^T for the eigen-decomposition (w, v) of a symmetric matrix; f = sqrt of the
 * eigenvalue clamped at 0 (a PSD matrix's small negative eigenvalues are rounding). */
static void sqrt_from_eigen(const double *w, const double *v, int n, double *out) {
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double sum = 0;
            for (int k = 0; k < n; k++) sum += v[(size_t)i * n + k] * sqrt(w[k] > 0 ? w[k] : 0) * v[(size_t)j * n + k];
            out[(size_t)i * n + j] = out[(size_t)j * n + i] = sum;
        }
}

/* c = a b for n x n matrices. */
static void matmul(const double *a, const double *b, int n, double *c) {
    for (int i = 0; i < n; i++) {
        double *ci = c + (size_t)i * n;
        for (int j = 0; j < n; j++) ci[j] = 0;
        for (int k = 0; k < n; k++) {
            double aik = a[(size_t)i * n + k];
            const double *bk = b + (size_t)k * n;
            for (int j = 0; j < n; j++) ci[j] += aik * bk[j];
        }
    }
}

double fcd_frechet(const double *mu1, const double *s1, const double *mu2, const double *s2, int dim) {
    if (dim < 1 || dim > FCD_MAX_DIM) return NAN;
    size_t nn = (size_t)dim * (size_t)dim;
    double *a = malloc(sizeof(double) * nn), *v = malloc(sizeof(double) * nn), *root = calloc(nn, sizeof(double));
    double *t = malloc(sizeof(double) * nn), *w = malloc(sizeof(double) * (size_t)dim);
    double result = NAN;
    if (!a || !v || !root || !t || !w) goto done;
    double mean = 0, trace = 0, cross = 0;
    for (int i = 0; i < dim; i++) {
        mean += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        trace += s1[(size_t)i * dim + i] + s2[(size_t)i * dim + i];
    }
    /* S1^{1/2}, then M = S1^{1/2} S2 S1^{1/2}: symmetric PSD, so Tr M^{1/2} = sum sqrt(eig M). (S1 S2
     * has the same eigenvalues but is not symmetric: Jacobi needs the symmetric form.) */
    memcpy(a, s1, sizeof(double) * nn);
    if (fcd_eigen_symmetric(a, dim, w, v) < 0) goto done;
    sqrt_from_eigen(w, v, dim, root);
    matmul(root, s2, dim, t);
    matmul(t, root, dim, a);
    for (int i = 0; i < dim; i++) /* symmetric up to rounding: make it exactly so */
        for (int j = i + 1; j < dim; j++) {
            double m = 0.5 * (a[(size_t)i * dim + j] + a[(size_t)j * dim + i]);
            a[(size_t)i * dim + j] = a[(size_t)j * dim + i] = m;
        }
    if (fcd_eigen_symmetric(a, dim, w, v) < 0) goto done;
    for (int i = 0; i < dim; i++) cross += sqrt(w[i] > 0 ? w[i] : 0);
    result = mean + trace - 2 * cross;
    /* identical sets leave a rounding residue of either sign; a larger negative value would be a bug
     * and is left visible */
    if (result < 0 && result > -1e-9 * (trace > 1 ? trace : 1)) result = 0;
done:
    free(a), free(v), free(root), free(t), free(w);
    return result;
}

double fcd_distance(const struct fcd_stats *a, const struct fcd_stats *b) {
    if (a->dim != b->dim) return NAN;
    return fcd_frechet(a->mean, a->cov, b->mean, b->cov, a->dim);
}
