/* config/config.c: one run's configuration (include/ncsn/config.h): defaults, YAML files,
 * --set overrides, validation, YAML output and the key visitor.
 *
 * One table, keys[], lists every key in visit order with its kind, where it lives in
 * ncsn_config and the values it allows; parsing, validation, printing and visiting all
 * walk it. YAML goes through libyaml's document API in two passes: walk() checks the
 * structure (nested maps, unknown and duplicate keys) and collects one value node per
 * key, then apply() converts the values, in table order, into a copy of the
 * configuration that replaces the caller's only when every value was good.
 * Messages read `FILE:LINE: KEY: reason`, `--set KEY: reason`, or `KEY: reason` for a
 * default value. */
#include "ncsn/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "ncsn/model.h"
#include "ncsn/text.h"
#include "ncsn/yaml.h"

#define MAX_K 1024     /* mixture components */
#define MAX_D 4096     /* data dimension */
#define MAX_WIDTH 65536 /* model.emb, model.hidden */
#define WEIGHT_SUM_TOL 1e-6

/* ---------------------------------------------------------------- the key table */

enum kind {
    KIND_U64,    /* uint64_t */
    KIND_INT,    /* int */
    KIND_I64,    /* int64_t */
    KIND_REAL,   /* double */
    KIND_BOOL,   /* int, 0 or 1 */
    KIND_NAME,   /* char[NCSN_NAME_MAX], one of choices */
    KIND_STRING, /* char[NCSN_PATH_MAX], any text (a file name) */
    KIND_ENUM,   /* int, the index of one of choices */
    KIND_LIST,   /* double * (count); dataset.std also takes one number for all */
    KIND_MATRIX, /* double * (rows, cols): dataset.means */
};

#define OPEN_LO 1 /* lo itself is not allowed */
#define OPEN_HI 2 /* hi itself is not allowed */
#define NONE ((size_t)-1)

typedef struct {
    const char *name;
    enum kind kind;
    size_t off;   /* the value: offsetof(ncsn_config, ...) */
    size_t n_off; /* LIST: its count (int); MATRIX: its rows (int) */
    size_t aux;   /* REAL, INT: the *_auto flag; LIST: "was one number"; MATRIX: its cols */
    double lo, hi; /* numbers, and list entries, lie in [lo, hi] */
    int open;      /* OPEN_LO / OPEN_HI: that end excluded */
    const char *const *choices; /* NAME, ENUM: the allowed strings, NULL-terminated */
    /* An auto key whose "auto" follows from other keys (dataset.dim) rather than from the
     * techniques: YAML output writes "auto" for it, not the number it stands for. */
    int derived;
} key_def;

static const char *const dataset_names[] = {"gmm",   "manifold",     "moons", "swissroll",
                                            "rings", "checkerboard", "hdf5",  NULL};
static const char *const manifold_bases[] = {"gmm", "swissroll", NULL};
static const char *const sigma_inputs[] = {"sigma", "log_sigma", "none", NULL}; /* enum ncsn_sigma_input */
static const char *const sample_methods[] = {"annealed", "plain", NULL};
static const char *const score_sources[] = {"model", "exact", NULL};

#define F(field) offsetof(ncsn_config, field)
#define INF HUGE_VAL
#define U64(name, f) {name, KIND_U64, F(f), NONE, NONE, 0, INF, 0, NULL, 0}
#define INT(name, f, lo, hi) {name, KIND_INT, F(f), NONE, NONE, lo, hi, 0, NULL, 0}
#define INT_AUTO(name, f, flag, lo, hi) {name, KIND_INT, F(f), NONE, F(flag), lo, hi, 0, NULL, 0}
#define INT_DERIVED(name, f, flag, lo, hi) \
    {name, KIND_INT, F(f), NONE, F(flag), lo, hi, 0, NULL, 1}
#define I64(name, f, lo, hi) {name, KIND_I64, F(f), NONE, NONE, lo, hi, 0, NULL, 0}
#define REAL(name, f, lo, hi, open) {name, KIND_REAL, F(f), NONE, NONE, lo, hi, open, NULL, 0}
#define REAL_AUTO(name, f, flag, lo, hi, open) \
    {name, KIND_REAL, F(f), NONE, F(flag), lo, hi, open, NULL, 0}
#define BOOL(name, f) {name, KIND_BOOL, F(f), NONE, NONE, 0, 1, 0, NULL, 0}
#define NAME(name, f, choices) {name, KIND_NAME, F(f), NONE, NONE, 0, 0, 0, choices, 0}
#define STRING(name, f) {name, KIND_STRING, F(f), NONE, NONE, 0, 0, 0, NULL, 0}
#define ENUM(name, f, choices) {name, KIND_ENUM, F(f), NONE, NONE, 0, 0, 0, choices, 0}
#define LIST(name, f, n, one, lo, hi, open) {name, KIND_LIST, F(f), F(n), one, lo, hi, open, NULL, 0}
#define MATRIX(name, f, rows, cols) {name, KIND_MATRIX, F(f), F(rows), F(cols), -INF, INF, 0, NULL, 0}

/* The visit order. Each key's own range is here; checks between keys are in
 * ncsn_config_validate. */
static const key_def keys[] = {
    U64("seed", seed),
    NAME("dataset.name", dataset.name, dataset_names),
    INT_DERIVED("dataset.dim", dataset.dim, dataset.dim_auto, 1, MAX_D),
    INT("dataset.n", dataset.n, 2, INF),
    LIST("dataset.weights", dataset.weights, dataset.n_weights, NONE, 0, INF, 0),
    MATRIX("dataset.means", dataset.means, dataset.k, dataset.means_cols),
    LIST("dataset.std", dataset.std, dataset.n_std, F(dataset.std_scalar), 0, INF, OPEN_LO),
    NAME("dataset.base", dataset.base, manifold_bases),
    REAL("dataset.noise", dataset.noise, 0, INF, 0),
    STRING("dataset.path", dataset.path),
    STRING("dataset.key", dataset.key),
    STRING("dataset.labels", dataset.labels),
    REAL("dataset.holdout", dataset.holdout, 0, 1, OPEN_LO | OPEN_HI),
    INT("model.emb", model.emb, 1, MAX_WIDTH),
    INT("model.hidden", model.hidden, 1, MAX_WIDTH),
    ENUM("model.sigma_input", model.sigma_input, sigma_inputs),
    BOOL("model.scale_by_sigma", model.scale_by_sigma),
    I64("train.steps", train.steps, 0, INF),
    INT("train.batch", train.batch, 1, INF),
    REAL("train.lr", train.lr, 0, INF, OPEN_LO),
    REAL("train.weight_decay", train.weight_decay, 0, INF, 0),
    REAL("train.ema", train.ema, 0, 1, OPEN_HI),
    I64("train.log_every", train.log_every, 1, INF),
    I64("train.checkpoint_every", train.checkpoint_every, 0, INF),
    I64("train.snapshot_every", train.snapshot_every, 0, INF),
    REAL_AUTO("noise.sigma_1", noise.sigma_1, noise.sigma_1_auto, 0, INF, OPEN_LO),
    REAL("noise.sigma_L", noise.sigma_L, 0, INF, OPEN_LO),
    INT_AUTO("noise.L", noise.L, noise.L_auto, 1, INF),
    INT("sample.n", sample.n, 1, INF),
    INT("sample.T", sample.T, 1, INF),
    REAL_AUTO("sample.eps", sample.eps, sample.eps_auto, 0, INF, OPEN_LO),
    REAL("sample.low", sample.low, -INF, INF, 0),
    REAL("sample.high", sample.high, -INF, INF, 0),
    ENUM("sample.method", sample.method, sample_methods),
    ENUM("sample.score", sample.score, score_sources),
    BOOL("sample.denoise", sample.denoise),
    INT("sample.checkpoint_every", sample.checkpoint_every, 0, INF),
    REAL("sample.max_bad_fraction", sample.max_bad_fraction, 0, 1, 0),
    I64("sample.snapshot", sample.snapshot, 0, INF),
};
#undef U64
#undef INT
#undef INT_AUTO
#undef INT_DERIVED
#undef I64
#undef REAL
#undef REAL_AUTO
#undef BOOL
#undef NAME
#undef STRING
#undef ENUM
#undef LIST
#undef MATRIX
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= NCSN_MAX_KEYS, "raise NCSN_MAX_KEYS");

