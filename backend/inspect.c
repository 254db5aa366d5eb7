/* inspect.c: the plan of a compiled program in human-readable forms, for `ebmc compile --emit=fused`
 * (which nodes each kernel computes), `--emit=kernels` (each kernel as a loop nest over buffers),
 * `--emit=dot` (the graph for Graphviz, one cluster per kernel) and `--emit=profile` (each kernel's
 * time). Everything here reads the same plan
 * the code generator uses (plan.c), so what it prints is what runs. */
#include "jit.h"

#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* ---- which kernel computes which node ---- */

/* Assigns node id and the nodes inlined into it to kernel k (for a main loop: its operands too). */
static void claim(const struct ir_graph *g, const struct codegen_plan *plan, const struct codegen_kernel *k, int id,
                  int ki, int *owner, int top) {
    const struct ir_node *n = ir_node_at(g, id);
    if (n->op == IR_CONST || n->op == IR_INPUT || n->op == IR_PARAM) return;
    if (!top && plan->slot[id] >= 0 && id != k->main) return; /* stored: another root's, or kernel's */
    if (!top && owner[id] >= 0) return;                       /* a broadcast inlined into several */
    owner[id] = ki;
    for (int i = 0; i < ir_op_arity(n->op); i++) claim(g, plan, k, n->in[i], ki, owner, 0);
}

/* owner[id]: the kernel that computes node id (-1: an argument, constant, or alias of one). */
static void kernel_owners(const struct ir_graph *g, const struct codegen_plan *plan, int *owner) {
    for (int id = 0; id < g->n_nodes; id++) owner[id] = -1;
    for (int ki = 0; ki < plan->n_kernels; ki++)
        if (plan->kernels[ki].kind == CODEGEN_NODE)
            for (int r = 0; r < plan->kernels[ki].n_roots; r++)
                claim(g, plan, &plan->kernels[ki], plan->kernels[ki].roots[r], ki, owner, 1);
}

static const char *kernel_kind(const struct ir_graph *g, const struct codegen_kernel *k) {
    if (k->kind == CODEGEN_TRANSPOSE) return "transpose";
    enum ir_op op = ir_node_at(g, k->main >= 0 ? k->main : k->node)->op;
    if (op == IR_MATMUL) return k->main >= 0 ? "matmul+epilogue" : "matmul";
    if (ir_op_is_conv(op)) return k->main >= 0 ? "conv+epilogue" : "conv";
    if (ir_op_is_reduction(op)) return k->main >= 0 ? "reduce+epilogue" : "reduce";
    return "map";
}

/* ---- --emit=fused ---- */

static void print_fused(const struct ir_graph *g, const struct codegen_plan *plan, const int *owner, FILE *out) {
    for (int ki = 0; ki < plan->n_kernels; ki++) {
        const struct codegen_kernel *k = &plan->kernels[ki];
        char name[32];
        codegen_kernel_name(name, sizeof name, "", k);
        fprintf(out, "%-6s %-16s range %-7lld work %-9lld ->", name, kernel_kind(g, k), (long long)k->range,
                (long long)k->work);
        for (int r = 0; r < (k->kind == CODEGEN_NODE ? k->n_roots : 1); r++) fprintf(out, " b%d", k->slot + r);
        fputc(' ', out);
        ir_print_shape(out, ir_node_at(g, k->node)->ndim, ir_node_at(g, k->node)->shape);
        fprintf(out, "\n      ");
        if (k->kind == CODEGEN_TRANSPOSE) fprintf(out, " %%%d^T", k->node);
        for (int id = 0; id < g->n_nodes; id++)
            if (owner[id] == ki) fprintf(out, " %%%d=%s", id, ir_op_name(ir_node_at(g, id)->op));
        fputc('\n', out);
    }
}

/* ---- --emit=kernels ---- */

static void print_expr(const struct ir_graph *g, const struct codegen_plan *plan, int main, int id, const char *idx,
                       FILE *out);

static void print_index_of_broadcast(const struct ir_graph *g, int id, const char *idx, FILE *out) {
    const struct ir_node *n = ir_node_at(g, id), *x = ir_node_at(g, n->in[0]);
    fprintf(out, "bcast(%s, ", idx);
    ir_print_shape(out, n->ndim, n->shape);
    fprintf(out, "->");
    ir_print_shape(out, x->ndim, x->shape);
    fputc(')', out);
}

