/* Categorical (softmax, Potts) units: groups of columns, one group per feature.
 *
 * A categorical feature with q categories is q columns of one-hot states in
 * the coupling space (exactly one of them is 1).  Given the inputs I of its
 * columns and their biases b, the feature's conditional is the softmax
 * p_k = exp(b_k + I_k) / sum_l exp(b_l + I_l) over its group.
 *
 * Groups are described by `glen`, one int per column of the block: the
 * group's length q at the column that starts a group, 0 at the others.  A
 * block handed to these functions starts at a group's first column and ends
 * at a group's last one (the kernels cut their visible chunks at group
 * boundaries).
 *
 * The softmax subtracts the group's maximum and uses the vectorised exp of
 * _math.h (its argument is then <= 0), so no input overflows it.  A draw
 * compares one uniform t = (U + 1/2) 2^-32, from the uint32 U at the group's
 * first column, with the running sum of the probabilities: the first
 * category whose running sum exceeds t is drawn, and the last category with
 * a non-zero probability when rounding leaves the total below t.  A draw
 * thus costs one uint32 per feature and reads the others of the group's
 * columns not at all (they keep the layout of a Bernoulli layer's draws).
 * The negative phase draws from the inputs directly (`_sample`): the same
 * category from the running sums of the unnormalised exp terms against t
 * times their total, with no division and one dependent chain per group.
 */
#ifndef BOLTZ_CATEGORICAL_H
#define BOLTZ_CATEGORICAL_H

#include <math.h>
#include <stdint.h>

#include "_math.h"

/* g[k] <- exp(g[k] - max_k g[k]) over one group of q columns (inlined into
 * each clone of the loops that call it) */
#define BOLTZ_GROUP_EXP(SUFFIX, T, EXP)                                         \
static inline __attribute__((always_inline)) void                             \
boltz_group_exp_##SUFFIX(T *restrict g, int q)                                 \
{                                                                              \
    T m0 = g[0], m1 = g[q - 1];                                                \
    for (int k = 1; k + 1 < q; k += 2) {                                       \
        m0 = g[k] > m0 ? g[k] : m0;                                            \
        m1 = g[k + 1] > m1 ? g[k + 1] : m1;                                    \
    }                                                                          \
    T m = m0 > m1 ? m0 : m1;                                                   \
    for (int k = 0; k < q; k++)                                                \
        g[k] = EXP(g[k] - m);                                                  \
}

BOLTZ_GROUP_EXP(d, double, boltz_exp_nonpos_d)
BOLTZ_GROUP_EXP(f, float, boltz_exp_nonpos_f)

#define BOLTZ_CATEGORICAL(SUFFIX, T)                                            \
/* x[r, :] <- softmax within each group of x[r, :] + bias */                    \
BOLTZ_CLONES static __attribute__((unused)) void                              \
boltz_softmax_groups_##SUFFIX(T *x, long ld, const T *bias, const int *glen,  \
                              int rows, int cols)                             \
{                                                                              \
    for (int r = 0; r < rows; r++) {                                          \
        T *restrict row = x + r * ld;                                          \
        for (int c = 0; c < cols; c++)                                        \
            row[c] += bias[c];                                                 \
        int s = 0;                                                             \
        while (s < cols) {                                                     \
            int q = glen[s];                                                   \
            T *restrict g = row + s;                                           \
            boltz_group_exp_##SUFFIX(g, q);                                    \
            T sum = 0;                                                         \
            for (int k = 0; k < q; k++)                                        \
                sum += g[k];                                                   \
            T inv = (T)1 / sum;                                                \
            for (int k = 0; k < q; k++)                                        \
                g[k] *= inv;                                                   \
            s += q;                                                            \
        }                                                                      \
    }                                                                          \
}                                                                              \
                                                                               \
/* out[r, :] <- one-hot draws from the group probabilities p[r, :] (out may   \
 * be p) with the uint32 at each group's first column of u */                \
