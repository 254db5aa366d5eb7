/* test_image: PSNR, SSIM and their summaries against closed forms. (The numpy oracle for SSIM on random
 * images is test_image_oracle.) */
#include "image.h"
#include "rng.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float *alloc_images(size_t count) { return calloc(count, sizeof(float)); }

static void test_values(void) {
    CHECK(image_values(1, 3, 28, 28) == 3 * 28 * 28 && image_values(10, 1, 2, 3) == 60);
    CHECK(image_values(0, 1, 2, 3) == 0);
    CHECK(image_values(1, 0, 28, 28) == 0 && image_values(1, 1, -1, 28) == 0);
    CHECK(image_values(1, INT32_MAX, INT32_MAX, INT32_MAX) == 0);
    CHECK(image_values(SIZE_MAX / 4, 1, 2, 3) == 0);
}

/* ref + delta or ref - delta at every value: MSE = delta^2, so PSNR = 20 log10(R / delta). */
static void test_psnr(void) {
    enum { C = 3, H = 7, W = 5, N = C * H * W };
    float ref[N], x[N];
    for (int i = 0; i < N; i++) {
        ref[i] = (float)floor(rng_uniform(1, 1, i) * 512) / 1024; /* so ref +- 1/8 is exact */
        x[i] = ref[i] + (rng_uniform(1, 2, i) < 0.5 ? -0.125f : 0.125f); /* exact in float */
    }
    CHECK_CLOSE(image_psnr(x, ref, C, H, W, 1.0), 20.0 * log10(1.0 / 0.125), 1e-12, 0);
    CHECK_CLOSE(image_psnr(x, ref, C, H, W, 2.0), 20.0 * log10(2.0 / 0.125), 1e-12, 0);
    CHECK_CLOSE(image_psnr(ref, x, C, H, W, 1.0), image_psnr(x, ref, C, H, W, 1.0), 0, 0);
    CHECK(isinf(image_psnr(ref, ref, C, H, W, 1.0)) && image_psnr(ref, ref, C, H, W, 1.0) > 0);
    CHECK(isnan(image_psnr(x, ref, C, H, W, 0.0)) && isnan(image_psnr(x, ref, 0, H, W, 1.0)));
    x[4] = NAN;
    CHECK(isnan(image_psnr(x, ref, C, H, W, 1.0)));
}

/* Constant images a and b: every variance and covariance is 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1). */
static double ssim_constants(double a, double b, double range) {
    double c1 = (0.01 * range) * (0.01 * range);
    return (2 * a * b + c1) / (a * a + b * b + c1);
}

static void test_ssim(void) {
    enum { C = 2, H = 13, W = 16, N = C * H * W };
    float x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)rng_uniform(2, 1, i);
        y[i] = x[i] + 0.2f * (float)rng_normal(2, 2, i);
    }
    CHECK_CLOSE(image_ssim(x, x, C, H, W, 1.0), 1.0, 1e-12, 0);
    double s = image_ssim(x, y, C, H, W, 1.0);
    CHECK(s > 0.0 && s < 0.95);
    CHECK_CLOSE(image_ssim(y, x, C, H, W, 1.0), s, 1e-12, 0);
    /* More noise, less similar. */
    float z[N];
    for (int i = 0; i < N; i++) z[i] = x[i] + 0.5f * (float)rng_normal(2, 2, i);
    CHECK(image_ssim(x, z, C, H, W, 1.0) < s);

    /* Channel 0: constants 0.25 and 0.75; channel 1: equal. The image's SSIM is the channels' mean. */
    for (int i = 0; i < H * W; i++) {
        x[i] = 0.25f;
        y[i] = 0.75f;
        x[H * W + i] = y[H * W + i] = (float)rng_uniform(2, 3, i);
    }
    CHECK_CLOSE(image_ssim(x, y, 1, H, W, 1.0), ssim_constants(0.25, 0.75, 1.0), 1e-12, 1e-12);
    CHECK_CLOSE(image_ssim(x, y, 1, H, W, 2.0), ssim_constants(0.25, 0.75, 2.0), 1e-12, 1e-12);
    CHECK_CLOSE(image_ssim(x, y, C, H, W, 1.0), (ssim_constants(0.25, 0.75, 1.0) + 1.0) / 2, 1e-12, 1e-12);

    /* The valid convention: an 11 x 11 image has one window; a pixel outside every window never counts.
     * On a 11 x 12 image, column 0 is only in the first window, column 11 only in the second. */
    float a[11 * 12], b[11 * 12];
    for (int i = 0; i < 11 * 12; i++) a[i] = b[i] = 0.5f;
    CHECK_CLOSE(image_ssim(a, b, 1, 11, 11, 1.0), 1.0, 1e-12, 0);
    b[0] = 0.9f; /* corner of the only window (weight g0^2, tiny but not zero) */
    double one_window = image_ssim(a, b, 1, 11, 12, 1.0);
    CHECK(one_window < 1.0 && one_window > 0.5);
    CHECK(isnan(image_ssim(a, b, 1, 10, 12, 1.0)) && isnan(image_ssim(a, b, 1, 12, 10, 1.0)));
    CHECK(isnan(image_ssim(a, b, 1, 11, 12, 0.0)));
}

