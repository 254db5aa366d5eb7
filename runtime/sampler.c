/* sampler.c: ULA, MALA and the linearized DCD draw. ULA on E runs the compiled langevin program (the
 * whole step, update included, in compiled kernels). Otherwise the energy and its gradient come from the
 * compiled energy_grad program, and the Gaussian kernel term, the update and the accept/reject step are
 * host loops over B x D numbers. The host loop's ULA step is MALA's proposal, accepted always; it serves
 * ULA on a DCD posterior, and for ULA on E it is the oracle of the compiled step (tests/runtime,
 * test_langevin_oracle), which training never bypasses. */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

void potential_eval(const struct potential *pot, const float *x, float *u, float *grad) {
    struct rt_model *m = pot->model;
    struct rt_program *p = &m->energy_grad;
    rt_program_input(p, RT_IN_X, x);
    rt_bind_level(m, p, pot->t);
    rt_program_run(p, m->threads);
    const float *e = rt_program_output(p, RT_OUT_ENERGY), *ge = rt_program_output(p, RT_OUT_GRAD_X);
    int64_t b = m->batch, d = m->dim;
    memcpy(u, e, sizeof(float) * (size_t)b);
    memcpy(grad, ge, sizeof(float) * (size_t)(b * d));
    if (!pot->y) return;
    /* U_y(x) = E(x) + |y - a x|^2 / (2 s^2);  dU/dx = dE/dx - a (y - a x) / s^2 */
    for (int64_t i = 0; i < b; i++) {
        float a = pot->row_a ? pot->row_a[i] : pot->a, s = pot->row_s ? pot->row_s[i] : pot->s;
        double q = 0, inv_s2 = 1.0 / ((double)s * s);
        for (int64_t j = 0; j < d; j++) {
            double r = pot->y[i * d + j] - a * x[i * d + j];
            q += r * r;
            grad[i * d + j] -= (float)(a * r * inv_s2);
        }
        u[i] += (float)(0.5 * q * inv_s2);
    }
}

static float clip(float g, double c) {
    if (c <= 0) return g;
    return g > c ? (float)c : g < -c ? (float)-c : g;
}

/* log k(to | from) up to a constant shared by both directions: the proposal is
 * N(from - eta/2 clip(grad U(from)), tau^2 eta I). */
static double log_proposal(const float *to, const float *from, const float *grad_from, int64_t d,
                           const struct langevin *o, double eta) {
    double var = o->noise_scale * o->noise_scale * eta, q = 0;
    for (int64_t j = 0; j < d; j++) {
        double r = to[j] - (from[j] - 0.5 * eta * clip(grad_from[j], o->grad_clip));
        q += r * r;
    }
    return -q / (2 * var);
}

/* opt->sum += x after step k, from step sum_from on */
static void add_to_sum(const struct langevin *opt, int k, const float *x, int64_t n) {
    if (!opt->sum || k < opt->sum_from) return;
    for (int64_t i = 0; i < n; i++) opt->sum[i] += x[i];
}

