"""Nothing lost, nothing silently wrong at inference (issue 30): exports with NaN weights, summaries with no word,
stdin that is the output file, a corpus of another language, document limits out of range, and errors that say
what a path is."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch
import transformers
from pretrained import tiny_bert
from test_summarize import DOCUMENTS, build_tiny_export, tokenizer_texts, write_lines

import seq2seq2seq.inference.api as s2s_api
import seq2seq2seq.inference.hf_pipeline as s2s_pipeline
from seq2seq2seq.inference import cli as summarize
from seq2seq2seq.language import detokenize, normalizer_info
from seq2seq2seq.models.build import ModelLoadError
from seq2seq2seq.normalize import normalize


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(autouse=True, scope="module")
def _registered() -> None:
    s2s_pipeline.register()  # transformers.pipeline("seq2seq2seq-summarization", ...) below, as a user calls it


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sentence encoder for --similarity-model, so that a choice among candidates could run."""
    torch.manual_seed(0)
    return tiny_bert(tmp_path_factory.mktemp("encoder"), tokenizer_texts(200))


def edited_export(export: Path, folder: Path, values: dict[str, tuple[tuple[int, ...], float]]) -> Path:
    """A copy of ``export`` with ``values[name] = (index, value)`` written into its tensors."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(export, folder)
    tensors = load_file(str(folder / "model.safetensors"))
    for name, (index, value) in values.items():
        tensors[name] = tensors[name].clone()
        tensors[name][index] = value
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def run_cli(capsys: pytest.CaptureFixture, *argv: object) -> tuple[int, str, str]:
    code = summarize.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# --------------------------------------------------------------------------------------------------------------------
# 1. an export with NaN or infinite weights (a diverged run) is refused wherever it is loaded


def test_an_export_with_non_finite_weights_is_refused_everywhere(export, tmp_path, capsys):
    broken = edited_export(export, tmp_path / "nan", {"model.encoder.layers.0.fc1.weight": ((0, 0), float("nan")),
                                                      "final_logits_bias": ((0, 3), float("inf"))})
    message = re.escape("hold NaN or infinite values in 2 tensor(s) (final_logits_bias, "
                        "model.encoder.layers.0.fc1.weight)")
    code, out, err = run_cli(capsys, "--model", broken, "--input", write_lines(tmp_path / "in.txt", DOCUMENTS[:2]))
    assert code == 2 and out == ""
    assert re.search(message, err) and "RUN/best/summarizer" in err, err  # the tensors, and which export to use
    for load in (lambda: transformers.pipeline("seq2seq2seq-summarization", model=str(broken)),
                 lambda: s2s_pipeline.summarization_pipeline(broken), lambda: s2s_api.load_summarizer(broken)):
        with pytest.raises(ModelLoadError, match=message):
            load()
    # a model loaded by transformers itself and handed to the pipeline class
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(broken))
    with pytest.raises(ModelLoadError, match=message):
        s2s_pipeline.Seq2Seq2SeqSummarizationPipeline(model=model, tokenizer=transformers.AutoTokenizer
                                                      .from_pretrained(str(broken)))


# --------------------------------------------------------------------------------------------------------------------
# 2. no summary is ever empty: one with no word is replaced by the document's first words, with one warning


def silent_export(export: Path, folder: Path, token: str, language: str = "en") -> Path:
    """A copy of ``export`` that writes only ``token`` ("." or end-of-sentence, whose summary is then empty), its
    language setting ``language``."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(export))
    token_id = tokenizer.eos_token_id if token == "eos" else tokenizer.convert_tokens_to_ids(token)
    folder = edited_export(export, folder, {"final_logits_bias": ((0, token_id), 1000.0)})
    settings = json.loads((folder / "seq2seq2seq_decoding.json").read_text())
    settings.update(language=language, normalizer=normalizer_info(language) if language != "en" else
                    settings["normalizer"])
    (folder / "seq2seq2seq_decoding.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


def lead(document: str, words: int, language: str = "en") -> str:
    return detokenize(" ".join(normalize(document, language).split()[:words]), language)


WARNING = "summaries were empty or punctuation only; replaced by the document's first words"


@pytest.mark.parametrize("token", ["\u2581.", "eos"])
def test_a_summary_without_words_is_replaced_by_the_first_words(export, tmp_path, capsys, token):
    model = silent_export(export, tmp_path / "silent", token)
    documents = [*DOCUMENTS[:3], ""]
    src = write_lines(tmp_path / "in.txt", documents)
    # the CLI: the length settings' number of words (--max-words 3; else half the 8-token cap), one warning line
    code, out, err = run_cli(capsys, "--model", model, "--input", src, "--min-words", 0, "--max-words", 3, "--quiet")
    assert code == 0, err
    assert out.split("\n")[:-1] == [lead(d, 3) for d in documents[:3]] + [""]  # an empty document stays empty
    assert err.count(WARNING) == 1 and f"warning: 3 of 4 {WARNING}" in err, err
    code, out, err = run_cli(capsys, "--model", model, "--input", src, "--min-words", 0, "--quiet")
    assert out.split("\n")[:-1] == [lead(d, 4) for d in documents[:3]] + [""]
    # both pipeline APIs, one warning a call
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(model), min_new_tokens=0)
    expected = [{"summary_text": lead(d, 3)} for d in documents[:3]] + [{"summary_text": ""}]
    assert pipe(documents, max_words=3, batch_size=2) == expected
    assert capsys.readouterr().err.count(f"warning: 3 of 4 {WARNING}") == 1
    assert s2s_pipeline.summarization_pipeline(model, min_new_tokens=0)(documents[0]) == [
        {"summary_text": lead(documents[0], 4)}]
    assert f"warning: 1 of 1 {WARNING}" in capsys.readouterr().err


