"""Build a training corpus: documents and human sentences as disjoint, normalised, filtered, deduplicated sets.

Output folder (see docs/data.md):
    documents.arrow   columns text, source (Arrow IPC stream): what the summarizer summarizes
    sentences.arrow   columns text, source: human sentences the discriminator learns readability from
    word_counts.arrow columns word, documents, sentences: the headline word statistics' counts
    dev.jsonl         {"document", "summary"} per line: the dev slice (or the --dev-file pairs), verbatim; absent
                      when there is none
    held_out.sha256   digests of the texts kept out of training
    tokenizer/        sentencepiece model exported for transformers.AutoTokenizer
    manifest.json     counts, filters, normaliser, hashes, command line, inputs

Inputs are streamed and the texts normalised in parallel (data_prep.filtering), so a corpus of millions of
documents builds in bounded memory.

The folder is built beside ``out`` under a temporary name and renamed into place at the end, so a failed run
leaves nothing behind and an existing corpus is only replaced by a complete one. The temporary name carries the
process id, so that a later run can remove what a killed run left without touching a running one's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from data_prep.common import DOCUMENTS, SENTENCES, DataPrepError, Row, Source
from data_prep.filtering import SetStats, choose, normalize_rows, text_key, write_raw, write_sets
from data_prep.sources import EvalSet, hub_recipe, iter_field, numbered_dev_pairs, parse_path_field, shared_recipe
from data_prep.tokenizer import tokenizer_vocab_size, train_tokenizer
from seq2seq2seq import corpus_files as files
from seq2seq2seq import language as lang
from seq2seq2seq import normalize as norm
from seq2seq2seq.input_files import InputFileError, file_info, iter_lines, read_lines, read_records
from seq2seq2seq.paths import DEFAULT_CORPUS_DIR, shared_data_dir
from seq2seq2seq.search_targets import TARGETS_FOLDER
from seq2seq2seq.supervised import (
    HELD_OUT_FILE,  # one name for the file both sides use
    describe_rows,
    held_out_overlap,
)

MANIFEST = "manifest.json"
DEV_FILE = "dev.jsonl"
TOOL = "data_prep"
FORMAT_VERSION = 2  # 2: documents and sentences as Arrow files, word counts stored (1: JSONL files)


@dataclass
class Recipe:
    """Everything that decides the corpus. Defaults are the project's default corpus from the shared data."""

    source: str = "shared"  # "shared", "hub" or "none" (only the files below)
    language: str = "en"  # how text is split into words: seq2seq2seq.language.LANGUAGES
    shared_data: Path | None = None  # None: seq2seq2seq.paths.shared_data_dir()
    with_cnndm_highlights: bool = False
    dev_size: int = 2000
    dev_file: Path | None = None  # JSONL or Parquet of (document, summary) pairs: replaces the built-in dev slice
    dev_fields: list[str] = field(default_factory=lambda: ["document", "summary"])  # its field names
    documents_files: list[Path] = field(default_factory=list)
    sentences_files: list[Path] = field(default_factory=list)
    documents_fields: list[str] = field(default_factory=list)  # "PATH:FIELD" (JSONL or Parquet)
    sentences_fields: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)  # "PATH" or "PATH:FIELD": evaluation text kept out
    # "PATH" or "PATH:FIELD": text kept out of the corpus without being held out, e.g. the pairs of the
    # semi-supervised mode (which refuses held-out text), so that no pair is also an unpaired document or sentence
    keep_out: list[str] = field(default_factory=list)
    min_document_words: int = 10
    max_document_words: int = 100
    min_sentence_words: int = 3
    max_sentence_words: int = 30
    vocab_size: int = 16000
    seed: int = 0
    tokenizer_max_lines: int = 1_000_000
    hub_gigaword: str = "gigaword"
    hub_cnndm: str = "cnn_dailymail"
    hub_cnndm_config: str = "3.0.0"
    hub_gigaword_train_rows: int = 10000
    gigaword_train_rows: int | None = None  # shared source: the first N rows of train10k.jsonl (None = all, 0 = none)

    def __post_init__(self) -> None:
        if self.source not in ("shared", "hub", "none"):
            raise DataPrepError(f"source {self.source!r}: choose shared, hub or none")
        try:
            lang.check_language(self.language, "--language")
        except lang.LanguageError as e:
            raise DataPrepError(str(e)) from None
        if self.language != "en" and self.source != "none":
            # the built-in recipes are English Gigaword and CNN/DailyMail, scored against English references
            raise DataPrepError(
                f"--language {self.language} with --source {self.source}: the built-in recipe is English news "
                f"(Gigaword, CNN/DailyMail), which needs --language en; for your own {self.language} text pass "
                "--source none with --documents-file/--sentences-file (and --dev-file)"
            )
        for low, high in (("min_document_words", "max_document_words"), ("min_sentence_words", "max_sentence_words")):
            if getattr(self, low) < 1 or getattr(self, low) > getattr(self, high):
                flags = f"--{low.replace('_', '-')} {getattr(self, low)}, --{high.replace('_', '-')} {getattr(self, high)}"
                raise DataPrepError(f"{flags}: need 1 <= min <= max")
        if self.gigaword_train_rows is not None and self.gigaword_train_rows < 0:
            raise DataPrepError(f"--gigaword-train-rows {self.gigaword_train_rows}: need a number >= 0 (0 = none)")
        if self.dev_size < 0 or self.vocab_size < 8 or self.tokenizer_max_lines < 1:
            raise DataPrepError("need --dev-size >= 0, --vocab-size >= 8 and --tokenizer-max-lines >= 1")
        if len(self.dev_fields) != 2 or not all(name.strip() for name in self.dev_fields):
            raise DataPrepError(
                f"--dev-fields {','.join(self.dev_fields)}: give the two field names as DOCUMENT,SUMMARY "
                "(e.g. --dev-fields article,headline)"
            )


