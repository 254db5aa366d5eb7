/* parser.c: tokens -> AST by recursive descent, checking declarations on the way.
 *
 * Syntax errors end the parse (what follows one is rarely meaningful). Errors in otherwise well-formed
 * declarations (an unknown initializer, a duplicate parameter, a zero dimension) are reported and
 * parsing goes on, so one run shows several of them. Names and shapes inside the energy are checked
 * later, by lower.c, once every parameter is known. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fe_internal.h"

struct parser {
    struct fe_model *m;
    struct lexer lx;
    struct token cur;
    struct fe_loc prev_end; /* just past the previous token: where a missing ')' or ']' belongs */
    int failed;             /* a syntax error was reported */
    int nesting;            /* parentheses, calls and unary minus currently open */
};

/* ---- token helpers ---- */

static void advance(struct parser *p) {
    p->prev_end.line = p->lx.line;
    p->prev_end.col = (int)(p->lx.pos - p->lx.line_start) + 1;
    p->cur = lex_next(&p->lx);
    if (p->cur.kind == TOK_ERROR) p->failed = 1;
}

/* How a token reads in a message: 'name', number '3', end of file. */
static const char *describe(const struct token *t, char *buf, size_t size) {
    char clip[48];
    switch (t->kind) {
    case TOK_EOF: return "end of file";
    case TOK_NUMBER: snprintf(buf, size, "number '%s'", fe_clip(clip, sizeof clip, t->text, t->len)); break;
    case TOK_STRING: snprintf(buf, size, "string \"%s\"", fe_clip(clip, sizeof clip, t->text, t->len)); break;
    default: snprintf(buf, size, "'%s'", fe_clip(clip, sizeof clip, t->text, t->len)); break;
    }
    return buf;
}

/* Where to point when the current token is not what was expected: if it starts a later line, the
 * thing is missing at the end of the previous line, which is where a reader should look. */
static struct fe_loc missing_loc(const struct parser *p) {
    return p->cur.nl_before || p->cur.kind == TOK_EOF ? p->prev_end : p->cur.loc;
}

