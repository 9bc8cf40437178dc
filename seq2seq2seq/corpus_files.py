"""The corpus folder's tables: Arrow files that data_prep writes and training memory-maps.

``documents.arrow`` and ``sentences.arrow`` hold one text a row (columns ``text`` and ``source``);
``word_counts.arrow`` holds every word of those texts with its count in each (columns ``word``, ``documents``,
``sentences``). They are Arrow IPC streams, the format ``datasets`` stores its datasets in, so
``datasets.Dataset.from_file(path)`` opens them as well as ``pyarrow`` does.

Opened here they are memory-mapped, not read: a training process touches only the rows it batches, and N processes
on one machine share one copy of the file in the page cache, so a process's memory does not grow with the corpus.
Corpora written before this format (``documents.jsonl`` and ``sentences.jsonl``) are read into lists instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute.sum

KINDS = ("documents", "sentences")
WORD_COUNTS_FILE = "word_counts.arrow"
TEXTS_SCHEMA = pa.schema([("text", pa.string()), ("source", pa.string())])
WORD_COUNTS_SCHEMA = pa.schema([("word", pa.string()), ("documents", pa.int64()), ("sentences", pa.int64())])
ROWS_PER_BATCH = 50_000  # rows per record batch in the files: few batches, none near Arrow's 2 GB string limit


def table_file(data_dir: Path, kind: str) -> Path:
    """``documents.arrow`` or ``sentences.arrow`` of a corpus folder."""
    return Path(data_dir) / f"{kind}.arrow"


def jsonl_file(data_dir: Path, kind: str) -> Path:
    """``documents.jsonl`` or ``sentences.jsonl`` of a corpus written before the Arrow format."""
    return Path(data_dir) / f"{kind}.jsonl"


def open_table(path: Path) -> pa.Table:
    """The Arrow IPC stream at ``path`` as a table over a memory map: no row is read until it is used."""
    return pa.ipc.open_stream(pa.memory_map(str(path))).read_all()


def write_table(path: Path, table: pa.Table) -> None:
    """Write ``table`` as an Arrow IPC stream (batches of at most ROWS_PER_BATCH rows)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=ROWS_PER_BATCH)


class TextColumn(Sequence[str]):
    """The ``text`` column of ``documents.arrow`` or ``sentences.arrow``, memory-mapped: a read-only sequence of
    str with ``len``, ``[i]`` and slices (``[a:b]`` gives a list), plus, after ``column + more_texts``, texts held in
    memory behind the file's (the semi-supervised mode's summaries)."""

    def __init__(self, column: pa.ChunkedArray, extra: tuple[str, ...] = ()) -> None:
        self._column, self._extra = column, extra
        self._stored = len(column)

    @classmethod
    def open(cls, path: Path) -> TextColumn:
        """The texts of the Arrow file at ``path``."""
        return cls(open_table(path).column("text"))

    def head(self, n: int) -> TextColumn:
        """The first ``n`` texts, as a view of the same memory map."""
        return TextColumn(self._column.slice(0, n), self._extra[:max(0, n - self._stored)])

    def __len__(self) -> int:
        return self._stored + len(self._extra)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            stored = self._column.slice(start, max(0, min(stop, self._stored) - start)).to_pylist() \
                if start < self._stored else []
            return stored + list(self._extra[max(0, start - self._stored):max(0, stop - self._stored)])
        i = index + len(self) if index < 0 else index
        if not 0 <= i < len(self):
            raise IndexError(f"text {index} of {len(self)}")
        return self._column[i].as_py() if i < self._stored else self._extra[i - self._stored]

    def __iter__(self) -> Iterator[str]:
        for chunk in self._column.chunks:
            yield from chunk.to_pylist()
        yield from self._extra

    def __add__(self, other: Sequence[str]) -> TextColumn:
        return TextColumn(self._column, self._extra + tuple(other))


def iter_texts(data_dir: Path, kind: str) -> Iterator[str]:
    """Every text of ``kind`` ("documents" or "sentences") of a corpus folder, Arrow or older JSONL, in order."""
    path = table_file(data_dir, kind)
    if path.is_file() or not jsonl_file(data_dir, kind).is_file():  # neither: the error names the current format's
        yield from TextColumn.open(path)
        return
    with jsonl_file(data_dir, kind).open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)["text"]


def count_words(texts: Iterator[str] | Sequence[str]) -> Counter[str]:
    """How often each word (space-separated token) occurs in ``texts``."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text.split())
    return counts


def write_word_counts(path: Path, documents: Counter[str], sentences: Counter[str]) -> int:
    """Store both sets' word counts (sorted by word) in ``path``; returns the number of distinct words."""
    words = sorted(documents.keys() | sentences.keys())
    write_table(path, pa.table({"word": words, "documents": [documents[w] for w in words],
                                "sentences": [sentences[w] for w in words]}, schema=WORD_COUNTS_SCHEMA))
    return len(words)


class StoredCounts:
    """One count column of ``word_counts.arrow``, memory-mapped: ``counts[word]`` by binary search over the sorted
    words (each word looked up once, then cached), so a process's memory grows with the words it meets, not with
    the corpus's vocabulary. ``+ Counter`` adds counts held in memory (the semi-supervised mode's summaries)."""

    def __init__(self, words: pa.ChunkedArray, counts: pa.ChunkedArray, extra: Counter[str] | None = None) -> None:
        self._words, self._counts, self._extra = words, counts, extra or Counter()
        self._cache: dict[str, int] = {}
        self._total = (pa.compute.sum(counts).as_py() or 0) + self._extra.total()

    def __getitem__(self, word: str) -> int:
        found = self._cache.get(word)
        if found is None:
            lo, hi = 0, len(self._words)
            while lo < hi:  # the words were written sorted (write_word_counts)
                mid = (lo + hi) // 2
                if self._words[mid].as_py() < word:
                    lo = mid + 1
                else:
                    hi = mid
            stored = self._counts[lo].as_py() if lo < len(self._words) and self._words[lo].as_py() == word else 0
            found = self._cache[word] = stored + self._extra.get(word, 0)
        return found

    def total(self) -> int:
        return self._total

    def __add__(self, other: Counter[str]) -> StoredCounts:
        return StoredCounts(self._words, self._counts, self._extra + other)

    def to_counter(self) -> Counter[str]:
        """Every word with a count, in memory (for tests and small corpora)."""
        counts = Counter({w: c for w, c in zip(self._words.to_pylist(), self._counts.to_pylist()) if c})
        return counts + self._extra

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredCounts):
            other = other.to_counter()
        return isinstance(other, Counter) and self.to_counter() == other

    __hash__ = None  # type: ignore[assignment]

    def values(self):
        return self.to_counter().values()

    def keys(self):
        return self.to_counter().keys()


def read_word_counts(path: Path) -> tuple[StoredCounts, StoredCounts]:
    """(sentence counts, document counts) as stored by :func:`write_word_counts`, memory-mapped."""
    table = open_table(path)
    words = table.column("word")
    return StoredCounts(words, table.column("sentences")), StoredCounts(words, table.column("documents"))
