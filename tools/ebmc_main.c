/* ebmc_main.c: the `ebmc` command line. Uses only the public API (include/ebmc.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ebmc.h"
#include "support.h"

static const char usage[] =
    "usage: ebmc <command> [options]\n"
    "\n"
    "ebmc compiles energy-based models written in its model language (docs/dsl.md) to native code\n"
    "through LLVM and trains them on the CPU.\n"
    "\n"
    "commands:\n"
    "  train MODEL.ebm     train a model; writes samples.png (and density.png for 2-D), log.csv,\n"
    "                      metrics.json, model.ckpt (train --resume RUN_DIR continues a run)\n"
    "  sample RUN_DIR      draw samples from a trained model into FILE.png, FILE.npy or FILE.csv\n"
    "  eval RUN_DIR        recompute a saved run's metrics (held-out energy; 2-D: NLL, TV, MMD^2)\n"
    "  energy RUN_DIR F    the energies (and --grad dE/dx) of the samples in a tensor file\n"
    "  denoise RUN_DIR     restore noisy held-out images with the model; PSNR and SSIM\n"
    "  score RUN_DIR       FCD of the model's samples on a classifier's features (--classifier RUN_DIR)\n"
    "  compile MODEL.ebm   print a compilation stage (--emit=STAGE)\n"
    "  opt FILE.ir         run graph passes on a textual IR file (--passes=a,b,c)\n"
    "  check MODEL.ebm     parse and check a model; prints errors or nothing\n"
    "\n"
    "options:\n"
    "  -h, --help          show this help (ebmc COMMAND --help for a command's options)\n"
    "  --version           print the version and the MPI library built in, if any\n"
    "\n"
    "Under mpirun or srun, 'ebmc train' trains one model across the processes (docs/parallel.md).\n";

static const char train_usage[] =
    "usage: ebmc train MODEL.ebm [options]\n"
    "       ebmc train --resume RUN_DIR [--steps N] [--quiet]\n"
    "\n"
    "Trains the model with its train block's settings, overridden by these options, and writes into the\n"
    "output folder: model.ebm and config.txt (the model and every effective setting), model.ckpt\n"
    "(parameters, Adam moments, step, PCD replay buffer; every checkpoint_every steps and at the end; a\n"
    "diverged step never overwrites it), density.png (model density next to the data), samples.png (data,\n"
    "the last negatives, model samples), log.csv and metrics.json (held-out grid NLL in nats, TV, MMD^2).\n"
    "A classifier (objective classify, an energy of one value per label) gets its held-out accuracy in\n"
    "log.csv and metrics.json instead of pictures.\n"
    "\n"
    "--resume RUN_DIR continues a run from RUN_DIR/model.ckpt with RUN_DIR's model and settings up to\n"
    "N steps in total (default: the run's steps setting), appending to log.csv and rewriting the\n"
    "pictures and metrics.json. With the same seed and thread count the parameters are bitwise those of\n"
    "an uninterrupted run.\n"
    "\n"
    "options:\n"
    "  --resume RUN_DIR    continue the run saved in RUN_DIR (only --steps and --quiet go with it)\n"
    "  --objective NAME    cd | sr-cd | pcd | dcd-ve | dcd-vp | time-dcd-ve | time-dcd-vp | time-cd | classify\n"
    "  --steps N           parameter updates\n"
    "  --batch B           data points and negatives per step\n"
    "  --lr X              Adam learning rate\n"
    "  --seed S            random seed\n"
    "  --threads T         worker threads (default: all cores)\n"
    "  --out DIR           output folder (default: runs/<model name>)\n"
    "  --set KEY=VALUE     any setting below (repeatable)\n"
    "  --quiet             no progress line\n"
    "  --force             train into --out even if it holds a run (its files are replaced)\n"
    "\n"
    "Ctrl-C (SIGINT) or SIGTERM stops after the current step, writes the checkpoint and the pictures and\n"
    "says how to resume; a second one exits at once. A run folder is locked while a training writes it.\n"
    "\n"
    "settings (train block keys and --set KEY=VALUE):\n";

static const char compile_usage[] =
    "usage: ebmc compile MODEL.ebm [--emit=STAGE] [--program=NAME] [--print-after=PASS[,PASS...]]\n"
    "                              [--stats] [--set KEY=VALUE ...]\n"
    "       ebmc compile MODEL.ebm -o MODEL.o [--header MODEL.h] [--name NAME] [--set KEY=VALUE ...]\n"
    "\n"
    "With -o, compiles the model's five programs ahead of time into an object file for this CPU, with\n"
    "descriptors NAME_energy, NAME_sampler, NAME_loss, NAME_train and NAME_langevin (default NAME: the\n"
    "model file's name) that include/ebmc_aot.h runs; --header writes their declarations with argument\n"
    "and output shapes.\n"
    "The batch size is fixed at compile time (--set batch=N). See examples/aot/.\n"
    "\n"
    "Otherwise prints compilation stages to standard output. Stages:\n"
    "  ast         the parsed model\n"
    "  graph       the forward energy graph IR\n"
    "  grad        the graphs after autodiff: the sampler program (E, dE/dx) and the loss program\n"
    "              (surrogate loss and parameter gradients)\n"
    "and, for one program after the default passes (simplify,cse,dce):\n"
    "  opt         its graph IR\n"
    "  fused       its kernels after fusion, with the nodes each computes\n"
    "  kernels     each kernel as a loop nest over buffers (bN: buffer slot N)\n"
    "  llvm-unopt  LLVM IR of its kernels before optimization\n"
    "  llvm        the same after optimization (default<O3>, O1 for matmul and conv kernels, without\n"
    "              loop unrolling, host CPU)\n"
    "  asm         host assembly\n"
    "  dot         Graphviz: one cluster per kernel (render with `dot -Tsvg`)\n"
    "  profile     compile and run it on made-up inputs: each kernel's time on one thread, and the\n"
    "              time LLVM took to compile it (cold: the compile cache is not read)\n"
    "\n"
    "options:\n"
    "  --program=NAME          train (default: one training step on [2B] points: the loss's parameter\n"
    "                          gradients and Adam's update, fused), loss (loss and parameter gradients),\n"
    "                          sampler (E and dE/dx), energy, or langevin (one ULA step on E)\n"
    "  --print-after=PASSES    print the program's graph after each named pass of the pipeline\n"
    "  --stats                 compile the model's programs and print per program: nodes before and after\n"
    "                          passes, kernels without and with fusion, buffer memory without and with\n"
    "                          fusion and memory planning, JIT compile time\n";

static const char check_usage[] =
    "usage: ebmc check MODEL.ebm\n"
    "\n"
    "Runs every check train runs before compiling, with the same messages: the model, its shapes, its\n"
    "train settings and how they combine, the memory its buffers need, and that its data opens and has the\n"
    "shape of the energy's input. Prints errors (file:line:col) and exits 1, or prints nothing and exits 0.\n";

static int is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

/* Accepts `--name value` and `--name=value`; returns the value or NULL if argv[*i] is not --name. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != 0) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* runs/<file name without directory and .ebm> */
static void default_out_dir(char *buf, size_t len, const char *model_path) {
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".ebm") == 0) n -= 4;
    snprintf(buf, len, "runs/%.*s", (int)n, base);
}

