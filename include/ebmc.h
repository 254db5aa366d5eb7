/* ebmc.h: the public C API of ebmc. The command-line tool is built on this API alone.
 *
 *     struct ebmc_model *m = ebmc_load("models/rings.ebm", stderr);   // parse and check
 *     ebmc_set(m, "steps", "500", stderr);                           // override a train setting
 *     ebmc_compile(m, stderr);                                        // graphs, autodiff, LLVM JIT
 *     struct ebmc_result r;
 *     ebmc_train(m, "runs/rings", stderr, &r);                        // train, write pictures
 *     ebmc_free(m);
 *
 * Functions report errors to the `diag` stream (file:line:col for model text) and return non-zero;
 * none writes to stderr unless given it as diag (the few without a diag, such as ebmc_energy and
 * ebmc_step, return -1 for the reasons their comments give, silently); nothing aborts the process. */
#ifndef EBMC_H
#define EBMC_H

#include <stdint.h>
#include <stdio.h>

#define EBMC_VERSION "0.1.0"

struct ebmc_model;

struct ebmc_result {
    int steps_done;            /* the run's total (a resumed run counts the steps before it too) */
    int steps_start;           /* steps the run had when this call started (0 unless resumed) */
    double seconds, steps_per_sec; /* this call's training time and rate */
    double gflop_per_step, gflops; /* a step's matmul and convolution work (2 flops per multiply-add)
                                  and its rate: compare with the machine's FMA peak (bench/peak) */
    int ranks;                 /* processes of the data-parallel job (1 alone) */
    double allreduce_seconds;  /* of seconds, rank 0's time in the gradient all-reduces (0 alone) */
    int64_t allreduce_bytes;   /* bytes each step's gradient all-reduce sums (0 alone) */
    double nll_start, nll, tv; /* 2-D data: held-out grid NLL in nats (before, after), total variation
                                  (NaN for other data) */
    double energy_data, energy_neg; /* mean energy of the last step's data and negatives */
    double energy_test;        /* mean energy of the held-out samples at the end */
    double accuracy;           /* objective classify: held-out accuracy at the end (NaN otherwise) */
    double fcd, fcd_floor, fcd_ceiling; /* with the fcd_classifier setting: ebmc_score's figures at the end
                                           (NaN without) */
    double mmd2;               /* unbiased MMD^2 of model samples vs held-out data (NaN without out_dir) */
    double acceptance;         /* MALA acceptance rate, 0 for ULA */
    double compile_seconds;    /* JIT compilation of the model's programs */
    double peak_rss_mib;       /* peak resident memory of the process so far */
    int diverged;
    int interrupted; /* stopped early by ebmc_interrupt(); the run folder holds a resumable checkpoint */
};

/* Asks a running ebmc_train or ebmc_resume to stop after its current step, write its checkpoint and
 * report, and return (r->interrupted set). Async-signal-safe: a SIGINT handler may call it. */
void ebmc_interrupt(void);

/* Data-parallel training (docs/parallel.md). ebmc_parallel_start joins the MPI job when mpirun, mpiexec
 * or srun started this process, before anything is compiled; it returns the number of ranks (1 without a
 * launcher), or -1 after printing why not (a launcher started several processes, but this ebmc has no
 * MPI). Then ebmc_train trains one model across the ranks: batch is the global batch, split evenly; rank
 * 0 alone writes the run folder and the progress line. ebmc_parallel_end(failed) leaves the job at exit;
 * failed ends every rank (MPI_Abort), as the others may be waiting for this one. */
int ebmc_parallel_start(FILE *diag);
void ebmc_parallel_end(int failed);
int ebmc_rank(void);                /* 0 without a job */
const char *ebmc_mpi_library(void); /* "Open MPI v4.1.4", or why there is no MPI in this build */

/* Parses and checks a model file (or source text). NULL after printing errors. */
struct ebmc_model *ebmc_load(const char *path, FILE *diag);
struct ebmc_model *ebmc_load_string(const char *source, const char *filename, FILE *diag);
void ebmc_free(struct ebmc_model *m);