def test_a_chinese_summary_of_punctuation_is_replaced_by_the_first_segmented_words(export, tmp_path, capsys):
    model = silent_export(export, tmp_path / "zh", "\u2581.", language="zh")
    documents = ["国家统计局周二发布的数据显示,今年第一季度国内生产总值增长百分之五。", "股市周一大幅上涨。"]
    code, out, err = run_cli(capsys, "--model", model, "--input", write_lines(tmp_path / "in.txt", documents),
                             "--min-words", 0, "--max-words", 3, "--quiet")
    assert code == 0, err
    expected = [lead(d, 3, "zh") for d in documents]
    assert out.split("\n")[:-1] == expected and all(" " not in e and len(e) >= 3 for e in expected)
    assert f"warning: 2 of 2 {WARNING}" in err
    pipe = s2s_pipeline.summarization_pipeline(model, min_new_tokens=0)
    assert pipe(documents, max_words=3) == [{"summary_text": e} for e in expected]


# --------------------------------------------------------------------------------------------------------------------
# 3. stdin that is the output file


def test_stdin_that_is_the_output_file_is_refused_before_anything_is_written(export, tmp_path, capsys, monkeypatch):
    src = write_lines(tmp_path / "articles.txt", DOCUMENTS[:2])
    before = src.read_bytes()
    with src.open(encoding="utf-8") as stdin:  # summarize --input - --output articles.txt < articles.txt
        monkeypatch.setattr(sys, "stdin", stdin)
        code, out, err = run_cli(capsys, "--model", export, "--input", "-", "--output", src)
    assert code == 2 and out == ""
    assert f"error: --output {src} is the file standard input reads" in err and "another file" in err
    assert src.read_bytes() == before
    # stdin from another file still works
    other = write_lines(tmp_path / "other.txt", DOCUMENTS[:2])
    with other.open(encoding="utf-8") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        code, _, err = run_cli(capsys, "--model", export, "--input", "-", "--output", src)
    assert code == 0, err
    assert len(src.read_text(encoding="utf-8").splitlines()) == 2


# --------------------------------------------------------------------------------------------------------------------
# 4. a corpus of another language than the model's


@pytest.mark.parametrize("corpus_language, model_language", [("zh", "en"), ("en", "whitespace")])
def test_a_corpus_of_another_language_is_refused(export, encoder_dir, tiny_corpus, tmp_path, capsys,
                                                 corpus_language, model_language):
    corpus = shutil.copytree(tiny_corpus, tmp_path / "corpus")
    if corpus_language != "en":
        (corpus / "manifest.json").write_text(json.dumps({"language": corpus_language}), encoding="utf-8")
    model = export
    if model_language != "en":
        model = shutil.copytree(export, tmp_path / "model")
        settings = json.loads((model / "seq2seq2seq_decoding.json").read_text())
        settings.update(language=model_language, normalizer=normalizer_info(model_language))
        (model / "seq2seq2seq_decoding.json").write_text(json.dumps(settings), encoding="utf-8")
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:2])
    for flags in (["--rule-candidate"], ["--headline-weight", "0.5"]):
        code, out, err = run_cli(capsys, "--model", model, "--input", src, "--candidates", 2, "--corpus", corpus,
                                 "--similarity-model", encoder_dir, *flags)
        assert code == 2 and out == ""
        assert (f"--corpus {corpus} holds {corpus_language} text (built with --language {corpus_language}) but the "
                f"model {model} was trained on {model_language} text") in err, err


