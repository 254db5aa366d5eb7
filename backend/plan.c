/* plan.c: what the kernels of a program are and where their values live, decided before any LLVM IR is
 * built. Two jobs:
 *
 * Fusion. A node is either stored (it has a buffer slot) or inlined: computed inside the kernel of its
 * consumer, from its own inputs, at the index the consumer asks for (codegen.c's emit_value). An
 * elementwise or movement node is inlined when exactly one node consumes it and that consumer reads each
 * of its elements once, so nothing is ever computed twice: a broadcast re-reads its input and a matmul
 * re-reads both operands, so their operands are stored. A broadcast itself is only index arithmetic and
 * may be inlined into any number of consumers.
 *
 * A kernel may store several values (its roots), all at the same flat index: a group. A sum or matmul
 * consumed only by elementwise nodes becomes the main loop of the group of those nodes, which runs as
 * its epilogue on each finished value (bias and activation; Adam's m, v and parameter from one gradient),
 * so the sum or matmul needs no buffer of its own. Stored elementwise nodes that read a group's values at
 * the same index join it, up to the first node outside the group that reads one of its values: the group
 * runs where its last root is, so everything it writes must still be unread before then.
 *
 * Memory planning. Program-owned slots are placed in one arena by liveness: a slot is live from the
 * kernel that writes it to the last kernel that reads it (outputs: to the end), and the next slot to be
 * written takes the lowest arena offset that overlaps no live slot (first fit). Kernels run one after
 * another (the runner waits for every chunk of a kernel before the next starts), so a slot freed after
 * kernel i can be reused by kernel i + 1. */
#include "codegen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ops that emit_compute evaluates element by element from their inputs. */
static int is_inlinable(enum ir_op op) { return ir_op_is_elementwise(op) || ir_op_kind(op) == IR_K_MOVEMENT; }

/* Consumers that read an operand element more than once per output element (IR_P_REREADS) have their
 * operands stored. Pad and concat read an operand at a clamped index where the output is padding or the
 * other operand's (ir.h). (Inlining movement operands into pad and concat anyway made conv2d's im2col
 * one kernel instead of 18, with 2.3x less memory, but 1.4x slower: every element then unravels its
 * index and evaluates all nine slices.) */

/* conv2d_bwd_data reads its weight [O, C, kh, kw] as [C kh kw, O], from a transposed copy a transpose
 * kernel stores once. (Matmuls read transposed operands in place: their packing copies them anyway,
 * matmul.c. Before the packing they read transposed copies too, which took 7% of an MLP training step
 * and a fifth of its compile time.) */
int codegen_reads_transposed(const struct ir_node *n, int operand) { return n->op == IR_CONV2D_BWD_DATA && operand == 1; }

void codegen_transpose_dims(const struct ir_node *x, int64_t *rows, int64_t *cols) {
    *rows = x->shape[0];
    *cols = ir_node_numel(x) / *rows;
}

/* Per-node facts about consumers, seen through aliases (a reshape's consumers are its input's). */
struct uses {
    int *count;      /* distinct consuming nodes */
    char *is_output; /* the node, or an alias of it, is a graph output */
    char *reread;    /* some consumer re-reads its elements */
};

static void count_uses(const struct ir_graph *g, struct uses *u) {
    for (int i = 0; i < g->n_outputs; i++) u->is_output[g->outputs[i].node] = 1;
    /* Downward: every consumer (a higher id) has reported to a node before the node reports on. */
    for (int id = g->n_nodes - 1; id >= 0; id--) {
        const struct ir_node *n = ir_node_at(g, id);
        /* An operand used twice (mul(a, a)) counts twice: emit_value would compute an inlined one twice. */
        for (int i = 0; i < ir_op_arity(n->op); i++) {
            int x = n->in[i];
            if (ir_op_is_alias(n->op)) {
                u->count[x] += u->count[id];
                u->is_output[x] |= u->is_output[id];
                u->reread[x] |= u->reread[id];
            } else {
                u->count[x] += 1;
                u->reread[x] |= ir_op_rereads(n->op);
            }
        }
    }
}

