/* eval2d.c: a sampler-free evaluation of 2-D energy models. exp(-E) is evaluated at the centres of an
 * n x n grid and normalized over the square (objectives.md, "Evaluation"); the result is a piecewise-
 * constant density whose NLL on held-out data and TV distance to a histogram are exact sums. */
#include "eval2d.h"

#include <math.h>
#include <stdlib.h>

void eval2d_grid_points(float *xy, int n, float half) {
    double h = 2.0 * half / n;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            size_t i = (size_t)r * (size_t)n + (size_t)c;
            xy[2 * i] = (float)(-half + (c + 0.5) * h);
            xy[2 * i + 1] = (float)(-half + (r + 0.5) * h);
        }
}

void eval2d_normalize(double *logp, const float *energy, int n, float half) {
    size_t cells = (size_t)n * (size_t)n;
    double h = 2.0 * half / n;
    /* log-sum-exp of -E, shifted by its maximum so that no exp overflows whatever the energy scale.
     * +inf energies (zero density) drop out; a NaN energy makes every result NaN, which is the honest
     * answer for a diverged model. */
    double mx = -INFINITY;
    for (size_t i = 0; i < cells; i++) {
        double v = -(double)energy[i];
        if (isnan(v)) {
            mx = NAN;
            break;
        }
        if (v > mx) mx = v;
    }
    double sum = 0.0;
    if (isfinite(mx))
        for (size_t i = 0; i < cells; i++) sum += exp(-(double)energy[i] - mx);
    /* All +inf, any -inf or NaN: no density. -E - mx is exact (float inputs), so subtracting mx first
     * keeps full precision when the energies carry a large common offset. */
    double shift = isfinite(mx) ? log(sum) + 2.0 * log(h) : NAN;
    for (size_t i = 0; i < cells; i++) logp[i] = (-(double)energy[i] - mx) - shift;
}

/* The cell holding (x, y), with coordinates outside the square clamped to the nearest cell when
 * `clamp` is set; otherwise -1 for points outside. NaN coordinates always give -1. */
static long cell_of(float x, float y, int n, float half, int clamp) {
    double t[2] = {((double)x + half) * n / (2.0 * half), ((double)y + half) * n / (2.0 * half)};
    int idx[2];
    for (int k = 0; k < 2; k++) {
        if (isnan(t[k])) return -1;
        if (t[k] < 0.0 || t[k] >= n) {
            if (!clamp) return -1;
            idx[k] = t[k] < 0.0 ? 0 : n - 1;
        } else {
            idx[k] = (int)t[k];
            if (idx[k] >= n) idx[k] = n - 1; /* rounding right at the upper edge */
        }
    }
    return (long)idx[1] * n + idx[0];
}

double eval2d_nll(const double *logp, int n, float half, const float *xy, size_t m) {
    if (m == 0) return NAN;
    double sum = 0.0;
    for (size_t j = 0; j < m; j++) {
        long c = cell_of(xy[2 * j], xy[2 * j + 1], n, half, 1);
        if (c < 0) return NAN; /* a NaN point has no likelihood */
        sum -= logp[c];
    }
    return sum / (double)m;
}

double eval2d_tv(const double *logp, int n, float half, const float *xy, size_t m) {
    size_t cells = (size_t)n * (size_t)n;
    double *hist = m ? calloc(cells, sizeof *hist) : NULL;
    if (!hist) return NAN;
    /* Points outside the square (or NaN) are mass the grid density does not have: they add 1/m each. */
    size_t outside = 0;
    for (size_t j = 0; j < m; j++) {
        long c = cell_of(xy[2 * j], xy[2 * j + 1], n, half, 0);
        if (c < 0)
            outside++;
        else
            hist[c] += 1.0;
    }
    double h = 2.0 * half / n, area = h * h, sum = (double)outside / (double)m;
    for (size_t i = 0; i < cells; i++) sum += fabs(exp(logp[i]) * area - hist[i] / (double)m);
    free(hist);
    return 0.5 * sum;
}

static const double mmd_bandwidths[] = {0.1, 0.2, 0.5, 1.0, 2.0};
#define N_BANDWIDTHS (int)(sizeof mmd_bandwidths / sizeof mmd_bandwidths[0])

/* sum over pairs (i, j) of k(a_i, b_j), leaving out i == j when `same`; per-row sums added in order so
 * the result does not depend on the thread count. */
static double kernel_sum(const float *a, size_t n, const float *b, size_t m, int same, double *row) {
    double c[N_BANDWIDTHS];
    for (int k = 0; k < N_BANDWIDTHS; k++) c[k] = -1.0 / (2.0 * mmd_bandwidths[k] * mmd_bandwidths[k]);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0, ax = a[2 * i], ay = a[2 * i + 1];
        for (size_t j = 0; j < m; j++) {
            if (same && i == j) continue;
            double dx = ax - b[2 * j], dy = ay - b[2 * j + 1], d2 = dx * dx + dy * dy;
            for (int k = 0; k < N_BANDWIDTHS; k++) sum += exp(c[k] * d2);
        }
        row[i] = sum;
    }
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += row[i];
    return total;
}

double eval2d_mmd(const float *x, size_t n, const float *y, size_t m) {
    if (n < 2 || m < 2) return NAN;
    for (size_t i = 0; i < 2 * n; i++)
        if (isnan(x[i])) return NAN;
    for (size_t i = 0; i < 2 * m; i++)
        if (isnan(y[i])) return NAN;
    double *row = malloc(sizeof(double) * (n > m ? n : m));
    if (!row) return NAN;
    double kxx = kernel_sum(x, n, x, n, 1, row) / ((double)n * (double)(n - 1));
    double kyy = kernel_sum(y, m, y, m, 1, row) / ((double)m * (double)(m - 1));
    double kxy = kernel_sum(x, n, y, m, 0, row) / ((double)n * (double)m);
    free(row);
    return kxx + kyy - 2.0 * kxy;
}
