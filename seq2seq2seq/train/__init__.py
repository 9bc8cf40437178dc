"""Training: the Accelerate loop over the three stages (pretrain, pretrain_d, adversarial). `python -m seq2seq2seq.train`."""
