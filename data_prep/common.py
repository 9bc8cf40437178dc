"""What the parts of data_prep share: the two sets a row can go to, a source of rows, and data_prep's error."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DOCUMENTS, SENTENCES = "documents", "sentences"


class DataPrepError(Exception):
    """A problem with the input or the output folder; the message names the file and the fix. (The readers of
    seq2seq2seq.input_files raise InputFileError; data_prep.corpus.build_corpus reports those as DataPrepError.)"""


@dataclass
class Row:
    """One input row: the texts it gives to its set, and the texts of its pair on the other side (if any)."""

    texts: tuple[str, ...]
    partners: tuple[str, ...] = ()


@dataclass
class Source:
    """A named stream of rows bound for ``documents`` or ``sentences`` (read once, in order)."""

    name: str
    kind: str
    rows: Iterable[Row]
