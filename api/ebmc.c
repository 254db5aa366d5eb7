/* ebmc.c: the public API: ties the frontend, autodiff, the JIT and the runtime together. */
#include "ebmc.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "checkpoint.h"
#include "classify.h"
#include "config.h"
#include "data.h"
#include "fcd.h"
#include "run_report.h"
#include "frontend.h"
#include "jit.h"
#include "model.h"
#include "parallel.h"
#include "pass.h"
#include "programs.h"
#include "restore.h"
#include "sampler.h"
#include "rng.h"
#include "run_dir.h"
#include "init.h"
#include "support.h"
#include "train.h"

/* The programs a model compiles to, as --program names them. Training runs train (the loss's gradients
 * fed to Adam) and, when the objective's chains are ULA on E, langevin (one ULA step); loss (the loss and
 * its gradients, for inspection and checks) is compiled when first asked for. */

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
    struct data_source data; /* opened when first needed (model_data) */
    int has_data;
    struct progress_line {   /* ebmc_set_progress */
        FILE *out;
        int tty, tenths;     /* tenths: of the current piece of work, printed */
        double t0;           /* when the current piece of work started */
    } progress;
};

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

static struct ebmc_model *keep_source(struct ebmc_model *m, char *source, const char *err, FILE *diag) {
    if (m && !source) {
        fprintf(diag, "error: %s\n", err);
        ebmc_free(m);
        return NULL;
    }
    if (m) m->source = source;
    else free(source);
    return m;
}

struct ebmc_model *ebmc_load(const char *path, FILE *diag) {
    struct ebmc_model *m = wrap(fe_parse_file(path, diag), diag);
    char err[4400];
    return m ? keep_source(m, file_read_all(path, 0, NULL, err, sizeof err), err, diag) : NULL;
}

struct ebmc_model *ebmc_load_string(const char *source, const char *filename, FILE *diag) {
    struct ebmc_model *m = wrap(fe_parse_string(source, filename, diag), diag);
    return m ? keep_source(m, strdup(source), "out of memory", diag) : NULL;
}

void ebmc_free(struct ebmc_model *m) {
    if (!m) return;
    if (m->has_data) data_close(&m->data);
    train_step_free(&m->step);
    rt_model_free(&m->rt);
    fe_model_free(m->fe);
    free(m->source);
    free(m);
}

static void print_progress(void *ctx, size_t done, size_t total) {
    struct progress_line *p = ctx;
    double now = clock_seconds(), spent = now - p->t0, eta = done ? spent * (double)(total - done) / (double)done : 0;
    int tenths = total ? (int)(10 * done / total) : 10;
    if (p->tty) {
        fprintf(p->out, "\r  %zu/%zu chains done, %.0f s, ETA %.0f s ", done, total, spent, eta);
        if (done == total) fputc('\n', p->out);
    } else if (tenths > p->tenths) {
        fprintf(p->out, "  %zu/%zu chains done, %.0f s, ETA %.0f s\n", done, total, spent, eta);
    }
    fflush(p->out);
    p->tenths = tenths;
    if (done == total) p->t0 = now, p->tenths = 0; /* the next piece of work starts now */
}

