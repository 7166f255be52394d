/* sweep/spec.c: a sweep file expanded into runs (include/ncsn/sweep.h).
 *
 * The file is read once with libyaml's document API. Every configuration key's value
 * becomes a spec: one value, a list of values (a grid axis, or a choice in random mode),
 * or a distribution. Each value is cut back out of the document as flow YAML text, with
 * line breaks that keep its nodes on their original lines, and handed to
 * ncsn_config_set_value, so the configuration module parses, checks and reports it with
 * the file's own line numbers. -s overrides replace a key's spec (or a sweep.* setting).
 *
 * Then: the base configuration (defaults + every single value), each listed value checked
 * once against it, the run count checked, and the expansion: configuration g gets the
 * base plus its values of the swept keys, in key order, and is validated as a whole; its
 * repeats differ only in their seed (repeat 0 keeps the configuration's own).
 *
 * sweep.mode: halving expands the same grid (at the last rung's train.steps) and keeps its
 * settings (sweep.rungs, keep, metric, sample_n) in ncsn_sweep.halving; its rungs are built
 * by sweep/halving.c.
 *
 * When a list is a sweep: a key holding numbers (train.lr) or a name sweeps any list;
 * dataset.weights and dataset.std hold a list already, so they sweep a list that has a
 * list inside (weights: [[0.95, 0.05], [0.9, 0.1]]; std: [[1, 1], [2, 2]], or
 * std: [[0.5], [2]] for one number per component); dataset.means holds a list of rows, so
 * it sweeps a list of matrices. Put generally: a list sweeps when it nests deeper than
 * the key's own value. */
#include "ncsn/sweep.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "ncsn/rng.h"
#include "ncsn/text.h"
#include "ncsn/yaml.h"

#define MAX_RUNS NCSN_SWEEP_MAX_RUNS
#define L_AUTO_COST 100 /* noise.L assumed for the cost of a run whose L is auto */

/* ---------------------------------------------------------------- messages */

/* err = `FILE:LINE: KEY: reason`, or `--set KEY: reason` when file is NULL. Returns -1. */
static int vfail(ncsn_error *err, const char *file, int line, const char *key, const char *fmt,
                 va_list ap) {
    char reason[800];
    vsnprintf(reason, sizeof reason, fmt, ap);
    if (!file) return ncsn_seterr(err, "--set %s: %s", key ? key : "", reason);
    if (key) return ncsn_seterr(err, "%s:%d: %s: %s", file, line, key, reason);
    return ncsn_seterr(err, "%s:%d: %s", file, line, reason);
}

static int fail(ncsn_error *err, const char *file, int line, const char *key, const char *fmt,
                ...) NCSN_PRINTF(5, 6);
static int fail(ncsn_error *err, const char *file, int line, const char *key, const char *fmt,
                ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, file, line, key, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends " (run ID)" to a message. */
static int in_run(ncsn_error *err, const char *id) {
    if (err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (run %s)", id);
    }
    return -1;
}

/* How deep lists nest in n: 0 for a scalar or map, 1 for [1, 2], 2 for [[1], [2]]. */
static int depth(yaml_document_t *d, const yaml_node_t *n) {
    if (n->type != YAML_SEQUENCE_NODE) return 0;
    int deepest = 0;
    for (int i = 0; i < ncsn_yaml_items(n); i++) {
        int k = depth(d, ncsn_yaml_item(d, n, i));
        if (k > deepest) deepest = k;
    }
    return 1 + deepest;
}

/* ---------------------------------------------------------------- YAML text */

/* Parses text into *doc (ncsn_yaml_parse). label names a file (errors `label:LINE`),
 * set_key an override (errors `--set KEY`). */
static int parse(yaml_document_t *doc, const char *text, size_t len, const char *label,
                 const char *set_key, ncsn_error *err) {
    const ncsn_yaml_source src = {label, 0, set_key, "sweep"};
    return ncsn_yaml_parse(doc, text, len, &src, err);
}

/* Writes node n back out as flow YAML. With align, line breaks put each node on the line
 * it had in the file, counted from the text's first line `line` (0-based, as marks are),
 * so that errors about it name the file's line. */
typedef struct {
    FILE *f;
    yaml_document_t *doc;
    int align;
    size_t line;
} emitter;

static void emit_scalar(emitter *e, const yaml_node_t *n, int root) {
    const char *t = ncsn_yaml_scalar(n);
    if (ncsn_yaml_plain(n)) {
        size_t len = strlen(t);
        if (len == 0) {
            fputs(root ? "" : "~", e->f);
            return;
        }
        /* Numbers, words, auto, .inf: safe unquoted inside a flow list. */
        if (strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-~ ") ==
                len && t[0] != ' ' && t[len - 1] != ' ') {
            fputs(t, e->f);
            return;
        }
    }
    fputc('"', e->f);
    for (const char *p = t; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(e->f, "\\%c", *p);
        else if ((unsigned char)*p < 0x20) fprintf(e->f, "\\x%02x", (unsigned char)*p);
        else fputc(*p, e->f);
    }
    fputc('"', e->f);
}

static void emit(emitter *e, yaml_node_t *n, int root) {
    for (; e->align && e->line < n->start_mark.line; e->line++) fputs("\n ", e->f);
    switch (n->type) {
    case YAML_SEQUENCE_NODE:
        fputc('[', e->f);
        for (int i = 0; i < ncsn_yaml_items(n); i++) {
            if (i) fputs(", ", e->f);
            emit(e, ncsn_yaml_item(e->doc, n, i), 0);
        }
        fputc(']', e->f);
        break;
    case YAML_MAPPING_NODE:
        fputc('{', e->f);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            if (p > n->data.mapping.pairs.start) fputs(", ", e->f);
            emit(e, yaml_document_get_node(e->doc, p->key), 0);
            fputs(": ", e->f);
            emit(e, yaml_document_get_node(e->doc, p->value), 0);
        }
        fputc('}', e->f);
        break;
    default: emit_scalar(e, n, root); break;
    }
}

