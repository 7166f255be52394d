/* cli/main.c: the `ncsn` command line.
 *   ncsn run [CONFIG.yaml] [-s KEY=VALUE ...] -o OUT.h5 [-q]   train, sample, measure, write
 *                                        (resumable: its checkpoint is OUT.h5.ckpt)
 *   ncsn sample RUN.h5 [-s sample.KEY=VALUE ...] -o OUT.h5 [-q] new samples from a trained run
 *   ncsn sweep SWEEP.yaml -o DIR                                a sweep, over MPI ranks
 *   ncsn techniques ...                                         hyperparameter techniques
 *   ncsn bench [--quick] [--json]                               speed figures
 * Exit status: 0 ok, 1 failure at run time, 2 usage or configuration error, 3 interrupted
 * (SIGUSR1, SIGTERM or SIGINT: stopped at the next training step or sampling level; no run
 * file, the state in a checkpoint; run, sample and sweep install the handlers). */
#include <stdio.h>
#include <string.h>

#include "ncsn/bench.h"
#include "ncsn/cli.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/io.h"
#include "ncsn/run.h"

static const char *usage_main =
    "usage: ncsn <command> [options]\n"
    "\n"
    "Noise Conditional Score Networks, trained and sampled as a batch job.\n"
    "\n"
    "commands:\n"
    "  run         train, sample and measure one configuration; write one HDF5 file\n"
    "  sample      draw new samples from a trained run file\n"
    "  sweep       run every configuration of a sweep file, over MPI ranks\n"
    "  techniques  sigma_1, gamma and L, and eps from the techniques of Song & Ermon 2020\n"
    "  bench       training and sampling speed against the machine's peak\n"
    "\n"
    "  ncsn <command> --help   options of a command\n"
    "  ncsn --version          version and build\n"
    "\n"
    "exit status: 0 ok, 1 failure at run time, 2 usage or configuration error,\n"
    "3 interrupted by SIGUSR1, SIGTERM or SIGINT (no result written; the same command\n"
    "continues: run and sweep resume from their checkpoints)\n";

static const char *usage_run =
    "usage: ncsn run [CONFIG.yaml] [-s KEY=VALUE ...] -o OUT.h5 [--checkpoint PATH] [-q]\n"
    "\n"
    "Trains the score network, runs the sampler, measures the samples and writes\n"
    "everything to OUT.h5 (written under a temporary name, renamed when complete).\n"
    "Without CONFIG the notebook's experiment runs (every key has its default).\n"
    "\n"
    "  -s, --set KEY=VALUE   override one key, e.g. -s train.steps=1000 -s noise.L=auto\n"
    "  -o, --output OUT.h5   the run file to write (required)\n"
    "  --checkpoint PATH     where the run's checkpoint lives (default OUT.h5.ckpt)\n"
    "  --no-checkpoint       neither write nor resume from a checkpoint\n"
    "  -q, --quiet           no progress on stderr\n"
    "  -h, --help            this text\n"
    "\n"
    "Checkpoints: SIGUSR1, SIGTERM or SIGINT stops the run at the next training step or\n"
    "sampling level and saves its whole state (weights, Adam's moments, EMA, step, the\n"
    "chains) to the checkpoint; so do train.checkpoint_every (steps) and\n"
    "sample.checkpoint_every (levels), against a hard kill. Running the same command again\n"
    "resumes from it, with results bit for bit those of an uninterrupted run; the\n"
    "checkpoint is removed when OUT.h5 is written. A checkpoint of another configuration,\n"
    "or a damaged one, is reported and ignored.\n"
    "\n"
    "Threads: OMP_NUM_THREADS. Results do not depend on the number of threads.\n"
    "Exit status: 0 ok, 1 failure at run time (a diverged run's file is still written),\n"
    "2 usage or configuration error, 3 interrupted by a signal (no run file; the state is\n"
    "in the checkpoint).\n";