# --- collecting sources ----------------------------------------------------------------------------------------


def _user_sources(recipe: Recipe) -> tuple[list[Source], list[dict[str, Any]]]:
    """Sources from the user's plain text and JSONL/Parquet files."""
    sources, inputs = [], []
    for kind, plain, tables, flag in (
        (DOCUMENTS, recipe.documents_files, recipe.documents_fields, "--documents-field"),
        (SENTENCES, recipe.sentences_files, recipe.sentences_fields, "--sentences-field"),
    ):
        for path in plain:
            sources.append(Source(f"{path}", kind, (Row((line,)) for line in iter_lines(Path(path)))))
            inputs.append({"name": f"{kind}:{path}", **file_info(Path(path))})
        for spec in tables:
            path, name = parse_path_field(spec, flag)
            if name is None:
                raise DataPrepError(f"{flag} {spec}: name the field to read, as PATH:FIELD (e.g. news.jsonl:text)")
            sources.append(Source(f"{path}:{name}", kind, (Row(t) for t in iter_field(path, name))))
            inputs.append({"name": f"{kind}:{path}:{name}", **file_info(path)})
    return sources, inputs


def _exclusions(specs: list[str], flag: str = "--exclude") -> tuple[list[str], list[dict[str, Any]]]:
    """Text from ``--exclude`` (or ``--keep-out``): plain text lines, or every text field (or one FIELD) of a
    table."""
    texts, inputs = [], []
    for spec in specs:
        path, name = parse_path_field(spec, flag)
        if path.suffix.lower() in (".jsonl", ".json", ".parquet", ".pq"):
            for record in read_records(path, [name] if name else None):
                values = [record[name]] if name else list(record.values())
                texts.extend(v for v in values if isinstance(v, str))
                texts.extend(s for v in values if isinstance(v, list) for s in v if isinstance(s, str))
        else:
            texts.extend(read_lines(path))
        inputs.append({"name": f"{flag.lstrip('-')}:{spec}", **file_info(path)})
    return texts, inputs


# --- filtering (data_prep.filtering does the work) --------------------------------------------------------------


def _language_check(s: SetStats) -> str | None:
    """A warning when the set's text does not fit the language setting (Chinese under en), else None."""
    return lang.mismatch_warning(s.language, s.kind, sum(s.read.values()), s.cjk_texts, s.removed["too_short"])


