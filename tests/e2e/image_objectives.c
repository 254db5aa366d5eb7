/* Every objective trains a convolutional energy on image data from a file: the run folder gets its
 * pictures and metrics, the loss and energies stay finite, and after a short run the energy already
 * separates the data from uniform noise. Denoising with the trained model is checked against the noisy
 * input's PSNR, which has a closed form: 20 log10(R / sigma) for unclipped noise on the data's range R.
 * The images (12x12: squares of random size and place, 1 on a background of 0.1) are made here, as .npy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebmc.h"
#include "test.h"

enum { N_IMAGES = 128, SIDE = 12 } /* SSIM needs at least 11 x 11 */;

static const char model_format[] = "param W1: [8, 1, 3, 3] = kaiming_uniform()\n"
                                   "param b1: [8] = zeros()\n"
                                   "param W2: [8, 8, 3, 3] = kaiming_uniform()\n"
                                   "param b2: [8] = zeros()\n"
                                   "param w3: [72, 1] = kaiming_uniform()\n"
                                   "param b3: [1] = zeros()\n"
                                   "energy(x: [B, 1, 12, 12]) {\n"
                                   "  h = silu(conv2d(x, W1, b1, 2, 1))\n" /* [B, 8, 6, 6] */
                                   "  h = silu(conv2d(h, W2, b2, 2, 1))\n" /* [B, 8, 3, 3] */
                                   "  return reshape(h, [B, 72]) @ w3 + b3\n"
                                   "}\n"
                                   "train {\n"
                                   "  data = \"%s\"\n"
                                   "  batch = 32\n"
                                   "  lr = 0.003\n"
                                   "  held_out = 0.25\n"
                                   "  buffer_size = 256\n"
                                   "  sample_steps = 5\n"
                                   "  eval_every = 0\n"
                                   "  threads = 1\n"
                                   "}\n";

static char root[] = "/tmp/ebmc-images-XXXXXX";

/* Squares of side 2..5 at random places, value 1 on a background of 0.1. */
static void write_images(const char *path) {
    static float px[N_IMAGES][SIDE * SIDE];
    srand(7);
    for (int n = 0; n < N_IMAGES; n++) {
        int s = 2 + rand() % 4, r0 = rand() % (SIDE - s + 1), c0 = rand() % (SIDE - s + 1);
        for (int i = 0; i < SIDE * SIDE; i++) px[n][i] = 0.1f;
        for (int r = r0; r < r0 + s; r++)
            for (int c = c0; c < c0 + s; c++) px[n][r * SIDE + c] = 1.0f;
    }
    char header[128];
    int len = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 1, %d, %d), }",
                       N_IMAGES, SIDE, SIDE);
    int pad = 64 - (10 + len + 1) % 64; /* the header, magic and length included, ends on a 64-byte line */
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f), fputc(hl >> 8, f);
    fwrite(header, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(px, sizeof px, 1, f);
    fclose(f);
}

static int nonempty(const char *dir, const char *file) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* Mean energy of n uniform-noise images on [0, 1] minus that of the held-out data's mean energy. */
static double noise_gap(struct ebmc_model *m, double energy_test) {
    enum { N = 64 };
    static float x[N * SIDE * SIDE], e[N];
    for (int i = 0; i < N * SIDE * SIDE; i++) x[i] = (float)rand() / (float)RAND_MAX;
    CHECK(ebmc_energy(m, x, e, N) == 0);
    double mean = 0;
    for (int i = 0; i < N; i++) mean += e[i] / N;
    return mean - energy_test;
}

/* A run that evaluates every 50 of its 150 steps draws samples-000050.png and samples-000100.png (the
 * end's picture is samples.png) and trains exactly as one that does not: drawing samples uses no training
 * state, so the energies of both models agree bitwise. PCD, whose replay buffer is state of its own. */
