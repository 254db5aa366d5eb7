/* test_plot: pixels drawn where they should be, PNG files that libpng reads back and that replace the
 * old file whole, clear errors, and no write outside the canvas whatever the coordinates. */
#include "plot.h"
#include "test.h"

#include <dirent.h>
#include <limits.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t *pixel(const struct canvas *c, int x, int y) {
    return c->rgb + 3 * ((size_t)y * c->w + x);
}

static int is_rgb(const struct canvas *c, int x, int y, int r, int g, int b) {
    const uint8_t *p = pixel(c, x, y);
    return p[0] == r && p[1] == g && p[2] == b;
}

static void test_canvas(void) {
    struct canvas c;
    CHECK(canvas_init(&c, 0, 5, 0, 0, 0) == -1 && c.rgb == NULL);
    CHECK(canvas_init(&c, 5, -1, 0, 0, 0) == -1 && c.rgb == NULL);
    CHECK(canvas_init(&c, INT_MAX, INT_MAX, 0, 0, 0) == -1 && c.rgb == NULL);
    CHECK(canvas_init(&c, 40000, 1, 0, 0, 0) == -1 && c.rgb == NULL);
    CHECK(canvas_init(&c, 3, 2, 10, 20, 30) == 0);
    CHECK(c.w == 3 && c.h == 2 && is_rgb(&c, 0, 0, 10, 20, 30) && is_rgb(&c, 2, 1, 10, 20, 30));
    canvas_free(&c);
    CHECK(c.rgb == NULL);
    canvas_free(&c); /* freeing twice is harmless */
}

static void test_heatmap(void) {
    struct canvas c;
    canvas_init(&c, 6, 6, 255, 255, 255);
    const float v[4] = {0, 1, 2, 3}; /* row 0 (bottom): 0 1; row 1 (top): 2 3 */
    plot_heatmap(&c, 1, 1, 4, v, 2);
    uint8_t lo[3], hi[3], two[3];
    plot_colormap(0.0, lo);
    plot_colormap(1.0, hi);
    plot_colormap(2.0 / 3.0, two);
    CHECK(lo[0] == 0x44 && lo[1] == 0x01 && lo[2] == 0x54); /* viridis' ends */
    CHECK(hi[0] == 0xfd && hi[1] == 0xe7 && hi[2] == 0x25);
    CHECK(is_rgb(&c, 1, 4, lo[0], lo[1], lo[2]));   /* bottom left: value 0 */
    CHECK(is_rgb(&c, 4, 1, hi[0], hi[1], hi[2]));   /* top right: value 3 */
    CHECK(is_rgb(&c, 2, 2, two[0], two[1], two[2])); /* top left quadrant: value 2 */
    CHECK(is_rgb(&c, 0, 0, 255, 255, 255) && is_rgb(&c, 5, 5, 255, 255, 255)); /* outside the panel */

    /* Constant and non-finite values: no division by zero, infinities saturate, NaN is grey. */
    const float w[4] = {1, 1, INFINITY, NAN};
    plot_heatmap(&c, 0, 0, 2, w, 2);
    CHECK(is_rgb(&c, 0, 0, hi[0], hi[1], hi[2]));
    CHECK(is_rgb(&c, 1, 0, 128, 128, 128));
    canvas_free(&c);
}

static void test_scatter_and_text(void) {
    struct canvas c;
    canvas_init(&c, 12, 12, 0, 0, 0);
    const float pts[] = {0.0f, 0.0f, 1.0f, 1.0f, 1.5f, 0.0f, NAN, 0.0f};
    plot_scatter(&c, 1, 1, 10, pts, 4, 1.0f, 255, 0, 0);
    CHECK(is_rgb(&c, 5, 5, 255, 0, 0) && is_rgb(&c, 6, 6, 255, 0, 0)); /* (0, 0): panel centre, 2x2 */
    CHECK(is_rgb(&c, 9, 1, 255, 0, 0) && is_rgb(&c, 10, 2, 255, 0, 0)); /* (1, 1): top right corner */
    CHECK(is_rgb(&c, 11, 6, 0, 0, 0) && is_rgb(&c, 0, 0, 0, 0, 0));    /* outside: nothing drawn */
    int red = 0;
    for (int i = 0; i < 144; i++) red += c.rgb[3 * i] == 255;
    CHECK(red == 8);
    canvas_free(&c);

    canvas_init(&c, 20, 16, 0, 0, 0);
    plot_text(&c, 0, 0, "I", 1, 9, 9, 9); /* .###. then ..#.. */
    CHECK(is_rgb(&c, 0, 0, 0, 0, 0) && is_rgb(&c, 1, 0, 9, 9, 9) && is_rgb(&c, 3, 0, 9, 9, 9));
    CHECK(is_rgb(&c, 4, 0, 0, 0, 0) && is_rgb(&c, 2, 3, 9, 9, 9) && is_rgb(&c, 1, 3, 0, 0, 0));
    plot_text(&c, 8, 0, "L", 2, 7, 7, 7); /* scaled: the L's foot is the bottom row, 10 pixels wide */
    CHECK(is_rgb(&c, 8, 0, 7, 7, 7) && is_rgb(&c, 9, 13, 7, 7, 7) && is_rgb(&c, 17, 13, 7, 7, 7));
    CHECK(is_rgb(&c, 10, 0, 0, 0, 0) && is_rgb(&c, 18, 13, 0, 0, 0));
    canvas_free(&c);
}

