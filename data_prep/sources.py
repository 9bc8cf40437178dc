"""Where corpus text comes from: the user's files (read with seq2seq2seq.input_files) and the two built-in recipes.

A :class:`~data_prep.common.Source` is a named stream of rows bound for one set (``documents`` or ``sentences``).
Each row carries its texts and, for paired data (a Gigaword article and its title), the texts of the other side of
the same row, so that the corpus builder can keep a title out of training when its article is a training document.

Rows are read lazily, file by file (Parquet a record batch at a time), so an input never has to fit in memory;
a reader checks that its file exists (and a Parquet file's columns) when it is made, and reports a bad row (invalid
UTF-8 or JSON, a missing field) with its line number when the stream reaches it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_prep.common import DOCUMENTS, SENTENCES, DataPrepError, Row, Source
from seq2seq2seq.input_files import (
    TABLE_SUFFIXES,
    InputFileError,
    check_exists,
    file_info,
    iter_numbered_records,
    numbered_records,
)
from seq2seq2seq.normalize import normalize, split_sentences

# (article, titles) rows of a paired file, read afresh at each call: the even rows and the odd rows of one file go
# to different sets, read in two passes
PairRows = Callable[[], Iterator[tuple[str, tuple[str, ...]]]]


@dataclass
class EvalSet:
    """Text that must never enter training (test set, dev slice, user files), and the dev rows to write."""

    texts: list[str] = field(default_factory=list)
    dev_rows: list[dict[str, str]] | None = None
    dev_source: str | None = None  # where the dev rows come from, for the manifest


def _as_texts(value: Any, where: str, name: str) -> tuple[str, ...]:
    """A field's value as texts: a string, a list of strings (CNN/DailyMail highlights), or nothing."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputFileError(f"{where}: field '{name}' is {type(value).__name__}, expected text or a list of texts")


def iter_field(path: Path, name: str) -> Iterator[tuple[str, ...]]:
    """The texts of one field of a JSONL or Parquet file, row by row, read as they are used."""
    return (_as_texts(r[name], f"{path}", name) for _, r in iter_numbered_records(path, [name]))


def read_field(path: Path, name: str) -> list[tuple[str, ...]]:
    """:func:`iter_field` as a list."""
    return list(iter_field(path, name))


def parse_path_field(spec: str, flag: str) -> tuple[Path, str | None]:
    """``PATH:FIELD`` -> (PATH, FIELD); a spec without ``:FIELD`` (or a Windows drive colon) gives (PATH, None)."""
    if Path(spec).exists():  # a file whose name holds a colon
        return Path(spec), None
    path, sep, name = spec.rpartition(":")
    if not sep or not path or "/" in name or "\\" in name:
        return Path(spec), None
    if not name:
        raise DataPrepError(f"{flag} {spec}: empty field name; write PATH:FIELD, e.g. news.jsonl:text")
    return Path(path), name


def read_dev_pairs(path: Path, document_field: str, summary_field: str) -> list[dict[str, str]]:
    """The user's (document, summary) pairs for ``dev.jsonl``, verbatim, as ``{"document", "summary"}`` rows."""
    return [pair for _, pair in numbered_dev_pairs(path, document_field, summary_field)]


def numbered_dev_pairs(path: Path, document_field: str, summary_field: str) -> list[tuple[str, dict[str, str]]]:
    """:func:`read_dev_pairs` with where each pair is ("PATH, line N" or "PATH, row N") for error messages."""
    check_exists(path, "--dev-file: JSONL or Parquet of (document, summary) pairs")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataPrepError(
            f"--dev-file {path}: not a JSONL or Parquet file (by its extension); write the pairs as JSONL, one "
            '{"document": ..., "summary": ...} object a line, in a file named *.jsonl (or *.parquet)'
        )
    fields = [document_field, summary_field]
    fix = "pass --dev-fields DOCUMENT,SUMMARY with the file's field names"
    pairs = []
    for where, record in numbered_records(path, fields, fix):
        for name in fields:
            value = record[name]
            if not isinstance(value, str) or not value.strip():
                got = "empty text" if isinstance(value, str) else type(value).__name__
                raise DataPrepError(
                    f"{where}: field '{name}' is {got}; each dev pair needs a non-empty document and summary "
                    "(one reference summary as text); fix or remove the row"
                )
        pairs.append((where, {"document": record[document_field], "summary": record[summary_field]}))
    if not pairs:
        raise DataPrepError(
            f"--dev-file {path}: no (document, summary) pairs in it; give a file with pairs or drop --dev-file"
        )
    return pairs


# --- built-in recipes ------------------------------------------------------------------------------------------


def _rows_of_parity(pairs: PairRows, first_index: int, parity: int) -> Iterator[Row]:
    """Even rows (parity 0) as documents with their titles as partners, odd rows as titles with their article."""
    for i, (article, titles) in enumerate(pairs(), start=first_index):
        if i % 2 == parity:
            yield Row((article,), titles) if parity == 0 else Row(titles, (article,))


