/* jit.c: compiles a graph's kernels (built by codegen.c) with LLVM's O3 pipeline (O1 for the explicit
 * vector code of matmuls and convs: kernel_pipeline) for the host CPU into
 * object files, each distinct kernel body once, on all threads (or takes them from the compile cache),
 * loads them into an ORC LLJIT, and hands the kernels to the runner (runner.c). Also writes
 * ahead-of-time object files (jit_emit_object). */
#include "jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Object.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend_hash.h"
#include "codegen.h"
#include "runner.h"
#include "support.h"

struct jit_program {
    LLVMOrcLLJITRef jit;           /* owns the compiled code */
    struct ebmc_aot_program desc;  /* what the runner runs, kernel functions from the JIT */
    struct ebmc_aot_instance *run; /* its buffers */
    struct jit_stats stats;
    double *kernel_seconds; /* each kernel's compile time (jit_kernel_compile_seconds) */
};

/* ---- LLVM setup and error plumbing ---- */

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_init_failed;

static void llvm_init(void) {
    llvm_init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter();
}

static int init_llvm(char *err, size_t errlen) {
    pthread_once(&llvm_once, llvm_init);
    if (llvm_init_failed) snprintf(err, errlen, "LLVM has no native target for this machine");
    return llvm_init_failed ? -1 : 0;
}

/* Reports and consumes an LLVM error. Returns -1 so callers can `return llvm_error(...)`. */
static int llvm_error(LLVMErrorRef e, const char *what, char *err, size_t errlen) {
    char *msg = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return -1;
}

/* A TargetMachine for the host CPU with all its features: without it nothing vectorizes. */
static LLVMTargetMachineRef host_machine(const char *triple, char *err, size_t errlen) {
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        snprintf(err, errlen, "no LLVM target for %s: %s", triple, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                                      LLVMRelocPIC, LLVMCodeModelSmall);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    if (!tm) snprintf(err, errlen, "cannot create a target machine for %s", triple);
    return tm;
}

/* Whether the host CPU has FMA3: its feature string lists "+fma" (not to be confused with "+fma4"). */
static int host_has_fma(void) {
    char *features = LLVMGetHostCPUFeatures();
    int found = 0;
    for (const char *f = features; f && *f && !found;) {
        size_t len = strcspn(f, ",");
        found = len == 4 && strncmp(f, "+fma", 4) == 0;
        f += len + (f[len] == ',');
    }
    LLVMDisposeMessage(features);
    return found;
}

/* A new module in ctx for the host machine tm. */
static LLVMModuleRef new_module(LLVMContextRef ctx, LLVMTargetMachineRef tm, const char *triple) {
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("ebmc", ctx);
    LLVMSetTarget(mod, triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(mod, layout);
    LLVMDisposeTargetData(layout);
    return mod;
}

/* The pass pipeline for kernel k of a plan at opt_level > 0 (NULL at 0). A kernel whose main loop is a
 * contraction (matmul, the convs) is explicit vector code (matmul.c, conv.c), where O3 found little
 * more to do than O1: with O1 there, rings' training program compiled in 0.37-0.45 s cold instead of
 * 0.54-0.75, and W1 ran 44-45 steps/s instead of 41-42. The rest (maps and reductions, whose loops
 * LLVM's vectorizers vectorize) need O3: at O1 cifar_time's reductions ran 2-3 times slower. Either way
 * the results are the same: no pass may reassociate. */
static const char *kernel_pipeline(const struct ir_graph *g, const struct codegen_plan *plan, int k, int opt_level) {
    if (opt_level <= 0) return NULL;
    int main = k >= 0 ? plan->kernels[k].main : -1;
    return main >= 0 && ir_op_kind(ir_node_at(g, main)->op) == IR_K_CONTRACTION ? "default<O1>" : "default<O3>";
}

/* Verifies mod and, given a pipeline ("default<O3>"), runs it without loop unrolling for tm. Returns 0,
 * or -1 with a message. */
static int optimize_module(LLVMModuleRef mod, LLVMTargetMachineRef tm, const char *pipeline, char *err, size_t errlen) {
    char *msg = NULL;
    int bad = LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg);
    if (bad) snprintf(err, errlen, "internal error: invalid LLVM IR: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    if (!bad && pipeline) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
        /* No loop unrolling: matmul.c and conv.c emit their register tiles unrolled already, and elsewhere
         * the vectorizer's interleaving does the job. Unrolling took 25-46% of the cold compile time
         * (rings 4.4 -> 2.4 s CPU for all five programs) and made no step measurably faster. Interleaving
         * stays: without it an MLP training step (W1) was 16% slower. */
        LLVMPassBuilderOptionsSetLoopUnrolling(po, 0);
        LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
        LLVMErrorRef e = LLVMRunPasses(mod, pipeline, tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) bad = llvm_error(e, "LLVM optimization failed", err, errlen);
    }
    return bad ? -1 : 0;
}

/* Builds a module of all the plan's kernels (each body inlined into its wrapper) in ctx for the host
 * machine tm, verified and optimized at opt_level, each kernel by its pipeline (in a module of its own,
 * linked in): what jit_print_code prints. */
