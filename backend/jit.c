/* jit.c: compiles a graph's kernel module (built by codegen.c) with LLVM's O3 pipeline for the host
 * CPU into an object file (or takes it from the compile cache), loads it into an ORC LLJIT, and hands
 * the kernels to the runner (runner.c). Also writes ahead-of-time object files (jit_emit_object). */
#include "jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Object.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <errno.h>
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

/* Verifies mod and, at opt_level > 0, runs default<O3> (without loop unrolling) for tm. Returns 0, or -1
 * with a message. */
static int optimize_module(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, char *err, size_t errlen) {
    char *msg = NULL;
    int bad = LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg);
    if (bad) snprintf(err, errlen, "internal error: invalid LLVM IR: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    if (!bad && opt_level > 0) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
        /* No loop unrolling: matmul.c and conv.c emit their register tiles unrolled already, and elsewhere
         * the vectorizer's interleaving does the job. Unrolling took 25-46% of the cold compile time
         * (rings 4.4 -> 2.4 s CPU for all five programs) and made no step measurably faster. Interleaving
         * stays: without it an MLP training step (W1) was 16% slower. */
        LLVMPassBuilderOptionsSetLoopUnrolling(po, 0);
        LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
        LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) bad = llvm_error(e, "LLVM optimization failed", err, errlen);
    }
    return bad ? -1 : 0;
}

/* Builds g's module in ctx for the host machine tm, verified and optimized at opt_level. */
static LLVMModuleRef build_module(const struct ir_graph *g, const struct codegen_plan *plan, LLVMContextRef ctx,
                                  LLVMTargetMachineRef tm, const char *triple, int opt_level, char *err,
                                  size_t errlen) {
    LLVMModuleRef mod = new_module(ctx, tm, triple);
    int bad = codegen_add_kernels(mod, g, plan, host_has_fma(), "") != 0;
    if (bad) snprintf(err, errlen, "out of memory");
    else bad = optimize_module(mod, tm, opt_level, err, errlen) != 0;
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

/* Writes head (if not NULL) and then a buffer to path atomically, so that a reader never sees half a
 * file. Returns 0, or -1 with a message. */
static int write_file(const char *path, const char *head, LLVMMemoryBufferRef buf, char *err, size_t errlen) {
    struct atomic_file af;
    if (atomic_open(&af, path, "wb", err, errlen) != 0) return -1;
    size_t n = LLVMGetBufferSize(buf);
    if ((head && fputs(head, af.f) < 0) || fwrite(LLVMGetBufferStart(buf), 1, n, af.f) != n) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err, errlen);
}

/* ---- the compile cache ----
 * A compiled program is kept as an object file in the cache folder: $EBMC_CACHE_DIR, else
 * $XDG_CACHE_HOME/ebmc, else ~/.cache/ebmc; EBMC_CACHE_DIR=off turns the cache off. Its name is a
 * 128-bit hash of everything that decides the code: the graph's text, the options, the host CPU and its
 * features, the LLVM version, and the sources of the backend and the IR (EBMC_BACKEND_HASH, computed by
 * the build). A training run
 * then skips LLVM's optimizer and code generator whenever the same model and batch size ran before.
 * A cache file is a one-line head, "ebmc-cache 1 KEY SIZE SUM\n" (the key, the object's size and its
 * FNV-1a checksum, in hex), then the object. A file whose head does not match its name and contents
 * (a flipped byte, a truncated write, two files swapped) is compiled again and replaced, never run. */

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

#define CACHE_KEY_LEN 32                                  /* hex digits of the 128-bit key */
#define CACHE_HEAD_LEN (13 + CACHE_KEY_LEN + 1 + 16 + 1 + 16 + 1) /* "ebmc-cache 1 " KEY SIZE SUM "\n" */