static void print_expr(const struct ir_graph *g, const struct codegen_plan *plan, int main, int id, const char *idx,
                       FILE *out) {
    const struct ir_node *n = ir_node_at(g, id);
    if (id == main) {
        fprintf(out, "acc");
    } else if (plan->slot[id] >= 0) {
        fprintf(out, "b%d[%s]", plan->slot[id], idx);
    } else if (n->op == IR_CONST) {
        fprintf(out, "%.9g", n->value);
    } else if (ir_op_is_alias(n->op)) {
        print_expr(g, plan, main, n->in[0], idx, out);
    } else if (n->op == IR_BROADCAST) {
        char *sub = NULL;
        size_t len = 0;
        FILE *s = open_memstream(&sub, &len);
        if (s) {
            print_index_of_broadcast(g, id, idx, s);
            fclose(s);
        }
        print_expr(g, plan, main, n->in[0], sub ? sub : "?", out);
        free(sub);
    } else {
        fprintf(out, "%s(", ir_op_name(n->op));
        for (int i = 0; i < ir_op_arity(n->op); i++) {
            if (i) fprintf(out, ", ");
            print_expr(g, plan, main, n->in[i], idx, out);
        }
        fputc(')', out);
    }
}

/* What a kernel stores: its root computed from its operands (the root itself is stored, so print_expr
 * alone would print a load of it). */
static void print_root(const struct ir_graph *g, const struct codegen_plan *plan, int main, int root, const char *idx,
                       FILE *out) {
    const struct ir_node *n = ir_node_at(g, root);
    char *sub = NULL;
    size_t len = 0;
    if (n->op == IR_BROADCAST) { /* its operand is read at the broadcast index */
        FILE *s = open_memstream(&sub, &len);
        if (s) {
            print_index_of_broadcast(g, root, idx, s);
            fclose(s);
        }
    }
    fprintf(out, "%s(", ir_op_name(n->op));
    for (int i = 0; i < ir_op_arity(n->op); i++) {
        if (i) fprintf(out, ", ");
        print_expr(g, plan, main, n->in[i], sub ? sub : idx, out);
    }
    fputc(')', out);
    free(sub);
}