static LLVMModuleRef build_module(const struct ir_graph *g, const struct codegen_plan *plan, LLVMContextRef ctx,
                                  LLVMTargetMachineRef tm, const char *triple, int opt_level, char *err, size_t errlen) {
    LLVMModuleRef mod = new_module(ctx, tm, triple);
    int bad = 0;
    for (int k = 0; k < plan->n_kernels && !bad; k++) {
        LLVMModuleRef one = new_module(ctx, tm, triple);
        if (codegen_add_kernels(one, g, plan, k, 1, host_has_fma(), "") != 0) {
            snprintf(err, errlen, "out of memory");
            bad = 1;
        } else {
            bad = optimize_module(one, tm, kernel_pipeline(g, plan, k, opt_level), err, errlen) != 0;
        }
        if (bad) LLVMDisposeModule(one);
        else if ((bad = LLVMLinkModules2(mod, one) != 0)) snprintf(err, errlen, "internal error: cannot link kernel %d", k);
    }
    if (bad) {
        LLVMDisposeModule(mod);
        return NULL;
    }
    return mod;
}

static int verify_graph(const struct ir_graph *g, char *err, size_t errlen) {
    char msg[256];
    if (ir_verify(g, msg, sizeof msg) == 0) return 0;
    snprintf(err, errlen, "invalid graph: %s", msg);
    return -1;
}

static void dispose_jit(LLVMOrcLLJITRef jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(jit);
    if (e) LLVMConsumeError(e); /* nothing left to report it to */
}

static LLVMOrcLLJITRef create_jit(char *err, size_t errlen) {
    LLVMOrcJITTargetMachineBuilderRef jtmb;
    LLVMErrorRef e = LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb);
    if (e) {
        llvm_error(e, "cannot detect the host for the JIT", err, errlen);
        return NULL;
    }
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb); /* builder takes jtmb */
    LLVMOrcLLJITRef jit;
    e = LLVMOrcCreateLLJIT(&jit, builder); /* consumes builder */
    if (e) {
        llvm_error(e, "cannot create the JIT", err, errlen);
        return NULL;
    }
    return jit;
}

/* Compiles mod with tm into an object file or assembly text in memory. NULL with a message on failure. */
static LLVMMemoryBufferRef emit_code(LLVMTargetMachineRef tm, LLVMModuleRef mod, LLVMCodeGenFileType type, char *err,
                                     size_t errlen) {
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, type, &msg, &buf)) {
        snprintf(err, errlen, "cannot emit %s: %s", type == LLVMObjectFile ? "an object file" : "assembly",
                 msg ? msg : "?");
        buf = NULL;
    }
    LLVMDisposeMessage(msg);
    return buf;
}

/* Writes buf to path atomically, so that a reader never sees half a file. Returns 0, or -1 with a
 * message. */
static int write_file(const char *path, LLVMMemoryBufferRef buf, char *err, size_t errlen) {
    struct atomic_file af;
    if (atomic_open(&af, path, "wb", err, errlen) != 0) return -1;
    size_t n = LLVMGetBufferSize(buf);
    if (fwrite(LLVMGetBufferStart(buf), 1, n, af.f) != n) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err, errlen);
}

/* ---- the compile cache ----
 * A compiled program is kept in the cache folder: $EBMC_CACHE_DIR, else $XDG_CACHE_HOME/ebmc, else
 * ~/.cache/ebmc; EBMC_CACHE_DIR=off turns the cache off. Its file's name is a 128-bit hash of
 * everything that decides the code: the graph's text, the options, the host CPU and its features, the
 * LLVM version, and the sources of the backend and the IR (EBMC_BACKEND_HASH, computed by the build).
 * A training run then skips LLVM's optimizer and code generator whenever the same model and batch size
 * ran before.
 * A cache file holds the program's object files (see "Compiling" below: its kernels' wrappers, then
 * the bodies they call), one record each. A record is a one-line head, "ebmc-cache 3 KEY I/N SIZE
 * SUM\n" (the key, the object's index and the number of objects, the object's size and its FNV-1a
 * checksum, all in hex), then the object file. A file whose records do not match its name, their places
 * and their contents (a flipped byte, a truncated write, two files swapped) is compiled again and
 * replaced, never run. */

static uint64_t fnv1a(const char *text, uint64_t h) {
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) h = (h ^ *c) * 0x100000001b3ull;
    return h;
}

/* Over bytes rather than a string. Any one changed byte changes it (each step is a bijection). */
static uint64_t fnv1a_bytes(const char *data, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)data[i]) * 0x100000001b3ull;
    return h;
}

#define CACHE_KEY_LEN 32 /* hex digits of the 128-bit key */
/* "ebmc-cache 3 " KEY " " I "/" N " " SIZE " " SUM "\n"; N starts at CACHE_COUNT_AT, SIZE at CACHE_SIZE_AT */
#define CACHE_COUNT_AT (13 + CACHE_KEY_LEN + 1 + 8 + 1)
#define CACHE_SIZE_AT (CACHE_COUNT_AT + 8 + 1)
#define CACHE_HEAD_LEN (CACHE_SIZE_AT + 16 + 1 + 16 + 1)

/* The head record i of n must start with when its object is the len bytes at data. */
static void cache_head(char head[CACHE_HEAD_LEN + 1], const char *key, int i, int n, const char *data, size_t len) {
    snprintf(head, CACHE_HEAD_LEN + 1, "ebmc-cache 3 %.32s %08x/%08x %016llx %016llx\n", key, (unsigned)i,
             (unsigned)n, (unsigned long long)len, (unsigned long long)fnv1a_bytes(data, len));
}

