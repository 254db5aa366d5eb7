/* parallel.h: data-parallel training across processes with MPI (docs/parallel.md).
 *
 * Every rank holds the whole model. A step's global batch of B samples is split by rank (data_batch), each
 * rank draws the negatives of its own rows (noise keyed by the global row, so the ranks of a job draw the
 * noise one process at batch B would: no two ranks share any), runs the loss program on its 2B/N rows,
 * and the gradients are summed in place across ranks (in buckets) and divided by N; then every rank runs
 * the same compiled Adam program on the same numbers, so the parameters stay identical, which a checksum
 * across ranks checks every check_ranks_every steps.
 *
 * A process joins a job only when a launcher started it (mpirun, mpiexec, srun: they set PMIx/PMI or
 * Open MPI variables); otherwise, and in a build without MPI, it is rank 0 of 1 and nothing here does
 * anything. All functions but parallel_start are collective when the job has more than one rank: every
 * rank calls them in the same order. */
#ifndef EBMC_PARALLEL_H
#define EBMC_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* Joins the job if a launcher started this process. Returns 0, or -1 with the reason in err (a launcher
 * started several processes but this build has no MPI). Calling it again does nothing. */
int parallel_start(char *err, size_t errlen);
/* Leaves the job: MPI_Finalize, or, when failed and the job has other ranks, MPI_Abort, which ends every
 * rank (they may be waiting in a collective that this rank will never join). */
void parallel_end(int failed);

int parallel_rank(void); /* 0 when alone */
int parallel_size(void); /* 1 when alone */

/* "Open MPI v4.1.4, ..." as the MPI library reports itself, or the reason there is none. */
const char *parallel_library(void);

/* x[0..n) summed across ranks, in place, in buckets of PARALLEL_BUCKET_FLOATS started together. */
#define PARALLEL_BUCKET_FLOATS (1 << 20) /* 4 MiB: Horovod's lesson, without its tuning */
void parallel_sum_floats(float *x, int64_t n);
void parallel_sum_doubles(double *x, int n);

/* all[r * n .. (r + 1) * n) = rank r's mine[0..n), on every rank. */
void parallel_gather_floats(const float *mine, float *all, int64_t n);

/* Whether every rank holds the same h; *first_bad: the lowest rank whose h differs from rank 0's. */
int parallel_same(uint64_t h, int *first_bad);

/* A rank's copy of the first n bytes of data as one number (FNV-1a), for parallel_same. */
uint64_t parallel_hash(uint64_t h, const void *data, size_t n);
#define PARALLEL_HASH_START 0xcbf29ce484222325ull

#endif
