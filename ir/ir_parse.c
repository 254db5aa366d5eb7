/* ir_parse.c: reads the textual IR that ir_print writes back into a graph (grammar: docs/ir.md).
 *
 * A hand-written, line-oriented recursive-descent parser: every statement (a node or an output) is one
 * line, so errors name the line and column of the offending token. The text is read, never modified; the
 * first error stops the parse and is reported as `file:line:col: error: message` with the source line and
 * a caret, in the frontend's format. Nodes go through ir_node_add, which checks each one with the
 * verifier's rules and hash-conses it; textual ids are mapped to the new graph's ids. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ---- textual id -> node id: open addressing, ids are non-negative ints ---- */

struct id_map {
    int *keys, *vals; /* key -1 = empty */
    size_t cap, count;
};

static int id_map_grow(struct id_map *m) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    int *keys = malloc(sizeof(int) * cap), *vals = malloc(sizeof(int) * cap);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    memset(keys, -1, sizeof(int) * cap);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] < 0) continue;
        size_t j = ((size_t)m->keys[i] * 2654435761u) & (cap - 1);
        while (keys[j] >= 0) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

/* The slot holding key, or the empty slot where it would go. Needs cap > 0. */
static size_t id_map_slot(const struct id_map *m, int key) {
    size_t j = ((size_t)key * 2654435761u) & (m->cap - 1);
    while (m->keys[j] >= 0 && m->keys[j] != key) j = (j + 1) & (m->cap - 1);
    return j;
}

static int id_map_get(const struct id_map *m, int key) {
    if (!m->cap) return -1;
    size_t j = id_map_slot(m, key);
    return m->keys[j] == key ? m->vals[j] : -1;
}

static int id_map_put(struct id_map *m, int key, int val) {
    if (2 * (m->count + 1) > m->cap && id_map_grow(m) != 0) return -1;
    size_t j = id_map_slot(m, key);
    if (m->keys[j] < 0) m->count++;
    m->keys[j] = key;
    m->vals[j] = val;
    return 0;
}

/* ---- parser state and diagnostics ---- */

struct parser {
    const char *src;
    size_t len, pos;
    const char *filename;
    char *err;
    size_t errlen;
    int failed;
    struct ir_graph *g;
    struct id_map ids;
};

#define LINE_WINDOW 160 /* longer lines are shown as a window around the column */

/* Formats `file:line:col: error: message`, the source line (control bytes as '?') and a caret under the
 * column. Only the first error is kept. Returns -1 so callers can `return error_at(...)`. */
static int error_at(struct parser *p, size_t off, const char *fmt, ...) {
    if (p->failed) return -1;
    p->failed = 1;
    if (!p->err || !p->errlen) return -1;
    if (off > p->len) off = p->len;
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < off; i++)
        if (p->src[i] == '\n') line++, line_start = i + 1;
    size_t line_end = line_start;
    while (line_end < p->len && p->src[line_end] != '\n') line_end++;
    if (line_end > line_start && p->src[line_end - 1] == '\r') line_end--;
    size_t col = off - line_start;

    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int k = snprintf(p->err, p->errlen, "%s:%d:%zu: error: %s", p->filename, line, col + 1, msg);
    if (k < 0 || (size_t)k >= p->errlen) return -1;

    size_t from = line_start, to = line_end;
    if (to - from > LINE_WINDOW) {
        from = col > LINE_WINDOW / 2 ? off - LINE_WINDOW / 2 : line_start;
        to = from + LINE_WINDOW < line_end ? from + LINE_WINDOW : line_end;
    }
    size_t used = (size_t)k, cap = p->errlen;
    if (used + 1 < cap) p->err[used++] = '\n';
    for (size_t i = from; i < to && used + 1 < cap; i++) {
        unsigned char c = (unsigned char)p->src[i];
        p->err[used++] = c == '\t' || (c >= 0x20 && c != 0x7f) ? (char)c : '?';
    }
    if (used + 1 < cap) p->err[used++] = '\n';
    for (size_t i = from; i < off && i < to && used + 1 < cap; i++) p->err[used++] = p->src[i] == '\t' ? '\t' : ' ';
    if (used + 1 < cap) p->err[used++] = '^';
    p->err[used < cap ? used : cap - 1] = 0;
    return -1;
}

