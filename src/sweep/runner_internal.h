/* sweep/runner_internal.h: what the grid runner (sweep/runner.c) shares with the halving
 * runner (sweep/halving_run.c) and no one else: the sweep directory's ownership, its
 * journal, and rank 0's verdict on every rank.
 *   ncsn_sweep_own_dir    DIR/sweep.txt created, or checked against the sweep's text
 *   ncsn_sweep_journal    one line appended to DIR/journal.log
 *   ncsn_world_share      rank 0's value on every rank */
#ifndef NCSN_SWEEP_RUNNER_INTERNAL_H
#define NCSN_SWEEP_RUNNER_INTERNAL_H

#include "ncsn/common.h"
#include "ncsn/runner.h"

/* DIR as the directory of the sweep whose canonical text is given: created with
 * DIR/sweep.txt when new (journal: created, and queued for each of ids, n_ids, when ids is
 * not NULL); NCSN_EXIT_USAGE when it holds another sweep, NCSN_EXIT_RUNTIME when it
 * cannot be written, else 0. */
int ncsn_sweep_own_dir(const char *dir, const char *canonical, const char *const *ids,
                       int n_ids, ncsn_error *err);
/* One `time=... event=EVENT rest` line appended to DIR/journal.log with one write(). */
void ncsn_sweep_journal(const char *dir, const char *event, const char *fmt, ...)
    NCSN_PRINTF(3, 4);
/* Rank 0's value of status on every rank. */
int ncsn_world_share(const ncsn_world *w, int status);

#endif
