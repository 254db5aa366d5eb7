/* rng.c: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) and
 * the uniform and normal draws built on it. Every draw is a pure function of (seed, stream, index). */
#include "rng.h"

#include <math.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

static inline void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t c1 = ctr[1], c3 = ctr[3];
    ctr[0] = hi1 ^ c1 ^ key[0];
    ctr[1] = lo1;
    ctr[2] = hi0 ^ c3 ^ key[1];
    ctr[3] = lo0;
}

/* Ten rounds, the key bumped between rounds. Inlined into the draws and fills, so that independent
 * blocks can overlap (one block alone is a latency-bound chain of multiplies). */
static inline void philox10(uint32_t ctr[4], uint32_t k0, uint32_t k1) {
    uint32_t key[2] = {k0, k1};
    philox_round(ctr, key);
#pragma GCC unroll 9 /* a loop left inside fill_normal_range's omp simd loop keeps it scalar */
    for (int r = 1; r < 10; r++) {
        key[0] += PHILOX_W0;
        key[1] += PHILOX_W1;
        philox_round(ctr, key);
    }
}

static inline void philox_at(uint64_t seed, uint64_t stream, uint64_t index, uint32_t w[4]) {
    w[0] = (uint32_t)index;
    w[1] = (uint32_t)(index >> 32);
    w[2] = (uint32_t)stream;
    w[3] = (uint32_t)(stream >> 32);
    philox10(w, (uint32_t)seed, (uint32_t)(seed >> 32));
}

void rng_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    for (int i = 0; i < 4; i++) out[i] = counter[i];
    philox10(out, key[0], key[1]);
}

void rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]) {
    philox_at(seed, stream, index, out);
}

/* 53 bits from two words: hi supplies the top 32, so the top 24 bits of the result are hi >> 8. */
static inline uint64_t bits53(uint32_t hi, uint32_t lo) { return ((uint64_t)hi << 21) | (lo >> 11); }

#define TWO_POW_M53 (1.0 / 9007199254740992.0)
#define TWO_POW_M24 (1.0f / 16777216.0f)

double rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    philox_at(seed, stream, index, w);
    return (double)bits53(w[0], w[1]) * TWO_POW_M53; /* at most 1 - 2^-53 */
}

/* Normals. Draw i is lane i % 4 of the four normals that Box-Muller makes of block i / 4: words 0, 1
 * give the radius and angle of lanes 0 (cos) and 1 (sin), words 2, 3 those of lanes 2 and 3. One
 * block makes four draws, and the math is float with its polynomials written out (+, -, *, /, sqrt
 * only: correctly rounded everywhere, so every build and vector width gives the same bits), so that
 * the fills vectorize: an image model's hundreds of thousands of draws per Langevin step had made
 * libm's double log and cos a third of its training step. The radius's uniform lies in [2^-32, 1],
 * so no draw exceeds 6.66 in size (a tail of probability 3e-11 is cut). */
#define LN2 0.693147180559945309f
#define HALF_PI 1.57079632679489662f

/* -2 ln(u) for u in (0, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s) for
 * s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^9 (the next term is below 1e-9). */
static inline __attribute__((always_inline)) float minus_two_log(float u) {
    int32_t bits, e;
    memcpy(&bits, &u, sizeof bits);
    e = ((bits >> 23) & 0xff) - 126; /* u = m 2^e, m in [1/2, 1) */
    bits = (bits & 0x007fffff) | 0x3f000000;
    float m;
    memcpy(&m, &bits, sizeof m);
    int below = m < 0.70710678f; /* then 2m in [1, sqrt 2), e one less (selects, no branches: they vectorize) */
    m *= below ? 2.0f : 1.0f;
    e -= below;
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float series = s * (2.0f + s2 * (2.0f / 3 + s2 * (2.0f / 5 + s2 * (2.0f / 7 + s2 * (2.0f / 9)))));
    return -2.0f * ((float)e * LN2 + series);
}

