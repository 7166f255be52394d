/* model/model.c: the score network's parameters, forward and backward passes (see model.h).
 * Sizes: D = data dimension, E = embedding width, H = hidden width, n = points. */
#include "ncsn/model.h"

#include <math.h>
#include <string.h>

#include "ncsn/common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

size_t ncsn_model_param_count(int D, int E, int H) {
    return (size_t)E * 1 + E + (size_t)E * E + E + (size_t)H * (D + E) + H + (size_t)D * H + D;
}

/* Named pointers into block, in the order of NCSN_MODEL_N_TENSORS. */
static void point(ncsn_model *m, float *block) {
    const int D = m->D, E = m->E, H = m->H;
    float *p = block;
    m->params = block;
    m->emb0_w = p; p += E;
    m->emb0_b = p; p += E;
    m->emb2_w = p; p += (size_t)E * E;
    m->emb2_b = p; p += E;
    m->bb0_w = p; p += (size_t)H * (D + E);
    m->bb0_b = p; p += H;
    m->bb2_w = p; p += (size_t)D * H;
    m->bb2_b = p; p += D;
    NCSN_ASSERT((size_t)(p - block) == m->n_params);
}

void ncsn_model_alloc(ncsn_model *m, int D, int E, int H, int sigma_input, int scale_by_sigma) {
    memset(m, 0, sizeof *m);
    if (sigma_input == NCSN_SIGMA_INPUT_NONE) E = 0; /* no embedding (model.h) */
    m->D = D;
    m->E = E;
    m->H = H;
    m->sigma_input = sigma_input;
    m->scale_by_sigma = scale_by_sigma;
    m->n_params = ncsn_model_param_count(D, E, H);
    point(m, ncsn_xcalloc_lines(m->n_params, sizeof(float)));
    m->owns_params = 1;
}

void ncsn_model_init_params(ncsn_model *m, ncsn_key key) {
    /* nn.Linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Tensor i uses
     * counters (i, j / 4, 0): the values depend only on the key and their position. */
    for (int i = 0; i < NCSN_MODEL_N_TENSORS; i++) {
        const char *name;
        float *data;
        int rows, cols;
        ncsn_model_tensor(m, i, &name, &data, &rows, &cols);
        int fan_in = (i == 0 || i == 1) ? 1 : (i == 2 || i == 3) ? m->E
                   : (i == 4 || i == 5) ? m->D + m->E : m->H;
        float bound = 1.0f / sqrtf((float)fan_in);
        size_t count = (size_t)rows * (size_t)(cols ? cols : 1);
        for (size_t j = 0; j < count; j += 4) {
            float u[4];
            ncsn_rng_uniform4(key, (uint32_t)i, (uint32_t)(j / 4), 0, u);
            for (size_t q = 0; q < 4 && j + q < count; q++)
                data[j + q] = (2.0f * u[q] - 1.0f) * bound;
        }
    }
}

void ncsn_model_free(ncsn_model *m) {
    if (!m) return;
    if (m->owns_params) free(m->params);
    memset(m, 0, sizeof *m);
}

void ncsn_model_view(const ncsn_model *m, float *block, ncsn_model *view) {
    *view = *m;
    view->owns_params = 0;
    point(view, block);
}

void ncsn_model_copy(const ncsn_model *src, ncsn_model *dst) {
    ncsn_model_alloc(dst, src->D, src->E, src->H, src->sigma_input, src->scale_by_sigma);
    memcpy(dst->params, src->params, sizeof(float) * src->n_params);
}

void ncsn_model_tensor(const ncsn_model *m, int i, const char **name, float **data, int *rows,
                       int *cols) {
    const int D = m->D, E = m->E, H = m->H;
    switch (i) {
    case 0: *name = "sigma_emb.0.weight"; *data = m->emb0_w; *rows = E; *cols = 1; break;
    case 1: *name = "sigma_emb.0.bias"; *data = m->emb0_b; *rows = E; *cols = 0; break;
    case 2: *name = "sigma_emb.2.weight"; *data = m->emb2_w; *rows = E; *cols = E; break;
    case 3: *name = "sigma_emb.2.bias"; *data = m->emb2_b; *rows = E; *cols = 0; break;
    case 4: *name = "backbone.0.weight"; *data = m->bb0_w; *rows = H; *cols = D + E; break;
    case 5: *name = "backbone.0.bias"; *data = m->bb0_b; *rows = H; *cols = 0; break;
    case 6: *name = "backbone.2.weight"; *data = m->bb2_w; *rows = D; *cols = H; break;
    case 7: *name = "backbone.2.bias"; *data = m->bb2_b; *rows = D; *cols = 0; break;
    default: NCSN_ASSERT(0 && "tensor index out of range");
    }
}

