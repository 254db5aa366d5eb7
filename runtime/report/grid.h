/* grid.h: a picture of images in labelled rows (image.h's [C, H, W] floats): "data", "negatives",
 * "samples from noise", "samples from held-out" for a run; "clean", "noisy", "restored" for denoising.
 *
 * Layout (grid_layout computes it; the writer and the tests share it): a white picture with an optional
 * title on top, a column of row labels on the left, and tiles of H scale x W scale pixels, each image
 * pixel a scale x scale block, GRID_GAP pixels apart. Row r's tile j has its top left corner at
 * (x0 + j step_x, y0 + r step_y). */
#ifndef EBMC_GRID_H
#define EBMC_GRID_H

#include <stddef.h>

#define GRID_GAP 2

struct grid_row {
    const char *label;   /* printed left of the row; NULL or "" for none */
    const float *images; /* n images, [n, C, H, W] */
    int n;               /* 0 leaves the row empty */
};

struct grid_spec {
    const char *title;           /* above the grid; NULL for none */
    const struct grid_row *rows;
    int nrows;
    int c, h, w;                 /* every image's shape: c = 1 (grey) or 3 (RGB) */
    float lo, hi;                /* lo shows as black, hi as white (per channel); values beyond are clamped,
                                    NaN shows as pure red */
    int scale;                   /* integer upscale, 1..64; 0: the smallest making a tile's longer side
                                    at least 64 pixels (3 for 28 x 28, 2 for 32 x 32) */
};

struct grid_layout {
    int scale;          /* the upscale used */
    int x0, y0;         /* top left of row 0's first tile */
    int step_x, step_y; /* tile side + GRID_GAP */
    int width, height;  /* the picture */
};

/* Checks the spec and computes its layout. Returns 0, or -1 with the problem in err (no rows, a shape or
 * scale out of range, lo >= hi, a picture over 32768 pixels a side). */
int grid_layout(const struct grid_spec *s, struct grid_layout *g, char *err, size_t errlen);

/* Draws the grid and writes it as an RGB PNG. Returns 0, or -1 with "path: problem" in err. */
int grid_write_png(const char *path, const struct grid_spec *s, char *err, size_t errlen);

#endif
