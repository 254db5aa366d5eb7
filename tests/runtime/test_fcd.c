/* fcd.c against closed forms.
 *
 * - The eigensolver: A V = V diag(w), V orthonormal, w ascending, on random symmetric matrices.
 * - Commuting covariances (diagonal, or both diagonal in one rotated basis Q): the Fréchet distance is
 *   |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
 * - 2-D, not commuting: for a 2 x 2 PSD matrix M, Tr M^{1/2} = sqrt(Tr M + 2 sqrt(det M)), and
 *   M = S1^{1/2} S2 S1^{1/2} has Tr M = Tr(S1 S2) and det M = det S1 det S2.
 * - Rotation invariance: rotating both Gaussians (means and covariances) by one Q leaves it unchanged.
 * - Symmetric in its arguments; identical sets give 0; scaling the features by c scales it by c^2.
 * - fcd_stats_compute: the mean and (n - 1)-covariance of a small set computed by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fcd.h"
#include "rng.h"
#include "test.h"

/* A uniform number in [lo, hi) from the test's own stream. */
static double uniform(uint64_t stream, uint64_t i, double lo, double hi) {
    return lo + (hi - lo) * rng_uniform(11, stream, i);
}

/* A random orthogonal matrix q[n, n]: Gram-Schmidt on Gaussian columns. */
static void random_rotation(double *q, int n, uint64_t stream) {
    float *g = malloc(sizeof(float) * (size_t)n * n);
    rng_fill_normal(g, (size_t)n * n, 3, stream);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < n; i++) q[i * n + j] = g[i * n + j];
        for (int k = 0; k < j; k++) {
            double dot = 0;
            for (int i = 0; i < n; i++) dot += q[i * n + j] * q[i * n + k];
            for (int i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k];
        }
        double norm = 0;
        for (int i = 0; i < n; i++) norm += q[i * n + j] * q[i * n + j];
        for (int i = 0; i < n; i++) q[i * n + j] /= sqrt(norm);
    }
    free(g);
}

/* out = q diag(d) q^T */
static void rotate_diag(const double *q, const double *d, int n, double *out) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += q[i * n + k] * d[k] * q[j * n + k];
            out[i * n + j] = s;
        }
}

/* out = q s q^T, and qmu = q mu */
static void rotate(const double *q, const double *s, const double *mu, int n, double *out, double *qmu) {
    double *t = malloc(sizeof(double) * (size_t)n * n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = 0;
            for (int k = 0; k < n; k++) v += q[i * n + k] * s[k * n + j];
            t[i * n + j] = v;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = 0;
            for (int k = 0; k < n; k++) v += t[i * n + k] * q[j * n + k];
            out[i * n + j] = v;
        }
    for (int i = 0; i < n; i++) {
        double v = 0;
        for (int k = 0; k < n; k++) v += q[i * n + k] * mu[k];
        qmu[i] = v;
    }
    free(t);
}

/* A random symmetric positive definite matrix: q diag(d) q^T, d in [0.05, 3). */
static void random_spd(double *s, int n, uint64_t stream) {
    double *q = malloc(sizeof(double) * (size_t)n * n), *d = malloc(sizeof(double) * (size_t)n);
    random_rotation(q, n, stream);
    for (int i = 0; i < n; i++) d[i] = uniform(stream, (uint64_t)i, 0.05, 3);
    rotate_diag(q, d, n, s);
    free(q), free(d);
}

static void check_eigen(int n, uint64_t stream) {
    size_t nn = (size_t)n * n;
    double *a = malloc(sizeof(double) * nn), *keep = malloc(sizeof(double) * nn), *v = malloc(sizeof(double) * nn);
    double *w = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) a[i * n + j] = a[j * n + i] = uniform(stream, (uint64_t)(i * n + j), -1, 1);
    memcpy(keep, a, sizeof(double) * nn);
    int sweeps = fcd_eigen_symmetric(a, n, w, v);
    CHECK_MSG(sweeps >= 0, "n = %d: no convergence", n);
    double res = 0, orth = 0, scale = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0) CHECK(w[i - 1] <= w[i]);
        scale = fmax(scale, fabs(w[i]));
        for (int j = 0; j < n; j++) {
            double av = 0, vv = 0;
            for (int k = 0; k < n; k++) av += keep[i * n + k] * v[k * n + j], vv += v[k * n + i] * v[k * n + j];
            res = fmax(res, fabs(av - v[i * n + j] * w[j]));
            orth = fmax(orth, fabs(vv - (i == j)));
        }
    }
    fprintf(stderr, "eigen n = %d: %d sweeps, |AV - VW| %.2e, |V^T V - I| %.2e\n", n, sweeps, res, orth);
    CHECK(res < 1e-10 * fmax(scale, 1));
    CHECK(orth < 1e-12);
    /* the trace is the sum of the eigenvalues */
    double tr = 0, sum = 0;
    for (int i = 0; i < n; i++) tr += keep[i * n + i], sum += w[i];
    CHECK_CLOSE(sum, tr, 1e-10, 1e-12);
    free(a), free(keep), free(v), free(w);
}

