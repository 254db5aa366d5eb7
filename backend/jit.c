/* jit.c: compiles a graph's kernel module (built by codegen.c) with LLVM's O3 pipeline for the host
 * CPU, loads it into an ORC LLJIT, and runs the kernels from one OpenMP parallel region. */
#include "jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen.h"

/* Kernels with less work than this run on one thread: below it the barrier costs more than it saves. */
#define DEFAULT_MIN_PARALLEL_WORK 32768

typedef void (*kernel_fn)(float **bufs, int64_t lo, int64_t hi);

struct jit_kernel {
    kernel_fn fn;
    int64_t range, work;
    atomic_uint claimed; /* bitmask of chunks taken in the current run */
    atomic_int done;     /* chunks finished in the current run */
};

struct jit_output {
    int slot;      /* where the value lives, or -1 for a constant */
    float value;   /* the constant, when slot < 0 */
    int64_t numel;
};

struct jit_program {
    LLVMOrcLLJITRef jit; /* owns the compiled code */
    int n_args, n_slots;
    float **bufs; /* [0, n_args): the caller's, rebound by every run; the rest point into arena */
    void *arena;  /* every program-owned buffer, placed by plan.c's memory planning */
    struct jit_kernel *kernels;
    int n_kernels;
    struct jit_output *outputs;
    int n_outputs;
    int64_t min_parallel_work;
    struct jit_stats stats;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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

/* Builds g's module in ctx for `triple`, verifies it and, at opt_level > 0, runs default<O3>. */
static LLVMModuleRef build_module(const struct ir_graph *g, const struct codegen_plan *plan, LLVMContextRef ctx,
                                  const char *triple, int opt_level, char *err, size_t errlen) {
    LLVMTargetMachineRef tm = host_machine(triple, err, errlen);
    if (!tm) return NULL;
    LLVMModuleRef mod = codegen_module(g, plan, ctx, host_has_fma());
    if (!mod) {
        snprintf(err, errlen, "out of memory");
        LLVMDisposeTargetMachine(tm);
        return NULL;
    }
    LLVMSetTarget(mod, triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(mod, layout);
    LLVMDisposeTargetData(layout);
    char *msg = NULL;
    int bad = LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg);
    if (bad) snprintf(err, errlen, "internal error: invalid LLVM IR: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    if (!bad && opt_level > 0) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
        LLVMPassBuilderOptionsSetLoopUnrolling(po, 1);
        LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
        LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) bad = llvm_error(e, "LLVM optimization failed", err, errlen);
    }
    LLVMDisposeTargetMachine(tm);
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

/* Builds, optimizes and adds g's module to p->jit, then looks up every kernel. */
static int load_kernels(struct jit_program *p, const struct ir_graph *g, const struct codegen_plan *plan,
                        int opt_level, char *err, size_t errlen) {
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = build_module(g, plan, LLVMOrcThreadSafeContextGetContext(tsc),
                                     LLVMOrcLLJITGetTripleString(p->jit), opt_level, err, errlen);
    if (!mod) {
        LLVMOrcDisposeThreadSafeContext(tsc);
        return -1;
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
    LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps the context alive */
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(p->jit, LLVMOrcLLJITGetMainJITDylib(p->jit), tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return llvm_error(e, "cannot add the module to the JIT", err, errlen);
    }
    for (int i = 0; i < plan->n_kernels; i++) {
        char name[32];
        codegen_kernel_name(name, sizeof name, &plan->kernels[i]);
        LLVMOrcExecutorAddress addr = 0;
        e = LLVMOrcLLJITLookup(p->jit, &addr, name); /* the first lookup compiles the module */
        if (e) return llvm_error(e, "JIT compilation failed", err, errlen);
        p->kernels[i].fn = (kernel_fn)(uintptr_t)addr;
        p->kernels[i].range = plan->kernels[i].range;
        p->kernels[i].work = plan->kernels[i].work;
    }
    return 0;
}

/* The arena, 64-byte aligned (a cache line, one AVX-512 vector), as are the offsets in it. */
static int alloc_buffers(struct jit_program *p, const struct codegen_plan *plan) {
    p->arena = aligned_alloc(64, (size_t)plan->arena_bytes + 64);
    if (!p->arena) return -1;
    for (int s = plan->n_args; s < plan->n_slots; s++) p->bufs[s] = (float *)((char *)p->arena + plan->slot_offset[s]);
    return 0;
}

static int plan_outputs(struct jit_program *p, const struct ir_graph *g, const struct codegen_plan *plan) {
    p->n_outputs = g->n_outputs;
    p->outputs = calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *p->outputs);
    if (!p->outputs) return -1;
    for (int i = 0; i < g->n_outputs; i++) {
        int id = g->outputs[i].node;
        struct jit_output *o = &p->outputs[i];
        o->slot = plan->slot[id];
        o->numel = ir_node_numel(ir_node_at(g, id));
        if (o->slot >= 0) continue;
        while (ir_node_at(g, id)->op != IR_CONST) id = ir_node_at(g, id)->in[0]; /* through reshapes */
        o->value = (float)ir_node_at(g, id)->value;
    }
    return 0;
}

struct jit_program *jit_compile(const struct ir_graph *g, const struct jit_options *opts, char *err, size_t errlen) {
    double t0 = now();
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
    int ok = p != NULL;
    if (ok) {
        p->stats = stats;
        p->min_parallel_work = DEFAULT_MIN_PARALLEL_WORK;
        p->n_args = plan.n_args;
        p->n_slots = plan.n_slots;
        p->n_kernels = plan.n_kernels;
        p->bufs = calloc((size_t)plan.n_slots + 1, sizeof *p->bufs);
        p->kernels = calloc((size_t)plan.n_kernels + 1, sizeof *p->kernels);
        ok = p->bufs && p->kernels && alloc_buffers(p, &plan) == 0 && plan_outputs(p, g, &plan) == 0;
    }
    if (!ok) snprintf(err, errlen, "out of memory");
    if (ok) ok = (p->jit = create_jit(err, errlen)) != NULL;
    if (ok) ok = load_kernels(p, g, &plan, opt_level, err, errlen) == 0;
    codegen_plan_free(&plan);
    if (!ok) {
        jit_free(p);
        return NULL;
    }
    p->stats.compile_seconds = now() - t0;
    return p;
}

void jit_free(struct jit_program *p) {
    if (!p) return;
    if (p->jit) dispose_jit(p->jit);
    free(p->arena);
    free(p->bufs);
    free(p->kernels);
    free(p->outputs);
    free(p);
}

double jit_compile_seconds(const struct jit_program *p) { return p->stats.compile_seconds; }

const struct jit_stats *jit_get_stats(const struct jit_program *p) { return &p->stats; }

void jit_set_min_parallel_work(struct jit_program *p, int64_t work) { p->min_parallel_work = work; }

/* ---- running ---- */

static int is_parallel(const struct jit_program *p, const struct jit_kernel *k) {
    return k->range > 1 && k->work >= p->min_parallel_work;
}

/* Work claiming. A parallel kernel is cut into one chunk per thread. Each thread first claims its own
 * chunk (so, on a quiet machine, a thread keeps touching the same rows from kernel to kernel, as with a
 * static split), then any chunk nobody has claimed yet, and moves on once every chunk is done. A thread
 * the OS has descheduled (another process wants the core) therefore holds up at most a chunk it already
 * took: with a static split and barriers, a busy machine made every one of a program's hundreds of
 * barriers wait a whole time slice, and 2 threads ran 10x slower than 1. Each output element is computed
 * by the same code whichever thread runs its chunk, so results are identical for any thread count. */
#define MAX_CHUNKS 32

static int n_chunks(const struct jit_program *p, const struct jit_kernel *k, int nt) {
    if (!is_parallel(p, k)) return 1;
    int n = nt < MAX_CHUNKS ? nt : MAX_CHUNKS;
    return k->range < n ? (int)k->range : n;
}

static void run_chunk(struct jit_program *p, struct jit_kernel *k, int c, int n) {
    int64_t lo = k->range * c / n, hi = k->range * (c + 1) / n;
    if (lo < hi) k->fn(p->bufs, lo, hi);
    atomic_fetch_add_explicit(&k->done, 1, memory_order_release);
}

static void run_team(struct jit_program *p, int t, int nt) {
    for (int i = 0; i < p->n_kernels; i++) {
        struct jit_kernel *k = &p->kernels[i];
        int n = n_chunks(p, k, nt);
        for (int j = 0; j < n; j++) {
            int c = (t + j) % n; /* own chunk first */
            unsigned bit = 1u << c;
            if (!(atomic_fetch_or_explicit(&k->claimed, bit, memory_order_relaxed) & bit)) run_chunk(p, k, c, n);
        }
        for (int spins = 0; atomic_load_explicit(&k->done, memory_order_acquire) < n; spins++)
            if (spins >= 1000) sched_yield();
    }
}

void jit_run(struct jit_program *p, float *const *args, float *const *outs, int nthreads) {
    for (int i = 0; i < p->n_args; i++) p->bufs[i] = args[i];
    int nt = nthreads > 0 ? nthreads : omp_get_max_threads();
    int any_parallel = 0;
    for (int i = 0; i < p->n_kernels; i++) any_parallel |= is_parallel(p, &p->kernels[i]);
    if (nt > 1 && any_parallel) {
        for (int i = 0; i < p->n_kernels; i++) {
            atomic_store_explicit(&p->kernels[i].claimed, 0, memory_order_relaxed);
            atomic_store_explicit(&p->kernels[i].done, 0, memory_order_relaxed);
        }
#pragma omp parallel num_threads(nt)
        run_team(p, omp_get_thread_num(), omp_get_num_threads());
    } else {
        for (int i = 0; i < p->n_kernels; i++) p->kernels[i].fn(p->bufs, 0, p->kernels[i].range);
    }
    /* After every kernel has run, so an output buffer may be an argument (in-place updates). */
    for (int i = 0; i < p->n_outputs; i++) {
        const struct jit_output *o = &p->outputs[i];
        if (o->slot < 0) {
            for (int64_t j = 0; j < o->numel; j++) outs[i][j] = o->value;
        } else if (outs[i] != p->bufs[o->slot]) {
            memmove(outs[i], p->bufs[o->slot], (size_t)o->numel * sizeof(float));
        }
    }
}

/* ---- printing ---- */

/* The module as text: LLVM IR, or assembly from the host TargetMachine. */
static char *module_text(LLVMModuleRef mod, const char *triple, enum jit_code_format format, char *err, size_t errlen) {
    if (format != JIT_CODE_ASM) return LLVMPrintModuleToString(mod);
    LLVMTargetMachineRef tm = host_machine(triple, err, errlen);
    if (!tm) return NULL;
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL, *text = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMAssemblyFile, &msg, &buf)) {
        snprintf(err, errlen, "cannot emit assembly: %s", msg ? msg : "?");
    } else {
        size_t len = LLVMGetBufferSize(buf);
        text = malloc(len + 1);
        if (text) {
            memcpy(text, LLVMGetBufferStart(buf), len);
            text[len] = 0;
        }
        LLVMDisposeMemoryBuffer(buf);
    }
    LLVMDisposeMessage(msg);
    LLVMDisposeTargetMachine(tm);
    return text;
}

int jit_print_code(const struct ir_graph *g, enum jit_code_format format, FILE *out, char *err, size_t errlen) {
    if (verify_graph(g, err, errlen) != 0 || init_llvm(err, errlen) != 0) return -1;
    struct codegen_plan plan;
    if (codegen_plan(g, NULL, &plan, err, errlen) != 0) return -1;
    LLVMContextRef ctx = LLVMContextCreate();
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMModuleRef mod = build_module(g, &plan, ctx, triple, format == JIT_CODE_LLVM_UNOPT ? 0 : 3, err, errlen);
    codegen_plan_free(&plan);
    int rc = -1;
    if (mod) {
        char *text = module_text(mod, triple, format, err, errlen);
        if (text) {
            rc = fputs(text, out) < 0 ? -1 : 0;
            if (rc) snprintf(err, errlen, "cannot write the output");
        }
        if (format == JIT_CODE_ASM) free(text);
        else LLVMDisposeMessage(text);
        LLVMDisposeModule(mod);
    }
    LLVMDisposeMessage(triple);
    LLVMContextDispose(ctx);
    return rc;
}
