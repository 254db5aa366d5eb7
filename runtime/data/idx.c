/* idx.c: the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), and gzip, in
 * which both are usually shipped. */
#include "loaders.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int data_gunzip(const uint8_t *buf, size_t len, const char *name, uint8_t **out, size_t *outlen, char *err,
                size_t errlen) {
    *out = NULL, *outlen = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return data_fail(err, errlen, name, "cannot start zlib");
    size_t cap = len < ((size_t)1 << 20) ? ((size_t)1 << 20) : len * 4, n = 0;
    uint8_t *o = NULL;
    int rc = Z_OK;
    const uint8_t *in = buf;
    size_t left = len;
    for (;;) {
        if (n == cap || !o) {
            if (o) cap *= 2;
            if (cap > DATA_MAX_BYTES) cap = DATA_MAX_BYTES;
            if (n == cap) {
                rc = Z_MEM_ERROR;
                break;
            }
            uint8_t *bigger = realloc(o, cap);
            if (!bigger) {
                rc = Z_MEM_ERROR;
                break;
            }
            o = bigger;
        }
        /* zlib counts in uInt: feed and drain at most 1 GiB at a time */
        size_t chunk_in = left < ((size_t)1 << 30) ? left : ((size_t)1 << 30);
        size_t room = cap - n < ((size_t)1 << 30) ? cap - n : ((size_t)1 << 30);
        z.next_in = (Bytef *)in, z.avail_in = (uInt)chunk_in;
        z.next_out = o + n, z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        in += chunk_in - z.avail_in, left -= chunk_in - z.avail_in;
        n += room - z.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) break;
        if (left == 0 && z.avail_out > 0) { /* room to write, nothing left to read: the input ended early */
            rc = Z_BUF_ERROR;
            break;
        }
    }
    const char *msg = z.msg;
    inflateEnd(&z);
    if (rc == Z_STREAM_END) {
        *out = o, *outlen = n;
        return 0;
    }
    free(o);
    if (rc == Z_MEM_ERROR)
        return data_fail(err, errlen, name, "decompresses to more than %zu bytes", (size_t)DATA_MAX_BYTES);
    if (rc == Z_BUF_ERROR || rc == Z_OK) return data_fail(err, errlen, name, "truncated gzip data");
    return data_fail(err, errlen, name, "corrupt gzip data (%s)", msg ? msg : "bad stream");
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

int data_idx_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (len < 4 || buf[0] != 0 || buf[1] != 0) return data_fail(err, errlen, name, "not an IDX file (bad magic)");
    int type = buf[2], rank = buf[3], size;
    switch (type) {
    case 0x08: case 0x09: size = 1; break;
    case 0x0B: size = 2; break;
    case 0x0C: case 0x0D: size = 4; break;
    case 0x0E: size = 8; break;
    default: return data_fail(err, errlen, name, "unsupported IDX element type 0x%02x", type);
    }
    if (rank < 1 || rank > DATA_MAX_DIMS + 1)
        return data_fail(err, errlen, name, "IDX rank %d (1 to %d supported)", rank, DATA_MAX_DIMS + 1);
    size_t start = 4 + 4 * (size_t)rank;
    if (len < start) return data_fail(err, errlen, name, "truncated IDX header");
    int64_t shape[DATA_MAX_DIMS + 1];
    for (int i = 0; i < rank; i++) shape[i] = be32(buf + 4 + 4 * i);
    int64_t count = data_shape_count(rank, shape, name, err, errlen);
    if (count < 0) return -1;
    size_t n = (size_t)count, need = n * (size_t)size, have = len - start;
    if (have != need) /* before allocating: a header of a few bytes may ask for gigabytes */
        return data_fail(err, errlen, name, "%s: the header's dims need %zu bytes of data, the file has %zu",
                         have < need ? "truncated" : "mis-sized", need, have);
    if (data_raw_alloc(r, rank, shape, name, err, errlen) != 0) return -1;
    const uint8_t *d = buf + start;
    for (size_t i = 0; i < n; i++, d += size) {
        switch (type) {
        case 0x08: r->x[i] = d[0]; break;
        case 0x09: r->x[i] = (int8_t)d[0]; break;
        case 0x0B: r->x[i] = (int16_t)(d[0] << 8 | d[1]); break;
        case 0x0C: r->x[i] = (float)(int32_t)be32(d); break;
        case 0x0D: {
            uint32_t w = be32(d);
            memcpy(&r->x[i], &w, 4);
            break;
        }
        default: {
            uint64_t w = (uint64_t)be32(d) << 32 | be32(d + 4);
            double v;
            memcpy(&v, &w, 8);
            r->x[i] = (float)v;
        }
        }
    }
    r->eight_bit = type == 0x08;
    return 0;
}
