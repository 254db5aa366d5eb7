/* Parameters may take any name, including the ones the runtime uses for its own inputs and outputs
 * ("x", "w", "loss", "dE"): compiling and training such a model works and trains the right tensors. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebmc.h"
#include "test.h"

/* stderr's file descriptor sent to a temporary file, and back: what the API wrote there unasked. */
static int hide_stderr(FILE **tmp) {
    fflush(stderr);
    int saved = dup(2);
    *tmp = tmpfile();
    if (*tmp) dup2(fileno(*tmp), 2);
    return saved;
}
static long restore_stderr(int saved, FILE *tmp) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long n = tmp ? ftell(tmp) : -1;
    if (tmp) fclose(tmp);
    return n;
}

static const char src[] =
    "param x: [2, 8] = xavier()\n"
    "param w: [8] = zeros()\n"
    "param loss: [8, 1] = xavier()\n"
    "param dE: [1] = zeros()\n"
    "energy(z: [B, 2]) {\n"
    "  return softplus(z @ x + w) @ loss + dE\n"
    "}\n";

int main(void) {
    struct ebmc_model *m = ebmc_load_string(src, "names.ebm", stderr);
    CHECK(m != NULL);
    if (!m) return test_report();
    CHECK(ebmc_set(m, "batch", "16", stderr) == 0);
    CHECK(ebmc_set(m, "objective", "cd", stderr) == 0);
    float pts[2 * 16] = {0}, e[16];
    double loss;
    /* Errors go to the caller's diag, never to stderr: before compiling, and when the first call
     * compiles the loss program. */
    char *text = NULL;
    size_t len = 0;
    FILE *diag = open_memstream(&text, &len), *tmp;
    int saved = hide_stderr(&tmp);
    CHECK(ebmc_loss(m, pts, pts, &loss, diag) == -1 && ebmc_gradients(m, pts, 0, &loss, diag) == -1);
    CHECK(ebmc_compile(m, diag) == 0);
    CHECK(ebmc_gradients(m, pts, 0, &loss, diag) == 0);
    CHECK(restore_stderr(saved, tmp) == 0);
    fclose(diag);
    const char *want = "error: the model is not compiled (ebmc_compile)\n";
    CHECK_MSG(text && len == 2 * strlen(want) && strncmp(text, want, strlen(want)) == 0, "%s", text ? text : "");
    free(text);
    CHECK(ebmc_energy(m, pts, e, 16) == 0);
    /* d loss / d energy-bias is mean(1) - mean(1) + 2 alpha/B * sum(E): finite and bound to "dE". */
    int found = 0;
    for (int i = 0; i < ebmc_n_params(m); i++) found += ebmc_param_grad(m, i) != NULL;
    CHECK(found == 4);
    /* parameters and inputs by name, with shapes; bad indices and names are answered, never crash */
    int64_t shape[4];
    int k = ebmc_find_param(m, "loss");
    CHECK(k >= 0 && ebmc_param_shape(m, k, shape) == 2 && shape[0] == 8 && shape[1] == 1);
    CHECK(ebmc_find_param(m, "nope") == -1 && ebmc_find_param(m, NULL) == -1);
    CHECK(ebmc_param_shape(m, 99, shape) == -1 && ebmc_param_name(m, -1) == NULL && ebmc_param_data(m, 4) == NULL);
    CHECK(ebmc_param_grad(m, 4) == NULL && ebmc_param_moment(m, 0, 3) == NULL && ebmc_param_numel(m, 7) == 0);
    CHECK(ebmc_input_shape(m, shape) == 2 && shape[0] == 16 && shape[1] == 2);
    char in_name[16];
    CHECK(ebmc_n_inputs(m) == 1 && ebmc_input(m, 0, in_name, sizeof in_name, shape) == 2 && strcmp(in_name, "z") == 0);
    CHECK(ebmc_input(m, 1, in_name, sizeof in_name, shape) == -1 && ebmc_input(m, -1, in_name, 4, shape) == -1);
    struct ebmc_model *two = ebmc_load_string("param W: [3, 1] = zeros()\n"
                                              "energy(x: [B, 3], level: [B]) { return x @ W + reshape(level, [B, 1]) }\n",
                                              "two.ebm", stderr);
    CHECK(two && ebmc_n_inputs(two) == 2);
    double two_batch = 0;
    CHECK(two && ebmc_get_setting(two, "batch", in_name, sizeof in_name, &two_batch) == 1);
    CHECK(two && ebmc_input(two, 1, in_name, sizeof in_name, shape) == 1 && strcmp(in_name, "level") == 0 &&
          shape[0] == (int64_t)two_batch);
    CHECK(two && ebmc_input(two, 0, in_name, 2, shape) == 2 && strcmp(in_name, "x") == 0 && shape[1] == 3);
    ebmc_free(two);
    /* any number of points, not only the compiled batch */
    float many[2 * 37], e37[37], e1;
    for (int i = 0; i < 2 * 37; i++) many[i] = (float)(i % 7) * 0.25f - 0.5f;
    CHECK(ebmc_energy(m, many, e37, 37) == 0 && ebmc_energy(m, many + 2 * 36, &e1, 1) == 0);
    CHECK(e37[36] == e1);
    /* settings as typed values */
    char buf[64];
    double v = 0;
    CHECK(ebmc_get_setting(m, "batch", buf, sizeof buf, &v) == 1 && v == 16);
    CHECK(ebmc_get_setting(m, "objective", buf, sizeof buf, NULL) == 0 && buf[0] == 'c' && buf[1] == 'd' && !buf[2]);
    CHECK(ebmc_get_setting(m, "bogus", buf, sizeof buf, &v) == -1);
    ebmc_free(m);
    return test_report();
}
