/* plot.c: RGB canvases, a viridis heat map, scatter dots, a built-in 5x7 font and PNG output. Every
 * drawing function clips to the canvas, and computes positions in 64 bits, so any coordinates are safe. */
#include "plot.h"

#include "support.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Far beyond any picture, and small enough that a mistaken size fails here rather than in malloc. */
#define CANVAS_MAX_SIDE 32768

int canvas_init(struct canvas *c, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
    c->w = c->h = 0;
    c->rgb = NULL;
    if (w <= 0 || h <= 0 || w > CANVAS_MAX_SIDE || h > CANVAS_MAX_SIDE) return -1;
    size_t npix = (size_t)w * (size_t)h;
    uint8_t *p = malloc(npix * 3);
    if (!p) return -1;
    for (size_t i = 0; i < npix; i++) {
        p[3 * i] = r;
        p[3 * i + 1] = g;
        p[3 * i + 2] = b;
    }
    c->w = w;
    c->h = h;
    c->rgb = p;
    return 0;
}

void canvas_free(struct canvas *c) {
    free(c->rgb);
    c->rgb = NULL;
    c->w = c->h = 0;
}

/* Clips the half-open range [lo, hi) to [0, limit). */
static void clip_range(int64_t *lo, int64_t *hi, int64_t limit) {
    if (*lo < 0) *lo = 0;
    if (*hi > limit) *hi = limit;
}

