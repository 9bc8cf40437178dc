"""seq2seq2seq: unsupervised summarization with a summarizer -> reconstructor cycle and a discriminator."""

__version__ = "0.1.0"