/* cos and sin of 2 pi t for t in [0, 1): the nearest quarter turn q, then Taylor series on
 * |x| <= pi / 4 (errors below 2e-9), turned q quarters: (c, s) -> (-s, c). */
static inline __attribute__((always_inline)) void turn(float t, float *c, float *s) {
    float y = 4.0f * t;
    int32_t q = (int32_t)(y + 0.5f);
    float x = (y - (float)q) * HALF_PI, x2 = x * x;
    float sx = x * (1.0f + x2 * (-1.0f / 6 + x2 * (1.0f / 120 + x2 * (-1.0f / 5040 + x2 * (1.0f / 362880)))));
    float cx = 1.0f + x2 * (-0.5f + x2 * (1.0f / 24 + x2 * (-1.0f / 720 + x2 * (1.0f / 40320 + x2 * (-1.0f / 3628800)))));
    float a = q & 1 ? sx : cx, b = q & 1 ? cx : sx;
    *c = a * ((q + 1) & 2 ? -1.0f : 1.0f);
    *s = b * (q & 2 ? -1.0f : 1.0f);
}

/* The four normals of block w. */
static inline __attribute__((always_inline)) void normals_from_block(const uint32_t w[4], float z[4]) {
#pragma GCC unroll 2 /* as philox10's */
    for (int h = 0; h < 2; h++) {
        float u = (float)(int32_t)(w[2 * h] >> 1) * 0x1p-31f + 0x1p-32f;
        float r = sqrtf(minus_two_log(u)), c, s;
        turn((float)(int32_t)(w[2 * h + 1] >> 8) * 0x1p-24f, &c, &s);
        z[2 * h] = r * c;
        z[2 * h + 1] = r * s;
    }
}

double rng_normal(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    float z[4];
    philox_at(seed, stream, index / 4, w);
    normals_from_block(w, z);
    return z[index % 4];
}

/* Draws [first, first + n) into out: whole blocks in a loop the compiler vectorizes (also cloned for
 * AVX2; the same bits), the partial blocks at either end through rng_normal. */
__attribute__((target_clones("avx2", "default"))) static void fill_normal_range(float *out, size_t n, uint64_t seed,
                                                                               uint64_t stream, uint64_t first) {
    size_t head = (size_t)((4 - first % 4) % 4);
    if (head > n) head = n;
    for (size_t i = 0; i < head; i++) out[i] = (float)rng_normal(seed, stream, first + i);
    size_t blocks = (n - head) / 4;
    uint64_t block0 = (first + head) / 4;
#pragma omp simd
    for (size_t b = 0; b < blocks; b++) {
        uint32_t w[4];
        philox_at(seed, stream, block0 + b, w);
        normals_from_block(w, out + head + 4 * b);
    }
    for (size_t i = head + 4 * blocks; i < n; i++) out[i] = (float)rng_normal(seed, stream, first + i);
}

/* Static schedule and per-index draws: each out[i] is computed the same way whatever the thread count.
 * Small fills (a batch of Langevin noise) stay on one thread: waking the team costs more than the work. */
void rng_fill_uniform_at(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t first) {
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t i = 0; i < n; i++) {
        uint32_t w[4];
        philox_at(seed, stream, first + i, w);
        out[i] = (float)(w[0] >> 8) * TWO_POW_M24; /* (float)rng_uniform could round up to 1 */
    }
}

void rng_fill_normal_at(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t first) {
    const size_t chunk = 16384; /* parallel over chunks: each draw is computed the same way in any */
#pragma omp parallel for schedule(static) if (n >= 4 * chunk)
    for (size_t c = 0; c < n; c += chunk)
        fill_normal_range(out + c, n - c < chunk ? n - c : chunk, seed, stream, first + c);
}

void rng_fill_uniform(float *out, size_t n, uint64_t seed, uint64_t stream) { rng_fill_uniform_at(out, n, seed, stream, 0); }
void rng_fill_normal(float *out, size_t n, uint64_t seed, uint64_t stream) { rng_fill_normal_at(out, n, seed, stream, 0); }