/* A field of c at a byte offset from the table. */
#define AT(c, off, type) ((type *)((char *)(c) + (off)))
#define CAT(c, off, type) ((const type *)((const char *)(c) + (off)))

int ncsn_config_n_keys(void) { return N_KEYS; }

const char *ncsn_config_key_name(int i) { return i >= 0 && i < N_KEYS ? keys[i].name : NULL; }

int ncsn_config_key_index(const char *key) {
    for (int i = 0; i < N_KEYS; i++)
        if (key && strcmp(keys[i].name, key) == 0) return i;
    return -1;
}

/* The first key inside section `name` (as in "train" for train.*), or -1. */
static int section_index(const char *name) {
    size_t n = strlen(name);
    for (int i = 0; i < N_KEYS; i++)
        if (strncmp(keys[i].name, name, n) == 0 && keys[i].name[n] == '.') return i;
    return -1;
}

static int is_auto_key(const key_def *k) {
    return (k->kind == KIND_REAL || k->kind == KIND_INT) && k->aux != NONE;
}

static int is_auto(const ncsn_config *c, const key_def *k) {
    return is_auto_key(k) && *CAT(c, k->aux, int);
}

/* ---------------------------------------------------------------- origins */

/* Key i's origin, i a valid key index. */
static const char *origin_of(const ncsn_config *c, int i) { return c->origin[i] ? c->origin[i] : ""; }

const char *ncsn_config_origin(const ncsn_config *c, int i) {
    return i >= 0 && i < N_KEYS ? origin_of(c, i) : "";
}

/* An open-addressing hash set of every origin text seen (a few per file line); never
 * freed: configurations point into it for the life of the process. */
static struct {
    char **slot; /* (cap): NULL or a text */
    size_t n, cap;
} interned;

static size_t text_hash(const char *s) { return (size_t)ncsn_fnv1a(s, strlen(s)); }

const char *ncsn_config_intern(const char *text) {
    if (!text || !text[0]) return "";
    if (2 * (interned.n + 1) > interned.cap) { /* grow to keep the table at most half full */
        size_t cap = interned.cap ? 2 * interned.cap : 256;
        char **slot = ncsn_xcalloc(cap, sizeof *slot);
        for (size_t i = 0; i < interned.cap; i++) {
            if (!interned.slot[i]) continue;
            size_t j = text_hash(interned.slot[i]) & (cap - 1);
            while (slot[j]) j = (j + 1) & (cap - 1);
            slot[j] = interned.slot[i];
        }
        free(interned.slot);
        interned.slot = slot;
        interned.cap = cap;
    }
    size_t j = text_hash(text) & (interned.cap - 1);
    for (; interned.slot[j]; j = (j + 1) & (interned.cap - 1))
        if (strcmp(interned.slot[j], text) == 0) return interned.slot[j];
    interned.slot[j] = strdup(text);
    NCSN_ASSERT(interned.slot[j]);
    interned.n++;
    return interned.slot[j];
}

/* ---------------------------------------------------------------- defaults, copy, free */

static double *dup_reals(const double *x, size_t n) {
    if (!x || n == 0) return NULL;
    double *y = ncsn_xmalloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

void ncsn_config_default(ncsn_config *c) {
    /* The notebook's experiment (docs/computation.md, The notebook's experiment). */
    static const double weights[] = {0.95, 0.05};
    static const double means[] = {-5, -5, 5, 5}; /* (K = 2, D = 2) */
    static const double std[] = {1, 1};
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NCSN_MAX_KEYS; i++) c->origin[i] = "";
    c->seed = 0;
    strcpy(c->dataset.name, "gmm");
    c->dataset.n = 1000;
    c->dataset.k = 2;
    c->dataset.dim = 2;
    c->dataset.dim_auto = 1;
    c->dataset.means_cols = 2;
    c->dataset.n_weights = 2;
    c->dataset.weights = dup_reals(weights, 2);
    c->dataset.means = dup_reals(means, 4);
    c->dataset.n_std = 2;
    c->dataset.std = dup_reals(std, 2);
    c->dataset.std_scalar = 1;
    strcpy(c->dataset.base, "gmm");
    c->dataset.noise = 0;
    c->dataset.holdout = 0.2;
    c->model.emb = 16;
    c->model.hidden = 128;
    c->model.sigma_input = NCSN_SIGMA_INPUT_SIGMA;
    c->model.scale_by_sigma = 0;
    c->train.steps = 30000;
    c->train.batch = 128;
    c->train.lr = 1e-3;
    c->train.weight_decay = 0;
    c->train.ema = 0;
    c->train.log_every = 100;
    c->noise.sigma_1 = 20;
    c->noise.sigma_L = 0.1;
    c->noise.L = 100;
    c->sample.n = 5000;
    c->sample.T = 1000;
    c->sample.eps = 1e-3;
    c->sample.low = -8;
    c->sample.high = 8;
    c->sample.method = NCSN_SAMPLE_ANNEALED;
    c->sample.score = NCSN_SCORE_MODEL;
    c->sample.denoise = 0;
    c->sample.max_bad_fraction = 0.01;
}

void ncsn_config_free(ncsn_config *c) {
    if (!c) return;
    NCSN_FREE_ALL(c->dataset.weights, c->dataset.means, c->dataset.std);
    memset(c, 0, sizeof *c);
}

void ncsn_config_copy(ncsn_config *dst, const ncsn_config *src) {
    *dst = *src;
    dst->dataset.weights = dup_reals(src->dataset.weights, (size_t)src->dataset.n_weights);
    dst->dataset.means =
        dup_reals(src->dataset.means, (size_t)src->dataset.k * (size_t)src->dataset.means_cols);
    dst->dataset.std = dup_reals(src->dataset.std, (size_t)src->dataset.n_std);
}

/* A std given as one number stays one number per component as K changes. */
static void sync_std(ncsn_config *c) {
    int k = c->dataset.k;
    if (!c->dataset.std_scalar || !c->dataset.std || c->dataset.n_std < 1 || k < 1 ||
        c->dataset.n_std == k)
        return;
    double s = c->dataset.std[0];
    free(c->dataset.std);
    c->dataset.std = ncsn_xmalloc((size_t)k * sizeof(double));
    for (int i = 0; i < k; i++) c->dataset.std[i] = s;
    c->dataset.n_std = k;
}

/* dataset.dim "auto" follows the data set: the rows of dataset.means for the mixture, 2
 * for the 2-D toys, 0 (not known yet) for a file and for manifold (which needs a number). */
static void sync_dim(ncsn_config *c) {
    if (!c->dataset.dim_auto) return;
    const char *name = c->dataset.name;
    if (strcmp(name, "gmm") == 0) c->dataset.dim = c->dataset.means_cols;
    else if (strcmp(name, "manifold") == 0 || strcmp(name, "hdf5") == 0) c->dataset.dim = 0;
    else c->dataset.dim = 2;
}

/* ---------------------------------------------------------------- messages */

/* err = `WHERE: KEY: reason`; WHERE is "FILE:LINE", "--set" (then `--set KEY: reason`)
 * or "" (a default: `KEY: reason`); key may be NULL. Returns -1. */
static int vfail(ncsn_error *err, const char *where, const char *key, const char *fmt,
                 va_list ap) {
    char reason[900];
    vsnprintf(reason, sizeof reason, fmt, ap);
    const char *sep = !where[0] ? "" : strcmp(where, "--set") == 0 ? " " : ": ";
    if (key)
        return ncsn_seterr(err, "%s%s%s: %s", where, sep, key, reason);
    return ncsn_seterr(err, "%s%s%s", where, where[0] ? ": " : "", reason);
}

static int fail(ncsn_error *err, const char *where, const char *key, const char *fmt, ...)
    NCSN_PRINTF(4, 5);
static int fail(ncsn_error *err, const char *where, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, where, key, fmt, ap);
    va_end(ap);
    return -1;
}