/* Whether node id, an inlinable node, is inlined into its consumers. */
static int inline_node(const struct ir_graph *g, const struct uses *u, int id) {
    const struct ir_node *n = ir_node_at(g, id);
    if (u->is_output[id] || u->reread[id]) return 0;
    return n->op == IR_BROADCAST || u->count[id] <= 1;
}

static int64_t op_cost(enum ir_op op) {
    static const int64_t units[] = {[IR_C_FREE] = 0, [IR_C_CHEAP] = 1, [IR_C_TRANSC] = 8};
    _Static_assert(sizeof units / sizeof units[0] == IR_C_TRANSC + 1, "a cost class without units");
    return units[ir_op_cost(op)];
}

/* Estimated work of one element of node id, computed from its inlined tree: one unit per op, eight per
 * transcendental. Stored nodes and the main loop's value cost nothing, except the kernel's own root
 * (root = 1), which is stored but computed here. */
static int64_t inline_cost(const struct codegen_plan *plan, const struct ir_graph *g, int id, int main, int root) {
    const struct ir_node *n = ir_node_at(g, id);
    if (!root && (plan->slot[id] >= 0 || id == main || n->op == IR_CONST)) return 0;
    int64_t cost = op_cost(n->op);
    for (int i = 0; i < ir_op_arity(n->op); i++) cost += inline_cost(plan, g, n->in[i], main, 0);
    return cost;
}

/* Whether node id reads (through aliases) a node marked in `set`. */
static int reads_any(const struct ir_graph *g, int id, const char *set) {
    const struct ir_node *n = ir_node_at(g, id);
    for (int i = 0; i < ir_op_arity(n->op); i++)
        if (set[ir_resolve_alias(g, n->in[i])]) return 1;
    return 0;
}

struct group {
    int main; /* the sum or matmul whose loop the kernel runs, or -1 */
    int n_roots;
    int roots[CODEGEN_MAX_ROOTS]; /* ascending ids */
};

/* Grows the group led by node `lead` (a sum or matmul to become its main loop, or a stored elementwise
 * node, its first root): the elementwise nodes after it that read its values at the same flat index, up
 * to the first node outside that reads any of them. A main loop's value, and any inlined node computed
 * from it, must be read inside the group only. Returns 0 and fills grp, or -1 if there is no group (the
 * leader keeps a kernel of its own). */
static int grow_group(const struct ir_graph *g, const struct codegen_plan *plan, const int *claimed, int lead,
                      char *in, char *needs_main, struct group *grp) {
    int n = g->n_nodes, is_main = !ir_op_is_elementwise(ir_node_at(g, lead)->op);
    int64_t numel = ir_node_numel(ir_node_at(g, lead));
    memset(in, 0, (size_t)n);
    memset(needs_main, 0, (size_t)n);
    in[lead] = 1;
    needs_main[lead] = (char)is_main;
    grp->main = is_main ? lead : -1;
    grp->n_roots = 0;
    if (!is_main) grp->roots[grp->n_roots++] = lead;
    int end = lead + 1;
    for (; end < n; end++) {
        const struct ir_node *x = ir_node_at(g, end);
        if (ir_op_is_alias(x->op) || !reads_any(g, end, in)) continue;
        int stored = plan->slot[end] >= 0;
        if (!ir_op_is_elementwise(x->op) || ir_node_numel(x) != numel || claimed[end] >= 0 ||
            (stored && grp->n_roots == CODEGEN_MAX_ROOTS))
            break; /* the first reader outside: the group ends before it */
        in[end] = 1;
        needs_main[end] = (char)(!stored && reads_any(g, end, needs_main));
        if (stored) grp->roots[grp->n_roots++] = end;
    }
    /* Nodes from `end` on are outside. An inlined node they read is computed in their kernel: fine if it
     * only reads stored values, impossible if it needs the main loop's. */
    for (int id = end; id < n; id++)
        if (!ir_op_is_alias(ir_node_at(g, id)->op) && reads_any(g, id, needs_main)) return -1;
    return grp->n_roots > (is_main ? 0 : 1) ? 0 : -1;
}

