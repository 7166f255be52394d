/* sweep/state.c: a run's state in a sweep directory, the one definition (summary.h) that
 * the runner and the summary share, from which of the run's files exist. */
#include <sys/stat.h>

#include "ncsn/summary.h"
#include "ncsn/text.h"

ncsn_run_state ncsn_run_state_of(int has_run_file, int has_failed, int has_claim) {
    if (has_failed) return NCSN_RUN_FAILED;
    if (has_run_file) return NCSN_RUN_FINISHED;
    if (has_claim) return NCSN_RUN_RUNNING;
    return NCSN_RUN_QUEUED;
}

static int exists(const char *dir, const char *sub, const char *id, const char *ext) {
    char *path = ncsn_xasprintf("%s/%s/%s%s", dir, sub, id, ext);
    struct stat st;
    const int found = stat(path, &st) == 0;
    free(path);
    return found;
}

ncsn_run_state ncsn_sweep_run_state(const char *dir, const char *id) {
    return ncsn_run_state_of(exists(dir, "runs", id, ".h5"), exists(dir, "runs", id, ".failed"),
                             exists(dir, "claims", id, ""));
}
