/* run/plan.c: the run plan (plan.h): a configuration and its data turned, once, into the
 * resolved values, the noise levels, gamma, both conventions of eps, their provenance and
 * the sampler's settings. The techniques' numerics are techniques.c's; what a technique
 * means for a configuration (which key, in which order, what error) is decided here. */
#include "ncsn/plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ncsn/noise.h"
#include "ncsn/techniques.h"

/* ---- the small definitions everything shares ---------------------------------------- */

double ncsn_realised_gamma(double sigma_1, double sigma_L, int L) {
    const double ratio = sigma_1 / sigma_L;
    return L > 1 ? pow(ratio, 1.0 / (L - 1)) : ratio;
}

double ncsn_eps_paper(double eps_sampler) { return eps_sampler / 2.0; }

double ncsn_eps_sampler(double eps_paper) { return 2.0 * eps_paper; }

int ncsn_sampler_level_count(int method, int L) { return method == NCSN_SAMPLE_PLAIN ? 1 : L; }

int ncsn_plan_levels(const ncsn_config *c) {
    return ncsn_sampler_level_count(c->sample.method, c->noise.L);
}

void ncsn_provenance_of(const ncsn_config *c, ncsn_provenance *p) {
    snprintf(p->sigma_1_source, sizeof p->sigma_1_source, "%s",
             c->noise.sigma_1_auto ? "technique1" : "explicit");
    snprintf(p->L_source, sizeof p->L_source, "%s", c->noise.L_auto ? "technique2" : "explicit");
    snprintf(p->eps_source, sizeof p->eps_source, "%s",
             c->sample.eps_auto ? "technique3" : "explicit");
    p->gamma = ncsn_realised_gamma(c->noise.sigma_1, c->noise.sigma_L, c->noise.L);
    p->eps_paper = ncsn_eps_paper(c->sample.eps);
}

/* ---- Techniques 2 and 3 in order (docs/computation.md, Techniques) ------------------- */

void ncsn_techniques_chain(ncsn_techniques *t, int D, double sigma_1, double sigma_L, int L,
                           int T) {
    memset(t, 0, sizeof *t);
    ncsn_error e = {{0}};
    t->t2_ok = ncsn_t2_solve_gamma(D, &t->gamma_t2, &e) == 0;
    if (t->t2_ok) {
        t->L_t2 = ncsn_t2_num_levels(sigma_1, sigma_L, t->gamma_t2);
    } else {
        t->gamma_t2 = NAN;
        snprintf(t->t2_msg, sizeof t->t2_msg, "%s", e.msg);
    }
    t->L = L > 0 ? L : t->t2_ok && t->L_t2 >= 1 ? t->L_t2 : 0;
    t->gamma = t->eps_paper = t->f_min = t->eps = NAN;
    if (!t->L) {
        snprintf(t->t3_msg, sizeof t->t3_msg,
                 "not solved: Technique 3 needs gamma, and neither Technique 2 nor a given L "
                 "provides one");
        return;
    }
    t->gamma = ncsn_realised_gamma(sigma_1, sigma_L, t->L);
    t->t3_ok = ncsn_t3_solve(sigma_L, t->gamma, T, &t->eps_paper, &t->f_min, &e) == 0;
    if (t->t3_ok) {
        t->eps = ncsn_eps_sampler(t->eps_paper);
    } else {
        t->eps_paper = t->f_min = NAN;
        snprintf(t->t3_msg, sizeof t->t3_msg, "%s", e.msg);
    }
}

/* ---- the training set ---------------------------------------------------------------- */

int ncsn_training_set(const ncsn_config *c, ncsn_dataset *ds, float **x, ncsn_error *err) {
    *x = NULL;
    if (ncsn_dataset_open(ds, c, err) != 0) return -1;
    ncsn_dataset_training_points(ds, c, x);
    return 0;
}

/* ---- "auto" -> numbers ------------------------------------------------------------- */

/* noise.sigma_1 by Technique 1 on the training points x (n, D). */
static int sigma_1_by_technique1(ncsn_config *c, const float *x, int n, int D,
                                 ncsn_error *err) {
    static const char *const key = "noise.sigma_1";
    if (!x || n < 2)
        return ncsn_config_key_error(err, c, key,
                                     "auto: Technique 1 needs at least two training points");
    const double s1 = ncsn_t1_max_pairwise_distance(x, n, D);
    if (!isfinite(s1))
        return ncsn_config_key_error(err, c, key, "auto: the training points are not all finite");
    if (!(s1 > c->noise.sigma_L))
        return ncsn_config_key_error(err, c, key,
                                     "auto: Technique 1 gives %g, which is not above "
                                     "noise.sigma_L = %g; set noise.sigma_1 explicitly",
                                     s1, c->noise.sigma_L);
    c->noise.sigma_1 = s1;
    return 0;
}

