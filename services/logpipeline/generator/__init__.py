"""Synthetic traffic: a deterministic model of realistic API logs and its exact ground truth (pure, no I/O)."""