/* The head a cache file holding an object of len bytes at data must start with. */
static void cache_head(char head[CACHE_HEAD_LEN + 1], const char *key, const char *data, size_t len) {
    snprintf(head, CACHE_HEAD_LEN + 1, "ebmc-cache 1 %.32s %016llx %016llx\n", key, (unsigned long long)len,
             (unsigned long long)fnv1a_bytes(data, len));
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

/* The object in the cache file at path if its head matches key and its contents, else NULL. */
static LLVMMemoryBufferRef cache_read(const char *path, const char *key) {
    LLVMMemoryBufferRef file = NULL, obj = NULL;
    char *msg = NULL;
    if (access(path, R_OK) != 0 || LLVMCreateMemoryBufferWithContentsOfFile(path, &file, &msg)) {
        LLVMDisposeMessage(msg);
        return NULL;
    }
    const char *data = LLVMGetBufferStart(file);
    size_t len = LLVMGetBufferSize(file);
    char head[CACHE_HEAD_LEN + 1];
    if (len > CACHE_HEAD_LEN) {
        cache_head(head, key, data + CACHE_HEAD_LEN, len - CACHE_HEAD_LEN);
        if (memcmp(head, data, CACHE_HEAD_LEN) == 0)
            obj = LLVMCreateMemoryBufferWithMemoryRangeCopy(data + CACHE_HEAD_LEN, len - CACHE_HEAD_LEN, path);
    }
    LLVMDisposeMemoryBuffer(file);
    if (obj && !is_object_file(obj)) { /* right checksum, wrong contents: written by something else */
        LLVMDisposeMemoryBuffer(obj);
        obj = NULL;
    }
    return obj;
}

/* g's kernels as an object file: from the cache (unless no_cache_read), or built, optimized, compiled
 * (and cached, replacing what was there). *from_cache says which. */
static LLVMMemoryBufferRef program_object(const struct ir_graph *g, const struct codegen_plan *plan, const char *triple,
                                          int opt_level, const struct codegen_options *copts, int no_cache_read,
                                          int *from_cache, char *err, size_t errlen) {
    char path[4300], key[CACHE_KEY_LEN + 1];
    int cached = cache_path(g, opt_level, copts, path, sizeof path, key) == 0;
    LLVMMemoryBufferRef obj = cached && !no_cache_read ? cache_read(path, key) : NULL;
    *from_cache = obj != NULL;
    if (obj) return obj;
    LLVMTargetMachineRef tm = host_machine(triple, err, errlen);
    if (!tm) return NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = build_module(g, plan, ctx, tm, triple, opt_level, err, errlen);
    if (mod) obj = emit_code(tm, mod, LLVMObjectFile, err, errlen);
    if (mod) LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    if (obj && cached) {
        char head[CACHE_HEAD_LEN + 1], ignored[256];
        cache_head(head, key, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj));
        write_file(path, head, obj, ignored, sizeof ignored); /* a cache that cannot be written is no error */
    }
    return obj;
}

/* Adds g's kernels to p->jit and looks every one up. *from_cache says whether the object came from
 * the compile cache. */
static int load_kernels(struct jit_program *p, const struct ir_graph *g, const struct codegen_plan *plan,
                        int opt_level, const struct codegen_options *copts, int no_cache_read, int *from_cache,
                        char *err, size_t errlen) {
    LLVMMemoryBufferRef obj = program_object(g, plan, LLVMOrcLLJITGetTripleString(p->jit), opt_level, copts,
                                             no_cache_read, from_cache, err, errlen);
    if (!obj) return -1;
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(p->jit, LLVMOrcLLJITGetMainJITDylib(p->jit), obj); /* takes obj */
    if (e) return llvm_error(e, "cannot add the object file to the JIT", err, errlen);
    for (int i = 0; i < plan->n_kernels; i++) {
        char name[32];
        codegen_kernel_name(name, sizeof name, "", &plan->kernels[i]);
        LLVMOrcExecutorAddress addr = 0;
        e = LLVMOrcLLJITLookup(p->jit, &addr, name); /* the first lookup links the object */
        if (e) return llvm_error(e, "JIT linking failed", err, errlen);
        ((struct ebmc_aot_kernel *)p->desc.kernels)[i].fn = (ebmc_aot_kernel_fn)(uintptr_t)addr;
    }
    return 0;
}