/* Settings given on the command line, applied after the model file's own, in order. */
struct cli_settings {
    int n;
    char keys[256][64];
    const char *values[256];
};

static int add_setting(struct cli_settings *s, const char *cmd, const char *key, size_t key_len, const char *value) {
    if (s->n == 256 || key_len == 0 || key_len >= sizeof s->keys[0]) {
        fprintf(stderr, "ebmc %s: bad setting '%.*s'\n", cmd, (int)key_len, key);
        return -1;
    }
    snprintf(s->keys[s->n], sizeof s->keys[0], "%.*s", (int)key_len, key);
    s->values[s->n++] = value;
    return 0;
}

/* --set KEY=VALUE */
static int add_set_flag(struct cli_settings *s, const char *cmd, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq) {
        fprintf(stderr, "ebmc %s: --set takes KEY=VALUE, got '%s'\n", cmd, kv);
        return -1;
    }
    return add_setting(s, cmd, kv, (size_t)(eq - kv), eq + 1);
}

static int apply_settings(struct ebmc_model *m, const struct cli_settings *s) {
    for (int k = 0; k < s->n; k++)
        if (ebmc_set(m, s->keys[k], s->values[k], stderr) != 0) return -1;
    return 0;
}

/* The first SIGINT, SIGTERM or SIGUSR1 asks the training to stop after its step (and checkpoint); a
 * second one ends the process at once. SIGUSR1 is the one mpirun forwards to every rank of a job (it
 * ends the ranks at once on SIGINT and SIGTERM): docs/parallel.md. */
static volatile sig_atomic_t signals_seen;
static void on_signal(int sig) {
    if (signals_seen++) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    ebmc_interrupt();
}
static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* What a finished training call measured, and the files of the run folder. */
static void print_result(const struct ebmc_result *r, const char *run_dir) {
    int steps = r->steps_done - r->steps_start;
    if (r->ranks > 1 && steps > 0)
        fprintf(stderr, "%d ranks: gradient all-reduce of %.1f KiB, %.3f ms a step, %.1f%% of rank 0's step time\n",
                r->ranks, (double)r->allreduce_bytes / 1024, 1e3 * r->allreduce_seconds / steps,
                r->seconds > 0 ? 100 * r->allreduce_seconds / r->seconds : 0.0);
    if (r->nll == r->nll)
        fprintf(stderr, "held-out NLL %.3f -> %.3f nats, TV %.3f, MMD^2 %.4g%s\n", r->nll_start, r->nll, r->tv, r->mmd2,
                r->diverged ? " (diverged)" : "");
    else if (r->accuracy == r->accuracy) /* a classifier: no negatives */
        fprintf(stderr, "held-out accuracy %.4f, mean marginal energy -log sum_y exp(-E(x, y)) held-out %.4g%s\n",
                r->accuracy, r->energy_test, r->diverged ? " (diverged)" : "");
    else
        fprintf(stderr, "mean energy: held-out %.4g, last batch %.4g, its negatives %.4g%s\n", r->energy_test,
                r->energy_data, r->energy_neg, r->diverged ? " (diverged)" : "");
    if (r->fcd == r->fcd)
        fprintf(stderr, "FCD (on the fcd_classifier's features, not FID) %.4g: floor %.4g (training images), ceiling "
                        "%.4g (noise)\n", r->fcd, r->fcd_floor, r->fcd_ceiling);
    static const char *const files[] = {"model.ebm", "config.txt", "model.ckpt", "density.png", "samples.png",
                                        "log.csv", "metrics.json"};
    fprintf(stderr, "wrote %s/{", run_dir);
    int first = 1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", run_dir, files[i]);
        if (stat(path, &st) == 0) fprintf(stderr, "%s%s", first ? "" : ",", files[i]), first = 0;
    }
    fprintf(stderr, "}\n");
    if (r->interrupted && r->ranks > 1)
        fprintf(stderr, "interrupted at step %d: continue with 'mpirun -np %d ebmc train --resume %s'\n", r->steps_done,
                r->ranks, run_dir);
    else if (r->interrupted)
        fprintf(stderr, "interrupted at step %d: continue with 'ebmc train --resume %s'\n", r->steps_done, run_dir);
}

