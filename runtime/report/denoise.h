/* denoise.h: the pieces of the denoising experiment that need no model: Gaussian corruption, and the
 * classical denoiser every EBM must beat, a Gaussian filter with its width chosen on held-out pairs.
 * Images as in image.h: [n, C, H, W] floats. */
#ifndef EBMC_DENOISE_H
#define EBMC_DENOISE_H

#include "image.h"

#include <stddef.h>
#include <stdint.h>

/* out = clean + sigma * N(0, 1), element i drawing index i of (seed, stream) (rng.h), so the corruption
 * is reproducible and independent of the thread count. No clamping: the noise model is exactly Gaussian.
 * out may be clean. */
void denoise_add_noise(float *out, const float *clean, size_t count, double sigma, uint64_t seed, uint64_t stream);

/* The classical denoiser: each channel of each of n images filtered with a separable Gaussian of standard
 * deviation sigma pixels, taps at -r..r with r = ceil(3 sigma), normalized to sum 1, and the image
 * mirrored at its borders with the edge pixel repeated (... c b a | a b c ... z | z y x ...; numpy's
 * pad mode "symmetric", scipy.ndimage's "reflect"), repeatedly for windows wider than the image.
 * sigma = 0 copies. out may be x. Returns 0, or -1 with "gaussian filter: problem" in err (sigma not in
 * [0, DENOISE_MAX_SIGMA], bad shape, out of memory). */
#define DENOISE_MAX_SIGMA 100.0
int denoise_blur(float *out, const float *x, size_t n, int c, int h, int w, double sigma, char *err, size_t errlen);

/* The sigma grid the experiment searches (pixels; 0 is "no filter", so the baseline never does worse
 * on the held-out pairs than the noisy input). */
#define DENOISE_NSIGMAS 12
extern const double denoise_sigmas[DENOISE_NSIGMAS];

/* Chooses the filter width: the index into sigmas[0..nsigmas) whose filter of the n noisy images has the
 * highest mean PSNR against the clean ones (ties: the first). mean_psnr[nsigmas], if non-NULL, receives
 * every candidate's mean PSNR. Returns the index, or -1 with "gaussian filter: problem" in err. */
int denoise_choose_sigma(const float *noisy, const float *clean, size_t n, int c, int h, int w, double range,
                         const double *sigmas, int nsigmas, double *mean_psnr, char *err, size_t errlen);

/* The model-free rows of the denoising table at noise level `noise`. clean holds n_tune + n_eval images:
 * all are corrupted with denoise_add_noise(noisy, clean, count, noise, seed, stream), so a model
 * restoring noisy + n_tune images sees exactly the inputs scored here. The first n_tune pairs choose the
 * filter's sigma from denoise_sigmas; the n_eval after them (never used to choose) score the noisy input
 * and the filtered one. noisy: room for all n_tune + n_eval images, or NULL if the caller needs no copy.
 * Returns 0, or -1 with "gaussian filter: problem" or "image quality: problem" in err. */
struct denoise_baseline {
    double sigma;                 /* the filter's, chosen on the tuning pairs */
    struct image_quality noisy;   /* the noisy evaluation images against their clean ones */
    struct image_quality blurred; /* the filtered evaluation images */
};
int denoise_baseline(const float *clean, size_t n_tune, size_t n_eval, int c, int h, int w, double range,
                     double noise, uint64_t seed, uint64_t stream, float *noisy, struct denoise_baseline *b,
                     char *err, size_t errlen);

#endif
