"""Training data: the corpus folder written by ``python -m data_prep``, deterministic batches, pseudo-summaries.

A corpus's documents and sentences are memory-mapped Arrow columns (:mod:`seq2seq2seq.corpus_files`): a training
process reads only the rows it batches, so its memory does not grow with the corpus and N processes share one copy
in the page cache. The headline word statistics come counted by data_prep (``word_counts.arrow``).

Batches are addressed by a *global micro-batch index*: batch g is a pure function of (seed, g). A process p of N at
local micro-step j reads g = j * N + p, so one process with N-times the gradient accumulation sees exactly the
same batches per optimizer step as N processes, and resuming only needs the step counter.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import shlex
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import torch
from transformers import PreTrainedTokenizerBase

from seq2seq2seq import corpus_files as files
from seq2seq2seq.config import PretrainConfig
from seq2seq2seq.language import DEFAULT_LANGUAGE, LanguageError, check_language, segmenter_note
from seq2seq2seq.normalize import normalize
from seq2seq2seq.types import Documents


class CorpusError(RuntimeError):
    """The corpus folder is missing or malformed; the message says how to rebuild it."""


@dataclass
class Corpus:
    documents: Sequence[str]  # a memory-mapped TextColumn (a list for corpora written before the Arrow format)
    sentences: Sequence[str]
    dev_documents: list[str]
    dev_summaries: list[str]
    tokenizer_dir: Path
    language: str = DEFAULT_LANGUAGE  # the corpus's language setting (seq2seq2seq.language), from its manifest
    # (sentence counts, document counts) of the words of all sentences and documents, counted by data_prep; None
    # for older corpora and for a prefix of the documents (max_documents), whose words are counted when needed
    word_counts: tuple[Counter[str], Counter[str]] | None = None

    def add_sentences(self, extra: list[str]) -> None:
        """Human sentences from outside the corpus (the semi-supervised mode's summaries): D sees them, and the
        headline word statistics count them."""
        self.sentences = self.sentences + list(extra)
        if self.word_counts is not None:
            self.word_counts = (self.word_counts[0] + files.count_words(extra), self.word_counts[1])


def _read_jsonl_field(path: Path, field: str) -> list[str]:
    if not path.is_file():
        raise CorpusError(f"{path} is missing; {_rebuild(path.parent)}")
    values = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                row = json.loads(raw.decode("utf-8"))
                values.append(str(row[field]))
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
                raise CorpusError(f"{path} line {number} is not a JSON object with a '{field}' field; "
                                  f"{_rebuild(path.parent)}") from None
    if not values:
        raise CorpusError(f"{path} is empty; {_rebuild(path.parent)}")
    return values


def corpus_language(data_dir: str | Path) -> tuple[str, dict | None]:
    """The language setting a corpus was built with and its manifest's normaliser record (``"en"`` and None for a
    corpus without a manifest, or one built before the setting existed)."""
    path = Path(data_dir) / "manifest.json"
    if not path.is_file():
        return DEFAULT_LANGUAGE, None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        recipe = manifest.get("recipe") or {}
        language = manifest.get("language") or recipe.get("language") or DEFAULT_LANGUAGE
        normalizer = manifest.get("normalizer")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise CorpusError(f"{path} is not a readable JSON manifest; rebuild the corpus with `python -m data_prep "
                          f"--out {path.parent} --overwrite`") from None
    try:
        return check_language(str(language), f"{path}: language"), normalizer if isinstance(normalizer, dict) else None
    except LanguageError as err:
        raise CorpusError(f"{err}; rebuild the corpus with this version's data_prep") from None


def _manifest(data_dir: Path) -> dict:
    """The corpus's manifest.json, or {} when it has none or it cannot be read (the errors say so elsewhere)."""
    try:
        manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _rebuild_command(data_dir: Path) -> list[str]:
    """The data_prep command line that rebuilds ``data_dir``: the one its manifest records (its own recipe, not the
    default one), with ``--out data_dir`` and ``--overwrite`` (which an existing folder needs)."""
    recorded = _manifest(data_dir).get("command")
    prefix = ["python", "-m", "data_prep"]
    args: list[str] = []
    if isinstance(recorded, list) and all(isinstance(a, str) for a in recorded) and recorded[:3] == prefix:
        rest = iter(recorded[3:])
        for arg in rest:  # --out goes (the folder may have moved), as argparse reads it: --out X, --out=X, --ou X
            name = arg.split("=", 1)[0]
            if len(name) >= 4 and "--out".startswith(name):
                if "=" not in arg:
                    next(rest, None)
            elif not (len(arg) >= 4 and "--overwrite".startswith(arg)):
                args.append(arg)
    return [*prefix, "--out", str(data_dir), *args, *(["--overwrite"] if data_dir.exists() else [])]