/* Sets a train setting (same keys as the model's train block), overriding the file. Settings must be
 * made before ebmc_compile. Returns 0, or -1 after printing the reason. */
int ebmc_set(struct ebmc_model *m, const char *key, const char *value, FILE *diag);
/* A setting's effective value as text (as config.txt writes it) into buf. Returns 1 if it is a number
 * (stored in *number when not NULL), 0 if it is text (data, objective, sampler, data_scale), -1 for an
 * unknown key. */
int ebmc_get_setting(const struct ebmc_model *m, const char *key, char *buf, size_t len, double *number);

/* The energy's input (after ebmc_load): its rank and shape, shape[0] being the batch setting. Any number
 * of points may be evaluated (ebmc_energy); the compiled batch is how many run at once. */
int ebmc_input_shape(const struct ebmc_model *m, int64_t shape[4]);
/* Every argument of the energy, energy(x: [B, ...], t: [B], ...): how many (x is argument 0; the others
 * condition it, as a time-dependent energy's level t does), and argument i's name (into name[len]) and
 * shape with shape[0] the batch setting. ebmc_input returns the rank, or -1 for a bad i. */
int ebmc_n_inputs(const struct ebmc_model *m);
int ebmc_input(const struct ebmc_model *m, int i, char *name, size_t len, int64_t shape[4]);

/* Prints the effective settings as `key = value` lines, or the table of every setting with its meaning. */
void ebmc_print_settings(const struct ebmc_model *m, FILE *out);
void ebmc_print_settings_help(FILE *out);

/* Builds the programs training runs (energy; sampler: E and dE/dx; train: the loss's gradients fed to
 * Adam; langevin when the chains are ULA on E), compiles them with the LLVM JIT and initializes the
 * parameters from the seed. The loss program (loss and gradients) is compiled when first used
 * (ebmc_loss, ebmc_gradients, ebmc_print_stats). Returns 0 or -1. */
int ebmc_compile(struct ebmc_model *m, FILE *diag);

/* Runs every check training runs before compiling, in the same order and with the same messages: the
 * combination of settings, the memory its buffers need, and that the data opens and its samples have the
 * shape of the energy's input (errors at the train block's line).
 * Returns 0, or -1 after printing the reason. */
int ebmc_check(struct ebmc_model *m, FILE *diag);

/* Prints a compilation stage: "ast", "graph" (forward energy), "grad" (the sampler and loss graphs
 * after autodiff), then, for one program after the default passes (ebmc_default_passes()):
 * "opt" (its graph), "fused" (its kernels and the nodes each computes), "kernels" (each kernel as a loop
 * nest over buffers), "llvm-unopt" and "llvm" (LLVM IR before and after default<O3> without loop
 * unrolling, for the host CPU),
 * "asm" (host assembly), "dot" (Graphviz, one cluster per kernel), "profile" (each kernel's time on one
 * thread: compiles and runs the program on made-up inputs). program: "energy", "sampler" (E and
 * dE/dx), "loss" (surrogate loss and parameter gradients), "train" (one training step: those gradients
 * and Adam's update; NULL means this one) or "langevin" (one ULA step on E: x - eta/2 clip(dE/dx) +
 * tau sqrt(eta) noise). print_after: NULL, or
 * a comma-separated list of passes after which the program's graph is printed to out, as LLVM's
 * -print-after does (stage may then be NULL to print only that). Needs no ebmc_compile. Returns 0, or -1
 * for an unknown stage or program. */
int ebmc_emit(struct ebmc_model *m, const char *stage, const char *program, const char *print_after, FILE *out,
              FILE *diag);
/* Compiles the model (if not yet) and prints, per program: graph nodes before and after the passes,
 * kernels without and with fusion, buffer memory without and with fusion and memory planning, and JIT
 * compile time. Returns 0 or -1. */
