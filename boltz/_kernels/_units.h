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

/* the helpers of the vectorised loops must be inlined into each clone of
 * those loops (a call would run the baseline code) */
#define BOLTZ_INLINE static inline __attribute__((always_inline))

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

/* ---- branch-free versions for the block loops (they vectorise) ----------
 *
 * libm's erfc, log and exp are calls the loops cannot vectorise (the scalar
 * functions above cost about 20 ns per mean and 65 ns per draw).  The block
 * loops use these instead: erfcx on [0, inf) from W. J. Cody's rational
 * Chebyshev approximations (Math. Comp. 1969, as in his CALERF; relative
 * error below 1e-15, checked against scipy in tests/test_relu.py), every
 * interval evaluated and the right one selected; the exp of _math.h; a log
 * with the reduction and the atanh series of _math.h's softplus.  Inputs
 * whose draw needs the far-tail solver (mu < -25) are redone by the scalar
 * boltz_relu_draw in a second pass over the row. */

/* sqrt(x) for positive normal x without libm (whose errno handling keeps
 * the loops from vectorising): the bit-level guess, four Newton steps of
 * 1 / sqrt(x) and one correction of the product, within an ulp or two */
BOLTZ_INLINE double boltz_sqrt_pos_d(double x)
{
    uint64_t bits;
    double y, s;
    memcpy(&bits, &x, sizeof bits);
    bits = 0x5FE6EB50C7B537A9ull - (bits >> 1);
    memcpy(&y, &bits, sizeof y);
    for (int i = 0; i < 4; i++)
        y = y * (1.5 - 0.5 * x * y * y);
    s = x * y;
    return s + 0.5 * y * (x - s * s);
}

/* log(x) for positive normal x: x = 2^k f, f in [sqrt(2)/2, sqrt(2)),
 * log f = 2 atanh((f - 1) / (f + 1)) by its series to s^21 (below 1e-17) */
BOLTZ_INLINE double boltz_log_pos_d(double x)
{
    uint64_t bits, ebits;
    double f, e;
    memcpy(&bits, &x, sizeof bits);
    ebits = (bits >> 52) | 0x4330000000000000ull;  /* 2^52 + biased exponent */
    memcpy(&e, &ebits, sizeof e);
    e -= 4503599627370496.0 + 1023.0;
    bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    memcpy(&f, &bits, sizeof f);
    int big = f > 1.4142135623730951;
    double fh = 0.5 * f, e1 = e + 1.0;
    f = big ? fh : f;
    e = big ? e1 : e;
    double sv = (f - 1.0) / (f + 1.0);
    double z = sv * sv;
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
    return e * 6.93147180369123816490e-01
           + ((2.0 * sv + sv * z * p) + e * 1.90821492927058770002e-10);
}

/* erfcx(y) for y >= 0 (Cody 1969), and w with erfcx(y) = (1 - w) / (y
 * sqrt(pi)) for y > 4 (0 below): the tail's correction, which the mean
 * needs without cancellation */
