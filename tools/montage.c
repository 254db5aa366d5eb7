/* montage.c: tiles panels cropped out of runs' density.png files into one labelled grid (the 2-D
 * experiment suite's results/2d/densities.png, like the paper's Figure 2).
 *
 *   ebmc-montage OUT.png --cols "data,cd,sr-cd,..." [--scale 2] [--title TEXT]
 *                --row LABEL CELL CELL ... [--row LABEL CELL ...]
 *
 * A CELL is L:PATH (the left panel of a density.png: the held-out data histogram), R:PATH (the right
 * panel: the model density exp(-E) normalized on the grid), or "-" (an empty grey cell, e.g. a run that
 * is missing). Panels are cropped from the layout train.c writes (panel 384 px, pad 24, title 28) and
 * shrunk by --scale (box average). Reads PNGs with libpng, draws labels with plot_text. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

#define PANEL 384
#define PAD 24
#define TITLE 28
#define MAX_COLS 16
#define MAX_ROWS 32

struct image {
    int w, h;
    unsigned char *rgb;
};

static int read_png(const char *path, struct image *im) {
    memset(im, 0, sizeof *im);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    png_bytep *volatile rows = NULL; /* assigned after setjmp, freed after longjmp */
    if (!p || !info) {
        png_destroy_read_struct(&p, &info, NULL);
        fclose(f);
        return -1;
    }
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        free(rows);
        free(im->rgb);
        im->rgb = NULL;
        fclose(f);
        return -1;
    }
    png_init_io(p, f);
    png_read_info(p, info);
    png_set_expand(p);
    png_set_strip_16(p);
    png_set_strip_alpha(p);
    png_set_gray_to_rgb(p);
    png_read_update_info(p, info);
    im->w = (int)png_get_image_width(p, info);
    im->h = (int)png_get_image_height(p, info);
    if (png_get_rowbytes(p, info) != (size_t)im->w * 3) longjmp(png_jmpbuf(p), 1);
    im->rgb = malloc((size_t)im->w * im->h * 3);
    rows = malloc(sizeof *rows * (size_t)im->h);
    if (!im->rgb || !rows) longjmp(png_jmpbuf(p), 1);
    for (int y = 0; y < im->h; y++) rows[y] = im->rgb + (size_t)y * im->w * 3;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    fclose(f);
    return 0;
}

/* Copies the panel at (sx, sy) of side PANEL from im into the canvas at (dx, dy), shrunk by scale. */
static void blit_panel(struct canvas *cv, int dx, int dy, const struct image *im, int sx, int sy, int scale) {
    int side = PANEL / scale;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            unsigned sum[3] = {0, 0, 0}, n = 0;
            for (int v = 0; v < scale; v++)
                for (int u = 0; u < scale; u++) {
                    int px = sx + x * scale + u, py = sy + y * scale + v;
                    if (px < 0 || py < 0 || px >= im->w || py >= im->h) continue;
                    const unsigned char *s = im->rgb + ((size_t)py * im->w + px) * 3;
                    sum[0] += s[0], sum[1] += s[1], sum[2] += s[2], n++;
                }
            if (!n) continue;
            unsigned char *d = cv->rgb + ((size_t)(dy + y) * cv->w + dx + x) * 3;
            for (int k = 0; k < 3; k++) d[k] = (unsigned char)(sum[k] / n);
        }
}

static int usage(void) {
    fprintf(stderr, "usage: ebmc-montage OUT.png --cols \"a,b,...\" [--scale S] [--title TEXT]\n"
                    "                    --row LABEL CELL... [--row LABEL CELL...]\n"
                    "CELL: L:density.png (data panel) | R:density.png (model panel) | - (empty)\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') return usage();
    const char *out = argv[1], *title = NULL;
    char *cols[MAX_COLS];
    int ncols = 0, nrows = 0, scale = 2;
    const char *row_label[MAX_ROWS];
    const char *cells[MAX_ROWS][MAX_COLS];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--cols") && i + 1 < argc) {
            char *s = strdup(argv[++i]);
            for (char *tok = strtok(s, ","); tok && ncols < MAX_COLS; tok = strtok(NULL, ",")) cols[ncols++] = tok;
        } else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
            scale = atoi(argv[++i]);
            if (scale < 1 || scale > 8) return usage();
        } else if (!strcmp(argv[i], "--title") && i + 1 < argc) {
            title = argv[++i];
        } else if (!strcmp(argv[i], "--row") && i + 1 < argc) {
            if (!ncols || nrows >= MAX_ROWS) return usage();
            row_label[nrows] = argv[++i];
            for (int c = 0; c < ncols; c++) {
                if (i + 1 >= argc || !strcmp(argv[i + 1], "--row")) {
                    fprintf(stderr, "ebmc-montage: row %s has fewer than %d cells\n", row_label[nrows], ncols);
                    return 2;
                }
                cells[nrows][c] = argv[++i];
            }
            nrows++;
        } else {
            return usage();
        }
    }
    if (!ncols || !nrows) return usage();

    int side = PANEL / scale, gap = 6, label_w = 0, head = title ? 44 : 24;
    for (int r = 0; r < nrows; r++) {
        int w = (int)strlen(row_label[r]) * 12 + 16;
        if (w > label_w) label_w = w;
    }
    struct canvas cv;
    if (canvas_init(&cv, label_w + ncols * (side + gap) + gap, head + nrows * (side + gap) + gap, 255, 255, 255)) {
        fprintf(stderr, "ebmc-montage: canvas too large or out of memory\n");
        return 1;
    }
    if (title) plot_text(&cv, 8, 6, title, 2, 0, 0, 0);
    for (int c = 0; c < ncols; c++) {
        int x = label_w + c * (side + gap);
        int tw = (int)strlen(cols[c]) * 12;
        plot_text(&cv, x + (side - tw) / 2, head - 20, cols[c], 2, 0, 0, 0);
    }
    int missing = 0;
    for (int r = 0; r < nrows; r++) {
        int y = head + r * (side + gap);
        plot_text(&cv, 6, y + side / 2 - 7, row_label[r], 2, 0, 0, 0);
        for (int c = 0; c < ncols; c++) {
            int x = label_w + c * (side + gap);
            const char *cell = cells[r][c];
            struct image im;
            if ((cell[0] == 'L' || cell[0] == 'R') && cell[1] == ':' && read_png(cell + 2, &im) == 0) {
                int sx = cell[0] == 'L' ? PAD : 2 * PAD + PANEL;
                blit_panel(&cv, x, y, &im, sx, TITLE, scale);
                free(im.rgb);
            } else {
                if (strcmp(cell, "-")) {
                    fprintf(stderr, "ebmc-montage: cannot read %s\n", cell);
                    missing++;
                }
                plot_rect(&cv, x, y, side, side, 200, 200, 200);
                plot_text(&cv, x + side / 2 - 21, y + side / 2 - 7, "n/a", 2, 90, 90, 90);
            }
        }
    }
    char err[512];
    if (png_write(&cv, out, err, sizeof err)) {
        fprintf(stderr, "ebmc-montage: %s\n", err);
        canvas_free(&cv);
        return 1;
    }
    canvas_free(&cv);
    return missing ? 3 : 0;
}
