/* Initializers draw from the bounds docs/dsl.md states, with PyTorch's fans for every rank: for each
 * parameter, every value lies within the bound, the largest comes close to it, and the variance is
 * that of U(-bound, bound), bound^2 / 3. */
#include <math.h>
#include <string.h>

#include "ebmc.h"
#include "test.h"

static const char src[] =
    "param conv_x: [16, 8, 3, 3] = xavier()\n"         /* fan_in 72, fan_out 144 */
    "param conv_k: [16, 8, 3, 3] = kaiming_uniform()\n"
    "param dense_x: [64, 32] = xavier()\n"             /* x @ W: fan_in 64, fan_out 32 */
    "param dense_k: [64, 32] = kaiming_uniform()\n"
    "param seq_k: [20, 30, 5] = kaiming_uniform()\n"   /* fan_in 150 */
    "param bias_k: [400] = kaiming_uniform()\n"        /* fan_in 400 */
    "energy(x: [B, 2]) {\n"
    "  return sum(x @ reshape(slice(dense_x, 0, 0, 2), [2, 32]), 1) + sum(conv_x) * 0 + sum(conv_k) * 0 +\n"
    "         sum(dense_k) * 0 + sum(seq_k) * 0 + sum(bias_k) * 0\n"
    "}\n";

static const struct {
    const char *name;
    double bound;
} want[] = {
    {"conv_x", 0.16666666666666666}, /* sqrt(6 / 216) */
    {"conv_k", 0.11785113019775793}, /* 1 / sqrt(72) */
    {"dense_x", 0.25},               /* sqrt(6 / 96) */
    {"dense_k", 0.125},              /* 1 / sqrt(64) */
    {"seq_k", 0.08164965809277261},  /* 1 / sqrt(150) */
    {"bias_k", 0.05},                /* 1 / sqrt(400) */
};

int main(void) {
    struct ebmc_model *m = ebmc_load_string(src, "init.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return test_report();
    CHECK(ebmc_compile(m, stderr) == 0);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int i = 0;
        while (i < ebmc_n_params(m) && strcmp(ebmc_param_name(m, i), want[k].name) != 0) i++;
        CHECK_MSG(i < ebmc_n_params(m), "no parameter %s", want[k].name);
        if (i == ebmc_n_params(m)) continue;
        const float *v = ebmc_param_data(m, i);
        int64_t n = ebmc_param_numel(m, i);
        double top = 0, sq = 0, b = want[k].bound;
        for (int64_t j = 0; j < n; j++) top = fmax(top, fabs(v[j])), sq += (double)v[j] * v[j];
        double var = sq / (double)n, want_var = b * b / 3;
        CHECK_MSG(top <= b * (1 + 1e-6) && top > 0.98 * b, "%s: largest |value| %g, bound %g", want[k].name, top, b);
        /* n >= 400 draws: the sample variance is within 4 standard errors (sd of u^2 is 0.89 b^2/3) */
        CHECK_MSG(fabs(var - want_var) < 4 * 0.9 * want_var / sqrt((double)n), "%s: variance %g, want %g", want[k].name,
                  var, want_var);
    }
    ebmc_free(m);
    return test_report();
}