# --- writing -----------------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _file_record(path: Path, rows: int | None) -> dict[str, Any]:
    """sha256 and size of an output file (read a block at a time), and its rows (tables) or lines (JSONL)."""
    digest, size, lines = hashlib.sha256(), 0, 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
            lines += block.count(b"\n")
    record: dict[str, Any] = {"sha256": digest.hexdigest(), "bytes": size}
    if rows is not None:
        record["rows"] = rows
    elif path.suffix == ".jsonl":
        record["lines"] = lines
    return record


def default_num_proc() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def is_corpus_dir(path: Path) -> bool:
    """True for a folder written by data_prep (its manifest says so)."""
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("tool") == TOOL
    except (OSError, ValueError, AttributeError):
        return False


def _unknown_entries(out: Path) -> list[str]:
    """What the corpus folder ``out`` holds besides what data_prep wrote there (its manifest's ``files``, their
    folders, the manifest itself): the user's own files, which replacing the folder would delete. Links are not
    followed; folders end with "/"."""
    try:
        listed = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        listed = None
    known = {MANIFEST, *(listed if isinstance(listed, dict) else ())}
    folders = {parent.as_posix() for name in known for parent in Path(name).parents if parent != Path(".")}
    # the search targets of these documents (python -m data_prep.search_targets) go with them: a rebuilt corpus
    # needs its own
    if (out / TARGETS_FOLDER).is_dir():
        folders.add(TARGETS_FOLDER)
        known |= {f"{TARGETS_FOLDER}/{p.name}" for p in (out / TARGETS_FOLDER).iterdir() if p.is_file()}
    unknown = []
    for root, dirs, names in os.walk(out):
        here = Path(root).relative_to(out)
        for name in sorted(dirs):
            path = (here / name).as_posix()
            if path not in folders:
                unknown.append(f"{path}/")
                dirs.remove(name)  # its contents go with it: named once
        unknown += [(here / name).as_posix() for name in sorted(names) if (here / name).as_posix() not in known]
    return sorted(unknown)


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse an output folder we must not replace; checked before the work and again before the rename."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DataPrepError(f"{out}: exists and is not a folder; choose another --out")
    if not any(out.iterdir()):
        return
    if not is_corpus_dir(out):
        raise DataPrepError(
            f"{out}: exists and is not a data_prep output (no data_prep manifest.json); "
            "choose another --out or remove the folder yourself"
        )
    if not overwrite:
        raise DataPrepError(f"{out}: a corpus is already there; pass --overwrite to replace it")
    unknown = _unknown_entries(out)
    if unknown:  # --overwrite replaces the whole folder: it may delete only what data_prep wrote
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise DataPrepError(
            f"{out}: --overwrite would delete {len(unknown)} file(s) or folder(s) that data_prep did not write "
            f"(not in its {MANIFEST}): {shown}; move them out of the folder (or delete them yourself) and run "
            "again, or choose another --out"
        )


def _input_paths(recipe: Recipe) -> list[tuple[str, Path]]:
    """Every input file or folder of ``recipe``, with the flag that names it."""
    paths = [("--documents-file", Path(p)) for p in recipe.documents_files]
    paths += [("--sentences-file", Path(p)) for p in recipe.sentences_files]
    for flag, specs in (
        ("--documents-field", recipe.documents_fields),
        ("--sentences-field", recipe.sentences_fields),
        ("--exclude", recipe.exclude),
        ("--keep-out", recipe.keep_out),
    ):
        paths += [(flag, parse_path_field(spec, flag)[0]) for spec in specs]
    if recipe.dev_file is not None:
        paths.append(("--dev-file", Path(recipe.dev_file)))
    if recipe.source == "shared":
        paths.append(("--shared-data", Path(recipe.shared_data or shared_data_dir())))
    return paths


def _check_inputs_outside(recipe: Recipe, out: Path) -> None:
    """Refuse to replace a corpus folder that holds one of our own inputs: replacing it would delete the input."""
    folders = {out.absolute(), out.resolve()}
    for flag, path in _input_paths(recipe):
        # the path as written (a link inside ``out`` goes with it) and the file it leads to
        for candidate in {Path(os.path.abspath(path)), path.resolve()}:
            if any(candidate.is_relative_to(folder) for folder in folders):
                raise DataPrepError(
                    f"{flag} {path}: this input is inside the output folder {out}, which the new corpus replaces "
                    "(the input would be deleted); move it out of that folder or choose another --out"
                )


