"""Scale-out with Dask: data-parallel training by model averaging.

This module is optional: it needs the ``boltz[dask]`` extra (``dask[array]``
and ``distributed``), which it imports only when a function is called, so
``import boltz`` works without Dask.

:func:`fit_distributed` trains an estimator on a Dask array chunked by rows.
The blocks stay on the workers.  Each *round* broadcasts the current
parameters; for every block a task runs the estimator's own compiled epoch
kernel (the one :meth:`fit` calls) over the block's rows, starting from the
broadcast parameters and from the block's own persistent chains, and returns
the updated parameters; the client averages them, weighted by the rows of
each block (model averaging), and by default moves the model with block
momentum (Chen & Huo 2016) so that it keeps pace with ``fit``.  The random
streams of round ``r`` and block ``b`` come from
``SeedSequence(entropy, spawn_key=(r, b))``, so a seeded fit gives the same
parameters whatever the scheduling or the number of workers holding the
blocks.

Supported estimators: :class:`~boltz.BernoulliRBM`,
:class:`~boltz.GaussianBernoulliRBM`, :class:`~boltz.DBN` (greedy, layer by
layer, each layer on the persisted hidden features of the one below) and
:class:`~boltz.HopfieldNetwork` with the Hebbian rule (its weights are a sum
over patterns: one reduction, no rounds).
"""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from .dbn._dbn import DBN, _layer_configs
from .rbm._gaussian import GaussianBernoulliRBM
from .hopfield._networks import HopfieldNetwork
from .rbm._base import _BaseRBM
from .utils._batching import even_batch_starts
from .utils._threads import effective_n_threads
from .utils._validation import FLOAT_DTYPES, check_data, to_bipolar, unchanged_on_error

__all__ = ["fit_distributed"]

_PARAMS = ("components_", "intercept_visible_", "intercept_hidden_")


def _import_dask():
    try:
        import dask.array as da
        import distributed
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            "boltz.dask needs Dask: pip install 'boltz[dask]' (installs "
            "dask[array] and distributed)."
        ) from exc
    return da, distributed


def _get_client(client, distributed):
    if client is not None:
        return client
    try:
        return distributed.get_client()
    except ValueError as exc:
        raise ValueError(
            "fit_distributed found no Dask client: pass client=, or create one "
            "first (distributed.Client(...) or Client(LocalCluster(...)))."
        ) from exc