int ncsn_config_key_error(ncsn_error *err, const ncsn_config *c, const char *key,
                          const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, ncsn_config_origin(c, ncsn_config_key_index(key)), key, fmt, ap);
    va_end(ap);
    return -1;
}

/* The allowed numbers of k in words: "a positive number", "an integer >= 2",
 * "numbers >= 0" (plural, for list entries), "a number in [0, 1)". */
static void range_words(const key_def *k, int integer, int plural, char *buf, size_t n) {
    const char *noun = integer ? "integer" : "number";
    const char *s = plural ? "s" : "";
    int lo_fin = isfinite(k->lo), hi_fin = isfinite(k->hi);
    char lo[40], hi[40];
    ncsn_format_real(k->lo, lo);
    ncsn_format_real(k->hi, hi);
    if (k->lo == 0 && (k->open & OPEN_LO) && !hi_fin)
        snprintf(buf, n, "%spositive %s%s", plural ? "" : "a ", noun, s);
    else {
        const char *article = plural ? "" : integer ? "an " : "a ";
        if (lo_fin && hi_fin && integer)
            snprintf(buf, n, "%s%s%s from %s to %s", article, noun, s, lo, hi);
        else if (lo_fin && hi_fin)
            snprintf(buf, n, "%s%s%s in %c%s, %s%c", article, noun, s,
                     (k->open & OPEN_LO) ? '(' : '[', lo, hi, (k->open & OPEN_HI) ? ')' : ']');
        else if (lo_fin)
            snprintf(buf, n, "%s%s%s %s %s", article, noun, s, (k->open & OPEN_LO) ? ">" : ">=",
                     lo);
        else if (hi_fin)
            snprintf(buf, n, "%s%s%s %s %s", article, noun, s, (k->open & OPEN_HI) ? "<" : "<=",
                     hi);
        else
            snprintf(buf, n, "%s%s%s", article, noun, s);
    }
}

/* "a, b or c" */
static void choice_words(const char *const *choices, char *buf, size_t n) {
    buf[0] = 0;
    for (int i = 0; choices[i]; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i == 0 ? "" : choices[i + 1] ? ", " : " or ",
                 choices[i]);
    }
}

/* What key k accepts, for "expected ..., got ..." messages. */
static void describe(const key_def *k, char *buf, size_t n) {
    char words[160];
    switch (k->kind) {
    case KIND_U64: range_words(k, 1, 0, buf, n); break;
    case KIND_INT:
    case KIND_I64: range_words(k, 1, 0, buf, n); break;
    case KIND_REAL: range_words(k, 0, 0, buf, n); break;
    case KIND_BOOL: snprintf(buf, n, "true or false"); break;
    case KIND_NAME:
    case KIND_ENUM: choice_words(k->choices, buf, n); break;
    case KIND_STRING: snprintf(buf, n, "a string"); break;
    case KIND_LIST:
        range_words(k, 0, 1, words, sizeof words);
        if (k->aux != NONE) {
            char one[160];
            range_words(k, 0, 0, one, sizeof one);
            snprintf(buf, n, "%s or a list of %s, one per component", one, words);
        } else
            snprintf(buf, n, "a list of %s, one per component", words);
        break;
    case KIND_MATRIX: snprintf(buf, n, "a list of rows (one per component) of numbers"); break;
    }
    if (is_auto_key(k)) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, " or auto");
    }
}

/* Levenshtein distance, case-insensitive, over at most 63 characters of each. */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63) la = 63;
    if (lb > 63) lb = 63;
    int prev[64], cur[64];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            int best = prev[j - 1] + !same;
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof cur);
    }
    return prev[lb];
}

static const char *leaf(const char *key) {
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

/* How far a mistyped name is from a candidate: edit distance, but the right name in the
 * wrong section counts 1 and a prefix ("batchsize" for "batch") counts 2. */
static int closeness(const char *typed, const char *cand) {
    int d = edit_distance(typed, cand);
    const char *tl = leaf(typed), *cl = leaf(cand);
    size_t nt = strlen(tl), nc = strlen(cl), shorter = nt < nc ? nt : nc;
    if (strcasecmp(tl, cl) == 0 && d > 1) d = 1;
    else if (shorter >= 2 && strncasecmp(tl, cl, shorter) == 0 && d > 2) d = 2;
    return d;
}

/* 1 when a and b lie in different sections ("train" for train.lr, "" for seed). */
static int other_section(const char *a, const char *b) {
    size_t na = (size_t)(leaf(a) - a), nb = (size_t)(leaf(b) - b);
    return na != nb || strncmp(a, b, na) != 0;
}

/* " (did you mean X?)" or " (did you mean X or Y?)" when candidates come close, else "".
 * Among equally close candidates those in the typed name's own section come first. */
static void suggest(const char *typed, const char *const *cands, int n, char *buf, size_t size) {
    int limit = (int)strlen(leaf(typed)) / 3, best = INT_MAX, first = -1, second = -1;
    if (limit < 2) limit = 2;
    for (int i = 0; i < n; i++) {
        int d = closeness(typed, cands[i]);
        if (d > limit) continue;
        d = 2 * d + other_section(typed, cands[i]);
        if (d < best) best = d, first = i, second = -1;
        else if (d == best && second < 0) second = i;
    }
    buf[0] = 0;
    if (first < 0) return;
    if (second >= 0)
        snprintf(buf, size, " (did you mean %s or %s?)", cands[first], cands[second]);
    else
        snprintf(buf, size, " (did you mean %s?)", cands[first]);
}

/* Suggestion for an unknown key among every key and section name. */
static void suggest_key(const char *typed, char *buf, size_t size) {
    const char *cands[2 * NCSN_MAX_KEYS];
    char sections[NCSN_MAX_KEYS][32];
    int n = 0;
    for (int i = 0; i < N_KEYS; i++) {
        const char *dot = strchr(keys[i].name, '.');
        size_t len = dot ? (size_t)(dot - keys[i].name) : 0;
        if (dot && (i == 0 || strncmp(keys[i - 1].name, keys[i].name, len + 1) != 0)) {
            snprintf(sections[i], sizeof sections[i], "%.*s", (int)len, keys[i].name);
            cands[n++] = sections[i];
        }
        cands[n++] = keys[i].name;
    }
    suggest(typed, cands, n, buf, size);
}

/* ---------------------------------------------------------------- YAML scalars */

/* An integer, exactly: plain digits, or an integral real such as 3e4. Gives the sign and
 * the magnitude (so that all of uint64_t and int64_t fit); 0, or -1. */
static int scalar_integer(const yaml_node_t *v, int *neg, uint64_t *mag) {
    const char *t = ncsn_yaml_plain(v);
    if (!t) return -1;
    const char *digits = t + (t[0] == '+' || t[0] == '-');
    *neg = t[0] == '-';
    if (digits[0] && strspn(digits, "0123456789") == strlen(digits)) {
        errno = 0;
        unsigned long long u = strtoull(digits, NULL, 10);
        if (errno == ERANGE) return -1;
        *mag = u;
        if (u == 0) *neg = 0;
        return 0;
    }
    double x;
    if (ncsn_yaml_real(v, &x) || x != floor(x) || fabs(x) >= 18446744073709551616.0) return -1;
    *neg = x < 0;
    *mag = (uint64_t)fabs(x);
    return 0;
}

/* ---------------------------------------------------------------- parsing */

/* A parsed document and, per key, the nodes that set it. */
typedef struct {
    yaml_document_t doc;
    const char *label;                /* the file, or NULL for --set */
    yaml_node_t *key[NCSN_MAX_KEYS];   /* the key node that set key i, or NULL */
    yaml_node_t *value[NCSN_MAX_KEYS]; /* its value */
    /* Text cut out of a file (ncsn_config_set_value): line numbers count from line0, and
     * the node at_line0 (the value itself) is reported at line0 exactly. */
    size_t line0;
    const yaml_node_t *at_line0;
} source;

/* "FILE:LINE" of node n, or "--set". */
static const char *where(const source *s, const yaml_node_t *n, char *buf, size_t size) {
    if (!s->label) snprintf(buf, size, "--set");
    else if (!n) snprintf(buf, size, "%s:0", s->label);
    else
        snprintf(buf, size, "%s:%zu", s->label,
                 s->line0 + (n == s->at_line0 ? 0 : n->start_mark.line) + 1);
    return buf;
}

/* Message about node n of key `key`. */
static int fail_at(ncsn_error *err, const source *s, const yaml_node_t *n, const char *key,
                   const char *fmt, ...) NCSN_PRINTF(5, 6);
static int fail_at(ncsn_error *err, const source *s, const yaml_node_t *n, const char *key,
                   const char *fmt, ...) {
    char w[320];
    va_list ap;
    va_start(ap, fmt);
    vfail(err, where(s, n, w, sizeof w), key, fmt, ap);
    va_end(ap);
    return -1;
}

static int in_range(const key_def *k, double x) {
    int lo_ok = (k->open & OPEN_LO) ? x > k->lo : x >= k->lo;
    int hi_ok = (k->open & OPEN_HI) ? x < k->hi : x <= k->hi;
    return lo_ok && hi_ok;
}

/* Node v as a number for key k (or one entry of a list key): 0, or -1 and a reason that
 * completes "expected ..., got ...". */
static int read_real(const key_def *k, const yaml_node_t *v, int entry, double *x, char *why,
                     size_t n) {
    int rc = ncsn_yaml_real(v, x);
    if (rc == 0 && in_range(k, *x)) return 0;
    char what[400], g[100];
    if (entry) range_words(k, 0, 0, what, sizeof what);
    else describe(k, what, sizeof what);
    snprintf(why, n, "expected %s, got %s%s", what, ncsn_yaml_got(v, g, sizeof g),
             rc == -2 ? " (not finite)" : "");
    return -1;
}

/* Node v as an integer for key k, stored into c. */
static int read_integer(ncsn_config *c, const key_def *k, const yaml_node_t *v, char *why,
                        size_t n) {
    int neg;
    uint64_t mag;
    const char *problem = NULL;
    if (scalar_integer(v, &neg, &mag)) problem = "";
    else if (k->kind == KIND_U64 && neg) problem = "";
    else if ((k->kind == KIND_INT && mag > (neg ? (uint64_t)INT_MAX + 1 : (uint64_t)INT_MAX)) ||
             (k->kind == KIND_I64 && mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)))
        problem = " (out of range)";
    else if (!in_range(k, neg ? -(double)mag : (double)mag)) problem = "";
    if (problem) {
        char what[400], g[100];
        describe(k, what, sizeof what);
        snprintf(why, n, "expected %s, got %s%s", what, ncsn_yaml_got(v, g, sizeof g), problem);
        return -1;
    }
    /* -(mag - 1) - 1 stays in range for mag = 2^63. */
    int64_t value = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    switch (k->kind) {
    case KIND_U64: *AT(c, k->off, uint64_t) = mag; break;
    case KIND_INT: *AT(c, k->off, int) = (int)value; break;
    default: *AT(c, k->off, int64_t) = value; break;
    }
    return 0;
}

