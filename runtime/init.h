/* init.h: a parameter's initial values, drawn from its own random stream (rng.h, TAG_PARAM_INIT), so
 * they depend on the seed and the parameter's position only. The DSL names the initializers
 * (docs/dsl.md); this is where their values come from. */
#ifndef EBMC_INIT_H
#define EBMC_INIT_H

#include <stdint.h>

enum init_kind {
    INIT_ZEROS,
    INIT_ONES,
    INIT_NORMAL,          /* N(0, args[0]^2)                                        */
    INIT_UNIFORM,         /* U(args[0], args[1])                                    */
    INIT_XAVIER,          /* U(+-sqrt(6 / (fan_in + fan_out)))                      */
    INIT_KAIMING_UNIFORM, /* U(+-1 / sqrt(fan_in)), PyTorch's default (a = sqrt(5)) */
};

struct init_spec {
    enum init_kind kind;
    double args[2];
};

/* A parameter's fans: PyTorch's for a weight [O, C, K...] of rank >= 3 (fan_in = C prod K, fan_out =
 * O prod K); a 2-D weight multiplies as x @ W, so [in, out]; a vector [n] has both n. */
void init_fans(int ndim, const int64_t *shape, double *fan_in, double *fan_out);

/* Fills value[0 .. prod(shape)) for the index-th parameter of a model trained with seed. */
void init_values(float *value, int ndim, const int64_t *shape, const struct init_spec *s, uint64_t seed, int index);

#endif
