/* bench_allreduce: what the gradient all-reduce of a data-parallel step costs (runtime/parallel/), apart
 * from waiting for the slowest rank: each round starts with a barrier, then times parallel_sum_floats on
 * n floats. Rank 0 prints the median and the fastest round.
 *
 *     mpirun --oversubscribe -np 2 build/bench/bench_allreduce 33409 2000
 *
 * (33409 floats: the gradients of models/8gaussians.ebm; 56769: models/mnist.ebm) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "parallel.h"
#include "support.h"

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    char err[256];
    if (argc != 3 || parallel_start(err, sizeof err) != 0) {
        fprintf(stderr, "usage: mpirun -np N bench_allreduce FLOATS ROUNDS\n");
        return 2;
    }
    long n = atol(argv[1]), rounds = atol(argv[2]);
    float *x = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    double *t = calloc((size_t)(rounds > 0 ? rounds : 1), sizeof(double));
    if (!x || !t || n < 1 || rounds < 1) return 2;
    for (long r = 0; r < rounds; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = clock_seconds();
        parallel_sum_floats(x, n);
        t[r] = clock_seconds() - t0;
    }
    qsort(t, (size_t)rounds, sizeof *t, by_value);
    if (parallel_rank() == 0)
        printf("%d ranks, %ld floats (%.1f KiB): median %.1f us, fastest %.1f us a round, %.2f GB/s at the median "
               "by 2(N-1)/N bytes\n",
               parallel_size(), n, n * 4.0 / 1024, 1e6 * t[rounds / 2], 1e6 * t[0],
               2.0 * (parallel_size() - 1) / parallel_size() * n * 4.0 / t[rounds / 2] / 1e9);
    free(x), free(t);
    parallel_end(0);
    return 0;
}
