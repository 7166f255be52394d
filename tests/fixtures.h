/* fixtures.h: what the CUnit tests build again and again, in one place (fixtures.c).
 *   SETS("k=v", ...)     a NULL-terminated list of --set style assignments
 *   NCSN_CHECK_MSG       two messages equal, both printed when not; a refusal's message
 *   configurations       the defaults with assignments applied (and validated)
 *   files                paths under the test's directory, fresh directories, whole files
 *                        read and written, existence, the writers' "*.tmp.*" files left
 *   mixtures, levels     the notebook's mixture; geometric noise levels as floats
 *   runs                 a hand-built run's output: every array ncsn_run_output points to
 *   threads              loops over OpenMP thread counts that restore the count they found
 *   kernel variants      back to the CPU's choice after forcing AVX2+FMA and the baseline
 *   HDF5, Python         no HDF5 handle left open; whether /usr/bin/python3 has h5py
 * Every failure stops the running test (CU_ASSERT_FATAL) after printing what failed. */
#ifndef NCSN_TEST_FIXTURES_H
#define NCSN_TEST_FIXTURES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "ncsn/config.h"
#include "ncsn/data.h"
#include "ncsn/io.h"
#include "ncsn/metrics.h"
#include "ncsn/model.h"

#define SETS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Compares messages and prints both when they differ. */
#define NCSN_CHECK_MSG(got, want) ncsn_fix_check_msg(got, want, __FILE__, __LINE__)
void ncsn_fix_check_msg(const char *got, const char *want, const char *file, int line);
/* An operation was refused: rc is -1 and its message is want; what differs is printed with
 * file and line (the caller's). */
/* Every tensor of the gradient got within rel of want's largest entry in that tensor
 * (both blocks laid out like m's parameters); a tensor that is not, or every one under
 * NCSN_TEST_VERBOSE, is printed with label. */
void ncsn_fix_check_grads_close(const ncsn_model *m, const float *got, const float *want,
                                double rel, const char *label);
/* The network's input options, numbered for loops: 0 sigma, 1 log sigma, 2 sigma with
 * scale_by_sigma, 3 none (the unconditional net(x) / sigma). */
enum { NCSN_FIX_MODEL_OPTIONS = 4 };
void ncsn_fix_model_alloc(ncsn_model *m, int D, int E, int H, int option);
void ncsn_fix_check_refused(int rc, const char *got, const char *want, const char *file,
                            int line);

/* ---- configurations ------------------------------------------------------------------ */

/* One assignment ("key=value") applied to c; the test stops when it is refused. */
void ncsn_fix_set(ncsn_config *c, const char *assignment);
/* c = the defaults with each of sets (NULL-terminated; NULL for none) applied. */
void ncsn_fix_config(ncsn_config *c, const char *const *sets);
/* The same, then validated. */
void ncsn_fix_config_valid(ncsn_config *c, const char *const *sets);

/* ---- files --------------------------------------------------------------------------- */

/* buf = name under the test's temporary directory; returns buf. */
const char *ncsn_fix_path(char *buf, size_t size, const char *name);
/* The same, made a directory (or one already there). */
const char *ncsn_fix_dir(char *buf, size_t size, const char *name);
void ncsn_fix_mkdir(const char *path);
int ncsn_fix_exists(const char *path);
/* Entries of dir whose name contains ".tmp." (a writer's temporary files), each printed;
 * -1 when dir cannot be read. */
int ncsn_fix_count_tmp_files(const char *dir);
/* The whole file, malloc'd with a NUL after its *size bytes; the test stops when it
 * cannot be read. */
char *ncsn_fix_read_file(const char *path, size_t *size);
/* path = the size bytes of data (replaced). */
void ncsn_fix_write_file(const char *path, const void *data, size_t size);
/* text written to name under the test's directory; returns the path (valid for 8 calls). */
const char *ncsn_fix_write_tmp(const char *name, const char *text);

/* ---- mixtures and noise levels ------------------------------------------------------- */

/* The notebook's mixture: weights (0.95, 0.05), means (-5,-5), (5,5), identity covariance. */
void ncsn_fix_notebook_gmm(ncsn_gmm *g);
/* out (L) = the geometric levels from sigma_1 down to sigma_L, as floats. */
void ncsn_fix_sigmas(double sigma_1, double sigma_L, int L, float *out);

/* ---- a hand-built run ---------------------------------------------------------------- */

/* Everything a run file is written from, owned here; out points at all of it. */
typedef struct {
    ncsn_config cfg;
    ncsn_model model;      /* dataset.dim and the model keys of cfg */
    double *sigmas;        /* (L) */
    float *samples;        /* (n, D) */
    int64_t *loss_step;    /* (n_loss) */
    float *loss;           /* (n_loss) */
    double *mode_weights;  /* (K) */
    double *score_error;   /* (L) */
    ncsn_metrics metrics;  /* zero, but for K, L and the two arrays */
    ncsn_run_output out;
} ncsn_fix_run;

/* A run of a copy of cfg, every value zero; the caller fills them in. */
void ncsn_fix_run_init(ncsn_fix_run *r, const ncsn_config *cfg, int L, int K, int n,
                       int n_loss, const char *status);
/* Writes the run file at path; prints the error and returns -1 when that fails. */
int ncsn_fix_run_write(const ncsn_fix_run *r, const char *path);
void ncsn_fix_run_free(ncsn_fix_run *r);

/* ---- thread counts ------------------------------------------------------------------- */

/* for (ncsn_fix_threads t = ncsn_fix_threads_range(1, 3); ncsn_fix_threads_next(&t);)
 * runs its body with t.threads = 1, 2, 3 OpenMP threads, and restores the count it found
 * once the loop ends (not after a break). Without OpenMP the body runs with the nominal
 * counts on one thread. */
typedef struct {
    int threads, last, saved;
} ncsn_fix_threads;
ncsn_fix_threads ncsn_fix_threads_range(int first, int last);
int ncsn_fix_threads_next(ncsn_fix_threads *t);

/* ---- kernel variants ---------------------------------------------------------------- */

/* After a test that forced each kernel variant in turn: the CPU's own choice again,
 * printed; on a CPU without AVX2+FMA both runs took the baseline, so the test is counted
 * as skipped. */
void ncsn_fix_isa_auto(void);

/* ---- HDF5 and Python ----------------------------------------------------------------- */

/* A test to register last: every HDF5 handle the module and the tests opened is closed. */
void ncsn_fix_test_no_hdf5_open(void);
/* 1 when /usr/bin/python3 imports h5py; else the running test is counted as skipped. */
int ncsn_fix_have_h5py(void);

#endif
