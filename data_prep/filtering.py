"""Normalise, filter, deduplicate and separate the corpus's texts, streamed through Arrow files on disk.

1. :func:`write_raw`: every source's rows, in order, into ``raw.arrow`` as they are read.
2. :func:`normalize_rows`: ``datasets.Dataset.map`` in ``num_proc`` processes turns each row into one row per text:
   the normalised text, a 16-byte key (blake2b) of it, the length filter's verdict and the keys of the row's
   partners (the other side of a pair).
3. :func:`choose`: one pass in order decides which texts stay. Duplicates, held-out texts and the pairs between
   the sets are found by key, so memory holds 16-byte keys, never the texts.
4. :func:`write_sets`: the kept texts into ``documents.arrow`` and ``sentences.arrow``, with their word counts.

The decisions are those of the earlier in-memory builder, in the same order, so the same inputs give the same
corpus whatever ``num_proc`` is.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from data_prep.common import DOCUMENTS, SENTENCES, Source
from seq2seq2seq import corpus_files as files
from seq2seq2seq import language as lang
from seq2seq2seq import normalize as norm

RAW_SCHEMA = pa.schema([("source", pa.int32()), ("texts", pa.list_(pa.string())), ("partners", pa.list_(pa.string()))])
# the length filter's verdict, stored as its index
LENGTH_REASONS = ("", "empty_or_boilerplate", "too_short", "too_long")
READ_BATCH = 50_000  # rows of the normalised table read at a time


def text_key(text: str) -> bytes:
    """16 bytes standing for a normalised text when comparing texts (a collision is a 2^-64 chance at 4 billion)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


@dataclass
class SetStats:
    """What happened to one output set's texts: read, kept and removed (with the reason), per source name."""

    kind: str
    min_words: int
    max_words: int
    language: str = "en"
    read: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    # texts that are mostly Chinese/Japanese (en, whitespace) or hold any such character (zh, ja): see
    # seq2seq2seq.language.mismatch_warning
    cjk_texts: int = 0


# --- 1. reading ------------------------------------------------------------------------------------------------


def write_raw(sources: list[Source], path: Path, rows_per_batch: int = 10_000) -> int:
    """Write the rows of every source, in order, to the Arrow file ``path``; returns how many rows."""
    total = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, RAW_SCHEMA) as writer:
        batch: dict[str, list[Any]] = {name: [] for name in RAW_SCHEMA.names}

        def flush() -> None:
            if batch["source"]:
                writer.write_batch(pa.RecordBatch.from_pydict(batch, schema=RAW_SCHEMA))
                for values in batch.values():
                    values.clear()

        for index, source in enumerate(sources):
            rows = tqdm(source.rows, desc=f"reading {source.kind}: {source.name}", unit="row", leave=False,
                        disable=None)
            for row in rows:
                batch["source"].append(index)
                batch["texts"].append(list(row.texts))
                batch["partners"].append(list(row.partners))
                total += 1
                if len(batch["source"]) == rows_per_batch:
                    flush()
        flush()
    return total


# --- 2. normalising --------------------------------------------------------------------------------------------


def _normalized_features() -> Any:
    from datasets import Features, Sequence, Value

    return Features({"source": Value("int32"), "text": Value("string"), "key": Value("binary"),
                     "reason": Value("int8"), "partners": Sequence(Value("binary")), "cjk": Value("bool")})


def normalize_batch(batch: dict[str, list[Any]], limits: list[tuple[int, int]], language: str) -> dict[str, list]:
    """A batch of raw rows as one row per text (see the module's docstring); ``limits[source]`` is the (min, max)
    word count of the set that source feeds."""
    out: dict[str, list[Any]] = {"source": [], "text": [], "key": [], "reason": [], "partners": [], "cjk": []}
    for source, texts, partners in zip(batch["source"], batch["texts"], batch["partners"], strict=True):
        low, high = limits[source]
        partner_keys = [text_key(p) for p in (norm.normalize(t, language) for t in partners) if p]
        for raw in texts:
            text = norm.normalize(raw, language)
            words = len(text.split())
            reason = 1 if not text else 2 if words < low else 3 if words > high else 0
            out["source"].append(source)
            out["text"].append(text)
            out["key"].append(text_key(text))
            out["reason"].append(reason)
            out["partners"].append(partner_keys)
            out["cjk"].append(lang.counts_as_cjk(raw, language))
    return out


