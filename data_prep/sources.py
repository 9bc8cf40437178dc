"""Where corpus text comes from: readers for plain text, JSONL and Parquet files, and the two built-in recipes.

A :class:`Source` is a named list of rows bound for one set (``documents`` or ``sentences``). Each row carries
its texts and, for paired data (a Gigaword article and its title), the texts of the other side of the same row,
so that the corpus builder can keep a title out of training when its article is a training document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seq2seq2seq.normalize import normalize, split_sentences

DOCUMENTS, SENTENCES = "documents", "sentences"
TABLE_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


class DataPrepError(Exception):
    """A problem with the input or the output folder; the message names the file and the fix."""


@dataclass
class Row:
    """One input row: the texts it gives to its set, and the texts of its pair on the other side (if any)."""

    texts: tuple[str, ...]
    partners: tuple[str, ...] = ()


@dataclass
class Source:
    """A named list of rows bound for ``documents`` or ``sentences``."""

    name: str
    kind: str
    rows: list[Row]


@dataclass
class EvalSet:
    """Text that must never enter training (test set, dev slice, user files), and the dev rows to write."""

    texts: list[str] = field(default_factory=list)
    dev_rows: list[dict[str, str]] | None = None
    dev_source: str | None = None  # where the dev rows come from, for the manifest


def file_info(path: Path) -> dict[str, Any]:
    """Path, size and sha256 of an input file, for the manifest (hashing even the 54 MB Parquet takes ~0.2 s)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _check_exists(path: Path, what: str) -> None:
    if not path.is_file():
        raise DataPrepError(f"{path}: no such file ({what}); check the path")


def _as_texts(value: Any, where: str, name: str) -> tuple[str, ...]:
    """A field's value as texts: a string, a list of strings (CNN/DailyMail highlights), or nothing."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise DataPrepError(f"{where}: field '{name}' is {type(value).__name__}, expected text or a list of texts")


def _decode_lines(path: Path, lone_cr: bool = False) -> Iterator[tuple[int, str]]:
    """Lines of a UTF-8 file with their 1-based numbers; invalid UTF-8 stops with the file and line.

    Lines end at LF or CR LF; with ``lone_cr`` a lone CR (old Mac text) ends a line too. Splitting the bytes is
    safe: CR and LF never occur inside a multi-byte UTF-8 character.
    """
    number = 0
    with open(path, "rb") as f:
        for raw in f:
            raw = raw[:-1] if raw.endswith(b"\n") else raw
            raw = raw[:-1] if raw.endswith(b"\r") else raw
            for piece in raw.split(b"\r") if lone_cr else [raw]:
                number += 1
                try:
                    yield number, piece.decode("utf-8").rstrip("\r")
                except UnicodeDecodeError as e:
                    raise DataPrepError(
                        f"{path}, line {number}: not valid UTF-8 ({e.reason} at byte {e.start}); "
                        "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                    ) from None


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a plain text file (one text a line, ending with LF, CR LF or CR)."""
    _check_exists(path, "plain text, one text a line")
    return [line for _, line in _decode_lines(path, lone_cr=True) if line.strip()]


