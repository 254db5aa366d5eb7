/* denoise.c: Gaussian corruption and the Gaussian-filter denoiser with its sigma chosen by PSNR. */
#include "denoise.h"

#include "rng.h"
#include "support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void denoise_add_noise(float *out, const float *clean, size_t count, double sigma, uint64_t seed, uint64_t stream) {
    for (size_t i = 0; i < count; i++) out[i] = (float)((double)clean[i] + sigma * rng_normal(seed, stream, i));
}

const double denoise_sigmas[DENOISE_NSIGMAS] = {0, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5};

/* Index i mirrored into [0, n) with the edge repeated; the pattern has period 2n, so any i works. */
static size_t mirror(int64_t i, int64_t n) {
    int64_t p = 2 * n;
    i %= p;
    if (i < 0) i += p;
    return (size_t)(i < n ? i : p - 1 - i);
}

int denoise_blur(float *out, const float *x, size_t n, int c, int h, int w, double sigma, char *err, size_t errlen) {
    size_t count = image_values(n, c, h, w);
    if (!count) return fail_with(err, errlen, "gaussian filter: bad shape %zu x [%d, %d, %d]", n, c, h, w);
    if (!(sigma >= 0.0 && sigma <= DENOISE_MAX_SIGMA))
        return fail_with(err, errlen, "gaussian filter: sigma %g is not in [0, %g]", sigma, DENOISE_MAX_SIGMA);
    if (sigma == 0.0) {
        if (out != x) memmove(out, x, count * sizeof *out);
        return 0;
    }
    int r = (int)ceil(3.0 * sigma);
    double *g = malloc((size_t)(2 * r + 1) * sizeof *g), *tmp = malloc((size_t)h * (size_t)w * sizeof *tmp);
    if (!g || !tmp) {
        free(g);
        free(tmp);
        return fail_with(err, errlen, "gaussian filter: out of memory");
    }
    double sum = 0.0;
    for (int k = -r; k <= r; k++) sum += g[k + r] = exp(-(double)k * k / (2.0 * sigma * sigma));
    for (int k = 0; k <= 2 * r; k++) g[k] /= sum;
    /* Rows into tmp, then columns into out: the plane of x is read only in the first pass, so out may be x. */
    size_t planes = count / ((size_t)h * (size_t)w);
    for (size_t pl = 0; pl < planes; pl++) {
        const float *src = x + pl * (size_t)h * w;
        float *dst = out + pl * (size_t)h * w;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                double acc = 0.0;
                for (int k = -r; k <= r; k++) acc += g[k + r] * src[(size_t)i * w + mirror(j + k, w)];
                tmp[(size_t)i * w + j] = acc;
            }
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                double acc = 0.0;
                for (int k = -r; k <= r; k++) acc += g[k + r] * tmp[mirror(i + k, h) * w + j];
                dst[(size_t)i * w + j] = (float)acc;
            }
    }
    free(g);
    free(tmp);
    return 0;
}

int denoise_choose_sigma(const float *noisy, const float *clean, size_t n, int c, int h, int w, double range,
                         const double *sigmas, int nsigmas, double *mean_psnr, char *err, size_t errlen) {
    size_t count = image_values(n, c, h, w), one = image_values(1, c, h, w);
    if (!count) return fail_with(err, errlen, "gaussian filter: bad shape %zu x [%d, %d, %d]", n, c, h, w);
    if (nsigmas <= 0) return fail_with(err, errlen, "gaussian filter: no sigma to choose from");
    if (!(range > 0.0)) return fail_with(err, errlen, "gaussian filter: the range %g is not positive", range);
    float *buf = malloc(count * sizeof *buf);
    double *p = malloc(n * sizeof *p);
    if (!buf || !p) {
        free(buf);
        free(p);
        return fail_with(err, errlen, "gaussian filter: out of memory");
    }
    int best = -1, failed = 0;
    double best_psnr = -INFINITY;
    for (int s = 0; s < nsigmas; s++) {
        if (denoise_blur(buf, noisy, n, c, h, w, sigmas[s], err, errlen) != 0) {
            failed = 1;
            break;
        }
        for (size_t i = 0; i < n; i++) p[i] = image_psnr(buf + i * one, clean + i * one, c, h, w, range);
        double mean, sd;
        image_mean_sd(p, n, &mean, &sd);
        if (mean_psnr) mean_psnr[s] = mean;
        if (mean > best_psnr || (best < 0 && !isnan(mean))) {
            best = s;
            best_psnr = mean;
        }
    }
    free(buf);
    free(p);
    if (failed) return -1;
    if (best < 0) return fail_with(err, errlen, "gaussian filter: no sigma gives a PSNR (NaN in the images?)");
    return best;
}

int denoise_baseline(const float *clean, size_t n_tune, size_t n_eval, int c, int h, int w, double range,
                     double noise, uint64_t seed, uint64_t stream, float *noisy, struct denoise_baseline *b,
                     char *err, size_t errlen) {
    size_t one = image_values(1, c, h, w), count = image_values(n_tune + n_eval, c, h, w);
    if (n_tune == 0 || n_eval == 0 || n_tune + n_eval < n_tune || !one || !count)
        return fail_with(err, errlen, "gaussian filter: bad shape (%zu + %zu) x [%d, %d, %d]: both parts need images",
                    n_tune, n_eval, c, h, w);
    if (!(noise >= 0.0 && isfinite(noise))) return fail_with(err, errlen, "gaussian filter: noise %g", noise);
    float *y = noisy ? noisy : malloc(count * sizeof *y), *f = malloc(n_eval * one * sizeof *f);
    if (!y || !f) {
        if (!noisy) free(y);
        free(f);
        return fail_with(err, errlen, "gaussian filter: out of memory");
    }
    denoise_add_noise(y, clean, count, noise, seed, stream);
    const float *y_eval = y + n_tune * one, *x_eval = clean + n_tune * one;
    int rc = -1, k = denoise_choose_sigma(y, clean, n_tune, c, h, w, range, denoise_sigmas, DENOISE_NSIGMAS, NULL,
                                          err, errlen);
    if (k >= 0 && denoise_blur(f, y_eval, n_eval, c, h, w, denoise_sigmas[k], err, errlen) == 0 &&
        image_quality(y_eval, x_eval, n_eval, c, h, w, range, NULL, NULL, &b->noisy, err, errlen) == 0 &&
        image_quality(f, x_eval, n_eval, c, h, w, range, NULL, NULL, &b->blurred, err, errlen) == 0) {
        b->sigma = denoise_sigmas[k];
        rc = 0;
    }
    if (!noisy) free(y);
    free(f);
    return rc;
}
