/* lexer.c: source bytes -> tokens, produced on demand for the parser.
 *
 * Newlines are whitespace, except that each token records whether one preceded it: the train block
 * uses that to separate its `key = value` lines. Every malformed input (stray byte, bad number,
 * unterminated string) is reported here with its location and ends the parse. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fe_internal.h"

void lex_init(struct lexer *lx, struct fe_model *m) {
    memset(lx, 0, sizeof *lx);
    lx->m = m;
    lx->src = m->src;
    lx->len = m->src_len;
    lx->line = 1;
}

static int peek(const struct lexer *lx, size_t ahead) {
    return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

static struct fe_loc here(const struct lexer *lx) {
    struct fe_loc loc = {lx->line, (int)(lx->pos - lx->line_start) + 1};
    return loc;
}

static int is_ident_start(int c) { return c == '_' || (c >= 0 && c < 128 && isalpha(c)); }
static int is_ident_char(int c) { return c == '_' || (c >= 0 && c < 128 && isalnum(c)); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Skips blanks, newlines and comments; returns whether a newline was crossed. */
static int skip_space(struct lexer *lx) {
    int nl = 0;
    for (;;) {
        int c = peek(lx, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->pos++;
        } else if (c == '\n') {
            lx->pos++;
            lx->line++;
            lx->line_start = lx->pos;
            nl = 1;
        } else if (c == '#') {
            while (peek(lx, 0) != -1 && peek(lx, 0) != '\n') lx->pos++;
        } else {
            return nl;
        }
    }
}

static struct token make(struct lexer *lx, enum tok_kind kind, size_t start, struct fe_loc loc) {
    struct token t;
    memset(&t, 0, sizeof t);
    t.kind = kind;
    t.text = lx->src + start;
    t.len = (int)(lx->pos - start);
    t.loc = loc;
    return t;
}

static struct token error_token(struct fe_loc loc) {
    struct token t;
    memset(&t, 0, sizeof t);
    t.kind = TOK_ERROR;
    t.loc = loc;
    return t;
}

/* Length of a number literal at s: digits [. digits] [e [+-] digits], or .digits...; 0 if none.
 * *bad_exp is set when an 'e' follows without digits. */
static size_t scan_number(const char *s, size_t n, int *is_int, int *bad_exp) {
    size_t i = 0;
    *is_int = 1;
    *bad_exp = 0;
    while (i < n && is_digit((unsigned char)s[i])) i++;
    if (i < n && s[i] == '.' && (i > 0 || (i + 1 < n && is_digit((unsigned char)s[i + 1])))) {
        *is_int = 0;
        i++;
        while (i < n && is_digit((unsigned char)s[i])) i++;
    }
    if (i == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (j < n && is_digit((unsigned char)s[j])) {
            while (j < n && is_digit((unsigned char)s[j])) j++;
            *is_int = 0;
            i = j;
        } else {
            *bad_exp = 1;
        }
    }
    return i;
}

int lex_is_number(const char *text, int len) {
    size_t n = (size_t)len, i = 0;
    if (i < n && (text[i] == '+' || text[i] == '-')) i++;
    int is_int, bad_exp;
    size_t k = scan_number(text + i, n - i, &is_int, &bad_exp);
    return k > 0 && !bad_exp && i + k == n;
}

/* strtod on a bounded copy: the source is not NUL-terminated at the token's end. */
static double number_value(const char *s, int len) {
    char buf[512];
    if (len >= (int)sizeof buf) return HUGE_VAL;
    memcpy(buf, s, (size_t)len);
    buf[len] = 0;
    return strtod(buf, NULL);
}

static struct token lex_number(struct lexer *lx) {
    size_t start = lx->pos;
    struct fe_loc loc = here(lx);
    int is_int, bad_exp;
    size_t n = scan_number(lx->src + start, lx->len - start, &is_int, &bad_exp);
    lx->pos += n;
    char buf[64];
    if (bad_exp) {
        fe_report(lx->m, loc, "malformed number '%s': the exponent needs digits, as in 1e-3",
                  fe_clip(buf, sizeof buf, lx->src + start, (int)n + 1));
        return error_token(loc);
    }
    /* `2x` or `1.5.2`: a number glued to more word characters is a typo, not two tokens. */
    if (is_ident_char(peek(lx, 0)) || peek(lx, 0) == '.') {
        size_t end = lx->pos;
        while (end < lx->len && (is_ident_char((unsigned char)lx->src[end]) || lx->src[end] == '.')) end++;
        char sfx[64];
        fe_report(lx->m, loc, "invalid suffix '%s' on number '%s'",
                  fe_clip(sfx, sizeof sfx, lx->src + lx->pos, (int)(end - lx->pos)),
                  fe_clip(buf, sizeof buf, lx->src + start, (int)n));
        return error_token(loc);
    }
    struct token t = make(lx, TOK_NUMBER, start, loc);
    t.is_int = is_int;
    t.number = number_value(t.text, t.len);
    if (!isfinite(t.number)) {
        fe_report(lx->m, loc, "number '%s' is too large", fe_clip(buf, sizeof buf, t.text, t.len));
        return error_token(loc);
    }
    /* a literal that is not zero but would compute as 0 (kernels run in float) is a mistake, not 0 */
    int nonzero = 0;
    for (int i = 0; i < t.len && t.text[i] != 'e' && t.text[i] != 'E'; i++) nonzero |= t.text[i] >= '1' && t.text[i] <= '9';
    if (nonzero && (float)t.number == 0) {
        fe_report(lx->m, loc, "number '%s' is too small: it would be 0 (the smallest float is about 1.4e-45)",
                  fe_clip(buf, sizeof buf, t.text, t.len));
        return error_token(loc);
    }
    return t;
}