static void check_progress_pictures(const char *source) {
    enum { N = 16 };
    static float x[N * SIDE * SIDE], e[2][N];
    for (int i = 0; i < N * SIDE * SIDE; i++) x[i] = (float)(i % 7) / 7.0f;
    for (int run = 0; run < 2; run++) {
        char out[4200];
        snprintf(out, sizeof out, "%s/pcd-eval-%d", root, run);
        struct ebmc_model *m = ebmc_load_string(source, "squares.ebm", stderr);
        CHECK(m != NULL);
        if (!m) return;
        CHECK(ebmc_set(m, "objective", "pcd", stderr) == 0);
        CHECK(ebmc_set(m, "steps", "150", stderr) == 0);
        CHECK(ebmc_set(m, "eval_every", run ? "50" : "0", stderr) == 0);
        struct ebmc_result r;
        CHECK(ebmc_train(m, out, NULL, stderr, &r) == 0);
        CHECK(ebmc_energy(m, x, e[run], N) == 0);
        CHECK_MSG(nonempty(out, "samples-000050.png") == run && nonempty(out, "samples-000100.png") == run,
                  "eval_every %s: progress pictures %s", run ? "50" : "0", run ? "missing" : "written");
        CHECK(!nonempty(out, "samples-000150.png") && nonempty(out, "samples.png"));
        ebmc_free(m);
    }
    CHECK_MSG(memcmp(e[0], e[1], sizeof e[0]) == 0, "evaluating during training changed the training");
}

int main(void) {
    CHECK(mkdtemp(root) != NULL);
    char data[4200], source[8192];
    snprintf(data, sizeof data, "%s/squares.npy", root);
    write_images(data);
    snprintf(source, sizeof source, model_format, data);

    static const char *const objectives[] = {"cd", "sr-cd", "pcd", "dcd-ve", "dcd-vp"};
    for (size_t k = 0; k < sizeof objectives / sizeof *objectives; k++) {
        const char *obj = objectives[k];
        char out[4200];
        snprintf(out, sizeof out, "%s/%s", root, obj);
        struct ebmc_model *m = ebmc_load_string(source, "squares.ebm", stderr);
        CHECK(m != NULL);
        if (!m) continue;
        CHECK(ebmc_set(m, "objective", obj, stderr) == 0);
        CHECK(ebmc_set(m, "steps", "150", stderr) == 0);
        CHECK(ebmc_check(m, stderr) == 0);
        struct ebmc_result r;
        CHECK(ebmc_train(m, out, NULL, stderr, &r) == 0);
        CHECK(r.steps_done == 150 && !r.diverged);
        CHECK(isfinite(r.energy_test) && isfinite(r.energy_data) && isfinite(r.energy_neg));
        for (const char *f = "model.ckpt\0log.csv\0metrics.json\0samples.png\0"; *f; f += strlen(f) + 1)
            CHECK_MSG(nonempty(out, f), "%s: no %s", obj, f);
        int mala = strncmp(obj, "dcd", 3) == 0;
        CHECK_MSG(mala ? r.acceptance > 0.05 && r.acceptance <= 1 : r.acceptance == 0, "%s: acceptance %g", obj,
                  r.acceptance);
        double gap = noise_gap(m, r.energy_test);
        CHECK_MSG(gap > 0, "%s: noise images have energy %g below the held-out data's", obj, -gap);
        printf("%-7s energy: held-out %8.4f, noise - held-out %8.4f, acceptance %.2f\n", obj, r.energy_test, gap,
               r.acceptance);

        if (strcmp(obj, "dcd-ve") == 0) {
            struct ebmc_denoise_result d;
            char png[4300];
            snprintf(png, sizeof png, "%s/denoise.png", out);
            CHECK(ebmc_denoise(m, 0.2, 10, 0, 0, 16, png, NULL, &d, stderr) == 0);
            double expect = 20 * log10(0.9 / 0.2); /* the images span [0.1, 1] */
            CHECK_MSG(fabs(d.noisy.psnr_mean - expect) < 0.5, "noisy PSNR %g, expected %g", d.noisy.psnr_mean, expect);
            CHECK(isfinite(d.model.psnr_mean) && isfinite(d.filter.psnr_mean) && d.n > 0);
            CHECK(d.model.ssim_mean > -1 && d.model.ssim_mean <= 1 && d.acceptance > 0);
            CHECK(nonempty(out, "denoise.png"));
            printf("denoise at 0.2: noisy %.2f dB, filter %.2f, dcd-ve %.2f (SSIM %.3f), acceptance %.2f\n",
                   d.noisy.psnr_mean, d.filter.psnr_mean, d.model.psnr_mean, d.model.ssim_mean, d.acceptance);
        }
        ebmc_free(m);
    }
    check_progress_pictures(source);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", root);
    return test_report();
}
