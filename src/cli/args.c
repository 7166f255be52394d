/* cli/args.c: argument handling the commands share (cli.h): overrides, the options of
 * `ncsn run` and `ncsn sample`, a positional argument that looks like an override, an
 * output that already holds a run file, and a configuration from a file and overrides. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ncsn/cli.h"
#include "ncsn/io.h"

int ncsn_cli_add_set(const char *cmd, ncsn_cli_sets *s, const char *value) {
    if (s->n == NCSN_CLI_MAX_SETS) {
        fprintf(stderr, "ncsn %s: more than %d overrides\n", cmd, NCSN_CLI_MAX_SETS);
        return -1;
    }
    s->sets[s->n++] = value;
    return 0;
}

/* Option arg (at argv[*i]) with its value in argv[*i + 1]: -s/--set, -o/--output, and
 * --checkpoint when allowed. Returns 1 when arg is such an option (taken), 0 when it is
 * not, -1 on a usage error (reported). */
static int take_value(int argc, char **argv, int *i, int checkpoints, ncsn_cli_args *a) {
    const char *arg = argv[*i];
    if (checkpoints && !strcmp(arg, "--checkpoint")) {
        if (*i + 1 >= argc || !argv[*i + 1][0]) {
            fprintf(stderr, "ncsn %s: %s needs a path\n", argv[0], arg);
            return -1;
        }
        a->checkpoint = argv[++*i];
        return 1;
    }
    const int output = !strcmp(arg, "-o") || !strcmp(arg, "--output");
    if (!output && strcmp(arg, "-s") != 0 && strcmp(arg, "--set") != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "ncsn %s: %s needs a value\n", argv[0], arg);
        return -1;
    }
    if (output) a->output = argv[++*i];
    else if (ncsn_cli_add_set(argv[0], &a->sets, argv[++*i]) != 0) return -1;
    return 1;
}

int ncsn_cli_parse(int argc, char **argv, const char *usage, int checkpoints,
                   ncsn_cli_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const int taken = take_value(argc, argv, &i, checkpoints, a);
        if (taken < 0) return -1;
        if (taken) continue;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage, stdout);
            return 1;
        } else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
            a->quiet = 1;
        } else if (!strcmp(arg, "--force")) {
            a->force = 1;
        } else if (checkpoints && !strcmp(arg, "--no-checkpoint")) {
            a->no_checkpoint = 1;
        } else if (!strncmp(arg, "--set=", 6)) {
            if (ncsn_cli_add_set(argv[0], &a->sets, arg + 6) != 0) return -1;
        } else if (!strncmp(arg, "--output=", 9)) {
            a->output = arg + 9;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "ncsn %s: unknown option %s (see ncsn %s --help)\n", argv[0], arg,
                    argv[0]);
            return -1;
        } else if (ncsn_cli_not_an_override(argv[0], arg) != 0) {
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

int ncsn_cli_not_an_override(const char *cmd, const char *arg) {
    struct stat st;
    if (!strchr(arg, '=') || stat(arg, &st) == 0) return 0;
    fprintf(stderr, "ncsn %s: %s: not a file; to set a key use -s %s\n", cmd, arg, arg);
    return -1;
}

int ncsn_cli_check_output(const char *cmd, const ncsn_cli_args *a) {
    if (a->force || !ncsn_run_file_exists(a->output)) return 0;
    fprintf(stderr, "ncsn %s: %s: exists and holds a finished run file; --force overwrites "
            "it\n", cmd, a->output);
    return -1;
}

int ncsn_cli_configure(ncsn_config *c, const char *file, const ncsn_cli_sets *sets,
                       ncsn_error *err) {
    if (file && ncsn_config_load_file(c, file, err) != 0) return NCSN_EXIT_USAGE;
    for (int i = 0; i < sets->n; i++)
        if (ncsn_config_set(c, sets->sets[i], err) != 0) return NCSN_EXIT_USAGE;
    if (ncsn_config_validate(c, err) != 0) return NCSN_EXIT_USAGE;
    return NCSN_EXIT_OK;
}