BOLTZ_INLINE double boltz_erfcx_pos_d(double y, double *w)
{
    /* [0, 0.46875]: exp(y^2) (1 - erf(y)) */
    double ysq = y * y;
    double xn = 1.85777706184603153e-1 * ysq, xd = ysq;
    xn = (xn + 3.16112374387056560e+0) * ysq; xd = (xd + 2.36012909523441209e+1) * ysq;
    xn = (xn + 1.13864154151050156e+2) * ysq; xd = (xd + 2.44024637934444173e+2) * ysq;
    xn = (xn + 3.77485237685302021e+2) * ysq; xd = (xd + 1.28261652607737228e+3) * ysq;
    double erf1 = y * (xn + 3.20937758913846947e+3) / (xd + 2.84423683343917062e+3);
    double r1 = (1.0 - erf1) / boltz_exp_nonpos_d(-ysq);
    /* (0.46875, 4]: erfcx directly */
    double yc = y < 4.0 ? (y > 0.46875 ? y : 0.46875) : 4.0;
    xn = 2.15311535474403846e-8 * yc; xd = yc;
    xn = (xn + 5.64188496988670089e-1) * yc; xd = (xd + 1.57449261107098347e+1) * yc;
    xn = (xn + 8.88314979438837594e+0) * yc; xd = (xd + 1.17693950891312499e+2) * yc;
    xn = (xn + 6.61191906371416295e+1) * yc; xd = (xd + 5.37181101862009858e+2) * yc;
    xn = (xn + 2.98635138197400131e+2) * yc; xd = (xd + 1.62138957456669019e+3) * yc;
    xn = (xn + 8.81952221241769090e+2) * yc; xd = (xd + 3.29079923573345963e+3) * yc;
    xn = (xn + 1.71204761263407058e+3) * yc; xd = (xd + 4.36261909014324716e+3) * yc;
    xn = (xn + 2.05107837782607147e+3) * yc; xd = (xd + 3.43936767414372164e+3) * yc;
    double r2 = (xn + 1.23033935479799725e+3) / (xd + 1.23033935480374942e+3);
    /* (4, inf): (1/sqrt(pi) - z R(z)) / y, z = 1 / y^2 */
    double yt = y > 4.0 ? y : 4.0;
    double zt = 1.0 / (yt * yt);
    xn = 1.63153871373020978e-2 * zt; xd = zt;
    xn = (xn + 3.05326634961232344e-1) * zt; xd = (xd + 2.56852019228982242e+0) * zt;
    xn = (xn + 3.60344899949804439e-1) * zt; xd = (xd + 1.87295284992346047e+0) * zt;
    xn = (xn + 1.25781726111229246e-1) * zt; xd = (xd + 5.27905102951428412e-1) * zt;
    xn = (xn + 1.60837851487422766e-2) * zt; xd = (xd + 6.05183413124413191e-2) * zt;
    double wt = 1.7724538509055160273 * zt * (xn + 6.58749161529837803e-4)
                / (xd + 2.33520497626869185e-3);       /* sqrt(pi) z R(z) */
    double r3 = 0.56418958354775628695 * (1.0 - wt) / yt;
    *w = y > 4.0 ? wt : 0.0;
    return y <= 0.46875 ? r1 : (y <= 4.0 ? r2 : r3);
}

/* Everything about N(mu, 1) truncated to h >= 0 that the loops need, from
 * one erfcx: E[h], G(mu) and log Phi(mu), Phi(-mu) (0 for mu < 0) */
BOLTZ_INLINE void boltz_relu_parts_d(double mu, double *mean, double *lpart,
                                      double *lphi, double *phic)
{
    double y = (mu < 0 ? -mu : mu) * BOLTZ_SQRT1_2;
    double w;
    double ex = boltz_erfcx_pos_d(y, &w);
    double half_sq = 0.5 * mu * mu;
    double E = boltz_exp_nonpos_d(-half_sq);          /* exp(-y^2) */
    double lex = boltz_log_pos_d(ex);
    /* mu >= 0: Phi(-mu) = E ex / 2, erfcx(-y) = (2 - E ex) / E */
    double pc = 0.5 * E * ex;
    double lphi_pos = boltz_log_pos_d(1.0 - pc);
    double mean_pos = mu + BOLTZ_SQRT_2_PI * E / (2.0 - E * ex);
    /* mu < 0: lambda = sqrt(2/pi) / ex; beyond y = 4, lambda - a = a w / (1 - w) */
    double a = -mu;
    double mean_tail = a * w / (1.0 - w);
    double mean_mid = mu + BOLTZ_SQRT_2_PI / ex;
    double mean_neg = y > 4.0 ? mean_tail : mean_mid;
    int neg = mu < 0;
    *mean = neg ? mean_neg : mean_pos;
    *lpart = neg ? BOLTZ_LOG_SQRT_PI_2 + lex
                 : half_sq + BOLTZ_LOG_SQRT_2PI + lphi_pos;
    *lphi = neg ? lex - 0.69314718055994530942 - half_sq : lphi_pos;
    *phic = neg ? 0.0 : pc;
}

