/* init.c: parameter initializers (init.h). */
#include "init.h"

#include <math.h>

#include "rng.h"

void init_fans(int ndim, const int64_t *shape, double *fan_in, double *fan_out) {
    if (ndim == 1) *fan_in = *fan_out = (double)shape[0];
    else if (ndim == 2) *fan_in = (double)shape[0], *fan_out = (double)shape[1];
    else {
        double field = 1;
        for (int i = 2; i < ndim; i++) field *= (double)shape[i];
        *fan_in = (double)shape[1] * field;
        *fan_out = (double)shape[0] * field;
    }
}

void init_values(float *value, int ndim, const int64_t *shape, const struct init_spec *s, uint64_t seed, int index) {
    uint64_t stream = rng_stream(TAG_PARAM_INIT, (uint64_t)index, 0);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= shape[i];
    double fan_in, fan_out;
    init_fans(ndim, shape, &fan_in, &fan_out);
    /* xavier: sqrt(6 / (fan_in + fan_out)); kaiming_uniform with a = sqrt(5): gain sqrt(2 / (1 + a^2)) times
     * sqrt(3 / fan_in) = 1 / sqrt(fan_in) */
    double bound = s->kind == INIT_XAVIER ? sqrt(6.0 / (fan_in + fan_out)) : 1 / sqrt(fan_in);
    for (int64_t i = 0; i < numel; i++) {
        double v = 0;
        switch (s->kind) {
        case INIT_ZEROS: v = 0; break;
        case INIT_ONES: v = 1; break;
        case INIT_NORMAL: v = s->args[0] * rng_normal(seed, stream, (uint64_t)i); break;
        case INIT_UNIFORM: v = s->args[0] + (s->args[1] - s->args[0]) * rng_uniform(seed, stream, (uint64_t)i); break;
        case INIT_XAVIER:
        case INIT_KAIMING_UNIFORM: v = bound * (2 * rng_uniform(seed, stream, (uint64_t)i) - 1); break;
        }
        value[i] = (float)v;
    }
}
