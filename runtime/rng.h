/* rng.h: counter-based random numbers (Philox-4x32-10). A number is a pure function of
 * (seed, stream, index), so results do not depend on the thread count or on the order of evaluation,
 * and any element of any draw can be recomputed. Streams separate uses (one per training step and
 * purpose); index is the element. */
#ifndef EBMC_RNG_H
#define EBMC_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Philox-4x32-10 of counter (stream, index) under key seed: four independent 32-bit words. The counter
 * words are (index lo, index hi, stream lo, stream hi) and the key words (seed lo, seed hi). */
void rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);

/* The bare block function on explicit counter and key words (checked against Random123's test vectors). */
void rng_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* Uniform on [0, 1) and standard normal (Box-Muller in float, four draws to a block: rng.c), for element
 * `index` of `stream`. */
double rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);
double rng_normal(uint64_t seed, uint64_t stream, uint64_t index);

/* out[i] = draw for index i, i in [0, n). Parallel over i with OpenMP; identical for any thread count.
 * Uniform floats keep the top 24 bits of rng_uniform (so they stay below 1); normals are rng_normal's. */
void rng_fill_uniform(float *out, size_t n, uint64_t seed, uint64_t stream);
void rng_fill_normal(float *out, size_t n, uint64_t seed, uint64_t stream);
/* The same for indices first .. first + n - 1: a rank of a data-parallel job draws the rows of the global
 * batch it holds, so the ranks together draw what one process would, and no two draw the same numbers. */
void rng_fill_uniform_at(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t first);
void rng_fill_normal_at(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t first);

/* A stream id built from a purpose tag and up to two counters (step, sub-step), so streams never collide. */
static inline uint64_t rng_stream(uint32_t tag, uint64_t step, uint32_t sub) {
    return ((uint64_t)tag << 56) ^ (step << 16) ^ (uint64_t)sub;
}

/* The purposes random streams are keyed by (rng_stream(tag, step, sub)); one list for a whole run. */
enum stream_tag {
    TAG_DATA = 1,     /* training batches */
    TAG_TEST,         /* held-out points */
    TAG_KERNEL,       /* DCD: the kernel noise eps of y = a x + s eps */
    TAG_CHAIN,        /* Langevin noise and MALA accept draws of the negatives' chains */
    TAG_INIT_NOISE,   /* sr-cd: the chains' starting points */
    TAG_SAMPLE_INIT,  /* samples.png: starting points */
    TAG_SAMPLES,      /* samples.png: Langevin noise */
    TAG_PARAM_INIT = 9, /* parameter initialization */
    TAG_PCD_INIT = 10, /* pcd: the buffer's initial uniform noise */
    TAG_PCD_PICK,     /* pcd: which chains a step takes */
    TAG_PCD_RESET,    /* pcd: sub 0 the reset coin per chain, sub 1 the fresh noise */
    TAG_LINEARIZED,   /* dcd with sampler = linearized: xi */
    TAG_DENOISE,      /* denoising: sub 0 the corruption, sub 1 the restoring chains */
    TAG_SAMPLE_START, /* samples started at held-out data: their Langevin noise */
    TAG_LEVEL,        /* time objectives: each batch element's level t */
    TAG_FCD_NOISE,    /* ebmc score: the uniform noise of FCD's ceiling */
};

#endif
