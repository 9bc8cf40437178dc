"""The summarize CLI on a tiny random summarizer export (built here, not trained: seconds, not minutes)."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import re
import shutil
import stat
import sys
from pathlib import Path

import pytest
import torch

from seq2seq2seq.checkpoint import save_summarizer
from seq2seq2seq.config import DecodingConfig, ModelConfig
from seq2seq2seq.decoding.sampling import generate_summaries
from seq2seq2seq.inference import api as pipeline
from seq2seq2seq.inference import cli as summarize
from seq2seq2seq.inference import files
from seq2seq2seq.models.build import build_seq2seq
from seq2seq2seq.normalize import normalize
from seq2seq2seq.paths import shared_data_dir

DOCUMENTS = [
    "The 2 cats sat on the mat in Paris on Monday, officials said.",
    "Japan's NEC Corp. and a U.S. computer maker agreed to join forces in supercomputer sales.",
    "Police arrested five anti-nuclear protesters Thursday after they tried to stop a ship.",
    "Australia's current account deficit shrank by a record 3.5 billion dollars in the June quarter.",
    "The Sri Lankan government announced the closure of schools as fighting escalated.",
    "Stocks rose sharply in Tokyo as investors bet on lower interest rates.",
    "A powerful earthquake struck the coast early on Sunday, killing at least 12 people.",
    "The president met the prime minister to discuss trade and security in the region.",
]


def tokenizer_texts(n: int = 300) -> list[str]:
    """Training text for the test tokenizer: shared Gigaword documents, or generated sentences without the data."""
    path = shared_data_dir() / "gigaword" / "train10k.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as f:
            return [json.loads(line)["document"] for _, line in zip(range(n), f)]
    rng = random.Random(0)
    words = " ".join(DOCUMENTS).lower().replace(",", " ,").replace(".", " .").split()
    return [" ".join(rng.choices(words, k=25)) for _ in range(n)]


def build_tiny_export(root: Path) -> Path:
    """A sentencepiece tokenizer (vocab 500) and a random BART summarizer saved as ``root/summarizer``."""
    import sentencepiece as spm
    from transformers import T5Tokenizer

    model_file = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(tokenizer_texts()), model_writer=model_file,
                                   vocab_size=500, pad_id=0, eos_id=1, unk_id=2, bos_id=3, character_coverage=1.0,
                                   minloglevel=2)
    (root / "spm").mkdir(parents=True)
    (root / "spm" / "spiece.model").write_bytes(model_file.getvalue())
    tokenizer = T5Tokenizer.from_pretrained(str(root / "spm"), extra_ids=0, bos_token="<s>")
    torch.manual_seed(0)
    model = build_seq2seq(ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64,
                                      dropout=0.0, max_document_tokens=32), tokenizer)
    # the default init (std 0.02) gives every document the same summary; larger weights make summaries depend on
    # the input, so that the ordering and batching tests below can fail
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.normal_(0.0, 0.3)
    save_summarizer(model, tokenizer, DecodingConfig(max_summary_tokens=8, min_summary_tokens=2), root / "summarizer")
    return root / "summarizer"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_export(tmp_path_factory.mktemp("export"))



def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = summarize.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def read_summaries(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def test_text_file_gives_one_summary_a_line_in_order(export, tmp_path, capsys):
    src = write_lines(tmp_path / "in.txt", DOCUMENTS)
    code, out, err = run_cli(capsys, "--model", export, "--input", src, "--output", tmp_path / "out.txt")
    assert code == 0, err
    summaries = read_summaries(tmp_path / "out.txt")
    assert len(summaries) == len(DOCUMENTS)
    assert all(s.strip() for s in summaries)
    assert len(set(summaries)) > 1  # the summaries depend on the documents
    assert out == ""
    assert "summarizing" in err  # a progress bar for files
    # reversed input gives the reversed output: the order of the output is the order of the input
    write_lines(tmp_path / "rev.txt", DOCUMENTS[::-1])
    assert run_cli(capsys, "--model", export, "--input", tmp_path / "rev.txt", "--output", tmp_path / "rev.out")[0] == 0
    assert read_summaries(tmp_path / "rev.out") == summaries[::-1]
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed into place


def test_jsonl_with_named_field_and_ids(export, tmp_path, capsys):
    rows = [{"id": "a1", "text": DOCUMENTS[0]}, {"text": DOCUMENTS[1]}, {"id": 7, "text": DOCUMENTS[2], "x": 1}]
    src = write_lines(tmp_path / "in.jsonl", [json.dumps(r) for r in rows])
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--field", "text",
                           "--output", tmp_path / "out.jsonl")
    assert code == 0, err
    out = [json.loads(line) for line in read_summaries(tmp_path / "out.jsonl")]
    assert [o["id"] for o in out] == ["a1", 1, 7]  # the row's id, else its 0-based line number
    assert all(set(o) == {"id", "summary"} and o["summary"] for o in out)
    # the same documents as plain text give the same summaries
    write_lines(tmp_path / "in.txt", [r["text"] for r in rows])
    assert run_cli(capsys, "--model", export, "--input", tmp_path / "in.txt", "--output", tmp_path / "out.txt")[0] == 0
    assert read_summaries(tmp_path / "out.txt") == [o["summary"] for o in out]


def test_jsonl_missing_field_is_a_usage_error(export, tmp_path, capsys):
    src = write_lines(tmp_path / "in.jsonl", [json.dumps({"document": "a b c"}), json.dumps({"article": "d e"})])
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--output", tmp_path / "out.txt")
    assert code == 2
    assert "line 2 has no field 'document'" in err and "'article'" in err and "--field" in err
    assert not (tmp_path / "out.txt").exists()


def test_stdin_to_stdout_and_jsonl_output_format(export, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(DOCUMENTS[:3]).encode("utf-8"))))
    code, out, err = run_cli(capsys, "--model", export, "--output-format", "jsonl")
    assert code == 0, err
    assert "summarizing" not in err  # no progress bar for stdin
    lines = [json.loads(line) for line in out.splitlines()]
    assert [row["id"] for row in lines] == [0, 1, 2]
    write_lines(tmp_path / "in.txt", DOCUMENTS[:3])
    assert run_cli(capsys, "--model", export, "--input", tmp_path / "in.txt", "--output", tmp_path / "o.txt")[0] == 0
    assert [row["summary"] for row in lines] == read_summaries(tmp_path / "o.txt")


def test_empty_lines_keep_alignment_and_are_counted(export, tmp_path, capsys):
    src = write_lines(tmp_path / "in.txt", [DOCUMENTS[0], "", "   \t", DOCUMENTS[1]])
    code, out, err = run_cli(capsys, "--model", export, "--input", src)
    assert code == 0, err
    summaries = out.split("\n")[:-1]
    assert len(summaries) == 4
    assert summaries[1] == summaries[2] == ""
    assert summaries[0] and summaries[3]
    assert "2 empty input line(s) (line 2, 3)" in err


def test_invalid_utf8_names_the_line_and_writes_nothing(export, tmp_path, capsys):
    src = tmp_path / "input.txt"
    src.write_bytes(b"first line\nsecond line\ncaf\xe9 au lait\nfourth\n")
    out = tmp_path / "out.txt"
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--output", out)
    assert code == 2
    assert f"error: {src} line 3 is not valid UTF-8; re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


@pytest.mark.parametrize("case", ["missing", "empty_folder", "no_tokenizer", "not_seq2seq", "file"])
def test_bad_model_path_is_a_clear_error(export, tmp_path, capsys, case):
    model = tmp_path / case
    if case == "empty_folder":
        model.mkdir()
    elif case == "no_tokenizer":
        model.mkdir()
        for name in ("config.json", "generation_config.json", "model.safetensors", "seq2seq2seq_decoding.json"):
            shutil.copy(export / name, model / name)
    elif case == "not_seq2seq":
        model.mkdir()
        (model / "config.json").write_text(json.dumps({"model_type": "seq2seq2seq-discriminator"}))
    elif case == "file":
        model.write_text("not a model")
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:1])
    code, out, err = run_cli(capsys, "--model", model, "--input", src)
    assert code == 2 and out == ""
    expected = {"missing": "does not exist", "empty_folder": "is not a summarizer export",
                "no_tokenizer": "has no tokenizer", "not_seq2seq": "not an encoder-decoder summarizer",
                "file": "is a file"}[case]
    assert err.startswith("error: ") and expected in err, err


def test_run_folder_is_accepted_and_its_document_limit_used(export, tmp_path, capsys):
    # RUN/final/summarizer beside RUN/final/config.yaml, as training exports it
    shutil.copytree(export, tmp_path / "run" / "final" / "summarizer")
    (tmp_path / "run" / "final" / "config.yaml").write_text("model:\n  max_document_tokens: 16\n")
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:2])
    code, out, err = run_cli(capsys, "--model", tmp_path / "run", "--input", src)
    assert code == 0, err
    assert len(out.splitlines()) == 2
    assert "2 document(s) are longer than the model's limit of 16 tokens" in err


def test_over_long_document_is_truncated_with_a_warning(export, tmp_path, capsys):
    # no limit stored with this export: BART's max_position_embeddings (66) - 2 = 64 tokens
    long_document = " ".join(DOCUMENTS * 3)
    src = write_lines(tmp_path / "in.txt", [DOCUMENTS[0], long_document, long_document + " again"])
    code, out, err = run_cli(capsys, "--model", export, "--input", src)
    assert code == 0, err
    assert len(out.splitlines()) == 3
    assert "warning: 2 document(s) are longer than the model's limit of 64 tokens and were truncated" in err
    # truncation means the model reads the same 64 tokens of both long documents
    summaries = out.splitlines()
    assert summaries[1] == summaries[2]


def test_normalisation_is_applied_to_raw_input(export, tmp_path, capsys, monkeypatch):
    seen: list[list[str]] = []
    real = pipeline.summarize_texts

    def spy(model, tokenizer, documents, *args, **kwargs):
        seen.append(list(documents))
        return real(model, tokenizer, documents, *args, **kwargs)

    monkeypatch.setattr(pipeline, "summarize_texts", spy)
    src = write_lines(tmp_path / "in.txt", ["The 2 Cats"])
    assert run_cli(capsys, "--model", export, "--input", src)[0] == 0
    assert run_cli(capsys, "--model", export, "--input", src, "--no-normalize")[0] == 0
    assert seen == [["the # cats"], ["The 2 Cats"]]


def test_greedy_output_is_deterministic_and_independent_of_batch_size(export, tmp_path, capsys):
    src = write_lines(tmp_path / "in.txt", DOCUMENTS)
    outputs = []
    for batch_size in (64, 64, 1, 3):
        code, out, err = run_cli(capsys, "--model", export, "--input", src, "--batch-size", batch_size, "--quiet")
        assert code == 0, err
        assert "summarizing" not in err  # --quiet
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]


def sequence_scores(model, input_ids, attention_mask, summary_ids, summary_mask) -> torch.Tensor:
    """Mean log-prob per summary token under the model (the length-normalised score beam search maximises)."""
    from seq2seq2seq.models.build import seq2seq_logits

    logps = torch.log_softmax(seq2seq_logits(model, input_ids, attention_mask, summary_ids, summary_mask), -1)
    token_logps = logps.gather(-1, summary_ids[..., None])[..., 0] * summary_mask
    return token_logps.sum(1) / summary_mask.sum(1)


def test_beam_search_runs_and_scores_at_least_as_well_as_greedy(export, tmp_path, capsys):
    src = write_lines(tmp_path / "in.txt", DOCUMENTS)
    outs = {}
    for beams in (1, 5):
        code, out, err = run_cli(capsys, "--model", export, "--input", src, "--beams", beams,
                                 "--no-repeat-ngram", 0)
        assert code == 0, err
        outs[beams] = out.split("\n")[:-1]
        assert len(outs[beams]) == len(DOCUMENTS) and all(outs[beams])
    assert outs[1] != outs[5]
    # under the model, beam 5 finds summaries at least as likely as greedy (summed over the documents)
    loaded = pipeline.load_summarizer(export)
    cfg = loaded.decoding
    enc = loaded.tokenizer([normalize(d) for d in DOCUMENTS], padding=True, return_tensors="pt")
    with torch.no_grad():
        scores = {}
        for beams in (1, 5):
            out = generate_summaries(loaded.model, enc["input_ids"], enc["attention_mask"], cfg, num_beams=beams)
            scores[beams] = sequence_scores(loaded.model, enc["input_ids"], enc["attention_mask"], out.summary_ids,
                                            out.summary_mask)
            decoded = loaded.tokenizer.batch_decode(out.summary_ids, skip_special_tokens=True)
            assert [" ".join(t.split()) for t in decoded] == outs[beams]  # what the CLI wrote
    assert scores[5].sum() >= scores[1].sum() - 1e-4


def test_max_and_min_words(export, tmp_path, capsys):
    cfg = pipeline.decoding_overrides(DecodingConfig(max_summary_tokens=8, min_summary_tokens=2), max_words=3)
    assert (cfg.max_summary_tokens, cfg.min_summary_tokens) == (6, 2)
    cfg = pipeline.decoding_overrides(DecodingConfig(max_summary_tokens=16, min_summary_tokens=3), max_words=1)
    assert (cfg.max_summary_tokens, cfg.min_summary_tokens) == (2, 1)  # the export's minimum lowered to fit
    assert pipeline.trim_words(" a  b c d ", 2) == "a b"
    src = write_lines(tmp_path / "in.txt", DOCUMENTS)
    code, out, err = run_cli(capsys, "--model", export, "--input", src, "--max-words", 2, "--min-words", 1)
    assert code == 0, err
    assert all(1 <= len(line.split()) <= 2 for line in out.splitlines())
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--max-words", 2, "--min-words", 5)
    assert code == 2 and "--min-words 5 is more than --max-words 2" in err


def test_min_and_max_words_count_whole_words(export, tmp_path, capsys):
    """With whole-word decoding --min-words/--max-words count words, not pieces: every summary of a document with
    enough words has between the two (the tiny random model alone ends summaries anywhere)."""
    whole = DecodingConfig(max_summary_tokens=8, min_summary_tokens=2, source_only=True, whole_words=True)
    cfg = pipeline.decoding_overrides(whole, max_words=5, min_words=4)
    assert (cfg.max_summary_tokens, cfg.min_summary_words, cfg.max_summary_words) == (10, 4, 5)
    cfg = pipeline.decoding_overrides(whole, min_words=6)
    assert (cfg.max_summary_tokens, cfg.min_summary_words, cfg.max_summary_words) == (8, 6, 0)
    with pytest.raises(pipeline.SummarizeError, match="--min-words 8 does not fit"):
        pipeline.decoding_overrides(whole, min_words=8)
    # a token cap the random model's many-piece words (vocabulary 500) do not reach before 6 words
    model = with_decoding(export, tmp_path / "whole_words", source_only=True, whole_words=True, max_summary_tokens=40)
    src = write_lines(tmp_path / "in.txt", DOCUMENTS)
    code, plain, err = run_cli(capsys, "--model", model, "--input", src)
    assert code == 0, err
    assert min(len(line.split()) for line in plain.splitlines()) < 6  # without the flag some summaries are shorter
    code, out, err = run_cli(capsys, "--model", model, "--input", src, "--min-words", 6)
    assert code == 0, err
    assert all(len(line.split()) >= 6 for line in out.splitlines()), out


def test_eos_damping_and_bf16_flags_run(export, tmp_path, capsys):
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:2])
    code, out, err = run_cli(capsys, "--model", export, "--input", src, "--eos-damping", 5, "--eos-damping-tokens", 4,
                             "--bf16", "--device", "cpu")
    assert code == 0, err
    assert len(out.splitlines()) == 2
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--eos-damping", -1)
    assert code == 2 and "--eos-damping must be >= 0" in err


def test_usage_errors_exit_2(export, tmp_path, capsys):
    assert run_cli(capsys, "--model", export, "--input", tmp_path / "nope.txt")[0] == 2
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:1])
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--output", tmp_path / "no" / "out.txt")
    assert code == 2 and "does not exist" in err
    assert run_cli(capsys, "--model", export, "--input", src, "--batch-size", 0)[0] == 2
    assert run_cli(capsys, "--input", src)[0] == 2  # --model is required (argparse)


def test_no_repeat_words_override_needs_a_whole_word_export() -> None:
    whole = DecodingConfig(source_only=True, whole_words=True)
    assert pipeline.decoding_overrides(whole, no_repeat_words=True).no_repeat_words is True
    assert pipeline.decoding_overrides(whole).no_repeat_words is False  # None keeps the export's
    with pytest.raises(pipeline.SummarizeError, match="whole_words"):
        pipeline.decoding_overrides(DecodingConfig(), no_repeat_words=True)


def with_decoding(export: Path, folder: Path, **changes: object) -> Path:
    """``folder``: a copy of ``export`` (or ``export`` itself, when they are the same) with these decoding settings
    changed in its seq2seq2seq_decoding.json."""
    if folder != export:
        shutil.copytree(export, folder)
    path = folder / "seq2seq2seq_decoding.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return folder


def word_subsequence(summary: str, document: str) -> bool:
    rest = iter(document.split())
    return all(word in rest for word in summary.split())  # `in` advances the iterator: an ordered subsequence


def test_in_order_flag_writes_deletions_of_the_document(export, tmp_path, capsys):
    assert pipeline.decoding_overrides(DecodingConfig(source_only=True, whole_words=True), in_order=True).in_order
    model = with_decoding(export, tmp_path / "whole_words", source_only=True, whole_words=True, max_summary_tokens=24)
    src = write_lines(tmp_path / "in.txt", DOCUMENTS)
    normalized = [normalize(d) for d in DOCUMENTS]
    code, plain, err = run_cli(capsys, "--model", model, "--input", src)
    assert code == 0, err
    # the random model writes document words out of order without the flag, so the check below can fail
    assert not all(word_subsequence(s, d) for s, d in zip(plain.splitlines(), normalized)), plain
    code, out, err = run_cli(capsys, "--model", model, "--input", src, "--in-order")
    assert code == 0, err
    assert all(word_subsequence(s, d) for s, d in zip(out.splitlines(), normalized)), out
    # an export that records it keeps it by default; --no-in-order turns it off
    with_decoding(model, model, in_order=True)
    assert run_cli(capsys, "--model", model, "--input", src)[1] == out
    assert run_cli(capsys, "--model", model, "--input", src, "--no-in-order")[1] == plain
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--in-order")  # no whole-word decoding
    assert code == 2 and "--in-order works on whole source words" in err


# --------------------------------------------------------------------------------------------------------------------
# broken exports, decoder limits, flag values, output files, input formats


def make_broken_export(export: Path, folder: Path, case: str) -> Path:
    """A copy of ``export`` damaged in one way (also used by test_pipeline.py)."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(export, folder)
    weights = folder / "model.safetensors"
    config = json.loads((folder / "config.json").read_text())
    if case == "truncated":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
    elif case == "empty_weights":
        weights.write_bytes(b"")
    elif case == "pickle_only":
        torch.save(load_file(str(weights)), folder / "pytorch_model.bin")
        weights.unlink()
    elif case == "missing_tensors":
        tensors = load_file(str(weights))
        for name in ("model.encoder.layers.0.fc1.weight", "model.decoder.layers.0.fc1.weight",
                     "model.decoder.layers.0.fc2.bias"):
            del tensors[name]
        save_file(tensors, str(weights), metadata={"format": "pt"})
    elif case in ("bert", "unknown_type"):
        # an encoder-decoder flag, so that only the model type tells it apart from an export
        config["model_type"] = "bert" if case == "bert" else "not-a-model-xyz"
        (folder / "config.json").write_text(json.dumps(config))
    else:
        raise ValueError(case)
    return folder


