/* techniques/techniques.c: the hyperparameter techniques of Song & Ermon 2020
 * (docs/computation.md, Techniques).
 *
 *   Technique 1  sigma_1 = the largest Euclidean distance between two training points.
 *                Exact: every pair that could be the farthest is measured, in double.
 *   Technique 2  gamma > 1 with g(gamma) = 0.5; L = 1 + ceil(ln(sigma_1/sigma_L) / ln gamma).
 *                A bracket is grown geometrically from gamma = 1, then GSL's Brent root
 *                solver; for D <= 4 there is no root and we say so (never invent a gamma).
 *   Technique 3  the eps that brings f closest to 1: GSL's Brent minimiser on ln u after a
 *                downhill walk has found a bracketing triple.
 * Numerics only: what they mean for a configuration ("auto" keys, their order and errors)
 * is the run plan's (plan.h).
 *
 * Sizes: n = number of points, D = dimension, T = Langevin steps per noise level. */
#include "ncsn/techniques.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_machine.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_roots.h>

/* OpenMP pragmas that vanish quietly in a build without OpenMP. */
#ifdef _OPENMP
#define OMP(directive) _Pragma(#directive)
#else
#define OMP(directive)
#endif

/* ---------------------------------------------------------------------------------------
 * Technique 1: diameter of the training set.
 *
 * Brute force over all n(n-1)/2 pairs, with two exact savings that never change the answer:
 *  - points are sorted by their distance r_i from the centroid c (largest first), and the
 *    triangle inequality |x_i - x_j| <= r_i + r_j bounds a whole tile pair by the sum of
 *    its two largest radii; tile pairs whose bound is below a distance already seen are
 *    skipped (a lower bound comes from a two-sweep farthest-point search up front).
 *  - tiles of TILE points are stored coordinate-major (D, TILE) in double, so a tile pair
 *    is a small dense kernel (tile_pair_max2) that vectorises over partner points; threads
 *    take row tiles (blocks of rows) and each row tile's result lands in its own slot.
 * Every measured pair uses the same formula, sum_k (x_ik - x_jk)^2 accumulated over k in
 * order, in double, so the maximum is the same number whatever is skipped and whatever the
 * number of threads: the farthest pair is never skipped, and max is order-independent.
 * ------------------------------------------------------------------------------------- */

enum { TILE = 128 };

/* Squared distance with the one formula every path uses. */
static double dist2_rows(const float *a, const float *b, int D) {
    double s = 0.0;
    for (int k = 0; k < D; k++) {
        double d = (double)a[k] - (double)b[k];
        s += d * d;
    }
    return s;
}

/* Index of the point farthest from row p (lowest index on ties), its squared distance. */
static int farthest_from(const float *x, int n, int D, int p, double *d2) {
    int best = p;
    double bd = 0.0;
    for (int i = 0; i < n; i++) {
        double d = dist2_rows(x + (size_t)p * D, x + (size_t)i * D, D);
        if (d > bd) {
            bd = d;
            best = i;
        }
    }
    *d2 = bd;
    return best;
}

typedef struct {
    double r;
    int i;
} radius_index;