/* ---- the epoch's mean and draw: one erfcx, five divisions ---------------
 *
 * The loops of the epoch need, for each total input mu, E[h] and (for the
 * chain rows) a draw; nothing else.  Both come from one erfcx, and every
 * quotient is formed once, after its branch is selected: erfcx as N / D
 * (Cody's intervals, each kept as a numerator and a denominator), E[h] as
 * base + num / den, Phi^-1 as P / Q (AS 241's three intervals).  With 1 / y
 * for Cody's tail and the division in the log, that is five divisions per
 * draw and two per mean, and no libm call: the loops vectorise for AVX2 and
 * AVX-512 alike.  Each quotient is the one of the formulas above (equal up
 * to rounding), so the mean and the inverse CDF are exactly those of the
 * truncated normal.
 *
 * The draw works with q = u Phi(mu) and 1 - q themselves (not with log q):
 * Phi(mu) = E erfcx(y) / 2 for mu < 0 and 1 - Phi(-mu) = 1 - E erfcx(y) / 2
 * for mu >= 0 (y = |mu| / sqrt 2, E = exp(-y^2)), and 1 - q = (1 - u) + u
 * Phi(-mu) for mu >= 0, 1 - q for mu < 0 (q <= 1/2 there): both to a few
 * ulps relative.  For mu >= -25, q >= 2^-33 Phi(-25) is a normal number, so
 * AS 241's tail needs one log, of min(q, 1 - q).  mu < -25 is redone by the
 * scalar boltz_relu_draw (in log space), as before. */

/* erfcx(y) = N / D for y >= 0 (Cody 1969, the intervals [0, 0.46875],
 * (0.46875, 4], (4, inf), every one evaluated and the right one selected),
 * given E = exp(-y^2); *wn and *wd with wn / wd = w of boltz_erfcx_pos_d
 * (the tail's correction, wd = the tail's denominator) */
BOLTZ_INLINE void boltz_erfcx_ratio_d(double y, double E, double *N, double *D,
                                       double *wn, double *wd)
{
    double ysq = y * y;
    double xn = 1.85777706184603153e-1 * ysq, xd = ysq;
    xn = (xn + 3.16112374387056560e+0) * ysq; xd = (xd + 2.36012909523441209e+1) * ysq;
    xn = (xn + 1.13864154151050156e+2) * ysq; xd = (xd + 2.44024637934444173e+2) * ysq;
    xn = (xn + 3.77485237685302021e+2) * ysq; xd = (xd + 1.28261652607737228e+3) * ysq;
    double p1 = xn + 3.20937758913846947e+3, q1 = xd + 2.84423683343917062e+3;
    /* (1 - y p1 / q1) / E */
    double n1 = q1 - y * p1, d1 = q1 * E;
    double yc = y < 4.0 ? (y > 0.46875 ? y : 0.46875) : 4.0;
    xn = 2.15311535474403846e-8 * yc; xd = yc;
    xn = (xn + 5.64188496988670089e-1) * yc; xd = (xd + 1.57449261107098347e+1) * yc;
    xn = (xn + 8.88314979438837594e+0) * yc; xd = (xd + 1.17693950891312499e+2) * yc;
    xn = (xn + 6.61191906371416295e+1) * yc; xd = (xd + 5.37181101862009858e+2) * yc;
    xn = (xn + 2.98635138197400131e+2) * yc; xd = (xd + 1.62138957456669019e+3) * yc;
    xn = (xn + 8.81952221241769090e+2) * yc; xd = (xd + 3.29079923573345963e+3) * yc;
    xn = (xn + 1.71204761263407058e+3) * yc; xd = (xd + 4.36261909014324716e+3) * yc;
    xn = (xn + 2.05107837782607147e+3) * yc; xd = (xd + 3.43936767414372164e+3) * yc;
    double n2 = xn + 1.23033935479799725e+3, d2 = xd + 1.23033935480374942e+3;
    /* (1/sqrt(pi) - z R(z)) / y, z = 1 / y^2: (1 - w) / (y sqrt(pi)) with
     * w = sqrt(pi) z R(z) = t / d3 */
    double yt = y > 4.0 ? y : 4.0;
    double iy = 1.0 / yt;
    double zt = iy * iy;
    xn = 1.63153871373020978e-2 * zt; xd = zt;
    xn = (xn + 3.05326634961232344e-1) * zt; xd = (xd + 2.56852019228982242e+0) * zt;
    xn = (xn + 3.60344899949804439e-1) * zt; xd = (xd + 1.87295284992346047e+0) * zt;
    xn = (xn + 1.25781726111229246e-1) * zt; xd = (xd + 5.27905102951428412e-1) * zt;
    xn = (xn + 1.60837851487422766e-2) * zt; xd = (xd + 6.05183413124413191e-2) * zt;
    double d3 = xd + 2.33520497626869185e-3;
    double t = 1.7724538509055160273 * zt * (xn + 6.58749161529837803e-4);
    double n3 = 0.56418958354775628695 * iy * (d3 - t);
    int lo = y <= 0.46875, mid = y <= 4.0;
    *N = lo ? n1 : (mid ? n2 : n3);
    *D = lo ? d1 : (mid ? d2 : d3);
    *wn = t;
    *wd = d3;
}