/* Drops the roots of an epilogue that only its own group reads and that are no output: its nodes compute
 * them where they read them (one expression, which LLVM computes once). A SiLU layer's pre-activation x,
 * read by sigmoid(x) and by x sigmoid(x), was stored for nothing: a third of the epilogue's stores. */
static void drop_private_roots(const struct ir_graph *g, const struct uses *u, struct codegen_plan *plan,
                               struct group *grp, const char *in) {
    int kept = 0;
    for (int r = 0; r < grp->n_roots; r++) {
        int id = grp->roots[r], private = !u->is_output[id] && (kept > 0 || r < grp->n_roots - 1);
        for (int x = id + 1; x < g->n_nodes && private; x++) {
            const struct ir_node *n = ir_node_at(g, x);
            if (in[x] || ir_op_is_alias(n->op)) continue;
            for (int i = 0; i < ir_op_arity(n->op); i++) private &= ir_resolve_alias(g, n->in[i]) != id;
        }
        if (private) plan->slot[id] = -1;
        else grp->roots[kept++] = id;
    }
    grp->n_roots = kept;
}

/* Decides, for every node, whether it is stored (slot >= 0, or pending: 1 here, numbered below) or
 * inlined, and which nodes share a kernel (group_of: the group's index, -1 for a kernel of its own). */
static int choose_fusion(const struct ir_graph *g, const struct uses *u, struct codegen_plan *plan, int *group_of,
                         struct group *groups, int *n_groups) {
    int n = g->n_nodes;
    for (int id = 0; id < n; id++) {
        const struct ir_node *x = ir_node_at(g, id);
        group_of[id] = -1;
        if (x->op == IR_CONST) plan->slot[id] = -1;
        else if (ir_op_is_alias(x->op)) plan->slot[id] = plan->slot[x->in[0]]; /* pending or -1, as its input */
        else plan->slot[id] = is_inlinable(x->op) && inline_node(g, u, id) ? -1 : 1;
    }
    char *in = malloc((size_t)n + 1), *needs_main = malloc((size_t)n + 1);
    if (!in || !needs_main) {
        free(in), free(needs_main);
        return -1;
    }
    /* Main loops lead first, so an epilogue goes to the sum or matmul it reads rather than being joined to
     * some earlier elementwise group; then stored elementwise nodes lead what is left. */
    for (int pass = 0; pass < 2; pass++)
        for (int id = 0; id < n; id++) {
            enum ir_op op = ir_node_at(g, id)->op;
            int main_loop = (ir_op_is_reduction(op) || ir_op_kind(op) == IR_K_CONTRACTION) && !u->is_output[id];
            if (group_of[id] >= 0 || plan->slot[id] < 0 || !(pass == 0 ? main_loop : ir_op_is_elementwise(op))) continue;
            struct group *grp = &groups[*n_groups];
            if (grow_group(g, plan, group_of, id, in, needs_main, grp) != 0) continue;
            for (int x = id; x < n; x++)
                if (in[x]) group_of[x] = *n_groups;
            if (grp->main >= 0) {
                plan->slot[grp->main] = -1;
                drop_private_roots(g, u, plan, grp, in);
            }
            ++*n_groups;
        }
    free(in), free(needs_main);
    return 0;
}

/* ---- kernels and what they read ---- */

/* Whether n, an add or a mul, computes in[1] op in[0] instead: operands ordered by their op (a constant
 * last), then by age, so that two kernels that compute the same thing print the same (jit.c shares
 * their code) whichever order the graph's builders chose. Both ops commute in floating point, bit for
 * bit. */
