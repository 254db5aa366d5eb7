/* test_image_oracle: SSIM and the Gaussian filter against tests/runtime/image_oracle.py, an independent
 * numpy implementation (explicit windows and numpy's padding instead of separable passes and mirrored
 * indices). Exits 77, which CTest reports as skipped, when /usr/bin/python3 or its numpy is missing. */
#include "denoise.h"
#include "rng.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"
#define ORACLE EBMC_SOURCE_DIR "/tests/runtime/image_oracle.py"
#define SKIP 77

static char dir[256];

static void write_f32(const char *path, const float *x, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(x, sizeof *x, n, f) == n);
    if (f) fclose(f);
}

/* Runs the oracle with the arguments in cmd; returns its exit status, its stdout in out. */
static int run_oracle(const char *args, char *out, size_t outlen) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s %s", PYTHON, ORACLE, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t k = fread(out, 1, outlen - 1, p);
    out[k] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Random image pairs of one shape: x uniform, y = x plus noise (correlated, as restored and clean are). */
static void make_pair(float *x, float *y, size_t count, double lo, double hi, uint64_t seed) {
    for (size_t i = 0; i < count; i++) {
        x[i] = (float)(lo + (hi - lo) * rng_uniform(seed, 1, i));
        y[i] = (float)(x[i] + 0.15 * (hi - lo) * rng_normal(seed, 2, i));
    }
}

/* Returns SKIP if the oracle cannot run. */
static int check_ssim(int n, int c, int h, int w, double lo, double hi) {
    size_t count = image_values((size_t)n, c, h, w), one = image_values(1, c, h, w);
    float *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y);
    make_pair(x, y, count, lo, hi, (uint64_t)(n * 1000 + h * 10 + w));
    char px[300], py[300], args[800], out[4096];
    snprintf(px, sizeof px, "%s/x.f32", dir);
    snprintf(py, sizeof py, "%s/y.f32", dir);
    write_f32(px, x, count);
    write_f32(py, y, count);
    snprintf(args, sizeof args, "ssim %d %d %d %d %.17g %s %s", n, c, h, w, hi - lo, px, py);
    int rc = run_oracle(args, out, sizeof out);
    if (rc == 0) {
        char *s = out;
        for (int i = 0; i < n; i++) {
            char *end;
            double want = strtod(s, &end);
            CHECK_MSG(end != s, "oracle printed %s", out);
            s = end;
            double got = image_ssim(x + i * one, y + i * one, c, h, w, hi - lo);
            CHECK_MSG(fabs(got - want) < 1e-9, "[%d, %d, %d] image %d: %.12f vs numpy %.12f", c, h, w, i, got, want);
        }
    } else
        CHECK_MSG(rc == SKIP, "the oracle failed with status %d", rc);
    remove(px);
    remove(py);
    free(x);
    free(y);
    return rc == SKIP ? SKIP : 0;
}

static void check_blur(int n, int c, int h, int w, double sigma) {
    size_t count = image_values((size_t)n, c, h, w);
    float *x = malloc(count * sizeof *x), *got = malloc(count * sizeof *got);
    double *want = malloc(count * sizeof *want);
    for (size_t i = 0; i < count; i++) x[i] = (float)rng_uniform(11, (uint64_t)h * w, i);
    char px[300], pw[300], args[800], out[256], err[128] = "";
    snprintf(px, sizeof px, "%s/x.f32", dir);
    snprintf(pw, sizeof pw, "%s/want.f64", dir);
    write_f32(px, x, count);
    snprintf(args, sizeof args, "blur %d %d %d %d %.17g %s %s", n, c, h, w, sigma, px, pw);
    int rc = run_oracle(args, out, sizeof out);
    CHECK_MSG(rc == 0, "the oracle failed with status %d", rc);
    FILE *f = fopen(pw, "rb");
    CHECK(f && fread(want, sizeof *want, count, f) == count);
    if (f) fclose(f);
    CHECK_MSG(denoise_blur(got, x, (size_t)n, c, h, w, sigma, err, sizeof err) == 0, "%s", err);
    double worst = 0;
    for (size_t i = 0; i < count; i++) worst = fmax(worst, fabs(got[i] - want[i]));
    CHECK_MSG(worst < 1e-6, "[%d, %d, %d] sigma %g: off by %g", c, h, w, sigma, worst);
    remove(px);
    remove(pw);
    free(x);
    free(got);
    free(want);
}

int main(void) {
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "skipped: no %s\n", PYTHON);
        return SKIP;
    }
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/ebmc_test_image_XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "cannot make a temporary folder in %s\n", tmp);
        return 1;
    }
    if (check_ssim(1, 1, 11, 11, 0.0, 1.0) == SKIP) { /* a single window */
        fprintf(stderr, "skipped: numpy is missing for %s\n", PYTHON);
        rmdir(dir);
        return SKIP;
    }
    check_ssim(3, 1, 28, 28, 0.0, 1.0);  /* MNIST's shape */
    check_ssim(2, 3, 16, 23, -1.0, 1.0); /* colour, not square, range 2 */
    check_ssim(1, 3, 32, 32, 0.0, 1.0);  /* CIFAR's shape */
    check_blur(2, 1, 28, 28, 1.0);
    check_blur(1, 3, 9, 14, 0.6);
    check_blur(1, 2, 5, 3, 2.0); /* taps beyond the image: mirrored more than once */
    check_blur(1, 1, 1, 7, 12.0);
    rmdir(dir);
    return test_report();
}