static int at_end(const struct parser *p) { return p->pos >= p->len; }
static char peek(const struct parser *p) { return at_end(p) ? 0 : p->src[p->pos]; }
static int is_word_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static int is_word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* What the parser sees at pos, for "expected X, found Y" messages. */
static const char *describe(const struct parser *p, char *buf, size_t len) {
    if (at_end(p)) return "end of file";
    char c = peek(p);
    if (c == '\n' || c == '\r') return "end of line";
    size_t n = 0;
    if (is_word_char(c))
        while (p->pos + n < p->len && is_word_char(p->src[p->pos + n]) && n < 24) n++;
    else
        n = 1;
    int printable = 1;
    for (size_t i = 0; i < n; i++) printable &= isprint((unsigned char)p->src[p->pos + i]) != 0;
    if (!printable) snprintf(buf, len, "byte 0x%02x", (unsigned char)c);
    else snprintf(buf, len, "'%.*s'", (int)n, p->src + p->pos);
    return buf;
}

static int expected(struct parser *p, const char *what) {
    char buf[64];
    return error_at(p, p->pos, "expected %s, found %s", what, describe(p, buf, sizeof buf));
}

/* Spaces and tabs within a statement. */
static void skip_hspace(struct parser *p) {
    while (!at_end(p) && (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '\r')) p->pos++;
}

/* Blank lines and comment lines between statements. */
static void skip_blank(struct parser *p) {
    for (;;) {
        while (!at_end(p) && isspace((unsigned char)peek(p))) p->pos++;
        if (peek(p) != ';') return;
        while (!at_end(p) && peek(p) != '\n') p->pos++;
    }
}

/* The end of a statement: optional spaces and a comment, then a newline or the end of the text. */
static int end_statement(struct parser *p, const char *what) {
    skip_hspace(p);
    if (peek(p) == ';')
        while (!at_end(p) && peek(p) != '\n') p->pos++;
    if (at_end(p)) return 0;
    if (peek(p) == '\n') {
        p->pos++;
        return 0;
    }
    char buf[64];
    return error_at(p, p->pos, "unexpected %s after %s", describe(p, buf, sizeof buf), what);
}

static int expect_char(struct parser *p, char c, const char *what) {
    skip_hspace(p);
    if (peek(p) != c) return expected(p, what);
    p->pos++;
    return 0;
}

/* An identifier-like word into buf (truncated words are rejected by the caller's lookup). */
static int parse_word(struct parser *p, char *buf, size_t len, const char *what) {
    skip_hspace(p);
    if (!is_word_start(peek(p))) return expected(p, what);
    size_t n = 0;
    while (!at_end(p) && is_word_char(peek(p))) {
        if (n + 1 < len) buf[n++] = peek(p);
        else buf[len - 1] = '?'; /* too long to be a keyword: make sure it matches none */
        p->pos++;
    }
    buf[n] = 0;
    return 0;
}

/* A decimal integer without sign, at most `max`. */
static int parse_uint(struct parser *p, int64_t max, int64_t *v, const char *what) {
    skip_hspace(p);
    if (!isdigit((unsigned char)peek(p))) return expected(p, what);
    size_t start = p->pos;
    int64_t x = 0;
    while (!at_end(p) && isdigit((unsigned char)peek(p))) {
        int d = peek(p) - '0';
        if (x > (max - d) / 10) return error_at(p, start, "%s is too large (at most %lld)", what, (long long)max);
        x = x * 10 + d;
        p->pos++;
    }
    if (is_word_char(peek(p))) return expected(p, what); /* 12abc */
    *v = x;
    return 0;
}

