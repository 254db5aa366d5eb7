/* npy.c: NumPy's .npy format. The header is a Python dict literal,
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }
 * padded with spaces to a multiple of 64 bytes and ended by '\n'. It is parsed strictly: each of the three
 * keys exactly once, nothing else, and the data after it exactly as long as the shape says. */
#include "loaders.h"

#include <string.h>

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

struct cursor {
    const char *p, *end;
};

static void skip_spaces(struct cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static int eat(struct cursor *c, char ch) {
    skip_spaces(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes into out. */
static int read_string(struct cursor *c, char *out, size_t outlen) {
    skip_spaces(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= outlen) return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[n] = 0;
    return 1;
}

static int read_word(struct cursor *c, const char *w) {
    skip_spaces(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

/* (d0, d1, ...) with an optional trailing comma; each dim at most 2^40 here, bounded again later. */
static int read_shape(struct cursor *c, int64_t *shape, int *ndim) {
    if (!eat(c, '(')) return 0;
    *ndim = 0;
    for (;;) {
        skip_spaces(c);
        if (eat(c, ')')) return 1;
        if (*ndim == DATA_MAX_DIMS + 1) return 0;
        int64_t v = 0;
        int digits = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            v = v * 10 + (*c->p++ - '0');
            if (v > ((int64_t)1 << 40)) return 0;
            digits++;
        }
        if (!digits) return 0;
        shape[(*ndim)++] = v;
        if (!eat(c, ',')) return eat(c, ')');
    }
}

static uint32_t le32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int data_npy_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (len < 10 || memcmp(buf, npy_magic, 6) != 0) return data_fail(err, errlen, name, "not a .npy file (bad magic)");
    int major = buf[6];
    if (major < 1 || major > 3) return data_fail(err, errlen, name, "unsupported .npy version %d", major);
    size_t start = major == 1 ? 10 : 12;
    if (len < start) return data_fail(err, errlen, name, "truncated .npy header");
    size_t hlen = major == 1 ? (size_t)(buf[8] | buf[9] << 8) : le32(buf + 8);
    if (hlen > len - start) return data_fail(err, errlen, name, "truncated .npy header (%zu bytes, file has %zu)", hlen, len - start);

    struct cursor c = {(const char *)buf + start, (const char *)buf + start + hlen};
    if (hlen == 0 || c.end[-1] != '\n') return data_fail(err, errlen, name, "corrupt .npy header (no final newline)");
    c.end--;
    char descr[16] = "";
    int fortran = 0, ndim = -1, seen = 0;
    int64_t shape[DATA_MAX_DIMS + 1];
    if (!eat(&c, '{')) return data_fail(err, errlen, name, "corrupt .npy header (not a dict)");
    while (!eat(&c, '}')) {
        char key[16];
        int bit;
        if (!read_string(&c, key, sizeof key) || !eat(&c, ':')) goto bad;
        if (strcmp(key, "descr") == 0 && !(seen & 1)) {
            if (!read_string(&c, descr, sizeof descr)) goto bad;
            bit = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !(seen & 2)) {
            if (read_word(&c, "True")) fortran = 1;
            else if (!read_word(&c, "False")) goto bad;
            bit = 2;
        } else if (strcmp(key, "shape") == 0 && !(seen & 4)) {
            if (!read_shape(&c, shape, &ndim)) {
                if (ndim == DATA_MAX_DIMS + 1)
                    return data_fail(err, errlen, name, "more than %d dimensions", DATA_MAX_DIMS + 1);
                goto bad;
            }
            bit = 4;
        } else {
            goto bad;
        }
        seen |= bit;
        if (!eat(&c, ',')) {
            if (!eat(&c, '}')) goto bad;
            break;
        }
    }
    skip_spaces(&c);
    if (c.p != c.end || seen != 7) goto bad;
    if (fortran) return data_fail(err, errlen, name, "Fortran-order .npy is not supported (save in C order)");
    int u8 = strcmp(descr, "|u1") == 0 || strcmp(descr, "<u1") == 0;
    if (!u8 && strcmp(descr, "<f4") != 0)
        return data_fail(err, errlen, name, "unsupported dtype '%s' (float32 '<f4' or uint8 '|u1')", descr);
    if (ndim == 0) return data_fail(err, errlen, name, "a scalar, not a tensor of samples");
    int64_t count = data_shape_count(ndim, shape, name, err, errlen);
    if (count < 0) return -1;
    size_t n = (size_t)count, need = n * (u8 ? 1 : 4), have = len - start - hlen;
    if (have != need) /* before allocating: a header of a few bytes may ask for gigabytes */
        return data_fail(err, errlen, name, "%s: the shape needs %zu bytes of data, the file has %zu",
                         have < need ? "truncated" : "mis-sized", need, have);
    if (data_raw_alloc(r, ndim, shape, name, err, errlen) != 0) return -1;
    const uint8_t *d = buf + start + hlen;
    for (size_t i = 0; i < n; i++) {
        if (u8) {
            r->x[i] = d[i];
        } else {
            uint32_t w = le32(d + 4 * i);
            memcpy(&r->x[i], &w, 4);
        }
    }
    r->eight_bit = u8;
    return 0;
bad:
    return data_fail(err, errlen, name, "corrupt .npy header: %.*s", (int)(hlen < 120 ? hlen - 1 : 120),
                     (const char *)buf + start);
}

int data_npy_write(FILE *f, const float *x, int ndim, const int64_t *shape) {
    char dims[256] = "";
    size_t n = 1, at = 0;
    for (int i = 0; i < ndim; i++) {
        at += (size_t)snprintf(dims + at, sizeof dims - at, "%lld%s", (long long)shape[i], ndim == 1 || i + 1 < ndim ? "," : "");
        if (i + 1 < ndim) at += (size_t)snprintf(dims + at, sizeof dims - at, " ");
        n *= (size_t)shape[i];
    }
    char header[384];
    int h = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
    size_t total = (10 + (size_t)h + 1 + 63) / 64 * 64; /* magic to data a multiple of 64 bytes */
    size_t hlen = total - 10;
    memset(header + h, ' ', hlen - 1 - (size_t)h);
    header[hlen - 1] = '\n';
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(header, 1, hlen, f) != hlen) return -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &x[i], 4);
        uint8_t b[4] = {(uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16), (uint8_t)(w >> 24)};
        if (fwrite(b, 1, 4, f) != 4) return -1;
    }
    return 0;
}
