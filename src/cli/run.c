/* cli/run.c: `ncsn run [CONFIG.yaml] [-s KEY=VALUE ...] -o OUT.h5`: the configuration
 * (defaults, file, overrides, validated), the output and checkpoint paths checked before
 * any work, then the run (run.h), resumable from its checkpoint (OUT.h5.ckpt by default). */
#include <stdio.h>

#include "ncsn/cli.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/io.h"
#include "ncsn/resources.h"
#include "ncsn/run.h"

static const char *usage_run =
    "usage: ncsn run [CONFIG.yaml] [-s KEY=VALUE ...] -o OUT.h5 [--force]\n"
    "                [--checkpoint PATH] [-q]\n"
    "\n"
    "Trains the score network, runs the sampler, measures the samples and writes\n"
    "everything to OUT.h5 (written under a temporary name, renamed when complete).\n"
    "Without CONFIG the notebook's experiment runs (every key has its default).\n"
    "\n"
    "  -s, --set KEY=VALUE   override one key, e.g. -s train.steps=1000 -s noise.L=auto\n"
    "  -o, --output OUT.h5   the run file to write (required); a run file already there\n"
    "                        is kept (exit 2) unless --force\n"
    "  --force               overwrite OUT.h5 when it already holds a run file\n"
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
    "2 usage, configuration or input error (an input missing or unreadable, OUT.h5 a run\n"
    "file already, a run whose estimated peak memory exceeds what this process may use:\n"
    "NCSN_MEMORY_LIMIT bytes, else the cgroup's limit, else MemAvailable), 3 interrupted\n"
    "by a signal (no run file; the state is in the checkpoint).\n";

int ncsn_cmd_run(int argc, char **argv) {
    ncsn_cli_args a;
    const int p = ncsn_cli_parse(argc, argv, usage_run, 1, &a);
    if (p != 0) return p > 0 ? NCSN_EXIT_OK : NCSN_EXIT_USAGE;
    if (a.checkpoint && a.no_checkpoint) {
        fprintf(stderr, "ncsn run: --checkpoint and --no-checkpoint contradict each other\n");
        return NCSN_EXIT_USAGE;
    }
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    int rc = ncsn_cli_configure(&c, a.input, &a.sets, &err);
    /* a run that cannot fit in memory is refused before anything is read or written */
    if (rc == NCSN_EXIT_OK &&
        ncsn_memory_check_config(&c, ncsn_max_threads(), 1, !a.no_checkpoint, &err) != 0)
        rc = NCSN_EXIT_USAGE;
    if (rc == NCSN_EXIT_OK && ncsn_cli_check_output("run", &a) != 0) {
        ncsn_config_free(&c);
        return NCSN_EXIT_USAGE; /* reported */
    }
    if (rc == NCSN_EXIT_OK && ncsn_run_file_check_writable(a.output, &err) != 0)
        rc = NCSN_EXIT_RUNTIME;
    if (rc == NCSN_EXIT_OK && a.checkpoint && ncsn_run_file_check_writable(a.checkpoint, &err))
        rc = NCSN_EXIT_RUNTIME; /* checked before any work, like the output */
    char default_checkpoint[4200];
    snprintf(default_checkpoint, sizeof default_checkpoint, "%s.ckpt", a.output);
    if (rc == NCSN_EXIT_OK) {
        /* what an earlier `ncsn run` of this output left when killed while writing */
        ncsn_remove_stale_temporaries(a.output);
        if (!a.no_checkpoint) ncsn_remove_stale_temporaries(a.checkpoint ? a.checkpoint
                                                                          : default_checkpoint);
        ncsn_run_options opt = {a.quiet, NULL, NULL, NULL,
                                a.no_checkpoint ? NULL
                                : a.checkpoint  ? a.checkpoint
                                                : default_checkpoint,
                                NULL, NULL};
        ncsn_stop_install();
        rc = ncsn_run(&c, a.output, &opt, &err);
    }
    if (rc != NCSN_EXIT_OK) fprintf(stderr, "ncsn run: %s\n", err.msg);
    ncsn_config_free(&c);
    return rc;
}