def _rebuild(data_dir: Path) -> str:
    return f"rebuild the corpus with `{shlex.join(_rebuild_command(data_dir))}`"


def _open_texts(data_dir: Path, kind: str) -> Sequence[str]:
    """The memory-mapped texts of ``kind``, or (an older corpus) its JSONL file's texts as a list."""
    path = files.table_file(data_dir, kind)
    older = files.jsonl_file(data_dir, kind)
    listed = _manifest(data_dir).get("files")
    if not path.is_file() and (older.is_file() or isinstance(listed, dict) and older.name in listed):
        return _read_jsonl_field(older, "text")
    if not path.is_file():  # the current format's file: an older corpus's would be read above
        raise CorpusError(f"{path} is missing; {_rebuild(data_dir)}")
    try:
        texts = files.TextColumn.open(path)
    except (OSError, pa.ArrowException, KeyError) as err:
        raise CorpusError(f"{path} is not a readable corpus table ({err}); {_rebuild(data_dir)}") from None
    if not len(texts):
        raise CorpusError(f"{path} is empty; {_rebuild(data_dir)}")
    return texts


def _stored_word_counts(data_dir: Path) -> tuple[Counter[str], Counter[str]] | None:
    path = data_dir / files.WORD_COUNTS_FILE
    if not path.is_file():
        return None
    try:
        return files.read_word_counts(path)
    except (OSError, pa.ArrowException, KeyError) as err:
        raise CorpusError(f"{path} is not a readable word count table ({err}); {_rebuild(data_dir)}") from None


def load_headline_word_stats(data_dir: str | Path) -> HeadlineWordStats:
    """The headline word statistics of a corpus folder: from its stored word counts alone (no texts are read), or,
    for an older corpus without them, counted over its texts. Raises CorpusError naming the folder and the fix when
    it is not a corpus folder."""
    data_dir = Path(data_dir)
    counts = _stored_word_counts(data_dir)
    if counts is None:
        return headline_word_stats(load_corpus(data_dir))
    return HeadlineWordStats.from_counts(*counts)