int codegen_swaps_operands(const struct ir_graph *g, const struct ir_node *n) {
    if (n->op != IR_ADD && n->op != IR_MUL) return 0;
    enum ir_op a = ir_node_at(g, n->in[0])->op, b = ir_node_at(g, n->in[1])->op;
    if ((a == IR_CONST) != (b == IR_CONST)) return a == IR_CONST;
    return a != b ? a > b : n->in[0] > n->in[1];
}

/* The slots a kernel reads, each once, in the order its computation first reads them. */
struct reads {
    char *used;
    int *order, n;
};

static void mark_slot(struct reads *r, int slot) {
    if (r->used[slot]) return;
    r->used[slot] = 1;
    if (r->order) r->order[r->n] = slot;
    r->n++;
}

static void mark_operands(const struct ir_graph *g, const struct codegen_plan *plan, int id, struct reads *r);

static void mark_value(const struct ir_graph *g, const struct codegen_plan *plan, int id, struct reads *r) {
    if (plan->slot[id] >= 0) mark_slot(r, plan->slot[id]);
    else mark_operands(g, plan, id, r); /* inlined, or the kernel's main loop: its operands */
}

/* Marks the slots that computing node id in place reads (for main: its operands). */
static void mark_operands(const struct ir_graph *g, const struct codegen_plan *plan, int id, struct reads *r) {
    const struct ir_node *n = ir_node_at(g, id);
    int swap = codegen_swaps_operands(g, n); /* in the order codegen.c computes them */
    for (int i = 0; i < ir_op_arity(n->op); i++) {
        int in = swap ? n->in[!i] : n->in[i];
        if (codegen_reads_transposed(n, i)) mark_slot(r, plan->transposed[in]);
        else mark_value(g, plan, in, r);
    }
}

int codegen_kernel_reads(const struct ir_graph *g, const struct codegen_plan *plan, const struct codegen_kernel *k,
                         char *used, int *order) {
    memset(used, 0, (size_t)plan->n_slots);
    struct reads r = {used, order, 0};
    if (k->kind == CODEGEN_TRANSPOSE) {
        mark_value(g, plan, k->node, &r);
        return order ? r.n : 0;
    }
    for (int i = 0; i < k->n_roots; i++) mark_operands(g, plan, k->roots[i], &r);
    /* A later root reads an earlier one as the value just computed, not from its buffer. */
    for (int i = 0; i < k->n_roots; i++) used[plan->slot[k->roots[i]]] = 0;
    int n = 0;
    for (int i = 0; order && i < r.n; i++)
        if (used[order[i]]) order[n++] = order[i];
    return n;
}

static struct codegen_kernel *add_kernel(struct codegen_plan *plan, enum codegen_kernel_kind kind, int node,
                                         int main, int64_t numel, int64_t range, int64_t work) {
    struct codegen_kernel *k = &plan->kernels[plan->n_kernels++];
    k->kind = kind;
    k->node = node;
    k->main = main;
    k->range = range;
    k->work = work;
    k->n_roots = 1;
    k->roots[0] = node;
    k->slot = plan->n_slots++;
    plan->slot_numel[k->slot] = numel;
    return k;
}

/* Adds the transpose kernel of operand i of x if x reads it transposed and no kernel stores it yet. */
static void plan_transposed(const struct ir_graph *g, struct codegen_plan *plan, const struct ir_node *x, int i) {
    if (!codegen_reads_transposed(x, i) || plan->transposed[x->in[i]] >= 0) return;
    const struct ir_node *op = ir_node_at(g, x->in[i]);
    int64_t rows, cols; /* the kernel's parallel axis: the rows of the copy, the columns of op */
    codegen_transpose_dims(op, &rows, &cols);
    plan->transposed[x->in[i]] = add_kernel(plan, CODEGEN_TRANSPOSE, x->in[i], -1, ir_node_numel(op), cols, ir_node_numel(op))->slot;
}

