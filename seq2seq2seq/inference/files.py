"""The summarize CLI's files: documents in (text or JSONL, from a file or stdin), summaries out (atomically).

Input is read and checked completely before the model runs, and output is written at the end through a temporary
file, so an error never leaves a half-written output; an output that writing would damage or bypass (the input
itself, a link, a device, a read-only file) is refused before anything is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seq2seq2seq.inference.api import SummarizeError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
# a line ends at \r\n, \n or a lone \r (old Mac files); neither byte occurs inside a multi-byte UTF-8 character
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass
class Row:
    """One input document: ``id`` (the JSONL row's "id", else the 0-based line number) and its raw text."""

    id: Any
    text: str


def read_bytes(source: str | None) -> tuple[bytes, str]:
    """The whole input and a name for messages; ``None`` or ``-`` is stdin."""
    if source in (None, "-"):
        if sys.stdin.isatty():
            print("reading documents from stdin, one a line (end with Ctrl-D); see --help for files", file=sys.stderr)
        stream = getattr(sys.stdin, "buffer", None)
        return (stream.read() if stream is not None else sys.stdin.read().encode("utf-8")), "stdin"
    path = Path(source)
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise SummarizeError(f"input file {path} {problem}")
    return path.read_bytes(), str(path)


def split_lines(data: bytes, name: str) -> list[str]:
    """Lines of UTF-8 input (``\\n``, ``\\r\\n`` or lone ``\\r`` endings, an optional BOM); the first invalid line is
    an error.

    Splitting the bytes on these three line ends only keeps line numbers equal to an editor's (str.splitlines would
    also split on form feeds and Unicode separators, which can occur inside a document).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    chunks = _LINE_END.split(data)
    if chunks and chunks[-1] == b"":
        chunks.pop()  # the final line end ends the last line; it does not start a new one
    lines = []
    for number, chunk in enumerate(chunks, start=1):
        try:
            lines.append(chunk.decode("utf-8"))
        except UnicodeDecodeError:
            raise SummarizeError(f"{name} line {number} is not valid UTF-8; re-encode the file as UTF-8 "
                                 f"(e.g. iconv -f latin1 -t utf-8)") from None
    return lines


def parse_rows(lines: list[str], fmt: str, field: str, name: str) -> list[Row]:
    """Rows from text lines (one document a line) or JSONL lines (the document in ``field``)."""
    if fmt == "text":
        return [Row(i, line) for i, line in enumerate(lines)]
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            rows.append(Row(i, ""))  # a blank line stays a row, so output lines match input lines
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise SummarizeError(f"{name} line {i + 1} is not valid JSON ({err.msg}); give one JSON object a line, "
                                 f"or --input-format text for plain text") from None
        if not isinstance(record, dict):
            raise SummarizeError(f"{name} line {i + 1} is not a JSON object; give one {{\"{field}\": ...}} a line")
        if field not in record:
            keys = ", ".join(map(repr, list(record)[:8])) or "none"
            raise SummarizeError(f"{name} line {i + 1} has no field '{field}' (its fields: {keys}); pass --field NAME")
        text = record[field]
        if not isinstance(text, str):
            raise SummarizeError(f"{name} line {i + 1}: field '{field}' is {type(text).__name__}, not a string")
        rows.append(Row(record.get("id", i), text))
    return rows


def looks_like_jsonl(lines: list[str]) -> bool:
    """Whether text input is really JSONL: its first non-blank line is a JSON object (no news article is)."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first.startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def format_output(rows: list[Row], summaries: list[str], fmt: str) -> str:
    """The output text: one summary a line, or one JSON object ``{"id", "summary"}`` a line for ``jsonl``."""
    if fmt == "jsonl":
        lines = [json.dumps({"id": row.id, "summary": s}, ensure_ascii=False) for row, s in zip(rows, summaries)]
    else:
        lines = summaries
    return "".join(line + "\n" for line in lines)


def _umask() -> int:
    """The process's umask, which the new file's permissions follow."""
    mask = os.umask(0o022)  # reading the umask means setting it; it is put back at once
    os.umask(mask)
    return mask


def stdin_reads(path: Path) -> bool:
    """Whether standard input is the file ``path`` itself (``< path``): the same device and inode. False where it
    cannot tell (no stdin, a pipe, a terminal, a missing file)."""
    try:
        here, there = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both an OSError and a ValueError
        return False
    return stat.S_ISREG(here.st_mode) and (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def check_output(output: Path, source: str | None) -> None:
    """Refuse an output that writing would damage or bypass: the input itself (also as stdin), a link, a device, a
    read-only file."""
    if source in (None, "-") and stdin_reads(output):
        raise SummarizeError(f"--output {output} is the file standard input reads (< {output}): its documents would "
                             f"be replaced by their summaries; write to another file")
    if source not in (None, "-"):
        with contextlib.suppress(OSError):  # a missing input is reported when it is read
            if output.exists() and os.path.samefile(source, output):  # also through a link or another path
                raise SummarizeError(f"--output {output} is the input file {source}: its documents would be replaced "
                                     f"by their summaries; write to another file")
    if output.is_symlink():
        raise SummarizeError(f"--output {output} is a symbolic link (to {os.readlink(output)}): the output is renamed "
                             f"into place, which would replace the link by a file; give the path it points to, or "
                             f"another name (or leave --output out to write to stdout)")
    if output.is_dir():
        raise SummarizeError(f"--output {output} is a folder; give a file name")
    if not output.exists():
        return
    info = output.stat()
    if not stat.S_ISREG(info.st_mode):
        raise SummarizeError(f"--output {output} is not a regular file (a device, pipe or socket); give a file name, "
                             f"or leave --output out (or pass -) to write to stdout and redirect that")
    # os.access alone lets root overwrite anything: a file with no write permission bit was made read-only on purpose
    if not os.access(output, os.W_OK) or not info.st_mode & 0o222:
        raise SummarizeError(f"--output {output} is read-only; make it writable (chmod u+w {output}) or choose "
                             f"another file")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place.

    The file gets the permissions of the file it replaces, or those of a newly created file (0666 minus the
    umask), not mkstemp's private 0600.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def file_format(flag: str, path: str | None) -> str:
    """The format a --input-format/--output-format flag names; ``auto``: JSONL for a .jsonl/.json/.ndjson path."""
    if flag != "auto":
        return flag
    return "jsonl" if path not in (None, "-") and Path(path).suffix.lower() in JSONL_SUFFIXES else "text"