def read_records(path: Path, fields: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of a JSONL or Parquet file as dicts; ``fields`` are required and, for Parquet, the only columns read."""
    return [record for _, record in numbered_records(path, fields)]


def numbered_records(
    path: Path, fields: list[str] | None, fix: str = "pass the right field name"
) -> list[tuple[str, dict[str, Any]]]:
    """:func:`read_records` with where each row is ("PATH, line N" or "PATH, row N") for error messages."""
    _check_exists(path, "JSONL or Parquet")
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataPrepError(f"{path}: unknown table format; name it *.jsonl or *.parquet (or use a plain text flag)")
    if kind == "parquet":
        return [(f"{path}, row {i}", r) for i, r in enumerate(_read_parquet(path, fields, fix), start=1)]
    records = []
    for number, line in _decode_lines(path):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataPrepError(f"{where}: not valid JSON ({e.msg}); each line must be one JSON object") from None
        if not isinstance(record, dict):
            raise DataPrepError(f"{where}: a JSON {type(record).__name__}, expected an object with named fields")
        for name in fields or ():
            if name not in record:
                names = ", ".join(sorted(record)) or "none"
                raise DataPrepError(f"{where}: no field '{name}' (fields: {names}); {fix}")
        records.append((where, record))
    return records


def _read_parquet(path: Path, fields: list[str] | None, fix: str) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        missing = [name for name in fields or () if name not in schema.names]
        if missing:
            raise DataPrepError(f"{path}: no column '{missing[0]}' (columns: {', '.join(schema.names)}); {fix}")
        return pq.read_table(path, columns=fields).to_pylist()
    except (pa.ArrowException, OSError) as e:
        raise DataPrepError(
            f"{path}: cannot read as Parquet ({e}); check that the file is a complete Parquet file"
        ) from None


def read_field(path: Path, name: str) -> list[tuple[str, ...]]:
    """The texts of one field of a JSONL or Parquet file, row by row."""
    return [_as_texts(r[name], f"{path}", name) for r in read_records(path, [name])]


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
    _check_exists(path, "--dev-file: JSONL or Parquet of (document, summary) pairs")
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
        pairs.append({"document": record[document_field], "summary": record[summary_field]})
    if not pairs:
        raise DataPrepError(
            f"--dev-file {path}: no (document, summary) pairs in it; give a file with pairs or drop --dev-file"
        )
    return pairs


# --- built-in recipes ------------------------------------------------------------------------------------------


def _split_pairs(
    pairs: list[tuple[str, tuple[str, ...]]], first_index: int, doc_name: str, sent_name: str
) -> tuple[Source, Source]:
    """Even rows give their article to documents, odd rows their titles to sentences: no row feeds both sets.

    ``pairs`` holds (article, titles); ``first_index`` is the row number of pairs[0] in its file, so the parity is
    the file's own and does not shift with the dev-slice size.
    """
    docs, sents = [], []
    for i, (article, titles) in enumerate(pairs, start=first_index):
        if i % 2 == 0:
            docs.append(Row((article,), titles))
        else:
            sents.append(Row(titles, (article,)))
    return Source(doc_name, DOCUMENTS, docs), Source(sent_name, SENTENCES, sents)


def _recipe(
    gigaword: dict[str, list[dict[str, Any]]],
    cnndm: dict[str, list[tuple[str, tuple[str, ...]]]],
    dev_size: int,
    with_highlights: bool,
) -> tuple[list[Source], EvalSet]:
    """The default recipe over already-loaded rows (same for the shared files and the hub).

    documents = CNN/DailyMail leads + articles of even Gigaword rows; sentences = titles of odd Gigaword rows
    (+ CNN/DailyMail highlights of odd rows, whose leads then stay out, when ``with_highlights``).
    """
    valid = gigaword["valid"]
    dev = [{"document": r["document"], "summary": r["summary"]} for r in valid[:dev_size]]
    held_out = gigaword["test"] + valid[:dev_size]
    evalset = EvalSet([t for r in held_out for t in (r["document"], r["summary"])], dev)
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
            documents.append(Source(f"{name}:lead", DOCUMENTS, [Row((lead,)) for lead, _ in rows]))
    for split, rows, start in (("train10k", gigaword["train10k"], 0), ("valid", valid[dev_size:], dev_size)):
        pairs = [(r["document"], (r["summary"],)) for r in rows]
        name = f"gigaword/{split}"
        docs, sents = _split_pairs(pairs, start, f"{name}:document:even", f"{name}:summary:odd")
        documents.append(docs)
        sentences.append(sents)
    return documents + sentences, evalset


def shared_recipe(
    data_dir: Path, dev_size: int, with_highlights: bool, train_rows: int | None = None
) -> tuple[list[Source], EvalSet, list[dict[str, Any]]]:
    """The default recipe from the shared data folder; also returns the input files' info for the manifest.

    ``train_rows`` keeps only the first N rows of train10k.jsonl (None = all; 0 = none, e.g. to keep its pairs for
    the semi-supervised mode out of the unpaired corpus)."""
    if not data_dir.is_dir():
        raise DataPrepError(
            f"{data_dir}: shared data folder not found; pass --shared-data DIR, set SEQ2SEQ2SEQ_DATA, "
            "or use --source none with your own files"
        )
    files = {
        "test": data_dir / "gigaword" / "test.jsonl",
        "valid": data_dir / "gigaword" / "valid.jsonl",
        "train10k": data_dir / "gigaword" / "train10k.jsonl",
    }
    gigaword = {split: read_records(path, ["document", "summary"]) for split, path in files.items()}
    if train_rows is not None:
        gigaword["train10k"] = gigaword["train10k"][:train_rows]
    for split, rows in gigaword.items():
        for number, r in enumerate(rows, start=1):
            if not (isinstance(r["document"], str) and isinstance(r["summary"], str)):
                raise DataPrepError(f"{files[split]}, row {number}: 'document' and 'summary' must be text")
    cnndm = {}
    for split in ("train", "validation"):
        path = data_dir / "cnndm" / f"{split}.parquet"
        files[f"cnndm/{split}"] = path
        records = read_records(path, ["lead", "highlights"])
        cnndm[split] = [(r["lead"] or "", _as_texts(r["highlights"], str(path), "highlights")) for r in records]
    sources, evalset = _recipe(gigaword, cnndm, dev_size, with_highlights)
    evalset.dev_source = f"{files['valid'].resolve()}[:{dev_size}]"
    return sources, evalset, [{"name": k, **file_info(p)} for k, p in files.items()]


def first_sentence(article: str) -> str:
    """The lead of a raw CNN/DailyMail article: its first sentence after bylines and datelines are stripped."""
    # 1,500 characters hold the byline, the time stamps and the first sentence of nearly every article,
    # and keep tokenizing 300k articles affordable.
    sentences = split_sentences(normalize(article[:1500]))
    return sentences[0] if sentences else ""


def hub_recipe(
    gigaword_name: str, cnndm_name: str, cnndm_config: str, train_rows: int, dev_size: int, with_highlights: bool
) -> tuple[list[Source], EvalSet, list[dict[str, Any]]]:
    """The default recipe from the Hugging Face hub's ``gigaword`` and ``cnn_dailymail`` (needs network access).

    Mirrors the shared files: the first ``train_rows`` Gigaword training pairs, its validation and test splits,
    and the first sentence of each CNN/DailyMail article as its lead (highlights are newline-separated there).
    """
    try:
        from datasets import load_dataset
    except ImportError as e:  # pragma: no cover - datasets is a dependency
        raise DataPrepError(f"--source hub needs the 'datasets' package ({e}); pip install datasets") from None

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

    gigaword = {}
    for split, hub_split in (("test", "test"), ("valid", "validation"), ("train10k", f"train[:{train_rows}]")):
        ds = load(gigaword_name, None, hub_split)
        gigaword[split] = [{"document": d, "summary": s} for d, s in zip(ds["document"], ds["summary"], strict=True)]
    cnndm = {}
    for split in ("train", "validation"):
        ds = load(cnndm_name, cnndm_config, split)
        cnndm[split] = [
            (first_sentence(a), tuple(h for h in hl.split("\n") if h.strip()))
            for a, hl in zip(ds["article"], ds["highlights"], strict=True)
        ]
    sources, evalset = _recipe(gigaword, cnndm, dev_size, with_highlights)
    evalset.dev_source = f"hub:{gigaword_name}:validation[:{dev_size}]"
    return sources, evalset, inputs
