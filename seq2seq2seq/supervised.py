"""The semi-supervised mode's data: a few (document, summary) pairs beside the unpaired corpus.

Off by default (``supervised.pairs`` empty). When on, the pairs are read from a JSONL or Parquet file, normalised
like the corpus, and checked: every row must hold a non-empty document and summary, no summary may be longer than
its document, and no pair may be one of the texts the corpus holds out (the Gigaword test set, the dev slice,
``--exclude`` files: data_prep records their digests in ``held_out.sha256``). The training loop mixes them into
G's pre-training, interleaves teacher-forced steps with the adversarial updates, and may give their summaries to D
as human sentences (seq2seq2seq/train/trainer.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from seq2seq2seq.config import SupervisedConfig
from seq2seq2seq.data import CorpusError
from seq2seq2seq.input_files import InputFileError, file_info, numbered_records
from seq2seq2seq.language import DEFAULT_LANGUAGE
from seq2seq2seq.normalize import normalize, text_digest

HELD_OUT_FILE = "held_out.sha256"  # written by data_prep (data_prep/corpus.py)
SHOWN_ROWS = 5  # offending rows named in an error message


class PairsError(CorpusError):
    """The pairs file is missing, malformed or overlaps held-out text; the message names the rows and the fix."""


@dataclass
class Pairs:
    """Normalised (document, summary) pairs and where they came from (for the run's results and --resume)."""

    documents: list[str]
    summaries: list[str]
    path: str
    sha256: str
    rows_read: int
    notes: list[str] = field(default_factory=list)  # things the log should say (e.g. no held-out record)

    def __len__(self) -> int:
        return len(self.documents)

    def record(self) -> dict:
        """What results.json and the benchmark report keep about the pairs."""
        return {"file": self.path, "sha256": self.sha256, "rows_read": self.rows_read, "pairs_used": len(self)}


def source_words(summary: str, document: str) -> str:
    """The words of ``summary`` that occur in ``document``, in the summary's order (the summary itself when none
    does): the part of a human summary that a G restricted to its document's words can write."""
    present = set(document.split())
    kept = [w for w in summary.split() if w in present]
    return " ".join(kept) if kept else summary


def _rows(path: Path, fields: list[str]) -> list[tuple[str, dict]]:
    """(where, record) for each row of the JSONL or Parquet file, with data_prep's readers and their errors."""
    fix = f"set supervised.fields to the file's two field names as DOCUMENT,SUMMARY (now {','.join(fields)})"
    try:
        return numbered_records(path, fields, fix)
    except InputFileError as err:
        raise PairsError(f"supervised.pairs: {err}") from None


def describe_rows(rows: list[str]) -> str:
    """The first SHOWN_ROWS of ``rows`` for an error message, and how many more there are."""
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return "; ".join(rows[:SHOWN_ROWS]) + more


def held_out_overlap(rows: Iterable[tuple[str, str, str]], held_out: set[str]) -> list[str]:
    """``"WHERE (document)"`` or ``"WHERE (summary)"`` for each text of the ``(where, document, summary)`` rows
    (normalised) whose digest is among ``held_out`` (as in ``held_out.sha256``): evaluation text that must not be
    trained on (supervised.pairs) nor pick checkpoints (data_prep --dev-file)."""
    return [f"{where} ({name})" for where, document, summary in rows
            for name, text in (("document", document), ("summary", summary)) if text_digest(text) in held_out]


def held_out_digests(data_dir: Path) -> set[str] | None:
    """The digests of the corpus's held-out texts, or None for a corpus that does not record them."""
    path = data_dir / HELD_OUT_FILE
    if not path.is_file():
        return None
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def load_pairs(cfg: SupervisedConfig, data_dir: Path, dev_texts: list[str] = (),
               language: str = DEFAULT_LANGUAGE) -> Pairs:
    """Read, normalise (with the corpus's ``language`` setting) and check ``cfg.pairs`` (the first ``cfg.max_pairs``
    rows when it is set).

    Raises PairsError naming the offending rows: missing fields, empty texts, a summary longer than its document,
    or a document or summary that is one of the corpus's held-out texts (or of ``dev_texts``).
    """
    path = Path(cfg.pairs)
    if not path.is_file():
        raise PairsError(f"supervised.pairs {path}: no such file; give a JSONL or Parquet file of (document, "
                         f"summary) pairs, or leave supervised.pairs empty for the unsupervised mode")
    doc_field, summary_field = cfg.field_names()
    records = _rows(path, [doc_field, summary_field])
    if cfg.max_pairs:
        records = records[: cfg.max_pairs]
    documents, summaries, bad = [], [], []
    for where, record in records:
        values = []
        for name in (doc_field, summary_field):
            value = record[name]
            values.append(normalize(value, language) if isinstance(value, str) else None)
            if not isinstance(value, str):
                bad.append(f"{where}: field '{name}' is {type(value).__name__}, not text")
            elif not values[-1]:
                bad.append(f"{where}: field '{name}' is empty (or only boilerplate) after normalisation")
        if all(values) and len(values[1].split()) > len(values[0].split()):
            bad.append(f"{where}: the summary ({len(values[1].split())} words) is longer than its document "
                       f"({len(values[0].split())} words); check that the fields are not swapped")
        if not bad:
            documents.append(values[0])
            summaries.append(values[1])
    if bad:
        raise PairsError(f"supervised.pairs {path}: {len(bad)} bad row(s): {describe_rows(bad)}; fix or remove them")
    if not documents:
        raise PairsError(f"supervised.pairs {path}: no pairs in it; give a file with pairs or leave "
                         f"supervised.pairs empty")
    notes = []
    held_out = held_out_digests(data_dir)
    if held_out is None:
        held_out = set()
        notes.append(f"the corpus {data_dir} records no held-out texts ({HELD_OUT_FILE}, written by data_prep): the "
                     f"pairs are checked against its dev set only; rebuild it with `python -m data_prep` to check "
                     f"them against the test set too")
    held_out |= {text_digest(normalize(t, language)) for t in dev_texts}
    overlap = held_out_overlap(((where, doc, summary) for (where, _), doc, summary in
                                zip(records, documents, summaries)), held_out)
    if overlap:
        raise PairsError(f"supervised.pairs {path}: {len(overlap)} text(s) are evaluation texts the corpus holds out "
                         f"(test set, dev slice or --exclude files): {describe_rows(overlap)}; remove those rows, "
                         f"since training on them would inflate every reported score")
    return Pairs(documents, summaries, str(path.resolve()), file_info(path)["sha256"], len(records), notes)