static void syntax_error(struct parser *p, struct fe_loc loc, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void syntax_error(struct parser *p, struct fe_loc loc, const char *fmt, ...) {
    if (p->failed) return; /* only the first one: the parse stops */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fe_report(p->m, loc, "%s", msg);
    p->failed = 1;
}

/* Consumes a token of this kind, or reports "expected <what>; got <token>" (what + context). */
static int expect(struct parser *p, enum tok_kind kind, const char *what) {
    if (p->cur.kind == kind) {
        advance(p);
        return 1;
    }
    if (p->cur.kind != TOK_ERROR) {
        char buf[96];
        syntax_error(p, missing_loc(p), "expected %s; got %s", what, describe(&p->cur, buf, sizeof buf));
    }
    p->failed = 1;
    return 0;
}

/* For ')', ']' and '}': names the opening bracket, which is what a reader needs to find the mismatch. */
static int expect_close(struct parser *p, enum tok_kind kind, struct fe_loc open) {
    if (p->cur.kind == kind) {
        advance(p);
        return 1;
    }
    const char *c = kind == TOK_RPAREN ? ")" : kind == TOK_RBRACKET ? "]" : "}";
    const char *o = kind == TOK_RPAREN ? "(" : kind == TOK_RBRACKET ? "[" : "{";
    if (p->cur.kind != TOK_ERROR)
        syntax_error(p, missing_loc(p), "expected '%s' to close '%s' at %d:%d", c, o, open.line, open.col);
    p->failed = 1;
    return 0;
}

static int tok_is(const struct token *t, const char *word) {
    return (size_t)t->len == strlen(word) && memcmp(t->text, word, (size_t)t->len) == 0;
}

/* ---- shapes ---- */

enum shape_use { SHAPE_PARAM, SHAPE_ARG, SHAPE_RESHAPE };

/* Parses [d, ...] into dims (FE_DIM_B for B). Returns 0, or -1 after a syntax error; *bad is set when
 * the list parsed but is not a valid shape (already reported). */
static int parse_shape(struct parser *p, enum shape_use use, int *ndim, int64_t *dims, int *bad) {
    struct fe_loc open = p->cur.loc;
    *ndim = 0;
    *bad = 0;
    if (!expect(p, TOK_LBRACKET, use == SHAPE_RESHAPE ? "'[' and a shape" : "'[' to start a shape, as in [2, 128]"))
        return -1;
    if (p->cur.kind == TOK_RBRACKET) {
        fe_report(p->m, p->cur.loc, "a shape needs at least one dimension");
        *bad = 1;
        advance(p);
        return p->failed ? -1 : 0;
    }
    int n = 0, too_many = 0;
    int64_t literal_numel = 1;
    for (;;) {
        struct token t = p->cur;
        int64_t d = 0;
        char buf[64];
        if (t.kind == TOK_NUMBER) {
            if (!t.is_int || t.number < 1) {
                fe_report(p->m, t.loc, "dimensions must be positive integers; got %s", fe_clip(buf, sizeof buf, t.text, t.len));
                *bad = 1;
            } else if (t.number >= (double)FE_MAX_DIM) {
                fe_report(p->m, t.loc, "dimension %s is too large", fe_clip(buf, sizeof buf, t.text, t.len));
                *bad = 1;
            } else {
                d = (int64_t)t.number;
            }
            advance(p);
        } else if (t.kind == TOK_MINUS) {
            advance(p);
            if (p->cur.kind != TOK_NUMBER) return expect(p, TOK_NUMBER, "a dimension"), -1;
            if (use == SHAPE_RESHAPE && p->cur.is_int && p->cur.number == 1) {
                d = FE_DIM_INFER;
                for (int i = 0; i < n && i < IR_MAX_DIMS; i++)
                    if (dims[i] == FE_DIM_INFER && !*bad) {
                        fe_report(p->m, t.loc, "only one dimension of a reshape can be -1 (inferred)");
                        *bad = 1;
                    }
            } else {
                fe_report(p->m, t.loc, "dimensions must be positive integers%s; got -%s",
                          use == SHAPE_RESHAPE ? " (or -1 in reshape: inferred)" : "",
                          fe_clip(buf, sizeof buf, p->cur.text, p->cur.len));
                *bad = 1;
            }
            advance(p);
        } else if (t.kind == TOK_IDENT && tok_is(&t, "B")) {
            d = FE_DIM_B;
            if (use == SHAPE_PARAM) {
                fe_report(p->m, t.loc, "parameter shapes are fixed; the batch size B belongs in the energy "
                                       "argument and in reshape");
                *bad = 1;
            } else if (use == SHAPE_ARG && n > 0) {
                fe_report(p->m, t.loc, "B may only be the first dimension of the energy argument");
                *bad = 1;
            }
            advance(p);
        } else if (t.kind == TOK_IDENT) {
            fe_report(p->m, t.loc, "unknown dimension '%s'; dimensions are positive integers%s",
                      fe_clip(buf, sizeof buf, t.text, t.len), use == SHAPE_PARAM ? "" : " or B");
            *bad = 1;
            advance(p);
        } else {
            return expect(p, TOK_NUMBER, "a dimension"), -1;
        }
        if (p->failed) return -1;
        if (use == SHAPE_ARG && n == 0 && d != FE_DIM_B && !*bad) {
            fe_report(p->m, t.loc, "the energy argument's shape must start with the batch size B, as in [B, 2]");
            *bad = 1;
        }
        if (n == IR_MAX_DIMS && !too_many) {
            fe_report(p->m, t.loc, "a shape has at most %d dimensions", IR_MAX_DIMS);
            *bad = too_many = 1;
        }
        if (n < IR_MAX_DIMS) dims[n] = d;
        n++;
        if (d > 0) {
            literal_numel *= d; /* each factor < 2^31 and the running product <= 2^32: no overflow */
            if (literal_numel > FE_MAX_NUMEL) {
                if (!*bad) fe_report(p->m, t.loc, "this shape has more than 2^32 elements");
                *bad = 1;
                literal_numel = 1;
            }
        }
        if (p->cur.kind == TOK_COMMA) {
            advance(p);
            if (p->failed) return -1;
            continue;
        }
        if (!expect_close(p, TOK_RBRACKET, open)) return -1;
        break;
    }
    *ndim = n < IR_MAX_DIMS ? n : IR_MAX_DIMS;
    return 0;
}

/* ---- expressions ---- */

static struct expr *parse_expr(struct parser *p);

static struct expr *new_expr(struct parser *p, enum expr_kind kind, struct fe_loc loc) {
    struct expr *e = fe_alloc(p->m, sizeof *e);
    if (!e) {
        syntax_error(p, loc, "out of memory");
        return NULL;
    }
    e->kind = kind;
    e->loc = e->start = loc;
    e->depth = 1;
    return e;
}

/* Every recursive walk over an expression is bounded by its depth, so deep ones are refused here. */
static int check_depth(struct parser *p, struct expr *e) {
    int d = 0;
    if (e->a && e->a->depth > d) d = e->a->depth;
    if (e->b && e->b->depth > d) d = e->b->depth;
    for (int i = 0; i < e->n_args; i++)
        if (e->args[i]->depth > d) d = e->args[i]->depth;
    e->depth = d + 1;
    if (e->depth > FE_MAX_DEPTH || p->nesting > FE_MAX_DEPTH) {
        syntax_error(p, e->loc, "expression nested too deeply (more than %d levels)", FE_MAX_DEPTH);
        return -1;
    }
    return 0;
}

static int enter(struct parser *p, struct fe_loc loc) {
    if (++p->nesting > FE_MAX_DEPTH) {
        syntax_error(p, loc, "expression nested too deeply (more than %d levels)", FE_MAX_DEPTH);
        return -1;
    }
    return 0;
}

/* f(arg, ...): an argument is an expression, or [dims] for reshape. */
static struct expr *parse_call(struct parser *p, struct token name) {
    struct expr *e = new_expr(p, EX_CALL, name.loc);
    if (!e) return NULL;
    e->text = name.text;
    e->len = name.len;
    struct fe_loc open = p->cur.loc;
    advance(p); /* '(' */
    struct expr *buf[8], **args = buf;
    int n = 0, cap = 8;
    while (!p->failed && (n > 0 || p->cur.kind != TOK_RPAREN)) {
        struct expr *a;
        if (p->cur.kind == TOK_LBRACKET) {
            a = new_expr(p, EX_DIMS, p->cur.loc);
            int bad;
            if (!a || parse_shape(p, SHAPE_RESHAPE, &a->ndim, a->dims, &bad) != 0) break;
            if (bad) a->ndim = -1; /* reported; the check skips it */
        } else {
            a = parse_expr(p);
            if (!a) break;
        }
        if (n == cap) {
            struct expr **grown = malloc(sizeof *grown * (size_t)cap * 2);
            if (!grown) {
                syntax_error(p, a->loc, "out of memory");
                break;
            }
            memcpy(grown, args, sizeof *args * (size_t)n);
            if (args != buf) free(args);
            args = grown;
            cap *= 2;
        }
        args[n++] = a;
        if (p->cur.kind != TOK_COMMA) break;
        advance(p); /* another argument must follow */
    }
    if (!p->failed) {
        e->args = n ? fe_alloc(p->m, sizeof *args * (size_t)n) : NULL;
        if (n && !e->args) syntax_error(p, name.loc, "out of memory");
        else if (n) memcpy(e->args, args, sizeof *args * (size_t)n);
        e->n_args = n;
    }
    if (args != buf) free(args);
    if (p->failed || !expect_close(p, TOK_RPAREN, open) || check_depth(p, e)) return NULL;
    return e;
}

static struct expr *parse_primary(struct parser *p) {
    struct token t = p->cur;
    char buf[96];
    switch (t.kind) {
    case TOK_NUMBER: {
        struct expr *e = new_expr(p, EX_NUMBER, t.loc);
        if (!e) return NULL;
        e->text = t.text;
        e->len = t.len;
        e->number = t.number;
        advance(p);
        return p->failed ? NULL : e;
    }
    case TOK_IDENT: {
        advance(p);
        if (p->failed) return NULL;
        if (p->cur.kind == TOK_LPAREN) {
            if (enter(p, p->cur.loc)) return NULL;
            struct expr *e = parse_call(p, t);
            p->nesting--;
            return e;
        }
        struct expr *e = new_expr(p, EX_NAME, t.loc);
        if (!e) return NULL;
        e->text = t.text;
        e->len = t.len;
        return e;
    }
    case TOK_LPAREN: {
        if (enter(p, t.loc)) return NULL;
        advance(p);
        struct expr *e = p->failed ? NULL : parse_expr(p);
        p->nesting--;
        if (!e || !expect_close(p, TOK_RPAREN, t.loc)) return NULL;
        e->start = t.loc;
        return e;
    }
    case TOK_LBRACKET:
        syntax_error(p, t.loc, "a shape list [...] is only allowed as the second argument of reshape");
        return NULL;
    case TOK_ERROR: return NULL;
    default:
        syntax_error(p, missing_loc(p), "expected an expression; got %s", describe(&t, buf, sizeof buf));
        return NULL;
    }
}

static struct expr *parse_unary(struct parser *p) {
    if (p->cur.kind != TOK_MINUS) return parse_primary(p);
    struct fe_loc loc = p->cur.loc;
    if (enter(p, loc)) return NULL;
    advance(p);
    struct expr *a = p->failed ? NULL : parse_unary(p);
    p->nesting--;
    if (!a) return NULL;
    struct expr *e = new_expr(p, EX_NEG, loc);
    if (!e) return NULL;
    e->a = a;
    return check_depth(p, e) ? NULL : e;
}

static struct expr *binary(struct parser *p, struct token op, struct expr *a, struct expr *b) {
    struct expr *e = new_expr(p, EX_BINARY, op.loc);
    if (!e) return NULL;
    e->op = op.text[0];
    e->a = a;
    e->b = b;
    e->start = a->start;
    return check_depth(p, e) ? NULL : e;
}

static struct expr *parse_term(struct parser *p) {
    struct expr *e = parse_unary(p);
    while (e && (p->cur.kind == TOK_STAR || p->cur.kind == TOK_SLASH || p->cur.kind == TOK_AT)) {
        struct token op = p->cur;
        advance(p);
        struct expr *b = p->failed ? NULL : parse_unary(p);
        e = b ? binary(p, op, e, b) : NULL;
    }
    return e;
}

static struct expr *parse_expr(struct parser *p) {
    struct expr *e = parse_term(p);
    while (e && (p->cur.kind == TOK_PLUS || p->cur.kind == TOK_MINUS)) {
        struct token op = p->cur;
        advance(p);
        struct expr *b = p->failed ? NULL : parse_term(p);
        e = b ? binary(p, op, e, b) : NULL;
    }
    return e;
}

/* ---- param NAME: SHAPE = INIT ---- */

const char *const fe_init_names[] = {"zeros", "ones", "normal", "uniform", "xavier", "kaiming_uniform"};
const int fe_n_inits = 6;
static const int init_arity[] = {0, 0, 1, 2, 0, 0};
static const char *const init_usage[] = {"zeros()", "ones()", "normal(std)", "uniform(lo, hi)", "xavier()",
                                         "kaiming_uniform()"};
#define INIT_USAGE_FMT "%s, %s, %s, %s, %s or %s"
#define INIT_USAGE_ARGS init_usage[0], init_usage[1], init_usage[2], init_usage[3], init_usage[4], init_usage[5]

static struct param_info *find_param(struct fe_model *m, const char *name, int len) {
    int i = fe_names_find(&m->param_names, name, len);
    return i >= 0 ? &m->params[i] : NULL;
}

/* A number argument of an initializer, with an optional sign. */
static int parse_signed_number(struct parser *p, double *out) {
    double sign = 1;
    if (p->cur.kind == TOK_MINUS || p->cur.kind == TOK_PLUS) {
        sign = p->cur.kind == TOK_MINUS ? -1 : 1;
        advance(p);
    }
    if (p->cur.kind != TOK_NUMBER) return expect(p, TOK_NUMBER, "a number"), -1;
    *out = sign * p->cur.number;
    advance(p);
    return p->failed ? -1 : 0;
}

static int parse_init(struct parser *p, struct param_info *pi) {
    char buf[96], name[48];
    struct token t = p->cur;
    if (t.kind != TOK_IDENT) {
        syntax_error(p, missing_loc(p), "expected an initializer (" INIT_USAGE_FMT "); got %s", INIT_USAGE_ARGS,
                     describe(&t, buf, sizeof buf));
        return -1;
    }
    fe_clip(name, sizeof name, t.text, t.len);
    int kind = -1;
    for (int i = 0; i < fe_n_inits; i++)
        if (tok_is(&t, fe_init_names[i])) kind = i;
    if (kind < 0) {
        const char *s = fe_suggest(t.text, t.len, fe_init_names, fe_n_inits);
        if (s) fe_report(p->m, t.loc, "unknown initializer '%s'; did you mean '%s'?", name, s);
        else
            fe_report(p->m, t.loc, "unknown initializer '%s'; use " INIT_USAGE_FMT, name, INIT_USAGE_ARGS);
        pi->bad = 1;
    }
    advance(p);
    if (p->failed) return -1;
    if (p->cur.kind != TOK_LPAREN) {
        syntax_error(p, missing_loc(p), "expected '(' after initializer '%s', as in %s", name,
                     kind >= 0 ? init_usage[kind] : "xavier()");
        return -1;
    }
    struct fe_loc open = p->cur.loc;
    advance(p);
    double args[8];
    int n = 0;
    while (!p->failed && (n > 0 || p->cur.kind != TOK_RPAREN)) {
        double v;
        if (parse_signed_number(p, &v)) return -1;
        if (n < 8) args[n] = v;
        n++;
        if (p->cur.kind != TOK_COMMA) break;
        advance(p); /* another argument must follow */
    }
    if (!expect_close(p, TOK_RPAREN, open)) return -1;
    if (kind < 0) return 0;
    if (n != init_arity[kind]) {
        if (init_arity[kind] == 0) fe_report(p->m, t.loc, "%s takes no arguments; got %d", name, n);
        else
            fe_report(p->m, t.loc, "%s takes %d argument%s, as in %s; got %d", name, init_arity[kind],
                      init_arity[kind] == 1 ? "" : "s", init_usage[kind], n);
        pi->bad = 1;
        return 0;
    }
    if (kind == FE_INIT_NORMAL && !(args[0] > 0)) {
        fe_report(p->m, t.loc, "normal(std) needs std > 0; got %g", args[0]);
        pi->bad = 1;
    }
    if (kind == FE_INIT_UNIFORM && !(args[0] < args[1])) {
        fe_report(p->m, t.loc, "uniform(lo, hi) needs lo < hi; got uniform(%g, %g)", args[0], args[1]);
        pi->bad = 1;
    }
    pi->p.init = (enum fe_init)kind;
    for (int i = 0; i < n && i < 2; i++) pi->p.init_args[i] = args[i];
    return 0;
}

static int parse_param(struct parser *p) {
    struct fe_model *m = p->m;
    char buf[96], name[96];
    advance(p); /* 'param' */
    if (p->failed) return -1;
    struct token t = p->cur;
    if (t.kind != TOK_IDENT) {
        syntax_error(p, missing_loc(p), "expected a parameter name after 'param'; got %s", describe(&t, buf, sizeof buf));
        return -1;
    }
    struct param_info pi;
    memset(&pi, 0, sizeof pi);
    pi.text = t.text;
    pi.len = t.len;
    pi.p.loc = t.loc;
    fe_clip(name, sizeof name, t.text, t.len);
    struct param_info *prev = find_param(m, t.text, t.len);
    if (prev) {
        fe_report(m, t.loc, "duplicate parameter '%s'; the first declaration is at %d:%d", name, prev->p.loc.line,
                  prev->p.loc.col);
    } else if (tok_is(&t, "B")) {
        fe_report(m, t.loc, "'B' is the batch size and cannot name a parameter");
        pi.bad = 1;
    } else if (t.len > IR_PARAM_NAME_MAX) {
        fe_report(m, t.loc, "parameter name '%s' is too long (at most %d characters)", name, IR_PARAM_NAME_MAX);
        pi.bad = 1;
    } else {
        memcpy(pi.p.name, t.text, (size_t)t.len);
    }
    advance(p);
    if (!expect(p, TOK_COLON, "':' and a shape after the parameter name")) return -1;
    int bad;
    if (parse_shape(p, SHAPE_PARAM, &pi.p.ndim, pi.p.shape, &bad)) return -1;
    pi.bad |= bad;
    if (!expect(p, TOK_ASSIGN, "'=' and an initializer after the shape, as in = xavier()")) return -1;
    if (parse_init(p, &pi)) return -1;
    if (prev) return 0;
    if (m->n_params == m->cap_params) {
        int cap = m->cap_params ? m->cap_params * 2 : 16;
        struct param_info *grown = realloc(m->params, sizeof *grown * (size_t)cap);
        if (!grown) return syntax_error(p, t.loc, "out of memory"), -1;
        m->params = grown;
        m->cap_params = cap;
    }
    if (fe_names_add(&m->param_names, pi.text, pi.len, m->n_params)) return syntax_error(p, t.loc, "out of memory"), -1;
    m->params[m->n_params++] = pi;
    return 0;
}

/* ---- energy(x: [B, D]) { stmts } ---- */

static int push_stmt(struct parser *p, struct stmt **stmts, int *n, int *cap, struct stmt s) {
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 16;
        struct stmt *grown = realloc(*stmts, sizeof *grown * (size_t)c);
        if (!grown) return syntax_error(p, s.loc, "out of memory"), -1;
        *stmts = grown;
        *cap = c;
    }
    (*stmts)[(*n)++] = s;
    return 0;
}