/* n as YAML text (malloc'd); aligned to start at 1-based line `line` when line > 0. */
static char *node_text(yaml_document_t *doc, yaml_node_t *n, int line) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    NCSN_ASSERT(f != NULL);
    emitter e = {f, doc, line > 0, line > 0 ? (size_t)line - 1 : 0};
    if (n) emit(&e, n, 1);
    fclose(f);
    return text;
}

/* ---------------------------------------------------------------- specs */

/* What a configuration key holds, from the defaults: how deep its lists nest (0 scalar,
 * 1 list, 2 matrix) and whether it is a number a distribution can draw. */
enum { NOT_NUMERIC = 0, REAL_NUMBER = 1, INTEGER = 2 };
typedef struct {
    int depth;
    int numeric;
} key_shape;

static void shape_of(const ncsn_config_value *v, void *user) {
    key_shape *shapes = user;
    int i = ncsn_config_key_index(v->key);
    NCSN_ASSERT(i >= 0);
    shapes[i].depth = v->rows == 0 ? 0 : v->cols == 0 ? 1 : 2;
    shapes[i].numeric = shapes[i].depth > 0 ? NOT_NUMERIC
                        : v->type == NCSN_VALUE_REAL ? REAL_NUMBER
                        : v->type == NCSN_VALUE_INT && !v->is_unsigned ? INTEGER
                                                                       : NOT_NUMERIC;
}

/* One value of a key: YAML text and where it was written. */
typedef struct {
    char *text;
    const char *file; /* NULL for an override */
    int line;
} value;

enum spec_kind { SPEC_NONE, SPEC_VALUES, SPEC_UNIFORM, SPEC_LOG_UNIFORM };

typedef struct {
    int kind;          /* enum spec_kind */
    int distribution;  /* written as {uniform|log_uniform|choice: ...} */
    const char *dist;  /* its name, for messages */
    int n;             /* VALUES: the values; UNIFORM, LOG_UNIFORM: 2, the bounds' text */
    value *v;
    double lo, hi;     /* UNIFORM, LOG_UNIFORM */
    const char *file;  /* where the key was given (NULL: --set) */
    int line;
} spec;

static void spec_clear(spec *p) {
    for (int j = 0; j < p->n; j++) free(p->v[j].text);
    free(p->v);
    memset(p, 0, sizeof *p);
}

static void spec_add(spec *p, char *text, const char *file, int line) {
    value *bigger = realloc(p->v, (size_t)(p->n + 1) * sizeof *bigger);
    NCSN_ASSERT(bigger != NULL);
    p->v = bigger;
    p->v[p->n++] = (value){text, file, line};
}

/* Where a sweep.* setting came from: file NULL and line 0 for the default, file NULL and
 * line -1 for an override. */
typedef struct {
    const char *file;
    int line;
} place;

typedef struct {
    key_shape shape[NCSN_MAX_KEYS];
    spec specs[NCSN_MAX_KEYS];
    int random, trials, repeats;
    place mode_at, trials_at, repeats_at;
    ncsn_halving halving;                  /* halving.on: sweep.mode halving (a grid) */
    place rungs_at, keep_at, metric_at, sample_n_at;
    int halving_given;                     /* one of rungs, keep, metric, sample_n given */
} plan;

static void plan_free(plan *pl) {
    for (int i = 0; i < NCSN_MAX_KEYS; i++) spec_clear(&pl->specs[i]);
}

static int place_fail(ncsn_error *err, place at, const char *key, const char *fmt, ...)
    NCSN_PRINTF(4, 5);
