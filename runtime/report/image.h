/* image.h: how close a restored image is to the clean one (PSNR, SSIM) and summaries over a set.
 *
 * An image is C x H x W floats stored [C, H, W] (row-major, channel planes); a set of n images is
 * [n, C, H, W], contiguous. `range` R is the span of the data's values: 1 for [0, 1], 2 for [-1, 1]. */
#ifndef EBMC_IMAGE_H
#define EBMC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Floats in n images of C x H x W (n c h w), or 0 if n = 0, a side is not positive or the size would
 * not fit in memory's address range (so callers need no overflow checks of their own). */
size_t image_values(size_t n, int c, int h, int w);

/* Peak signal-to-noise ratio in dB over all C H W values: 10 log10(R^2 / MSE), MSE = mean (x - ref)^2.
 * +INFINITY if the images are equal; NaN if a value is NaN, a side is not positive or R <= 0. */
double image_psnr(const float *x, const float *ref, int c, int h, int w, double range);

/* Structural similarity of Wang, Bovik, Sheikh and Simoncelli (IEEE TIP 2004), as their reference code
 * ssim_index.m computes it: a normalized 11 x 11 Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03,
 * C1 = (K1 R)^2, C2 = (K2 R)^2, local means, variances and covariance weighted by the window (no
 * n/(n-1) correction), and the SSIM map kept only where the window lies wholly inside the image (the
 * "valid" convention: (H - 10) x (W - 10) values, no padding, no downsampling). The image's SSIM is the
 * map's mean; for C > 1 channels, the mean over channels of each channel's SSIM.
 * 1 for equal images; NaN if H or W is below 11, a side is not positive, R <= 0, a value is NaN, or
 * memory runs out. Symmetric in x and ref. */
#define IMAGE_SSIM_WINDOW 11
double image_ssim(const float *x, const float *ref, int c, int h, int w, double range);

/* Mean and sample standard deviation (divisor n - 1; 0 for n = 1) of v[0..n). NaN for both if n = 0. */
void image_mean_sd(const double *v, size_t n, double *mean, double *sd);

/* PSNR and SSIM of each of n images of x against the same image of ref, summarized. Per-image values go
 * to psnr[n] and ssim[n] when those are non-NULL. Returns 0, or -1 with "image quality: problem" in err
 * (bad shape or range, no images, out of memory). */
struct image_quality {
    double psnr_mean, psnr_sd, ssim_mean, ssim_sd; /* dB; SSIM in [-1, 1] */
};
int image_quality(const float *x, const float *ref, size_t n, int c, int h, int w, double range,
                  double *psnr, double *ssim, struct image_quality *q, char *err, size_t errlen);

#endif
