/* test_dataset.c: the data sets of dataset.h and their configuration keys.
 *   generators    each 2-D toy's support and moments (moons' two arcs, the swiss roll's
 *                 radius range, the rings' radii, the checkerboard's cells), noise
 *   manifold      the embedding is orthonormal, points lie in its column space up to the
 *                 noise, and the embedded mixture is Q times the 2-D mixture's points
 *   exact         the embedded mixture's log density against a dense Gaussian computation,
 *                 its score against finite differences of that density
 *   gmm           bit-identical to the mixture sampler it always used
 *   hdf5          a file written here: split sizes, a fixed shuffle that loses no row, and
 *                 each error (missing file or key, a group, wrong rank, strings, NaN, inf,
 *                 too small, wrong D) naming the key, the file and its dataset; dataset.n
 *                 beyond the training rows takes all of them
 *   labels        dataset.labels follow their rows through the shuffle and the split;
 *                 a wrong length, a rank, a fraction, a negative or too large label, a
 *                 missing dataset are refused naming dataset.labels, the file and the key
 *   metrics       no modes (K = 0) and NaN where the density is unknown; a file's
 *                 reference sets come from its splits
 *   config        the new keys refused where they do not apply
 *   provenance    sigma_1_source, L_source, eps_source, gamma, eps_paper in a run file,
 *                 and carried over by ncsn sample
 * Sizes: N points drawn, D dimensions. */
#include <hdf5.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/dataset.h"
#include "ncsn/io.h"
#include "ncsn/metrics.h"
#include "ncsn/plan.h"
#include "ncsn/run.h"


/* The data set of sets, opened; *x (N, D) fresh points under key (7, 0, REFERENCE). */
static void open_and_draw(ncsn_dataset *ds, const char *const *sets, int N, float **x) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_fix_config(&c, sets);
    int rc = ncsn_config_validate(&c, &err) || ncsn_dataset_open(ds, &c, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT_FATAL(ds->sample != NULL);
    *x = malloc(sizeof(float) * (size_t)N * (size_t)ds->D);
    ds->sample(ds, ncsn_rng_key(7, 0, NCSN_RNG_REFERENCE), 0, N, *x);
    ncsn_config_free(&c);
}

/* ---- the 2-D toys ------------------------------------------------------------------------ */

enum { N = 20000 };

static void test_moons(void) {
    ncsn_dataset ds;
    float *x;
    open_and_draw(&ds, SETS("dataset.name=moons"), N, &x);
    CU_ASSERT_EQUAL(ds.D, 2);
    CU_ASSERT(ds.exact == NULL);
    int upper = 0, off = 0;
    double mx = 0, my = 0;
    for (int i = 0; i < N; i++) {
        double a = x[2 * i], b = x[2 * i + 1];
        /* upper arc: radius 1 about (0, 0), y >= 0; lower: radius 1 about (1, 1/2), y <= 1/2 */
        int on_upper = fabs(hypot(a, b) - 1) < 1e-5 && b >= -1e-6;
        int on_lower = fabs(hypot(a - 1, b - 0.5) - 1) < 1e-5 && b <= 0.5 + 1e-6;
        upper += on_upper && !on_lower;
        off += !on_upper && !on_lower;
        mx += a;
        my += b;
    }
    CU_ASSERT_EQUAL(off, 0);
    NCSN_CHECK_CLOSE(upper / (double)N, 0.5, 0.02);
    /* E x = 1/2; E y = (2/pi + 1/2 - 2/pi) / 2 = 1/4 */
    NCSN_CHECK_CLOSE(mx / N, 0.5, 0.02);
    NCSN_CHECK_CLOSE(my / N, 0.25, 0.02);
    free(x);
    ncsn_dataset_free(&ds);
}

static void test_swissroll(void) {
    ncsn_dataset ds;
    float *x;
    open_and_draw(&ds, SETS("dataset.name=swissroll"), N, &x);
    CU_ASSERT_EQUAL(ds.D, 2);
    double rmin = INFINITY, rmax = 0, rsum = 0, worst = 0;
    for (int i = 0; i < N; i++) {
        double a = x[2 * i], b = x[2 * i + 1], r = hypot(a, b);
        rmin = fmin(rmin, r);
        rmax = fmax(rmax, r);
        rsum += r;
        /* the point is (r cos 2r, r sin 2r) */
        worst = fmax(worst, hypot(a - r * cos(2 * r), b - r * sin(2 * r)));
    }
    CU_ASSERT(rmin >= 0.75 * M_PI - 1e-5 && rmax <= 2.25 * M_PI + 1e-5);
    CU_ASSERT(rmin < 0.75 * M_PI + 0.01 && rmax > 2.25 * M_PI - 0.01);
    NCSN_CHECK_CLOSE(rsum / N, 1.5 * M_PI, 0.03); /* t uniform: mean radius in the middle */
    CU_ASSERT(worst < 1e-4);
    free(x);
    ncsn_dataset_free(&ds);
}

static void test_rings(void) {
    ncsn_dataset ds;
    float *x;
    open_and_draw(&ds, SETS("dataset.name=rings"), N, &x);
    int count[4] = {0, 0, 0, 0}, off = 0;
    double mx = 0, my = 0;
    for (int i = 0; i < N; i++) {
        double r = hypot(x[2 * i], x[2 * i + 1]);
        int ring = (int)lround(r / 0.75) - 1;
        if (ring < 0 || ring > 3 || fabs(r - 0.75 * (ring + 1)) > 1e-5) off++;
        else count[ring]++;
        mx += x[2 * i];
        my += x[2 * i + 1];
    }
    CU_ASSERT_EQUAL(off, 0);
    for (int j = 0; j < 4; j++) NCSN_CHECK_CLOSE(count[j] / (double)N, 0.25, 0.015);
    NCSN_CHECK_CLOSE(mx / N, 0, 0.05);
    NCSN_CHECK_CLOSE(my / N, 0, 0.05);
    free(x);
    ncsn_dataset_free(&ds);

    /* dataset.noise: N(0, 0.1^2 I) around the circles */
    open_and_draw(&ds, SETS("dataset.name=rings", "dataset.noise=0.1"), N, &x);
    double s2 = 0;
    for (int i = 0; i < N; i++) {
        double r = hypot(x[2 * i], x[2 * i + 1]);
        double d = r - 0.75 * lround(r / 0.75);
        s2 += d * d;
    }
    NCSN_CHECK_CLOSE(sqrt(s2 / N), 0.1, 0.005); /* the radial part of 2-D noise: std 0.1 */
    free(x);
    ncsn_dataset_free(&ds);
}