int ebmc_print_stats(struct ebmc_model *m, FILE *out, FILE *diag);
/* The stage names, comma separated, for --help. */
const char *ebmc_emit_stages(void);

/* Compiles the model's five programs ahead of time into one object file for this CPU, with symbols
 * NAME_energy, NAME_sampler, NAME_loss, NAME_train and NAME_langevin (descriptors of include/ebmc_aot.h),
 * and, unless header_path
 * is NULL, a header declaring them with the order and shapes of their arguments and outputs. name must
 * be a C identifier. Returns 0, or -1 after printing the reason. */
int ebmc_compile_object(struct ebmc_model *m, const char *object_path, const char *header_path, const char *name,
                        FILE *diag);
/* Trains (after ebmc_compile). out_dir (the run folder; NULL: write nothing) receives model.ebm (the model
 * text) and config.txt (every effective setting) first, model.ckpt (parameters, Adam moments, step and
 * the PCD replay buffer) every checkpoint_every steps and at the end (the last good state if training
 * diverged: a non-finite state is never saved), then density.png, samples.png, log.csv and metrics.json.
 * progress: where the progress line goes (NULL: silent). Returns 0 on success, 1 if training diverged
 * (parameters of the last good step are kept), -1 on error; each case is explained on diag. */
int ebmc_train(struct ebmc_model *m, const char *out_dir, FILE *progress, FILE *diag, struct ebmc_result *r);

/* A saved run: loads RUN_DIR/model.ebm with the settings of RUN_DIR/config.txt (which override the train
 * block). Settings may still be changed with ebmc_set before ebmc_compile (a resumed run is bitwise the
 * uninterrupted one only if nothing but "steps" changes). NULL after printing the reason. */
struct ebmc_model *ebmc_load_run(const char *run_dir, FILE *diag);
/* Continues the run in run_dir (a model from ebmc_load_run) from RUN_DIR/model.ckpt up to the "steps"
 * setting in total, as ebmc_train would have: with the same seed and thread count the parameters are
 * bitwise those of an uninterrupted run. Appends to log.csv; rewrites config.txt, pictures and
 * metrics.json. Returns as ebmc_train. */
int ebmc_resume(struct ebmc_model *m, const char *run_dir, FILE *progress, FILE *diag, struct ebmc_result *r);

/* Long sampling work (ebmc_sample, ebmc_write_samples, ebmc_score, ebmc_denoise) prints its progress to
 * out: one line rewritten in place on a terminal, else a line per tenth; NULL: silent (the default).
 * Call after ebmc_compile. */
void ebmc_set_progress(struct ebmc_model *m, FILE *out);

/* n model samples (n * D floats, row-major) from `steps` MALA steps on E (steps < 0: the sample_steps
 * setting) started from uniform noise over the data's value box, keyed by the seed (after ebmc_compile,
 * and usually ebmc_restore). Returns 0, or -1. */
int ebmc_sample(struct ebmc_model *m, int64_t n, int steps, float *out);
/* Draws n samples like ebmc_sample and writes them to path: FILE.png (2-D data: a scatter plot over the
 * data box; images: a grid, 16 to a row) or FILE.npy / FILE.csv (the values, shape [n, sample shape]).
 * Returns 0, or -1 after printing the reason. */
int ebmc_write_samples(struct ebmc_model *m, int64_t n, int steps, const char *path, FILE *diag);

struct ebmc_metrics {
    int64_t step;       /* training steps the parameters have seen */
    double nll;         /* 2-D data: held-out grid NLL, nats (NaN for other data) */
    double tv;          /* 2-D data: total variation to the held-out histogram on the grid */
    double mmd2;        /* 2-D data: unbiased MMD^2, n_samples model samples vs as many held-out points */
    double energy_test; /* mean energy of the held-out samples (up to 1000; 20000 for 2-D) */
    double accuracy;    /* a classifier (objective classify): held-out accuracy on them; NaN otherwise */
};
/* The end-of-training metrics of the current parameters, as metrics.json reports them. Returns 0, or
 * -1 after printing the reason. */
