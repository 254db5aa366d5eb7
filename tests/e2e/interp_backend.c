/* The backend setting: a model run on the reference interpreter (backend = interp, in double) trains
 * like the JIT-compiled one. Ten Adam steps on the same batches, then the sampler's negatives and the
 * loss through ebmc_gradients: losses, energies and every parameter agree to float rounding. */
#include <math.h>
#include <stdlib.h>

#include "ebmc.h"
#include "test.h"

static const char src[] =
    "param W1: [2, 32] = xavier()\n"
    "param b1: [32] = zeros()\n"
    "param W2: [32, 1] = xavier()\n"
    "energy(x: [B, 2]) {\n"
    "  h = silu(x @ W1 + b1)\n"
    "  return sum(h @ W2, 1) + 0.1 * sum(square(x), 1)\n"
    "}\n";

enum { B = 32 };

static struct ebmc_model *model(const char *backend) {
    struct ebmc_model *m = ebmc_load_string(src, "interp.ebm", stderr);
    if (!m || ebmc_set(m, "batch", "32", stderr) || ebmc_set(m, "lr", "0.01", stderr) ||
        ebmc_set(m, "langevin_steps", "5", stderr) || ebmc_set(m, "backend", backend, stderr) ||
        ebmc_compile(m, stderr)) {
        ebmc_free(m);
        return NULL;
    }
    return m;
}

/* |a - b| <= tol (|a| + |b| + 1): float rounding of the JIT against the interpreter's double. */
static int close(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(a) + fabs(b) + 1); }

static double max_param_diff(struct ebmc_model *a, struct ebmc_model *b) {
    double worst = 0;
    for (int i = 0; i < ebmc_n_params(a); i++) {
        const float *pa = ebmc_param_data(a, i), *pb = ebmc_param_data(b, i);
        for (int64_t j = 0; j < ebmc_param_numel(a, i); j++) worst = fmax(worst, fabs(pa[j] - pb[j]));
    }
    return worst;
}

int main(void) {
    struct ebmc_model *jit = model("jit"), *interp = model("interp");
    CHECK(jit && interp);
    if (!jit || !interp) return test_report();
    char buf[16];
    CHECK(ebmc_get_setting(interp, "backend", buf, sizeof buf, NULL) == 0 && buf[0] == 'i');
    FILE *sink = tmpfile();
    CHECK(sink && ebmc_set(jit, "backend", "llvm", sink) != 0); /* an unknown choice is refused */
    if (sink) fclose(sink);
    CHECK(max_param_diff(jit, interp) == 0); /* the same seed draws the same initial parameters */
    float x[B * 2], xneg[B * 2], e_jit[B], e_interp[B];
    for (int t = 1; t <= 10; t++) {
        for (int i = 0; i < B; i++) {
            double a = 0.7 * i + t, r = 1 + 0.5 * sin(3.0 * i);
            x[2 * i] = (float)(r * cos(a)), x[2 * i + 1] = (float)(r * sin(a));
            xneg[2 * i] = (float)(2.5 * cos(1.3 * i * t)), xneg[2 * i + 1] = (float)(2.5 * sin(0.9 * i + t));
        }
        double la, lb;
        CHECK(ebmc_step(jit, x, xneg, t, &la) == 1 && ebmc_step(interp, x, xneg, t, &lb) == 1);
        CHECK_MSG(close(la, lb, 1e-5), "step %d: loss %.9g (jit) vs %.9g (interp)", t, la, lb);
    }
    double d = max_param_diff(jit, interp);
    CHECK_MSG(d < 1e-4 && d > 0, "parameters after 10 steps differ by %g", d); /* > 0: two backends ran */
    CHECK(ebmc_energy(jit, x, e_jit, B) == 0 && ebmc_energy(interp, x, e_interp, B) == 0);
    for (int i = 0; i < B; i++) CHECK_MSG(close(e_jit[i], e_interp[i], 1e-4), "E[%d] %g vs %g", i, e_jit[i], e_interp[i]);
    /* the sampler (the compiled Langevin program) and the loss program, from the same noise */
    double la, lb;
    CHECK(ebmc_gradients(jit, x, 11, &la, stderr) == 0 && ebmc_gradients(interp, x, 11, &lb, stderr) == 0);
    CHECK_MSG(close(la, lb, 1e-3), "ebmc_gradients: loss %.9g (jit) vs %.9g (interp)", la, lb);
    for (int i = 0; i < ebmc_n_params(jit); i++) {
        const float *ga = ebmc_param_grad(jit, i), *gb = ebmc_param_grad(interp, i);
        for (int64_t j = 0; j < ebmc_param_numel(jit, i); j++)
            CHECK_MSG(close(ga[j], gb[j], 1e-3), "%s[%lld]: %g vs %g", ebmc_param_name(jit, i), (long long)j, ga[j], gb[j]);
    }
    ebmc_free(jit);
    ebmc_free(interp);
    return test_report();
}
