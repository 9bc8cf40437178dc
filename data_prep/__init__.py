"""data_prep: build the training corpus (documents, human sentences, dev slice, tokenizer) from raw sources.

Command line: ``python -m data_prep --help``. From Python::

    from data_prep import build_default_corpus
    corpus_dir = build_default_corpus()   # runs/corpus, built from the shared data on first use
"""

from data_prep.corpus import Recipe, build_corpus, build_default_corpus, is_corpus_dir
from data_prep.sources import DataPrepError
from data_prep.tokenizer import train_tokenizer

__all__ = ["DataPrepError", "Recipe", "build_corpus", "build_default_corpus", "is_corpus_dir", "train_tokenizer"]