static void test_checkerboard(void) {
    ncsn_dataset ds;
    float *x;
    open_and_draw(&ds, SETS("dataset.name=checkerboard"), N, &x);
    int cells[4][4] = {{0}}, bad = 0;
    for (int i = 0; i < N; i++) {
        double a = x[2 * i], b = x[2 * i + 1];
        if (!(a >= -4 && a < 4 && b >= -4 && b < 4)) {
            bad++;
            continue;
        }
        int ci = (int)floor(a / 2) + 2, cj = (int)floor(b / 2) + 2;
        if ((ci + cj) % 2 != 0) bad++;
        else cells[ci][cj]++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (int ci = 0; ci < 4; ci++)
        for (int cj = 0; cj < 4; cj++)
            if ((ci + cj) % 2 == 0) NCSN_CHECK_CLOSE(cells[ci][cj] / (double)N, 0.125, 0.01);
    free(x);
    ncsn_dataset_free(&ds);
}

/* A point's index, not the batch it is drawn in, decides it. */
static void test_generators_are_indexed(void) {
    const char *names[] = {"moons", "swissroll", "rings", "checkerboard"};
    for (int t = 0; t < 4; t++) {
        char set[64];
        snprintf(set, sizeof set, "dataset.name=%s", names[t]);
        ncsn_dataset ds;
        float *x;
        open_and_draw(&ds, SETS(set, "dataset.noise=0.05"), 100, &x);
        float y[2 * 30];
        ds.sample(&ds, ncsn_rng_key(7, 0, NCSN_RNG_REFERENCE), 40, 30, y);
        CU_ASSERT(memcmp(y, x + 2 * 40, sizeof y) == 0);
        free(x);
        ncsn_dataset_free(&ds);
    }
}

/* ---- manifold ------------------------------------------------------------------------------ */

static void test_embedding_is_orthonormal(void) {
    const int dims[] = {2, 3, 16, 64, 784};
    for (int t = 0; t < 5; t++) {
        const int D = dims[t];
        double *Q = malloc(sizeof(double) * (size_t)D * 2);
        ncsn_dataset_embedding(D, Q);
        double g[2][2] = {{0, 0}, {0, 0}};
        for (int d = 0; d < D; d++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) g[i][j] += Q[d * 2 + i] * Q[d * 2 + j];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) NCSN_CHECK_CLOSE(g[i][j], i == j, 1e-14);
        /* fixed: the same map every time */
        double *Q2 = malloc(sizeof(double) * (size_t)D * 2);
        ncsn_dataset_embedding(D, Q2);
        CU_ASSERT(memcmp(Q, Q2, sizeof(double) * (size_t)D * 2) == 0);
        free(Q);
        free(Q2);
    }
}

/* |x - Q Q^T x|^2 of each point, averaged. */
static double mean_off_plane(const float *x, int n, int D, const double *Q) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        const float *p = x + (size_t)i * D;
        double a[2] = {0, 0};
        for (int d = 0; d < D; d++)
            for (int j = 0; j < 2; j++) a[j] += Q[d * 2 + j] * p[d];
        for (int d = 0; d < D; d++) {
            double r = p[d] - Q[d * 2] * a[0] - Q[d * 2 + 1] * a[1];
            s += r * r;
        }
    }
    return s / n;
}

static void test_manifold_points(void) {
    enum { M = 4000, D = 16 };
    const double tau = 0.05;
    /* base gmm, no noise: Q times the 2-D mixture's points of the same stream */
    ncsn_dataset flat, emb, noisy, roll;
    float *x2, *x, *xn, *xr;
    open_and_draw(&flat, SETS("dataset.name=gmm"), M, &x2);
    open_and_draw(&emb, SETS("dataset.name=manifold", "dataset.dim=16"), M, &x);
    CU_ASSERT_EQUAL(emb.D, D);
    CU_ASSERT_FATAL(emb.Q != NULL && emb.exact != NULL);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int d = 0; d < D; d++) {
            double want = emb.Q[d * 2] * x2[2 * i] + emb.Q[d * 2 + 1] * x2[2 * i + 1];
            worst = fmax(worst, fabs(x[(size_t)i * D + d] - want));
        }
    CU_ASSERT(worst < 1e-5);
    CU_ASSERT(mean_off_plane(x, M, D, emb.Q) < 1e-11);
    /* with noise: E|x - QQ^T x|^2 = tau^2 (D - 2) */
    open_and_draw(&noisy, SETS("dataset.name=manifold", "dataset.dim=16", "dataset.noise=0.05"),
                  M, &xn);
    NCSN_CHECK_CLOSE(mean_off_plane(xn, M, D, noisy.Q) / (tau * tau * (D - 2)), 1.0, 0.03);
    /* base swissroll: in the plane, with the roll's radii there */
    open_and_draw(&roll, SETS("dataset.name=manifold", "dataset.dim=16", "dataset.base=swissroll"),
                  M, &xr);
    CU_ASSERT(roll.exact == NULL);
    CU_ASSERT(mean_off_plane(xr, M, D, roll.Q) < 1e-10);
    int outside = 0;
    for (int i = 0; i < M; i++) {
        double r2 = 0;
        for (int d = 0; d < D; d++) r2 += (double)xr[(size_t)i * D + d] * xr[(size_t)i * D + d];
        outside += sqrt(r2) < 0.75 * M_PI - 1e-4 || sqrt(r2) > 2.25 * M_PI + 1e-4;
    }
    CU_ASSERT_EQUAL(outside, 0);
    free(x2);
    free(x);
    free(xn);
    free(xr);
    ncsn_dataset_free(&flat);
    ncsn_dataset_free(&emb);
    ncsn_dataset_free(&noisy);
    ncsn_dataset_free(&roll);
}

