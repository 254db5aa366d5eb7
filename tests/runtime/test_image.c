/* test_image: PSNR, SSIM, summaries and the Gaussian-filter denoiser against closed forms. (The numpy
 * oracle for SSIM and the filter on random images is test_image_oracle.) */
#include "image.h"
#include "rng.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static float *alloc_images(size_t count) { return calloc(count, sizeof(float)); }

static void test_values(void) {
    CHECK(image_values(1, 3, 28, 28) == 3 * 28 * 28 && image_values(10, 1, 2, 3) == 60);
    CHECK(image_values(0, 1, 2, 3) == 6); /* the size of one image, for an empty set */
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

static void test_noise(void) {
    enum { N = 20000 };
    float *clean = alloc_images(N), *y = alloc_images(N), *again = alloc_images(N);
    for (int i = 0; i < N; i++) clean[i] = (float)(i % 7) / 7.0f;
    image_add_noise(y, clean, N, 0.3, 5, 9);
    double sum = 0, ss = 0;
    for (int i = 0; i < N; i++) {
        double d = (double)y[i] - clean[i];
        sum += d;
        ss += d * d;
    }
    CHECK(fabs(sum / N) < 4 * 0.3 / sqrt(N));          /* mean 0 within 4 standard errors */
    CHECK_CLOSE(sqrt(ss / N), 0.3, 0.3 * 4 / sqrt(2.0 * N), 0); /* sd sigma within 4 standard errors */
    memcpy(again, clean, N * sizeof *again);
    image_add_noise(again, again, N, 0.3, 5, 9); /* in place: the same draw */
    CHECK(memcmp(again, y, N * sizeof *y) == 0);
    image_add_noise(again, clean, N, 0.3, 5, 10); /* another stream: another draw */
    CHECK(memcmp(again, y, N * sizeof *y) != 0);
    free(clean);
    free(y);
    free(again);
}

static void test_blur(void) {
    enum { C = 2, H = 9, W = 6, D = C * H * W };
    float x[D], out[D];
    char err[128] = "";
    /* A constant image is a fixed point of any normalized filter, whatever the mirroring. */
    for (int i = 0; i < D; i++) x[i] = 0.375f;
    const double sigmas[] = {0.5, 1, 2.5, 7, 40};
    for (size_t s = 0; s < sizeof sigmas / sizeof *sigmas; s++) {
        CHECK_MSG(image_blur(out, x, 1, C, H, W, sigmas[s], err, sizeof err) == 0, "%s", err);
        double worst = 0;
        for (int i = 0; i < D; i++) worst = fmax(worst, fabs(out[i] - 0.375));
        CHECK_MSG(worst < 1e-6, "sigma %g: off by %g", sigmas[s], worst);
    }
    /* sigma 0 copies; in place works. */
    for (int i = 0; i < D; i++) x[i] = (float)rng_uniform(4, 1, i);
    CHECK(image_blur(out, x, 1, C, H, W, 0.0, err, sizeof err) == 0 && memcmp(out, x, sizeof x) == 0);
    float inplace[D];
    memcpy(inplace, x, sizeof x);
    CHECK(image_blur(out, x, 1, C, H, W, 1.3, err, sizeof err) == 0);
    CHECK(image_blur(inplace, inplace, 1, C, H, W, 1.3, err, sizeof err) == 0);
    CHECK(memcmp(out, inplace, sizeof x) == 0);

    /* An impulse far from the borders spreads as the sampled Gaussian: out(i, j) ~ g(i) g(j), and its
     * mass is kept. sigma = 1: taps -3..3. */
    enum { S = 15 };
    float imp[S * S] = {0}, res[S * S];
    imp[7 * S + 7] = 1.0f;
    CHECK(image_blur(res, imp, 1, 1, S, S, 1.0, err, sizeof err) == 0);
    double z = 0, mass = 0;
    for (int k = -3; k <= 3; k++) z += exp(-k * k / 2.0);
    for (int i = 0; i < S * S; i++) mass += res[i];
    CHECK_CLOSE(mass, 1.0, 1e-6, 0);
    CHECK_CLOSE(res[7 * S + 7], 1.0 / (z * z), 1e-7, 0);
    CHECK_CLOSE(res[8 * S + 5], exp(-0.5) * exp(-2.0) / (z * z), 1e-7, 0);
    CHECK(res[7 * S + 11] == 0.0f && res[3 * S + 7] == 0.0f); /* beyond 3 sigma: nothing */

    /* Mirroring with the edge repeated: an impulse at the left edge of a row keeps all its mass and its
     * edge value is g(0) + g(1) (the tap at -1 reads pixel 0 again). */
    float edge[W] = {1, 0, 0, 0, 0, 0}, eres[W];
    CHECK(image_blur(eres, edge, 1, 1, 1, W, 1.0, err, sizeof err) == 0); /* H = 1: the column pass copies */
    double sum = 0;
    for (int j = 0; j < W; j++) sum += eres[j];
    CHECK_CLOSE(sum, 1.0, 1e-6, 0);
    CHECK_CLOSE(eres[0], (1.0 + exp(-0.5)) / z, 1e-7, 0);

    CHECK(image_blur(out, x, 1, C, H, W, -1.0, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "gaussian filter: sigma -1 is not in [0, 100]") != NULL, "%s", err);
    CHECK(image_blur(out, x, 1, C, H, W, NAN, err, sizeof err) == -1);
    CHECK(image_blur(out, x, 1, C, 0, W, 1.0, err, sizeof err) == -1 && strstr(err, "bad shape"));
}

/* A smooth 28 x 28 image (two low-frequency waves in [0.1, 0.9]) plus Gaussian noise. */
static void smooth_set(float *clean, float *noisy, int n, double noise, uint64_t seed) {
    for (int k = 0; k < n; k++)
        for (int i = 0; i < 28; i++)
            for (int j = 0; j < 28; j++) {
                double phase = 0.7 * k;
                clean[(k * 28 + i) * 28 + j] =
                    (float)(0.5 + 0.2 * sin(2 * PI * i / 28.0 + phase) + 0.2 * cos(2 * PI * j / 21.0 - phase));
            }
    image_add_noise(noisy, clean, (size_t)n * 28 * 28, noise, seed, 1);
}

static void test_choose(void) {
    enum { N = 4, D = 28 * 28 };
    float *clean = alloc_images(N * D), *noisy = alloc_images(N * D), *f = alloc_images(N * D);
    double psnr[IMAGE_BLUR_NSIGMAS];
    char err[128] = "";
    int chosen[3];
    const double noise[3] = {1e-4, 0.1, 0.3};
    for (int t = 0; t < 3; t++) {
        smooth_set(clean, noisy, N, noise[t], 7);
        chosen[t] = image_blur_choose(noisy, clean, N, 1, 28, 28, 1.0, image_blur_sigmas, IMAGE_BLUR_NSIGMAS,
                                      psnr, err, sizeof err);
        CHECK_MSG(chosen[t] >= 0, "%s", err);
        if (chosen[t] < 0) continue;
        for (int s = 0; s < IMAGE_BLUR_NSIGMAS; s++) CHECK(psnr[s] <= psnr[chosen[t]]);
        /* The reported PSNR is the filter's: recompute it for the chosen sigma. */
        image_blur(f, noisy, N, 1, 28, 28, image_blur_sigmas[chosen[t]], err, sizeof err);
        struct image_quality q;
        image_quality(f, clean, N, 1, 28, 28, 1.0, NULL, NULL, &q, err, sizeof err);
        CHECK_CLOSE(q.psnr_mean, psnr[chosen[t]], 1e-9, 0);
    }
    CHECK(image_blur_sigmas[chosen[0]] == 0.0); /* almost no noise: filtering only blurs */
    CHECK(image_blur_sigmas[chosen[1]] >= 0.75 && psnr[0] < psnr[chosen[1]]);
    CHECK(chosen[2] > chosen[1]); /* more noise, a wider filter */
    /* At sigma 0.3 the filter must gain several dB over the noisy input (psnr[0], sigma 0). */
    smooth_set(clean, noisy, N, 0.3, 7);
    image_blur_choose(noisy, clean, N, 1, 28, 28, 1.0, image_blur_sigmas, IMAGE_BLUR_NSIGMAS, psnr, err, sizeof err);
    CHECK_MSG(psnr[chosen[2]] > psnr[0] + 6.0, "%g vs %g dB", psnr[chosen[2]], psnr[0]);

    double bad[2] = {1.0, 300.0};
    CHECK(image_blur_choose(noisy, clean, N, 1, 28, 28, 1.0, bad, 2, NULL, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "sigma 300") != NULL, "%s", err);
    CHECK(image_blur_choose(noisy, clean, N, 1, 28, 28, 1.0, bad, 0, NULL, err, sizeof err) == -1);
    CHECK(image_blur_choose(noisy, clean, 0, 1, 28, 28, 1.0, bad, 1, NULL, err, sizeof err) == -1);
    noisy[0] = NAN; /* NaN in image 0 propagates through every filter: no PSNR to compare */
    CHECK(image_blur_choose(noisy, clean, N, 1, 28, 28, 1.0, bad, 1, NULL, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "NaN") != NULL, "%s", err);
    free(clean);
    free(noisy);
    free(f);
}

int main(void) {
    test_values();
    test_psnr();
    test_ssim();
    test_mean_sd();
    test_quality();
    test_noise();
    test_blur();
    test_choose();
    return test_report();
}
