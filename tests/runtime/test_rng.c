/* test_rng: Philox-4x32-10 against Random123's known answers, the packing of (seed, stream, index),
 * the moments of the draws, and fills that do not depend on the thread count. */
#include "rng.h"
#include "test.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Random123 kat_vectors, philox4x32 with 10 rounds: counter[4], key[2], expected[4]. */
static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
     0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
     0x24126ea1},
};

static void test_known_answers(void) {
    for (int t = 0; t < 3; t++) {
        const uint32_t *v = kat[t];
        uint32_t out[4];
        rng_philox4x32(v, v + 4, out);
        for (int i = 0; i < 4; i++) CHECK_MSG(out[i] == v[6 + i], "vector %d word %d: %08x", t, i, out[i]);
        /* The same block through the packed interface: counter = (index lo, hi, stream lo, hi). */
        uint64_t index = (uint64_t)v[1] << 32 | v[0], stream = (uint64_t)v[3] << 32 | v[2];
        uint64_t seed = (uint64_t)v[5] << 32 | v[4];
        rng_philox(seed, stream, index, out);
        for (int i = 0; i < 4; i++) CHECK_MSG(out[i] == v[6 + i], "packed %d word %d: %08x", t, i, out[i]);
    }
}

/* Sample moments within 5 standard errors of the exact ones. */
static void test_moments(void) {
    const size_t n = 1000000;
    double su = 0, suu = 0, sz = 0, szz = 0, tail = 0;
    int in_range = 1;
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform(42, 7, i), z = rng_normal(42, 8, i);
        in_range &= u >= 0.0 && u < 1.0 && isfinite(z);
        su += u;
        suu += u * u;
        sz += z;
        szz += z * z;
        tail += fabs(z) > 2.0;
    }
    CHECK(in_range);
    double mu = su / n, vu = suu / n - mu * mu, mz = sz / n, vz = szz / n - mz * mz, pt = tail / n;
    CHECK_CLOSE(mu, 0.5, 5 * sqrt(1.0 / 12 / n), 0);
    CHECK_CLOSE(vu, 1.0 / 12, 5 * sqrt(1.0 / 180 / n), 0); /* Var(U^2 - ...) ~ 1/180 */
    CHECK_CLOSE(mz, 0.0, 5 / sqrt((double)n), 0);
    CHECK_CLOSE(vz, 1.0, 5 * sqrt(2.0 / n), 0);
    double p2 = 0.04550026389635842; /* P(|Z| > 2): checks the shape, not just two moments */
    CHECK_CLOSE(pt, p2, 5 * sqrt(p2 * (1 - p2) / n), 0);
}

/* Each normal against Box-Muller in double with libm's log, sqrt, cos and sin, on the same words (the
 * radius's uniform as rng.c forms it): within a few float roundings. */
static void test_normal_formula(void) {
    double worst = 0;
    for (uint64_t i = 0; i < 400000; i++) {
        uint32_t w[4];
        rng_philox(3, 4, i / 4, w);
        int h = (int)(i % 4) / 2;
        double u1 = (double)(float)(int32_t)(w[2 * h] >> 1) * 0x1p-31 + 0x1p-32;
        double t = (double)(w[2 * h + 1] >> 8) * 0x1p-24, r = sqrt(-2.0 * log(u1));
        double z = r * (i % 2 ? sin(6.283185307179586 * t) : cos(6.283185307179586 * t));
        double err = fabs(rng_normal(3, 4, i) - z) / (1.0 + fabs(z));
        if (err > worst) worst = err;
    }
    CHECK_MSG(worst < 2e-6, "worst relative error %.3g", worst);
}

static void test_distinct(void) {
    CHECK(rng_uniform(1, 2, 3) != rng_uniform(1, 2, 4));
    CHECK(rng_uniform(1, 2, 3) != rng_uniform(1, 3, 3));
    CHECK(rng_uniform(1, 2, 3) != rng_uniform(2, 2, 3));
    CHECK(rng_uniform(5, 6, 7) == rng_uniform(5, 6, 7));
    CHECK(rng_stream(1, 0, 0) != rng_stream(2, 0, 0));
    CHECK(rng_stream(1, 1, 0) != rng_stream(1, 0, 1));
}

static int fill_equal(size_t n, int threads_a, int threads_b, int normal) {
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    void (*fill)(float *, size_t, uint64_t, uint64_t) = normal ? rng_fill_normal : rng_fill_uniform;
    omp_set_num_threads(threads_a);
    fill(a, n, 1234, 99);
    omp_set_num_threads(threads_b);
    fill(b, n, 1234, 99);
    int same = memcmp(a, b, n * sizeof *a) == 0;
    free(a);
    free(b);
    return same;
}

static void test_fill(void) {
    const size_t n = 100003;
    CHECK(fill_equal(n, 1, 2, 0));
    CHECK(fill_equal(n, 1, 2, 1));
    CHECK(fill_equal(n, 1, 3, 1));
    float *u = malloc(n * sizeof *u), *z = malloc(n * sizeof *z);
    rng_fill_uniform(u, n, 5, 6);
    rng_fill_normal(z, n, 5, 6);
    int ok_u = 1, ok_z = 1;
    for (size_t i = 0; i < n; i++) {
        double ud = rng_uniform(5, 6, i); /* the float keeps the top 24 bits of the double */
        ok_u &= u[i] >= 0.0f && u[i] < 1.0f && u[i] <= ud && ud - u[i] < 1.0 / 16777216.0;
        ok_z &= z[i] == (float)rng_normal(5, 6, i);
    }
    CHECK(ok_u);
    CHECK(ok_z);
    free(u);
    free(z);
}

int main(void) {
    test_known_answers();
    test_moments();
    test_normal_formula();
    test_distinct();
    test_fill();
    return test_report();
}
