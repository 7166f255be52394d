/* io/checkpoint.c: the checkpoint of a run in flight (layout in checkpoint.h), from which the
 * run continues with exactly the results of an uninterrupted run.
 *
 * Written like the run file (io/runfile.c): built in memory, written to "<path>.tmp.<pid>",
 * fsync'd and renamed into place. Every dataset is chunked with a Fletcher-32 checksum,
 * so a damaged file is refused rather than resumed from. Reading checks, in order, that the
 * file is a checkpoint of this version and of this very configuration, every counter's
 * range, the weights (finite), the loss history and the chains; each failure is one line
 * "PATH: what is wrong".
 *
 * Sections: writing | reading, one step per part of the file | progress (for planning). */
#include "ncsn/checkpoint.h"

#include <hdf5.h>
#include <math.h>
#include <string.h>

#include "ncsn/h5util.h"
#include "ncsn/plan.h"

/* ---- writing ------------------------------------------------------------------------- */

/* /counters: step, epoch, pos, adam_t, level, steps, levels; /reals: train_seconds,
 * sample_seconds, final_loss. Datasets rather than attributes, so that their checksums
 * cover them. */
enum { CKPT_N_COUNTERS = 7, CKPT_N_REALS = 3 };

typedef struct {
    const ncsn_config *cfg;
    const ncsn_checkpoint *ck;
} checkpoint_out;

/* A float32 or int64 array stored in chunks of at most 64 MiB, each with a Fletcher-32
 * checksum that HDF5 verifies when it reads the chunk back. */