/* A string runs to the next '"' on the same line; there are no escapes. Control bytes other than tab
 * are refused: a NUL would silently cut the value wherever it is used as a C string. */
static struct token lex_string(struct lexer *lx) {
    struct fe_loc loc = here(lx);
    size_t start = ++lx->pos;
    while (peek(lx, 0) != '"') {
        int c = peek(lx, 0);
        if (c == -1 || c == '\n') {
            fe_report(lx->m, loc, "unterminated string; add the closing '\"' on the same line");
            return error_token(loc);
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            struct fe_loc at = here(lx);
            fe_report(lx->m, at, "control byte 0x%02x inside a string (strings hold text only)", c);
            return error_token(at);
        }
        lx->pos++;
    }
    struct token t = make(lx, TOK_STRING, start, loc);
    lx->pos++;
    return t;
}

static void report_bad_char(struct lexer *lx, struct fe_loc loc) {
    const unsigned char *s = (const unsigned char *)lx->src + lx->pos;
    size_t avail = lx->len - lx->pos;
    int c = s[0];
    if (c >= 0x80) {
        /* Show a whole UTF-8 character when it is one, else the raw byte. */
        int k = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        int ok = k > 0 && (size_t)k <= avail;
        for (int i = 1; ok && i < k; i++) ok = (s[i] & 0xc0) == 0x80;
        if (ok) fe_report(lx->m, loc, "unexpected character '%.*s'", k, (const char *)s);
        else fe_report(lx->m, loc, "unexpected byte 0x%02x", c);
    } else if (c == '^') {
        fe_report(lx->m, loc, "unexpected character '^'; there is no power operator: use square(x) or x * x");
    } else if (c < 0x20 || c == 0x7f) {
        fe_report(lx->m, loc, "unexpected control byte 0x%02x", c);
    } else {
        fe_report(lx->m, loc, "unexpected character '%c'", c);
    }
}

struct token lex_next(struct lexer *lx) {
    int nl = skip_space(lx);
    struct fe_loc loc = here(lx);
    size_t start = lx->pos;
    int c = peek(lx, 0);
    struct token t;
    if (c == -1) {
        t = make(lx, TOK_EOF, start, loc);
    } else if (is_ident_start(c)) {
        while (is_ident_char(peek(lx, 0))) lx->pos++;
        t = make(lx, TOK_IDENT, start, loc);
        static const struct {
            const char *word;
            enum tok_kind kind;
        } keywords[] = {{"param", TOK_PARAM}, {"energy", TOK_ENERGY}, {"train", TOK_TRAIN}, {"return", TOK_RETURN},
                        {"def", TOK_DEF}};
        for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
            if ((size_t)t.len == strlen(keywords[i].word) && memcmp(t.text, keywords[i].word, (size_t)t.len) == 0)
                t.kind = keywords[i].kind;
    } else if (is_digit(c) || (c == '.' && is_digit(peek(lx, 1)))) {
        t = lex_number(lx);
    } else if (c == '"') {
        t = lex_string(lx);
    } else {
        static const char punct[] = "()[]{},:;=+-*/@";
        static const enum tok_kind kinds[] = {TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET, TOK_LBRACE,
                                              TOK_RBRACE, TOK_COMMA,  TOK_COLON,    TOK_SEMI,     TOK_ASSIGN,
                                              TOK_PLUS,   TOK_MINUS,  TOK_STAR,     TOK_SLASH,    TOK_AT};
        const char *p = c ? strchr(punct, c) : NULL;
        if (!p) {
            report_bad_char(lx, loc);
            return error_token(loc);
        }
        lx->pos++;
        t = make(lx, kinds[p - punct], start, loc);
    }
    t.nl_before = nl;
    return t;
}

static int is_word_char(int c) { return is_ident_char(c) || c == '-' || c == '+' || c == '.'; }

struct token lex_setting_value(struct lexer *lx) {
    while (peek(lx, 0) == ' ' || peek(lx, 0) == '\t' || peek(lx, 0) == '\r') lx->pos++;
    struct fe_loc loc = here(lx);
    int c = peek(lx, 0);
    if (c == '"') return lex_string(lx);
    if (!is_word_char(c)) {
        if (c == -1) fe_report(lx->m, loc, "expected a value after '='; got end of file");
        else if (c == '\n' || c == '#') fe_report(lx->m, loc, "expected a value after '=' on the same line");
        else if (c >= 0x20 && c < 0x7f) fe_report(lx->m, loc, "expected a value after '='; got '%c'", c);
        else report_bad_char(lx, loc);
        return error_token(loc);
    }
    size_t start = lx->pos;
    while (is_word_char(peek(lx, 0))) lx->pos++;
    struct token t = make(lx, TOK_IDENT, start, loc);
    if (lex_is_number(t.text, t.len)) {
        t.kind = TOK_NUMBER;
        t.number = number_value(t.text, t.len);
    }
    return t;
}
