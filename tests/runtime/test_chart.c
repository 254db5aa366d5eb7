/* test_chart: line charts decode at their size, every point's marker sits where chart.h's layout says
 * (linear and log x), the axes end on round values, NaN breaks a line, and bad specs fail clearly. */
#include "chart.h"
#include "png_read.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[512];

static int has_color(const uint8_t *px, int w, int x, int y, int k) {
    uint8_t c[3];
    chart_color(k, c);
    const uint8_t *p = px + 3 * ((size_t)y * w + x);
    return p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
}

/* The pixel of data point (x, y), by chart.h's formula. */
static void where(const struct chart_layout *l, int log_x, double x, double y, int *px, int *py) {
    double X = log_x ? log10(x) : x;
    *px = (int)lround(l->left + (X - l->x_lo) / (l->x_hi - l->x_lo) * (l->right - l->left));
    *py = (int)lround(l->bottom - (y - l->y_lo) / (l->y_hi - l->y_lo) * (l->bottom - l->top));
}

static uint8_t *write_and_read(const struct chart_spec *s, struct chart_layout *l) {
    char err[256] = "";
    CHECK_MSG(chart_layout(s, l, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(chart_write_png(path, s, err, sizeof err) == 0, "%s", err);
    int w = 0, h = 0;
    uint8_t *px = png_read_rgb(path, &w, &h);
    CHECK(px != NULL && w == l->width && h == l->height);
    return px;
}

static void test_linear(void) {
    const double x[4] = {0, 1000, 2000, 4000}, ya[4] = {10, 14, 17, 18}, yb[4] = {9, 11, 12, 12.5};
    struct chart_series ser[2] = {{"dcd-ve", x, ya, 4}, {"cd", x, yb, 4}};
    struct chart_spec s = {"held-out PSNR", "gradient evaluations", "PSNR (dB)", ser, 2, 0, 0, 0, 0};
    struct chart_layout l;
    uint8_t *px = write_and_read(&s, &l);
    CHECK(l.width == 800 && l.height == 500);
    CHECK(l.x_lo == 0 && l.x_hi == 4000); /* steps of 1000 */
    CHECK(l.y_lo == 8 && l.y_hi == 18);   /* [9, 18]: steps of 2 */
    CHECK(l.left > 16 && l.right < 800 - 16 && l.top > 16 && l.bottom < 500 - 16);
    if (!px) return;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++) {
            int qx, qy;
            where(&l, 0, x[i], ser[k].y[i], &qx, &qy);
            CHECK_MSG(has_color(px, l.width, qx, qy, k), "series %d point %d at (%d, %d)", k, i, qx, qy);
        }
    /* The legend, right of the plot area, shows both colours. */
    int legend[2] = {0, 0};
    for (int y = 0; y < l.height; y++)
        for (int x2 = l.right + 2; x2 < l.width; x2++)
            for (int k = 0; k < 2; k++) legend[k] += has_color(px, l.width, x2, y, k);
    CHECK(legend[0] > 20 && legend[1] > 20);
    free(px);
}

static void test_log_x(void) {
    const double xa[2] = {1, 10}, xb[2] = {10, 100}, ya[2] = {0.2, 0.2}, yb[2] = {0.7, 0.7};
    const double xc[3] = {-5, 0, 1000}, yc[3] = {0.5, 0.5, 0.5}; /* x <= 0: not drawn on a log axis */
    struct chart_series ser[3] = {{"a", xa, ya, 2}, {"b", xb, yb, 2}, {"c", xc, yc, 3}};
    struct chart_spec s = {NULL, "gradient evaluations", NULL, ser, 3, 1, 640, 400, 0};
    struct chart_layout l;
    uint8_t *px = write_and_read(&s, &l);
    CHECK(l.width == 640 && l.height == 400);
    CHECK(l.x_lo == 0 && l.x_hi == 3); /* 1 to 1000: three decades */
    if (!px) return;
    int a0, a1, b0, b1, y;
    where(&l, 1, 1, 0.2, &a0, &y);
    CHECK(has_color(px, l.width, a0, y, 0));
    where(&l, 1, 10, 0.2, &a1, &y);
    CHECK(has_color(px, l.width, a1, y, 0));
    where(&l, 1, 10, 0.7, &b0, &y);
    CHECK(has_color(px, l.width, b0, y, 1));
    where(&l, 1, 100, 0.7, &b1, &y);
    CHECK(has_color(px, l.width, b1, y, 1));
    CHECK(abs((a1 - a0) - (b1 - b0)) <= 1 && a1 - a0 > 100); /* each decade equally wide */
    where(&l, 1, 1000, 0.5, &a0, &y);
    CHECK(has_color(px, l.width, a0, y, 2)); /* c's one drawable point */
    int c_pixels = 0;
    for (int x = l.left + 1; x < l.right; x++) c_pixels += has_color(px, l.width, x, y, 2);
    CHECK(c_pixels <= 5); /* only its marker: no line to the undrawable points */
    free(px);
}

/* y on a log axis: 10 and 1000 two decades apart, 1e4 the top decade; y <= 0 is not drawn */
static void test_log_y(void) {
    const double x[4] = {0, 1, 2, 3}, ya[4] = {10, 100, 1000, 10000}, yb[4] = {-1, 0, 100, 100};
    struct chart_series ser[2] = {{"a", x, ya, 4}, {"b", x, yb, 4}};
    struct chart_spec s = {NULL, NULL, "FCD", ser, 2, 0, 640, 400, 1};
    struct chart_layout l;
    uint8_t *px = write_and_read(&s, &l);
    CHECK(l.y_lo == 1 && l.y_hi == 4); /* 10 to 10^4: three decades */
    if (!px) return;
    int x0, y0, x1, y1, x2, y2;
    where(&l, 0, 0, 1, &x0, &y0); /* log10 10 */
    where(&l, 0, 1, 2, &x1, &y1);
    where(&l, 0, 2, 3, &x2, &y2);
    CHECK(has_color(px, l.width, x0, y0, 0) && has_color(px, l.width, x2, y2, 0));
    CHECK(abs((y0 - y1) - (y1 - y2)) <= 1 && y0 - y1 > 50); /* each decade equally tall */
    where(&l, 0, 2, 2, &x2, &y2);
    CHECK(has_color(px, l.width, x2, y2, 1)); /* b's drawable points, at 100 */
    free(px);
}

static void test_gap(void) {
    const double x[3] = {0, 1, 2}, y[3] = {0, NAN, 0}, y2[3] = {0, 0, 0};
    struct chart_series ser = {"broken", x, y, 3};
    struct chart_spec s = {NULL, NULL, NULL, &ser, 1, 0, 0, 0, 0};
    struct chart_layout l;
    uint8_t *px = write_and_read(&s, &l);
    int mx, my;
    where(&l, 0, 0.5, 0, &mx, &my);
    if (px) CHECK(!has_color(px, l.width, mx, my, 0));
    free(px);
    ser.y = y2; /* the same line unbroken passes there */
    px = write_and_read(&s, &l);
    where(&l, 0, 0.5, 0, &mx, &my);
    if (px) CHECK(has_color(px, l.width, mx, my, 0));
    free(px);
}

static void test_errors(void) {
    char err[256] = "";
    struct chart_layout l;
    const double x[1] = {1};
    struct chart_series ser = {"a", x, x, 1};
    struct chart_spec s = {NULL, NULL, NULL, &ser, 0, 0, 0, 0, 0};
    CHECK(chart_write_png(path, &s, err, sizeof err) == -1);
    CHECK_MSG(strncmp(err, path, strlen(path)) == 0 && strstr(err, "no series"), "%s", err);
    s.nseries = 1;
    s.width = 100;
    CHECK(chart_layout(&s, &l, err, sizeof err) == -1 && strstr(err, "200..4096"));
    s.width = 0;
    ser.x = NULL;
    CHECK(chart_layout(&s, &l, err, sizeof err) == -1 && strstr(err, "no arrays"));
    ser.x = x;
    char long_name[400];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    ser.name = long_name;
    CHECK(chart_layout(&s, &l, err, sizeof err) == -1 && strstr(err, "too small"));
    ser.name = "a";
    ser.n = 0; /* nothing to draw yet: still a chart, spanning [0, 1] */
    CHECK(chart_layout(&s, &l, err, sizeof err) == 0 && l.x_lo == 0 && l.x_hi == 1 && l.y_hi == 1);
    ser.n = 1; /* one point: a span around it */
    CHECK(chart_layout(&s, &l, err, sizeof err) == 0 && l.x_lo < 1 && l.x_hi > 1);
    const char *bad = "/nonexistent-ebmc-dir/chart.png";
    CHECK(chart_write_png(bad, &s, err, sizeof err) == -1);
    CHECK_MSG(strncmp(err, bad, strlen(bad)) == 0 && strstr(err, "cannot write"), "%s", err);
    uint8_t c0[3], c8[3], c1[3];
    chart_color(0, c0);
    chart_color(8, c8);
    chart_color(1, c1);
    CHECK(memcmp(c0, c8, 3) == 0 && memcmp(c0, c1, 3) != 0);
}

int main(void) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/ebmc_test_chart_XXXXXX", dir);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return test_report();
    close(fd);
    test_linear();
    test_log_x();
    test_log_y();
    test_gap();
    test_errors();
    remove(path);
    return test_report();
}
