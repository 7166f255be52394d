/* summary.h: the sweep's directory layout and its summary file, DIR/sweep.h5.
 *   DIR/runs/<id>.h5        a run file (io.h), written atomically
 *   DIR/runs/<id>.failed    text: why a run failed without a run file (e.g. a
 *                           configuration error found while resolving "auto")
 *   DIR/claims/<id>         exists while (or since) a rank took the run
 *   DIR/logs/<id>.log       the run's own progress log
 *   DIR/journal.log         append-only state changes, one key=value line each
 *   DIR/sweep.txt           the expanded sweep (ncsn_sweep.canonical): identifies it
 * A run's state, from which of its files exist (ncsn_run_state_of: the one definition,
 * which the runner, this summary and analysis/results.py all follow), in this precedence:
 *   failed    runs/<id>.failed: every failure leaves it; a run whose training diverged or
 *             with too many bad samples also has a run file, whose status says how
 *   finished  runs/<id>.h5 and no runs/<id>.failed (a run file that cannot be read is set
 *             aside by the next `ncsn sweep`, and the run is queued again)
 *   running   claims/<id> alone: a rank took it (or died holding it)
 *   queued    none of them
 * A run's status in sweep.h5: wherever a run file exists, its `status` attribute
 * (complete, diverged, bad_samples; "corrupt" when it cannot be read), else
 * "failed", "running" or "queued" as above.
 *
 * DIR/sweep.h5 (format_version 1), rewritten atomically (temporary name + rename):
 *   /runs        compound dataset, one row per run in expansion order, fields:
 *                id, group (str), repeat (int64), status (str), seed (uint64),
 *                each swept key under its dotted name with its resolved value (from the
 *                run file's /config attributes when it exists, else the configuration;
 *                float64 for real keys, int64 for integer and bool keys, str for string
 *                and array keys, arrays as YAML flow text), then the metrics mmd2, swd,
 *                mode_weight_error, nll_true, final_loss, train_seconds, sample_seconds,
 *                noise_floor_mmd2, noise_floor_swd, fd, noise_floor_fd, nn_ratio,
 *                classifier_accuracy (float64, NaN when absent), and
 *                error (str, why a run failed: runs/<id>.failed's text, for a failed run
 *                with a run file (diverged, bad_samples) too; why a run file cannot
 *                be read for a corrupt one; empty otherwise)
 *   /run/<id>    external link to runs/<id>.h5 (only for runs that have a run file), so
 *                h5py.File("DIR/sweep.h5")["run/<id>/samples"] works
 *   root attributes: format_version, ncsn_version, n_runs, n_complete, n_failed,
 *                n_running, n_queued, updated (ISO 8601 UTC), sweep (the canonical text)
 *   ncsn_sweep_summary_write   scan DIR and rewrite DIR/sweep.h5 */
#ifndef NCSN_SUMMARY_H
#define NCSN_SUMMARY_H

#include "ncsn/common.h"
#include "ncsn/sweep.h"

#define NCSN_SUMMARY_FORMAT_VERSION 1

int ncsn_sweep_summary_write(const char *dir, const ncsn_sweep *s, ncsn_error *err);

/* A run's state (above); the values index counts. */
typedef enum {
    NCSN_RUN_QUEUED,
    NCSN_RUN_RUNNING,
    NCSN_RUN_FINISHED,
    NCSN_RUN_FAILED,
} ncsn_run_state;
/* From which of runs/<id>.h5, runs/<id>.failed and claims/<id> exist. */
ncsn_run_state ncsn_run_state_of(int has_run_file, int has_failed, int has_claim);
/* The same, looking at DIR (sweep/state.c): three stat() calls. */
ncsn_run_state ncsn_sweep_run_state(const char *dir, const char *id);
/* Every run's state from one listing of DIR/runs and one of DIR/claims (two directory
 * reads for the whole sweep instead of three stat() calls a run): state[r] (an
 * ncsn_run_state) and, when not NULL, has_run_file[r], both (s->n_runs). A directory that
 * does not exist is empty. 0, or -1 with err when one cannot be read. */
int ncsn_sweep_states(const char *dir, const ncsn_sweep *s, unsigned char *state,
                      unsigned char *has_run_file, ncsn_error *err);
/* NULL when DIR/runs/<id>.h5 of run r (index in s->runs) can be read as the summary reads
 * it, else why not (malloc'd, "runs/c0004.h5: cannot open as HDF5 (...)"): the test that
 * makes a row "corrupt". */
char *ncsn_sweep_run_file_problem(const char *dir, const ncsn_sweep *s, int r);
/* A run file that cannot be read is not a finished run (sweep/state.c): when run r reads
 * finished but ncsn_sweep_run_file_problem finds its file unreadable, moves the file aside
 * to runs/<id>.h5.corrupt (runs/<id>.h5.corrupt.1, .2, ... when taken; never removed) and
 * removes claims/<id>, so the run reads queued again; returns why (malloc'd; no quotes,
 * backslashes or control characters) and the new name, relative to DIR, in aside. NULL
 * when there is nothing to do; "cannot move it aside" in the reason, and aside empty,
 * when the rename failed (the run stays as it was). */
char *ncsn_sweep_set_aside_corrupt(const char *dir, const ncsn_sweep *s, int r, char *aside,
                                   size_t aside_size);

