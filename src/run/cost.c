/* run/cost.c: the seconds a run takes, before it runs (resources.h): its work counted from
 * its sizes (FLOPs as `ncsn bench` counts them, pairs of points for the metrics), divided
 * by rates measured on the machine (`ncsn bench --calibrate` writes them to a file) or by
 * the built-in ones (docs/cluster.md, Sizing a job). */
#include "ncsn/resources.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ncsn/metrics.h"
#include "ncsn/text.h"

/* ---- the rates ------------------------------------------------------------------------- */

void ncsn_calibration_default(ncsn_calibration *cal) {
    /* One thread: `ncsn bench --calibrate` on a 2-vCPU AVX-512 Xeon (the machine of the
     * README's performance table; one thread's rates are CPU time). Two threads: those
     * rates times the speedups measured on that machine when quiet (docs/performance.md:
     * training 1.0x at D = 2 and 1.37x at D = 64, sampling 1.95x; the metrics' and the
     * rest's 1.9x and 1.5x are estimates). */
    const ncsn_calibration d = {
        .threads = 2,
        .train_small_gflops = {16.6, 16.6},
        .train_blocked_gflops = {97.0, 133.0},
        .sample_small_gflops = {132.0, 263.0},
        .sample_blocked_gflops = {126.0, 245.0},
        .pair_exp_ns = {{3.70, 0.57}, {1.95, 0.30}},
        .pair_plain_ns = {{2.44, 0.60}, {1.28, 0.32}},
        .other_gflops = {4.5, 6.8},
        .run_seconds = 0.03,
        .baseline_bytes = 16.1e6,
        .sweep_bytes = 1.7e6,
        .mpi_bytes = 6.8e6,
    };
    *cal = d;
    snprintf(cal->source, sizeof cal->source, "built in");
}

/* The calibration's keys: name, the double it sets. */
typedef struct {
    const char *name;
    double *v;
} cal_key;

static int cal_keys(ncsn_calibration *c, cal_key *k) {
    int n = 0;
#define KEY2(name, arr)                                       \
    k[n++] = (cal_key){name "_1", &(arr)[0]};                 \
    k[n++] = (cal_key){name "_threads", &(arr)[1]};
    KEY2("train_small_gflops", c->train_small_gflops)
    KEY2("train_blocked_gflops", c->train_blocked_gflops)
    KEY2("sample_small_gflops", c->sample_small_gflops)
    KEY2("sample_blocked_gflops", c->sample_blocked_gflops)
    k[n++] = (cal_key){"pair_exp_ns_a_1", &c->pair_exp_ns[0][0]};
    k[n++] = (cal_key){"pair_exp_ns_b_1", &c->pair_exp_ns[0][1]};
    k[n++] = (cal_key){"pair_exp_ns_a_threads", &c->pair_exp_ns[1][0]};
    k[n++] = (cal_key){"pair_exp_ns_b_threads", &c->pair_exp_ns[1][1]};
    k[n++] = (cal_key){"pair_plain_ns_a_1", &c->pair_plain_ns[0][0]};
    k[n++] = (cal_key){"pair_plain_ns_b_1", &c->pair_plain_ns[0][1]};
    k[n++] = (cal_key){"pair_plain_ns_a_threads", &c->pair_plain_ns[1][0]};
    k[n++] = (cal_key){"pair_plain_ns_b_threads", &c->pair_plain_ns[1][1]};
    KEY2("other_gflops", c->other_gflops)
    k[n++] = (cal_key){"run_seconds", &c->run_seconds};
    k[n++] = (cal_key){"baseline_bytes", &c->baseline_bytes};
    k[n++] = (cal_key){"sweep_bytes", &c->sweep_bytes};
    k[n++] = (cal_key){"mpi_bytes", &c->mpi_bytes};
#undef KEY2
    return n;
}

enum { MAX_CAL_KEYS = 32 };

int ncsn_calibration_load(ncsn_calibration *cal, const char *path, ncsn_error *err) {
    ncsn_calibration_default(cal);
    if (!path) path = getenv("NCSN_CALIBRATION");
    if (!path || !*path) return 0;
    char *text;
    if (ncsn_read_file(path, &text, NULL, err) != 0) return -1; /* names the file */
    cal_key keys[MAX_CAL_KEYS];
    const int n_keys = cal_keys(cal, keys);
    int line = 0, rc = 0;
    for (char *p = text, *next; p && *p && rc == 0; p = next) {
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        line++;
        if (*p == '#' || *p == '\0') continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            rc = ncsn_seterr(err, "%s:%d: expected KEY=VALUE, got \"%.60s\"", path, line, p);
            break;
        }
        *eq = '\0';
        char *end;
        errno = 0;
        const double v = strtod(eq + 1, &end);
        const int number = end != eq + 1 && !*end && !errno && isfinite(v) && v > 0;
        if (!strcmp(p, "threads")) {
            if (!number || v != floor(v) || v > 4096)
                rc = ncsn_seterr(err, "%s:%d: threads: expected a whole number from 1 to 4096",
                                 path, line);
            else cal->threads = (int)v;
            continue;
        }
        int found = 0;
        for (int i = 0; i < n_keys; i++)
            if (!strcmp(p, keys[i].name)) {
                found = 1;
                if (!number)
                    rc = ncsn_seterr(err, "%s:%d: %s: expected a positive number, got \"%.40s\"",
                                     path, line, p, eq + 1);
                else *keys[i].v = v;
            }
        if (!found && !rc && strcmp(p, "host") && strcmp(p, "created") && strcmp(p, "kernels"))
            rc = ncsn_seterr(err, "%s:%d: unknown key %s", path, line, p);
    }
    free(text);
    if (rc == 0) snprintf(cal->source, sizeof cal->source, "%s", path);
    return rc;
}

