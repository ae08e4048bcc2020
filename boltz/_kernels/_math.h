/* Elementwise hot loops shared by the kernels: a stable logistic sigmoid
 * and Bernoulli sampling against 32-bit uniform integers.
 *
 * exp() is computed here rather than by libm so that the loops vectorise:
 * Cody-Waite range reduction (y = n ln2 + r, |r| <= ln2/2), a Taylor
 * polynomial for exp(r) (degree 12 in double, 7 in single precision, both
 * below one unit in the last place of the reduction error) and 2^n built
 * from the exponent bits.  The argument is always -|x| <= 0, so the only
 * clamp needed is against underflow.  sigmoid(x) = 1/(1+e) for x >= 0 and
 * e/(1+e) for x < 0 with e = exp(-|x|): neither branch overflows and the
 * small tail keeps its relative precision.
 *
 * On x86-64 with GCC the array functions are compiled for AVX-512, AVX2
 * and baseline, and the loader picks one for the running CPU (ifunc).
 * The choice depends on the machine only, never on the thread count.
 */
#ifndef BOLTZ_MATH_H
#define BOLTZ_MATH_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define BOLTZ_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define BOLTZ_CLONES
#endif

static inline double boltz_exp_nonpos_d(double y)
{
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    double t, n, r, p;
    uint64_t bits;
    y = y < -708.0 ? -708.0 : y;
    t = y * 1.4426950408889634 + magic;
    n = t - magic;
    r = y - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023u) << 52;
    memcpy(&t, &bits, sizeof t);
    return p * t;
}

static inline float boltz_exp_nonpos_f(float y)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    float t, n, r, p;
    uint32_t bits;
    y = y < -87.0f ? -87.0f : y;
    t = y * 1.44269504f + magic;
    n = t - magic;
    r = y - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 127u) << 23;
    memcpy(&t, &bits, sizeof t);
    return p * t;
}

static inline double boltz_sigmoid_d(double x)
{
    double e = boltz_exp_nonpos_d(x < 0 ? x : -x);
    double s = 1.0 / (1.0 + e);
    return x >= 0 ? s : e * s;
}

static inline float boltz_sigmoid_f(float x)
{
    float e = boltz_exp_nonpos_f(x < 0 ? x : -x);
    float s = 1.0f / (1.0f + e);
    return x >= 0 ? s : e * s;
}

/* x[r, c] <- sigmoid(x[r, c] + bias[c]) for a rows x cols block, row stride ld */
BOLTZ_CLONES static __attribute__((unused)) void boltz_sigmoid_bias_d(double *x, const double *bias,
                                              int rows, int cols, long ld)
{
    for (int r = 0; r < rows; r++) {
        double *restrict row = x + r * ld;
        for (int c = 0; c < cols; c++)
            row[c] = boltz_sigmoid_d(row[c] + bias[c]);
    }
}

BOLTZ_CLONES static __attribute__((unused)) void boltz_sigmoid_bias_f(float *x, const float *bias,
                                              int rows, int cols, long ld)
{
    for (int r = 0; r < rows; r++) {
        float *restrict row = x + r * ld;
        for (int c = 0; c < cols; c++)
            row[c] = boltz_sigmoid_f(row[c] + bias[c]);
    }
}

/* out[r, c] <- 1 if u[r, c] < p[r, c] * 2^32 else 0 (a Bernoulli(p) draw).
 * The comparison is made in double precision for both dtypes, so the same
 * uniforms give the same samples in float32 and float64 up to p's rounding. */
BOLTZ_CLONES static __attribute__((unused)) void boltz_bernoulli_d(double *out, long ldo, const double *p,
                                           long ldp, const uint32_t *u, long ldu,
                                           int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        double *restrict o = out + r * ldo;
        const double *pr = p + r * ldp;
        const uint32_t *ur = u + r * ldu;
        for (int c = 0; c < cols; c++)
            o[c] = (double)ur[c] < pr[c] * 4294967296.0 ? 1.0 : 0.0;
    }
}

BOLTZ_CLONES static __attribute__((unused)) void boltz_bernoulli_f(float *out, long ldo, const float *p,
                                           long ldp, const uint32_t *u, long ldu,
                                           int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *restrict o = out + r * ldo;
        const float *pr = p + r * ldp;
        const uint32_t *ur = u + r * ldu;
        for (int c = 0; c < cols; c++)
            o[c] = (double)ur[c] < (double)pr[c] * 4294967296.0 ? 1.0f : 0.0f;
    }
}

