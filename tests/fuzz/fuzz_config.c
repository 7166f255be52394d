/* fuzz_config.c: a libFuzzer target over the configuration loader (src/config/config.c).
 *
 * One input is text. The part before a line "%%" (all of it when there is none) is loaded
 * as a YAML configuration over the defaults; then every line after the "%%" (without the
 * marker: every line of the input) is tried as a `-s KEY=VALUE` override. After each
 * call the harness checks what config.h promises:
 *   - a loader that fails leaves the configuration as it was, with a message;
 *   - every value the loader accepted is printed by ncsn_config_to_yaml so that loading
 *     the text over the defaults gives an equal configuration (ncsn_config_equal), which
 *     validates exactly when the original does. to_yaml writes the resolved configuration
 *     (the run file's config_yaml): an `auto` key may come back as the number it stood
 *     for, marked only by a comment, so for those keys the numbers are compared (and
 *     validation is not);
 *   - every key's one-line YAML (ncsn_config_key_to_yaml) sets that key back to itself;
 *   - the visitor hands out every key, in order, with values that can be read (ASan
 *     checks the reads).
 * A broken promise prints what differed and aborts, so libFuzzer records the input.
 *
 * Built two ways: with clang -fsanitize=fuzzer,address,undefined (cmake -DNCSN_FUZZ=ON,
 * scripts/fuzz.sh), and with the normal compiler plus replay.c's main(), which feeds it
 * every file of tests/fuzz/corpus and tests/fuzz/regressions under ctest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ncsn/config.h"

#define MAX_SETS 16    /* overrides tried per input: keeps one input fast */
#define MAX_SUGGEST 4  /* lines also passed to ncsn_config_suggest_key (edit distances) */

/* A broken promise: print the input's configuration and abort. */
#define FUZZ_CHECK(cond, ...)                                                         \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz_config: %s:%d: check `%s' failed: ", __FILE__,      \
                    __LINE__, #cond);                                                 \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* Every key's value as the visitor hands it out, copied (reading it all: a dangling or
 * short array trips ASan). */
typedef struct {
    int type, count, rows, cols;
    size_t bytes;
    unsigned char *data;
} value_copy;
typedef struct {
    int n;
    value_copy v[NCSN_MAX_KEYS];
} snapshot;

static void take(const ncsn_config_value *v, void *user) {
    snapshot *s = user;
    FUZZ_CHECK(s->n < NCSN_MAX_KEYS, "the visitor hands out more than %d keys", NCSN_MAX_KEYS);
    FUZZ_CHECK(v->key && v->origin && strlen(v->origin) < 256, "value without key or origin");
    FUZZ_CHECK(v->count >= 0, "%s: count %d", v->key, v->count);
    FUZZ_CHECK(s->n < ncsn_config_n_keys() && strcmp(v->key, ncsn_config_key_name(s->n)) == 0,
               "visit order: %s at %d", v->key, s->n);
    value_copy *c = &s->v[s->n++];
    c->type = v->type, c->count = v->count, c->rows = v->rows, c->cols = v->cols;
    const void *src;
    if (v->type == NCSN_VALUE_STRING) {
        src = v->string;
        c->bytes = strlen(v->string) + 1;
    } else {
        src = v->type == NCSN_VALUE_REAL ? (const void *)v->reals : (const void *)v->ints;
        c->bytes = (size_t)v->count * 8;
        FUZZ_CHECK(src || c->bytes == 0, "%s: %d values at NULL", v->key, v->count);
    }
    c->data = malloc(c->bytes ? c->bytes : 1);
    FUZZ_CHECK(c->data != NULL, "out of memory");
    if (c->bytes) memcpy(c->data, src, c->bytes);
}

static void snap(const ncsn_config *c, snapshot *s) {
    memset(s, 0, sizeof *s);
    ncsn_config_visit(c, take, s);
    FUZZ_CHECK(s->n == ncsn_config_n_keys(), "visited %d of %d keys", s->n, ncsn_config_n_keys());
}

static void snap_free(snapshot *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i].data);
    s->n = 0;
}

static int same_value(const snapshot *a, const snapshot *b, int i) {
    const value_copy *x = &a->v[i], *y = &b->v[i];
    return x->type == y->type && x->count == y->count && x->rows == y->rows &&
           x->cols == y->cols && x->bytes == y->bytes && memcmp(x->data, y->data, x->bytes) == 0;
}

static int is_auto(const ncsn_config *c, int i) {
    char *text = ncsn_config_key_to_yaml(c, i);
    FUZZ_CHECK(text != NULL, "key_to_yaml(%d) returned NULL", i);
    int a = strcmp(text, "auto") == 0;
    free(text);
    return a;
}