static int by_radius_desc(const void *pa, const void *pb) {
    const radius_index *a = pa, *b = pb;
    if (a->r != b->r) return a->r > b->r ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* The largest squared distance between a row of tile a and a row of tile b, both (D, TILE).
 * Register blocks of 2 rows of a by 8 rows of b: each coordinate of b loaded once serves
 * two rows of a, and the 16 sums stay in registers. Each sum runs over k in order. */
static double tile_pair_max2(const double *a, const double *b, int D) {
    double mx[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int ii = 0; ii < TILE; ii += 2) {
        for (int jj = 0; jj < TILE; jj += 8) {
            double s0[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s1[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int k = 0; k < D; k++) {
                const double x0 = a[(size_t)k * TILE + ii], x1 = a[(size_t)k * TILE + ii + 1];
                const double *col = b + (size_t)k * TILE + jj;
                for (int l = 0; l < 8; l++) {
                    double d0 = x0 - col[l], d1 = x1 - col[l];
                    s0[l] += d0 * d0;
                    s1[l] += d1 * d1;
                }
            }
            for (int l = 0; l < 8; l++) {
                mx[l] = s0[l] > mx[l] ? s0[l] : mx[l];
                mx[l] = s1[l] > mx[l] ? s1[l] : mx[l];
            }
        }
    }
    double m = 0.0;
    for (int l = 0; l < 8; l++)
        if (mx[l] > m) m = mx[l];
    return m;
}

double ncsn_t1_max_pairwise_distance(const float *x /* (n, D) */, int n, int D) {
    if (n < 2 || D < 1) return 0.0;
    for (size_t e = 0; e < (size_t)n * (size_t)D; e++)
        if (!isfinite(x[e])) return NAN;

    /* Lower bound: farthest from point 0, then farthest from that one. */
    double best2;
    int p = farthest_from(x, n, D, 0, &best2);
    (void)farthest_from(x, n, D, p, &best2);

    /* Radii about the centroid (a valid centre for the triangle inequality whatever
     * rounding does to it: it is one fixed point). */
    double *centre = ncsn_xcalloc((size_t)D, sizeof(double));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < D; k++) centre[k] += x[(size_t)i * D + k];
    for (int k = 0; k < D; k++) centre[k] /= n;
    radius_index *order = ncsn_xmalloc(sizeof(radius_index) * (size_t)n);
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int k = 0; k < D; k++) {
            double d = (double)x[(size_t)i * D + k] - centre[k];
            s += d * d;
        }
        order[i].r = sqrt(s);
        order[i].i = i;
    }
    free(centre);
    qsort(order, (size_t)n, sizeof *order, by_radius_desc);

    /* Tiles in sorted order, coordinate-major: xt[t] is (D, TILE). The last tile is padded
     * with copies of its last real point, which adds no new distance. */
    int ntiles = (n + TILE - 1) / TILE;
    double *xt = ncsn_xmalloc(sizeof(double) * (size_t)ntiles * (size_t)D * TILE);
    double *tile_rmax = ncsn_xmalloc(sizeof(double) * (size_t)ntiles); /* (ntiles) */
    for (int t = 0; t < ntiles; t++) {
        double *tile = xt + (size_t)t * D * TILE;
        for (int jj = 0; jj < TILE; jj++) {
            int s = t * TILE + jj < n ? t * TILE + jj : n - 1;
            const float *row = x + (size_t)order[s].i * D;
            for (int k = 0; k < D; k++) tile[(size_t)k * TILE + jj] = row[k];
        }
        /* Sorted descending: the tile's first radius is its largest. A hair of slack
         * covers the rounding in r, so a bound never falls below a measured distance. */
        tile_rmax[t] = order[t * TILE].r * (1.0 + 1e-10) + 1e-300;
    }
    free(order);

    /* One result per row tile, combined in a fixed order afterwards. */
    double *tile_best = ncsn_xmalloc(sizeof(double) * (size_t)ntiles); /* (ntiles) */
    const double lower2 = best2;

    OMP(omp parallel)
    {
        OMP(omp for schedule(dynamic, 1))
        for (int ti = 0; ti < ntiles; ti++) {
            double local = lower2; /* a distance some pair really has */
            for (int tj = ti; tj < ntiles; tj++) {
                double bound = tile_rmax[ti] + tile_rmax[tj];
                /* Radii only shrink with tj, so no later tile can do better either. */
                if (bound * bound < local) break;
                double m = tile_pair_max2(xt + (size_t)ti * D * TILE, xt + (size_t)tj * D * TILE, D);
                if (m > local) local = m;
            }
            tile_best[ti] = local;
        }
    }

    double result2 = lower2;
    for (int t = 0; t < ntiles; t++)
        if (tile_best[t] > result2) result2 = tile_best[t];
    free(tile_best);
    free(tile_rmax);
    free(xt);
    return sqrt(result2);
}

/* ---------------------------------------------------------------------------------------
 * Technique 2: gamma from g(gamma) = 0.5.
 * ------------------------------------------------------------------------------------- */

/* Phi(b) - Phi(a) for a <= b, through erfc so that neither tail loses its digits:
 * in the upper tail Phi(b) - Phi(a) = Q(a) - Q(b) with Q(x) = erfc(x/sqrt 2)/2. */
static double normal_interval(double a, double b) {
    if (a >= 0) return 0.5 * (erfc(a * M_SQRT1_2) - erfc(b * M_SQRT1_2));
    if (b <= 0) return 0.5 * (erfc(-b * M_SQRT1_2) - erfc(-a * M_SQRT1_2));
    return 1.0 - 0.5 * erfc(-a * M_SQRT1_2) - 0.5 * erfc(b * M_SQRT1_2);
}

double ncsn_t2_g(double gamma, int D) {
    double s = sqrt(2.0 * D) * (gamma - 1.0);
    return normal_interval(s - 3.0 * gamma, s + 3.0 * gamma);
}

typedef struct {
    int D;
} t2_params;

static double t2_residual(double gamma, void *p) {
    return ncsn_t2_g(gamma, ((const t2_params *)p)->D) - 0.5;
}

/* Switches off GSL's abort-on-error handler (returning the old one): the solvers below
 * report through their return codes, and the caller restores the handler afterwards. */
static gsl_error_handler_t *gsl_quiet(void) { return gsl_set_error_handler_off(); }

