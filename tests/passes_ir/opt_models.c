/* opt_models.c: the default pipeline (simplify,cse,dce) on every model's graphs, checked numerically.
 *
 * For each model file in models/, the three programs the public API prints (--emit=graph: energy;
 * --emit=grad: the sampler program E, dE/dx and the training-step program: loss and parameter gradients)
 * are parsed, optimized, and both versions are run by the reference interpreter on the same seeded
 * arguments: every output must agree within 1e-12 relative (double), the optimized graph must keep the
 * arguments in their order and have no more nodes (fewer for the training step), and running the
 * pipeline again must change nothing. `--emit=opt` must print the same optimized training-step graph.
 * Node counts are reported on stderr. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "interp.h"
#include "ir.h"
#include "pass.h"
#include "test.h"

static char *capture_emit(struct ebmc_model *m, const char *stage) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = ebmc_emit(m, stage, "loss", NULL, f, stderr); /* the program --emit=grad prints second */
    fclose(f);
    CHECK_MSG(rc == 0, "--emit=%s failed", stage);
    return buf;
}

/* The k-th graph in text (parsed from its `graph {` line; the parser skips ';' comments before it). */
static struct ir_graph *nth_graph(const char *text, int k, const char *what) {
    const char *p = text;
    for (int i = 0; p && i <= k; i++) {
        p = strstr(i ? p + 1 : p, "graph {");
        if (!p) break;
    }
    CHECK_MSG(p != NULL, "%s: graph %d not found", what, k);
    if (!p) return NULL;
    const char *end = strstr(p, "\n}\n");
    CHECK(end != NULL);
    if (!end) return NULL;
    char *one = strndup(p, (size_t)(end + 3 - p)), err[1024];
    struct ir_graph *g = ir_parse(one, what, err, sizeof err);
    CHECK_MSG(g != NULL, "%s", err);
    free(one);
    return g;
}