# Work folders beside ``out``: .OUT.tmp-PID-HOST-xxxx (the corpus being built) and .OUT.old-PID-HOST-xxxx (the
# corpus being replaced). The owner's process id and a tag of its host tell a later run which ones a dead run left.
_HOST_TAG = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _work_prefix(out: Path, kind: str) -> str:
    return f".{out.name}.{kind}-{os.getpid()}-{_HOST_TAG}-"


def work_folders(out: Path, pid: int | None = None) -> list[tuple[Path, str, int]]:
    """(folder, "tmp" or "old", owner pid) of the work folders beside ``out`` made on this host (by ``pid`` only)."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-(\d+)-{_HOST_TAG}-[^/]+")
    found = []
    if out.parent.is_dir():
        for folder in sorted(out.parent.iterdir()):
            match = pattern.fullmatch(folder.name)
            if match and folder.is_dir() and (pid is None or int(match.group(2)) == pid):
                found.append((folder, match.group(1), int(match.group(2))))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        return True
    return True


def _remove_stale_work_folders(out: Path) -> None:
    """Remove what earlier runs for ``out`` left when killed (kill -9, a second Ctrl-C); running ones are kept."""
    removed, restored = [], None
    for folder, kind, pid in work_folders(out):
        if pid <= 0 or _alive(pid):
            continue
        if kind == "old" and not out.exists() and is_corpus_dir(folder / "corpus"):
            # killed between moving the old corpus aside and moving the new one in: put the old one back
            os.replace(folder / "corpus", out)
            restored = folder
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    if removed:
        note = f"; restored the previous corpus from {restored.name}" if restored else ""
        print(
            f"removed {len(removed)} unfinished folder(s) left beside {out} by interrupted runs: "
            f"{', '.join(removed)}{note}",
            file=sys.stderr,
        )


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C until the block ends (the list is non-empty if one came), so a rename pair is never cut in half."""
    received: list[int] = []
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if previous is None:  # not the main thread, or a handler set outside Python: leave signals alone
        yield received
        return
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


def _move_into_place(tmp: Path, out: Path, overwrite: bool) -> Path | None:
    """Rename ``tmp`` to ``out``; returns the folder holding the replaced corpus (for the caller to delete)."""
    _check_out(out, overwrite)
    if out.exists() and any(out.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=_work_prefix(out, "old"), dir=out.parent))
        os.replace(out, old / "corpus")
        os.replace(tmp, out)
        return old
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    return None


class BuildInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`build_corpus`, raised after its clean-up; ``written``: the new corpus was in place."""

    def __init__(self, out: Path, written: bool) -> None:
        super().__init__(f"interrupted while building {out}")
        self.out, self.written = out, written


# --- the build ---------------------------------------------------------------------------------------------------


def _collect(recipe: Recipe, num_proc: int) -> tuple[list[Source], EvalSet, list[str], list[dict[str, Any]]]:
    """The sources, the evaluation texts (held out), the ``--keep-out`` texts, and the inputs' records."""
    if recipe.source == "shared":
        sources, evalset, inputs = shared_recipe(
            recipe.shared_data or shared_data_dir(), recipe.dev_size, recipe.with_cnndm_highlights,
            recipe.gigaword_train_rows,
        )
    elif recipe.source == "hub":
        sources, evalset, inputs = hub_recipe(
            recipe.hub_gigaword,
            recipe.hub_cnndm,
            recipe.hub_cnndm_config,
            recipe.hub_gigaword_train_rows,
            recipe.dev_size,
            recipe.with_cnndm_highlights,
            num_proc,
        )
    else:
        sources, evalset, inputs = [], EvalSet(), []
    user, user_inputs = _user_sources(recipe)
    excluded, excluded_inputs = _exclusions(recipe.exclude)
    evalset.texts.extend(excluded)
    if recipe.dev_file is not None:
        # Replaces the built-in dev slice; those rows stay held out all the same (the recipe does not move).
        dev_file = Path(recipe.dev_file)
        pairs = numbered_dev_pairs(dev_file, *recipe.dev_fields)
        _check_dev_pairs_not_held_out(dev_file, pairs, evalset, recipe.language)
        evalset.dev_rows = [pair for _, pair in pairs]
        evalset.dev_source = str(dev_file.resolve())
        evalset.texts.extend(t for row in evalset.dev_rows for t in row.values())
        excluded_inputs.append({"name": f"dev:{dev_file}", **file_info(dev_file)})
    kept_out, kept_out_inputs = _exclusions(recipe.keep_out, "--keep-out")
    return sources + user, evalset, kept_out, inputs + user_inputs + excluded_inputs + kept_out_inputs