static int cmd_resume(const char *run_dir, const char *steps, int quiet) {
    struct ebmc_model *m = ebmc_load_run(run_dir, stderr);
    if (!m) return 1;
    if (steps && ebmc_set(m, "steps", steps, stderr) != 0) {
        ebmc_free(m);
        return 2;
    }
    int lead = ebmc_rank() == 0; /* in an MPI job, rank 0 alone reports */
    quiet |= !lead;
    if (!quiet) fprintf(stderr, "compiling %s/model.ebm\n", run_dir);
    struct ebmc_result r;
    catch_signals();
    int rc = ebmc_compile(m, stderr) != 0 ? -1 : ebmc_resume(m, run_dir, quiet ? NULL : stderr, stderr, &r);
    if (rc >= 0 && lead && r.steps_done > r.steps_start) {
        fprintf(stderr, "%s: steps %d -> %d in %.1fs (%.0f steps/s)\n", run_dir, r.steps_start, r.steps_done, r.seconds,
                r.steps_per_sec);
        print_result(&r, run_dir);
    }
    ebmc_free(m);
    return rc == 0 ? (r.interrupted ? 130 : 0) : 1;
}

static int cmd_train(int argc, char **argv) {
    const char *model_path = NULL, *out = NULL, *resume = NULL, *steps = NULL;
    int quiet = 0, other_flags = 0, force = 0;
    static struct cli_settings set;
    for (int i = 0; i < argc; i++) {
        static const char *const direct[] = {"objective", "steps", "batch", "lr", "seed", "threads"};
        const char *v;
        int missing = 0, matched = 0;
        if (is_help(argv[i])) {
            fputs(train_usage, stdout);
            ebmc_print_settings_help(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "--force") == 0) {
            *(argv[i][2] == 'q' ? &quiet : &force) = 1;
            continue;
        }
        if ((v = flag_value(argc, argv, &i, "--resume", &missing))) {
            resume = v;
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--out", &missing))) {
            out = v, other_flags = 1;
            continue;
        }
        for (int k = 0; k < 6 && !matched && !missing; k++) {
            char flag[32];
            snprintf(flag, sizeof flag, "--%s", direct[k]);
            if ((v = flag_value(argc, argv, &i, flag, &missing))) {
                if (add_setting(&set, "train", direct[k], strlen(direct[k]), v)) return 2;
                if (k == 1) steps = v;
                else other_flags = 1;
                matched = 1;
            }
        }
        if (matched) continue;
        if (!missing && (v = flag_value(argc, argv, &i, "--set", &missing))) {
            if (add_set_flag(&set, "train", v)) return 2;
            other_flags = 1;
            continue;
        }
        if (missing) {
            fprintf(stderr, "ebmc train: %s needs a value\n", argv[i]);
            return 2;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "ebmc train: unknown option '%s' (see 'ebmc train --help')\n", argv[i]);
            return 2;
        }
        if (model_path) {
            fprintf(stderr, "ebmc train: one model at a time ('%s' and '%s')\n", model_path, argv[i]);
            return 2;
        }
        model_path = argv[i];
    }
    if (resume) {
        /* A resumed run keeps its own settings: anything else would not continue the same run. */
        if (model_path || other_flags) {
            fprintf(stderr, "ebmc train: --resume continues RUN_DIR with its own model and settings; only --steps "
                            "and --quiet go with it\n");
            return 2;
        }
        return cmd_resume(resume, steps, quiet);
    }
    if (!model_path) {
        fprintf(stderr, "ebmc train: no model file given\n%s", train_usage);
        return 2;
    }
    struct ebmc_model *m = ebmc_load(model_path, stderr);
    if (!m) return 1;
    if (apply_settings(m, &set) != 0) {
        ebmc_free(m);
        return 2;
    }
    char out_buf[4096], ckpt[4200];
    if (!out) default_out_dir(out_buf, sizeof out_buf, model_path), out = out_buf;
    snprintf(ckpt, sizeof ckpt, "%s/model.ckpt", out);
    struct stat st;
    if (!force && stat(ckpt, &st) == 0) {
        fprintf(stderr,
                "ebmc train: %s already holds a run; continue it with 'ebmc train --resume %s', or start over with "
                "--force (or another --out)\n",
                out, out);
        ebmc_free(m);
        return 1;
    }
    char err[4400];
    if (make_dirs(out, err, sizeof err) != 0) {
        fprintf(stderr, "ebmc train: %s\n", err);
        ebmc_free(m);
        return 1;
    }
    int lead = ebmc_rank() == 0; /* in an MPI job, rank 0 alone reports */
    quiet |= !lead;
    if (!quiet) fprintf(stderr, "compiling %s\n", model_path);
    if (ebmc_compile(m, stderr) != 0) {
        ebmc_free(m);
        return 1;
    }
    struct ebmc_result r;
    catch_signals();
    int rc = ebmc_train(m, out, quiet ? NULL : stderr, stderr, &r);
    if (rc >= 0 && lead) {
        fprintf(stderr, "%s: %d steps in %.1fs (%.1f steps/s, %.1f GFLOP/s in matmuls and convolutions, JIT compile "
                "%.2fs, peak memory %.0f MiB)\n", model_path, r.steps_done, r.seconds, r.steps_per_sec, r.gflops,
                r.compile_seconds, r.peak_rss_mib);
        print_result(&r, out);
    }
    ebmc_free(m);
    return rc == 0 ? (r.interrupted ? 130 : 0) : 1;
}

