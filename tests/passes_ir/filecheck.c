/* filecheck.c: IR-in/IR-out pass tests, checked the way LLVM's FileCheck checks them (a small subset).
 *
 *     filecheck FILE.ir              run FILE's `; RUN:` line in-process and check the output
 *     filecheck FILE.ir --cli EBMC   run the same through the `ebmc opt` command line instead
 *
 * A test file is a graph in the textual IR (docs/ir.md) with directives in comments:
 *     ; RUN: passes=simplify,dce [print-after=simplify] [expect-error]
 *     ; CHECK: text        the text occurs on some line after the previous match
 *     ; CHECK-NEXT: text   ... on the line right after the previous match
 *     ; CHECK-NOT: text    ... on no line between the previous match and the next one (or the end)
 * The output is what `ebmc opt FILE --passes=... --print-after=... 2>&1` prints: the graphs after the
 * print-after passes, then the result; with expect-error the run must fail and the output is its error.
 * Matching is by substring, one match per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "pass.h"

enum kind { CHECK, CHECK_NEXT, CHECK_NOT };

struct directive {
    enum kind kind;
    char *text;
    int line; /* in the test file */
};

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (len + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

/* The value of `key=` in the RUN line (into buf), or NULL. */
static const char *run_option(const char *run, const char *key, char *buf, size_t len) {
    size_t n = strlen(key);
    for (const char *p = run; (p = strstr(p, key)); p += n) {
        if ((p != run && p[-1] != ' ') || p[n] != '=') continue;
        const char *v = p + n + 1;
        size_t k = strcspn(v, " \t\r\n");
        snprintf(buf, len, "%.*s", (int)k, v);
        return buf;
    }
    return NULL;
}

static int has_word(const char *run, const char *word) {
    size_t n = strlen(word);
    for (const char *p = run; (p = strstr(p, word)); p += n)
        if ((p == run || p[-1] == ' ') && (p[n] == 0 || strchr(" \t\r\n", p[n]))) return 1;
    return 0;
}

/* What `ebmc opt` prints (stdout and stderr together), computed in-process. Returns 0 if it succeeded. */
static int run_inprocess(const char *text, const char *path, const char *passes, const char *print_after, char **out) {
    size_t len;
    FILE *f = open_memstream(out, &len);
    char err[1024];
    int rc = -1;
    struct ir_graph *in = ir_parse(text, path, err, sizeof err);
    if (!in) {
        fprintf(f, "%s\n", err);
    } else {
        struct ir_graph *g = pass_run_pipeline(in, passes, print_after, f, err, sizeof err);
        if (!g) {
            fprintf(f, "error: %s\n", err);
        } else {
            ir_print(g, f);
            rc = 0;
        }
        ir_graph_free(g);
        ir_graph_free(in);
    }
    fclose(f);
    return rc;
}

static int run_cli(const char *ebmc, const char *path, const char *passes, const char *print_after, char **out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' opt '%s' '--passes=%s'%s%s%s 2>&1", ebmc, path, passes,
             print_after ? " '--print-after=" : "", print_after ? print_after : "", print_after ? "'" : "");
    FILE *p = popen(cmd, "r");
    size_t len;
    FILE *f = open_memstream(out, &len);
    int c;
    while (p && (c = fgetc(p)) != EOF) fputc(c, f);
    fclose(f);
    int status = p ? pclose(p) : -1;
    return status == 0 ? 0 : -1;
}