static int parse_body(struct parser *p, const char *what, struct stmt **stmts, int *n, int *cap, struct fe_loc *end) {
    char buf[96];
    struct fe_loc open = p->cur.loc;
    char expected[64];
    snprintf(expected, sizeof expected, "'{' to start the body of %s", what);
    if (!expect(p, TOK_LBRACE, expected)) return -1;
    while (p->cur.kind != TOK_RBRACE) {
        struct stmt s;
        memset(&s, 0, sizeof s);
        struct token t = p->cur;
        if (t.kind == TOK_SEMI) {
            advance(p);
        } else if (t.kind == TOK_RETURN) {
            s.is_return = 1;
            s.loc = t.loc;
            advance(p);
            if (p->failed || !(s.value = parse_expr(p)) || push_stmt(p, stmts, n, cap, s)) return -1;
        } else if (t.kind == TOK_IDENT) {
            s.name = t.text;
            s.len = t.len;
            s.loc = t.loc;
            advance(p);
            if (p->failed) return -1;
            if (p->cur.kind != TOK_ASSIGN) {
                char name[48];
                fe_clip(name, sizeof name, t.text, t.len);
                syntax_error(p, missing_loc(p), "expected '=' after '%s'; a statement is 'name = expression' or "
                             "'return expression'", name);
                return -1;
            }
            advance(p);
            if (p->failed || !(s.value = parse_expr(p)) || push_stmt(p, stmts, n, cap, s)) return -1;
        } else if (t.kind == TOK_EOF) {
            return expect_close(p, TOK_RBRACE, open), -1;
        } else if (t.kind == TOK_ERROR) {
            return -1;
        } else {
            syntax_error(p, t.loc, "expected a statement ('name = expression' or 'return expression'); got %s",
                         describe(&t, buf, sizeof buf));
            return -1;
        }
        if (p->failed) return -1;
    }
    *end = p->cur.loc;
    advance(p);
    return p->failed ? -1 : 0;
}