int ncsn_t2_solve_gamma(int D, double *gamma, ncsn_error *err) {
    if (D < 1) return ncsn_seterr(err, "Technique 2 needs a dimension D >= 1, got %d", D);

    /* Bracket: g(1) = Phi(3) - Phi(-3) > 0.5. Walk gamma = 1 + h with h doubling until
     * g < 0.5. With a = sqrt(2D)(gamma - 1) - 3 gamma = (sqrt(2D) - 3) gamma - sqrt(2D):
     * for 2D > 9 a grows without bound, so g -> 0 and a crossing exists (D = 5, the worst
     * case, crosses near gamma = 19.5); for 2D < 9 (D <= 4) a falls and the upper argument
     * rises, so g only increases from g(1) toward 1 and there is no root. The cap on h is
     * far beyond any crossing; reaching it is the "no solution" case. */
    double lo = 1.0, hi = 1.0;
    int found = 0;
    for (double h = 1.0 / 64; h <= 1073741824.0; h *= 2) {
        hi = 1.0 + h;
        double r = ncsn_t2_g(hi, D) - 0.5;
        if (r == 0.0) {
            *gamma = hi;
            return 0;
        }
        if (r < 0.0) {
            found = 1;
            break;
        }
        lo = hi;
    }
    if (!found) {
        double s = sqrt(2.0 * D);
        double limit = s < 3.0 ? 1.0 : (s == 3.0 ? normal_interval(-3.0, INFINITY) : 0.0);
        return ncsn_seterr(err,
                           "Technique 2 has no solution for D = %d: g(gamma) stays above 0.5 "
                           "for every gamma > 1 (it is %.4f at gamma = 1 and tends to %.4g as "
                           "gamma grows; a root needs D >= 5); set noise.L explicitly",
                           D, ncsn_t2_g(1.0, D), limit);
    }

    t2_params par = {D};
    gsl_function F = {t2_residual, &par};
    gsl_error_handler_t *old = gsl_quiet();
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    int status = s ? gsl_root_fsolver_set(s, &F, lo, hi) : GSL_ENOMEM;
    for (int iter = 0; status == GSL_SUCCESS && iter < 200; iter++) {
        status = gsl_root_fsolver_iterate(s);
        if (status != GSL_SUCCESS) break;
        double a = gsl_root_fsolver_x_lower(s), b = gsl_root_fsolver_x_upper(s);
        if (gsl_root_test_interval(a, b, 1e-14, 1e-13) == GSL_SUCCESS) break;
    }
    double root = s ? gsl_root_fsolver_root(s) : NAN;
    if (s) gsl_root_fsolver_free(s);
    gsl_set_error_handler(old);
    if (status != GSL_SUCCESS || !(root > 1.0))
        return ncsn_seterr(err, "Technique 2: the root solver failed for D = %d (%s)", D,
                           gsl_strerror(status));
    *gamma = root;
    return 0;
}

int ncsn_t2_num_levels(double sigma_1, double sigma_L, double gamma) {
    if (!(sigma_L > 0) || !(sigma_1 >= sigma_L) || !(gamma > 1) || !isfinite(sigma_1))
        return -1;
    double q = log(sigma_1 / sigma_L) / log(gamma);
    /* A ratio that is an exact power of gamma must not gain a level from rounding in
     * the two logarithms: forgive a relative 1e-12. */
    double c = ceil(q - 1e-12 * q);
    if (c < 0) c = 0;
    if (c > INT_MAX - 2) return -1;
    return 1 + (int)c;
}

/* ---------------------------------------------------------------------------------------
 * Technique 3: eps.
 * With u = eps / sigma_L^2, p = (1-u)^(2T) and q = u / (2-u), and 2/(2-u) = 1 + q:
 *     f - 1 = p (gamma^2 - 1) + q (1 - p).
 * Both terms are >= 0, so this form loses nothing to cancellation; p and 1 - p come from
 * log1p / expm1, so tiny u (even 1e-300) stays exact to rounding.
 * ------------------------------------------------------------------------------------- */

static double t3_f_minus_1(double u, double gamma, int T) {
    if (!(u >= 0.0) || !(u <= 1.0)) return NAN;
    double lp = 2.0 * T * log1p(-u); /* ln p */
    double p = exp(lp), one_minus_p = -expm1(lp);
    double q = u / (2.0 - u);
    double g2m1 = (gamma - 1.0) * (gamma + 1.0);
    return p * g2m1 + q * one_minus_p;
}

double ncsn_t3_f(double u, double gamma, int T) { return 1.0 + t3_f_minus_1(u, gamma, T); }

typedef struct {
    double gamma;
    int T;
} t3_params;

/* The minimiser works on v = ln u and on f - 1, whose digits near the minimum are all
 * significant (f itself would be 1.00177..., wasting three of them). */
static double t3_objective(double v, void *p) {
    const t3_params *t = p;
    return t3_f_minus_1(exp(v), t->gamma, t->T);
}

