/* model.c: the public entry points: parse a file or string, query the model, print its AST. */
#include <stdlib.h>
#include <string.h>

#include "fe_internal.h"
#include "support.h"

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

/* Takes ownership of src (len bytes plus a terminating NUL). */
static struct fe_model *parse(char *src, size_t len, const char *filename, FILE *diag) {
    struct fe_model *m = calloc(1, sizeof *m);
    if (!m) {
        free(src);
        if (diag) fprintf(diag, "%s: out of memory\n", filename);
        return NULL;
    }
    m->src = src;
    m->src_len = len;
    m->diag = diag;
    m->filename = copy_string(filename);
    if (!m->filename) {
        if (diag) fprintf(diag, "%s: out of memory\n", filename);
        fe_model_free(m);
        return NULL;
    }
    int ok = fe_parse_model(m) == 0;
    if (ok && m->has_energy) ok = fe_check_energy(m) == 0;
    if (!ok || m->n_errors) {
        if (m->n_errors > FE_MAX_ERRORS && diag)
            fprintf(diag, "%s: %d errors in all; only the first %d are shown\n", m->filename, m->n_errors, FE_MAX_ERRORS);
        fe_model_free(m);
        return NULL;
    }
    m->diag = NULL;
    return m;
}

struct fe_model *fe_parse_string(const char *source, const char *filename, FILE *diag) {
    if (!filename) filename = "<input>";
    if (!source) source = "";
    size_t len = strlen(source);
    char *src = malloc(len + 1);
    if (!src) {
        if (diag) fprintf(diag, "%s: out of memory\n", filename);
        return NULL;
    }
    memcpy(src, source, len + 1);
    return parse(src, len, filename, diag);
}

struct fe_model *fe_parse_file(const char *path, FILE *diag) {
    char err[4200];
    size_t len = 0;
    char *src = file_read_all(path, FE_MAX_FILE_BYTES, &len, err, sizeof err);
    if (!src) {
        if (diag) fprintf(diag, "%s\n", err);
        return NULL;
    }
    return parse(src, len, path, diag);
}

void fe_model_free(struct fe_model *m) {
    if (!m) return;
    fe_arena_free(m);
    free(m->params);
    free(m->param_names.slots);
    free(m->def_names.slots);
    free(m->settings);
    free(m->stmts);
    for (int i = 0; i < m->n_defs; i++) free(m->defs[i].stmts);
    free(m->defs);
    free(m->src);
    free(m->filename);
    free(m);
}

/* ---- accessors ---- */

const char *fe_model_filename(const struct fe_model *m) { return m->filename; }
int fe_model_input_ndim(const struct fe_model *m) { return m->n_inputs ? m->inputs[0].ndim : 0; }

void fe_model_input_shape(const struct fe_model *m, int64_t batch, int64_t *shape) {
    fe_model_input_at(m, 0, NULL, batch, shape);
}

int fe_model_n_inputs(const struct fe_model *m) { return m->n_inputs; }

int fe_model_input_at(const struct fe_model *m, int i, char *name, int64_t batch, int64_t *shape) {
    if (i < 0 || i >= m->n_inputs) return 0;
    const struct fe_input *in = &m->inputs[i];
    if (name) fe_clip(name, IR_NAME_LEN, in->name, in->len);
    shape[0] = batch;
    for (int k = 1; k < in->ndim; k++) shape[k] = in->dims[k];
    return in->ndim;
}

int fe_model_n_params(const struct fe_model *m) { return m->n_params; }

const struct fe_param *fe_model_param(const struct fe_model *m, int i) {
    return i >= 0 && i < m->n_params ? &m->params[i].p : NULL;
}

int fe_model_n_settings(const struct fe_model *m) { return m->n_settings; }

const struct fe_setting *fe_model_setting(const struct fe_model *m, int i) {
    return i >= 0 && i < m->n_settings ? &m->settings[i] : NULL;
}

