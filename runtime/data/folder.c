/* folder.c: a folder of PNG and JPEG images (CelebA's aligned faces, say), each centre-cropped to a
 * square and resampled to S x S. Files are taken in byte order of their names, so a run sees the same
 * data set on every machine. */
#include "loaders.h"
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_IMAGE_FILE ((size_t)1 << 28)
#define MAX_SIDE 4096

void data_image_free(struct data_image *im) {
    free(im->px);
    memset(im, 0, sizeof *im);
}

static int check_dims(int64_t w, int64_t h, const char *name, char *err, size_t errlen) {
    if (w < 1 || h < 1 || w * h > DATA_MAX_PIXELS)
        return data_fail(err, errlen, name, "image of %lld x %lld pixels (at most %lld pixels)", (long long)w,
                         (long long)h, (long long)DATA_MAX_PIXELS);
    return 0;
}

static int decode_png(const uint8_t *buf, size_t len, const char *name, struct data_image *im, char *err, size_t errlen) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, buf, len))
        return data_fail(err, errlen, name, "corrupt PNG (%s)", png.message);
    if (check_dims(png.width, png.height, name, err, errlen) != 0) {
        png_image_free(&png);
        return -1;
    }
    im->grey = !(png.format & PNG_FORMAT_FLAG_COLOR);
    png.format = PNG_FORMAT_RGB; /* alpha is composited onto black */
    im->w = (int)png.width, im->h = (int)png.height;
    im->px = malloc((size_t)im->w * (size_t)im->h * 3);
    if (!im->px) {
        png_image_free(&png);
        return data_fail(err, errlen, name, "out of memory");
    }
    if (!png_image_finish_read(&png, NULL, im->px, 0, NULL)) {
        data_image_free(im);
        return data_fail(err, errlen, name, "corrupt or truncated PNG (%s)", png.message);
    }
    return 0;
}

/* libjpeg reports errors through error_exit, which must not return: jump back to decode_jpeg. Warnings
 * (a truncated file is one) are counted, not printed, and make the image an error too. */
struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf back;
};

static void jpeg_error_exit(j_common_ptr cinfo) { longjmp(((struct jpeg_err *)cinfo->err)->back, 1); }
static void jpeg_quiet(j_common_ptr cinfo) { (void)cinfo; }