static void fill_rect(struct canvas *c, int64_t x, int64_t y, int64_t w, int64_t h, uint8_t r, uint8_t g,
                      uint8_t b) {
    int64_t x1 = x + w, y1 = y + h;
    clip_range(&x, &x1, c->w);
    clip_range(&y, &y1, c->h);
    for (int64_t py = y; py < y1; py++)
        for (int64_t px = x; px < x1; px++) {
            uint8_t *p = c->rgb + 3 * ((size_t)py * (size_t)c->w + (size_t)px);
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
}

void plot_rect(struct canvas *c, int x, int y, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
    if (c->rgb) fill_rect(c, x, y, w, h, r, g, b);
}

/* Cuts the segment p[0]-p[1] to the box [lo, hi] one edge at a time, moving an outside end onto the
 * edge itself (not by a parameter t, which keeps no precision for huge coordinates). 0 if nothing is
 * left, or a coordinate is not finite. */
static int clip_segment(double p[2][2], const double lo[2], const double hi[2]) {
    for (int a = 0; a < 2; a++)
        for (int side = 0; side < 2; side++) {
            double bound = side ? hi[a] : lo[a];
            int out[2];
            for (int e = 0; e < 2; e++) {
                if (!isfinite(p[e][0]) || !isfinite(p[e][1])) return 0;
                out[e] = side ? p[e][a] > bound : p[e][a] < bound;
            }
            if (out[0] && out[1]) return 0;
            for (int e = 0; e < 2; e++)
                if (out[e]) {
                    double *q = p[e], *r = p[1 - e];
                    q[1 - a] += (bound - q[a]) / (r[a] - q[a]) * (r[1 - a] - q[1 - a]);
                    q[a] = bound;
                }
        }
    return 1;
}

void plot_line(struct canvas *c, double x0, double y0, double x1, double y1, int thick, uint8_t r, uint8_t g,
               uint8_t b) {
    if (!c->rgb) return;
    int t = thick < 1 ? 1 : thick > 8 ? 8 : thick;
    double p[2][2] = {{x0, y0}, {x1, y1}}, lo[2] = {-t, -t}, hi[2] = {c->w + t, c->h + t};
    if (!clip_segment(p, lo, hi)) return;
    x0 = p[0][0], y0 = p[0][1], x1 = p[1][0], y1 = p[1][1];
    /* Steps of at most half a pixel along the longer axis leave no gaps. */
    double len = fmax(fabs(x1 - x0), fabs(y1 - y0));
    int64_t steps = (int64_t)ceil(2.0 * len);
    for (int64_t i = 0; i <= steps; i++) {
        double f = steps ? (double)i / (double)steps : 0.0;
        double x = x0 + f * (x1 - x0), y = y0 + f * (y1 - y0);
        fill_rect(c, (int64_t)floor(x - 0.5 * (t - 1)), (int64_t)floor(y - 0.5 * (t - 1)), t, t, r, g, b);
    }
}

/* Viridis (matplotlib) sampled at t = 0, 0.1, ..., 1 and interpolated linearly in between. */
static const uint8_t viridis_anchors[11][3] = {
    {0x44, 0x01, 0x54}, {0x48, 0x24, 0x75}, {0x41, 0x44, 0x87}, {0x35, 0x5f, 0x8d},
    {0x2a, 0x78, 0x8e}, {0x21, 0x91, 0x8c}, {0x22, 0xa8, 0x84}, {0x44, 0xbf, 0x70},
    {0x7a, 0xd1, 0x51}, {0xbd, 0xdf, 0x26}, {0xfd, 0xe7, 0x25},
};

void plot_colormap(double t, uint8_t rgb[3]) {
    if (isnan(t)) { /* undefined values show as grey, outside the colour map */
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    double s = t * 10.0;
    int i = (int)s;
    if (i > 9) i = 9;
    double f = s - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (uint8_t)(viridis_anchors[i][k] + f * (viridis_anchors[i + 1][k] - viridis_anchors[i][k]) +
                           0.5);
}

void plot_heatmap(struct canvas *c, int x0, int y0, int size, const float *values, int n) {
    if (!c->rgb || !values || size <= 0 || n <= 0) return;
    size_t cells = (size_t)n * (size_t)n;
    /* The colour range comes from the finite values; infinities saturate at the ends. */
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < cells; i++)
        if (isfinite(values[i])) {
            if (values[i] < lo) lo = values[i];
            if (values[i] > hi) hi = values[i];
        }
    double scale = hi > lo ? 1.0 / (hi - lo) : 0.0;
    int64_t px0 = x0, px1 = (int64_t)x0 + size, py0 = y0, py1 = (int64_t)y0 + size;
    clip_range(&px0, &px1, c->w);
    clip_range(&py0, &py1, c->h);
    for (int64_t py = py0; py < py1; py++) {
        int64_t row = n - 1 - (py - y0) * n / size; /* pixel rows go down, grid rows go up */
        for (int64_t px = px0; px < px1; px++) {
            int64_t col = (px - x0) * n / size;
            double v = values[(size_t)row * (size_t)n + (size_t)col];
            double t = isfinite(v) ? (scale > 0.0 ? (v - lo) * scale : 0.5) : isinf(v) ? (v > 0) : NAN;
            plot_colormap(t, c->rgb + 3 * ((size_t)py * (size_t)c->w + (size_t)px));
        }
    }
}

void plot_scatter(struct canvas *c, int x0, int y0, int size, const float *xy, size_t n, float half,
                  uint8_t r, uint8_t g, uint8_t b) {
    if (!c->rgb || !xy || size <= 0 || !(half > 0.0f)) return;
    for (size_t i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (!(x >= -half && x <= half && y >= -half && y <= half)) continue; /* also drops NaN */
        double u = (x + half) / (2.0 * half), v = (half - y) / (2.0 * half);
        /* The 2x2 dot is centred on the point and kept inside the panel. */
        int64_t dx = (int64_t)floor(u * size - 0.5), dy = (int64_t)floor(v * size - 0.5);
        if (dx > size - 2) dx = size - 2;
        if (dy > size - 2) dy = size - 2;
        if (dx < 0) dx = 0;
        if (dy < 0) dy = 0;
        fill_rect(c, (int64_t)x0 + dx, (int64_t)y0 + dy, size < 2 ? 1 : 2, size < 2 ? 1 : 2, r, g, b);
    }
}

/* 5x7 glyphs for ASCII 32..126: rows top first, bit 4 is the leftmost column; an eighth row holds the
 * descenders of g, j, p, q and y. */
static const uint8_t font5x7[95][8] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* ' ' */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00}, /* '!' */
    {0x0A, 0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00}, /* '"' */
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A, 0x00}, /* '#' */
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04, 0x00}, /* '$' */
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00}, /* '%' */
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D, 0x00}, /* '&' */
    {0x04, 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00}, /* "'" */
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00}, /* '(' */
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00}, /* ')' */
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00, 0x00}, /* '*' */
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00, 0x00}, /* '+' */
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08, 0x00}, /* ',' */
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00}, /* '-' */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00}, /* '.' */
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00}, /* '/' */
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, 0x00}, /* '0' */
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00}, /* '1' */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, 0x00}, /* '2' */
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, 0x00}, /* '3' */
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, 0x00}, /* '4' */
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, 0x00}, /* '5' */
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, 0x00}, /* '6' */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00}, /* '7' */
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, 0x00}, /* '8' */
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, 0x00}, /* '9' */
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00, 0x00}, /* ':' */
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08, 0x00}, /* ';' */
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00}, /* '<' */
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00, 0x00}, /* '=' */
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00}, /* '>' */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00}, /* '?' */
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E, 0x00}, /* '@' */
    {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00}, /* 'A' */
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E, 0x00}, /* 'B' */
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E, 0x00}, /* 'C' */
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C, 0x00}, /* 'D' */
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, 0x00}, /* 'E' */
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10, 0x00}, /* 'F' */
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F, 0x00}, /* 'G' */
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00}, /* 'H' */
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00}, /* 'I' */
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C, 0x00}, /* 'J' */
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00}, /* 'K' */
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F, 0x00}, /* 'L' */
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00}, /* 'M' */
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00}, /* 'N' */
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00}, /* 'O' */
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, 0x00}, /* 'P' */
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D, 0x00}, /* 'Q' */
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11, 0x00}, /* 'R' */
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E, 0x00}, /* 'S' */
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00}, /* 'T' */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00}, /* 'U' */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00}, /* 'V' */
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A, 0x00}, /* 'W' */
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11, 0x00}, /* 'X' */
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x00}, /* 'Y' */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F, 0x00}, /* 'Z' */
    {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E, 0x00}, /* '[' */
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00}, /* '\\' */
    {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E, 0x00}, /* ']' */
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00}, /* '^' */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0x00}, /* '_' */
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00}, /* '`' */
    {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00}, /* 'a' */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00}, /* 'b' */
    {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00}, /* 'c' */
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00}, /* 'd' */
    {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00}, /* 'e' */
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00}, /* 'f' */
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E}, /* 'g' */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00}, /* 'h' */
    {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00}, /* 'i' */
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x12, 0x0C}, /* 'j' */
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00}, /* 'k' */
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00}, /* 'l' */
    {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11, 0x00}, /* 'm' */
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00}, /* 'n' */
    {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00}, /* 'o' */
    {0x00, 0x00, 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10}, /* 'p' */
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x01}, /* 'q' */
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00}, /* 'r' */
    {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E, 0x00}, /* 's' */
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00}, /* 't' */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00}, /* 'u' */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00}, /* 'v' */
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00}, /* 'w' */
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00}, /* 'x' */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E}, /* 'y' */
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F, 0x00}, /* 'z' */
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02, 0x00}, /* '{' */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00}, /* '|' */
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08, 0x00}, /* '}' */
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00}, /* '~' */
};