int ncsn_t3_solve(double sigma_L, double gamma, int T, double *eps_paper, double *f_min,
                  ncsn_error *err) {
    if (!(sigma_L > 0) || !isfinite(sigma_L))
        return ncsn_seterr(err, "Technique 3 needs sigma_L > 0, got %g", sigma_L);
    if (!(gamma > 1) || !isfinite(gamma))
        return ncsn_seterr(err,
                           "Technique 3 needs gamma > 1 (got %g): with one noise level or "
                           "sigma_1 = sigma_L, f has no minimum inside 0 < u < 1",
                           gamma);
    if (T < 1) return ncsn_seterr(err, "Technique 3 needs T >= 1, got %d", T);

    t3_params par = {gamma, T};
    gsl_function F = {t3_objective, &par};
    const double v_lo = log(1e-300), v_hi = log1p(-1e-15);

    /* Bracketing triple by a downhill walk in ln u with doubling steps, from u = 1/(2T),
     * near where (1-u)^(2T) starts to fall. f' < 0 at u = 0 (slope -2T(gamma^2-1)) and
     * f(1) = 2 > f somewhere inside, so a minimum lies strictly inside. */
    double x0 = -log(2.0 * T);
    if (x0 < v_lo) x0 = v_lo;
    if (x0 > v_hi - 1.0) x0 = v_hi - 1.0;
    double xm = x0, fm = t3_objective(xm, &par);
    double xr = x0 + 1.0, fr = t3_objective(xr, &par);
    double xb, fb, dir; /* xb: the point behind the walk, at least as high as xm */
    if (fr < fm) {
        xb = xm, fb = fm, xm = xr, fm = fr, dir = 1.0;
    } else {
        xb = xr, fb = fr, dir = -1.0;
    }
    double xn = xm, fn = fm;
    int bracketed = 0;
    for (double step = 2.0; step < 4096.0; step *= 2) {
        xn = xm + dir * step;
        if (xn < v_lo) xn = v_lo;
        if (xn > v_hi) xn = v_hi;
        if (xn == xm) break; /* walked into an end of the interval: no interior minimum */
        fn = t3_objective(xn, &par);
        if (fn >= fm) {
            bracketed = 1;
            break;
        }
        xb = xm, fb = fm, xm = xn, fm = fn;
    }
    /* A flat step (equal values, rounding) gets one midpoint to make the triple strict. */
    if (bracketed && (fb == fm || fn == fm)) {
        double xo = fb == fm ? xb : xn;
        double xc = 0.5 * (xm + xo), fc = t3_objective(xc, &par);
        if (fc < fm) {
            if (fb == fm)
                xb = xm, fb = fm;
            else
                xn = xm, fn = fm;
            xm = xc, fm = fc;
        } else {
            bracketed = 0;
        }
    }
    if (!bracketed || !(fm < fb) || !(fm < fn))
        return ncsn_seterr(err, "Technique 3: could not bracket the minimum of f (gamma %g, T %d)",
                           gamma, T);
    double a = xb < xn ? xb : xn, fa = xb < xn ? fb : fn;
    double b = xb < xn ? xn : xb, fbb = xb < xn ? fn : fb;

    gsl_error_handler_t *old = gsl_quiet();
    gsl_min_fminimizer *s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    int status = s ? gsl_min_fminimizer_set_with_values(s, &F, xm, fm, a, fa, b, fbb) : GSL_ENOMEM;
    /* Stop when the bracket on v = ln u is 1e-10 wide, or a few times GSL Brent's own step
     * floor, sqrt(DBL_EPSILON) |v|, wide: the bracket cannot shrink much below that floor,
     * and near a quadratic minimum f's rounding limits v to about sqrt(DBL_EPSILON) anyway
     * (the result agrees with a 50-digit reference to a few parts in 1e9). */
    for (int iter = 0; status == GSL_SUCCESS && iter < 200; iter++) {
        status = gsl_min_fminimizer_iterate(s);
        if (status != GSL_SUCCESS) break;
        double lo = gsl_min_fminimizer_x_lower(s), hi = gsl_min_fminimizer_x_upper(s);
        if (gsl_min_test_interval(lo, hi, 1e-10, 4 * GSL_SQRT_DBL_EPSILON) == GSL_SUCCESS) break;
    }
    double v = s ? gsl_min_fminimizer_x_minimum(s) : NAN;
    double h = s ? gsl_min_fminimizer_f_minimum(s) : NAN;
    if (s) gsl_min_fminimizer_free(s);
    gsl_set_error_handler(old);
    if (status != GSL_SUCCESS || !isfinite(v))
        return ncsn_seterr(err, "Technique 3: the minimiser failed (%s)", gsl_strerror(status));
    *eps_paper = sigma_L * sigma_L * exp(v);
    *f_min = 1.0 + h;
    return 0;
}
