/* classify.h: the supervised objective, for labelled data (MNIST, Fashion-MNIST, the cats and dogs).
 *
 * A classifier is an energy over labels: the model's energy returns [B, K], E(x, y) = -logit_y(x), and
 * training minimizes the cross-entropy of p(y | x) = softmax(-E(x, .))_y against the data's labels
 * (programs.h builds that loss; there are no negatives). Its held-out accuracy is what a run reports,
 * and its penultimate features (the model's `features` function, docs/dsl.md) are what FCD compares
 * (fcd.h, `ebmc score`). */
#ifndef EBMC_CLASSIFY_H
#define EBMC_CLASSIFY_H

#include <stdint.h>

#include "config.h"
#include "data.h"
#include "model.h"

/* Step `step`'s data batch of m->batch rows into x, and their labels as one-hot rows into onehot
 * [batch, K]. Returns 0, or -1 with the reason in err: the source has no labels, or a label is not
 * below the model's K. */
int classify_batch(struct rt_model *m, const struct train_config *c, struct data_source *ds, int64_t step, float *x,
                   float *onehot, char *err, size_t errlen);

/* The fraction of the n samples x (n * D floats) whose most probable label, argmax_y -E(x, y), is
 * labels[i] (rows with a negative label are not counted). Into *accuracy (NaN if none counted).
 * Returns 0, or -1 on out of memory. */
int classify_accuracy(struct rt_model *m, const float *x, const int32_t *labels, int64_t n, double *accuracy);

/* The classifier's features of n samples x into out (n * F floats), F = the features program's width
 * (classify_feature_dim). The features program must be compiled. Returns 0, or -1 on out of memory. */
int classify_features(struct rt_model *m, const float *x, int64_t n, float *out);
/* F, or 0 if the features program is not compiled. */
int classify_feature_dim(const struct rt_model *m);

#endif