/* Details of DIR/sweep.h5 and of the calls:
 * - Statuses: besides those above, "corrupt": runs/<id>.h5 exists but cannot be used (not
 *   HDF5, truncated, no format_version or status, newer format_version, a metric or /config
 *   attribute of the wrong type); `error` says why ("runs/c0004.h5: cannot open as HDF5
 *   (truncated file: ...)"), the row keeps the configuration's values, and no /run/<id>
 *   link is made. The summary itself never fails because of one run.
 * - Counts: n_failed counts every finished run that is not "complete" (failed, diverged,
 *   bad_samples, corrupt), so n_complete + n_failed + n_running + n_queued = n_runs.
 *   A claim left by a rank that died reads "running" until the run is redone.
 * - Strings in /runs (id, group, status, string and array keys, error) are fixed-length
 *   UTF-8, NUL-padded, each column as wide as its longest value. h5py (3.x) returns string
 *   fields of a compound dataset as bytes whatever their HDF5 string kind; fixed-length ones
 *   come back as a numpy "S" array (variable-length ones would be an object array of bytes):
 *       r = h5py.File("DIR/sweep.h5")["runs"][()]
 *       status = np.char.decode(r["status"], "utf-8")        # str array
 *       r["status"] == b"complete"                             # compare with bytes
 *       df = pandas.DataFrame(r); df["status"] = df["status"].str.decode("utf-8")
 *   Root attributes are variable-length UTF-8: h5py returns them as str.
 * - `error` holds at most 1024 bytes (cut at a character boundary, ending "..."); the whole
 *   text stays in runs/<id>.failed.
 * - Swept keys: a key still "auto" (no run file yet) reads NaN (real) or -1 (integer). A
 *   swept "seed" has no column of its own: the `seed` column is the run's seed.
 * - /run/<id> holds file name "runs/<id>.h5", relative. HDF5 (1.10 and later) looks for a
 *   relative external link's file, in order: under $HDF5_EXT_PREFIX, under the link access
 *   list's prefix (H5Pset_elink_prefix), in the directory of the file holding the link (as
 *   that file was opened, made absolute at open time), then relative to the working
 *   directory; a prefixed name is used only when that file exists. So the links work from
 *   any working directory and after moving or copying DIR as a whole, unless
 *   HDF5_EXT_PREFIX names a directory that has a runs/<id>.h5 of its own. h5py users need
 *   nothing (h5py's File cannot set an elink prefix, and needs none).
 * - Concurrency: several processes may call these on one DIR. Each holds an exclusive
 *   flock() on DIR/.summary.lock from its scan of DIR to its rename, so summaries replace
 *   each other in the order they were scanned; writes go to "DIR/sweep.h5.tmp.<host>.<pid>",
 *   are fsync'd and renamed over DIR/sweep.h5 (readers see the old file or the new one).
 *   Where flock() is not supported a POSIX record lock is used, and where neither is, the
 *   calls go on unserialised (still atomic). A temporary file left by a writer that died is
 *   removed by the next one.
 * - Cost: every call opens each run file (read-only, no HDF5 file locking: about 1 ms each
 *   on a local disk) and reads only its root attributes, /metrics scalars and the swept
 *   keys' /config attributes; ncsn_summary_update (below) opens only the new ones.
 *   ncsn_sweep_summary_refresh  as ncsn_sweep_summary_write, except that it returns 0 at
 *                               once when another process is already waiting for
 *                               DIR/.summary.lock (it holds DIR/.summary.wait): that
 *                               process's scan starts later, so its summary will include
 *                               every change made before this call. For a rank refreshing
 *                               after each run: at most one waiter, no queue of full
 *                               scans. Use ncsn_sweep_summary_write for the last summary of
 *                               a sweep, when the caller needs the file to be written on
 *                               return. */
int ncsn_sweep_summary_refresh(const char *dir, const ncsn_sweep *s, ncsn_error *err);

/* A summary that keeps its rows between rewrites, for a process that rewrites DIR/sweep.h5
 * again and again (the runner): each ncsn_summary_update lists DIR/runs and DIR/claims
 * once (ncsn_sweep_states) and reads again only the runs whose listing changed since the
 * last one (a run file or runs/<id>.failed appeared or went, a claim came or went); the
 * others' rows are kept, a run file being written once and never changed in place. So an
 * update costs two directory reads, the new runs' files and the table's write, not one
 * open of every run file. It holds the same locks as ncsn_sweep_summary_write (and, with
 * coalesce, returns at once like ncsn_sweep_summary_refresh). A run file replaced under
 * the same name between two updates (another process's --retry-failed, or a corrupt file
 * set aside and its run redone) keeps its old row until a summary from scratch
 * (ncsn_sweep_summary_write), which is what the runner writes last.
 *   ncsn_summary_new     NULL with err when a swept key is not a configuration key
 *   ncsn_summary_update  0, or -1 with err
 *   ncsn_summary_free    safe on NULL; s must outlive the summary */
typedef struct ncsn_summary ncsn_summary;
ncsn_summary *ncsn_summary_new(const ncsn_sweep *s, ncsn_error *err);
int ncsn_summary_update(ncsn_summary *m, const char *dir, int coalesce, ncsn_error *err);
void ncsn_summary_free(ncsn_summary *m);

#endif