static int apply_list(ncsn_config *c, const key_def *k, source *s, const yaml_node_t *kn,
                      const yaml_node_t *v, ncsn_error *err) {
    char why[512], what[200], g[100];
    int *one = k->aux != NONE ? AT(c, k->aux, int) : NULL;
    double *x;
    int n;
    if (one && v->type == YAML_SCALAR_NODE) {
        double d;
        if (read_real(k, v, 0, &d, why, sizeof why)) return fail_at(err, s, kn, k->name, "%s", why);
        x = dup_reals(&d, 1);
        n = 1;
    } else {
        if (v->type != YAML_SEQUENCE_NODE) {
            describe(k, what, sizeof what);
            return fail_at(err, s, kn, k->name, "expected %s, got %s", what,
                           ncsn_yaml_got(v, g, sizeof g));
        }
        n = ncsn_yaml_items(v);
        if (n == 0) return fail_at(err, s, kn, k->name, "expected a non-empty list");
        if (n > MAX_K)
            return fail_at(err, s, kn, k->name,
                           "has %d entries, more than the %d components allowed", n, MAX_K);
        x = ncsn_xmalloc((size_t)n * sizeof *x);
        for (int i = 0; i < n; i++) {
            yaml_node_t *e = ncsn_yaml_item(&s->doc, v, i);
            if (read_real(k, e, 1, &x[i], why, sizeof why)) {
                free(x);
                return fail_at(err, s, e, k->name, "entry %d: %s", i + 1, why);
            }
        }
    }
    free(*AT(c, k->off, double *));
    *AT(c, k->off, double *) = x;
    *AT(c, k->n_off, int) = n;
    if (one) *one = n == 1;
    return 0;
}

/* A MATRIX key (dataset.means): K rows of D numbers each. */
static int apply_matrix(ncsn_config *c, const key_def *k, source *s, const yaml_node_t *kn,
                        const yaml_node_t *v, ncsn_error *err) {
    char what[400], g[100], why[512];
    describe(k, what, sizeof what);
    if (v->type != YAML_SEQUENCE_NODE)
        return fail_at(err, s, kn, k->name, "expected %s, got %s", what,
                       ncsn_yaml_got(v, g, sizeof g));
    int rows = ncsn_yaml_items(v), cols = 0;
    if (rows == 0) return fail_at(err, s, kn, k->name, "expected a non-empty list of rows");
    if (rows > MAX_K)
        return fail_at(err, s, kn, k->name, "has %d rows, more than the %d components allowed",
                       rows, MAX_K);
    for (int r = 0; r < rows; r++) {
        yaml_node_t *row = ncsn_yaml_item(&s->doc, v, r);
        if (row->type != YAML_SEQUENCE_NODE)
            return fail_at(err, s, row, k->name, "row %d: expected a list of numbers, got %s",
                           r + 1, ncsn_yaml_got(row, g, sizeof g));
        int n = ncsn_yaml_items(row);
        if (r == 0) {
            cols = n;
            if (n == 0) return fail_at(err, s, row, k->name, "row 1 is empty");
            if (n > MAX_D)
                return fail_at(err, s, row, k->name,
                               "row 1 has %d numbers, more than the %d dimensions allowed", n,
                               MAX_D);
        } else if (n != cols)
            return fail_at(err, s, row, k->name, "row %d has %d numbers but row 1 has %d", r + 1,
                           n, cols);
    }
    double *x = ncsn_xmalloc((size_t)rows * (size_t)cols * sizeof *x);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            yaml_node_t *e = ncsn_yaml_item(&s->doc, ncsn_yaml_item(&s->doc, v, r), j);
            if (read_real(k, e, 1, &x[(size_t)r * cols + j], why, sizeof why)) {
                free(x);
                return fail_at(err, s, e, k->name, "row %d, entry %d: %s", r + 1, j + 1, why);
            }
        }
    free(*AT(c, k->off, double *));
    *AT(c, k->off, double *) = x;
    *AT(c, k->n_off, int) = rows;
    *AT(c, k->aux, int) = cols;
    return 0;
}

