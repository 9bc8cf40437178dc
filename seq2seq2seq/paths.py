"""Where the project looks for data and writes runs by default."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "SEQ2SEQ2SEQ_DATA"


def shared_data_dir() -> Path:
    """The shared data folder: ``$SEQ2SEQ2SEQ_DATA`` if set, else ``../shared/data`` beside the project."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return PROJECT_ROOT.parent / "shared" / "data"


DEFAULT_CORPUS_DIR = PROJECT_ROOT / "runs" / "corpus"
