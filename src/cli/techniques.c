/* cli/techniques.c: `ncsn techniques`, what the techniques give (docs/computation.md,
 * Techniques).
 *
 * Where the numbers come from, one of:
 *   --config FILE [-s KEY=VALUE ...]   the configuration's training set (ncsn_training_set:
 *                                      any dataset.name; for hdf5 the training split),
 *                                      its noise.sigma_L, sample.T, and noise.L when explicit
 *   --data FILE.h5:/DATASET            an (N, D) dataset of points
 *   --dim D --sigma-1 S                just a dimension and a largest noise level
 * then --sigma-L, --T, --L and --sigma-1 override. The answer is plain text for a person
 * (what each technique gave and why), or one JSON object with --json.
 *
 * Order of work: Technique 1 (sigma_1, from points) -> Technique 2 (gamma, then L) ->
 * Technique 3 (eps, with the realised gamma of the L in use). Technique 2 has no solution
 * for D <= 4; that is an answer, not an error: we say so and solve eps from a given L
 * (or report it as null). Exit 0 on success, 2 for usage, configuration or input errors
 * (a file missing or unreadable, points Technique 1 cannot use), with a one-line message. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "ncsn/cli.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/dataset.h"
#include "ncsn/h5util.h"
#include "ncsn/plan.h"
#include "ncsn/techniques.h"

static const char *usage_techniques =
    "usage: ncsn techniques --config FILE [-s KEY=VALUE ...] [options]\n"
    "       ncsn techniques --data FILE.h5:/DATASET [options]\n"
    "       ncsn techniques --dim D --sigma-1 S [options]\n"
    "\n"
    "Shows what the hyperparameter techniques of Song & Ermon 2020 give (docs/computation.md,\n"
    "Techniques):\n"
    "  Technique 1  sigma_1 = the largest distance between two training points\n"
    "  Technique 2  gamma with g(gamma) = 0.5, and L = 1 + ceil(ln(sigma_1/sigma_L) / ln gamma)\n"
    "               (no solution for D <= 4: then give L yourself)\n"
    "  Technique 3  the eps that brings f closest to 1, for T steps per level\n"
    "\n"
    "  --config FILE         a run configuration: its training set, noise.sigma_L, sample.T,\n"
    "                        and noise.L / noise.sigma_1 where it sets them explicitly\n"
    "  -s, --set KEY=VALUE   override one configuration key (with --config)\n"
    "  --data FILE.h5:/DSET  points from an (N, D) dataset of an HDF5 file\n"
    "  --dim D               the data dimension, when there are no points\n"
    "  --sigma-1 S           sigma_1 (instead of Technique 1)\n"
    "  --sigma-L S           the smallest noise level (default 0.01, or the configuration's)\n"
    "  --T T                 Langevin steps per noise level (default 100, or the configuration's)\n"
    "  --L L                 fix the number of levels (Technique 2 is still reported)\n"
    "  --json                one JSON object instead of text\n"
    "  -h, --help            this text\n"
    "\n"
    "exit status: 0 ok (also when Technique 2 has no solution), 2 usage, configuration or\n"
    "input error (a file missing or unreadable, points Technique 1 cannot use)\n";

typedef struct {
    const char *config;
    ncsn_cli_sets sets;
    const char *data;
    int dim;                 /* 0: not given */
    double sigma_1, sigma_L; /* NAN: not given */
    int T, L;                /* 0: not given */
    int json;
} options;

/* What the command works out; NAN / 0 / NULL where something could not be solved. */
typedef struct {
    int D, n;                  /* n = 0 without points */
    double sigma_1_t1;         /* Technique 1, NAN without points */
    double sigma_1;            /* the one in use */
    const char *sigma_1_from;  /* "technique1", "config", "option" */
    double sigma_L;
    const char *sigma_L_from;  /* "config", "option", "default" */
    int T;
    const char *T_from;
    int L;                     /* the one in use, 0 if none */
    const char *L_from;        /* "technique2", "config", "option" */
    ncsn_techniques t;         /* Techniques 2 and 3 (plan.h) */
    double eps_config;         /* the configuration's explicit sample.eps, else NAN */
    char source[1100];         /* where the points came from, for people */
} answer;

/* ---- argument parsing ------------------------------------------------------------- */

static int usage_error(const char *fmt, ...) NCSN_PRINTF(1, 2);
static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ncsn techniques: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see ncsn techniques --help)\n");
    va_end(ap);
    return -1;
}

