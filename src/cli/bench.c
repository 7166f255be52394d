/* cli/bench.c: `ncsn bench` (bench.h): options, the measurements of bench_measure.c for
 * each thread count, and the table or JSON. Sizes: the notebook's network (E 16, batch 128,
 * L 100 levels from 20 to 0.1) at D = --dim and H = --hidden (the notebook's 2 and 128). */
#include "ncsn/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ncsn/common.h"
#include "ncsn/cpu.h"
#include "ncsn/noise.h"
#include "bench.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static const char *usage_bench =
    "usage: ncsn bench [--dim D] [--hidden H] [--quick] [--json] [--threads N,...] [--steps N]\n"
    "                  [--chains N] [--rounds N] [--sweep]\n"
    "       ncsn bench --sweep-overhead N,... [--sweep-ranks P] [--json]\n"
    "       ncsn bench --calibrate FILE [--threads T]\n"
    "\n"
    "Measures the notebook's network (emb 16, batch 128, L 100) at D = --dim, H = --hidden:\n"
    "  training     microseconds per Adam step (draws, loss and gradient, Adam included)\n"
    "  sampling     network evaluations per second of annealed Langevin (5000 chains)\n"
    "  peak         FP32 GFLOP/s of fused multiply-adds of the widest vectors the kernels\n"
    "               use (AVX-512, AVX2+FMA), every thread timing its own, summed; and of\n"
    "               separate multiplies and adds\n"
    "  %peak        each measurement of training or sampling over the FMA peak measured\n"
    "               just before it, the median of the rounds' pairs (a shared machine runs\n"
    "               faster and slower from second to second); the times: the best round\n"
    "  steal        the machine's steal time over a measurement (/proc/stat's, every CPU;\n"
    "               top's \"st\": what the host of a virtual machine took) beyond one tick\n"
    "               of its 10 ms counter, as a share of that and the process's CPU time;\n"
    "               the median of the rounds (run on an otherwise idle machine)\n"
    "  scaling      the thread counts measured in turn, 5 rounds (--rounds), every other\n"
    "               round in the reverse order; the median of each round's ratio of the\n"
    "               first and last counts, over all rounds and over the whole ones (for\n"
    "               training and for sampling apart: both measurements' steal at most 5%),\n"
    "               and the best time against the best\n"
    "  kernels      whether every kernel variant the CPU has gives the baseline's bits\n"
    "each beside the straightforward reference path, for 1 and 2 threads (OMP_NUM_THREADS\n"
    "is ignored: --threads chooses). GFLOP/s count the products that grow with D and H:\n"
    "10 D H per training example, 4 D H per evaluation. Prints; never fails on slowness.\n"
    "\n"
    "  --dim D          data dimension, 1 to 4096 (default 2)\n"
    "  --hidden H       hidden width, 1 to 65536 (default 128)\n"
    "  --quick          a smoke run of a few seconds\n"
    "  --json           one JSON object on stdout instead of the table\n"
    "  --threads LIST   thread counts, e.g. 1,2 (default: 1 and the maximum, if > 1)\n"
    "  --steps N        training steps per measurement (default: as many as take about\n"
    "                   a quarter of a second of CPU on one thread, 100 to 100000; quick\n"
    "                   100)\n"
    "  --chains N       sampling chains (default 5000)\n"
    "  --rounds N       measurements of each thread count, 1 to 50 (default 5; quick 1)\n"
    "  --sweep          also time a real sweep: `ncsn sweep` on 4 configurations of\n"
    "                   sweeps/notebook-sweep.yaml at full size (eps x EMA, one seed), with\n"
    "                   P = 1 rank (all threads) and P = 2 ranks (mpiexec, threads split),\n"
    "                   reported as runs per hour; about a minute (not with --quick)\n"
    "  --sweep-overhead N,...  instead of the above: the sweep runner's own cost per run,\n"
    "                   `ncsn sweep` of N trivial runs (no training step, 2 chains, one\n"
    "                   level: a few ms each) for each N (at most 100000), one thread a\n"
    "                   rank: (P x wall time - the runs' own time from the journal) / N\n"
    "  --sweep-ranks P  ranks for --sweep-overhead (default 1; mpiexec when > 1)\n"
    "  --calibrate FILE measure the rates of the time estimates of `ncsn sweep --dry-run`\n"
    "                   and of the deadline planning (training and sampling GFLOP/s of both\n"
    "                   kernel families, ns per metric pair at D = 2 and 64, SWD and FD)\n"
    "                   with 1 and T threads (--threads T, default all), and the process's\n"
    "                   own memory from tiny child runs; write them to FILE (KEY=VALUE\n"
    "                   lines; use with NCSN_CALIBRATION=FILE or --calibration FILE).\n"
    "                   About half a minute\n"
    "  -h, --help       this text\n";