def load_corpus(data_dir: str | Path, max_documents: int = 0) -> Corpus:
    """Open documents and human sentences (memory-mapped), read the dev slice and the stored word counts, and
    locate the tokenizer of a corpus folder; ``max_documents`` > 0 keeps only the first documents."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CorpusError(f"corpus folder {data_dir} does not exist; build it with `python -m data_prep --out "
                          f"{data_dir}`")
    documents = _open_texts(data_dir, "documents")
    word_counts = _stored_word_counts(data_dir)
    if max_documents and max_documents < len(documents):
        # the stored counts cover all documents: a prefix of them has its words counted when needed
        documents = documents.head(max_documents) if isinstance(documents, files.TextColumn) else \
            documents[:max_documents]
        word_counts = None
    dev_path = data_dir / "dev.jsonl"
    if not (data_dir / "tokenizer" / "tokenizer_config.json").is_file():
        raise CorpusError(f"{data_dir / 'tokenizer'} holds no tokenizer; {_rebuild(data_dir)}")
    # a corpus of the user's own text may have no dev pairs (data_prep writes dev.jsonl only from --dev-file or the
    # shared recipe): training then runs without dev ROUGE
    has_dev = dev_path.is_file()
    language, normalizer = corpus_language(data_dir)
    note = segmenter_note(normalizer, language, f"the corpus {data_dir}")
    if note:
        print(f"warning: {note}", file=sys.stderr)
    return Corpus(
        documents=documents,
        sentences=_open_texts(data_dir, "sentences"),
        # dev documents keep the evaluation file's raw form (e.g. Gigaword's UNK): G sees them normalised like its
        # training text; the references stay as they are
        dev_documents=[normalize(d, language) for d in _read_jsonl_field(dev_path, "document")] if has_dev else [],
        dev_summaries=_read_jsonl_field(dev_path, "summary") if has_dev else [],
        tokenizer_dir=data_dir / "tokenizer",
        language=language,
        word_counts=word_counts,
    )


class BatchStream:
    """Random-access shuffled batches over ``size`` items: ``indices(g)`` is the g-th batch of an endless stream
    of epochs, each epoch a fresh permutation drawn from (seed, epoch). The last partial batch of an epoch is
    dropped so every batch has the same size."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        if size < batch_size:
            raise CorpusError(f"only {size} items for a batch size of {batch_size}; lower the batch size or "
                              f"add data")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.per_epoch = size // batch_size
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def indices(self, global_index: int) -> list[int]:
        epoch, within = divmod(global_index, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            # kept as int32 (the same values): 4 bytes a document for each stream, not 8
            self._epoch, self._perm = epoch, torch.randperm(self.size, generator=generator).to(torch.int32)
        return self._perm[within * self.batch_size:(within + 1) * self.batch_size].tolist()


# a run's random streams, one per stage (and D's and the anchor's in the adversarial stage), so that no batch of one
# replays the randomness of another
SEED_STREAMS = {"pretrain": 0, "pretrain_d": 1, "adversarial": 2, "adversarial_d": 3, "adversarial_anchor": 4}


def seed_batch(seed: int, stream: str, index: int) -> random.Random:
    """Seed torch's global RNG for batch ``index`` of ``stream`` (a key of SEED_STREAMS) and return a Python RNG of
    the same seed. Sampling and dropout draw from the global RNG: seeding it per batch makes each batch's
    randomness a function of (seed, stream, batch), the same whether a run is resumed, split over processes, or
    replayed by a diagnostic."""
    batch_seed = (seed * 7919 + SEED_STREAMS[stream] * 1_000_003 + index) % (2**31)
    torch.manual_seed(batch_seed)
    return random.Random(batch_seed)


class HeadlineWordStats:
    """How headline-like each word is: log of its relative frequency in the human sentences over that in the
    documents (add-``smoothing`` counts). Articles, auxiliaries and "said" score low (the: -2.1, said: -3.3 on the
    default corpus); names and content words score near or above zero. Unpaired data only: the same sentences the
    discriminator learns from."""

    def __init__(self, sentences: Sequence[str], documents: Sequence[str], smoothing: float = 1.0) -> None:
        self._set_counts(files.count_words(sentences), files.count_words(documents), smoothing)

    @classmethod
    def from_counts(cls, sentence_counts: Counter[str], document_counts: Counter[str],
                    smoothing: float = 1.0) -> HeadlineWordStats:
        """The statistics from word counts made beforehand (data_prep stores them with the corpus)."""
        stats = cls.__new__(cls)
        stats._set_counts(sentence_counts, document_counts, smoothing)
        return stats

    def _set_counts(self, sentence_counts: Counter[str], document_counts: Counter[str], smoothing: float) -> None:
        self.sentence_counts, self.document_counts = sentence_counts, document_counts
        self.smoothing = smoothing
        # Counter.total() or StoredCounts.total(): the stored counts are memory-mapped, never summed word by word here
        self._log_totals = (math.log(self.sentence_counts.total() + smoothing),
                            math.log(self.document_counts.total() + smoothing))

    def score(self, word: str) -> float:
        return (math.log(self.sentence_counts[word] + self.smoothing) - self._log_totals[0]
                - math.log(self.document_counts[word] + self.smoothing) + self._log_totals[1])


def headline_word_stats(corpus: Corpus) -> HeadlineWordStats:
    """The corpus's headline word statistics: from the counts data_prep stored, or (older corpora, a prefix of the
    documents) counted over its texts now."""
    if corpus.word_counts is not None:
        return HeadlineWordStats.from_counts(*corpus.word_counts)
    return HeadlineWordStats(corpus.sentences, corpus.documents)


def token_idf(tokenizer: PreTrainedTokenizerBase, documents: Sequence[str], max_documents: int = 20000,
              max_tokens: int = 128) -> torch.Tensor:
    """Inverse document frequency of each token id over (the first ``max_documents`` of) the documents, shape (V,):
    log((N + 1) / (df + 1)). Special tokens get 0, so end-of-sentence and padding carry no weight."""
    sample = documents[:max_documents]
    df = torch.zeros(len(tokenizer))
    for start in range(0, len(sample), 1000):
        ids = tokenizer(sample[start:start + 1000], max_length=max_tokens, truncation=True)["input_ids"]
        for row in ids:
            df[torch.tensor(sorted(set(row)), dtype=torch.long)] += 1
    idf = torch.log((len(sample) + 1) / (df + 1))
    idf[tokenizer.all_special_ids] = 0.0
    return idf


def headline_deletion(document: str, length: int, cfg: PretrainConfig, stats: HeadlineWordStats,
                      rng: random.Random) -> str:
    """The first ``length`` words of the document that survive deletion, in order: word w is kept with probability
    sigmoid((stats.score(w) - cfg.headline_threshold) / cfg.headline_temperature)."""
    kept = []
    for word in document.split():
        z = (stats.score(word) - cfg.headline_threshold) / cfg.headline_temperature
        if rng.random() < 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))):
            kept.append(word)
            if len(kept) == length:
                break
    return " ".join(kept) if kept else " ".join(document.split()[:length])


