/* sweep/state.c: a run's state in a sweep directory, the one definition (summary.h) that
 * the runner and the summary share, from which of the run's files exist; and setting aside
 * a run file that cannot be read, so that its run is queued again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Quotes, backslashes and control characters become spaces: the text goes into one
 * journal line as reason="...". */
static void plain_text(char *s) {
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

char *ncsn_sweep_set_aside_corrupt(const char *dir, const ncsn_sweep *s, int r, char *aside,
                                   size_t aside_size) {
    NCSN_ASSERT(dir && s && r >= 0 && r < s->n_runs && aside && aside_size > 0);
    const char *id = s->runs[r].id;
    aside[0] = '\0';
    if (ncsn_sweep_run_state(dir, id) != NCSN_RUN_FINISHED) return NULL;
    char *why = ncsn_sweep_run_file_problem(dir, s, r);
    if (!why) return NULL;
    char *from = ncsn_xasprintf("%s/runs/%s.h5", dir, id);
    int moved = 0, e = EEXIST;
    for (int k = 0; k < 1000 && !moved && e == EEXIST; k++) {
        if (k == 0) snprintf(aside, aside_size, "runs/%s.h5.corrupt", id);
        else snprintf(aside, aside_size, "runs/%s.h5.corrupt.%d", id, k);
        char *to = ncsn_xasprintf("%s/%s", dir, aside);
        struct stat st;
        if (lstat(to, &st) == 0) e = EEXIST; /* an earlier damaged file: keep it */
        else if (rename(from, to) == 0) moved = 1;
        else e = errno;
        free(to);
    }
    free(from);
    if (moved) { /* the claim of the run that wrote it: without it the run is queued */
        char *claim = ncsn_xasprintf("%s/claims/%s", dir, id);
        unlink(claim);
        free(claim);
    } else {
        char *more = ncsn_xasprintf("%s; cannot move it aside (%s)", why, strerror(e));
        free(why);
        why = more;
        aside[0] = '\0';
    }
    plain_text(why);
    return why;
}