static int parse_threads(const char *s, bench_opts *o) {
    o->n_threads = 0;
    while (*s) {
        char *end;
        long t = strtol(s, &end, 10);
        if (end == s || t < 1 || t > 1024 || o->n_threads == BENCH_MAX_T) return -1;
        o->threads[o->n_threads++] = (int)t;
        s = end;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return o->n_threads > 0 ? 0 : -1;
}

/* *out = the integer text s in [lo, hi]; 0, or -1 with a message naming opt. */
static int parse_count(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "ncsn bench: %s: expected an integer from %ld to %ld, got \"%s\"\n", opt,
                lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* The options; 0 to go on, or an exit status (help, or a usage error) + 1. */
static int parse_options(int argc, char **argv, bench_opts *o, int max_t) {
    memset(o, 0, sizeof *o);
    o->steps = -1;
    o->chains = 5000;
    o->D = 2;
    o->H = 128;
    o->threads[o->n_threads++] = 1;
    if (max_t > 1) o->threads[o->n_threads++] = max_t;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n = 0;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_bench, stdout);
            return NCSN_EXIT_OK + 1;
        } else if (!strcmp(a, "--quick")) o->quick = 1;
        else if (!strcmp(a, "--sweep")) o->sweep = 1;
        else if (!strcmp(a, "--sweep-overhead") && v) {
            i++;
            for (const char *s = v; *s && !bad;) {
                char *end;
                long r = strtol(s, &end, 10);
                bad = end == s || r < 1 || r > 100000 || o->n_overhead == BENCH_MAX_SIZES ||
                      (*end && *end != ',');
                if (!bad) o->overhead[o->n_overhead++] = (int)r;
                s = *end ? end + 1 : end;
            }
            if (bad)
                fprintf(stderr, "ncsn bench: --sweep-overhead: expected a list like "
                        "100,1000 of at most %d sizes from 1 to 100000, got \"%s\"\n",
                        BENCH_MAX_SIZES, v);
        } else if (!strcmp(a, "--sweep-ranks") && v) {
            i++;
            bad = parse_count(a, v, 1, 1024, &n) != 0;
            o->overhead_ranks = (int)n;
        }
        else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--calibrate") && v) o->calibrate = argv[++i];
        else if (!strcmp(a, "--threads") && v) {
            i++;
            if (parse_threads(v, o) != 0) {
                fprintf(stderr, "ncsn bench: --threads: expected a list like 1,2, got \"%s\"\n", v);
                bad = 1;
            }
        } else if (!strcmp(a, "--steps") && v) {
            i++;
            bad = parse_count(a, v, 1, 100000000, &o->steps) != 0;
        } else if (!strcmp(a, "--rounds") && v) {
            i++;
            bad = parse_count(a, v, 1, BENCH_MAX_ROUNDS, &n) != 0;
            o->rounds = (int)n;
        } else if (!strcmp(a, "--chains") && v) {
            i++;
            bad = parse_count(a, v, 1, 10000000, &n) != 0;
            o->chains = (int)n;
        } else if (!strcmp(a, "--dim") && v) {
            i++;
            bad = parse_count(a, v, 1, 4096, &n) != 0;
            o->D = (int)n;
        } else if (!strcmp(a, "--hidden") && v) {
            i++;
            bad = parse_count(a, v, 1, 65536, &n) != 0;
            o->H = (int)n;
        } else {
            fprintf(stderr, "ncsn bench: unknown option \"%s\"\n%s", a, usage_bench);
            bad = 1;
        }
        if (bad) return NCSN_EXIT_USAGE + 1;
    }
    return 0;
}

/* The rounds, and the sampling work sized to about a second per measurement at any D and
 * H (the training steps: ncsn_cmd_bench, from a trial). */