/* ---- the embedded mixture's exact density and score ---------------------------------------- */

/* log N(x; mu, C) by Gaussian elimination on C (n x n, destroyed). */
static double dense_log_normal(int n, double *C, const double *v /* x - mu */) {
    double *b = malloc(sizeof(double) * (size_t)n);
    memcpy(b, v, sizeof(double) * (size_t)n);
    double logdet = 0;
    for (int k = 0; k < n; k++) {
        int p = k;
        for (int i = k + 1; i < n; i++) if (fabs(C[i * n + k]) > fabs(C[p * n + k])) p = i;
        if (p != k) {
            for (int j = 0; j < n; j++) {
                double t = C[k * n + j];
                C[k * n + j] = C[p * n + j];
                C[p * n + j] = t;
            }
            double t = b[k];
            b[k] = b[p];
            b[p] = t;
        }
        logdet += log(fabs(C[k * n + k]));
        for (int i = k + 1; i < n; i++) {
            double f = C[i * n + k] / C[k * n + k];
            for (int j = k; j < n; j++) C[i * n + j] -= f * C[k * n + j];
            b[i] -= f * b[k];
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        for (int j = i + 1; j < n; j++) b[i] -= C[i * n + j] * b[j];
        b[i] /= C[i * n + i];
    }
    double quad = 0;
    for (int i = 0; i < n; i++) quad += v[i] * b[i];
    free(b);
    return -0.5 * quad - 0.5 * logdet - 0.5 * n * log(2 * M_PI);
}

static void test_embedded_exact(void) {
    enum { D = 5, K = 3 };
    double Q[D * 2];
    ncsn_dataset_embedding(D, Q);
    const double w[K] = {0.5, 0.3, 0.2}, m[K * 2] = {-2, 1, 3, 0.5, 0, -2}, sd[K] = {0.7, 1.2, 0.4};
    const double taus[] = {0.3, 0.05, 0.0};
    const double sigmas[] = {0.0, 0.1, 1.5};
    const float pts[3][D] = {{0.3f, -0.2f, 0.5f, 1.0f, -0.7f},
                             {1.5f, 0.1f, -0.4f, 0.2f, 0.3f},
                             {-0.6f, 0.9f, 0.05f, -0.3f, 1.1f}};
    for (int ti = 0; ti < 3; ti++) {
        ncsn_gmm g;
        CU_ASSERT_FATAL(ncsn_gmm_init_embedded(&g, D, 2, Q, K, w, m, sd, taus[ti]) == 0);
        for (int si = 0; si < 3; si++) {
            const double tau = taus[ti], sigma = sigmas[si], v = tau * tau + sigma * sigma;
            for (int p = 0; p < 3; p++) {
                double lp = ncsn_gmm_log_prob(&g, pts[p], sigma);
                if (v == 0) { /* no density off the plane */
                    CU_ASSERT(isnan(lp));
                    continue;
                }
                /* dense: log sum_k w_k N(x; Q m_k, sd_k^2 QQ^T + v I) */
                double terms[K], top = -INFINITY;
                for (int k = 0; k < K; k++) {
                    double C[D * D], diff[D];
                    for (int i = 0; i < D; i++) {
                        diff[i] = pts[p][i] - (Q[i * 2] * m[k * 2] + Q[i * 2 + 1] * m[k * 2 + 1]);
                        for (int j = 0; j < D; j++)
                            C[i * D + j] = sd[k] * sd[k] * (Q[i * 2] * Q[j * 2] + Q[i * 2 + 1] * Q[j * 2 + 1]) +
                                           (i == j ? v : 0);
                    }
                    terms[k] = log(w[k]) + dense_log_normal(D, C, diff);
                    top = fmax(top, terms[k]);
                }
                double s = 0;
                for (int k = 0; k < K; k++) s += exp(terms[k] - top);
                NCSN_CHECK_CLOSE(lp, top + log(s), 1e-9 * fmax(1, fabs(lp)));
                /* the score against central differences of the density */
                double grad[D];
                ncsn_gmm_score(&g, pts[p], sigma, grad);
                for (int d = 0; d < D; d++) {
                    const float h = 1e-3f;
                    float xp[D], xm[D];
                    memcpy(xp, pts[p], sizeof xp);
                    memcpy(xm, pts[p], sizeof xm);
                    xp[d] += h;
                    xm[d] -= h;
                    double fd = (ncsn_gmm_log_prob(&g, xp, sigma) - ncsn_gmm_log_prob(&g, xm, sigma)) /
                                ((double)xp[d] - (double)xm[d]);
                    NCSN_CHECK_CLOSE(grad[d], fd, 1e-3 * fmax(1, fabs(fd)));
                }
            }
        }
        ncsn_gmm_free(&g);
    }
}

/* The gmm data set draws exactly what the mixture sampler always drew. */
static void test_gmm_unchanged(void) {
    ncsn_config c;
    ncsn_fix_config(&c, SETS("seed=5", "dataset.n=300"));
    ncsn_dataset ds;
    float *x;
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_training_set(&c, &ds, &x, &err) == 0);
    ncsn_gmm g;
    const double w[2] = {0.95, 0.05}, mu[4] = {-5, -5, 5, 5}, sd[2] = {1, 1};
    CU_ASSERT_FATAL(ncsn_gmm_init(&g, 2, 2, w, mu, sd) == 0);
    float y[300 * 2];
    ncsn_gmm_sample(&g, ncsn_rng_key(5, ncsn_config_id(&c, NCSN_PART_DATA), NCSN_RNG_TRAIN_DATA),
                    0, 300, y);
    CU_ASSERT(memcmp(x, y, sizeof y) == 0);
    CU_ASSERT(ds.exact != NULL && ds.exact->K == 2);
    ncsn_gmm_free(&g);
    free(x);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
}