/* A kernel storing the roots of grp (or the single node grp->roots[0], main -1). */
static void add_group_kernel(const struct ir_graph *g, struct codegen_plan *plan, const struct group *grp) {
    int first = grp->roots[0], main = grp->main, m = main >= 0 ? main : first;
    const struct ir_node *x = ir_node_at(g, m);
    int64_t numel = ir_node_numel(ir_node_at(g, first)), range = numel, epilogue = 0, work;
    if (main >= 0 || !(ir_op_is_reduction(x->op) || ir_op_kind(x->op) == IR_K_CONTRACTION)) /* has an epilogue */
        for (int r = 0; r < grp->n_roots; r++) epilogue += numel * inline_cost(plan, g, grp->roots[r], main, 1);
    if (ir_op_is_reduction(x->op)) {
        work = ir_node_numel(ir_node_at(g, x->in[0])) * (1 + inline_cost(plan, g, x->in[0], -1, 0));
    } else if (x->op == IR_MATMUL) {
        const struct ir_node *a = ir_node_at(g, x->in[0]);
        int nd = x->ndim; /* 3: batched, its rows those of every batch */
        range = numel / x->shape[nd - 1];
        work = numel * a->shape[(x->flags & IR_TRANS_A) ? nd - 2 : nd - 1];
    } else if (ir_op_is_conv(x->op)) {
        plan_transposed(g, plan, x, 1);
        codegen_conv_plan(g, x, &range, &work);
    } else {
        work = 0; /* the roots' own cost: all epilogue */
    }
    struct codegen_kernel *k = add_kernel(plan, CODEGEN_NODE, first, main, numel, range, work + epilogue);
    k->n_roots = grp->n_roots;
    for (int r = 0; r < grp->n_roots; r++) {
        k->roots[r] = grp->roots[r];
        if (r > 0) plan->slot_numel[plan->n_slots++] = numel;
        plan->slot[grp->roots[r]] = k->slot + r;
    }
}

/* ---- memory planning ---- */

#define ALIGN_BYTES 64

