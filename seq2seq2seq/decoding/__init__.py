"""Summaries from G: constrained sampling and greedy/beam decoding, word pieces, re-tokenizing for R and D, soft one-hot rows."""
