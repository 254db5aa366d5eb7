/* data2d.h: the 2-D toy densities (generated in code, deterministic in (seed, stream)). */
#ifndef EBMC_DATA2D_H
#define EBMC_DATA2D_H

#include <stddef.h>
#include <stdint.h>

enum data2d_kind {
    DATA2D_8GAUSSIANS,
    DATA2D_RINGS,
    DATA2D_CHECKERBOARD,
    DATA2D_SPIRALS,
    DATA2D_MOONS,
    DATA2D_PINWHEEL,
    DATA2D_SWISSROLL,
    DATA2D_COUNT
};

/* The kind with this name ("8gaussians", "rings", ...), or -1. */
int data2d_from_name(const char *name);
const char *data2d_name(enum data2d_kind kind);
/* A comma-separated list of every name, for error messages and --help. */
const char *data2d_names(void);

/* Writes n points as x0, y0, x1, y1, ... Point i is a function of (seed, stream, i) only. */
void data2d_sample(enum data2d_kind kind, float *xy, size_t n, uint64_t seed, uint64_t stream);
/* Points [first, first + n) of that draw (a rank's rows of a batch). */
void data2d_sample_from(enum data2d_kind kind, float *xy, size_t first, size_t n, uint64_t seed, uint64_t stream);

/* Every data set lives inside the square [-half_width, half_width]^2 (used for plots and grid evaluation). */
float data2d_half_width(enum data2d_kind kind);

#endif