static void size_work(bench_opts *o) {
    const double dh = (double)o->D * o->H;
    if (o->rounds == 0) o->rounds = o->quick ? 1 : BENCH_ROUNDS;
    if (o->steps < 0 && o->quick) o->steps = 100;
    o->levels = o->quick ? 2 : 4;
    if (o->quick && o->chains == 5000) o->chains = 2000;
    /* about 3e10 FLOPs per measurement (3e9 quick), at most T 100 */
    const double t = (o->quick ? 3e9 : 3e10) / (4.0 * dh) / ((double)o->chains * o->levels);
    o->T = t > 100 ? 100 : t < 2 ? 2 : (int)t;
    if (o->quick && o->T > 10) o->T = 10;
}

static void print_json(const bench_opts *o, const bench_row *rows, int same_train,
                       int same_sample, int isa_train, int isa_sample,
                       const bench_sweep_row *sweeps, int n_sweeps);
static void print_table(const bench_opts *o, const bench_row *rows, int same_train,
                        int same_sample, int isa_train, int isa_sample, int isa_steps,
                        int isa_chains, const bench_sweep_row *sweeps, int n_sweeps);

/* --sweep-overhead: one row per size, as a table or JSON. */
static int bench_overhead(const bench_opts *o) {
    const int P = o->overhead_ranks > 0 ? o->overhead_ranks : 1;
    bench_overhead_row rows[BENCH_MAX_SIZES];
    for (int k = 0; k < o->n_overhead; k++) bench_sweep_overhead(o->overhead[k], P, &rows[k]);
    if (o->json) printf("{\"sweep_overhead\": [");
    else printf("sweep runner overhead (trivial runs, %d rank%s of 1 thread)\n"
                "%8s %10s %12s %16s\n", P, P > 1 ? "s" : "", "runs", "wall s", "runs' own s",
                "overhead ms/run");
    for (int k = 0; k < o->n_overhead; k++) {
        const bench_overhead_row *r = &rows[k];
        if (o->json) {
            printf("%s{\"runs\": %d, \"ranks\": %d, ", k ? ", " : "", r->runs, r->P);
            if (r->wall < 0) printf("\"note\": \"%s\"}", r->note);
            else printf("\"wall_seconds\": %.4f, \"run_seconds\": %.4f, \"overhead_ms\": %.3f}",
                        r->wall, r->run_seconds, r->overhead_ms);
        } else if (r->wall < 0) {
            printf("%8d  %s\n", r->runs, r->note);
        } else {
            printf("%8d %10.2f %12.2f %16.2f\n", r->runs, r->wall, r->run_seconds, r->overhead_ms);
        }
    }
    if (o->json) printf("]}\n");
    return NCSN_EXIT_OK;
}

int ncsn_cmd_bench(int argc, char **argv) {
#ifdef _OPENMP
    const int max_t = omp_get_num_procs();
#else
    const int max_t = 1;
#endif
    bench_opts o;
    const int rc = parse_options(argc, argv, &o, max_t);
    if (rc) return rc - 1;
    if (o.calibrate) return bench_calibrate(o.threads[o.n_threads - 1], o.calibrate);
    if (o.n_overhead > 0) return bench_overhead(&o);
    size_work(&o);
    double sigmas[BENCH_L];
    ncsn_noise_levels(20.0, 0.1, BENCH_L, sigmas);
    const int n_data = 1000;
    float *data = bench_data(o.D, n_data);
    if (o.steps < 0) o.steps = bench_train_steps_for(&o, sigmas, data, n_data);
    bench_row rows[BENCH_MAX_T];
    const long peak_iters = o.quick ? 2000000 : 20000000;
    const int rounds = o.rounds;
    for (int k = 0; k < o.n_threads; k++) {
        memset(&rows[k], 0, sizeof rows[k]);
        rows[k].threads = o.threads[k];
        rows[k].peak_muladd = bench_peak(rows[k].threads, 1, peak_iters);
    }
    /* each measurement paired with the FMA peak just before it (the row's peak_fma their
     * median), each round's measurements one after the other, the thread counts in turn
     * first and last (a machine that slows down during a round favours none) */
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < o.n_threads; i++) {
            const int k = round % 2 ? o.n_threads - 1 - i : i;
            bench_train_pair(&o, sigmas, data, n_data, peak_iters, &rows[k], round, rounds);
        }
    for (int k = 0; k < o.n_threads; k++) {
        bench_set_threads(rows[k].threads);
        bench_train_finish(&o, sigmas, data, n_data, &rows[k]);
    }
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < o.n_threads; i++) {
            const int k = round % 2 ? o.n_threads - 1 - i : i;
            bench_sample_pair(&o, sigmas, peak_iters, &rows[k], round, rounds);
        }
    for (int k = 0; k < o.n_threads; k++) {
        bench_set_threads(rows[k].threads);
        bench_sample_finish(&o, sigmas, &rows[k]);
        bench_row_peak(&rows[k]);
    }