static void test_line(void) {
    struct canvas c;
    canvas_init(&c, 20, 12, 0, 0, 0);
    plot_line(&c, 2, 3, 15, 3, 1, 200, 0, 0); /* horizontal: exactly pixels (2..15, 3) */
    int n = 0;
    for (int i = 0; i < 20 * 12; i++) n += c.rgb[3 * i] == 200;
    CHECK(n == 14 && is_rgb(&c, 2, 3, 200, 0, 0) && is_rgb(&c, 15, 3, 200, 0, 0) && is_rgb(&c, 16, 3, 0, 0, 0));
    plot_line(&c, 0, 0, 11, 11, 1, 0, 90, 0); /* the diagonal: one pixel per column, no gaps */
    for (int k = 0; k < 12; k++) CHECK(is_rgb(&c, k, k, 0, 90, 0));
    CHECK(is_rgb(&c, 1, 0, 0, 0, 0) && is_rgb(&c, 0, 1, 0, 0, 0));
    plot_line(&c, 10, 8, 10, 8, 3, 0, 0, 70); /* a point, thick 3: the 3 x 3 block centred on it */
    CHECK(is_rgb(&c, 9, 7, 0, 0, 70) && is_rgb(&c, 11, 9, 0, 0, 70) && is_rgb(&c, 12, 8, 0, 0, 0));
    plot_line(&c, -1e300, 5, 1e300, 5, 1, 0, 0, 50); /* clipped before stepping: finishes at once */
    CHECK(is_rgb(&c, 0, 5, 0, 0, 50) && is_rgb(&c, 19, 5, 0, 0, 50));
    canvas_free(&c);
}

/* Draws everything at absurd positions into a canvas with guard bytes on both sides. */
static void test_clipping(void) {
    enum { W = 16, H = 12, GUARD = 256 };
    uint8_t *mem = malloc(W * H * 3 + 2 * GUARD);
    memset(mem, 0xAB, W * H * 3 + 2 * GUARD);
    struct canvas c = {W, H, mem + GUARD};
    float values[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float pts[2 * 64];
    for (int i = 0; i < 64; i++) {
        pts[2 * i] = (float)(i - 32) * 0.1f;
        pts[2 * i + 1] = i % 3 ? 1e30f : -(float)i * 0.05f;
    }
    pts[0] = INFINITY;
    const int pos[][2] = {{-1000, -1000}, {-5, 3}, {10, -4}, {14, 10}, {INT_MAX - 3, INT_MAX - 3},
                          {INT_MIN, INT_MIN}, {INT_MIN, 5}, {5, INT_MAX}};
    const int sizes[] = {1, 2, 7, 50, 5000, INT_MAX};
    for (size_t p = 0; p < sizeof pos / sizeof *pos; p++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int x = pos[p][0], y = pos[p][1], size = sizes[s];
            plot_heatmap(&c, x, y, size, values, 3);
            plot_scatter(&c, x, y, size, pts, 64, 3.0f, 1, 2, 3);
            plot_text(&c, x, y, "Hello, world!\n\tmore~", (int)s, 4, 5, 6);
            plot_rect(&c, x, y, size, size, 7, 8, 9);
            plot_line(&c, x, y, (double)x + size, (double)y - size, (int)s, 1, 1, 1);
        }
    plot_line(&c, NAN, 0, 5, 5, 2, 1, 1, 1);
    plot_line(&c, 0, -INFINITY, 5, INFINITY, 2, 1, 1, 1);
    plot_text(&c, 3, 3, "\x7f\x80\xff", 4, 1, 1, 1);
    plot_rect(&c, -5, -5, INT_MAX, INT_MAX, 7, 8, 9);
    plot_rect(&c, INT_MAX, INT_MAX, INT_MAX, INT_MAX, 7, 8, 9);
    int guards_intact = 1;
    for (int i = 0; i < GUARD; i++) guards_intact &= mem[i] == 0xAB && mem[GUARD + W * H * 3 + i] == 0xAB;
    CHECK(guards_intact);
    CHECK(is_rgb(&c, 0, 0, 7, 8, 9) && is_rgb(&c, W - 1, H - 1, 7, 8, 9)); /* the last rect covered all */
    free(mem);
}

static void test_png_roundtrip(void) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/ebmc_test_plot_XXXXXX", dir);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);

    struct canvas c;
    canvas_init(&c, 37, 23, 250, 240, 230);
    for (int y = 0; y < c.h; y++)
        for (int x = 0; x < c.w; x++) {
            uint8_t *p = c.rgb + 3 * ((size_t)y * c.w + x);
            p[0] = (uint8_t)(7 * x);
            p[1] = (uint8_t)(11 * y);
            p[2] = (uint8_t)(x ^ y);
        }
    plot_text(&c, 2, 2, "ebmc", 2, 255, 255, 255);
    char err[256] = "";
    CHECK_MSG(png_write(&c, path, err, sizeof err) == 0, "%s", err);

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    CHECK(png_image_begin_read_from_file(&img, path));
    CHECK(img.width == 37 && img.height == 23);
    img.format = PNG_FORMAT_RGB;
    uint8_t *back = malloc(PNG_IMAGE_SIZE(img));
    CHECK(png_image_finish_read(&img, NULL, back, 0, NULL));
    CHECK(PNG_IMAGE_SIZE(img) == 37 * 23 * 3 && memcmp(back, c.rgb, 37 * 23 * 3) == 0);
    png_image_free(&img);
    free(back);
    canvas_free(&c);
    remove(path);
}