BROKEN_EXPORT_MESSAGES = {
    "truncated": "model.safetensors is truncated or corrupt",
    "empty_weights": "model.safetensors is empty (0 bytes)",
    "pickle_only": "holds no .safetensors weights",
    "missing_tensors": "lack 3 of the model's tensors (model.decoder.layers.0.fc1.weight, ",
    "bert": "holds a 'bert' model, not an encoder-decoder: it is not a seq2seq2seq summarizer export",
    "unknown_type": "'not-a-model-xyz', which transformers does not know",
}


@pytest.mark.parametrize("case", sorted(BROKEN_EXPORT_MESSAGES))
def test_corrupt_foreign_or_incomplete_export_is_a_clear_error(export, tmp_path, capsys, case):
    model = make_broken_export(export, tmp_path / case, case)
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:1])
    code, out, err = run_cli(capsys, "--model", model, "--input", src)
    assert code == 2 and out == "", err
    assert err.startswith("error: ") and BROKEN_EXPORT_MESSAGES[case] in err, err
    assert "re-export" in err or "pass the folder" in err


def test_max_words_beyond_the_decoder_positions_is_refused(export, tmp_path, capsys):
    # the export's decoder has 66 positions (max_position_embeddings): 33 words = 66 tokens is the most it can decode
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:2])
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--max-words", 40)
    assert code == 2
    assert ("error: --max-words 40 needs up to 80 summary tokens but this model's decoder has positions for 66; "
            "use --max-words <= 33") in err
    # at the limit, with end-of-sentence damped so that the summaries really are 66 tokens long
    code, out, err = run_cli(capsys, "--model", export, "--input", src, "--max-words", 33, "--eos-damping", 1000,
                             "--eos-damping-tokens", 100)
    assert code == 0, err
    assert len(out.splitlines()) == 2
    loaded = pipeline.load_summarizer(export)
    assert pipeline.decoder_positions(loaded.model) == loaded.model.config.max_position_embeddings == 66


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_eos_damping_is_a_usage_error(export, tmp_path, capsys, value):
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:1])
    code, out, err = run_cli(capsys, "--model", export, "--input", src, f"--eos-damping={value}")
    assert code == 2 and out == ""
    assert "error: --eos-damping must be >= 0 and finite" in err


