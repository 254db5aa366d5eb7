/* diag.c: located messages in clang's format, typo suggestions, and the model's memory arena.
 *
 *   rings.ebm:4:12: error: unknown function 'silo'; did you mean 'silu'?
 *     h = silo(x @ W1 + b1)
 *         ^
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fe_internal.h"

/* ---- arena: the AST lives until the model is freed, so nodes are bump-allocated and freed at once ---- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[]; /* max_align_t keeps every allocation suitably aligned */
};

void *fe_alloc(struct fe_model *m, size_t size) {
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct arena_block *b = m->arena;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = m->arena;
        b->used = 0;
        b->cap = cap;
        m->arena = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void fe_arena_free(struct fe_model *m) {
    while (m->arena) {
        struct arena_block *next = m->arena->next;
        free(m->arena);
        m->arena = next;
    }
}

/* ---- source line and caret ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes available), or 0 if it is not one. */
static int utf8_len(const unsigned char *s, size_t n) {
    int k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (s[0] > 0xf4 || (size_t)k > n) return 0;
    for (int i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return k;
}

#define LINE_WINDOW 160 /* longer lines are shown as a window around the column */

/* Prints the loc's source line and a caret under its column. Control bytes and invalid UTF-8 show as
 * '?', and the caret line copies tabs, so the caret lines up in a terminal. */
static void print_source_line(const struct fe_model *m, FILE *out, struct fe_loc loc) {
    if (!m->src || loc.line < 1) return;
    size_t pos = 0;
    for (int line = 1; line < loc.line; line++) {
        const char *nl = memchr(m->src + pos, '\n', m->src_len - pos);
        if (!nl) return;
        pos = (size_t)(nl - m->src) + 1;
    }
    const char *nl = memchr(m->src + pos, '\n', m->src_len - pos);
    size_t end = nl ? (size_t)(nl - m->src) : m->src_len;
    if (end > pos && m->src[end - 1] == '\r') end--;
    size_t len = end - pos, col = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    if (col > len) col = len;

    size_t from = 0, to = len;
    if (len > LINE_WINDOW) {
        from = col > LINE_WINDOW / 2 ? col - LINE_WINDOW / 2 : 0;
        to = from + LINE_WINDOW < len ? from + LINE_WINDOW : len;
        if (to - from < LINE_WINDOW) from = to > LINE_WINDOW ? to - LINE_WINDOW : 0;
    }
    const unsigned char *s = (const unsigned char *)m->src + pos;
    while (from > 0 && from < len && (s[from] & 0xc0) == 0x80) from++; /* do not start mid-character */
    /* The caret line is built alongside the source line, one entry per displayed column. */
    char caret[LINE_WINDOW * 2 + 16];
    size_t nc = 0;
    if (from > 0) {
        fputs("...", out);
        memcpy(caret, "   ", 3);
        nc = 3;
    }
    size_t i = from;
    while (i < to) {
        int k = s[i] >= 0x80 ? utf8_len(s + i, to - i) : 1;
        if (k == 0) k = 1; /* a stray byte of invalid UTF-8 */
        if (s[i] == '\t') fputc('\t', out);
        else if (k > 1) fwrite(s + i, 1, (size_t)k, out);
        else if (s[i] >= 0x20 && s[i] < 0x7f) fputc(s[i], out);
        else fputc('?', out);
        if (i < col && nc < sizeof caret - 2) caret[nc++] = s[i] == '\t' ? '\t' : ' ';
        i += (size_t)k;
    }
    if (to < len) fputs("...", out);
    fputc('\n', out);
    caret[nc++] = '^';
    caret[nc] = 0;
    fprintf(out, "%s\n", caret);
}

void fe_vdiag(const struct fe_model *m, FILE *out, struct fe_loc loc, const char *severity, const char *fmt,
              va_list ap) {
    if (!out) return;
    fprintf(out, "%s:%d:%d: %s: ", m->filename ? m->filename : "<input>", loc.line, loc.col, severity);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    print_source_line(m, out, loc);
    fflush(out);
}

void fe_error_at(const struct fe_model *m, struct fe_loc loc, FILE *diag, const char *fmt, ...) {
    if (!m) return;
    va_list ap;
    va_start(ap, fmt);
    fe_vdiag(m, diag, loc, "error", fmt, ap);
    va_end(ap);
}

void fe_report(struct fe_model *m, struct fe_loc loc, const char *fmt, ...) {
    if (m->n_errors++ >= FE_MAX_ERRORS) return;
    va_list ap;
    va_start(ap, fmt);
    fe_vdiag(m, m->diag, loc, "error", fmt, ap);
    va_end(ap);
}

void fe_warn(struct fe_model *m, struct fe_loc loc, const char *fmt, ...) {
    if (m->n_warnings++ >= FE_MAX_ERRORS) {
        if (m->n_warnings == FE_MAX_ERRORS + 1 && m->diag)
            fprintf(m->diag, "%s: note: further warnings are not shown\n", m->filename ? m->filename : "<input>");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fe_vdiag(m, m->diag, loc, "warning", fmt, ap);
    va_end(ap);
}

/* ---- names ---- */

static size_t name_hash(const char *text, int len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < len; i++) h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    return (size_t)h;
}

/* The slot holding this name, or the empty slot where it would go (cap is a power of two, never full). */
static struct fe_name_slot *name_slot(const struct fe_name_index *ix, const char *text, int len) {
    size_t mask = (size_t)ix->cap - 1, i = name_hash(text, len) & mask;
    while (ix->slots[i].text && !(ix->slots[i].len == len && memcmp(ix->slots[i].text, text, (size_t)len) == 0))
        i = (i + 1) & mask;
    return &ix->slots[i];
}

int fe_names_find(const struct fe_name_index *ix, const char *text, int len) {
    if (!ix->cap) return -1;
    const struct fe_name_slot *s = name_slot(ix, text, len);
    return s->text ? s->id : -1;
}

int fe_names_add(struct fe_name_index *ix, const char *text, int len, int id) {
    if (2 * (ix->n + 1) > ix->cap) { /* keep it at most half full */
        struct fe_name_index grown = {calloc(ix->cap ? 2 * (size_t)ix->cap : 16, sizeof *grown.slots),
                                      ix->cap ? 2 * ix->cap : 16, ix->n};
        if (!grown.slots) return -1;
        for (int i = 0; i < ix->cap; i++)
            if (ix->slots[i].text) *name_slot(&grown, ix->slots[i].text, ix->slots[i].len) = ix->slots[i];
        free(ix->slots);
        *ix = grown;
    }
    struct fe_name_slot *s = name_slot(ix, text, len);
    if (s->text) return 0;
    *s = (struct fe_name_slot){text, len, id};
    ix->n++;
    return 0;
}

/* ---- suggestions ---- */

/* Optimal string alignment distance (Levenshtein plus adjacent swaps), ignoring case. */
static int edit_distance(const char *a, int la, const char *b, int lb) {
    enum { MAXLEN = 40 };
    if (la > MAXLEN || lb > MAXLEN) return 1 << 20;
    int d[MAXLEN + 1][MAXLEN + 1];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

const char *fe_suggest(const char *word, int len, const char *const *candidates, int n) {
    /* Allow one edit for short words, more for longer ones, and never so many the word is unrecognizable. */
    int limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    int best_d = limit + 1;
    for (int i = 0; i < n; i++) {
        int cl = (int)strlen(candidates[i]);
        int d = edit_distance(word, len, candidates[i], cl);
        if (d < best_d && d < len && d < cl) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

/* ---- small formatting helpers ---- */

const char *fe_clip(char *buf, size_t size, const char *text, int len) {
    size_t n = text && len > 0 ? (size_t)len : 0;
    if (n < size) {
        if (n) memcpy(buf, text, n);
        buf[n] = 0;
        return buf;
    }
    size_t keep = size - 4;
    while (keep > 0 && ((unsigned char)text[keep] & 0xc0) == 0x80) keep--; /* whole characters only */
    memcpy(buf, text, keep);
    memcpy(buf + keep, "...", 4);
    return buf;
}
