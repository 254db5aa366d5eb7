/* test_grid: image grids written as PNG decode back at the size of their layout, every pixel of a tile
 * is its image value mapped from [lo, hi] (clamped, NaN red), labels are drawn, and bad specs fail with
 * clear messages. */
#include "grid.h"
#include "png_read.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[512];

static const uint8_t *at(const uint8_t *px, int w, int x, int y) { return px + 3 * ((size_t)y * w + x); }

/* The byte a value must show as: k / 255 is exactly byte k; beyond [0, 1] clamps. */
static int expect_byte(float v) { return v <= 0 ? 0 : v >= 1 ? 255 : (int)lround(v * 255.0); }

/* Checks every pixel of tile (r, j) against image im ([c, h, w] in [0, 1]). */
static int tile_matches(const uint8_t *px, int pw, const struct grid_layout *g, int r, int j, const float *im, int c,
                        int h, int w) {
    int ok = 1;
    for (int i = 0; i < h; i++)
        for (int k = 0; k < w; k++)
            for (int dy = 0; dy < g->scale; dy++)
                for (int dx = 0; dx < g->scale; dx++) {
                    const uint8_t *p = at(px, pw, g->x0 + j * g->step_x + k * g->scale + dx,
                                          g->y0 + r * g->step_y + i * g->scale + dy);
                    for (int ch = 0; ch < 3; ch++) {
                        float v = im[(c == 3 ? ch : 0) * h * w + i * w + k];
                        int want = isnan(v) ? (ch == 0 ? 255 : 0) : expect_byte(v);
                        ok &= p[ch] == want;
                    }
                }
    return ok;
}

static void test_grey(void) {
    enum { N = 4, H = 28, W = 28, D = H * W };
    float *data = malloc(3 * N * D * sizeof *data);
    for (int i = 0; i < 3 * N * D; i++) data[i] = (float)((i * 7) % 256) / 255.0f;
    data[D + 5] = -0.5f; /* image 1 of row 0: clamped to black */
    data[D + 6] = 1.7f;  /* and to white */
    data[D + 7] = NAN;   /* red */
    struct grid_row rows[3] = {{"data", data, N}, {"negatives", data + N * D, N - 1}, {NULL, data + 2 * N * D, N}};
    struct grid_spec s = {"denoising: sigma 0.3", rows, 3, 1, H, W, 0.0f, 1.0f, 0};
    struct grid_layout g;
    char err[256] = "";
    CHECK_MSG(grid_layout(&s, &g, err, sizeof err) == 0, "%s", err);
    CHECK(g.scale == 3 && g.step_x == 3 * 28 + GRID_GAP && g.step_y == g.step_x);
    CHECK_MSG(grid_write_png(path, &s, err, sizeof err) == 0, "%s", err);
    int pw = 0, ph = 0;
    uint8_t *px = png_read_rgb(path, &pw, &ph);
    CHECK(px != NULL);
    if (!px) return;
    CHECK(pw == g.width && ph == g.height);
    CHECK(g.width >= g.x0 + N * g.step_x - GRID_GAP && g.height >= g.y0 + 3 * g.step_y - GRID_GAP);
    CHECK(tile_matches(px, pw, &g, 0, 0, data, 1, H, W));
    CHECK(tile_matches(px, pw, &g, 0, 1, data + D, 1, H, W));
    CHECK(tile_matches(px, pw, &g, 1, 2, data + (N + 2) * D, 1, H, W));
    CHECK(tile_matches(px, pw, &g, 2, 3, data + (2 * N + 3) * D, 1, H, W));
    const uint8_t *p = at(px, pw, g.x0 + g.step_x + 6 * 3, g.y0);
    CHECK(p[0] == 255 && p[1] == 255 && p[2] == 255);
    p = at(px, pw, g.x0 + g.step_x + 7 * 3, g.y0);
    CHECK(p[0] == 255 && p[1] == 0 && p[2] == 0);
    /* Row 1 has one image fewer: its last place stays background (white). */
    p = at(px, pw, g.x0 + 3 * g.step_x + 40, g.y0 + g.step_y + 40);
    CHECK(p[0] == 255 && p[1] == 255 && p[2] == 255);
    /* Labels: dark pixels left of rows 0 and 1, none left of the unlabelled row 2, and a title on top. */
    int dark[3] = {0, 0, 0}, title = 0;
    for (int r = 0; r < 3; r++)
        for (int y = g.y0 + r * g.step_y; y < g.y0 + r * g.step_y + g.step_y - GRID_GAP; y++)
            for (int x = 0; x < g.x0; x++) dark[r] += at(px, pw, x, y)[0] < 100;
    for (int y = 0; y < g.y0; y++)
        for (int x = 0; x < pw; x++) title += at(px, pw, x, y)[0] < 100;
    CHECK(dark[0] > 20 && dark[1] > 20 && dark[2] == 0 && title > 50);
    free(px);
    free(data);
}

