/* chart.h: a line chart as PNG: several named series of (x, y) points, axes with tick labels, a legend,
 * optionally a log10 x axis; for "held-out quality against gradient evaluations" and the like.
 *
 * Each series is a polyline through its points in the order given, with a small square at each point,
 * in its own colour (chart_color). A point with a non-finite coordinate, or x <= 0 on a log axis, is not
 * drawn and breaks the line. The axes span the drawn points, widened to round tick values (steps of 1,
 * 2 or 5 times a power of 10; powers of 10 on a log axis). */
#ifndef EBMC_CHART_H
#define EBMC_CHART_H

#include <stddef.h>
#include <stdint.h>

struct chart_series {
    const char *name;    /* the legend's entry */
    const double *x, *y; /* n points */
    int n;
};

struct chart_spec {
    const char *title;  /* above the chart; NULL for none */
    const char *xlabel; /* below the x axis; NULL for none */
    const char *ylabel; /* above the y axis; NULL for none */
    const struct chart_series *series;
    int nseries;
    int log_x;          /* nonzero: x on a log10 scale */
    int width, height;  /* pixels; 0 for 800 x 500 */
    int log_y;          /* nonzero: y on a log10 scale */
};

/* Where the plot area lies and what it spans: a data point (x, y) is drawn at pixel
 *     px = left + (X - x_lo) / (x_hi - x_lo) (right - left),  X = x, or log10 x on a log axis
 *     py = bottom - (y - y_lo) / (y_hi - y_lo) (bottom - top)
 * (for a log axis, X or Y is log10 of the value, and x_lo, x_hi or y_lo, y_hi are log10 of the end values). */
struct chart_layout {
    int left, top, right, bottom; /* pixel bounds of the plot area */
    double x_lo, x_hi, y_lo, y_hi;
    int width, height;
};

/* Checks the spec and computes its layout. Returns 0, or -1 with the problem in err (no series, a size
 * not in 200..8192, a series with points but no arrays). A chart with no drawable point spans [0, 1]. */
int chart_layout(const struct chart_spec *s, struct chart_layout *l, char *err, size_t errlen);

/* Series i's colour (a palette of 8, repeating). */
void chart_color(int i, uint8_t rgb[3]);

/* Draws the chart and writes it as an RGB PNG. Returns 0, or -1 with "path: problem" in err. */
int chart_write_png(const char *path, const struct chart_spec *s, char *err, size_t errlen);

#endif
