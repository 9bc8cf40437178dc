"""G, R and D: built from scratch (build), warm-started from pretrained checkpoints (warm_start), the pointer head."""