/* Softplus, log(1 + exp(x)), in double precision for both dtypes (the sums
 * of the likelihood code need it).  softplus(x) = max(x, 0) + log1p(e) with
 * e = exp(-|x|) in (0, 1]: neither term overflows and the small tail keeps
 * its precision.  log1p(e) is computed as log(u) + c/u with u = 1 + e
 * rounded and c = e - (u - 1) its exact rounding error (c/u only needs a
 * few correct bits); log(u) reduces u to
 * f in [sqrt(2)/2, sqrt(2)] (u = 2^k f, k in {0, 1}) and sums the atanh
 * series log f = 2 (s + s^3/3 + ... + s^21/21), s = (f-1)/(f+1), |s| <=
 * 0.172, whose truncation error is below 1e-17.  Branch free, so the array
 * loops below vectorise. */
static inline double boltz_softplus_d(double x)
{
    double ax = x < 0 ? -x : x;
    double e = boltz_exp_nonpos_d(-ax);
    double u = 1.0 + e;
    double c = e - (u - 1.0);
    int big = u > 1.4142135623730951;
    double f = big ? 0.5 * u : u;
    double k = big ? 1.0 : 0.0;
    double s = (f - 1.0) / (f + 1.0);
    double z = s * s;
    double p = 2.0 / 21.0;
    p = p * z + 2.0 / 19.0;
    p = p * z + 2.0 / 17.0;
    p = p * z + 2.0 / 15.0;
    p = p * z + 2.0 / 13.0;
    p = p * z + 2.0 / 11.0;
    p = p * z + 2.0 / 9.0;
    p = p * z + 2.0 / 7.0;
    p = p * z + 2.0 / 5.0;
    p = p * z + 2.0 / 3.0;
    double logf = 2.0 * s + s * z * p;
    /* c / u with 1/u ~ 1.5 - u/2 on [1, 2]: |c| <= 2^-53, so the 6% error
     * of that line is below 1e-17 and saves a division */
    double l = k * 6.93147180369123816490e-01
               + (logf + (c * (1.5 - 0.5 * u) + k * 1.90821492927058770002e-10));
    return (x > 0 ? x : 0.0) + l;
}

#define BOLTZ_SP_BLOCK 256

/* Sum of 8 interleaved partial sums, in a fixed order (the result does not
 * depend on the vector width the loader picked). */
static inline void boltz_sum_block(const double *t, int m, double *acc)
{
    int i = 0;
    for (; i + 8 <= m; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += t[i + k];
    for (; i < m; i++)
        acc[i & 7] += t[i];
}

static inline double boltz_sum_acc(const double *acc)
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
           ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* sum_i softplus(x[i] + y[i]) */
BOLTZ_CLONES static __attribute__((unused)) double boltz_softplus_sum2_d(
    const double *x, const double *y, int n)
{
    double t[BOLTZ_SP_BLOCK];
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i0 = 0; i0 < n; i0 += BOLTZ_SP_BLOCK) {
        int m = n - i0 < BOLTZ_SP_BLOCK ? n - i0 : BOLTZ_SP_BLOCK;
        const double *xs = x + i0, *ys = y + i0;
        for (int i = 0; i < m; i++)
            t[i] = boltz_softplus_d(xs[i] + ys[i]);
        boltz_sum_block(t, m, acc);
    }
    return boltz_sum_acc(acc);
}

/* sum_i softplus(b1 * a[i]) - softplus(b0 * a[i]), accumulated in double
 * for float and double a */
#define BOLTZ_SOFTPLUS_DIFF_SUM(NAME, T)                                        \
BOLTZ_CLONES static __attribute__((unused)) double NAME(                      \
    const T *a, double b1, double b0, int n)                                  \
{                                                                             \
    double t[BOLTZ_SP_BLOCK];                                                 \
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                 \
    for (int i0 = 0; i0 < n; i0 += BOLTZ_SP_BLOCK) {                          \
        int m = n - i0 < BOLTZ_SP_BLOCK ? n - i0 : BOLTZ_SP_BLOCK;            \
        const T *as = a + i0;                                                 \
        for (int i = 0; i < m; i++) {                                         \
            double ai = (double)as[i];                                        \
            t[i] = boltz_softplus_d(b1 * ai) - boltz_softplus_d(b0 * ai);     \
        }                                                                     \
        boltz_sum_block(t, m, acc);                                           \
    }                                                                         \
    return boltz_sum_acc(acc);                                                \
}
BOLTZ_SOFTPLUS_DIFF_SUM(boltz_softplus_diff_sum_d, double)
BOLTZ_SOFTPLUS_DIFF_SUM(boltz_softplus_diff_sum_f, float)
#undef BOLTZ_SOFTPLUS_DIFF_SUM

