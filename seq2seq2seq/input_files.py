"""Reading the user's input files: text one item a line, JSONL and Parquet records, and their digests.

data_prep builds corpora with these readers, and the package reads supervised pairs and ROUGE inputs with them, so
a file is read the same way everywhere: lines end at LF, CR LF or a lone CR; invalid UTF-8 or JSON stops with the
file and the line number. Rows are read lazily (Parquet a record batch at a time), so an input never has to fit in
memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TABLE_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


class InputFileError(Exception):
    """An input file that cannot be read as asked (missing, not UTF-8, not JSON, a missing field); the message names
    the file, the line and the fix."""


def file_info(path: Path) -> dict[str, Any]:
    """Path, size and sha256 of an input file, for the manifest (hashing even the 54 MB Parquet takes ~0.2 s)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def check_exists(path: Path, what: str) -> None:
    """Refuse a missing input file, saying what it should hold (``what``)."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file ({what}); check the path")


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
                    raise InputFileError(
                        f"{path}, line {number}: not valid UTF-8 ({e.reason} at byte {e.start}); "
                        "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                    ) from None


def iter_lines(path: Path) -> Iterator[str]:
    """Non-empty lines of a plain text file (one text a line, ending with LF, CR LF or CR), read as they are used."""
    check_exists(path, "plain text, one text a line")
    return (line for _, line in _decode_lines(path, lone_cr=True) if line.strip())


def read_lines(path: Path) -> list[str]:
    """:func:`iter_lines` as a list."""
    return list(iter_lines(path))


def text_lines(path: Path) -> Iterator[str]:
    """Every line of a UTF-8 text file, blank ones too, with :func:`iter_lines`' line ends (LF, CR LF or a lone
    CR, as seq2seq2seq.inference.cli reads its input): for readers whose Nth line must stay the Nth example (ROUGE).
    Raises OSError for a file it cannot open, InputFileError for invalid UTF-8, as the lines are read."""
    return (line for _, line in _decode_lines(path, lone_cr=True))


def read_records(path: Path, fields: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of a JSONL or Parquet file as dicts; ``fields`` are required and, for Parquet, the only columns read."""
    return [record for _, record in iter_numbered_records(path, fields)]


def numbered_records(
    path: Path, fields: list[str] | None, fix: str = "pass the right field name"
) -> list[tuple[str, dict[str, Any]]]:
    """:func:`read_records` with where each row is ("PATH, line N" or "PATH, row N") for error messages."""
    return list(iter_numbered_records(path, fields, fix))


def iter_numbered_records(
    path: Path, fields: list[str] | None, fix: str = "pass the right field name"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """:func:`numbered_records`, read as they are used. The file, its format and (Parquet) its columns are checked
    now; a bad JSONL line stops the iteration with its line number."""
    check_exists(path, "JSONL or Parquet")
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputFileError(f"{path}: unknown table format; name it *.jsonl or *.parquet (or use a plain text flag)")
    if kind == "parquet":
        rows = _iter_parquet(path, fields, fix)
        return ((f"{path}, row {i}", r) for i, r in enumerate(rows, start=1))
    return _iter_jsonl(path, fields, fix)


def _iter_jsonl(path: Path, fields: list[str] | None, fix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, line in _decode_lines(path):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputFileError(f"{where}: not valid JSON ({e.msg}); each line must be one JSON object") from None
        if not isinstance(record, dict):
            raise InputFileError(f"{where}: a JSON {type(record).__name__}, expected an object with named fields")
        for name in fields or ():
            if name not in record:
                names = ", ".join(sorted(record)) or "none"
                raise InputFileError(f"{where}: no field '{name}' (fields: {names}); {fix}")
        yield where, record


def _parquet_error(path: Path, e: Exception) -> InputFileError:
    return InputFileError(f"{path}: cannot read as Parquet ({e}); check that the file is a complete Parquet file")


def _iter_parquet(path: Path, fields: list[str] | None, fix: str) -> Iterator[dict[str, Any]]:
    """The rows of a Parquet file, one record batch in memory at a time; the columns are checked now."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise _parquet_error(path, e) from None
    names = parquet.schema_arrow.names
    missing = [name for name in fields or () if name not in names]
    if missing:
        raise InputFileError(f"{path}: no column '{missing[0]}' (columns: {', '.join(names)}); {fix}")

    def rows() -> Iterator[dict[str, Any]]:
        try:
            for batch in parquet.iter_batches(batch_size=10_000, columns=fields):
                yield from batch.to_pylist()
        except (pa.ArrowException, OSError) as e:
            raise _parquet_error(path, e) from None

    return rows()
