/* run_dir.h: a run folder, what `ebmc train --out DIR` writes and `--resume DIR`, `sample`, `denoise`
 * and `energy` read: model.ebm (the model's text) and config.txt (every effective setting), which with
 * model.ckpt (checkpoint.h) are all a resume needs, then log.csv, metrics.json and pictures (train.h,
 * run_report.h). One training at a time holds DIR/.lock. */
#ifndef EBMC_RUN_DIR_H
#define EBMC_RUN_DIR_H

#include <stddef.h>

#include "config.h"

/* "dir/file" into buf; the path is cut (and -1 returned) only if it does not fit. */
int run_path(char *buf, size_t len, const char *dir, const char *file);

/* Makes dir and takes its lock for this process: returns the lock's descriptor (close it to release),
 * or -1 with the reason (another process trains into dir). */
int run_dir_lock(const char *dir, char *err, size_t errlen);

/* Writes dir/model.ebm (source) and dir/config.txt (c) atomically. */
int run_dir_write_description(const char *dir, const char *source, const struct train_config *c, char *err,
                              size_t errlen);

/* dir/model.ebm's path into buf if dir is a run folder; -1 with the reason otherwise. */
int run_dir_model_path(const char *dir, char *buf, size_t len, char *err, size_t errlen);

/* Applies dir/config.txt's settings to c (they override the model's train block completely). -1 with
 * "path:line: problem". */
int run_dir_read_config(const char *dir, struct train_config *c, char *err, size_t errlen);

#endif