/* Key i's value from s into c, and its origin. */
static int apply(ncsn_config *c, int i, source *s, ncsn_error *err) {
    const key_def *k = &keys[i];
    const yaml_node_t *kn = s->key[i], *v = s->value[i];
    char why[512], what[200], g[100];
    const char *t = ncsn_yaml_scalar(v);
    if (is_auto_key(k) && t && strcmp(t, "auto") == 0) {
        *AT(c, k->aux, int) = 1; /* the number stays until the techniques resolve it */
    } else {
        switch (k->kind) {
        case KIND_U64:
        case KIND_INT:
        case KIND_I64:
            if (read_integer(c, k, v, why, sizeof why))
                return fail_at(err, s, kn, k->name, "%s", why);
            break;
        case KIND_REAL:
            if (read_real(k, v, 0, AT(c, k->off, double), why, sizeof why))
                return fail_at(err, s, kn, k->name, "%s", why);
            break;
        case KIND_BOOL:
            if (ncsn_yaml_bool(v, AT(c, k->off, int)))
                return fail_at(err, s, kn, k->name,
                               "expected true or false (or yes/no, on/off), got %s",
                               ncsn_yaml_got(v, g, sizeof g));
            break;
        case KIND_NAME:
        case KIND_ENUM: {
            int j = 0;
            while (t && k->choices[j] && strcmp(t, k->choices[j]) != 0) j++;
            if (!t || ncsn_yaml_is_null(v) || !k->choices[j]) {
                char hint[160] = "";
                int n = 0;
                while (k->choices[n]) n++;
                if (t) suggest(t, k->choices, n, hint, sizeof hint);
                describe(k, what, sizeof what);
                return fail_at(err, s, kn, k->name, "expected %s, got %s%s", what,
                               ncsn_yaml_got(v, g, sizeof g), hint);
            }
            if (k->kind == KIND_NAME) snprintf(AT(c, k->off, char), NCSN_NAME_MAX, "%s", t);
            else *AT(c, k->off, int) = j;
            break;
        }
        case KIND_STRING:
            if (!t || ncsn_yaml_is_null(v))
                return fail_at(err, s, kn, k->name, "expected a string, got %s",
                               ncsn_yaml_got(v, g, sizeof g));
            if (strlen(t) >= NCSN_PATH_MAX)
                return fail_at(err, s, kn, k->name, "longer than %d characters",
                               NCSN_PATH_MAX - 1);
            snprintf(AT(c, k->off, char), NCSN_PATH_MAX, "%s", t);
            break;
        case KIND_LIST:
            if (apply_list(c, k, s, kn, v, err)) return -1;
            break;
        case KIND_MATRIX:
            if (apply_matrix(c, k, s, kn, v, err)) return -1;
            break;
        }
        if (is_auto_key(k)) *AT(c, k->aux, int) = 0;
    }
    char origin[NCSN_PATH_MAX + 32];
    c->origin[i] = ncsn_config_intern(where(s, kn, origin, sizeof origin));
    return 0;
}

/* Collects the keys of map (inside `section`, NULL at the top) into s, refusing unknown
 * and duplicate keys and maps nested deeper than the sections. */
static int walk(source *s, yaml_node_t *map, const char *section, ncsn_error *err) {
    yaml_node_t *section_key[NCSN_MAX_KEYS] = {0}; /* by the section's first key index */
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(&s->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&s->doc, p->value);
        char full[320], g[100], hint[200];
        if (kn->type != YAML_SCALAR_NODE)
            return fail_at(err, s, kn, section, "expected a key name, got %s",
                           ncsn_yaml_got(kn, g, sizeof g));
        snprintf(full, sizeof full, "%s%s%s", section ? section : "", section ? "." : "",
                 ncsn_yaml_scalar(kn));
        int i = ncsn_config_key_index(full);
        if (i >= 0) {
            if (s->key[i])
                return fail_at(err, s, kn, full, "duplicate key (first given at line %zu)",
                               s->key[i]->start_mark.line + 1);
            s->key[i] = kn;
            s->value[i] = vn;
            continue;
        }
        int sec = section ? -1 : section_index(full);
        if (sec >= 0) {
            if (section_key[sec])
                return fail_at(err, s, kn, full, "duplicate key (first given at line %zu)",
                               section_key[sec]->start_mark.line + 1);
            section_key[sec] = kn;
            if (vn->type == YAML_MAPPING_NODE) {
                if (walk(s, vn, full, err)) return -1;
            } else if (!ncsn_yaml_is_null(vn)) {
                return fail_at(err, s, kn, full, "expected a map of %s.* keys, got %s", full,
                               ncsn_yaml_got(vn, g, sizeof g));
            }
            continue;
        }
        suggest_key(full, hint, sizeof hint);
        return fail_at(err, s, kn, full, "unknown key%s", hint);
    }
    return 0;
}

/* Parses text into s->doc (ncsn_yaml_parse): errors name `label:LINE` or `--set KEY`. */
static int parse(source *s, const char *text, size_t len, const char *set_key,
                 ncsn_error *err) {
    const ncsn_yaml_source src = {s->label, s->line0, set_key, "configuration"};
    return ncsn_yaml_parse(&s->doc, text, len, &src, err);
}

/* Applies every key s sets to a copy of c, which replaces c when all succeeded. */
static int apply_all(ncsn_config *c, source *s, ncsn_error *err) {
    ncsn_config tmp;
    ncsn_config_copy(&tmp, c);
    for (int i = 0; i < N_KEYS; i++) {
        if (s->value[i] && apply(&tmp, i, s, err)) {
            ncsn_config_free(&tmp);
            return -1;
        }
    }
    sync_std(&tmp);
    sync_dim(&tmp);
    ncsn_config_free(c);
    *c = tmp;
    return 0;
}

static int load_text(ncsn_config *c, const char *text, size_t len, const char *label,
                     ncsn_error *err) {
    source s;
    memset(&s, 0, sizeof s);
    s.label = label ? label : "<string>";
    if (parse(&s, text, len, NULL, err)) return -1;
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&s.doc);
    if (root && !ncsn_yaml_is_null(root)) {
        char g[100];
        if (root->type != YAML_MAPPING_NODE)
            rc = fail_at(err, &s, root, NULL, "expected a map of keys at the top level, got %s",
                         ncsn_yaml_got(root, g, sizeof g));
        else
            rc = walk(&s, root, NULL, err);
        if (rc == 0) rc = apply_all(c, &s, err);
    }
    yaml_document_delete(&s.doc);
    return rc;
}

int ncsn_config_load_string(ncsn_config *c, const char *yaml, const char *label,
                            ncsn_error *err) {
    return load_text(c, yaml, strlen(yaml), label, err);
}

int ncsn_config_load_file(ncsn_config *c, const char *path, ncsn_error *err) {
    char *text;
    size_t len;
    if (ncsn_read_file(path, &text, &len, err)) return -1;
    int rc = load_text(c, text, len, path, err);
    free(text);
    return rc;
}

int ncsn_config_set(ncsn_config *c, const char *assignment, ncsn_error *err) {
    const char *eq = strchr(assignment, '=');
    char key[256];
    const char *a = assignment;
    while (*a == ' ') a++;
    size_t n = eq ? (size_t)(eq - a) : 0;
    while (n > 0 && a[n - 1] == ' ') n--;
    if (!eq || n == 0 || n >= sizeof key)
        return ncsn_seterr(err, "--set %s: expected KEY=VALUE, e.g. train.lr=1e-4", assignment);
    memcpy(key, a, n);
    key[n] = 0;
    return ncsn_config_set_value(c, key, eq + 1, NULL, 0, err);
}

int ncsn_config_set_value(ncsn_config *c, const char *key, const char *value, const char *file,
                          int line, ncsn_error *err) {
    char w[320];
    if (file) snprintf(w, sizeof w, "%s:%d", file, line);
    else snprintf(w, sizeof w, "--set");
    int i = ncsn_config_key_index(key);
    if (i < 0) {
        int sec = section_index(key);
        if (sec >= 0)
            return fail(err, w, key, "a group of keys: set one of them, e.g. %s=VALUE",
                        keys[sec].name);
        char hint[200];
        suggest_key(key, hint, sizeof hint);
        return fail(err, w, key, "unknown key%s", hint);
    }
    source s;
    memset(&s, 0, sizeof s);
    s.label = file;
    s.line0 = file && line > 0 ? (size_t)line - 1 : 0;
    if (parse(&s, value, strlen(value), file ? NULL : key, err)) return -1;
    yaml_node_t *root = yaml_document_get_root_node(&s.doc);
    int rc;
    if (!root) {
        char what[400];
        describe(&keys[i], what, sizeof what);
        rc = fail(err, w, key, "expected %s, got an empty value", what);
    } else {
        /* One key, in place: apply() changes only key i and only when it succeeds, but a
         * number out of range is already stored when it fails: put the old one back. */
        s.key[i] = s.value[i] = root;
        s.at_line0 = root;
        double *real = keys[i].kind == KIND_REAL ? AT(c, keys[i].off, double) : NULL;
        double old = real ? *real : 0;
        rc = apply(c, i, &s, err);
        if (rc && real) *real = old;
        if (rc == 0) {
            sync_std(c);
            sync_dim(c);
        }
    }
    yaml_document_delete(&s.doc);
    return rc;
}

void ncsn_config_suggest(const char *typed, const char *const *candidates, int n, char *buf,
                         size_t size) {
    suggest(typed, candidates, n, buf, size);
}

