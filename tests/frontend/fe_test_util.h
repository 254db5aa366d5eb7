/* fe_test_util.h: helpers shared by the frontend tests: parse with captured diagnostics. */
#ifndef EBMC_FE_TEST_UTIL_H
#define EBMC_FE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

/* Parses source as "t.ebm"; *diag receives everything printed (caller frees). */
static inline struct fe_model *parse_capture(const char *source, char **diag) {
    size_t len = 0;
    *diag = NULL;
    FILE *f = open_memstream(diag, &len);
    if (!f) return NULL;
    struct fe_model *m = fe_parse_string(source, "t.ebm", f);
    fclose(f);
    return m;
}

/* The n-th line (0-based) of text, copied into buf; "" past the end. */
static inline const char *nth_line(const char *text, int n, char *buf, size_t size) {
    const char *p = text ? text : "";
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    buf[0] = 0;
    if (!p) return buf;
    size_t k = strcspn(p, "\n");
    if (k >= size) k = size - 1;
    memcpy(buf, p, k);
    buf[k] = 0;
    return buf;
}

#endif