int ebmc_evaluate(struct ebmc_model *m, struct ebmc_metrics *e, FILE *diag);

/* Energies of the points in a tensor file (data_path: .npy, .csv or IDX; n samples of the energy's input
 * shape, or n rows of its value count, in the units training saw, e.g. [0, 1] for 8-bit images), written to
 * out_path (FILE.npy or FILE.csv, shape [n]; NULL: one per line to stdout), and with grad_path dE/dx
 * (shape as the points). Returns 0, or -1 after printing "path: problem". */
int ebmc_energy_file(struct ebmc_model *m, const char *data_path, const char *out_path, const char *grad_path,
                     FILE *diag);

/* Denoising (objectives.md): held-out images corrupted with Gaussian noise of standard deviation sigma
 * are restored by MALA on U_y(x) = E(x) + |y - x|^2 / (2 sigma^2) started at y (the chain's mean over its
 * last half), or with map = 1 by descent on U_y, `steps` steps of size step_size (0: 0.1 sigma^2 for MALA,
 * 0.5 sigma^2 for descent). The first 100 held-out images (fewer if the held-out set is smaller than
 * 100 + n) choose a Gaussian filter's width (the classical baseline); the next n are scored. Writes png_path (clean, noisy, filter, restored) and json_path if not
 * NULL. PSNR is on the data's range. Returns 0, or -1 after printing the reason. */
struct ebmc_quality {
    double psnr_mean, psnr_sd, ssim_mean, ssim_sd;
};
struct ebmc_denoise_result {
    int64_t n;
    struct ebmc_quality noisy, filter, model;
    double filter_sigma; /* the filter's, in pixels */
    double acceptance, seconds;
    int level;          /* a time model's MALA: annealed from this level of its ladder; -1 otherwise */
    double level_sigma; /* that level's noise, sd_t / mean_t */
};
int ebmc_denoise(struct ebmc_model *m, double sigma, int steps, int map, double step_size, int64_t n,
                 const char *png_path, const char *json_path, struct ebmc_denoise_result *r, FILE *diag);

/* Scoring samples without Inception weights: the Fréchet classifier distance (FCD, never FID) between
 * the penultimate features of a classifier ebmc trained itself (cls: a compiled model with objective =
 * classify and a `features` function, its parameters restored) for n samples of m (ebmc_sample's, so
 * annealed for a time model; steps < 0: the sample_steps setting) and for the first n held-out samples of
 * m's data. Beside it, with the same features: the floor (n training samples against the held-out ones:
 * what real data scores) and the ceiling (n draws of uniform noise over the data's value box against
 * the held-out ones). n must be at least 2 and at most the held-out and training parts' sizes; cls must
 * take m's data's sample shape with the same data_scale. Returns 0, or -1 after printing the reason. */
struct ebmc_score {
    int64_t n;              /* vectors in each set */
    int features;           /* the classifier's feature width F */
    int steps;              /* MALA steps of the samples (per level for a time model) */
    int levels;             /* a time model's samples are annealed over this many levels; 0 otherwise */
    double fcd;             /* model samples vs held-out */
    double floor, ceiling;  /* training vs held-out; uniform noise vs held-out */
    double accuracy;        /* the classifier's accuracy on the n held-out samples of m's data (NaN if unlabelled) */
    double sample_seconds;  /* drawing the model samples */
};
int ebmc_score(struct ebmc_model *m, struct ebmc_model *cls, int64_t n, int steps, struct ebmc_score *s, FILE *diag);

/* Saves parameters and optimizer state (atomically: temporary file, fsync, rename), or restores them
 * into a compiled model with the same parameters. Returns 0, or -1 after printing "path: reason". */
int ebmc_save(const struct ebmc_model *m, const char *path, FILE *diag);
int ebmc_restore(struct ebmc_model *m, const char *path, FILE *diag);

/* Energies of n points (x: n * D floats, row-major) with the current parameters (after ebmc_compile),
 * and with ebmc_energy_grad also dE/dx (n * D floats). */
