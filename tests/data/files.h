/* files.h: writers of small data files for the data tests (each test makes its own files; none are
 * checked in). The formats are written here independently of the loaders: by hand for .npy and IDX, with
 * zlib, libpng and libjpeg for the rest. */
#ifndef EBMC_TEST_DATA_FILES_H
#define EBMC_TEST_DATA_FILES_H

#include <stddef.h>
#include <stdint.h>

extern char test_dir[2048]; /* the scratch folder (argv[1]) */

const char *tpath(const char *name);
void test_mkdir(const char *p);
void write_bytes(const char *path, const void *data, size_t len);
void write_str(const char *path, const char *s);
void write_gz(const char *path, const void *data, size_t len);
size_t make_npy(uint8_t *out, const char *descr, const char *shape, const void *data, size_t datalen);
size_t make_idx_u8(uint8_t *out, int rank, const uint32_t *dims, const uint8_t *data);
size_t base64(char *out, const uint8_t *in, size_t n);
void write_png(const char *path, int w, int h, int channels, const uint8_t *px);
void write_jpeg(const char *path, int w, int h, int channels, const uint8_t *px, int quality);
uint8_t *slurp(const char *path, size_t *len);

#endif
