/* fuzz_checkpoint: the checkpoint loader on any bytes, into the model of tests/fuzz/corpus/dsl/small.ebm
 * (its text, and its parameters W1 [2, 16], b1 [16], W2 [16, 1], b2 [1], as in the seed corpus). A file
 * it accepts must leave finite parameters and a replay buffer the model can use; one it refuses must
 * leave the model as it was. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the model text (tests/fuzz/corpus/dsl/small.ebm): a checkpoint of another text must be refused */
static const char small_ebm[] = "param W1: [2, 16] = xavier()\n"
                                "param b1: [16] = zeros()\n"
                                "param W2: [16, 1] = xavier()\n"
                                "param b2: [1] = zeros()\n"
                                "energy(x: [B, 2]) {\n"
                                "  return silu(x @ W1 + b1) @ W2 + b2\n"
                                "}\n"
                                "train {\n"
                                "  data = rings\n"
                                "  objective = pcd\n"
                                "  batch = 64\n"
                                "  buffer_size = 128\n"
                                "  grid = 32\n"
                                "  n_samples = 128\n"
                                "  sample_steps = 5\n"
                                "  threads = 2\n"
                                "}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/ebmc-fuzz-ckpt-%ld", (long)getpid());
    /* The last 8 bytes are the FNV-1a checksum of the rest: set them, so mutations reach the parser
     * instead of all stopping at "checksum mismatch" (which the unit tests cover). */
    uint8_t *file = malloc(size + 1);
    if (!file) return 0;
    memcpy(file, data, size);
    if (size >= 8) {
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < size - 8; i++) h = (h ^ file[i]) * 0x100000001b3ull;
        memcpy(file + size - 8, &h, 8);
    }
    FILE *f = fopen(path, "wb");
    if (f) fwrite(file, 1, size, f), fclose(f);
    free(file);
    if (!f) return 0;
    struct rt_model m;
    memset(&m, 0, sizeof m);
    m.dim = 2;
    m.source = small_ebm;
    rt_model_add_param(&m, "W1", 2, (int64_t[]){2, 16});
    rt_model_add_param(&m, "b1", 1, (int64_t[]){16});
    rt_model_add_param(&m, "W2", 2, (int64_t[]){16, 1});
    rt_model_add_param(&m, "b2", 1, (int64_t[]){1});
    struct run_state rs;
    int64_t step = -1;
    char err[512];
    if (checkpoint_load_state(&m, &step, &rs, path, err, sizeof err) == 0) {
        int ok = step >= 0;
        for (int i = 0; i < m.n_params; i++)
            for (int64_t k = 0; k < m.params[i].numel; k++)
                ok &= isfinite(m.params[i].value[k]) && isfinite(m.params[i].adam_m[k]) && isfinite(m.params[i].adam_v[k]);
        if (!ok) {
            fprintf(stderr, "fuzz_checkpoint: loaded a negative step or a non-finite value\n");
            abort();
        }
        replay_buffer_free(&rs.pcd);
    } else {
        for (int i = 0; i < m.n_params; i++)
            for (int64_t k = 0; k < m.params[i].numel; k++)
                if (m.params[i].value[k] != 0) {
                    fprintf(stderr, "fuzz_checkpoint: a refused file changed the model (%s)\n", err);
                    abort();
                }
    }
    rt_model_free(&m);
    remove(path);
    return 0;
}