int ebmc_energy(struct ebmc_model *m, const float *x, float *energy, int64_t n);
int ebmc_energy_grad(struct ebmc_model *m, const float *x, float *energy, float *grad, int64_t n);

/* One training step without the update, on a data batch the caller supplies (x: batch * D floats):
 * negatives from the objective's sampler (noise keyed by `step`), then the surrogate loss and its
 * gradient, readable through ebmc_param_grad. For checks of objectives against closed forms. The loss
 * program is compiled on first use; its errors, and a model not compiled, are reported on diag. */
int ebmc_gradients(struct ebmc_model *m, const float *x, int64_t step, double *loss, FILE *diag);
/* MALA acceptance rate of the chains run by ebmc_gradients so far (0 if none). */
double ebmc_acceptance(const struct ebmc_model *m);

/* The two halves of ebmc_gradients, for checks that objectives differ only in their negatives:
 * ebmc_negatives draws the objective's negatives for the data batch x into xneg (batch * D floats; noise
 * keyed by `step`; pcd advances its replay buffer), and ebmc_loss runs the loss program, which is the
 * same for every objective, on x and the given negatives (gradients through ebmc_param_grad). */
int ebmc_negatives(struct ebmc_model *m, const float *x, int64_t step, float *xneg);
int ebmc_loss(struct ebmc_model *m, const float *x, const float *xneg, double *loss, FILE *diag);
/* Training step t = 1, 2, ... on the data batch x and the negatives xneg (batch * D floats each): the
 * train program computes the surrogate loss's gradients and applies Adam at step t (its bias
 * corrections) to the parameters and moments, and the model has then seen t steps (ebmc_save). Returns
 * 1 after an update, 0 if the update was not finite (parameters and moments unchanged), -1 if the model
 * is not compiled, t < 1, or out of memory. */
int ebmc_step(struct ebmc_model *m, const float *x, const float *xneg, int64_t t, double *loss);
/* pcd: the replay buffer of persistent chains, n points of D floats, after the steps run through
 * ebmc_gradients/ebmc_negatives (NULL and n = 0 before the first). */
const float *ebmc_replay_buffer(const struct ebmc_model *m, int64_t *n);

/* Parameters by index: name, element count, a pointer to their values (read or write), their gradient
 * (after ebmc_loss or ebmc_gradients) and Adam's moments (which = 1: m, 2: v; read or write). */
int ebmc_n_params(const struct ebmc_model *m);
/* The index of the parameter with this name, or -1; its rank and shape (-1 for a bad index). Every
 * accessor returns NULL, 0 or -1 for an index out of range or a model not compiled. */
int ebmc_find_param(const struct ebmc_model *m, const char *name);
int ebmc_param_shape(const struct ebmc_model *m, int i, int64_t shape[4]);
const char *ebmc_param_name(const struct ebmc_model *m, int i);
int64_t ebmc_param_numel(const struct ebmc_model *m, int i);
float *ebmc_param_data(struct ebmc_model *m, int i);
const float *ebmc_param_grad(const struct ebmc_model *m, int i);
float *ebmc_param_moment(struct ebmc_model *m, int i, int which);

/* Graph passes on the textual IR (docs/ir.md), as `ebmc opt` runs them. Parses ir_text (errors are
 * reported as filename:line:col), runs the comma-separated pipeline `passes` (NULL: the default, ""
 * none), prints the graph after each run of a pass named in the comma-separated print_after (NULL: none)
 * to diag, as LLVM's -print-after does, and the resulting graph to out. Returns 0, or -1 after printing
 * the reason to diag. */
int ebmc_opt_text(const char *ir_text, const char *filename, const char *passes, const char *print_after, FILE *out,
                  FILE *diag);
/* The default pipeline, "simplify,cse,dce". */
const char *ebmc_default_passes(void);
/* Every pass with a one-line summary, one per line, for --help. */
void ebmc_print_passes(FILE *out);

#endif