int ncsn_calibration_write(const ncsn_calibration *cal, const char *path, ncsn_error *err) {
    ncsn_calibration c = *cal;
    cal_key keys[MAX_CAL_KEYS];
    const int n_keys = cal_keys(&c, keys);
    char text[8192], host[256] = "unknown", when[32];
    gethostname(host, sizeof host - 1);
    ncsn_iso_time(when, sizeof when);
    int n = snprintf(text, sizeof text, "# ncsn bench --calibrate: the cost model's rates on "
                     "this machine (docs/cluster.md)\nhost=%s\ncreated=%s\nthreads=%d\n", host,
                     when, c.threads);
    for (int i = 0; i < n_keys && n < (int)sizeof text - 100; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s=%.6g\n", keys[i].name, *keys[i].v);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    return ncsn_replace_file(path, tmp, -1, text, (size_t)n, err);
}

/* rate[0] at 1 thread, rate[1] at cal->threads: the rate at t threads, with the parallel
 * efficiency between the two (never below one thread's rate). */
static double at_threads(const double rate[2], int cal_threads, int t) {
    if (t <= 1 || cal_threads <= 1) return rate[0];
    double gain = (rate[1] / rate[0] - 1) / (cal_threads - 1); /* per added thread */
    if (gain < 0) gain = 0;
    return rate[0] * (1 + gain * (t - 1));
}

/* ns per pair (a + b D) at t threads: the two measured points' costs interpolated. */
static double pair_ns(const double ns[2][2], int cal_threads, int t, double D) {
    const double r[2] = {1.0 / (ns[0][0] + ns[0][1] * D), 1.0 / (ns[1][0] + ns[1][1] * D)};
    return 1.0 / at_threads(r, cal_threads, t);
}

/* ---- the work -------------------------------------------------------------------------- */

static double d(int64_t v) { return (double)v; }

void ncsn_work_of(const ncsn_run_sizes *s, ncsn_work *w) {
    memset(w, 0, sizeof *w);
    const double D = d(s->D), H = d(s->H), E = d(s->E), n = d(s->n), nr = d(s->n_ref),
                 nf = d(s->n_floor), nt = d(s->n_train);
    if (s->trains) {
        w->train_flops = d(s->steps) * d(s->B) * 10 * D * H;
        w->train_blocked = !(s->E % 8 == 0 && s->H % 8 == 0 && s->D <= 6 && s->E <= 32);
    }
    const double evals = n * d(s->levels) * d(s->T) + (s->denoise ? n : 0);
    if (s->exact_score) { /* the mixture's score: K components of D */
        w->other_flops += evals * d(s->K) * D * 12;
    } else {
        w->sample_flops = evals * 4 * D * H;
        w->sample_blocked = s->D != 2;
    }
    /* MMD (metrics.c): within the reference, the floor and the samples, and across */
    w->pairs_exp = nr * (nr - 1) / 2 + nf * (nf - 1) / 2 + nf * nr + n * (n - 1) / 2 + n * nr;
    /* the median's two passes, nearest training points, the k-NN classifier, Technique 1 */
    w->pairs_plain = nr * (nr - 1) + (n + nr) * nt;
    if (s->labelled) w->pairs_plain += (d(s->file_held) + n) * nt;
    if (s->technique1) w->pairs_plain += nt * (nt - 1) / 2;
    /* SWD (2 x 128 directions: projections and 8 radix passes), FD (covariances, three
     * eigenproblems and two products), the mode weights */
    w->other_flops += 2.0 * NCSN_SWD_DIRECTIONS * (n + nf + 2 * nr) * (2 * D + 40);
    w->other_flops += (n + nf + nr) * D * D + 3 * 25 * D * D * D;
    w->other_flops += n * d(s->K) * D * 3;
    if (s->K > 0 && !s->exact_score) /* the score error: a model and a mixture score per point */
        w->other_flops += d(s->L) * NCSN_SCORE_ERROR_POINTS * (4 * D * H + 2 * E * E +
                                                               12 * d(s->K) * D);
}

double ncsn_seconds_estimate(const ncsn_work *w, const ncsn_run_sizes *s,
                             const ncsn_calibration *cal, int threads, double *train_seconds) {
    const int T = cal->threads;
    const double D = d(s->D > 0 ? s->D : 1);
    const double train =
        w->train_flops * 1e-9 /
        at_threads(w->train_blocked ? cal->train_blocked_gflops : cal->train_small_gflops, T,
                   threads);
    double sec = train;
    sec += w->sample_flops * 1e-9 /
           at_threads(w->sample_blocked ? cal->sample_blocked_gflops : cal->sample_small_gflops,
                      T, threads);
    sec += w->pairs_exp * 1e-9 * pair_ns(cal->pair_exp_ns, T, threads, D);
    sec += w->pairs_plain * 1e-9 * pair_ns(cal->pair_plain_ns, T, threads, D);
    sec += w->other_flops * 1e-9 / at_threads(cal->other_gflops, T, threads);
    sec += cal->run_seconds;
    if (train_seconds) *train_seconds = train;
    return sec;
}