static __attribute__((unused)) void                                           \
boltz_categorical_draw_##SUFFIX(T *out, long ldo, const T *p, long ldp,       \
                                const int *glen, const uint32_t *u, long ldu, \
                                int rows, int cols)                           \
{                                                                              \
    for (int r = 0; r < rows; r++) {                                          \
        const T *pr = p + r * ldp;                                             \
        T *o = out + r * ldo;                                                  \
        const uint32_t *ur = u + r * ldu;                                      \
        int s = 0;                                                             \
        while (s < cols) {                                                     \
            int q = glen[s];                                                   \
            double t = ((double)ur[s] + 0.5) * 2.3283064365386963e-10;         \
            double acc = 0.0;                                                  \
            int below = 0, last = 0;                                           \
            /* branch-free: the running sums rise, so the first category     \
             * whose sum exceeds t is the count of sums that do not */        \
            for (int k = 0; k < q; k++) {                                      \
                double pk = (double)pr[s + k];                                 \
                last = pk > 0.0 ? k : last;                                    \
                acc += pk;                                                     \
                below += acc <= t;                                             \
            }                                                                  \
            int pick = below < q ? below : last;                               \
            for (int k = 0; k < q; k++)                                        \
                o[s + k] = (T)(k == pick);                                     \
            s += q;                                                            \
        }                                                                      \
    }                                                                          \
}

/* x[r, :] <- one-hot draws from softmax(x[r, :] + bias) per group, in place,
 * without forming the probabilities: e_k = exp(y_k - max) (never 0: the exp
 * of _math.h clamps its argument), their running sums S_k, and the draw is
 * the first k with S_k > t S_q, t = (U + 1/2) 2^-32 (the same category as
 * the running sum of the probabilities exceeding t, up to rounding) */
#define BOLTZ_CATEGORICAL_SAMPLE(SUFFIX, T)                                     \
BOLTZ_CLONES static __attribute__((unused)) void                              \
boltz_categorical_sample_##SUFFIX(T *x, long ld, const T *bias, const int *glen, \
                                  const uint32_t *u, long ldu, int rows, int cols) \
{                                                                              \
    for (int r = 0; r < rows; r++) {                                          \
        T *restrict row = x + r * ld;                                          \
        const uint32_t *ur = u + r * ldu;                                      \
        for (int c = 0; c < cols; c++)                                        \
            row[c] += bias[c];                                                 \
        int s = 0;                                                             \
        while (s < cols) {                                                     \
            int q = glen[s];                                                   \
            T *restrict g = row + s;                                           \
            boltz_group_exp_##SUFFIX(g, q);                                    \
            double acc = 0.0;                                                  \
            for (int k = 0; k < q; k++) {                                      \
                acc += (double)g[k];                                           \
                g[k] = (T)acc;                                                 \
            }                                                                  \
            double thr = ((double)ur[s] + 0.5) * 2.3283064365386963e-10 * acc; \
            int below = 0;                                                     \
            for (int k = 0; k < q; k++)                                        \
                below += (double)g[k] <= thr;                                  \
            int pick = below < q ? below : q - 1;                              \
            for (int k = 0; k < q; k++)                                        \
                g[k] = (T)(k == pick);                                         \
            s += q;                                                            \
        }                                                                      \
    }                                                                          \
}

BOLTZ_CATEGORICAL(d, double)
BOLTZ_CATEGORICAL_SAMPLE(d, double)
BOLTZ_CATEGORICAL_SAMPLE(f, float)
BOLTZ_CATEGORICAL(f, float)

/* sum over groups of log sum_k exp(x[k] + y[k]), in double (x or y may be
 * NULL for zeros) */
static inline double boltz_group_logsumexp_sum2_d(const double *x, const double *y,
                                                  const int *glen, int n)
{
    double total = 0.0;
    int s = 0;
    while (s < n) {
        int q = glen[s];
        double m = -INFINITY;
        for (int k = s; k < s + q; k++) {
            double v = (x ? x[k] : 0.0) + (y ? y[k] : 0.0);
            m = v > m ? v : m;
        }
        double sum = 0.0;
        for (int k = s; k < s + q; k++)
            sum += exp((x ? x[k] : 0.0) + (y ? y[k] : 0.0) - m);
        total += m + log(sum);
        s += q;
    }
    return total;
}

#endif