/* A body is a run of assignments closed by exactly one return. */
static void check_return(struct fe_model *m, const char *what, const struct stmt *stmts, int n, struct fe_loc end) {
    int ret = -1;
    for (int i = 0; i < n && ret < 0; i++)
        if (stmts[i].is_return) ret = i;
    if (ret < 0) fe_report(m, end, "%s must end with 'return <expression>'", what);
    else if (ret < n - 1) fe_report(m, stmts[ret + 1].loc, "unreachable statement after 'return'");
}

static int parse_energy(struct parser *p) {
    struct fe_model *m = p->m;
    char buf[96];
    struct fe_loc kw = p->cur.loc;
    int first = !m->has_energy;
    if (!first)
        fe_report(m, kw, "energy is defined twice; the first definition is at %d:%d", m->energy_loc.line,
                  m->energy_loc.col);
    advance(p);
    struct fe_loc open = p->cur.loc;
    if (!expect(p, TOK_LPAREN, "'(' after 'energy', as in energy(x: [B, 2])")) return -1;
    struct fe_input in[FE_MAX_INPUTS];
    int n_in = 0;
    memset(in, 0, sizeof in);
    for (;;) {
        struct token arg = p->cur;
        if (arg.kind != TOK_IDENT) {
            syntax_error(p, missing_loc(p), "expected %s of energy, as in energy(x: [B, 2]); got %s",
                         n_in ? "another argument" : "the argument", describe(&arg, buf, sizeof buf));
            return -1;
        }
        if (n_in == FE_MAX_INPUTS) {
            syntax_error(p, arg.loc, "energy takes at most %d arguments", FE_MAX_INPUTS);
            return -1;
        }
        if (tok_is(&arg, "B")) fe_report(m, arg.loc, "'B' is the batch size and cannot name the argument");
        for (int i = 0; i < n_in; i++)
            if (in[i].len == arg.len && memcmp(in[i].name, arg.text, (size_t)arg.len) == 0)
                fe_report(m, arg.loc, "energy has two arguments named '%s'", fe_clip(buf, sizeof buf, arg.text, arg.len));
        advance(p);
        if (!expect(p, TOK_COLON, "':' and the argument's shape, as in x: [B, 2]")) return -1;
        struct fe_input *a = &in[n_in++];
        a->name = arg.text, a->len = arg.len, a->loc = arg.loc;
        if (parse_shape(p, SHAPE_ARG, &a->ndim, a->dims, &a->bad)) return -1;
        if (p->cur.kind != TOK_COMMA) break;
        advance(p);
    }
    if (!expect_close(p, TOK_RPAREN, open)) return -1;

    struct stmt *stmts = NULL;
    int n = 0, cap = 0;
    struct fe_loc end = {0, 0};
    int rc = parse_body(p, "energy", &stmts, &n, &cap, &end);
    if (rc == 0 && first) check_return(m, "energy", stmts, n, end);
    if (rc != 0 || !first) {
        free(stmts);
        return rc;
    }
    m->has_energy = 1;
    m->energy_loc = kw;
    m->energy_end = end;
    memcpy(m->inputs, in, sizeof in);
    m->n_inputs = n_in;
    m->stmts = stmts;
    m->n_stmts = n;
    m->cap_stmts = cap;
    return 0;
}

