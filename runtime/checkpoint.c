/* checkpoint.c: the checkpoint file format (version 2).
 *
 *   "EBMCCKPT" | u32 version | u32 n_params | i64 step
 *   per parameter: u32 name length | name | u32 ndim | i64 shape[ndim] | f32 value[n] | f32 adam_m[n] | f32 adam_v[n]
 *   u32 n_sections, then per section: char tag[4] | u64 payload bytes | payload      (version 2 only)
 *     "RUN1": f64 nll_start | i64 mala proposed | i64 mala accepted
 *     "PCD1": i64 chains n | i64 dim | i64 taken | i64 resets | f32 x[n * dim]
 *     "SRC1": the model's text (its bytes, no terminator), when the model has one
 *   u64 FNV-1a checksum of every byte before it
 * Version 1 is the same without the sections. Integers and floats are stored in the machine's byte order
 * (little-endian on every target we build for). */
#include "checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "support.h"

#define MAGIC "EBMCCKPT"
#define VERSION 2u

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

static int all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int checkpoint_save(const struct rt_model *m, int64_t step, const char *path, char *err, size_t errlen) {
    return checkpoint_save_state(m, step, NULL, path, err, errlen);
}

int checkpoint_save_state(const struct rt_model *m, int64_t step, const struct run_state *rs, const char *path,
                          char *err, size_t errlen) {
    /* A non-finite value means the run diverged: keep the checkpoint there is rather than replace it. */
    for (int i = 0; i < m->n_params; i++) {
        const struct rt_param *p = &m->params[i];
        if (!all_finite(p->value, p->numel) || !all_finite(p->adam_m, p->numel) || !all_finite(p->adam_v, p->numel)) {
            snprintf(err, errlen, "%s: not saved: parameter '%s' or its Adam moments hold a non-finite value", path,
                     p->name);
            return -1;
        }
    }
    if (rs && rs->pcd.x && !all_finite(rs->pcd.x, rs->pcd.n * m->dim)) {
        snprintf(err, errlen, "%s: not saved: the PCD replay buffer holds a non-finite value", path);
        return -1;
    }
    struct atomic_file af;
    if (atomic_open(&af, path, "wb", err, errlen) != 0) return -1;
    struct writer w = {af.f, 0xcbf29ce484222325ull, 0};
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
    uint32_t n_sections = (rs ? (rs->pcd.x ? 2u : 1u) : 0u) + (m->source ? 1u : 0u);
    put(&w, &n_sections, 4);
    if (m->source) {
        uint64_t len = strlen(m->source);
        put(&w, "SRC1", 4);
        put(&w, &len, 8);
        put(&w, m->source, (size_t)len);
    }
    if (rs) {
        uint64_t len = 8 + 8 + 8;
        int64_t counts[2] = {rs->chains.proposed, rs->chains.accepted};
        put(&w, "RUN1", 4);
        put(&w, &len, 8);
        put(&w, &rs->nll_start, 8);
        put(&w, counts, 16);
    }
    if (rs && rs->pcd.x) {
        int64_t head[4] = {rs->pcd.n, m->dim, rs->pcd.taken, rs->pcd.resets};
        size_t bytes = sizeof(float) * (size_t)rs->pcd.n * (size_t)m->dim;
        uint64_t len = sizeof head + bytes;
        put(&w, "PCD1", 4);
        put(&w, &len, 8);
        put(&w, head, sizeof head);
        put(&w, rs->pcd.x, bytes);
    }
    uint64_t sum = w.hash;
    put(&w, &sum, 8);
    if (w.failed) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err, errlen);
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
/* Where the optional sections' payloads start (NULL: absent). */
struct sections {
    const unsigned char *run, *pcd, *src;
    uint64_t pcd_len, src_len;
};

