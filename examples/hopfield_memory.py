"""Associative memory: store binarized digits, corrupt them, recall them
=====================================================================

Ten handwritten digits (one per class, scikit-learn's 8x8 digits upsampled
to 16x16 = 256 units and binarized) are stored in Hopfield networks with
the Hebbian, Storkey and pseudo-inverse rules and in a dense (degree-6)
network.  Each network recalls them from two corruptions: 15% of the pixels
flipped, and the lower third of the image hidden (set to "off").  The
digits are correlated patterns, much harder than random ones: the Hebbian
rule mixes them into spurious states, Storkey's rule helps, the projection
(pseudo-inverse) rule decorrelates them exactly, and the dense network needs
a high enough degree (6 here; degree 3 still mixes the most similar digits)
to separate them.

The script prints a table of mean overlaps (1 = perfect recall), the verbose
recall lines of one network (units changed per sweep) and, when
matplotlib is installed, saves ``hopfield_recall.png`` (original /
corrupted / recalled for each network) and ``hopfield_capacity.png``
(recall against load for random patterns, from ``boltz.hopfield.recall_curve``).

Run:  python examples/hopfield_memory.py          (``--quick``: a shorter
capacity curve, fewer probes)
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits

from boltz import DenseHopfieldNetwork, HopfieldNetwork
from boltz.hopfield import CapacityWarning, flip_bits, overlap, recall_curve

SEED = 0
QUICK = "--quick" in sys.argv[1:]


def digit_patterns():
    """One binarized 16x16 image per digit class, in {0, 1}."""
    X, y = load_digits(return_X_y=True)
    first = [np.flatnonzero(y == d)[0] for d in range(10)]
    imgs = X[first].reshape(-1, 8, 8)
    imgs = imgs.repeat(2, axis=1).repeat(2, axis=2)  # 16x16
    return (imgs.reshape(10, -1) > 7).astype(np.float64)


def occlude(patterns, side=16, rows=5):
    out = patterns.copy().reshape(-1, side, side)
    out[:, side - rows:, :] = 0.0
    return out.reshape(len(patterns), -1)


def main():
    warnings.simplefilter("ignore", CapacityWarning)
    patterns = digit_patterns()
    corruptions = {
        "15% flipped": flip_bits(patterns, 0.15, SEED),
        "occluded": occlude(patterns),
    }
    networks = {
        "Hebbian": HopfieldNetwork("hebbian", random_state=SEED),
        "Storkey": HopfieldNetwork("storkey", random_state=SEED),
        "pseudo-inverse": HopfieldNetwork("pseudoinverse", random_state=SEED),
        "dense (degree 6)": DenseHopfieldNetwork(degree=6, random_state=SEED),
    }
    recalled = {}
    print(f"{len(patterns)} digits, {patterns.shape[1]} units\n")
    print(f"{'network':<18}{'stored':>8}" + "".join(f"{c:>14}" for c in corruptions)
          + f"{'time':>9}")
    for name, net in networks.items():
        start = time.perf_counter()
        net.fit(patterns)
        row = [overlap(net.predict(patterns), patterns).mean()]
        for key, probes in corruptions.items():
            out = net.predict(probes)
            recalled[name, key] = out
            row.append(overlap(out, patterns).mean())
        elapsed = time.perf_counter() - start
        print(f"{name:<18}" + f"{row[0]:>8.3f}" + "".join(f"{v:>14.3f}" for v in row[1:])
              + f"{elapsed:>8.2f}s")
    print("\n(mean overlap with the original digit; 1.000 = every pixel right)")

    print("\nStorkey recall from the 15% flipped digits, sweep by sweep (verbose=1):")
    networks["Storkey"].set_params(verbose=1).predict(corruptions["15% flipped"])

    loads = np.linspace(0.025, 0.5, 8 if QUICK else 12)
    curve_nets = {
        "Hebbian": HopfieldNetwork("hebbian", random_state=SEED),
        "Storkey": HopfieldNetwork("storkey", random_state=SEED),
        "pseudo-inverse": HopfieldNetwork("pseudoinverse", random_state=SEED),
    }
    curves = {
        name: recall_curve(net, 200, loads, noise=[0.1], n_probes=20 if QUICK else 50,
                           random_state=SEED)
        for name, net in curve_nets.items()
    }
    print("\nRandom patterns, N = 200, probes with 10% flipped bits")
    print(f"{'load P/N':<10}" + "".join(f"{n:>16}" for n in curves))
    for i, a in enumerate(loads):
        print(f"{a:<10.3f}" + "".join(f"{c.overlap[i, 0]:>16.3f}" for c in curves.values()))

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nmatplotlib is not installed: no figures saved.")
        return

    cols = len(patterns)
    rows = []
    for key, probes in corruptions.items():
        rows.append(("original", patterns))
        rows.append((key, probes))
        rows += [(f"{n}", recalled[n, key]) for n in networks]
    fig, axes = plt.subplots(len(rows), cols, figsize=(cols * 0.8, len(rows) * 0.85))
    for r, (label, imgs) in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(imgs[c].reshape(16, 16), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig("hopfield_recall.png", dpi=100)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, c in curves.items():
        ax.plot(c.loads, c.overlap[:, 0], marker="o", label=name)
    ax.axvline(0.138, color="gray", ls="--", lw=1, label="0.138 (AGS)")
    ax.set_xlabel("load P / N")
    ax.set_ylabel("mean overlap after recall")
    ax.set_title("Recall from 10% noise, N = 200 random patterns")
    ax.legend()
    fig.tight_layout()
    fig.savefig("hopfield_capacity.png", dpi=100)
    print("\nsaved hopfield_recall.png and hopfield_capacity.png")


if __name__ == "__main__":
    main()