def _digests(texts: list[str], language: str) -> set[str]:
    """The digests of the texts, normalised, as ``held_out.sha256`` holds them."""
    return {norm.text_digest(t) for t in (norm.normalize(x, language) for x in texts) if t}


def _check_dev_pairs_not_held_out(dev_file: Path, pairs: list[tuple[str, dict[str, str]]], evalset: EvalSet,
                                  language: str) -> None:
    """Refuse --dev-file pairs that are evaluation texts (the Gigaword test set, --exclude files): dev ROUGE picks
    the checkpoints (best/), so the reported test score would be a score on the data that chose the model. The
    check is supervised.pairs' own, against the same digests; only the built-in dev slice, which --dev-file
    replaces, does not count."""
    dev_slice = [t for row in evalset.dev_rows or [] for t in row.values()]
    held_out = _digests(evalset.texts, language) - _digests(dev_slice, language)
    rows = ((where, norm.normalize(p["document"], language), norm.normalize(p["summary"], language))
            for where, p in pairs)
    overlap = held_out_overlap(rows, held_out)
    if overlap:
        raise DataPrepError(
            f"--dev-file {dev_file}: {len(overlap)} text(s) are evaluation texts this corpus holds out (the Gigaword "
            f"test set or --exclude files): {describe_rows(overlap)}; dev ROUGE picks the best checkpoint, so dev "
            "pairs must not come from the test set: remove those rows, or give other pairs"
        )


@contextlib.contextmanager
def _datasets_progress_bars() -> Iterator[None]:
    """datasets' progress bars only on a terminal, as data_prep's own (tqdm's ``disable=None``)."""
    import datasets

    hide = not sys.stderr.isatty() and not datasets.are_progress_bars_disabled()
    if hide:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if hide:
            datasets.enable_progress_bars()


def _write_texts(tmp: Path, recipe: Recipe, sources: list[Source], left_out: set[str],
                 num_proc: int) -> tuple[dict[str, SetStats], dict[str, Any]]:
    """Normalise, filter and write documents.arrow and sentences.arrow into ``tmp``, without the ``left_out``
    texts; returns each set's stats and their word counts (data_prep.filtering). The intermediate files go in
    ``tmp/.work``, removed at the end."""
    sets = {
        DOCUMENTS: SetStats(DOCUMENTS, recipe.min_document_words, recipe.max_document_words, recipe.language),
        SENTENCES: SetStats(SENTENCES, recipe.min_sentence_words, recipe.max_sentence_words, recipe.language),
    }
    work = tmp / ".work"
    work.mkdir()
    with _datasets_progress_bars():
        rows = write_raw(sources, work / "raw.arrow")
        limits = [(sets[s.kind].min_words, sets[s.kind].max_words) for s in sources]
        normalized = normalize_rows(work / "raw.arrow", rows, limits, recipe.language, num_proc, work)
        keep = choose(normalized, sources, sets, {text_key(t) for t in left_out})
        counts = write_sets(normalized, sources, keep, sets, tmp)
    del normalized  # its memory maps, before its files go
    shutil.rmtree(work)
    return sets, counts