/* ---- def name(a, b) { stmts } ---- */

static int parse_def(struct parser *p) {
    struct fe_model *m = p->m;
    char buf[96], name[48];
    advance(p);
    struct token t = p->cur;
    if (t.kind != TOK_IDENT) {
        syntax_error(p, missing_loc(p), "expected the name of the function after 'def', as in def f(a, b) { ... }; got %s",
                     describe(&t, buf, sizeof buf));
        return -1;
    }
    struct def_info d;
    memset(&d, 0, sizeof d);
    d.name = t.text;
    d.len = t.len;
    d.loc = t.loc;
    fe_clip(name, sizeof name, t.text, t.len);
    int twice = fe_names_find(&m->def_names, t.text, t.len);
    if (twice >= 0)
        fe_report(m, t.loc, "function '%s' is defined twice; the first definition is at %d:%d", name,
                  m->defs[twice].loc.line, m->defs[twice].loc.col);
    advance(p);
    struct fe_loc open = p->cur.loc;
    if (!expect(p, TOK_LPAREN, "'(' and the argument names, as in def f(a, b)")) return -1;
    while (p->cur.kind != TOK_RPAREN) {
        if (d.n_args > 0 && !expect(p, TOK_COMMA, "',' or ')' after an argument name")) return -1;
        struct token a = p->cur;
        if (a.kind != TOK_IDENT) {
            syntax_error(p, missing_loc(p), "expected an argument name; got %s", describe(&a, buf, sizeof buf));
            return -1;
        }
        char an[48];
        fe_clip(an, sizeof an, a.text, a.len);
        if (tok_is(&a, "B")) fe_report(m, a.loc, "'B' is the batch size and cannot name an argument");
        for (int i = 0; i < d.n_args; i++)
            if (d.args[i].len == a.len && memcmp(d.args[i].text, a.text, (size_t)a.len) == 0)
                fe_report(m, a.loc, "argument '%s' of '%s' is listed twice", an, name);
        if (d.n_args == FE_MAX_DEF_ARGS) {
            syntax_error(p, a.loc, "a function takes at most %d arguments", FE_MAX_DEF_ARGS);
            return -1;
        }
        d.args[d.n_args].text = a.text;
        d.args[d.n_args].len = a.len;
        d.args[d.n_args++].loc = a.loc;
        advance(p);
        if (p->failed) return -1;
    }
    if (!expect_close(p, TOK_RPAREN, open)) return -1;
    int n = 0, cap = 0;
    struct fe_loc end = {0, 0};
    char what[64];
    snprintf(what, sizeof what, "function '%s'", name);
    if (parse_body(p, what, &d.stmts, &n, &cap, &end) != 0) {
        free(d.stmts);
        return -1;
    }
    d.n_stmts = n;
    check_return(m, what, d.stmts, n, end);
    if (m->n_defs == m->cap_defs) {
        int c = m->cap_defs ? m->cap_defs * 2 : 8;
        struct def_info *grown = realloc(m->defs, sizeof *grown * (size_t)c);
        if (!grown) {
            free(d.stmts);
            return syntax_error(p, t.loc, "out of memory"), -1;
        }
        m->defs = grown;
        m->cap_defs = c;
    }
    if (fe_names_add(&m->def_names, d.name, d.len, m->n_defs)) {
        free(d.stmts);
        return syntax_error(p, t.loc, "out of memory"), -1;
    }
    m->defs[m->n_defs++] = d;
    return 0;
}

