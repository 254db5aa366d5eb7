/* fuzz_dsl: the DSL front end on any bytes. An accepted model must lower to a graph that verifies (the
 * front end promises a model that parsed cannot fail to lower); anything else must be refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *src = malloc(size + 1);
    if (!src) return 0;
    memcpy(src, data, size);
    src[size] = 0;
    struct fe_model *m = fe_parse_string(src, "fuzz.ebm", NULL);
    if (m) {
        struct ir_graph *g = ir_graph_new();
        int e = -1;
        char err[256];
        /* no energy (a file of settings only) is the one accepted model with nothing to lower */
        if (fe_model_input_ndim(m) > 0 && (fe_lower_energy_at(m, g, 3, &e, stderr) != 0 || ir_verify(g, err, sizeof err) != 0)) {
            fprintf(stderr, "fuzz_dsl: accepted but did not lower to a valid graph:\n%s\n", src);
            abort();
        }
        ir_graph_free(g);
    }
    fe_model_free(m);
    free(src);
    return 0;
}