void plot_text(struct canvas *c, int x, int y, const char *text, int scale, uint8_t r, uint8_t g, uint8_t b) {
    if (!c->rgb || !text) return;
    int64_t s = scale < 1 ? 1 : scale > 4 ? 4 : scale;
    int64_t cx = x, cy = y;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n') {
            cx = x;
            cy += 9 * s;
            continue;
        }
        const uint8_t *glyph = font5x7[(*p >= 32 && *p <= 126 ? *p : '?') - 32];
        for (int row = 0; row < 8; row++)
            for (int col = 0; col < 5; col++)
                if (glyph[row] & (0x10 >> col)) fill_rect(c, cx + col * s, cy + row * s, s, s, r, g, b);
        cx += 6 * s; /* one column of spacing */
    }
}

/* libpng reports errors through a callback that must not return: it records the message and jumps back
 * into png_write. */
struct png_error_ctx {
    jmp_buf jmp;
    char msg[200];
};

static void png_on_error(png_structp png, png_const_charp msg) {
    struct png_error_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    longjmp(ctx->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static int png_fail(char *err, size_t errlen, const char *path, const char *fmt, ...) {
    if (err && errlen) {
        int k = snprintf(err, errlen, "%s: ", path);
        if (k >= 0 && (size_t)k < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

int png_write(const struct canvas *c, const char *path, char *err, size_t errlen) {
    if (!c || !c->rgb || c->w <= 0 || c->h <= 0) return png_fail(err, errlen, path, "empty canvas");
    /* Written beside path and renamed over it, so a viewer or a crash never sees half a picture; which
     * would replace a device or a pipe by a file, so only regular files (or new ones) are written. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) return png_fail(err, errlen, path, "not a regular file");
    struct atomic_file af;
    if (atomic_open(&af, path, "wb", err, errlen) != 0) return -1;
    struct png_error_ctx ctx;
    ctx.msg[0] = '\0';
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        atomic_abort(&af);
        return png_fail(err, errlen, path, "out of memory");
    }
    if (setjmp(ctx.jmp)) {
        png_destroy_write_struct(&png, &info);
        atomic_abort(&af);
        return png_fail(err, errlen, path, "cannot write PNG: %s", ctx.msg);
    }
    png_init_io(png, af.f);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < c->h; y++) png_write_row(png, c->rgb + (size_t)y * (size_t)c->w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return atomic_commit(&af, err, errlen); /* buffered data reaches the disk only now: a full one fails here */
}