/* ---- train { key = value ... } ---- */

static int parse_train(struct parser *p) {
    struct fe_model *m = p->m;
    char buf[96], key[80];
    struct fe_loc kw = p->cur.loc;
    int first = !m->has_train;
    if (!first)
        fe_report(m, kw, "train is defined twice; the first block is at %d:%d", m->train_loc.line, m->train_loc.col);
    else {
        m->has_train = 1;
        m->train_loc = kw;
    }
    advance(p);
    struct fe_loc open = p->cur.loc;
    if (!expect(p, TOK_LBRACE, "'{' after 'train'")) return -1;
    for (;;) {
        struct token t = p->cur;
        if (t.kind == TOK_RBRACE) break;
        if (t.kind == TOK_SEMI) {
            advance(p);
            if (p->failed) return -1;
            continue;
        }
        if (t.kind == TOK_EOF) return expect_close(p, TOK_RBRACE, open), -1;
        if (t.kind == TOK_ERROR) return -1;
        if (t.kind != TOK_IDENT) {
            syntax_error(p, t.loc, "expected a setting (key = value); got %s", describe(&t, buf, sizeof buf));
            return -1;
        }
        fe_clip(key, sizeof key, t.text, t.len);
        advance(p);
        if (p->failed) return -1;
        if (p->cur.kind != TOK_ASSIGN) {
            syntax_error(p, missing_loc(p), "expected '=' after setting name '%s'; got %s", key,
                         describe(&p->cur, buf, sizeof buf));
            return -1;
        }
        /* The value is read raw, right after '=', so that words like dcd-ve stay whole. */
        struct token v = lex_setting_value(&p->lx);
        if (v.kind == TOK_ERROR) {
            p->failed = 1;
            return -1;
        }
        struct fe_setting s;
        memset(&s, 0, sizeof s);
        s.loc = t.loc;
        s.value_loc = v.loc;
        int ok = 1;
        if (t.len >= (int)sizeof s.key) {
            fe_report(m, t.loc, "setting name '%s' is too long (at most %d characters)", key, (int)sizeof s.key - 1);
            ok = 0;
        } else if (v.len >= (int)sizeof s.value) {
            fe_report(m, v.loc, "the value of '%s' is too long (at most %d characters)", key, (int)sizeof s.value - 1);
            ok = 0;
        } else {
            memcpy(s.key, t.text, (size_t)t.len);
            memcpy(s.value, v.text, (size_t)v.len);
            s.is_number = v.kind == TOK_NUMBER && isfinite(v.number);
            s.number = s.is_number ? v.number : 0;
            const struct fe_setting *prev = fe_model_find_setting(m, s.key);
            if (prev && first) {
                fe_report(m, t.loc, "duplicate setting '%s'; it is first set at %d:%d", key, prev->loc.line,
                          prev->loc.col);
                ok = 0;
            }
        }
        advance(p);
        if (p->failed) return -1;
        if (!p->cur.nl_before && p->cur.kind != TOK_SEMI && p->cur.kind != TOK_RBRACE && p->cur.kind != TOK_EOF) {
            syntax_error(p, p->cur.loc, "expected a new line or ';' after the value of '%s'; got %s", key,
                         describe(&p->cur, buf, sizeof buf));
            return -1;
        }
        if (!ok || !first) continue;
        if (m->n_settings == m->cap_settings) {
            int cap = m->cap_settings ? m->cap_settings * 2 : 16;
            struct fe_setting *grown = realloc(m->settings, sizeof *grown * (size_t)cap);
            if (!grown) return syntax_error(p, t.loc, "out of memory"), -1;
            m->settings = grown;
            m->cap_settings = cap;
        }
        m->settings[m->n_settings++] = s;
    }
    advance(p);
    return p->failed ? -1 : 0;
}