const struct fe_setting *fe_model_find_setting(const struct fe_model *m, const char *key) {
    for (int i = 0; i < m->n_settings; i++)
        if (strcmp(m->settings[i].key, key) == 0) return &m->settings[i];
    return NULL;
}

/* ---- AST printer: one node per line, children indented, types from the check ---- */

static void print_type(const struct expr *e, FILE *out) {
    if (!e->typed) {
        fputc('\n', out);
    } else if (e->is_number) {
        fputs(" : number\n", out);
    } else {
        char s[96];
        ir_shape_str(s, sizeof s, e->tndim, e->tdims);
        fprintf(out, " : %s\n", s);
    }
}

static void print_expr(const struct expr *e, int indent, FILE *out) {
    fprintf(out, "%*s", indent, "");
    switch (e->kind) {
    case EX_NUMBER: fprintf(out, "number %.*s", e->len, e->text); break;
    case EX_NAME: fprintf(out, "name %.*s", e->len, e->text); break;
    case EX_NEG: fputs("neg", out); break;
    case EX_BINARY: fprintf(out, "%s %c", e->op == '@' ? "matmul" : "binary", e->op); break;
    case EX_CALL: fprintf(out, "call %.*s", e->len, e->text); break;
    case EX_DIMS: {
        char s[96];
        ir_shape_str(s, sizeof s, e->ndim > 0 ? e->ndim : 0, e->dims);
        fprintf(out, "shape %s", s);
        break;
    }
    }
    print_type(e, out);
    if (e->a) print_expr(e->a, indent + 2, out);
    if (e->b) print_expr(e->b, indent + 2, out);
    for (int i = 0; i < e->n_args; i++) print_expr(e->args[i], indent + 2, out);
}

void fe_print_ast(const struct fe_model *m, FILE *out) {
    char s[96];
    fprintf(out, "model %s\n", m->filename);
    for (int i = 0; i < m->n_params; i++) {
        const struct fe_param *p = &m->params[i].p;
        ir_shape_str(s, sizeof s, p->ndim, p->shape);
        fprintf(out, "  param %s %s = %s(", p->name, s, fe_init_names[p->init]);
        if (p->init == FE_INIT_NORMAL) fprintf(out, "%g", p->init_args[0]);
        if (p->init == FE_INIT_UNIFORM) fprintf(out, "%g, %g", p->init_args[0], p->init_args[1]);
        fprintf(out, ")\n");
    }
    if (m->has_energy) {
        fprintf(out, "  energy");
        for (int i = 0; i < m->n_inputs; i++) {
            ir_shape_str(s, sizeof s, m->inputs[i].ndim, m->inputs[i].dims);
            fprintf(out, "%s %.*s %s", i ? "," : "", m->inputs[i].len, m->inputs[i].name, s);
        }
        fputc('\n', out);
        for (int i = 0; i < m->n_stmts; i++) {
            const struct stmt *st = &m->stmts[i];
            if (st->is_return) fprintf(out, "    return\n");
            else fprintf(out, "    assign %.*s\n", st->len, st->name);
            print_expr(st->value, 6, out);
        }
    }
    for (int d = 0; d < m->n_defs; d++) {
        const struct def_info *f = &m->defs[d];
        fprintf(out, "  def %.*s(", f->len, f->name);
        for (int i = 0; i < f->n_args; i++) fprintf(out, "%s%.*s", i ? ", " : "", f->args[i].len, f->args[i].text);
        fprintf(out, ")  ; types from the last call\n");
        for (int i = 0; i < f->n_stmts; i++) {
            const struct stmt *st = &f->stmts[i];
            if (st->is_return) fprintf(out, "    return\n");
            else fprintf(out, "    assign %.*s\n", st->len, st->name);
            print_expr(st->value, 6, out);
        }
    }
    if (m->has_train) {
        fprintf(out, "  train\n");
        for (int i = 0; i < m->n_settings; i++) {
            const struct fe_setting *st = &m->settings[i];
            fprintf(out, "    %s = %s%s\n", st->key, st->value, st->is_number ? " (number)" : "");
        }
    }
}
