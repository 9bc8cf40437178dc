"""The choice among candidates an export was measured best with, recorded beside it so that
``summarize --model EXPORT`` with no choice flag runs it.

``scripts/benchmark.py --record_choice`` writes ``seq2seq2seq_choice.json`` into the dev-selected summarizer export
when the dev-best choice (G's summary and samples, the rule's summary and variants, ranked by the rewards) beats G's
own greedy summary on dev; the file holds the summarize options of that choice (paths absolute: the fluency LM,
the similarity encoder, the corpus whose word counts the rule reads) and the scores it was picked on. ``summarize``
applies it when the command line names no choice option at all; ``--candidates 0`` turns it off (G alone, greedy:
the fastest). On the command line each choice option given overrides the recorded one of the same name and the rest
stay recorded (:func:`merge_recorded_choice`: ``--contiguity-weight 1`` re-weighs the recorded choice); through the
API (:func:`with_recorded_choice`), options that name any choice set the whole choice. ``in_order`` (G's candidates
keep the document's word order) comes with the recorded choice unless ``--in-order``/``--no-in-order`` is given; it
is no choice option of its own.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHOICE_FILE = "seq2seq2seq_choice.json"
# the summarize options (SummarizeOptions fields) a recorded choice sets, with their defaults when none is given
CHOICE_OPTIONS = {"candidates": 0, "similarity_model": "", "fluency_model": "", "fluency_weight": None,
                  "headline_weight": 0.0, "contiguity_weight": 0.0, "corpus": "", "rule_candidate": False,
                  "rule_samples": 0, "rule_temperature": 0.5, "candidates_temperature": 1.0, "seed": 0,
                  "in_order": None}
PATHS = ("similarity_model", "fluency_model", "corpus")


class RecordedChoiceError(ValueError):
    """A recorded choice that cannot be used as it is (named, with the fix)."""


def write_choice(folder: Path, options: dict[str, Any], measured: dict[str, Any]) -> Path:
    """Record ``options`` (choice options by SummarizeOptions field; paths made absolute) and what they were
    picked on (``measured``) in ``folder``'s CHOICE_FILE; returns its path."""
    unknown = sorted(set(options) - set(CHOICE_OPTIONS))
    if unknown:
        raise RecordedChoiceError(f"not choice options: {', '.join(unknown)}")
    stored = {**CHOICE_OPTIONS, **options}
    for key in PATHS:
        if stored[key] and Path(stored[key]).exists():
            stored[key] = str(Path(stored[key]).resolve())
    path = Path(folder) / CHOICE_FILE
    path.write_text(json.dumps({"options": stored, "measured": measured}, indent=2) + "\n", encoding="utf-8")
    return path


def read_choice(folder: Path) -> dict[str, Any] | None:
    """The recorded choice options of an export, None when it has none; RecordedChoiceError for a file that is not
    one, or names a folder that is gone."""
    path = Path(folder) / CHOICE_FILE
    if not path.is_file():
        return None
    fix = f"summarize with --candidates 0 (G alone), or delete {path} or re-record it (scripts/benchmark.py " \
          f"--record_choice)"
    try:
        options = json.loads(path.read_text(encoding="utf-8"))["options"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RecordedChoiceError(f"{path} is not a recorded choice ({err}); {fix}") from None
    if not isinstance(options, dict) or set(options) - set(CHOICE_OPTIONS):
        raise RecordedChoiceError(f"{path} holds options summarize does not know "
                                  f"({', '.join(sorted(set(options) - set(CHOICE_OPTIONS)))}); {fix}")
    for key in ("fluency_model", "corpus"):  # folders made here (the similarity encoder may be a hub name)
        if options.get(key) and not Path(options[key]).exists():
            raise RecordedChoiceError(f"the export's recorded choice needs {key.replace('_', '-')} "
                                      f"{options[key]}, which is not there; pass --{key.replace('_', '-')} FOLDER "
                                      f"with the whole choice, or {fix}")
    return options


def gives_no_choice(options: Any) -> bool:
    """True when a SummarizeOptions names no choice option (each at its default, ``candidates`` not given)."""
    return options.candidates is None and all(
        getattr(options, key) == default for key, default in CHOICE_OPTIONS.items()
        if key not in ("candidates", "in_order"))


def with_recorded_choice(options: Any, folder: Path) -> tuple[Any, str | None]:
    """``options`` with the export's recorded choice when they name none (and a note saying so), else as given
    (``candidates`` None becomes 0)."""
    if not gives_no_choice(options):
        return (dataclasses.replace(options, candidates=0) if options.candidates is None else options), None
    recorded = read_choice(folder)
    if recorded is None:
        return dataclasses.replace(options, candidates=0), None
    if options.in_order is not None or recorded.get("in_order") is None:  # the command line's word order wins
        recorded = {key: value for key, value in recorded.items() if key != "in_order"}
    note = (f"the export's recorded choice: G's summary and {recorded['candidates']} samples"
            + (f", the rule's summary and {recorded['rule_samples']} variants" if recorded["rule_candidate"] else "")
            + (" (G's in the document's word order)" if recorded.get("in_order") else "")
            + ", ranked by the rewards (--candidates 0: G alone, faster)")
    return dataclasses.replace(options, **recorded), note


def merge_recorded_choice(values: dict[str, Any], given: set[str],
                          folder: Callable[[], Path]) -> tuple[dict[str, Any], str | None]:
    """The command line's option ``values`` (SummarizeOptions fields) with the recorded choice of the export
    ``folder()`` (resolved only when a choice option is given) under them:
    each choice option named in ``given`` (the options the command line set explicitly) keeps its value, the others
    take the recorded ones. Unchanged, with no note, when no choice option is given (the recorded choice then applies
    whole, as :func:`with_recorded_choice` does), when ``--candidates 0`` asks for G alone, or when the export
    records no choice. A fluency model given for a recorded choice without one gets the default weight, not the
    recorded 0; ``--no-rule-candidate`` drops the recorded rule variants too."""
    named = given & (set(CHOICE_OPTIONS) - {"in_order"})
    if not named or values.get("candidates") == 0:
        return values, None
    recorded = read_choice(folder())
    if recorded is None:
        return values, None
    keep = {key: value for key, value in recorded.items() if key not in given}
    if keep.get("in_order") is None:
        keep.pop("in_order", None)
    if "fluency_model" in given and "fluency_weight" in keep and not recorded["fluency_model"]:
        del keep["fluency_weight"]
    if "rule_samples" in keep and not values.get("rule_candidate", True) and "rule_candidate" in given:
        keep["rule_samples"] = 0  # --no-rule-candidate drops the recorded variants of the rule with it
    flags = ", ".join("--" + key.replace("_", "-") for key in sorted(named))
    note = f"the export's recorded choice with {flags} from the command line (--candidates 0: G alone, faster)"
    return {**values, **keep}, note
