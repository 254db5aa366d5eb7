/* ebmc.c: the public API: ties the frontend, autodiff, the JIT and the runtime together. */
#include "ebmc.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodiff.h"
#include "checkpoint.h"
#include "config.h"
#include "data2d.h"
#include "eval2d.h"
#include "frontend.h"
#include "jit.h"
#include "model.h"
#include "pass.h"
#include "plot.h"
#include "rng.h"
#include "train.h"

enum { TAG_PARAM_INIT = 9 };

/* The programs a model compiles to, as --program names them. Training runs train (the loss's gradients
 * fed to Adam) and, when the objective's chains are ULA on E, langevin (one ULA step); loss (the loss and
 * its gradients, for inspection and checks) is compiled when first asked for. */
enum program { PROGRAM_ENERGY, PROGRAM_SAMPLER, PROGRAM_LOSS, PROGRAM_TRAIN, PROGRAM_LANGEVIN, N_PROGRAMS };
static const char *const program_names[N_PROGRAMS] = {"energy", "sampler", "loss", "train", "langevin"};

struct program_stats {
    int nodes, nodes_optimized; /* graph nodes before and after the default passes */
    struct jit_stats jit;
};

struct ebmc_model {
    struct fe_model *fe;
    struct train_config config;
    struct rt_model rt;
    int compiled;
    double compile_seconds;
    struct program_stats stats[N_PROGRAMS];
    struct train_step step; /* for ebmc_gradients, allocated on first use */
    int64_t rt_step;        /* training steps the parameters have seen */
    char *source;           /* the model text, copied into each run folder so the run can be resumed */
};

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t len = 0, cap = 1 << 12, got;
    char *text = malloc(cap);
    while (text && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger) free(text);
            text = bigger;
        }
    }
    if (text && ferror(f)) free(text), text = NULL;
    fclose(f);
    if (text) text[len] = 0;
    return text;
}

static int apply_file_settings(struct ebmc_model *m, FILE *diag) {
    int rc = 0;
    for (int i = 0; i < fe_model_n_settings(m->fe); i++) {
        const struct fe_setting *s = fe_model_setting(m->fe, i);
        char err[256];
        if (config_set(&m->config, s->key, s->value, err, sizeof err) != 0) {
            int unknown_key = strncmp(err, "unknown setting", 15) == 0;
            fe_error_at(m->fe, unknown_key ? s->loc : s->value_loc, diag, "%s", err);
            rc = -1;
        }
    }
    return rc;
}

static struct ebmc_model *wrap(struct fe_model *fe, FILE *diag) {
    if (!fe) return NULL;
    struct ebmc_model *m = calloc(1, sizeof *m);
    if (!m) {
        fe_model_free(fe);
        fprintf(diag, "error: out of memory\n");
        return NULL;
    }
    m->fe = fe;
    config_defaults(&m->config);
    if (apply_file_settings(m, diag) != 0) {
        ebmc_free(m);
        return NULL;
    }
    return m;
}

static struct ebmc_model *keep_source(struct ebmc_model *m, char *source, FILE *diag) {
    if (m && !source) {
        fprintf(diag, "error: %s: cannot read the model text again: %s\n", fe_model_filename(m->fe), strerror(errno));
        ebmc_free(m);
        return NULL;
    }
    if (m) m->source = source;
    else free(source);
    return m;
}

struct ebmc_model *ebmc_load(const char *path, FILE *diag) {
    struct ebmc_model *m = wrap(fe_parse_file(path, diag), diag);
    return m ? keep_source(m, read_text(path), diag) : NULL;
}

struct ebmc_model *ebmc_load_string(const char *source, const char *filename, FILE *diag) {
    struct ebmc_model *m = wrap(fe_parse_string(source, filename, diag), diag);
    return m ? keep_source(m, strdup(source), diag) : NULL;
}

void ebmc_free(struct ebmc_model *m) {
    if (!m) return;
    train_step_free(&m->step);
    rt_model_free(&m->rt);
    fe_model_free(m->fe);
    free(m->source);
    free(m);
}