#ifdef _OPENMP
    omp_set_num_threads(max_t);
#endif
    int isa_train, isa_sample, isa_steps, isa_chains;
    bench_isa_identity(&o, sigmas, data, n_data, &isa_train, &isa_sample, &isa_steps,
                       &isa_chains);
    free(data);
    bench_sweep_row sweeps[2];
    int n_sweeps = 0;
    if (o.sweep) bench_sweeps(sweeps, &n_sweeps, max_t);
    int same_train = 1, same_sample = 1;
    for (int k = 1; k < o.n_threads; k++) {
        same_train &= rows[k].train_hash == rows[0].train_hash;
        same_sample &= rows[k].sample_hash == rows[0].sample_hash;
    }
    if (o.json)
        print_json(&o, rows, same_train, same_sample, isa_train, isa_sample, sweeps, n_sweeps);
    else
        print_table(&o, rows, same_train, same_sample, isa_train, isa_sample, isa_steps,
                    isa_chains, sweeps, n_sweeps);
    return NCSN_EXIT_OK;
}

static const char *yes(int b) { return b ? "true" : "false"; }

/* The median of a row's steals (n values), or -1 where any is not known. */
static double median_steal(const double *steal, int n) {
    double v[BENCH_MAX_ROUNDS];
    for (int i = 0; i < n; i++) {
        if (steal[i] < 0) return -1;
        v[i] = steal[i];
    }
    return bench_median(v, n);
}

/* A JSON number, or null where v < 0 (not known, or none). */
static void json_or_null(const char *fmt, double v) {
    if (v < 0) printf("null");
    else printf(fmt, v);
}

/* The JSON array of n steals (null where not known). */
static void json_steals(const double *steal, int n) {
    printf("[");
    for (int i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        json_or_null("%.6f", steal[i]);
    }
    printf("]");
}

/* A whole-round figure of the table: "1.63x (4" or "none (0" (the caller closes it). */
static void print_whole(double median, int n_whole) {
    if (n_whole) printf("%.2fx (%d", median, n_whole);
    else printf("none (0");
}