static int cmd_compile(int argc, char **argv) {
    const char *model_path = NULL, *stage = NULL, *program = NULL, *print_after = NULL;
    const char *object = NULL, *header = NULL, *name = NULL;
    int stats = 0;
    static struct cli_settings set;
    const struct {
        const char *flag;
        const char **value;
    } valued[] = {{"--emit", &stage}, {"--program", &program}, {"--print-after", &print_after},
                  {"-o", &object},    {"--header", &header},   {"--name", &name}};
    for (int i = 0; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (is_help(argv[i])) {
            fputs(compile_usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--stats") == 0) {
            stats = 1;
            continue;
        }
        int matched = 0;
        for (size_t f = 0; f < sizeof valued / sizeof valued[0] && !matched && !missing; f++)
            if ((v = flag_value(argc, argv, &i, valued[f].flag, &missing))) *valued[f].value = v, matched = 1;
        if (matched) continue;
        if (!missing && (v = flag_value(argc, argv, &i, "--set", &missing))) {
            if (add_set_flag(&set, "compile", v)) return 2;
            continue;
        }
        if (missing) {
            fprintf(stderr, "ebmc compile: %s needs a value\n", argv[i]);
            return 2;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "ebmc compile: unknown option '%s' (see 'ebmc compile --help')\n", argv[i]);
            return 2;
        }
        model_path = argv[i];
    }
    if ((header || name) && !object) {
        fprintf(stderr, "ebmc compile: --header and --name go with -o FILE.o\n");
        return 2;
    }
    if (!model_path || (!stage && !print_after && !stats && !object)) {
        fprintf(stderr, "ebmc compile: %s\n%s",
                !model_path ? "no model file given" : "nothing to do: give --emit=STAGE, --print-after, --stats or -o",
                compile_usage);
        return 2;
    }
    struct ebmc_model *m = ebmc_load(model_path, stderr);
    if (!m) return 1;
    int rc = apply_settings(m, &set);
    if (rc == 0 && (stage || print_after)) rc = ebmc_emit(m, stage, program, print_after, stdout, stderr);
    if (rc == 0 && stats) rc = ebmc_print_stats(m, stdout, stderr);
    if (rc == 0 && object) {
        char base[80];
        if (!name) { /* the model file's name, as a C identifier */
            const char *slash = strrchr(model_path, '/'), *file = slash ? slash + 1 : model_path;
            int len = (int)strcspn(file, ".");
            snprintf(base, sizeof base, "%s%.*s", len == 0 || (file[0] >= '0' && file[0] <= '9') ? "m" : "",
                     len < 63 ? len : 63, file);
            for (char *c = base; *c; c++)
                if (!(*c == '_' || ((*c | 32) >= 'a' && (*c | 32) <= 'z') || (*c >= '0' && *c <= '9'))) *c = '_';
            name = base;
        }
        rc = ebmc_compile_object(m, object, header, name, stderr);
    }
    ebmc_free(m);
    return rc == 0 ? 0 : 1;
}

static const char opt_usage[] =
    "usage: ebmc opt FILE.ir [--passes=a,b,c] [--print-after=PASS[,PASS...]]\n"
    "\n"
    "Parses a graph in the textual IR (docs/ir.md; FILE '-' reads standard input), runs the passes in\n"
    "order and prints the resulting graph to standard output. --passes defaults to simplify,cse,dce; an\n"
    "empty list only parses and prints. --print-after prints the graph after each run of the named passes\n"
    "to standard error. Passes:\n";

/* The largest IR file `ebmc opt` reads: far above any program's graph, far below any machine's memory. */
#define OPT_MAX_BYTES ((size_t)64 << 20)

static int cmd_opt(int argc, char **argv) {
    const char *path = NULL, *passes = NULL, *print_after = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (is_help(argv[i])) {
            fputs(opt_usage, stdout);
            ebmc_print_passes(stdout);
            return 0;
        }
        if ((v = flag_value(argc, argv, &i, "--passes", &missing))) {
            passes = v;
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--print-after", &missing))) {
            print_after = v;
            continue;
        }
        if (missing) {
            fprintf(stderr, "ebmc opt: %s needs a value\n", argv[i]);
            return 2;
        }
        if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(stderr, "ebmc opt: unknown option '%s' (see 'ebmc opt --help')\n", argv[i]);
            return 2;
        }
        if (path) {
            fprintf(stderr, "ebmc opt: one file at a time ('%s' and '%s')\n", path, argv[i]);
            return 2;
        }
        path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "ebmc opt: no IR file given\n%s", opt_usage);
        ebmc_print_passes(stderr);
        return 2;
    }
    int is_stdin = strcmp(path, "-") == 0;
    char err[4200];
    size_t len = 0;
    char *text = file_read_all(is_stdin ? "/dev/stdin" : path, OPT_MAX_BYTES, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "ebmc opt: %s\n", err);
        return 1;
    }
    int rc = 1;
    if (strlen(text) != len) fprintf(stderr, "ebmc opt: %s: the file contains a NUL byte\n", path);
    else rc = ebmc_opt_text(text, is_stdin ? "<stdin>" : path, passes, print_after, stdout, stderr) == 0 ? 0 : 1;
    free(text);
    return rc;
}

