"""Scale-out with Dask: data-parallel training by model averaging.

This module is optional: it needs the ``boltz[dask]`` extra (``dask[array]``
and ``distributed``), which it imports only when a function is called, so
``import boltz`` works without Dask.

:func:`fit_distributed` trains an estimator on a Dask array chunked by rows.
The blocks stay on the workers.  Each *round* broadcasts the current
parameters; for every block a task sets them on a fresh copy of the
estimator, together with the block's own persistent chains, runs the
round's minibatches of the block through the estimator's own training code
(the compiled epoch kernel that :meth:`fit` runs) and returns the updated
training state; the client averages the parameters, weighted by the rows
each block trained on (model averaging), and by default moves the model
with block momentum (Chen & Huo 2016) so that it keeps pace with ``fit``.
The random streams of round ``r`` and block ``b`` come from
``SeedSequence(entropy, spawn_key=(r, b))``, so a seeded fit gives the same
parameters whatever the scheduling or the number of workers holding the
blocks.

How an estimator is recognised
------------------------------
No estimator class is named here.  :func:`fit_distributed` asks, in order,
which of three capabilities the estimator has (``_DRIVERS``), and the first
one it has picks the driver:

1. **The training-state protocol** (:class:`~boltz.BernoulliRBM`,
   :class:`~boltz.GaussianBernoulliRBM`): the public methods
   ``init_training_state``, ``get_training_state``, ``set_training_state``
   and ``run_minibatches``.  The model is trained by model averaging using
   these four methods and nothing else.  The client initialises the model
   with ``init_training_state``.  On a worker, a round sets the broadcast
   parameters, the block's chains and momentum and the round's stream seed
   on a clone (``set_training_state``), runs the round's minibatches of the
   block (``run_minibatches``) and returns ``get_training_state()``.  The
   client averages every array of ``state["parameters"]``, those named in
   ``state["positive"]`` in log space (``sigma_``), and sets the result back
   with ``set_training_state``.  A new model that speaks the protocol (a new
   unit type, a classification RBM) needs no change here.
2. **A greedy stack of RBMs** (:class:`~boltz.DBN`): an unsupervised
   estimator (``fit_distributed`` takes no labels, so no classifier) whose
   parameters are the DBN's layer parameters: ``hidden_layer_sizes``,
   ``visible``, ``learn_sigma`` and the per-layer RBM parameters.  Its layer
   RBMs are built by the DBN's own builder and trained by the DBN's own
   greedy loop (:func:`boltz.dbn._greedy.greedy_layers`; there is one layer
   loop in boltz).  Each layer is trained by driver 1 on the blocks of the
   layer below, and the next layer's blocks are the layer's public
   ``transform`` mapped over them (they never leave the workers).  The
   fitted layers go to ``rbms_``, the DBN's documented attribute.
3. **Pattern storage by a learning rule** (:class:`~boltz.HopfieldNetwork`):
   a ``rule`` parameter and ``partial_fit``.  With ``rule="hebbian"`` the
   weights are a sum over patterns: one reduction of the blocks' Gram
   matrices, no rounds.  Storkey's rule and the pseudo-inverse are not sums
   over patterns and raise ``NotImplementedError``.

Capabilities rather than classes, because the protocol is the contract
between estimators and scale-out drivers: a driver should depend on what an
estimator offers, not on its class.  The stack and the Hopfield network do
not speak the protocol, so they are recognised by their documented
parameters, the public part of their API that says how they train.
Anything else raises a ``TypeError`` that names what is supported.

Lost workers, checkpoints, data on disk
---------------------------------------
The scheduler recomputes what a lost worker held from the task graph, but
only while the graph can still make it: a task must exist (scattered data
has none) and not be forgotten (the scheduler forgets a task once no held
future depends on it).  So nothing is scattered: each round's starting
parameters and each DBN layer sent to the workers are the argument of a
task (:func:`_given`).  The client holds the checked blocks for the whole
fit and a round's futures until the next round is done; X's own block
futures, earlier rounds and lower DBN layers' features are dropped, and
their tasks stay in the graph (without their results) because held
futures depend on them.  Every ``checkpoint_every`` rounds the client
gathers the blocks' chains and momentum, and the next round starts from
those values: that ends the chain of rounds a recomputation can go back
through, and what the scheduler keeps of it.  The same state is what
``checkpoint=`` writes (:class:`_Checkpoint`: an ``.npz`` written to a
temporary file and renamed).  :func:`from_npy` makes a Dask array whose
blocks the workers read from a ``.npy`` file through memory maps, and no
driver brings a block to the client (the checks wait on the block futures
instead of gathering them).
"""

import contextlib
import json
import numbers
import os
import tempfile
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from sklearn.base import clone, is_classifier

from .base import DivergenceError, check_finite_parameters, progress_line
from .dbn._dbn import PER_LAYER, _layer_configs
from .dbn._greedy import greedy_layers
from .utils._batching import even_batch_starts
from .utils._threads import effective_n_threads
from .utils._validation import FLOAT_DTYPES, check_data, to_bipolar, unchanged_on_error

