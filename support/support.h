/* support.h: the few mechanisms every layer needs, written once: reading a whole file with a size
 * limit, writing a file atomically, creating a folder path, a monotonic clock and a JSON writer. It
 * depends on nothing of ebmc's, so any folder may use it (as LLVM's Support library). */
#ifndef EBMC_SUPPORT_H
#define EBMC_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes the printf-style message into err (if err and errlen) and returns -1: how functions that
 * report through (err, errlen) fail. */
int fail_with(char *err, size_t errlen, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Seconds on the monotonic clock (for rates and timing; never wall time). */
double clock_seconds(void);

/* The whole file at path, NUL-terminated (len, if non-NULL, excludes the NUL). Refuses files larger
 * than limit bytes without reading them all (limit 0: no limit), so `/dev/zero` or a huge file ends with
 * an error, not an exhausted machine. NULL with "path: problem" in err. */
char *file_read_all(const char *path, size_t limit, size_t *len, char *err, size_t errlen);

/* Atomic file writing: write to a temporary file beside path (unique per process and call), then
 * fflush, fsync and rename over path, so a reader (or a crash) sees the old file or the new one, never
 * half of one. Use atomic_open, write to af.f, then atomic_commit (or atomic_abort on an error). */
struct atomic_file {
    FILE *f;
    char path[4096], tmp[4160];
};
/* Returns 0, or -1 with "tmp: cannot write: reason" in err. mode is "w" or "wb". */
int atomic_open(struct atomic_file *af, const char *path, const char *mode, char *err, size_t errlen);
/* Returns 0 if the file is now in place, or -1 with the reason in err (the temporary file removed). */
int atomic_commit(struct atomic_file *af, char *err, size_t errlen);
void atomic_abort(struct atomic_file *af);
/* The whole of data written atomically to path. Returns 0 or -1 with err. */
int atomic_write(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* mkdir -p: creates path and its missing parents. Returns 0, or -1 with "path: cannot create
 * directory: reason" in err. */
int make_dirs(const char *path, char *err, size_t errlen);

/* A JSON writer: well-formed output whatever the values (NaN and infinities become null, strings are
 * escaped), indentation by nesting depth. Keys are given with json_key before each value in an object.
 *
 *     struct json j; json_begin(&j, f);
 *     json_object(&j); json_key(&j, "nll"); json_number(&j, 0.31); json_end(&j); json_finish(&j);
 */
#define JSON_MAX_DEPTH 16
struct json {
    FILE *f;
    int depth;
    int count[JSON_MAX_DEPTH];   /* values written at each open level */
    char closer[JSON_MAX_DEPTH]; /* '}' or ']' for each open level */
    char flat[JSON_MAX_DEPTH];   /* the level is written on one line */
    int after_key;
};
void json_begin(struct json *j, FILE *f);
void json_object(struct json *j);
void json_array(struct json *j);
/* The same on one line, for small ones: {"a": 1, "s": 0.5}, [1, 28, 28]. */
void json_object_flat(struct json *j);
void json_array_flat(struct json *j);
void json_end(struct json *j); /* closes the innermost object or array */
void json_key(struct json *j, const char *key);
void json_number(struct json *j, double v);          /* %.9g; NaN and inf as null */
void json_number_exact(struct json *j, double v);    /* the shortest form that reads back to the same bits */
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, int v);
void json_string(struct json *j, const char *s);
void json_null(struct json *j);
void json_finish(struct json *j); /* the final newline */

/* The shortest of %.9g and %.17g that strtod reads back to v exactly (settings must survive a round
 * trip through config.txt bit for bit). buf: at least 32 bytes. */
void format_double_exact(char *buf, size_t len, double v);

#endif
