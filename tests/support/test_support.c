/* test_support.c: the shared file, folder and JSON mechanisms of support/. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"
#include "test.h"

static char dir[64];

static void test_files(void) {
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    CHECK(make_dirs(path, err, sizeof err) == 0);
    CHECK(make_dirs(path, err, sizeof err) == 0); /* exists already: fine */
    snprintf(path, sizeof path, "%s/a/b/c/f.txt", dir);
    CHECK(atomic_write(path, "hello\n", 6, err, sizeof err) == 0);
    size_t len = 0;
    char *text = file_read_all(path, 0, &len, err, sizeof err);
    CHECK(text && len == 6 && strcmp(text, "hello\n") == 0);
    free(text);
    /* the limit refuses without reading everything */
    CHECK(file_read_all(path, 3, NULL, err, sizeof err) == NULL && strstr(err, "limit") && strstr(err, path));
    CHECK(file_read_all("/dev/zero", 1 << 16, NULL, err, sizeof err) == NULL && strstr(err, "/dev/zero"));
    CHECK(file_read_all(dir, 0, NULL, err, sizeof err) == NULL && strstr(err, "directory"));
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(file_read_all(path, 0, NULL, err, sizeof err) == NULL && strstr(err, path));
    /* a file in the way of a folder */
    snprintf(path, sizeof path, "%s/a/b/c/f.txt/d", dir);
    CHECK(make_dirs(path, err, sizeof err) == -1 && strstr(err, "cannot create directory"));
    /* an aborted write leaves the old file and no temporary one */
    snprintf(path, sizeof path, "%s/a/b/c/f.txt", dir);
    struct atomic_file af;
    CHECK(atomic_open(&af, path, "w", err, sizeof err) == 0);
    fputs("partial", af.f);
    char tmp[sizeof af.tmp];
    snprintf(tmp, sizeof tmp, "%s", af.tmp);
    atomic_abort(&af);
    CHECK(access(tmp, F_OK) != 0);
    text = file_read_all(path, 0, NULL, err, sizeof err);
    CHECK(text && strcmp(text, "hello\n") == 0);
    free(text);
    /* a folder that cannot be written */
    CHECK(atomic_write("/proc/nope/x", "", 0, err, sizeof err) == -1 && strstr(err, "/proc/nope/x"));
}

static void test_json(void) {
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/j.json", dir);
    FILE *f = fopen(path, "w");
    struct json j;
    json_begin(&j, f);
    json_object(&j);
    json_key(&j, "a"), json_number(&j, 0.5);
    json_key(&j, "nan"), json_number(&j, NAN);
    json_key(&j, "inf"), json_number_exact(&j, -INFINITY);
    json_key(&j, "exact"), json_number_exact(&j, 0.1 + 0.2);
    json_key(&j, "s"), json_string(&j, "q\"\\\n\x01");
    json_key(&j, "list"), json_array(&j);
    json_int(&j, -3), json_bool(&j, 1), json_null(&j);
    json_object(&j), json_end(&j);
    json_object_flat(&j), json_key(&j, "x"), json_int(&j, 1), json_key(&j, "y"), json_array_flat(&j), json_int(&j, 2),
        json_int(&j, 3), json_end(&j), json_end(&j);
    json_end(&j);
    json_end(&j);
    json_finish(&j);
    fclose(f);
    char *text = file_read_all(path, 0, NULL, err, sizeof err);
    const char *want = "{\n  \"a\": 0.5,\n  \"nan\": null,\n  \"inf\": null,\n  \"exact\": 0.30000000000000004,\n"
                       "  \"s\": \"q\\\"\\\\\\n\\u0001\",\n  \"list\": [\n    -3,\n    true,\n    null,\n    {},\n    {\"x\": 1, \"y\": [2, 3]}\n  ]\n}\n";
    CHECK_MSG(text && strcmp(text, want) == 0, "got:\n%s", text ? text : "(null)");
    free(text);
    char buf[40];
    format_double_exact(buf, sizeof buf, 1e-3);
    CHECK(strcmp(buf, "0.001") == 0);
    format_double_exact(buf, sizeof buf, 1.0 / 3);
    CHECK(strtod(buf, NULL) == 1.0 / 3);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ebmc_support_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_files();
    test_json();
    double t0 = clock_seconds(), t1 = clock_seconds();
    CHECK(t1 >= t0 && t0 > 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return test_report();
}