/* The cache file for g compiled with these options and its key (the file's name without the folder);
 * returns 0, or -1 if there is no usable cache. */
static int cache_path(const struct ir_graph *g, int opt_level, const struct codegen_options *copts, char *path,
                      size_t len, char key[CACHE_KEY_LEN + 1]) {
    const char *dir = getenv("EBMC_CACHE_DIR"), *home = getenv("HOME"), *xdg = getenv("XDG_CACHE_HOME");
    char folder[4096];
    if (dir && strcmp(dir, "off") == 0) return -1;
    if (dir && dir[0]) snprintf(folder, sizeof folder, "%s", dir);
    else if (xdg && xdg[0]) snprintf(folder, sizeof folder, "%s/ebmc", xdg);
    else if (home && home[0]) snprintf(folder, sizeof folder, "%s/.cache/ebmc", home);
    else return -1;
    char ignored[4200];
    if (make_dirs(folder, ignored, sizeof ignored) != 0) return -1;
    char *text = ir_print_string(g), *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    char options[160];
    int lanes, regs; /* the width the kernels were generated for (EBMC_VECTOR_LANES may set it) */
    codegen_host_vectors(&lanes, &regs);
    snprintf(options, sizeof options, "\nopt %d fusion %d planning %d lanes %d regs %d\n", opt_level,
             !copts->no_fusion, !copts->no_memory_planning, lanes, regs);
    unsigned major, minor, patch;
    LLVMGetVersion(&major, &minor, &patch);
    char llvm[48];
    snprintf(llvm, sizeof llvm, "llvm %u.%u.%u", major, minor, patch);
    uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
    for (int i = 0; i < 2; i++) {
        h[i] = fnv1a(text ? text : "", h[i]);
        h[i] = fnv1a(options, h[i]);
        h[i] = fnv1a(cpu, h[i]);
        h[i] = fnv1a(features, h[i]);
        h[i] = fnv1a(EBMC_BACKEND_HASH, h[i]);
        h[i] = fnv1a(llvm, h[i]);
    }
    int ok = text != NULL;
    free(text);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    snprintf(key, CACHE_KEY_LEN + 1, "%016llx%016llx", (unsigned long long)h[0], (unsigned long long)h[1]);
    snprintf(path, len, "%s/%s.o", folder, key);
    return ok ? 0 : -1;
}

/* Whether buf parses as an object file. */
static int is_object_file(LLVMMemoryBufferRef buf) {
    LLVMContextRef ctx = LLVMContextCreate();
    char *msg = NULL;
    LLVMBinaryRef bin = LLVMCreateBinary(buf, ctx, &msg);
    int ok = bin != NULL && LLVMBinaryGetType(bin) == LLVMBinaryTypeELF64L;
    if (bin) LLVMDisposeBinary(bin);
    LLVMDisposeMessage(msg);
    LLVMContextDispose(ctx);
    return ok;
}

static void dispose_objects(LLVMMemoryBufferRef *objs, int n) {
    for (int i = 0; i < n; i++) {
        if (objs[i]) LLVMDisposeMemoryBuffer(objs[i]);
        objs[i] = NULL;
    }
}

/* The number of records a cache file's first head says it has (0 if it says nothing readable). */
static int cache_count(const char *data, size_t len) {
    char hex[9] = {0};
    if (len < CACHE_HEAD_LEN) return 0;
    memcpy(hex, data + CACHE_COUNT_AT, 8);
    unsigned long n = strtoul(hex, NULL, 16);
    return n > 0 && n < (1ul << 20) ? (int)n : 0;
}

/* Reads the objects of the cache file at path into objs (room for max). Returns how many, if its records
 * are exactly the records for key, else -1 with objs all NULL. */
static int cache_read(const char *path, const char *key, int max, LLVMMemoryBufferRef *objs) {
    LLVMMemoryBufferRef file = NULL;
    char *msg = NULL;
    if (access(path, R_OK) != 0 || LLVMCreateMemoryBufferWithContentsOfFile(path, &file, &msg)) {
        LLVMDisposeMessage(msg);
        return -1;
    }
    const char *data = LLVMGetBufferStart(file);
    size_t len = LLVMGetBufferSize(file), at = 0;
    int i = 0, n = cache_count(data, len);
    if (n > max) n = 0;
    for (; i < n && len - at > CACHE_HEAD_LEN; i++) {
        char size_hex[17], head[CACHE_HEAD_LEN + 1];
        memcpy(size_hex, data + at + CACHE_SIZE_AT, 16);
        size_hex[16] = 0;
        unsigned long long size = strtoull(size_hex, NULL, 16);
        if (size > len - at - CACHE_HEAD_LEN) break;
        cache_head(head, key, i, n, data + at + CACHE_HEAD_LEN, (size_t)size);
        if (memcmp(head, data + at, CACHE_HEAD_LEN) != 0) break;
        objs[i] = LLVMCreateMemoryBufferWithMemoryRangeCopy(data + at + CACHE_HEAD_LEN, (size_t)size, path);
        at += CACHE_HEAD_LEN + (size_t)size;
        if (!is_object_file(objs[i])) break; /* right checksum, wrong contents: written by something else */
    }
    int ok = n > 0 && i == n && at == len;
    LLVMDisposeMemoryBuffer(file);
    if (!ok) dispose_objects(objs, max);
    return ok ? n : -1;
}