static void test_rgb(void) {
    enum { N = 2, H = 32, W = 20, D = 3 * H * W };
    float data[N * D];
    for (int i = 0; i < N * D; i++) data[i] = (float)((i * 13) % 256) / 255.0f;
    struct grid_row row = {"samples from held-out", data, N};
    struct grid_spec s = {NULL, &row, 1, 3, H, W, 0.0f, 1.0f, 0};
    struct grid_layout g;
    char err[256] = "";
    CHECK(grid_layout(&s, &g, err, sizeof err) == 0 && g.scale == 2 && g.y0 == 8); /* no title: no band */
    CHECK_MSG(grid_write_png(path, &s, err, sizeof err) == 0, "%s", err);
    int pw = 0, ph = 0;
    uint8_t *px = png_read_rgb(path, &pw, &ph);
    CHECK(px && pw == g.width && ph == g.height);
    if (px) CHECK(tile_matches(px, pw, &g, 0, 1, data + D, 3, H, W));
    free(px);

    /* [-1, 1] data, explicit scale 1: planes R = -1 (none), G = 0 (half), B = 1 (full). */
    float centered[3 * 11 * 11];
    for (int i = 0; i < 3 * 11 * 11; i++) centered[i] = (float)(i / (11 * 11)) - 1.0f;
    row = (struct grid_row){"x", centered, 1};
    s = (struct grid_spec){NULL, &row, 1, 3, 11, 11, -1.0f, 1.0f, 1};
    CHECK(grid_layout(&s, &g, err, sizeof err) == 0 && g.scale == 1);
    CHECK(grid_write_png(path, &s, err, sizeof err) == 0);
    px = png_read_rgb(path, &pw, &ph);
    CHECK(px != NULL);
    if (px) {
        const uint8_t *p = at(px, pw, g.x0 + 10, g.y0 + 10);
        CHECK_MSG(p[0] == 0 && p[1] == 128 && p[2] == 255, "%d %d %d", p[0], p[1], p[2]);
    }
    free(px);
}

static void test_errors(void) {
    float im[28 * 28] = {0};
    struct grid_row row = {"data", im, 1};
    struct grid_spec s = {NULL, &row, 1, 2, 28, 28, 0.0f, 1.0f, 0};
    struct grid_layout g;
    char err[256] = "";
    CHECK(grid_write_png(path, &s, err, sizeof err) == -1);
    CHECK_MSG(strncmp(err, path, strlen(path)) == 0 && strstr(err, "2 channels"), "%s", err);
    s.c = 1;
    s.lo = 1.0f;
    CHECK(grid_layout(&s, &g, err, sizeof err) == -1 && strstr(err, "range"));
    s.lo = 0.0f;
    s.hi = NAN;
    CHECK(grid_layout(&s, &g, err, sizeof err) == -1 && strstr(err, "range"));
    s.hi = 1.0f;
    s.scale = 65;
    CHECK(grid_layout(&s, &g, err, sizeof err) == -1 && strstr(err, "scale"));
    s.scale = 0;
    s.nrows = 0;
    CHECK(grid_layout(&s, &g, err, sizeof err) == -1 && strstr(err, "no rows"));
    s.nrows = 1;
    row.n = 1000000; /* never read: the layout refuses first */
    CHECK(grid_layout(&s, &g, err, sizeof err) == -1 && strstr(err, "more than 32768"));
    row.n = 1;
    row.images = NULL;
    CHECK(grid_layout(&s, &g, err, sizeof err) == -1 && strstr(err, "no data"));
    row.images = im;
    const char *bad = "/nonexistent-ebmc-dir/grid.png";
    CHECK(grid_write_png(bad, &s, err, sizeof err) == -1);
    CHECK_MSG(strncmp(err, bad, strlen(bad)) == 0 && strstr(err, "cannot write"), "%s", err);
}

int main(void) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/ebmc_test_grid_XXXXXX", dir);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return test_report();
    close(fd);
    test_grey();
    test_rgb();
    test_errors();
    remove(path);
    return test_report();
}