static int place_fail(ncsn_error *err, place at, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, at.file, at.line, key, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *const distributions[] = {"uniform", "log_uniform", "choice"};

/* The distribution a map names ({uniform: [a, b]}), or -1. */
static int distribution_of(yaml_document_t *d, const yaml_node_t *n) {
    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return -1;
    const char *t = ncsn_yaml_scalar(yaml_document_get_node(d, n->data.mapping.pairs.start->key));
    for (int j = 0; t && j < 3; j++)
        if (strcmp(t, distributions[j]) == 0) return j;
    return -1;
}

/* Key i's value node vn, written at file:line (file NULL: an override), as key i's spec,
 * replacing any earlier one. Values keep their own lines when they come from a file. */
static int take_value(plan *pl, int i, yaml_document_t *d, yaml_node_t *vn, const char *file,
                      int line, ncsn_error *err) {
    const char *key = ncsn_config_key_name(i);
    spec *p = &pl->specs[i];
    spec_clear(p);
    p->file = file;
    p->line = line;
    p->kind = SPEC_VALUES;
    int dist = vn ? distribution_of(d, vn) : -1;
    if (dist >= 0) {
        yaml_node_t *args = yaml_document_get_node(d, vn->data.mapping.pairs.start->value);
        char g[100];
        p->distribution = 1;
        p->dist = distributions[dist];
        p->line = file ? ncsn_yaml_line(vn) : 0;
        if (args->type != YAML_SEQUENCE_NODE || ncsn_yaml_items(args) == 0)
            return fail(err, file, p->line, key, "%s: expected a non-empty list, got %s",
                        p->dist, ncsn_yaml_got(args, g, sizeof g));
        if (dist == 2) { /* choice */
            for (int j = 0; j < ncsn_yaml_items(args); j++) {
                yaml_node_t *e = ncsn_yaml_item(d, args, j);
                spec_add(p, node_text(d, e, file ? ncsn_yaml_line(e) : 0), file, ncsn_yaml_line(e));
            }
            return 0;
        }
        p->kind = dist == 0 ? SPEC_UNIFORM : SPEC_LOG_UNIFORM;
        if (!pl->shape[i].numeric)
            return fail(err, file, p->line, key,
                        "%s draws numbers; use a list or {choice: [...]} for this key", p->dist);
        double ab[2];
        for (int j = 0; j < 2 && j < ncsn_yaml_items(args); j++) {
            yaml_node_t *e = ncsn_yaml_item(d, args, j);
            if (ncsn_yaml_real(e, &ab[j]) != 0)
                return fail(err, file, file ? ncsn_yaml_line(e) : 0, key,
                            "%s: expected [a, b] with a and b numbers, got %s", p->dist,
                            ncsn_yaml_got(e, g, sizeof g));
            if (pl->shape[i].numeric == INTEGER && ab[j] != floor(ab[j]))
                return fail(err, file, file ? ncsn_yaml_line(e) : 0, key,
                            "%s: an integer key needs integer bounds, got %s", p->dist,
                            ncsn_yaml_got(e, g, sizeof g));
            spec_add(p, node_text(d, e, file ? ncsn_yaml_line(e) : 0), file, ncsn_yaml_line(e));
        }
        if (ncsn_yaml_items(args) != 2)
            return fail(err, file, p->line, key, "%s: expected [a, b], got %d numbers", p->dist,
                        ncsn_yaml_items(args));
        p->lo = ab[0];
        p->hi = ab[1];
        if (p->lo > p->hi)
            return fail(err, file, p->line, key, "%s: [a, b] needs a <= b, got [%g, %g]",
                        p->dist, p->lo, p->hi);
        if (p->kind == SPEC_LOG_UNIFORM && p->lo <= 0)
            return fail(err, file, p->line, key, "log_uniform: [a, b] needs a > 0, got a = %g",
                        p->lo);
        return 0;
    }
    if (vn && vn->type == YAML_SEQUENCE_NODE && depth(d, vn) > pl->shape[i].depth) {
        if (ncsn_yaml_items(vn) == 0)
            return fail(err, file, line, key, "an empty list sweeps nothing: give values");
        for (int j = 0; j < ncsn_yaml_items(vn); j++) {
            yaml_node_t *e = ncsn_yaml_item(d, vn, j);
            const int at = file ? ncsn_yaml_line(e) : 0;
            spec_add(p, node_text(d, e, at), file, at);
        }
        return 0;
    }
    spec_add(p, node_text(d, vn, file ? line : 0), file, line);
    return 0;
}

/* The metrics a halving sweep may score by: a run file's /metrics scalars for which lower
 * is better. */
static const char *const halving_metrics[] = {"mode_weight_error", "mmd2", "swd", "fd",
                                              "final_loss"};
#define N_HALVING_METRICS ((int)(sizeof halving_metrics / sizeof halving_metrics[0]))

/* An integer from 1 to max in node n, or -1. */
static long long positive_integer(yaml_node_t *n, long long max) {
    const char *t = ncsn_yaml_plain(n);
    char *end = NULL;
    long long v = 0;
    if (!t || !t[0]) return -1;
    errno = 0;
    v = strtoll(t, &end, 10);
    return *end || errno || v < 1 || v > max ? -1 : v;
}

/* sweep.rungs, sweep.keep, sweep.metric or sweep.sample_n (full: its dotted name). */
static int take_halving_setting(plan *pl, yaml_document_t *d, const char *name,
                                yaml_node_t *n, place at, const char *full, ncsn_error *err) {
    char g[100];
    ncsn_halving *h = &pl->halving;
    if (strcmp(name, "rungs") == 0) {
        if (n->type != YAML_SEQUENCE_NODE || ncsn_yaml_items(n) < 2 ||
            ncsn_yaml_items(n) > NCSN_HALVING_MAX_RUNGS) {
            if (n->type == YAML_SEQUENCE_NODE)
                snprintf(g, sizeof g, "%d", ncsn_yaml_items(n));
            return place_fail(err, at, full, "expected a list of 2 to %d training step counts, "
                              "increasing, the last equal to train.steps (e.g. [3000, 10000, "
                              "30000]), got %s%s", NCSN_HALVING_MAX_RUNGS,
                              n->type == YAML_SEQUENCE_NODE ? g : ncsn_yaml_got(n, g, sizeof g),
                              n->type == YAML_SEQUENCE_NODE ? " rungs" : "");
        }
        h->n_rungs = ncsn_yaml_items(n);
        for (int k = 0; k < h->n_rungs; k++) {
            yaml_node_t *e = ncsn_yaml_item(d, n, k);
            const long long v = positive_integer(e, INT64_MAX / 2);
            if (v < 0)
                return place_fail(err, at, full, "rung %d: expected a positive whole number of "
                                  "training steps, got %s", k, ncsn_yaml_got(e, g, sizeof g));
            if (k > 0 && v <= h->steps[k - 1])
                return place_fail(err, at, full, "rung %d: %lld steps is not more than rung "
                                  "%d's %lld: rungs train longer and longer", k, v, k - 1,
                                  (long long)h->steps[k - 1]);
            h->steps[k] = v;
        }
        pl->rungs_at = at;
    } else if (strcmp(name, "keep") == 0) {
        double v;
        if (ncsn_yaml_real(n, &v) != 0 || !(v > 0 && v < 1))
            return place_fail(err, at, full, "expected the share of configurations promoted "
                              "from one rung to the next, a number between 0 and 1 (e.g. "
                              "0.34), got %s", ncsn_yaml_got(n, g, sizeof g));
        h->keep = v;
        pl->keep_at = at;
    } else if (strcmp(name, "metric") == 0) {
        const char *t = ncsn_yaml_plain(n);
        int found = -1;
        for (int j = 0; t && j < N_HALVING_METRICS; j++)
            if (strcmp(t, halving_metrics[j]) == 0) found = j;
        if (found < 0)
            return place_fail(err, at, full, "expected one of mode_weight_error, mmd2, swd, fd, "
                              "final_loss (lower is better), got %s",
                              ncsn_yaml_got(n, g, sizeof g));
        snprintf(h->metric, sizeof h->metric, "%s", halving_metrics[found]);
        pl->metric_at = at;
    } else {
        const long long v = positive_integer(n, 1000000000);
        if (v < 0)
            return place_fail(err, at, full, "expected the chains of the rungs' samples, a "
                              "whole number from 1 to 1000000000, got %s",
                              ncsn_yaml_got(n, g, sizeof g));
        h->sample_n = (int)v;
        pl->sample_n_at = at;
    }
    return 0;
}

/* A sweep.* setting from node n. A file may give each once; overrides replace it. */
static int take_setting(plan *pl, yaml_document_t *d, const char *name, yaml_node_t *n,
                        place at, ncsn_error *err) {
    char full[64], g[100];
    snprintf(full, sizeof full, "sweep.%s", name);
    const place *before = !strcmp(name, "mode")       ? &pl->mode_at
                          : !strcmp(name, "trials")   ? &pl->trials_at
                          : !strcmp(name, "repeats")  ? &pl->repeats_at
                          : !strcmp(name, "rungs")    ? &pl->rungs_at
                          : !strcmp(name, "keep")     ? &pl->keep_at
                          : !strcmp(name, "metric")   ? &pl->metric_at
                          : !strcmp(name, "sample_n") ? &pl->sample_n_at
                                                      : NULL;
    if (before && at.file && before->file)
        return place_fail(err, at, full, "duplicate key (first given at line %d)", before->line);
    if (strcmp(name, "mode") == 0) {
        const char *t = ncsn_yaml_plain(n);
        if (!t || (strcmp(t, "grid") != 0 && strcmp(t, "random") != 0 &&
                   strcmp(t, "halving") != 0))
            return place_fail(err, at, full, "expected grid, random or halving, got %s",
                              ncsn_yaml_got(n, g, sizeof g));
        pl->random = strcmp(t, "random") == 0;
        pl->halving.on = strcmp(t, "halving") == 0;
        pl->mode_at = at;
        return 0;
    }
    if (before == &pl->rungs_at || before == &pl->keep_at || before == &pl->metric_at ||
        before == &pl->sample_n_at) {
        pl->halving_given = 1;
        return take_halving_setting(pl, d, name, n, at, full, err);
    }
    int is_trials = strcmp(name, "trials") == 0;
    if (is_trials || strcmp(name, "repeats") == 0) {
        const char *t = ncsn_yaml_plain(n);
        char *end = NULL;
        long v = 0;
        if (t && t[0]) {
            errno = 0;
            v = strtol(t, &end, 10);
        }
        if (!t || !t[0] || *end || errno || v < 1 || v > MAX_RUNS)
            return place_fail(err, at, full, "expected an integer from 1 to %d, got %s", MAX_RUNS,
                              ncsn_yaml_got(n, g, sizeof g));
        *(is_trials ? &pl->trials : &pl->repeats) = (int)v;
        *(is_trials ? &pl->trials_at : &pl->repeats_at) = at;
        return 0;
    }
    static const char *const names[] = {"sweep.mode",  "sweep.trials", "sweep.repeats",
                                        "sweep.rungs", "sweep.keep",   "sweep.metric",
                                        "sweep.sample_n"};
    char hint[200];
    ncsn_config_suggest(full, names, 7, hint, sizeof hint);
    return place_fail(err, at, full, "unknown key: the sweep block takes mode, trials, "
                      "repeats, and for halving rungs, keep, metric and sample_n%s", hint);
}

/* ---------------------------------------------------------------- the file */

/* The sweep: block. */
static int walk_sweep(plan *pl, yaml_document_t *d, yaml_node_t *kn, yaml_node_t *vn,
                      const char *file, ncsn_error *err) {
    char g[100];
    if (ncsn_yaml_is_null(vn)) return 0;
    if (vn->type != YAML_MAPPING_NODE)
        return fail(err, file, ncsn_yaml_line(kn), "sweep",
                    "expected a map of sweep.* keys (mode, trials, repeats, rungs, keep, "
                    "metric, sample_n), got %s",
                    ncsn_yaml_got(vn, g, sizeof g));
    for (yaml_node_pair_t *p = vn->data.mapping.pairs.start; p < vn->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        const char *name = ncsn_yaml_scalar(k);
        if (!name) return fail(err, file, ncsn_yaml_line(k), "sweep", "expected a key name, got %s",
                               ncsn_yaml_got(k, g, sizeof g));
        if (take_setting(pl, d, name, yaml_document_get_node(d, p->value),
                         (place){file, ncsn_yaml_line(k)}, err))
            return -1;
    }
    return 0;
}

/* 1 when name is a section of the configuration ("train" of train.lr). */
static int is_section(const char *name) {
    size_t n = strlen(name);
    for (int i = 0; i < ncsn_config_n_keys(); i++)
        if (strncmp(ncsn_config_key_name(i), name, n) == 0 && ncsn_config_key_name(i)[n] == '.')
            return 1;
    return 0;
}

/* Key `full` (dotted) with value vn: a configuration key, a section, a sweep.* setting
 * or a mistake. seen[i] holds the line that gave key i. */
static int walk_key(plan *pl, yaml_document_t *d, yaml_node_t *kn, yaml_node_t *vn,
                    const char *full, int top, const char *file, int *seen, ncsn_error *err) {
    char hint[200], g[100];
    int i = ncsn_config_key_index(full);
    if (i >= 0) {
        if (seen[i])
            return fail(err, file, ncsn_yaml_line(kn), full,
                        "duplicate key (first given at line %d)", seen[i]);
        seen[i] = ncsn_yaml_line(kn);
        return take_value(pl, i, d, vn, file, ncsn_yaml_line(kn), err);
    }
    if (top && strncmp(full, "sweep.", 6) == 0)
        return take_setting(pl, d, full + 6, vn, (place){file, ncsn_yaml_line(kn)}, err);
    if (top && is_section(full)) {
        if (ncsn_yaml_is_null(vn)) return 0;
        if (vn->type != YAML_MAPPING_NODE)
            return fail(err, file, ncsn_yaml_line(kn), full, "expected a map of %s.* keys, got %s",
                        full, ncsn_yaml_got(vn, g, sizeof g));
        for (yaml_node_pair_t *p = vn->data.mapping.pairs.start;
             p < vn->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(d, p->key);
            char sub[320];
            if (!ncsn_yaml_scalar(k))
                return fail(err, file, ncsn_yaml_line(k), full, "expected a key name, got %s",
                            ncsn_yaml_got(k, g, sizeof g));
            snprintf(sub, sizeof sub, "%s.%s", full, ncsn_yaml_scalar(k));
            if (walk_key(pl, d, k, yaml_document_get_node(d, p->value), sub, 0, file, seen,
                         err))
                return -1;
        }
        return 0;
    }
    static const char *const sweep[] = {"sweep"};
    ncsn_config_suggest(full, sweep, 1, hint, sizeof hint);
    if (!hint[0]) ncsn_config_suggest_key(full, hint, sizeof hint);
    return fail(err, file, ncsn_yaml_line(kn), full, "unknown key%s", hint);
}

static int read_file(plan *pl, const char *path, ncsn_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (ncsn_read_file(path, &text, &len, err)) return -1;
    yaml_document_t doc;
    int rc = parse(&doc, text, len, path, NULL, err);
    free(text);
    if (rc) return -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !ncsn_yaml_is_null(root)) {
        char g[100];
        int seen[NCSN_MAX_KEYS] = {0}, sweep_line = 0;
        if (root->type != YAML_MAPPING_NODE)
            rc = fail(err, path, ncsn_yaml_line(root), NULL,
                      "expected a map of keys at the top level, got %s",
                      ncsn_yaml_got(root, g, sizeof g));
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
             rc == 0 && p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
            const char *name = ncsn_yaml_scalar(kn);
            if (!name)
                rc = fail(err, path, ncsn_yaml_line(kn), NULL, "expected a key name, got %s",
                          ncsn_yaml_got(kn, g, sizeof g));
            else if (strcmp(name, "sweep") == 0 && sweep_line)
                rc = fail(err, path, ncsn_yaml_line(kn), "sweep",
                          "duplicate key (first given at line %d)", sweep_line);
            else if (strcmp(name, "sweep") == 0) {
                sweep_line = ncsn_yaml_line(kn);
                rc = walk_sweep(pl, &doc, kn, vn, path, err);
            } else
                rc = walk_key(pl, &doc, kn, vn, name, 1, path, seen, err);
        }
    }
    yaml_document_delete(&doc);
    return rc;
}

