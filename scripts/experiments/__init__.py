"""Experiments that decided something once: each says what it decided and where its numbers are in docs/."""