/* |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2 */
static double commuting_form(const double *mu1, const double *mu2, const double *a, const double *b, int n) {
    double f = 0;
    for (int i = 0; i < n; i++) f += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + (sqrt(a[i]) - sqrt(b[i])) * (sqrt(a[i]) - sqrt(b[i]));
    return f;
}

int main(void) {
    enum { N = 12 };
    check_eigen(1, 1);
    check_eigen(7, 2);
    check_eigen(60, 3);
    double w1, v1, a1 = 4;
    CHECK(fcd_eigen_symmetric(&a1, 1, &w1, &v1) >= 0 && w1 == 4 && v1 == 1);
    CHECK(fcd_eigen_symmetric(&a1, 0, &w1, &v1) == -1);

    double mu1[N], mu2[N], a[N], b[N], s1[N * N], s2[N * N], q[N * N], r1[N * N], r2[N * N], qmu1[N], qmu2[N];
    for (int i = 0; i < N; i++) {
        mu1[i] = uniform(20, (uint64_t)i, -1, 1), mu2[i] = uniform(21, (uint64_t)i, -1, 1);
        a[i] = uniform(22, (uint64_t)i, 0.1, 4), b[i] = uniform(23, (uint64_t)i, 0.1, 4);
    }
    /* diagonal covariances */
    memset(s1, 0, sizeof s1), memset(s2, 0, sizeof s2);
    for (int i = 0; i < N; i++) s1[i * N + i] = a[i], s2[i * N + i] = b[i];
    double want = commuting_form(mu1, mu2, a, b, N), got = fcd_frechet(mu1, s1, mu2, s2, N);
    fprintf(stderr, "diagonal: %.12f, closed form %.12f\n", got, want);
    CHECK_CLOSE(got, want, 1e-10, 1e-10);
    /* a zero variance (a rank-deficient covariance, as with fewer samples than features) */
    double a0[N];
    memcpy(a0, a, sizeof a0);
    a0[3] = 0, s1[3 * N + 3] = 0;
    CHECK_CLOSE(fcd_frechet(mu1, s1, mu2, s2, N), commuting_form(mu1, mu2, a0, b, N), 1e-10, 1e-10);
    s1[3 * N + 3] = a[3];
    /* commuting but not diagonal: both diagonal in one rotated basis */
    random_rotation(q, N, 30);
    rotate_diag(q, a, N, r1), rotate_diag(q, b, N, r2);
    got = fcd_frechet(mu1, r1, mu2, r2, N);
    fprintf(stderr, "commuting, rotated: %.12f, closed form %.12f\n", got, want);
    CHECK_CLOSE(got, want, 1e-9, 1e-9);
    /* not commuting: rotation invariance, symmetry, scaling */
    random_spd(s1, N, 40), random_spd(s2, N, 41);
    double base = fcd_frechet(mu1, s1, mu2, s2, N);
    rotate(q, s1, mu1, N, r1, qmu1), rotate(q, s2, mu2, N, r2, qmu2);
    got = fcd_frechet(qmu1, r1, qmu2, r2, N);
    fprintf(stderr, "general: %.12f, rotated %.12f\n", base, got);
    CHECK(base > 0);
    CHECK_CLOSE(got, base, 1e-9, 1e-9);
    CHECK_CLOSE(fcd_frechet(mu2, s2, mu1, s1, N), base, 1e-9, 1e-9);
    /* the distance between S1 and S2 differs from the commuting form for the same spectra */
    double c2 = 3;
    for (int i = 0; i < N; i++) qmu1[i] = c2 * mu1[i], qmu2[i] = c2 * mu2[i];
    for (int i = 0; i < N * N; i++) r1[i] = c2 * c2 * s1[i], r2[i] = c2 * c2 * s2[i];
    CHECK_CLOSE(fcd_frechet(qmu1, r1, qmu2, r2, N), c2 * c2 * base, 1e-9, 1e-9);
    CHECK(fcd_frechet(mu1, s1, mu1, s1, N) < 1e-9);
    CHECK(isnan(fcd_frechet(mu1, s1, mu2, s2, 0)));

    /* 2-D, not commuting: Tr M^{1/2} = sqrt(Tr M + 2 sqrt(det M)) */
    double p1[4] = {2.0, 0.7, 0.7, 1.0}, p2[4] = {0.5, -0.3, -0.3, 1.5}, m1[2] = {0.2, -1}, m2[2] = {1, 0.5};
    double tr12 = p1[0] * p2[0] + p1[1] * p2[2] + p1[2] * p2[1] + p1[3] * p2[3];
    double det = (p1[0] * p1[3] - p1[1] * p1[2]) * (p2[0] * p2[3] - p2[1] * p2[2]);
    double dm = (m1[0] - m2[0]) * (m1[0] - m2[0]) + (m1[1] - m2[1]) * (m1[1] - m2[1]);
    want = dm + p1[0] + p1[3] + p2[0] + p2[3] - 2 * sqrt(tr12 + 2 * sqrt(det));
    got = fcd_frechet(m1, p1, m2, p2, 2);
    fprintf(stderr, "2-D: %.12f, closed form %.12f\n", got, want);
    CHECK_CLOSE(got, want, 1e-12, 1e-12);

    /* statistics of a set: by hand for 3 points in 2-D */
    float pts[6] = {1, 2, 3, 2, 2, 5};
    struct fcd_stats st, st2;
    CHECK(fcd_stats_compute(&st, pts, 3, 2) == 0);
    CHECK_CLOSE(st.mean[0], 2, 1e-15, 0);
    CHECK_CLOSE(st.mean[1], 3, 1e-15, 0);
    /* deviations (-1, -1), (1, -1), (0, 2): sums 2, 0, 6 over n - 1 = 2 */
    CHECK_CLOSE(st.cov[0], 1, 1e-15, 0);
    CHECK_CLOSE(st.cov[1], 0, 1e-15, 0);
    CHECK_CLOSE(st.cov[2], 0, 1e-15, 0);
    CHECK_CLOSE(st.cov[3], 3, 1e-15, 0);
    fcd_stats_free(&st);
    CHECK(fcd_stats_compute(&st, pts, 1, 2) == -1);
    CHECK(fcd_stats_compute(&st, pts, 3, FCD_MAX_DIM + 1) == -1);

    /* identical sets give 0; a shifted copy gives the squared shift; samples of two Gaussians come
     * near their closed form: its mean term alone has sd 2 sqrt(D (4 + 1) / M), 0.055 for these sizes,
     * so 0.3 is over 5 sd */
    enum { M = 40000, D = 6 };
    float *x = malloc(sizeof(float) * M * D), *y = malloc(sizeof(float) * M * D);
    rng_fill_normal(x, M * D, 9, 1);
    for (int i = 0; i < M * D; i++) x[i] = 1 + 2 * x[i];
    CHECK(fcd_stats_compute(&st, x, M, D) == 0);
    CHECK(fcd_distance(&st, &st) < 1e-9);
    for (int i = 0; i < M * D; i++) y[i] = x[i] + 0.5f;
    CHECK(fcd_stats_compute(&st2, y, M, D) == 0);
    CHECK_CLOSE(fcd_distance(&st, &st2), D * 0.25, 1e-4, 1e-4);
    fcd_stats_free(&st2);
    rng_fill_normal(y, M * D, 9, 2); /* N(0, 1) against N(1, 4): D (1 + (2 - 1)^2) = 2 D */
    CHECK(fcd_stats_compute(&st2, y, M, D) == 0);
    got = fcd_distance(&st, &st2);
    fprintf(stderr, "samples of N(1, 4 I) and N(0, I) in %d-D: %.4f, closed form %d\n", D, got, 2 * D);
    CHECK_CLOSE(got, 2 * D, 0.3, 0);
    fcd_stats_free(&st), fcd_stats_free(&st2);
    free(x), free(y);
    return test_report();
}
