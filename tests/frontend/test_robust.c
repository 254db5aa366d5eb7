/* test_robust.c: no input crashes the frontend. Truncations, byte mutations, random bytes, token soup,
 * extreme nesting and sizes. Every rejected input must explain itself with a located error, and every
 * accepted one must lower to a graph that verifies. Run under ASan/valgrind to catch leaks. */
#include <stdarg.h>
#include <stdint.h>

#include "fe_test_util.h"
#include "test.h"

static const char *model =
    "# a model using most of the language\n"
    "param W1: [2, 16] = xavier()\n"
    "param b1: [16] = zeros()\n"
    "param W2: [16, 1] = normal(0.01)\n"
    "param s: [1] = uniform(-1, 1)\n"
    "energy(x: [B, 2]) {\n"
    "  h = silu(x @ W1 + b1) * 0.5; g = -h / (1 + 2)\n"
    "  h = reshape(tanh(g) - reshape(mean(h, -1), [B, 1]) * s, [B, 16])\n"
    "  return sum(h @ W2, 1) + mean(square(x), 1) + stop_grad(sum(x, 1))\n"
    "}\n"
    "train {\n"
    "  data = \"rings\"; objective = dcd-ve\n"
    "  lr = 1e-3\n"
    "}\n";

static int n_accepted, n_rejected;

/* Parses; checks the outcome is explained (rejected) or lowers cleanly (accepted). */
static void try_parse(const char *src) {
    char *diag;
    struct fe_model *m = parse_capture(src, &diag);
    if (!m) {
        int line, col, k = 0;
        int ok = diag && sscanf(diag, "t.ebm:%d:%d: error: %n", &line, &col, &k) == 2 && k > 0;
        CHECK_MSG(ok, "rejected without a located error: %s\n--- input ---\n%s", diag ? diag : "(null)", src);
        n_rejected++;
    } else {
        struct ir_graph *g = ir_graph_new();
        int e = -1;
        CHECK_MSG(fe_lower_energy_at(m, g, 2, &e, stderr) == 0, "accepted but did not lower:\n%s", src);
        char err[256];
        CHECK(ir_verify(g, err, sizeof err) == 0);
        CHECK(e >= 0 && g->nodes[e].ndim == 1 && g->nodes[e].shape[0] == 2);
        ir_graph_free(g);
        fe_model_free(m);
        n_accepted++;
    }
    free(diag);
}

static void test_truncations(void) {
    size_t n = strlen(model);
    char *buf = malloc(n + 1);
    for (size_t k = 0; k <= n; k++) {
        memcpy(buf, model, k);
        buf[k] = 0;
        try_parse(buf);
    }
    free(buf);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void test_mutations(void) {
    static const char repl[] = "()[]{}\n#\"-@,:=;B10x .\xff\xce";
    size_t n = strlen(model);
    char *buf = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < sizeof repl - 1; r++) {
            memcpy(buf, model, n + 1);
            buf[i] = repl[r];
            try_parse(buf);
        }
    /* deletions and multi-byte damage */
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, model, i);
        memcpy(buf + i, model + i + 1, n - i);
        try_parse(buf);
    }
    for (int t = 0; t < 2000; t++) {
        memcpy(buf, model, n + 1);
        for (int k = 0; k < 4; k++) buf[rnd() % n] = (char)(1 + rnd() % 255);
        try_parse(buf);
    }
    free(buf);
}

static void test_random(void) {
    char buf[512];
    for (int t = 0; t < 3000; t++) {
        int len = (int)(rnd() % 300);
        for (int i = 0; i < len; i++) buf[i] = (char)(1 + rnd() % 255);
        buf[len] = 0;
        try_parse(buf);
    }
    /* token soup gets further into the parser and the checker than raw bytes do */
    static const char *const toks[] = {"param ", "energy", "train", "return ", "(", ")", "[", "]", "{", "}", ",",
                                       ":", "=", "+", "-", "*", "/", "@", ";", "\n", "x", "W", "B", "h", "1",
                                       "2.5", "-1", "silu", "sum", "mean", "reshape", "xavier()", "zeros()",
                                       "[B, 2]", "[2, 3]", "\"s\"", "# c\n", "energy(x: [B, 2]) {", "return x @ W"};
    int nt = (int)(sizeof toks / sizeof toks[0]);
    static char soup[4096];
    for (int t = 0; t < 3000; t++) {
        size_t k = 0;
        int count = (int)(rnd() % 60);
        /* half the time, start from a valid prefix so the body is reached */
        if (t & 1) k = (size_t)snprintf(soup, sizeof soup, "param W: [2, 3] = xavier()\nenergy(x: [B, 2]) {\n");
        for (int i = 0; i < count; i++) {
            const char *s = toks[rnd() % (unsigned)nt];
            size_t l = strlen(s);
            if (k + l + 1 >= sizeof soup) break;
            memcpy(soup + k, s, l);
            k += l;
            soup[k++] = ' ';
        }
        soup[k] = 0;
        try_parse(soup);
    }
}