void ncsn_config_suggest_key(const char *typed, char *buf, size_t size) {
    suggest_key(typed, buf, size);
}

/* ---------------------------------------------------------------- visiting */

/* Key i of c as a visitor value; *one holds an integer scalar. */
static void key_value(const ncsn_config *c, int i, ncsn_config_value *v, int64_t *one) {
    const key_def *k = &keys[i];
    memset(v, 0, sizeof *v);
    v->key = k->name;
    v->origin = origin_of(c, i);
    v->count = 1;
    switch (k->kind) {
    case KIND_U64: {
        uint64_t u = *CAT(c, k->off, uint64_t);
        memcpy(one, &u, sizeof u);
        v->type = NCSN_VALUE_INT;
        v->is_unsigned = 1;
        v->ints = one;
        break;
    }
    case KIND_INT:
    case KIND_BOOL:
        *one = *CAT(c, k->off, int);
        if (k->kind == KIND_BOOL) *one = *one != 0;
        v->type = k->kind == KIND_BOOL ? NCSN_VALUE_BOOL : NCSN_VALUE_INT;
        v->ints = one;
        break;
    case KIND_I64:
        *one = *CAT(c, k->off, int64_t);
        v->type = NCSN_VALUE_INT;
        v->ints = one;
        break;
    case KIND_REAL:
        v->type = NCSN_VALUE_REAL;
        v->reals = CAT(c, k->off, double);
        break;
    case KIND_NAME:
    case KIND_STRING:
        v->type = NCSN_VALUE_STRING;
        v->string = CAT(c, k->off, char);
        break;
    case KIND_ENUM: {
        int j = *CAT(c, k->off, int), n = 0;
        while (k->choices[n]) n++;
        v->type = NCSN_VALUE_STRING;
        v->string = j >= 0 && j < n ? k->choices[j] : "";
        break;
    }
    case KIND_LIST:
        v->type = NCSN_VALUE_REAL;
        v->reals = *CAT(c, k->off, double *);
        v->count = v->rows = *CAT(c, k->n_off, int);
        break;
    case KIND_MATRIX:
        v->type = NCSN_VALUE_REAL;
        v->reals = *CAT(c, k->off, double *);
        v->rows = *CAT(c, k->n_off, int);
        v->cols = *CAT(c, k->aux, int);
        v->count = v->rows * v->cols;
        break;
    }
}

void ncsn_config_visit(const ncsn_config *c, ncsn_config_visitor fn, void *user) {
    for (int i = 0; i < N_KEYS; i++) {
        ncsn_config_value v;
        int64_t one = 0;
        key_value(c, i, &v, &one);
        fn(&v, user);
    }
}

int ncsn_config_key_equal(const ncsn_config *a, const ncsn_config *b, int i) {
    if (i < 0 || i >= N_KEYS) return 0;
    ncsn_config_value va, vb;
    int64_t ia = 0, ib = 0;
    key_value(a, i, &va, &ia);
    key_value(b, i, &vb, &ib);
    if (va.type != vb.type || va.count != vb.count || va.rows != vb.rows ||
        va.cols != vb.cols || is_auto(a, &keys[i]) != is_auto(b, &keys[i]))
        return 0;
    size_t n = va.count > 0 ? (size_t)va.count : 0;
    if (va.type == NCSN_VALUE_STRING && strcmp(va.string, vb.string) != 0) return 0;
    if (va.type == NCSN_VALUE_REAL && n &&
        (!va.reals || !vb.reals || memcmp(va.reals, vb.reals, n * sizeof(double)) != 0))
        return 0;
    if ((va.type == NCSN_VALUE_INT || va.type == NCSN_VALUE_BOOL) && ia != ib) return 0;
    return 1;
}

int ncsn_config_equal(const ncsn_config *a, const ncsn_config *b) {
    for (int i = 0; i < N_KEYS; i++)
        if (!ncsn_config_key_equal(a, b, i)) return 0;
    return 1;
}

/* ---------------------------------------------------------------- YAML output */

static void print_reals(FILE *f, const double *x, int n) {
    char buf[40];
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%s", i ? ", " : "", ncsn_format_real(x[i], buf));
    fputc(']', f);
}

/* A string as a YAML scalar: plain when that reads back as the same string. */
static void print_string(FILE *f, const char *s) {
    int plain = isalpha((unsigned char)s[0]) && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                          "0123456789_-.") == strlen(s);
    int b;
    yaml_node_t probe = {.type = YAML_SCALAR_NODE};
    probe.data.scalar.value = (yaml_char_t *)s;
    probe.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    if (plain && !ncsn_yaml_is_null(&probe) && ncsn_yaml_bool(&probe, &b) != 0) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if ((unsigned char)*p < 0x20) fprintf(f, "\\x%02x", (unsigned char)*p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* Key i's value after "KEY:" (with its leading space); block style puts matrix rows on
 * lines of their own under indent, flow style writes [[..], [..]]. */
static void print_value(FILE *f, const ncsn_config *c, int i, int flow, const char *indent) {
    const key_def *k = &keys[i];
    ncsn_config_value v;
    int64_t one = 0;
    char buf[40];
    key_value(c, i, &v, &one);
    switch (k->kind) {
    case KIND_U64: fprintf(f, " %" PRIu64, *CAT(c, k->off, uint64_t)); break;
    case KIND_INT:
    case KIND_I64: fprintf(f, " %" PRId64, one); break;
    case KIND_BOOL: fprintf(f, " %s", one ? "true" : "false"); break;
    case KIND_REAL: fprintf(f, " %s", ncsn_format_real(v.reals[0], buf)); break;
    case KIND_NAME:
    case KIND_STRING:
    case KIND_ENUM: fputc(' ', f), print_string(f, v.string); break;
    case KIND_LIST:
        if (k->aux != NONE && *CAT(c, k->aux, int) && v.count >= 1)
            fprintf(f, " %s", ncsn_format_real(v.reals[0], buf));
        else fputc(' ', f), print_reals(f, v.reals, v.count);
        break;
    case KIND_MATRIX:
        if (v.rows == 0 || v.cols == 0) fputs(" []", f);
        else if (flow) fputs(" [", f);
        for (int r = 0; r < v.rows && v.cols > 0; r++) {
            if (flow) fputs(r ? ", " : "", f);
            else fprintf(f, "\n%s  - ", indent);
            print_reals(f, v.reals + (size_t)r * v.cols, v.cols);
        }
        if (flow && v.rows > 0 && v.cols > 0) fputc(']', f);
        break;
    }
}

/* Keys that say how a run is carried out, not what it computes: results_only YAML leaves
 * them out, so changing them neither makes a sweep "different" nor invalidates a
 * checkpoint. */
static int is_operational(const key_def *k) {
    return strcmp(k->name, "train.checkpoint_every") == 0 ||
           strcmp(k->name, "sample.checkpoint_every") == 0;
}

static char *to_yaml(const ncsn_config *c, int results_only) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    NCSN_ASSERT(f != NULL);
    fputs("# ncsn configuration\n", f);
    const char *section = NULL;
    size_t section_len = 0;
    for (int i = 0; i < N_KEYS; i++) {
        const key_def *k = &keys[i];
        if (results_only && is_operational(k)) continue;
        const char *dot = strchr(k->name, '.');
        const char *indent = dot ? "  " : "";
        if (dot && (!section || section_len != (size_t)(dot - k->name) ||
                    strncmp(section, k->name, section_len) != 0)) {
            section = k->name;
            section_len = (size_t)(dot - k->name);
            fprintf(f, "%.*s:\n", (int)section_len, section);
        }
        fprintf(f, "%s%s:", indent, dot ? dot + 1 : k->name);
        if (is_auto(c, k) && k->derived) fputs(" auto", f);
        else print_value(f, c, i, 0, indent);
        if (is_auto(c, k) && !k->derived) fputs("  # auto", f);
        fputc('\n', f);
    }
    fclose(f);
    return text;
}

char *ncsn_config_to_yaml(const ncsn_config *c) { return to_yaml(c, 0); }

char *ncsn_config_results_yaml(const ncsn_config *c) { return to_yaml(c, 1); }

