/* test_denoise: Gaussian corruption, the Gaussian filter against closed forms (a constant is a fixed
 * point, an impulse spreads as the sampled Gaussian, the edge is mirrored) and the choice of its sigma on
 * smooth images with noise. (The numpy oracle for the filter on random images is test_image_oracle.) */
#include "denoise.h"
#include "rng.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static float *alloc_images(size_t count) { return calloc(count, sizeof(float)); }

static void test_noise(void) {
    enum { N = 20000 };
    float *clean = alloc_images(N), *y = alloc_images(N), *again = alloc_images(N);
    for (int i = 0; i < N; i++) clean[i] = (float)(i % 7) / 7.0f;
    denoise_add_noise(y, clean, N, 0.3, 5, 9);
    double sum = 0, ss = 0;
    for (int i = 0; i < N; i++) {
        double d = (double)y[i] - clean[i];
        sum += d;
        ss += d * d;
    }
    CHECK(fabs(sum / N) < 4 * 0.3 / sqrt(N));          /* mean 0 within 4 standard errors */
    CHECK_CLOSE(sqrt(ss / N), 0.3, 0.3 * 4 / sqrt(2.0 * N), 0); /* sd sigma within 4 standard errors */
    memcpy(again, clean, N * sizeof *again);
    denoise_add_noise(again, again, N, 0.3, 5, 9); /* in place: the same draw */
    CHECK(memcmp(again, y, N * sizeof *y) == 0);
    denoise_add_noise(again, clean, N, 0.3, 5, 10); /* another stream: another draw */
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
        CHECK_MSG(denoise_blur(out, x, 1, C, H, W, sigmas[s], err, sizeof err) == 0, "%s", err);
        double worst = 0;
        for (int i = 0; i < D; i++) worst = fmax(worst, fabs(out[i] - 0.375));
        CHECK_MSG(worst < 1e-6, "sigma %g: off by %g", sigmas[s], worst);
    }
    /* sigma 0 copies; in place works. */
    for (int i = 0; i < D; i++) x[i] = (float)rng_uniform(4, 1, i);
    CHECK(denoise_blur(out, x, 1, C, H, W, 0.0, err, sizeof err) == 0 && memcmp(out, x, sizeof x) == 0);
    float inplace[D];
    memcpy(inplace, x, sizeof x);
    CHECK(denoise_blur(out, x, 1, C, H, W, 1.3, err, sizeof err) == 0);
    CHECK(denoise_blur(inplace, inplace, 1, C, H, W, 1.3, err, sizeof err) == 0);
    CHECK(memcmp(out, inplace, sizeof x) == 0);

    /* An impulse far from the borders spreads as the sampled Gaussian: out(i, j) ~ g(i) g(j), and its
     * mass is kept. sigma = 1: taps -3..3. */
    enum { S = 15 };
    float imp[S * S] = {0}, res[S * S];
    imp[7 * S + 7] = 1.0f;
    CHECK(denoise_blur(res, imp, 1, 1, S, S, 1.0, err, sizeof err) == 0);
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
    CHECK(denoise_blur(eres, edge, 1, 1, 1, W, 1.0, err, sizeof err) == 0); /* H = 1: the column pass copies */
    double sum = 0;
    for (int j = 0; j < W; j++) sum += eres[j];
    CHECK_CLOSE(sum, 1.0, 1e-6, 0);
    CHECK_CLOSE(eres[0], (1.0 + exp(-0.5)) / z, 1e-7, 0);

    CHECK(denoise_blur(out, x, 1, C, H, W, -1.0, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "gaussian filter: sigma -1 is not in [0, 100]") != NULL, "%s", err);
    CHECK(denoise_blur(out, x, 1, C, H, W, NAN, err, sizeof err) == -1);
    CHECK(denoise_blur(out, x, 1, C, 0, W, 1.0, err, sizeof err) == -1 && strstr(err, "bad shape"));
    CHECK(denoise_blur(out, x, 0, C, H, W, 1.0, err, sizeof err) == -1 && strstr(err, "bad shape 0 x"));
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
    denoise_add_noise(noisy, clean, (size_t)n * 28 * 28, noise, seed, 1);
}