static const char sample_usage[] =
    "usage: ebmc sample RUN_DIR --n N [--steps K] --out FILE.png|FILE.npy|FILE.csv\n"
    "\n"
    "Loads the run's model (RUN_DIR/model.ebm, config.txt) and parameters (RUN_DIR/model.ckpt), draws N\n"
    "samples with K MALA steps on the energy (default: the run's sample_steps) from uniform noise over\n"
    "the data's value box, and writes a picture (.png: a scatter plot of 2-D points, a grid of images) or\n"
    "the values (.npy, or .csv with one sample per row).\n";

static const char eval_usage[] =
    "usage: ebmc eval RUN_DIR\n"
    "\n"
    "Recomputes the metrics of a saved run from RUN_DIR/model.ckpt with the run's settings and prints\n"
    "them: held-out grid NLL (nats), total variation to the held-out histogram, and the unbiased MMD^2\n"
    "between n_samples model samples (sample_steps MALA steps) and as many held-out points (kernel: sum of\n"
    "Gaussians with bandwidths 0.1, 0.2, 0.5, 1, 2). Also writes them to RUN_DIR/eval.json.\n";

/* A saved run's model with its parameters, ready to sample or evaluate. */
static struct ebmc_model *open_run(const char *run_dir) {
    struct ebmc_model *m = ebmc_load_run(run_dir, stderr);
    if (!m) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.ckpt", run_dir);
    if (ebmc_compile(m, stderr) != 0 || ebmc_restore(m, path, stderr) != 0) {
        ebmc_free(m);
        return NULL;
    }
    ebmc_set_progress(m, stderr); /* sampling a few thousand chains takes minutes */
    return m;
}

static int parse_count(const char *cmd, const char *flag, const char *v, long lo, long *out) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end || errno || n < lo) {
        fprintf(stderr, "ebmc %s: %s expects a whole number >= %ld, got '%s'\n", cmd, flag, lo, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int cmd_sample(int argc, char **argv) {
    const char *run_dir = NULL, *out = NULL;
    long n = -1, steps = -1;
    for (int i = 0; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (is_help(argv[i])) {
            fputs(sample_usage, stdout);
            return 0;
        }
        if ((v = flag_value(argc, argv, &i, "--n", &missing))) {
            if (parse_count("sample", "--n", v, 1, &n)) return 2;
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--steps", &missing))) {
            if (parse_count("sample", "--steps", v, 0, &steps)) return 2;
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--out", &missing))) {
            out = v;
            continue;
        }
        if (missing) {
            fprintf(stderr, "ebmc sample: %s needs a value\n", argv[i]);
            return 2;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "ebmc sample: unknown option '%s' (see 'ebmc sample --help')\n", argv[i]);
            return 2;
        }
        if (run_dir) {
            fprintf(stderr, "ebmc sample: one run folder at a time ('%s' and '%s')\n", run_dir, argv[i]);
            return 2;
        }
        run_dir = argv[i];
    }
    if (!run_dir || n < 0 || !out) {
        const char *what = !run_dir ? "no run folder given" : n < 0 ? "no --n N given" : "no --out FILE given";
        fprintf(stderr, "ebmc sample: %s\n%s", what, sample_usage);
        return 2;
    }
    struct ebmc_model *m = open_run(run_dir);
    if (!m) return 1;
    int rc = ebmc_write_samples(m, n, (int)steps, out, stderr);
    if (rc == 0) fprintf(stderr, "wrote %ld samples to %s\n", n, out);
    ebmc_free(m);
    return rc == 0 ? 0 : 1;
}

static int cmd_eval(int argc, char **argv) {
    if (argc >= 1 && is_help(argv[0])) {
        fputs(eval_usage, stdout);
        return 0;
    }
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "ebmc eval: expected one run folder\n%s", eval_usage);
        return 2;
    }
    struct ebmc_model *m = open_run(argv[0]);
    if (!m) return 1;
    struct ebmc_metrics e;
    int rc = ebmc_evaluate(m, &e, stderr);
    ebmc_free(m);
    if (rc != 0) return 1;
    printf("step %lld\nenergy_test %.6g\n", (long long)e.step, e.energy_test);
    if (e.accuracy == e.accuracy) printf("accuracy %.6f\n", e.accuracy);
    if (e.nll == e.nll) printf("nll %.6f\ntv %.6f\nmmd2 %.6g\n", e.nll, e.tv, e.mmd2);
    char path[4096], err[4400];
    snprintf(path, sizeof path, "%s/eval.json", argv[0]);
    struct atomic_file af;
    if (atomic_open(&af, path, "w", err, sizeof err) != 0) {
        fprintf(stderr, "ebmc eval: %s\n", err);
        return 1;
    }
    struct json j; /* NaN (a diverged model) is not JSON: the writer makes it null */
    json_begin(&j, af.f);
    json_object(&j);
    json_key(&j, "step"), json_int(&j, e.step);
    json_key(&j, "energy_test"), json_number(&j, e.energy_test);
    json_key(&j, "accuracy"), json_number(&j, e.accuracy);
    json_key(&j, "nll"), json_number(&j, e.nll);
    json_key(&j, "tv"), json_number(&j, e.tv);
    json_key(&j, "mmd2"), json_number(&j, e.mmd2);
    json_key(&j, "mmd2_note");
    json_string(&j, "unbiased MMD^2, model samples vs as many held-out points; kernel: sum of Gaussians with "
                    "bandwidths 0.1, 0.2, 0.5, 1, 2");
    json_end(&j);
    json_finish(&j);
    if (atomic_commit(&af, err, sizeof err) != 0) {
        fprintf(stderr, "ebmc eval: %s\n", err);
        return 1;
    }
    return 0;
}