int langevin_run(const struct potential *pot, float *x, const struct langevin *opt, uint64_t seed, uint32_t tag,
                 uint64_t step, struct chain_stats *stats) {
    int64_t b = pot->model->batch, d = pot->model->dim, n = b * d;
    uint64_t first = (uint64_t)(pot->row0 * d);
    float *u = malloc(sizeof(float) * (size_t)b), *g = malloc(sizeof(float) * (size_t)n);
    float *u2 = malloc(sizeof(float) * (size_t)b), *g2 = malloc(sizeof(float) * (size_t)n);
    float *x2 = malloc(sizeof(float) * (size_t)n), *noise = malloc(sizeof(float) * (size_t)n);
    int rc = -1;
    if (!u || !g || !u2 || !g2 || !x2 || !noise) goto done;
    int mala = opt->kind == SAMPLER_MALA;
    struct rt_program *step_program = &pot->model->langevin;
    if (!mala && !pot->y && !opt->row_eta && rt_program_ready(step_program)) { /* ULA on E: one compiled program per step */
        rt_bind_level(pot->model, step_program, pot->t);
        for (int k = 0; k < opt->steps; k++) {
            rng_fill_normal_at(noise, (size_t)n, seed, rng_stream(tag, step, (uint32_t)(2 * k)), first);
            rt_program_input(step_program, RT_IN_NOISE, noise);
            rt_program_input(step_program, RT_IN_X, x);
            rt_program_run(step_program, pot->model->threads);
            memcpy(x, rt_program_output(step_program, RT_OUT_X_NEXT), sizeof(float) * (size_t)n);
            add_to_sum(opt, k, x, n);
        }
        rc = 0;
        goto done;
    }
    if (opt->steps > 0) potential_eval(pot, x, u, g);
    for (int k = 0; k < opt->steps; k++) {
        rng_fill_normal_at(noise, (size_t)n, seed, rng_stream(tag, step, (uint32_t)(2 * k)), first);
        for (int64_t r = 0; r < b; r++) {
            double eta = opt->row_eta ? opt->row_eta[r] : opt->step_size;
            float half_eta = (float)(0.5 * eta), sd = (float)(opt->noise_scale * sqrt(eta));
            for (int64_t i = r * d; i < (r + 1) * d; i++)
                x2[i] = x[i] - half_eta * clip(g[i], opt->grad_clip) + sd * noise[i];
        }
        if (!mala) {
            memcpy(x, x2, sizeof(float) * (size_t)n);
            add_to_sum(opt, k, x, n);
            if (k + 1 < opt->steps) potential_eval(pot, x, u, g);
            continue;
        }
        /* MALA: the current point's U and gradient carry over, so each step costs one evaluation. */
        potential_eval(pot, x2, u2, g2);
        for (int64_t i = 0; i < b; i++) {
            double eta = opt->row_eta ? opt->row_eta[i] : opt->step_size;
            if (eta == 0) continue; /* a chain held where it is (time-cd's chains past their level) */
            double log_a = (double)u[i] - u2[i] + log_proposal(x + i * d, x2 + i * d, g2 + i * d, d, opt, eta) -
                           log_proposal(x2 + i * d, x + i * d, g + i * d, d, opt, eta);
            double r = rng_uniform(seed, rng_stream(tag, step, (uint32_t)(2 * k + 1)), (uint64_t)(pot->row0 + i));
            if (stats) stats->proposed++;
            if (isfinite(log_a) && log(r) < log_a) {
                memcpy(x + i * d, x2 + i * d, sizeof(float) * (size_t)d);
                memcpy(g + i * d, g2 + i * d, sizeof(float) * (size_t)d);
                u[i] = u2[i];
                if (stats) stats->accepted++;
            }
        }
        add_to_sum(opt, k, x, n);
    }
    rc = 0;
done:
    free(u), free(g), free(u2), free(g2), free(x2), free(noise);
    return rc;
}

int linearized_draw(const struct potential *pot, float *x, const struct langevin *opt, uint64_t seed, uint32_t tag,
                    uint64_t step) {
    int64_t b = pot->model->batch, d = pot->model->dim, n = b * d;
    float *u = malloc(sizeof(float) * (size_t)b), *g = malloc(sizeof(float) * (size_t)n);
    float *noise = malloc(sizeof(float) * (size_t)n);
    int rc = -1;
    if (!u || !g || !noise || !pot->y) goto done;
    double inv_a = 1.0 / pot->a, drift = (double)pot->s * pot->s * inv_a * inv_a, sd = opt->noise_scale * pot->s * inv_a;
    for (int64_t i = 0; i < n; i++) x[i] = (float)(pot->y[i] * inv_a);
    struct potential energy_only = {.model = pot->model, .a = 1.0f, .s = 1.0f, .row0 = pot->row0}; /* grad E, not grad U_y */
    potential_eval(&energy_only, x, u, g);
    rng_fill_normal_at(noise, (size_t)n, seed, rng_stream(tag, step, 0), (uint64_t)(pot->row0 * d));
    for (int64_t i = 0; i < n; i++) x[i] = (float)(x[i] - drift * clip(g[i], opt->grad_clip) + sd * noise[i]);
    rc = 0;
done:
    free(u), free(g), free(noise);
    return rc;
}

void box_uniform(float *out, size_t n, struct data_box b, uint64_t seed, uint64_t stream) {
    box_uniform_at(out, n, b, seed, stream, 0);
}

void box_uniform_at(float *out, size_t n, struct data_box b, uint64_t seed, uint64_t stream, uint64_t first) {
    float half = 0.5f * (b.hi - b.lo), centre = 0.5f * (b.hi + b.lo);
    rng_fill_uniform_at(out, n, seed, stream, first);
    for (size_t i = 0; i < n; i++) out[i] = (2 * out[i] - 1) * half + centre;
}

