/* fuzz_ir: the IR parser on any bytes. A graph it accepts must verify and print to text that parses
 * back to a graph printing the same (ir.h's round-trip promise). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *src = malloc(size + 1), err[1024];
    if (!src) return 0;
    memcpy(src, data, size);
    src[size] = 0;
    struct ir_graph *g = ir_parse(src, "fuzz.ir", err, sizeof err);
    if (g) {
        char *text = ir_print_string(g);
        struct ir_graph *again = text ? ir_parse(text, "printed.ir", err, sizeof err) : NULL;
        char *text2 = again ? ir_print_string(again) : NULL;
        if (ir_verify(g, err, sizeof err) != 0 || !text2 || strcmp(text, text2) != 0) {
            fprintf(stderr, "fuzz_ir: accepted graph does not verify or round-trip (%s):\n%s\n", err, src);
            abort();
        }
        free(text);
        free(text2);
        ir_graph_free(again);
        ir_graph_free(g);
    }
    free(src);
    return 0;
}