def test_config_error_from_decoding_settings_exits_2(export, tmp_path, capsys, monkeypatch):
    from seq2seq2seq.config import ConfigError

    def bad(*args, **kwargs):
        raise ConfigError("decoding.eos_damping: must be >= 0")

    monkeypatch.setattr(summarize, "decoding_overrides", bad)
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:1])
    code, _, err = run_cli(capsys, "--model", export, "--input", src)
    assert code == 2 and "error: decoding.eos_damping: must be >= 0" in err


@pytest.mark.parametrize("how", ["same_path", "dot_relative", "symlink", "hard_link"])
def test_output_that_is_the_input_is_refused(export, tmp_path, capsys, monkeypatch, how):
    src = write_lines(tmp_path / "articles.txt", DOCUMENTS[:2])
    before = src.read_bytes()
    monkeypatch.chdir(tmp_path)
    if how == "same_path":
        output = str(src)
    elif how == "dot_relative":
        output = "./articles.txt"
        src = Path("articles.txt")
    elif how == "symlink":
        (tmp_path / "out.txt").symlink_to(src)
        output = "out.txt"
    else:
        (tmp_path / "out.txt").hardlink_to(src)
        output = "out.txt"
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--output", output)
    assert code == 2
    assert f"error: --output {Path(output)} is the input file" in err and "another file" in err
    assert (tmp_path / "articles.txt").read_bytes() == before