__all__ = ["fit_distributed", "from_npy"]


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
        raise ValueError(
            f"X is empty (shape {X.shape}): fit_distributed needs at least one "
            "row and one column.")
    empty = [i for i, n in enumerate(X.chunks[0]) if n == 0]
    if empty:
        raise ValueError(
            f"X has {len(empty)} empty block(s) (block {empty[0]} of "
            f"{len(X.chunks[0])} has no rows): every block must hold at least one "
            "row. Rechunk X, e.g. X.rechunk({0: rows_per_block}).")


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
def _given(value):
    """A value as the result of a task.

    Data the client sends with ``client.scatter`` has no task behind it: if
    every copy is lost, or once the client lets it go while a lost result
    still needs it, the scheduler cannot make it again.  Sent as the
    argument of this task instead, the value is part of the task graph, and
    the scheduler recomputes it on any worker.
    """
    return value


def _block_name(index, rows):
    """How errors name a block: ``block 2 of X (rows 200 to 299)``."""
    return f"block {index} of X (rows {rows[0]} to {rows[1] - 1})"


def _check_block_layout(block, index, rows, declared):
    """Dtype and row count of one computed block against X's metadata.

    A Dask array built from functions (``from_delayed``, ``map_blocks``,
    ``from_npy``) declares its blocks' shapes and dtype; a block that does
    not match the declaration would train on other rows, or in another
    precision, than the array says.
    """
    name = _block_name(index, rows)
    if block.dtype != declared:
        raise ValueError(
            f"{name} has dtype {block.dtype}, but X declares {declared}: every "
            "block must have the array's dtype. Fix the function that builds "
            "the blocks, or convert them all with X.astype(...).")
    n_rows = rows[1] - rows[0]
    if block.ndim != 2 or block.shape[0] != n_rows:
        raise ValueError(
            f"{name} has shape {block.shape}, but X's chunks say it has {n_rows} "
            "rows of whole feature vectors: fix the function that builds the "
            "blocks, or the shape it declares.")


def _checked_block(template, n_features, dtype, index, rows, declared, block):
    """One block, validated by the estimator's own training checks.

    After its layout (:func:`_check_block_layout`), a fresh clone of
    ``template`` is initialised for the data (``init_training_state``) and
    runs no epoch over the block (``run_minibatches(block, n_epochs=0)``):
    that validates the block as training does (NaN, infinity, value range,
    width, a dtype that is not a number) without training.  Errors name the
    block.  The block comes back as a C-contiguous array of the model's
    dtype, so the rounds' own checks copy nothing.
    """
    block = np.asarray(block)
    _check_block_layout(block, index, rows, declared)
    try:
        clone(template).init_training_state(n_features, dtype).run_minibatches(
            block, n_epochs=0)
    except ValueError as exc:
        raise ValueError(f"{_block_name(index, rows)}: {exc}") from exc
    return np.ascontiguousarray(block, dtype=dtype)


def _segment(n_rows, batch_size, segment, n_segments):
    """The rows of one segment of a pass over a block, as a slice.

    A pass over ``n_rows`` rows in minibatches of ``batch_size``, split as
    ``fit`` splits them (``even_batch_starts``: sizes ``q + 1`` then ``q``),
    is cut into ``n_segments`` runs of consecutive minibatches.  A run of
    ``m`` of them is itself split into the same ``m`` minibatches by
    ``even_batch_starts``: its sizes are ``q + 1`` then ``q`` too, and
    ``ceil(rows / batch_size) = m`` because the whole pass has the fewest
    minibatches that ``batch_size`` allows.  So ``run_minibatches`` on the
    segment's rows runs exactly those minibatches, and validates only those
    rows again (``tests/test_dask.py`` checks the identity).
    """
    if n_segments == 1:
        return slice(0, n_rows)
    starts = even_batch_starts(n_rows, batch_size)
    cut = np.array_split(np.arange(len(starts) - 1), n_segments)[segment]
    if len(cut) == 0:
        return slice(0, 0)
    return slice(int(starts[cut[0]]), int(starts[cut[-1] + 1]))


def _round(template, start, block, previous, entropy, work, n_jobs):
    """One round on one block, through the training-state protocol.

    Parameters
    ----------
    template : estimator
        The unfitted estimator, cloned here.
    start : dict
        ``{"parameters": ..., "n_features_in_": ...}``: the broadcast state
        the round starts from.
    block : ndarray
        The block's rows, checked by :func:`_checked_block`; the round
        trains on all of them or on one segment (:func:`_segment`).
    previous : dict or None
        What the block carries over from the round before (at least
        ``"chains"`` and ``"velocity"``: its persistent chains and momentum):
        the result of the block's previous round task, or those two arrays
        as the client gathered them (:func:`_carried`); None in the first
        round.
    entropy : int
        Seed of the round's random streams on this block.
    work : tuple of (int, int, int)
        ``(n_epochs, segment, n_segments)``: whole passes over the block, or
        one segment of consecutive minibatches of a pass.
    n_jobs : int or None
        Kernel threads (:func:`_n_worker_threads`).

    Returns
    -------
    state : dict
        ``get_training_state()`` after the round, with ``"n_rows"``, the rows
        the block trained on.
    """
    est = clone(template)
    if "n_jobs" in est.get_params():
        est.set_params(n_jobs=_n_worker_threads(n_jobs))
    state = {**start, "entropy": entropy, "n_epoch_calls": 0, "velocity": None}
    if previous is not None:
        state["chains"] = previous["chains"]
        state["velocity"] = previous["velocity"]
    est.set_training_state(state)
    n_epochs, segment, n_segments = work
    rows = block[_segment(block.shape[0], est.batch_size, segment, n_segments)]
    if rows.shape[0]:
        est.run_minibatches(rows, n_epochs=n_epochs)
    return {**est.get_training_state(), "n_rows": rows.shape[0]}


def _parameters_and_rows(state):
    return state["parameters"], state["n_rows"]


