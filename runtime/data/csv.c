/* csv.c: rows of comma-separated numbers (spaces around fields allowed, \n or \r\n line ends, blank lines
 * skipped). The first line is a header, and skipped, if any of its fields is not a number. */
#include "loaders.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The field [p, end) as a finite number. strtod needs a terminated string: fields are copied (a number
 * longer than 63 characters is not one). */
static int parse_field(const char *p, const char *end, float *v) {
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
    char tmp[64];
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= sizeof tmp) return 0;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    char *stop;
    errno = 0;
    double d = strtod(tmp, &stop);
    if (*stop || !isfinite(d) || fabs(d) > 3.4e38) return 0;
    *v = (float)d;
    return 1;
}

static int blank(const char *p, const char *end) {
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r') return 0;
    return 1;
}

/* Parses the line [p, end) into out (NULL: only count). Returns the number of fields, or -1 at the first
 * field that is not a number (its index in *bad). */
static int64_t parse_line(const char *p, const char *end, float *out, int64_t max, int64_t *bad) {
    int64_t k = 0;
    for (;;) {
        const char *q = memchr(p, ',', (size_t)(end - p));
        const char *fend = q ? q : end;
        float v;
        if (!parse_field(p, fend, &v)) {
            *bad = k;
            return -1;
        }
        if (out && k < max) out[k] = v;
        k++;
        if (!q) return k;
        p = q + 1;
    }
}

int data_csv_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    const char *s = (const char *)buf, *end = s + len;
    if (memchr(s, 0, len)) return data_fail(err, errlen, name, "not a text file (a NUL byte)");
    /* Pass 1 counts rows and checks every line; pass 2 fills. */
    int64_t rows = 0, cols = -1, line = 0;
    int header = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t row = 0;
        line = 0;
        for (const char *p = s; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            line++;
            if (!blank(p, le) && !(header && line == 1)) {
                int64_t bad = 0;
                int64_t k = parse_line(p, le, pass ? r->x + row * cols : NULL, cols, &bad);
                if (k < 0 && line == 1 && pass == 0) {
                    header = 1;
                } else if (k < 0) {
                    return data_fail(err, errlen, name, "line %lld: field %lld is not a number", (long long)line,
                                     (long long)bad + 1);
                } else if (cols >= 0 && k != cols) {
                    return data_fail(err, errlen, name, "line %lld: %lld fields, the rows before have %lld",
                                     (long long)line, (long long)k, (long long)cols);
                } else {
                    cols = k;
                    row++;
                }
            }
            p = le + (nl != NULL);
        }
        if (pass == 0) {
            rows = row;
            if (rows == 0) return data_fail(err, errlen, name, "no rows of numbers");
            int64_t shape[2] = {rows, cols};
            if (data_raw_alloc(r, 2, shape, name, err, errlen) != 0) return -1;
        }
    }
    return 0;
}

int data_csv_write(FILE *f, const float *x, int ndim, const int64_t *shape) {
    int64_t rows = ndim ? shape[0] : 1, cols = 1;
    for (int i = 1; i < ndim; i++) cols *= shape[i];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            if (fprintf(f, "%.9g%c", x[i * cols + j], j + 1 < cols ? ',' : '\n') < 0) return -1;
    return 0;
}