int model_samples(struct rt_model *m, const struct train_config *c, int steps, struct data_box box, const float *start,
                  float *out, size_t n) {
    if (!start && objective_is_time(c->objective)) return annealed_samples(m, c, steps, box, out, n);
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    /* Streams are keyed by chunks of the global batch (b times the ranks of a job), so that rank 0, in
     * chunks of its share b, draws the samples one process would. */
    size_t big = b * (size_t)(m->nranks > 1 ? m->nranks : 1);
    float *x = malloc(b * d * sizeof(float));
    if (!x) return -1;
    struct potential pot = {.model = m, .a = 1, .s = 1};
    struct langevin lv = {.kind = SAMPLER_MALA, .steps = steps, .step_size = c->step_size, .noise_scale = 1.0};
    struct ladder_level l0;
    if (config_ladder(c, 0, &l0) == 0) lv.step_size = l0.eta; /* E(x, 0): the ladder's level-0 step */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += b) {
        size_t k = n - i < b ? n - i : b;
        pot.row0 = (int64_t)(i % big);
        if (start) { /* a last partial chunk repeats its first rows: every chain is a real start */
            for (size_t r = 0; r < b; r++) memcpy(x + r * d, start + (i + r % k) * d, d * sizeof(float));
        } else {
            box_uniform_at(x, b * d, box, c->seed, rng_stream(TAG_SAMPLE_INIT, i / big, 0), (i % big) * d);
        }
        rc = langevin_run(&pot, x, &lv, c->seed, start ? TAG_SAMPLE_START : TAG_SAMPLES, i / big, NULL);
        memcpy(out + i * d, x, k * d * sizeof(float));
        if (m->progress) m->progress(m->progress_ctx, i + k, n);
    }
    free(x);
    return rc;
}

int annealed_samples(struct rt_model *m, const struct train_config *c, int steps, struct data_box box, float *out,
                     size_t n) {
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *x = malloc(b * d * sizeof(float));
    struct ladder_level top;
    int rc = x && config_ladder(c, c->levels, &top) == 0 ? 0 : -1;
    /* VE's top level is the data spread by sigma_L around it: centred on the box, as the data are */
    float centre = c->objective != OBJ_TIME_DCD_VP ? 0.5f * (box.lo + box.hi) : 0.0f;
    for (size_t i = 0; i < n && rc == 0; i += b) {
        size_t k = n - i < b ? n - i : b;
        rng_fill_normal(x, b * d, c->seed, rng_stream(TAG_SAMPLE_INIT, i / b, 0));
        for (size_t j = 0; j < b * d; j++) x[j] = centre + (float)top.sd * x[j];
        rc = anneal_down(m, c, c->levels, steps, x, NULL, c->seed, TAG_SAMPLES, i / b, NULL);
        memcpy(out + i * d, x, k * d * sizeof(float));
        if (m->progress) m->progress(m->progress_ctx, i + k, n);
    }
    free(x);
    return rc;
}

int anneal_down(struct rt_model *m, const struct train_config *c, int from, int steps, float *x, double *sum0,
                uint64_t seed, uint32_t tag, uint64_t chunk, struct chain_stats *st) {
    size_t b = (size_t)m->batch, d = (size_t)m->dim;
    float *above = malloc(b * d * sizeof(float)), *t = malloc(b * sizeof(float));
    int rc = above && t ? 0 : -1;
    for (int level = from - 1; level >= 0 && rc == 0; level--) {
        struct ladder_level l;
        config_ladder(c, level, &l);
        memcpy(above, x, b * d * sizeof(float));
        for (size_t j = 0; j < b * d; j++) x[j] = (float)(above[j] / l.a);
        for (size_t r = 0; r < b; r++) t[r] = (float)level;
        struct potential pot = {.model = m, .y = above, .a = (float)l.a, .s = (float)l.s, .t = t};
        struct langevin lv = {.kind = SAMPLER_MALA, .steps = steps, .step_size = l.eta, .noise_scale = 1.0,
                              .sum = level == 0 ? sum0 : NULL, .sum_from = steps / 2};
        rc = langevin_run(&pot, x, &lv, seed, tag, chunk * (uint64_t)(c->levels + 1) + (uint64_t)level, st);
    }
    free(above), free(t);
    return rc;
}