/* Repeats `unit` n times between head and tail. */
static char *repeat(const char *head, const char *unit, int n, const char *tail) {
    size_t lh = strlen(head), lu = strlen(unit), lt = strlen(tail);
    char *s = malloc(lh + lu * (size_t)n + lt + 1), *p = s;
    memcpy(p, head, lh), p += lh;
    for (int i = 0; i < n; i++) memcpy(p, unit, lu), p += lu;
    memcpy(p, tail, lt + 1);
    return s;
}

static void expect_first_line(char *src, const char *prefix) {
    char *diag, line[512];
    struct fe_model *m = parse_capture(src, &diag);
    CHECK(m == NULL);
    nth_line(diag, 0, line, sizeof line);
    CHECK_MSG(strncmp(line, prefix, strlen(prefix)) == 0, "got %s", line);
    fe_model_free(m);
    free(diag);
    free(src);
}

static void test_extremes(void) {
    const char *head = "energy(x: [B, 2]) { return sum(";
    const char *deep = "error: expression nested too deeply (more than 256 levels)";
    char want[128];
    snprintf(want, sizeof want, "t.ebm:1:%d: %s", 32 + 255, deep);
    expect_first_line(repeat(head, "(", 100000, "x"), want);
    expect_first_line(repeat(head, "-", 100000, "x, 1) }"), want);
    snprintf(want, sizeof want, "t.ebm:1:%d: %s", 32 + 255 * 5 + 4, deep);
    expect_first_line(repeat(head, "silu(", 100000, "x"), want);
    /* a long flat chain is as deep as it is long */
    expect_first_line(repeat(head, "x + ", 100000, "x, 1) }"), "t.ebm:1:");
    /* but 200 terms are fine, as are 10000 statements */
    char *s = repeat(head, "x + ", 200, "x, 1) }");
    try_parse(s);
    free(s);
    s = repeat("energy(x: [B, 2]) {\n", "  x = x * 0.5 + 1\n", 10000, "  return sum(x, 1)\n}\n");
    char *diag;
    struct fe_model *m = parse_capture(s, &diag);
    CHECK(m != NULL);
    fe_model_free(m);
    free(diag);
    free(s);
    /* a megabyte-long name: the message clips it, the source line shows a window around the column */
    s = repeat("energy(x: [B, 2]) { return sum(", "a", 1 << 20, ", 1) }");
    m = parse_capture(s, &diag);
    CHECK(m == NULL);
    char line[512];
    CHECK(strncmp(nth_line(diag, 0, line, sizeof line), "t.ebm:1:32: error: 'aaaa", 24) == 0);
    CHECK(strstr(line, "...' is not defined") != NULL);
    CHECK(strlen(nth_line(diag, 1, line, sizeof line)) <= 170);
    CHECK(strlen(diag) < 1000);
    fe_model_free(m);
    free(diag);
    free(s);
    /* an error far along a long line: the window starts with "..." and the caret still points at it */
    s = repeat("energy(x: [B, 2]) { return sum(x", " + x", 150, " $ , 1) }");
    m = parse_capture(s, &diag);
    CHECK(m == NULL);
    char l1[512], l2[512];
    nth_line(diag, 1, l1, sizeof l1);
    nth_line(diag, 2, l2, sizeof l2);
    size_t caret = strlen(l2) - 1;
    CHECK(strncmp(l1, "...", 3) == 0 && l2[caret] == '^' && caret < strlen(l1) && l1[caret] == '$');
    fe_model_free(m);
    free(diag);
    free(s);
    /* empty, blank and comment-only files */
    try_parse("");
    try_parse("\n\n\n");
    try_parse("# only a comment");
    try_parse("   \t \r\n # x\n");
}