/* Writes the n objects as the cache file at path, atomically, replacing what was there. */
static int cache_write(const char *path, const char *key, int n, LLVMMemoryBufferRef *objs) {
    char heads[CACHE_HEAD_LEN + 1], ignored[256];
    struct atomic_file af;
    if (atomic_open(&af, path, "wb", ignored, sizeof ignored) != 0) return -1;
    for (int i = 0; i < n; i++) {
        const char *data = LLVMGetBufferStart(objs[i]);
        size_t len = LLVMGetBufferSize(objs[i]);
        cache_head(heads, key, i, n, data, len);
        if (fputs(heads, af.f) < 0 || fwrite(data, 1, len, af.f) != len) {
            atomic_abort(&af);
            return -1;
        }
    }
    return atomic_commit(&af, ignored, sizeof ignored);
}

/* ---- compiling ----
 * Nearly all of a cold compile is LLVM's optimizer and code generator, so jit_compile_all spreads it
 * over threads kernel by kernel, across all the programs it is given: each kernel is a unit with its own
 * context, module and target machine (LLVM's are not thread-safe). Finer units than programs keep both
 * threads busy when one program (training's) is most of the work.
 *
 * A kernel is a body, which computes, and a wrapper, which passes it its buffers (codegen.c). Kernels
 * often compute the same thing on other buffers: the backward pass repeats a layer's matmul for each
 * hidden layer, Adam's update repeats for each weight, and programs share kernels. So the units first
 * build their bodies and print them; bodies that print the same are compiled once (8gaussians' energy,
 * sampler and train programs: 30 kernels, 17 distinct bodies), each into an object file of its own, and
 * each program's wrappers into one more. A program's JIT gets its wrappers and a copy of each body they call, and links
 * them. */

struct job { /* one program being compiled */
    struct jit_request *req;
    int opt_level;
    struct codegen_options copts;
    struct codegen_plan plan;
    int planned;               /* plan is to be freed */
    int compile;               /* its kernels are to be compiled (not served by the cache) */
    int linked;                /* its kernels are in its JIT */
    const char *triple;        /* its JIT's */
    LLVMMemoryBufferRef *objs; /* its object files (n_objs; room for a wrapper and a body per kernel) */
    int n_objs;
    char (*body_names)[16];    /* the body each kernel calls */
    int cacheable;
    char path[4300], key[CACHE_KEY_LEN + 1];
};

struct unit { /* a kernel's body, or (kernel -1) a job's wrappers */
    struct job *job;
    int kernel;
    int same_as;    /* the unit whose body is compiled for this one (itself, if it is compiled) */
    LLVMTargetMachineRef tm;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    char *text;     /* the body's IR, to find equal bodies */
    uint64_t hash;  /* of text */
    LLVMMemoryBufferRef obj;
    double seconds;
    char err[256];
};

static void unit_free_module(struct unit *u) {
    if (u->mod) LLVMDisposeModule(u->mod);
    if (u->ctx) LLVMContextDispose(u->ctx);
    if (u->tm) LLVMDisposeTargetMachine(u->tm);
    u->mod = NULL, u->ctx = NULL, u->tm = NULL;
}

/* Builds the unit's module, unoptimized: the body, named "body" (and its text), or the job's wrappers. */
static void build_unit(struct unit *u) {
    double t0 = clock_seconds();
    struct job *j = u->job;
    if (!(u->tm = host_machine(j->triple, u->err, sizeof u->err))) return;
    u->ctx = LLVMContextCreate();
    u->mod = new_module(u->ctx, u->tm, j->triple);
    int bad;
    if (u->kernel >= 0) {
        bad = codegen_add_body(u->mod, j->req->g, &j->plan, u->kernel, host_has_fma(), "body") != 0;
        char *text = bad ? NULL : LLVMPrintValueToString(LLVMGetNamedFunction(u->mod, "body"));
        if (text) u->text = strdup(text), u->hash = fnv1a(text, 0xcbf29ce484222325ull);
        LLVMDisposeMessage(text);
        bad = bad || !u->text;
    } else {
        const char **names = malloc(sizeof *names * ((size_t)j->plan.n_kernels + 1));
        for (int k = 0; names && k < j->plan.n_kernels; k++) names[k] = j->body_names[k];
        bad = !names || codegen_add_wrappers(u->mod, j->req->g, &j->plan, names) != 0;
        free(names);
    }
    if (bad) snprintf(u->err, sizeof u->err, "out of memory");
    u->seconds += clock_seconds() - t0;
}

/* Optimizes the unit's module and emits its object file; frees the module. */
static void finish_unit(struct unit *u, const char *body_name) {
    double t0 = clock_seconds();
    if (u->kernel >= 0) LLVMSetValueName2(LLVMGetNamedFunction(u->mod, "body"), body_name, strlen(body_name));
    const char *pipeline = kernel_pipeline(u->job->req->g, &u->job->plan, u->kernel, u->job->opt_level);
    if (optimize_module(u->mod, u->tm, pipeline, u->err, sizeof u->err) == 0)
        u->obj = emit_code(u->tm, u->mod, LLVMObjectFile, u->err, sizeof u->err);
    unit_free_module(u);
    u->seconds += clock_seconds() - t0;
}

