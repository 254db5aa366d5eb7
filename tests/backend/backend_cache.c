/* backend_cache: the compile cache never runs code it did not write for this graph. Two graphs whose
 * kernels have the same names and arguments (relu and sigmoid of x + b) are compiled into a cache
 * folder; then each way of damaging the cache (swapped files, another graph's file copied over, a
 * flipped byte in the head or the object, truncation, an appended byte, the old head-less format,
 * text, a folder in the file's place, a forged head over another graph's object) must end the same
 * way: the graph compiles, computes exactly what it computes with the cache off, and the file is
 * rewritten as it was. The same holds for a program of several kernels, whose file has a record per
 * kernel, when records are swapped, dropped or repeated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jit.h"
#include "test.h"

#define ROWS 16
#define COLS 24
/* A record's head: "ebmc-cache 3 " + 32-digit key + ' ' + 8-digit index '/' 8-digit count + ' ' + 16-digit
 * size + ' ' + 16-digit sum + '\n'. */
#define HEAD_LEN 98
#define SIZE_AT 64

static const char *cache_dir; /* the folder find_file looks in */

/* act(x + b), or -(-act(x + b)) with more nodes, so that its kernel has another name; `kernels` 3:
 * act(x + b) x^T b, a matmul and its epilogue after the sum of x's columns, three kernels. */
static struct ir_graph *graph(enum ir_op act, int longer, int kernels) {
    struct ir_graph *g = ir_graph_new();
    int x = ir_input(g, "x", 2, (int64_t[]){ROWS, COLS});
    int b = ir_param(g, "b", 1, (int64_t[]){COLS});
    int y = ir_unary(g, act, ir_binary_bcast(g, IR_ADD, x, b));
    if (longer) y = ir_unary(g, IR_NEG, ir_unary(g, IR_NEG, y));
    if (kernels == 3) y = ir_matmul(g, y, x, IR_TRANS_B);
    ir_graph_output(g, "y", y);
    return g;
}

/* Runs p, then frees it; the output in out. */
static void run_program(struct jit_program *p, float *out) {
    static float x[ROWS * COLS], b[COLS];
    for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)(i % 13) * 0.37f - 2.1f;
    for (int i = 0; i < COLS; i++) b[i] = (float)i * 0.05f - 0.4f;
    float *args[] = {x, b}, *outs[] = {out};
    jit_run(p, args, outs, 1);
    jit_free(p);
}

/* Compiles and runs g; the output in out. Returns 0, or -1 (reported). */
static int run(const char *what, const struct ir_graph *g, float *out) {
    char err[512] = "";
    struct jit_program *p = jit_compile(g, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s: %s", what, err);
    if (!p) return -1;
    run_program(p, out);
    return 0;
}

/* The .o file in the cache folder that is not `other`. */
static void find_file(char *path, size_t len, const char *other) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s/*.o", cache_dir);
    FILE *ls = popen(cmd, "r");
    path[0] = 0;
    char line[512];
    while (ls && fgets(line, sizeof line, ls)) {
        line[strcspn(line, "\n")] = 0;
        if (!other || strcmp(line, other) != 0) snprintf(path, len, "%s", line);
    }
    if (ls) pclose(ls);
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    *len = fread(s, 1, (size_t)n, f);
    fclose(f);
    return s;
}

static void write_all(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "%s: cannot write", path);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* The format's checksum, computed independently of jit.c. */
static unsigned long long fnv(const char *d, size_t n) {
    unsigned long long h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)d[i]) * 0x100000001b3ull;
    return h;
}