static int write_checked(const ncsn_h5_ctx *c, hid_t loc, const char *name, hid_t ftype,
                         hid_t mtype, int rank, const hsize_t *dims, const void *data) {
    hsize_t chunk[2] = {dims[0], rank == 2 ? dims[1] : 1};
    const hsize_t row_bytes = 8 * (rank == 2 ? (dims[1] ? dims[1] : 1) : 1);
    const hsize_t max_rows = ((hsize_t)64 << 20) / row_bytes;
    if (chunk[0] > max_rows) chunk[0] = max_rows > 0 ? max_rows : 1;
    if (dims[0] == 0 || (rank == 2 && dims[1] == 0)) /* HDF5 has no empty chunks */
        return ncsn_h5_write_dataset(c, loc, name, ftype, mtype, rank, dims, data);
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    int rc = 0;
    if ((space = ncsn_h5_space(rank, dims)) < 0 || (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 ||
        H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_fletcher32(dcpl) < 0 ||
        (dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0 ||
        H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = ncsn_h5_fail(c, "cannot write", loc, name);
    ncsn_h5_close_checked(c, dset, loc, name, &rc);
    ncsn_h5_close_checked(c, dcpl, loc, name, &rc);
    ncsn_h5_close_checked(c, space, loc, name, &rc);
    return rc;
}

static int write_f32_checked(const ncsn_h5_ctx *c, hid_t loc, const char *name, size_t n,
                             const float *v) {
    hsize_t dims[1] = {(hsize_t)n};
    return write_checked(c, loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dims, v);
}

/* The snapshots so far (none written when none are kept). */
static int write_snapshots(const ncsn_h5_ctx *c, hid_t file, const ncsn_snapshots *s) {
    if (s->n_max == 0) return 0;
    const hsize_t dims[1] = {(hsize_t)s->n};
    const size_t count = (size_t)s->n * s->n_params;
    return write_checked(c, file, "snap_step", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims,
                         s->step) ||
           write_f32_checked(c, file, "snap_model", count, s->model) ||
           (s->ema && write_f32_checked(c, file, "snap_ema", count, s->ema));
}

static int checkpoint_contents(const ncsn_h5_ctx *c, hid_t file, const void *data) {
    const ncsn_checkpoint *ck = ((const checkpoint_out *)data)->ck;
    char *yaml = ncsn_config_results_yaml(((const checkpoint_out *)data)->cfg);
    const hsize_t loss_dims[1] = {(hsize_t)ck->n_loss};
    const hsize_t sample_dims[2] = {(hsize_t)ck->n, (hsize_t)ck->D};
    const int64_t counters[CKPT_N_COUNTERS] = {ck->step,  ck->epoch, ck->pos,   ck->adam_t,
                                               ck->level, ck->steps, ck->levels};
    const double reals[CKPT_N_REALS] = {ck->train_seconds, ck->sample_seconds, ck->final_loss};
    const hsize_t counter_dims[1] = {CKPT_N_COUNTERS}, real_dims[1] = {CKPT_N_REALS};
    int rc = ncsn_h5_write_attr_int64(c, file, "checkpoint_version", NCSN_CHECKPOINT_VERSION) ||
             ncsn_h5_write_attr_string(c, file, "ncsn_version", NCSN_VERSION) ||
             ncsn_h5_write_attr_string(c, file, "phase",
                                       ck->phase == NCSN_CHECKPOINT_SAMPLE ? "sample" : "train") ||
             ncsn_h5_write_attr_string(c, file, "config_yaml", yaml) ||
             write_checked(c, file, "counters", H5T_STD_I64LE, H5T_NATIVE_INT64, 1,
                           counter_dims, counters) ||
             write_checked(c, file, "reals", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, real_dims,
                           reals) ||
             write_f32_checked(c, file, "model", ck->n_params, ck->model) ||
             (ck->ema && write_f32_checked(c, file, "ema", ck->n_params, ck->ema)) ||
             (ck->phase == NCSN_CHECKPOINT_TRAIN &&
              (write_f32_checked(c, file, "adam_m", ck->n_params, ck->adam_m) ||
               write_f32_checked(c, file, "adam_v", ck->n_params, ck->adam_v))) ||
             write_checked(c, file, "loss_step", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, loss_dims,
                           ck->loss_step) ||
             write_checked(c, file, "loss", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, loss_dims,
                           ck->loss) ||
             (ck->phase == NCSN_CHECKPOINT_SAMPLE &&
              write_checked(c, file, "samples", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2,
                            sample_dims, ck->samples)) ||
             write_snapshots(c, file, &ck->snaps);
    free(yaml);
    return rc ? -1 : 0;
}

int ncsn_checkpoint_write(const char *path, const ncsn_config *cfg, const ncsn_checkpoint *ck,
                          ncsn_error *err) {
    NCSN_ASSERT(path && cfg && ck && ck->model && ck->n_loss >= 0);
    NCSN_ASSERT(ck->phase != NCSN_CHECKPOINT_TRAIN || (ck->adam_m && ck->adam_v));
    NCSN_ASSERT(ck->phase != NCSN_CHECKPOINT_SAMPLE || ck->samples);
    const checkpoint_out out = {cfg, ck};
    return ncsn_h5_write_file(path, checkpoint_contents, &out, err);
}

/* ---- reading ------------------------------------------------------------------------- */

typedef struct {
    const ncsn_config *cfg;
    ncsn_checkpoint *ck;
    ncsn_config *shorter; /* ncsn_checkpoint_read_start: the file's configuration; else NULL */
} checkpoint_in;

static float *read_f32(const ncsn_h5_ctx *c, hid_t file, const char *name, size_t n, int *rc) {
    if (*rc) return NULL;
    float *v = ncsn_xmalloc(sizeof(float) * (n ? n : 1));
    hsize_t dims[1] = {(hsize_t)n};
    if (ncsn_h5_read_dataset(c, file, name, H5T_FLOAT, H5T_NATIVE_FLOAT, 1, dims, v) != 0) *rc = -1;
    return v;
}

/* A value of the checkpoint outside its range: the file is not one this run wrote. */
static int bad_value(const ncsn_h5_ctx *c, const char *name, long long v) {
    return ncsn_seterr(c->err, "%s: attribute %s = %lld is out of range for this run", c->path,
                       name, v);
}

/* Whether yaml is the configuration of a shorter training of cfg's model (into *shorter):
 * the same training streams, seed and records, at most cfg's steps. */
static int check_shorter(const ncsn_h5_ctx *c, const char *yaml, const ncsn_config *cfg,
                         ncsn_config *shorter) {
    ncsn_error perr;
    ncsn_config_default(shorter);
    if (ncsn_config_load_string(shorter, yaml, c->path, &perr) != 0)
        return ncsn_seterr(c->err, "%s: its config_yaml cannot be read (%s)", c->path, perr.msg);
    char *a = ncsn_config_identity(shorter, NCSN_PART_STREAMS);
    char *b = ncsn_config_identity(cfg, NCSN_PART_STREAMS);
    const int same = strcmp(a, b) == 0 && shorter->seed == cfg->seed &&
                     shorter->train.log_every == cfg->train.log_every &&
                     shorter->train.snapshot_every == cfg->train.snapshot_every &&
                     shorter->train.steps <= cfg->train.steps;
    free(a);
    free(b);
    if (!same)
        return ncsn_seterr(c->err, "%s: is not the state of a shorter training of this "
                           "configuration's model", c->path);
    return 0;
}

/* checkpoint_version, phase and the configuration: is this the checkpoint of this run (or,
 * with shorter, the end of a shorter training of its model)? */
static int check_identity(const ncsn_h5_ctx *c, hid_t file, const ncsn_config *cfg,
                          ncsn_checkpoint *ck, ncsn_config *shorter) {
    int64_t version;
    char *phase = NULL, *yaml = NULL;
    if (ncsn_h5_read_attr_int64(c, file, "checkpoint_version", &version)) return -1;
    if (version != NCSN_CHECKPOINT_VERSION)
        return ncsn_seterr(c->err, "%s: checkpoint_version %lld is not the one this ncsn writes "
                           "(%d)", c->path, (long long)version, NCSN_CHECKPOINT_VERSION);
    if (ncsn_h5_read_attr_string(c, file, "phase", &phase)) return -1;
    const int is_train = strcmp(phase, "train") == 0, is_sample = strcmp(phase, "sample") == 0;
    free(phase);
    if (!is_train && !is_sample)
        return ncsn_seterr(c->err, "%s: phase is neither \"train\" nor \"sample\"", c->path);
    ck->phase = is_train ? NCSN_CHECKPOINT_TRAIN : NCSN_CHECKPOINT_SAMPLE;
    if (ncsn_h5_read_attr_string(c, file, "config_yaml", &yaml)) return -1;
    if (shorter) {
        const int rc = ck->phase != NCSN_CHECKPOINT_TRAIN
                           ? ncsn_seterr(c->err, "%s: is not a training state (phase sample)",
                                         c->path)
                           : check_shorter(c, yaml, cfg, shorter);
        free(yaml);
        return rc;
    }
    char *want = ncsn_config_results_yaml(cfg);
    const int same = strcmp(yaml, want) == 0;
    free(want);
    free(yaml);
    if (!same)
        return ncsn_seterr(c->err, "%s: is the checkpoint of a different configuration", c->path);
    return 0;
}

/* /counters and /reals, each counter within the range this run allows. */
static int read_counters(const ncsn_h5_ctx *c, hid_t file, const ncsn_config *cfg,
                         ncsn_checkpoint *ck) {
    const int is_train = ck->phase == NCSN_CHECKPOINT_TRAIN;
    int64_t counters[CKPT_N_COUNTERS];
    double reals[CKPT_N_REALS];
    const hsize_t counter_dims[1] = {CKPT_N_COUNTERS}, real_dims[1] = {CKPT_N_REALS};
    if (ncsn_h5_read_dataset(c, file, "/counters", H5T_INTEGER, H5T_NATIVE_INT64, 1,
                             counter_dims, counters) ||
        ncsn_h5_read_dataset(c, file, "/reals", H5T_FLOAT, H5T_NATIVE_DOUBLE, 1, real_dims,
                             reals))
        return -1;
    const int64_t step = counters[0], epoch = counters[1], pos = counters[2],
                  adam_t = counters[3], level = counters[4];
    if (counters[5] != cfg->train.steps) return bad_value(c, "steps", counters[5]);
    const int levels = ncsn_plan_levels(cfg);
    if (counters[6] != levels) return bad_value(c, "levels", counters[6]);
    ck->steps = counters[5];
    ck->levels = levels;
    if (step < 0 || step > cfg->train.steps) return bad_value(c, "step", step);
    if (epoch < 0 || epoch > UINT32_MAX) return bad_value(c, "epoch", epoch);
    if (is_train && (pos < 0 || pos > cfg->dataset.n || (epoch == 0 && pos != cfg->dataset.n)))
        return bad_value(c, "pos", pos);
    if (adam_t != step) return bad_value(c, "adam_t", adam_t);
    if (level < 0 || level > levels || (is_train && level != 0))
        return bad_value(c, "level", level);
    ck->step = step;
    ck->epoch = (uint32_t)epoch;
    ck->pos = (int)pos;
    ck->adam_t = adam_t;
    ck->level = (int)level;
    ck->train_seconds = reals[0];
    ck->sample_seconds = reals[1];
    ck->final_loss = reals[2];
    return 0;
}

/* /model, and in phase train /ema (with train.ema) and Adam's moments; finite weights. */
static int read_weights(const ncsn_h5_ctx *c, hid_t file, const ncsn_config *cfg,
                        ncsn_checkpoint *ck) {
    const int is_train = ck->phase == NCSN_CHECKPOINT_TRAIN;
    int rc = 0;
    const size_t np = ck->n_params;
    ck->model = read_f32(c, file, "model", np, &rc);
    if (is_train && cfg->train.ema > 0) ck->ema = read_f32(c, file, "ema", np, &rc);
    if (is_train) {
        ck->adam_m = read_f32(c, file, "adam_m", np, &rc);
        ck->adam_v = read_f32(c, file, "adam_v", np, &rc);
    }
    if (rc) return -1;
    for (size_t j = 0; j < np; j++)
        if (!isfinite(ck->model[j]) || (ck->ema && !isfinite(ck->ema[j])))
            return ncsn_seterr(c->err, "%s: the weights hold a non-finite value at %zu", c->path,
                               j);
    return 0;
}

/* /loss_step and /loss: as long as each other, and no longer than the steps taken. */
static int check_loss_lengths(const ncsn_h5_ctx *c, hsize_t n_step, hsize_t n_loss,
                              const void *user) {
    const ncsn_checkpoint *ck = user;
    if (n_step != n_loss || n_loss > (hsize_t)ck->step)
        return ncsn_seterr(c->err, "%s: the loss history has %llu steps and %llu losses for %lld "
                           "training steps", c->path, (unsigned long long)n_step,
                           (unsigned long long)n_loss, (long long)ck->step);
    return 0;
}

static int read_loss_history(const ncsn_h5_ctx *c, hid_t file, ncsn_checkpoint *ck) {
    return ncsn_h5_read_loss_history(c, file, "/loss_step", "/loss", check_loss_lengths, ck,
                                     &ck->n_loss, &ck->loss_step, &ck->loss);
}

/* /samples (phase sample): the chains, (sample.n, D). */
static int read_chains(const ncsn_h5_ctx *c, hid_t file, const ncsn_config *cfg,
                       ncsn_checkpoint *ck) {
    ck->n = cfg->sample.n;
    ck->D = cfg->dataset.dim;
    const hsize_t dims[2] = {(hsize_t)ck->n, (hsize_t)ck->D};
    ck->samples = ncsn_xmalloc(sizeof(float) * ((size_t)ck->n * (size_t)ck->D + 1));
    return ncsn_h5_read_dataset(c, file, "/samples", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dims,
                                ck->samples);
}

/* /snap_*: one snapshot for every train.snapshot_every steps taken, at those steps. */
static int read_snapshots(const ncsn_h5_ctx *c, hid_t file, const ncsn_config *cfg,
                          ncsn_checkpoint *ck) {
    const int64_t every = cfg->train.snapshot_every;
    ncsn_snapshots *s = &ck->snaps;
    ncsn_snapshots_alloc(s, cfg->train.steps, every, ck->n_params, cfg->train.ema > 0);
    if (s->n_max == 0) return 0;
    const int n = (int)(ck->step / every);
    const hsize_t dims[1] = {(hsize_t)n};
    const size_t count = (size_t)n * ck->n_params;
    const hsize_t wdims[1] = {(hsize_t)count};
    if (ncsn_h5_read_dataset(c, file, "/snap_step", H5T_INTEGER, H5T_NATIVE_INT64, 1, dims,
                             s->step) ||
        ncsn_h5_read_dataset(c, file, "/snap_model", H5T_FLOAT, H5T_NATIVE_FLOAT, 1, wdims,
                             s->model) ||
        (s->ema && ncsn_h5_read_dataset(c, file, "/snap_ema", H5T_FLOAT, H5T_NATIVE_FLOAT, 1,
                                        wdims, s->ema)))
        return -1;
    for (int i = 0; i < n; i++)
        if (s->step[i] != (i + 1) * every) return bad_value(c, "snap_step", s->step[i]);
    s->n = n;
    return 0;
}

static int checkpoint_reader(const ncsn_h5_ctx *c, hid_t file, void *data) {
    const checkpoint_in *in = data;
    const ncsn_config *cfg = in->cfg;
    ncsn_checkpoint *ck = in->ck;
    if (check_identity(c, file, cfg, ck, in->shorter)) return -1;
    /* the counters and snapshots are those of the training that wrote the file */
    const ncsn_config *own = in->shorter ? in->shorter : cfg;
    if (read_counters(c, file, own, ck)) return -1;
    if (in->shorter && ck->step != own->train.steps)
        return ncsn_seterr(c->err, "%s: was taken at step %lld, not at the end of its %lld "
                           "steps", c->path, (long long)ck->step, (long long)own->train.steps);
    if (read_weights(c, file, cfg, ck) || read_loss_history(c, file, ck) ||
        (ck->phase == NCSN_CHECKPOINT_SAMPLE && read_chains(c, file, cfg, ck)) ||
        read_snapshots(c, file, own, ck))
        return -1;
    return 0;
}

int ncsn_checkpoint_read(const char *path, const ncsn_config *cfg, size_t n_params,
                         ncsn_checkpoint *ck, ncsn_error *err) {
    NCSN_ASSERT(path && cfg && ck);
    memset(ck, 0, sizeof *ck);
    ck->n_params = n_params;
    checkpoint_in in = {cfg, ck, NULL};
    int rc = ncsn_h5_read_file(path, checkpoint_reader, &in, err);
    if (rc) ncsn_checkpoint_free(ck);
    return rc;
}

int ncsn_checkpoint_read_start(const char *path, const ncsn_config *cfg, size_t n_params,
                               ncsn_checkpoint *ck, ncsn_error *err) {
    NCSN_ASSERT(path && cfg && ck);
    memset(ck, 0, sizeof *ck);
    ck->n_params = n_params;
    ncsn_config shorter;
    memset(&shorter, 0, sizeof shorter);
    checkpoint_in in = {cfg, ck, &shorter};
    int rc = ncsn_h5_read_file(path, checkpoint_reader, &in, err);
    ncsn_config_free(&shorter);
    if (rc) ncsn_checkpoint_free(ck);
    return rc;
}

void ncsn_checkpoint_free(ncsn_checkpoint *ck) {
    if (!ck) return;
    NCSN_FREE_ALL(ck->model, ck->ema, ck->adam_m, ck->adam_v, ck->loss_step, ck->loss,
                  ck->samples);
    ncsn_snapshots_free(&ck->snaps);
    memset(ck, 0, sizeof *ck);
}

/* ---- progress ------------------------------------------------------------------------ */

typedef struct {
    double train_done, sample_done;
} checkpoint_progress;

static int progress_reader(const ncsn_h5_ctx *c, hid_t file, void *data) {
    checkpoint_progress *p = data;
    int64_t counters[CKPT_N_COUNTERS];
    const hsize_t dims[1] = {CKPT_N_COUNTERS};
    char *phase = NULL;
    if (ncsn_h5_read_attr_string(c, file, "phase", &phase) ||
        ncsn_h5_read_dataset(c, file, "/counters", H5T_INTEGER, H5T_NATIVE_INT64, 1, dims,
                             counters)) {
        free(phase);
        return -1;
    }
    const int sample = strcmp(phase, "sample") == 0;
    free(phase);
    const double steps = (double)counters[5], levels = (double)counters[6];
    p->train_done = sample ? 1 : steps > 0 ? (double)counters[0] / steps : 1;
    p->sample_done = !sample ? 0 : levels > 0 ? (double)counters[4] / levels : 1;
    if (!(p->train_done >= 0 && p->train_done <= 1 && p->sample_done >= 0 && p->sample_done <= 1))
        return ncsn_seterr(c->err, "%s: counters out of range", c->path);
    return 0;
}

int ncsn_checkpoint_progress(const char *path, double *train_done, double *sample_done) {
    checkpoint_progress p = {0, 0};
    ncsn_error err;
    if (ncsn_h5_read_file(path, progress_reader, &p, &err) != 0) return -1;
    *train_done = p.train_done;
    *sample_done = p.sample_done;
    return 0;
}