static void print_json(const bench_opts *o, const bench_row *rows, int same_train,
                       int same_sample, int isa_train, int isa_sample,
                       const bench_sweep_row *sweeps, int n_sweeps) {
    const double fts = bench_flops_train_step(o), fev = bench_flops_eval(o);
    printf("{\"network\": {\"D\": %d, \"E\": %d, \"H\": %d, \"batch\": %d, \"L\": %d},\n", o->D,
           BENCH_E, o->H, BENCH_B, BENCH_L);
    printf(" \"train_steps\": %ld, \"chains\": %d, \"sample_levels\": %d, \"sample_T\": %d,\n",
           o->steps, o->chains, o->levels, o->T);
    printf(" \"flops_per_train_step\": %.0f, \"flops_per_eval\": %.0f, \"peak_isa\": \"%s\",\n",
           fts, fev, ncsn_isa_name(ncsn_isa()));
    printf(" \"rows\": [\n");
    for (int k = 0; k < o->n_threads; k++) {
        const bench_row *r = &rows[k];
        const double tg = fts / r->train_us * 1e-3, sg = r->sample_eps * fev * 1e-9;
        printf("  {\"threads\": %d, \"peak_fma_gflops\": %.2f, \"peak_muladd_gflops\": %.2f, "
               "\"train_us_per_step\": %.3f, \"train_ref_us_per_step\": %.3f, "
               "\"train_gflops\": %.3f, \"train_pct_peak\": %.2f, "
               "\"sample_evals_per_s\": %.4g, \"sample_ref_evals_per_s\": %.4g, "
               "\"sample_gflops\": %.3f, \"sample_pct_peak\": %.2f, "
               "\"train_hash\": \"%016llx\", \"sample_hash\": \"%016llx\", ",
               r->threads, r->peak_fma, r->peak_muladd, r->train_us, r->train_ref_us, tg,
               100 * r->train_share, r->sample_eps, r->sample_ref_eps, sg, 100 * r->sample_share,
               (unsigned long long)r->train_hash, (unsigned long long)r->sample_hash);
        /* the pairs behind the shares: each measurement and the peak just before it */
        printf("\"paired\": {\"train_us_per_step\": [");
        for (int i = 0; i < r->n_pairs; i++) printf("%s%.6g", i ? ", " : "", r->train_us_each[i]);
        printf("], \"train_peak_gflops\": [");
        for (int i = 0; i < r->n_pairs; i++) printf("%s%.6g", i ? ", " : "", r->peaks[i]);
        printf("], \"sample_evals_per_s\": [");
        for (int i = 0; i < r->n_pairs; i++) printf("%s%.6g", i ? ", " : "", r->sample_eps_each[i]);
        printf("], \"sample_peak_gflops\": [");
        for (int i = 0; i < r->n_pairs; i++)
            printf("%s%.6g", i ? ", " : "", r->peaks[r->n_pairs + i]);
        printf("], \"train_steal\": ");
        json_steals(r->train_steal_each, r->n_pairs);
        printf(", \"sample_steal\": ");
        json_steals(r->sample_steal_each, r->n_pairs);
        printf("}}%s\n", k + 1 < o->n_threads ? "," : "");
    }
    printf(" ],\n");
    if (o->n_threads > 1) {
        const bench_scaling sc = bench_scaling_of(&rows[0], &rows[o->n_threads - 1]);
        printf(" \"scaling\": {\"from_threads\": %d, \"to_threads\": %d, \"train\": %.4f, "
               "\"sample\": %.4f, \"train_best\": %.4f, \"sample_best\": %.4f, "
               "\"steal_limit\": %g, \"whole_rounds\": {\"train\": ",
               rows[0].threads, rows[o->n_threads - 1].threads, sc.train, sc.sample,
               sc.train_best, sc.sample_best, BENCH_STEAL_LIMIT);
        json_or_null("%.0f", sc.n_whole_train);
        printf(", \"sample\": ");
        json_or_null("%.0f", sc.n_whole_sample);
        printf("}, \"train_whole\": ");
        json_or_null("%.4f", sc.train_whole);
        printf(", \"sample_whole\": ");
        json_or_null("%.4f", sc.sample_whole);
        printf("},\n");
    }
    printf(" \"bits_identical_across_threads\": {\"train\": %s, \"sample\": %s},\n",
           yes(same_train), yes(same_sample));
    printf(" \"kernels\": \"%s\", \"bits_identical_to_baseline\": {\"train\": %s, "
           "\"sample\": %s},\n",
           ncsn_isa_name(ncsn_isa()), yes(isa_train), yes(isa_sample));
    if (!o->sweep) {
        printf(" \"sweep\": null}\n");
        return;
    }
    printf(" \"sweep\": {\"runs\": %d, \"rows\": [", BENCH_SWEEP_RUNS);
    for (int k = 0; k < n_sweeps; k++) {
        const bench_sweep_row *w = &sweeps[k];
        printf("%s\n  {\"P\": %d, \"threads_per_rank\": %d, ", k ? "," : "", w->P, w->threads);
        if (w->seconds >= 0)
            printf("\"seconds\": %.3f, \"runs_per_hour\": %.1f}", w->seconds,
                   BENCH_SWEEP_RUNS * 3600.0 / w->seconds);
        else
            printf("\"seconds\": null, \"runs_per_hour\": null, \"note\": \"%s\"}", w->note);
    }
    printf("]}}\n");
}

