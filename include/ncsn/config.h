/* config.h: one run's configuration: defaults, YAML files, --set overrides, validation.
 * Every key has a default, the notebook's value (docs/computation.md, The notebook's
 * experiment; docs/configuration.md). Keys are dotted paths into nested YAML maps:
 * `train.lr` is `train: {lr: ...}`.
 *   ncsn_config_default        the notebook's experiment
 *   ncsn_config_load_file      merge a YAML file over c
 *   ncsn_config_load_string    merge YAML text over c (the run file's config_yaml)
 *   ncsn_config_set            one "key=value" override (-s / --set)
 *   ncsn_config_validate       impossible values, named with where they came from
 *   ncsn_config_key_error      "ORIGIN: KEY: reason" for one key
 *   ncsn_config_to_yaml        the resolved configuration as YAML text (malloc'd)
 *   ncsn_config_identity, _id  a run's identity: the text and 32-bit id of its data or
 *                              training keys (its random streams' keys)
 *   ncsn_config_visit          every key with its value, for HDF5 attributes
 *   ncsn_config_copy / _free
 *   ncsn_config_equal          same values and auto flags (origins ignored)
 *   ncsn_config_n_keys, _key_name, _key_index   the keys in visit order
 *   ncsn_config_set_value      one key from YAML text, with the file and line it came from
 *   ncsn_config_key_equal      one key's value and auto flag agree
 *   ncsn_config_key_to_yaml    one key's value as flow YAML ("auto" when auto)
 *   ncsn_config_suggest, _suggest_key   " (did you mean X?)" for a mistyped name
 * Errors read `FILE:LINE: KEY: reason` (or `--set KEY: reason`). */
#ifndef NCSN_CONFIG_H
#define NCSN_CONFIG_H

#include <stdint.h>

#include "ncsn/common.h"

enum ncsn_sample_method { NCSN_SAMPLE_ANNEALED = 0, NCSN_SAMPLE_PLAIN = 1 };
enum ncsn_score_source { NCSN_SCORE_MODEL = 0, NCSN_SCORE_EXACT = 1 };

#define NCSN_MAX_KEYS 64
#define NCSN_NAME_MAX 64
#define NCSN_PATH_MAX 1024
/* Flow collections ([ ], { }) nested deeper than this are refused before libyaml sees
 * them (its scanner takes time quadratic in the depth); configurations need 3. */
#define NCSN_YAML_MAX_DEPTH 64

typedef struct {
    uint64_t seed;
    struct {
        char name[NCSN_NAME_MAX]; /* gmm, manifold, moons, swissroll, rings, checkerboard,
                                     hdf5 (dataset.h) */
        int n;                    /* training set size */
        /* D, the data dimension. "auto" (dim_auto, the default): the length of the rows
         * of means (gmm), 2 (the 2-D toys), the file's (hdf5: 0 until the file is read,
         * then ncsn_run sets it); manifold needs a number. */
        int dim;
        int dim_auto;
        int k;                    /* K components, the rows of means */
        int means_cols;           /* the length of the rows of means */
        double *weights;          /* (n_weights); validate checks n_weights == K */
        double *means;            /* (K, means_cols) */
        double *std;              /* (n_std); validate checks n_std == K */
        int n_weights, n_std;
        int std_scalar;           /* std was one number: kept broadcast to K entries */
        char base[NCSN_NAME_MAX]; /* manifold: "gmm" (the mixture above) or "swissroll" */
        double noise;             /* std of N(0, noise^2 I) added (manifold, 2-D toys) */
        char path[NCSN_PATH_MAX]; /* hdf5: the file */
        char key[NCSN_PATH_MAX];  /* hdf5: the (N, D) dataset in it */
        char labels[NCSN_PATH_MAX]; /* hdf5: the (N,) class labels in the same file, or "" */
        double holdout;           /* hdf5: the fraction of rows held out for the metrics */
    } dataset;
    struct {
        int emb;            /* E */
        int hidden;         /* H */
        int sigma_input;    /* enum ncsn_sigma_input: "sigma" | "log_sigma" */
        int scale_by_sigma; /* bool */
    } model;
    struct {
        int64_t steps;
        int batch;
        double lr;
        double weight_decay;
        double ema;         /* 0 = off, else the EMA rate (e.g. 0.999) */
        int64_t log_every;  /* loss history every this many steps */
        int64_t checkpoint_every; /* steps between checkpoints; 0: only when stopped */
        int64_t snapshot_every;   /* keep the weights every this many steps; 0: none */
    } train;
    struct {
        double sigma_1;
        double sigma_L;
        int L;
        int sigma_1_auto, L_auto; /* "auto": resolved by the techniques */
    } noise;
    struct {
        int n;
        int T;
        double eps;
        int eps_auto;
        double low, high;   /* uniform start box [low, high]^D */
        int method;         /* enum ncsn_sample_method: "annealed" | "plain" */
        int score;          /* enum ncsn_score_source: "model" | "exact" */
        int denoise;        /* bool: final x += sigma_L^2 s(x, sigma_L) */
        int checkpoint_every; /* levels between checkpoints; 0: only when stopped */
        int64_t snapshot;   /* sample the snapshot of this step (train.snapshot_every);
                               0: the final weights */
        double max_bad_fraction; /* more bad samples than this share of n: status
                                    "bad_samples" (docs/computation.md, bad samples) */
    } sample;
    /* Where each key's value came from, indexed like ncsn_config_visit: "" (or NULL) for
     * the default, "FILE:LINE" for a file, "--set" for an override. The texts are interned
     * (ncsn_config_intern): stored once per process and shared by every copy, so that a
     * sweep of 100000 configurations does not hold 100000 copies. Read them through
     * ncsn_config_origin. */
    const char *origin[NCSN_MAX_KEYS];
} ncsn_config;