/* E[h | mu] (returned) for any mu; *E = exp(-mu^2 / 2) (0 beyond mu^2 / 2 =
 * 700) and *ex = erfcx(|mu| / sqrt 2) when want_ex (else *ex is not set) */
BOLTZ_INLINE double boltz_relu_mean_core_d(double mu, double *E, double *ex,
                                            int want_ex)
{
    double y = fabs(mu) * BOLTZ_SQRT1_2;
    double half_sq = 0.5 * mu * mu;
    double e = boltz_exp_nonpos_d(-half_sq);
    e = half_sq < 700.0 ? e : 0.0;
    double N, D, wn, wd;
    boltz_erfcx_ratio_d(y, e, &N, &D, &wn, &wd);
    if (want_ex)
        *ex = N / D;
    *E = e;
    /* mu >= 0:          mu + sqrt(2/pi) E / (2 - E erfcx)
     * mu < 0, y <= 4:   mu + sqrt(2/pi) / erfcx
     * mu < 0, y > 4:    -mu w / (1 - w), without the cancellation */
    int neg = mu < 0, tail = y > 4.0;
    double base = (neg && tail) ? 0.0 : mu;
    double num = neg ? (tail ? -mu * wn : BOLTZ_SQRT_2_PI * D) : BOLTZ_SQRT_2_PI * e * D;
    double den = neg ? (tail ? wd - wn : N) : 2.0 * D - e * N;
    return base + num / den;
}

/* U as a double through a signed conversion (AVX2 has no unsigned one) */
BOLTZ_INLINE double boltz_u32_to_d(uint32_t U)
{
    return (double)(int32_t)(U ^ 0x80000000u) + 2147483648.0;
}

/* The exact draw h = mu - Phi^-1(u Phi(mu)) (u = (U + 1/2) 2^-32) for mu >=
 * -25, given pe = Phi(-|mu|) (from boltz_relu_mean_core_d) */
BOLTZ_INLINE double boltz_relu_draw_pe_d(double mu, double pe, uint32_t U)
{
    double Ud = boltz_u32_to_d(U);
    double u = (Ud + 0.5) * 2.3283064365386962891e-10;
    double v = (4294967295.5 - Ud) * 2.3283064365386962891e-10;  /* 1 - u */
    int neg = mu < 0;
    double q = neg ? u * pe : u * (1.0 - pe);
    double omq = neg ? 1.0 - q : v + u * pe;
    /* AS 241 (PPND16): the central interval |q - 1/2| <= 0.425 in r = 0.180625
     * - d^2, the tails in r = sqrt(-log min(q, 1 - q)) */
    double d = q - 0.5;
    double r = 0.180625 - d * d;
    double pc = d * (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r
                          + 6.7265770927008700853e+4) * r + 4.5921953931549871457e+4) * r
                        + 1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r
                      + 1.3314166789178437745e+2) * r + 3.3871328727963666080e+0);
    double qc = (((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r
                      + 3.9307895800092710610e+4) * r + 2.1213794301586595867e+4) * r
                    + 5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r
                  + 4.2313330701600911252e+1) * r + 1.0);
    double tm = d < 0.0 ? q : omq;
    double lt = -boltz_log_pos_d(tm > 1e-300 ? tm : 1e-300);
    double rt = boltz_sqrt_pos_d(lt > 1e-300 ? lt : 1e-300);
    double r1 = rt - 1.6, r2 = rt - 5.0;
    double p1 = (((((((7.74545014278341407640e-4 * r1 + 2.27238449892691845833e-2) * r1
                      + 2.41780725177450611770e-1) * r1 + 1.27045825245236838258e+0) * r1
                    + 3.64784832476320460504e+0) * r1 + 5.76949722146069140550e+0) * r1
                  + 4.63033784615654529590e+0) * r1 + 1.42343711074968357734e+0);
    double q1 = (((((((1.05075007164441684324e-9 * r1 + 5.47593808499534494600e-4) * r1
                      + 1.51986665636164571966e-2) * r1 + 1.48103976427480074590e-1) * r1
                    + 6.89767334985100004550e-1) * r1 + 1.67638483018380384940e+0) * r1
                  + 2.05319162663775882187e+0) * r1 + 1.0);
    double p2 = (((((((2.01033439929228813265e-7 * r2 + 2.71155556874348757815e-5) * r2
                      + 1.24266094738807843860e-3) * r2 + 2.65321895265761230930e-2) * r2
                    + 2.96560571828504891230e-1) * r2 + 1.78482653991729133580e+0) * r2
                  + 5.46378491116411436990e+0) * r2 + 6.65790464350110377720e+0);
    double q2 = (((((((2.04426310338993978564e-15 * r2 + 1.42151175831644588870e-7) * r2
                      + 1.84631831751005468180e-5) * r2 + 7.86869131145613259100e-4) * r2
                    + 1.48753612908506148525e-2) * r2 + 1.36929880922735805310e-1) * r2
                  + 5.99832206555887937690e-1) * r2 + 1.0);
    int near = rt <= 5.0;
    double pt = near ? p1 : p2, qt = near ? q1 : q2;
    pt = d < 0.0 ? -pt : pt;
    int central = fabs(d) <= 0.425;
    double z = (central ? pc : pt) / (central ? qc : qt);
    double h = mu - z;
    return h > 0.0 ? h : 0.0;
}

