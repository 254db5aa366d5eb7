/* opt.c: the public API of the graph passes: parse a textual IR graph, run a pipeline, print the result
 * (`ebmc opt`). */
#include "ebmc.h"

#include "ir.h"
#include "pass.h"

int ebmc_opt_text(const char *ir_text, const char *filename, const char *passes, const char *print_after, FILE *out,
                  FILE *diag) {
    char err[1024];
    struct ir_graph *in = ir_parse(ir_text, filename, err, sizeof err);
    if (!in) {
        fprintf(diag, "%s\n", err);
        return -1;
    }
    struct ir_graph *g = pass_run_pipeline(in, passes ? passes : PASS_DEFAULT_PIPELINE, print_after, diag, err, sizeof err);
    ir_graph_free(in);
    if (!g) {
        fprintf(diag, "error: %s\n", err);
        return -1;
    }
    ir_print(g, out);
    ir_graph_free(g);
    return 0;
}

const char *ebmc_default_passes(void) { return PASS_DEFAULT_PIPELINE; }

void ebmc_print_passes(FILE *out) {
    for (int i = 0; i < pass_count(); i++) fprintf(out, "  %-10s  %s\n", pass_at(i)->name, pass_at(i)->summary);
}
