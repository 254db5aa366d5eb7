/* run_dir.c: a run folder's description files and lock (run_dir.h). */
#include "run_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

int run_path(char *buf, size_t len, const char *dir, const char *file) {
    int n = snprintf(buf, len, "%s/%s", dir, file);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

static int too_long(const char *dir, char *err, size_t errlen) {
    snprintf(err, errlen, "%.200s...: the run folder's path is too long", dir);
    return -1;
}

int run_dir_lock(const char *dir, char *err, size_t errlen) {
    char path[4096];
    if (run_path(path, sizeof path, dir, ".lock") != 0) return too_long(dir, err, errlen);
    if (make_dirs(dir, err, errlen) != 0) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%s: %s", dir, fd < 0 ? strerror(errno) : "another ebmc process is training into this folder");
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* Writes path atomically: text, or c's settings when text is NULL. */
static int write_file(const char *path, const char *text, const struct train_config *c, char *err, size_t errlen) {
    struct atomic_file af;
    if (atomic_open(&af, path, "w", err, errlen) != 0) return -1;
    if (text) fputs(text, af.f);
    else config_print(c, af.f);
    return atomic_commit(&af, err, errlen);
}

int run_dir_write_description(const char *dir, const char *source, const struct train_config *c, char *err,
                              size_t errlen) {
    char path[4096];
    if (make_dirs(dir, err, errlen) != 0) return -1;
    if (run_path(path, sizeof path, dir, "model.ebm") != 0) return too_long(dir, err, errlen);
    if (write_file(path, source, c, err, errlen) != 0) return -1;
    if (run_path(path, sizeof path, dir, "config.txt") != 0) return too_long(dir, err, errlen);
    return write_file(path, NULL, c, err, errlen);
}

int run_dir_model_path(const char *dir, char *buf, size_t len, char *err, size_t errlen) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: no such run folder", dir);
        return -1;
    }
    if (run_path(buf, len, dir, "model.ebm") != 0) return too_long(dir, err, errlen);
    if (access(buf, R_OK) != 0) {
        snprintf(err, errlen, "%s: not a run folder (no model.ebm; 'ebmc train --out %s' writes one)", dir, dir);
        return -1;
    }
    return 0;
}

int run_dir_read_config(const char *dir, struct train_config *c, char *err, size_t errlen) {
    char path[4096];
    if (run_path(path, sizeof path, dir, "config.txt") != 0) return too_long(dir, err, errlen);
    char *text = file_read_all(path, 1 << 20, NULL, err, errlen); /* a few hundred bytes when ebmc wrote it */
    if (!text) return -1;
    int line_no = 0, rc = 0;
    for (char *line = text, *next; rc == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        if (!*line) continue;
        char *eq = strstr(line, " = ");
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, line_no);
            rc = -1;
            break;
        }
        *eq = 0;
        char why[256];
        if (config_set(c, line, eq + 3, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, line_no, why);
            rc = -1;
        }
    }
    free(text);
    return rc;
}
