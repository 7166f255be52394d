/* cli.h: the `ncsn` command line: one function per command, dispatched by src/cli/main.c,
 * and the argument handling they share (src/cli/args.c). Each command takes its own argv
 * with argv[0] the command's name and returns an exit code (common.h: 0 ok, 1 failure at
 * run time, 2 usage or configuration, 3 interrupted).
 *   ncsn_cmd_run          `ncsn run`: train, sample, measure, write one run file (cli/run.c)
 *   ncsn_cmd_sample       `ncsn sample`: new samples from a trained run file (cli/sample.c)
 *   ncsn_cmd_sweep        `ncsn sweep`: every configuration of a sweep file, over MPI ranks
 *                         (cli/sweep.c)
 *   ncsn_cmd_techniques   `ncsn techniques`: what the hyperparameter techniques
 *                         (docs/computation.md, Techniques) give for a configuration, an
 *                         HDF5 data set, or a dimension and sigma_1
 *                         (cli/techniques.c)
 *   (`ncsn bench` is bench.h's ncsn_cmd_bench.)
 * Shared:
 *   ncsn_cli_sets         the -s KEY=VALUE overrides of a command line
 *   ncsn_cli_add_set      one more override ("ncsn CMD: more than 256 overrides")
 *   ncsn_cli_args, ncsn_cli_parse  the options of run and sample (INPUT -s -o -q --force,
 *                         and run's --checkpoint / --no-checkpoint)
 *   ncsn_cli_not_an_override  a positional KEY=VALUE that is no file: the hint to use -s
 *   ncsn_cli_check_output an output that holds a run file is kept unless --force
 *   ncsn_cli_configure    a file and overrides merged into a configuration, validated */
#ifndef NCSN_CLI_H
#define NCSN_CLI_H

#include "ncsn/common.h"
#include "ncsn/config.h"

int ncsn_cmd_run(int argc, char **argv);
int ncsn_cmd_sample(int argc, char **argv);
int ncsn_cmd_sweep(int argc, char **argv);
int ncsn_cmd_techniques(int argc, char **argv);

#define NCSN_CLI_MAX_SETS 256

typedef struct {
    const char *sets[NCSN_CLI_MAX_SETS]; /* "KEY=VALUE", in command-line order */
    int n;
} ncsn_cli_sets;

/* Appends value; -1 with "ncsn CMD: more than 256 overrides" on stderr when full. */
int ncsn_cli_add_set(const char *cmd, ncsn_cli_sets *s, const char *value);

typedef struct {
    const char *input;      /* positional: CONFIG.yaml (run) or RUN.h5 (sample) */
    const char *output;     /* -o / --output (required) */
    ncsn_cli_sets sets;
    int quiet;
    const char *checkpoint; /* run: --checkpoint PATH */
    int no_checkpoint;      /* run: --no-checkpoint */
    int force;              /* --force: overwrite an existing run file at output */
} ncsn_cli_args;

/* argv of run or sample into a; usage is the command's --help text. checkpoints: whether
 * --checkpoint and --no-checkpoint are options of this command. Returns 0, 1 when --help
 * was printed, or -1 on a usage error (already reported). */
int ncsn_cli_parse(int argc, char **argv, const char *usage, int checkpoints,
                   ncsn_cli_args *a);

/* A positional argument arg of command cmd that contains '=' and names no file (the
 * Hydra habit `ncsn run train.steps=100`): -1 after "ncsn CMD: ARG: not a file; to set a
 * key use -s ARG" on stderr; else 0. */
int ncsn_cli_not_an_override(const char *cmd, const char *arg);

/* a->output already holds a run file (io.h's ncsn_run_file_exists) and --force was not
 * given: -1 after "ncsn CMD: OUT: exists and holds a finished run file; --force
 * overwrites it" on stderr; else 0. Nothing else at the path is protected: a file that
 * is not a run file is replaced as before. */
int ncsn_cli_check_output(const char *cmd, const ncsn_cli_args *a);

/* The YAML file (NULL: none) merged over c, then the overrides in order, then validation.
 * NCSN_EXIT_OK, or NCSN_EXIT_USAGE with err filled. */
int ncsn_cli_configure(ncsn_config *c, const char *file, const ncsn_cli_sets *sets,
                       ncsn_error *err);

#endif
