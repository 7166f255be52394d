/* cli/main.c: the `ncsn` command line: dispatch to one function per command (cli.h).
 *   ncsn run [CONFIG.yaml] [-s KEY=VALUE ...] -o OUT.h5 [-q]   train, sample, measure, write
 *                                        (resumable: its checkpoint is OUT.h5.ckpt)  cli/run.c
 *   ncsn sample RUN.h5 [-s sample.KEY=VALUE ...] -o OUT.h5 [-q] new samples from a trained
 *                                                               run          cli/sample.c
 *   ncsn sweep SWEEP.yaml -o DIR                                a sweep, over MPI ranks
 *                                                                            cli/sweep.c
 *   ncsn techniques ...                                         hyperparameter techniques
 *                                                                            cli/techniques.c
 *   ncsn bench [--quick] [--json]                               speed figures  cli/bench.c
 * Exit status: 0 ok, 1 failure at run time, 2 usage, configuration or input error (an input
 * missing or unreadable, a finished run file at -o without --force), 3 interrupted
 * (SIGUSR1, SIGTERM or SIGINT: stopped at the next training step or sampling level; no run
 * file, the state in a checkpoint; run, sample and sweep install the handlers). */
#include <stdio.h>
#include <string.h>

#include "ncsn/bench.h"
#include "ncsn/cli.h"
#include "ncsn/common.h"

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
    "exit status: 0 ok, 1 failure at run time, 2 usage, configuration or input error,\n"
    "3 interrupted by SIGUSR1, SIGTERM or SIGINT (no result written; the same command\n"
    "continues: run and sweep resume from their checkpoints)\n";

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
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } commands[] = {{"run", ncsn_cmd_run},
                    {"sample", ncsn_cmd_sample},
                    {"techniques", ncsn_cmd_techniques},
                    {"sweep", ncsn_cmd_sweep},
                    {"bench", ncsn_cmd_bench}};
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(cmd, commands[k].name)) return commands[k].fn(argc - 1, argv + 1);
    fprintf(stderr, "ncsn: unknown command '%s' (see ncsn --help)\n", cmd);
    return NCSN_EXIT_USAGE;
}