static const char energy_usage[] =
    "usage: ebmc energy RUN_DIR POINTS [--out FILE.npy|FILE.csv] [--grad FILE.npy|FILE.csv]\n"
    "\n"
    "Scores your own data with a trained model: the energy E(x) of every sample in the tensor file POINTS\n"
    "(.npy of float32 or uint8, .csv rows, or IDX; samples of the model's input shape, or rows of its value\n"
    "count, in the units training saw: [0, 1] for 8-bit images under data_scale = auto). Prints one energy\n"
    "per line, or writes them to --out (shape [n]); --grad also writes dE/dx (the shape of POINTS).\n";

static const char denoise_usage[] =
    "usage: ebmc denoise RUN_DIR --noise SIGMA [--steps K] [--method mala|map] [--step-size ETA] [--n N]\n"
    "                    [--out FILE.png]\n"
    "\n"
    "Corrupts held-out images of the run's data with Gaussian noise of standard deviation SIGMA (in the\n"
    "data's units), restores them with the trained energy as prior, and reports PSNR (dB, on the data's\n"
    "range) and SSIM, mean +- sd over N images (default 500), beside the noisy input and a Gaussian filter\n"
    "whose width is chosen on up to 100 other held-out images. mala (default): K MALA steps (default 100) on\n"
    "U_y(x) = E(x) + |y - x|^2 / (2 SIGMA^2) from y, the restoration being the chain's mean over its last\n"
    "half; map: K steps of descent on U_y. ETA: the step (default 0.1 SIGMA^2 for mala, 0.5 SIGMA^2 for\n"
    "map). A time model's mala starts at the level of its ladder whose noise is nearest SIGMA and anneals\n"
    "down to level 0, K steps a level at each level's own step (ETA unused); the restoration is level 0's\n"
    "chain mean over its last half. Writes the picture (default RUN_DIR/denoise-SIGMA.png: clean, noisy,\n"
    "filter, restored) and every figure to the same name with .json.\n";

/* Parses `RUN_DIR [POSITIONAL...] --flag value ...` for the commands that take a run folder: fills
 * positional[0..n_pos) in order and each flag's value. Returns 0, 1 after printing --help, or 2 after
 * printing the problem. */
struct flag_arg {
    const char *name;
    const char **value;
};
static int parse_run_args(const char *cmd, const char *usage_text, int argc, char **argv, const char **positional,
                          int n_pos, const struct flag_arg *flags, int n_flags) {
    int got = 0;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_text, stdout);
            return 1;
        }
        int matched = 0, missing = 0;
        for (int f = 0; f < n_flags && !matched && !missing; f++) {
            const char *v = flag_value(argc, argv, &i, flags[f].name, &missing);
            if (v) *flags[f].value = v, matched = 1;
        }
        if (missing) {
            fprintf(stderr, "ebmc %s: %s needs a value\n", cmd, argv[i]);
            return 2;
        }
        if (matched) continue;
        if (argv[i][0] == '-') {
            fprintf(stderr, "ebmc %s: unknown option '%s' (see 'ebmc %s --help')\n", cmd, argv[i], cmd);
            return 2;
        }
        if (got == n_pos) {
            fprintf(stderr, "ebmc %s: unexpected argument '%s'\n%s", cmd, argv[i], usage_text);
            return 2;
        }
        positional[got++] = argv[i];
    }
    if (got < n_pos) {
        fprintf(stderr, "ebmc %s: expected %s\n%s", cmd, n_pos == 1 ? "a run folder" : "a run folder and a file", usage_text);
        return 2;
    }
    return 0;
}

static int cmd_energy(int argc, char **argv) {
    const char *pos[2], *out = NULL, *grad = NULL;
    const struct flag_arg flags[] = {{"--out", &out}, {"--grad", &grad}};
    int rc = parse_run_args("energy", energy_usage, argc, argv, pos, 2, flags, 2);
    if (rc) return rc == 1 ? 0 : 2;
    struct ebmc_model *m = open_run(pos[0]);
    if (!m) return 1;
    rc = ebmc_energy_file(m, pos[1], out, grad, stderr);
    ebmc_free(m);
    return rc == 0 ? 0 : 1;
}