int64_t jit_arena_bytes(const struct ir_graph *g, char *err, size_t errlen) {
    struct codegen_plan plan;
    if (verify_graph(g, err, errlen) != 0 || codegen_plan(g, NULL, &plan, err, errlen) != 0) return -1;
    int64_t bytes = plan.arena_bytes;
    codegen_plan_free(&plan);
    return bytes;
}

struct jit_program *jit_compile(const struct ir_graph *g, const struct jit_options *opts, char *err, size_t errlen) {
    double t0 = clock_seconds();
    int opt_level = opts ? opts->opt_level : 3;
    if (verify_graph(g, err, errlen) != 0 || init_llvm(err, errlen) != 0) return NULL;
    struct codegen_options unfused = {1, 1}, copts = {opts && opts->no_fusion, opts && opts->no_memory_planning};
    struct codegen_plan plan;
    if (codegen_plan(g, &unfused, &plan, err, errlen) != 0) return NULL;
    struct jit_stats stats = {.n_kernels_unfused = plan.n_kernels, .bytes_unplanned = plan.unplanned_bytes};
    codegen_plan_free(&plan);
    if (codegen_plan(g, &copts, &plan, err, errlen) != 0) return NULL;
    stats.n_kernels = plan.n_kernels;
    stats.bytes = plan.arena_bytes;
    struct jit_program *p = calloc(1, sizeof *p);
    int ok = p != NULL && codegen_describe(g, &plan, "jit", &p->desc) == 0;
    if (ok) ok = (p->run = ebmc_aot_new(&p->desc)) != NULL;
    if (!ok) snprintf(err, errlen, "out of memory");
    else p->stats = stats;
    if (ok) ok = (p->jit = create_jit(err, errlen)) != NULL;
    int from_cache = 0;
    if (ok) ok = load_kernels(p, g, &plan, opt_level, &copts, 0, &from_cache, err, errlen) == 0;
    if (!ok && from_cache) { /* a cached object that passed its checks yet does not link: compile afresh */
        dispose_jit(p->jit);
        ok = (p->jit = create_jit(err, errlen)) != NULL &&
             load_kernels(p, g, &plan, opt_level, &copts, 1, &from_cache, err, errlen) == 0;
    }
    codegen_plan_free(&plan);
    if (!ok) {
        jit_free(p);
        return NULL;
    }
    p->stats.compile_seconds = clock_seconds() - t0;
    return p;
}

void jit_free(struct jit_program *p) {
    if (!p) return;
    ebmc_aot_free(p->run);
    if (p->jit) dispose_jit(p->jit);
    codegen_describe_free(&p->desc);
    free(p);
}

double jit_compile_seconds(const struct jit_program *p) { return p->stats.compile_seconds; }

const struct jit_stats *jit_get_stats(const struct jit_program *p) { return &p->stats; }

void jit_set_min_parallel_work(struct jit_program *p, int64_t work) { runner_set_min_parallel_work(p->run, work); }

void jit_run_timed(struct jit_program *p, float *const *args, double *kernel_seconds) {
    runner_run_timed(p->run, args, kernel_seconds);
}

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
    LLVMModuleRef mod = build_module(g, &plan, ctx, tm, triple, format == JIT_CODE_LLVM_UNOPT ? 0 : 3, err, errlen);
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
            codegen_add_kernels(mod, graphs[i], &plan, host_has_fma(), prefix) != 0 ||
            add_descriptor(mod, &d, &plan, symbols[i], prefix) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        codegen_describe_free(&d);
        codegen_plan_free(&plan);
    }
    if (rc == 0) rc = optimize_module(mod, tm, 3, err, errlen);
    if (rc == 0) {
        LLVMMemoryBufferRef obj = emit_code(tm, mod, LLVMObjectFile, err, errlen);
        rc = obj ? write_file(path, NULL, obj, err, errlen) : -1;
        if (obj) LLVMDisposeMemoryBuffer(obj);
    }
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    LLVMDisposeMessage(triple);
    return rc;
}