static void test_png_errors(void) {
    struct canvas c;
    canvas_init(&c, 8, 8, 0, 0, 0);
    char err[256] = "";
    const char *bad = "/nonexistent-ebmc-dir/sub/out.png";
    CHECK(png_write(&c, bad, err, sizeof err) == -1);
    CHECK_MSG(strncmp(err, bad, strlen(bad)) == 0 && strstr(err, "cannot write: ") != NULL, "%s", err);
    CHECK(png_write(&c, bad, NULL, 0) == -1); /* no message wanted: no crash */
    char tiny[6];
    CHECK(png_write(&c, bad, tiny, sizeof tiny) == -1 && strlen(tiny) == 5); /* truncated, terminated */

    struct canvas empty = {0, 0, NULL};
    CHECK(png_write(&empty, "/tmp/never-written.png", err, sizeof err) == -1 && strstr(err, "empty canvas"));

    /* The file is written beside the path and renamed over it, which must never replace a device or a
     * folder: those are refused, and stay what they were. */
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *special[] = {"/dev/null", "/dev/full", dir};
    for (int i = 0; i < 3; i++) {
        struct stat before, after;
        if (stat(special[i], &before) != 0) continue;
        CHECK(png_write(&c, special[i], err, sizeof err) == -1);
        CHECK_MSG(strncmp(err, special[i], strlen(special[i])) == 0 && strstr(err, "not a regular file"), "%s", err);
        CHECK(stat(special[i], &after) == 0 && after.st_mode == before.st_mode && after.st_ino == before.st_ino);
    }
    canvas_free(&c);
}

/* Writing over an existing picture replaces it whole and leaves no temporary file behind. */
static void test_png_replace(void) {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/ebmc_test_plot_dir_XXXXXX", tmp);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/picture.png", dir);
    struct canvas a, b;
    canvas_init(&a, 10, 10, 1, 2, 3);
    canvas_init(&b, 12, 7, 200, 100, 50);
    char err[256] = "";
    CHECK_MSG(png_write(&a, path, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(png_write(&b, path, err, sizeof err) == 0, "%s", err);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    CHECK(png_image_begin_read_from_file(&img, path) && img.width == 12 && img.height == 7);
    png_image_free(&img);
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(entries == 1); /* picture.png alone */
    remove(path);
    rmdir(dir);
    canvas_free(&a);
    canvas_free(&b);
}

int main(void) {
    test_canvas();
    test_heatmap();
    test_scatter_and_text();
    test_line();
    test_clipping();
    test_png_roundtrip();
    test_png_errors();
    test_png_replace();
    return test_report();
}
