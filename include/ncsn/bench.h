/* bench.h: `ncsn bench`, the performance table (prints, never asserts).
 *   ncsn_cmd_bench   training microseconds per step and sampling network evaluations per
 *                    second of the notebook's network at any D and H (--dim, --hidden),
 *                    each beside the straightforward reference path, as FLOP rates against
 *                    the FP32 peak measured in the same run, for 1 and 2 threads; --json,
 *                    --quick; --sweep times a real sweep. */
#ifndef NCSN_BENCH_H
#define NCSN_BENCH_H

/* argv[0] is "bench". Returns an exit status (0, or 2 for a usage error). */
int ncsn_cmd_bench(int argc, char **argv);

#endif