/* Line `at` of text (up to its newline, at most 60 bytes, control bytes as '?') into out. */
static void clip_line(const char *at, const char *end, char *out, size_t outlen) {
    size_t k = 0;
    for (; at < end && *at != '\n' && k + 1 < outlen && k < 60; at++) out[k++] = (unsigned char)*at < 0x20 ? '?' : *at;
    if (at < end && *at != '\n' && k >= 60 && k + 4 < outlen) memcpy(out + k, "...", 3), k += 3;
    out[k] = 0;
}

/* Where the model's text and the checkpoint's (b, n bytes) part: "line L is 'x' here and 'y' in the
 * checkpoint", or what one text has beyond the other. */
static void text_difference(const char *a, const unsigned char *b, size_t n, char *out, size_t outlen) {
    size_t la = strlen(a), i = 0, line_start = 0;
    int line = 1;
    for (; i < la && i < n && (unsigned char)a[i] == b[i]; i++)
        if (a[i] == '\n') line++, line_start = i + 1;
    char x[80], y[80];
    const char *bb = (const char *)b;
    clip_line(a + line_start, a + la, x, sizeof x);
    clip_line(bb + line_start, bb + n, y, sizeof y);
    if (line_start >= la) snprintf(out, outlen, "line %d is '%s' in the checkpoint and missing here", line, y);
    else if (line_start >= n) snprintf(out, outlen, "line %d is '%s' here and missing in the checkpoint", line, x);
    else snprintf(out, outlen, "line %d is '%s' here and '%s' in the checkpoint", line, x, y);
}

static int parse(struct rt_model *m, const unsigned char *data, size_t size, const char *path, int64_t *step,
                 const unsigned char **starts, struct sections *sec, char *err, size_t errlen) {
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
    if (version != VERSION && version != 1) {
        snprintf(err, errlen, "%s: checkpoint version %u; this ebmc reads versions 1 to %u", path, version, VERSION);
        return -1;
    }
    if (n != (uint32_t)m->n_params) {
        snprintf(err, errlen, "%s: holds %u parameters; the model has %d", path, n, m->n_params);
        return -1;
    }
    if (*step < 0) {
        snprintf(err, errlen, "%s: the step count %lld is negative", path, (long long)*step);
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
        /* a saved value is finite (saving refuses others) and a second moment is not negative */
        for (int64_t k = 0; k < 3 * p->numel; k++) {
            float v;
            memcpy(&v, r.p + sizeof(float) * (size_t)k, sizeof v);
            if (!isfinite(v) || (k >= 2 * p->numel && v < 0)) {
                snprintf(err, errlen, "%s: parameter '%s' has a %s %s", path, name, isfinite(v) ? "negative" : "non-finite",
                         k < p->numel ? "value" : k < 2 * p->numel ? "first Adam moment" : "second Adam moment");
                return -1;
            }
        }
        starts[i] = r.p;
        r.p += bytes;
    }
    memset(sec, 0, sizeof *sec);
    if (version >= 2) {
        uint32_t n_sections;
        if (take(&r, &n_sections, 4)) goto truncated;
        for (uint32_t k = 0; k < n_sections; k++) {
            char tag[5] = {0};
            uint64_t len;
            if (take(&r, tag, 4) || take(&r, &len, 8) || (uint64_t)(r.end - r.p) < len) goto truncated;
            if (strcmp(tag, "RUN1") == 0) {
                if (len != 24) goto truncated;
                sec->run = r.p;
            } else if (strcmp(tag, "PCD1") == 0) {
                int64_t head[4];
                if (len < sizeof head) goto truncated;
                memcpy(head, r.p, sizeof head);
                if (head[0] <= 0 || head[1] != m->dim || head[0] > (int64_t)(len / sizeof(float)) ||
                    len != sizeof head + sizeof(float) * (uint64_t)head[0] * (uint64_t)head[1]) {
                    snprintf(err, errlen,
                             "%s: malformed replay buffer section (%lld chains of dimension %lld; the model's "
                             "dimension is %d)",
                             path, (long long)head[0], (long long)head[1], m->dim);
                    return -1;
                }
                sec->pcd = r.p, sec->pcd_len = len;
            } else if (strcmp(tag, "SRC1") == 0) {
                sec->src = r.p, sec->src_len = len;
            } else {
                snprintf(err, errlen, "%s: unknown section '%.4s' (written by a newer ebmc?)", path, tag);
                return -1;
            }
            r.p += len;
        }
    }
    if (r.p != r.end) goto truncated;
    /* Same names and shapes are not the same model: an edited energy would silently continue another
     * model's training. (Checkpoints from before the text was saved carry none to compare.) */
    if (m->source && sec->src && (strlen(m->source) != sec->src_len || memcmp(m->source, sec->src, sec->src_len) != 0)) {
        char what[256];
        text_difference(m->source, sec->src, (size_t)sec->src_len, what, sizeof what);
        snprintf(err, errlen, "%s: the model text is not the one this checkpoint was trained with (%s)", path, what);
        return CHECKPOINT_OTHER_TEXT;
    }
    return 0;
truncated:
    snprintf(err, errlen, "%s: malformed checkpoint (sizes do not add up)", path);
    return -1;
}

