/* ULA on E runs as one compiled program per step (the langevin program: the update fused into the
 * dE/dx kernel). The host loop of langevin_run, which MALA and ULA on a DCD posterior use, computes the
 * same step from the sampler program's dE/dx: it is the oracle here. Both run the same chains from the
 * same noise, with and without gradient clipping, and must agree to float rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jit.h"
#include "model.h"
#include "objectives/programs.h"
#include "pass.h"
#include "sampler.h"
#include "test.h"

enum { B = 16, D = 3, H = 8 };

/* E(x) = sum(softplus(x W), 1) + 0.5 sum(x^2, 1) */
static int lower(void *ctx, struct ir_graph *g, const int *in, int *energy) {
    (void)ctx;
    int x = in[0];
    int w = ir_param(g, "W", 2, (int64_t[]){D, H});
    int h = ir_unary(g, IR_SOFTPLUS, ir_matmul(g, x, w, 0));
    int q = ir_binary_bcast(g, IR_MUL, ir_sum(g, ir_unary(g, IR_SQUARE, x), 2u), ir_const(g, 0.5, 1, (int64_t[]){1}));
    int e = ir_binary(g, IR_ADD, ir_sum(g, h, 2u), q);
    *energy = ir_reshape(g, e, 1, (int64_t[]){B});
    return *energy < 0 ? -1 : 0;
}

static int bind(struct rt_model *m, struct rt_program *p, enum program which, const struct train_config *c) {
    static const char *const params[] = {"W"};
    struct energy_fn e = {.lower = lower, .ndim = 2, .shape = {B, D}, .n_params = 1, .params = params};
    char err[512];
    struct ir_graph *g = program_build(which, &e, c, err, sizeof err), *o = NULL;
    struct jit_program *jit = NULL;
    int ok = g && (o = pass_run_pipeline(g, PASS_DEFAULT_PIPELINE, NULL, NULL, err, sizeof err)) &&
             (jit = jit_compile(o, NULL, err, sizeof err)) && rt_program_bind(p, m, o, jit, err, sizeof err) == 0;
    CHECK_MSG(ok, "%s: %s", program_names[which], err);
    if (!ok) jit_free(jit);
    ir_graph_free(g);
    ir_graph_free(o);
    return ok ? 0 : -1;
}

int main(void) {
    for (int clip = 0; clip < 2; clip++) {
        struct train_config c;
        config_defaults(&c);
        c.batch = B;
        c.step_size = 0.05;
        c.noise_scale = 0.7;
        c.grad_clip = clip ? 0.5 : 0;
        struct rt_model m;
        memset(&m, 0, sizeof m);
        m.dim = D, m.batch = B, m.threads = 1;
        int k = rt_model_add_param(&m, "W", 2, (int64_t[]){D, H});
        CHECK(k == 0);
        for (int i = 0; i < D * H; i++) m.params[0].value[i] = (float)sin(1.7 * i) * 0.8f;
        if (bind(&m, &m.energy_grad, PROGRAM_SAMPLER, &c) || bind(&m, &m.langevin, PROGRAM_LANGEVIN, &c)) break;
        float x0[B * D], fast[B * D], host[B * D];
        for (int i = 0; i < B * D; i++) x0[i] = (float)cos(0.9 * i) * 2;
        memcpy(fast, x0, sizeof x0);
        memcpy(host, x0, sizeof x0);
        struct langevin lv = {.kind = SAMPLER_ULA, .steps = 20, .step_size = c.step_size, .noise_scale = c.noise_scale, .grad_clip = c.grad_clip};
        struct potential pot = {.model = &m, .a = 1, .s = 1};
        CHECK(langevin_run(&pot, fast, &lv, 7, 3, 11, NULL) == 0);
        struct rt_model no_program = m; /* the same model without its langevin program: the host loop */
        memset(&no_program.langevin, 0, sizeof no_program.langevin);
        pot.model = &no_program;
        CHECK(langevin_run(&pot, host, &lv, 7, 3, 11, NULL) == 0);
        double worst = 0, moved = 0;
        for (int i = 0; i < B * D; i++) worst = fmax(worst, fabs(fast[i] - host[i])), moved = fmax(moved, fabs(fast[i] - x0[i]));
        CHECK_MSG(worst < 1e-5 && moved > 0.1, "clip %d: compiled and host ULA differ by %g (moved %g)", clip, worst, moved);
        rt_model_free(&m);
    }
    return test_report();
}
