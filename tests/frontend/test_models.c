/* test_models.c: every .ebm file in models/ parses cleanly, lowers at batch sizes 1, 32 and 1024, and the 2-D data set
 * models have the agreed architecture (MLP 2 -> 128 -> 128 -> 128 -> 1) and train settings. */
#include <dirent.h>

#include "fe_test_util.h"
#include "test.h"

static const char *const datasets[] = {"8gaussians", "rings", "checkerboard", "spirals", "moons", "pinwheel", "swissroll"};

static void check_architecture(const struct fe_model *m, const char *name) {
    static const struct {
        const char *name;
        int ndim;
        int64_t d0, d1;
        enum fe_init init;
    } want[] = {
        {"W1", 2, 2, 128, FE_INIT_XAVIER},   {"b1", 1, 128, 0, FE_INIT_ZEROS}, {"W2", 2, 128, 128, FE_INIT_XAVIER},
        {"b2", 1, 128, 0, FE_INIT_ZEROS},    {"W3", 2, 128, 128, FE_INIT_XAVIER}, {"b3", 1, 128, 0, FE_INIT_ZEROS},
        {"W4", 2, 128, 1, FE_INIT_XAVIER},   {"b4", 1, 1, 0, FE_INIT_ZEROS},
    };
    CHECK_MSG(fe_model_n_params(m) == 8, "%s", name);
    for (int i = 0; i < 8 && i < fe_model_n_params(m); i++) {
        const struct fe_param *p = fe_model_param(m, i);
        CHECK_MSG(strcmp(p->name, want[i].name) == 0 && p->ndim == want[i].ndim && p->shape[0] == want[i].d0 &&
                      (p->ndim == 1 || p->shape[1] == want[i].d1) && p->init == want[i].init,
                  "%s: param %d (%s)", name, i, p->name);
    }
    CHECK(fe_model_input_ndim(m) == 2);
    int64_t shape[2];
    fe_model_input_shape(m, 5, shape);
    CHECK(shape[0] == 5 && shape[1] == 2);

    static const struct {
        const char *key, *value;
        int is_number;
    } settings[] = {
        {"data", NULL, 0},  {"objective", "dcd-ve", 0}, {"steps", "2000", 1},    {"batch", "1024", 1},
        {"lr", "1e-3", 1},  {"seed", "0", 1},           {"alpha", "0.1", 1},     {"sigma", "0.3", 1},
        {"langevin_steps", "5", 1}, {"step_size", "0.01", 1},
    };
    int n = (int)(sizeof settings / sizeof settings[0]);
    CHECK_MSG(fe_model_n_settings(m) == n, "%s has %d settings", name, fe_model_n_settings(m));
    for (int i = 0; i < n; i++) {
        const struct fe_setting *s = fe_model_find_setting(m, settings[i].key);
        const char *value = settings[i].value ? settings[i].value : name;
        CHECK_MSG(s && strcmp(s->value, value) == 0 && s->is_number == settings[i].is_number, "%s: %s", name,
                  settings[i].key);
    }
}

int main(void) {
    const char *dir = EBMC_SOURCE_DIR "/models";
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int found = 0, datasets_found = 0;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        if (len < 5 || strcmp(ent->d_name + len - 4, ".ebm") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        char *diag = NULL;
        size_t dlen = 0;
        FILE *f = open_memstream(&diag, &dlen);
        struct fe_model *m = fe_parse_file(path, f);
        fclose(f);
        CHECK_MSG(m != NULL && diag[0] == 0, "%s:\n%s", path, diag);
        free(diag);
        if (!m) continue;
        found++;
        for (int64_t batch = 1; batch <= 1024; batch *= 32) {
            struct ir_graph *g = ir_graph_new();
            int e = -1;
            CHECK_MSG(fe_lower_energy_at(m, g, batch, &e, stderr) == 0, "%s", path);
            char err[256];
            CHECK_MSG(ir_verify(g, err, sizeof err) == 0, "%s: %s", path, err);
            int k = fe_model_n_classes(m); /* a classifier: one energy per label, [batch, K] */
            CHECK(e >= 0 && g->nodes[e].ndim == (k ? 2 : 1) && g->nodes[e].shape[0] == batch &&
                  (!k || g->nodes[e].shape[1] == k));
            ir_graph_free(g);
        }
        for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++) {
            char file[64];
            snprintf(file, sizeof file, "%s.ebm", datasets[i]);
            if (strcmp(ent->d_name, file) == 0) {
                check_architecture(m, datasets[i]);
                datasets_found++;
            }
        }
        fe_model_free(m);
    }
    if (d) closedir(d);
    fprintf(stderr, "%d model files parsed\n", found);
    CHECK(datasets_found == 7);
    return test_report();
}
