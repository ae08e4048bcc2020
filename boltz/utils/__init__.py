"""Pieces every estimator shares: input validation, threads, minibatches."""
