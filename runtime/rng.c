/* rng.c: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) and
 * the uniform and normal draws built on it. Every draw is a pure function of (seed, stream, index). */
#include "rng.h"

#include <math.h>

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
#define TWO_PI 6.283185307179586476925286766559 /* M_PI is not C11 */

double rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    philox_at(seed, stream, index, w);
    return (double)bits53(w[0], w[1]) * TWO_POW_M53; /* at most 1 - 2^-53 */
}

/* Box-Muller on the two 53-bit halves of one block; u1 is in (0, 1] so log(u1) is finite. */
static inline double normal_from_block(const uint32_t w[4]) {
    double u1 = (double)(bits53(w[0], w[1]) + 1) * TWO_POW_M53;
    double u2 = (double)bits53(w[2], w[3]) * TWO_POW_M53;
    return sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

double rng_normal(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    philox_at(seed, stream, index, w);
    return normal_from_block(w);
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
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t i = 0; i < n; i++) {
        uint32_t w[4];
        philox_at(seed, stream, first + i, w);
        out[i] = (float)normal_from_block(w);
    }
}

void rng_fill_uniform(float *out, size_t n, uint64_t seed, uint64_t stream) { rng_fill_uniform_at(out, n, seed, stream, 0); }
void rng_fill_normal(float *out, size_t n, uint64_t seed, uint64_t stream) { rng_fill_normal_at(out, n, seed, stream, 0); }
