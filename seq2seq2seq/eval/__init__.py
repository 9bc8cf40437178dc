"""Evaluation: ROUGE (and its command line), the baselines, the readability judge, the training curves."""
