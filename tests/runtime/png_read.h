/* png_read.h: reads a PNG back as 8-bit RGB with libpng's simplified API, for the picture tests. */
#ifndef EBMC_TEST_PNG_READ_H
#define EBMC_TEST_PNG_READ_H

#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The pixels (w h 3 bytes, top row first; free them), or NULL if the file is not a readable PNG. */
static uint8_t *png_read_rgb(const char *path, int *w, int *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return NULL;
    img.format = PNG_FORMAT_RGB;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        png_image_free(&img);
        free(px);
        return NULL;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return px;
}

#endif