void ncsn_model_w2_layout(const ncsn_model *m, float *block, int by_unit) {
    const int D = m->D, H = m->H;
    const size_t n = (size_t)D * H;
    float *w2 = block + (m->bb2_w - m->params);
    float *old = ncsn_xmalloc(sizeof(float) * n);
    memcpy(old, w2, sizeof(float) * n);
    for (int d = 0; d < D; d++)
        for (int u = 0; u < H; u++) {
            if (by_unit) w2[(size_t)u * D + d] = old[(size_t)d * H + u];
            else w2[(size_t)d * H + u] = old[(size_t)u * D + d];
        }
    free(old);
}

int ncsn_model_unit_block(int H) { return H >= 256 ? 128 : 64; }

void ncsn_model_units_share(int H, int me, int nt, int *o0, int *o1) {
    const int ob = ncsn_model_unit_block(H), n_blk = (H + ob - 1) / ob;
    const int b0 = (int)((long)n_blk * me / nt), b1 = (int)((long)n_blk * (me + 1) / nt);
    *o0 = b0 * ob < H ? b0 * ob : H;
    *o1 = b1 * ob < H ? b1 * ob : H;
}

int ncsn_model_unit_params(const ncsn_model *m, int o0, int o1, int with_rest, size_t *start,
                           size_t *count) {
    const int D = m->D, E = m->E, H = m->H, DE = D + E;
    int n = 0;
#define RANGE(ptr, len)                                          \
    do {                                                         \
        start[n] = (size_t)((ptr) - m->params);                  \
        count[n++] = (size_t)(len);                              \
    } while (0)
    if (with_rest) RANGE(m->emb0_w, m->bb0_w - m->emb0_w); /* the embedding's four tensors */
    if (o1 > o0) {
        RANGE(m->bb0_w + (size_t)o0 * DE, (size_t)(o1 - o0) * DE);
        RANGE(m->bb0_b + o0, o1 - o0);
        for (int d = 0; d < D; d++) RANGE(m->bb2_w + (size_t)d * H + o0, o1 - o0);
    }
    if (with_rest) RANGE(m->bb2_b, D);
#undef RANGE
    return n;
}

void ncsn_model_each_owned(const ncsn_model *m, void (*fn)(size_t start, size_t count, void *user),
                           void *user) {
    if (m->n_params < NCSN_MODEL_OWNED_MIN || ncsn_max_threads() < 2) {
        fn(0, m->n_params, user);
        return;
    }
#pragma omp parallel
    {
        int me = 0, nt = 1, o0, o1;
#ifdef _OPENMP
        me = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        size_t *start = ncsn_xmalloc(sizeof(size_t) * 2 * ((size_t)m->D + 4));
        size_t *count = start + m->D + 4;
        ncsn_model_units_share(m->H, me, nt, &o0, &o1);
        const int n = ncsn_model_unit_params(m, o0, o1, me == 0, start, count);
        for (int r = 0; r < n; r++) fn(start[r], count[r], user);
        free(start);
    }
}

static float embed_input(const ncsn_model *m, float sigma) {
    return m->sigma_input == NCSN_SIGMA_INPUT_LOG_SIGMA ? logf(sigma) : sigma;
}

/* a0 (E) = W_e1 t + b_e1 before the relu; e (E) = W_e2 relu(a0) + b_e2. */
static void embed(const ncsn_model *m, float t, float *a0, float *e) {
    const int E = m->E;
    for (int j = 0; j < E; j++) a0[j] = m->emb0_w[j] * t + m->emb0_b[j];
    for (int o = 0; o < E; o++) {
        float acc = m->emb2_b[o];
        const float *w = m->emb2_w + (size_t)o * E;
        for (int j = 0; j < E; j++) acc += w[j] * (a0[j] > 0 ? a0[j] : 0);
        e[o] = acc;
    }
}

void ncsn_model_embed(const ncsn_model *m, float sigma, float *e) {
    float a0[1024];
    NCSN_ASSERT(m->E <= 1024);
    embed(m, embed_input(m, sigma), a0, e);
}

void ncsn_model_level_bias(const ncsn_model *m, float sigma, float *c) {
    const int D = m->D, E = m->E, H = m->H;
    float e[1024];
    NCSN_ASSERT(E <= 1024);
    ncsn_model_embed(m, sigma, e);
    for (int o = 0; o < H; o++) {
        const float *w = m->bb0_w + (size_t)o * (D + E) + D;
        float acc = m->bb0_b[o];
        for (int j = 0; j < E; j++) acc += w[j] * e[j];
        c[o] = acc;
    }
}

void ncsn_model_score(const ncsn_model *m, const float *x, int n, float sigma, float *s) {
    const int D = m->D, E = m->E, H = m->H;
    float *c = ncsn_xmalloc(sizeof(float) * (size_t)H * 2); /* level bias (H), hidden (H) */
    float *h = c + H;
    ncsn_model_level_bias(m, sigma, c);
    const float scale = m->scale_by_sigma ? 1.0f / sigma : 1.0f;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * D;
        for (int o = 0; o < H; o++) {
            const float *w = m->bb0_w + (size_t)o * (D + E);
            float acc = c[o];
            for (int d = 0; d < D; d++) acc += w[d] * xi[d];
            h[o] = acc > 0 ? acc : 0;
        }
        for (int d = 0; d < D; d++) {
            const float *w = m->bb2_w + (size_t)d * H;
            float acc = m->bb2_b[d];
            for (int o = 0; o < H; o++) acc += w[o] * h[o];
            s[(size_t)i * D + d] = acc * scale;
        }
    }
    free(c);
}