/* Runs a phase on units[0, n) on up to `threads` threads, each thread taking the next unit (dynamic
 * scheduling without the runtime's dispatch calls, which the libomp of the fuzz build, clang-19 with
 * Debian's libomp, lacks). Phase 0 builds the bodies; phase 1 compiles the bodies compiled for others
 * (same_as) and the wrappers. A unit that failed is left alone. */
static void for_units(struct unit *units, int n, int threads, int phase) {
    int team = threads < n ? threads : n, next = 0;
#pragma omp parallel num_threads(team > 1 ? team : 1) if (team > 1)
    for (;;) {
        int i;
#pragma omp atomic capture
        i = next++;
        if (i >= n) break;
        struct unit *u = &units[i];
        if (u->err[0]) continue;
        if (phase == 0 && u->kernel >= 0) build_unit(u);
        else if (phase == 1 && u->same_as == i) {
            char name[16];
            snprintf(name, sizeof name, "kb%d", i);
            if (u->kernel < 0) build_unit(u);
            if (!u->err[0]) finish_unit(u, name);
        }
    }
}

/* Gives each kernel unit the unit whose body it shares (the first with the same text) and its job the
 * name of that body; frees the modules no longer needed. */
static void share_bodies(struct unit *units, int n) {
    for (int i = 0; i < n; i++) {
        struct unit *u = &units[i];
        u->same_as = i;
        for (int k = 0; u->kernel >= 0 && u->text && k < i; k++)
            if (units[k].same_as == k && units[k].text && units[k].hash == u->hash && strcmp(units[k].text, u->text) == 0) {
                u->same_as = k;
                break;
            }
        if (u->kernel >= 0) snprintf(u->job->body_names[u->kernel], 16, "kb%d", u->same_as);
        if (u->same_as != i) unit_free_module(u);
    }
}

/* Compiles the jobs marked `compile` on up to `threads` threads: their bodies, each distinct one once,
 * then their wrappers; gives each job its objects. */
static void compile_jobs(struct job *jobs, int n, int threads) {
    int n_units = 0;
    for (int i = 0; i < n; i++) n_units += jobs[i].compile ? jobs[i].plan.n_kernels + 1 : 0;
    struct unit *units = calloc((size_t)n_units + 1, sizeof *units);
    if (!units) {
        for (int i = 0; i < n; i++)
            if (jobs[i].compile) snprintf(jobs[i].req->err, sizeof jobs[i].req->err, "out of memory");
        return;
    }
    int u = 0;
    for (int i = 0; i < n; i++)
        for (int k = -1; jobs[i].compile && k < jobs[i].plan.n_kernels; k++)
            units[u++] = (struct unit){.job = &jobs[i], .kernel = k};
    for_units(units, n_units, threads, 0);
    share_bodies(units, n_units);
    for_units(units, n_units, threads, 1);
    for (u = 0; u < n_units; u++) { /* each job: its wrappers, then each body it calls, once */
        struct unit *x = &units[u], *body = &units[x->same_as];
        struct job *j = x->job;
        if (x->kernel < 0) j->n_objs = 0;
        int have = 0;
        for (int v = u - 1; x->kernel >= 0 && !have && v >= 0 && units[v].job == j; v--)
            have = units[v].same_as == x->same_as;
        if (!have && body->obj)
            j->objs[j->n_objs++] = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                LLVMGetBufferStart(body->obj), LLVMGetBufferSize(body->obj), "");
        if (!body->obj && !j->req->err[0])
            snprintf(j->req->err, sizeof j->req->err, "%s", body->err[0] ? body->err : x->err);
        j->req->program->stats.compile_seconds += x->seconds;
        if (x->kernel >= 0) j->req->program->kernel_seconds[x->kernel] = x->seconds;
    }
    for (u = 0; u < n_units; u++) {
        unit_free_module(&units[u]);
        free(units[u].text);
        if (units[u].obj) LLVMDisposeMemoryBuffer(units[u].obj);
    }
    free(units);
}

/* Plans the job's program, makes its JIT and takes its objects from the cache if they are there (else
 * marks it `compile`). Returns 0, or -1 with a message in the request. */