/* The identity text of part of c (config.h): one "KEY: VALUE" line per key of the part, in
 * visit order, without the seed and the operational keys. The data part writes an auto key
 * as "auto" (it is taken before anything is resolved); the training part writes every value as
 * the number it holds, auto or not (it is taken after resolution). */
char *ncsn_config_identity(const ncsn_config *c, enum ncsn_config_part part) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    NCSN_ASSERT(f != NULL);
    for (int i = 0; i < N_KEYS; i++) {
        const key_def *k = &keys[i];
        if (strcmp(k->name, "seed") == 0 || is_operational(k)) continue;
        if (part == NCSN_PART_DATA && strncmp(k->name, "dataset.", 8) != 0) continue;
        if (part != NCSN_PART_DATA && strncmp(k->name, "sample.", 7) == 0) continue;
        if (part == NCSN_PART_STREAMS && (strcmp(k->name, "train.steps") == 0 ||
                                          strcmp(k->name, "train.log_every") == 0 ||
                                          strcmp(k->name, "train.snapshot_every") == 0))
            continue;
        fprintf(f, "%s:", k->name);
        if (part == NCSN_PART_DATA && is_auto(c, k)) fputs(" auto", f);
        else print_value(f, c, i, 1, "");
        fputc('\n', f);
    }
    fclose(f);
    return text;
}

uint32_t ncsn_config_id(const ncsn_config *c, enum ncsn_config_part part) {
    char *text = ncsn_config_identity(c, part);
    const uint64_t h = ncsn_fnv1a(text, strlen(text));
    free(text);
    return (uint32_t)(h ^ (h >> 32));
}

char *ncsn_config_key_to_yaml(const ncsn_config *c, int i) {
    if (i < 0 || i >= N_KEYS) return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    NCSN_ASSERT(f != NULL);
    if (is_auto(c, &keys[i])) fputs(" auto", f);
    else print_value(f, c, i, 1, "");
    fclose(f);
    memmove(text, text + 1, size); /* the leading space; size counts the text, not its NUL */
    return text;
}

/* ---------------------------------------------------------------- validation */

/* Checks key i on its own: its type's range, finiteness, choices, array shapes.
 * Fills why (completing "KEY: ...") and returns -1 when bad. */
static int check_key(const ncsn_config *c, int i, char *why, size_t n) {
    const key_def *k = &keys[i];
    ncsn_config_value v;
    int64_t one = 0;
    char what[400], buf[40];
    key_value(c, i, &v, &one);
    if (is_auto(c, k)) return 0; /* a placeholder until the techniques resolve it */
    /* The words for messages are written only when a check fails: validation runs for
     * every configuration of a sweep. */
    switch (k->kind) {
    case KIND_U64: return 0;
    case KIND_STRING:
        if (memchr(v.string, 0, NCSN_PATH_MAX)) return 0;
        snprintf(why, n, "not a terminated string");
        return -1;
    case KIND_INT:
    case KIND_I64:
        if (in_range(k, (double)one)) return 0;
        describe(k, what, sizeof what);
        snprintf(why, n, "expected %s, got %" PRId64, what, one);
        return -1;
    case KIND_BOOL:
        if (*CAT(c, k->off, int) == 0 || *CAT(c, k->off, int) == 1) return 0;
        snprintf(why, n, "expected true or false, got %d", *CAT(c, k->off, int));
        return -1;
    case KIND_REAL:
        if (isfinite(v.reals[0]) && in_range(k, v.reals[0])) return 0;
        describe(k, what, sizeof what);
        snprintf(why, n, "expected %s, got %s", what, ncsn_format_real(v.reals[0], buf));
        return -1;
    case KIND_NAME:
    case KIND_ENUM:
        for (int j = 0; k->choices[j]; j++)
            if (memchr(v.string, 0, NCSN_NAME_MAX) && strcmp(v.string, k->choices[j]) == 0)
                return 0;
        describe(k, what, sizeof what);
        if (k->kind == KIND_ENUM)
            snprintf(why, n, "expected %s, got %d", what, *CAT(c, k->off, int));
        else
            snprintf(why, n, "expected %s, got \"%.60s\"", what, v.string);
        return -1;
    case KIND_LIST:
    case KIND_MATRIX: {
        int rows = k->kind == KIND_LIST ? v.count : v.rows;
        if (rows < 1 || !v.reals) {
            describe(k, what, sizeof what);
            snprintf(why, n, "expected %s, got an empty list", what);
            return -1;
        }
        if (rows > MAX_K) {
            snprintf(why, n, "has %d %s, more than the %d components allowed", rows,
                     k->kind == KIND_LIST ? "entries" : "rows", MAX_K);
            return -1;
        }
        if (k->kind == KIND_MATRIX && (v.cols < 1 || v.cols > MAX_D)) {
            snprintf(why, n, "rows have %d numbers, expected 1 to %d dimensions", v.cols, MAX_D);
            return -1;
        }
        char words[160];
        for (int j = 0; j < v.count; j++) {
            if (in_range(k, v.reals[j]) && isfinite(v.reals[j])) continue;
            range_words(k, 0, 0, words, sizeof words);
            if (k->kind == KIND_LIST)
                snprintf(why, n, "entry %d: expected %s, got %s", j + 1, words,
                         ncsn_format_real(v.reals[j], buf));
            else
                snprintf(why, n, "row %d, entry %d: expected %s, got %s", j / v.cols + 1,
                         j % v.cols + 1, words, ncsn_format_real(v.reals[j], buf));
            return -1;
        }
        return 0;
    }
    }
    return 0;
}

/* A rule between keys a and b failed: the message names whichever was set explicitly
 * (a when both or neither were), with its own reason. */
static int fail_pair(const ncsn_config *c, ncsn_error *err, int a, const char *why_a, int b,
                     const char *why_b) {
    if (!origin_of(c, a)[0] && origin_of(c, b)[0])
        return fail(err, origin_of(c, b), keys[b].name, "%s", why_b);
    return fail(err, origin_of(c, a), keys[a].name, "%s", why_a);
}

static int is_toy(const char *name) {
    return !strcmp(name, "moons") || !strcmp(name, "swissroll") || !strcmp(name, "rings") ||
           !strcmp(name, "checkerboard");
}

/* The dataset.* keys against dataset.name (dataset.h): each key that does not apply to
 * the chosen data set must keep its default; dataset.dim must fit; the exact score needs
 * a known density. What only the file can say (hdf5) is checked when it is read. */