/* The elementwise loops on double arrays of total inputs mu (inlined into
 * each clone of the block loops below, where they vectorise) */
BOLTZ_INLINE void boltz_relu_mean_block(double *out, const double *mu, int n)
{
    for (int c = 0; c < n; c++) {
        double E, ex;
        out[c] = boltz_relu_mean_core_d(mu[c], &E, &ex, 0);
    }
}

/* The far lower tail, mu < -25 (a = -mu > 25), branch free.  There y = (a
 * + s) / sqrt 2 > 17 and erfcx(y) = S(t) / (y sqrt(pi)), t = 1 / (a + s)^2,
 * with S(t) = sum_n (-1)^n (2n - 1)!! t^n (the asymptotic series of erfc:
 * its remainder is below the first omitted term, 17!! t^9 < 3e-18 at
 * t <= 1/625 after the t^8 term), and log S(t) = L(t), L's series (from
 * log S) to t^10 (its next term is below 1e-20 there).  So
 *   log Phi(mu - s) - log Phi(mu) = -log1p(s / a) + L(t) - L(1 / a^2)
 *                                   - s (a + s / 2)
 * with no exp or erfc, and the inverse Mills ratio is lambda(a + s) =
 * (a + s) / S(t).  h = s solves that = log u by boltz_relu_draw's Newton
 * iteration: from the quadratic bound s0 = -2 log u / (a + sqrt(a^2 - 2
 * log u)) (above the root), three steps s += g S(t) / (a + s) (monotone,
 * quadratic).  s / a <= s0 / a < 0.04 (log u >= -33 log 2), so log1p(s / a)
 * is its Taylor series to x^13 (remainder below 1e-19). */
BOLTZ_INLINE double boltz_relu_tail_S_d(double t)
{
    double p = 2027025.0;                 /* 15!! */
    p = p * t - 135135.0;
    p = p * t + 10395.0;
    p = p * t - 945.0;
    p = p * t + 105.0;
    p = p * t - 15.0;
    p = p * t + 3.0;
    p = p * t - 1.0;
    return p * t + 1.0;
}

BOLTZ_INLINE double boltz_relu_tail_L_d(double t)
{
    double p = 1227782785.0 / 2.0;
    p = p * t - 288018721.0 / 9.0;
    p = p * t + 14876033.0 / 8.0;
    p = p * t - 854197.0 / 7.0;
    p = p * t + 55205.0 / 6.0;
    p = p * t - 4081.0 / 5.0;
    p = p * t + 353.0 / 4.0;
    p = p * t - 37.0 / 3.0;
    p = p * t + 5.0 / 2.0;
    p = p * t - 1.0;
    return p * t;
}

