/* parallel.c: the MPI calls of data-parallel training (parallel.h), and their single-process stand-ins
 * when ebmc is built without MPI (EBMC_HAVE_MPI unset) or runs without a launcher. */
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef EBMC_HAVE_MPI
#include <mpi.h>
#endif

static int joined, rank, size = 1;

/* The variables a launcher sets in the processes it starts: Open MPI's mpirun, PMIx (srun --mpi=pmix,
 * prterun) and PMI/PMI2 (srun --mpi=pmi2, MPICH's hydra). A shell inside an sbatch allocation has none. */
static int launched(int *n) {
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    if (!s) s = getenv("PMI_SIZE");
    *n = s ? atoi(s) : 0;
    return s || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int parallel_start(char *err, size_t errlen) {
    if (joined) return 0;
    int n;
    if (!launched(&n)) return 0;
#ifdef EBMC_HAVE_MPI
    int provided;
    /* OpenMP threads never call MPI: only the thread that runs the training loop does. */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    joined = 1;
    return 0;
#else
    if (n > 1) {
        snprintf(err, errlen,
                 "a launcher started %d ebmc processes, but this ebmc was built without MPI (ebmc --version says "
                 "so): install libopenmpi-dev and rebuild, or run one process",
                 n);
        return -1;
    }
    return 0;
#endif
}

void parallel_end(int failed) {
#ifdef EBMC_HAVE_MPI
    if (!joined) return;
    joined = 0;
    if (failed && size > 1) {
        fflush(stderr), fflush(stdout);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Finalize();
#else
    (void)failed;
#endif
}

int parallel_rank(void) { return rank; }
int parallel_size(void) { return size; }

const char *parallel_library(void) {
#ifdef EBMC_HAVE_MPI
    static char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    MPI_Get_library_version(version, &len); /* callable before MPI_Init */
    char *comma = strchr(version, ',');     /* "Open MPI v4.1.4, package: ..., ident: ..." */
    if (comma) *comma = 0;
    return version;
#else
    return "not built in (cmake found no MPI, or was given -DEBMC_MPI=OFF)";
#endif
}

void parallel_sum_floats(float *x, int64_t n) {
#ifdef EBMC_HAVE_MPI
    if (size == 1) return;
    enum { IN_FLIGHT = 16 };
    MPI_Request req[IN_FLIGHT];
    for (int64_t at = 0; at < n;) {
        int k = 0;
        for (; k < IN_FLIGHT && at < n; k++) {
            int64_t len = n - at < PARALLEL_BUCKET_FLOATS ? n - at : PARALLEL_BUCKET_FLOATS;
            MPI_Iallreduce(MPI_IN_PLACE, x + at, (int)len, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req[k]);
            at += len;
        }
        MPI_Waitall(k, req, MPI_STATUSES_IGNORE);
    }
#else
    (void)x, (void)n;
#endif
}

void parallel_sum_doubles(double *x, int n) {
#ifdef EBMC_HAVE_MPI
    if (size > 1) MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)x, (void)n;
#endif
}

void parallel_gather_floats(const float *mine, float *all, int64_t n) {
#ifdef EBMC_HAVE_MPI
    if (size > 1) {
        MPI_Allgather(mine, (int)n, MPI_FLOAT, all, (int)n, MPI_FLOAT, MPI_COMM_WORLD);
        return;
    }
#endif
    if (all != mine) memcpy(all, mine, sizeof(float) * (size_t)n);
}

int parallel_same(uint64_t h, int *first_bad) {
    *first_bad = -1;
#ifdef EBMC_HAVE_MPI
    if (size == 1) return 1;
    uint64_t *all = malloc(sizeof(uint64_t) * (size_t)size);
    if (!all) MPI_Abort(MPI_COMM_WORLD, 1); /* a few bytes per rank: the machine is out of memory */
    MPI_Allgather(&h, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    for (int r = 1; r < size && *first_bad < 0; r++)
        if (all[r] != all[0]) *first_bad = r;
    free(all);
#else
    (void)h;
#endif
    return *first_bad < 0;
}

uint64_t parallel_hash(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