static int start_job(struct job *j) {
    struct jit_request *r = j->req;
    char *err = r->err;
    size_t errlen = sizeof r->err;
    j->opt_level = r->opts ? r->opts->opt_level : 3;
    j->copts = (struct codegen_options){r->opts && r->opts->no_fusion, r->opts && r->opts->no_memory_planning};
    if (verify_graph(r->g, err, errlen) != 0 || init_llvm(err, errlen) != 0) return -1;
    struct codegen_options unfused = {1, 1};
    struct codegen_plan plan;
    if (codegen_plan(r->g, &unfused, &plan, err, errlen) != 0) return -1;
    struct jit_stats stats = {.n_kernels_unfused = plan.n_kernels, .bytes_unplanned = plan.unplanned_bytes};
    codegen_plan_free(&plan);
    if (codegen_plan(r->g, &j->copts, &j->plan, err, errlen) != 0) return -1;
    j->planned = 1;
    stats.n_kernels = j->plan.n_kernels;
    stats.bytes = j->plan.arena_bytes;
    struct jit_program *p = r->program = calloc(1, sizeof *p);
    size_t nk = (size_t)j->plan.n_kernels + 1;
    j->objs = calloc(2 * nk, sizeof *j->objs);
    j->body_names = calloc(nk, sizeof *j->body_names);
    int ok = p && j->objs && j->body_names && (p->kernel_seconds = calloc(nk, sizeof(double))) &&
             codegen_describe(r->g, &j->plan, "jit", &p->desc) == 0;
    if (ok) ok = (p->run = ebmc_aot_new(&p->desc)) != NULL;
    if (!ok) snprintf(err, errlen, "out of memory");
    else p->stats = stats;
    if (ok) ok = (p->jit = create_jit(err, errlen)) != NULL;
    if (!ok) return -1;
    j->triple = LLVMOrcLLJITGetTripleString(p->jit);
    j->cacheable = cache_path(r->g, j->opt_level, &j->copts, j->path, sizeof j->path, j->key) == 0;
    j->compile = 1;
    if (j->cacheable && !(r->opts && r->opts->no_cache_read)) {
        j->n_objs = cache_read(j->path, j->key, 2 * (int)nk, j->objs);
        j->compile = j->n_objs < 0;
        if (j->compile) j->n_objs = 0;
    }
    return 0;
}

/* Caches the job's objects (if `compiled`: not read from the cache), then adds them to its JIT and
 * looks every kernel up. Returns 0, or -1 with a message in the request. */
static int link_job(struct job *j, int compiled) {
    struct jit_program *p = j->req->program;
    char *err = j->req->err;
    size_t errlen = sizeof j->req->err;
    if (compiled && j->cacheable) cache_write(j->path, j->key, j->n_objs, j->objs); /* unwritable: no error */
    p->stats.n_bodies = j->n_objs - 1; /* the first object holds the wrappers */
    LLVMOrcJITDylibRef dylib = LLVMOrcLLJITGetMainJITDylib(p->jit);
    for (int k = 0; k < j->n_objs; k++) {
        LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(p->jit, dylib, j->objs[k]); /* takes the object */
        j->objs[k] = NULL;
        if (e) return llvm_error(e, "cannot add an object file to the JIT", err, errlen);
    }
    for (int k = 0; k < j->plan.n_kernels; k++) {
        char name[32];
        codegen_kernel_name(name, sizeof name, "", &j->plan.kernels[k]);
        LLVMOrcExecutorAddress addr = 0;
        LLVMErrorRef e = LLVMOrcLLJITLookup(p->jit, &addr, name); /* the first lookup links the objects */
        if (e) return llvm_error(e, "JIT linking failed", err, errlen);
        ((struct ebmc_aot_kernel *)p->desc.kernels)[k].fn = (ebmc_aot_kernel_fn)(uintptr_t)addr;
    }
    return 0;
}

/* Links the jobs whose kernels are ready and not linked yet. A job whose cached objects passed their
 * checks yet do not link gets a fresh JIT and is marked `compile` again; returns how many. */
static int link_jobs(struct job *jobs, int n) {
    int again = 0;
    for (int i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        int cached = !j->compile;
        j->compile = 0;
        if (j->linked || !j->req->program || j->req->err[0]) continue;
        double t0 = clock_seconds();
        j->linked = link_job(j, !cached) == 0;
        j->req->program->stats.compile_seconds += clock_seconds() - t0;
        if (!j->linked && cached) {
            dispose_objects(j->objs, j->n_objs);
            j->n_objs = 0;
            dispose_jit(j->req->program->jit);
            j->req->err[0] = 0;
            j->req->program->jit = create_jit(j->req->err, sizeof j->req->err);
            if (j->req->program->jit) j->triple = LLVMOrcLLJITGetTripleString(j->req->program->jit);
            again += j->compile = j->req->program->jit != NULL;
        }
    }
    return again;
}

int64_t jit_arena_bytes(const struct ir_graph *g, char *err, size_t errlen) {
    struct codegen_plan plan;
    if (verify_graph(g, err, errlen) != 0 || codegen_plan(g, NULL, &plan, err, errlen) != 0) return -1;
    int64_t bytes = plan.arena_bytes;
    codegen_plan_free(&plan);
    return bytes;
}

void jit_compile_all(struct jit_request *requests, int n, int threads) {
    struct job *jobs = calloc((size_t)n + 1, sizeof *jobs);
    for (int i = 0; i < n; i++) {
        requests[i].program = NULL;
        snprintf(requests[i].err, sizeof requests[i].err, "%s", jobs ? "" : "out of memory");
    }
    if (!jobs) return;
    for (int i = 0; i < n; i++) {
        double t0 = clock_seconds();
        jobs[i].req = &requests[i];
        start_job(&jobs[i]);
        if (requests[i].program) requests[i].program->stats.compile_seconds = clock_seconds() - t0;
    }
    compile_jobs(jobs, n, threads);
    if (link_jobs(jobs, n) > 0) { /* cached objects that would not link: compiled afresh */
        compile_jobs(jobs, n, threads);
        link_jobs(jobs, n);
    }
    for (int i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        if (j->req->err[0]) {
            jit_free(j->req->program);
            j->req->program = NULL;
        }
        if (j->objs) dispose_objects(j->objs, j->n_objs);
        free(j->objs);
        free(j->body_names);
        if (j->planned) codegen_plan_free(&j->plan);
    }
    free(jobs);
}

