/* cli/sample.c: `ncsn sample RUN.h5 [-s sample.KEY=VALUE ...] -o OUT.h5`: the run file's
 * configuration with sample.* (and seed) overrides, validated, then new samples from its
 * trained model (run.h's ncsn_resample), without training; resumable from its checkpoint
 * (OUT.h5.ckpt by default) like `ncsn run`'s sampling. */
#include <stdio.h>
#include <string.h>

#include "ncsn/cli.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/io.h"
#include "ncsn/resources.h"
#include "ncsn/run.h"

static const char *usage_sample =
    "usage: ncsn sample RUN.h5 [-s sample.KEY=VALUE ...] -o OUT.h5 [--force]\n"
    "                   [--checkpoint PATH | --no-checkpoint] [-q]\n"
    "\n"
    "Draws new samples from the trained model stored in RUN.h5, without training, and\n"
    "writes a run file of the same layout to OUT.h5. Only sample.* keys and seed may be\n"
    "overridden (e.g. -s sample.T=100 -s sample.eps=auto -s seed=3).\n"
    "\n"
    "  -s, --set KEY=VALUE   override one sample.* key or seed\n"
    "  -o, --output OUT.h5   the file to write (required); a run file already there is\n"
    "                        kept (exit 2) unless --force\n"
    "  --force               overwrite OUT.h5 when it already holds a run file\n"
    "  --checkpoint PATH     where the sampling's checkpoint lives (default OUT.h5.ckpt)\n"
    "  --no-checkpoint       neither write nor resume from a checkpoint\n"
    "  -q, --quiet           no progress on stderr\n"
    "  -h, --help            this text\n"
    "\n"
    "Checkpoints as for ncsn run's sampling: SIGUSR1, SIGTERM or SIGINT stops at the next\n"
    "level and saves the chains to the checkpoint, as does sample.checkpoint_every\n"
    "(levels); the same command resumes from it, with the samples of an uninterrupted\n"
    "run. (A run file of the exact score has no network to store: no checkpoint.)\n"
    "\n"
    "Exit status: 0 ok, 1 failure at run time, 2 usage, configuration or input error\n"
    "(RUN.h5 missing, unreadable or not a finished run file; OUT.h5 a run file already;\n"
    "more memory needed than this process may use, as for ncsn run),\n"
    "3 interrupted by a signal (no file written; the chains are in the checkpoint).\n";

/* Only sample.* keys and seed change without training again. */
static int sample_keys_only(const ncsn_cli_sets *sets) {
    for (int i = 0; i < sets->n; i++)
        if (strncmp(sets->sets[i], "sample.", 7) != 0 && strncmp(sets->sets[i], "seed=", 5) != 0) {
            fprintf(stderr, "ncsn sample: --set %s: only sample.* keys and seed can change "
                    "without training again\n", sets->sets[i]);
            return 0;
        }
    return 1;
}

int ncsn_cmd_sample(int argc, char **argv) {
    ncsn_cli_args a;
    const int p = ncsn_cli_parse(argc, argv, usage_sample, 1, &a);
    if (p != 0) return p > 0 ? NCSN_EXIT_OK : NCSN_EXIT_USAGE;
    if (!a.input) {
        fprintf(stderr, "ncsn sample: which run file? (see ncsn sample --help)\n");
        return NCSN_EXIT_USAGE;
    }
    if (!sample_keys_only(&a.sets)) return NCSN_EXIT_USAGE;
    if (a.checkpoint && a.no_checkpoint) {
        fprintf(stderr, "ncsn sample: --checkpoint and --no-checkpoint contradict each other\n");
        return NCSN_EXIT_USAGE;
    }
    ncsn_config c;
    memset(&c, 0, sizeof c);
    ncsn_error err = {{0}};
    int rc = NCSN_EXIT_OK;
    /* a run file that is missing, unreadable or not a finished run is a bad input */
    if (ncsn_run_file_config(a.input, &c, &err) != 0) rc = NCSN_EXIT_USAGE;
    if (rc == NCSN_EXIT_OK) rc = ncsn_cli_configure(&c, NULL, &a.sets, &err);
    if (rc == NCSN_EXIT_OK &&
        ncsn_memory_check_config(&c, ncsn_max_threads(), 0, !a.no_checkpoint, &err) != 0)
        rc = NCSN_EXIT_USAGE; /* it cannot fit in memory: refused before any work */
    if (rc == NCSN_EXIT_OK && ncsn_cli_check_output("sample", &a) != 0) {
        ncsn_config_free(&c);
        return NCSN_EXIT_USAGE; /* reported */
    }
    if (rc == NCSN_EXIT_OK && ncsn_run_file_check_writable(a.output, &err) != 0)
        rc = NCSN_EXIT_RUNTIME;
    if (rc == NCSN_EXIT_OK && a.checkpoint && ncsn_run_file_check_writable(a.checkpoint, &err))
        rc = NCSN_EXIT_RUNTIME;
    char default_checkpoint[4200];
    snprintf(default_checkpoint, sizeof default_checkpoint, "%s.ckpt", a.output);
    const char *checkpoint = a.no_checkpoint ? NULL : a.checkpoint ? a.checkpoint
                                                                   : default_checkpoint;
    if (rc == NCSN_EXIT_OK) {
        ncsn_remove_stale_temporaries(a.output); /* left by a writer killed mid-write */
        if (checkpoint) ncsn_remove_stale_temporaries(checkpoint);
        ncsn_run_options opt = {a.quiet, NULL, NULL, NULL, checkpoint, NULL, NULL};
        ncsn_stop_install();
        rc = ncsn_resample(a.input, &c, a.output, &opt, &err);
    }
    if (rc != NCSN_EXIT_OK) fprintf(stderr, "ncsn sample: %s\n", err.msg);
    ncsn_config_free(&c);
    return rc;
}