static int parse_positive_real(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || !(v > 0))
        return usage_error("%s: expected a positive number, got \"%s\"", opt, s);
    *out = v;
    return 0;
}

static int parse_positive_int(const char *opt, const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v < 1 || v > INT_MAX)
        return usage_error("%s: expected a positive integer, got \"%s\"", opt, s);
    *out = (int)v;
    return 0;
}

/* Returns 0, 1 after --help, -1 after a usage error (reported). */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->sigma_1 = o->sigma_L = NAN;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage_techniques, stdout);
            return 1;
        }
        if (!strcmp(arg, "--json")) {
            o->json = 1;
            continue;
        }
        /* Options with a value: "--opt value" or "--opt=value". */
        static const char *with_value[] = {"--config", "-s", "--set", "--data", "--dim",
                                           "--sigma-1", "--sigma-L", "--T", "--L"};
        const char *name = NULL, *value = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++) {
            size_t len = strlen(with_value[k]);
            if (!strcmp(arg, with_value[k])) {
                if (i + 1 >= argc) return usage_error("%s needs a value", arg);
                name = with_value[k];
                value = argv[++i];
                break;
            }
            if (!strncmp(arg, with_value[k], len) && arg[len] == '=' && len > 2) {
                name = with_value[k];
                value = arg + len + 1;
                break;
            }
        }
        if (!name) {
            if (arg[0] == '-') return usage_error("unknown option %s", arg);
            return usage_error("unexpected argument %s", arg);
        }
        int rc = 0;
        if (!strcmp(name, "--config")) {
            o->config = value;
        } else if (!strcmp(name, "-s") || !strcmp(name, "--set")) {
            if (o->sets.n == NCSN_CLI_MAX_SETS)
                return usage_error("more than %d overrides", NCSN_CLI_MAX_SETS);
            o->sets.sets[o->sets.n++] = value;
        } else if (!strcmp(name, "--data")) {
            o->data = value;
        } else if (!strcmp(name, "--dim")) {
            rc = parse_positive_int(name, value, &o->dim);
        } else if (!strcmp(name, "--sigma-1")) {
            rc = parse_positive_real(name, value, &o->sigma_1);
        } else if (!strcmp(name, "--sigma-L")) {
            rc = parse_positive_real(name, value, &o->sigma_L);
        } else if (!strcmp(name, "--T")) {
            rc = parse_positive_int(name, value, &o->T);
        } else if (!strcmp(name, "--L")) {
            rc = parse_positive_int(name, value, &o->L);
        }
        if (rc != 0) return -1;
    }
    int sources = (o->config != NULL) + (o->data != NULL) + (o->dim > 0);
    if (sources == 0)
        return usage_error("say where the numbers come from: --config FILE, --data "
                           "FILE.h5:/DATASET, or --dim D --sigma-1 S");
    if (sources > 1)
        return usage_error("use only one of --config, --data and --dim");
    if (o->sets.n > 0 && !o->config) return usage_error("-s/--set needs --config");
    if (o->dim > 0 && isnan(o->sigma_1))
        return usage_error("--dim needs --sigma-1 (there are no points for Technique 1)");
    return 0;
}

/* ---- points from HDF5 --------------------------------------------------------------- */

/* spec is FILE.h5:/DATASET, read by ncsn_h5_read_array (h5util.h). *x (n, D) is
 * malloc'd. Returns 0, or -1 with err filled (a malformed spec, an unreadable file). */