int main(void) {
    char dir_ab[] = "/tmp/ebmc-cache-test-XXXXXX", dir_c[] = "/tmp/ebmc-cache-test-XXXXXX";
    CHECK(mkdtemp(dir_ab) != NULL && mkdtemp(dir_c) != NULL);
    cache_dir = dir_ab;
    struct ir_graph *ga = graph(IR_RELU, 0, 1), *gb = graph(IR_SIGMOID, 0, 1), *gc = graph(IR_RELU, 1, 1);
    static float ref_a[ROWS * COLS], ref_b[ROWS * COLS], out[ROWS * COLS];
    setenv("EBMC_CACHE_DIR", "off", 1);
    if (run("a, no cache", ga, ref_a) || run("b, no cache", gb, ref_b)) return test_report();
    CHECK(memcmp(ref_a, ref_b, sizeof ref_a) != 0); /* the graphs compute different things */

    setenv("EBMC_CACHE_DIR", dir_ab, 1);
    char pa[600], pb[600], pc[600];
    run("a, first", ga, out);
    find_file(pa, sizeof pa, NULL);
    run("b, first", gb, out);
    find_file(pb, sizeof pb, pa);
    size_t la, lb;
    char *good_a = read_all(pa, &la), *good_b = read_all(pb, &lb);
    CHECK_MSG(good_a && good_b && la > HEAD_LEN && lb > HEAD_LEN, "cache files %s, %s", pa, pb);
    if (!good_a || !good_b || la <= HEAD_LEN || lb <= HEAD_LEN) return test_report();
    CHECK_MSG(memcmp(good_a, "ebmc-cache 3 ", 13) == 0 && good_a[HEAD_LEN - 1] == '\n', "head: %.98s", good_a);
    const char *key_a = strrchr(pa, '/') + 1;
    CHECK_MSG(strncmp(good_a + 13, key_a, 32) == 0, "the head does not record the key %s", key_a);
    run("a, cached", ga, out);
    CHECK(memcmp(out, ref_a, sizeof out) == 0);

    /* A third graph, with other kernel names, to forge a file for a's key; compiled in a second folder
     * (a key does not depend on the folder). */
    setenv("EBMC_CACHE_DIR", cache_dir = dir_c, 1);
    run("c, first", gc, out);
    find_file(pc, sizeof pc, NULL);
    setenv("EBMC_CACHE_DIR", cache_dir = dir_ab, 1);
    size_t lc;
    char *good_c = read_all(pc, &lc);
    CHECK_MSG(good_c && lc > HEAD_LEN, "third cache file %s", pc);
    if (!good_c || lc <= HEAD_LEN) return test_report();

    char *bad = malloc(la + lb + lc + 4096);
    const char *cases[] = {"swap a and b", "b copied over a", "flip in the magic", "flip in the key",
                           "flip in the index", "flip in the size", "flip in the checksum", "flip at the object's start",
                           "flip in the object's middle", "flip in the last byte", "empty", "head only",
                           "truncated by one byte", "one byte appended", "old format (no head)", "text",
                           "a folder", "forged head over c's object"};
    int n_cases = (int)(sizeof cases / sizeof cases[0]);
    for (int k = 0; k < n_cases; k++) {
        size_t n = la;
        memcpy(bad, good_a, la);
        int folder = 0;
        switch (k) {
        case 0: /* a's file gets b's contents, b's a's */
        case 1: memcpy(bad, good_b, lb), n = lb; break;
        case 2: bad[3] ^= 0x20; break;
        case 3: bad[20] ^= 0x01; break;
        case 4: bad[53] ^= 0x01; break;
        case 5: bad[SIZE_AT + 10] ^= 0x04; break;
        case 6: bad[HEAD_LEN - 3] ^= 0x10; break;
        case 7: bad[HEAD_LEN] ^= 0x80; break;
        case 8: bad[HEAD_LEN + (la - HEAD_LEN) / 2] ^= 0x01; break;
        case 9: bad[la - 1] ^= 0xff; break;
        case 10: n = 0; break;
        case 11: n = HEAD_LEN; break;
        case 12: n = la - 1; break;
        case 13: bad[la] = 0, n = la + 1; break;
        case 14: memcpy(bad, good_a + HEAD_LEN, la - HEAD_LEN), n = la - HEAD_LEN; break;
        case 15: n = (size_t)sprintf(bad, "not an object file\n"); break;
        case 16: folder = 1; break;
        case 17: /* a's key, c's object, a checksum that matches: c's kernels are not a's */
            n = (size_t)snprintf(bad, HEAD_LEN + 1, "ebmc-cache 3 %.32s 00000000/00000001 %016llx %016llx\n", key_a,
                                 (unsigned long long)(lc - HEAD_LEN), fnv(good_c + HEAD_LEN, lc - HEAD_LEN));
            memcpy(bad + n, good_c + HEAD_LEN, lc - HEAD_LEN);
            n += lc - HEAD_LEN;
            break;
        }
        if (k == 0) write_all(pb, good_a, la);
        remove(pa);
        if (folder) CHECK(mkdir(pa, 0755) == 0);
        else write_all(pa, bad, n);
        if (run(cases[k], ga, out) == 0)
            CHECK_MSG(memcmp(out, ref_a, sizeof out) == 0, "%s: a computes something else", cases[k]);
        if (folder) { /* the cache could not be written: still no error */
            CHECK(rmdir(pa) == 0);
            continue;
        }
        size_t l;
        char *now = read_all(pa, &l);
        CHECK_MSG(now && l == la && memcmp(now, good_a, la) == 0, "%s: the cache file was not rewritten", cases[k]);
        free(now);
        if (k == 0) { /* b's file had a's contents: b recompiles too */
            if (run("swap, b", gb, out) == 0) CHECK_MSG(memcmp(out, ref_b, sizeof out) == 0, "swap: b is wrong");
            now = read_all(pb, &l);
            CHECK_MSG(now && l == lb && memcmp(now, good_b, lb) == 0, "swap: b's file was not rewritten");
            free(now);
        }
    }

    /* The forgery again, a compiled together with b (jit_compile_all): b links from its good file while
     * a's objects fail to link and a is compiled afresh in a second round. */
    size_t n = (size_t)snprintf(bad, HEAD_LEN + 1, "ebmc-cache 3 %.32s 00000000/00000001 %016llx %016llx\n", key_a,
                                (unsigned long long)(lc - HEAD_LEN), fnv(good_c + HEAD_LEN, lc - HEAD_LEN));
    memcpy(bad + n, good_c + HEAD_LEN, lc - HEAD_LEN);
    write_all(pa, bad, n + lc - HEAD_LEN);
    struct jit_request both[2] = {{.g = ga}, {.g = gb}};
    jit_compile_all(both, 2, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_MSG(both[i].program != NULL, "compiled together: %s", both[i].err);
        if (!both[i].program) continue;
        run_program(both[i].program, out);
        CHECK_MSG(memcmp(out, i ? ref_b : ref_a, sizeof out) == 0, "compiled together: %c is wrong", "ab"[i]);
    }
    free(bad);

    /* A program of several kernels has a record each: records swapped, dropped or repeated are refused. */
    struct ir_graph *gd = graph(IR_RELU, 0, 3);
    static float ref_d[ROWS * COLS];
    setenv("EBMC_CACHE_DIR", "off", 1);
    if (run("d, no cache", gd, ref_d)) return test_report();
    setenv("EBMC_CACHE_DIR", cache_dir = dir_c, 1);
    char pd[600];
    run("d, first", gd, out);
    find_file(pd, sizeof pd, pc);
    size_t ld;
    char *good_d = read_all(pd, &ld);
    size_t at[16] = {0}; /* where each record starts, then the end */
    int n_records = 0;
    while (good_d && n_records < 15 && at[n_records] + HEAD_LEN <= ld) {
        at[n_records + 1] = at[n_records] + HEAD_LEN + strtoull(good_d + at[n_records] + SIZE_AT, NULL, 16);
        n_records++;
    }
    CHECK_MSG(good_d && n_records >= 2 && at[n_records] == ld, "%s: %d records over %zu of %zu bytes", pd, n_records,
              at[n_records], ld);
    if (!good_d || n_records < 2 || at[n_records] != ld) return test_report();
    struct stat before, after; /* a hit reads the file; a miss replaces it (a new inode) */
    CHECK(stat(pd, &before) == 0);
    run("d, cached", gd, out);
    CHECK(memcmp(out, ref_d, ROWS * ROWS * sizeof *out) == 0);
    CHECK_MSG(stat(pd, &after) == 0 && after.st_ino == before.st_ino, "a good file of %d records was not used", n_records);
    const char *record_cases[] = {"first two records swapped", "last record dropped", "first record repeated"};
    bad = malloc(2 * ld);
    for (int k = 0; k < 3; k++) {
        size_t n = ld, r0 = at[1] - at[0], r1 = at[2] - at[1];
        memcpy(bad, good_d, ld);
        if (k == 0) memcpy(bad, good_d + at[1], r1), memcpy(bad + r1, good_d, r0);
        if (k == 1) n = at[n_records - 1];
        if (k == 2) memcpy(bad + ld, good_d, r0), n = ld + r0;
        write_all(pd, bad, n);
        if (run(record_cases[k], gd, out) == 0)
            CHECK_MSG(memcmp(out, ref_d, ROWS * ROWS * sizeof *out) == 0, "%s: d computes something else", record_cases[k]);
        size_t l;
        char *now = read_all(pd, &l);
        CHECK_MSG(now && l == ld && memcmp(now, good_d, ld) == 0, "%s: the cache file was not rewritten", record_cases[k]);
        free(now);
    }
    free(bad);
    free(good_d);
    ir_graph_free(gd);
    free(good_a);
    free(good_b);
    free(good_c);
    ir_graph_free(ga);
    ir_graph_free(gb);
    ir_graph_free(gc);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir_ab, dir_c);
    CHECK(system(cmd) == 0);
    return test_report();
}