void ncsn_acts_alloc(ncsn_acts *a, const ncsn_model *m) {
    size_t total = (size_t)2 * m->E + (size_t)2 * m->H + (size_t)m->D;
    float *p = ncsn_xcalloc(total, sizeof(float));
    a->a0 = p; p += m->E;
    a->e = p; p += m->E;
    a->z1 = p; p += m->H;
    a->h = p; p += m->H;
    a->s = p;
    a->t = 0;
}

void ncsn_acts_free(ncsn_acts *a) {
    if (!a) return;
    free(a->a0);
    memset(a, 0, sizeof *a);
}

void ncsn_model_forward(const ncsn_model *m, const float *x, float sigma, ncsn_acts *a) {
    const int D = m->D, E = m->E, H = m->H;
    a->t = embed_input(m, sigma);
    embed(m, a->t, a->a0, a->e);
    for (int o = 0; o < H; o++) {
        const float *w = m->bb0_w + (size_t)o * (D + E);
        float acc = m->bb0_b[o];
        for (int d = 0; d < D; d++) acc += w[d] * x[d];
        for (int j = 0; j < E; j++) acc += w[D + j] * a->e[j];
        a->z1[o] = acc;
        a->h[o] = acc > 0 ? acc : 0;
    }
    const float scale = m->scale_by_sigma ? 1.0f / sigma : 1.0f;
    for (int d = 0; d < D; d++) {
        const float *w = m->bb2_w + (size_t)d * H;
        float acc = m->bb2_b[d];
        for (int o = 0; o < H; o++) acc += w[o] * a->h[o];
        a->s[d] = acc * scale;
    }
}

void ncsn_model_backward(const ncsn_model *m, const float *x, float sigma, const ncsn_acts *a,
                         const float *ds, ncsn_model *grad) {
    /* Layers in exact reverse order. Scratch: dout (D), dz1 (H), de (E), da0 (E). */
    const int D = m->D, E = m->E, H = m->H;
    float stack[4096];
    float *scratch = (D + H + 2 * E) <= 4096 ? stack
                                             : ncsn_xmalloc(sizeof(float) * (size_t)(D + H + 2 * E));
    float *dout = scratch, *dz1 = dout + D, *de = dz1 + H, *da0 = de + E;
    const float scale = m->scale_by_sigma ? 1.0f / sigma : 1.0f;
    for (int d = 0; d < D; d++) dout[d] = ds[d] * scale;
    /* backbone.2: s = W_2 h + b_2 */
    for (int o = 0; o < H; o++) dz1[o] = 0;
    for (int d = 0; d < D; d++) {
        float g = dout[d];
        grad->bb2_b[d] += g;
        float *gw = grad->bb2_w + (size_t)d * H;
        const float *w = m->bb2_w + (size_t)d * H;
        for (int o = 0; o < H; o++) {
            gw[o] += g * a->h[o];
            dz1[o] += g * w[o];
        }
    }
    /* relu, then backbone.0: z1 = W_1 [x; e] + b_1 */
    for (int o = 0; o < H; o++) dz1[o] = a->z1[o] > 0 ? dz1[o] : 0;
    for (int j = 0; j < E; j++) de[j] = 0;
    for (int o = 0; o < H; o++) {
        float g = dz1[o];
        if (g == 0) continue;
        grad->bb0_b[o] += g;
        float *gw = grad->bb0_w + (size_t)o * (D + E);
        const float *w = m->bb0_w + (size_t)o * (D + E);
        for (int d = 0; d < D; d++) gw[d] += g * x[d];
        for (int j = 0; j < E; j++) {
            gw[D + j] += g * a->e[j];
            de[j] += g * w[D + j];
        }
    }
    /* sigma_emb.2: e = W_e2 relu(a0) + b_e2 */
    for (int j = 0; j < E; j++) da0[j] = 0;
    for (int o = 0; o < E; o++) {
        float g = de[o];
        grad->emb2_b[o] += g;
        float *gw = grad->emb2_w + (size_t)o * E;
        const float *w = m->emb2_w + (size_t)o * E;
        for (int j = 0; j < E; j++) {
            float r = a->a0[j] > 0 ? a->a0[j] : 0;
            gw[j] += g * r;
            da0[j] += g * w[j];
        }
    }
    /* relu, then sigma_emb.0: a0 = W_e1 t + b_e1 */
    for (int j = 0; j < E; j++) {
        float g = a->a0[j] > 0 ? da0[j] : 0;
        grad->emb0_b[j] += g;
        grad->emb0_w[j] += g * a->t;
    }
    if (scratch != stack) free(scratch);
}
