"""The "seq2seq2seq-summarization" transformers pipeline gives the summarize CLI's summaries."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import transformers

import seq2seq2seq.pipeline as s2s_pipeline
from seq2seq2seq import summarize

# the tiny export builder lives in test_summarize.py; loaded by path so this works under any pytest import mode
# (the shared fixtures belong to tests/conftest.py, which another part of the project owns)
_spec = importlib.util.spec_from_file_location("_summarize_test_helpers", Path(__file__).with_name("test_summarize.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
DOCUMENTS = _helpers.DOCUMENTS + ["", "Short one."]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _helpers.build_tiny_export(tmp_path_factory.mktemp("export"))



def cli_summaries(export: Path, folder: Path, *flags: str) -> list[str]:
    src = folder / "in.txt"
    src.write_text("".join(d + "\n" for d in DOCUMENTS), encoding="utf-8")
    out = folder / "out.txt"
    assert summarize.main(["--model", str(export), "--input", str(src), "--output", str(out), "--quiet", *flags]) == 0
    return out.read_text(encoding="utf-8").split("\n")[:-1]


def test_pipeline_equals_cli_greedy(export, tmp_path):
    expected = cli_summaries(export, tmp_path)
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(export))
    assert isinstance(pipe, s2s_pipeline.Seq2Seq2SeqSummarizationPipeline)
    one = pipe(DOCUMENTS[0])
    assert one == [{"summary_text": expected[0]}]
    got = pipe(DOCUMENTS)
    assert got == [{"summary_text": s} for s in expected]
    assert got[-2] == {"summary_text": ""}  # an empty document has an empty summary, as in the CLI
    assert pipe(DOCUMENTS, batch_size=4) == got  # batching does not change greedy summaries


def test_pipeline_settings_match_cli_flags(export, tmp_path):
    expected = cli_summaries(export, tmp_path, "--beams", "3", "--max-words", "3", "--no-normalize")
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu", num_beams=3)
    got = pipe(DOCUMENTS, max_words=3, normalize=False)
    assert [g["summary_text"] for g in got] == expected
    assert all(len(g["summary_text"].split()) <= 3 for g in got)


def test_pipeline_reads_the_export_settings(export):
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu")
    stored = json.loads((export / "seq2seq2seq_decoding.json").read_text())
    assert pipe.decoding.max_summary_tokens == stored["max_summary_tokens"] == 8
    assert pipe.max_document_tokens == 64  # BART max_position_embeddings (66) - 2: no limit stored in the export
    with pytest.raises(TypeError, match="unknown argument"):
        pipe(DOCUMENTS[0], temperature=0.7)


def test_register_is_idempotent(monkeypatch):
    registry = transformers.pipelines.PIPELINE_REGISTRY
    assert registry.supported_tasks[s2s_pipeline.TASK]["impl"] is s2s_pipeline.Seq2Seq2SeqSummarizationPipeline
    calls = []
    monkeypatch.setattr(registry, "register_pipeline", lambda *a, **kw: calls.append(a))
    s2s_pipeline.register()
    s2s_pipeline.register()
    assert calls == []  # already registered on import: nothing re-registered, no "Overwriting" warning
    monkeypatch.delitem(registry.supported_tasks, s2s_pipeline.TASK)
    s2s_pipeline.register()
    assert len(calls) == 1