static uint64_t lcg_state;
static double uniform(void) { /* [-1, 1) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0 * 2 - 1;
}

/* Runs g on arguments drawn from a fixed seed; returns one malloc'd buffer per output (NULL on error). */
static double **run(const struct ir_graph *g) {
    int n_args = ir_graph_args(g, NULL);
    int *ids = malloc(sizeof(int) * ((size_t)n_args + 1));
    double **args = calloc((size_t)n_args + 1, sizeof *args), **outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
    ir_graph_args(g, ids);
    lcg_state = 12345;
    for (int i = 0; i < n_args; i++) {
        const struct ir_node *n = ir_node_at(g, ids[i]);
        int64_t numel = ir_node_numel(n);
        args[i] = malloc(sizeof(double) * (size_t)numel);
        double scale = n->op == IR_PARAM ? 0.3 : 2.0;
        for (int64_t j = 0; j < numel; j++) args[i][j] = scale * uniform();
    }
    for (int i = 0; i < g->n_outputs; i++)
        outs[i] = malloc(sizeof(double) * (size_t)ir_node_numel(ir_node_at(g, g->outputs[i].node)));
    char err[256];
    int rc = interp_run(g, (const double *const *)args, outs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    for (int i = 0; i < n_args; i++) free(args[i]);
    free(args);
    free(ids);
    return outs;
}

static void free_outs(double **outs, int n) {
    for (int i = 0; i < n; i++) free(outs[i]);
    free(outs);
}

/* Optimizes g and checks values, arguments, node counts and idempotence. Returns the optimized count. */
static int check_graph(const struct ir_graph *g, const char *what, int must_shrink, char **printed_opt) {
    char err[512];
    struct ir_graph *o = pass_run_pipeline(g, PASS_DEFAULT_PIPELINE, NULL, NULL, err, sizeof err);
    CHECK_MSG(o != NULL, "%s: %s", what, err);
    if (!o) return -1;
    CHECK_MSG(must_shrink ? o->n_nodes < g->n_nodes : o->n_nodes <= g->n_nodes, "%s: %d nodes before, %d after",
              what, g->n_nodes, o->n_nodes);

    /* The same arguments in the same order: programs bind buffers by position. */
    int na = ir_graph_args(g, NULL), ids_g[64], ids_o[64];
    CHECK(na <= 64 && ir_graph_args(o, NULL) == na);
    if (na <= 64 && ir_graph_args(o, NULL) == na) {
        ir_graph_args(g, ids_g);
        ir_graph_args(o, ids_o);
        for (int i = 0; i < na; i++)
            CHECK_MSG(strcmp(ir_node_at(g, ids_g[i])->name, ir_node_at(o, ids_o[i])->name) == 0, "%s: argument %d", what, i);
    }

    /* Same outputs, same values. */
    CHECK(o->n_outputs == g->n_outputs);
    double **a = run(g), **b = run(o), worst = 0;
    for (int i = 0; i < g->n_outputs && i < o->n_outputs; i++) {
        CHECK(strcmp(g->outputs[i].name, o->outputs[i].name) == 0);
        int64_t n = ir_node_numel(ir_node_at(g, g->outputs[i].node));
        CHECK(n == ir_node_numel(ir_node_at(o, o->outputs[i].node)));
        for (int64_t j = 0; j < n; j++) {
            double x = a[i][j], y = b[i][j], scale = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
            double rel = scale > 0 ? fabs(x - y) / scale : 0;
            if (rel > worst) worst = rel;
            if (!(rel <= 1e-12)) {
                CHECK_MSG(rel <= 1e-12, "%s: output '%s'[%lld]: %.17g unoptimized, %.17g optimized", what,
                          g->outputs[i].name, (long long)j, x, y);
                break;
            }
        }
    }
    free_outs(a, g->n_outputs);
    free_outs(b, o->n_outputs);

    /* A second run finds nothing left to do. */
    struct ir_graph *again = pass_run_pipeline(o, PASS_DEFAULT_PIPELINE, NULL, NULL, err, sizeof err);
    char *p1 = ir_print_string(o), *p2 = again ? ir_print_string(again) : NULL;
    CHECK_MSG(p2 && strcmp(p1, p2) == 0, "%s: the pipeline is not idempotent", what);
    free(p2);
    ir_graph_free(again);
    if (printed_opt) *printed_opt = p1;
    else free(p1);
    fprintf(stderr, "  %-8s %4d -> %4d nodes, max relative difference %.3g\n", what, g->n_nodes, o->n_nodes, worst);
    int n = o->n_nodes;
    ir_graph_free(o);
    return n;
}

static void check_model(const char *path) {
    struct ebmc_model *m = ebmc_load(path, stderr);
    CHECK_MSG(m != NULL, "%s", path);
    if (!m) return;
    /* Node counts do not depend on the batch; a small one keeps the interpreter quick. */
    CHECK(ebmc_set(m, "batch", "2", stderr) == 0);
    fprintf(stderr, "%s:\n", path);
    char *energy = capture_emit(m, "graph"), *grad = capture_emit(m, "grad"), *opt = capture_emit(m, "opt");
    static const char *const names[3] = {"energy", "sampler", "loss"};
    struct ir_graph *g[3] = {nth_graph(energy, 0, "energy"), nth_graph(grad, 0, "sampler"), nth_graph(grad, 1, "loss")};
    for (int i = 0; i < 3; i++) {
        if (!g[i]) continue;
        char *printed = NULL;
        check_graph(g[i], names[i], i == 2, i == 2 ? &printed : NULL); /* the energy may have nothing to do */
        if (printed) { /* --emit=opt prints the same graph after its comment line */
            const char *body = opt ? strstr(opt, "graph {") : NULL;
            CHECK_MSG(body && strcmp(body, printed) == 0, "%s: --emit=opt differs from the pipeline's result", path);
        }
        free(printed);
        ir_graph_free(g[i]);
    }
    free(energy);
    free(grad);
    free(opt);
    ebmc_free(m);
}

int main(void) {
    const char *dir = EBMC_SOURCE_DIR "/models";
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int found = 0;
    struct dirent *ent;
    char *names[256];
    while (d && (ent = readdir(d)) && found < 256) {
        size_t len = strlen(ent->d_name);
        if (len > 4 && strcmp(ent->d_name + len - 4, ".ebm") == 0) names[found++] = strdup(ent->d_name);
    }
    if (d) closedir(d);
    for (int i = 0; i < found; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        check_model(path);
        free(names[i]);
    }
    CHECK(found >= 7);
    return test_report();
}