static int decode_jpeg(const uint8_t *buf, size_t len, const char *name, struct data_image *im, char *err, size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_err jerr;
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = jpeg_error_exit;
    jerr.mgr.output_message = jpeg_quiet;
    im->px = NULL; /* im is not a local, so its value is defined after longjmp */
    if (setjmp(jerr.back)) {
        char msg[JMSG_LENGTH_MAX];
        jerr.mgr.format_message((j_common_ptr)&cinfo, msg);
        jpeg_destroy_decompress(&cinfo);
        data_image_free(im);
        return data_fail(err, errlen, name, "corrupt JPEG (%s)", msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (check_dims(cinfo.image_width, cinfo.image_height, name, err, errlen) != 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    im->grey = cinfo.num_components == 1;
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    im->w = (int)cinfo.output_width, im->h = (int)cinfo.output_height;
    im->px = malloc((size_t)im->w * (size_t)im->h * 3);
    if (!im->px || cinfo.output_components != 3) {
        jpeg_destroy_decompress(&cinfo);
        data_image_free(im);
        return data_fail(err, errlen, name, "out of memory");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = im->px + (size_t)cinfo.output_scanline * (size_t)im->w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    long warnings = jerr.mgr.num_warnings;
    jpeg_destroy_decompress(&cinfo);
    if (warnings) {
        data_image_free(im);
        return data_fail(err, errlen, name, "corrupt or truncated JPEG");
    }
    return 0;
}

int data_image_decode(const uint8_t *buf, size_t len, const char *name, struct data_image *im, char *err,
                      size_t errlen) {
    memset(im, 0, sizeof *im);
    if (len >= 8 && png_sig_cmp(buf, 0, 8) == 0) return decode_png(buf, len, name, im, err, errlen);
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF) return decode_jpeg(buf, len, name, im, err, errlen);
    return data_fail(err, errlen, name, "not a PNG or JPEG image");
}

/* The 1-D resampling of n source samples (starting at first) to s: output i is the sum over k <
 * count[i] of w[i * taps + k] * src[start[i] + k]. */
struct resampler {
    int taps;
    int *start, *count;
    float *w;
};

static int resampler_init(struct resampler *r, int first, int n, int s) {
    double scale = (double)n / s; /* source samples per output sample */
    r->taps = scale > 1.0 ? (int)scale + 2 : 2;
    r->start = malloc((size_t)s * sizeof(int)), r->count = malloc((size_t)s * sizeof(int));
    r->w = calloc((size_t)s * (size_t)r->taps, sizeof(float));
    if (!r->start || !r->count || !r->w) return -1;
    for (int i = 0; i < s; i++) {
        float *w = r->w + (size_t)i * (size_t)r->taps;
        if (scale > 1.0) { /* area: the overlap of [i, i + 1) scale with each source sample */
            double a = i * scale, b = (i + 1) * scale;
            int j0 = (int)a, j1 = (int)b < n ? (int)b : n - 1;
            r->start[i] = first + j0, r->count[i] = j1 - j0 + 1;
            for (int j = j0; j <= j1; j++) {
                double lo = j > a ? j : a, hi = j + 1 < b ? j + 1 : b;
                w[j - j0] = hi > lo ? (float)((hi - lo) / scale) : 0.0f;
            }
        } else { /* bilinear between the two nearest source centres */
            double x = (i + 0.5) * scale - 0.5;
            if (x < 0) x = 0;
            if (x > n - 1) x = n - 1;
            int j = (int)x;
            if (j > n - 2) j = n - 2 < 0 ? 0 : n - 2;
            double t = x - j;
            r->start[i] = first + j, r->count[i] = n > 1 ? 2 : 1;
            w[0] = (float)(1.0 - t), w[1] = (float)t;
            if (n == 1) w[0] = 1.0f;
        }
    }
    return 0;
}

static void resampler_free(struct resampler *r) { free(r->start), free(r->count), free(r->w); }

int data_image_resize(const struct data_image *im, int s, int channels, float *out) {
    int m = im->w < im->h ? im->w : im->h, x0 = (im->w - m) / 2, y0 = (im->h - m) / 2;
    struct resampler rx = {0}, ry = {0};
    float *rows = malloc((size_t)m * (size_t)s * 3 * sizeof(float)); /* the crop's rows resampled across */
    int rc = -1;
    if (!rows || resampler_init(&rx, x0, m, s) != 0 || resampler_init(&ry, y0, m, s) != 0) goto done;
    for (int y = 0; y < m; y++) {
        const uint8_t *src = im->px + (size_t)(y0 + y) * (size_t)im->w * 3;
        for (int i = 0; i < s; i++)
            for (int c = 0; c < 3; c++) {
                float acc = 0;
                for (int k = 0; k < rx.count[i]; k++) acc += rx.w[i * rx.taps + k] * src[(rx.start[i] + k) * 3 + c];
                rows[((size_t)y * s + i) * 3 + c] = acc;
            }
    }
    for (int j = 0; j < s; j++)
        for (int i = 0; i < s; i++)
            for (int c = 0; c < channels; c++) {
                float acc = 0;
                for (int k = 0; k < ry.count[j]; k++)
                    acc += ry.w[j * ry.taps + k] * rows[((size_t)(ry.start[j] - y0 + k) * s + i) * 3 + c];
                /* rounding can leave a convex combination a hair outside 0..255 */
                out[((size_t)c * s + j) * s + i] = acc < 0 ? 0 : acc > 255 ? 255 : acc;
            }
    rc = 0;
done:
    free(rows);
    resampler_free(&rx), resampler_free(&ry);
    return rc;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void data_folder_free(struct data_folder *f) {
    for (size_t i = 0; i < f->n; i++) free(f->names[i]);
    free(f->names);
    memset(f, 0, sizeof *f);
}

int data_folder_list(const char *dir, struct data_folder *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    DIR *d = opendir(dir);
    if (!d) return data_fail(err, errlen, dir, errno == ENOENT ? "cannot open folder: no such folder" : "cannot open folder");
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) continue; /* hidden, folders */
        if (f->n == cap) {
            cap = cap ? 2 * cap : 256;
            char **bigger = realloc(f->names, cap * sizeof *f->names);
            if (!bigger) break;
            f->names = bigger;
        }
        if (!(f->names[f->n] = strdup(e->d_name))) break;
        f->n++;
    }
    int complete = e == NULL;
    closedir(d);
    if (!complete) {
        data_folder_free(f);
        return data_fail(err, errlen, dir, "out of memory listing the folder");
    }
    if (f->n == 0) return data_fail(err, errlen, dir, "no images in the folder");
    qsort(f->names, f->n, sizeof *f->names, by_name);
    return 0;
}

int data_folder_read(const char *dir, const struct data_folder *f, const int64_t *pick, int64_t n, int s,
                     struct data_raw *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (s < 1 || s > MAX_SIDE) return data_fail(err, errlen, dir, "image size %d (1 to %d)", s, MAX_SIDE);
    int64_t shape[4] = {n, 3, s, s};
    if (data_raw_alloc(r, 4, shape, dir, err, errlen) != 0) return -1;
    int all_grey = 1;
    size_t per = 3 * (size_t)s * (size_t)s;
    for (int64_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, f->names[pick[i]]);
        size_t len;
        uint8_t *buf = (uint8_t *)file_read_all(path, MAX_IMAGE_FILE, &len, err, errlen);
        struct data_image im;
        int ok = buf ? data_image_decode(buf, len, path, &im, err, errlen) : -1;
        free(buf);
        if (ok == 0) {
            all_grey &= im.grey;
            if ((ok = data_image_resize(&im, s, 3, r->x + (size_t)i * per)) != 0) data_fail(err, errlen, path, "out of memory");
            data_image_free(&im);
        }
        if (ok != 0) {
            data_raw_free(r);
            return -1;
        }
    }
    if (all_grey) { /* keep one channel: the images' first planes, packed */
        for (int64_t i = 0; i < n; i++) memmove(r->x + (size_t)i * per / 3, r->x + (size_t)i * per, per / 3 * sizeof(float));
        r->shape[1] = 1;
    }
    r->eight_bit = 1;
    return 0;
}
