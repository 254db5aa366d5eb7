/* fe_internal.h: what the frontend's files share: the model record, the AST, tokens, diagnostics.
 *
 * The pipeline is lexer.c (bytes -> tokens) -> parser.c (tokens -> AST, declarations checked) ->
 * lower.c (one evaluator that both checks shapes symbolically and, given a graph, emits IR) ->
 * model.c (entry points, accessors, AST printer). diag.c prints located messages. */
#ifndef EBMC_FE_INTERNAL_H
#define EBMC_FE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend.h"

#define FE_MAX_ERRORS 8     /* "a handful": later errors are usually consequences of earlier ones */
#define FE_MAX_DEPTH 256    /* expression nesting; keeps every recursive walk far from the stack limit */
#define FE_MAX_INLINE_DEPTH 256 /* the same through inlined function calls */
#define FE_MAX_WORK (1 << 18)    /* expressions evaluated in one check or lowering, calls inlined */
#define FE_MAX_FILE_BYTES ((size_t)16 << 20) /* a model file; far above any real model, far below RAM */
#define FE_DIM_B IR_DIM_SYM /* the symbolic batch dimension inside a shape (the IR's shape rules know it) */
#define FE_DIM_INFER (-2)  /* reshape's -1: the dimension the element count leaves (never past lowering) */
#define FE_MAX_DIM ((int64_t)1 << 31)   /* a literal dimension must be below this */
#define FE_MAX_NUMEL ((int64_t)1 << 32) /* and a shape's literal dimensions must multiply to at most this */
#define FE_PROBE_BATCH 7    /* batch size of the trial lowering done after the symbolic check */

/* ---- tokens ---- */

enum tok_kind {
    TOK_EOF,
    TOK_ERROR, /* the lexer already reported it */
    TOK_IDENT,
    TOK_NUMBER,
    TOK_STRING,
    TOK_PARAM,
    TOK_ENERGY,
    TOK_TRAIN,
    TOK_RETURN,
    TOK_DEF,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_COMMA,
    TOK_COLON,
    TOK_SEMI,
    TOK_ASSIGN,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_AT,
};

struct token {
    enum tok_kind kind;
    const char *text; /* into the source; for strings, without the quotes */
    int len;
    struct fe_loc loc;
    int nl_before; /* a newline separates this token from the previous one */
    double number; /* TOK_NUMBER */
    int is_int;    /* TOK_NUMBER written without '.' or exponent */
};

struct lexer {
    struct fe_model *m;
    const char *src;
    size_t len, pos, line_start;
    int line;
};

void lex_init(struct lexer *lx, struct fe_model *m);
struct token lex_next(struct lexer *lx);
/* The raw value of a train setting, read right after its '=': a "string" or a bare word of letters,
 * digits and _ - + . (so dcd-ve and 1e-3 need no quotes). Reports and returns TOK_ERROR if absent. */
struct token lex_setting_value(struct lexer *lx);
/* Whether text is a complete number literal in the language's syntax (with an optional sign). */
int lex_is_number(const char *text, int len);

/* ---- AST ---- */

enum expr_kind {
    EX_NUMBER,
    EX_NAME,
    EX_NEG,
    EX_BINARY,
    EX_CALL,
    EX_DIMS, /* [d, B, ...]: only as reshape's second argument */
};

struct expr {
    enum expr_kind kind;
    struct fe_loc loc;   /* the telling token: operator, name, function name, number, '[' */
    struct fe_loc start; /* where the whole expression begins */
    const char *text;    /* name, function name or number as written */
    int len;
    double number;
    int op; /* EX_BINARY: '+', '-', '*', '/', '@' */
    struct expr *a, *b;
    struct expr **args;
    int n_args;
    int ndim; /* EX_DIMS */
    int64_t dims[IR_MAX_DIMS];
    int depth;
    /* The type found by the check, shown by fe_print_ast. */
    int typed, is_number, tndim;
    int64_t tdims[IR_MAX_DIMS];
};

struct stmt {
    int is_return;
    const char *name; /* assignment target */
    int len;
    struct fe_loc loc; /* of the target name or the 'return' keyword */
    struct expr *value;
};