/* The output split into lines (modified in place). */
static int split_lines(char *text, char ***lines) {
    int n = 0, cap = 64;
    *lines = malloc(sizeof(char *) * (size_t)cap);
    for (char *p = text; *p;) {
        if (n == cap) *lines = realloc(*lines, sizeof(char *) * (size_t)(cap *= 2));
        (*lines)[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    return n;
}

static void show_output(char **lines, int n, int from) {
    fprintf(stderr, "output from line %d:\n", from + 1);
    for (int i = from; i < n && i < from + 40; i++) fprintf(stderr, "  %4d | %s\n", i + 1, lines[i]);
}

/* Applies the directives to the output; prints each failure. Returns the number of failures. */
static int check(const char *path, struct directive *d, int nd, char **lines, int nl) {
    int pos = 0, last = -1, failures = 0; /* pos: first line a CHECK may match; last: previous match */
    for (int i = 0; i < nd; i++) {
        if (d[i].kind == CHECK_NOT) continue;
        int found = -1;
        if (d[i].kind == CHECK_NEXT) {
            if (last + 1 < nl && strstr(lines[last + 1], d[i].text)) found = last + 1;
        } else {
            for (int k = pos; k < nl && found < 0; k++)
                if (strstr(lines[k], d[i].text)) found = k;
        }
        if (found < 0) {
            fprintf(stderr, "%s:%d: error: %s '%s' not found%s\n", path, d[i].line,
                    d[i].kind == CHECK_NEXT ? "CHECK-NEXT:" : "CHECK:", d[i].text,
                    d[i].kind == CHECK_NEXT ? " on the next line" : "");
            show_output(lines, nl, d[i].kind == CHECK_NEXT ? last + 1 : pos);
            return failures + 1;
        }
        /* The CHECK-NOTs just before this directive cover the lines between the two matches. */
        for (int j = i - 1; j >= 0 && d[j].kind == CHECK_NOT; j--)
            for (int k = last + 1; k < found; k++)
                if (strstr(lines[k], d[j].text)) {
                    fprintf(stderr, "%s:%d: error: CHECK-NOT: '%s' found on output line %d: %s\n", path, d[j].line,
                            d[j].text, k + 1, lines[k]);
                    failures++;
                }
        last = found;
        pos = found + 1;
    }
    for (int j = nd - 1; j >= 0 && d[j].kind == CHECK_NOT; j--) /* trailing CHECK-NOTs: to the end */
        for (int k = last + 1; k < nl; k++)
            if (strstr(lines[k], d[j].text)) {
                fprintf(stderr, "%s:%d: error: CHECK-NOT: '%s' found on output line %d: %s\n", path, d[j].line,
                        d[j].text, k + 1, lines[k]);
                failures++;
            }
    return failures;
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--cli") == 0)) {
        fprintf(stderr, "usage: filecheck FILE.ir [--cli EBMC]\n");
        return 2;
    }
    const char *path = argv[1];
    char *text = read_file(path);
    if (!text) {
        fprintf(stderr, "%s: cannot read\n", path);
        return 2;
    }
    /* Directives, from a copy of the text so the parser sees the file unchanged. */
    char *copy = strdup(text), *run = NULL;
    struct directive d[256];
    int nd = 0, line = 0, bad = 0;
    for (char *p = copy; p && *p; line++) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        char *s = p + strspn(p, " \t");
        p = nl ? nl + 1 : NULL;
        if (*s != ';') continue;
        s += 1 + strspn(s + 1, " \t");
        static const struct {
            const char *prefix;
            enum kind kind;
        } kinds[] = {{"CHECK:", CHECK}, {"CHECK-NEXT:", CHECK_NEXT}, {"CHECK-NOT:", CHECK_NOT}};
        if (strncmp(s, "RUN:", 4) == 0) {
            run = s + 4;
            continue;
        }
        if (strncmp(s, "CHECK", 5) != 0) continue;
        int k = 0;
        while (k < 3 && strncmp(s, kinds[k].prefix, strlen(kinds[k].prefix)) != 0) k++;
        if (k == 3 || nd == 256) {
            fprintf(stderr, "%s:%d: error: unknown directive (CHECK:, CHECK-NEXT:, CHECK-NOT:)\n", path, line + 1);
            bad = 1;
            continue;
        }
        char *t = s + strlen(kinds[k].prefix);
        t += strspn(t, " \t");
        size_t n = strlen(t);
        while (n && strchr(" \t\r", t[n - 1])) t[--n] = 0;
        d[nd++] = (struct directive){kinds[k].kind, t, line + 1};
    }
    if (!run || nd == 0 || bad) {
        if (!bad) fprintf(stderr, "%s: needs a '; RUN: passes=...' line and at least one CHECK\n", path);
        return 2;
    }
    char passes[256], after[256];
    const char *pipeline = run_option(run, "passes", passes, sizeof passes);
    const char *print_after = run_option(run, "print-after", after, sizeof after);
    int expect_error = has_word(run, "expect-error");
    char *out = NULL;
    int rc = argc == 4 ? run_cli(argv[3], path, pipeline ? pipeline : "", print_after, &out)
                       : run_inprocess(text, path, pipeline ? pipeline : "", print_after, &out);
    int failures = 0;
    if ((rc != 0) != expect_error) {
        fprintf(stderr, "%s: error: the run %s\n%s", path, expect_error ? "succeeded, expected an error" : "failed",
                out);
        failures++;
    } else {
        char **lines;
        int n = split_lines(out, &lines);
        failures = check(path, d, nd, lines, n);
        free(lines);
    }
    free(out);
    free(copy);
    free(text);
    if (!failures) fprintf(stderr, "%s: %d directives passed\n", path, nd);
    return failures ? 1 : 0;
}
