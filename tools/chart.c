/* ebmc-chart: draws CSV series as a line chart PNG (runtime/report/chart.h), for the experiment
 * scripts' "quality against gradient evaluations" figures.
 *
 *   ebmc-chart OUT.png --title T --x XLABEL --y YLABEL [--log-x] [--log-y] NAME=FILE.csv [NAME=FILE.csv ...]
 *
 * Each FILE.csv holds "x,y" rows (a first line that is not two numbers is a header and skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "support.h"

enum { MAX_SERIES = 16, MAX_POINTS = 100000 };

static int read_series(const char *path, double **x, double **y, int *n) {
    char err[4400];
    char *text = file_read_all(path, 64u << 20, NULL, err, sizeof err);
    if (!text) {
        fprintf(stderr, "ebmc-chart: %s\n", err);
        return -1;
    }
    *x = malloc(sizeof(double) * MAX_POINTS), *y = malloc(sizeof(double) * MAX_POINTS), *n = 0;
    int line_no = 0;
    for (char *line = text, *next; *x && *y && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        char *end, *end2;
        double a = strtod(line, &end);
        if (end == line || *end != ',') {
            if (line_no == 1) continue; /* header */
            fprintf(stderr, "ebmc-chart: %s:%d: expected 'x,y'\n", path, line_no);
            free(text);
            return -1;
        }
        double b = strtod(end + 1, &end2);
        if (end2 == end + 1 || *n == MAX_POINTS) {
            fprintf(stderr, "ebmc-chart: %s:%d: expected 'x,y' (at most %d rows)\n", path, line_no, MAX_POINTS);
            free(text);
            return -1;
        }
        (*x)[*n] = a, (*y)[*n] = b, (*n)++;
    }
    free(text);
    return *x && *y ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *out = NULL, *title = NULL, *xl = NULL, *yl = NULL;
    struct chart_series series[MAX_SERIES];
    int ns = 0, log_x = 0, log_y = 0, rc = 1;
    for (int i = 1; i < argc; i++) {
        const char **flag = strcmp(argv[i], "--title") == 0 ? &title
                            : strcmp(argv[i], "--x") == 0   ? &xl
                            : strcmp(argv[i], "--y") == 0   ? &yl
                                                            : NULL;
        if (flag && i + 1 < argc) *flag = argv[++i];
        else if (strcmp(argv[i], "--log-x") == 0) log_x = 1;
        else if (strcmp(argv[i], "--log-y") == 0) log_y = 1;
        else if (!out && !strchr(argv[i], '=')) out = argv[i];
        else if (strchr(argv[i], '=') && ns < MAX_SERIES) {
            char *eq = strchr(argv[i], '=');
            *eq = 0;
            double *x, *y;
            int n;
            if (read_series(eq + 1, &x, &y, &n) != 0) return 1;
            series[ns++] = (struct chart_series){argv[i], x, y, n};
        } else {
            fprintf(stderr, "usage: ebmc-chart OUT.png [--title T] [--x LABEL] [--y LABEL] [--log-x] [--log-y] NAME=FILE.csv ...\n");
            return 2;
        }
    }
    if (!out || ns == 0) {
        fprintf(stderr, "usage: ebmc-chart OUT.png [--title T] [--x LABEL] [--y LABEL] [--log-x] [--log-y] NAME=FILE.csv ...\n");
        return 2;
    }
    struct chart_spec spec = {title, xl, yl, series, ns, log_x, 0, 0, log_y};
    char err[4400];
    if (chart_write_png(out, &spec, err, sizeof err) != 0) fprintf(stderr, "ebmc-chart: %s\n", err);
    else rc = 0;
    for (int k = 0; k < ns; k++) free((void *)series[k].x), free((void *)series[k].y);
    return rc;
}