static void print_table(const bench_opts *o, const bench_row *rows, int same_train,
                        int same_sample, int isa_train, int isa_sample, int isa_steps,
                        int isa_chains, const bench_sweep_row *sweeps, int n_sweeps) {
    const double fts = bench_flops_train_step(o), fev = bench_flops_eval(o);
    printf("ncsn bench%s: D %d, emb %d, hidden %d; training batch %d over %d levels, %ld steps;\n"
           "sampling %d chains, %d levels x T %d. GFLOP/s count %.0f FLOPs per training step,\n"
           "%.0f per evaluation; the peak is %s fused multiply-adds. %%peak: each measurement's\n"
           "GFLOP/s over the peak measured just before it, the median of the measurements.\n\n",
           o->quick ? " --quick" : "", o->D, BENCH_E, o->H, BENCH_B, BENCH_L, o->steps,
           o->chains, o->levels, o->T, fts, fev, ncsn_isa_name(ncsn_isa()));
    printf("%-8s %12s %12s | %11s %11s %7s %8s %7s %6s | %11s %11s %7s %8s %7s %6s\n",
           "threads", "peak FMA", "peak mul+add", "train us", "ref us", "speedup", "GFLOP/s",
           "%peak", "steal", "sample ev/s", "ref ev/s", "speedup", "GFLOP/s", "%peak", "steal");
    double worst_steal = 0;
    for (int k = 0; k < o->n_threads; k++) {
        const bench_row *r = &rows[k];
        const double tg = fts / r->train_us * 1e-3, sg = r->sample_eps * fev * 1e-9;
        const double st = median_steal(r->train_steal_each, r->n_pairs);
        const double ss = median_steal(r->sample_steal_each, r->n_pairs);
        char st_s[16] = "-", ss_s[16] = "-";
        if (st >= 0) snprintf(st_s, sizeof st_s, "%.0f%%", 100 * st);
        if (ss >= 0) snprintf(ss_s, sizeof ss_s, "%.0f%%", 100 * ss);
        if (st > worst_steal) worst_steal = st;
        if (ss > worst_steal) worst_steal = ss;
        printf("%-8d %12.1f %12.1f | %11.2f %11.1f %6.1fx %8.2f %6.1f%% %6s | %11.3g %11.3g "
               "%6.1fx %8.2f %6.1f%% %6s\n",
               r->threads, r->peak_fma, r->peak_muladd, r->train_us, r->train_ref_us,
               r->train_ref_us / r->train_us, tg, 100 * r->train_share, st_s, r->sample_eps,
               r->sample_ref_eps, r->sample_eps / r->sample_ref_eps, sg, 100 * r->sample_share,
               ss_s);
    }
    if (worst_steal > BENCH_STEAL_LIMIT)
        printf("\nthe host took %.0f%% of the CPU time of some measurements (steal; the median "
               "of a row's rounds):\nthe times and the scaling measure the host as much as "
               "ncsn\n", 100 * worst_steal);
    if (o->n_threads > 1) {
        const bench_scaling sc = bench_scaling_of(&rows[0], &rows[o->n_threads - 1]);
        printf("\nscaling %d -> %d threads (the median of each round's ratio, the thread counts "
               "measured in turn):\n", rows[0].threads, rows[o->n_threads - 1].threads);
        if (sc.n_whole_train < 0 || sc.n_whole_sample < 0)
            printf("  whole rounds: not known (no steal time in /proc/stat)\n");
        else {
            printf("  whole rounds (steal <= %.0f%%): training ", 100 * BENCH_STEAL_LIMIT);
            print_whole(sc.train_whole, sc.n_whole_train);
            printf(" of %d), sampling ", rows[0].n_pairs);
            print_whole(sc.sample_whole, sc.n_whole_sample);
            printf(" of %d)\n", rows[0].n_pairs);
        }
        printf("  all rounds: training %.2fx, sampling %.2fx; the best time against the best: "
               "%.2fx, %.2fx\n", sc.train, sc.sample, sc.train_best, sc.sample_best);
        printf("results bit-identical across thread counts: training %s, sampling %s\n",
               same_train ? "yes" : "NO", same_sample ? "yes" : "NO");
    }
    printf("kernels: %s; every variant up to it gives the baseline's bits (fmaf; %d steps, %d "
           "chains): training %s, sampling %s\n",
           ncsn_isa_name(ncsn_isa()), isa_steps, isa_chains, isa_train ? "yes" : "NO",
           isa_sample ? "yes" : "NO");
    if (!o->sweep) return;
    printf("\nsweep: `ncsn sweep` of %d configurations of sweeps/notebook-sweep.yaml at full "
           "size (30000 steps, 5000 chains x 100 levels x T 100)\n",
           BENCH_SWEEP_RUNS);
    for (int k = 0; k < n_sweeps; k++) {
        const bench_sweep_row *w = &sweeps[k];
        if (w->seconds >= 0)
            printf("  P = %d (%d thread%s per rank): %7.1f s, %7.1f runs/hour\n", w->P, w->threads,
                   w->threads > 1 ? "s" : "", w->seconds, BENCH_SWEEP_RUNS * 3600.0 / w->seconds);
        else
            printf("  P = %d: %s\n", w->P, w->note);
    }
}