void ebmc_set_progress(struct ebmc_model *m, FILE *out) {
    m->progress = (struct progress_line){out, out && isatty(fileno(out)), 0, clock_seconds()};
    m->rt.progress = out ? print_progress : NULL;
    m->rt.progress_ctx = &m->progress;
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

struct lower_ctx {
    const struct fe_model *fe;
    FILE *diag;
};

static int lower_energy(void *ctx, struct ir_graph *g, const int *inputs, int *energy) {
    const struct lower_ctx *l = ctx;
    return fe_lower_energy_inputs(l->fe, g, inputs, energy, l->diag);
}

/* A classifier's penultimate features: the model's function named so (docs/dsl.md). */
#define FEATURES_FUNCTION "features"
static int lower_features(void *ctx, struct ir_graph *g, const int *inputs, int *features) {
    const struct lower_ctx *l = ctx;
    return fe_lower_function_inputs(l->fe, FEATURES_FUNCTION, g, inputs, features, l->diag);
}

/* The energy's conditioning arguments become program inputs in:<name>, beside the runtime's own. */
static int check_cond_names(const struct ebmc_model *m, FILE *diag) {
    static const char *const reserved[] = {"x", "w", "noise", "lr_t"};
    for (int k = 1; k < fe_model_n_inputs(m->fe); k++) {
        char name[IR_NAME_LEN];
        int64_t shape[IR_MAX_DIMS];
        fe_model_input_at(m->fe, k, name, 1, shape);
        for (size_t r = 0; r < sizeof reserved / sizeof *reserved; r++)
            if (strcmp(name, reserved[r]) == 0) {
                fprintf(diag, "error: the energy's argument '%s' has a name the runtime's programs use; rename it\n",
                        name);
                return -1;
            }
    }
    return 0;
}

/* The program's graph from the model's energy and settings (runtime/objectives/programs.h). */
static struct ir_graph *build_program_graph(struct ebmc_model *m, enum program which, FILE *diag) {
    struct lower_ctx ctx = {m->fe, diag};
    if (check_cond_names(m, diag) != 0) return NULL;
    int n = fe_model_n_params(m->fe);
    const char **params = malloc(sizeof *params * (size_t)(n > 0 ? n : 1));
    if (!params) {
        fprintf(diag, "error: out of memory\n");
        return NULL;
    }
    for (int i = 0; i < n; i++) params[i] = fe_model_param(m->fe, i)->name;
    struct energy_fn e = {.lower = lower_energy, .ctx = &ctx, .ndim = fe_model_input_ndim(m->fe), .n_params = n,
                          .params = params, .n_classes = fe_model_n_classes(m->fe)};
    if (fe_model_find_function(m->fe, FEATURES_FUNCTION) >= 0) e.lower_features = lower_features;
    fe_model_input_shape(m->fe, 1, e.shape);
    e.n_cond = fe_model_n_inputs(m->fe) - 1; /* ebmc_compile allowed at most ENERGY_MAX_COND */
    for (int k = 0; k < e.n_cond && k < ENERGY_MAX_COND; k++) {
        char name[IR_NAME_LEN];
        e.cond[k].ndim = fe_model_input_at(m->fe, 1 + k, name, 1, e.cond[k].shape);
        snprintf(e.cond[k].name, sizeof e.cond[k].name, RT_IN_PREFIX "%.60s", name);
    }
    char err[512];
    /* Programs run on this rank's share of the batch: all of it alone (parallel.h). */
    struct train_config *c = malloc(sizeof *c);
    if (!c) {
        fprintf(diag, "error: out of memory\n");
        free(params);
        return NULL;
    }
    *c = m->config;
    c->batch = m->config.batch / parallel_size();
    struct ir_graph *g = which == PROGRAM_ADAM       ? program_build_adam(&e, c, err, sizeof err)
                         : which == PROGRAM_FEATURES ? program_build_features(&e, c, err, sizeof err)
                                                     : program_build(which, &e, c, err, sizeof err);
    free(c);
    if (!g) fprintf(diag, "error: %s\n", err);
    free(params);
    return g;
}

/* ---- compilation ---- */

/* The DSL's initializer as runtime/init.h draws it. */
static struct init_spec init_spec_of(const struct fe_param *p) {
    static const enum init_kind kinds[] = {
        [FE_INIT_ZEROS] = INIT_ZEROS,   [FE_INIT_ONES] = INIT_ONES,     [FE_INIT_NORMAL] = INIT_NORMAL,
        [FE_INIT_UNIFORM] = INIT_UNIFORM, [FE_INIT_XAVIER] = INIT_XAVIER, [FE_INIT_KAIMING_UNIFORM] = INIT_KAIMING_UNIFORM,
    };
    return (struct init_spec){kinds[p->init], {p->init_args[0], p->init_args[1]}};
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

/* One program to compile: its graph after the passes, then its compiled kernels. */
struct pending {
    enum program which;
    struct rt_program *prog;
    struct ir_graph *g;
    int nodes; /* before the passes */
    struct jit_program *jit;
    char err[512];
};

/* Compiles the n programs in p: the graphs one after another (the frontend is not thread-safe), then
 * their kernels together on m->rt.threads threads (jit_compile_all), then binds them in order. Returns 0,
 * or -1 after printing the first failure. */
static int compile_programs(struct ebmc_model *m, struct pending *p, int n, FILE *diag) {
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        p[i].g = build_program_graph(m, p[i].which, diag);
        p[i].nodes = p[i].g ? p[i].g->n_nodes : 0;
        if (!(p[i].g = optimize(p[i].g, NULL, NULL, diag))) rc = -1;
    }
    int jit = rc == 0 && m->config.backend != BACKEND_INTERP; /* the interpreter runs the graphs themselves */
    struct jit_request *r = jit ? calloc((size_t)n, sizeof *r) : NULL;
    if (jit && !r) {
        fprintf(diag, "error: out of memory\n");
        rc = -1;
    } else if (r) {
        for (int i = 0; i < n; i++) r[i].g = p[i].g;
        double t0 = clock_seconds();
        jit_compile_all(r, n, m->rt.threads);
        m->compile_seconds += clock_seconds() - t0; /* the wall time, not the programs' sum */
        for (int i = 0; i < n; i++) {
            p[i].jit = r[i].program;
            snprintf(p[i].err, sizeof p[i].err, "%s", r[i].err);
        }
        free(r);
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0 && jit && !p[i].jit) {
            fprintf(diag, "error: JIT compilation failed: %s\n", p[i].err);
            rc = -1;
        } else if (rc == 0 && rt_program_bind(p[i].prog, &m->rt, p[i].g, p[i].jit, p[i].err, sizeof p[i].err) != 0) {
            fprintf(diag, "error: %s\n", p[i].err);
            rc = -1;
        } else if (rc == 0) { /* the program owns g and jit now */
            if (p[i].which < N_PROGRAMS)
                m->stats[p[i].which] = (struct program_stats){p[i].nodes, p[i].g->n_nodes,
                                                              p[i].jit ? *jit_get_stats(p[i].jit) : (struct jit_stats){0}};
            if (p[i].jit) ir_graph_free(p[i].g); /* compiled kernels do not need the graph */
            continue;
        }
        jit_free(p[i].jit);
        ir_graph_free(p[i].g);
    }
    return rc;
}

static int compile_program(struct ebmc_model *m, enum program which, struct rt_program *prog, FILE *diag) {
    struct pending p = {.which = which, .prog = prog};
    return compile_programs(m, &p, 1, diag);
}