# --------------------------------------------------------------------------------------------------------------------
# 5. the pipeline's document limit and empty input


@pytest.mark.parametrize("value", [0, -5, 67, 5000])
def test_a_document_limit_out_of_range_is_a_clear_error(export, value):
    pipe = s2s_pipeline.summarization_pipeline(export)
    long_document = " ".join(DOCUMENTS * 3)  # more tokens than the encoder's 66 positions
    message = re.escape(f"max_document_tokens must be an integer in 1..66 (this model's encoder has positions for 66 "
                        f"tokens), got {value}")
    with pytest.raises(ValueError, match=message):
        pipe(long_document, max_document_tokens=value)
    with pytest.raises(ValueError, match=message):
        transformers.pipeline("seq2seq2seq-summarization", model=str(export), max_document_tokens=value)
    with pytest.raises(ValueError, match=message):
        s2s_pipeline.summarization_pipeline(export, max_document_tokens=value)
    summarizer = s2s_api.load_summarizer(export)
    summarizer.max_document_tokens = value
    with pytest.raises(ValueError, match=message.replace("max_document_tokens", "Summarizer.max_document_tokens")):
        s2s_api.summarize_documents(summarizer, [long_document], summarizer.decoding)


def test_the_document_limit_at_the_encoder_positions_and_an_empty_list(export):
    pipe = s2s_pipeline.summarization_pipeline(export)
    long_document = " ".join(DOCUMENTS * 3)
    assert pipe(long_document, max_document_tokens=66)[0]["summary_text"]
    assert pipe(long_document, max_document_tokens=1)[0]["summary_text"]
    assert pipe([]) == []
    assert pipe([], max_words=3, batch_size=2) == []
    with pytest.raises(ValueError, match="max_document_tokens must be an integer in 1..66"):
        pipe([], max_document_tokens=0)  # the arguments are checked all the same
    summarizer = s2s_api.load_summarizer(export)
    assert s2s_api.summarize_documents(summarizer, [], summarizer.decoding) == []


# --------------------------------------------------------------------------------------------------------------------
# 6. what a wrong path is, and which tensors have the wrong shape


def test_a_file_given_for_a_folder_is_said_to_be_a_file(export, tmp_path, capsys):
    from seq2seq2seq.config import ModelConfig
    from seq2seq2seq.models.warm_start import seq2seq_from

    text = write_lines(tmp_path / "notes.txt", ["not a model"])
    with pytest.raises(ModelLoadError, match=re.escape(f"model.summarizer_init: {text} is a file, not a folder; "
                                                       f"pass the folder holding the transformers model")):
        seq2seq_from(text, ModelConfig(), None, "model.summarizer_init")
    code, _, err = run_cli(capsys, "--model", export, "--input", write_lines(tmp_path / "in.txt", DOCUMENTS[:1]),
                           "--candidates", 2, "--rule-candidate", "--corpus", text)
    assert code == 2
    assert f"error: --corpus {text} is a file, not a folder; pass the corpus folder that data_prep wrote" in err, err


def test_wrong_shape_tensors_are_named_with_their_shapes(export, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    model = shutil.copytree(export, tmp_path / "shape")
    tensors = load_file(str(model / "model.safetensors"))
    tensors["model.encoder.layers.0.fc1.weight"] = torch.zeros(65, 32)
    save_file(tensors, str(model / "model.safetensors"), metadata={"format": "pt"})
    code, _, err = run_cli(capsys, "--model", model, "--input", write_lines(tmp_path / "in.txt", DOCUMENTS[:1]))
    assert code == 2
    assert ("hold 1 tensor(s) of the wrong shape (model.encoder.layers.0.fc1.weight: (65, 32) in the file, (64, 32) "
            "in the model)") in err, err
    assert "above report" not in err