def _check_sets(sets: dict[str, SetStats]) -> list[str]:
    """Stop when a set is empty; returns the warnings about text that does not fit the language setting."""
    for s in sets.values():
        if not sum(s.kept.values()):
            # text under the wrong language setting (Chinese under en) is the likelier cause: say that instead
            fix = _language_check(s) or (f"add {s.kind} sources (--{s.kind}-file, --{s.kind}-field, or --source "
                                         f"shared) or relax --min-/--max-{s.kind[:-1]}-words")
            raise DataPrepError(
                f"no {s.kind} left after filtering (rows read: {sum(s.read.values())}, removed: "
                f"{dict(s.removed) or 'none'}); {fix}"
            )
    # text that does not fit the language setting (Chinese under en): said here and kept in the manifest
    warnings = [w for w in (_language_check(s) for s in sets.values()) if w]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return warnings


def _build_into(tmp: Path, recipe: Recipe, command: list[str], num_proc: int) -> dict[str, Any]:
    """Write the whole corpus into ``tmp`` and return its manifest."""
    sources, evalset, kept_out, inputs = _collect(recipe, num_proc)
    held_out = {t for t in (norm.normalize(x, recipe.language) for x in evalset.texts) if t}
    kept_out_texts = {t for t in (norm.normalize(x, recipe.language) for x in kept_out) if t}
    sets, counts = _write_texts(tmp, recipe, sources, held_out | kept_out_texts, num_proc)
    warnings = _check_sets(sets)
    rows = {kind: sum(s.kept.values()) for kind, s in sets.items()}
    distinct_words = files.write_word_counts(tmp / files.WORD_COUNTS_FILE, counts[DOCUMENTS], counts[SENTENCES])
    dev_rows = evalset.dev_rows or None  # no pairs (--dev-size 0): no dev.jsonl rather than an empty one
    if dev_rows is not None:
        _write_jsonl(tmp / DEV_FILE, dev_rows)
    # what never entered training, as digests: the semi-supervised mode refuses pairs that are among them
    (tmp / HELD_OUT_FILE).write_text("".join(f"{norm.text_digest(t)}\n" for t in sorted(held_out)), encoding="utf-8")
    # documents then sentences, streamed from the files just written; only the sample sits in memory
    texts = (t for kind in (DOCUMENTS, SENTENCES) for t in files.TextColumn.open(files.table_file(tmp, kind)))
    print(f"training the tokenizer on {min(sum(rows.values()), recipe.tokenizer_max_lines)} of "
          f"{sum(rows.values())} texts ...", file=sys.stderr)
    train_tokenizer(texts, tmp / "tokenizer", recipe.vocab_size, recipe.seed, recipe.tokenizer_max_lines,
                    total=sum(rows.values()))

    table_rows = {f"{kind}.arrow": n for kind, n in rows.items()} | {files.WORD_COUNTS_FILE: distinct_words}
    output_files = {
        path.relative_to(tmp).as_posix(): _file_record(path, table_rows.get(path.relative_to(tmp).as_posix()))
        for path in sorted(p for p in tmp.rglob("*") if p.is_file())
    }
    recipe_dict = {k: ([str(x) for x in v] if isinstance(v, list) else v) for k, v in asdict(recipe).items()}
    recipe_dict["shared_data"] = str(recipe.shared_data or shared_data_dir()) if recipe.source == "shared" else None
    recipe_dict["dev_file"] = str(recipe.dev_file) if recipe.dev_file is not None else None
    dev: dict[str, Any] | None = None
    if dev_rows is not None:
        dev = {"file": DEV_FILE, "rows": len(dev_rows), "source": evalset.dev_source}
        if recipe.dev_file is not None:
            dev["fields"] = dict(zip(("document", "summary"), recipe.dev_fields, strict=True))
            info = next(i for i in inputs if i["name"] == f"dev:{recipe.dev_file}")
            dev.update(sha256=info["sha256"], bytes=info["bytes"])
    manifest = {
        "tool": TOOL,
        "format_version": FORMAT_VERSION,
        "command": command,
        "language": recipe.language,
        "normalizer": norm.normalizer_info(recipe.language),
        "recipe": recipe_dict,
        "dev": dev,
        "counts": {
            DOCUMENTS: rows[DOCUMENTS],
            SENTENCES: rows[SENTENCES],
            "dev": len(dev_rows) if dev_rows is not None else None,
            "held_out_texts": len(held_out),
            "kept_out_texts": len(kept_out_texts - held_out),
            "tokenizer_vocab": tokenizer_vocab_size(tmp / "tokenizer"),
            # the headline word statistics' totals (word_counts.arrow holds each word's counts)
            "document_words": sum(counts[DOCUMENTS].values()),
            "sentence_words": sum(counts[SENTENCES].values()),
            "distinct_words": distinct_words,
        },
        "filters": {kind: {r: s.removed.get(r, 0) for r in _FILTERS[kind]} for kind, s in sets.items()},
        "filter_descriptions": FILTER_DESCRIPTIONS,
        "sources": {
            src.name: {"set": src.kind, "read": sets[src.kind].read[src.name], "kept": sets[src.kind].kept[src.name]}
            for src in sources
        },
        "inputs": inputs,
        "files": output_files,
        "warnings": warnings,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


FILTER_DESCRIPTIONS = {
    "empty_or_boilerplate": "empty after normalisation: a byline, time stamp, editor's note or other boilerplate",
    "too_short": "fewer words than the set's minimum (after normalisation)",
    "too_long": "more words than the set's maximum",
    "evaluation_overlap": "equal (after normalisation) to a Gigaword test or dev-slice text, a --dev-file text, an "
    "--exclude text, or a --keep-out text (kept out without being held out)",
    "duplicate": "equal to an earlier text of the same set",
    "also_a_document": "a sentence equal to a kept document",
    "pair_of_a_document": "a title whose own article, or whose text, is the article or title of a kept document",
}
_COMMON = ["empty_or_boilerplate", "too_short", "too_long", "evaluation_overlap", "duplicate"]
_FILTERS = {DOCUMENTS: _COMMON, SENTENCES: _COMMON + ["also_a_document", "pair_of_a_document"]}


def build_corpus(recipe: Recipe, out: Path, overwrite: bool = False, command: list[str] | None = None,
                 num_proc: int | None = None) -> Path:
    """Build the corpus described by ``recipe`` into ``out`` (atomically) and return ``out``.

    ``num_proc`` processes normalise the text (default: one per CPU; small inputs use fewer); the corpus is the
    same for any number.

    Raises :class:`DataPrepError` for bad input, an output folder that must not be replaced, or an input inside
    the corpus folder it would replace; nothing is left behind then. ``overwrite`` allows replacing an earlier
    data_prep output (never any other folder). Ctrl-C raises :class:`BuildInterrupted` after the same clean-up.
    Unfinished folders that killed runs left beside ``out`` are removed first.
    """
    out = Path(out).absolute()
    _remove_stale_work_folders(out)
    if is_corpus_dir(out):
        _check_inputs_outside(recipe, out)
    _check_out(out, overwrite)
    created = [p for p in [out.parent, *out.parent.parents] if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_work_prefix(out, "tmp"), dir=out.parent))
    moved = False
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the corpus should get ordinary permissions
        _build_into(tmp, recipe, command if command is not None else ["data_prep.build_corpus"],
                    num_proc or default_num_proc())
        with _sigint_deferred() as interrupted:
            old = _move_into_place(tmp, out, overwrite)
        moved = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)  # the new corpus is in place; a leftover goes on the next run
        if interrupted:
            raise KeyboardInterrupt
    except BaseException as e:
        if not moved:
            shutil.rmtree(tmp, ignore_errors=True)
            for parent in created:  # deepest first: only the folders this call made, and only if still empty
                try:
                    parent.rmdir()
                except OSError:
                    break
        if isinstance(e, KeyboardInterrupt) and not isinstance(e, BuildInterrupted):
            raise BuildInterrupted(out, written=moved) from None
        if isinstance(e, InputFileError):  # an unreadable input file: one kind of error for data_prep's callers
            raise DataPrepError(str(e)) from None
        raise
    return out


def build_default_corpus(out_dir: Path | None = None, rebuild: bool = False) -> Path:
    """The default corpus from the shared data at ``out_dir`` (default ``runs/corpus``), built on first use.

    An existing complete corpus there is returned as is unless ``rebuild`` is true.
    """
    out = Path(out_dir) if out_dir is not None else DEFAULT_CORPUS_DIR
    if is_corpus_dir(out) and not rebuild:
        return out
    return build_corpus(Recipe(), out, overwrite=rebuild, command=["data_prep.build_default_corpus"])
