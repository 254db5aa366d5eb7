/* compare_runs: the parameters of two run folders, element by element. Used by parallel.sh to compare a
 * data-parallel run with one process (to float rounding) and two runs of the same job (bitwise).
 *
 *     compare_runs RUN_A RUN_B TOL    every |a - b| <= TOL (1 + |b|); TOL 0: bitwise, moments too
 *
 * Prints the largest difference; exits 0 when within TOL, 1 otherwise or on an error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"

static struct ebmc_model *open_run(const char *dir) {
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/model.ckpt", dir);
    struct ebmc_model *m = ebmc_load_run(dir, stderr);
    if (m && (ebmc_compile(m, stderr) != 0 || ebmc_restore(m, ckpt, stderr) != 0)) {
        ebmc_free(m);
        return NULL;
    }
    return m;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: compare_runs RUN_A RUN_B TOL\n");
        return 1;
    }
    double tol = atof(argv[3]), worst = 0;
    struct ebmc_model *a = open_run(argv[1]), *b = open_run(argv[2]);
    int rc = !a || !b || ebmc_n_params(a) != ebmc_n_params(b);
    const char *where = "";
    for (int i = 0; !rc && i < ebmc_n_params(a); i++) {
        int64_t n = ebmc_param_numel(a, i);
        if (n != ebmc_param_numel(b, i)) rc = 1;
        for (int which = 0; !rc && which < (tol == 0 ? 3 : 1); which++) {
            const float *x = which ? ebmc_param_moment(a, i, which) : ebmc_param_data(a, i);
            const float *y = which ? ebmc_param_moment(b, i, which) : ebmc_param_data(b, i);
            if (tol == 0 && memcmp(x, y, sizeof(float) * (size_t)n) != 0) {
                printf("%s: %s differs\n", ebmc_param_name(a, i), which ? "an Adam moment" : "the value");
                rc = 1;
            }
            for (int64_t k = 0; k < n; k++) {
                double d = fabs((double)x[k] - y[k]) / (1 + fabs((double)y[k]));
                if (d > worst || !(d == d)) worst = d, where = ebmc_param_name(a, i);
            }
        }
    }
    if (a && b) printf("largest difference |a - b| / (1 + |b|): %.3g (%s)\n", worst, where);
    if (!rc && (worst > tol || worst != worst)) rc = 1;
    ebmc_free(a), ebmc_free(b);
    return rc;
}