static int parse_number(const char *cmd, const char *flag, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !(x >= lo && x <= hi)) {
        fprintf(stderr, "ebmc %s: %s expects a number in [%g, %g], got '%s'\n", cmd, flag, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int cmd_denoise(int argc, char **argv) {
    const char *pos[1], *noise = NULL, *steps_s = "100", *method = "mala", *eta_s = "0", *n_s = "500", *out = NULL;
    const struct flag_arg flags[] = {{"--noise", &noise}, {"--steps", &steps_s}, {"--method", &method},
                                     {"--step-size", &eta_s}, {"--n", &n_s},     {"--out", &out}};
    int rc = parse_run_args("denoise", denoise_usage, argc, argv, pos, 1, flags, 6);
    if (rc) return rc == 1 ? 0 : 2;
    double sigma, eta;
    long steps, n;
    if (!noise) {
        fprintf(stderr, "ebmc denoise: no --noise SIGMA given\n%s", denoise_usage);
        return 2;
    }
    if (parse_number("denoise", "--noise", noise, 1e-6, 100, &sigma) || parse_count("denoise", "--steps", steps_s, 1, &steps) ||
        parse_number("denoise", "--step-size", eta_s, 0, 1e6, &eta) || parse_count("denoise", "--n", n_s, 1, &n))
        return 2;
    if (steps > 1000000 || n > 1000000) {
        fprintf(stderr, "ebmc denoise: --steps and --n are at most 1000000\n");
        return 2;
    }
    if (strcmp(method, "mala") != 0 && strcmp(method, "map") != 0) {
        fprintf(stderr, "ebmc denoise: --method is mala or map, not '%s'\n", method);
        return 2;
    }
    char png[4200], json[4200];
    if (out) snprintf(png, sizeof png, "%s", out);
    else snprintf(png, sizeof png, "%s/denoise-%g.png", pos[0], sigma);
    size_t len = strlen(png);
    if (len < 5 || strcmp(png + len - 4, ".png") != 0) {
        fprintf(stderr, "ebmc denoise: %s: the picture's name must end in .png\n", png);
        return 2;
    }
    snprintf(json, sizeof json, "%.*s.json", (int)(len - 4), png);
    struct ebmc_model *m = open_run(pos[0]);
    if (!m) return 1;
    struct ebmc_denoise_result r;
    rc = ebmc_denoise(m, sigma, (int)steps, strcmp(method, "map") == 0, eta, n, png, json, &r, stderr);
    ebmc_free(m);
    if (rc != 0) return 1;
    printf("sigma %g, %lld held-out images, PSNR dB (mean +- sd), SSIM:\n", sigma, (long long)r.n);
    printf("  noisy input           %6.2f +- %4.2f   %.3f\n", r.noisy.psnr_mean, r.noisy.psnr_sd, r.noisy.ssim_mean);
    printf("  Gaussian filter %4.2gpx %6.2f +- %4.2f   %.3f\n", r.filter_sigma, r.filter.psnr_mean, r.filter.psnr_sd,
           r.filter.ssim_mean);
    printf("  EBM (%s, %ld steps) %6.2f +- %4.2f   %.3f   (%.1f s%s)\n", method, steps, r.model.psnr_mean, r.model.psnr_sd,
           r.model.ssim_mean, r.seconds, strcmp(method, "mala") == 0 ? ", see acceptance in the .json" : "");
    if (r.level >= 0)
        printf("  (annealed from level %d of the ladder, noise %.3g, %ld MALA steps a level)\n", r.level, r.level_sigma,
               steps);
    fprintf(stderr, "wrote %s and %s\n", png, json);
    return 0;
}

static const char score_usage[] =
    "usage: ebmc score RUN_DIR --classifier CLS_RUN_DIR [--n N] [--steps K] [--out FILE.json]\n"
    "\n"
    "Scores a trained model's samples without Inception weights: the Frechet classifier distance (FCD, not\n"
    "FID) between the penultimate features of a classifier ebmc trained itself (CLS_RUN_DIR: a run of a\n"
    "model with objective = classify and a features function, such as models/mnist_classifier.ebm) for N\n"
    "samples of RUN_DIR's model and for the first N held-out samples of RUN_DIR's data:\n"
    "    FCD = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)\n"
    "over the features' means and covariances. Lower is better. Beside it, with the same features, the\n"
    "floor (N training samples against the held-out ones: what real data scores) and the ceiling (N draws of\n"
    "uniform noise over the data's value box against the held-out ones), and the classifier's accuracy on\n"
    "the held-out samples. The samples are those 'ebmc sample' draws: K MALA steps from noise (default: the\n"
    "run's sample_steps), annealed down the noise ladder, K per level, for a time-dependent model.\n"
    "Prints the figures and writes them to FILE.json (default RUN_DIR/score.json).\n"
    "\n"
    "options:\n"
    "  --classifier DIR    the classifier's run folder (required); it must take RUN_DIR's sample shape\n"
    "                      and data_scale\n"
    "  --n N               samples in each set (default 1000; at most the held-out and training sizes)\n"
    "  --steps K           MALA steps of the model samples (per level for a time model)\n"
    "  --out FILE.json     where the figures go (default RUN_DIR/score.json)\n";

static int cmd_score(int argc, char **argv) {
    const char *pos[1], *cls_dir = NULL, *n_s = "1000", *steps_s = NULL, *out = NULL;
    const struct flag_arg flags[] = {{"--classifier", &cls_dir}, {"--n", &n_s}, {"--steps", &steps_s}, {"--out", &out}};
    int rc = parse_run_args("score", score_usage, argc, argv, pos, 1, flags, 4);
    if (rc) return rc == 1 ? 0 : 2;
    long n, steps = -1;
    if (!cls_dir) {
        fprintf(stderr, "ebmc score: no --classifier CLS_RUN_DIR given (a run of a model with objective = classify)\n%s",
                score_usage);
        return 2;
    }
    if (parse_count("score", "--n", n_s, 2, &n) || (steps_s && parse_count("score", "--steps", steps_s, 0, &steps)))
        return 2;
    if (steps > 1000000) {
        fprintf(stderr, "ebmc score: --steps is at most 1000000\n");
        return 2;
    }
    char path[4200];
    if (out) snprintf(path, sizeof path, "%s", out);
    else snprintf(path, sizeof path, "%s/score.json", pos[0]);
    size_t len = strlen(path);
    if (len < 6 || strcmp(path + len - 5, ".json") != 0) {
        fprintf(stderr, "ebmc score: %s: the output's name must end in .json\n", path);
        return 2;
    }
    struct ebmc_model *m = open_run(pos[0]), *cls = m ? open_run(cls_dir) : NULL;
    if (!cls) {
        if (m) fprintf(stderr, "ebmc score: %s: cannot open the classifier's run\n", cls_dir);
        ebmc_free(m);
        return 1;
    }
    struct ebmc_score r;
    rc = ebmc_score(m, cls, n, (int)steps, &r, stderr);
    ebmc_free(m), ebmc_free(cls);
    if (rc != 0) return 1;
    printf("FCD (Frechet classifier distance on the features of %s, %d values; not FID), %lld samples each:\n",
           cls_dir, r.features, (long long)r.n);
    char how[96];
    if (r.levels) snprintf(how, sizeof how, "annealed over %d levels, %d MALA steps each", r.levels, r.steps);
    else snprintf(how, sizeof how, "%d MALA steps from noise", r.steps);
    printf("  model samples vs held-out   %10.4f   (%s, %.1f s)\n", r.fcd, how, r.sample_seconds);
    printf("  floor: training vs held-out %10.4f\n", r.floor);
    printf("  ceiling: noise vs held-out  %10.4f\n", r.ceiling);
    if (r.accuracy == r.accuracy) printf("  classifier accuracy on these held-out samples: %.4f\n", r.accuracy);
    char err[4400];
    struct atomic_file af;
    if (atomic_open(&af, path, "w", err, sizeof err) != 0) {
        fprintf(stderr, "ebmc score: %s\n", err);
        return 1;
    }
    struct json j;
    json_begin(&j, af.f);
    json_object(&j);
    json_key(&j, "run"), json_string(&j, pos[0]);
    json_key(&j, "classifier"), json_string(&j, cls_dir);
    json_key(&j, "n"), json_int(&j, r.n);
    json_key(&j, "features"), json_int(&j, r.features);
    json_key(&j, "sample_steps"), json_int(&j, r.steps);
    json_key(&j, "levels"), json_int(&j, r.levels);
    json_key(&j, "fcd"), json_number(&j, r.fcd);
    json_key(&j, "fcd_floor"), json_number(&j, r.floor);
    json_key(&j, "fcd_ceiling"), json_number(&j, r.ceiling);
    json_key(&j, "classifier_accuracy"), json_number(&j, r.accuracy);
    json_key(&j, "sample_seconds"), json_number(&j, r.sample_seconds);
    json_key(&j, "note");
    json_string(&j, "FCD: Frechet distance between Gaussians fitted to the penultimate features of the classifier "
                    "ebmc trained (not Inception, not FID), model samples vs the first n held-out samples; floor: "
                    "n training samples vs the same held-out ones; ceiling: n draws of uniform noise over the data's "
                    "value box vs the same held-out ones");
    json_end(&j);
    json_finish(&j);
    if (atomic_commit(&af, err, sizeof err) != 0) {
        fprintf(stderr, "ebmc score: %s\n", err);
        return 1;
    }
    fprintf(stderr, "wrote %s\n", path);
    return 0;
}

static int cmd_check(int argc, char **argv) {
    if (argc >= 1 && is_help(argv[0])) {
        fputs(check_usage, stdout);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "ebmc check: expected one model file\n%s", check_usage);
        return 2;
    }
    struct ebmc_model *m = ebmc_load(argv[0], stderr);
    if (!m) return 1;
    int rc = ebmc_check(m, stderr);
    ebmc_free(m);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ebmc %s\nMPI: %s\n", EBMC_VERSION, ebmc_mpi_library());
        return 0;
    }
    if (strcmp(cmd, "train") == 0) { /* under mpirun or srun, one rank of a data-parallel job */
        if (ebmc_parallel_start(stderr) < 0) return 1;
        int rc = cmd_train(argc - 2, argv + 2);
        ebmc_parallel_end(rc != 0 && rc != 130); /* a rank that fails ends the job */
        return rc;
    }
    if (strcmp(cmd, "compile") == 0) return cmd_compile(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0) return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "opt") == 0) return cmd_opt(argc - 2, argv + 2);
    if (strcmp(cmd, "sample") == 0) return cmd_sample(argc - 2, argv + 2);
    if (strcmp(cmd, "eval") == 0) return cmd_eval(argc - 2, argv + 2);
    if (strcmp(cmd, "energy") == 0) return cmd_energy(argc - 2, argv + 2);
    if (strcmp(cmd, "denoise") == 0) return cmd_denoise(argc - 2, argv + 2);
    if (strcmp(cmd, "score") == 0) return cmd_score(argc - 2, argv + 2);
    fprintf(stderr, "ebmc: unknown command '%s' (see 'ebmc --help')\n", cmd);
    return 2;
}
