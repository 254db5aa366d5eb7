/* checkpoint.h: saving and restoring a model's parameters, optimizer state and run state.
 *
 * The file is written to PATH.tmp, flushed to disk, then renamed over PATH, so a crash leaves either
 * the old checkpoint or the new one, never a torn file. A 64-bit checksum of the contents ends the file;
 * loading checks the magic, the version, every size, the checksum, and that each parameter's name and
 * shape match the model, and explains any mismatch. The model text, when the model has one, is saved too and
 * must match on loading: it is part of the checkpoint's identity. */
#ifndef EBMC_CHECKPOINT_H
#define EBMC_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "objective.h"
#include "sampler.h"

/* What a training run carries from step to step besides the parameters and Adam moments. With them it
 * is all a run needs to continue bitwise: every other random number is keyed by (seed, step)
 * (objective.h). */
struct run_state {
    struct replay_buffer pcd;  /* PCD's chains; pcd.x NULL when the run has none (yet) */
    struct chain_stats chains; /* MALA statistics so far (reported, never used by training) */
    double nll_start;          /* held-out NLL before the first step */
    int has_run_info;          /* load: the file held chains and nll_start */
};

/* Writes parameters, Adam moments and the step count, plus the run state when rs != NULL (the replay
 * buffer only if rs->pcd.x is set). Refuses (keeping any existing file) if a parameter or moment is not
 * finite, so a diverged step can never replace a good checkpoint. Returns 0, or -1 with "path: reason"
 * in err. */
int checkpoint_save_state(const struct rt_model *m, int64_t step, const struct run_state *rs, const char *path,
                          char *err, size_t errlen);
int checkpoint_save(const struct rt_model *m, int64_t step, const char *path, char *err, size_t errlen);

/* Restores what checkpoint_save wrote into a model with the same parameters (and text); with rs != NULL
 * also the run state (rs is zeroed first; a replay buffer found is allocated into rs->pcd, which the
 * caller frees with replay_buffer_free). On any error the model and rs are left unchanged. Returns 0 (and
 * the step, if step != NULL), or -1 with "path: reason" in err, CHECKPOINT_OTHER_TEXT when all else
 * matches but the model text differs (err says where). Reads version 1 files (no run state) too. */
#define CHECKPOINT_OTHER_TEXT (-2)
int checkpoint_load_state(struct rt_model *m, int64_t *step, struct run_state *rs, const char *path, char *err,
                          size_t errlen);
int checkpoint_load(struct rt_model *m, int64_t *step, const char *path, char *err, size_t errlen);

#endif
