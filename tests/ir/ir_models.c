/* Every model in models/: the graphs the public API prints (--emit=graph: the energy; --emit=grad: the
 * sampler program E, dE/dx and the training-step program: loss and parameter gradients; --emit=opt: the
 * optimized training step) parse back and print byte for byte as they were printed. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "ebmc.h"
#include "ir.h"
#include "test.h"

static int n_graphs;

/* Each `graph {` ... `}` block of an emitted stage must survive print -> parse -> print unchanged. */
static void check_stage(struct ebmc_model *m, const char *path, const char *stage, int want_graphs) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK_MSG(ebmc_emit(m, stage, NULL, NULL, f, stderr) == 0, "%s --emit=%s", path, stage);
    fclose(f);
    int found = 0;
    for (const char *p = strstr(text, "graph {\n"); p; p = strstr(p + 1, "graph {\n")) {
        const char *end = strstr(p, "\n}\n");
        CHECK(end != NULL);
        if (!end) break;
        char *block = strndup(p, (size_t)(end + 3 - p)), err[1024];
        struct ir_graph *g = ir_parse(block, path, err, sizeof err);
        CHECK_MSG(g != NULL, "%s --emit=%s: %s", path, stage, err);
        if (g) {
            char *again = ir_print_string(g);
            CHECK_MSG(strcmp(block, again) == 0, "%s --emit=%s: graph %d differs after print -> parse -> print", path,
                      stage, found);
            free(again);
            ir_graph_free(g);
        }
        free(block);
        found++;
        n_graphs++;
    }
    CHECK_MSG(found == want_graphs, "%s --emit=%s: %d graphs", path, stage, found);
    free(text);
}

int main(void) {
    const char *dir = EBMC_SOURCE_DIR "/models";
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int models = 0;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        if (len < 5 || strcmp(ent->d_name + len - 4, ".ebm") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        struct ebmc_model *m = ebmc_load(path, stderr);
        CHECK_MSG(m != NULL, "%s", path);
        if (!m) continue;
        models++;
        check_stage(m, path, "graph", 1);
        check_stage(m, path, "grad", 2);
        check_stage(m, path, "opt", 1);
        ebmc_free(m);
    }
    if (d) closedir(d);
    fprintf(stderr, "%d models, %d graphs round-tripped\n", models, n_graphs);
    CHECK(models >= 7);
    return test_report();
}