/* Key i's origin ("" when it has its default). */
const char *ncsn_config_origin(const ncsn_config *c, int i);
/* text, stored once for the life of the process (single-threaded use, as configuration
 * loading is); the same pointer for the same text. */
const char *ncsn_config_intern(const char *text);

/* c's previous contents are overwritten, not freed. */
void ncsn_config_default(ncsn_config *c);
/* The line (from 1) where text's flow collections first nest deeper than
 * NCSN_YAML_MAX_DEPTH, or 0 (brackets in quoted scalars and comments do not count); with
 * the YAML wrapper (yaml.h, config/yaml.c). */
size_t ncsn_yaml_too_deep(const char *text, size_t len);
void ncsn_config_free(ncsn_config *c); /* safe on zeroed; leaves c zeroed */
/* Deep copy; dst's previous contents are overwritten, not freed. */
void ncsn_config_copy(ncsn_config *dst, const ncsn_config *src);
/* 1 when every key's value (bit for bit) and every *_auto flag agree; origins are ignored. */
int ncsn_config_equal(const ncsn_config *a, const ncsn_config *b);

/* The keys in visit order: index i is also c->origin[i]'s. */
int ncsn_config_n_keys(void);
const char *ncsn_config_key_name(int i); /* NULL if i is out of range */
int ncsn_config_key_index(const char *key); /* -1 if unknown */

/* The loaders change c only when they succeed (on error c is left as it was). */
int ncsn_config_load_file(ncsn_config *c, const char *path, ncsn_error *err);
int ncsn_config_load_string(ncsn_config *c, const char *yaml, const char *label,
                            ncsn_error *err);
int ncsn_config_set(ncsn_config *c, const char *assignment, ncsn_error *err);
int ncsn_config_validate(const ncsn_config *c, ncsn_error *err);
/* err = "ORIGIN: KEY: reason" for key of c, named with where its value came from:
 * "FILE:LINE: KEY: reason", "--set KEY: reason", or "KEY: reason" for a default (the one
 * builder of every such message). Returns -1. */
int ncsn_config_key_error(ncsn_error *err, const ncsn_config *c, const char *key,
                          const char *fmt, ...) NCSN_PRINTF(4, 5);
char *ncsn_config_to_yaml(const ncsn_config *c);
/* The same without the keys that do not change results (train.checkpoint_every,
 * sample.checkpoint_every): equal text, equal results. A sweep's identity and a
 * checkpoint's configuration use it. */
char *ncsn_config_results_yaml(const ncsn_config *c);

