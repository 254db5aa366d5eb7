/* test_data2d: names, determinism, independence of points, support inside the half-width, and one
 * shape property per data set. */
#include "data2d.h"
#include "test.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define N 20000

static void test_names(void) {
    for (int k = 0; k < DATA2D_COUNT; k++) {
        CHECK(data2d_from_name(data2d_name(k)) == k);
        CHECK_MSG(strstr(data2d_names(), data2d_name(k)) != NULL, "%s missing from the list", data2d_name(k));
    }
    CHECK(data2d_from_name("nope") == -1);
    CHECK(data2d_from_name("") == -1);
    CHECK(data2d_from_name(NULL) == -1);
}

/* Properties every data set must have. */
static void test_common(enum data2d_kind kind) {
    const char *name = data2d_name(kind);
    float *a = malloc(2 * N * sizeof *a), *b = malloc(2 * N * sizeof *b);
    data2d_sample(kind, a, N, 7, 3);
    data2d_sample(kind, b, N, 7, 3);
    CHECK_MSG(memcmp(a, b, 2 * N * sizeof *a) == 0, "%s: same seed, different points", name);

    /* Point i depends on i only: a short draw is a prefix of a long one. */
    data2d_sample(kind, b, 100, 7, 3);
    CHECK_MSG(memcmp(a, b, 200 * sizeof *a) == 0, "%s: prefix differs", name);

    data2d_sample(kind, b, N, 7, 4);
    size_t same = 0;
    for (size_t i = 0; i < N; i++) same += a[2 * i] == b[2 * i] && a[2 * i + 1] == b[2 * i + 1];
    CHECK_MSG(same < N / 100, "%s: streams 3 and 4 share %zu of %d points", name, same, N);

    float half = data2d_half_width(kind);
    size_t inside = 0, finite = 0;
    double mx = 0, my = 0;
    for (size_t i = 0; i < N; i++) {
        float x = a[2 * i], y = a[2 * i + 1];
        finite += isfinite(x) && isfinite(y);
        inside += fabsf(x) <= half && fabsf(y) <= half;
        mx += x;
        my += y;
    }
    CHECK_MSG(finite == N, "%s: %zu non-finite points", name, N - finite);
    CHECK_MSG(inside >= N - N / 1000, "%s: %zu of %d points inside half-width %g", name, inside, N, half);
    /* Every set is roughly centred (the swiss roll, as in FFJORD, is off by ~0.4 in x). */
    CHECK_MSG(fabs(mx / N) < 0.5 && fabs(my / N) < 0.5, "%s: mean (%g, %g)", name, mx / N, my / N);
    free(a);
    free(b);
}

static void test_8gaussians(void) {
    float *p = malloc(2 * N * sizeof *p);
    data2d_sample(DATA2D_8GAUSSIANS, p, N, 1, 2);
    int far = 0, count[8] = {0};
    for (size_t i = 0; i < N; i++) {
        double best = INFINITY;
        int arg = 0;
        for (int k = 0; k < 8; k++) {
            double a = k * atan(1.0), dx = p[2 * i] - 2 * cos(a), dy = p[2 * i + 1] - 2 * sin(a);
            double d = sqrt(dx * dx + dy * dy);
            if (d < best) best = d, arg = k;
        }
        far += best > 0.5; /* 5 standard deviations */
        count[arg]++;
    }
    CHECK_MSG(far == 0, "%d points farther than 0.5 from every mode", far);
    double se = sqrt(0.125 * 0.875 / N);
    for (int k = 0; k < 8; k++) CHECK_CLOSE((double)count[k] / N, 0.125, 5 * se, 0);
    free(p);
}

static void test_rings(void) {
    float *p = malloc(2 * N * sizeof *p);
    data2d_sample(DATA2D_RINGS, p, N, 1, 2);
    int count[4] = {0}, near = 0;
    for (size_t i = 0; i < N; i++) {
        double r = hypot(p[2 * i], p[2 * i + 1]);
        int ring = (int)lround(r / 0.75); /* nearest of 0.75, 1.5, 2.25, 3 */
        ring = ring < 1 ? 1 : ring > 4 ? 4 : ring;
        near += fabs(r - 0.75 * ring) < 0.25; /* ring noise is 0.08: 3 sigma */
        count[ring - 1]++;
    }
    CHECK_MSG(near >= 0.99 * N, "only %d of %d points near a ring", near, N);
    for (int k = 0; k < 4; k++) {
        double share = 0.1 * (k + 1); /* proportional to the radius */
        CHECK_CLOSE((double)count[k] / N, share, 5 * sqrt(share * (1 - share) / N), 0);
    }
    free(p);
}

static void test_checkerboard(void) {
    float *p = malloc(2 * N * sizeof *p);
    data2d_sample(DATA2D_CHECKERBOARD, p, N, 1, 2);
    int wrong = 0, outside = 0;
    for (size_t i = 0; i < N; i++) {
        double x = p[2 * i] / 1.5, y = p[2 * i + 1] / 1.5;
        outside += fabs(x) > 2 || fabs(y) > 2;
        /* floor(x) + floor(y) even, tolerating float rounding right on a square's edge */
        double fx = floor(x), fy = floor(y);
        if (((long)(fx + fy) & 1) && x - fx > 1e-5 && y - fy > 1e-5) wrong++;
    }
    CHECK_MSG(wrong == 0, "%d points on white squares", wrong);
    CHECK(outside == 0);
    free(p);
}

static void test_threads(void) {
    const size_t n = 40000; /* above the size where data2d_sample goes parallel */
    float *a = malloc(2 * n * sizeof *a), *b = malloc(2 * n * sizeof *b);
    omp_set_num_threads(1);
    data2d_sample(DATA2D_SPIRALS, a, n, 9, 9);
    omp_set_num_threads(2);
    data2d_sample(DATA2D_SPIRALS, b, n, 9, 9);
    CHECK(memcmp(a, b, 2 * n * sizeof *a) == 0);
    free(a);
    free(b);
}

int main(void) {
    test_names();
    for (int k = 0; k < DATA2D_COUNT; k++) test_common(k);
    test_8gaussians();
    test_rings();
    test_checkerboard();
    test_threads();
    return test_report();
}
