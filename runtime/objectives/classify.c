/* classify.c: batches with labels, held-out accuracy and features of the supervised objective
 * (classify.h). The loss itself is a graph: programs.c, classify_loss. */
#include "classify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int classify_batch(struct rt_model *m, const struct train_config *c, struct data_source *ds, int64_t step, float *x,
                   float *onehot, char *err, size_t errlen) {
    int64_t b = m->batch, k = m->n_classes;
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)b);
    if (!labels) return snprintf(err, errlen, "out of memory"), -1;
    data_batch_labelled(ds, c->seed, step, b, 0, 1, x, labels);
    memset(onehot, 0, sizeof(float) * (size_t)(b * k));
    int rc = 0;
    for (int64_t i = 0; i < b && rc == 0; i++) {
        if (labels[i] < 0 || labels[i] >= k) {
            if (labels[i] < 0)
                snprintf(err, errlen, "objective classify needs labelled data; %.200s has no labels (MNIST, "
                         "Fashion-MNIST and the cats and dogs have, as do IDX files with a labels file beside them)",
                         ds->spec);
            else
                snprintf(err, errlen, "the data %.200s has a label %d, but the energy returns %lld values per sample "
                         "(one per label): return [B, %d] or more", ds->spec, (int)labels[i], (long long)k,
                         ds->n_classes);
            rc = -1;
        } else {
            onehot[i * k + labels[i]] = 1;
        }
    }
    free(labels);
    return rc;
}

int classify_accuracy(struct rt_model *m, const float *x, const int32_t *labels, int64_t n, double *accuracy) {
    size_t b = (size_t)m->batch, d = (size_t)m->dim, k = (size_t)m->n_classes;
    struct rt_program *p = &m->energy;
    float *chunk = calloc(b * d, sizeof(float));
    *accuracy = NAN;
    if (!chunk) return -1;
    rt_program_input(p, RT_IN_X, chunk);
    int64_t right = 0, counted = 0;
    for (int64_t i = 0; i < n; i += (int64_t)b) {
        size_t rows = (size_t)(n - i) < b ? (size_t)(n - i) : b; /* the last chunk is padded with zeros */
        memset(chunk, 0, b * d * sizeof(float));
        memcpy(chunk, x + (size_t)i * d, rows * d * sizeof(float));
        rt_program_run(p, m->threads);
        const float *logits = rt_program_output(p, RT_OUT_LOGITS);
        for (size_t r = 0; logits && r < rows; r++) {
            if (labels[i + (int64_t)r] < 0) continue;
            size_t best = 0;
            for (size_t y = 1; y < k; y++)
                if (logits[r * k + y] > logits[r * k + best]) best = y;
            right += (int32_t)best == labels[i + (int64_t)r];
            counted++;
        }
    }
    free(chunk);
    if (counted) *accuracy = (double)right / (double)counted;
    return 0;
}

int classify_feature_dim(const struct rt_model *m) {
    const struct rt_program *p = &m->features;
    for (int i = 0; rt_program_ready(p) && i < p->n_outs; i++)
        if (strcmp(p->out_names[i], RT_OUT_FEATURES) == 0) return (int)(p->out_numel[i] / m->batch);
    return 0;
}

int classify_features(struct rt_model *m, const float *x, int64_t n, float *out) {
    size_t b = (size_t)m->batch, d = (size_t)m->dim, f = (size_t)classify_feature_dim(m);
    struct rt_program *p = &m->features;
    if (f == 0) return -1;
    float *chunk = calloc(b * d, sizeof(float));
    if (!chunk) return -1;
    rt_program_input(p, RT_IN_X, chunk);
    for (int64_t i = 0; i < n; i += (int64_t)b) {
        size_t rows = (size_t)(n - i) < b ? (size_t)(n - i) : b;
        memset(chunk, 0, b * d * sizeof(float));
        memcpy(chunk, x + (size_t)i * d, rows * d * sizeof(float));
        rt_program_run(p, m->threads);
        memcpy(out + (size_t)i * f, rt_program_output(p, RT_OUT_FEATURES), rows * f * sizeof(float));
    }
    free(chunk);
    return 0;
}