int ebmc_set(struct ebmc_model *m, const char *key, const char *value, FILE *diag) {
    char err[256];
    if (m->compiled) {
        fprintf(diag, "error: settings must be made before compiling\n");
        return -1;
    }
    if (config_set(&m->config, key, value, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    return 0;
}

void ebmc_print_settings(const struct ebmc_model *m, FILE *out) { config_print(&m->config, out); }
void ebmc_print_settings_help(FILE *out) { config_print_help(out); }

/* ---- graphs ---- */

/* The data input: [batch, D...]. */
static int model_input(struct ebmc_model *m, struct ir_graph *g, int64_t batch) {
    int64_t shape[IR_MAX_DIMS];
    fe_model_input_shape(m->fe, batch, shape);
    return ir_input(g, RT_IN_X, fe_model_input_ndim(m->fe), shape);
}

static int fail_graph(struct ir_graph *g, FILE *diag, const char *what) {
    fprintf(diag, "error: building the %s graph: %s\n", what, ir_graph_error(g));
    return -1;
}

/* energy(x) -> energy[B], and with_grad: dE/dx (the Langevin drift). */
static struct ir_graph *build_energy_graph(struct ebmc_model *m, int with_grad, FILE *diag) {
    struct ir_graph *g = ir_graph_new();
    int x = g ? model_input(m, g, m->config.batch) : -1, e, gx;
    if (x < 0 || fe_lower_energy(m->fe, g, x, &e, diag) != 0) goto fail;
    if (ir_graph_output(g, RT_OUT_ENERGY, e) != 0) goto fail;
    if (with_grad && (ad_grad(g, e, -1, 1, &x, &gx) != 0 || ir_graph_output(g, RT_OUT_GRAD_X, gx) != 0)) goto fail;
    return g;
fail:
    if (g) fail_graph(g, diag, "energy");
    ir_graph_free(g);
    return NULL;
}

/* Adam's update of parameter p (node `param`) with gradient `grad`, in float, with the moments as
 * arguments m:<p> and v:<p> and the step size lr_t (bias corrections included) as an argument:
 *     m' = b1 m + (1 - b1) g,  v' = b2 v + (1 - b2) g^2,  p' = p - lr_t m' / (sqrt(v') + eps)
 * Outputs new:<p>, new:m:<p>, new:v:<p>. The fusion pass runs all three in the epilogue of the kernel
 * that computes the gradient. Returns 0, or -1 with the graph's error set. */
static int add_adam_update(struct ir_graph *g, const struct train_config *c, const char *p, int param, int grad,
                           int lr_t) {
    const struct ir_node *n = ir_node_at(g, param);
    char name[IR_NAME_LEN];
    int64_t shape[IR_MAX_DIMS];
    int ndim = n->ndim;
    memcpy(shape, n->shape, sizeof shape);
    snprintf(name, sizeof name, RT_MOMENT1_PREFIX "%s", p);
    int m = ir_input(g, name, ndim, shape);
    snprintf(name, sizeof name, RT_MOMENT2_PREFIX "%s", p);
    int v = ir_input(g, name, ndim, shape);
    if (m < 0 || v < 0) return -1;
    int m_next = ir_binary(g, IR_ADD, ir_binary(g, IR_MUL, ir_const_like(g, c->beta1, m), m),
                           ir_binary(g, IR_MUL, ir_const_like(g, 1 - c->beta1, grad), grad));
    int g2 = ir_unary(g, IR_SQUARE, grad);
    int v_next = ir_binary(g, IR_ADD, ir_binary(g, IR_MUL, ir_const_like(g, c->beta2, v), v),
                           ir_binary(g, IR_MUL, ir_const_like(g, 1 - c->beta2, g2), g2));
    int v_sqrt = ir_unary(g, IR_SQRT, v_next);
    int denom = ir_binary(g, IR_ADD, v_sqrt, ir_const_like(g, ADAM_EPS, v_sqrt));
    int p_next = ir_binary(g, IR_SUB, param, ir_binary_bcast(g, IR_MUL, lr_t, ir_binary(g, IR_DIV, m_next, denom)));
    if (p_next < 0) return -1;
    snprintf(name, sizeof name, RT_NEW_PREFIX "%s", p);
    if (ir_graph_output(g, name, p_next) != 0) return -1;
    snprintf(name, sizeof name, RT_NEW_PREFIX RT_MOMENT1_PREFIX "%s", p);
    if (ir_graph_output(g, name, m_next) != 0) return -1;
    snprintf(name, sizeof name, RT_NEW_PREFIX RT_MOMENT2_PREFIX "%s", p);
    return ir_graph_output(g, name, v_next);
}

/* The surrogate loss of objectives.md on one batch holding data and negatives, x: [2B, D], with
 * weights w = +1/B for data and -1/B for negatives:
 *     loss = sum(w * E(sg(x))) + alpha / B * sum(E(sg(x))^2)
 * and its gradient with respect to every parameter: as outputs grad:<p> (the loss program), or, with
 * `update`, fed to Adam (the train program: one training step). */
static struct ir_graph *build_loss_graph(struct ebmc_model *m, int update, FILE *diag) {
    struct ir_graph *g = ir_graph_new();
    int64_t two_b = 2 * (int64_t)m->config.batch;
    int x = g ? model_input(m, g, two_b) : -1, w = x >= 0 ? ir_input(g, RT_IN_WEIGHT, 1, &two_b) : -1, e;
    if (w < 0 || fe_lower_energy(m->fe, g, ir_stop_grad(g, x), &e, diag) != 0) goto fail;
    int fit = ir_sum_all(g, ir_binary(g, IR_MUL, w, e));
    int reg = ir_sum_all(g, ir_unary(g, IR_SQUARE, e));
    int loss = ir_binary(g, IR_ADD, fit, ir_binary(g, IR_MUL, ir_const_like(g, m->config.alpha / m->config.batch, reg), reg));
    if (loss < 0 || ir_graph_output(g, RT_OUT_LOSS, loss) || ir_graph_output(g, RT_OUT_ENERGY, e)) goto fail;
    int64_t one = 1;
    int lr_t = update ? ir_input(g, RT_IN_LR, 1, &one) : 0;
    if (lr_t < 0) goto fail;
    for (int i = 0; i < fe_model_n_params(m->fe); i++) {
        const struct fe_param *p = fe_model_param(m->fe, i);
        int id = ir_graph_find_arg(g, p->name), grad;
        if (id < 0) continue; /* a parameter the energy never uses keeps a zero gradient and its value */
        char name[IR_NAME_LEN];
        snprintf(name, sizeof name, RT_GRAD_PREFIX "%s", p->name); /* fits: IR_PARAM_NAME_MAX */
        if (ad_grad(g, loss, -1, 1, &id, &grad) != 0) goto fail;
        if (update ? add_adam_update(g, &m->config, p->name, id, grad, lr_t) : ir_graph_output(g, name, grad)) goto fail;
    }
    return g;
fail:
    if (g) fail_graph(g, diag, "loss");
    ir_graph_free(g);
    return NULL;
}

/* ---- compilation ---- */

static void init_param(struct rt_param *p, const struct fe_param *fp, uint64_t seed, int index) {
    uint64_t stream = rng_stream(TAG_PARAM_INIT, (uint64_t)index, 0);
    double fan_in = fp->ndim >= 2 ? (double)fp->shape[fp->ndim - 2] : (double)fp->shape[0];
    double fan_out = (double)fp->shape[fp->ndim - 1];
    for (int64_t i = 0; i < p->numel; i++) {
        double v = 0;
        switch (fp->init) {
        case FE_INIT_ZEROS: v = 0; break;
        case FE_INIT_ONES: v = 1; break;
        case FE_INIT_NORMAL: v = fp->init_args[0] * rng_normal(seed, stream, (uint64_t)i); break;
        case FE_INIT_UNIFORM:
            v = fp->init_args[0] + (fp->init_args[1] - fp->init_args[0]) * rng_uniform(seed, stream, (uint64_t)i);
            break;
        case FE_INIT_XAVIER: {
            double bound = sqrt(6.0 / (fan_in + fan_out));
            v = bound * (2 * rng_uniform(seed, stream, (uint64_t)i) - 1);
            break;
        }
        }
        p->value[i] = (float)v;
    }
}

/* One ULA step on E for a batch of chains, with the settings' step size, noise scale and clipping:
 *     x_next = x - eta/2 clip(dE/dx) + tau sqrt(eta) noise
 * the same float operations, in the same order, as the host loop in runtime/sampler.c. */
static struct ir_graph *build_langevin_graph(struct ebmc_model *m, FILE *diag) {
    struct ir_graph *g = build_energy_graph(m, 1, diag);
    if (!g) return NULL;
    const struct train_config *c = &m->config;
    int x = ir_graph_find_arg(g, RT_IN_X), gx = g->outputs[ir_graph_find_output(g, RT_OUT_GRAD_X)].node;
    const struct ir_node *xn = ir_node_at(g, x);
    int noise = ir_input(g, RT_IN_NOISE, xn->ndim, xn->shape);
    if (c->grad_clip > 0) { /* g > c ? c : g < -c ? -c : g, as the host's clip: a NaN stays NaN */
        int hi = ir_const_like(g, c->grad_clip, gx), lo = ir_const_like(g, -c->grad_clip, gx);
        gx = ir_where(g, ir_binary(g, IR_GT, gx, hi), hi, ir_where(g, ir_binary(g, IR_LT, gx, lo), lo, gx));
    }
    int drift = ir_binary(g, IR_MUL, ir_const_like(g, 0.5 * c->step_size, gx), gx);
    int kick = ir_binary(g, IR_MUL, ir_const_like(g, c->noise_scale * sqrt(c->step_size), noise), noise);
    int next = ir_binary(g, IR_ADD, ir_binary(g, IR_SUB, x, drift), kick);
    /* the program's only output: the energy and dE/dx are not needed by ULA */
    g->n_outputs = 0;
    if (next < 0 || ir_graph_output(g, RT_OUT_X_NEXT, next) != 0) {
        fail_graph(g, diag, "langevin");
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

static struct ir_graph *build_program_graph(struct ebmc_model *m, enum program which, FILE *diag) {
    switch (which) {
    case PROGRAM_LOSS: return build_loss_graph(m, 0, diag);
    case PROGRAM_TRAIN: return build_loss_graph(m, 1, diag);
    case PROGRAM_LANGEVIN: return build_langevin_graph(m, diag);
    default: return build_energy_graph(m, which == PROGRAM_SAMPLER, diag);
    }
}

/* The program's graph after the default passes (what the JIT compiles). print_after: as
 * pass_run_pipeline, printing to out. Frees g. NULL after printing the reason. */
static struct ir_graph *optimize(struct ir_graph *g, const char *print_after, FILE *out, FILE *diag) {
    if (!g) return NULL;
    char err[512];
    struct ir_graph *o = pass_run_pipeline(g, PASS_DEFAULT_PIPELINE, print_after, out, err, sizeof err);
    if (!o) fprintf(diag, "error: %s\n", err);
    ir_graph_free(g);
    return o;
}

static int compile_program(struct ebmc_model *m, enum program which, struct rt_program *prog, FILE *diag) {
    char err[512];
    struct ir_graph *g = build_program_graph(m, which, diag);
    int nodes = g ? g->n_nodes : 0;
    if (!(g = optimize(g, NULL, NULL, diag))) return -1;
    struct jit_program *jit = jit_compile(g, NULL, err, sizeof err);
    int rc = -1;
    if (!jit) fprintf(diag, "error: JIT compilation failed: %s\n", err);
    else if (rt_program_bind(prog, &m->rt, g, jit, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        jit_free(jit);
    } else {
        m->compile_seconds += jit_compile_seconds(jit);
        m->stats[which] = (struct program_stats){nodes, g->n_nodes, *jit_get_stats(jit)};
        rc = 0;
    }
    ir_graph_free(g);
    return rc;
}

/* Whether the objective's chains are ULA on E itself (not a DCD posterior), which langevin runs. */
static int uses_langevin_program(const struct train_config *c) {
    return config_sampler(c) == SAMPLER_ULA && !objective_is_dcd(c->objective);
}

/* The loss program, which training does not run, when first asked for. */
static int compile_loss_program(struct ebmc_model *m, FILE *diag) {
    return m->rt.loss.jit ? 0 : compile_program(m, PROGRAM_LOSS, &m->rt.loss, diag);
}

/* bytes as "12.3 MiB" or "4.00 GiB". */
static const char *size_text(char *buf, size_t len, double bytes) {
    const double mib = 1024.0 * 1024.0;
    if (bytes < 1024 * mib) snprintf(buf, len, "%.1f MiB", bytes / mib);
    else snprintf(buf, len, "%.2f GiB", bytes / (1024 * mib));
    return buf;
}

/* What compiling and training m takes in memory, found before any of it is allocated: each parameter
 * four times (value, gradient, Adam's two moments), each compiled program's buffers (its arena) and its
 * batch inputs. In *bytes; with why, also what needs it. Returns 0, or -1 (reported) when a program
 * cannot be built. Sums in double: they cannot overflow, and their precision is plenty for a refusal. */
static int memory_needed(struct ebmc_model *m, double *bytes, char *why, size_t whylen, FILE *diag) {
    double params = 0, largest = 0, arenas = 0, inputs = 0;
    const char *largest_name = "";
    for (int i = 0; i < fe_model_n_params(m->fe); i++) {
        const struct fe_param *p = fe_model_param(m->fe, i);
        double b = 4.0 * sizeof(float);
        for (int d = 0; d < p->ndim; d++) b *= (double)p->shape[d];
        params += b;
        if (b > largest) largest = b, largest_name = p->name;
    }
    enum program used[] = {PROGRAM_ENERGY, PROGRAM_SAMPLER, PROGRAM_TRAIN, PROGRAM_LANGEVIN};
    int n_used = uses_langevin_program(&m->config) ? 4 : 3;
    for (int k = 0; k < n_used; k++) {
        struct ir_graph *g = optimize(build_program_graph(m, used[k], diag), NULL, NULL, diag);
        char err[256];
        int64_t arena = g ? jit_arena_bytes(g, err, sizeof err) : -1;
        if (g && arena < 0) fprintf(diag, "error: planning the %s program: %s\n", program_names[used[k]], err);
        for (int i = 0; g && i < g->n_nodes; i++) /* the moments were counted with the parameters */
            if (g->nodes[i].op == IR_INPUT && strncmp(g->nodes[i].name, RT_MOMENT1_PREFIX, 2) != 0 &&
                strncmp(g->nodes[i].name, RT_MOMENT2_PREFIX, 2) != 0)
                inputs += sizeof(float) * (double)ir_node_numel(&g->nodes[i]);
        ir_graph_free(g);
        if (arena < 0) return -1;
        arenas += (double)arena;
    }
    /* the host's chains: the PCD replay buffer and the samples drawn for samples.png */
    int64_t shape[IR_MAX_DIMS];
    fe_model_input_shape(m->fe, 1, shape);
    double dim = 1;
    for (int i = 1; i < fe_model_input_ndim(m->fe); i++) dim *= (double)shape[i];
    if (dim > INT32_MAX) {
        fprintf(diag, "error: a data point of this model has %.0f values; at most %d are supported\n", dim, INT32_MAX);
        return -1;
    }
    inputs += sizeof(float) * dim * ((m->config.objective == OBJ_PCD ? m->config.buffer_size : 0) + m->config.n_samples);
    *bytes = params + arenas + inputs;
    char a[32], b[32], c[32], d[32];
    snprintf(why, whylen,
             "parameters with their gradients and Adam moments %s (the largest, '%s', %s), program buffers %s "
             "and batch inputs and chains %s at batch %d",
             size_text(a, sizeof a, params), largest_name, size_text(b, sizeof b, largest),
             size_text(c, sizeof c, arenas), size_text(d, sizeof d, inputs), m->config.batch);
    return 0;
}

/* The machine's memory in bytes (0 if unknown). */
static double machine_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0;
}

int ebmc_compile(struct ebmc_model *m, FILE *diag) {
    if (m->compiled) return 0;
    char check[256];
    if (config_check(&m->config, check, sizeof check) != 0) {
        fprintf(diag, "error: %s\n", check);
        return -1;
    }
    double need, have = machine_memory();
    char why[512];
    if (memory_needed(m, &need, why, sizeof why, diag) != 0) return -1;
    if (have > 0 && need > have) {
        char a[32], b[32];
        fprintf(diag, "error: this model needs %s of memory, more than this machine's %s: %s\n",
                size_text(a, sizeof a, need), size_text(b, sizeof b, have), why);
        return -1;
    }
    struct rt_model *rt = &m->rt;
    int64_t shape[IR_MAX_DIMS];
    fe_model_input_shape(m->fe, 1, shape);
    rt->dim = 1;
    for (int i = 1; i < fe_model_input_ndim(m->fe); i++) rt->dim *= (int)shape[i];
    rt->batch = m->config.batch;
    rt->threads = m->config.threads > 0 ? m->config.threads : omp_get_max_threads();
    /* Host-side OpenMP loops (noise, evaluation) then use the same team size as the compiled programs. */
    if (m->config.threads > 0) omp_set_num_threads(m->config.threads);
    for (int i = 0; i < fe_model_n_params(m->fe); i++) {
        const struct fe_param *p = fe_model_param(m->fe, i);
        int k = rt_model_add_param(rt, p->name, p->ndim, p->shape);
        if (k < 0) {
            fprintf(diag, "error: out of memory allocating parameter '%s'\n", p->name);
            return -1;
        }
        init_param(&rt->params[k], p, m->config.seed, i);
    }
    if (compile_program(m, PROGRAM_ENERGY, &rt->energy, diag) || compile_program(m, PROGRAM_SAMPLER, &rt->energy_grad, diag) ||
        compile_program(m, PROGRAM_TRAIN, &rt->train, diag) ||
        (uses_langevin_program(&m->config) && compile_program(m, PROGRAM_LANGEVIN, &rt->langevin, diag))) {
        rt_model_free(rt);
        return -1;
    }
    m->compiled = 1;
    return 0;
}

/* ---- inspection ---- */

/* Stages in pipeline order; those past "grad" look at one program after the default passes. */
static const char *const stages[] = {"ast",        "graph", "grad", "opt", "fused", "kernels",
                                     "llvm-unopt", "llvm",  "asm",  "dot", "profile"};
enum { STAGE_AST, STAGE_GRAPH, STAGE_GRAD, STAGE_OPT, STAGE_FUSED, STAGE_KERNELS, STAGE_LLVM_UNOPT, STAGE_LLVM, STAGE_ASM,
       STAGE_DOT, STAGE_PROFILE, N_STAGES };

const char *ebmc_emit_stages(void) { return "ast, graph, grad, opt, fused, kernels, llvm-unopt, llvm, asm, dot, profile"; }

static int find_name(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

static int emit_optimized(struct ebmc_model *m, int stage, enum program which, const char *print_after, FILE *out,
                          FILE *diag) {
    struct ir_graph *g = build_program_graph(m, which, diag);
    int nodes = g ? g->n_nodes : 0;
    if (!(g = optimize(g, print_after, out, diag))) return -1;
    char err[512];
    int rc = 0;
    switch (stage) {
    case STAGE_OPT:
        fprintf(out, "; %s program after %s: %d nodes (%d before)\n", program_names[which], PASS_DEFAULT_PIPELINE,
                g->n_nodes, nodes);
        ir_print(g, out);
        break;
    case STAGE_FUSED: rc = jit_print_plan(g, JIT_PLAN_FUSED, out, err, sizeof err); break;
    case STAGE_KERNELS: rc = jit_print_plan(g, JIT_PLAN_KERNELS, out, err, sizeof err); break;
    case STAGE_DOT: rc = jit_print_plan(g, JIT_PLAN_DOT, out, err, sizeof err); break;
    case STAGE_PROFILE: rc = jit_print_plan(g, JIT_PLAN_PROFILE, out, err, sizeof err); break;
    case STAGE_LLVM_UNOPT: rc = jit_print_code(g, JIT_CODE_LLVM_UNOPT, out, err, sizeof err); break;
    case STAGE_LLVM: rc = jit_print_code(g, JIT_CODE_LLVM, out, err, sizeof err); break;
    case STAGE_ASM: rc = jit_print_code(g, JIT_CODE_ASM, out, err, sizeof err); break;
    default: break; /* print_after only */
    }
    if (rc) fprintf(diag, "error: %s\n", err);
    ir_graph_free(g);
    return rc;
}

int ebmc_emit(struct ebmc_model *m, const char *stage, const char *program, const char *print_after, FILE *out,
              FILE *diag) {
    int which = stage ? find_name(stages, N_STAGES, stage) : N_STAGES;
    int prog = program ? find_name(program_names, N_PROGRAMS, program) : PROGRAM_TRAIN;
    if (which < 0) {
        fprintf(diag, "error: unknown stage '%s' (have: %s)\n", stage, ebmc_emit_stages());
        return -1;
    }
    if (prog < 0) {
        fprintf(diag, "error: unknown program '%s' (have: energy, sampler, loss, train, langevin)\n", program);
        return -1;
    }
    if (which == STAGE_AST) {
        fe_print_ast(m->fe, out);
        return 0;
    }
    if (which >= STAGE_OPT) return emit_optimized(m, which, (enum program)prog, print_after, out, diag);
    struct ir_graph *g = NULL;
    if (which == STAGE_GRAPH) {
        if (!(g = build_energy_graph(m, 0, diag))) return -1;
        fprintf(out, "; energy(x) at batch %d\n", m->config.batch);
        ir_print(g, out);
    } else {
        if (!(g = build_energy_graph(m, 1, diag))) return -1;
        fprintf(out, "; sampler program: energy and dE/dx at batch %d\n", m->config.batch);
        ir_print(g, out);
        ir_graph_free(g);
        if (!(g = build_loss_graph(m, 0, diag))) return -1;
        fprintf(out, "\n; loss program: surrogate loss and parameter gradients, data and negatives as one [2B] batch "
                     "(--program=train adds the Adam update)\n");
        ir_print(g, out);
    }
    ir_graph_free(g);
    return 0;
}

static void print_bytes(FILE *out, int64_t bytes) { fprintf(out, " %9.2f MiB", (double)bytes / (1024.0 * 1024.0)); }

int ebmc_print_stats(struct ebmc_model *m, FILE *out, FILE *diag) {
    if (ebmc_compile(m, diag) != 0 || compile_loss_program(m, diag) != 0) return -1;
    fprintf(out, "program   batch  nodes  after-passes  kernels-unfused  kernels-fused  buffers-unplanned  "
                 "buffers-planned  compile\n");
    for (int i = 0; i < N_PROGRAMS; i++) {
        const struct program_stats *s = &m->stats[i];
        if (s->nodes == 0) {
            fprintf(out, "%-8s (not used: the objective's chains are not ULA on E)\n", program_names[i]);
            continue;
        }
        fprintf(out, "%-8s %6d %6d %13d %16d %14d    ", program_names[i],
                i == PROGRAM_LOSS || i == PROGRAM_TRAIN ? 2 * m->config.batch : m->config.batch, s->nodes, s->nodes_optimized,
                s->jit.n_kernels_unfused, s->jit.n_kernels);
        print_bytes(out, s->jit.bytes_unplanned);
        fprintf(out, "    ");
        print_bytes(out, s->jit.bytes);
        fprintf(out, " %7.3f s\n", s->jit.compile_seconds);
    }
    double need;
    char why[512];
    if (memory_needed(m, &need, why, sizeof why, diag) != 0) return -1;
    char a[32], b[32];
    fprintf(out, "memory: %s in all (this machine has %s): %s\n", size_text(a, sizeof a, need),
            size_text(b, sizeof b, machine_memory()), why);
    return 0;
}

/* ---- ahead of time ---- */

static const char *const program_purpose[N_PROGRAMS] = {
    "E(x) for a batch of points",
    "E(x) and dE/dx for a batch of points: the Langevin drift of every sampler",
    "the surrogate loss on data and negatives as one [2B] batch (in:w = +1/B for data, -1/B for\n"
    " * negatives), loss = sum(w E) + alpha/B sum(E^2), and its gradient grad:<p> for every parameter",
    "one training step: the loss program's gradients fed to Adam with the model's betas and eps = 1e-8,\n"
    " * in:lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t) at step t = 1, 2, ...; m:<p> and v:<p> are the moments\n"
    " * (zeros at first). Outputs new:<p>, new:m:<p>, new:v:<p> are the updated values: copy them back",
    "one unadjusted Langevin step on E for a batch of chains with the model's settings:\n"
    " * x_next = x - eta/2 clip(dE/dx) + tau sqrt(eta) noise, noise standard normal"};

static void print_tensor_list(FILE *h, const char *what, const struct ir_graph *g, int n, const int *ids,
                              const char *const *names) {
    fprintf(h, " *   %s:\n", what);
    for (int i = 0; i < n; i++) {
        const struct ir_node *x = ir_node_at(g, ids[i]);
        fprintf(h, " *     %2d  %-20s ", i, names ? names[i] : x->name);
        ir_print_shape(h, x->ndim, x->shape);
        fputc('\n', h);
    }
}

static int write_header(struct ebmc_model *m, const char *path, const char *name, struct ir_graph **graphs,
                        FILE *diag) {
    FILE *h = fopen(path, "w");
    if (!h) {
        fprintf(diag, "error: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    char guard[128];
    snprintf(guard, sizeof guard, "%s", name);
    for (char *c = guard; *c; c++) *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    fprintf(h, "/* Generated by ebmc %s (`ebmc compile ... -o OBJECT --header %s`): the programs of one model,\n"
               " * compiled ahead of time for the CPU that ran ebmc, at batch B = %d. Link the object file with\n"
               " * libebmc_run.a and run the programs through include/ebmc_aot.h. Buffers are row-major floats. */\n",
            EBMC_VERSION, path, m->config.batch);
    fprintf(h, "#ifndef %s_AOT_H\n#define %s_AOT_H\n\n#include \"ebmc_aot.h\"\n\n", guard, guard);
    fprintf(h, "#define %s_BATCH %d\n#define %s_DIM %d\n", guard, m->config.batch, guard, m->rt.dim);
    /* The train program has the betas built in; in:lr_t must use the same ones. */
    fprintf(h, "/* Adam, as the train program was compiled: in:lr_t = LR sqrt(1 - BETA2^t) / (1 - BETA1^t) */\n");
    fprintf(h, "#define %s_LR %.15g\n#define %s_BETA1 %.15g\n#define %s_BETA2 %.15g\n\n", guard, m->config.lr, guard,
            m->config.beta1, guard, m->config.beta2);
    for (int p = 0; p < N_PROGRAMS; p++) {
        const struct ir_graph *g = graphs[p];
        int n_args = ir_graph_args(g, NULL);
        int *ids = malloc(sizeof(int) * ((size_t)(n_args > g->n_outputs ? n_args : g->n_outputs) + 1));
        const char **names = malloc(sizeof(char *) * ((size_t)g->n_outputs + 1));
        if (!ids || !names) {
            free(ids), free(names);
            fclose(h);
            fprintf(diag, "error: out of memory\n");
            return -1;
        }
        fprintf(h, "/* %s_%s: %s.\n", name, program_names[p], program_purpose[p]);
        ir_graph_args(g, ids);
        print_tensor_list(h, "arguments (args[i])", g, n_args, ids, NULL);
        for (int i = 0; i < g->n_outputs; i++) ids[i] = g->outputs[i].node, names[i] = g->outputs[i].name;
        print_tensor_list(h, "outputs (outs[i])", g, g->n_outputs, ids, names);
        fprintf(h, " */\nextern const struct ebmc_aot_program %s_%s;\n\n", name, program_names[p]);
        free(ids), free(names);
    }
    fprintf(h, "#endif\n");
    if (fclose(h) != 0) {
        fprintf(diag, "error: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int ebmc_compile_object(struct ebmc_model *m, const char *object_path, const char *header_path, const char *name,
                        FILE *diag) {
    int ok = name[0] && strlen(name) <= 64 && !(name[0] >= '0' && name[0] <= '9');
    for (const char *c = name; *c; c++)
        ok &= *c == '_' || ((*c | 32) >= 'a' && (*c | 32) <= 'z') || (*c >= '0' && *c <= '9');
    if (!ok) {
        fprintf(diag, "error: '%s' is not a C identifier of at most 64 characters (give --name)\n", name);
        return -1;
    }
    if (ebmc_compile(m, diag) != 0) return -1; /* checks the settings and fixes D */
    struct ir_graph *graphs[N_PROGRAMS] = {NULL};
    char symbols[N_PROGRAMS][96];
    const char *symbol_ptrs[N_PROGRAMS];
    int rc = 0;
    for (int p = 0; p < N_PROGRAMS && rc == 0; p++) {
        snprintf(symbols[p], sizeof symbols[p], "%s_%s", name, program_names[p]);
        symbol_ptrs[p] = symbols[p];
        if (!(graphs[p] = optimize(build_program_graph(m, (enum program)p, diag), NULL, NULL, diag))) rc = -1;
    }
    char err[512];
    if (rc == 0 && jit_emit_object(N_PROGRAMS, (const struct ir_graph *const *)graphs, symbol_ptrs, object_path, err,
                                   sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        rc = -1;
    }
    if (rc == 0 && header_path) rc = write_header(m, header_path, name, graphs, diag);
    for (int p = 0; p < N_PROGRAMS; p++) ir_graph_free(graphs[p]);
    return rc;
}

/* ---- running ---- */

/* Writes path atomically (temporary file, rename): text, or the settings when text is NULL. */
static int write_run_file(const struct ebmc_model *m, const char *path, const char *text, FILE *diag) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(diag, "error: %s: cannot write: %s\n", tmp, strerror(errno));
        return -1;
    }
    if (text) fputs(text, f);
    else config_print(&m->config, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(diag, "error: %s: cannot write: %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* model.ebm and config.txt: with model.ckpt, all `ebmc train --resume` needs. */
static int write_run_description(const struct ebmc_model *m, const char *out_dir, FILE *diag) {
    char path[4096];
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(diag, "error: %s: cannot create directory: %s\n", out_dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/model.ebm", out_dir);
    if (write_run_file(m, path, m->source, diag) != 0) return -1;
    snprintf(path, sizeof path, "%s/config.txt", out_dir);
    return write_run_file(m, path, NULL, diag);
}

static int run_training(struct ebmc_model *m, const char *out_dir, FILE *progress, FILE *diag, struct ebmc_result *r,
                        struct run_state *resume, int64_t start) {
    struct train_summary s;
    struct train_io io = {out_dir, fe_model_filename(m->fe), progress, 0};
    if (progress) io.is_tty = isatty(fileno(progress));
    if (out_dir && write_run_description(m, out_dir, diag) != 0) return -1;
    int rc = train_run(&m->rt, &m->config, &io, resume, start, &s);
    m->rt_step = resume ? s.steps_done : m->rt_step + s.steps_done;
    if (r) {
        memset(r, 0, sizeof *r);
        r->steps_done = s.steps_done;
        r->steps_start = s.steps_start;
        r->seconds = s.seconds;
        r->steps_per_sec = s.steps_per_sec;
        r->nll_start = s.nll_start;
        r->nll = s.nll;
        r->tv = s.tv;
        r->mmd2 = s.mmd2;
        r->acceptance = s.acceptance;
        r->compile_seconds = m->compile_seconds;
        r->diverged = s.diverged;
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) r->peak_rss_mib = (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is KiB */
    }
    if (rc != 0) fprintf(diag, "error: %s\n", s.message);
    return rc;
}

int ebmc_train(struct ebmc_model *m, const char *out_dir, FILE *progress, FILE *diag, struct ebmc_result *r) {
    if (!m->compiled && ebmc_compile(m, diag) != 0) return -1;
    return run_training(m, out_dir, progress, diag, r, NULL, 0);
}

struct ebmc_model *ebmc_load_run(const char *run_dir, FILE *diag) {
    char path[4096];
    struct stat st;
    if (stat(run_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(diag, "error: %s: no such run folder\n", run_dir);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/model.ebm", run_dir);
    if (access(path, R_OK) != 0) {
        fprintf(diag, "error: %s: not a run folder (no model.ebm; 'ebmc train --out %s' writes one)\n", run_dir,
                run_dir);
        return NULL;
    }
    struct ebmc_model *m = ebmc_load(path, diag);
    if (!m) return NULL;
    /* config.txt holds every effective setting, so it overrides the train block completely. */
    snprintf(path, sizeof path, "%s/config.txt", run_dir);
    char *text = read_text(path);
    if (!text) {
        fprintf(diag, "error: %s: cannot read: %s\n", path, strerror(errno));
        ebmc_free(m);
        return NULL;
    }
    int line_no = 0, rc = 0;
    for (char *line = text, *next; rc == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        char *eq = strstr(line, " = ");
        if (!*line) continue;
        if (!eq) {
            fprintf(diag, "error: %s:%d: expected 'key = value'\n", path, line_no);
            rc = -1;
            break;
        }
        *eq = 0;
        char err[256];
        if (config_set(&m->config, line, eq + 3, err, sizeof err) != 0) {
            fprintf(diag, "error: %s:%d: %s\n", path, line_no, err);
            rc = -1;
        }
    }
    free(text);
    if (rc != 0) {
        ebmc_free(m);
        return NULL;
    }
    return m;
}

int ebmc_resume(struct ebmc_model *m, const char *run_dir, FILE *progress, FILE *diag, struct ebmc_result *r) {
    if (!m->compiled && ebmc_compile(m, diag) != 0) return -1;
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/model.ckpt", run_dir);
    struct run_state rs;
    int64_t start;
    if (checkpoint_load_state(&m->rt, &start, &rs, path, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    m->rt_step = start;
    int rc = run_training(m, run_dir, progress, diag, r, &rs, start);
    replay_buffer_free(&rs.pcd);
    return rc;
}

int ebmc_save(const struct ebmc_model *m, const char *path, FILE *diag) {
    char err[512];
    if (!m->compiled) {
        fprintf(diag, "error: %s: compile the model before saving it\n", path);
        return -1;
    }
    if (checkpoint_save(&m->rt, m->rt_step, path, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    return 0;
}

int ebmc_restore(struct ebmc_model *m, const char *path, FILE *diag) {
    char err[512];
    if (!m->compiled) {
        fprintf(diag, "error: %s: compile the model before restoring into it\n", path);
        return -1;
    }
    if (checkpoint_load(&m->rt, &m->rt_step, path, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    return 0;
}

int ebmc_energy(struct ebmc_model *m, const float *x, float *energy, int64_t n) {
    if (!m->compiled || n < 0) return -1;
    return model_energy(&m->rt, x, energy, NULL, (size_t)n);
}

int ebmc_energy_grad(struct ebmc_model *m, const float *x, float *energy, float *grad, int64_t n) {
    if (!m->compiled || n < 0) return -1;
    return model_energy(&m->rt, x, energy, grad, (size_t)n);
}


/* The data box sr-cd and pcd draw starting noise over; outside a 2-D data set use [-4, 4]. */
static float data_half_width(const struct ebmc_model *m) {
    int kind = data2d_from_name(m->config.data);
    return kind >= 0 ? data2d_half_width((enum data2d_kind)kind) : 4.0f;
}

static int step_buffers(struct ebmc_model *m) {
    if (!m->compiled) return -1;
    return m->step.xall || train_step_init(&m->step, &m->rt) == 0 ? 0 : -1;
}

/* x and xneg into the step's [2B, D] batch. */
static void set_batch(struct ebmc_model *m, const float *x, const float *xneg) {
    size_t n = (size_t)m->rt.batch * (size_t)m->rt.dim;
    memcpy(m->step.xall, x, n * sizeof(float));
    memcpy(m->step.xall + n, xneg, n * sizeof(float));
}

int ebmc_negatives(struct ebmc_model *m, const float *x, int64_t step, float *xneg) {
    if (step_buffers(m) != 0 || train_step_negatives(&m->rt, &m->config, &m->step, x, data_half_width(m), step) != 0)
        return -1;
    size_t n = (size_t)m->rt.batch * (size_t)m->rt.dim;
    memcpy(xneg, m->step.xall + n, n * sizeof(float));
    return 0;
}

int ebmc_loss(struct ebmc_model *m, const float *x, const float *xneg, double *loss) {
    if (step_buffers(m) != 0 || compile_loss_program(m, stderr) != 0) return -1;
    set_batch(m, x, xneg);
    train_step_loss(&m->rt, &m->step, loss);
    return 0;
}

int ebmc_step(struct ebmc_model *m, const float *x, const float *xneg, int64_t t, double *loss) {
    if (t < 1 || step_buffers(m) != 0) return -1;
    set_batch(m, x, xneg);
    if (!train_step_update(&m->rt, &m->config, &m->step, t, loss)) return 0;
    m->rt_step = t;
    return 1;
}

const float *ebmc_replay_buffer(const struct ebmc_model *m, int64_t *n) {
    *n = m->step.pcd.x ? m->step.pcd.n : 0;
    return m->step.pcd.x;
}

int ebmc_gradients(struct ebmc_model *m, const float *x, int64_t step, double *loss) {
    if (step_buffers(m) != 0 || compile_loss_program(m, stderr) != 0) return -1;
    return train_step_gradients(&m->rt, &m->config, &m->step, x, data_half_width(m), step, loss);
}

double ebmc_acceptance(const struct ebmc_model *m) {
    const struct chain_stats *c = &m->step.chains;
    return c->proposed ? (double)c->accepted / (double)c->proposed : 0.0;
}

int ebmc_n_params(const struct ebmc_model *m) { return m->compiled ? m->rt.n_params : 0; }
const char *ebmc_param_name(const struct ebmc_model *m, int i) { return m->rt.params[i].name; }
int64_t ebmc_param_numel(const struct ebmc_model *m, int i) { return m->rt.params[i].numel; }
float *ebmc_param_data(struct ebmc_model *m, int i) { return m->rt.params[i].value; }
const float *ebmc_param_grad(const struct ebmc_model *m, int i) { return m->rt.params[i].grad; }
float *ebmc_param_moment(struct ebmc_model *m, int i, int which) {
    return which == 1 ? m->rt.params[i].adam_m : which == 2 ? m->rt.params[i].adam_v : NULL;
}

/* ---- saved runs: samples and metrics ---- */

int ebmc_sample(struct ebmc_model *m, int64_t n, int steps, float *out) {
    if (!m->compiled || n < 0) return -1;
    return model_samples(&m->rt, &m->config, steps < 0 ? m->config.sample_steps : steps, data_half_width(m), out,
                         (size_t)n);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int ebmc_write_samples(struct ebmc_model *m, int64_t n, int steps, const char *path, FILE *diag) {
    int png = ends_with(path, ".png"), csv = ends_with(path, ".csv");
    if (!png && !csv) {
        fprintf(diag, "error: %s: unknown output type (use FILE.png for a scatter plot or FILE.csv for x,y lines)\n",
                path);
        return -1;
    }
    if (!m->compiled || m->rt.dim != 2) {
        fprintf(diag, "error: %s: samples are written for compiled models of 2-D points\n", path);
        return -1;
    }
    if (n < 1) {
        fprintf(diag, "error: %s: the number of samples must be at least 1\n", path);
        return -1;
    }
    float *xy = malloc(sizeof(float) * 2 * (size_t)n);
    if (!xy || ebmc_sample(m, n, steps, xy) != 0) {
        fprintf(diag, "error: out of memory drawing %lld samples\n", (long long)n);
        free(xy);
        return -1;
    }
    int rc = 0;
    if (csv) {
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(diag, "error: %s: cannot write: %s\n", path, strerror(errno));
            free(xy);
            return -1;
        }
        fprintf(f, "x,y\n");
        for (int64_t i = 0; i < n; i++) fprintf(f, "%.9g,%.9g\n", xy[2 * i], xy[2 * i + 1]);
        if (fclose(f) != 0) {
            fprintf(diag, "error: %s: write failed: %s\n", path, strerror(errno));
            rc = -1;
        }
    } else {
        int panel = 480, pad = 20, title = 28;
        struct canvas cv = {0};
        char err[512], label[160];
        if (canvas_init(&cv, panel + 2 * pad, panel + pad + title, 255, 255, 255) != 0) {
            fprintf(diag, "error: out of memory drawing %s\n", path);
            free(xy);
            return -1;
        }
        plot_rect(&cv, pad, title, panel, panel, 242, 242, 242);
        plot_scatter(&cv, pad, title, panel, xy, (size_t)n, data_half_width(m), 200, 60, 40);
        snprintf(label, sizeof label, "%lld samples, %d MALA steps", (long long)n,
                 steps < 0 ? m->config.sample_steps : steps);
        plot_text(&cv, pad, 8, label, 2, 0, 0, 0);
        if (png_write(&cv, path, err, sizeof err) != 0) {
            fprintf(diag, "error: %s\n", err);
            rc = -1;
        }
        canvas_free(&cv);
    }
    free(xy);
    return rc;
}

int ebmc_evaluate(struct ebmc_model *m, struct ebmc_metrics *e, FILE *diag) {
    if (!m->compiled) {
        fprintf(diag, "error: compile the model before evaluating it\n");
        return -1;
    }
    if (data2d_from_name(m->config.data) < 0 || m->rt.dim != 2) {
        fprintf(diag, "error: evaluation needs a 2-D data set and a model of 2-D points\n");
        return -1;
    }
    memset(e, 0, sizeof *e);
    e->step = m->rt_step;
    if (train_evaluate(&m->rt, &m->config, &e->nll, &e->tv, &e->mmd2) != 0) {
        fprintf(diag, "error: out of memory evaluating the model\n");
        return -1;
    }
    return 0;
}