static int read_points_h5(const char *spec, float **x, int *n, int *D, ncsn_error *err) {
    const char *sep = NULL;
    for (const char *p = spec; (p = strstr(p, ":/")) != NULL; p++) sep = p;
    if (!sep || sep == spec)
        return ncsn_seterr(err, "--data: expected FILE.h5:/DATASET, got \"%s\"", spec);
    char path[1024];
    size_t plen = (size_t)(sep - spec);
    if (plen >= sizeof path) return ncsn_seterr(err, "--data: file name too long");
    memcpy(path, spec, plen);
    path[plen] = '\0';
    const char *dset = sep + 1;

    void *buf = NULL;
    ncsn_h5_array_info info;
    switch (ncsn_h5_read_array(path, dset, H5T_NATIVE_FLOAT, sizeof(float), INT_MAX, &buf,
                               &info)) {
    case NCSN_H5_ARRAY_OK: break;
    case NCSN_H5_ARRAY_NO_FILE:
        return ncsn_seterr(err, "%s: cannot open (%s)", path, strerror(info.errnum));
    case NCSN_H5_ARRAY_NOT_HDF5:
    case NCSN_H5_ARRAY_UNOPENABLE: return ncsn_seterr(err, "%s: not a readable HDF5 file", path);
    case NCSN_H5_ARRAY_NO_OBJECT:
    case NCSN_H5_ARRAY_NOT_DATASET: return ncsn_seterr(err, "%s: no dataset %s", path, dset);
    case NCSN_H5_ARRAY_BAD_RANK:
        return ncsn_seterr(err, "%s:%s: expected a 2-D (N, D) dataset of points, got rank %d",
                           path, dset, info.rank);
    case NCSN_H5_ARRAY_NOT_NUMBERS:
        return ncsn_seterr(err, "%s:%s: expected numbers (float or integer), not this type",
                           path, dset);
    case NCSN_H5_ARRAY_BAD_SHAPE:
        return ncsn_seterr(err, "%s:%s: unusable shape (%llu, %llu)", path, dset,
                           (unsigned long long)info.dims[0], (unsigned long long)info.dims[1]);
    case NCSN_H5_ARRAY_UNREADABLE:
        return ncsn_seterr(err, "%s:%s: reading the points failed", path, dset);
    }
    *x = buf;
    *n = (int)info.dims[0];
    *D = (int)info.dims[1];
    return 0;
}

/* ---- the techniques, in order ------------------------------------------------------- */

static void solve(answer *a) {
    ncsn_techniques_chain(&a->t, a->D, a->sigma_1, a->sigma_L, a->L, a->T);
    if (!a->L && a->t.L) {
        a->L = a->t.L;
        a->L_from = "technique2";
    }
}

/* ---- output ------------------------------------------------------------------------- */

static void json_string(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void json_number(const char *key, double v, int last) {
    printf("  \"%s\": ", key);
    if (isfinite(v)) {
        /* The shortest of %.15g..%.17g that reads back as the same double. */
        char buf[40];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, v);
            if (strtod(buf, NULL) == v) break;
        }
        printf("%s", buf);
    }
    else
        printf("null");
    printf(last ? "\n" : ",\n");
}

static void json_int(const char *key, int v, int valid) {
    if (valid)
        printf("  \"%s\": %d,\n", key, v);
    else
        printf("  \"%s\": null,\n", key);
}

static void json_text(const char *key, const char *s) {
    printf("  \"%s\": ", key);
    if (s)
        json_string(s);
    else
        printf("null");
    printf(",\n");
}

static void print_json(const answer *a) {
    printf("{\n");
    json_text("source", a->source);
    json_int("D", a->D, 1);
    json_int("n", a->n, a->n > 0);
    json_number("sigma_1", a->sigma_1, 0);
    json_text("sigma_1_from", a->sigma_1_from);
    json_number("sigma_1_technique1", a->sigma_1_t1, 0);
    json_number("sigma_L", a->sigma_L, 0);
    json_text("sigma_L_from", a->sigma_L_from);
    json_text("technique2", a->t.t2_ok ? "solved" : a->t.t2_msg);
    json_number("gamma_technique2", a->t.gamma_t2, 0);
    json_int("L_technique2", a->t.L_t2, a->t.t2_ok && a->t.L_t2 >= 1);
    json_int("L", a->L, a->L > 0);
    json_text("L_from", a->L > 0 ? a->L_from : NULL);
    json_number("gamma", a->t.gamma, 0);
    json_int("T", a->T, 1);
    json_text("T_from", a->T_from);
    json_text("technique3", a->t.t3_ok ? "solved" : a->t.t3_msg);
    json_number("eps", a->t.eps, 0);
    json_number("eps_paper", a->t.eps_paper, 0);
    json_number("f_min", a->t.f_min, 0);
    json_number("eps_config", a->eps_config, 1);
    printf("}\n");
}

/* One paragraph: LABEL in a 13-column margin, text wrapped at 92 columns under it. */
static void paragraph(const char *label, const char *fmt, ...) NCSN_PRINTF(2, 3);
static void paragraph(const char *label, const char *fmt, ...) {
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    enum { MARGIN = 13, WIDTH = 92 };
    printf("%-*s", MARGIN, label);
    int col = MARGIN;
    const char *w = text;
    while (*w) {
        while (*w == ' ') w++;
        size_t len = strcspn(w, " ");
        if (len == 0) break;
        if (col > MARGIN && col + 1 + (int)len > WIDTH) {
            printf("\n%*s", MARGIN, "");
            col = MARGIN;
        }
        if (col > MARGIN) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)len, w);
        col += (int)len;
        w += len;
    }
    putchar('\n');
}