static void test_mean_sd(void) {
    double v[4] = {1, 2, 3, 6}, m, sd;
    image_mean_sd(v, 4, &m, &sd);
    CHECK_CLOSE(m, 3.0, 1e-15, 0);
    CHECK_CLOSE(sd, sqrt((4.0 + 1.0 + 0.0 + 9.0) / 3.0), 1e-15, 0); /* divisor n - 1 */
    image_mean_sd(v, 1, &m, &sd);
    CHECK(m == 1.0 && sd == 0.0);
    image_mean_sd(v, 0, &m, &sd);
    CHECK(isnan(m) && isnan(sd));
    double big[3] = {1e9 + 1, 1e9 + 2, 1e9 + 3}; /* two passes: exact, where E[x^2] - m^2 would not be */
    image_mean_sd(big, 3, &m, &sd);
    CHECK_CLOSE(sd, 1.0, 1e-9, 0);
}

static void test_quality(void) {
    enum { N = 3, C = 1, H = 12, W = 11, D = C * H * W };
    float *clean = alloc_images(N * D), *x = alloc_images(N * D);
    for (int i = 0; i < N * D; i++) {
        clean[i] = (float)rng_uniform(3, 1, i);
        x[i] = clean[i] + (float)((i / D + 1) * 0.0625); /* image k is off by (k + 1) / 16 */
    }
    double psnr[N], ssim[N];
    struct image_quality q;
    char err[128] = "";
    CHECK_MSG(image_quality(x, clean, N, C, H, W, 1.0, psnr, ssim, &q, err, sizeof err) == 0, "%s", err);
    double expect[N], m, sd;
    for (int k = 0; k < N; k++) {
        expect[k] = 20 * log10(1.0 / ((k + 1) * 0.0625));
        CHECK_CLOSE(psnr[k], expect[k], 1e-5, 0);
        CHECK_CLOSE(ssim[k], image_ssim(x + k * D, clean + k * D, C, H, W, 1.0), 0, 0);
    }
    image_mean_sd(expect, N, &m, &sd);
    CHECK_CLOSE(q.psnr_mean, m, 1e-5, 0);
    CHECK_CLOSE(q.psnr_sd, sd, 1e-5, 0);
    image_mean_sd(ssim, N, &m, &sd);
    CHECK(q.ssim_mean == m && q.ssim_sd == sd);
    struct image_quality q2; /* without per-image arrays: the same summary */
    CHECK(image_quality(x, clean, N, C, H, W, 1.0, NULL, NULL, &q2, err, sizeof err) == 0);
    CHECK(q2.psnr_mean == q.psnr_mean && q2.ssim_sd == q.ssim_sd);
    CHECK(image_quality(x, clean, 0, C, H, W, 1.0, NULL, NULL, &q2, err, sizeof err) == -1);
    CHECK_MSG(strcmp(err, "image quality: no images") == 0, "%s", err);
    CHECK(image_quality(x, clean, N, C, H, -W, 1.0, NULL, NULL, &q2, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "bad shape") != NULL, "%s", err);
    CHECK(image_quality(x, clean, N, C, H, W, -1.0, NULL, NULL, &q2, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "range") != NULL, "%s", err);
    free(clean);
    free(x);
}

int main(void) {
    test_values();
    test_psnr();
    test_ssim();
    test_mean_sd();
    test_quality();
    return test_report();
}
