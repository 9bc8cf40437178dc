"""The candidates and the judges of the search targets (``python -m data_prep.search_targets``).

Candidates of a document, in this order (G's proposals only where new: a text G proposes that the rule or an earlier
proposal already gave is not added again; the rule's variants stay as drawn, repeats included, as the test-time
search and the targets computed before G's proposals have them):

- ``rule``: the headline rule's summary; ``variant``: ``--candidates`` variants of it at ``--temperature``;
- with ``--model`` (a G export), ``greedy``: G's decoded summary; ``sample``: ``--samples`` samples of G, seeded per
  chunk of documents (repeatable for the same seed and chunk size); ``drop``: G's summary with each word dropped in
  turn; ``insert``: G's summary with one of the first ``--edits`` source words it left out put back at its place in
  the source (``--edits 0``: neither drops nor inserts). Expert iteration: round k+1 searches around round k's G.

Every candidate is cut to ``--words`` words, the rule's length, so that none wins by length alone.

The judges (selectors) are rewards of the registry, z-scored per document and summed with their weights, as the
test-time choice combines them: similarity to the document, fluency, headline vocabulary, and from a training run's
exports R's reconstruction and D's P(human) (:class:`seq2seq2seq.rewards.texts.TextScores`). A weight of 0 leaves a
judge out (it is not loaded): that is the ablation.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
from pathlib import Path

import torch
import yaml

from seq2seq2seq.config import RewardSpec
from seq2seq2seq.data import HeadlineWordStats, headline_rule, headline_rule_samples, load_headline_word_stats
from seq2seq2seq.inference.api import length_prefix, trim_words
from seq2seq2seq.models.build import ModelLoadError

KINDS = ("rule", "variant", "greedy", "sample", "drop", "insert")
# the judges by name: the flag naming each one's model, and the flag of its weight
JUDGE_FLAGS = {"similarity": "--similarity_model", "fluency": "--fluency_model", "headline": "--data_dir",
               "reconstruction": "--reconstruction_model", "discriminator": "--discriminator_model"}


# ---- candidates ------------------------------------------------------------------------------------------------------

def word_drops(summary: str) -> list[str]:
    """``summary`` with each word dropped in turn (a one-word summary gives nothing: no empty candidate)."""
    words = summary.split()
    return [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))] if len(words) > 1 else []


def source_positions(summary_words: list[str], source_words: list[str]) -> list[int]:
    """Where each summary word is in the source, read left to right (each the first occurrence after the previous
    one's); a word not found there takes the previous word's position (-1 at the start), so the list never falls."""
    positions, cursor = [], -1
    for word in summary_words:
        found = next((j for j in range(cursor + 1, len(source_words)) if source_words[j] == word), None)
        cursor = cursor if found is None else found
        positions.append(cursor)
    return positions


def word_inserts(summary: str, document: str, limit: int) -> list[str]:
    """``summary`` with one source word it left out put back, for each of the first ``limit`` distinct such words of
    ``document``, each before the first summary word that stands later in the source."""
    words, source = summary.split(), document.split()
    positions, present, out = source_positions(words, source), set(words), []
    for p, word in enumerate(source):
        if len(out) == limit:
            break
        if word in present:
            continue
        present.add(word)
        at = next((i for i, q in enumerate(positions) if q > p), len(words))
        out.append(" ".join(words[:at] + [word] + words[at:]))
    return out


def add_new(texts: list[str], kinds: list[str], more: list[str], more_kinds: list[str]) -> None:
    """Append to ``texts`` (and their ``kinds``) each of ``more`` that is neither among them yet nor empty."""
    seen = set(texts)
    for text, kind in zip(more, more_kinds):
        if text and text not in seen:
            seen.add(text)
            texts.append(text)
            kinds.append(kind)


def edits_of(summary: str, document: str, edits: int, words: int) -> tuple[list[str], list[str]]:
    """The drop and insert edits of ``summary`` (each cut to ``words``) and their kinds."""
    drops = word_drops(summary)
    inserts = [trim_words(t, words) for t in word_inserts(summary, document, edits)]
    return drops + inserts, ["drop"] * len(drops) + ["insert"] * len(inserts)


def rule_candidates(document: str, stats: HeadlineWordStats, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The rule's summary and its variants, and their kinds."""
    variants = headline_rule_samples(document, stats, args.candidates, args.temperature, words=args.words,
                                     seed=args.seed)
    return [headline_rule(document, stats, words=args.words), *variants], ["rule"] + ["variant"] * len(variants)


def model_candidates(summarizer, documents: list[str], args: argparse.Namespace,
                     chunk: int) -> list[tuple[list[str], list[str]]]:
    """Per document, G's decoded summary, its samples and the edits of the decoded summary, with their kinds."""
    from seq2seq2seq.inference.choose import candidate_summaries

    rows = candidate_summaries(summarizer.model, summarizer.tokenizer, documents, summarizer.decoding,
                               k=args.samples, max_document_tokens=summarizer.max_document_tokens,
                               seed=args.seed * 1_000_003 + chunk, temperature=args.sample_temperature,
                               prefix=length_prefix(summarizer, args.words))
    out = []
    for document, row in zip(documents, rows):
        greedy, samples = trim_words(row[0], args.words), [trim_words(t, args.words) for t in row[1:]]
        edits, edit_kinds = edits_of(greedy, document, args.edits, args.words) if args.edits else ([], [])
        out.append(([greedy, *samples, *edits], ["greedy"] + ["sample"] * len(samples) + edit_kinds))
    return out


def candidates_of(documents: list[str], stats: HeadlineWordStats, args: argparse.Namespace, summarizer=None,
                  chunk: int = 0, proposals: list[tuple[list[str], list[str]]] | None = None
                  ) -> tuple[list[list[str]], list[list[str]]]:
    """Per document, its candidates (the rule's summary first, then its variants as drawn, repeats included, as the
    test-time search has them; then G's proposals that are new) and their kinds; ``summarizer``: G, or None;
    ``proposals``: G's, already made by :func:`model_candidates` (instead of ``summarizer``)."""
    pools = [rule_candidates(d, stats, args) for d in documents]
    if proposals is None and summarizer is not None:
        proposals = model_candidates(summarizer, documents, args, chunk)
    for (texts, kinds), (more, more_kinds) in zip(pools, proposals or []):
        add_new(texts, kinds, more, more_kinds)
    return [texts for texts, _ in pools], [kinds for _, kinds in pools]


# ---- the judges ------------------------------------------------------------------------------------------------------

def fingerprint(folder: str | Path) -> str:
    """sha256 of a model folder's weights (each *.safetensors file's name and bytes, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.safetensors")):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def export_folder(path: str | Path, part: str) -> Path:
    """The ``part`` export (reconstructor, discriminator) of ``path``: the folder itself, RUN/final/PART or
    FOLDER/PART; a ModelLoadError naming what to pass otherwise."""
    path = Path(path)
    for candidate in (path, path / "final" / part, path / part):
        if (candidate / "config.json").is_file():
            return candidate
    raise ModelLoadError(f"{path} holds no {part} export (no config.json there, in final/{part} nor in {part}); "
                         f"pass a finished training run's folder or its final/{part}")


def run_settings(folder: Path) -> dict:
    """The training config beside an export (RUN/final/config.yaml), {} where there is none."""
    path = folder.parent / "config.yaml"
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return loaded if isinstance(loaded, dict) else {}


def judge_specs(args: argparse.Namespace) -> list[RewardSpec]:
    """The weighted judges, in the order their z-scores are summed (that of the test-time choice, then R, D)."""
    specs = [RewardSpec("similarity", args.similarity_weight, args.similarity_model),
             RewardSpec("fluency", args.fluency_weight if args.fluency_model else 0.0, args.fluency_model),
             RewardSpec("headline", args.headline_weight),
             RewardSpec("reconstruction", args.reconstruction_weight),
             RewardSpec("discriminator", args.discriminator_weight)]
    return [spec for spec in specs if spec.weight > 0]


def load_judge(name: str, path: str, device: torch.device | str):
    """R (``reconstruction``) or D (``discriminator``) of a run's export, its tokenizer and its lengths (from the
    run's config beside the export; the tiny defaults where there is none)."""
    from seq2seq2seq.models.build import load_discriminator, load_seq2seq
    from seq2seq2seq.models.warm_start import checkpoint_tokenizer

    part = "reconstructor" if name == "reconstruction" else "discriminator"
    if not path:
        raise ModelLoadError(f"--{name}_weight > 0 needs --{name}_model: a finished training run's folder (its "
                             f"final/{part} is used) or the export folder itself")
    folder = export_folder(path, part)
    tokenizer = checkpoint_tokenizer(folder, f"--{name}_model")
    if tokenizer is None:
        raise ModelLoadError(f"{folder} holds no tokenizer; copy the run's in (cp RUN/final/tokenizer/* {folder}/)")
    model = (load_seq2seq(folder) if name == "reconstruction" else load_discriminator(folder)).to(device).eval()
    settings = run_settings(folder)
    lengths = {"max_summary_tokens": (settings.get("decoding") or {}).get("max_summary_tokens", 16),
               "max_document_tokens": (settings.get("model") or {}).get("max_document_tokens", 64)}
    # what D reads at most: its run's setting, else its own config's (a seq2seq2seq D records it)
    d_tokens = (settings.get("discriminator") or {}).get("max_tokens") or getattr(model.config, "max_tokens", 48)
    return model, tokenizer, lengths, d_tokens


def load_judges(args: argparse.Namespace, data_dir: Path, device: torch.device | str = "cpu"):
    """The weighted judges as one RewardSet, each able to rank texts (``score_candidates``); R and D are built by
    the registry from the context, and read each text in their own tokenizer."""
    from seq2seq2seq.decoding.retokenize import Retokenizer
    from seq2seq2seq.rewards.base import RewardContext, RewardSet
    from seq2seq2seq.rewards.registry import build_rewards
    from seq2seq2seq.rewards.texts import TextScores

    specs = judge_specs(args)
    context = RewardContext(device=device, discriminator_reward="prob", settings=JUDGE_FLAGS,
                            load_headline_stats=functools.partial(load_headline_word_stats, data_dir))
    judges = {spec.name: load_judge(spec.name, getattr(args, f"{spec.name}_model"), device)
              for spec in specs if spec.name in ("reconstruction", "discriminator")}
    if "reconstruction" in judges:
        context.reconstructor, tokenizer, lengths, _ = judges["reconstruction"]
        context.to_r = Retokenizer(tokenizer, tokenizer, lengths["max_summary_tokens"])
    if "discriminator" in judges:
        context.discriminator, tokenizer, _, d_tokens = judges["discriminator"]
        context.to_d = Retokenizer(tokenizer, tokenizer, d_tokens)
    return RewardSet(TextScores(r, judges[r.name][1], device=device, **judges[r.name][2]) if r.name in judges else r
                     for r in build_rewards(specs, context))


def choose(judges, documents: list[str], candidates: list[list[str]]) -> list[int]:
    """Per document, the index of the candidate with the best z-scored, weighted sum of the judges' scores (the
    first among equals, so the rule's summary on ties)."""
    from seq2seq2seq.inference.choose import CandidateChooser
    from seq2seq2seq.rewards.base import combine

    weights = {judge.name: judge.weight for judge in judges}
    parts = {judge.name: judge.score_candidates(documents, candidates) for judge in judges}
    return CandidateChooser.best(combine(parts, weights, how="zscore"))
