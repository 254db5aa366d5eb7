/* image.c: PSNR, SSIM and their summaries over a set. Everything accumulates in double, so the float
 * inputs are the only rounding that shows. */
#include "image.h"
#include "support.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t image_values(size_t n, int c, int h, int w) {
    if (n == 0 || c <= 0 || h <= 0 || w <= 0) return 0;
    size_t limit = SIZE_MAX / sizeof(float), one = (size_t)h * (size_t)w; /* < 2^62: cannot wrap */
    if (one > limit / (size_t)c) return 0;
    one *= (size_t)c;
    return one > limit / n ? 0 : one * n;
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
    if (n == 0) return fail_with(err, errlen, "image quality: no images");
    size_t one = image_values(1, c, h, w);
    if (!image_values(n, c, h, w)) return fail_with(err, errlen, "image quality: bad shape %zu x [%d, %d, %d]", n, c, h, w);
    if (!(range > 0.0)) return fail_with(err, errlen, "image quality: the range %g is not positive", range);
    double *p = psnr ? psnr : calloc(n, sizeof *p), *s = ssim ? ssim : calloc(n, sizeof *s);
    if (!p || !s) {
        if (!psnr) free(p);
        if (!ssim) free(s);
        return fail_with(err, errlen, "image quality: out of memory");
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