/* Fills rs from the sections (nothing if rs is NULL). Returns 0, or -1 (rs untouched) on out of memory. */
static int load_sections(struct run_state *rs, const struct sections *sec, const char *path, char *err, size_t errlen) {
    if (!rs) return 0;
    struct run_state t;
    memset(&t, 0, sizeof t);
    if (sec->run) {
        int64_t counts[2];
        memcpy(&t.nll_start, sec->run, 8);
        memcpy(counts, sec->run + 8, 16);
        t.chains.proposed = (long)counts[0], t.chains.accepted = (long)counts[1];
        t.has_run_info = 1;
    }
    if (sec->pcd) {
        int64_t head[4];
        memcpy(head, sec->pcd, sizeof head);
        size_t bytes = (size_t)(sec->pcd_len - sizeof head);
        t.pcd.x = malloc(bytes ? bytes : 1);
        t.pcd.index = malloc(sizeof(int64_t) * (size_t)head[0]);
        if (!t.pcd.x || !t.pcd.index) {
            replay_buffer_free(&t.pcd);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
        memcpy(t.pcd.x, sec->pcd + sizeof head, bytes);
        t.pcd.n = head[0], t.pcd.taken = head[2], t.pcd.resets = head[3];
    }
    *rs = t;
    return 0;
}

int checkpoint_load(struct rt_model *m, int64_t *step, const char *path, char *err, size_t errlen) {
    return checkpoint_load_state(m, step, NULL, path, err, errlen);
}

/* The largest file a checkpoint of m can be: parameters and both moments, a replay buffer of the most
 * chains the settings allow, and a megabyte for the header and the run state. A longer file is refused
 * before it is all read (so /dev/zero ends with an error). */
static size_t max_file_bytes(const struct rt_model *m) {
    double floats = (double)CONFIG_MAX_BUFFER_SIZE * m->dim;
    for (int i = 0; i < m->n_params; i++) floats += 3.0 * (double)m->params[i].numel;
    double bytes = (1 << 20) + sizeof(float) * floats + (m->source ? (double)strlen(m->source) : 0);
    return bytes < (double)SIZE_MAX / 2 ? (size_t)bytes : SIZE_MAX / 2;
}

int checkpoint_load_state(struct rt_model *m, int64_t *step, struct run_state *rs, const char *path, char *err,
                          size_t errlen) {
    size_t size = 0;
    unsigned char *data = (unsigned char *)file_read_all(path, max_file_bytes(m), &size, err, errlen);
    if (!data) return -1;
    const unsigned char **starts = calloc((size_t)m->n_params + 1, sizeof *starts);
    int64_t saved_step = 0;
    struct sections sec;
    int rc = -1;
    if (!starts) snprintf(err, errlen, "%s: out of memory", path);
    else if ((rc = parse(m, data, size, path, &saved_step, starts, &sec, err, errlen)) == 0 &&
             (rc = load_sections(rs, &sec, path, err, errlen)) == 0) {
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