/* ---- model = { param | energy | train } ---- */

int fe_parse_model(struct fe_model *m) {
    struct parser p;
    memset(&p, 0, sizeof p);
    p.m = m;
    lex_init(&p.lx, m);
    advance(&p);
    while (!p.failed && p.cur.kind != TOK_EOF) {
        int rc = 0;
        switch (p.cur.kind) {
        case TOK_PARAM: rc = parse_param(&p); break;
        case TOK_ENERGY: rc = parse_energy(&p); break;
        case TOK_DEF: rc = parse_def(&p); break;
        case TOK_TRAIN: rc = parse_train(&p); break;
        case TOK_ERROR: rc = -1; break;
        default: {
            static const char *const items[] = {"param", "energy", "train", "def"};
            char buf[96], word[48];
            const char *s = p.cur.kind == TOK_IDENT ? fe_suggest(p.cur.text, p.cur.len, items, 4) : NULL;
            if (s)
                syntax_error(&p, p.cur.loc, "unknown item '%s'; did you mean '%s'?",
                             fe_clip(word, sizeof word, p.cur.text, p.cur.len), s);
            else if (p.cur.kind == TOK_IDENT || p.cur.kind == TOK_RETURN)
                syntax_error(&p, p.cur.loc, "expected 'param', 'def', 'energy' or 'train'; got %s (statements belong "
                             "inside energy(...) { ... } or a def)", describe(&p.cur, buf, sizeof buf));
            else
                syntax_error(&p, p.cur.loc, "expected 'param', 'def', 'energy' or 'train'; got %s",
                             describe(&p.cur, buf, sizeof buf));
            rc = -1;
        }
        }
        if (rc) p.failed = 1;
    }
    if (p.failed) return -1;
    if (!m->has_energy) {
        struct fe_loc top = {1, 1};
        fe_report(m, top, "the model has no energy function; add one, as in energy(x: [B, 2]) { ... return e }");
    }
    return 0;
}
