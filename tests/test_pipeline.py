"""The "seq2seq2seq-summarization" transformers pipeline gives the summarize CLI's summaries."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import transformers

import seq2seq2seq.inference.hf_pipeline as s2s_pipeline
from seq2seq2seq.inference import cli as summarize
from seq2seq2seq.models.build import ModelLoadError

# the tiny export builder lives in test_summarize.py; loaded by path so this works under any pytest import mode
# (the shared fixtures belong to tests/conftest.py, which another part of the project owns)
_spec = importlib.util.spec_from_file_location("_summarize_test_helpers", Path(__file__).with_name("test_summarize.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
DOCUMENTS = _helpers.DOCUMENTS + ["", "Short one."]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _helpers.build_tiny_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(autouse=True, scope="module")
def _registered() -> None:
    s2s_pipeline.register()  # as a user does: the task in transformers' registry, no model path checks


@pytest.fixture
def checked_pipeline(monkeypatch: pytest.MonkeyPatch) -> Callable:
    """``transformers.pipeline`` after the opt-in model path checks; transformers' own function again afterwards.

    Taken from sys.modules: transformers replaces its top-level module once while it loads, so the ``transformers``
    bound in this file may be an earlier copy that has cached the function at its first use (see
    install_model_path_checks).
    """
    top = sys.modules["transformers"]
    for module in (top, transformers.pipelines):
        monkeypatch.setattr(module, "pipeline", transformers.pipelines.pipeline)  # recorded: teardown restores it
    s2s_pipeline.install_model_path_checks()
    return top.pipeline


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
    assert calls == []  # already registered: nothing re-registered, no "Overwriting" warning
    monkeypatch.delitem(registry.supported_tasks, s2s_pipeline.TASK)
    s2s_pipeline.register()
    assert len(calls) == 1


def test_importing_the_package_changes_nothing_in_transformers():
    # a fresh interpreter: in this one the tests have registered the task already
    code = ("import sys, transformers, transformers.pipelines as tp\n"
            "import seq2seq2seq.inference.api, seq2seq2seq.inference.cli, seq2seq2seq.inference.hf_pipeline as h\n"
            "def stock():\n"
            "    return sys.modules['transformers'].pipeline is tp.pipeline and tp.pipeline.__module__ == "
            "'transformers.pipelines' and not hasattr(tp.pipeline, '__wrapped__')\n"
            "assert h.TASK not in tp.PIPELINE_REGISTRY.supported_tasks, 'registered on import'\n"
            "assert stock(), 'transformers.pipeline replaced on import'\n"
            "h.register()\n"
            "assert tp.PIPELINE_REGISTRY.supported_tasks[h.TASK]['impl'] is h.Seq2Seq2SeqSummarizationPipeline\n"
            "assert stock(), 'register() replaced transformers.pipeline'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=300)
    assert done.returncode == 0, done.stderr


def test_model_path_checks_are_one_front_that_passes_other_tasks_through(checked_pipeline):
    assert checked_pipeline is transformers.pipelines.pipeline
    assert checked_pipeline.__wrapped__.__module__ == "transformers.pipelines"  # a front on transformers' function
    s2s_pipeline.install_model_path_checks()  # idempotent: still the same single front
    assert transformers.pipelines.pipeline is checked_pipeline is sys.modules["transformers"].pipeline
    with pytest.raises(KeyError, match="Unknown task no-such-task"):  # transformers' own answer, unchanged
        checked_pipeline("no-such-task")


# --------------------------------------------------------------------------------------------------------------------
# generate's arguments, bad model paths, run folders


def spy_decoding(monkeypatch: pytest.MonkeyPatch) -> list:
    """Record the decoding settings each batch is decoded with."""
    seen = []
    real = s2s_pipeline.generate_summaries

    def spy(model, input_ids, attention_mask, cfg, **kwargs):
        seen.append(cfg)
        return real(model, input_ids, attention_mask, cfg, **kwargs)

    monkeypatch.setattr(s2s_pipeline, "generate_summaries", spy)
    return seen


def test_pipeline_accepts_generate_length_and_beam_arguments(export, tmp_path, monkeypatch):
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu")
    seen = spy_decoding(monkeypatch)
    # max_length counts the decoder start token of an encoder-decoder: max_length = max_new_tokens + 1
    by_tokens = pipe(DOCUMENTS[:3], max_new_tokens=5, min_new_tokens=3)
    by_length = pipe(DOCUMENTS[:3], max_length=6, min_length=4)
    assert by_tokens == by_length
    assert {(c.max_summary_tokens, c.min_summary_tokens) for c in seen} == {(5, 3)}
    seen.clear()
    pipe(DOCUMENTS[0], max_new_tokens=4)  # alone, the export's minimum (2) is kept, as it fits
    assert (seen[-1].max_summary_tokens, seen[-1].min_summary_tokens) == (4, 2)
    # what every transformers user passes, accepted where it is what this pipeline does
    beams = pipe(DOCUMENTS[:3], num_beams=3, no_repeat_ngram_size=2, do_sample=False, early_stopping=True,
                 length_penalty=1.0, truncation=True)
    assert beams == [{"summary_text": s} for s in cli_summaries(export, tmp_path, "--beams", "3",
                                                                 "--no-repeat-ngram", "2")[:3]]
    assert (seen[-1].num_beams, seen[-1].no_repeat_ngram_size) == (3, 2)
    pipe(DOCUMENTS[0], length_penalty=2.0, early_stopping=False)  # greedy: they change nothing, like generate
    # set at construction, a token cap given per call replaces max_words (no word cut left over)
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu", max_words=1)
    assert len(pipe(DOCUMENTS[0])[0]["summary_text"].split()) == 1
    seen.clear()
    out = pipe(DOCUMENTS[0], max_new_tokens=8, min_new_tokens=6)
    assert seen[-1].max_summary_tokens == 8 and len(out[0]["summary_text"].split()) > 1


@pytest.mark.parametrize("kwargs, error, message", [
    ({"do_sample": True}, ValueError, "sampling is not supported by this pipeline"),
    ({"num_beams": 3, "length_penalty": 2.0}, ValueError, "length_penalty=2.0"),
    ({"num_beams": 3, "early_stopping": "never"}, ValueError, "early_stopping='never'"),
    ({"min_new_tokens": 5, "max_new_tokens": 5}, ValueError, "min_new_tokens=5 does not fit under the summary cap"),
    ({"min_length": 9, "max_length": 6}, ValueError, "min_new_tokens=8 does not fit under the summary cap of 5"),
    ({"max_words": 3, "max_new_tokens": 6}, ValueError, "max_words and max_new_tokens set the same length"),
    ({"max_length": 1}, ValueError, "max_length must be >= 2"),
    ({"max_new_tokens": 67}, ValueError, "decoder has positions for (66); use max_new_tokens <= 66"),
    ({"max_length": 68}, ValueError, "use max_length <= 67"),
    ({"num_beams": 2.5}, TypeError, "num_beams must be an integer"),
    ({"truncation": False}, ValueError, "documents are always truncated"),
    ({"top_k": 5}, TypeError, "unknown argument(s) top_k (sampling arguments do not apply"),
])
def test_pipeline_rejects_generate_arguments_that_cannot_apply(export, kwargs, error, message):
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu")
    with pytest.raises(error) as info:
        pipe(DOCUMENTS[0], **kwargs)
    assert message in str(info.value)
    if error is TypeError and "unknown" in message:
        assert "accepted: " in str(info.value) and "max_new_tokens" in str(info.value)
    # the same settings given at construction fail there, before any decoding
    with pytest.raises(error, match=re.escape(message)):
        transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu", **kwargs)


@pytest.mark.parametrize("case", ["missing", "file", "no_config", "not_seq2seq_config", *sorted(
    _helpers.BROKEN_EXPORT_MESSAGES)])
def test_pipeline_bad_model_path_is_a_clear_error(export, tmp_path, checked_pipeline, case):
    model = tmp_path / case
    if case == "file":
        model.write_text("not a model")
    elif case == "no_config":
        model.mkdir()
        (model / "model.safetensors").write_bytes(b"")
    elif case == "not_seq2seq_config":
        model.mkdir()
        (model / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    elif case != "missing":
        _helpers.make_broken_export(export, model, case)
    expected = {"missing": "does not exist", "file": "is a file", "no_config": "is not a summarizer export",
                "not_seq2seq_config": "holds a 'bert' model, not an encoder-decoder",
                **_helpers.BROKEN_EXPORT_MESSAGES}[case]
    with pytest.raises(ModelLoadError, match=re.escape(expected)):
        checked_pipeline("seq2seq2seq-summarization", model=str(model))
    with pytest.raises(ModelLoadError, match=re.escape(expected)):  # a Path, and the helper, say the same
        s2s_pipeline.summarization_pipeline(model)


def test_pipeline_accepts_a_run_folder_like_the_cli(export, tmp_path, checked_pipeline):
    shutil.copytree(export, tmp_path / "run" / "final" / "summarizer")
    shutil.copytree(export, tmp_path / "run" / "best" / "summarizer")
    expected = transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu")(DOCUMENTS[:3])
    for model in ("run", "run/final", "run/final/summarizer"):
        pipe = checked_pipeline("seq2seq2seq-summarization", model=str(tmp_path / model), device="cpu")
        assert Path(pipe.model.name_or_path) == tmp_path / "run" / "final" / "summarizer"
        assert pipe(DOCUMENTS[:3]) == expected
    best = s2s_pipeline.summarization_pipeline(tmp_path / "run", best=True, device="cpu")
    assert Path(best.model.name_or_path) == tmp_path / "run" / "best" / "summarizer"
    assert best.decoding.max_summary_tokens == 8  # the export's settings, read from the resolved folder


def test_pipeline_class_refuses_a_model_that_is_not_a_summarizer():
    from seq2seq2seq.models.build import HumanSentenceDiscriminator, HumanSentenceDiscriminatorConfig

    model = HumanSentenceDiscriminator(HumanSentenceDiscriminatorConfig(vocab_size=20, d_model=8, layers=1,
                                                                         attention_heads=2, ffn_dim=8))
    with pytest.raises(ModelLoadError, match="must be a seq2seq2seq summarizer"):
        s2s_pipeline.Seq2Seq2SeqSummarizationPipeline(model=model)


def test_load_discriminator_refuses_incomplete_or_foreign_weights(export, tmp_path):
    from safetensors.torch import load_file, save_file

    from seq2seq2seq.models.build import (
        HumanSentenceDiscriminator,
        HumanSentenceDiscriminatorConfig,
        load_discriminator,
    )

    model = HumanSentenceDiscriminator(HumanSentenceDiscriminatorConfig(vocab_size=20, d_model=8, layers=1,
                                                                         attention_heads=2, ffn_dim=8))
    model.save_pretrained(tmp_path / "d", safe_serialization=True)
    assert isinstance(load_discriminator(tmp_path / "d"), HumanSentenceDiscriminator)
    tensors = load_file(str(tmp_path / "d" / "model.safetensors"))
    del tensors["head.weight"]
    save_file(tensors, str(tmp_path / "d" / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=re.escape("lack 1 of the model's tensors (head.weight)")):
        load_discriminator(tmp_path / "d")
    with pytest.raises(ModelLoadError, match="not a seq2seq2seq discriminator"):
        load_discriminator(export)
