"""Shared fixtures: a tiny corpus folder (the layout data_prep writes) and a finished tiny training run."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from seq2seq2seq.paths import shared_data_dir

ROOT = Path(__file__).resolve().parent.parent
TINY_CONFIG = ROOT / "scripts" / "configs" / "tiny.yaml"

# The tests start tools in child processes (`python scripts/x.py`, `python -m ...`), which import the package as any
# user's would: from PYTHONPATH first, else from the installed (editable) copy, which may be another checkout's.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


def real_data_available() -> bool:
    """Whether the tiny corpus is built from real Gigaword rows (the shared data) rather than synthetic text."""
    return (shared_data_dir() / "gigaword" / "train10k.jsonl").is_file()


def tiny_texts() -> tuple[list[str], list[str], list[dict]]:
    """Real Gigaword rows when the shared data is there, else synthetic sentences (same layout)."""
    path = shared_data_dir() / "gigaword" / "train10k.jsonl"
    if real_data_available():
        rows = [json.loads(line) for _, line in zip(range(360), path.open(encoding="utf-8"))]
        documents = [r["document"] for r in rows[:240]]
        sentences = [r["summary"] for r in rows[240:]]
        dev = [{"document": r["document"], "summary": r["summary"]} for r in rows[300:340]]
        return documents, sentences, dev
    rng = random.Random(0)
    words = [f"w{i}" for i in range(300)] + ["the", "a", "of", "in", "said", "#", ",", "."]
    make = lambda n: " ".join(rng.choice(words) for _ in range(n))  # noqa: E731
    documents = [make(rng.randint(15, 30)) for _ in range(240)]
    return documents, [make(rng.randint(6, 10)) for _ in range(120)], [
        {"document": make(20), "summary": make(8)} for _ in range(40)]


def write_tiny_corpus(folder: Path, vocab_size: int = 400) -> Path:
    import sentencepiece as spm
    from transformers import T5Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    documents, sentences, dev = tiny_texts()
    for name, rows in (("documents.jsonl", [{"text": t} for t in documents]),
                       ("sentences.jsonl", [{"text": t} for t in sentences]), ("dev.jsonl", dev)):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder / "train.txt").write_text("\n".join(documents + sentences), encoding="utf-8")
    spm_dir = folder / "spm"
    spm_dir.mkdir(exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=str(folder / "train.txt"), model_prefix=str(spm_dir / "spiece"), vocab_size=vocab_size,
        pad_id=0, eos_id=1, unk_id=2, bos_id=3, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        bos_piece="<s>", hard_vocab_limit=False, num_threads=1, minloglevel=2)
    T5Tokenizer.from_pretrained(str(spm_dir), extra_ids=0, bos_token="<s>").save_pretrained(folder / "tokenizer")
    return folder


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine two threads can thrash (10x slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus"))


def run_tiny(corpus: Path, out: Path, *extra: str) -> int:
    from seq2seq2seq.train.cli import main

    return main(["--config", str(TINY_CONFIG), "--data_dir", str(corpus), "--output_dir", str(out), *extra])


@pytest.fixture(scope="session")
def tiny_run(tiny_corpus, tmp_path_factory) -> Path:
    """A finished run of the tiny config: RUN/final/{summarizer,reconstructor,discriminator,tokenizer}."""
    out = tmp_path_factory.mktemp("run")
    assert run_tiny(tiny_corpus, out) == 0
    return out


def final_weights(run: Path) -> dict:
    """Every tensor of a finished run's three exports, by "part.name"."""
    from safetensors.torch import load_file

    weights = {}
    for part in ("summarizer", "reconstructor", "discriminator"):
        for key, value in load_file(str(run / "final" / part / "model.safetensors")).items():
            weights[f"{part}.{key}"] = value
    return weights


def assert_same_weights(a: Path, b: Path) -> None:
    """Two runs ended with the same parameters (to float tolerance): e.g. resumed vs straight, 2 processes vs 1."""
    import torch

    wa, wb = final_weights(a), final_weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.allclose(wa[key], wb[key], atol=1e-5, rtol=1e-4), f"{key} differs"
