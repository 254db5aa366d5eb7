/* image.c: PSNR, SSIM, their summaries over a set, Gaussian corruption and the Gaussian-filter
 * denoiser. Everything accumulates in double, so the float inputs are the only rounding that shows. */
#include "image.h"

#include "rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

size_t image_values(size_t n, int c, int h, int w) {
    if (c <= 0 || h <= 0 || w <= 0) return 0;
    size_t limit = SIZE_MAX / sizeof(float), one = (size_t)h * (size_t)w; /* < 2^62: cannot wrap */
    if (one > limit / (size_t)c) return 0;
    one *= (size_t)c;
    if (n > 1 && one > limit / n) return 0;
    return n ? one * n : one;
}

double image_psnr(const float *x, const float *ref, int c, int h, int w, double range) {
    size_t count = image_values(1, c, h, w);
    if (!count || !(range > 0.0)) return NAN;
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)x[i] - (double)ref[i];
        sum += d * d;
    }
    double mse = sum / (double)count;
    if (isnan(mse)) return NAN;
    return mse == 0.0 ? INFINITY : 10.0 * log10(range * range / mse);
}

/* ---- SSIM ---- */

/* The 1-D factor of the 11 x 11 window: exp(-i^2 / (2 1.5^2)) for i = -5..5, normalized (the 2-D
 * window is the outer product, so it sums to 1 too). */
static void ssim_window(double g[IMAGE_SSIM_WINDOW]) {
    double sum = 0.0;
    for (int i = 0; i < IMAGE_SSIM_WINDOW; i++) {
        double d = i - IMAGE_SSIM_WINDOW / 2;
        g[i] = exp(-d * d / (2.0 * 1.5 * 1.5));
        sum += g[i];
    }
    for (int i = 0; i < IMAGE_SSIM_WINDOW; i++) g[i] /= sum;
}

/* The SSIM of one channel plane. The window is separable, so the five local moments (means of x, y,
 * x^2, y^2, xy) are filtered along rows into tmp, then along columns. tmp: 5 h (w - 10) doubles. */
static double ssim_plane(const float *x, const float *y, int h, int w, double range, double *tmp) {
    enum { K = IMAGE_SSIM_WINDOW };
    double g[K];
    ssim_window(g);
    int ow = w - (K - 1), oh = h - (K - 1);
    size_t plane = (size_t)h * (size_t)ow;
    for (int r = 0; r < h; r++)
        for (int j = 0; j < ow; j++) {
            double m[5] = {0, 0, 0, 0, 0};
            for (int k = 0; k < K; k++) {
                double a = x[(size_t)r * w + j + k], b = y[(size_t)r * w + j + k];
                m[0] += g[k] * a;
                m[1] += g[k] * b;
                m[2] += g[k] * a * a;
                m[3] += g[k] * b * b;
                m[4] += g[k] * a * b;
            }
            for (int s = 0; s < 5; s++) tmp[s * plane + (size_t)r * ow + j] = m[s];
        }
    double c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range), sum = 0.0;
    for (int r = 0; r < oh; r++)
        for (int j = 0; j < ow; j++) {
            double m[5] = {0, 0, 0, 0, 0};
            for (int k = 0; k < K; k++)
                for (int s = 0; s < 5; s++) m[s] += g[k] * tmp[s * plane + (size_t)(r + k) * ow + j];
            double mx = m[0], my = m[1];
            double vx = m[2] - mx * mx, vy = m[3] - my * my, cxy = m[4] - mx * my;
            sum += (2.0 * mx * my + c1) * (2.0 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        }
    return sum / ((double)oh * (double)ow);
}

double image_ssim(const float *x, const float *ref, int c, int h, int w, double range) {
    if (!image_values(1, c, h, w) || h < IMAGE_SSIM_WINDOW || w < IMAGE_SSIM_WINDOW || !(range > 0.0))
        return NAN;
    double *tmp = malloc(5 * (size_t)h * (size_t)(w - (IMAGE_SSIM_WINDOW - 1)) * sizeof *tmp);
    if (!tmp) return NAN;
    size_t plane = (size_t)h * (size_t)w;
    double sum = 0.0;
    for (int ch = 0; ch < c; ch++) sum += ssim_plane(x + ch * plane, ref + ch * plane, h, w, range, tmp);
    free(tmp);
    return sum / c;
}

/* ---- summaries ---- */