static void print_kernel_loops(const struct ir_graph *g, const struct codegen_plan *plan, const struct codegen_kernel *k,
                               FILE *out) {
    char name[32];
    codegen_kernel_name(name, sizeof name, "", k);
    int main = k->main >= 0 ? k->main : k->node;
    const struct ir_node *m = ir_node_at(g, main), *root = ir_node_at(g, k->node);
    fprintf(out, "%s(lo, hi):  ; %s, items [0, %lld), work %lld\n", name, kernel_kind(g, k), (long long)k->range,
            (long long)k->work);
    if (k->kind == CODEGEN_TRANSPOSE) {
        int64_t rows, cols;
        codegen_transpose_dims(root, &rows, &cols);
        fprintf(out, "  for c in [lo, hi), r in [0, %lld):\n    b%d[c, r] = ", (long long)rows, k->slot);
        print_expr(g, plan, -1, k->node, "r, c", out);
        fprintf(out, "\n");
        return;
    }
    if (ir_op_is_conv(m->op)) { /* backend/conv.c describes its tiling */
        int weights = m->op == IR_CONV2D_BWD_WEIGHT, src = plan->slot[ir_resolve_alias(g, m->in[0])];
        struct codegen_conv_tiles t;
        codegen_conv_tiles(g, m, &t);
        if (weights)
            fprintf(out, "  for rows o of dw in [lo, hi): %d x kx in register tiles, acc = sum of fma(dy vector, x vector)"
                    "  ; conv.c\n    over images, rows and columns of b%d and b%d\n", t.channels, src,
                    plan->slot[ir_resolve_alias(g, m->in[1])]);
        else
            fprintf(out, "  for (image, group of %d output row%s %lld apart) in [lo, hi), %lld groups per image: %d channels"
                    " x %d row%s x column vectors in register tiles, acc = sum of fma(weight, pixel vector)  ; conv.c\n"
                    "    over taps and input channels of b%d and b%d%s\n", t.rows, t.rows > 1 ? "s" : "",
                    (long long)t.row_step, (long long)t.groups, t.channels, t.rows, t.rows > 1 ? "s" : "", src,
                    codegen_reads_transposed(m, 1) ? plan->transposed[m->in[1]] : plan->slot[ir_resolve_alias(g, m->in[1])],
                    codegen_reads_transposed(m, 1) ? " (the weight transposed, [C kh kw, O])" : "");
        if (t.pack > 1) fprintf(out, "    each pixel vector holds %d of the rows side by side\n", t.pack);
        if (t.copies > 1) fprintf(out, "    reads b%d from a copy of its rows, each split into %d phases\n", src, t.copies);
        else if (t.copies == 1) fprintf(out, "    reads b%d from a copy of its rows with zeros around\n", src);
        if (k->main < 0) fprintf(out, "    b%d[i] = acc\n", k->slot);
    } else if (m->op == IR_MATMUL) {
        const struct ir_node *a = ir_node_at(g, m->in[0]);
        int nd = m->ndim, ta = (m->flags & IR_TRANS_A) != 0, tb = (m->flags & IR_TRANS_B) != 0;
        char an[32], bn[32]; /* an operand's slot, or its node when computed in place */
        int a_slot = plan->slot[ir_resolve_alias(g, m->in[0])], b_slot = plan->slot[ir_resolve_alias(g, m->in[1])];
        snprintf(an, sizeof an, a_slot >= 0 ? "b%d" : "%%%d", a_slot >= 0 ? a_slot : m->in[0]);
        snprintf(bn, sizeof bn, b_slot >= 0 ? "b%d" : "%%%d", b_slot >= 0 ? b_slot : m->in[1]);
        if (nd == 3)
            fprintf(out, "  ; %lld batches, each a 2-D matmul; i runs over the rows of all of them\n",
                    (long long)m->shape[0]);
        struct codegen_matmul_tile t;
        int64_t kdim = a->shape[ta ? nd - 2 : nd - 1];
        codegen_matmul_tile(m->shape[nd - 2], m->shape[nd - 1], kdim, ta, &t);
        if (t.narrow) {
            fprintf(out, "  for i in [lo, hi), j in [0, %lld) (%s's columns packed as rows):\n", (long long)m->shape[nd - 1], bn);
            fprintf(out, "    acc = 0; for k in [0, %lld) by %d: acc = fma(%s[i, k], %s[%s], acc); lane sum  ; a dot product\n",
                    (long long)kdim, t.lanes, an, bn, tb ? "j, k" : "k, j");
        } else {
            fprintf(out, "  for k in passes of %d, j in [0, %lld) by slabs of <= %d columns (%s packed), i in [lo, hi) by"
                    " blocks of <= %d rows (%s packed), j by %d columns, i by %d rows:\n", t.kc, (long long)m->shape[nd - 1],
                    t.nc, bn, t.mc, an, t.cols, t.rows);
            fprintf(out, "    acc = 0; for k in [0, %lld): acc = fma(%s[%s], %s[%s], acc)  ; %dx%d tile in registers\n",
                    (long long)kdim, an, ta ? "k, i" : "i, k", bn, tb ? "j, k" : "k, j", t.rows, t.cols);
        }
        if (k->main < 0) fprintf(out, "    b%d[i, j] = acc\n", k->slot);
    } else if (ir_op_is_reduction(m->op)) {
        int max = m->op == IR_MAX;
        fprintf(out, "  for o in [lo, hi):\n    acc = %s; for r over axes 0x%x of ", max ? "-inf" : "0", m->axes);
        ir_print_shape(out, ir_node_at(g, m->in[0])->ndim, ir_node_at(g, m->in[0])->shape);
        fprintf(out, ": acc %s ", max ? "= max(acc," : "+=");
        print_expr(g, plan, -1, m->in[0], "o, r", out);
        fprintf(out, "%s  ; %d partial %s, fixed order\n", max ? ")" : "", CODEGEN_SUM_LANES, max ? "maxima" : "sums");
        if (k->main < 0) fprintf(out, "    b%d[o] = acc\n", k->slot);
    } else {
        fprintf(out, "  for i in [lo, hi):\n");
    }
    if (k->main < 0 && (ir_op_kind(m->op) == IR_K_CONTRACTION || ir_op_is_reduction(m->op))) return;
    const char *idx = m->op == IR_MATMUL ? "i, j" : ir_op_is_reduction(m->op) ? "o" : "i";
    for (int r = 0; r < k->n_roots; r++) { /* the epilogue, or the map */
        fprintf(out, "    b%d[%s] = ", k->slot + r, idx);
        print_root(g, plan, k->main, k->roots[r], idx, out);
        fputc('\n', out);
    }
}

