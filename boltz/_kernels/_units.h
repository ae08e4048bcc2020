/* Rectified (ReLU) units: the truncated normal of the kernels' unit types.
 *
 * A ReLU unit (Nair & Hinton 2010, as RestrictedBoltzmannMachines.jl's ReLU
 * layer) has energy h^2 / 2 - c h on h >= 0, so given its input I the unit
 * is a normal N(mu, 1), mu = c + I, truncated to h >= 0.  With Phi the
 * standard normal CDF and erfcx(x) = exp(x^2) erfc(x):
 *
 *   log-partition  G(mu) = log int_0^inf exp(-h^2/2 + mu h) dh
 *                        = mu^2 / 2 + log(sqrt(pi/2) erfc(-mu / sqrt 2))
 *                        = log(sqrt(pi/2) erfcx(-mu / sqrt 2))    (mu < 0)
 *   mean           E[h]  = mu + lambda,  lambda = sqrt(2/pi) / erfcx(-mu / sqrt 2)
 *   draw           h     = mu - Phi^-1(u Phi(mu)),  u ~ U(0, 1)
 *
 * The erfcx forms never overflow or lose the tail: for mu -> -inf the mean
 * tends to -1/mu (computed there by a continued fraction, without the
 * cancellation of mu + lambda) and G to -log(-mu) (no exp(mu^2) is formed).
 *
 * The draw is the exact inverse CDF (P(h > x) = u), computed in log space:
 * log(u Phi(mu)) = log u + log Phi(mu), and Phi^-1 from that logarithm by
 * Wichura's AS 241 (relative error about 1e-16), whose tail branches need
 * only log q.  Far in the lower tail (mu < -25, where AS 241 would run out
 * of range and mu - Phi^-1 loses digits to cancellation) h is solved
 * directly from log Phi(mu - h) - log Phi(mu) = log u, starting from the
 * quadratic bound h0 = -2 log u / (a + sqrt(a^2 - 2 log u)), a = -mu (which
 * lies above the root: log erfcx is decreasing), with three Newton steps on
 * the concave left-hand side (monotone, quadratic convergence; the first
 * guess is within O(1/a^2) relative).  No rejection loop: every draw costs
 * the same, for any mu.  u = (U + 1/2) 2^-32 from one uint32 U per unit, the
 * same draws a Bernoulli unit uses.
 *
 * All of it runs in double precision for both dtypes.
 */
#ifndef BOLTZ_UNITS_H
#define BOLTZ_UNITS_H

#include <math.h>
#include <stdint.h>

#include "_math.h"

#define BOLTZ_SQRT1_2 0.70710678118654752440
#define BOLTZ_SQRT_2_PI 0.79788456080286535588   /* sqrt(2 / pi) */
#define BOLTZ_LOG_SQRT_PI_2 0.22579135264472743236 /* log sqrt(pi / 2) */
#define BOLTZ_LOG_SQRT_2PI 0.91893853320467274178  /* log sqrt(2 pi) */

/* erfcx(x) = exp(x^2) erfc(x) for any x: the product for x < 10 (relative
 * error about x^2 eps from exp), the continued fraction
 * erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / ...)))
 * beyond (16 levels: below 1e-16 for x >= 10); +inf below -26.5. */
static inline double boltz_erfcx(double x)
{
    if (x < 10.0) {
        if (x < -26.5)
            return INFINITY;
        return exp(x * x) * erfc(x);
    }
    double f = x;
    for (int k = 16; k >= 1; k--)
        f = x + 0.5 * k / f;
    return 0.56418958354775628695 / f;  /* 1 / sqrt(pi) */
}

/* log Phi(mu), stable for any mu */
static inline double boltz_log_ndtr(double mu)
{
    if (mu < 0.0)
        return log(0.5 * boltz_erfcx(-mu * BOLTZ_SQRT1_2)) - 0.5 * mu * mu;
    return log1p(-0.5 * erfc(mu * BOLTZ_SQRT1_2));
}