void image_mean_sd(const double *v, size_t n, double *mean, double *sd) {
    if (n == 0) {
        *mean = *sd = NAN;
        return;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    double m = sum / (double)n, ss = 0.0; /* two passes: no cancellation when the spread is small */
    for (size_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}

int image_quality(const float *x, const float *ref, size_t n, int c, int h, int w, double range,
                  double *psnr, double *ssim, struct image_quality *q, char *err, size_t errlen) {
    size_t one = image_values(1, c, h, w);
    if (!one || !image_values(n, c, h, w))
        return fail(err, errlen, "image quality: bad shape %zu x [%d, %d, %d]", n, c, h, w);
    if (n == 0) return fail(err, errlen, "image quality: no images");
    if (!(range > 0.0)) return fail(err, errlen, "image quality: the range %g is not positive", range);
    double *p = psnr ? psnr : calloc(n, sizeof *p), *s = ssim ? ssim : calloc(n, sizeof *s);
    if (!p || !s) {
        if (!psnr) free(p);
        if (!ssim) free(s);
        return fail(err, errlen, "image quality: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        p[i] = image_psnr(x + i * one, ref + i * one, c, h, w, range);
        s[i] = image_ssim(x + i * one, ref + i * one, c, h, w, range);
    }
    image_mean_sd(p, n, &q->psnr_mean, &q->psnr_sd);
    image_mean_sd(s, n, &q->ssim_mean, &q->ssim_sd);
    if (!psnr) free(p);
    if (!ssim) free(s);
    return 0;
}

/* ---- denoising without a model ---- */

void image_add_noise(float *out, const float *clean, size_t count, double sigma, uint64_t seed, uint64_t stream) {
    for (size_t i = 0; i < count; i++) out[i] = (float)((double)clean[i] + sigma * rng_normal(seed, stream, i));
}

const double image_blur_sigmas[IMAGE_BLUR_NSIGMAS] = {0, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5};

/* Index i mirrored into [0, n) with the edge repeated; the pattern has period 2n, so any i works. */
static size_t mirror(int64_t i, int64_t n) {
    int64_t p = 2 * n;
    i %= p;
    if (i < 0) i += p;
    return (size_t)(i < n ? i : p - 1 - i);
}

int image_blur(float *out, const float *x, size_t n, int c, int h, int w, double sigma, char *err, size_t errlen) {
    size_t count = image_values(n, c, h, w);
    if (!count) return fail(err, errlen, "gaussian filter: bad shape %zu x [%d, %d, %d]", n, c, h, w);
    if (!(sigma >= 0.0 && sigma <= IMAGE_BLUR_MAX_SIGMA))
        return fail(err, errlen, "gaussian filter: sigma %g is not in [0, %g]", sigma, IMAGE_BLUR_MAX_SIGMA);
    if (sigma == 0.0) {
        if (out != x) memmove(out, x, count * sizeof *out);
        return 0;
    }
    int r = (int)ceil(3.0 * sigma);
    double *g = malloc((size_t)(2 * r + 1) * sizeof *g), *tmp = malloc((size_t)h * (size_t)w * sizeof *tmp);
    if (!g || !tmp) {
        free(g);
        free(tmp);
        return fail(err, errlen, "gaussian filter: out of memory");
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

int image_blur_choose(const float *noisy, const float *clean, size_t n, int c, int h, int w, double range,
                      const double *sigmas, int nsigmas, double *mean_psnr, char *err, size_t errlen) {
    size_t count = image_values(n, c, h, w), one = image_values(1, c, h, w);
    if (!count || n == 0) return fail(err, errlen, "gaussian filter: bad shape %zu x [%d, %d, %d]", n, c, h, w);
    if (nsigmas <= 0) return fail(err, errlen, "gaussian filter: no sigma to choose from");
    if (!(range > 0.0)) return fail(err, errlen, "gaussian filter: the range %g is not positive", range);
    float *buf = malloc(count * sizeof *buf);
    double *p = malloc(n * sizeof *p);
    if (!buf || !p) {
        free(buf);
        free(p);
        return fail(err, errlen, "gaussian filter: out of memory");
    }
    int best = -1, failed = 0;
    double best_psnr = -INFINITY;
    for (int s = 0; s < nsigmas; s++) {
        if (image_blur(buf, noisy, n, c, h, w, sigmas[s], err, errlen) != 0) {
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
    if (best < 0) return fail(err, errlen, "gaussian filter: no sigma gives a PSNR (NaN in the images?)");
    return best;
}