/* noise.L (Technique 2) and sample.eps (Technique 3) where c says "auto". */
static int levels_and_eps(ncsn_config *c, int D, ncsn_error *err) {
    ncsn_techniques t;
    ncsn_techniques_chain(&t, D, c->noise.sigma_1, c->noise.sigma_L,
                          c->noise.L_auto ? 0 : c->noise.L, c->sample.T);
    if (c->noise.L_auto) {
        if (!t.t2_ok) return ncsn_config_key_error(err, c, "noise.L", "auto: %s", t.t2_msg);
        if (t.L_t2 < 1)
            return ncsn_config_key_error(err, c, "noise.L",
                                         "auto: no number of levels fits sigma_1 = %g, "
                                         "sigma_L = %g, gamma = %g",
                                         c->noise.sigma_1, c->noise.sigma_L, t.gamma_t2);
        c->noise.L = t.L_t2;
    }
    if (c->sample.eps_auto) {
        if (!t.t3_ok) return ncsn_config_key_error(err, c, "sample.eps", "auto: %s", t.t3_msg);
        c->sample.eps = t.eps;
    }
    return 0;
}

/* The values that follow from the resolved configuration. */
static void derive(ncsn_plan *p) {
    const ncsn_config *c = &p->cfg;
    p->L = c->noise.L;
    p->sigmas = ncsn_xmalloc(sizeof(double) * (size_t)p->L);
    ncsn_noise_levels(c->noise.sigma_1, c->noise.sigma_L, p->L, p->sigmas);
    ncsn_provenance_of(c, &p->prov);
    const ncsn_sampler s = {c->sample.method, c->sample.T, c->sample.eps, c->sample.denoise,
                            p->sigmas, p->L};
    p->sampler = s;
    p->levels = ncsn_plan_levels(c);
    p->train_id = ncsn_config_id(c, NCSN_PART_STREAMS);
}

/* dataset.dim "auto" that only the data could tell (a file's D) becomes that number, so
 * that the run file's configuration says it; where the configuration itself derives it
 * (the mixture's means, the toys' 2) it stays "auto". */
static void resolve_dim(ncsn_config *c, int D) {
    if (c->dataset.dim_auto && c->dataset.dim != D) c->dataset.dim_auto = 0;
    c->dataset.dim = D;
}

static int resolve(ncsn_plan *p, const float *x, int n, int D, ncsn_error *err) {
    ncsn_config *c = &p->cfg;
    resolve_dim(c, D);
    p->D = D;
    if (c->noise.sigma_1_auto && sigma_1_by_technique1(c, x, n, D, err) != 0) return -1;
    if (levels_and_eps(c, D, err) != 0) return -1;
    derive(p);
    return 0;
}

int ncsn_plan_resolve(ncsn_plan *p, const ncsn_config *c, const float *x, int n, int D,
                      ncsn_error *err) {
    memset(p, 0, sizeof *p);
    ncsn_config_copy(&p->cfg, c);
    return resolve(p, x, n, D, err);
}

int ncsn_plan_make(ncsn_plan *p, const ncsn_config *c, ncsn_error *err) {
    memset(p, 0, sizeof *p);
    ncsn_config_copy(&p->cfg, c);
    if (ncsn_training_set(&p->cfg, &p->ds, &p->x, err) != 0) return -1;
    p->cfg.dataset.n = p->ds.n_points; /* a file's rows, where dataset.n asks for more */
    return resolve(p, p->x, p->cfg.dataset.n, p->ds.D, err);
}

/* own, unless it is "explicit" and the trained run's value (same) came from a technique. */
static void carry(char *source, size_t size, const char *trained_source, int same) {
    if (strcmp(source, "explicit") == 0 && same && trained_source[0])
        snprintf(source, size, "%s", trained_source);
}

void ncsn_plan_carry(ncsn_plan *p, const ncsn_config *trained, const char *sigma_1_source,
                     const char *L_source, const char *eps_source) {
    const ncsn_config *c = &p->cfg;
    ncsn_provenance *v = &p->prov;
    carry(v->sigma_1_source, sizeof v->sigma_1_source, sigma_1_source,
          c->noise.sigma_1 == trained->noise.sigma_1);
    carry(v->L_source, sizeof v->L_source, L_source, c->noise.L == trained->noise.L);
    carry(v->eps_source, sizeof v->eps_source, eps_source,
          c->sample.eps == trained->sample.eps && c->sample.T == trained->sample.T);
}

int ncsn_plan_check(const ncsn_config *c, const char *run, ncsn_error *err) {
    if (!c->noise.L_auto || c->dataset.dim <= 0) return 0;
    double gamma;
    ncsn_error e = {{0}};
    if (ncsn_t2_solve_gamma(c->dataset.dim, &gamma, &e) == 0) return 0;
    if (run) return ncsn_config_key_error(err, c, "noise.L", "auto (run %s): %s", run, e.msg);
    return ncsn_config_key_error(err, c, "noise.L", "auto: %s", e.msg);
}

void ncsn_plan_free(ncsn_plan *p) {
    if (!p) return;
    free(p->sigmas);
    free(p->x);
    ncsn_dataset_free(&p->ds);
    ncsn_config_free(&p->cfg);
    memset(p, 0, sizeof *p);
}