#define FE_MAX_DEF_ARGS 16

/* def name(a, b) { stmts }: a function inlined at each call (lower.c). */
struct def_info {
    const char *name;
    int len;
    struct fe_loc loc; /* of the name */
    struct {
        const char *text;
        int len;
        struct fe_loc loc;
    } args[FE_MAX_DEF_ARGS];
    int n_args;
    struct stmt *stmts;
    int n_stmts;
};

struct param_info {
    struct fe_param p; /* first, so fe_model_param can hand out &info->p */
    const char *text;  /* the name as written (may be too long for p.name) */
    int len;
    int bad;           /* declaration had an error; uses are silently poisoned */
};

struct arena_block;

/* Names to indices (parameters, functions), so a lookup costs the same with 10 names or 100000. */
struct fe_name_index {
    struct fe_name_slot {
        const char *text; /* NULL: empty */
        int len, id;
    } *slots;
    int cap, n;
};
/* The id added with this name, or -1. */
int fe_names_find(const struct fe_name_index *ix, const char *text, int len);
/* Adds a name (the first id stays if it is there already). Returns 0, or -1 when out of memory. */
int fe_names_add(struct fe_name_index *ix, const char *text, int len, int id);

struct fe_model {
    char *filename;
    char *src; /* NUL-terminated copy; may hold other NUL bytes when read from a file */
    size_t src_len;
    struct arena_block *arena;
    FILE *diag;   /* during parsing and checking */
    int n_errors; /* errors reported so far */
    int n_warnings;

    struct param_info *params;
    int n_params, cap_params;
    struct fe_setting *settings;
    int n_settings, cap_settings;

    int has_energy;
    struct fe_loc energy_loc, energy_end; /* the keyword and the closing '}' */
    /* The energy's arguments: the first is the point x (sampled, differentiated); the others condition
     * it (a time t: [B], labels), each with B as its first dimension. */
    struct fe_input {
        const char *name;
        int len;
        struct fe_loc loc;
        int ndim;
        int64_t dims[IR_MAX_DIMS]; /* dims[0] = FE_DIM_B */
        int bad;                   /* the shape had an error; the argument's uses are poisoned */
    } inputs[FE_MAX_INPUTS];
    int n_inputs;
    int n_classes; /* the energy returns [B, K], one energy per label: K (found by the check); 0: [B] */
    struct stmt *stmts;
    int n_stmts, cap_stmts;

    int has_train;
    struct fe_loc train_loc;

    struct def_info *defs;
    int n_defs, cap_defs;
    struct fe_name_index param_names, def_names;
};

void *fe_alloc(struct fe_model *m, size_t size); /* zeroed, freed with the model; NULL when out of memory */
void fe_arena_free(struct fe_model *m);

/* ---- diagnostics ---- */

/* Prints a located message with its source line and caret. */
void fe_vdiag(const struct fe_model *m, FILE *out, struct fe_loc loc, const char *severity, const char *fmt,
              va_list ap);
/* An error that counts toward m->n_errors; silent once FE_MAX_ERRORS have been printed. */
void fe_report(struct fe_model *m, struct fe_loc loc, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A warning; silent once FE_MAX_ERRORS have been printed (the next says so). */
void fe_warn(struct fe_model *m, struct fe_loc loc, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* The candidate closest to word by edit distance, if close enough to be a likely typo; else NULL. */
const char *fe_suggest(const char *word, int len, const char *const *candidates, int n);
/* Writes at most `max` characters of text into buf, with "..." when cut (for names in messages). */
const char *fe_clip(char *buf, size_t size, const char *text, int len);

/* ---- parser and evaluator ---- */

/* Parses the whole source into m. Returns 0, or -1 after a syntax error (parsing stops there). */
int fe_parse_model(struct fe_model *m);
/* Checks names and shapes of the energy symbolically, then lowers it once at FE_PROBE_BATCH as a
 * self-test. Returns 0 or -1; errors go to m->diag. */
int fe_check_energy(struct fe_model *m);

/* Initializer names, indexed by enum fe_init (parser.c), for messages and suggestions. */
extern const char *const fe_init_names[];
extern const int fe_n_inits;

#endif