static void print_text(const answer *a) {
    printf("Techniques of Song & Ermon 2020 (docs/computation.md, Techniques) for D = %d, %s.\n\n",
           a->D, a->source);
    const char *s1_use = "";
    char s1_buf[200];
    if (!strcmp(a->sigma_1_from, "config")) {
        snprintf(s1_buf, sizeof s1_buf, " The configuration sets noise.sigma_1 = %.6g "
                 "explicitly; that is what is used below.", a->sigma_1);
        s1_use = s1_buf;
    } else if (!strcmp(a->sigma_1_from, "option")) {
        snprintf(s1_buf, sizeof s1_buf, " --sigma-1 gives sigma_1 = %.6g; that is what is used "
                 "below.", a->sigma_1);
        s1_use = s1_buf;
    }
    if (a->n > 0)
        paragraph("Technique 1", "sigma_1, the largest distance between two of the %d points, "
                  "is %.6g.%s", a->n, a->sigma_1_t1, s1_use);
    else
        paragraph("Technique 1", "sigma_1 needs points; none were given.%s", s1_use);

    paragraph("Technique 0", "sigma_L = %.6g, %s. It has no formula: small enough that the "
              "smallest noise level leaves the data as it is.", a->sigma_L,
              !strcmp(a->sigma_L_from, "default") ? "the default" :
              !strcmp(a->sigma_L_from, "config") ? "from the configuration" : "from --sigma-L");

    char l_use[300] = "";
    if (a->L > 0)
        snprintf(l_use, sizeof l_use, "%s%d levels from %.6g down to %.6g have the ratio gamma = "
                 "(sigma_1/sigma_L)^(1/(L-1)) = %.6g.",
                 !strcmp(a->L_from, "config") ? "Using L from the configuration: " :
                 !strcmp(a->L_from, "option") ? "Using L from --L: " : "",
                 a->L, a->sigma_1, a->sigma_L, a->t.gamma);
    if (a->t.t2_ok)
        paragraph("Technique 2", "g(gamma) = Phi(sqrt(2D)(gamma-1) + 3 gamma) - "
                  "Phi(sqrt(2D)(gamma-1) - 3 gamma) crosses 0.5 at gamma = %.6g, so L = 1 + "
                  "ceil(ln(sigma_1/sigma_L) / ln gamma) = %d. %s", a->t.gamma_t2, a->t.L_t2, l_use);
    else
        /* The sentence starts "Technique 2 has no solution ..."; the label says the first
         * two words already. */
        paragraph("Technique 2", "%s%s. %s",
                  strncmp(a->t.t2_msg, "Technique 2 ", 12) ? a->t.t2_msg : a->t.t2_msg + 12,
                  a->L > 0 ? "" : " (noise.L in a configuration, or --L here)", l_use);

    if (a->t.t3_ok) {
        paragraph("Technique 3", "with T = %d steps per level, f is closest to 1 (f = %.6g) at "
                  "eps = %.4g for the paper's update x += eps s + sqrt(2 eps) z. The sampler "
                  "here steps x += (alpha/2) s + sqrt(alpha) z, so its eps is twice that: "
                  "eps = %.4g.", a->T, a->t.f_min, a->t.eps_paper, a->t.eps);
        if (isfinite(a->eps_config))
            paragraph("", "(The configuration sets sample.eps = %.4g explicitly.)", a->eps_config);
    } else {
        paragraph("Technique 3", "eps %s.", a->t.t3_msg);
    }
}

/* ---- the command -------------------------------------------------------------------- */

/* The words that say which data set a configuration's points come from. */
static void data_words(const ncsn_config *c, const ncsn_dataset *ds, char *buf, size_t size) {
    if (!strcmp(ds->name, "manifold"))
        snprintf(buf, size, ", dataset manifold (%s embedded in D = %d)", c->dataset.base, ds->D);
    else if (!strcmp(ds->name, "hdf5"))
        snprintf(buf, size, ", dataset hdf5 %.150s (%d training rows)", ds->label, ds->n_train);
    else
        snprintf(buf, size, ", dataset %s", ds->name);
}

