/* Parameters may take any name, including the ones the runtime uses for its own inputs and outputs
 * ("x", "w", "loss", "dE"): compiling and training such a model works and trains the right tensors. */
#include "ebmc.h"
#include "test.h"

static const char src[] =
    "param x: [2, 8] = xavier()\n"
    "param w: [8] = zeros()\n"
    "param loss: [8, 1] = xavier()\n"
    "param dE: [1] = zeros()\n"
    "energy(z: [B, 2]) {\n"
    "  return softplus(z @ x + w) @ loss + dE\n"
    "}\n";

int main(void) {
    struct ebmc_model *m = ebmc_load_string(src, "names.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return test_report();
    CHECK(ebmc_set(m, "batch", "16", stderr) == 0);
    CHECK(ebmc_set(m, "objective", "cd", stderr) == 0);
    CHECK(ebmc_compile(m, stderr) == 0);
    float pts[2 * 16] = {0}, e[16];
    double loss;
    CHECK(ebmc_gradients(m, pts, 0, &loss) == 0);
    CHECK(ebmc_energy(m, pts, e, 16) == 0);
    /* d loss / d energy-bias is mean(1) - mean(1) + 2 alpha/B * sum(E): finite and bound to "dE". */
    int found = 0;
    for (int i = 0; i < ebmc_n_params(m); i++) found += ebmc_param_grad(m, i) != NULL;
    CHECK(found == 4);
    ebmc_free(m);
    return test_report();
}
