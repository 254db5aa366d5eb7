/* grid.c: labelled rows of images drawn on a canvas (plot.h) and written as PNG. */
#include "grid.h"

#include "plot.h"
#include "support.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PAD 8
#define TEXT 2                 /* the font's scale: glyphs 12 pixels apart, 16 tall */
#define MAX_SIDE 32768         /* canvas_init's limit */
#define TEXT_RGB 30, 30, 30

static int64_t text_width(const char *s) { return s ? (int64_t)strlen(s) * 6 * TEXT : 0; }

int grid_layout(const struct grid_spec *s, struct grid_layout *g, char *err, size_t errlen) {
    if (!s->rows || s->nrows <= 0) return fail_with(err, errlen, "no rows of images");
    if (s->c != 1 && s->c != 3) return fail_with(err, errlen, "%d channels: images must be grey (1) or RGB (3)", s->c);
    if (s->h <= 0 || s->w <= 0 || s->h > MAX_SIDE || s->w > MAX_SIDE)
        return fail_with(err, errlen, "images of %d x %d pixels", s->h, s->w);
    if (!(isfinite(s->lo) && isfinite(s->hi) && s->lo < s->hi))
        return fail_with(err, errlen, "the value range [%g, %g] is empty", s->lo, s->hi);
    if (s->scale < 0 || s->scale > 64) return fail_with(err, errlen, "scale %d is not in 0..64", s->scale);
    int side = s->h > s->w ? s->h : s->w, scale = s->scale ? s->scale : (64 + side - 1) / side;
    int64_t label_w = 0, ncols = 0;
    for (int r = 0; r < s->nrows; r++) {
        if (s->rows[r].n < 0 || (s->rows[r].n > 0 && !s->rows[r].images))
            return fail_with(err, errlen, "row %d has %d images and %s", r, s->rows[r].n,
                        s->rows[r].images ? "data" : "no data");
        int64_t lw = text_width(s->rows[r].label);
        if (lw > label_w) label_w = lw;
        if (s->rows[r].n > ncols) ncols = s->rows[r].n;
    }
    if (label_w) label_w += PAD;
    int64_t step_x = (int64_t)s->w * scale + GRID_GAP, step_y = (int64_t)s->h * scale + GRID_GAP;
    int64_t x0 = PAD + label_w, y0 = PAD + (s->title ? 16 + PAD : 0);
    int64_t width = x0 + (ncols ? ncols * step_x - GRID_GAP : 0) + PAD;
    int64_t height = y0 + s->nrows * step_y - GRID_GAP + PAD;
    if (s->title && 2 * PAD + text_width(s->title) > width) width = 2 * PAD + text_width(s->title);
    if (width > MAX_SIDE || height > MAX_SIDE)
        return fail_with(err, errlen, "the grid would be %lld x %lld pixels, more than %d a side", (long long)width,
                    (long long)height, MAX_SIDE);
    g->scale = scale;
    g->x0 = (int)x0;
    g->y0 = (int)y0;
    g->step_x = (int)step_x;
    g->step_y = (int)step_y;
    g->width = (int)width;
    g->height = (int)height;
    return 0;
}

static uint8_t to_byte(double v, double lo, double hi) {
    double t = (v - lo) / (hi - lo);
    return t <= 0.0 ? 0 : t >= 1.0 ? 255 : (uint8_t)(t * 255.0 + 0.5);
}

/* One image as a tile with its top left at (x, y). */
static void draw_tile(struct canvas *cv, int x, int y, const float *im, const struct grid_spec *s, int scale) {
    size_t plane = (size_t)s->h * (size_t)s->w;
    for (int i = 0; i < s->h; i++)
        for (int j = 0; j < s->w; j++) {
            size_t at = (size_t)i * s->w + j;
            uint8_t rgb[3];
            int nan = 0;
            for (int k = 0; k < 3; k++) {
                float v = im[(s->c == 3 ? k : 0) * plane + at];
                nan |= isnan(v);
                rgb[k] = to_byte(v, s->lo, s->hi);
            }
            if (nan) rgb[0] = 255, rgb[1] = rgb[2] = 0;
            plot_rect(cv, x + j * scale, y + i * scale, scale, scale, rgb[0], rgb[1], rgb[2]);
        }
}

int grid_write_png(const char *path, const struct grid_spec *s, char *err, size_t errlen) {
    struct grid_layout g;
    char why[200];
    if (grid_layout(s, &g, why, sizeof why) != 0) return fail_with(err, errlen, "%s: %s", path, why);
    struct canvas cv;
    if (canvas_init(&cv, g.width, g.height, 255, 255, 255) != 0)
        return fail_with(err, errlen, "%s: out of memory for a %d x %d picture", path, g.width, g.height);
    if (s->title) plot_text(&cv, PAD, PAD, s->title, TEXT, TEXT_RGB);
    size_t one = (size_t)s->c * s->h * s->w;
    for (int r = 0; r < s->nrows; r++) {
        int y = g.y0 + r * g.step_y;
        if (s->rows[r].label) plot_text(&cv, PAD, y + (g.step_y - GRID_GAP - 14) / 2, s->rows[r].label, TEXT, TEXT_RGB);
        for (int j = 0; j < s->rows[r].n; j++)
            draw_tile(&cv, g.x0 + j * g.step_x, y, s->rows[r].images + (size_t)j * one, s, g.scale);
    }
    int rc = png_write(&cv, path, err, errlen);
    canvas_free(&cv);
    return rc;
}