/* out[r, :cols] = sum_k h[r, k] w[k, :cols] for a rows x K matrix h that is
 * mostly zero (sampled binary hidden states: about one in ten is on), row by
 * row: only the rows of w whose h[r, k] is non-zero are read, in increasing
 * k, and accumulated over segments of BOLTZ_SEG columns held in registers.
 * A GEMM would pack all K rows of w and multiply by the zeros too; here the
 * work is proportional to the number of ones.  The summation order depends
 * on the data only, so the result is the same for any thread count.
 * Measured on the 2-core Xeon: RBM.sample (784 x 500, 200 chains, 300
 * steps, about one hidden unit in ten on) 1.16x faster than with the GEMM
 * in float64 and 1.34x in float32 (re-measured with the aligned weights of
 * the sampling kernel: 0.95 s against 1.11 s, 0.56 s against 0.75 s).  Not used where the states are dense or the
 * GEMM's rows of w stay in cache anyway: in AIS (near beta = 0 half the
 * units are on) it was 0.87x, and for the epoch kernel's partial products
 * it was no faster (1.02x / 1.00x / 0.99x in the three bench_rbm settings;
 * probably because it reads the rows of w from L2 once per output row,
 * where the GEMM reuses them across rows). */
#define BOLTZ_SEG 64
#define BOLTZ_KBLOCK 256
/* 64-byte vectors that may be unaligned (GCC/Clang vector extensions; the
 * compiler splits them for narrower targets). */
typedef double boltz_vd __attribute__((vector_size(64), aligned(sizeof(double))));
typedef float boltz_vf __attribute__((vector_size(64), aligned(sizeof(float))));
#define BOLTZ_SPARSE_ROWS(NAME, T, VT)                                          \
BOLTZ_CLONES static __attribute__((unused)) void NAME(                        \
    T *out, long ldo, const T *h, long ldh, const T *w, long ldw,             \
    int rows, int K, int cols)                                                \
{                                                                             \
    enum { NV = BOLTZ_SEG * sizeof(T) / 64 };                                 \
    int idx[BOLTZ_KBLOCK];                                                    \
    T val[BOLTZ_KBLOCK];                                                      \
    for (int r = 0; r < rows; r++) {                                          \
        const T *hr = h + r * ldh;                                            \
        T *o = out + r * ldo;                                                 \
        int k0 = 0;                                                           \
        do {                                                                  \
            int kn = K - k0 < BOLTZ_KBLOCK ? K - k0 : BOLTZ_KBLOCK;           \
            int n = 0;                                                        \
            for (int k = k0; k < k0 + kn; k++)                                \
                if (hr[k] != 0) { idx[n] = k; val[n] = hr[k]; n++; }         \
            int c0 = 0;                                                       \
            for (; c0 + BOLTZ_SEG <= cols; c0 += BOLTZ_SEG) {                 \
                VT acc[NV];                                                   \
                for (int v = 0; v < NV; v++)                                  \
                    acc[v] = (VT){0};                                         \
                for (int i = 0; i < n; i++) {                                 \
                    const VT *wr = (const VT *)(w + (long)idx[i] * ldw + c0); \
                    const T a = val[i];                                       \
                    for (int v = 0; v < NV; v++)                              \
                        acc[v] += a * wr[v];                                  \
                }                                                             \
                VT *ov = (VT *)(o + c0);                                      \
                for (int v = 0; v < NV; v++)                                  \
                    ov[v] = k0 == 0 ? acc[v] : ov[v] + acc[v];                \
            }                                                                 \
            for (int c = c0; c < cols; c++) {                                 \
                T acc = 0;                                                    \
                for (int i = 0; i < n; i++)                                   \
                    acc += val[i] * w[(long)idx[i] * ldw + c];                \
                o[c] = k0 == 0 ? acc : o[c] + acc;                            \
            }                                                                 \
            k0 += kn;                                                         \
        } while (k0 < K);                                                     \
    }                                                                         \
}
BOLTZ_SPARSE_ROWS(boltz_sparse_rows_d, double, boltz_vd)
BOLTZ_SPARSE_ROWS(boltz_sparse_rows_f, float, boltz_vf)
#undef BOLTZ_SPARSE_ROWS

/* sum_i (x[i] + y[i])^2 / 2: the exact enumeration's closed-form sum over
 * Gaussian units (their log-partition y^2/2 up to a constant), in the fixed
 * order of boltz_sum_block like the softplus sums above. */
BOLTZ_CLONES static __attribute__((unused)) double boltz_half_square_sum2_d(
    const double *x, const double *y, int n)
{
    double t[BOLTZ_SP_BLOCK];
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i0 = 0; i0 < n; i0 += BOLTZ_SP_BLOCK) {
        int m = n - i0 < BOLTZ_SP_BLOCK ? n - i0 : BOLTZ_SP_BLOCK;
        const double *xs = x + i0, *ys = y + i0;
        for (int i = 0; i < m; i++) {
            double z = xs[i] + ys[i];
            t[i] = 0.5 * (z * z);
        }
        boltz_sum_block(t, m, acc);
    }
    return boltz_sum_acc(acc);
}

#endif /* BOLTZ_MATH_H */