/* ---- hdf5 ---------------------------------------------------------------------------------- */

/* Writes dataset name (rank, dims) of doubles (or, with strings, of fixed strings) into
 * path, creating the file when create is set. */
static void h5_put(const char *path, int create, const char *name, int rank,
                   const hsize_t *dims, const double *data) {
    hid_t f = create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)
                     : H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(d >= 0);
    CU_ASSERT(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
}

static const char *points_file(void) {
    static char path[512];
    if (path[0]) return path;
    snprintf(path, sizeof path, "%s/points.h5", ncsn_test_tmpdir());
    double x[50 * 3], bad[6 * 2], r3[2 * 2 * 2] = {0}, small[4 * 2];
    for (int i = 0; i < 50; i++)
        for (int d = 0; d < 3; d++) x[i * 3 + d] = i + 0.25 * d; /* row i starts with i */
    for (int i = 0; i < 12; i++) bad[i] = i;
    for (int i = 0; i < 8; i++) small[i] = i;
    hsize_t dx[2] = {50, 3}, db[2] = {6, 2}, dr[3] = {2, 2, 2}, ds[2] = {4, 2};
    h5_put(path, 1, "/x", 2, dx, x);
    bad[7] = NAN;
    h5_put(path, 0, "/nan", 2, db, bad);
    bad[7] = 3;
    bad[4] = -INFINITY;
    h5_put(path, 0, "/inf", 2, db, bad);
    bad[4] = 1e300; /* beyond float */
    h5_put(path, 0, "/huge", 2, db, bad);
    h5_put(path, 0, "/r3", 3, dr, r3);
    h5_put(path, 0, "/small", 2, ds, small);
    /* labels: row i of /x has class i % 3; and bad ones */
    double lab[50];
    hsize_t dl[1] = {50}, dl40[1] = {40}, dl2[2] = {50, 1};
    for (int i = 0; i < 50; i++) lab[i] = i % 3;
    h5_put(path, 0, "/lab", 1, dl, lab);
    h5_put(path, 0, "/lab40", 1, dl40, lab);
    h5_put(path, 0, "/lab2d", 2, dl2, lab);
    lab[17] = 2.5;
    h5_put(path, 0, "/lab_half", 1, dl, lab);
    lab[17] = -1;
    h5_put(path, 0, "/lab_neg", 1, dl, lab);
    lab[17] = 256;
    h5_put(path, 0, "/lab_big", 1, dl, lab);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "/group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    /* strings, 2-D */
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    hsize_t dt[2] = {3, 2};
    hid_t s = H5Screate_simple(2, dt, NULL);
    hid_t d = H5Dcreate2(f, "/text", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    char text[6][4] = {"a", "b", "c", "d", "e", "f"};
    H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text);
    H5Dclose(d);
    H5Sclose(s);
    H5Tclose(t);
    /* integers are numbers too */
    int ints[20 * 2];
    for (int i = 0; i < 40; i++) ints[i] = i;
    hsize_t di[2] = {20, 2};
    s = H5Screate_simple(2, di, NULL);
    d = H5Dcreate2(f, "/ints", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ints);
    H5Dclose(d);
    H5Sclose(s);
    uint8_t ints_lab[20]; /* the label of /ints row r is r */
    for (int i = 0; i < 20; i++) ints_lab[i] = (uint8_t)i;
    s = H5Screate_simple(1, di, NULL);
    d = H5Dcreate2(f, "/ints_lab", H5T_STD_U8LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, ints_lab);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
    return path;
}

