"""Train the project's sentencepiece tokenizer and export it as a ``transformers`` tokenizer.

One unigram model, trained on the corpus's own documents and sentences, is shared by the summarizer, the
reconstructor and the discriminator, so summary ids feed R and D directly. Special ids are fixed:
pad=0 ``<pad>``, eos=1 ``</s>``, unk=2 ``<unk>``, bos=3 ``<s>``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from data_prep.common import DataPrepError

SPECIAL_TOKENS = {"pad": (0, "<pad>"), "eos": (1, "</s>"), "unk": (2, "<unk>"), "bos": (3, "<s>")}
MODEL_FILE = "spiece.model"


def _collect_lines(texts: Iterable[str | Path]) -> list[str]:
    """Texts as a list of lines; :class:`~pathlib.Path` items are read as UTF-8 files, one text a line."""
    lines: list[str] = []
    for item in texts:
        if isinstance(item, Path):
            with open(item, encoding="utf-8") as f:
                lines.extend(line.rstrip("\n") for line in f if line.strip())
        elif item.strip():
            lines.append(item)
    return lines


def sample_lines(lines: Iterable[str], total: int, max_lines: int, seed: int) -> Iterator[str]:
    """At most ``max_lines`` of the ``total`` lines, drawn with ``seed``, in their order, read as they stream by.

    All of them when ``total <= max_lines``. The draw is a function of (total, max_lines, seed) alone, so a list and
    a stream of the same lines give the same sample.
    """
    if total <= max_lines:
        yield from lines
        return
    keep = sorted(random.Random(seed).sample(range(total), max_lines))
    wanted = iter(keep)
    target = next(wanted)
    for i, line in enumerate(lines):
        if i == target:
            yield line
            target = next(wanted, None)
            if target is None:
                return


def train_tokenizer(
    texts: Iterable[str | Path],
    out_dir: Path,
    vocab_size: int = 16000,
    seed: int = 0,
    max_lines: int = 1_000_000,
    total: int | None = None,
) -> Path:
    """Train a unigram sentencepiece model on ``texts`` and save it as a transformers tokenizer in ``out_dir``.

    Args:
        texts: training texts (one per item), or text files (``Path`` items, one text a line).
        out_dir: folder to create; it receives ``tokenizer.json``, ``tokenizer_config.json`` and ``spiece.model``
            (the raw sentencepiece model, kept for inspection) and loads with ``AutoTokenizer.from_pretrained``.
        vocab_size: upper bound on the vocabulary; a text too small to support it gets a smaller one
            (``hard_vocab_limit=False``), so read the real size from ``len(tokenizer)``.
        seed: seeds the sampling of at most ``max_lines`` lines and sentencepiece's own generator.
        max_lines: more lines than this are sampled down (fixed seed, original order kept).
        total: the number of ``texts`` (non-empty strings), when known: they are then streamed and only the sample
            is held in memory (by sentencepiece), instead of every text being collected first.

    Returns:
        ``out_dir``.

    Training runs on one thread: with two, sentencepiece gives a different model on each run.
    """
    import sentencepiece as spm

    if total is None:
        lines: Iterable[str] = _collect_lines(texts)
        total = len(lines)  # type: ignore[arg-type]
    else:
        lines = texts  # type: ignore[assignment]
    if not total:
        raise DataPrepError("no text to train the tokenizer on; the corpus is empty")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The model goes to memory, not to a model_prefix: sentencepiece stores the prefix (a path) inside the model,
    # which would make the bytes depend on the output folder's name.
    model = io.BytesIO()
    spm.set_random_generator_seed(seed)
    spm.SentencePieceTrainer.train(
        sentence_iterator=sample_lines(lines, total, max_lines, seed),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        # The text is already normalised (NFKC, evaluation form): an identity rule keeps decode(encode(x)) == x.
        normalization_rule_name="identity",
        # Every character of the normalised text gets a piece, so nothing of it decodes as <unk>.
        character_coverage=1.0,
        input_sentence_size=0,
        num_threads=1,
        minloglevel=2,
        **{f"{name}_id": i for name, (i, _) in SPECIAL_TOKENS.items()},
        **{f"{name}_piece": piece for name, (_, piece) in SPECIAL_TOKENS.items()},
    )
    (out_dir / MODEL_FILE).write_bytes(model.getvalue())
    _export(out_dir)
    return out_dir


def _export(out_dir: Path) -> None:
    """Wrap ``out_dir/spiece.model`` as a transformers tokenizer in ``out_dir`` and check its special ids."""
    from transformers import AutoTokenizer, T5Tokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # quiet about the missing extra ids / legacy flags we do not use
    try:
        # T5Tokenizer reads spiece.model from the folder; extra_ids=0 drops T5's 100 sentinel tokens.
        # (T5TokenizerFast(vocab_file=...) silently builds a 4-token vocabulary: not used.)
        tokenizer = T5Tokenizer.from_pretrained(str(out_dir), extra_ids=0, bos_token="<s>")
        tokenizer.save_pretrained(str(out_dir))
        loaded = AutoTokenizer.from_pretrained(str(out_dir))
    finally:
        hf_logging.set_verbosity(verbosity)
    for name, (i, piece) in SPECIAL_TOKENS.items():
        if getattr(loaded, f"{name}_token_id") != i or getattr(loaded, f"{name}_token") != piece:
            raise DataPrepError(
                f"{out_dir}: the exported tokenizer has {name}={getattr(loaded, f'{name}_token')!r} "
                f"(id {getattr(loaded, f'{name}_token_id')}), expected {piece!r} (id {i}); "
                "the installed transformers version exports sentencepiece models differently"
            )


def tokenizer_vocab_size(tokenizer_dir: Path) -> int:
    """The real vocabulary size of a trained tokenizer (it can be below the requested one for little text)."""
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=str(Path(tokenizer_dir) / MODEL_FILE)).get_piece_size()