# A worker process pays for its start (a fork, a few hundred ms) only from this many rows on.
MIN_ROWS_PER_PROCESS = 20_000


def processes_for(rows: int, num_proc: int) -> int:
    """How many of ``num_proc`` processes to use on ``rows`` rows: fewer for small inputs (one below 40,000)."""
    return max(1, min(num_proc, rows // MIN_ROWS_PER_PROCESS))


# Ctrl-C goes to every process of the terminal's group: the workers of parallel_map leave it to data_prep, which
# stops them (datasets terminates its pool) and cleans up, so that Ctrl-C still prints one line, no tracebacks.
_forking_workers = False


def _worker_leaves_ctrl_c_to_parent() -> None:
    if _forking_workers:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_worker_leaves_ctrl_c_to_parent)


def _caused_by_ctrl_c(error: BaseException) -> bool:
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__context__
    return False


def parallel_map(dataset: Any, function: Any, num_proc: int, desc: str, **kwargs: Any) -> Any:
    """``dataset.map(function, batched=True, **kwargs)`` in up to ``num_proc`` processes (:func:`processes_for`)."""
    global _forking_workers
    processes = processes_for(len(dataset), num_proc)
    _forking_workers = True
    try:
        return dataset.map(function, batched=True, num_proc=processes if processes > 1 else None,
                           desc=f"{desc} ({processes} process{'es' if processes > 1 else ''})", **kwargs)
    except Exception as e:
        # datasets' pool clean-up can turn a Ctrl-C into another error (a TimeoutError while collecting results)
        if _caused_by_ctrl_c(e):
            raise KeyboardInterrupt from None
        raise
    finally:
        _forking_workers = False


def normalize_rows(raw_path: Path, rows: int, limits: list[tuple[int, int]], language: str, num_proc: int,
                   work: Path) -> Any:
    """The rows of ``raw_path`` normalised (one row per text) in up to ``num_proc`` processes, as a memory-mapped
    ``datasets.Dataset`` whose files lie in ``work``."""
    from datasets import Dataset

    features = _normalized_features()
    if rows == 0:
        return Dataset.from_dict({name: [] for name in features}, features=features)
    raw = Dataset.from_file(str(raw_path))
    return parallel_map(
        raw, normalize_batch, num_proc, "normalising", batch_size=1000,
        fn_kwargs={"limits": limits, "language": language}, remove_columns=raw.column_names, features=features,
        cache_file_name=str(work / "normalized.arrow"), load_from_cache_file=False, new_fingerprint="normalized",
    )


# --- 3. choosing -----------------------------------------------------------------------------------------------


def _columns(normalized: Any, names: list[str]) -> Iterator[tuple[int, list[list[Any]]]]:
    """(first row, [column values]) of the normalised table, READ_BATCH rows at a time."""
    start = 0
    for table in normalized.select_columns(names).with_format("arrow").iter(batch_size=READ_BATCH):
        yield start, [table.column(name).to_pylist() for name in names]
        start += table.num_rows


def choose(normalized: Any, sources: list[Source], sets: dict[str, SetStats], held_out: set[bytes]) -> np.ndarray:
    """Which rows (texts) of ``normalized`` stay, as a boolean array; counts what was read and removed in ``sets``.

    Per set, in order: the length filter, then ``evaluation_overlap`` (a held-out text), then ``duplicate`` (an
    earlier text of the same set); the first of each text stays. Then the sentences that are documents, or pairs of
    documents, go (:func:`_separate`).
    """
    keep = np.zeros(len(normalized), dtype=bool)
    seen: dict[str, set[bytes]] = {DOCUMENTS: set(), SENTENCES: set()}
    doc_titles: set[bytes] = set()  # the titles of kept documents' rows (and of their repeats)
    sentence_partners: dict[bytes, list[bytes]] = {}  # a sentence -> the articles of its rows
    names = ["source", "key", "reason", "partners", "cjk"]
    for start, columns in tqdm(_columns(normalized, names), desc="choosing", unit="batch", leave=False, disable=None):
        for row, (index, key, reason, partners, cjk) in enumerate(zip(*columns), start=start):
            source = sources[index]
            stats = sets[source.kind]
            stats.read[source.name] += 1
            stats.cjk_texts += cjk
            if reason:
                stats.removed[LENGTH_REASONS[reason]] += 1
                continue
            if key in held_out:
                stats.removed["evaluation_overlap"] += 1
                continue
            # a repeated article brings its own titles: all of them are "its summary" (and the other way round)
            if partners and source.kind == DOCUMENTS:
                doc_titles.update(partners)
            elif partners:
                sentence_partners.setdefault(key, []).extend(partners)
            if key in seen[source.kind]:
                stats.removed["duplicate"] += 1
            else:
                seen[source.kind].add(key)
                keep[row] = True
    _separate(normalized, sources, keep, seen[DOCUMENTS], doc_titles, sentence_partners, sets[SENTENCES])
    return keep


def _separate(normalized: Any, sources: list[Source], keep: np.ndarray, documents: set[bytes],
              doc_titles: set[bytes], sentence_partners: dict[bytes, list[bytes]], sentences: SetStats) -> None:
    """Keep the sets disjoint: drop a sentence that is a document, or whose pair is on the documents side.

    Gigaword repeats stories, so an odd row's title can belong to an article that also sits in an even row;
    that title, or a title equal to a training document's own title, would pair the document with its summary.
    """
    is_sentence = [source.kind == SENTENCES for source in sources]
    for start, (indices, keys) in _columns(normalized, ["source", "key"]):
        for row, (index, key) in enumerate(zip(indices, keys), start=start):
            if not (keep[row] and is_sentence[index]):
                continue
            if key in documents:
                reason = "also_a_document"
            elif key in doc_titles or any(p in documents for p in sentence_partners.get(key, ())):
                reason = "pair_of_a_document"
            else:
                continue
            keep[row] = False
            sentences.removed[reason] += 1


# --- 4. writing ------------------------------------------------------------------------------------------------


def write_sets(normalized: Any, sources: list[Source], keep: np.ndarray, sets: dict[str, SetStats],
               out_dir: Path) -> dict[str, Counter[str]]:
    """Write the kept texts of each set, in order, to ``out_dir/{documents,sentences}.arrow`` (columns ``text`` and
    ``source``, the source's name); counts them per source in ``sets``; returns each set's word counts."""
    names = pa.array([source.name for source in sources])
    document_sources = pa.array([i for i, s in enumerate(sources) if s.kind == DOCUMENTS], pa.int32())
    counts = {kind: Counter() for kind in (DOCUMENTS, SENTENCES)}
    sinks = {kind: pa.OSFile(str(files.table_file(out_dir, kind)), "wb") for kind in counts}
    writers = {kind: pa.ipc.new_stream(sinks[kind], files.TEXTS_SCHEMA) for kind in counts}
    try:
        for start, (indices, texts) in tqdm(_arrow_columns(normalized, ["source", "text"]), desc="writing",
                                            unit="batch", leave=False, disable=None):
            kept = pa.array(keep[start:start + len(indices)])
            indices, texts = indices.filter(kept), texts.filter(kept)
            is_document = pc.is_in(indices, value_set=document_sources)
            for kind, mask in ((DOCUMENTS, is_document), (SENTENCES, pc.invert(is_document))):
                part = pa.table({"text": texts.filter(mask), "source": pc.take(names, indices.filter(mask))},
                                schema=files.TEXTS_SCHEMA)
                if part.num_rows:
                    # one record batch per READ_BATCH rows whatever the shards were: the same bytes for any num_proc
                    writers[kind].write_table(part.combine_chunks())
                    sets[kind].kept.update(part.column("source").to_pylist())
                    for text in part.column("text").to_pylist():
                        counts[kind].update(text.split())
    finally:
        for kind in counts:
            writers[kind].close()
            sinks[kind].close()
    return counts


def _arrow_columns(normalized: Any, names: list[str]) -> Iterator[tuple[int, list[pa.ChunkedArray]]]:
    """(first row, [columns as Arrow arrays]) of the normalised table, READ_BATCH rows at a time."""
    start = 0
    for table in normalized.select_columns(names).with_format("arrow").iter(batch_size=READ_BATCH):
        yield start, [table.column(name) for name in names]
        start += table.num_rows