/* G(mu): the log-partition of one ReLU unit with total input mu */
static inline double boltz_relu_log_partition(double mu)
{
    if (mu < 0.0)
        return BOLTZ_LOG_SQRT_PI_2 + log(boltz_erfcx(-mu * BOLTZ_SQRT1_2));
    return 0.5 * mu * mu + BOLTZ_LOG_SQRT_2PI + log1p(-0.5 * erfc(mu * BOLTZ_SQRT1_2));
}

/* E[h | mu] = mu + sqrt(2/pi) / erfcx(-mu / sqrt 2); below mu = -10 sqrt 2
 * the sum cancels, so there E[h] = 1 / (a + 2 / (a + 3 / (a + ...))), a =
 * -mu (Laplace's continued fraction of the Mills ratio minus a, 16 levels:
 * below 1e-16 relative there) */
static inline double boltz_relu_mean(double mu)
{
    if (mu < -14.142135623730951) {
        double a = -mu, f = a;
        for (int k = 16; k >= 2; k--)
            f = a + k / f;
        return 1.0 / f;
    }
    return mu + BOLTZ_SQRT_2_PI / boltz_erfcx(-mu * BOLTZ_SQRT1_2);
}

/* Phi^-1(q) given lq = log q (Wichura 1988, AS 241, PPND16) */
static inline double boltz_ndtri_log(double lq)
{
    double q = exp(lq);
    double d = q - 0.5, r, v;
    if (fabs(d) <= 0.425) {
        r = 0.180625 - d * d;
        return d * (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r
                         + 6.7265770927008700853e+4) * r + 4.5921953931549871457e+4) * r
                       + 1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r
                     + 1.3314166789178437745e+2) * r + 3.3871328727963666080e+0)
               / (((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r
                       + 3.9307895800092710610e+4) * r + 2.1213794301586595867e+4) * r
                     + 5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r
                   + 4.2313330701600911252e+1) * r + 1.0);
    }
    /* r = sqrt(-log(min(q, 1 - q))) */
    r = sqrt(d < 0.0 ? -lq : -log(-expm1(lq)));
    if (r <= 5.0) {
        r -= 1.6;
        v = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r
                  + 2.41780725177450611770e-1) * r + 1.27045825245236838258e+0) * r
                + 3.64784832476320460504e+0) * r + 5.76949722146069140550e+0) * r
              + 4.63033784615654529590e+0) * r + 1.42343711074968357734e+0)
            / (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r
                    + 1.51986665636164571966e-2) * r + 1.48103976427480074590e-1) * r
                  + 6.89767334985100004550e-1) * r + 1.67638483018380384940e+0) * r
                + 2.05319162663775882187e+0) * r + 1.0);
    } else {
        r -= 5.0;
        v = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                  + 1.24266094738807843860e-3) * r + 2.65321895265761230930e-2) * r
                + 2.96560571828504891230e-1) * r + 1.78482653991729133580e+0) * r
              + 5.46378491116411436990e+0) * r + 6.65790464350110377720e+0)
            / (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r
                    + 1.84631831751005468180e-5) * r + 7.86869131145613259100e-4) * r
                  + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
                + 5.99832206555887937690e-1) * r + 1.0);
    }
    return d < 0.0 ? -v : v;
}

/* One draw of h ~ N(mu, 1) truncated to h >= 0, from the uint32 U */
static inline double boltz_relu_draw(double mu, uint32_t U)
{
    double lu = log(((double)U + 0.5) * 2.3283064365386962891e-10);
    if (mu >= -25.0) {
        double h = mu - boltz_ndtri_log(lu + boltz_log_ndtr(mu));
        return h > 0.0 ? h : 0.0;
    }
    double a = -mu;
    double la = log(boltz_erfcx(a * BOLTZ_SQRT1_2));
    double s = -2.0 * lu / (a + sqrt(a * a - 2.0 * lu));
    for (int it = 0; it < 3; it++) {
        double e = boltz_erfcx((a + s) * BOLTZ_SQRT1_2);
        double g = log(e) - la - s * (a + 0.5 * s) - lu;
        s += g * e / BOLTZ_SQRT_2_PI;   /* g / lambda(a + s) */
    }
    return s > 0.0 ? s : 0.0;
}

