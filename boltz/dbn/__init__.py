"""Deep belief networks: greedy stacks of RBMs, and their fine-tuned classifier."""

from ._dbn import DBN, DBNClassifier

__all__ = ["DBN", "DBNClassifier"]