def headline_rule(document: str, stats: HeadlineWordStats, cfg: PretrainConfig | None = None, words: int = 10) -> str:
    """The pre-training task made deterministic, a summarizer with no model: the document's first ``words`` words
    whose headline score is above ``cfg.headline_threshold`` (default: :class:`PretrainConfig`'s). On Gigaword test
    it scores 27.86 / 10.30 / 25.17 at 10 words (docs/results.md)."""
    sharp = dataclasses.replace(cfg or PretrainConfig(), headline_temperature=1e-6)
    return headline_deletion(document, words, sharp, stats, random.Random(0))


def headline_rule_samples(document: str, stats: HeadlineWordStats, n: int, temperature: float = 0.5,
                          cfg: PretrainConfig | None = None, words: int = 10, seed: int = 0) -> list[str]:
    """``n`` variants of :func:`headline_rule`: the same deletion with the keep probability softened to
    ``temperature`` (``headline_deletion``), so words near the threshold are sometimes kept, sometimes dropped.
    Repeatable: the random draws depend on ``seed`` and the document only, not on which documents come with it.
    Candidates for a choice by the rewards (a search around the rule; docs/lab/search.md)."""
    soft = dataclasses.replace(cfg or PretrainConfig(), headline_temperature=temperature)
    rng = random.Random(f"{seed}:{document}")
    return [headline_deletion(document, words, soft, stats, rng) for _ in range(n)]