def _check_dask_array(X, da):
    if not isinstance(X, da.Array):
        # A ValueError, as for every other bad input of the package.
        raise ValueError(  # noqa: TRY004
            f"fit_distributed expects a dask array chunked by rows, got "
            f"{type(X).__name__}. Wrap the data with dask.array.from_array(X, "
            "chunks=(rows_per_block, -1)), or call the estimator's fit for "
            "in-memory data."
        )
    if X.ndim != 2:
        raise ValueError(
            f"fit_distributed expects a 2-D dask array (n_samples, n_features), "
            f"got {X.ndim} dimension(s)."
        )
    if any(np.isnan(c) for c in X.shape):
        raise ValueError(
            "X has unknown chunk sizes; call X.compute_chunk_sizes() first."
        )
    if len(X.chunks[1]) != 1:
        raise ValueError(
            f"X is chunked by columns ({len(X.chunks[1])} column chunks): every "
            "block must hold whole rows. Rechunk it with X.rechunk({1: -1})."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty (shape {X.shape}).")


def _n_worker_threads(n_jobs):
    """Kernel threads on a worker: n_jobs, or the worker's own thread count.

    Dask starts workers with OMP_NUM_THREADS=1, so None asks the worker how
    many threads it was given rather than trusting OpenMP's default.
    """
    if n_jobs is not None:
        return effective_n_threads(n_jobs)
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return effective_n_threads(None)


def _block_entropy(entropy, round_, block):
    """128 bits of entropy for one (round, block) from a SeedSequence."""
    words = np.random.SeedSequence(entropy, spawn_key=(round_, block)).generate_state(
        4, np.uint32)
    return int(sum(int(w) << (32 * i) for i, w in enumerate(words)))


# -- tasks run on the workers ------------------------------------------------------
def _validate_rbm_block(template, block):
    """The estimator's own input checks on one block; the checked array."""
    est = clone(template)
    return est._check_fit_data(np.asarray(block), reset=True, dtype=FLOAT_DTYPES)


def _rbm_round(template, params, block, state, entropy, work, n_jobs):
    """One round on one block, from broadcast params: ``work`` is
    (n_epochs, segment, n_segments), whole passes of the epoch kernel over the
    block or one segment of consecutive minibatches of a pass."""
    est = clone(template)
    for name, value in params.items():
        setattr(est, name, np.array(value, copy=True, order="C"))
    dtype = est.components_.dtype
    if state is None:
        est.h_samples_ = np.zeros((est.batch_size, est.n_components), dtype=dtype)
        est._velocity = None
    else:
        est.h_samples_ = state["h_samples_"].copy()
        est._velocity = state["velocity"]
    est._entropy = entropy
    est._n_epoch_calls = 0
    starts = even_batch_starts(block.shape[0], est.batch_size)
    n_epochs, segment, n_segments = work
    if n_segments > 1:
        cut = np.array_split(np.arange(len(starts) - 1), n_segments)[segment]
        if len(cut) == 0:
            n_epochs = 0
        else:
            seg = starts[cut[0]: cut[-1] + 2]
            block = block[seg[0]: seg[-1]]
            starts = seg - seg[0]
    n_threads = _n_worker_threads(n_jobs)
    for _ in range(n_epochs):
        est._run_epoch(block, starts, n_threads)
    return {
        "params": {name: getattr(est, name) for name in params},
        "h_samples_": est.h_samples_,
        "velocity": getattr(est, "_velocity", None),
        "n_rows": block.shape[0],
    }


def _chains_of(result):
    return result["h_samples_"]


def _round_params(result):
    return result["params"], result["n_rows"]


def _mean_hiddens_block(rbm, block):
    return rbm._mean_hiddens(block)


def _hebbian_block(template, block):
    """Bipolar Gram matrix S^T S of one block of patterns, with its encoding."""
    est = clone(template)
    X = check_data(est, np.asarray(block), reset=True, accept_sparse=False)
    S, enc = to_bipolar(X, type(est).__name__, binarize=est.binarize)
    S64 = S.astype(np.float64)
    all_on = bool(np.all(X == 1.0))
    return S64.T @ S64, S.shape[0], enc, all_on, X.dtype


# -- client-side drivers --------------------------------------------------------------
# Default length of a round: about this many minibatches of the largest block.
ROUND_BATCHES = 50


def _default_rounds(n_iter, block_rows, batch_size):
    """n_rounds when None: every epoch cut into rounds of <= ROUND_BATCHES
    minibatches of the largest block (one round per epoch for small blocks)."""
    n_batches = -(-max(block_rows) // batch_size)
    return n_iter * max(1, -(-n_batches // ROUND_BATCHES))


def _rounds_schedule(n_iter, n_rounds, name):
    """The work of each round as (n_epochs, segment, n_segments).

    ``n_rounds <= n_iter``: the epochs are split as evenly as possible among
    the rounds (segment 0 of 1).  ``n_rounds > n_iter`` (a multiple of it):
    every epoch is cut into ``n_rounds / n_iter`` segments of consecutive
    minibatches, one per round.
    """
    if n_iter == 0:
        return []
    if (not isinstance(n_rounds, numbers.Integral) or isinstance(n_rounds, bool)
            or n_rounds < 1 or (n_rounds > n_iter and n_rounds % n_iter)):
        raise ValueError(
            f"n_rounds must be a positive int, at most n_iter={n_iter} or a "
            f"multiple of it, for {name}; got {n_rounds!r}."
        )
    if n_rounds > n_iter:
        k = n_rounds // n_iter
        return [(1, s, k) for _ in range(n_iter) for s in range(k)]
    base, extra = divmod(n_iter, n_rounds)
    return [(base + (r < extra), 0, 1) for r in range(n_rounds)]


def _fit_rbm_blocks(rbm, blocks, block_rows, n_features, dtype, client, n_rounds,
                    n_jobs, verbose, aggregate):
    """Model-averaged training of one RBM on validated block futures."""
    rng = check_random_state(rbm.random_state)
    rbm._init_params(n_features, dtype, rng)
    rbm.n_features_in_ = n_features
    template = clone(rbm)
    names = _PARAMS + (("sigma_",) if isinstance(rbm, GaussianBernoulliRBM) else ())
    if n_rounds is None:
        n_rounds = _default_rounds(rbm.n_iter, block_rows, rbm.batch_size)
    schedule = _rounds_schedule(rbm.n_iter, n_rounds, type(rbm).__name__)
    states = [None] * len(blocks)
    entropy = rbm._entropy
    n_blocks = len(blocks)
    # Block momentum (Chen & Huo, ICASSP 2016): the round's averaged update
    # G joins a running update D <- mu D + G, the model moves by D, and the
    # next round starts from the look-ahead point model + mu D (Nesterov).
    mu = 1.0 - 1.0 / n_blocks if aggregate == "momentum" else 0.0
    # sigma_ (learned in log space) is combined as log(sigma_): it stays > 0.
    to_space = {name: (np.log if name == "sigma_" else np.asarray) for name in names}
    from_space = {name: (np.exp if name == "sigma_" else np.asarray) for name in names}
    model = {name: to_space[name](getattr(rbm, name).astype(np.float64))
             for name in names}
    step = {name: np.zeros_like(value) for name, value in model.items()}
    for r, work in enumerate(schedule):
        params = {name: from_space[name](model[name] + mu * step[name]).astype(dtype)
                  for name in names}
        [params_f] = client.scatter([params], broadcast=True)
        states = [
            client.submit(_rbm_round, template, params_f, block, state,
                          _block_entropy(entropy, r, b), work, n_jobs,
                          pure=False)
            for b, (block, state) in enumerate(zip(blocks, states))
        ]
        results = client.gather(client.map(_round_params, states))
        weights = np.array([n for _, n in results], dtype=np.float64)
        weights /= weights.sum()
        # G = sum_b w_b (p_b - start): "mean" moves by G (model averaging),
        # "sum" by B G (the blocks' updates added up), "momentum" by mu D + G.
        scale = float(n_blocks) if aggregate == "sum" else 1.0
        for name in names:
            start = to_space[name](params[name].astype(np.float64))
            avg = np.zeros(start.shape, dtype=np.float64)
            for (p, _), w in zip(results, weights):
                avg += w * (to_space[name](p[name].astype(np.float64)) - start)
            step[name] = mu * step[name] + scale * avg
            model[name] += step[name]
            setattr(rbm, name, from_space[name](model[name]).astype(dtype))
        if verbose:
            print(f"[fit_distributed] {type(rbm).__name__} round {r + 1}/"
                  f"{len(schedule)} on {len(blocks)} blocks")
    # Chains of the first block serve the fitted model locally (sample, partial_fit).
    if states and states[0] is not None:
        rbm.h_samples_ = client.submit(_chains_of, states[0]).result()
    rbm._velocity = None
    rbm._n_epoch_calls = len(schedule)
    return rbm


def _blocks(X, client, validate, template):
    """Validated block futures of X, computed and kept on the workers."""
    delayed = X.to_delayed().ravel().tolist()
    futures = client.compute(delayed)
    return client.map(validate, [template] * len(futures), futures, pure=False)


def _target_dtype(X):
    return X.dtype if X.dtype in FLOAT_DTYPES else np.dtype(np.float64)


def _fit_rbm(est, X, client, n_rounds, aggregate, n_jobs, verbose):
    est._validate_params()
    blocks = _blocks(X, client, _validate_rbm_block, clone(est))
    client.gather(blocks)  # raise validation errors (NaN, range) here
    return _fit_rbm_blocks(est, blocks, X.chunks[0], X.shape[1], _target_dtype(X),
                           client, n_rounds, n_jobs, verbose, aggregate)


def _fit_dbn(est, X, client, n_rounds, aggregate, n_jobs, verbose):
    est._validate_params()
    rbms = _layer_configs(est, type(est).__name__)
    blocks = _blocks(X, client, _validate_rbm_block, clone(rbms[0]))
    client.gather(blocks)
    dtype = _target_dtype(X)
    rng = check_random_state(est.random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(rbms))
    n_features = X.shape[1]
    for i, (rbm, seed) in enumerate(zip(rbms, seeds)):
        rbm.set_params(random_state=int(seed))
        if verbose:
            print(f"[fit_distributed] DBN layer {i + 1}/{len(rbms)}: "
                  f"{n_features} -> {rbm.n_components}")
        _fit_rbm_blocks(rbm, blocks, X.chunks[0], n_features, dtype, client,
                        n_rounds, n_jobs, verbose,
                        aggregate)
        if i + 1 < len(rbms):
            [rbm_f] = client.scatter([rbm], broadcast=True)
            blocks = client.map(_mean_hiddens_block, [rbm_f] * len(blocks), blocks,
                                pure=False)
            n_features = rbm.n_components
    est.rbms_ = rbms
    est.n_features_in_ = X.shape[1]
    return est


def _fit_hopfield(est, X, client):
    est._validate_params()
    if est.rule != "hebbian":
        raise NotImplementedError(
            f"fit_distributed supports HopfieldNetwork(rule='hebbian') only, got "
            f"rule={est.rule!r}: the Hebbian weights are a sum over patterns (one "
            "reduction over the blocks), whereas Storkey's rule is sequential over "
            "patterns and the pseudo-inverse needs all patterns at once. Fit those "
            "locally on the gathered patterns."
        )
    delayed = X.to_delayed().ravel().tolist()
    parts = client.gather(client.map(_hebbian_block, [clone(est)] * len(delayed),
                                     client.compute(delayed), pure=False))
    encodings = {enc for _, _, enc, all_on, _ in parts if not all_on} or {
        parts[0][2]}
    if len(encodings) > 1:
        raise ValueError(
            "HopfieldNetwork: the blocks of X use different encodings "
            f"({', '.join(sorted(encodings))}); encode every pattern the same "
            "way ({0, 1} or {-1, +1})."
        )
    n = X.shape[1]
    W = sum(g for g, *_ in parts) / n
    est.n_features_in_ = n
    est.encoding_ = encodings.pop()
    est._set_weights(W, int(sum(k for _, k, *_ in parts)), parts[0][4])
    return est


def fit_distributed(estimator, X, *, client=None, n_rounds=None, aggregate="momentum",
                    n_jobs=None, verbose=False):
    """Fit an estimator on a Dask array, data-parallel by model averaging.

    The row blocks of ``X`` are computed and kept on the Dask workers.  For
    the RBMs, each round broadcasts the current parameters; every block's
    task runs the estimator's compiled epoch kernel over its rows (PCD chains
    persist per block across rounds) and the client averages the returned
    parameters, weighted by block size.  The random streams of round ``r``
    and block ``b`` come from ``SeedSequence(entropy, spawn_key=(r, b))``
    with ``entropy`` drawn from the estimator's ``random_state``, so the
    result does not depend on scheduling: a seeded fit on the same blocks
    gives the same parameters every time.  A :class:`~boltz.DBN` is trained
    greedily, layer by layer, each layer on the persisted hidden
    probabilities of the layer below (they never leave the workers).  A
    Hebbian :class:`~boltz.HopfieldNetwork` is one reduction of the blocks'
    pattern Gram matrices.

    Parameters
    ----------
    estimator : BernoulliRBM, GaussianBernoulliRBM, DBN or HopfieldNetwork
        The estimator to fit, in place.  Its parameters (``n_iter``,
        ``batch_size``, ``learning_rate``, ``random_state``, ...) mean what
        they mean for ``fit``; ``n_iter`` is the total number of passes over
        the data.

    X : dask.array.Array of shape (n_samples, n_features)
        Training data chunked by rows only (one chunk along the columns),
        dense.  float32 data gives a float32 model.  Each block is computed
        once per call, kept on its worker and validated there by the
        estimator's own checks (NaN, infinity, value range).

    client : distributed.Client, default=None
        The client to run on; None uses the current default client
        (``distributed.get_client()``).

    n_rounds : int, default=None
        Number of averaging rounds (communications) for each RBM.  At most
        ``n_iter``: the epochs are split as evenly as possible among the
        rounds (a round runs ``n_iter / n_rounds`` local epochs).  A multiple
        of ``n_iter``: every epoch is cut into ``n_rounds / n_iter`` segments
        of consecutive minibatches of each block, one segment per round.
        None cuts every epoch into rounds of at most 50 minibatches of the
        largest block (one round per epoch when blocks are that small).
        More rounds keep the blocks' models closer together (closer to
        ``fit``) at the cost of more communication.  For a DBN it applies to
        every layer.  Ignored by the Hopfield network.

    aggregate : {"momentum", "mean", "sum"}, default="momentum"
        How a round combines the blocks' parameters ``p_b``, all started
        from the same point ``s``.  With ``w_b`` the block's share of the
        rows, ``G = sum_b w_b (p_b - s)`` is the averaged update of the
        round.  ``"mean"`` is plain model averaging: the model moves by
        ``G``.  With ``B`` blocks that is a ``1 / B`` step per block's
        updates, so quality falls behind ``fit`` as ``B`` grows.
        ``"momentum"`` is model averaging with block momentum (Chen & Huo,
        ICASSP 2016): a running update ``D = mu D + G`` with
        ``mu = 1 - 1 / B`` moves the model, and the next round starts from
        the look-ahead point ``model + mu D`` (Nesterov).  In steady state it
        moves ``B`` times as far as "mean", keeping pace with ``fit``, and the
        momentum smooths the blocks' disagreement.  ``"sum"`` moves by
        ``B G`` at once, as if the blocks had been visited one after the
        other; it is only stable with short rounds (many rounds per epoch).
        With one block all three are the same.

    n_jobs : int, default=None
        Kernel threads per task on a worker.  None uses the worker's own
        thread count (Dask starts workers with ``OMP_NUM_THREADS=1``, so it
        is set explicitly); see ``effective_n_threads`` for other values.

    verbose : bool, default=False
        Print one line per round (and per DBN layer).

    Returns
    -------
    estimator : object
        The fitted estimator, an ordinary in-memory model afterwards
        (``transform``, ``score_samples``, ``predict``, pickling).

    Raises
    ------
    ValueError
        If X is not a 2-D dask array chunked by rows only, is empty, fails
        the estimator's input checks (NaN, infinity, range), or no client
        is available.
    NotImplementedError
        For a HopfieldNetwork whose rule is not "hebbian".
    TypeError
        For an estimator of another type.

    Notes
    -----
    Each round moves the parameters twice per block (broadcast and return):
    ``n_components * n_features`` values each way.  Averaging models trained
    on different blocks is not the same as one sequential pass: the blocks'
    models drift apart during a round, more so for long rounds and many
    blocks.  With two blocks, the defaults reach the held-out quality of
    ``fit`` with the same number of epochs (within 5% on digits and
    Fashion-MNIST, see ``benchmarks/bench_dask.py``); with more blocks, use
    more rounds (shorter ones) or a few more epochs.

    Examples
    --------
    >>> import dask.array as da                                  # doctest: +SKIP
    >>> from distributed import Client, LocalCluster             # doctest: +SKIP
    >>> from boltz import BernoulliRBM                           # doctest: +SKIP
    >>> from boltz.dask import fit_distributed                   # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2))               # doctest: +SKIP
    >>> dX = da.from_array(X, chunks=(10_000, -1))               # doctest: +SKIP
    >>> rbm = fit_distributed(BernoulliRBM(64, random_state=0), dX)  # doctest: +SKIP
    >>> rbm.transform(X[:5]).shape                               # doctest: +SKIP
    (5, 64)
    """
    da, distributed = _import_dask()
    if not isinstance(estimator, (_BaseRBM, DBN, HopfieldNetwork)):
        raise TypeError(
            "fit_distributed supports BernoulliRBM, GaussianBernoulliRBM, DBN and "
            f"HopfieldNetwork, got {type(estimator).__name__}."
        )
    _check_dask_array(X, da)
    if aggregate not in ("momentum", "mean", "sum"):
        raise ValueError(
            f"aggregate must be 'momentum', 'mean' or 'sum', got {aggregate!r}.")
    client = _get_client(client, distributed)
    with unchanged_on_error(estimator):
        if isinstance(estimator, HopfieldNetwork):
            return _fit_hopfield(estimator, X, client)
        if isinstance(estimator, DBN):
            return _fit_dbn(estimator, X, client, n_rounds, aggregate, n_jobs,
                            verbose)
        return _fit_rbm(estimator, X, client, n_rounds, aggregate, n_jobs, verbose)
