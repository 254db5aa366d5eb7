/* pass.c: the pass registry, pipelines with --print-after, the helpers passes share, and cse. */
#include "pass.h"

#include <stdlib.h>
#include <string.h>

static const struct pass_info passes[] = {
    {"simplify", "fold constants and apply algebraic identities (x*1, x+0, x*0, neg(neg x), ...)", pass_simplify},
    {"cse", "merge equal nodes (rebuild through hash-consing; add/mul operands in id order)", pass_cse},
    {"dce", "drop nodes no output needs (arguments stay)", pass_dce},
};

int pass_count(void) { return (int)(sizeof passes / sizeof passes[0]); }
const struct pass_info *pass_at(int i) { return i >= 0 && i < pass_count() ? &passes[i] : NULL; }

const struct pass_info *pass_find(const char *name) {
    for (int i = 0; i < pass_count(); i++)
        if (strcmp(passes[i].name, name) == 0) return &passes[i];
    return NULL;
}

/* ---- helpers ---- */

int pass_copy_node(struct ir_graph *g, const struct ir_node *n, const int *map) {
    struct ir_node c = *n;
    for (int i = 0; i < ir_op_arity(n->op); i++) c.in[i] = map[n->in[i]];
    return ir_node_add(g, &c);
}

int pass_copy_outputs(const struct ir_graph *in, struct ir_graph *out, const int *map) {
    for (int i = 0; i < in->n_outputs; i++)
        if (ir_graph_output(out, in->outputs[i].name, map[in->outputs[i].node]) != 0) return -1;
    return 0;
}

struct ir_graph *pass_rewrite(const struct ir_graph *in, const char *who, const char *keep, pass_rewrite_fn rewrite,
                              void *ctx, char *err, size_t errlen) {
    struct ir_graph *g = ir_graph_new();
    int *map = malloc(sizeof(int) * ((size_t)in->n_nodes + 1));
    if (!g || !map) {
        snprintf(err, errlen, "%s: out of memory", who);
        goto fail;
    }
    for (int id = 0; id < in->n_nodes; id++) {
        map[id] = -1;
        if (keep && !keep[id]) continue;
        struct ir_node n = in->nodes[id];
        for (int i = 0; i < ir_op_arity(n.op); i++) n.in[i] = map[n.in[i]];
        if ((map[id] = rewrite(g, n, id, ctx)) < 0) {
            snprintf(err, errlen, "%s: %%%d: %s", who, id, ir_graph_error(g));
            goto fail;
        }
    }
    if (pass_copy_outputs(in, g, map) != 0) {
        snprintf(err, errlen, "%s: %s", who, ir_graph_error(g));
        goto fail;
    }
    free(map);
    return g;
fail:
    free(map);
    ir_graph_free(g);
    return NULL;
}

static int copy_node(struct ir_graph *g, struct ir_node n, int id, void *ctx) { return ir_node_add(g, &n); }

/* a+b and b+a are the same IEEE value (IR_P_COMMUTES), so one operand order lets hash-consing merge them. */
static int cse_node(struct ir_graph *g, struct ir_node n, int id, void *ctx) {
    if (ir_op_commutes(n.op) && n.in[0] > n.in[1]) {
        int t = n.in[0];
        n.in[0] = n.in[1];
        n.in[1] = t;
    }
    return ir_node_add(g, &n);
}

struct ir_graph *pass_cse(const struct ir_graph *in, char *err, size_t errlen) {
    return pass_rewrite(in, "cse", NULL, cse_node, NULL, err, errlen);
}

/* ---- pipelines ---- */

/* The next comma-separated name of list at *pos, trimmed, into buf. Returns 1, 0 at the end, -1 if the
 * name is empty or too long. */
static int next_name(const char *list, size_t *pos, char *buf, size_t len) {
    if (!list[*pos]) return 0;
    const char *s = list + *pos, *comma = strchr(s, ',');
    size_t n = comma ? (size_t)(comma - s) : strlen(s);
    *pos += n + (comma ? 1 : 0);
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0 || n >= len) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return 1;
}

static void list_passes(char *buf, size_t len) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < pass_count() && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", passes[i].name);
}

/* Checks that every name of a comma-separated list is a pass; ends with '\0' after a trailing comma too. */
static int check_list(const char *list, const char *what, char *err, size_t errlen) {
    size_t pos = 0;
    char name[64], have[256];
    int r;
    while ((r = next_name(list, &pos, name, sizeof name)) > 0)
        if (!pass_find(name)) {
            list_passes(have, sizeof have);
            snprintf(err, errlen, "unknown pass '%s' in %s (have: %s)", name, what, have);
            return -1;
        }
    if (r < 0 || (pos > 0 && list[pos - 1] == ',')) {
        snprintf(err, errlen, "empty pass name in %s '%s'", what, list);
        return -1;
    }
    return 0;
}

static int in_list(const char *list, const char *name) {
    size_t pos = 0;
    char buf[64];
    if (!list) return 0;
    while (next_name(list, &pos, buf, sizeof buf) > 0)
        if (strcmp(buf, name) == 0) return 1;
    return 0;
}

struct ir_graph *pass_run_pipeline(const struct ir_graph *in, const char *pipeline, const char *print_after,
                                   FILE *out, char *err, size_t errlen) {
    if (!pipeline) pipeline = "";
    if (check_list(pipeline, "the pipeline", err, errlen) != 0) return NULL;
    if (print_after && check_list(print_after, "--print-after", err, errlen) != 0) return NULL;
    if (print_after) {
        size_t pos = 0;
        char name[64];
        while (next_name(print_after, &pos, name, sizeof name) > 0)
            if (!in_list(pipeline, name)) {
                snprintf(err, errlen, "--print-after: pass '%s' is not in the pipeline '%s'", name, pipeline);
                return NULL;
            }
    }
    struct ir_graph *g = pass_rewrite(in, "copy", NULL, copy_node, NULL, err, errlen);
    size_t pos = 0;
    char name[64], why[512];
    while (g && next_name(pipeline, &pos, name, sizeof name) > 0) {
        const struct pass_info *p = pass_find(name);
        struct ir_graph *next = p->run(g, err, errlen);
        ir_graph_free(g);
        g = next;
        if (!g) break;
        if (ir_verify(g, why, sizeof why) != 0) {
            snprintf(err, errlen, "pass '%s' produced an invalid graph: %s", name, why);
            ir_graph_free(g);
            return NULL;
        }
        if (in_list(print_after, name) && out) {
            fprintf(out, "; after %s\n", name);
            ir_print(g, out);
        }
    }
    return g;
}