static void test_choose(void) {
    enum { N = 4, D = 28 * 28 };
    float *clean = alloc_images(N * D), *noisy = alloc_images(N * D), *f = alloc_images(N * D);
    double psnr[DENOISE_NSIGMAS];
    char err[128] = "";
    int chosen[3];
    const double noise[3] = {1e-4, 0.1, 0.3};
    for (int t = 0; t < 3; t++) {
        smooth_set(clean, noisy, N, noise[t], 7);
        chosen[t] = denoise_choose_sigma(noisy, clean, N, 1, 28, 28, 1.0, denoise_sigmas, DENOISE_NSIGMAS,
                                      psnr, err, sizeof err);
        CHECK_MSG(chosen[t] >= 0, "%s", err);
        if (chosen[t] < 0) continue;
        for (int s = 0; s < DENOISE_NSIGMAS; s++) CHECK(psnr[s] <= psnr[chosen[t]]);
        /* The reported PSNR is the filter's: recompute it for the chosen sigma. */
        denoise_blur(f, noisy, N, 1, 28, 28, denoise_sigmas[chosen[t]], err, sizeof err);
        struct image_quality q;
        image_quality(f, clean, N, 1, 28, 28, 1.0, NULL, NULL, &q, err, sizeof err);
        CHECK_CLOSE(q.psnr_mean, psnr[chosen[t]], 1e-9, 0);
    }
    CHECK(denoise_sigmas[chosen[0]] == 0.0); /* almost no noise: filtering only blurs */
    CHECK(denoise_sigmas[chosen[1]] >= 0.75 && psnr[0] < psnr[chosen[1]]);
    CHECK(chosen[2] > chosen[1]); /* more noise, a wider filter */
    /* At sigma 0.3 the filter must gain several dB over the noisy input (psnr[0], sigma 0). */
    smooth_set(clean, noisy, N, 0.3, 7);
    denoise_choose_sigma(noisy, clean, N, 1, 28, 28, 1.0, denoise_sigmas, DENOISE_NSIGMAS, psnr, err, sizeof err);
    CHECK_MSG(psnr[chosen[2]] > psnr[0] + 6.0, "%g vs %g dB", psnr[chosen[2]], psnr[0]);

    double bad[2] = {1.0, 300.0};
    CHECK(denoise_choose_sigma(noisy, clean, N, 1, 28, 28, 1.0, bad, 2, NULL, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "sigma 300") != NULL, "%s", err);
    CHECK(denoise_choose_sigma(noisy, clean, N, 1, 28, 28, 1.0, bad, 0, NULL, err, sizeof err) == -1);
    CHECK(denoise_choose_sigma(noisy, clean, 0, 1, 28, 28, 1.0, bad, 1, NULL, err, sizeof err) == -1);
    noisy[0] = NAN; /* NaN in image 0 propagates through every filter: no PSNR to compare */
    CHECK(denoise_choose_sigma(noisy, clean, N, 1, 28, 28, 1.0, bad, 1, NULL, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "NaN") != NULL, "%s", err);
    free(clean);
    free(noisy);
    free(f);
}

/* The baseline is the composition of the pieces above, with tuning and evaluation images kept apart. */
static void test_baseline(void) {
    enum { NT = 3, NE = 4, D = 28 * 28 };
    float *clean = alloc_images((NT + NE) * D), *noisy = alloc_images((NT + NE) * D);
    float *want = alloc_images((NT + NE) * D), *f = alloc_images(NE * D);
    smooth_set(clean, want, NT + NE, 0.0, 1); /* clean images only */
    struct denoise_baseline b;
    char err[128] = "";
    CHECK_MSG(denoise_baseline(clean, NT, NE, 1, 28, 28, 1.0, 0.2, 3, 4, noisy, &b, err, sizeof err) == 0, "%s", err);
    denoise_add_noise(want, clean, (NT + NE) * D, 0.2, 3, 4);
    CHECK(memcmp(noisy, want, (NT + NE) * D * sizeof *noisy) == 0);
    int k = denoise_choose_sigma(noisy, clean, NT, 1, 28, 28, 1.0, denoise_sigmas, DENOISE_NSIGMAS, NULL, err,
                                 sizeof err);
    CHECK(k > 0 && b.sigma == denoise_sigmas[k]);
    struct image_quality q;
    image_quality(noisy + NT * D, clean + NT * D, NE, 1, 28, 28, 1.0, NULL, NULL, &q, err, sizeof err);
    CHECK(q.psnr_mean == b.noisy.psnr_mean && q.ssim_sd == b.noisy.ssim_sd);
    CHECK_CLOSE(b.noisy.psnr_mean, 20 * log10(1 / 0.2), 0.3, 0); /* Gaussian noise: MSE ~ sigma^2 */
    denoise_blur(f, noisy + NT * D, NE, 1, 28, 28, b.sigma, err, sizeof err);
    image_quality(f, clean + NT * D, NE, 1, 28, 28, 1.0, NULL, NULL, &q, err, sizeof err);
    CHECK(q.psnr_mean == b.blurred.psnr_mean && q.ssim_mean == b.blurred.ssim_mean);
    CHECK(b.blurred.psnr_mean > b.noisy.psnr_mean + 5 && b.blurred.ssim_mean > b.noisy.ssim_mean);
    struct denoise_baseline b2; /* without a copy of the noisy images: the same numbers */
    CHECK(denoise_baseline(clean, NT, NE, 1, 28, 28, 1.0, 0.2, 3, 4, NULL, &b2, err, sizeof err) == 0);
    CHECK(b2.sigma == b.sigma && b2.blurred.psnr_mean == b.blurred.psnr_mean);
    CHECK(denoise_baseline(clean, NT, 0, 1, 28, 28, 1.0, 0.2, 3, 4, NULL, &b2, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "both parts need images") != NULL, "%s", err);
    CHECK(denoise_baseline(clean, NT, NE, 1, 28, 28, 1.0, NAN, 3, 4, NULL, &b2, err, sizeof err) == -1);
    CHECK(denoise_baseline(clean, NT, NE, 1, 28, 28, 0.0, 0.2, 3, 4, NULL, &b2, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "range") != NULL, "%s", err);
    free(clean);
    free(noisy);
    free(want);
    free(f);
}

int main(void) {
    test_noise();
    test_blur();
    test_choose();
    test_baseline();
    return test_report();
}
