/* chart.c: line charts drawn on a canvas (plot.h): round-valued axes, polylines with point markers, a
 * legend to the right of the plot area, written as PNG. */
#include "chart.h"

#include "plot.h"
#include "support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MARGIN 16
#define TEXT 2           /* the font's scale: glyphs 12 pixels apart, 14 tall (16 with descenders) */
#define CHAR_W (6 * TEXT)
#define LINE_H 24        /* a line of text and its spacing */
#define MIN_SIDE 200
#define MAX_SIDE 4096
#define MAX_ABS 1e100    /* beyond this a coordinate is not drawn: spans stay finite */
#define INK 30, 30, 30

void chart_color(int i, uint8_t rgb[3]) {
    static const uint8_t palette[8][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
        {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
    };
    int k = (i % 8 + 8) % 8;
    memcpy(rgb, palette[k], 3);
}

/* A point as drawn: X is log10 x on a log axis, Y likewise. 0 if the point is not drawn. */
static int drawable(const struct chart_spec *s, const struct chart_series *ser, int i, double *X, double *Y) {
    double x = ser->x[i], y = ser->y[i];
    if (s->log_x) {
        if (!(x > 0.0)) return 0;
        x = log10(x);
    }
    if (s->log_y) {
        if (!(y > 0.0)) return 0;
        y = log10(y);
    }
    *X = x;
    *Y = y;
    return isfinite(x) && isfinite(y) && fabs(x) <= MAX_ABS && fabs(y) <= MAX_ABS;
}

/* An axis: ticks at lo, lo + step, ..., hi (on a log axis, exponents of 10). */
struct axis {
    double lo, hi, step;
    int log;
};

/* Widens [min, max] to round ends with about five steps between. */
static void axis_fit(struct axis *a, double min, double max, int log) {
    a->log = log;
    if (log) {
        a->lo = floor(min);
        a->hi = ceil(max);
        if (a->hi == a->lo) a->hi = a->lo + 1;
        a->step = ceil((a->hi - a->lo) / 10.0); /* at most about ten decades labelled */
        a->hi = a->lo + ceil((a->hi - a->lo) / a->step) * a->step;
        return;
    }
    if (!(max > min)) { /* one value: a span around it */
        double d = min != 0.0 ? 0.1 * fabs(min) : 1.0;
        min -= d;
        max += d;
    }
    double raw = (max - min) / 5.0, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    a->step = (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
    a->lo = floor(min / a->step) * a->step;
    a->hi = ceil(max / a->step) * a->step;
}

static int axis_ticks(const struct axis *a) { return (int)floor((a->hi - a->lo) / a->step + 1e-9) + 1; }

static void tick_label(const struct axis *a, int i, char *buf, size_t len) {
    double v = a->lo + i * a->step;
    if (a->log)
        snprintf(buf, len, "%g", pow(10.0, v));
    else
        snprintf(buf, len, "%g", fabs(v) < 1e-9 * a->step ? 0.0 : v); /* no -1.4e-17 for zero */
}

static int layout(const struct chart_spec *s, struct chart_layout *l, struct axis *xa, struct axis *ya, char *err,
                  size_t errlen) {
    if (!s->series || s->nseries <= 0) return fail_with(err, errlen, "no series to draw");
    int w = s->width ? s->width : 800, h = s->height ? s->height : 500;
    if (w < MIN_SIDE || w > MAX_SIDE || h < MIN_SIDE || h > MAX_SIDE)
        return fail_with(err, errlen, "a chart of %d x %d pixels: each side must be in %d..%d", w, h, MIN_SIDE, MAX_SIDE);
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    size_t name_len = 0;
    for (int k = 0; k < s->nseries; k++) {
        const struct chart_series *ser = &s->series[k];
        if (ser->n < 0 || (ser->n > 0 && (!ser->x || !ser->y)))
            return fail_with(err, errlen, "series %d has %d points and no arrays", k, ser->n);
        if (ser->name && strlen(ser->name) > name_len) name_len = strlen(ser->name);
        for (int i = 0; i < ser->n; i++) {
            double X, Y;
            if (!drawable(s, ser, i, &X, &Y)) continue;
            xmin = fmin(xmin, X), xmax = fmax(xmax, X), ymin = fmin(ymin, Y), ymax = fmax(ymax, Y);
        }
    }
    if (xmin > xmax) xmin = 0, xmax = 1, ymin = 0, ymax = 1; /* nothing drawable yet */
    axis_fit(xa, xmin, xmax, s->log_x);
    axis_fit(ya, ymin, ymax, s->log_y);
    size_t ytick_len = 0;
    for (int i = 0; i < axis_ticks(ya); i++) {
        char buf[64];
        tick_label(ya, i, buf, sizeof buf);
        if (strlen(buf) > ytick_len) ytick_len = strlen(buf);
    }
    l->width = w;
    l->height = h;
    l->top = MARGIN + (s->title ? LINE_H : 0) + (s->ylabel ? LINE_H : 0) + 8;
    l->bottom = h - MARGIN - (s->xlabel ? LINE_H : 0) - LINE_H;
    l->left = MARGIN + (int)ytick_len * CHAR_W + 10;
    /* The legend, right of the plot area: a gap, a swatch and its space, the longest name. */
    double legend_w = name_len ? 28.0 + (double)name_len * CHAR_W + MARGIN : 0.0;
    double right = w - MARGIN - legend_w;
    l->right = right > l->left + 60 ? (int)right : -1;
    if (l->right < 0 || l->bottom - l->top < 60)
        return fail_with(err, errlen, "a chart of %d x %d pixels is too small for its labels and legend", w, h);
    l->x_lo = xa->lo, l->x_hi = xa->hi, l->y_lo = ya->lo, l->y_hi = ya->hi;
    return 0;
}

int chart_layout(const struct chart_spec *s, struct chart_layout *l, char *err, size_t errlen) {
    struct axis xa, ya;
    return layout(s, l, &xa, &ya, err, errlen);
}

static double to_px(const struct chart_layout *l, double X) {
    return l->left + (X - l->x_lo) / (l->x_hi - l->x_lo) * (l->right - l->left);
}

static double to_py(const struct chart_layout *l, double Y) {
    return l->bottom - (Y - l->y_lo) / (l->y_hi - l->y_lo) * (l->bottom - l->top);
}

static void draw_axes(struct canvas *cv, const struct chart_spec *s, const struct chart_layout *l,
                      const struct axis *xa, const struct axis *ya) {
    char buf[64];
    for (int i = 0; i < axis_ticks(xa); i++) {
        int px = (int)lround(to_px(l, xa->lo + i * xa->step));
        plot_rect(cv, px, l->top, 1, l->bottom - l->top, 225, 225, 225);
        plot_rect(cv, px, l->bottom, 1, 6, INK);
        tick_label(xa, i, buf, sizeof buf);
        plot_text(cv, px - (int)strlen(buf) * CHAR_W / 2, l->bottom + 8, buf, TEXT, INK);
    }
    for (int i = 0; i < axis_ticks(ya); i++) {
        int py = (int)lround(to_py(l, ya->lo + i * ya->step));
        plot_rect(cv, l->left, py, l->right - l->left, 1, 225, 225, 225);
        plot_rect(cv, l->left - 6, py, 6, 1, INK);
        tick_label(ya, i, buf, sizeof buf);
        plot_text(cv, l->left - 8 - (int)strlen(buf) * CHAR_W, py - 7, buf, TEXT, INK);
    }
    /* The frame: left and bottom axes, top and right edges. */
    plot_rect(cv, l->left, l->top, 1, l->bottom - l->top + 1, INK);
    plot_rect(cv, l->right, l->top, 1, l->bottom - l->top + 1, INK);
    plot_rect(cv, l->left, l->top, l->right - l->left + 1, 1, INK);
    plot_rect(cv, l->left, l->bottom, l->right - l->left + 1, 1, INK);
    int y = MARGIN;
    if (s->title) plot_text(cv, MARGIN, y, s->title, TEXT, INK), y += LINE_H;
    if (s->ylabel) plot_text(cv, MARGIN, y, s->ylabel, TEXT, INK);
    if (s->xlabel)
        plot_text(cv, (l->left + l->right) / 2 - (int)strlen(s->xlabel) * CHAR_W / 2, l->height - MARGIN - 16,
                  s->xlabel, TEXT, INK);
}

static void draw_series(struct canvas *cv, const struct chart_spec *s, const struct chart_layout *l, int k) {
    const struct chart_series *ser = &s->series[k];
    uint8_t c[3];
    chart_color(k, c);
    int have_prev = 0;
    double ppx = 0, ppy = 0;
    for (int i = 0; i < ser->n; i++) {
        double X, Y;
        if (!drawable(s, ser, i, &X, &Y)) {
            have_prev = 0; /* a gap in the line */
            continue;
        }
        double px = to_px(l, X), py = to_py(l, Y);
        if (have_prev) plot_line(cv, ppx, ppy, px, py, 2, c[0], c[1], c[2]);
        plot_rect(cv, (int)lround(px) - 2, (int)lround(py) - 2, 5, 5, c[0], c[1], c[2]);
        ppx = px, ppy = py, have_prev = 1;
    }
    if (ser->name) { /* legend entry k */
        int x = l->right + MARGIN, y = l->top + k * LINE_H;
        plot_rect(cv, x, y + 6, 20, 3, c[0], c[1], c[2]);
        plot_text(cv, x + 28, y, ser->name, TEXT, INK);
    }
}

int chart_write_png(const char *path, const struct chart_spec *s, char *err, size_t errlen) {
    struct chart_layout l;
    struct axis xa, ya;
    char why[200];
    if (layout(s, &l, &xa, &ya, why, sizeof why) != 0) return fail_with(err, errlen, "%s: %s", path, why);
    struct canvas cv;
    if (canvas_init(&cv, l.width, l.height, 255, 255, 255) != 0)
        return fail_with(err, errlen, "%s: out of memory for a %d x %d picture", path, l.width, l.height);
    draw_axes(&cv, s, &l, &xa, &ya);
    for (int k = 0; k < s->nseries; k++) draw_series(&cv, s, &l, k);
    int rc = png_write(&cv, path, err, errlen);
    canvas_free(&cv);
    return rc;
}
