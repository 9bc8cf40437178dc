"""ROUGE and the baselines."""
