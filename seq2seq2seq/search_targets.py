"""Search targets as training reads them: the rewards' choice per document among the headline rule's candidates,
computed once per corpus by ``python -m data_prep.search_targets`` and read by ``pretrain.task: search``."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from seq2seq2seq import corpus_files as files

TARGETS_FOLDER = "search_targets"  # inside the corpus folder, unless told otherwise
MANIFEST = "manifest.json"
# kind: which proposal the target came from (rule, variant, greedy, sample, drop, insert); chunks written before it
# have no such column
SCHEMA = pa.schema([("index", pa.int64()), ("target", pa.string()), ("choice", pa.int32()), ("kind", pa.string())])


class SearchTargetsError(RuntimeError):
    """The targets folder or its inputs cannot be used; the message says how to fix it."""


def documents_sha256(data_dir: Path) -> str | None:
    """The documents file's hash as data_prep's manifest records it (None for a corpus without one)."""
    try:
        listed = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError):
        return None
    entry = listed.get("documents.arrow") or listed.get("documents.jsonl")
    return entry.get("sha256") if isinstance(entry, dict) else entry if isinstance(entry, str) else None


class SearchTargets:
    """A folder's targets by document index: ``targets[i]`` is document i's target (None where not computed)."""

    def __init__(self, folder: Path, by_index: dict[int, str], choices: list[int], settings: dict,
                 kinds: list[str | None] | None = None) -> None:
        self.folder, self.by_index, self.choices, self.settings = folder, by_index, choices, settings
        self.kinds = kinds if kinds is not None else [None] * len(choices)  # None: a chunk written without kinds

    def __len__(self) -> int:
        return len(self.by_index)

    def __getitem__(self, index: int) -> str | None:
        return self.by_index.get(index)


def read_targets(folder: Path, check: bool = True) -> SearchTargets:
    """The targets of a folder written by this command; with ``check``, only a complete one (its manifest)."""
    folder = Path(folder)
    fix = f"compute them with `python -m data_prep.search_targets --data_dir CORPUS --out {folder}`"
    if not folder.is_dir():
        raise SearchTargetsError(f"no search targets in {folder}: {fix}")
    if check and not (folder / MANIFEST).is_file():
        raise SearchTargetsError(f"the search targets in {folder} are incomplete (no {MANIFEST}); run the same "
                                 f"command again to finish them")
    by_index, choices, kinds = {}, [], []
    for path in sorted(folder.glob("chunk-*.arrow")):
        table = files.open_table(path)
        for i, target, choice in zip(table["index"].to_pylist(), table["target"].to_pylist(),
                                     table["choice"].to_pylist()):
            by_index[i] = target
            choices.append(choice)
        kinds += table["kind"].to_pylist() if "kind" in table.column_names else [None] * table.num_rows
    settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    return SearchTargets(folder, by_index, choices, settings, kinds)


def check_targets(targets: SearchTargets, data_dir: Path, n_documents: int, covered_only: bool = False) -> None:
    """Refuse targets of another corpus, or (unless ``covered_only``) ones that leave some of the ``n_documents``
    training documents out."""
    recorded, current = targets.settings.get("documents_sha256"), documents_sha256(Path(data_dir))
    first = targets.settings.get("first_document") or 0
    fix = (f"compute them for this corpus: `python -m data_prep.search_targets --data_dir {data_dir} "
           f"--max_documents {n_documents}{f' --first_document {first}' if first else ''} --out {targets.folder}`")
    if recorded != current:
        raise SearchTargetsError(f"the search targets in {targets.folder} were computed for other documents "
                                 f"(documents sha256 {recorded}, this corpus {current}); {fix}")
    missing = [] if covered_only else [i for i in range(n_documents) if targets[i] is None]
    if missing:
        raise SearchTargetsError(f"the search targets in {targets.folder} cover {n_documents - len(missing)} of the "
                                 f"{n_documents} training documents (first missing: {missing[0]}); {fix}, or train "
                                 f"on the documents they cover (max_documents, or pretrain.search_documents: "
                                 f"covered)")


def covered_documents(read: list[SearchTargets], n_documents: int, batch_size: int = 1) -> list[int]:
    """pretrain.search_documents 'covered': the training documents (below ``n_documents``) that every folder has a
    target for, in index order; refused when they are fewer than one batch."""
    covered = {i for i in read[0].by_index if i < n_documents}  # not a set of every index: corpora run to millions
    for targets in read[1:]:
        covered &= targets.by_index.keys()
    if len(covered) < batch_size:
        folders = ", ".join(str(t.folder) for t in read)
        raise SearchTargetsError(f"the search targets in {folders} cover {len(covered)} of the first {n_documents} "
                                 f"training documents, fewer than a batch of {batch_size}; raise max_documents to "
                                 f"include the documents they were computed for, or compute targets for more")
    return sorted(covered)


def targets_by_length(read: list[SearchTargets], lengths: list[int]) -> dict[int, SearchTargets]:
    """pretrain.length_words: the folder for each length, by the ``words`` its settings record; refused unless every
    length has exactly one."""
    by_words: dict[int, SearchTargets] = {}
    for targets in read:
        words = targets.settings.get("words")
        if words in by_words:
            raise SearchTargetsError(f"the search targets in {by_words[words].folder} and {targets.folder} were both "
                                     f"computed at {words} words; give one folder per length")
        by_words[words] = targets
    missing = [n for n in lengths if n not in by_words]
    if missing:
        have = ", ".join(f"{t.folder} ({w} words)" for w, t in by_words.items())
        raise SearchTargetsError(f"pretrain.length_words asks for {', '.join(map(str, missing))} words but no search "
                                 f"targets folder was computed at that length ({have}); compute one with "
                                 f"`python -m data_prep.search_targets --words {missing[0]} --out FOLDER` and list it "
                                 f"in pretrain.search_targets")
    return {n: by_words[n] for n in lengths}
