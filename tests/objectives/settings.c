/* Every knob of the objectives is a setting (objectives.md; issue "Objectives and samplers"): settable
 * from the model's train block and through ebmc_set (what `--set key=value` calls), validated, printed,
 * and recorded in the run's metrics.json. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebmc.h"
#include "test.h"

static const char model_head[] =
    "param mu: [2] = zeros()\n"
    "param c: [1] = ones()\n"
    "energy(x: [B, 2]) {\n"
    "  return 0.5 * c * sum(square(x - mu), 1)\n"
    "}\n";

static const char *const knobs[][2] = {
    {"objective", "dcd-vp"}, {"sampler", "linearized"}, {"langevin_steps", "7"}, {"step_size", "0.02"},
    {"noise_scale", "0.9"},  {"grad_clip", "3"},        {"reinit_prob", "0.2"},  {"buffer_size", "5000"},
    {"sigma", "0.4"},        {"beta", "0.25"},          {"alpha", "0.05"},
};
#define NK (int)(sizeof knobs / sizeof knobs[0])

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static char *settings_text(struct ebmc_model *m) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ebmc_print_settings(m, f);
    fclose(f);
    return text;
}

/* "key = value" is in the printed settings. */
static void has_setting(const char *text, const char *key, const char *value) {
    char line[128];
    snprintf(line, sizeof line, "%s = %s\n", key, value);
    CHECK_MSG(strstr(text, line) != NULL, "missing '%s = %s'", key, value);
}

int main(void) {
    /* From the train block. */
    char src[4096];
    size_t len = (size_t)snprintf(src, sizeof src, "%strain {\n", model_head);
    for (int k = 0; k < NK; k++) len += (size_t)snprintf(src + len, sizeof src - len, "  %s = %s\n", knobs[k][0], knobs[k][1]);
    snprintf(src + len, sizeof src - len, "}\n");
    struct ebmc_model *m = ebmc_load_string(src, "knobs.ebm", stderr);
    CHECK(m != NULL);
    if (m) {
        char *text = settings_text(m);
        for (int k = 0; k < NK; k++) has_setting(text, knobs[k][0], knobs[k][1]);
        free(text);
        ebmc_free(m);
    }

    /* Through ebmc_set, every value of the two enumerations, and the defaults. */
    m = ebmc_load_string(model_head, "defaults.ebm", stderr);
    char *text = settings_text(m);
    has_setting(text, "beta", "0.1");
    has_setting(text, "reinit_prob", "0.05");
    has_setting(text, "buffer_size", "10000");
    has_setting(text, "sampler", "mala"); /* auto resolves to MALA for the default objective, dcd-ve */
    free(text);
    static const char *const objectives[] = {"cd", "sr-cd", "pcd", "dcd-ve", "dcd-vp"};
    static const char *const auto_sampler[] = {"ula", "ula", "ula", "mala", "mala"};
    for (int i = 0; i < 5; i++) {
        CHECK(ebmc_set(m, "objective", objectives[i], stderr) == 0);
        text = settings_text(m);
        has_setting(text, "objective", objectives[i]);
        has_setting(text, "sampler", auto_sampler[i]);
        free(text);
    }
    static const char *const samplers[] = {"auto", "ula", "mala", "linearized"};
    for (int i = 0; i < 4; i++) CHECK(ebmc_set(m, "sampler", samplers[i], stderr) == 0);
    for (int k = 0; k < NK; k++) CHECK(ebmc_set(m, knobs[k][0], knobs[k][1], stderr) == 0);

    /* Bad values are refused with a reason. */
    static const char *const bad[][2] = {{"reinit_prob", "1.5"}, {"beta", "1"},         {"beta", "0"},
                                         {"buffer_size", "0"},   {"sampler", "hmc"},     {"objective", "dcd"},
                                         {"sigma", "-1"},        {"langevin_steps", "2.5"}};
    fprintf(stderr, "(%d errors are expected next)\n", (int)(sizeof bad / sizeof bad[0]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(ebmc_set(m, bad[i][0], bad[i][1], stderr) != 0);
    ebmc_free(m);

    /* Recorded in metrics.json, with the sampler actually used and the DCD kernel. */
    char dir[] = "/tmp/ebmc_objectives_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    static const char *const runs[][3] = {{"dcd-vp", "auto", "\"sampler\": \"mala\""},
                                          {"pcd", "auto", "\"sampler\": \"ula\""}};
    for (int r = 0; r < 2; r++) {
        m = ebmc_load_string(model_head, "tiny.ebm", stderr);
        const char *tiny[][2] = {{"steps", "3"}, {"batch", "64"},       {"grid", "16"},       {"n_samples", "16"},
                                 {"sample_steps", "1"}, {"eval_every", "0"}, {"threads", "2"}, {"beta", "0.25"},
                                 {"reinit_prob", "0.2"}, {"buffer_size", "5000"}, {"objective", runs[r][0]},
                                 {"sampler", runs[r][1]}, {"alpha", "0.05"}, {"grad_clip", "3"}};
        for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) CHECK(ebmc_set(m, tiny[i][0], tiny[i][1], stderr) == 0);
        struct ebmc_result res;
        CHECK(ebmc_train(m, dir, NULL, stderr, &res) == 0);
        ebmc_free(m);
        char path[256];
        snprintf(path, sizeof path, "%s/metrics.json", dir);
        char *json = slurp(path);
        CHECK(json != NULL);
        if (!json) continue;
        static const char *const want[] = {"\"beta\": 0.25",          "\"reinit_prob\": 0.2", "\"buffer_size\": 5000",
                                           "\"langevin_steps\": 5",   "\"step_size\": 0.01",  "\"noise_scale\": 1",
                                           "\"grad_clip\": 3",        "\"sigma\": 0.3",       "\"alpha\": 0.05"};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
            CHECK_MSG(strstr(json, want[i]) != NULL, "%s: metrics.json lacks %s", runs[r][0], want[i]);
        CHECK_MSG(strstr(json, runs[r][2]) != NULL, "%s: metrics.json lacks %s", runs[r][0], runs[r][2]);
        char objective[64];
        snprintf(objective, sizeof objective, "\"objective\": \"%s\"", runs[r][0]);
        CHECK(strstr(json, objective) != NULL);
        if (r == 0) CHECK(strstr(json, "\"kernel\": {\"a\": 0.866025404, \"s\": 0.5}") != NULL); /* inline: small */
        else CHECK(strstr(json, "\"pcd_reset_fraction\": ") != NULL);
        free(json);
    }
    static const char *const files[] = {"metrics.json", "log.csv", "density.png", "samples.png", "model.ckpt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return test_report();
}