struct jit_program *jit_compile(const struct ir_graph *g, const struct jit_options *opts, char *err, size_t errlen) {
    struct jit_request r = {.g = g, .opts = opts};
    jit_compile_all(&r, 1, omp_get_max_threads());
    if (!r.program) snprintf(err, errlen, "%s", r.err);
    return r.program;
}

void jit_free(struct jit_program *p) {
    if (!p) return;
    ebmc_aot_free(p->run);
    if (p->jit) dispose_jit(p->jit);
    codegen_describe_free(&p->desc);
    free(p->kernel_seconds);
    free(p);
}

double jit_compile_seconds(const struct jit_program *p) { return p->stats.compile_seconds; }

double jit_kernel_compile_seconds(const struct jit_program *p, int i) { return p->kernel_seconds[i]; }

const struct jit_stats *jit_get_stats(const struct jit_program *p) { return &p->stats; }

void jit_set_min_parallel_work(struct jit_program *p, int64_t work) { runner_set_min_parallel_work(p->run, work); }

void jit_run_timed(struct jit_program *p, float *const *args, double *kernel_seconds) {
    runner_run_timed(p->run, args, kernel_seconds);
}

float *jit_output(struct jit_program *p, int i) { return ebmc_aot_output(p->run, i); }

void jit_run(struct jit_program *p, float *const *args, float *const *outs, int nthreads) {
    ebmc_aot_run(p->run, args, outs, nthreads);
}

/* ---- printing ---- */

/* The module as text (malloc'd): LLVM IR, or assembly from tm. */
static char *module_text(LLVMModuleRef mod, LLVMTargetMachineRef tm, enum jit_code_format format, char *err,
                         size_t errlen) {
    if (format != JIT_CODE_ASM) {
        char *ir = LLVMPrintModuleToString(mod), *text = ir ? strdup(ir) : NULL;
        LLVMDisposeMessage(ir);
        return text;
    }
    LLVMMemoryBufferRef buf = emit_code(tm, mod, LLVMAssemblyFile, err, errlen);
    if (!buf) return NULL;
    size_t len = LLVMGetBufferSize(buf);
    char *text = malloc(len + 1);
    if (text) {
        memcpy(text, LLVMGetBufferStart(buf), len);
        text[len] = 0;
    }
    LLVMDisposeMemoryBuffer(buf);
    return text;
}

int jit_print_code(const struct ir_graph *g, enum jit_code_format format, FILE *out, char *err, size_t errlen) {
    if (verify_graph(g, err, errlen) != 0 || init_llvm(err, errlen) != 0) return -1;
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetMachineRef tm = host_machine(triple, err, errlen);
    struct codegen_plan plan;
    if (!tm || codegen_plan(g, NULL, &plan, err, errlen) != 0) {
        if (tm) LLVMDisposeTargetMachine(tm);
        LLVMDisposeMessage(triple);
        return -1;
    }
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = build_module(g, &plan, ctx, tm, triple,
                                     format == JIT_CODE_LLVM_UNOPT ? 0 : 3, err, errlen);
    codegen_plan_free(&plan);
    int rc = -1;
    if (mod) {
        char *text = module_text(mod, tm, format, err, errlen);
        if (text) {
            rc = fputs(text, out) < 0 ? -1 : 0;
            if (rc) snprintf(err, errlen, "cannot write the output");
        }
        free(text);
        LLVMDisposeModule(mod);
    }
    LLVMDisposeTargetMachine(tm);
    LLVMDisposeMessage(triple);
    LLVMContextDispose(ctx);
    return rc;
}

/* ---- ahead of time ---- */