/* ---- --emit=dot ---- */


/* Drawn: arguments, and the nodes kernels compute (aliases are drawn as the edges through them). */
static int drawn(const struct ir_graph *g, const int *owner, int id) {
    enum ir_op op = ir_node_at(g, id)->op;
    return op == IR_INPUT || op == IR_PARAM || (owner[id] >= 0 && !ir_op_is_alias(ir_node_at(g, id)->op));
}

static void print_node_label(const struct ir_graph *g, int id, FILE *out) {
    const struct ir_node *n = ir_node_at(g, id);
    if (n->op == IR_INPUT || n->op == IR_PARAM) fprintf(out, "%s\\n", n->name);
    else fprintf(out, "%%%d %s\\n", id, ir_op_name(n->op));
    ir_print_shape(out, n->ndim, n->shape);
}

static void print_dot(const struct ir_graph *g, const struct codegen_plan *plan, const int *owner, FILE *out) {
    fprintf(out, "digraph ebmc {\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for (int id = 0; id < g->n_nodes; id++) {
        if (!drawn(g, owner, id) || owner[id] >= 0) continue;
        fprintf(out, "  n%d [shape=ellipse, label=\"", id);
        print_node_label(g, id, out);
        fprintf(out, "\"];\n");
    }
    for (int ki = 0; ki < plan->n_kernels; ki++) {
        const struct codegen_kernel *k = &plan->kernels[ki];
        if (k->kind != CODEGEN_NODE) continue; /* a transpose is drawn as its edge's label */
        char name[32];
        codegen_kernel_name(name, sizeof name, "", k);
        fprintf(out, "  subgraph cluster_%d {\n    label=\"%s %s\"; style=rounded; color=\"#4060a0\";\n", ki, name,
                kernel_kind(g, k));
        for (int id = 0; id < g->n_nodes; id++) {
            if (owner[id] != ki || !drawn(g, owner, id)) continue;
            fprintf(out, "    n%d [label=\"", id);
            print_node_label(g, id, out);
            fprintf(out, "\"%s];\n", plan->slot[id] >= 0 ? ", style=bold" : ", style=dashed");
        }
        fprintf(out, "  }\n");
    }
    for (int id = 0; id < g->n_nodes; id++) {
        const struct ir_node *n = ir_node_at(g, id);
        if (!drawn(g, owner, id)) continue;
        for (int i = 0; i < ir_op_arity(n->op); i++) {
            int x = ir_resolve_alias(g, n->in[i]);
            if (!drawn(g, owner, x)) continue;
            int transposed = codegen_reads_transposed(n, i);
            fprintf(out, "  n%d -> n%d%s;\n", x, id, transposed ? " [label=\"T\"]" : "");
        }
    }
    for (int i = 0; i < g->n_outputs; i++)
        fprintf(out, "  out%d [shape=note, label=\"%s\"];\n  n%d -> out%d;\n", i, g->outputs[i].name,
                ir_resolve_alias(g, g->outputs[i].node), i);
    fprintf(out, "}\n");
}

/* ---- --emit=profile ---- */

#define PROFILE_RUNS 21

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Every argument filled with small positive pseudo-random numbers (a square root or log of one stays
 * finite), the same for every run. */
static float **profile_args(const struct ir_graph *g, int n_args) {
    int *ids = malloc(sizeof(int) * ((size_t)n_args + 1));
    float **args = calloc((size_t)n_args + 1, sizeof *args);
    int ok = ids && args;
    if (ok) ir_graph_args(g, ids);
    uint64_t s = 88172645463325252ull;
    for (int i = 0; ok && i < n_args; i++) {
        int64_t n = ir_node_numel(ir_node_at(g, ids[i]));
        ok = (args[i] = malloc(sizeof(float) * (size_t)n)) != NULL;
        for (int64_t j = 0; ok && j < n; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            args[i][j] = 0.01f + 0.1f * (float)(s >> 40) / 16777216.0f;
        }
    }
    free(ids);
    if (!ok && args) {
        for (int i = 0; i < n_args; i++) free(args[i]);
        free(args);
        args = NULL;
    }
    return args;
}

