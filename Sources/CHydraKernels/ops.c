// Element-wise transformer steps: RMS norm, RoPE, gated activations, each
// with the arithmetic of ggml's CPU operator of the same name (their
// vector loops are in x86/ops_avx2.h).

#include <math.h>
#include <pthread.h>

#include "kernels.h"
#include "hydra_ops.h"
#include "lanes.h"
#if defined(HYDRA_VECTOR_LANES)
#include "x86/ops_avx2.h"
#endif

void hydra_rms_norm(const float *x, const float *weight, float *y, int64_t rows, int64_t n, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        // ggml squares in float and sums in double.
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) sum += (double)(xr[i] * xr[i]);
        const float mean = (float)(sum / (double)n);
        const float scale = 1.0f / sqrtf(mean + eps);
        // ggml_rms_norm then ggml_mul: two roundings, kept apart.
        for (int64_t i = 0; i < n; i++) {
            const float normed = xr[i] * scale;
            yr[i] = normed * weight[i];
        }
    }
}

void hydra_rope(float *x, int64_t ntok, int64_t n_head, int64_t head_dim, int64_t n_rot,
                int64_t start_pos, float base, int32_t mode, float *cache) {
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    for (int64_t t = 0; t < ntok; t++) {
        // cos/sin per pair, the angle advanced by multiplication as ggml does.
        float theta = (float)(start_pos + t);
        for (int64_t i = 0; i < n_rot; i += 2) {
            cache[i] = cosf(theta);
            cache[i + 1] = sinf(theta);
            theta *= theta_scale;
        }
        for (int64_t h = 0; h < n_head; h++) {
            float *v = x + (t * n_head + h) * head_dim;
            for (int64_t i = 0; i < n_rot; i += 2) {
                const float c = cache[i], s = cache[i + 1];
                // NORMAL: neighbours (i, i+1); NEOX: halves (i/2, i/2 + n_rot/2).
                float *a = mode == HYDRA_ROPE_NEOX ? v + i / 2 : v + i;
                float *b = mode == HYDRA_ROPE_NEOX ? a + n_rot / 2 : a + 1;
                const float x0 = *a, x1 = *b;
                // ggml's build contracts these into fused multiply-adds.
                *a = fmaf(x0, c, -(x1 * s));
                *b = fmaf(x0, s, x1 * c);
            }
        }
    }
}

void hydra_swiglu(const float *gate, const float *up, float *out, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        const float *g = gate + r * n, *u = up + r * n;
        float *y = out + r * n;
        // ggml_vec_swiglu_f32: whole registers with ggml_v_expf, the tail
        // of each row with the C library's expf.
        const int64_t whole = n - n % HYDRA_LANES;
        int64_t i = 0;
#if defined(HYDRA_VECTOR_LANES)
        swiglu_vector(g, u, y, whole);
        i = whole;
#endif
        for (; i < whole; i++) y[i] = g[i] / (1.0f + ggml_like_expf(0.0f - g[i])) * u[i];
        for (int64_t i = whole; i < n; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}

// ggml's tanh GELU, evaluated once per half-precision input.
static const float GELU_COEF_A = 0.044715f;
static const float SQRT_2_OVER_PI = 0.79788456080286535587989211986876f;

static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void) {
    for (int i = 0; i < (1 << 16); i++) {
        const float x = fp16_to_fp32((uint16_t)i);
        // ggml builds this table with GCC's default FMA contraction, which
        // fuses 1 + (a·x)·x.
        const float y = 0.5f * x * (1.0f + tanhf(SQRT_2_OVER_PI * x * fmaf(GELU_COEF_A * x, x, 1.0f)));
        gelu_table[i] = fp32_to_fp16(y);
    }
}

void hydra_geglu(const float *gate, const float *up, float *out, int64_t n) {
    pthread_once(&gelu_once, gelu_table_init);
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        float act;
        if (g <= -10.0f) {
            act = 0.0f;
        } else if (g >= 10.0f) {
            act = g;
        } else {
            act = fp16_to_fp32(gelu_table[fp32_to_fp16(g)]);
        }
        out[i] = act * up[i];
    }
}

void hydra_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void hydra_scale(float *y, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= s;
}

void hydra_to_half(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fp32_to_fp16(x[i]);
}

void hydra_exp_lanes(const float *x, float *y, int64_t n, int32_t mode) {
    int64_t i = 0;
#if defined(HYDRA_VECTOR_LANES)
    if (mode != HYDRA_KERNELS_PORTABLE) i = exp_vector(x, y, n);
#else
    (void)mode;
#endif
    for (; i < n; i++) y[i] = ggml_like_expf(x[i]);
}