static const char *usage_sample =
    "usage: ncsn sample RUN.h5 [-s sample.KEY=VALUE ...] -o OUT.h5 [-q]\n"
    "\n"
    "Draws new samples from the trained model stored in RUN.h5, without training, and\n"
    "writes a run file of the same layout to OUT.h5. Only sample.* keys and seed may be\n"
    "overridden (e.g. -s sample.T=100 -s sample.eps=auto -s seed=3).\n"
    "\n"
    "  -s, --set KEY=VALUE   override one sample.* key or seed\n"
    "  -o, --output OUT.h5   the file to write (required)\n"
    "  -q, --quiet           no progress on stderr\n"
    "  -h, --help            this text\n";

typedef struct {
    const char *input; /* positional: CONFIG.yaml or RUN.h5 */
    const char *output;
    const char *sets[256];
    int n_sets;
    int quiet;
    const char *checkpoint; /* run: --checkpoint PATH */
    int no_checkpoint;      /* run: --no-checkpoint */
} common_args;

/* Returns 0, 1 when --help was printed, or -1 on a usage error (already reported).
 * checkpoints: whether --checkpoint and --no-checkpoint are options of this command. */
static int parse_common(int argc, char **argv, const char *usage, int checkpoints,
                        common_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage, stdout);
            return 1;
        } else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
            a->quiet = 1;
        } else if (checkpoints && !strcmp(arg, "--no-checkpoint")) {
            a->no_checkpoint = 1;
        } else if (checkpoints && !strcmp(arg, "--checkpoint")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "ncsn %s: %s needs a path\n", argv[0], arg);
                return -1;
            }
            a->checkpoint = argv[++i];
        } else if (!strcmp(arg, "-s") || !strcmp(arg, "--set") || !strcmp(arg, "-o") ||
                   !strcmp(arg, "--output")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ncsn %s: %s needs a value\n", argv[0], arg);
                return -1;
            }
            if (arg[1] == 'o' || arg[2] == 'o') {
                a->output = argv[++i];
            } else {
                if (a->n_sets == 256) {
                    fprintf(stderr, "ncsn %s: more than 256 overrides\n", argv[0]);
                    return -1;
                }
                a->sets[a->n_sets++] = argv[++i];
            }
        } else if (!strncmp(arg, "--set=", 6)) {
            if (a->n_sets < 256) a->sets[a->n_sets++] = arg + 6;
        } else if (!strncmp(arg, "--output=", 9)) {
            a->output = arg + 9;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "ncsn %s: unknown option %s (see ncsn %s --help)\n", argv[0], arg,
                    argv[0]);
            return -1;
        } else if (!a->input) {
            a->input = arg;
        } else {
            fprintf(stderr, "ncsn %s: unexpected argument %s (see ncsn %s --help)\n", argv[0],
                    arg, argv[0]);
            return -1;
        }
    }
    if (!a->output || !a->output[0]) {
        fprintf(stderr, "ncsn %s: -o OUT.h5 is required (see ncsn %s --help)\n", argv[0],
                argv[0]);
        return -1;
    }
    return 0;
}