/* A private constant global holding init; returns it (a pointer). */
static LLVMValueRef private_constant(LLVMModuleRef mod, LLVMValueRef init, const char *name) {
    LLVMValueRef g = LLVMAddGlobal(mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    return g;
}

static LLVMValueRef const_cstring(LLVMModuleRef mod, const char *text) {
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    return private_constant(mod, LLVMConstStringInContext2(ctx, text, strlen(text), 0), ".str");
}

/* The descriptor d (include/ebmc_aot.h) as a global named `symbol`, kernels named with `prefix`. The
 * struct types mirror the C declarations field by field, so the C ABI lays them out alike. Returns 0,
 * or -1 when out of memory. */
static int add_descriptor(LLVMModuleRef mod, const struct ebmc_aot_program *d, const struct codegen_plan *plan,
                          const char *symbol, const char *prefix) {
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx), f32 = LLVMFloatTypeInContext(ctx);
    LLVMTypeRef dims = LLVMArrayType2(i64, EBMC_AOT_MAX_DIMS);
    LLVMTypeRef tensor_fields[] = {ptr, i32, i32, dims, f32}, kernel_fields[] = {ptr, i64, i64};
    LLVMTypeRef program_fields[] = {ptr, i32, i32, i32, i32, i64, ptr, ptr, ptr, ptr};
    LLVMTypeRef tensor_t = LLVMStructTypeInContext(ctx, tensor_fields, 5, 0);
    LLVMTypeRef kernel_t = LLVMStructTypeInContext(ctx, kernel_fields, 3, 0);
    LLVMTypeRef program_t = LLVMStructTypeInContext(ctx, program_fields, 10, 0);

    const struct ebmc_aot_tensor *lists[2] = {d->args, d->outputs};
    int counts[2] = {d->n_args, d->n_outputs};
    LLVMValueRef tables[2];
    for (int l = 0; l < 2; l++) {
        LLVMValueRef *items = calloc((size_t)counts[l] + 1, sizeof *items);
        if (!items) return -1;
        for (int i = 0; i < counts[l]; i++) {
            const struct ebmc_aot_tensor *t = &lists[l][i];
            LLVMValueRef shape[EBMC_AOT_MAX_DIMS];
            for (int k = 0; k < EBMC_AOT_MAX_DIMS; k++)
                shape[k] = LLVMConstInt(i64, (unsigned long long)(k < t->ndim ? t->shape[k] : 0), 0);
            LLVMValueRef fields[] = {const_cstring(mod, t->name), LLVMConstInt(i32, (unsigned long long)t->slot, 1),
                                     LLVMConstInt(i32, (unsigned long long)t->ndim, 0),
                                     LLVMConstArray2(i64, shape, EBMC_AOT_MAX_DIMS), LLVMConstReal(f32, t->value)};
            items[i] = LLVMConstNamedStruct(tensor_t, fields, 5);
        }
        tables[l] = private_constant(mod, LLVMConstArray2(tensor_t, items, (uint64_t)counts[l]), l ? ".outputs" : ".args");
        free(items);
    }
    LLVMValueRef *offsets = calloc((size_t)d->n_slots + 1, sizeof *offsets);
    if (!offsets) return -1;
    for (int s = 0; s < d->n_slots; s++) offsets[s] = LLVMConstInt(i64, (unsigned long long)d->slot_offset[s], 0);
    LLVMValueRef offset_table = private_constant(mod, LLVMConstArray2(i64, offsets, (uint64_t)d->n_slots), ".offsets");
    free(offsets);
    LLVMValueRef *kernels = calloc((size_t)d->n_kernels + 1, sizeof *kernels);
    if (!kernels) return -1;
    for (int i = 0; i < d->n_kernels; i++) {
        char name[160];
        codegen_kernel_name(name, sizeof name, prefix, &plan->kernels[i]);
        LLVMValueRef fields[] = {LLVMGetNamedFunction(mod, name),
                                 LLVMConstInt(i64, (unsigned long long)d->kernels[i].range, 0),
                                 LLVMConstInt(i64, (unsigned long long)d->kernels[i].work, 0)};
        kernels[i] = LLVMConstNamedStruct(kernel_t, fields, 3);
    }
    LLVMValueRef kernel_table = private_constant(mod, LLVMConstArray2(kernel_t, kernels, (uint64_t)d->n_kernels), ".kernels");
    free(kernels);
    LLVMValueRef fields[] = {const_cstring(mod, symbol),
                             LLVMConstInt(i32, (unsigned long long)d->n_args, 0),
                             LLVMConstInt(i32, (unsigned long long)d->n_outputs, 0),
                             LLVMConstInt(i32, (unsigned long long)d->n_slots, 0),
                             LLVMConstInt(i32, (unsigned long long)d->n_kernels, 0),
                             LLVMConstInt(i64, (unsigned long long)d->arena_bytes, 0),
                             tables[0], tables[1], offset_table, kernel_table};
    LLVMValueRef program = LLVMAddGlobal(mod, program_t, symbol);
    LLVMSetInitializer(program, LLVMConstNamedStruct(program_t, fields, 10));
    LLVMSetGlobalConstant(program, 1);
    return 0;
}

int jit_emit_object(int n, const struct ir_graph *const *graphs, const char *const *symbols, const char *path,
                    char *err, size_t errlen) {
    for (int i = 0; i < n; i++)
        if (verify_graph(graphs[i], err, errlen) != 0) return -1;
    if (init_llvm(err, errlen) != 0) return -1;
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetMachineRef tm = host_machine(triple, err, errlen);
    if (!tm) {
        LLVMDisposeMessage(triple);
        return -1;
    }
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = new_module(ctx, tm, triple);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        struct codegen_plan plan;
        struct ebmc_aot_program d;
        char prefix[160];
        snprintf(prefix, sizeof prefix, "%s_", symbols[i]);
        if ((rc = codegen_plan(graphs[i], NULL, &plan, err, errlen)) != 0) break;
        if (codegen_describe(graphs[i], &plan, symbols[i], &d) != 0 ||
            codegen_add_kernels(mod, graphs[i], &plan, 0, plan.n_kernels, host_has_fma(), prefix) != 0 ||
            add_descriptor(mod, &d, &plan, symbols[i], prefix) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        codegen_describe_free(&d);
        codegen_plan_free(&plan);
    }
    if (rc == 0) rc = optimize_module(mod, tm, "default<O3>", err, errlen); /* the same results as the JIT's */
    if (rc == 0) {
        LLVMMemoryBufferRef obj = emit_code(tm, mod, LLVMObjectFile, err, errlen);
        rc = obj ? write_file(path, obj, err, errlen) : -1;
        if (obj) LLVMDisposeMemoryBuffer(obj);
    }
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    LLVMDisposeMessage(triple);
    return rc;
}
