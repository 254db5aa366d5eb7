/* checkpoint.c: the checkpoint file format.
 *
 *   "EBMCCKPT" | u32 version | u32 n_params | i64 step
 *   per parameter: u32 name length | name | u32 ndim | i64 shape[ndim] | f32 value[n] | f32 adam_m[n] | f32 adam_v[n]
 *   u64 FNV-1a checksum of every byte before it
 * Integers and floats are stored in the machine's byte order (little-endian on every target we build for). */
#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "EBMCCKPT"
#define VERSION 1u

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

struct writer {
    FILE *f;
    uint64_t hash;
    int failed;
};

static void put(struct writer *w, const void *data, size_t n) {
    if (w->failed) return;
    w->hash = fnv1a(w->hash, data, n);
    if (fwrite(data, 1, n, w->f) != n) w->failed = 1;
}

int checkpoint_save(const struct rt_model *m, int64_t step, const char *path, char *err, size_t errlen) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct writer w = {fopen(tmp, "wb"), 0xcbf29ce484222325ull, 0};
    if (!w.f) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        return -1;
    }
    uint32_t version = VERSION, n = (uint32_t)m->n_params;
    put(&w, MAGIC, 8);
    put(&w, &version, 4);
    put(&w, &n, 4);
    put(&w, &step, 8);
    for (int i = 0; i < m->n_params; i++) {
        const struct rt_param *p = &m->params[i];
        uint32_t len = (uint32_t)strlen(p->name), nd = (uint32_t)p->ndim;
        put(&w, &len, 4);
        put(&w, p->name, len);
        put(&w, &nd, 4);
        put(&w, p->shape, 8 * nd);
        put(&w, p->value, sizeof(float) * (size_t)p->numel);
        put(&w, p->adam_m, sizeof(float) * (size_t)p->numel);
        put(&w, p->adam_v, sizeof(float) * (size_t)p->numel);
    }
    uint64_t sum = w.hash;
    put(&w, &sum, 8);
    int ok = !w.failed && fflush(w.f) == 0 && fsync(fileno(w.f)) == 0;
    int saved_errno = errno;
    if (fclose(w.f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", ok ? path : tmp, strerror(ok ? errno : saved_errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

struct reader {
    const unsigned char *p, *end;
};

static int take(struct reader *r, void *out, size_t n) {
    if ((size_t)(r->end - r->p) < n) return -1;
    memcpy(out, r->p, n);
    r->p += n;
    return 0;
}

static void shape_text(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++) k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

/* Validates the whole file and returns where each parameter's data starts, before touching the model. */
static int parse(struct rt_model *m, const unsigned char *data, size_t size, const char *path, int64_t *step,
                 const unsigned char **starts, char *err, size_t errlen) {
    struct reader r = {data, data + size};
    char magic[8];
    uint32_t version, n;
    if (size < 8 || memcmp(data, MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not an ebmc checkpoint", path);
        return -1;
    }
    if (size < 8 + 4 + 4 + 8 + 8) goto truncated;
    uint64_t stored;
    memcpy(&stored, data + size - 8, 8);
    if (fnv1a(0xcbf29ce484222325ull, data, size - 8) != stored) {
        snprintf(err, errlen, "%s: checksum mismatch (the file is truncated or damaged)", path);
        return -1;
    }
    r.end -= 8;
    take(&r, magic, 8);
    take(&r, &version, 4);
    take(&r, &n, 4);
    take(&r, step, 8);
    if (version != VERSION) {
        snprintf(err, errlen, "%s: checkpoint version %u; this ebmc reads version %u", path, version, VERSION);
        return -1;
    }
    if (n != (uint32_t)m->n_params) {
        snprintf(err, errlen, "%s: holds %u parameters; the model has %d", path, n, m->n_params);
        return -1;
    }
    for (int i = 0; i < m->n_params; i++) {
        const struct rt_param *p = &m->params[i];
        uint32_t len, nd;
        char name[IR_NAME_LEN] = {0};
        int64_t shape[IR_MAX_DIMS];
        if (take(&r, &len, 4) || len >= IR_NAME_LEN || take(&r, name, len) || take(&r, &nd, 4) || nd > IR_MAX_DIMS ||
            take(&r, shape, 8 * nd))
            goto truncated;
        if (strcmp(name, p->name) != 0) {
            snprintf(err, errlen, "%s: parameter %d is '%s'; the model's is '%s'", path, i + 1, name, p->name);
            return -1;
        }
        int same = (int)nd == p->ndim;
        for (uint32_t k = 0; same && k < nd; k++) same = shape[k] == p->shape[k];
        if (!same) {
            char a[96], b[96];
            shape_text(a, sizeof a, (int)nd, shape);
            shape_text(b, sizeof b, p->ndim, p->shape);
            snprintf(err, errlen, "%s: parameter '%s' has shape %s; the model's has %s", path, name, a, b);
            return -1;
        }
        size_t bytes = 3 * sizeof(float) * (size_t)p->numel;
        if ((size_t)(r.end - r.p) < bytes) goto truncated;
        starts[i] = r.p;
        r.p += bytes;
    }
    if (r.p != r.end) goto truncated;
    return 0;
truncated:
    snprintf(err, errlen, "%s: malformed checkpoint (sizes do not add up)", path);
    return -1;
}

int checkpoint_load(struct rt_model *m, int64_t *step, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    unsigned char *data = NULL;
    size_t size = 0, cap = 0, got;
    do {
        if (size == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *d = realloc(data, cap);
            if (!d) {
                free(data);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory reading", path);
                return -1;
            }
            data = d;
        }
        got = fread(data + size, 1, cap - size, f);
        size += got;
    } while (got > 0);
    int read_error = ferror(f);
    fclose(f);
    const unsigned char **starts = calloc((size_t)m->n_params + 1, sizeof *starts);
    int64_t saved_step = 0;
    int rc = -1;
    if (read_error) snprintf(err, errlen, "%s: read error", path);
    else if (!starts) snprintf(err, errlen, "%s: out of memory", path);
    else if (parse(m, data, size, path, &saved_step, starts, err, errlen) == 0) {
        for (int i = 0; i < m->n_params; i++) {
            struct rt_param *p = &m->params[i];
            size_t n = sizeof(float) * (size_t)p->numel;
            memcpy(p->value, starts[i], n);
            memcpy(p->adam_m, starts[i] + n, n);
            memcpy(p->adam_v, starts[i] + 2 * n, n);
        }
        if (step) *step = saved_step;
        rc = 0;
    }
    free(starts);
    free(data);
    return rc;
}
