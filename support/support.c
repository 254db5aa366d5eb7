/* support.c: see support.h. */
#include "support.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fail_with(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

double clock_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- files ---- */

char *file_read_all(const char *path, size_t limit, size_t *len_out, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a file", path);
        fclose(f);
        return NULL;
    }
    /* Read in growing chunks rather than trusting st_size: pipes and /dev files report 0. */
    size_t len = 0, cap = 1 << 12, got;
    char *text = malloc(cap);
    while (text && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (limit && len > limit) {
            snprintf(err, errlen, "%s: larger than the limit of %zu bytes", path, limit);
            free(text), fclose(f);
            return NULL;
        }
        if (len + 1 == cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger) free(text);
            text = bigger;
        }
    }
    if (!text) snprintf(err, errlen, "%s: out of memory reading it", path);
    else if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        free(text), text = NULL;
    }
    fclose(f);
    if (text) text[len] = 0;
    if (text && len_out) *len_out = len;
    return text;
}

int atomic_open(struct atomic_file *af, const char *path, const char *mode, char *err, size_t errlen) {
    static atomic_uint counter; /* with the pid: a name no other writer, process or thread, uses */
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.%ld.%u.tmp", path, (long)getpid(), atomic_fetch_add(&counter, 1));
    af->f = fopen(af->tmp, mode);
    if (!af->f) {
        snprintf(err, errlen, "%s: cannot write: %s", af->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int atomic_commit(struct atomic_file *af, char *err, size_t errlen) {
    int ok = !ferror(af->f) && fflush(af->f) == 0 && fsync(fileno(af->f)) == 0;
    int saved = errno;
    if (fclose(af->f) != 0 && ok) ok = 0, saved = errno;
    af->f = NULL;
    if (ok && rename(af->tmp, af->path) != 0) ok = 0, saved = errno;
    if (!ok) {
        snprintf(err, errlen, "%s: cannot write: %s", af->path, strerror(saved ? saved : EIO));
        remove(af->tmp);
        return -1;
    }
    return 0;
}

void atomic_abort(struct atomic_file *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    remove(af->tmp);
}

int atomic_write(const char *path, const void *data, size_t len, char *err, size_t errlen) {
    struct atomic_file af;
    if (atomic_open(&af, path, "wb", err, errlen) != 0) return -1;
    if (len && fwrite(data, 1, len, af.f) != len) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err, errlen);
}

int make_dirs(const char *path, char *err, size_t errlen) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, errlen, "%.64s...: path too long", path);
        return -1;
    }
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) break; /* reported below, for the whole path */
            *p = '/';
        }
    struct stat st;
    if ((mkdir(buf, 0777) != 0 && errno != EEXIST) || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: cannot create directory: %s", path, errno == EEXIST ? "a file is in the way" : strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- JSON ---- */

void json_begin(struct json *j, FILE *f) { memset(j, 0, sizeof *j), j->f = f; }

/* Before a value: the comma and newline that separate it from the previous one, unless it follows a key. */
static void json_value_start(struct json *j) {
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0 && j->flat[j->depth]) {
        if (j->count[j->depth]++) fputs(", ", j->f);
    } else if (j->depth > 0) {
        fputs(j->count[j->depth]++ ? ",\n" : "\n", j->f);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
    }
}

static void json_open(struct json *j, char open, char close, int flat) {
    json_value_start(j);
    fputc(open, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH) {
        j->depth++;
        j->count[j->depth] = 0, j->closer[j->depth] = close;
        j->flat[j->depth] = (char)(flat || j->flat[j->depth - 1]);
    }
}
void json_object(struct json *j) { json_open(j, '{', '}', 0); }
void json_array(struct json *j) { json_open(j, '[', ']', 0); }
void json_object_flat(struct json *j) { json_open(j, '{', '}', 1); }
void json_array_flat(struct json *j) { json_open(j, '[', ']', 1); }

void json_end(struct json *j) {
    if (j->depth == 0) return;
    char close = j->closer[j->depth];
    int flat = j->flat[j->depth], had = j->count[j->depth--];
    if (had && !flat) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
    }
    fputc(close, j->f);
}

static void json_write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
        else if (*c == '\n') fputs("\\n", f);
        else if (*c == '\t') fputs("\\t", f);
        else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
        else fputc(*c, f);
    }
    fputc('"', f);
}

void json_key(struct json *j, const char *key) {
    json_value_start(j);
    json_write_string(j->f, key);
    fputs(": ", j->f);
    j->after_key = 1;
}

void json_number(struct json *j, double v) {
    json_value_start(j);
    if (isfinite(v)) fprintf(j->f, "%.9g", v);
    else fputs("null", j->f);
}

void format_double_exact(char *buf, size_t len, double v) {
    snprintf(buf, len, "%.9g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, len, "%.17g", v);
}

void json_number_exact(struct json *j, double v) {
    char buf[40];
    json_value_start(j);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    format_double_exact(buf, sizeof buf, v);
    fputs(buf, j->f);
}

void json_int(struct json *j, int64_t v) {
    json_value_start(j);
    fprintf(j->f, "%lld", (long long)v);
}
void json_bool(struct json *j, int v) {
    json_value_start(j);
    fputs(v ? "true" : "false", j->f);
}
void json_string(struct json *j, const char *s) {
    json_value_start(j);
    json_write_string(j->f, s ? s : "");
}
void json_null(struct json *j) {
    json_value_start(j);
    fputs("null", j->f);
}
void json_finish(struct json *j) { fputc('\n', j->f); }