BOLTZ_INLINE double boltz_log1p_small_d(double x)
{
    double p = 1.0 / 13.0;
    p = p * x - 1.0 / 12.0;
    p = p * x + 1.0 / 11.0;
    p = p * x - 1.0 / 10.0;
    p = p * x + 1.0 / 9.0;
    p = p * x - 1.0 / 8.0;
    p = p * x + 1.0 / 7.0;
    p = p * x - 1.0 / 6.0;
    p = p * x + 1.0 / 5.0;
    p = p * x - 1.0 / 4.0;
    p = p * x + 1.0 / 3.0;
    p = p * x - 1.0 / 2.0;
    p = p * x + 1.0;
    return p * x;
}

BOLTZ_INLINE double boltz_relu_tail_draw_d(double mu, uint32_t U)
{
    double a = -mu;
    double u = (boltz_u32_to_d(U) + 0.5) * 2.3283064365386962891e-10;
    double lu = boltz_log_pos_d(u);
    double ia = 1.0 / a;
    double La = boltz_relu_tail_L_d(ia * ia);
    double a2 = a < 1e150 ? a * a : 1e300;
    double s = -2.0 * lu / (a + boltz_sqrt_pos_d(a2 - 2.0 * lu));
    for (int it = 0; it < 3; it++) {
        double ix = 1.0 / (a + s), t = ix * ix;
        double g = (boltz_relu_tail_L_d(t) - La) - boltz_log1p_small_d(s * ia)
                   - s * (a + 0.5 * s) - lu;
        s += g * boltz_relu_tail_S_d(t) * ix;
    }
    return s > 0.0 ? s : 0.0;
}

/* h[c] <- a draw and mean[c] <- E[h], for inputs mu.  Blocks with inputs
 * below -25 are split: each side is gathered into contiguous buffers and
 * drawn by its own (vectorised) loop, so neither pays for the other. */
BOLTZ_INLINE void boltz_relu_draw_block(double *h, double *mean, const double *mu,
                                         const uint32_t *u, int n)
{
    double pe[BOLTZ_SP_BLOCK], gm[BOLTZ_SP_BLOCK], gp[BOLTZ_SP_BLOCK];
    double gh[BOLTZ_SP_BLOCK];
    uint32_t gu[BOLTZ_SP_BLOCK];
    int idx[BOLTZ_SP_BLOCK];
    int n_tail = 0;
    for (int c = 0; c < n; c++) {
        double E, ex;
        mean[c] = boltz_relu_mean_core_d(mu[c], &E, &ex, 1);
        pe[c] = 0.5 * E * ex;                   /* Phi(-|mu|) */
    }
    for (int c = 0; c < n; c++)
        n_tail += mu[c] < -25.0;
    if (n_tail == 0) {
        for (int c = 0; c < n; c++)
            h[c] = boltz_relu_draw_pe_d(mu[c], pe[c], u[c]);
        return;
    }
    /* the regular inputs first, then the tail's from the top */
    int nr = 0, nt = n;
    for (int c = 0; c < n; c++) {
        int k = mu[c] < -25.0 ? --nt : nr++;
        idx[k] = c;
        gm[k] = mu[c];
        gp[k] = pe[c];
        gu[k] = u[c];
    }
    for (int k = 0; k < nr; k++)
        gh[k] = boltz_relu_draw_pe_d(gm[k], gp[k], gu[k]);
    for (int k = nr; k < n; k++)
        gh[k] = boltz_relu_tail_draw_d(gm[k], gu[k]);
    for (int k = 0; k < n; k++)
        h[idx[k]] = gh[k];
}

/* Block loops, rows x cols with row strides; `bias` per column.  Rows are
 * worked in double, BOLTZ_SP_BLOCK units at a time. */