@pytest.mark.parametrize("case", ["symlink", "fifo", "read_only"])
def test_output_that_is_a_link_a_device_or_read_only_is_refused(export, tmp_path, capsys, case):
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:1])
    target = write_lines(tmp_path / "target.txt", ["keep me"])
    output = tmp_path / "out.txt"
    if case == "symlink":
        output.symlink_to(target)
    elif case == "fifo":
        os.mkfifo(output)
    else:
        output = target
        output.chmod(0o444)
    code, _, err = run_cli(capsys, "--model", export, "--input", src, "--output", output)
    assert code == 2
    expected = {"symlink": "is a symbolic link", "fifo": "is not a regular file", "read_only": "is read-only"}[case]
    assert f"error: --output {output} {expected}" in err
    assert target.read_text() == "keep me\n"
    assert output.is_symlink() if case == "symlink" else True
    assert not list(tmp_path.glob(".*.tmp"))


def test_output_mode_follows_the_umask_or_the_replaced_file(export, tmp_path, capsys):
    src = write_lines(tmp_path / "in.txt", DOCUMENTS[:1])
    before = os.umask(0o027)
    try:
        assert run_cli(capsys, "--model", export, "--input", src, "--output", tmp_path / "new.txt")[0] == 0
        os.umask(0o022)
        assert run_cli(capsys, "--model", export, "--input", src, "--output", tmp_path / "new2.txt")[0] == 0
        old = write_lines(tmp_path / "old.txt", ["old"])
        old.chmod(0o604)
        assert run_cli(capsys, "--model", export, "--input", src, "--output", old)[0] == 0
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640  # not mkstemp's 0600
    assert stat.S_IMODE((tmp_path / "new2.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE(old.stat().st_mode) == 0o604  # a replaced file keeps its permissions
    assert old.read_text() != "old\n"


def test_jsonl_is_detected_on_stdin_and_in_ndjson_files(export, tmp_path, capsys, monkeypatch):
    records = [{"id": f"r{i}", "document": d, "summary": "reference"} for i, d in enumerate(DOCUMENTS[:3])]
    jsonl = "".join(json.dumps(r) + "\n" for r in records)
    write_lines(tmp_path / "in.txt", DOCUMENTS[:3])
    assert run_cli(capsys, "--model", export, "--input", tmp_path / "in.txt", "--output", tmp_path / "o.txt")[0] == 0
    expected = read_summaries(tmp_path / "o.txt")

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl.encode("utf-8"))))
    code, out, err = run_cli(capsys, "--model", export)
    assert code == 0, err
    assert ("input looks like JSONL: reading field 'document'; pass --input-format text to summarize the raw lines"
            in err)
    assert out.splitlines() == expected  # the documents were summarized, not the raw JSON lines

    # .ndjson is JSONL in and out, by its name
    (tmp_path / "in.ndjson").write_text(jsonl, encoding="utf-8")
    code, _, err = run_cli(capsys, "--model", export, "--input", tmp_path / "in.ndjson",
                           "--output", tmp_path / "out.ndjson")
    assert code == 0 and "looks like JSONL" not in err, err
    rows = [json.loads(line) for line in read_summaries(tmp_path / "out.ndjson")]
    assert rows == [{"id": r["id"], "summary": s} for r, s in zip(records, expected)]

    # --input-format text keeps the raw lines, without the note
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl.encode("utf-8"))))
    code, out, err = run_cli(capsys, "--model", export, "--input-format", "text")
    assert code == 0 and "looks like JSONL" not in err and len(out.splitlines()) == 3


