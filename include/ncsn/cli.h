/* cli.h: the subcommands of the `ncsn` command line, dispatched by src/cli/main.c.
 * Each takes its own argv with argv[0] the subcommand's name and returns an exit code
 * (common.h: 0 ok, 1 failure at run time, 2 usage or configuration).
 *   ncsn_cmd_techniques   `ncsn techniques`: what the techniques of SPEC.md section 6 give
 *                         for a configuration, an HDF5 data set, or a dimension and sigma_1
 *   ncsn_cmd_sweep        `ncsn sweep`: every configuration of a sweep file, over MPI ranks */
#ifndef NCSN_CLI_H
#define NCSN_CLI_H

int ncsn_cmd_techniques(int argc, char **argv);
int ncsn_cmd_sweep(int argc, char **argv);

#endif