/* One -s KEY=VALUE: a sweep.* setting, or a key's value (which may sweep). */
static int read_override(plan *pl, const char *assignment, ncsn_error *err) {
    const char *eq = strchr(assignment, '=');
    const char *a = assignment;
    char key[256];
    while (*a == ' ') a++;
    size_t n = eq ? (size_t)(eq - a) : 0;
    while (n > 0 && a[n - 1] == ' ') n--;
    if (!eq || n == 0 || n >= sizeof key)
        return ncsn_seterr(err, "--set %s: expected KEY=VALUE, e.g. train.lr=1e-4 or "
                           "train.lr=[1e-3,1e-4]", assignment);
    memcpy(key, a, n);
    key[n] = 0;
    int i = ncsn_config_key_index(key);
    int setting = strncmp(key, "sweep.", 6) == 0;
    if (strcmp(key, "sweep") == 0)
        return fail(err, NULL, 0, key, "a group of keys: set one of them, e.g. "
                    "sweep.repeats=VALUE");
    if (i < 0 && !setting) {
        /* The configuration module's words for an unknown key or a section. */
        ncsn_config scratch;
        ncsn_config_default(&scratch);
        int rc = ncsn_config_set(&scratch, assignment, err);
        ncsn_config_free(&scratch);
        return rc ? -1 : fail(err, NULL, 0, key, "unknown key");
    }
    yaml_document_t doc;
    if (parse(&doc, eq + 1, strlen(eq + 1), NULL, key, err)) return -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = setting ? take_setting(pl, &doc, key + 6, root, (place){NULL, -1}, err)
                     : take_value(pl, i, &doc, root, NULL, 0, err);
    yaml_document_delete(&doc);
    return rc;
}

