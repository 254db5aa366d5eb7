/* checkpoint.h: saving and restoring a model's parameters and optimizer state.
 *
 * The file is written to PATH.tmp, flushed to disk, then renamed over PATH, so a crash leaves either
 * the old checkpoint or the new one, never a torn file. A 64-bit checksum of the contents ends the file;
 * loading checks the magic, the version, every size, the checksum, and that each parameter's name and
 * shape match the model, and explains any mismatch. */
#ifndef EBMC_CHECKPOINT_H
#define EBMC_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Writes parameters, Adam moments and the step count. Returns 0, or -1 with "path: reason" in err. */
int checkpoint_save(const struct rt_model *m, int64_t step, const char *path, char *err, size_t errlen);

/* Restores what checkpoint_save wrote into a model with the same parameters. On any error the model is
 * left unchanged. Returns 0 (and the step, if step != NULL), or -1 with "path: reason" in err. */
int checkpoint_load(struct rt_model *m, int64_t *step, const char *path, char *err, size_t errlen);

#endif
