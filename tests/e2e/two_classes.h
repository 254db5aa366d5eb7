/* two_classes.h: a labelled image set written as MNIST's IDX files (train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-...), which ebmc reads with their labels and test part: side x side 8-bit
 * images of two well-separated classes, label 0 bright in the left half and label 1 in the right, each
 * pixel with noise. For the classifier and FCD tests (tests/objectives/classify.c, tests/e2e/score_cli.sh
 * through write_two_classes). */
#ifndef EBMC_TWO_CLASSES_H
#define EBMC_TWO_CLASSES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void two_classes_be32(FILE *f, uint32_t v) {
    fputc((int)(v >> 24), f), fputc((int)(v >> 16) & 0xff, f), fputc((int)(v >> 8) & 0xff, f), fputc((int)v & 0xff, f);
}

/* One part (prefix "train" or "t10k") of n images into dir. Returns 0, or -1 if a file cannot be written. */
static int two_classes_part(const char *dir, const char *prefix, int side, int n, unsigned seed) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *img = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    FILE *lab = fopen(path, "wb");
    if (!img || !lab) {
        if (img) fclose(img);
        if (lab) fclose(lab);
        return -1;
    }
    two_classes_be32(img, 0x803), two_classes_be32(img, (uint32_t)n);
    two_classes_be32(img, (uint32_t)side), two_classes_be32(img, (uint32_t)side);
    two_classes_be32(lab, 0x801), two_classes_be32(lab, (uint32_t)n);
    srand(seed);
    for (int i = 0; i < n; i++) {
        int label = rand() % 2;
        fputc(label, lab);
        for (int r = 0; r < side; r++)
            for (int c = 0; c < side; c++) {
                int bright = (c < side / 2) == (label == 0);
                fputc(bright ? 150 + rand() % 106 : rand() % 90, img);
            }
    }
    int bad = ferror(img) || ferror(lab);
    bad |= fclose(img) != 0;
    bad |= fclose(lab) != 0;
    return bad ? -1 : 0;
}

/* The whole set: n_train training and n_test held-out images. Returns 0 or -1. */
static int write_two_classes(const char *dir, int side, int n_train, int n_test) {
    return two_classes_part(dir, "train", side, n_train, 1) == 0 && two_classes_part(dir, "t10k", side, n_test, 2) == 0
               ? 0
               : -1;
}

#endif