/* `%N`: a textual node id. */
static int parse_ref(struct parser *p, int *tid, size_t *loc) {
    skip_hspace(p);
    *loc = p->pos;
    if (peek(p) != '%') return expected(p, "a node id like '%3'");
    p->pos++;
    if (!isdigit((unsigned char)peek(p))) return expected(p, "digits after '%'");
    int64_t v;
    if (parse_uint(p, INT_MAX, &v, "a node id") != 0) return -1;
    *tid = (int)v;
    return 0;
}

/* A reference to an already defined node: its id in the new graph. */
static int parse_operand(struct parser *p, int *id, int *tid) {
    size_t loc;
    if (parse_ref(p, tid, &loc) != 0) return -1;
    *id = id_map_get(&p->ids, *tid);
    if (*id < 0) return error_at(p, loc, "%%%d is not defined (nodes must be defined before they are used)", *tid);
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A double-quoted name with the escapes ir_print_name writes: \" \\ \xNN. */
static int parse_name(struct parser *p, char *name, const char *what) {
    skip_hspace(p);
    size_t start = p->pos, n = 0;
    if (peek(p) != '"') return expected(p, what);
    p->pos++;
    for (;;) {
        if (at_end(p) || peek(p) == '\n') return error_at(p, start, "unterminated name (a '\"' is missing)");
        size_t here = p->pos;
        char c = p->src[p->pos++];
        if (c == '"') break;
        if (c == '\\') {
            char e = peek(p);
            if (e == '"' || e == '\\') {
                c = e;
                p->pos++;
            } else if (e == 'x' && p->pos + 2 < p->len && hex_digit(p->src[p->pos + 1]) >= 0 &&
                       hex_digit(p->src[p->pos + 2]) >= 0) {
                c = (char)(hex_digit(p->src[p->pos + 1]) * 16 + hex_digit(p->src[p->pos + 2]));
                p->pos += 3;
                if (c == 0) return error_at(p, here, "names cannot contain a NUL byte");
            } else {
                return error_at(p, here, "unknown escape in a name (use \\\", \\\\ or \\xNN)");
            }
        }
        if (n + 1 >= IR_NAME_LEN) return error_at(p, start, "name is longer than %d bytes", IR_NAME_LEN - 1);
        name[n++] = c;
    }
    name[n] = 0;
    if (n == 0) return error_at(p, start, "names cannot be empty");
    return 0;
}

/* `[d0, d1, ...]`: positive sizes, at most IR_MAX_DIMS of them. */
static int parse_shape(struct parser *p, struct ir_node *n) {
    skip_hspace(p);
    size_t start = p->pos;
    if (peek(p) != '[') return expected(p, "a shape like '[2, 3]'");
    p->pos++;
    skip_hspace(p);
    n->ndim = 0;
    if (peek(p) == ']') {
        p->pos++;
        return 0;
    }
    int64_t numel = 1;
    for (;;) {
        skip_hspace(p);
        size_t loc = p->pos;
        int64_t d;
        if (parse_uint(p, INT64_MAX, &d, "a dimension size") != 0) return -1;
        if (d == 0) return error_at(p, loc, "dimension sizes must be positive");
        if (n->ndim == IR_MAX_DIMS) return error_at(p, loc, "shapes have at most %d dimensions", IR_MAX_DIMS);
        /* Bounded so element counts never overflow anywhere downstream. */
        if (numel > ((int64_t)1 << 62) / d) return error_at(p, start, "shape has too many elements");
        numel *= d;
        n->shape[n->ndim++] = d;
        skip_hspace(p);
        if (peek(p) == ']') {
            p->pos++;
            return 0;
        }
        if (expect_char(p, ',', "',' or ']' in the shape") != 0) return -1;
    }
}

/* A number as %.17g writes it. strtod also reads inf, -inf, nan and -nan; it only ever runs inside the
 * NUL-terminated text. */
static int parse_number(struct parser *p, double *v, const char *what) {
    const char *start = p->src + p->pos;
    char *end = NULL;
    *v = isspace((unsigned char)*start) || !*start ? 0.0 : strtod(start, &end);
    if (!end || end == start || is_word_char(*end) || *end == '.') return expected(p, what);
    p->pos += (size_t)(end - start);
    return 0;
}

/* `=v0,v1,...`: exactly one non-negative integer per dimension, each at most max. */
static int parse_int_list(struct parser *p, int ndim, int64_t max, int64_t *v, const char *what) {
    if (peek(p) != '=') return expected(p, "'=' (no spaces)");
    p->pos++;
    for (int i = 0; i < ndim; i++) {
        if (i > 0) {
            if (peek(p) != ',') return error_at(p, p->pos, "%s needs %d values, one per dimension", what, ndim);
            p->pos++;
        }
        if (parse_uint(p, max, &v[i], what) != 0) return -1;
    }
    if (peek(p) == ',') return error_at(p, p->pos, "%s needs %d values, one per dimension", what, ndim);
    return 0;
}

/* The op whose scalar attribute is printed as `word=` (leaky_relu's slope), or -1. */
static int value_op(const char *word) {
    for (int op = 0; op < IR_OP_COUNT; op++) {
        const char *key = ir_op_value_key((enum ir_op)op);
        if (key && *key && strcmp(key, word) == 0) return op;
    }
    return -1;
}

/* Attributes after the shape: `axes=0,1` (sum), `trans_a`, `trans_b` (matmul). */
static int parse_attrs(struct parser *p, struct ir_node *n) {
    int have_axes = 0, have_value = 0, have_perm = 0, have_start = 0, have_step = 0, have_axis = 0;
    unsigned attrs = ir_op_attrs(n->op);
    int strided = (attrs & IR_A_RANGE) != 0;
    /* the name of the op's scalar attribute, if it has one besides const's value */
    const char *value_name = ir_op_value_key(n->op);
    if (value_name && !*value_name) value_name = NULL;
    for (;;) {
        skip_hspace(p);
        if (!is_word_start(peek(p))) break;
        size_t loc = p->pos;
        char word[32];
        parse_word(p, word, sizeof word, "an attribute");
        if (strcmp(word, "axes") == 0) {
            if (!(attrs & IR_A_AXES))
                return error_at(p, loc, "'axes' applies to sum and max only, not %s", ir_op_name(n->op));
            if (have_axes) return error_at(p, loc, "'axes' is given twice");
            have_axes = 1;
            if (peek(p) != '=') return expected(p, "'=' after 'axes' (no spaces)");
            p->pos++;
            if (!isdigit((unsigned char)peek(p))) continue; /* axes= with no axis: a sum over nothing */
            for (;;) {
                size_t aloc = p->pos;
                int64_t axis;
                if (parse_uint(p, 1000, &axis, "an axis") != 0) return -1;
                if (axis >= n->ndim)
                    return error_at(p, aloc, "axis %lld is out of range for rank %d", (long long)axis, n->ndim);
                if (n->axes >> axis & 1) return error_at(p, aloc, "axis %lld is listed twice", (long long)axis);
                n->axes |= 1u << axis;
                if (peek(p) != ',') break;
                p->pos++;
            }
        } else if (strcmp(word, "perm") == 0 || strcmp(word, "start") == 0 || strcmp(word, "step") == 0) {
            int is_perm = word[0] == 'p', *have = is_perm ? &have_perm : word[2] == 'a' ? &have_start : &have_step;
            if (is_perm ? !(attrs & IR_A_PERM) : !strided)
                return error_at(p, loc, "'%s' applies to %s only, not %s", word, is_perm ? "permute" : "slice, pad and convs",
                                ir_op_name(n->op));
            if (*have) return error_at(p, loc, "'%s' is given twice", word);
            *have = 1;
            int64_t v[IR_MAX_DIMS];
            /* bounded so index arithmetic never overflows; the verifier checks the values fit */
            if (parse_int_list(p, n->ndim, is_perm ? IR_MAX_DIMS : (int64_t)1 << 40, v, word) != 0) return -1;
            for (int i = 0; i < n->ndim; i++) {
                if (is_perm) n->perm[i] = (int)v[i];
                else if (word[2] == 'a') n->start[i] = v[i];
                else n->step[i] = v[i];
            }
        } else if (strcmp(word, "axis") == 0) {
            if (!(attrs & IR_A_AXIS)) return error_at(p, loc, "'axis' applies to concat only, not %s", ir_op_name(n->op));
            if (have_axis) return error_at(p, loc, "'axis' is given twice");
            have_axis = 1;
            int64_t v;
            if (peek(p) != '=') return expected(p, "'=' (no spaces)");
            p->pos++;
            if (parse_uint(p, IR_MAX_DIMS, &v, "an axis") != 0) return -1;
            n->axis = (int)v;
        } else if (value_op(word) >= 0) {
            if (!value_name || strcmp(word, value_name) != 0)
                return error_at(p, loc, "'%s' applies to %s only, not %s", word, ir_op_name(value_op(word)),
                                ir_op_name(n->op));
            if (have_value) return error_at(p, loc, "'%s' is given twice", word);
            have_value = 1;
            if (peek(p) != '=') return expected(p, "'=' (no spaces)");
            p->pos++;
            if (parse_number(p, &n->value, "a number") != 0) return -1;
        } else if (strcmp(word, "trans_a") == 0 || strcmp(word, "trans_b") == 0) {
            if (!(attrs & IR_A_FLAGS)) return error_at(p, loc, "'%s' applies to matmul only, not %s", word, ir_op_name(n->op));
            unsigned f = word[6] == 'a' ? IR_TRANS_A : IR_TRANS_B;
            if (n->flags & f) return error_at(p, loc, "'%s' is given twice", word);
            n->flags |= f;
        } else {
            return error_at(p, loc, "unknown attribute '%s'", word);
        }
    }
    if ((attrs & IR_A_AXES) && !have_axes) return expected(p, "'axes=' (the axes it reduces)");
    if ((attrs & IR_A_PERM) && !have_perm) return expected(p, "'perm='");
    if (strided && !have_start) return expected(p, "'start='");
    if (strided && !have_step) return expected(p, "'step='");
    if ((attrs & IR_A_AXIS) && !have_axis) return expected(p, "'axis='");
    if (value_name && !have_value) {
        char what[48];
        snprintf(what, sizeof what, "'%s='", value_name);
        return expected(p, what);
    }
    return 0;
}

/* `%N = op ["name"] [value] [%a[, %b]] : [shape] attrs` */
static int parse_node(struct parser *p) {
    int tid;
    size_t id_loc;
    if (parse_ref(p, &tid, &id_loc) != 0) return -1;
    if (id_map_get(&p->ids, tid) >= 0) return error_at(p, id_loc, "%%%d is defined twice", tid);
    if (expect_char(p, '=', "'=' after the node id") != 0) return -1;
    skip_hspace(p);
    size_t op_loc = p->pos;
    char word[32];
    if (parse_word(p, word, sizeof word, "an op name") != 0) return -1;
    int op = ir_op_from_name(word);
    if (op < 0) return error_at(p, op_loc, "unknown op '%s'", word);

    struct ir_node n;
    memset(&n, 0, sizeof n);
    n.op = (enum ir_op)op;
    int tin[IR_MAX_INPUTS];
    for (int i = 0; i < IR_MAX_INPUTS; i++) n.in[i] = tin[i] = -1;
    const char *vkey = ir_op_value_key(n.op);
    if (ir_op_attrs(n.op) & IR_A_NAME) {
        if (parse_name(p, n.name, "the argument's name in double quotes") != 0) return -1;
    } else if (vkey && !*vkey) {
        skip_hspace(p);
        if (parse_number(p, &n.value, "the constant's value (a number)") != 0) return -1;
    }
    for (int i = 0; i < ir_op_arity(n.op); i++) {
        if (i > 0 && expect_char(p, ',', "',' before the next operand") != 0) return -1;
        if (parse_operand(p, &n.in[i], &tin[i]) != 0) return -1;
    }
    skip_hspace(p);
    if (peek(p) == ',' || peek(p) == '%')
        return error_at(p, p->pos, "%s takes %d operand%s", word, ir_op_arity(n.op), ir_op_arity(n.op) == 1 ? "" : "s");
    if (expect_char(p, ':', "':' and the node's shape") != 0) return -1;
    if (parse_shape(p, &n) != 0 || parse_attrs(p, &n) != 0 || end_statement(p, "the node") != 0) return -1;

    int id = ir_node_add(p->g, &n);
    if (id < 0) {
        /* The verifier's rule, with the operands' shapes and the node's so the mismatch is visible. */
        char ops[320] = "", s[96];
        size_t k = 0;
        for (int i = 0; i < ir_op_arity(n.op) && k < sizeof ops; i++) {
            const struct ir_node *o = ir_node_at(p->g, n.in[i]);
            ir_shape_str(s, sizeof s, o->ndim, o->shape);
            k += (size_t)snprintf(ops + k, sizeof ops - k, "%s%%%d: %s", i ? ", " : " (operands ", tin[i], s);
        }
        ir_shape_str(s, sizeof s, n.ndim, n.shape);
        if (k && k < sizeof ops) snprintf(ops + k, sizeof ops - k, "; result: %s)", s);
        return error_at(p, op_loc, "%s%s", ir_graph_error(p->g), ops);
    }
    if (id_map_put(&p->ids, tid, id) != 0) return error_at(p, id_loc, "out of memory");
    return 0;
}

/* `output "name" = %N` */
static int parse_output(struct parser *p) {
    char name[IR_NAME_LEN];
    skip_hspace(p);
    size_t loc = p->pos;
    int id, tid;
    if (parse_name(p, name, "the output's name in double quotes") != 0) return -1;
    if (expect_char(p, '=', "'=' after the output's name") != 0 || parse_operand(p, &id, &tid) != 0) return -1;
    if (ir_graph_output(p->g, name, id) != 0) return error_at(p, loc, "%s", ir_graph_error(p->g));
    return end_statement(p, "the output");
}

static int parse_graph(struct parser *p) {
    skip_blank(p);
    char word[32];
    if (parse_word(p, word, sizeof word, "'graph {'") != 0) return -1;
    if (strcmp(word, "graph") != 0) return error_at(p, p->pos - strlen(word), "expected 'graph {', found '%s'", word);
    skip_hspace(p);
    size_t open = p->pos;
    if (expect_char(p, '{', "'{' after 'graph'") != 0 || end_statement(p, "'graph {'") != 0) return -1;
    for (;;) {
        skip_blank(p);
        if (at_end(p)) return error_at(p, open, "this graph has no closing '}'");
        if (peek(p) == '}') {
            p->pos++;
            break;
        }
        if (peek(p) == '%') {
            if (parse_node(p) != 0) return -1;
            continue;
        }
        size_t loc = p->pos;
        if (is_word_start(peek(p))) {
            parse_word(p, word, sizeof word, "a statement");
            if (strcmp(word, "output") == 0) {
                if (parse_output(p) != 0) return -1;
                continue;
            }
            p->pos = loc;
        }
        return expected(p, "a node ('%N = op ...'), an output ('output \"name\" = %N') or '}'");
    }
    if (end_statement(p, "the graph's '}'") != 0) return -1;
    skip_blank(p);
    if (!at_end(p)) return error_at(p, p->pos, "unexpected text after the graph (a file holds one graph)");
    return 0;
}

struct ir_graph *ir_parse(const char *text, const char *filename, char *err, size_t errlen) {
    struct parser p;
    memset(&p, 0, sizeof p);
    p.src = text ? text : "";
    p.len = strlen(p.src);
    p.filename = filename ? filename : "<input>";
    p.err = err;
    p.errlen = errlen;
    if (err && errlen) err[0] = 0;
    p.g = ir_graph_new();
    if (!p.g) {
        if (err && errlen) snprintf(err, errlen, "%s: error: out of memory", p.filename);
        return NULL;
    }
    int rc = parse_graph(&p);
    free(p.ids.keys);
    free(p.ids.vals);
    if (rc != 0) {
        ir_graph_free(p.g);
        return NULL;
    }
    return p.g;
}