def test_cr_only_line_endings_are_line_ends(export, tmp_path, capsys):
    assert files.split_lines(b"a\rb\r\nc\n\rd", "x") == ["a", "b", "c", "", "d"]
    assert files.split_lines(b"a\r", "x") == ["a"]
    with pytest.raises(pipeline.SummarizeError, match="x line 3 is not valid UTF-8"):
        files.split_lines(b"one\rtwo\rcaf\xe9\rfour\r", "x")
    write_lines(tmp_path / "unix.txt", DOCUMENTS[:3])
    (tmp_path / "mac.txt").write_bytes("\r".join(DOCUMENTS[:3]).encode("utf-8") + b"\r")
    outputs = []
    for name in ("unix.txt", "mac.txt"):
        code, out, err = run_cli(capsys, "--model", export, "--input", tmp_path / name)
        assert code == 0, err
        outputs.append(out.splitlines())
    assert len(outputs[1]) == 3 and outputs[0] == outputs[1]


# --------------------------------------------------------------------------------------------------------------------
# the options the flags become


def test_options_defaults_are_the_flags_defaults():
    # the dataclass and the parser each state the defaults: they must agree, or Python callers would get others
    args = summarize.build_parser().parse_args(["--model", "m"])
    assert summarize.SummarizeOptions.from_namespace(args) == summarize.SummarizeOptions(model="m")
    assert set(vars(args)) == {f.name for f in dataclasses.fields(summarize.SummarizeOptions)}


