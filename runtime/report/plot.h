/* plot.h: pictures people look at instead of numbers: RGB canvases, a heat map of a density, scatter
 * plots, lines, side-by-side panels with titles, written as PNG with libpng. */
#ifndef EBMC_PLOT_H
#define EBMC_PLOT_H

#include <stddef.h>
#include <stdint.h>

struct canvas {
    int w, h;
    uint8_t *rgb; /* h rows of w pixels, 3 bytes each, top row first */
};

/* 0, or -1 (and an empty canvas) if a side is not in 1..32768 or memory runs out. */
int canvas_init(struct canvas *c, int w, int h, uint8_t r, uint8_t g, uint8_t b);
void canvas_free(struct canvas *c);

/* values: an n x n grid, row 0 at the bottom (y = lo), column 0 at the left (x = lo). Colour-mapped
 * (viridis-like) from min to max into the square panel at (x0, y0) of side `size` pixels. */
void plot_heatmap(struct canvas *c, int x0, int y0, int size, const float *values, int n);

/* Points (x, y interleaved) inside [-half, half]^2 drawn as small dots into the panel. */
void plot_scatter(struct canvas *c, int x0, int y0, int size, const float *xy, size_t n, float half,
                  uint8_t r, uint8_t g, uint8_t b);

/* A filled rectangle (panel backgrounds, frames, legend swatches). */
void plot_rect(struct canvas *c, int x, int y, int w, int h, uint8_t r, uint8_t g, uint8_t b);

/* A straight line from (x0, y0) to (x1, y1) (pixel coordinates, fractions allowed) drawn as squares of
 * side `thick` (1..8) centred on it, for charts. Any coordinates are safe: the line is clipped first. */
void plot_line(struct canvas *c, double x0, double y0, double x1, double y1, int thick, uint8_t r, uint8_t g,
               uint8_t b);

/* The heat map's colour for t in [0, 1] (clamped; NaN gives grey), for colour bars and legends. */
void plot_colormap(double t, uint8_t rgb[3]);

/* Text in a built-in 5x7 pixel font, scale 1..4; ASCII 32..126 (others show as '?'). (x, y) is the top
 * left of the first glyph; glyphs advance 6 * scale pixels and '\n' starts a line 9 * scale lower. */
void plot_text(struct canvas *c, int x, int y, const char *text, int scale, uint8_t r, uint8_t g, uint8_t b);

/* Writes the canvas as an 8-bit RGB PNG. Returns 0, or -1 with "path: reason" in err. */
int png_write(const struct canvas *c, const char *path, char *err, size_t errlen);

#endif