/* The first key (visit order) whose value differs between a and b, or -1. */
static int first_difference(const ncsn_config *a, const ncsn_config *b) {
    for (int i = 0; i < ncsn_config_n_keys(); i++)
        if (!ncsn_config_key_equal(a, b, i)) return i;
    return -1;
}

static void check_unchanged(const ncsn_config *before, const ncsn_config *after,
                            const char *what, const ncsn_error *err) {
    int i = first_difference(before, after);
    FUZZ_CHECK(i < 0, "%s failed (%s) but changed %s", what, err->msg, ncsn_config_key_name(i));
    FUZZ_CHECK(err->msg[0] != 0, "%s failed without a message", what);
}

/* to_yaml, loaded over the defaults, gives c back (an auto key as auto or as its number);
 * validation agrees; each key's flow YAML sets it back to itself. */
static void check_round_trip(const ncsn_config *c) {
    ncsn_error err = {{0}};
    char *text = ncsn_config_to_yaml(c);
    FUZZ_CHECK(text != NULL, "ncsn_config_to_yaml returned NULL");
    ncsn_config d;
    ncsn_config_default(&d);
    int rc = ncsn_config_load_string(&d, text, "round-trip", &err);
    FUZZ_CHECK(rc == 0, "to_yaml's text does not load: %s\n--- text:\n%s", err.msg, text);
    snapshot sc, sd;
    snap(c, &sc);
    snap(&d, &sd);
    int any_auto = 0;
    for (int i = 0; i < ncsn_config_n_keys(); i++) {
        int a = is_auto(c, i);
        any_auto |= a;
        /* auto either stays auto or comes back as the number it stood for */
        int same = ncsn_config_key_equal(c, &d, i) ||
                   (a && same_value(&sc, &sd, i) && !is_auto(&d, i));
        if (!same) {
            char *x = ncsn_config_key_to_yaml(c, i), *y = ncsn_config_key_to_yaml(&d, i);
            FUZZ_CHECK(same, "round trip changed %s: %s became %s\n--- text:\n%s",
                       ncsn_config_key_name(i), x, y, text);
        }
    }
    /* An auto key is not validated until resolved; its number is, once written out. */
    if (!any_auto) {
        int valid = ncsn_config_validate(c, &err) == 0;
        FUZZ_CHECK((ncsn_config_validate(&d, &err) == 0) == valid,
                   "validation differs after the round trip (%s)", valid ? "was valid" : err.msg);
    }
    snap_free(&sc);
    snap_free(&sd);
    ncsn_config_free(&d);
    free(text);

    for (int i = 0; i < ncsn_config_n_keys(); i++) {
        char *value = ncsn_config_key_to_yaml(c, i);
        FUZZ_CHECK(value != NULL, "key_to_yaml(%d) returned NULL", i);
        ncsn_config e;
        ncsn_config_copy(&e, c);
        rc = ncsn_config_set_value(&e, ncsn_config_key_name(i), value, NULL, 0, &err);
        FUZZ_CHECK(rc == 0, "%s=%s does not set back: %s", ncsn_config_key_name(i), value,
                   err.msg);
        int j = first_difference(c, &e);
        FUZZ_CHECK(j < 0, "%s=%s changed %s", ncsn_config_key_name(i), value,
                   ncsn_config_key_name(j));
        ncsn_config_free(&e);
        free(value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The loaders take C strings: the input up to its first NUL. */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *sets = text;
    char *marker = strncmp(text, "%%\n", 3) == 0 ? text : strstr(text, "\n%%\n");
    if (marker) {
        if (marker != text) marker++; /* the '\n' before the marker ends the YAML */
        *marker = 0;
        sets = marker + 3;
    }

    ncsn_config c, before;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    ncsn_config_copy(&before, &c);
    if (ncsn_config_load_string(&c, text, "fuzz.yaml", &err) != 0)
        check_unchanged(&before, &c, "load_string", &err);
    ncsn_config_free(&before);

    int n_sets = 0;
    for (char *line = sets; *line && n_sets < MAX_SETS; n_sets++) {
        char *end = strchr(line, '\n');
        char *next = end ? end + 1 : line + strlen(line);
        if (end) *end = 0;
        if (!marker && !strchr(line, '=')) { /* not meant as an override */
            line = next;
            n_sets--;
            continue;
        }
        char hint[256];
        if (n_sets < MAX_SUGGEST) ncsn_config_suggest_key(line, hint, sizeof hint);
        ncsn_config_copy(&before, &c);
        err.msg[0] = 0;
        if (ncsn_config_set(&c, line, &err) != 0) check_unchanged(&before, &c, "set", &err);
        ncsn_config_free(&before);
        line = next;
    }

    check_round_trip(&c);
    ncsn_config_free(&c);
    free(text);
    return 0;
}