/* The loss program, which training does not run, when first asked for. */
static int compile_loss_program(struct ebmc_model *m, FILE *diag) {
    return rt_program_ready(&m->rt.loss) ? 0 : compile_program(m, PROGRAM_LOSS, &m->rt.loss, diag);
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
    for (int k = 0; k < N_PROGRAMS; k++) {
        if (!program_used_in_training((enum program)k, &m->config)) continue;
        struct ir_graph *g = optimize(build_program_graph(m, (enum program)k, diag), NULL, NULL, diag);
        char err[256];
        int64_t arena = g ? jit_arena_bytes(g, err, sizeof err) : -1;
        if (g && arena < 0) fprintf(diag, "error: planning the %s program: %s\n", program_names[k], err);
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

/* What compiling checks before it allocates anything: the combination of settings, and that the
 * buffers fit in the machine's memory. ebmc_check runs it too, so check refuses what train would. */
static int check_before_compiling(struct ebmc_model *m, FILE *diag) {
    char check[256];
    if (config_check(&m->config, check, sizeof check) != 0) {
        fprintf(diag, "error: %s\n", check);
        return -1;
    }
    /* What the runtime trains: E(x), or E(x, t) with a level t: [B] on a time objective's ladder. */
    int n_in = fe_model_n_inputs(m->fe), time_obj = objective_is_time(m->config.objective);
    int64_t tshape[IR_MAX_DIMS];
    char tname[IR_NAME_LEN] = "";
    if (n_in > 2 || (n_in == 2 && fe_model_input_at(m->fe, 1, tname, 1, tshape) != 1)) {
        fprintf(diag, "error: training needs an energy E(x) or E(x, t) with a level t: [B]; this one takes %d "
                      "arguments\n", n_in);
        return -1;
    }
    if (time_obj != (n_in == 2)) {
        fprintf(diag, "error: objective %s %s\n", objective_name(m->config.objective),
                time_obj ? "trains an energy of x and a level t, as in energy(x: [B, 2], t: [B])"
                         : "trains an energy of x alone; for energy(x, t) use time-dcd-ve, time-dcd-vp or time-cd");
        return -1;
    }
    /* A classifier returns one energy per label, [B, K]; every other objective trains one energy, [B]. */
    int classes = fe_model_n_classes(m->fe), classify = objective_is_classify(m->config.objective);
    if (classify != (classes > 0)) {
        if (classify)
            fprintf(diag, "error: objective classify trains an energy of one value per label, E(x, y) = -logit_y(x): "
                          "return [B, K] for K labels (this energy returns one value per sample)\n");
        else
            fprintf(diag, "error: this energy returns %d values per sample (one per label, a classifier): train it "
                          "with objective = classify, or return [B] for objective %s\n",
                    classes, objective_name(m->config.objective));
        return -1;
    }
    /* A data-parallel job (parallel.h, docs/parallel.md): batch is the global batch, split over the ranks. */
    int ranks = parallel_size();
    if (m->config.batch % ranks != 0) {
        fprintf(diag, "error: batch = %d does not split evenly over %d ranks: make it a multiple of %d\n",
                m->config.batch, ranks, ranks);
        return -1;
    }
    if (ranks > 1 && (time_obj || classify)) {
        fprintf(diag, "error: %s does not run data-parallel yet: train it in one process\n",
                objective_name(m->config.objective));
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
    return 0;
}

int ebmc_compile(struct ebmc_model *m, FILE *diag) {
    if (m->compiled) return 0;
    if (check_before_compiling(m, diag) != 0) return -1;
    struct rt_model *rt = &m->rt;
    int64_t shape[IR_MAX_DIMS];
    fe_model_input_shape(m->fe, 1, shape);
    rt->dim = 1;
    for (int i = 1; i < fe_model_input_ndim(m->fe); i++) rt->dim *= (int)shape[i];
    int ranks = parallel_size(); /* a data-parallel job splits the global batch (check_before_compiling) */
    rt->rank = parallel_rank(), rt->nranks = ranks;
    rt->batch = m->config.batch / ranks;
    if (fe_model_n_inputs(m->fe) == 2) {
        char tname[IR_NAME_LEN];
        int64_t tshape[IR_MAX_DIMS];
        fe_model_input_at(m->fe, 1, tname, 1, tshape);
        snprintf(rt->level_input, sizeof rt->level_input, RT_IN_PREFIX "%.60s", tname);
    }
    rt->n_classes = fe_model_n_classes(m->fe);
    rt->source = m->source;
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
        struct init_spec spec = init_spec_of(p);
        init_values(rt->params[k].value, p->ndim, p->shape, &spec, m->config.seed, i);
    }
    if (rt_model_pack_grads(rt) != 0) {
        fprintf(diag, "error: out of memory allocating the gradients\n");
        rt_model_free(rt);
        return -1;
    }
    /* One process runs the fused train program; ranks split it at the all-reduce: loss, then adam. */
#define PENDING(w, program) ((struct pending){.which = (w), .prog = (program)})
    struct pending p[5] = {PENDING(PROGRAM_TRAIN, &rt->train), PENDING(PROGRAM_ENERGY, &rt->energy),
                           PENDING(PROGRAM_SAMPLER, &rt->energy_grad)};
    int n = 3; /* the largest first: the team takes them in order */
    if (ranks > 1) p[0] = PENDING(PROGRAM_LOSS, &rt->loss), p[n++] = PENDING(PROGRAM_ADAM, &rt->adam);
    if (program_used_in_training(PROGRAM_LANGEVIN, &m->config)) p[n++] = PENDING(PROGRAM_LANGEVIN, &rt->langevin);
#undef PENDING
    if (compile_programs(m, p, n, diag) != 0) {
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
        if (!(g = build_program_graph(m, PROGRAM_ENERGY, diag))) return -1;
        fprintf(out, "; energy(x%s) at batch %d\n", fe_model_n_inputs(m->fe) > 1 ? ", ..." : "", m->config.batch);
        ir_print(g, out);
    } else {
        if (!(g = build_program_graph(m, PROGRAM_SAMPLER, diag))) return -1;
        fprintf(out, "; sampler program: energy and dE/dx at batch %d\n", m->config.batch);
        ir_print(g, out);
        ir_graph_free(g);
        if (!(g = build_program_graph(m, PROGRAM_LOSS, diag))) return -1;
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
            fprintf(out, "%-8s (not used: %s)\n", program_names[i],
                    objective_is_classify(m->config.objective) ? "classify draws no negatives"
                                                               : "the objective's chains are not ULA on E");
            continue;
        }
        /* the loss runs on data and negatives, [2B]; classify's on the data alone */
        int two = (i == PROGRAM_LOSS || i == PROGRAM_TRAIN) && !objective_is_classify(m->config.objective);
        fprintf(out, "%-8s %6d %6d %13d %16d %14d    ", program_names[i], two ? 2 * m->config.batch : m->config.batch,
                s->nodes, s->nodes_optimized,
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

/* ---- data ---- */

/* Reports a problem with the data at the train block's `data = ...` line if the model file set it. */
static void data_error(const struct ebmc_model *m, FILE *diag, const char *msg) {
    if (!diag) return;
    const struct fe_setting *st = fe_model_find_setting(m->fe, "data");
    if (st && strcmp(st->value, m->config.data) == 0) fe_error_at(m->fe, st->value_loc, diag, "%s", msg);
    else fprintf(diag, "error: %s\n", msg);
}

static void print_dims(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++) k += (size_t)snprintf(buf + k, len - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

/* The model's data source, opened on first use and checked against the energy's input: x's shape
 * without the batch must be the data's per-sample shape, or [B, D] with D the data's value count.
 * Problems go to diag (NULL: nowhere). */
static struct data_source *model_data(struct ebmc_model *m, FILE *diag) {
    if (m->has_data) return &m->data;
    const struct train_config *c = &m->config;
    struct data_options o = {(enum data_scale)c->data_scale, c->image_size, c->held_out, c->data_limit};
    char err[4400];
    if (data_open(&m->data, c->data, &o, err, sizeof err) != 0) {
        data_error(m, diag, err);
        return NULL;
    }
    int64_t shape[IR_MAX_DIMS];
    int nd = fe_model_input_ndim(m->fe) - 1;
    fe_model_input_shape(m->fe, 1, shape);
    int64_t dim = 1;
    for (int i = 1; i <= nd; i++) dim *= shape[i];
    int same = nd == m->data.ndim;
    for (int i = 0; same && i < nd; i++) same = shape[i + 1] == m->data.shape[i];
    if (!same && !(nd == 1 && dim == m->data.dim)) {
        char want[96], have[96], flat[48] = "";
        print_dims(want, sizeof want, m->data.ndim, m->data.shape);
        if (m->data.ndim > 1) snprintf(flat, sizeof flat, " or [B, %lld]", (long long)m->data.dim);
        print_dims(have, sizeof have, nd, shape + 1);
        snprintf(err, sizeof err,
                 "the data %.200s has samples of shape %s (%lld values), but the energy's input x has samples of "
                 "shape %s: declare x: [B, %s%s",
                 c->data, want, (long long)m->data.dim, have, want + 1, flat);
        data_error(m, diag, err);
        data_close(&m->data);
        return NULL;
    }
    m->has_data = 1;
    return &m->data;
}

/* The box chains from noise start in: the data's, or [-4, 4] for a model whose data cannot be opened
 * (checks that bring their own batches). */
static struct data_box model_box(struct ebmc_model *m) {
    if (!m->has_data) model_data(m, NULL); /* quietly: the caller brings its own batches */
    return m->has_data ? data_source_box(&m->data) : (struct data_box){-4.0f, 4.0f};
}

int ebmc_check(struct ebmc_model *m, FILE *diag) {
    /* in training's order: compiling's checks, then the data (run_training opens it) */
    if (!m->compiled && check_before_compiling(m, diag) != 0) return -1;
    return model_data(m, diag) ? 0 : -1;
}

/* ---- running ---- */

/* fcd_classifier: the classifier run scored against at the end of training (train_io.score). */
struct end_score {
    struct ebmc_model *m, *cls;
};

static int score_at_end(void *ctx, struct train_summary *s, char *err, size_t errlen) {
    struct end_score *e = ctx;
    struct ebmc_score r;
    FILE *diag = fmemopen(err, errlen, "w");
    if (!diag) return snprintf(err, errlen, "out of memory"), -1;
    int rc = ebmc_score(e->m, e->cls, e->m->config.fcd_n, -1, &r, diag);
    fclose(diag);
    s->fcd = r.fcd, s->fcd_floor = r.floor, s->fcd_ceiling = r.ceiling, s->fcd_n = (int)r.n, s->fcd_features = r.features;
    return rc;
}

static struct data_source *score_checks(struct ebmc_model *m, struct ebmc_model *cls, int64_t n, FILE *diag);

/* The classifier run that fcd_classifier names, opened and checked against m before training starts, so
 * a wrong name fails at once rather than after the run. NULL after printing why. */
static struct ebmc_model *open_end_classifier(struct ebmc_model *m, FILE *diag) {
    const char *dir = m->config.fcd_classifier;
    char path[4200];
    struct ebmc_model *cls = ebmc_load_run(dir, diag);
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    if (!cls || ebmc_compile(cls, diag) != 0 || ebmc_restore(cls, path, diag) != 0 ||
        !score_checks(m, cls, m->config.fcd_n, diag)) {
        fprintf(diag, "error: fcd_classifier = %s: cannot score this run's samples with it\n", dir);
        ebmc_free(cls);
        return NULL;
    }
    return cls;
}

static int run_training(struct ebmc_model *m, const char *out_dir, FILE *progress, FILE *diag, struct ebmc_result *r,
                        struct run_state *resume, int64_t start) {
    struct train_summary s;
    int ranks = parallel_size();
    if (m->config.ranks != 0 && m->config.ranks != ranks) {
        if (resume)
            fprintf(diag,
                    "error: %s was trained by %d processes (its config.txt says ranks = %d) and continues bitwise "
                    "only with as many: resume it with 'mpirun -np %d ebmc train --resume %s'%s\n",
                    out_dir, m->config.ranks, m->config.ranks, m->config.ranks, out_dir,
                    m->config.ranks == 1 ? " or without mpirun" : "");
        else
            fprintf(diag, "error: the settings say ranks = %d, but this job has %d: run it with 'mpirun -np %d'%s\n",
                    m->config.ranks, ranks, m->config.ranks, m->config.ranks == 1 ? " or without mpirun" : "");
        return -1;
    }
    m->config.ranks = ranks; /* into config.txt, which --resume checks */
    if (parallel_rank() != 0) out_dir = NULL, progress = NULL; /* rank 0 alone writes (parallel.h) */
    struct train_io io = {.out_dir = out_dir, .model_name = fe_model_filename(m->fe), .progress = progress};
    if (progress) io.is_tty = isatty(fileno(progress));
    struct data_source *ds = model_data(m, diag);
    if (!ds) return -1;
    struct end_score end = {m, NULL};
    if (out_dir && strcmp(m->config.fcd_classifier, "none") != 0) {
        if (!(end.cls = open_end_classifier(m, diag))) return -1;
        io.score = score_at_end, io.score_ctx = &end;
    }
    int lock = -1;
    if (out_dir) { /* one training per run folder: a second one would mix two models' files */
        char err[4400];
        if ((lock = run_dir_lock(out_dir, err, sizeof err)) < 0 ||
            run_dir_write_description(out_dir, m->source, &m->config, err, sizeof err) != 0) {
            fprintf(diag, "error: %s\n", err);
            if (lock >= 0) close(lock);
            ebmc_free(end.cls);
            return -1;
        }
    }
    int rc = train_run(&m->rt, &m->config, ds, &io, resume, start, &s);
    ebmc_free(end.cls);
    if (lock >= 0) close(lock); /* releases the lock */
    m->rt_step = resume ? s.steps_done : m->rt_step + s.steps_done;
    if (r) {
        memset(r, 0, sizeof *r);
        r->steps_done = s.steps_done;
        r->steps_start = s.steps_start;
        r->seconds = s.seconds;
        r->steps_per_sec = s.steps_per_sec;
        r->gflop_per_step = s.gflop_per_step, r->gflops = s.gflops;
        r->ranks = ranks;
        r->allreduce_seconds = s.allreduce_seconds;
        r->allreduce_bytes = s.allreduce_floats * (int64_t)sizeof(float);
        r->nll_start = s.nll_start;
        r->nll = s.nll;
        r->tv = s.tv;
        r->mmd2 = s.mmd2;
        r->energy_data = s.energy_data, r->energy_neg = s.energy_neg, r->energy_test = s.energy_test;
        r->accuracy = s.accuracy;
        r->fcd = s.fcd, r->fcd_floor = s.fcd_floor, r->fcd_ceiling = s.fcd_ceiling;
        r->acceptance = s.acceptance;
        r->compile_seconds = m->compile_seconds;
        r->diverged = s.diverged;
        r->interrupted = s.interrupted;
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) r->peak_rss_mib = (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is KiB */
    }
    if (rc != 0) fprintf(diag, "error: %s\n", s.message);
    else if (s.message[0] && !s.interrupted) fprintf(diag, "note: %s\n", s.message);
    return rc;
}

int ebmc_train(struct ebmc_model *m, const char *out_dir, FILE *progress, FILE *diag, struct ebmc_result *r) {
    if (!m->compiled && ebmc_compile(m, diag) != 0) return -1;
    return run_training(m, out_dir, progress, diag, r, NULL, 0);
}

struct ebmc_model *ebmc_load_run(const char *run_dir, FILE *diag) {
    char path[4096], err[4400];
    if (run_dir_model_path(run_dir, path, sizeof path, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return NULL;
    }
    struct ebmc_model *m = ebmc_load(path, diag);
    if (m && run_dir_read_config(run_dir, &m->config, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
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
    int loaded = checkpoint_load_state(&m->rt, &start, &rs, path, err, sizeof err);
    if (loaded != 0) {
        fprintf(diag, "error: %s\n", err);
        if (loaded == CHECKPOINT_OTHER_TEXT)
            fprintf(diag, "note: %s/model.ebm was edited after training; undo the edit to continue the run, or train "
                          "the edited model anew with 'ebmc train %s/model.ebm --out %s --force'\n",
                    run_dir, run_dir, run_dir);
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


/* The step's buffers, allocated on first use; with a diag, a failure is explained there. */
static int step_buffers(struct ebmc_model *m, FILE *diag) {
    const char *why = !m->compiled ? "the model is not compiled (ebmc_compile)"
                      : m->step.xall || train_step_init(&m->step, &m->rt) == 0 ? NULL
                                                                               : "out of memory";
    if (why && diag) fprintf(diag, "error: %s\n", why);
    return why ? -1 : 0;
}

/* x and xneg into the step's [2B, D] batch. */
static void set_batch(struct ebmc_model *m, const float *x, const float *xneg) {
    size_t n = (size_t)m->rt.batch * (size_t)m->rt.dim;
    memcpy(m->step.xall, x, n * sizeof(float));
    memcpy(m->step.xall + n, xneg, n * sizeof(float));
}

int ebmc_negatives(struct ebmc_model *m, const float *x, int64_t step, float *xneg) {
    if (step_buffers(m, NULL) != 0 || train_step_negatives(&m->rt, &m->config, &m->step, x, model_box(m), step) != 0)
        return -1;
    size_t n = (size_t)m->rt.batch * (size_t)m->rt.dim;
    memcpy(xneg, m->step.xall + n, n * sizeof(float));
    return 0;
}

int ebmc_loss(struct ebmc_model *m, const float *x, const float *xneg, double *loss, FILE *diag) {
    if (step_buffers(m, diag) != 0 || compile_loss_program(m, diag) != 0) return -1;
    set_batch(m, x, xneg);
    train_step_loss(&m->rt, &m->step, loss);
    return 0;
}

int ebmc_step(struct ebmc_model *m, const float *x, const float *xneg, int64_t t, double *loss) {
    if (t < 1 || m->rt.nranks > 1 || step_buffers(m, NULL) != 0) return -1; /* ranks have no fused train program */
    set_batch(m, x, xneg);
    if (!train_step_update(&m->rt, &m->config, &m->step, t, loss)) return 0;
    m->rt_step = t;
    return 1;
}

const float *ebmc_replay_buffer(const struct ebmc_model *m, int64_t *n) {
    *n = m->step.pcd.x ? m->step.pcd.n : 0;
    return m->step.pcd.x;
}

int ebmc_gradients(struct ebmc_model *m, const float *x, int64_t step, double *loss, FILE *diag) {
    if (step_buffers(m, diag) != 0 || compile_loss_program(m, diag) != 0) return -1;
    return train_step_gradients(&m->rt, &m->config, &m->step, x, model_box(m), step, loss);
}

double ebmc_acceptance(const struct ebmc_model *m) {
    const struct chain_stats *c = &m->step.chains;
    return c->proposed ? (double)c->accepted / (double)c->proposed : 0.0;
}

int ebmc_n_params(const struct ebmc_model *m) { return m && m->compiled ? m->rt.n_params : 0; }
static const struct rt_param *param_at(const struct ebmc_model *m, int i) {
    return m && m->compiled && i >= 0 && i < m->rt.n_params ? &m->rt.params[i] : NULL;
}
int ebmc_find_param(const struct ebmc_model *m, const char *name) {
    return m && m->compiled && name ? rt_model_find_param(&m->rt, name) : -1;
}
int ebmc_param_shape(const struct ebmc_model *m, int i, int64_t shape[4]) {
    const struct rt_param *p = param_at(m, i);
    if (!p) return -1;
    memcpy(shape, p->shape, sizeof(int64_t) * (size_t)p->ndim);
    return p->ndim;
}
const char *ebmc_param_name(const struct ebmc_model *m, int i) { return param_at(m, i) ? param_at(m, i)->name : NULL; }
int64_t ebmc_param_numel(const struct ebmc_model *m, int i) { return param_at(m, i) ? param_at(m, i)->numel : 0; }
float *ebmc_param_data(struct ebmc_model *m, int i) { return param_at(m, i) ? m->rt.params[i].value : NULL; }
const float *ebmc_param_grad(const struct ebmc_model *m, int i) { return param_at(m, i) ? param_at(m, i)->grad : NULL; }
float *ebmc_param_moment(struct ebmc_model *m, int i, int which) {
    if (!param_at(m, i)) return NULL;
    return which == 1 ? m->rt.params[i].adam_m : which == 2 ? m->rt.params[i].adam_v : NULL;
}

int ebmc_get_setting(const struct ebmc_model *m, const char *key, char *buf, size_t len, double *number) {
    return m && key && buf && len ? config_get(&m->config, key, buf, len, number) : -1;
}

int ebmc_input_shape(const struct ebmc_model *m, int64_t shape[4]) {
    if (!m) return -1;
    fe_model_input_shape(m->fe, m->config.batch, shape);
    return fe_model_input_ndim(m->fe);
}

int ebmc_n_inputs(const struct ebmc_model *m) { return m ? fe_model_n_inputs(m->fe) : 0; }

int ebmc_input(const struct ebmc_model *m, int i, char *name, size_t len, int64_t shape[4]) {
    if (!m || i < 0 || i >= fe_model_n_inputs(m->fe) || !name || len == 0 || !shape) return -1;
    char full[IR_NAME_LEN];
    int ndim = fe_model_input_at(m->fe, i, full, m->config.batch, shape);
    snprintf(name, len, "%s", full);
    return ndim;
}

/* ---- saved runs: samples and metrics ---- */

int ebmc_sample(struct ebmc_model *m, int64_t n, int steps, float *out) {
    if (!m->compiled || n < 0) return -1;
    return model_samples(&m->rt, &m->config, steps < 0 ? m->config.sample_steps : steps, model_box(m), NULL, out,
                         (size_t)n);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int ebmc_write_samples(struct ebmc_model *m, int64_t n, int steps, const char *path, FILE *diag) {
    int png = ends_with(path, ".png"), tensor = ends_with(path, ".csv") || ends_with(path, ".npy");
    if (!png && !tensor) {
        fprintf(diag, "error: %s: unknown output type (use FILE.png for a picture, FILE.npy or FILE.csv for the values)\n",
                path);
        return -1;
    }
    struct data_source *ds = m->compiled ? model_data(m, diag) : NULL;
    if (!ds) {
        if (!m->compiled) fprintf(diag, "error: %s: compile the model before sampling it\n", path);
        return -1;
    }
    int64_t limit = ((int64_t)1 << 34) / (ds->dim * (int64_t)sizeof(float)); /* 16 GiB of samples */
    if (n < 1 || n > limit) {
        fprintf(diag, "error: %s: the number of samples must be between 1 and %lld\n", path, (long long)limit);
        return -1;
    }
    if (png && !data_is_2d(ds) && !ds->is_image) {
        fprintf(diag, "error: %s: samples of shape [%lld] have no picture; write FILE.npy or FILE.csv\n", path,
                (long long)ds->dim);
        return -1;
    }
    if (steps < 0) steps = m->config.sample_steps;
    float *x = malloc(sizeof(float) * (size_t)n * (size_t)ds->dim);
    if (!x || ebmc_sample(m, n, steps, x) != 0) {
        fprintf(diag, "error: out of memory drawing %lld samples\n", (long long)n);
        free(x);
        return -1;
    }
    int rc;
    char err[4400];
    if (png) rc = run_write_samples_png(&m->config, ds, x, n, steps, path, err, sizeof err);
    else {
        int64_t shape[IR_MAX_DIMS] = {n};
        memcpy(shape + 1, ds->shape, sizeof(int64_t) * (size_t)ds->ndim);
        rc = data_write_tensor(path, x, ds->ndim + 1, shape, err, sizeof err);
    }
    if (rc != 0) fprintf(diag, "error: %s\n", err);
    free(x);
    return rc;
}

int ebmc_evaluate(struct ebmc_model *m, struct ebmc_metrics *e, FILE *diag) {
    if (!m->compiled) {
        fprintf(diag, "error: compile the model before evaluating it\n");
        return -1;
    }
    struct data_source *ds = model_data(m, diag);
    if (!ds) return -1;
    memset(e, 0, sizeof *e);
    e->step = m->rt_step;
    struct held_out h = {0};
    struct run_eval ev;
    int rc = held_out_load(&h, ds, m->config.seed) == 0 && run_evaluate(&m->rt, &m->config, ds, &h, &ev) == 0 &&
                     run_sample_mmd(&m->rt, &m->config, ds, &h, &e->mmd2) == 0
                 ? 0
                 : -1;
    held_out_free(&h);
    if (rc != 0) {
        fprintf(diag, "error: out of memory evaluating the model\n");
        return -1;
    }
    e->nll = ev.nll, e->tv = ev.tv, e->energy_test = ev.energy_test, e->accuracy = ev.accuracy;
    return 0;
}

/* ---- scoring: the Fréchet classifier distance ---- */

/* The classifier's features of n samples summarized (mean, covariance). NULL-safe on failure: -1. */
static int feature_stats(struct ebmc_model *cls, const float *x, int64_t n, float *feat, struct fcd_stats *st) {
    return classify_features(&cls->rt, x, n, feat) == 0 && fcd_stats_compute(st, feat, n, classify_feature_dim(&cls->rt)) == 0
               ? 0
               : -1;
}

/* What ebmc_score refuses before drawing anything: a classifier that is not one, of another shape or
 * scale than the run's data, and n out of range. Returns the data source, or NULL after printing why. */
static struct data_source *score_checks(struct ebmc_model *m, struct ebmc_model *cls, int64_t n, FILE *diag) {
    const char *cls_file = fe_model_filename(cls->fe);
    if (!m->compiled || !cls->compiled) {
        fprintf(diag, "error: compile the run's model and the classifier (and restore their parameters) before scoring\n");
        return NULL;
    }
    if (!objective_is_classify(cls->config.objective)) {
        fprintf(diag, "error: %s is not a classifier: it was trained with objective %s (the classifier of FCD is a "
                      "model trained with objective = classify, docs/dsl.md)\n",
                cls_file, objective_name(cls->config.objective));
        return NULL;
    }
    if (fe_model_find_function(cls->fe, FEATURES_FUNCTION) < 0) {
        fprintf(diag, "error: %s has no function '%s': FCD compares a classifier's penultimate features, which the "
                      "model names with def %s(x) { ... return h } returning [B, F] (docs/dsl.md)\n",
                cls_file, FEATURES_FUNCTION, FEATURES_FUNCTION);
        return NULL;
    }
    struct data_source *ds = model_data(m, diag);
    if (!ds) return NULL;
    int64_t shape[IR_MAX_DIMS];
    int nd = fe_model_input_ndim(cls->fe) - 1;
    fe_model_input_shape(cls->fe, 1, shape);
    int64_t dim = 1;
    for (int i = 1; i <= nd; i++) dim *= shape[i];
    int same = nd == ds->ndim;
    for (int i = 0; same && i < nd; i++) same = shape[i + 1] == ds->shape[i];
    if (!same && !(nd == 1 && dim == ds->dim)) {
        char want[96], have[96];
        print_dims(want, sizeof want, nd, shape + 1);
        print_dims(have, sizeof have, ds->ndim, ds->shape);
        fprintf(diag, "error: the classifier %s takes samples of shape %s, but the run's data %.200s has samples of "
                      "shape %s: score the run with a classifier trained on data of its shape\n",
                cls_file, want, m->config.data, have);
        return NULL;
    }
    char a[64], b[64];
    config_get(&cls->config, "data_scale", a, sizeof a, NULL);
    config_get(&m->config, "data_scale", b, sizeof b, NULL);
    if (strcmp(a, b) != 0) {
        fprintf(diag, "error: the classifier %s saw data with data_scale = %s, the run's model with data_scale = %s: "
                      "its features of differently scaled images mean nothing\n",
                cls_file, a, b);
        return NULL;
    }
    /* as many training samples as held-out ones for the floor; a generator (2-D) has endless both */
    int64_t most = ds->n_train == 0 ? 1000000 : ds->n_test < ds->n_train ? ds->n_test : ds->n_train;
    int64_t memory = ((int64_t)1 << 34) / (ds->dim * (int64_t)sizeof(float)); /* 16 GiB of samples */
    if (most > memory) most = memory;
    if (n < 2 || n > most) {
        fprintf(diag, "error: --n %lld: FCD compares n samples with as many held-out and training samples; n must be "
                      "between 2 and %lld here (%.200s: %lld held-out, %lld training samples)\n",
                (long long)n, (long long)most, m->config.data, (long long)ds->n_test, (long long)ds->n_train);
        return NULL;
    }
    return ds;
}

int ebmc_score(struct ebmc_model *m, struct ebmc_model *cls, int64_t n, int steps, struct ebmc_score *s, FILE *diag) {
    memset(s, 0, sizeof *s);
    s->fcd = s->floor = s->ceiling = s->accuracy = NAN;
    struct data_source *ds = score_checks(m, cls, n, diag);
    if (!ds) return -1;
    if (!rt_program_ready(&cls->rt.features) && compile_program(cls, PROGRAM_FEATURES, &cls->rt.features, diag) != 0)
        return -1;
    int f = classify_feature_dim(&cls->rt);
    if (f < 1 || f > FCD_MAX_DIM) {
        fprintf(diag, "error: %s: its features have %d values per sample; FCD takes 1 to %d (the covariances' "
                      "eigensolver costs F^3)\n",
                fe_model_filename(cls->fe), f, FCD_MAX_DIM);
        return -1;
    }
    s->n = n, s->features = f, s->steps = steps < 0 ? m->config.sample_steps : steps;
    s->levels = objective_is_time(m->config.objective) ? m->config.levels : 0;
    size_t d = (size_t)ds->dim;
    float *x = malloc(sizeof(float) * (size_t)n * d), *feat = malloc(sizeof(float) * (size_t)n * (size_t)f);
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    struct fcd_stats test = {0}, other = {0};
    int rc = -1;
    if (!x || !feat || !labels) goto oom;
    /* the held-out reference, and the classifier's accuracy on it */
    data_held_out(ds, m->config.seed, x, labels, n);
    if (feature_stats(cls, x, n, feat, &test) != 0) goto oom;
    if (ds->n_classes > 0 && classify_accuracy(&cls->rt, x, labels, n, &s->accuracy) != 0) goto oom;
    /* floor: the first n of the training part's first epoch; ceiling: uniform noise over the data box */
    data_batch(ds, m->config.seed, 0, n, 0, 1, x);
    if (feature_stats(cls, x, n, feat, &other) != 0) goto oom;
    s->floor = fcd_distance(&other, &test);
    fcd_stats_free(&other);
    box_uniform(x, (size_t)n * d, data_source_box(ds), m->config.seed, rng_stream(TAG_FCD_NOISE, 0, 0));
    if (feature_stats(cls, x, n, feat, &other) != 0) goto oom;
    s->ceiling = fcd_distance(&other, &test);
    fcd_stats_free(&other);
    double t0 = clock_seconds();
    if (ebmc_sample(m, n, s->steps, x) != 0) goto oom;
    s->sample_seconds = clock_seconds() - t0;
    if (feature_stats(cls, x, n, feat, &other) != 0) goto oom;
    s->fcd = fcd_distance(&other, &test);
    rc = 0;
    goto done;
oom:
    fprintf(diag, "error: out of memory scoring %lld samples\n", (long long)n);
done:
    fcd_stats_free(&test), fcd_stats_free(&other);
    free(x), free(feat), free(labels);
    return rc;
}

/* ---- energies of a file, denoising ---- */

int ebmc_energy_file(struct ebmc_model *m, const char *data_path, const char *out_path, const char *grad_path,
                     FILE *diag) {
    if (!m->compiled) {
        fprintf(diag, "error: compile the model before evaluating energies\n");
        return -1;
    }
    float *x = NULL;
    int ndim = 0;
    int64_t shape[IR_MAX_DIMS + 1] = {0};
    char err[4400];
    if (data_read_tensor(data_path, &x, &ndim, shape, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    int64_t n = shape[0], per = 1;
    for (int i = 1; i < ndim; i++) per *= shape[i];
    if (ndim < 1 || per != m->rt.dim) {
        fprintf(diag, "error: %s: %lld values per sample, but the model's input has %d\n", data_path, (long long)per,
                m->rt.dim);
        free(x);
        return -1;
    }
    float *e = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    float *g = grad_path ? malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * (size_t)per) : NULL;
    int rc = -1;
    if (!e || (grad_path && !g) || model_energy(&m->rt, x, e, g, (size_t)n) != 0) fprintf(diag, "error: out of memory\n");
    else if (!out_path) {
        for (int64_t i = 0; i < n; i++) printf("%.9g\n", e[i]);
        rc = 0;
    } else if (data_write_tensor(out_path, e, 1, &n, err, sizeof err) != 0) fprintf(diag, "error: %s\n", err);
    else rc = 0;
    if (rc == 0 && grad_path && data_write_tensor(grad_path, g, ndim, shape, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        rc = -1;
    }
    free(x), free(e), free(g);
    return rc;
}

static void copy_quality(struct ebmc_quality *out, const struct image_quality *q) {
    *out = (struct ebmc_quality){q->psnr_mean, q->psnr_sd, q->ssim_mean, q->ssim_sd};
}

int ebmc_denoise(struct ebmc_model *m, double sigma, int steps, int map, double step_size, int64_t n,
                 const char *png_path, const char *json_path, struct ebmc_denoise_result *r, FILE *diag) {
    if (!m->compiled) {
        fprintf(diag, "error: compile the model before denoising with it\n");
        return -1;
    }
    if (!(sigma > 0 && sigma <= 100) || steps < 1 || steps > 1000000 || step_size < 0 || n < 1) {
        fprintf(diag, "error: denoise: need 0 < sigma <= 100, 1 <= steps <= 1e6, step_size >= 0, n >= 1\n");
        return -1;
    }
    struct data_source *ds = model_data(m, diag);
    if (!ds) return -1;
    struct restore_options o = {map ? RESTORE_MAP : RESTORE_MALA, sigma, steps, step_size, m->config.seed,
                                objective_is_time(m->config.objective) ? &m->config : NULL};
    struct restore_summary s;
    char err[4400];
    if (restore_experiment(&m->rt, ds, &o, 100, n, png_path, json_path, &s, err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    if (r) {
        memset(r, 0, sizeof *r);
        r->n = s.n, r->filter_sigma = s.filter_sigma, r->acceptance = s.acceptance, r->seconds = s.seconds;
        r->level = s.level, r->level_sigma = s.level_sigma;
        copy_quality(&r->noisy, &s.noisy), copy_quality(&r->filter, &s.filter), copy_quality(&r->model, &s.model);
    }
    return 0;
}

void ebmc_interrupt(void) { train_request_stop(); }

/* ---- data-parallel jobs ---- */

int ebmc_parallel_start(FILE *diag) {
    char err[512];
    if (parallel_start(err, sizeof err) != 0) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    return parallel_size();
}

void ebmc_parallel_end(int failed) { parallel_end(failed); }
int ebmc_rank(void) { return parallel_rank(); }
const char *ebmc_mpi_library(void) { return parallel_library(); }