static int validate_dataset(const ncsn_config *c, ncsn_error *err) {
    const char *name = c->dataset.name;
    const int gmm = !strcmp(name, "gmm"), manifold = !strcmp(name, "manifold"),
              hdf5 = !strcmp(name, "hdf5"), toy = is_toy(name);
    const int mixture = gmm || (manifold && !strcmp(c->dataset.base, "gmm"));
    const int i_name = ncsn_config_key_index("dataset.name"),
              i_dim = ncsn_config_key_index("dataset.dim"),
              i_means = ncsn_config_key_index("dataset.means"),
              i_noise = ncsn_config_key_index("dataset.noise"),
              i_score = ncsn_config_key_index("sample.score");
    char set_name[160], why[512], why2[512];
    if (manifold)
        snprintf(set_name, sizeof set_name, "manifold with dataset.base %s", c->dataset.base);
    else
        snprintf(set_name, sizeof set_name, "%s", name);

    static const char *const mixture_sets =
        "the mixture (dataset.name gmm, or manifold with dataset.base gmm)";
    const struct {
        const char *key;
        int applies;
        const char *sets;
    } rules[] = {
        {"dataset.weights", mixture, mixture_sets},
        {"dataset.means", mixture, mixture_sets},
        {"dataset.std", mixture, mixture_sets},
        {"dataset.base", manifold, "dataset.name manifold"},
        {"dataset.noise", manifold || toy,
         "dataset.name manifold, moons, swissroll, rings and checkerboard"},
        {"dataset.path", hdf5, "dataset.name hdf5"},
        {"dataset.key", hdf5, "dataset.name hdf5"},
        {"dataset.labels", hdf5, "dataset.name hdf5"},
        {"dataset.holdout", hdf5, "dataset.name hdf5"},
    };
    ncsn_config def;
    ncsn_config_default(&def);
    int rc = 0;
    for (size_t r = 0; r < sizeof rules / sizeof rules[0] && rc == 0; r++) {
        int i = ncsn_config_key_index(rules[r].key);
        if (!rules[r].applies && !ncsn_config_key_equal(c, &def, i))
            rc = fail(err, origin_of(c, i), keys[i].name,
                      "applies only to %s, not to %s: leave it out", rules[r].sets, set_name);
    }
    ncsn_config_free(&def);
    if (rc) return rc;

    const int dim = c->dataset.dim, cols = c->dataset.means_cols;
    if (gmm && !c->dataset.dim_auto && dim != cols) {
        snprintf(why, sizeof why, "is %d but the rows of dataset.means have %d numbers (leave "
                 "dataset.dim out: it follows from them)", dim, cols);
        snprintf(why2, sizeof why2, "rows have %d numbers but dataset.dim is %d", cols, dim);
        return fail_pair(c, err, i_dim, why, i_means, why2);
    }
    if (manifold && c->dataset.dim_auto)
        return fail(err, origin_of(c, origin_of(c, i_dim)[0] ? i_dim : i_name), keys[i_dim].name,
                    "manifold needs the dimension to embed into, e.g. dataset.dim: 16");
    if (manifold && dim < 2)
        return fail(err, origin_of(c, i_dim), keys[i_dim].name,
                    "must be at least 2 for manifold (it embeds a 2-D set), got %d", dim);
    if (toy && !c->dataset.dim_auto && dim != 2)
        return fail(err, origin_of(c, i_dim), keys[i_dim].name,
                    "%s is a 2-D data set, got %d (leave dataset.dim out)", name, dim);
    if (manifold && mixture && cols != 2)
        return fail(err, origin_of(c, i_means), keys[i_means].name,
                    "manifold embeds a 2-D mixture: rows need 2 numbers, got %d", cols);
    if (hdf5 && (!c->dataset.path[0] || !c->dataset.key[0])) {
        int i = ncsn_config_key_index(!c->dataset.path[0] ? "dataset.path" : "dataset.key");
        return fail(err, origin_of(c, origin_of(c, i)[0] ? i : i_name), keys[i].name,
                    "hdf5 needs %s", !c->dataset.path[0]
                                         ? "the file to read, e.g. dataset.path: data.h5"
                                         : "the (N, D) dataset in dataset.path to read, e.g. "
                                           "dataset.key: /data");
    }
    if (c->sample.score == NCSN_SCORE_EXACT && !mixture) {
        snprintf(why, sizeof why, "exact needs a data set whose score is known (dataset.name "
                 "gmm, or manifold with dataset.base gmm), not %s", set_name);
        snprintf(why2, sizeof why2, "%s has no known score, and sample.score is exact", set_name);
        return fail_pair(c, err, i_score, why, i_name, why2);
    }
    if (c->sample.score == NCSN_SCORE_EXACT && c->sample.method == NCSN_SAMPLE_PLAIN && manifold &&
        c->dataset.noise == 0 && dim > 2) {
        snprintf(why, sizeof why, "exact with sample.method plain needs dataset.noise > 0 for "
                 "manifold: the embedded mixture has no density off its plane");
        snprintf(why2, sizeof why2, "must be positive for sample.score exact with sample.method "
                 "plain: the embedded mixture has no density off its plane");
        return fail_pair(c, err, i_score, why, i_noise, why2);
    }
    return 0;
}

int ncsn_config_validate(const ncsn_config *c, ncsn_error *err) {
    char why[512], why2[512], x[40], y[40];
    for (int i = 0; i < N_KEYS; i++)
        if (check_key(c, i, why, sizeof why))
            return fail(err, origin_of(c, i), keys[i].name, "%s", why);
    if (validate_dataset(c, err)) return -1;

    /* Rules between keys. */
    const int i_n = ncsn_config_key_index("dataset.n"),
              i_w = ncsn_config_key_index("dataset.weights"),
              i_m = ncsn_config_key_index("dataset.means"),
              i_s = ncsn_config_key_index("dataset.std"),
              i_b = ncsn_config_key_index("train.batch"),
              i_s1 = ncsn_config_key_index("noise.sigma_1"),
              i_sL = ncsn_config_key_index("noise.sigma_L"),
              i_lo = ncsn_config_key_index("sample.low"),
              i_hi = ncsn_config_key_index("sample.high");
    const int K = c->dataset.k;
    if (c->dataset.n_weights != K) {
        snprintf(why, sizeof why, "has %d entries but dataset.means has %d rows",
                 c->dataset.n_weights, K);
        snprintf(why2, sizeof why2, "has %d rows but dataset.weights has %d entries", K,
                 c->dataset.n_weights);
        return fail_pair(c, err, i_w, why, i_m, why2);
    }
    double sum = 0;
    for (int j = 0; j < K; j++) sum += c->dataset.weights[j];
    if (fabs(sum - 1) > WEIGHT_SUM_TOL)
        return fail(err, origin_of(c, i_w), keys[i_w].name, "must sum to 1, they sum to %s",
                    ncsn_format_real(sum, x));
    if (c->dataset.n_std != K) {
        snprintf(why, sizeof why,
                 "has %d entries but dataset.means has %d rows (give one number, or one per "
                 "component)", c->dataset.n_std, K);
        snprintf(why2, sizeof why2, "has %d rows but dataset.std has %d entries", K,
                 c->dataset.n_std);
        return fail_pair(c, err, i_s, why, i_m, why2);
    }
    if (c->train.batch > c->dataset.n) {
        snprintf(why, sizeof why, "must not exceed dataset.n (%d), got %d", c->dataset.n,
                 c->train.batch);
        snprintf(why2, sizeof why2, "must be at least train.batch (%d), got %d", c->train.batch,
                 c->dataset.n);
        return fail_pair(c, err, i_b, why, i_n, why2);
    }
    if (!c->noise.sigma_1_auto && c->noise.sigma_L >= c->noise.sigma_1) {
        snprintf(why, sizeof why, "must be smaller than noise.sigma_1 (%s)",
                 ncsn_format_real(c->noise.sigma_1, x));
        snprintf(why2, sizeof why2, "must be larger than noise.sigma_L (%s)",
                 ncsn_format_real(c->noise.sigma_L, y));
        return fail_pair(c, err, i_sL, why, i_s1, why2);
    }
    if (c->sample.low >= c->sample.high) {
        snprintf(why, sizeof why, "must be smaller than sample.high (%s)",
                 ncsn_format_real(c->sample.high, x));
        snprintf(why2, sizeof why2, "must be larger than sample.low (%s)",
                 ncsn_format_real(c->sample.low, y));
        return fail_pair(c, err, i_lo, why, i_hi, why2);
    }
    /* A snapshot to sample must be one that training keeps. */
    const int64_t snap = c->sample.snapshot, every = c->train.snapshot_every;
    if (snap > 0) {
        const int i_snap = ncsn_config_key_index("sample.snapshot");
        const char *why_not = c->sample.score == NCSN_SCORE_EXACT ? "the exact score trains nothing"
                              : every == 0 ? "train.snapshot_every is 0 (no snapshots are kept)"
                              : snap > c->train.steps ? "it is beyond train.steps"
                              : snap % every != 0 ? "it is not a multiple of train.snapshot_every"
                                                  : NULL;
        if (why_not)
            return fail(err, origin_of(c, i_snap), keys[i_snap].name,
                        "no snapshot of step %lld: %s (0 samples the final weights)",
                        (long long)snap, why_not);
    }
    /* The unconditional network only knows sigma through the division by it. */
    if (c->model.sigma_input == NCSN_SIGMA_INPUT_NONE && !c->model.scale_by_sigma) {
        const int i_in = ncsn_config_key_index("model.sigma_input"),
                  i_sc = ncsn_config_key_index("model.scale_by_sigma");
        snprintf(why, sizeof why, "none (the unconditional net(x) / sigma) needs "
                 "model.scale_by_sigma: true, or the score would not depend on sigma at all");
        snprintf(why2, sizeof why2, "must be true with model.sigma_input none (the score is "
                 "net(x) / sigma)");
        return fail_pair(c, err, i_in, why, i_sc, why2);
    }
    return 0;
}