static int64_t slot_bytes(const struct codegen_plan *plan, int s) {
    return (plan->slot_numel[s] * (int64_t)sizeof(float) + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
}

/* The lowest offset where `bytes` fits between the live slots (first fit). */
static int64_t first_fit(const struct codegen_plan *plan, const char *live, int64_t bytes) {
    int64_t offset = 0;
    for (int moved = 1; moved;) {
        moved = 0;
        for (int s = plan->n_args; s < plan->n_slots; s++) {
            if (!live[s]) continue;
            int64_t lo = plan->slot_offset[s], hi = lo + slot_bytes(plan, s);
            if (offset < hi && lo < offset + bytes) {
                offset = hi;
                moved = 1;
            }
        }
    }
    return offset;
}

static int plan_memory(const struct ir_graph *g, struct codegen_plan *plan, int reuse) {
    int ns = plan->n_slots, nk = plan->n_kernels;
    int *last = malloc(sizeof(int) * (size_t)(ns + 1));
    char *used = malloc((size_t)ns + 1), *live = calloc((size_t)ns + 1, 1);
    if (!last || !used || !live) {
        free(last), free(used), free(live);
        return -1;
    }
    for (int s = 0; s < ns; s++) last[s] = -1;
    for (int i = 0; i < nk; i++) {
        codegen_kernel_reads(g, plan, &plan->kernels[i], used, NULL);
        for (int s = 0; s < ns; s++)
            if (used[s]) last[s] = i;
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int s = plan->slot[g->outputs[i].node];
        if (s >= 0) last[s] = nk; /* copied out after the last kernel */
    }
    plan->arena_bytes = plan->unplanned_bytes = 0;
    for (int i = 0; i < nk; i++) {
        for (int r = 0; r < plan->kernels[i].n_roots; r++) { /* a kernel's roots: consecutive slots */
            int s = plan->kernels[i].slot + r;
            int64_t bytes = slot_bytes(plan, s);
            plan->slot_offset[s] = reuse ? first_fit(plan, live, bytes) : plan->unplanned_bytes;
            plan->unplanned_bytes += bytes;
            if (plan->slot_offset[s] + bytes > plan->arena_bytes) plan->arena_bytes = plan->slot_offset[s] + bytes;
            live[s] = 1;
        }
        for (int t = plan->n_args; t < ns; t++)
            if (live[t] && last[t] <= i) live[t] = 0;
    }
    free(last), free(used), free(live);
    return 0;
}

/* ---- the plan ---- */

int codegen_plan(const struct ir_graph *g, const struct codegen_options *opts, struct codegen_plan *plan, char *err,
                 size_t errlen) {
    memset(plan, 0, sizeof *plan);
    int n = g->n_nodes, n_groups = 0;
    size_t cap = 2 * (size_t)n + 1; /* slots and kernels: a node's own, plus at most one transpose */
    struct uses u = {calloc((size_t)n + 1, sizeof(int)), calloc((size_t)n + 1, 1), calloc((size_t)n + 1, 1)};
    int *group_of = malloc(sizeof(int) * ((size_t)n + 1));
    struct group *groups = malloc(sizeof *groups * ((size_t)n + 1));
    plan->n_nodes = n;
    plan->slot = malloc(sizeof(int) * ((size_t)n + 1));
    plan->transposed = malloc(sizeof(int) * ((size_t)n + 1));
    plan->slot_numel = malloc(sizeof(int64_t) * cap);
    plan->slot_offset = calloc(cap, sizeof(int64_t));
    plan->kernels = malloc(sizeof(struct codegen_kernel) * cap);
    int ok = u.count && u.is_output && u.reread && group_of && groups && plan->slot && plan->transposed &&
             plan->slot_numel && plan->slot_offset && plan->kernels;
    if (ok) {
        count_uses(g, &u);
        if (!opts || !opts->no_fusion) {
            ok = choose_fusion(g, &u, plan, group_of, groups, &n_groups) == 0;
        } else {
            for (int id = 0; id < n; id++) {
                const struct ir_node *x = ir_node_at(g, id);
                group_of[id] = -1;
                plan->slot[id] = x->op == IR_CONST || (ir_op_is_alias(x->op) && plan->slot[x->in[0]] < 0) ? -1 : 1;
            }
        }
    }
    if (ok) {
        for (int id = 0; id < n; id++) {
            const struct ir_node *x = ir_node_at(g, id);
            plan->transposed[id] = -1;
            /* Argument slots come first, in node order, which is ir_graph_args() order. */
            if (x->op == IR_INPUT || x->op == IR_PARAM) {
                plan->slot_numel[plan->n_slots] = ir_node_numel(x);
                plan->slot[id] = plan->n_slots++;
            }
        }
        plan->n_args = plan->n_slots;
        /* Kernels in node order; a group's runs where its last root is. */
        for (int id = 0; id < n; id++) {
            const struct ir_node *x = ir_node_at(g, id);
            if (x->op == IR_INPUT || x->op == IR_PARAM || ir_op_is_alias(x->op) || plan->slot[id] < 0) continue;
            const struct group *grp = group_of[id] >= 0 ? &groups[group_of[id]] : NULL;
            struct group single = {-1, 1, {id}};
            if (!grp) add_group_kernel(g, plan, &single);
            else if (grp->roots[grp->n_roots - 1] == id) add_group_kernel(g, plan, grp);
        }
        /* Reshape and stop_grad share their input's slot: same elements, same order. */
        for (int id = 0; id < n; id++)
            if (ir_op_is_alias(ir_node_at(g, id)->op)) plan->slot[id] = plan->slot[ir_node_at(g, id)->in[0]];
        ok = plan_memory(g, plan, !opts || !opts->no_memory_planning) == 0;
    }
    free(u.count), free(u.is_output), free(u.reread), free(group_of), free(groups);
    if (!ok) {
        codegen_plan_free(plan);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void codegen_plan_free(struct codegen_plan *plan) {
    free(plan->slot);
    free(plan->transposed);
    free(plan->slot_numel);
    free(plan->slot_offset);
    free(plan->kernels);
    memset(plan, 0, sizeof *plan);
}

void codegen_kernel_name(char *buf, size_t len, const char *prefix, const struct codegen_kernel *k) {
    snprintf(buf, len, "%s%c%d", prefix, k->kind == CODEGEN_TRANSPOSE ? 't' : 'k', k->node);
}

/* ---- the runner's view of a plan ---- */

static int describe_tensor(struct ebmc_aot_tensor *t, const struct ir_graph *g, const char *name, int id, int slot) {
    const struct ir_node *n = ir_node_at(g, id);
    t->name = strdup(name);
    t->slot = slot;
    t->ndim = n->ndim;
    for (int d = 0; d < n->ndim; d++) t->shape[d] = n->shape[d];
    if (slot < 0) { /* a constant output, perhaps reshaped */
        while (ir_node_at(g, id)->op != IR_CONST) id = ir_node_at(g, id)->in[0];
        t->value = (float)ir_node_at(g, id)->value;
    }
    return t->name ? 0 : -1;
}

int codegen_describe(const struct ir_graph *g, const struct codegen_plan *plan, const char *name,
                     struct ebmc_aot_program *d) {
    memset(d, 0, sizeof *d);
    int n_args = ir_graph_args(g, NULL);
    int *ids = malloc(sizeof(int) * ((size_t)n_args + 1));
    struct ebmc_aot_tensor *args = calloc((size_t)n_args + 1, sizeof *args);
    struct ebmc_aot_tensor *outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
    int64_t *offsets = calloc((size_t)plan->n_slots + 1, sizeof *offsets);
    struct ebmc_aot_kernel *kernels = calloc((size_t)plan->n_kernels + 1, sizeof *kernels);
    d->name = strdup(name);
    d->args = args, d->outputs = outs, d->slot_offset = offsets, d->kernels = kernels;
    int ok = ids && args && outs && offsets && kernels && d->name;
    if (ok) {
        ir_graph_args(g, ids);
        d->n_args = n_args, d->n_outputs = g->n_outputs, d->n_slots = plan->n_slots, d->n_kernels = plan->n_kernels;
        d->arena_bytes = plan->arena_bytes;
        for (int i = 0; i < n_args && ok; i++) ok = describe_tensor(&args[i], g, ir_node_at(g, ids[i])->name, ids[i], i) == 0;
        for (int i = 0; i < g->n_outputs && ok; i++) {
            int id = g->outputs[i].node;
            ok = describe_tensor(&outs[i], g, g->outputs[i].name, id, plan->slot[id]) == 0;
        }
        memcpy(offsets, plan->slot_offset, sizeof(int64_t) * (size_t)plan->n_slots);
        for (int i = 0; i < plan->n_kernels; i++) {
            kernels[i].range = plan->kernels[i].range;
            kernels[i].work = plan->kernels[i].work;
        }
    }
    free(ids);
    if (!ok) codegen_describe_free(d);
    return ok ? 0 : -1;
}

void codegen_describe_free(struct ebmc_aot_program *d) {
    for (int i = 0; d->args && i < d->n_args; i++) free((char *)d->args[i].name);
    for (int i = 0; d->outputs && i < d->n_outputs; i++) free((char *)d->outputs[i].name);
    free((char *)d->name);
    free((void *)d->args);
    free((void *)d->outputs);
    free((void *)d->slot_offset);
    free((void *)d->kernels);
    memset(d, 0, sizeof *d);
}
