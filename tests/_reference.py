"""Plain NumPy reference implementations of the kernels, for the tests.

They follow the documented conventions of the kernels (which uniforms each
chain draws, in which order) but share no code with them.
"""

import numpy as np
from scipy.special import expit


def init_like_estimator(seed, n_components, n_features):
    """The RBMs' documented initialisation, rebuilt independently: W ~
    N(0, 0.01) from RandomState(seed), then 128 bits of stream entropy."""
    rng = np.random.RandomState(seed)
    W = rng.normal(0, 0.01, (n_components, n_features))
    words = rng.randint(0, 2**32, size=4, dtype=np.uint64)
    entropy = sum(int(w) << (32 * i) for i, w in enumerate(words))
    return W, entropy


def chain_stream(entropy, key, i):
    """Stream i of a call keyed ``key``: SFC64(SeedSequence(entropy, key + (i,)))."""
    return np.random.SFC64(np.random.SeedSequence(entropy, spawn_key=tuple(key) + (i,)))


def draw_uint32(gen, n):
    """n uint32 draws: ceil(n/2) 64-bit outputs, low half first."""
    raw = gen.random_raw((n + 1) // 2)
    return raw.view(np.uint32)[:n].copy()


def bernoulli(p, u):
    """1.0 where u < p * 2^32 (comparison in double precision)."""
    return (u.astype(np.float64) < p.astype(np.float64) * 4294967296.0).astype(p.dtype)


def even_starts(n, batch_size):
    n_batches = -(-n // batch_size)
    sizes = [n // n_batches + (1 if i < n % n_batches else 0) for i in range(n_batches)]
    return np.concatenate([[0], np.cumsum(sizes)])


def log_sigma_gradient(u, W, b, c, sigma, h_chain):
    """d log-likelihood / d log sigma of a Gaussian-Bernoulli RBM.

    Data term: mean over the rows u = v / sigma of (u - b')^2 - u (P(h | u) W);
    model term: mean over the chains' hidden states h of 1 - b' (h W), the
    exact expectation over v | h ~ N(b' + h W, 1) in the scaled space
    (b' = b / sigma).
    """
    bs = b / sigma
    ph = expit(u @ W.T + c)
    data = ((u - bs) ** 2 - u * (ph @ W)).mean(axis=0)
    model = (1.0 - bs * (h_chain @ W)).mean(axis=0)
    return data - model


def relu_mean(a):
    """E[h | a] of ReLU units: the mean of N(a, 1) truncated to h >= 0."""
    from scipy.special import erfcx

    return a + np.sqrt(2 / np.pi) / erfcx(-a / np.sqrt(2))


def relu_draw(a, u32):
    """The documented inverse-CDF ReLU draw, h = a - Phi^-1(u Phi(a)), by scipy."""
    from scipy.special import log_ndtr, ndtri_exp

    lu = np.log((u32.astype(np.float64) + 0.5) * 2.0 ** -32)
    return np.maximum(a - ndtri_exp(lu + log_ndtr(a)), 0.0)


def softmax_groups(a, categories):
    """Softmax of each group of columns (group j has categories[j] columns)."""
    out = np.empty_like(a, dtype=np.float64)
    o = 0
    for q in categories:
        z = a[:, o:o + q] - a[:, o:o + q].max(axis=1, keepdims=True)
        e = np.exp(z)
        out[:, o:o + q] = e / e.sum(axis=1, keepdims=True)
        o += q
    return out


def categorical_draw(p, u32, categories):
    """The documented categorical draw: t = (U + 1/2) 2^-32 from the uint32 at
    each group's first column; the first category whose running sum of p
    exceeds t (the last one with p > 0 if none does); one-hot rows."""
    out = np.zeros_like(p)
    o = 0
    rows = np.arange(p.shape[0])
    for q in categories:
        t = (u32[:, o].astype(np.float64) + 0.5) * 2.0 ** -32
        cum = np.cumsum(p[:, o:o + q], axis=1)
        above = cum > t[:, None]
        last = q - 1 - np.argmax((p[:, o:o + q] > 0)[:, ::-1], axis=1)
        pick = np.where(above.any(axis=1), np.argmax(above, axis=1), last)
        out[rows, o + pick] = 1.0
        o += q
    return out


# hidden unit type -> (mean of the activations, draw from activations and uint32s)
HIDDEN = {
    "bernoulli": (expit, lambda a, u: bernoulli(expit(a), u)),
    "relu": (relu_mean, relu_draw),
}


def rbm_epoch(X, W, b, c, H, entropy, call, *, lr, k=1, persistent=True,
              momentum=0.0, weight_decay=0.0, velocity=None, batch_size=None,
              gaussian=False, normal_dtype=np.float64, sigma=None, sigma_lr=0.0,
              log_sigma_range=(-np.inf, np.inf), hidden="bernoulli",
              categories=None, centering_rate=None, offsets=None, betas=None,
              parity=0, swap_counts=None):
    """One CD-k/PCD-k epoch in NumPy, in float64; returns updated copies.

    ``gaussian`` makes the visible units Gaussian, v ~ N(b + sigma (h W),
    sigma^2) with per-feature ``sigma`` (default 1): the epoch is then the
    unit-variance one on u = X / sigma with biases b' = b / sigma, and b
    (in data units) steps by sigma times the step of b'.  Each chain draws,
    per batch, [J uint32 for the CD start] and per Gibbs step F standard
    normals (numpy's ziggurat, in ``normal_dtype``) followed by J uint32.

    ``sigma_lr > 0`` learns log sigma after every minibatch: a step of
    ``sigma_lr`` along :func:`log_sigma_gradient`, evaluated with the
    minibatch's rows and the parameters before the minibatch's update, and
    with the chains' states that the negative sample was drawn from (at the
    last Gibbs step), clipped to ``log_sigma_range``.  The next minibatch is
    divided by the new sigma.

    ``hidden="relu"`` gives the hidden units the ReLU unit type (means and
    exact draws of the truncated normal, from the same uint32 per unit).

    ``categories`` (a list of q_j) makes the visible units categorical: X
    is then one-hot, and each group of q_j columns is drawn from its softmax
    with the uint32 at the group's first column (:func:`categorical_draw`).

    ``centering_rate`` (with ``offsets = (mu, lam)``, mu in the coupling
    space u of the visible units) takes centred steps (Melchior, Fischer &
    Wiskott 2016): dW = lr (<(u - mu)(h - lam)^T>_data - <...>_model -
    weight_decay W), the plain biases step by lr (mean u_pos - mean u_neg)
    - lam dW and lr (mean h_pos - mean h_neg) - dW mu (momentum, if any, on
    these steps), and then mu and lam move toward the minibatch means of
    u_pos and h_pos by ``centering_rate``.  With a learned sigma the visible
    bias's step is scaled by the sigma after its step.

    ``betas`` (PCD only) runs parallel tempering: H holds len(betas) blocks
    of chains, block k at inverse temperature betas[k] (couplings scaled by
    beta, the units' own terms not); each Gibbs step starts with swaps of
    the states of chain i between rungs (k, k + 1), k of the step's parity
    (``parity`` + the step's index in the epoch), accepted when d >= 0 or
    t < exp(d), with d = (beta_k - beta_{k+1}) (C_{k+1} - C_k), C = v_prev .
    (h W), v_prev the chain's v of the last step; at the epoch's first step
    (no v_prev) with d = g_k(h_{k+1}) + g_{k+1}(h_k) - g_k(h_k) -
    g_{k+1}(h_{k+1}), g_beta(h) = sum_f G(beta (h W)_f) (G the visible
    unit's log-partition at bias b').  t comes from the extra uint32 rung
    k's row draws last per step; only block 0 enters the gradient.
    ``swap_counts`` (n_chains_per_rung, K - 1, 2) is incremented with
    attempted / accepted swaps.

    Returns (W, b, c, H, velocity) with velocity = (vW, vb, vc) or None,
    sigma as a sixth element when ``sigma`` is given, and (mu, lam) last
    when ``centering_rate`` is given.
    """
    h_mean, h_draw = HIDDEN[hidden]
    X = np.asarray(X, dtype=np.float64)
    W, b, c, H = (np.array(a, dtype=np.float64) for a in (W, b, c, H))
    n_chains, J = H.shape
    F = W.shape[1]
    return_sigma = sigma is not None
    sig = np.ones(F) if sigma is None else np.array(sigma, dtype=np.float64)
    batch_size = (n_chains // (1 if betas is None else len(betas))
                  if batch_size is None else batch_size)
    if momentum:
        if velocity is None:
            vW, vb, vc = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
        else:
            vW, vb, vc = (np.array(v, dtype=np.float64) for v in velocity)
    centred = centering_rate is not None
    if centred:
        mu, lam = (np.array(o, dtype=np.float64) for o in offsets)
    gens = [chain_stream(entropy, (call,), i) for i in range(n_chains)]
    n_rand = (0 if persistent else J) + k * (F + J)
    K = 1 if betas is None else len(betas)
    if K > 1:
        n_rand += k
    ng = n_chains // K
    step = 0
    vprev = None        # the chains' v of the last step (none at the epoch's start)
    starts = even_starts(X.shape[0], batch_size)
    for s0, s1 in zip(starts[:-1], starts[1:]):
        vpos = X[s0:s1] / sig if gaussian else X[s0:s1]
        bs = b / sig if gaussian else b
        nb = s1 - s0
        nc = n_chains if persistent else nb
        if gaussian:
            R = np.zeros((nc, n_rand), dtype=np.uint32)
            Z = np.zeros((nc, k, F))
            for i in range(nc):
                o = 0
                if not persistent:
                    R[i, :J] = draw_uint32(gens[i], J)
                    o = J
                for s in range(k):
                    Z[i, s] = np.random.Generator(gens[i]).standard_normal(
                        F, dtype=normal_dtype)
                    R[i, o + s * (F + J) + F: o + (s + 1) * (F + J)] = draw_uint32(
                        gens[i], J)
                if K > 1:
                    R[i, k * (F + J):] = draw_uint32(gens[i], k)
        else:
            R = np.stack([draw_uint32(gens[i], n_rand) for i in range(nc)])
        apos = vpos @ W.T + c
        hpos = h_mean(apos)
        off = 0
        if not persistent:
            H = H.copy()
            H[:nb] = h_draw(apos, R[:, :J])
            off = J
        Hc = H[:nc]
        scale = np.ones(nc) if K == 1 else np.repeat(np.asarray(betas, float), ng)
        for s in range(k):
            r = R[:, off + s * (F + J): off + (s + 1) * (F + J)]
            inputs = Hc @ W
            if K > 1:
                Hc = Hc.copy()
                for i in range(ng):
                    for kk in range((parity + step) % 2, K - 1, 2):
                        ra, rc = kk * ng + i, (kk + 1) * ng + i
                        if vprev is None:
                            g = [[visible_log_partition(betas[q] * inputs[row], b,
                                                        sig, gaussian, categories)
                                  for q in (kk, kk + 1)] for row in (ra, rc)]
                            la = g[1][0] + g[0][1] - g[0][0] - g[1][1]
                        else:
                            cpl = [float(vprev[row] @ inputs[row]) for row in (ra, rc)]
                            la = (betas[kk] - betas[kk + 1]) * (cpl[1] - cpl[0])
                        t = (float(R[ra, k * (F + J) + s]) + 0.5) * 2.0 ** -32
                        swap_counts[i, kk, 0] += 1
                        if la >= 0 or t < np.exp(la):
                            swap_counts[i, kk, 1] += 1
                            Hc[[ra, rc]] = Hc[[rc, ra]]
                            inputs[[ra, rc]] = inputs[[rc, ra]]
                inputs = inputs * scale[:, None]
            step += 1
            h_from = Hc[:ng]
            if gaussian:
                vneg = inputs + bs + Z[:, s]
            elif categories is not None:
                vneg = categorical_draw(softmax_groups(inputs + b, categories),
                                        r[:, :F], categories)
            else:
                vneg = bernoulli(expit(inputs + b), r[:, :F])
            vprev = vneg
            aneg = (vneg @ W.T) * scale[:, None] + c
            hneg = h_mean(aneg)
            Hc = h_draw(aneg, r[:, F:])
        if K > 1:
            vneg, hneg, nc = vneg[:ng], hneg[:ng], ng
        if sigma_lr:
            log_sigma = np.log(sig) + sigma_lr * log_sigma_gradient(
                vpos, W, b, c, sig, h_from)
        if centred:
            gW = (hpos - lam).T @ (vpos - mu) / nb - (hneg - lam).T @ (vneg - mu) / nc
            dW = lr * (gW - weight_decay * W)
            db = lr * (vpos.mean(0) - vneg.mean(0)) - lam @ dW
            dc = lr * (hpos.mean(0) - hneg.mean(0)) - dW @ mu
            if sigma_lr:
                sig = np.exp(np.clip(log_sigma, *log_sigma_range))
            if gaussian:
                db = sig * db
            if momentum:
                vW, vb, vc = momentum * vW + dW, momentum * vb + db, momentum * vc + dc
                W, b, c = W + vW, b + vb, c + vc
            else:
                W, b, c = W + dW, b + db, c + dc
            mu = (1 - centering_rate) * mu + centering_rate * vpos.mean(0)
            lam = (1 - centering_rate) * lam + centering_rate * hpos.mean(0)
            H = H.copy()
            H[:len(Hc)] = Hc
            continue
        gW = hpos.T @ vpos / nb - hneg.T @ vneg / nc
        gb = vpos.mean(0) - vneg.mean(0)
        if gaussian:
            gb = sig * gb
        gc = hpos.mean(0) - hneg.mean(0)
        if momentum:
            vW = momentum * vW + lr * (gW - weight_decay * W)
            vb = momentum * vb + lr * gb
            vc = momentum * vc + lr * gc
            W, b, c = W + vW, b + vb, c + vc
        else:
            W = W + lr * (gW - weight_decay * W)
            b = b + lr * gb
            c = c + lr * gc
        H = H.copy()
        H[:len(Hc)] = Hc
        if sigma_lr:
            sig = np.exp(np.clip(log_sigma, *log_sigma_range))
    out = (W, b, c, H, ((vW, vb, vc) if momentum else None))
    out = out + (sig,) if return_sigma else out
    return out + ((mu, lam),) if centred else out


def visible_log_partition(x, b, sigma, gaussian, categories):
    """sum_f G(x_f) of a visible layer at inputs x (up to a constant)."""
    if gaussian:
        return float(np.sum(x * (b / sigma + 0.5 * x)))
    if categories is not None:
        out, o = 0.0, 0
        for q in categories:
            out += float(np.logaddexp.reduce(x[o:o + q] + b[o:o + q]))
            o += q
        return out
    return float(np.logaddexp(0, x + b).sum())


def free_energy(v, W, b, c):
    return -v @ b - np.logaddexp(0, v @ W.T + c).sum(axis=1)


def pseudo_likelihood(v, W, b, c, ind):
    """n_features * log sigmoid(F(v with bit ind flipped) - F(v)), by two passes."""
    v = np.asarray(v, dtype=np.float64)
    v_ = v.copy()
    rows = np.arange(v.shape[0])
    v_[rows, ind] = 1 - v_[rows, ind]
    d = free_energy(v_, W, b, c) - free_energy(v, W, b, c)
    return -v.shape[1] * np.logaddexp(0, -d)


def rbm_joint_distribution(W, b, c):
    """Exact p(v) of a tiny RBM by enumerating every visible state."""
    F = W.shape[1]
    states = ((np.arange(2**F)[:, None] >> np.arange(F)) & 1).astype(np.float64)
    logp = -free_energy(states, W, b, c)
    logp -= logp.max()
    p = np.exp(logp)
    return states, p / p.sum()
