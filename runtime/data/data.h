/* data.h: where training data comes from. One interface for every kind of data (2-D generators, tensor
 * files, IDX, the cats-and-dogs JSON, image folders), so the training loop, evaluation and pictures never
 * ask which kind they have.
 *
 * A source holds samples of one shape (the per-sample shape: [2] for 2-D points, [C, H, W] for images),
 * already scaled to floats. It is opened from the train block's `data` setting (a built-in name such as
 * `rings` or `mnist`, `folder:PATH`, or a path to a file whose format is told by its content) and split
 * into a training part and a held-out part that training never sees.
 *
 * Batches are a pure function of (seed, step, rank): step t of a run takes the global batch of B samples
 * at positions [t B, (t+1) B) of an endless sequence of epochs, each epoch a permutation of the training
 * set keyed by (seed, epoch); rank r of n takes rows [r B/n, (r+1) B/n) of that global batch. So the data
 * cursor of a checkpoint is its step, a resumed run reads exactly the batches an unbroken run would, and
 * ranks never overlap. Generators (n_train = 0) draw sample i of step t from the stream (seed, t). */
#ifndef EBMC_DATA_H
#define EBMC_DATA_H

#include <stddef.h>
#include <stdint.h>

#define DATA_MAX_DIMS 3  /* per-sample dims: the model's input has one more, the batch */
#define DATA_SPEC_LEN 4096

/* How raw values become floats. unit: [0, 1] (uint8 / 255); centered: [-1, 1]; none: as stored. */
enum data_scale { DATA_SCALE_AUTO, DATA_SCALE_UNIT, DATA_SCALE_CENTERED, DATA_SCALE_NONE };

struct data_options {
    enum data_scale scale; /* auto: unit for 8-bit images, none for float files and generators */
    int image_size;        /* image folders: centre-crop and resize to S x S (0: 32) */
    double held_out;       /* fraction held out when the source has no test part of its own (0: 0.1) */
    int64_t limit;         /* use at most this many training samples (0: all), for quick runs and tests */
};

struct data_source {
    char spec[DATA_SPEC_LEN]; /* as given in the train block */
    const char *kind;         /* "2d", "npy", "csv", "idx", "cifar-json", "folder" */
    int ndim;                 /* per-sample rank, 1..DATA_MAX_DIMS */
    int64_t shape[DATA_MAX_DIMS];
    int64_t dim;              /* elements per sample: the product of shape */
    int is_image;             /* shape is [C, H, W] with C = 1 or 3: pictures are image grids */
    float lo, hi;             /* every value lies in [lo, hi] (generators: their data box) */
    int64_t n_train, n_test;  /* samples in each part; n_train = 0 for a generator (endless) */
    int n_classes;            /* labelled sources (MNIST, ...): 10; 0 if unlabelled */
    /* private to the source's file */
    float *train, *test;            /* [n, dim] for finite sources */
    int32_t *train_labels, *test_labels; /* NULL if unlabelled */
    int gen;                        /* generators: enum data2d_kind */
    int64_t perm_epoch;             /* the epoch whose permutation perm holds (-1: none yet) */
    int64_t *perm;
};

/* Opens the source a `data` setting names. Returns 0, or -1 with "what: the problem" in err (for files:
 * the path and what is wrong with it: missing, truncated, corrupt, unsupported, too large). Never aborts. */
int data_open(struct data_source *ds, const char *spec, const struct data_options *o, char *err, size_t errlen);
void data_close(struct data_source *ds);
/* data_open of a file's bytes already in memory (name is used in errors): the entry point for fuzzing the
 * loaders. IDX data brings no labels or test part this way (those are files beside it). */
int data_open_memory(struct data_source *ds, const char *name, const uint8_t *buf, size_t len,
                     const struct data_options *o, char *err, size_t errlen);

/* The rows [rank b / nranks, (rank + 1) b / nranks) of step `step`'s global batch of b samples
 * (the rows this rank trains on), into out (rows * dim floats). Deterministic in (seed, step). */
void data_batch(struct data_source *ds, uint64_t seed, int64_t step, int64_t b, int rank, int nranks, float *out);
/* The same rows with their class labels into labels (one per row; -1 for an unlabelled source). */
void data_batch_labelled(struct data_source *ds, uint64_t seed, int64_t step, int64_t b, int rank, int nranks,
                         float *out, int32_t *labels);

/* The first n held-out samples into out (n * dim floats), labels into labels if non-NULL. For a
 * generator, held-out samples come from a stream of their own. Returns how many were written: n, or
 * n_test if the source holds fewer. */
int64_t data_held_out(const struct data_source *ds, uint64_t seed, float *out, int32_t *labels, int64_t n);

/* The built-in names (2-D generators and named data sets), comma separated, for errors and --help. */
const char *data_builtin_names(void);

/* Writes a tensor file: FILE.npy (float32, the given shape) or FILE.csv (rows of numbers, the product of
 * all dims but the first per row). Atomic (temporary file, fsync, rename). Returns 0 or -1 with err. */
int data_write_tensor(const char *path, const float *x, int ndim, const int64_t *shape, char *err, size_t errlen);
/* Reads a tensor file of any format data_open reads (npy, csv, idx) as floats, unscaled: *x malloc'd,
 * shape filled (room for DATA_MAX_DIMS + 1 dims). For `ebmc energy` and tests. Returns 0 or -1 with err. */
int data_read_tensor(const char *path, float **x, int *ndim, int64_t *shape, char *err, size_t errlen);

#endif