def _split_pairs(pairs: PairRows, first_index: int, doc_name: str, sent_name: str) -> tuple[Source, Source]:
    """Even rows give their article to documents, odd rows their titles to sentences: no row feeds both sets.

    ``pairs`` reads (article, titles) rows; ``first_index`` is the row number of its first row in its file, so the
    parity is the file's own and does not shift with the dev-slice size. Each side reads the rows in its own pass.
    """
    return (Source(doc_name, DOCUMENTS, _rows_of_parity(pairs, first_index, 0)),
            Source(sent_name, SENTENCES, _rows_of_parity(pairs, first_index, 1)))


def _recipe(
    test: list[dict[str, str]],
    dev: list[dict[str, str]],
    gigaword: dict[str, tuple[PairRows, int]],
    cnndm: dict[str, PairRows],
    with_highlights: bool,
) -> tuple[list[Source], EvalSet]:
    """The default recipe (same for the shared files and the hub).

    ``test`` and ``dev`` (the dev slice) are Gigaword's held-out rows; ``gigaword`` maps train10k and valid to their
    training rows and the file index of the first one (valid's start after the dev slice); ``cnndm`` maps each split
    to its (lead, highlights) rows. documents = CNN/DailyMail leads + articles of even Gigaword rows; sentences =
    titles of odd Gigaword rows (+ CNN/DailyMail highlights of odd rows, whose leads then stay out, when
    ``with_highlights``).
    """
    dev = [{"document": r["document"], "summary": r["summary"]} for r in dev]
    evalset = EvalSet([t for r in test + dev for t in (r["document"], r["summary"])], dev)
    documents: list[Source] = []
    sentences: list[Source] = []
    for split, rows in cnndm.items():
        name = f"cnndm/{split}"
        if with_highlights:
            docs, sents = _split_pairs(rows, 0, f"{name}:lead:even", f"{name}:highlights:odd")
            documents.append(docs)
            sentences.append(sents)
        else:
            # No sentence comes from CNN/DailyMail here, so the highlights need not ride along as partners.
            documents.append(Source(f"{name}:lead", DOCUMENTS, (Row((lead,)) for lead, _ in rows())))
    for split, (rows, start) in gigaword.items():
        name = f"gigaword/{split}"
        docs, sents = _split_pairs(rows, start, f"{name}:document:even", f"{name}:summary:odd")
        documents.append(docs)
        sentences.append(sents)
    return documents + sentences, evalset