/* A run's identity (docs/computation.md, Reproducibility): its random streams are keyed by
 * the seed and a 32-bit id of configuration values, so that a run depends on its
 * configuration alone, never on its place in a sweep. Two parts:
 *   NCSN_PART_DATA      the dataset.* keys (the training points a generator draws), as
 *                       given: an auto dataset.dim counts as "auto"
 *   NCSN_PART_TRAINING  every key but sample.*: the training key (which runs can share
 *                       one trained model)
 *   NCSN_PART_STREAMS   the training key without how long training runs and what it
 *                       records (train.steps, train.log_every, train.snapshot_every): the
 *                       id of every training and sampling stream (plan.h train_id). So a
 *                       shorter training is exactly the first steps of a longer one (a
 *                       snapshot at step k holds the weights a run of k steps ends with),
 *                       and the samplers of one trained model start from the same points
 *                       and draw the same noise, whatever else they share the model with
 * Neither the seed (a key of its own in every stream) nor the keys that do not change
 * results (checkpoint intervals) count. The training part is meant for a resolved
 * configuration (plan.h): it counts each key's value whether or not it came from "auto",
 * so a run and the `ncsn run` of its run file's config_yaml (which holds the numbers) have
 * the same id.
 *   ncsn_config_identity  the part's text, "KEY: VALUE" lines in visit order (malloc'd)
 *   ncsn_config_id        FNV-1a (64-bit) of that text, folded to 32 bits */
enum ncsn_config_part { NCSN_PART_DATA, NCSN_PART_TRAINING, NCSN_PART_STREAMS };
char *ncsn_config_identity(const ncsn_config *c, enum ncsn_config_part part);
uint32_t ncsn_config_id(const ncsn_config *c, enum ncsn_config_part part);

/* Sets key from value, YAML text (a scalar, a flow list, ...), as ncsn_config_set does.
 * With file NULL, errors read `--set KEY: reason` and the origin is "--set"; else value was
 * cut out of FILE with its first line at `line`: the origin is "FILE:line", and errors name
 * FILE and the line of the offending node, counted from `line`. */
int ncsn_config_set_value(ncsn_config *c, const char *key, const char *value, const char *file,
                          int line, ncsn_error *err);
/* 1 when key i (visit order) has the same value, bit for bit, and auto flag in a and b. */
int ncsn_config_key_equal(const ncsn_config *a, const ncsn_config *b, int i);
/* Key i's value as one line of flow YAML: "0.001", "auto", "[0.95, 0.05]",
 * "[[-5, -5], [5, 5]]", "gmm". malloc'd; NULL if i is out of range. */
char *ncsn_config_key_to_yaml(const ncsn_config *c, int i);
/* buf = " (did you mean X?)", " (did you mean X or Y?)" or "" for a mistyped name, among
 * candidates or (_suggest_key) among every key and section name. */
void ncsn_config_suggest(const char *typed, const char *const *candidates, int n, char *buf,
                         size_t size);
void ncsn_config_suggest_key(const char *typed, char *buf, size_t size);

enum ncsn_value_type { NCSN_VALUE_INT, NCSN_VALUE_REAL, NCSN_VALUE_STRING, NCSN_VALUE_BOOL };
/* For each key in a fixed order: its dotted name, its type, its values (count > 1 for
 * arrays such as dataset.means, whose shape is rows x cols; cols = 0 for 1-D), and
 * where it came from. For *_auto keys the value is the resolved number and the string
 * "auto" is not passed. Scalars have count 1, rows 0, cols 0; 1-D lists (weights, std)
 * have rows = count, cols 0, even when count is 1. The seed is NCSN_VALUE_INT with
 * is_unsigned set: ints[0] holds its uint64_t bits. */
typedef struct {
    const char *key;
    int type;            /* enum ncsn_value_type */
    int count, rows, cols;
    const int64_t *ints; /* NCSN_VALUE_INT and NCSN_VALUE_BOOL */
    const double *reals; /* NCSN_VALUE_REAL */
    const char *string;  /* NCSN_VALUE_STRING */
    const char *origin;
    int is_unsigned;     /* ints hold uint64_t bit patterns (the seed) */
} ncsn_config_value;
typedef void (*ncsn_config_visitor)(const ncsn_config_value *v, void *user);
void ncsn_config_visit(const ncsn_config *c, ncsn_config_visitor fn, void *user);

#endif