#define BOLTZ_RELU_LOOPS(SUF, T)                                                \
BOLTZ_CLONES static __attribute__((unused)) void boltz_relu_mean_##SUF(        \
    T *x, long ld, const T *bias, int rows, int cols)                          \
{                                                                              \
    double mu[BOLTZ_SP_BLOCK], out[BOLTZ_SP_BLOCK];                            \
    for (int r = 0; r < rows; r++) {                                           \
        T *row = x + r * ld;                                                   \
        for (int c0 = 0; c0 < cols; c0 += BOLTZ_SP_BLOCK) {                    \
            int m = cols - c0 < BOLTZ_SP_BLOCK ? cols - c0 : BOLTZ_SP_BLOCK;   \
            for (int c = 0; c < m; c++)                                        \
                mu[c] = (double)row[c0 + c] + (double)bias[c0 + c];            \
            boltz_relu_mean_block(out, mu, m);                                 \
            for (int c = 0; c < m; c++)                                        \
                row[c0 + c] = (T)out[c];                                       \
        }                                                                      \
    }                                                                          \
}                                                                              \
/* out <- a draw given the inputs in `in` (out may be in) */                   \
BOLTZ_CLONES static __attribute__((unused)) void boltz_relu_sample_##SUF(      \
    T *out, long ldo, const T *in, long ldi, const T *bias,                    \
    const uint32_t *u, long ldu, int rows, int cols)                           \
{                                                                              \
    double mu[BOLTZ_SP_BLOCK], h[BOLTZ_SP_BLOCK], mean[BOLTZ_SP_BLOCK];        \
    for (int r = 0; r < rows; r++) {                                           \
        T *o = out + r * ldo;                                                  \
        const T *x = in + r * ldi;                                             \
        const uint32_t *ur = u + r * ldu;                                      \
        for (int c0 = 0; c0 < cols; c0 += BOLTZ_SP_BLOCK) {                    \
            int m = cols - c0 < BOLTZ_SP_BLOCK ? cols - c0 : BOLTZ_SP_BLOCK;   \
            for (int c = 0; c < m; c++)                                        \
                mu[c] = (double)x[c0 + c] + (double)bias[c0 + c];              \
            boltz_relu_draw_block(h, mean, mu, ur + c0, m);                    \
            for (int c = 0; c < m; c++)                                        \
                o[c0 + c] = (T)h[c];                                           \
        }                                                                      \
    }                                                                          \
}                                                                              \
/* x[:rows] <- E[h] for the inputs in x, and out <- a draw for rows first..   \
 * rows - 1 (one pass: the draw's rows reuse the mean's erfcx) */             \
BOLTZ_CLONES static __attribute__((unused)) void boltz_relu_mean_sample_##SUF( \
    T *x, long ld, const T *bias, int rows, int cols, int first,               \
    T *out, long ldo, const uint32_t *u, long ldu)                             \
{                                                                              \
    double mu[BOLTZ_SP_BLOCK], h[BOLTZ_SP_BLOCK], mean[BOLTZ_SP_BLOCK];        \
    boltz_relu_mean_##SUF(x, ld, bias, first, cols);                           \
    for (int r = first; r < rows; r++) {                                       \
        T *row = x + r * ld;                                                   \
        T *o = out + (r - first) * ldo;                                        \
        const uint32_t *ur = u + (r - first) * ldu;                            \
        for (int c0 = 0; c0 < cols; c0 += BOLTZ_SP_BLOCK) {                    \
            int m = cols - c0 < BOLTZ_SP_BLOCK ? cols - c0 : BOLTZ_SP_BLOCK;   \
            for (int c = 0; c < m; c++)                                        \
                mu[c] = (double)row[c0 + c] + (double)bias[c0 + c];            \
            boltz_relu_draw_block(h, mean, mu, ur + c0, m);                    \
            for (int c = 0; c < m; c++) {                                      \
                o[c0 + c] = (T)h[c];                                           \
                row[c0 + c] = (T)mean[c];                                      \
            }                                                                  \
        }                                                                      \
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
            double ai = (double)as[i], m1, l1, p1, c1, m0, l0, p0, c0;         \
            boltz_relu_parts_d(b1 * ai, &m1, &l1, &p1, &c1);                   \
            boltz_relu_parts_d(b0 * ai, &m0, &l0, &p0, &c0);                   \
            t[i] = l1 - l0;                                                    \
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
        for (int i = 0; i < m; i++) {
            double mean, lp, lphi, pc;
            boltz_relu_parts_d(xs[i] + ys[i], &mean, &lp, &lphi, &pc);
            t[i] = lp;
        }
        boltz_sum_block(t, m, acc);
    }
    return boltz_sum_acc(acc);
}

#endif /* BOLTZ_UNITS_H */