static void test_hdf5_split(void) {
    const char *path = points_file();
    char set_path[600];
    snprintf(set_path, sizeof set_path, "dataset.path=%s", path);
    ncsn_config c;
    ncsn_fix_config(&c, SETS("dataset.name=hdf5", set_path, "dataset.key=/x", "dataset.n=30",
                       "train.batch=8"));
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_config_validate(&c, &err) == 0);
    CU_ASSERT_EQUAL(c.dataset.dim, 0); /* not known before the file is read */
    ncsn_dataset ds, again;
    int rc = ncsn_dataset_open(&ds, &c, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT(ds.sample == NULL && ds.exact == NULL);
    CU_ASSERT_EQUAL(ds.D, 3);
    CU_ASSERT_EQUAL(ds.n_train, 40);
    CU_ASSERT_EQUAL(ds.n_heldout, 10);
    /* every row exactly once, whole */
    int seen[50] = {0}, moved = 0;
    for (int i = 0; i < 50; i++) {
        const float *r = i < 40 ? ds.train + i * 3 : ds.heldout + (i - 40) * 3;
        int row = (int)r[0];
        CU_ASSERT_FATAL(row >= 0 && row < 50);
        seen[row]++;
        moved += row != i;
        CU_ASSERT(r[1] == row + 0.25f && r[2] == row + 0.5f);
    }
    for (int i = 0; i < 50; i++) CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT(moved > 40); /* shuffled */
    /* the same split every time */
    CU_ASSERT_FATAL(ncsn_dataset_open(&again, &c, &err) == 0);
    CU_ASSERT(memcmp(ds.train, again.train, sizeof(float) * 40 * 3) == 0);
    /* training points: the first dataset.n training rows */
    float *x;
    ncsn_dataset_training_points(&ds, &c, &x);
    CU_ASSERT(memcmp(x, ds.train, sizeof(float) * 30 * 3) == 0);
    free(x);
    /* the metrics' sets: held-out rows, and training rows as the floor */
    float *ref, *flo;
    int n_ref, n_flo;
    ncsn_dataset_reference_sets(&ds, 1, 25, &ref, &n_ref, &flo, &n_flo);
    CU_ASSERT(n_ref == 10 && n_flo == 25);
    CU_ASSERT(memcmp(ref, ds.heldout, sizeof(float) * 10 * 3) == 0);
    CU_ASSERT(memcmp(flo, ds.train, sizeof(float) * 25 * 3) == 0);
    free(ref);
    free(flo);
    ncsn_dataset_free(&ds);
    ncsn_dataset_free(&again);
    /* integers, and holdout 0.5 */
    CU_ASSERT_FATAL(ncsn_config_set(&c, "dataset.key=ints", &err) == 0);
    CU_ASSERT_FATAL(ncsn_config_set(&c, "dataset.holdout=0.5", &err) == 0);
    CU_ASSERT_FATAL(ncsn_config_set(&c, "dataset.n=10", &err) == 0);
    rc = ncsn_dataset_open(&ds, &c, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT(ds.D == 2 && ds.n_train == 10 && ds.n_heldout == 10);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
}

/* The hdf5 data set of points.h5's /x with more overrides, opened. */
static void open_points(ncsn_dataset *ds, ncsn_config *c, const char *const *more) {
    char set_path[600];
    snprintf(set_path, sizeof set_path, "dataset.path=%s", points_file());
    ncsn_fix_config(c, SETS("dataset.name=hdf5", set_path, "dataset.key=/x", "train.batch=8"));
    ncsn_error err = {{0}};
    for (int i = 0; more[i]; i++) CU_ASSERT_FATAL(ncsn_config_set(c, more[i], &err) == 0);
    CU_ASSERT_FATAL(ncsn_config_validate(c, &err) == 0);
    int rc = ncsn_dataset_open(ds, c, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
}

/* dataset.n beyond the 40 training rows takes all of them; the plan says so. */
static void test_hdf5_all_rows(void) {
    ncsn_dataset ds;
    ncsn_config c;
    open_points(&ds, &c, SETS("dataset.n=1000000"));
    CU_ASSERT_EQUAL(ds.n_points, 40);
    float *x;
    ncsn_dataset_training_points(&ds, &c, &x);
    CU_ASSERT(memcmp(x, ds.train, sizeof(float) * 40 * 3) == 0);
    free(x);
    ncsn_dataset_free(&ds);
    ncsn_plan p;
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_config_set(&c, "noise.sigma_1=auto", &err) == 0);
    CU_ASSERT_FATAL(ncsn_plan_make(&p, &c, &err) == 0);
    CU_ASSERT_EQUAL(p.cfg.dataset.n, 40);
    CU_ASSERT_EQUAL(p.ds.n_points, 40);
    ncsn_plan_free(&p);
    ncsn_config_free(&c);
    /* fewer asked: that many; a generator: dataset.n */
    open_points(&ds, &c, SETS("dataset.n=12"));
    CU_ASSERT_EQUAL(ds.n_points, 12);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
}

/* dataset.labels: every row keeps its label through the shuffle and the split. */
static void test_hdf5_labels(void) {
    ncsn_dataset ds;
    ncsn_config c;
    open_points(&ds, &c, SETS("dataset.labels=/lab", "dataset.n=30"));
    CU_ASSERT_FATAL(ds.train_labels != NULL && ds.heldout_labels != NULL);
    CU_ASSERT_EQUAL(ds.n_classes, 3);
    CU_ASSERT(ds.n_train == 40 && ds.n_heldout == 10 && ds.n_points == 30);
    int moved = 0;
    for (int i = 0; i < 50; i++) {
        const int train = i < 40, j = train ? i : i - 40;
        const int row = (int)(train ? ds.train : ds.heldout)[j * 3];
        const int label = (train ? ds.train_labels : ds.heldout_labels)[j];
        CU_ASSERT_EQUAL(label, row % 3);
        moved += row != i;
    }
    CU_ASSERT(moved > 40);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
    /* integer labels, any type */
    open_points(&ds, &c, SETS("dataset.key=/ints", "dataset.labels=/ints_lab", "dataset.n=8"));
    CU_ASSERT_EQUAL(ds.n_classes, 20);
    for (int j = 0; j < ds.n_train; j++) /* /ints row r is (2r, 2r + 1); its label r */
        CU_ASSERT_EQUAL(2 * ds.train_labels[j], (int)ds.train[j * 2]);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
    /* without dataset.labels: none */
    open_points(&ds, &c, SETS("dataset.n=30"));
    CU_ASSERT(ds.train_labels == NULL && ds.heldout_labels == NULL && ds.n_classes == 0);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
}

/* Opening the hdf5 data set with these overrides fails with a message holding each of
 * the wanted parts. */
static void expect_h5_error(const char *path, const char *key, const char *const *more,
                            const char *const *want, int line) {
    char set_path[640], set_key[100];
    snprintf(set_path, sizeof set_path, "dataset.path=%s", path ? path : points_file());
    snprintf(set_key, sizeof set_key, "dataset.key=%s", key);
    ncsn_config c;
    ncsn_fix_config(&c, SETS("dataset.name=hdf5", set_path, set_key, "dataset.n=2", "train.batch=2"));
    ncsn_error err = {{0}};
    for (int i = 0; more[i]; i++) CU_ASSERT_FATAL(ncsn_config_set(&c, more[i], &err) == 0);
    ncsn_dataset ds;
    int rc = ncsn_dataset_open(&ds, &c, &err);
    CU_ASSERT_EQUAL(rc, -1);
    for (int i = 0; want[i]; i++) {
        if (!strstr(err.msg, want[i]))
            fprintf(stderr, "\n  test_dataset.c:%d: \"%s\" not in: %s\n", line, want[i], err.msg);
        CU_ASSERT(strstr(err.msg, want[i]) != NULL);
    }
    printf("\n    refused as expected: %s", err.msg);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
}
#define EXPECT_H5(key, more, ...) expect_h5_error(NULL, key, more, SETS(__VA_ARGS__), __LINE__)

static void test_hdf5_errors(void) {
    const char *none[] = {"dataset.holdout=0.2", NULL};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.h5", ncsn_test_tmpdir());
    expect_h5_error(missing, "/x", none, SETS("--set dataset.path: ", "missing.h5: cannot open (No such file"), __LINE__);
    EXPECT_H5("/nope", none, "--set dataset.key: ", "points.h5 has no dataset \"/nope\"");
    EXPECT_H5("/group", none, "dataset.key: ", "points.h5: \"/group\" is a group");
    EXPECT_H5("/r3", none, "dataset.key: ", "points.h5:/r3 has rank 3, expected an (N, D)");
    EXPECT_H5("/text", none, "dataset.key: ", "points.h5:/text does not hold numbers");
    EXPECT_H5("/nan", none, "dataset.key: ", "points.h5:/nan: row 3, column 1 is nan");
    EXPECT_H5("/inf", none, "dataset.key: ", "points.h5:/inf: row 2, column 0 is -inf");
    EXPECT_H5("/huge", none, "dataset.key: ", "points.h5:/huge: row 2, column 0 is 1e+300",
              "within float range");
    const char *tiny_holdout[] = {"dataset.holdout=0.1", NULL};
    EXPECT_H5("/small", tiny_holdout, "--set dataset.holdout: ", "points.h5:/small has 4 rows",
              "fewer than the 2 the metrics need");
    const char *big_batch[] = {"dataset.n=100", "train.batch=41", NULL};
    EXPECT_H5("/x", big_batch, "--set train.batch: is 41, but ", "points.h5:/x has 50 rows",
              "only 40 are left for training");
    /* labels */
    const char *lab40[] = {"dataset.labels=/lab40", NULL};
    EXPECT_H5("/x", lab40, "--set dataset.labels: ", "points.h5:/lab40 has 40 labels, but ",
              "points.h5:/x has 50 rows: one label per row");
    const char *half[] = {"dataset.labels=/lab_half", NULL};
    EXPECT_H5("/x", half, "--set dataset.labels: ", "points.h5:/lab_half: entry 17 is 2.5: "
              "labels must be whole numbers 0 to 255");
    const char *neg[] = {"dataset.labels=/lab_neg", NULL};
    EXPECT_H5("/x", neg, "--set dataset.labels: ", "points.h5:/lab_neg: entry 17 is -1");
    const char *big[] = {"dataset.labels=/lab_big", NULL};
    EXPECT_H5("/x", big, "--set dataset.labels: ", "points.h5:/lab_big: entry 17 is 256");
    const char *lab2d[] = {"dataset.labels=/lab2d", NULL};
    EXPECT_H5("/x", lab2d, "--set dataset.labels: ", "points.h5:/lab2d has rank 2, expected "
              "an (N,) array of labels");
    const char *nolab[] = {"dataset.labels=/nope", NULL};
    EXPECT_H5("/x", nolab, "--set dataset.labels: ", "points.h5 has no dataset \"/nope\"");
    const char *grplab[] = {"dataset.labels=/group", NULL};
    EXPECT_H5("/x", grplab, "--set dataset.labels: ", "\"/group\" is a group, not a dataset "
              "of labels");
    const char *txtlab[] = {"dataset.labels=/text", NULL};
    EXPECT_H5("/x", txtlab, "--set dataset.labels: ", "points.h5:/text has rank 2");
    const char *wrong_dim[] = {"dataset.dim=4", NULL};
    EXPECT_H5("/x", wrong_dim, "--set dataset.dim: is 4, but ", "points.h5:/x has rows of 3");
    /* not HDF5 at all */
    char text_path[600];
    snprintf(text_path, sizeof text_path, "%s/notes.txt", ncsn_test_tmpdir());
    FILE *f = fopen(text_path, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    ncsn_config c;
    char set[700];
    snprintf(set, sizeof set, "dataset.path=%s", text_path);
    ncsn_fix_config(&c, SETS("dataset.name=hdf5", set, "dataset.key=/x"));
    ncsn_dataset ds;
    ncsn_error err = {{0}};
    CU_ASSERT(ncsn_dataset_open(&ds, &c, &err) == -1);
    CU_ASSERT(strstr(err.msg, "dataset.path: ") && strstr(err.msg, "notes.txt: not an HDF5 file"));
    ncsn_config_free(&c);
}

/* ---- metrics -------------------------------------------------------------------------------- */

static void test_metrics_without_modes(void) {
    ncsn_dataset ds;
    float *x;
    enum { M = 300 };
    open_and_draw(&ds, SETS("dataset.name=moons"), M, &x);
    const double sigmas[3] = {1, 0.5, 0.1};
    ncsn_metrics m;
    memset(&m, 0, sizeof m);
    ncsn_metrics_compute_dataset(&ds, NULL, sigmas, 3, x, M, x, M, -8, 8, 1, &m);
    CU_ASSERT(m.K == 0 && m.mode_weights == NULL);
    CU_ASSERT(isnan(m.mode_weight_error) && isnan(m.nll_true));
    CU_ASSERT(m.L == 3 && isnan(m.score_error[0]) && isnan(m.score_error[2]));
    CU_ASSERT(isfinite(m.mmd2) && isfinite(m.swd) && isfinite(m.noise_floor_mmd2));
    CU_ASSERT(m.mmd2 < 0.05 && m.swd < 0.2); /* fresh moons against fresh moons */
    CU_ASSERT(isfinite(m.fd) && isfinite(m.noise_floor_fd) && m.fd < 0.05);
    CU_ASSERT(m.nn_ratio == 0); /* the samples are the training points */
    ncsn_metrics_free(&m);
    free(x);
    ncsn_dataset_free(&ds);

    /* the embedded mixture: modes in D, nll defined with noise */
    open_and_draw(&ds, SETS("dataset.name=manifold", "dataset.dim=8", "dataset.noise=0.1"), M, &x);
    memset(&m, 0, sizeof m);
    ncsn_metrics_compute_dataset(&ds, NULL, sigmas, 3, x, M, NULL, 0, -8, 8, 1, &m);
    CU_ASSERT(m.K == 2 && m.mode_weight_error < 0.05 && isfinite(m.nll_true));
    ncsn_metrics_free(&m);
    free(x);
    ncsn_dataset_free(&ds);
}

/* ---- configuration ----------------------------------------------------------------------- */

static void expect_invalid(const char *const *sets, const char *want, int line) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_fix_config(&c, sets);
    int rc = ncsn_config_validate(&c, &err);
    ncsn_fix_check_refused(rc, err.msg, want, __FILE__, line);
    ncsn_config_free(&c);
}
#define EXPECT_INVALID(want, ...) expect_invalid(SETS(__VA_ARGS__), want, __LINE__)

static void test_config_keys(void) {
    EXPECT_INVALID("--set dataset.noise: applies only to dataset.name manifold, moons, swissroll, "
                   "rings and checkerboard, not to gmm: leave it out",
                   "dataset.noise=0.1");
    EXPECT_INVALID("--set dataset.path: applies only to dataset.name hdf5, not to moons: leave it "
                   "out", "dataset.name=moons", "dataset.path=x.h5");
    EXPECT_INVALID("--set dataset.holdout: applies only to dataset.name hdf5, not to manifold "
                   "with dataset.base gmm: leave it out",
                   "dataset.name=manifold", "dataset.dim=4", "dataset.holdout=0.5");
    EXPECT_INVALID("--set dataset.means: applies only to the mixture (dataset.name gmm, or "
                   "manifold with dataset.base gmm), not to manifold with dataset.base swissroll: "
                   "leave it out",
                   "dataset.name=manifold", "dataset.dim=4", "dataset.base=swissroll",
                   "dataset.means=[[0,0],[1,1]]");
    EXPECT_INVALID("--set dataset.base: applies only to dataset.name manifold, not to gmm: leave "
                   "it out", "dataset.base=swissroll");
    EXPECT_INVALID("--set dataset.dim: manifold needs the dimension to embed into, e.g. "
                   "dataset.dim: 16", "dataset.name=manifold");
    EXPECT_INVALID("--set dataset.dim: is 3 but the rows of dataset.means have 2 numbers (leave "
                   "dataset.dim out: it follows from them)", "dataset.dim=3");
    EXPECT_INVALID("--set dataset.dim: rings is a 2-D data set, got 3 (leave dataset.dim out)",
                   "dataset.name=rings", "dataset.dim=3");
    EXPECT_INVALID("--set dataset.means: manifold embeds a 2-D mixture: rows need 2 numbers, "
                   "got 3", "dataset.name=manifold", "dataset.dim=8",
                   "dataset.means=[[0,0,0],[1,1,1]]");
    EXPECT_INVALID("--set dataset.path: hdf5 needs the file to read, e.g. dataset.path: data.h5",
                   "dataset.name=hdf5");
    EXPECT_INVALID("--set dataset.labels: applies only to dataset.name hdf5, not to gmm: leave it "
                   "out", "dataset.labels=/y");
    EXPECT_INVALID("--set sample.score: exact needs a data set whose score is known (dataset.name "
                   "gmm, or manifold with dataset.base gmm), not checkerboard",
                   "dataset.name=checkerboard", "sample.score=exact");
    EXPECT_INVALID("--set sample.score: exact with sample.method plain needs dataset.noise > 0 "
                   "for manifold: the embedded mixture has no density off its plane",
                   "dataset.name=manifold", "dataset.dim=8", "sample.method=plain",
                   "sample.score=exact");

    ncsn_config c, d;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    CU_ASSERT(ncsn_config_set(&c, "dataset.holdout=1", &err) == -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "--set dataset.holdout: expected a number in (0, 1), got 1");
    CU_ASSERT(ncsn_config_set(&c, "dataset.path=[a, b]", &err) == -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "--set dataset.path: expected a string, got a list");
    ncsn_config_free(&c);

    /* dataset.dim "auto" follows the data and round-trips as auto */
    ncsn_fix_config(&c, SETS("dataset.means=[[0,0,0],[1,1,1]]"));
    CU_ASSERT(c.dataset.dim == 3 && c.dataset.dim_auto == 1);
    char *yaml = ncsn_config_to_yaml(&c);
    CU_ASSERT(strstr(yaml, "  dim: auto\n") != NULL);
    ncsn_config_default(&d);
    CU_ASSERT_FATAL(ncsn_config_load_string(&d, yaml, "y", &err) == 0);
    CU_ASSERT(ncsn_config_equal(&c, &d));
    free(yaml);
    ncsn_config_free(&c);
    ncsn_config_free(&d);
    ncsn_fix_config(&c, SETS("dataset.name=swissroll"));
    CU_ASSERT(c.dataset.dim == 2);
    CU_ASSERT(ncsn_config_validate(&c, &err) == 0);
    ncsn_config_free(&c);
    /* a path with spaces and quotes survives YAML */
    ncsn_fix_config(&c, SETS("dataset.name=hdf5", "dataset.path='my data/\"x\".h5'", "dataset.key=/a b"));
    CU_ASSERT_STRING_EQUAL(c.dataset.path, "my data/\"x\".h5");
    yaml = ncsn_config_to_yaml(&c);
    ncsn_config_default(&d);
    CU_ASSERT_FATAL(ncsn_config_load_string(&d, yaml, "y", &err) == 0);
    CU_ASSERT_STRING_EQUAL(d.dataset.path, "my data/\"x\".h5");
    CU_ASSERT_STRING_EQUAL(d.dataset.key, "/a b");
    free(yaml);
    ncsn_config_free(&c);
    ncsn_config_free(&d);
}

/* ---- provenance in a run file -------------------------------------------------------------- */

static char *config_string_attr(hid_t config, const char *name) {
    hid_t a = H5Aopen(config, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    char *s = NULL, *out = NULL;
    if (H5Aread(a, t, &s) >= 0 && s) out = strdup(s);
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    return out;
}

static double config_real_attr(hid_t config, const char *name) {
    double v = NAN;
    hid_t a = H5Aopen(config, name, H5P_DEFAULT);
    if (a >= 0) H5Aread(a, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(a);
    return v;
}

/* The three sources, gamma and eps_paper of a run file against want. */
static void check_provenance(const char *path, const char *want[3]) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t g = H5Gopen2(f, "/config", H5P_DEFAULT);
    const char *names[3] = {"sigma_1_source", "L_source", "eps_source"};
    for (int i = 0; i < 3; i++) {
        char *s = config_string_attr(g, names[i]);
        if (!s || strcmp(s, want[i]) != 0)
            fprintf(stderr, "\n  %s: %s = %s, want %s\n", path, names[i], s ? s : "(none)",
                    want[i]);
        CU_ASSERT(s && strcmp(s, want[i]) == 0);
        free(s);
    }
    double s1 = config_real_attr(g, "noise.sigma_1"), sL = config_real_attr(g, "noise.sigma_L");
    double eps = config_real_attr(g, "sample.eps"), L = NAN;
    hid_t a = H5Aopen(g, "noise.L", H5P_DEFAULT);
    int64_t Li = 0;
    H5Aread(a, H5T_NATIVE_INT64, &Li);
    H5Aclose(a);
    L = (double)Li;
    NCSN_CHECK_CLOSE(config_real_attr(g, "gamma"), pow(s1 / sL, 1 / (L - 1)), 1e-12);
    CU_ASSERT(config_real_attr(g, "eps_paper") == eps / 2);
    H5Gclose(g);
    H5Fclose(f);
}

static void test_provenance(void) {
    char out[600], again[600];
    snprintf(out, sizeof out, "%s/prov.h5", ncsn_test_tmpdir());
    snprintf(again, sizeof again, "%s/prov-sample.h5", ncsn_test_tmpdir());
    ncsn_config c;
    ncsn_fix_config(&c, SETS("dataset.name=manifold", "dataset.dim=8", "dataset.noise=0.01",
                       "dataset.n=200", "train.steps=20", "train.batch=32", "sample.n=50",
                       "sample.T=3", "noise.sigma_1=auto", "noise.L=12", "sample.eps=auto",
                       "model.hidden=16", "sample.max_bad_fraction=1")); /* untrained */
    ncsn_error err = {{0}};
    ncsn_run_options opt = {1, NULL, NULL, NULL, NULL, NULL, NULL};
    int rc = ncsn_run(&c, out, &opt, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    const char *want[3] = {"technique1", "explicit", "technique3"};
    check_provenance(out, want);

    /* ncsn sample: values that stay keep their technique; a changed one is explicit */
    ncsn_config r;
    CU_ASSERT_FATAL(ncsn_run_file_config(out, &r, &err) == 0);
    CU_ASSERT(r.noise.sigma_1_auto == 0); /* the file holds numbers */
    CU_ASSERT_FATAL(ncsn_config_set(&r, "sample.n=20", &err) == 0);
    rc = ncsn_resample(out, &r, again, &opt, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    check_provenance(again, want);
    CU_ASSERT_FATAL(ncsn_config_set(&r, "sample.eps=0.001", &err) == 0);
    CU_ASSERT_FATAL(ncsn_config_set(&r, "noise.L=auto", &err) == 0);
    CU_ASSERT_FATAL(ncsn_resample(out, &r, again, &opt, &err) == 0);
    const char *want2[3] = {"technique1", "technique2", "explicit"};
    check_provenance(again, want2);
    ncsn_config_free(&r);
    ncsn_config_free(&c);
}

static const ncsn_test_case tests[] = {
    {"moons: two arcs, half each", test_moons},
    {"swiss roll: radius range and spiral", test_swissroll},
    {"rings: four radii, a quarter each; noise", test_rings},
    {"checkerboard: the 8 even cells, an eighth each", test_checkerboard},
    {"toys: a point depends on its index only", test_generators_are_indexed},
    {"embedding: orthonormal and fixed", test_embedding_is_orthonormal},
    {"manifold: points in the plane up to the noise", test_manifold_points},
    {"embedded mixture: density dense-checked, score by differences", test_embedded_exact},
    {"gmm: the training points are the mixture sampler's", test_gmm_unchanged},
    {"hdf5: split sizes and a fixed shuffle", test_hdf5_split},
    {"hdf5: dataset.n beyond the training rows takes them all", test_hdf5_all_rows},
    {"hdf5: labels follow their rows", test_hdf5_labels},
    {"hdf5: errors name the key, file and dataset", test_hdf5_errors},
    {"metrics: no modes, NaN where unknown", test_metrics_without_modes},
    {"config: dataset keys refused where they do not apply", test_config_keys},
    {"provenance attributes in a run file", test_provenance},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("dataset", tests);
}