/* A growing string (tests build big models piece by piece). */
struct text {
    char *s;
    size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    while (t->len + (size_t)n + 1 > t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        t->s = realloc(t->s, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* The number of lines of text that contain word. */
static int count_lines_with(const char *text, const char *word) {
    int n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        size_t k = strcspn(p, "\n");
        const char *hit = strstr(p, word);
        n += hit && (size_t)(hit - p) < k;
    }
    return n;
}

/* Work that grows with the input: the sizes here took minutes to hours (quadratic or exponential)
 * before lookups were hashed and inlined calls remembered; now each is a fraction of a second, and what
 * is really too big ends with an error. */
static void test_sizes(void) {
    /* 100000 parameters, most unused: names are hashed, and only the first warnings are printed */
    struct text t = {0};
    for (int i = 0; i < 100000; i++) add(&t, "param p%d: [1] = zeros()\n", i);
    add(&t, "energy(x: [B, 2]) {\n  return sum(x, 1) + p99999 + p0\n}\n");
    char *diag;
    struct fe_model *m = parse_capture(t.s, &diag);
    CHECK_MSG(m != NULL, "%.300s", diag);
    CHECK_MSG(count_lines_with(diag, "warning: parameter") == 8, "%.300s", diag);
    CHECK(count_lines_with(diag, "note: further warnings are not shown") == 1);
    fe_model_free(m);
    free(diag);
    /* 50000 distinct local names */
    t.len = 0;
    add(&t, "energy(x: [B, 2]) {\n  h0 = x\n");
    for (int i = 1; i < 50000; i++) add(&t, "  h%d = h%d * 0.5\n", i, i - 1);
    add(&t, "  return sum(h49999, 1)\n}\n");
    try_parse(t.s);
    /* 100000 functions, each called once */
    t.len = 0;
    for (int i = 0; i < 100000; i++) add(&t, "def f%d(h) {\n  return h * 0.5\n}\n", i);
    add(&t, "energy(x: [B, 2]) {\n  h = x\n");
    for (int i = 0; i < 100000; i++) add(&t, "  h = f%d(h)\n", i);
    add(&t, "  return sum(h, 1)\n}\n");
    try_parse(t.s);
    /* f(h) + f(h) nested 60 deep: 2^60 inlinings unless calls on the same values are remembered */
    t.len = 0;
    add(&t, "def f0(h) {\n  return tanh(h)\n}\n");
    for (int i = 1; i <= 60; i++) add(&t, "def f%d(h) {\n  return f%d(h) + f%d(h)\n}\n", i, i - 1, i - 1);
    add(&t, "energy(x: [B, 2]) {\n  return sum(f60(x), 1)\n}\n");
    try_parse(t.s);
    /* f(h + 1) * f(h * 2) nested 40 deep really is 2^40 operations: refused, with the limit */
    t.len = 0;
    add(&t, "def f0(h) {\n  return tanh(h)\n}\n");
    for (int i = 1; i <= 40; i++) add(&t, "def f%d(h) {\n  return f%d(h + 1) * f%d(h * 2)\n}\n", i, i - 1, i - 1);
    add(&t, "energy(x: [B, 2]) {\n  return sum(f40(x), 1)\n}\n");
    m = parse_capture(t.s, &diag);
    CHECK(m == NULL);
    CHECK_MSG(diag && strstr(diag, "error: the energy is too large once its functions are inlined (more than 262144 "
                                   "operations"), "%.300s", diag);
    free(diag);
    /* 5000 functions each calling the next: nesting deeper than the limit is an error, not a stack overflow */
    t.len = 0;
    add(&t, "def f0(h) {\n  return h\n}\n");
    for (int i = 1; i < 5000; i++) add(&t, "def f%d(h) {\n  return f%d(h) + 1\n}\n", i, i - 1);
    add(&t, "energy(x: [B, 2]) {\n  return sum(f4999(x), 1)\n}\n");
    m = parse_capture(t.s, &diag);
    CHECK(m == NULL);
    CHECK_MSG(diag && strstr(diag, "error: functions call each other too deeply (more than 256"), "%.300s", diag);
    free(diag);
    /* and 200 deep is fine */
    t.len = 0;
    add(&t, "def f0(h) {\n  return h\n}\n");
    for (int i = 1; i < 200; i++) add(&t, "def f%d(h) {\n  return f%d(h) + 1\n}\n", i, i - 1);
    add(&t, "energy(x: [B, 2]) {\n  return sum(f199(x), 1)\n}\n");
    try_parse(t.s);
    free(t.s);
}

/* src[0..n) written to a temporary file and parsed with fe_parse_file; the diagnostics into *diag
 * (caller frees), the file's path into path. */
static struct fe_model *parse_bytes(const char *src, size_t n, char *path, char **diag) {
    strcpy(path, "/tmp/ebmc_fe_robust_XXXXXX");
    *diag = NULL;
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "wb");
    fwrite(src, 1, n, f);
    fclose(f);
    size_t len = 0;
    FILE *d = open_memstream(diag, &len);
    struct fe_model *m = fe_parse_file(path, d);
    fclose(d);
    remove(path);
    return m;
}

/* Files with NUL bytes and a directory, through fe_parse_file. */
static void test_files(void) {
    char path[64], line[256], want[256], *diag;
    static const char src[] = "energy(x: [B, 2]) {\n  return sum(x\0, 1)\n}\n";
    struct fe_model *m = parse_bytes(src, sizeof src - 1, path, &diag);
    CHECK(m == NULL);
    snprintf(want, sizeof want, "%s:2:15: error: unexpected control byte 0x00", path);
    CHECK_MSG(strcmp(nth_line(diag, 0, line, sizeof line), want) == 0, "%s", diag);
    CHECK(strcmp(nth_line(diag, 1, line, sizeof line), "  return sum(x?, 1)") == 0);
    free(diag);

    /* a NUL (or another control byte) inside a quoted value is refused where it is; it used to cut the
     * value silently. A tab is text. */
#define E "energy(x: [B, 2]) {\n  return sum(x, 1)\n}\n"
    static const char q0[] = E "train {\n  note = \"ab\0cd\"\n}\n", q1[] = E "train {\n  note = \"ab\x01" "cd\"\n}\n",
                      q2[] = E "train {\n  note = \"ab\x7f\"\n}\n";
    static const char *const quoted[] = {q0, q1, q2};
    static const size_t quoted_len[] = {sizeof q0 - 1, sizeof q1 - 1, sizeof q2 - 1};
    static const char *const byte[] = {"0x00", "0x01", "0x7f"};
    for (int i = 0; i < 3; i++) {
        m = parse_bytes(quoted[i], quoted_len[i], path, &diag);
        CHECK(m == NULL);
        snprintf(want, sizeof want, "%s:5:13: error: control byte %s inside a string (strings hold text only)", path, byte[i]);
        CHECK_MSG(strcmp(nth_line(diag, 0, line, sizeof line), want) == 0, "%s", diag);
        fe_model_free(m);
        free(diag);
    }
    static const char tab[] = E "train {\n  note = \"a\tb\"\n}\n";
#undef E
    m = parse_bytes(tab, sizeof tab - 1, path, &diag);
    CHECK_MSG(m != NULL && diag[0] == 0, "%s", diag);
    const struct fe_setting *note = m ? fe_model_find_setting(m, "note") : NULL;
    CHECK(note && strcmp(note->value, "a\tb") == 0);
    fe_model_free(m);
    free(diag);

    size_t len = 0;
    FILE *d;
    diag = NULL;
    d = open_memstream(&diag, &len);
    m = fe_parse_file("/tmp", d);
    fclose(d);
    CHECK(m == NULL);
    CHECK_MSG(strcmp(diag, "/tmp: is a directory, not a file\n") == 0, "%s", diag);
    free(diag);
    /* an endless file ends with an error at the size limit */
    diag = NULL;
    d = open_memstream(&diag, &len);
    m = fe_parse_file("/dev/zero", d);
    fclose(d);
    CHECK(m == NULL);
    CHECK_MSG(strcmp(diag, "/dev/zero: larger than the limit of 16777216 bytes\n") == 0, "%s", diag);
    free(diag);
    /* a NULL diag is allowed: errors are just not printed */
    CHECK(fe_parse_string("energy(", "t.ebm", NULL) == NULL);
    CHECK(fe_parse_file("/nonexistent", NULL) == NULL);
}

int main(void) {
    test_truncations();
    test_mutations();
    test_random();
    test_extremes();
    test_sizes();
    test_files();
    fprintf(stderr, "%d inputs accepted, %d rejected\n", n_accepted, n_rejected);
    CHECK(n_accepted > 100 && n_rejected > 1000);
    return test_report();
}