def pseudo_summary(document: str, cfg: PretrainConfig, rng: random.Random,
                   stats: HeadlineWordStats | None = None, requested: int | None = None) -> tuple[str, str]:
    """A (source, target) pair made from a document alone, for pre-training G (and, reversed, R). The target has
    ``requested`` words (pretrain.length_words: the requested length; fewer only when the document runs out), or a
    length drawn from summary_words_min to summary_words_max.

    - headline: headline-style deletion (``headline_deletion``; needs ``stats``): the document's first words minus,
      mostly, the words that headlines leave out;
    - deletion: keep an ordered subset of the words from the start of the unperturbed document;
    - swap: Wang & Lee's task: a run of consecutive words as target, and a source with ~swap_ratio of its words
      moved, so G must find and reorder rather than copy a span;
    - lead: the first words.
    """
    if cfg.task == "search":
        raise ValueError("pretrain.task 'search' reads stored targets by document index (train.batches), it does not "
                         "make them from the document")
    words = document.split()
    length = min(len(words), requested if requested is not None else
                 rng.randint(cfg.summary_words_min, cfg.summary_words_max))
    if cfg.task == "lead":
        return document, " ".join(words[:length])
    if cfg.task == "headline":
        if stats is None:
            raise ValueError("pretrain.task 'headline' needs HeadlineWordStats of the corpus")
        return document, headline_deletion(document, length, cfg, stats, rng)
    if cfg.task == "deletion":
        window = min(len(words), max(length, round(length * cfg.deletion_window)))
        keep = sorted(rng.sample(range(window), length))
        return document, " ".join(words[i] for i in keep)
    start = rng.randint(0, len(words) - length)
    target = " ".join(words[start:start + length])
    source = list(words)
    moved = [i for i in range(len(source)) if rng.random() < cfg.swap_ratio]
    shuffled = list(moved)
    rng.shuffle(shuffled)
    for i, j in zip(moved, shuffled):
        source[i] = words[j]
    return " ".join(source), target


def tokenize(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and mask, shape (b, t), each row ending with end-of-sentence (kept even when truncated)."""
    encoded = tokenizer(texts, max_length=max_tokens, truncation=True, padding=True, return_tensors="pt")
    return encoded["input_ids"], encoded["attention_mask"]


def end_of_sentence_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The token that ends a sequence: eos, or a WordPiece tokenizer's [SEP]."""
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if eos is None:
        raise ValueError(f"the tokenizer {tokenizer.name_or_path!r} has neither an eos nor a sep token")
    return eos


def tokenize_documents(tokenizer: PreTrainedTokenizerBase, r_tokenizer: PreTrainedTokenizerBase, texts: list[str],
                       max_tokens: int, device: torch.device | str = "cpu",
                       g_texts: list[str] | None = None) -> Documents:
    """Documents as G reads them and, where they differ from that, as R rebuilds them (R's tokenizer, no <s>/[CLS]),
    on ``device``. ``g_texts``: what G reads when it is not ``texts`` itself (a length control token before each)."""
    ids, mask = tokenize(tokenizer, texts if g_texts is None else g_texts, max_tokens)
    target_ids, target_mask = decoder_targets(r_tokenizer, texts, max_tokens)
    if target_ids.shape == ids.shape and torch.equal(target_ids, ids) and torch.equal(target_mask, mask):
        return Documents(ids.to(device), mask.to(device))
    return Documents(ids.to(device), mask.to(device), target_ids.to(device), target_mask.to(device))


def decoder_targets(tokenizer: PreTrainedTokenizerBase, texts: list[str],
                    max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What a decoder learns to write: each text's pieces, then end-of-sentence (kept when truncated), right-padded.
    Shape (b, t).

    No beginning-of-sequence or [CLS] token, whatever the tokenizer adds to encoder inputs: G never writes one (it
    is blocked in sampling), so the targets G imitates and R rebuilds must not hold one either. For the project's
    sentencepiece tokenizer this is exactly :func:`tokenize`.
    """
    eos, pad = end_of_sentence_id(tokenizer), tokenizer.pad_token_id
    pieces = tokenizer(texts, add_special_tokens=False, max_length=max(max_tokens - 1, 0),
                       truncation=True)["input_ids"]
    width = max(len(row) for row in pieces) + 1 if pieces else 1
    ids = torch.full((len(texts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(texts), width), dtype=torch.long)
    for i, row in enumerate(pieces):
        ids[i, : len(row) + 1] = torch.tensor(row + [eos], dtype=torch.long)
        mask[i, : len(row) + 1] = 1
    return ids, mask