def _carried(state):
    """What a block's next round needs of its state: chains and momentum."""
    return {"chains": state["chains"], "velocity": state["velocity"]}


def _features(rbm, block):
    """The next layer's data: the layer's public ``transform`` of one block."""
    return rbm.transform(block)


def _hebbian_block(template, index, rows, declared, block):
    """Bipolar Gram matrix S^T S of one block of patterns, with its encoding.

    The block is checked as :func:`_checked_block` checks it (its layout,
    then the network's own input checks); errors name the block.
    """
    est = clone(template)
    block = np.asarray(block)
    _check_block_layout(block, index, rows, declared)
    try:
        X = check_data(est, block, reset=True, accept_sparse=False)
        S, enc = to_bipolar(X, type(est).__name__, binarize=est.binarize)
    except ValueError as exc:
        raise ValueError(f"{_block_name(index, rows)}: {exc}") from exc
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


class _Options(NamedTuple):
    """fit_distributed's own arguments, as the drivers take them.

    Attributes
    ----------
    n_rounds : int or None
        Averaging rounds per RBM (None: the default schedule).
    aggregate : {"momentum", "mean", "sum"}
        How a round combines the blocks' parameters.
    n_jobs : int or None
        Kernel threads per task on a worker.
    verbose : bool
        Print a line per round and per stack layer.
    checkpoint_every : int
        Rounds between the client's gathers of the blocks' whole state.
    """

    n_rounds: object
    aggregate: str
    n_jobs: object
    verbose: bool
    checkpoint_every: int


# -- checkpoints ----------------------------------------------------------------------
CHECKPOINT_FORMAT = "boltz.dask checkpoint 1"