/* Block loops, rows x cols with row strides; `bias` per column. */
#define BOLTZ_RELU_LOOPS(SUF, T)                                                \
BOLTZ_CLONES static __attribute__((unused)) void boltz_relu_mean_##SUF(        \
    T *x, long ld, const T *bias, int rows, int cols)                          \
{                                                                              \
    for (int r = 0; r < rows; r++) {                                           \
        T *row = x + r * ld;                                                   \
        for (int c = 0; c < cols; c++)                                         \
            row[c] = (T)boltz_relu_mean((double)row[c] + (double)bias[c]);     \
    }                                                                          \
}                                                                              \
/* out <- a draw given the inputs in `in` (out may be in) */                   \
BOLTZ_CLONES static __attribute__((unused)) void boltz_relu_sample_##SUF(      \
    T *out, long ldo, const T *in, long ldi, const T *bias,                    \
    const uint32_t *u, long ldu, int rows, int cols)                           \
{                                                                              \
    for (int r = 0; r < rows; r++) {                                           \
        T *o = out + r * ldo;                                                  \
        const T *x = in + r * ldi;                                             \
        const uint32_t *ur = u + r * ldu;                                      \
        for (int c = 0; c < cols; c++)                                         \
            o[c] = (T)boltz_relu_draw((double)x[c] + (double)bias[c], ur[c]);  \
    }                                                                          \
}                                                                              \
/* sum_i G(b1 a[i]) - G(b0 a[i]) (AIS's increment), in double */              \
BOLTZ_CLONES static __attribute__((unused)) double boltz_relu_diff_sum_##SUF(  \
    const T *a, double b1, double b0, int n)                                   \
{                                                                              \
    double t[BOLTZ_SP_BLOCK];                                                  \
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                  \
    for (int i0 = 0; i0 < n; i0 += BOLTZ_SP_BLOCK) {                           \
        int m = n - i0 < BOLTZ_SP_BLOCK ? n - i0 : BOLTZ_SP_BLOCK;             \
        const T *as = a + i0;                                                  \
        for (int i = 0; i < m; i++) {                                          \
            double ai = (double)as[i];                                         \
            t[i] = boltz_relu_log_partition(b1 * ai)                           \
                   - boltz_relu_log_partition(b0 * ai);                        \
        }                                                                      \
        boltz_sum_block(t, m, acc);                                            \
    }                                                                          \
    return boltz_sum_acc(acc);                                                 \
}
BOLTZ_RELU_LOOPS(d, double)
BOLTZ_RELU_LOOPS(f, float)
#undef BOLTZ_RELU_LOOPS

/* sum_i G(x[i] + y[i]): the exact enumeration's closed-form sum over ReLU
 * units, in the fixed order of boltz_sum_block */
BOLTZ_CLONES static __attribute__((unused)) double boltz_relu_log_partition_sum2_d(
    const double *x, const double *y, int n)
{
    double t[BOLTZ_SP_BLOCK];
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i0 = 0; i0 < n; i0 += BOLTZ_SP_BLOCK) {
        int m = n - i0 < BOLTZ_SP_BLOCK ? n - i0 : BOLTZ_SP_BLOCK;
        const double *xs = x + i0, *ys = y + i0;
        for (int i = 0; i < m; i++)
            t[i] = boltz_relu_log_partition(xs[i] + ys[i]);
        boltz_sum_block(t, m, acc);
    }
    return boltz_sum_acc(acc);
}

#endif /* BOLTZ_UNITS_H */