static int cmd_run(int argc, char **argv) {
    common_args a;
    int p = parse_common(argc, argv, usage_run, 1, &a);
    if (p != 0) return p > 0 ? NCSN_EXIT_OK : NCSN_EXIT_USAGE;
    if (a.checkpoint && a.no_checkpoint) {
        fprintf(stderr, "ncsn run: --checkpoint and --no-checkpoint contradict each other\n");
        return NCSN_EXIT_USAGE;
    }
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    int rc = NCSN_EXIT_OK;
    if (a.input && ncsn_config_load_file(&c, a.input, &err) != 0) rc = NCSN_EXIT_USAGE;
    for (int i = 0; rc == NCSN_EXIT_OK && i < a.n_sets; i++)
        if (ncsn_config_set(&c, a.sets[i], &err) != 0) rc = NCSN_EXIT_USAGE;
    if (rc == NCSN_EXIT_OK && ncsn_config_validate(&c, &err) != 0) rc = NCSN_EXIT_USAGE;
    if (rc == NCSN_EXIT_OK && ncsn_run_file_check_writable(a.output, &err) != 0)
        rc = NCSN_EXIT_RUNTIME;
    if (rc == NCSN_EXIT_OK && a.checkpoint && ncsn_run_file_check_writable(a.checkpoint, &err))
        rc = NCSN_EXIT_RUNTIME; /* checked before any work, like the output */
    char default_checkpoint[4200];
    snprintf(default_checkpoint, sizeof default_checkpoint, "%s.ckpt", a.output);
    if (rc == NCSN_EXIT_OK) {
        ncsn_run_options opt = {a.quiet, 0, NULL, NULL, NULL,
                                a.no_checkpoint ? NULL
                                : a.checkpoint  ? a.checkpoint
                                                : default_checkpoint};
        ncsn_stop_install();
        rc = ncsn_run(&c, a.output, &opt, &err);
    }
    if (rc != NCSN_EXIT_OK) fprintf(stderr, "ncsn run: %s\n", err.msg);
    ncsn_config_free(&c);
    return rc;
}

static int cmd_sample(int argc, char **argv) {
    common_args a;
    int p = parse_common(argc, argv, usage_sample, 0, &a);
    if (p != 0) return p > 0 ? NCSN_EXIT_OK : NCSN_EXIT_USAGE;
    if (!a.input) {
        fprintf(stderr, "ncsn sample: which run file? (see ncsn sample --help)\n");
        return NCSN_EXIT_USAGE;
    }
    for (int i = 0; i < a.n_sets; i++)
        if (strncmp(a.sets[i], "sample.", 7) != 0 && strncmp(a.sets[i], "seed=", 5) != 0) {
            fprintf(stderr, "ncsn sample: --set %s: only sample.* keys and seed can change "
                    "without training again\n", a.sets[i]);
            return NCSN_EXIT_USAGE;
        }
    ncsn_config c;
    memset(&c, 0, sizeof c);
    ncsn_error err = {{0}};
    int rc = NCSN_EXIT_OK;
    if (ncsn_run_file_config(a.input, &c, &err) != 0) rc = NCSN_EXIT_RUNTIME;
    for (int i = 0; rc == NCSN_EXIT_OK && i < a.n_sets; i++)
        if (ncsn_config_set(&c, a.sets[i], &err) != 0) rc = NCSN_EXIT_USAGE;
    if (rc == NCSN_EXIT_OK && ncsn_config_validate(&c, &err) != 0) rc = NCSN_EXIT_USAGE;
    if (rc == NCSN_EXIT_OK && ncsn_run_file_check_writable(a.output, &err) != 0)
        rc = NCSN_EXIT_RUNTIME;
    if (rc == NCSN_EXIT_OK) {
        ncsn_run_options opt = {a.quiet, 0, NULL, NULL, NULL, NULL};
        ncsn_stop_install();
        rc = ncsn_resample(a.input, &c, a.output, &opt, &err);
    }
    if (rc != NCSN_EXIT_OK) fprintf(stderr, "ncsn sample: %s\n", err.msg);
    ncsn_config_free(&c);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage_main, stderr);
        return NCSN_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return NCSN_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("ncsn %s (commit %s)\n", NCSN_VERSION, NCSN_GIT_COMMIT);
        return NCSN_EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "sample")) return cmd_sample(argc - 1, argv + 1);
    if (!strcmp(cmd, "techniques")) return ncsn_cmd_techniques(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep")) return ncsn_cmd_sweep(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return ncsn_cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "ncsn: unknown command '%s' (see ncsn --help)\n", cmd);
    return NCSN_EXIT_USAGE;
}