def _write_atomic(path, arrays):
    """Write ``arrays`` to ``path`` as ``.npz``: a temporary file, then a rename.

    The temporary file is in the same directory, flushed to disk before
    ``os.replace`` puts it in place (atomic on POSIX and Windows), so a
    crash at any moment leaves either the previous checkpoint or the new
    one, never a partial file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".boltz-checkpoint-", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fit_signature(est, X, opts):
    """What a checkpoint must share with a fit to resume it, JSON-ready.

    The estimator's class and parameters (but ``n_jobs`` and ``verbose``,
    which do not change the result), X's shape, blocks and dtype, and the
    schedule's arguments.  An int ``random_state`` is recorded as such; a
    ``RandomState`` instance only by its type (it cannot be compared).
    """
    params = {}
    for key, value in sorted(est.get_params(deep=False).items()):
        if key in ("n_jobs", "verbose"):
            continue
        if key == "random_state" and not (value is None or isinstance(
                value, numbers.Integral)):
            value = type(value).__name__
        params[key] = repr(value)
    return {"estimator": type(est).__name__, "parameters": params,
            "shape": [int(n) for n in X.shape],
            "blocks": [int(n) for n in X.chunks[0]], "dtype": str(X.dtype),
            "n_rounds": repr(opts.n_rounds), "aggregate": opts.aggregate}


def _differences(saved, wanted, prefix=""):
    """The keys where two signatures differ, with both values."""
    out = []
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a} there, {b} here")
    return out


class _Checkpoint:
    """The training state of a fit, saved every few rounds, and what was found.

    One ``.npz`` file holds a JSON header (``"meta"``: the format, the fit's
    signature, the layer and round reached, the random streams' seeds) and
    the arrays: the finished layers of a stack (``done/<i>/...``, their
    training state) and, for the layer in training, the averaged model and
    the block momentum in float64 (``model/<name>``, ``step/<name>``) and
    each block's chains and momentum buffers (``block/<b>/...``).  It loads
    with ``allow_pickle=False``: reading a checkpoint runs no code.
    """

    def __init__(self, path, signature):
        self.path = os.fspath(path)
        self.signature = json.loads(json.dumps(signature))
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise ValueError(
                f"checkpoint={self.path!r}: the directory {directory!r} does not "
                "exist; create it first.")
        self.done = []        # training states of the finished layers
        self.progress = None  # the layer in training: (layer, round, meta, arrays)
        if os.path.exists(self.path):
            self._load()

    def _load(self):
        try:
            with np.load(self.path, allow_pickle=False) as f:
                arrays = {key: f[key] for key in f.files}
            meta = json.loads(str(arrays.pop("meta")))
            if meta.get("format") != CHECKPOINT_FORMAT:
                raise ValueError(f"format {meta.get('format')!r}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"checkpoint {self.path!r} cannot be read as a fit_distributed "
                f"checkpoint ({exc}); delete it to start afresh, or pass another "
                "path.") from exc
        diff = _differences(meta["signature"], self.signature)
        if diff:
            raise ValueError(
                f"checkpoint {self.path!r} was written by another fit ("
                + "; ".join(diff) + "): a fit resumes only with the same estimator "
                "parameters, data blocks and arguments. Delete it to start afresh, "
                "or pass another path.")
        for i, head in enumerate(meta["done"]):
            prefix = f"done/{i}/parameters/"
            self.done.append({
                "parameters": {key[len(prefix):]: value for key, value
                               in arrays.items() if key.startswith(prefix)},
                "chains": arrays[f"done/{i}/chains"], "velocity": None,
                "entropy": int(head["entropy"]),
                "n_epoch_calls": int(head["n_epoch_calls"]),
                "n_features_in_": int(head["n_features_in_"])})
        if meta["round"] > 0:
            self.progress = (meta["layer"], meta["round"], meta, arrays)

    def restore_layer(self, layer, rbm):
        """Set a finished layer's state on ``rbm``; False if it was not finished."""
        if layer >= len(self.done):
            return False
        rbm.set_training_state(self.done[layer])
        return True

    def resume(self, layer):
        """The saved progress of ``layer``'s averaging, or None.

        Returns ``(rounds_done, model, step, blocks, entropy)``: the
        averaged model and the block momentum (float64, by parameter name),
        each block's ``{"chains", "velocity"}`` and the streams' seed.
        """
        if self.progress is None or self.progress[0] != layer:
            return None
        _, rounds, meta, arrays = self.progress

        def named(prefix):
            return {key[len(prefix):]: value for key, value in arrays.items()
                    if key.startswith(prefix)}

        blocks = []
        for b, n_velocity in enumerate(meta["n_velocity"]):
            velocity = None if n_velocity < 0 else tuple(
                arrays[f"block/{b}/velocity/{j}"] for j in range(n_velocity))
            blocks.append({"chains": arrays[f"block/{b}/chains"],
                           "velocity": velocity})
        return rounds, named("model/"), named("step/"), blocks, int(meta["entropy"])

    def _write(self, layer, rounds, progress=None):
        meta = {"format": CHECKPOINT_FORMAT, "signature": self.signature,
                "layer": layer, "round": rounds, "done": []}
        arrays = {}
        for i, state in enumerate(self.done):
            meta["done"].append({key: str(state[key]) if key == "entropy" else
                                 int(state[key]) for key in
                                 ("entropy", "n_epoch_calls", "n_features_in_")})
            arrays[f"done/{i}/chains"] = state["chains"]
            for name, value in state["parameters"].items():
                arrays[f"done/{i}/parameters/{name}"] = value
        if progress is not None:
            model, step, blocks, entropy = progress
            meta["entropy"] = str(entropy)
            meta["n_velocity"] = []
            for name in model:
                arrays[f"model/{name}"] = model[name]
                arrays[f"step/{name}"] = step[name]
            for b, carried in enumerate(blocks):
                arrays[f"block/{b}/chains"] = carried["chains"]
                velocity = carried["velocity"]
                meta["n_velocity"].append(-1 if velocity is None else len(velocity))
                for j, v in enumerate(velocity or ()):
                    arrays[f"block/{b}/velocity/{j}"] = v
        arrays["meta"] = np.array(json.dumps(meta))
        _write_atomic(self.path, arrays)

    def save_round(self, layer, rounds, model, step, blocks, entropy):
        """Save the averaging of ``layer`` after ``rounds`` rounds."""
        self._write(layer, rounds, (model, step, blocks, entropy))

    def finish_layer(self, layer, rbm):
        """Record a finished layer; the next one starts from round 0."""
        state = rbm.get_training_state()
        self.done.append({key: state[key] for key in (
            "parameters", "chains", "velocity", "entropy", "n_epoch_calls",
            "n_features_in_")})
        self._write(layer + 1, 0)

    def remove(self):
        """Delete the file once the fit has succeeded."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)


# -- client-side drivers (continued) ----------------------------------------------------
def _block_rows(X):
    """``(start, stop)`` of every row block of X."""
    stops = np.cumsum(X.chunks[0])
    return [(int(stop - n), int(stop)) for stop, n in zip(stops, X.chunks[0])]


def _raise_first_error(futures):
    """Wait for ``futures`` and raise the error of the first that failed.

    ``client.gather`` would bring every result to the client; this brings
    none (the blocks stay on the workers) and raises in block order.
    """
    for future in futures:
        if future.exception() is not None:  # waits for it, raises nothing
            future.result()


def _checked_blocks(X, client, template, dtype):
    """Block futures of X, computed, validated and kept on the workers.

    Validation errors (NaN, range, width, dtype, row count), naming the
    block, are raised here, before training.  No block comes to the client.
    The futures of X's own blocks are dropped: the checked blocks depend on
    them, so the scheduler keeps their tasks and recomputes a lost block
    from X's graph.
    """
    delayed = X.to_delayed().ravel().tolist()
    futures = client.compute(delayed)
    blocks = [client.submit(_checked_block, template, X.shape[1], dtype, i, rows,
                            X.dtype, f, pure=False)
              for i, (rows, f) in enumerate(zip(_block_rows(X), futures))]
    _raise_first_error(blocks)
    return blocks


def _target_dtype(X):
    return X.dtype if X.dtype in FLOAT_DTYPES else np.dtype(np.float64)


def _worker_template(est):
    """An unfitted clone for the workers: their rounds print nothing."""
    template = clone(est)
    if "verbose" in template.get_params():
        template.set_params(verbose=0)
    return template


def _round_failed(exc, r, n_rounds):
    return DivergenceError(f"fit_distributed round {r + 1} of {n_rounds}: {exc}")


def _train_averaged(est, blocks, block_rows, dtype, client, opts, checkpoint=None,
                    layer=0):
    """Model-averaged training of an initialised protocol model on block futures.

    ``est`` holds the state of ``init_training_state``; every block future
    is a checked block of the model's width.  Only the four methods of the
    training-state protocol touch ``est``.

    What survives a lost worker: each round's starting parameters are a
    task (:func:`_given`), not scattered data, and a block's round depends
    on the block's round before; the client holds the block futures for the
    whole fit and a round's futures until the next round is done, and the
    scheduler keeps the tasks of earlier rounds (without their results) as
    long as a held future depends on them.  So it recomputes a lost block
    and its lost rounds from the task graph.  Every ``checkpoint_every``
    rounds, and after the last, the client gathers the blocks' chains and
    momentum and the next round starts from those values: the chain of
    rounds a recomputation may redo ends there, and so does what the
    scheduler keeps.  ``checkpoint`` (a :class:`_Checkpoint`), when given,
    saves the state at those rounds and resumes from the saved state.
    """
    state = est.get_training_state()
    positive = frozenset(state["positive"])
    template = _worker_template(est)
    n_rounds = opts.n_rounds
    if n_rounds is None:
        n_rounds = _default_rounds(est.n_iter, block_rows, est.batch_size)
    schedule = _rounds_schedule(est.n_iter, n_rounds, type(est).__name__)
    n_blocks = len(blocks)
    # Block momentum (Chen & Huo, ICASSP 2016): the round's averaged update
    # G joins a running update D <- mu D + G, the model moves by D, and the
    # next round starts from the look-ahead point model + mu D (Nesterov).
    mu = 1.0 - 1.0 / n_blocks if opts.aggregate == "momentum" else 0.0
    # G = sum_b w_b (p_b - start): "mean" moves by G (model averaging),
    # "sum" by B G (the blocks' updates added up), "momentum" by mu D + G.
    scale = float(n_blocks) if opts.aggregate == "sum" else 1.0

    # The arrays that must stay positive (sigma_) are combined in log space.
    def to_space(name, value):
        value = np.asarray(value, dtype=np.float64)
        return np.log(value) if name in positive else value

    def from_space(name, value):
        return (np.exp(value) if name in positive else value).astype(dtype)

    model = {name: to_space(name, value)
             for name, value in state["parameters"].items()}
    step = {name: np.zeros_like(value) for name, value in model.items()}
    # what the model's shape is besides its arrays (categorical models: the
    # categories of each feature)
    head = {k: state[k] for k in ("n_features_in_", "n_categories_") if k in state}
    # What each block carries into the next round: None before the first,
    # then its round future, or its chains and momentum as gathered.
    previous = [None] * n_blocks
    entropy = state["entropy"]
    first = 0
    saved = None if checkpoint is None else checkpoint.resume(layer)
    if saved is not None:
        first, model, step, previous, entropy = saved
        est.set_training_state(
            {"parameters": {name: from_space(name, model[name]) for name in model},
             "entropy": entropy})
        if opts.verbose:
            print(f"[{type(est).__name__}] Resuming after round {first} of "
                  f"{len(schedule)} from {checkpoint.path}")
    epochs = sum(n_epochs / n_segments for n_epochs, _, n_segments
                 in schedule[:first])
    for r in range(first, len(schedule)):
        work = schedule[r]
        begin = time.perf_counter()
        start = {name: from_space(name, model[name] + mu * step[name])
                 for name in model}
        start_f = client.submit(_given, {**head, "parameters": start}, pure=False)
        current = [
            client.submit(_round, template, start_f, block, prev,
                          _block_entropy(entropy, r, b), work, opts.n_jobs,
                          pure=False)
            for b, (block, prev) in enumerate(zip(blocks, previous))
        ]
        gather_state = (r + 1) % opts.checkpoint_every == 0 or r + 1 == len(schedule)
        try:
            if gather_state:
                states = client.gather(current)
                results = [(s["parameters"], s["n_rows"]) for s in states]
            else:
                results = client.gather(client.map(_parameters_and_rows, current))
        except DivergenceError as exc:
            raise _round_failed(exc, r, len(schedule)) from exc
        # The next round depends on these futures (a recomputation of it
        # may need them), or, once gathered, on the values themselves.
        previous = [_carried(s) for s in states] if gather_state else current
        weights = np.array([n for _, n in results], dtype=np.float64)
        total = weights.sum()
        for name in model:
            origin = to_space(name, start[name])
            avg = np.zeros_like(origin)
            if total > 0:
                for (p, _), w in zip(results, weights / total):
                    avg += w * (to_space(name, p[name]) - origin)
            step[name] = mu * step[name] + scale * avg
            model[name] += step[name]
        est.set_training_state(
            {"parameters": {name: from_space(name, model[name]) for name in model}})
        try:
            check_finite_parameters(est, list(model), r + 1)
        except DivergenceError as exc:
            raise _round_failed(exc, r, len(schedule)) from exc
        if gather_state and checkpoint is not None:
            checkpoint.save_round(layer, r + 1, model, step, previous, entropy)
        epochs += work[0] / work[2]
        if opts.verbose:
            print(progress_line(type(est).__name__, r + 1, "epochs done", epochs,
                                time.perf_counter() - begin))
    # The chains of the first block serve the fitted model locally (sample,
    # partial_fit); the momentum buffers were the blocks' own.  The last
    # round always gathers the blocks' state.
    final = {"velocity": None, "n_epoch_calls": len(schedule)}
    if schedule:
        final["chains"] = previous[0]["chains"]
    est.set_training_state(final)
    return est


def _resolve_categories(est, X):
    """A categorical model's ``n_categories="auto"``, counted on the dask array.

    ``init_training_state`` needs every feature's number of categories
    before any data is seen; as in ``fit``, "auto" is ``max(code) + 1`` per
    feature (one pass over X).  Returns the estimator (a clone with the
    counts set, when they were "auto"; the given one otherwise) whose
    ``init_training_state`` can then run.
    """
    params = est.get_params(deep=False)
    if not (isinstance(params.get("n_categories"), str)
            and params["n_categories"] == "auto"):
        return est
    q = np.asarray(X.max(axis=0).compute())
    if not np.all(np.isfinite(q)):
        raise ValueError(
            "X contains NaN or infinity: a categorical model needs a category "
            "code in every entry (impute the missing ones first).")
    return clone(est).set_params(n_categories=np.maximum(q, 0).astype(np.int64) + 1)


def _fit_protocol(est, X, client, opts, checkpoint):
    """Driver 1: a model with the training-state protocol, by model averaging."""
    dtype = _target_dtype(X)
    resolved = _resolve_categories(est, X)
    if resolved is est:
        est.init_training_state(X.shape[1], dtype)  # checks the parameters first
    else:
        est.init_training_state(X.shape[1], dtype,
                                n_categories=resolved.n_categories)
    blocks = _checked_blocks(X, client, clone(resolved), dtype)
    return _train_averaged(est, blocks, X.chunks[0], dtype, client, opts, checkpoint)


def _fit_stack(est, X, client, opts, checkpoint):
    """Driver 2: a greedy stack of RBMs, by the DBN's own layer loop.

    A layer's feature blocks depend on the layer (a task, :func:`_given`)
    and on the blocks below, so the scheduler recomputes lost ones from the
    graph down to X even after the client has let the lower blocks go.
    With a checkpoint, a finished layer is saved, and restored instead of
    trained again on resume.
    """
    est._validate_params()
    name = type(est).__name__
    rbms = _layer_configs(est, name)
    dtype = _target_dtype(X)
    rbms[0] = _resolve_categories(rbms[0], X)
    blocks = _checked_blocks(X, client, rbms[0], dtype)
    layers = iter(range(len(rbms)))

    def fit_layer(rbm, data):
        layer = next(layers)
        layer_blocks, n_features = data
        rbm.init_training_state(n_features, dtype)
        if checkpoint is not None and checkpoint.restore_layer(layer, rbm):
            return
        _train_averaged(rbm, layer_blocks, X.chunks[0], dtype, client, opts,
                        checkpoint, layer)
        if checkpoint is not None and layer + 1 < len(rbms):
            checkpoint.finish_layer(layer, rbm)

    def features(rbm, data):
        layer_blocks, _ = data
        rbm_f = client.submit(_given, rbm, pure=False)
        return ([client.submit(_features, rbm_f, block, pure=False)
                 for block in layer_blocks], rbm.n_components)

    est.rbms_ = greedy_layers(
        name, rbms, (blocks, X.shape[1]), n_features=X.shape[1],
        random_state=est.random_state, fit_layer=fit_layer, features=features,
        verbose=opts.verbose,
    )
    est.n_features_in_ = X.shape[1]
    return est


def _fit_hebbian(est, X, client, opts, checkpoint):
    """Driver 3: Hebbian pattern storage, one reduction of the blocks' Gram matrices."""
    est._validate_params()
    name = type(est).__name__
    if est.rule != "hebbian":
        raise NotImplementedError(
            f"fit_distributed supports {name}(rule='hebbian') only, got "
            f"rule={est.rule!r}: the Hebbian weights are a sum over patterns (one "
            "reduction over the blocks), whereas Storkey's rule is sequential over "
            "patterns and the pseudo-inverse needs all patterns at once. Fit those "
            "locally on the gathered patterns."
        )
    delayed = X.to_delayed().ravel().tolist()
    template = clone(est)
    parts = [client.submit(_hebbian_block, template, i, rows, X.dtype, f, pure=False)
             for i, (rows, f) in enumerate(zip(_block_rows(X),
                                               client.compute(delayed)))]
    _raise_first_error(parts)
    parts = client.gather(parts)
    encodings = {enc for _, _, enc, all_on, _ in parts if not all_on} or {
        parts[0][2]}
    if len(encodings) > 1:
        raise ValueError(
            f"{name}: the blocks of X use different encodings "
            f"({', '.join(sorted(encodings))}); encode every pattern the same "
            "way ({0, 1} or {-1, +1})."
        )
    n = X.shape[1]
    W = sum(g for g, *_ in parts) / n
    est.n_features_in_ = n
    est.encoding_ = encodings.pop()
    # The network's own installer, as its fit uses it: zero diagonal, tie
    # tolerance, capacity warning.
    est._set_weights(W, int(sum(k for _, k, *_ in parts)), parts[0][4])
    return est


# -- dispatch on capabilities ---------------------------------------------------------
def _has_methods(est, *names):
    return all(callable(getattr(est, name, None)) for name in names)


def _speaks_training_state(est):
    return _has_methods(est, "init_training_state", "get_training_state",
                        "set_training_state", "run_minibatches")


# What the DBN's layer builder reads: the stack's parameters.
_STACK_PARAMETERS = frozenset({"hidden_layer_sizes", "visible", "learn_sigma",
                               *PER_LAYER})


def _is_rbm_stack(est):
    return (not is_classifier(est) and _has_methods(est, "get_params", "transform")
            and _STACK_PARAMETERS <= set(est.get_params(deep=False)))


def _stores_patterns(est):
    return (_has_methods(est, "get_params", "partial_fit", "predict")
            and "rule" in est.get_params(deep=False))


class _Driver(NamedTuple):
    capability: str     # what the estimator offers, for the TypeError
    accepts: Callable   # estimator -> bool
    fit: Callable       # (estimator, X, client, options, checkpoint) -> estimator


_DRIVERS = (
    _Driver("the training-state protocol (init_training_state, get_training_state, "
            "set_training_state and run_minibatches: BernoulliRBM, "
            "GaussianBernoulliRBM), trained by model averaging",
            _speaks_training_state, _fit_protocol),
    _Driver("a greedy stack of RBMs without labels (the hidden_layer_sizes and "
            "layer parameters of DBN: DBN), trained layer by layer",
            _is_rbm_stack, _fit_stack),
    _Driver("pattern storage by a learning rule (a rule parameter and "
            "partial_fit: HopfieldNetwork with rule='hebbian'), one reduction",
            _stores_patterns, _fit_hebbian),
)


def _driver_for(estimator):
    """The first driver whose capability the estimator has, or a TypeError."""
    for driver in _DRIVERS:
        if driver.accepts(estimator):
            return driver
    *first, last = [d.capability for d in _DRIVERS]
    raise TypeError(
        f"fit_distributed supports estimators with {', '.join(first)} or {last}; "
        f"got {type(estimator).__name__}, which has none of these. Fit it with "
        "its own fit on the gathered data (X.compute())."
    )


def fit_distributed(estimator, X, *, client=None, n_rounds=None, aggregate="momentum",
                    n_jobs=None, verbose=False, checkpoint=None, checkpoint_every=10):
    """Fit an estimator on a Dask array, data-parallel by model averaging.

    The row blocks of ``X`` are computed and kept on the Dask workers.  For
    a model with the training-state protocol (the RBMs), each round
    broadcasts the current parameters; every block's task sets them on a
    copy of the estimator and runs its minibatches from there
    (``run_minibatches``: the compiled epoch kernel of ``fit``; PCD chains
    persist per block across rounds), and the client averages the returned
    parameters, weighted by rows.  The random streams of round ``r`` and
    block ``b`` come from ``SeedSequence(entropy, spawn_key=(r, b))`` with
    ``entropy`` drawn from the estimator's ``random_state``, so the result
    does not depend on scheduling: a seeded fit on the same blocks gives the
    same parameters every time.  A :class:`~boltz.DBN` is trained greedily
    by its own layer loop, each layer on the persisted hidden probabilities
    of the layer below (they never leave the workers).  A Hebbian
    :class:`~boltz.HopfieldNetwork` is one reduction of the blocks' pattern
    Gram matrices.  The module docstring says how an estimator is
    recognised.

    A lost worker costs time, not the result: everything the workers hold
    can be recomputed from the task graph (the blocks from X's graph, the
    rounds from the blocks and the parameters each round started from), so
    the fit goes on on the remaining workers and returns the parameters an
    undisturbed fit with the same seed returns, bit for bit.  With
    ``checkpoint``, the training state is saved every ``checkpoint_every``
    rounds and a fit started again with the same arguments continues from
    it.

    Parameters
    ----------
    estimator : BernoulliRBM, GaussianBernoulliRBM, DBN or HopfieldNetwork
        The estimator to fit, in place: any model with the training-state
        protocol, a greedy RBM stack, or a Hebbian Hopfield network.  Its
        parameters (``n_iter``, ``batch_size``, ``learning_rate``,
        ``random_state``, ...) mean what they mean for ``fit``; ``n_iter`` is
        the total number of passes over the data.

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
        Print one line per round, in boltz's one format (``[BernoulliRBM]
        Iteration 3, epochs done = 0.50, time = 0.12s``: the iteration is
        the round), a line before and after each DBN layer, and a line when
        the fit resumes from a checkpoint.

    checkpoint : str or os.PathLike, default=None
        A file (``.npz``) for the training state, so that a fit can be
        resumed after the client stops.  Every ``checkpoint_every`` rounds
        it is replaced by the current state: the averaged parameters, the
        block momentum, every block's chains and momentum buffers, the round
        reached and the random streams' seed (for a DBN, also the finished
        layers, saved when each is done).  It is written to a temporary file
        in the same directory and renamed over the old one, so a crash
        while writing leaves the previous checkpoint intact.  If the file
        exists when the fit starts, the fit continues from it, and its
        result equals that of an uninterrupted fit; the file must come from
        a fit with the same estimator class and parameters (``n_jobs`` and
        ``verbose`` aside), the same shape, blocks and dtype of X and the
        same ``n_rounds`` and ``aggregate``, or a ``ValueError`` says what
        differs (it cannot tell whether the data themselves changed).  The
        file is deleted when the fit succeeds; after a failure it stays, at
        the last round saved.  Ignored by the Hopfield network (one
        reduction, no rounds).

    checkpoint_every : int, default=10
        Rounds between two gathers of the blocks' whole training state by
        the client (and after the last round); each is written to
        ``checkpoint`` when one is given.  Between them, a block's state
        stays on its worker and each round depends on the one before, so
        after a lost worker its blocks are recomputed from the last gather:
        at most this many rounds of them are redone.  Smaller values bound
        that work and a resumed fit's loss; each gather moves the chains and
        momentum buffers of every block once more.  Does not change the
        result.

    Returns
    -------
    estimator : object
        The fitted estimator, an ordinary in-memory model afterwards
        (``transform``, ``score_samples``, ``predict``, pickling).

    Raises
    ------
    ValueError
        If X is not a 2-D dask array chunked by rows only, is empty or has
        an empty block, a block fails the estimator's input checks (NaN,
        infinity, range, width, a dtype that is not a number) or does not
        match X's declared dtype and shape (the message names the block),
        the checkpoint comes from another fit, or no client is available.
    DivergenceError
        If training produced non-finite parameters (on a block, or after
        averaging); the message names the round, the parameter and the fix.
        A subclass of ValueError.
    NotImplementedError
        For a HopfieldNetwork whose rule is not "hebbian".
    TypeError
        For an estimator with none of the supported capabilities; the
        message names them.

    Notes
    -----
    Like every failed call, a failed ``fit_distributed`` leaves the
    estimator as it was before the call.

    Faults: the scheduler recomputes what a lost worker held (the tasks
    retry on other workers; Dask allows each task three worker deaths by
    default, ``distributed.scheduler.allowed-failures``), and the random
    streams belong to (round, block), not to a worker, so the result does
    not change.  Losing every worker at once, or the client, ends the fit;
    ``checkpoint`` covers the client.  The workers must be able to read the
    data again: a block of an array that :func:`from_npy` reads is read
    again from the file.

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
    >>> from boltz.dask import from_npy                          # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2))               # doctest: +SKIP
    >>> dX = from_npy("X.npy", rows_per_block=10_000)            # doctest: +SKIP
    >>> rbm = fit_distributed(BernoulliRBM(64, random_state=0), dX,
    ...                       checkpoint="rbm.ckpt.npz")          # doctest: +SKIP
    >>> rbm.transform(X[:5]).shape                               # doctest: +SKIP
    (5, 64)
    """
    da, distributed = _import_dask()
    driver = _driver_for(estimator)
    _check_dask_array(X, da)
    _check_no_curve(estimator)
    if aggregate not in ("momentum", "mean", "sum"):
        raise ValueError(
            f"aggregate must be 'momentum', 'mean' or 'sum', got {aggregate!r}.")
    if (not isinstance(checkpoint_every, numbers.Integral)
            or isinstance(checkpoint_every, bool) or checkpoint_every < 1):
        raise ValueError(
            f"checkpoint_every must be a positive int (rounds), got "
            f"{checkpoint_every!r}.")
    client = _get_client(client, distributed)
    options = _Options(n_rounds, aggregate, n_jobs, verbose, int(checkpoint_every))
    saver = None
    if checkpoint is not None and driver.fit is not _fit_hebbian:
        saver = _Checkpoint(checkpoint, _fit_signature(estimator, X, options))
    with unchanged_on_error(estimator):
        driver.fit(estimator, X, client, options, saver)
    if saver is not None:
        saver.remove()
    return estimator


def _check_no_curve(est):
    """ValueError for the likelihood-curve options, which fit alone runs."""
    asked = [name for name, off in (("log_likelihood_every", None),
                                    ("validation_fraction", None),
                                    ("early_stopping", False))
             if getattr(est, name, off) not in (off,)]
    if asked:
        raise ValueError(
            f"{type(est).__name__}: fit_distributed does not evaluate the "
            f"log-likelihood during training ({', '.join(asked)} set). Reset "
            f"them (set_params({', '.join(f'{a}=...' for a in asked)}) to their "
            "defaults), and evaluate the fitted model with log_likelihood or "
            "boltz.evaluation on held-out data instead.")


def _npy_rows(path, start, stop):
    """Rows ``start:stop`` of a ``.npy`` file, read through a memory map."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def from_npy(path, rows_per_block):
    """A Dask array of a ``.npy`` file's rows, read on the workers.

    Each block is a task that opens the file as a memory map and copies its
    rows, so only the file's header is read here: the data are never loaded
    into the client, and the task graph holds the path, not the data (as
    ``dask.array.from_array`` of a memory map would: pickling one copies all
    of it).  A lost block is read again.  The workers must see the file at
    the same path (one machine, or a shared file system).  For files written
    piece by piece, :func:`numpy.lib.format.open_memmap` makes a ``.npy``
    file without holding it in memory.

    Parameters
    ----------
    path : str or os.PathLike
        A 2-D ``.npy`` file (C or Fortran order).
    rows_per_block : int
        Rows of each block (the last may have fewer).

    Returns
    -------
    X : dask.array.Array of shape (n_samples, n_features)
        Chunked by rows, one chunk along the columns, as
        :func:`fit_distributed` takes it.

    Raises
    ------
    ValueError
        If the file does not hold a 2-D array or ``rows_per_block`` is not
        a positive int.

    Examples
    --------
    Needs a ``.npy`` file and Dask, so the example is skipped in the test suite:

    >>> from boltz.dask import from_npy
    >>> X = from_npy("images.npy", rows_per_block=10_000)  # doctest: +SKIP
    """
    da, _ = _import_dask()
    import dask

    path = os.path.abspath(os.fspath(path))
    if (not isinstance(rows_per_block, numbers.Integral)
            or isinstance(rows_per_block, bool) or rows_per_block < 1):
        raise ValueError(
            f"rows_per_block must be a positive int, got {rows_per_block!r}.")
    mapped = np.load(path, mmap_mode="r")  # reads the header only
    shape, dtype = mapped.shape, mapped.dtype
    del mapped
    if len(shape) != 2:
        raise ValueError(
            f"from_npy needs a 2-D array (n_samples, n_features); {path!r} holds "
            f"one of shape {shape}.")
    read = dask.delayed(_npy_rows, pure=False)
    blocks = [da.from_delayed(read(path, start, min(start + rows_per_block, shape[0])),
                              shape=(min(rows_per_block, shape[0] - start), shape[1]),
                              dtype=dtype)
              for start in range(0, shape[0], int(rows_per_block))]
    if not blocks:
        return da.zeros(shape, dtype=dtype, chunks=(1, -1))  # empty: fit says so
    return da.concatenate(blocks, axis=0)
