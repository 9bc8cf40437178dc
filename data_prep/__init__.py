"""data_prep: build the training corpus (documents, human sentences, dev slice, tokenizer) from raw sources.

Command line: ``python -m data_prep --help``. From Python::

    from data_prep import build_default_corpus
    corpus_dir = build_default_corpus()   # runs/corpus, built from the shared data on first use
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use (PEP 562): ``python -m data_prep`` runs this file before data_prep/__main__.py, which must
# be able to catch a Ctrl-C before torch and pyarrow load; and data_prep.common stays light to import.
_EXPORTS = {
    "DataPrepError": "data_prep.common",
    "Recipe": "data_prep.corpus",
    "build_corpus": "data_prep.corpus",
    "build_default_corpus": "data_prep.corpus",
    "is_corpus_dir": "data_prep.corpus",
    "train_tokenizer": "data_prep.tokenizer",
}

__all__ = ["DataPrepError", "Recipe", "build_corpus", "build_default_corpus", "is_corpus_dir", "train_tokenizer"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'data_prep' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