def _gigaword_records(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a Gigaword JSONL file, each checked to hold a text ``document`` and ``summary``."""
    for where, r in iter_numbered_records(path, ["document", "summary"]):
        if not (isinstance(r["document"], str) and isinstance(r["summary"], str)):
            raise DataPrepError(f"{where}: 'document' and 'summary' must be text")
        yield r


def _gigaword_pairs(path: Path, start: int, stop: int | None) -> PairRows:
    def rows() -> Iterator[tuple[str, tuple[str, ...]]]:
        for r in itertools.islice(_gigaword_records(path), start, stop):
            yield r["document"], (r["summary"],)

    return rows


def _cnndm_pairs(path: Path) -> PairRows:
    def rows() -> Iterator[tuple[str, tuple[str, ...]]]:
        for _, r in iter_numbered_records(path, ["lead", "highlights"]):
            yield r["lead"] or "", _as_texts(r["highlights"], str(path), "highlights")

    return rows


def shared_recipe(
    data_dir: Path, dev_size: int, with_highlights: bool, train_rows: int | None = None
) -> tuple[list[Source], EvalSet, list[dict[str, Any]]]:
    """The default recipe from the shared data folder; also returns the input files' info for the manifest.

    ``train_rows`` keeps only the first N rows of train10k.jsonl (None = all; 0 = none, e.g. to keep its pairs for
    the semi-supervised mode out of the unpaired corpus). The held-out rows are read now; the training rows as the
    corpus builder reads its sources."""
    if not data_dir.is_dir():
        raise DataPrepError(
            f"{data_dir}: shared data folder not found; pass --shared-data DIR, set SEQ2SEQ2SEQ_DATA, "
            "or use --source none with your own files"
        )
    files = {
        "test": data_dir / "gigaword" / "test.jsonl",
        "valid": data_dir / "gigaword" / "valid.jsonl",
        "train10k": data_dir / "gigaword" / "train10k.jsonl",
        "cnndm/train": data_dir / "cnndm" / "train.parquet",
        "cnndm/validation": data_dir / "cnndm" / "validation.parquet",
    }
    for path in files.values():
        check_exists(path, "part of the shared data; pass --shared-data DIR with the whole folder")
    test = list(_gigaword_records(files["test"]))
    dev = list(itertools.islice(_gigaword_records(files["valid"]), dev_size))
    gigaword = {
        "train10k": (_gigaword_pairs(files["train10k"], 0, train_rows), 0),
        "valid": (_gigaword_pairs(files["valid"], dev_size, None), dev_size),
    }
    cnndm = {split: _cnndm_pairs(files[f"cnndm/{split}"]) for split in ("train", "validation")}
    sources, evalset = _recipe(test, dev, gigaword, cnndm, with_highlights)
    evalset.dev_source = f"{files['valid'].resolve()}[:{dev_size}]"
    return sources, evalset, [{"name": k, **file_info(p)} for k, p in files.items()]


def first_sentence(article: str) -> str:
    """The lead of a raw CNN/DailyMail article: its first sentence after bylines and datelines are stripped."""
    # 1,500 characters hold the byline, the time stamps and the first sentence of nearly every article,
    # and keep tokenizing 300k articles affordable.
    sentences = split_sentences(normalize(article[:1500]))
    return sentences[0] if sentences else ""


def _hub_leads(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A batch of hub CNN/DailyMail rows as (lead, highlights): the first sentence and the non-empty highlight lines."""
    return {
        "lead": [first_sentence(a) for a in batch["article"]],
        "highlights": [[h for h in hl.split("\n") if h.strip()] for hl in batch["highlights"]],
    }


def _hub_pairs(ds: Any, document: str, summary: str, start: int = 0) -> PairRows:
    """(article, titles) rows of a hub dataset from row ``start`` on, read a batch of rows at a time."""
    def rows() -> Iterator[tuple[str, tuple[str, ...]]]:
        for batch in ds.iter(batch_size=1000):
            for article, titles in zip(batch[document], batch[summary], strict=True):
                yield article, _as_texts(titles, "hub dataset", summary)

    return lambda: itertools.islice(rows(), start, None)


def hub_recipe(
    gigaword_name: str, cnndm_name: str, cnndm_config: str, train_rows: int, dev_size: int, with_highlights: bool,
    num_proc: int = 1,
) -> tuple[list[Source], EvalSet, list[dict[str, Any]]]:
    """The default recipe from the Hugging Face hub's ``gigaword`` and ``cnn_dailymail`` (needs network access).

    Mirrors the shared files: the first ``train_rows`` Gigaword training pairs, its validation and test splits,
    and the first sentence of each CNN/DailyMail article as its lead (highlights are newline-separated there),
    computed in ``num_proc`` processes. The training rows are read from the (memory-mapped) hub datasets as the
    corpus builder reads its sources, so the whole of Gigaword (3.8M pairs) never sits in memory.
    """
    try:
        from datasets import load_dataset
    except ImportError as e:  # pragma: no cover - datasets is a dependency
        raise DataPrepError(f"--source hub needs the 'datasets' package ({e}); pip install datasets") from None
    from data_prep.filtering import parallel_map  # (it reads this module's Source)

    inputs: list[dict[str, Any]] = []

    def load(name: str, config: str | None, split: str) -> Any:
        try:
            ds = load_dataset(name, config, split=split)
        except Exception as e:  # the hub raises many types (connection, missing config, script datasets)
            raise DataPrepError(
                f"hub dataset {name} ({config or 'default'}, {split}): cannot load ({type(e).__name__}: {e}); "
                "check network access, or pass --hub-gigaword/--hub-cnndm with a reachable copy"
            ) from None
        fingerprint = getattr(ds, "_fingerprint", None)  # datasets' content hash of the loaded split
        inputs.append({"name": f"hub:{name}:{split}", "config": config, "rows": len(ds), "fingerprint": fingerprint})
        return ds

    def records(ds: Any, stop: int | None = None) -> list[dict[str, str]]:
        head = ds.select(range(min(len(ds), stop))) if stop is not None else ds
        return [{"document": d, "summary": s} for d, s in zip(head["document"], head["summary"], strict=True)]

    test = records(load(gigaword_name, None, "test"))
    valid = load(gigaword_name, None, "validation")
    train = load(gigaword_name, None, f"train[:{train_rows}]")
    gigaword = {
        "train10k": (_hub_pairs(train, "document", "summary"), 0),
        "valid": (_hub_pairs(valid, "document", "summary", dev_size), dev_size),
    }
    cnndm = {}
    for split in ("train", "validation"):
        ds = load(cnndm_name, cnndm_config, split)
        # the lead needs the normaliser (the article's first sentence): in parallel, kept in memory (a few tens of
        # MB) rather than in the hub cache, where a changed normaliser would not invalidate it
        leads = parallel_map(ds, _hub_leads, num_proc, f"CNN/DailyMail {split}: leads",
                             remove_columns=ds.column_names, keep_in_memory=True, load_from_cache_file=False)
        cnndm[split] = _hub_pairs(leads, "lead", "highlights")
    sources, evalset = _recipe(test, records(valid, dev_size), gigaword, cnndm, with_highlights)
    evalset.dev_source = f"hub:{gigaword_name}:validation[:{dev_size}]"
    return sources, evalset, inputs