static int print_profile(const struct ir_graph *g, const struct codegen_plan *plan, FILE *out, char *err,
                         size_t errlen) {
    struct jit_options cold = {.opt_level = 3, .no_cache_read = 1}; /* so that every kernel's compile is timed */
    struct jit_program *p = jit_compile(g, &cold, err, errlen);
    if (!p) return -1;
    int n_args = ir_graph_args(g, NULL), nk = plan->n_kernels;
    float **args = profile_args(g, n_args);
    double *sum = calloc((size_t)nk + 1, sizeof *sum), *runs = malloc(sizeof(double) * PROFILE_RUNS * ((size_t)nk + 1));
    int rc = -1;
    if (!args || !sum || !runs) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    jit_run_timed(p, args, sum); /* warm-up: page faults, caches */
    for (int r = 0; r < PROFILE_RUNS; r++) {
        memset(sum, 0, sizeof(double) * (size_t)nk);
        jit_run_timed(p, args, sum);
        for (int i = 0; i < nk; i++) runs[(size_t)i * PROFILE_RUNS + (size_t)r] = sum[i];
    }
    double total = 0;
    for (int i = 0; i < nk; i++) {
        qsort(&runs[(size_t)i * PROFILE_RUNS], PROFILE_RUNS, sizeof(double), cmp_double);
        total += runs[(size_t)i * PROFILE_RUNS + PROFILE_RUNS / 2];
    }
    double compile = 0;
    for (int i = 0; i < nk; i++) compile += jit_kernel_compile_seconds(p, i);
    fprintf(out, "; %d kernels on one thread, median of %d runs on made-up inputs: %.1f us in all\n", nk, PROFILE_RUNS,
            1e6 * total);
    fprintf(out, "; compiled in %.0f ms of LLVM's time, kernel by kernel (compile ms); %d distinct bodies (a kernel\n"
            ";   whose body an earlier kernel's equals shows only the time to build it)\n", 1e3 * compile,
            jit_get_stats(p)->n_bodies);
    fprintf(out, "; kernel kind               work       time us  share  work/ns  compile ms\n");
    for (int i = 0; i < nk; i++) {
        const struct codegen_kernel *k = &plan->kernels[i];
        char name[32];
        codegen_kernel_name(name, sizeof name, "", k);
        double t = runs[(size_t)i * PROFILE_RUNS + PROFILE_RUNS / 2];
        fprintf(out, "%-8s %-16s %10lld %10.1f %5.1f%% %8.2f %11.1f\n", name, kernel_kind(g, k), (long long)k->work,
                1e6 * t, total > 0 ? 100 * t / total : 0.0, t > 0 ? 1e-9 * (double)k->work / t : 0.0,
                1e3 * jit_kernel_compile_seconds(p, i));
    }
    rc = 0;
done:
    for (int i = 0; args && i < n_args; i++) free(args[i]);
    free(args), free(sum), free(runs);
    jit_free(p);
    return rc;
}

int jit_print_plan(const struct ir_graph *g, enum jit_plan_format format, FILE *out, char *err, size_t errlen) {
    if (ir_verify(g, err, errlen) != 0) return -1;
    struct codegen_plan plan;
    if (codegen_plan(g, NULL, &plan, err, errlen) != 0) return -1;
    int *owner = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!owner) {
        codegen_plan_free(&plan);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    kernel_owners(g, &plan, owner);
    if (format == JIT_PLAN_FUSED) {
        fprintf(out, "; %d kernels; buffers b0..b%d are arguments; arena %lld bytes (%lld without reuse)\n",
                plan.n_kernels, plan.n_args - 1, (long long)plan.arena_bytes, (long long)plan.unplanned_bytes);
        print_fused(g, &plan, owner, out);
    } else if (format == JIT_PLAN_KERNELS) {
        for (int ki = 0; ki < plan.n_kernels; ki++) print_kernel_loops(g, &plan, &plan.kernels[ki], out);
    } else if (format == JIT_PLAN_PROFILE) {
        int rc = print_profile(g, &plan, out, err, errlen);
        free(owner);
        codegen_plan_free(&plan);
        return rc;
    } else {
        print_dot(g, &plan, owner, out);
    }
    free(owner);
    codegen_plan_free(&plan);
    return 0;
}