@pytest.mark.parametrize("fields, message", [
    ({"batch_size": 0}, "--batch-size must be >= 1, got 0"),
    ({"threads": -1}, "--threads must be >= 0, got -1"),
    ({"fluency_model": "lm"}, "--fluency-model ranks candidates: add --candidates K"),
    ({"candidates": 4, "contiguity_weight": float("inf")}, "--contiguity-weight must be a number >= 0, got inf"),
    ({"headline_weight": 1.0}, "--headline-weight ranks candidates: add --candidates K"),
    ({"candidates": 4, "headline_weight": 1.0}, "--headline-weight reads the training corpus's word counts"),
    ({"candidates": 4, "rule_candidate": True}, "--rule-candidate adds the headline rule's summary"),
    ({"rule_samples": 2}, "--rule-samples adds variants of the rule's summary: add --rule-candidate"),
    ({"rule_temperature": 0.0}, "--rule-temperature must be a number > 0, got 0.0"),
])
def test_options_refuse_flags_that_cannot_work_together(fields, message):
    # on construction, from Python as from the command line, before anything is read or loaded
    with pytest.raises(pipeline.SummarizeError, match=re.escape(message)):
        summarize.SummarizeOptions(model="m", **fields)


def test_options_name_the_output_and_the_chooser_is_off_without_candidates(export):
    assert summarize.SummarizeOptions(model="m").output_path is None
    assert summarize.SummarizeOptions(model="m", output="-").output_path is None
    assert summarize.SummarizeOptions(model="m", output="out.txt").output_path == Path("out.txt")
    summarizer = pipeline.load_summarizer(export)
    assert summarize.build_chooser(summarize.SummarizeOptions(model=str(export)), summarizer) == (None, None)