/* --config: the configuration's training points *x and what it sets explicitly. */
static int from_config(const options *o, answer *a, float **x, ncsn_error *err) {
    ncsn_config c;
    ncsn_config_default(&c);
    int rc = ncsn_cli_configure(&c, o->config, &o->sets, err);
    ncsn_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (rc == NCSN_EXIT_OK && ncsn_training_set(&c, &ds, x, err) != 0) rc = NCSN_EXIT_USAGE;
    char words[200] = "";
    if (rc == NCSN_EXIT_OK) data_words(&c, &ds, words, sizeof words);
    a->D = ds.D;
    a->n = ds.n_points;
    ncsn_dataset_free(&ds);
    if (rc == NCSN_EXIT_OK) {
        a->sigma_L = c.noise.sigma_L;
        a->sigma_L_from = "config";
        a->T = c.sample.T;
        a->T_from = "config";
        if (!c.noise.L_auto) a->L = c.noise.L, a->L_from = "config";
        if (!c.noise.sigma_1_auto) a->sigma_1 = c.noise.sigma_1, a->sigma_1_from = "config";
        if (!c.sample.eps_auto) a->eps_config = c.sample.eps;
        snprintf(a->source, sizeof a->source, "the %d training points of %s%s", a->n,
                 o->config, words);
    }
    ncsn_config_free(&c);
    return rc;
}

/* Where the numbers come from: a configuration, an HDF5 data set, or --dim. */
static int from_source(const options *o, answer *a, float **x, ncsn_error *err) {
    if (o->config) return from_config(o, a, x, err);
    if (o->data) {
        if (read_points_h5(o->data, x, &a->n, &a->D, err) != 0) return NCSN_EXIT_USAGE;
        snprintf(a->source, sizeof a->source, "the %d points of %s", a->n, o->data);
        return NCSN_EXIT_OK;
    }
    a->D = o->dim;
    snprintf(a->source, sizeof a->source, "no points (--dim)");
    return NCSN_EXIT_OK;
}

/* Command-line values over the configuration's, Technique 1 on the points x (if any),
 * and sigma_1 above sigma_L. */
static int sigma_1_and_overrides(const options *o, answer *a, const float *x, ncsn_error *err) {
    if (!isnan(o->sigma_L)) a->sigma_L = o->sigma_L, a->sigma_L_from = "option";
    if (o->T > 0) a->T = o->T, a->T_from = "option";
    if (o->L > 0) a->L = o->L, a->L_from = "option";
    if (x) {
        if (a->n < 2) {
            ncsn_seterr(err, "Technique 1 needs at least two points, %s has %d", a->source, a->n);
            return NCSN_EXIT_USAGE;
        }
        a->sigma_1_t1 = ncsn_t1_max_pairwise_distance(x, a->n, a->D);
        if (!isfinite(a->sigma_1_t1)) {
            ncsn_seterr(err, "the points (%s) are not all finite numbers", a->source);
            return NCSN_EXIT_USAGE;
        }
        if (!a->sigma_1_from) a->sigma_1 = a->sigma_1_t1, a->sigma_1_from = "technique1";
    }
    if (!isnan(o->sigma_1)) a->sigma_1 = o->sigma_1, a->sigma_1_from = "option";
    if (!(a->sigma_1 > a->sigma_L)) {
        ncsn_seterr(err, "sigma_1 = %g (%s) must be larger than sigma_L = %g; give --sigma-1 "
                    "or a smaller --sigma-L", a->sigma_1, a->sigma_1_from, a->sigma_L);
        return NCSN_EXIT_USAGE;
    }
    return NCSN_EXIT_OK;
}

int ncsn_cmd_techniques(int argc, char **argv) {
    options o;
    const int p = parse_options(argc, argv, &o);
    if (p != 0) return p > 0 ? NCSN_EXIT_OK : NCSN_EXIT_USAGE;
    answer a;
    memset(&a, 0, sizeof a);
    a.sigma_1_t1 = a.eps_config = NAN;
    a.sigma_L = 0.01;
    a.sigma_L_from = "default";
    a.T = 100;
    a.T_from = "default";
    float *x = NULL;
    ncsn_error err = {{0}};
    int rc = from_source(&o, &a, &x, &err);
    if (rc == NCSN_EXIT_OK) rc = sigma_1_and_overrides(&o, &a, x, &err);
    if (rc == NCSN_EXIT_OK) {
        solve(&a);
        if (o.json) print_json(&a);
        else print_text(&a);
    } else {
        fprintf(stderr, "ncsn techniques: %s\n", err.msg);
    }
    free(x);
    return rc;
}
