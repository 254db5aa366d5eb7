/* files.c: see files.h. */
#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

char test_dir[2048];

/* test_dir/name (a static buffer per call slot, so two paths can be live at once) */
const char *tpath(const char *name) {
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, 4096, "%s/%s", test_dir, name);
    return b;
}

void test_mkdir(const char *p) { mkdir(p, 0755); }

void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

void write_str(const char *path, const char *s) { write_bytes(path, s, strlen(s)); }

void write_gz(const char *path, const void *data, size_t len) {
    gzFile g = gzopen(path, "wb");
    if (!g || gzwrite(g, data, (unsigned)len) != (int)len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    gzclose(g);
}

/* A .npy file: header (padded to 64 bytes) for descr and shape, then the raw little-endian data. */
size_t make_npy(uint8_t *out, const char *descr, const char *shape, const void *data, size_t datalen) {
    char h[256];
    int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t hlen = (10 + (size_t)n + 1 + 63) / 64 * 64 - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)hlen, out[9] = (uint8_t)(hlen >> 8);
    memset(out + 10, ' ', hlen);
    memcpy(out + 10, h, (size_t)n);
    out[10 + hlen - 1] = '\n';
    memcpy(out + 10 + hlen, data, datalen);
    return 10 + hlen + datalen;
}

/* An IDX file of u8 values: magic 0 0 8 rank, big-endian dims, data. */
size_t make_idx_u8(uint8_t *out, int rank, const uint32_t *dims, const uint8_t *data) {
    size_t n = 1, at = 4;
    out[0] = 0, out[1] = 0, out[2] = 8, out[3] = (uint8_t)rank;
    for (int i = 0; i < rank; i++, at += 4) {
        out[at] = (uint8_t)(dims[i] >> 24), out[at + 1] = (uint8_t)(dims[i] >> 16);
        out[at + 2] = (uint8_t)(dims[i] >> 8), out[at + 3] = (uint8_t)dims[i];
        n *= dims[i];
    }
    memcpy(out + at, data, n);
    return at + n;
}

size_t base64(char *out, const uint8_t *in, size_t n) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[k++] = a[v >> 18 & 63], out[k++] = a[v >> 12 & 63];
        out[k++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[k] = 0;
    return k;
}

/* 8-bit RGB (channels 3) or grey (1) pixels, rows top to bottom. */
void write_png(const char *path, int w, int h, int channels, const uint8_t *px) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w, im.height = (png_uint_32)h;
    im.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&im, path, 0, px, 0, NULL)) {
        fprintf(stderr, "cannot write %s: %s\n", path, im.message);
        exit(2);
    }
}

void write_jpeg(const char *path, int w, int h, int channels, const uint8_t *px, int quality) {
    FILE *f = fopen(path, "wb");
    if (!f) exit(2);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
    c.input_components = channels, c.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * (size_t)w * (size_t)channels);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

/* The whole of a file (for cutting and corrupting copies). */
uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) exit(2);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    if (!b || fread(b, 1, *len, f) != *len) exit(2);
    fclose(f);
    return b;
}