/* ---------------------------------------------------------------- expansion */

static uint64_t splitmix64(uint64_t x) {
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

uint64_t ncsn_sweep_seed(uint64_t base_seed, int repeat) {
    if (repeat == 0) return base_seed;
    return splitmix64(splitmix64(base_seed) ^ splitmix64((uint64_t)repeat));
}

static int apply_value(ncsn_config *c, int i, const value *v, ncsn_error *err) {
    return ncsn_config_set_value(c, ncsn_config_key_name(i), v->text, v->file, v->line, err);
}

/* A number drawn from key i's distribution for trial t, as YAML text in buf. Integer keys
 * draw uniformly among the integers a..b (uniform) or round the log-uniform draw. */
static void draw(const plan *pl, int i, ncsn_key key, uint32_t t, char *buf, size_t size) {
    const spec *p = &pl->specs[i];
    double u = ncsn_rng_uniform_double(key, t, (uint32_t)i, 0);
    double x;
    if (p->kind == SPEC_UNIFORM && pl->shape[i].numeric == INTEGER)
        x = floor(p->lo + u * (p->hi - p->lo + 1));
    else if (p->kind == SPEC_UNIFORM)
        x = p->lo + u * (p->hi - p->lo);
    else {
        x = exp(log(p->lo) + u * (log(p->hi) - log(p->lo)));
        if (pl->shape[i].numeric == INTEGER) x = round(x);
    }
    if (x < p->lo) x = p->lo;
    if (x > p->hi) x = p->hi;
    if (pl->shape[i].numeric == INTEGER && fabs(x) > 9.2e18) x = x > 0 ? 9.2e18 : -9.2e18;
    if (pl->shape[i].numeric == INTEGER) snprintf(buf, size, "%" PRId64, (int64_t)x);
    else snprintf(buf, size, "%.17g", x);
}

/* Configuration g: base plus its value of every swept key, in key order. */
static int configure(const plan *pl, const ncsn_config *base, int g, ncsn_key key,
                     ncsn_config *c, ncsn_error *err) {
    const int n_keys = ncsn_config_n_keys();
    int pick[NCSN_MAX_KEYS] = {0};
    if (!pl->random) { /* mixed radix, the last swept key fastest */
        int rest = g;
        for (int i = n_keys - 1; i >= 0; i--) {
            const spec *p = &pl->specs[i];
            if (p->kind == SPEC_VALUES && p->n > 1) {
                pick[i] = rest % p->n;
                rest /= p->n;
            }
        }
    }
    ncsn_config_copy(c, base);
    for (int i = 0; i < n_keys; i++) {
        const spec *p = &pl->specs[i];
        int rc = 0;
        if (p->kind == SPEC_VALUES && p->n > 1) {
            if (pl->random) {
                double u = ncsn_rng_uniform_double(key, (uint32_t)g, (uint32_t)i, 0);
                pick[i] = (int)(u * p->n);
                if (pick[i] >= p->n) pick[i] = p->n - 1;
            }
            rc = apply_value(c, i, &p->v[pick[i]], err);
        } else if (p->kind == SPEC_UNIFORM || p->kind == SPEC_LOG_UNIFORM) {
            char x[64];
            draw(pl, i, key, (uint32_t)g, x, sizeof x);
            rc = ncsn_config_set_value(c, ncsn_config_key_name(i), x, p->file, p->line, err);
        }
        if (rc) return -1;
    }
    return 0;
}

/* The work estimate of sweep.h: steps * batch * (D + E) * H + n * L * T * D * H, and its
 * training part. */
double ncsn_sweep_run_cost(const ncsn_config *c, double *train) {
    double D = c->dataset.dim, E = c->model.emb, H = c->model.hidden;
    double L = c->noise.L_auto ? L_AUTO_COST : c->noise.L;
    *train = (double)c->train.steps * c->train.batch * (D + E) * H;
    return *train + (double)c->sample.n * L * c->sample.T * D * H;
}

/* The base configuration: defaults and every key's single value; then each value of a
 * list, and each bound of a distribution, checked on its own against it. */
static int build_base(const plan *pl, ncsn_config *base, ncsn_error *err) {
    ncsn_config_default(base);
    for (int i = 0; i < ncsn_config_n_keys(); i++) {
        const spec *p = &pl->specs[i];
        if (p->kind == SPEC_VALUES && p->n == 1 && apply_value(base, i, &p->v[0], err))
            return -1;
    }
    for (int i = 0; i < ncsn_config_n_keys(); i++) {
        const spec *p = &pl->specs[i];
        if (p->kind == SPEC_NONE || (p->kind == SPEC_VALUES && p->n == 1)) continue;
        for (int j = 0; j < p->n; j++) {
            ncsn_config c;
            ncsn_config_copy(&c, base);
            int rc = apply_value(&c, i, &p->v[j], err);
            ncsn_config_free(&c);
            if (rc) return -1;
        }
    }
    return 0;
}

/* The sweep.* settings agree with each other and with the values. */
static int check_plan(const plan *pl, ncsn_error *err) {
    if (!pl->random && pl->trials_at.line)
        return place_fail(err, pl->trials_at, "sweep.trials",
                          "only used with sweep.mode: random (a grid's size comes from its "
                          "lists)");
    if (pl->random && !pl->trials_at.line)
        return place_fail(err, pl->mode_at, "sweep.mode",
                          "random mode needs sweep.trials: N, the number of draws");
    if (!pl->halving.on && pl->halving_given) {
        const place at = pl->rungs_at.line  ? pl->rungs_at
                         : pl->keep_at.line ? pl->keep_at
                         : pl->metric_at.line ? pl->metric_at
                                              : pl->sample_n_at;
        const char *key = pl->rungs_at.line  ? "sweep.rungs"
                          : pl->keep_at.line ? "sweep.keep"
                          : pl->metric_at.line ? "sweep.metric"
                                               : "sweep.sample_n";
        return place_fail(err, at, key, "only used with sweep.mode: halving");
    }
    if (pl->halving.on && !pl->rungs_at.line)
        return place_fail(err, pl->mode_at, "sweep.mode",
                          "halving needs sweep.rungs: [s_1, ..., s_K], the training steps of "
                          "each rung, the last equal to train.steps");
    for (int i = 0; !pl->random && i < ncsn_config_n_keys(); i++) {
        const spec *p = &pl->specs[i];
        if (p->distribution)
            return fail(err, p->file, p->line, ncsn_config_key_name(i),
                        "{%s: ...} is a distribution: it needs sweep.mode: random (a grid "
                        "takes a list)", p->dist);
    }
    return 0;
}

/* Halving's last rung is train.steps as the file gives it, one value for every
 * configuration. */
static int check_halving(const plan *pl, const ncsn_config *base, ncsn_error *err) {
    if (!pl->halving.on) return 0;
    const spec *p = &pl->specs[ncsn_config_key_index("train.steps")];
    if (p->kind == SPEC_VALUES && p->n > 1)
        return fail(err, p->file, p->line, "train.steps",
                    "halving gives every rung its own training steps (sweep.rungs); "
                    "train.steps, the last rung's, cannot be swept");
    const int64_t last = pl->halving.steps[pl->halving.n_rungs - 1];
    if (last != base->train.steps)
        return place_fail(err, pl->rungs_at, "sweep.rungs",
                          "the last rung, %lld steps, must equal train.steps (%lld): the last "
                          "rung trains the configurations as the sweep file gives them",
                          (long long)last, (long long)base->train.steps);
    return 0;
}

/* Whether configuration c's run files can hold a value of the halving metric: 1, or 0
 * with why (size n) filled. mode_weight_error needs modes (a mixture, or the classes of
 * labelled data: metrics.h), final_loss a training (the exact score trains nothing); mmd2,
 * swd and fd every run file has. */
static int metric_available(const ncsn_config *c, const char *metric, char *why, size_t n) {
    const char *name = c->dataset.name;
    if (strcmp(metric, "mode_weight_error") == 0) {
        const int mixture = !strcmp(name, "gmm") ||
                            (!strcmp(name, "manifold") && !strcmp(c->dataset.base, "gmm"));
        const int hdf5 = !strcmp(name, "hdf5");
        if (mixture || (hdf5 && c->dataset.labels[0])) return 1;
        if (hdf5)
            snprintf(why, n, "hdf5 data without dataset.labels has no modes (with labels its "
                     "classes are the modes)");
        else
            snprintf(why, n, "%s%s%s has no modes (neither a mixture nor class labels)", name,
                     strcmp(name, "manifold") ? "" : " with dataset.base ",
                     strcmp(name, "manifold") ? "" : c->dataset.base);
        return 0;
    }
    if (strcmp(metric, "final_loss") == 0 && c->sample.score == NCSN_SCORE_EXACT) {
        snprintf(why, n, "sample.score exact trains nothing, so no run has a loss");
        return 0;
    }
    return 1;
}

/* Halving ranks configurations by sweep.metric: a metric that some configuration's runs
 * cannot have would leave a rung to be decided by configuration index, so it is refused
 * here, naming sweep.metric, or dataset.name when the metric is the default. */
static int check_metric(const plan *pl, const ncsn_sweep *s, ncsn_error *err) {
    const char *metric = s->halving.metric;
    char why[200];
    for (int r = 0; r < s->n_runs; r += s->repeats) {
        const ncsn_config *c = &s->runs[r].cfg;
        if (metric_available(c, metric, why, sizeof why)) continue;
        if (pl->metric_at.line)
            return place_fail(err, pl->metric_at, "sweep.metric", "%s: configuration %s's "
                              "runs cannot have it: %s; choose mmd2, swd or fd", metric,
                              s->runs[r].group, why);
        return ncsn_config_key_error(err, c, "dataset.name", "halving scores configurations "
                                     "by sweep.metric, default %s, which configuration %s's "
                                     "runs cannot have: %s; set sweep.metric: mmd2, swd or fd",
                                     metric, s->runs[r].group, why);
    }
    return 0;
}

/* The number of configurations, refusing more than MAX_RUNS runs. */
static int count(const plan *pl, int *n_configs, ncsn_error *err) {
    if (pl->random) {
        if ((int64_t)pl->trials * pl->repeats > MAX_RUNS)
            return place_fail(err, pl->repeats_at.line ? pl->repeats_at : pl->trials_at,
                              pl->repeats_at.line ? "sweep.repeats" : "sweep.trials",
                              "%d trials x %d repeats = %" PRId64 " runs, more than the %d "
                              "allowed", pl->trials, pl->repeats,
                              (int64_t)pl->trials * pl->repeats, MAX_RUNS);
        *n_configs = pl->trials;
        return 0;
    }
    int64_t g = 1;
    for (int i = 0; i < ncsn_config_n_keys(); i++) {
        const spec *p = &pl->specs[i];
        if (p->kind != SPEC_VALUES) continue;
        g *= p->n;
        if (g * pl->repeats > MAX_RUNS)
            return fail(err, p->file, p->line, ncsn_config_key_name(i),
                        "the sweep would have at least %" PRId64 " runs (this key has %d "
                        "values), more than the %d allowed", g * pl->repeats, p->n, MAX_RUNS);
    }
    if (g * pl->repeats > MAX_RUNS) /* only repeats can push a 1-run grid over */
        return place_fail(err, pl->repeats_at, "sweep.repeats", "%" PRId64 " runs, more than "
                          "the %d allowed", g * pl->repeats, MAX_RUNS);
    *n_configs = (int)g;
    return 0;
}

/* swept_keys: the keys whose values differ between configurations; seed when the base
 * seeds differ (repeats have seeds of their own, but those are no swept key). */
static void find_swept(ncsn_sweep *s, const uint64_t *base_seeds, int n_configs) {
    const int n_keys = ncsn_config_n_keys(), seed = ncsn_config_key_index("seed");
    s->swept_keys = ncsn_xcalloc((size_t)n_keys, sizeof *s->swept_keys);
    for (int i = 0; i < n_keys; i++) {
        int differs = 0;
        for (int g = 1; g < n_configs && !differs; g++)
            differs = i == seed ? base_seeds[g] != base_seeds[0]
                                : !ncsn_config_key_equal(&s->runs[(size_t)g * s->repeats].cfg,
                                                         &s->runs[0].cfg, i);
        if (differs) s->swept_keys[s->n_swept++] = strdup(ncsn_config_key_name(i));
    }
}

/* canonical: the settings, the first run's whole configuration, then each run's id, seed
 * and swept values. Keys that are not swept equal the first run's, so this is the whole
 * expansion; origins (line numbers, comments) and the keys that do not change results
 * (checkpoint intervals) are left out. */
static void write_canonical(ncsn_sweep *s, const plan *pl, const uint64_t *base_seeds) {
    size_t size = 0;
    FILE *f = open_memstream(&s->canonical, &size);
    NCSN_ASSERT(f != NULL);
    fprintf(f, "# ncsn sweep 1\nmode: %s\ntrials: %d\nrepeats: %d\n",
            pl->random ? "random" : pl->halving.on ? "halving" : "grid", pl->trials, s->repeats);
    if (pl->halving.on) {
        fputs("rungs: [", f);
        for (int k = 0; k < pl->halving.n_rungs; k++)
            fprintf(f, "%s%lld", k ? ", " : "", (long long)pl->halving.steps[k]);
        fprintf(f, "]\nkeep: %.17g\nmetric: %s\nsample_n: %d\n", pl->halving.keep,
                pl->halving.metric, pl->halving.sample_n);
    }
    fprintf(f, "base_seed: %" PRIu64 "\nruns: %d\nswept:", s->base_seed, s->n_runs);
    for (int k = 0; k < s->n_swept; k++) fprintf(f, " %s", s->swept_keys[k]);
    char *first = ncsn_config_results_yaml(&s->runs[0].cfg);
    fprintf(f, "\nfirst run:\n%s", first);
    free(first);
    for (int r = 0; r < s->n_runs; r++) {
        const ncsn_sweep_run *run = &s->runs[r];
        fprintf(f, "%s: {seed: %" PRIu64, run->id, run->cfg.seed);
        for (int k = 0; k < s->n_swept; k++) {
            int i = ncsn_config_key_index(s->swept_keys[k]);
            if (strcmp(s->swept_keys[k], "seed") == 0) {
                fprintf(f, ", base_seed: %" PRIu64, base_seeds[r / s->repeats]);
                continue;
            }
            char *v = ncsn_config_key_to_yaml(&run->cfg, i);
            fprintf(f, ", %s: %s", s->swept_keys[k], v);
            free(v);
        }
        fputs("}\n", f);
    }
    fclose(f);
}

static int expand(ncsn_sweep *s, const plan *pl, const ncsn_config *base, int n_configs,
                  ncsn_error *err) {
    ncsn_key key = ncsn_rng_key(s->base_seed, 0, NCSN_RNG_MISC);
    uint64_t *base_seeds = ncsn_xmalloc((size_t)n_configs * sizeof *base_seeds);
    s->runs = ncsn_xcalloc((size_t)n_configs * s->repeats, sizeof *s->runs);
    for (int g = 0; g < n_configs; g++) {
        char group[16];
        ncsn_config c;
        snprintf(group, sizeof group, "c%04d", g);
        int rc = configure(pl, base, g, key, &c, err);
        if (rc == 0) rc = ncsn_config_validate(&c, err);
        if (rc) {
            ncsn_config_free(&c);
            free(base_seeds);
            return in_run(err, group);
        }
        base_seeds[g] = c.seed;
        for (int r = 0; r < s->repeats; r++) {
            ncsn_sweep_run *run = &s->runs[s->n_runs];
            snprintf(run->group, sizeof run->group, "%s", group);
            if (s->repeats > 1) snprintf(run->id, sizeof run->id, "%s-r%d", group, r);
            else snprintf(run->id, sizeof run->id, "%s", group);
            run->repeat = r;
            run->index = (uint32_t)s->n_runs;
            ncsn_config_copy(&run->cfg, &c);
            run->cfg.seed = ncsn_sweep_seed(c.seed, r);
            run->cost = ncsn_sweep_run_cost(&run->cfg, &run->train_cost);
            s->n_runs++;
        }
        ncsn_config_free(&c);
    }
    find_swept(s, base_seeds, n_configs);
    write_canonical(s, pl, base_seeds);
    free(base_seeds);
    return 0;
}

/* Every run is valid at every rung (a sample.snapshot beyond a rung's steps is not). */
static int check_rungs(const ncsn_sweep *s, ncsn_error *err) {
    const int n_configs = s->n_runs / s->repeats;
    unsigned char *all = ncsn_xmalloc((size_t)n_configs + 1);
    memset(all, 1, (size_t)n_configs + 1);
    int rc = 0;
    for (int k = 0; rc == 0 && k < s->halving.n_rungs - 1; k++) {
        ncsn_sweep rung;
        rc = ncsn_halving_rung(s, k, all, &rung, err);
        ncsn_sweep_free(&rung);
    }
    free(all);
    return rc;
}

int ncsn_sweep_load(ncsn_sweep *s, const char *path, const char *const *sets, int n_sets,
                    ncsn_error *err) {
    memset(s, 0, sizeof *s);
    plan *pl = ncsn_xcalloc(1, sizeof *pl);
    pl->repeats = 1;
    pl->halving.keep = 0.5;
    snprintf(pl->halving.metric, sizeof pl->halving.metric, "mode_weight_error");
    ncsn_config base;
    ncsn_config_default(&base);
    ncsn_config_visit(&base, shape_of, pl->shape);
    int rc = path ? read_file(pl, path, err) : 0;
    for (int j = 0; rc == 0 && j < n_sets; j++) rc = read_override(pl, sets[j], err);
    int n_configs = 0;
    if (rc == 0) rc = check_plan(pl, err);
    if (rc == 0) {
        ncsn_config_free(&base);
        rc = build_base(pl, &base, err);
    }
    if (rc == 0) rc = check_halving(pl, &base, err);
    if (rc == 0) rc = count(pl, &n_configs, err);
    if (rc == 0) {
        /* The random streams' seed: the file's seed, or the first value listed for it. */
        const spec *p = &pl->specs[ncsn_config_key_index("seed")];
        s->base_seed = base.seed;
        if (p->kind == SPEC_VALUES && p->n > 1) {
            ncsn_config c;
            ncsn_config_copy(&c, &base);
            if (apply_value(&c, ncsn_config_key_index("seed"), &p->v[0], err) == 0)
                s->base_seed = c.seed;
            ncsn_config_free(&c);
        }
        s->repeats = pl->repeats;
        s->halving = pl->halving;
        rc = expand(s, pl, &base, n_configs, err);
    }
    if (rc == 0 && s->halving.on) rc = check_metric(pl, s, err);
    if (rc == 0 && s->halving.on) rc = check_rungs(s, err);
    ncsn_config_free(&base);
    plan_free(pl);
    free(pl);
    if (rc) {
        ncsn_sweep_free(s);
        return -1;
    }
    return 0;
}

void ncsn_sweep_free(ncsn_sweep *s) {
    if (!s) return;
    for (int r = 0; s->runs && r < s->n_runs; r++) ncsn_config_free(&s->runs[r].cfg);
    free(s->runs);
    for (int k = 0; s->swept_keys && k < s->n_swept; k++) free(s->swept_keys[k]);
    free(s->swept_keys);
    free(s->canonical);
    memset(s, 0, sizeof *s);
}
