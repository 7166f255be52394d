/* fuzz_config.c: a libFuzzer target over the configuration loader (src/config.c).
 *
 * One input is text. The part before a line "%%" (all of it when there is none) is loaded
 * as a YAML configuration over the defaults; then every line after the "%%" (without the
 * marker: every line of the input) is tried as a `-s KEY=VALUE` override. After each
 * call the harness checks what config.h promises:
 *   - a loader that fails leaves the configuration as it was, with a message;
 *   - every value the loader accepted is printed by ncsn_config_to_yaml so that loading
 *     the text over the defaults gives an equal configuration (ncsn_config_equal), which
 *     validates exactly when the original does. to_yaml writes the resolved configuration
 *     (the run file's config_yaml): an `auto` key comes back as its number, marked only by
 *     a comment, so the comparison is with the *_auto flags cleared;
 *   - every key's one-line YAML (ncsn_config_key_to_yaml) sets that key back to itself;
 *   - the visitor hands out values that can be read (ASan checks the reads).
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

/* Reads every value the visitor hands out; a dangling or short array trips ASan. */
static void touch(const ncsn_config_value *v, void *user) {
    double *sum = user;
    FUZZ_CHECK(v->key && v->origin, "visitor value without key or origin");
    FUZZ_CHECK(v->count >= 0, "%s: count %d", v->key, v->count);
    for (int i = 0; i < v->count; i++) {
        if (v->type == NCSN_VALUE_REAL) *sum += v->reals[i];
        else if (v->type == NCSN_VALUE_INT || v->type == NCSN_VALUE_BOOL) *sum += (double)v->ints[i];
    }
    if (v->type == NCSN_VALUE_STRING) *sum += (double)strlen(v->string);
    *sum += (double)strlen(v->origin);
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

/* to_yaml, loaded over the defaults, gives c back; validation agrees; each key's flow
 * YAML sets it back to itself. */
static void check_round_trip(const ncsn_config *c) {
    ncsn_error err = {{0}};
    ncsn_config resolved; /* c as to_yaml writes it: numbers, no auto flags */
    ncsn_config_copy(&resolved, c);
    resolved.noise.sigma_1_auto = resolved.noise.L_auto = resolved.sample.eps_auto = 0;
    int valid = ncsn_config_validate(&resolved, &err) == 0;
    char *text = ncsn_config_to_yaml(c);
    FUZZ_CHECK(text != NULL, "ncsn_config_to_yaml returned NULL");
    ncsn_config d;
    ncsn_config_default(&d);
    err.msg[0] = 0;
    int rc = ncsn_config_load_string(&d, text, "round-trip", &err);
    FUZZ_CHECK(rc == 0, "to_yaml's text does not load: %s\n--- text:\n%s", err.msg, text);
    int i = first_difference(&resolved, &d);
    if (i >= 0) {
        char *a = ncsn_config_key_to_yaml(&resolved, i), *b = ncsn_config_key_to_yaml(&d, i);
        FUZZ_CHECK(i < 0, "round trip changed %s: %s became %s\n--- text:\n%s",
                   ncsn_config_key_name(i), a, b, text);
    }
    FUZZ_CHECK((ncsn_config_validate(&d, &err) == 0) == valid,
               "validation differs after the round trip (%s)", valid ? "was valid" : err.msg);
    ncsn_config_free(&d);
    ncsn_config_free(&resolved);
    free(text);

    for (i = 0; i < ncsn_config_n_keys(); i++) {
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

    double sum = 0;
    ncsn_config_visit(&c, touch, &sum);
    check_round_trip(&c);
    ncsn_config_free(&c);
    free(text);
    return 0;
}
