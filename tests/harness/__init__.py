"""Deterministic simulator for baaskit.consensus: fake keys, a model application, a lossy
network, byzantine replicas, and a hypothesis-driven schedule runner with invariant checks."""
