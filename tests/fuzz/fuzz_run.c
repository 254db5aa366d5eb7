/* fuzz_run: the run-folder loader (ebmc_load_run) on any config.txt, beside tests/fuzz/small.ebm as
 * model.ebm. Accepted settings must pass the settings check or be refused by it, never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebmc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char model[] = "param W1: [2, 16] = xavier()\n"
                            "param b1: [16] = zeros()\n"
                            "param W2: [16, 1] = xavier()\n"
                            "param b2: [1] = zeros()\n"
                            "energy(x: [B, 2]) {\n"
                            "  return silu(x @ W1 + b1) @ W2 + b2\n"
                            "}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char dir[64];
    char path[128];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/ebmc-fuzz-run-%ld", (long)getpid());
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/model.ebm", dir);
        FILE *f = fopen(path, "w");
        if (!f) return 0;
        fputs(model, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/config.txt", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    FILE *sink = fopen("/dev/null", "w");
    struct ebmc_model *m = ebmc_load_run(dir, sink);
    ebmc_free(m);
    if (sink) fclose(sink);
    return 0;
}
