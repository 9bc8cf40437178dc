"""The length a user asks for, learned (pretrain.length_words): the config's checks, the control token before G's
input and never in its output, targets of the requested length, the export's record and summarize --words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_CONFIG, run_tiny

from seq2seq2seq.config import ConfigError, load_config, merge_overrides
from seq2seq2seq.data import load_corpus, tokenize
from seq2seq2seq.decoding.sampling import generate_summaries, summary_logits
from seq2seq2seq.inference import cli as summarize
from seq2seq2seq.length_control import (
    add_length_tokens,
    default_words,
    length_token,
    nearest_length,
    untrained_warning,
)
from seq2seq2seq.search_targets import SearchTargets, SearchTargetsError, targets_by_length
from seq2seq2seq.train.trainer import Trainer
from seq2seq2seq.types import Summaries

LENGTHS = [3, 5]
ON = ["--pretrain.length_words", "[3, 5]", "--pretrain.task", "lead"]


def _config(**overrides):
    return load_config(TINY_CONFIG, overrides)


def _trainer(corpus: Path, out: Path, **overrides) -> Trainer:
    # 40 tokens: room for 5 words of many pieces each (a 400-piece vocabulary), so no target is cut at the cap
    base = {"data_dir": str(corpus), "output_dir": str(out), "pretrain": {"length_words": LENGTHS, "task": "lead"},
            "decoding": {"max_summary_tokens": 40}}
    cfg = load_config(TINY_CONFIG, merge_overrides(base, overrides))
    return Trainer(cfg, load_corpus(cfg.data_dir))


@pytest.fixture(scope="module")
def length_run(tiny_corpus: Path, tmp_path_factory) -> Path:
    """A finished tiny run of a length-conditioned G (BART without the pointer: plain transformers loads it)."""
    out = tmp_path_factory.mktemp("length_run")
    assert run_tiny(tiny_corpus, out, *ON, "--decoding.source_only", "true", "--decoding.whole_words", "true") == 0
    return out


# ---- the config ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lengths, says", [
    ([0, 3], ">= 1"),
    ([5, 3], "increasing order: [3, 5]"),
    ([3, 3], "increasing order: [3]"),
    ([3, 8], "decoding.max_summary_tokens is 8"),  # tiny.yaml: 8 tokens, so 8 words cannot fit
])
def test_bad_lengths_are_refused_with_the_fix(lengths, says):
    with pytest.raises(ConfigError, match="pretrain.length_words") as err:
        _config(pretrain={"length_words": lengths})
    assert says in str(err.value)


def test_lengths_refuse_the_modes_they_do_not_combine_with():
    with pytest.raises(ConfigError, match="adversarial.estimator: gumbel"):
        _config(pretrain={"length_words": LENGTHS}, adversarial={"estimator": "gumbel"})
    with pytest.raises(ConfigError, match="max_summary_words is 4"):
        _config(pretrain={"length_words": LENGTHS}, decoding={"source_only": True, "whole_words": True,
                                                              "max_summary_words": 4})
    with pytest.raises(ConfigError, match="names 1 folders for 2 lengths"):
        _config(pretrain={"length_words": LENGTHS, "task": "search", "search_targets": "a"})
    # one folder per length is fine, and the default (off) changes nothing
    cfg = _config(pretrain={"length_words": LENGTHS, "task": "search", "search_targets": "a, b"})
    assert cfg.pretrain.search_target_folders == ["a", "b"]
    assert _config().pretrain.length_words == []


# ---- the tokens ---------------------------------------------------------------------------------------------------

def test_the_token_is_one_id_and_leaves_the_document_ids_alone(tiny_corpus: Path):
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    size = len(base)
    tokenizer = add_length_tokens(base, LENGTHS)
    assert len(base) == size and len(tokenizer) == size + 2  # a copy: R's and D's tokenizer is left as it was
    ids = tokenizer.convert_tokens_to_ids([length_token(3), length_token(5)])
    assert ids == [size, size + 1]
    text = "the cat sat on the mat"
    plain, _ = tokenize(tokenizer, [text], 32)
    marked, _ = tokenize(tokenizer, [f"{length_token(5)} {text}"], 32)
    assert marked[0, 0].item() == size + 1 and marked[0, 1:].tolist() == plain[0].tolist()
    assert tokenizer.decode(marked[0], skip_special_tokens=True) == tokenizer.decode(plain[0], skip_special_tokens=True)


def test_default_and_nearest_lengths():
    assert default_words([8, 10, 13]) == 10 and default_words([8, 13]) == 8 and default_words([]) is None
    assert nearest_length(11, [8, 10, 13]) == 10 and nearest_length(12, [8, 10, 13]) == 13
    assert nearest_length(9, [8, 10, 13]) == 8  # a tie goes to the shorter
    assert untrained_warning(10, [8, 10, 13]) is None
    assert "8, 10, 13" in untrained_warning(7, [8, 10, 13])


def test_pretraining_targets_have_the_requested_length_behind_its_token(tiny_corpus: Path, tmp_path: Path):
    t = _trainer(tiny_corpus, tmp_path)
    g_ids = t.tokenizer.convert_tokens_to_ids([length_token(n) for n in LENGTHS])
    assert t.accelerator.unwrap_model(t.g).config.length_token_ids == g_ids
    # R and D keep the corpus's tokenizer and vocabulary
    assert len(t.r_tokenizer) == len(t.tokenizer) - 2
    assert t.accelerator.unwrap_model(t.r).config.vocab_size == len(t.r_tokenizer)
    texts = [t.corpus.documents[i] for i in range(8)]
    words = t.batches.requested_words(t.engine.seed("pretrain", 0), len(texts))
    src, tgt_ids, tgt_mask = t.batches.pseudo_batch(texts, t.engine.seed("pretrain", 0), indices=list(range(8)))
    assert set(words) <= set(LENGTHS)
    targets = t.tokenizer.batch_decode(tgt_ids.masked_fill(tgt_mask == 0, t.tokenizer.pad_token_id),
                                       skip_special_tokens=True)
    for text, n, target, first in zip(texts, words, targets, src.input_ids[:, 0].tolist()):
        # task 'lead' at n words: the document's first n words, and G reads n's control token first
        assert target.split() == t.tokenizer.decode(t.tokenizer(" ".join(text.split()[:n]))["input_ids"],
                                                    skip_special_tokens=True).split()
        assert first == g_ids[LENGTHS.index(n)]
    # R rebuilds the documents alone: no control token in its targets
    r_ids, _ = src.targets
    assert not torch.isin(r_ids, torch.tensor(g_ids)).any()
    plain, _ = tokenize(t.r_tokenizer, texts, t.cfg.model.max_document_tokens)
    assert r_ids.tolist() == plain.tolist()


@pytest.mark.parametrize("pointer", [False, True])
def test_the_control_token_is_never_written_nor_copied(tiny_corpus: Path, tmp_path: Path, pointer: bool):
    t = _trainer(tiny_corpus, tmp_path, model={"pointer": pointer},
                 decoding={"source_only": pointer, "whole_words": False})
    g = t.accelerator.unwrap_model(t.g)
    ctrl = g.config.length_token_ids
    with torch.no_grad():  # G's vocabulary now all but insists on the control tokens
        g.final_logits_bias[:, ctrl] = 1e4
        if pointer:  # and the pointer copies: gate shut, so all mass is the copy's, which sees the token in the input
            g.copy_gate.bias.fill_(-1e4)
    docs = t.batches.documents([t.corpus.documents[i] for i in range(4)], [3, 5, 3, 5])
    assert torch.isin(docs.input_ids[:, 0], torch.tensor(ctrl)).all()
    out = generate_summaries(g, docs.input_ids, docs.attention_mask, t.cfg.decoding, do_sample=True, num_samples=3)
    assert not torch.isin(out.summary_ids, torch.tensor(ctrl)).any()
    logits = summary_logits(g, docs.input_ids.repeat_interleave(3, 0), docs.attention_mask.repeat_interleave(3, 0),
                            Summaries(out.summary_ids, out.summary_mask), t.cfg.decoding)
    assert torch.isinf(logits[..., ctrl]).all() and (logits[..., ctrl] < 0).all()


def test_search_targets_are_picked_by_the_words_they_were_computed_at(tmp_path: Path):
    eight = SearchTargets(tmp_path / "a", {0: "x"}, [0], {"words": 8})
    ten = SearchTargets(tmp_path / "b", {0: "y"}, [0], {"words": 10})
    assert targets_by_length([ten, eight], [8, 10]) == {8: eight, 10: ten}
    with pytest.raises(SearchTargetsError, match="asks for 13 words"):
        targets_by_length([ten, eight], [8, 10, 13])
    with pytest.raises(SearchTargetsError, match="both computed at 10 words"):
        targets_by_length([ten, ten], [10])


# ---- the export and summarize --words -----------------------------------------------------------------------------

def test_the_export_loads_with_plain_transformers_and_records_its_lengths(length_run: Path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    folder = length_run / "final" / "summarizer"
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSeq2SeqLM.from_pretrained(str(folder))
    assert model.config.length_words == LENGTHS
    ids = tokenizer.convert_tokens_to_ids([length_token(n) for n in LENGTHS])
    assert model.config.length_token_ids == ids and model.config.vocab_size == len(tokenizer)
    assert tokenizer(f"{length_token(3)} the")["input_ids"][0] == ids[0]
    settings = json.loads((folder / "seq2seq2seq_decoding.json").read_text())
    assert settings["length_words"] == LENGTHS and settings["default_words"] == 3
    # R's and D's exports keep the corpus's tokenizer, without the tokens
    reconstructor = AutoTokenizer.from_pretrained(str(length_run / "final" / "reconstructor"))
    assert len(reconstructor) == len(tokenizer) - 2


def _summarize(capsys, tmp_path: Path, model: Path, *flags: str) -> tuple[int, list[str], str]:
    src = tmp_path / "docs.txt"
    src.write_text("the president met the prime minister to discuss trade and security in the region .\n"
                   "stocks rose sharply in tokyo as investors bet on lower interest rates .\n", encoding="utf-8")
    code = summarize.main(["--model", str(model), "--input", str(src), "--quiet", "--no-normalize", *flags])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_words_caps_the_summary_and_warns_once_on_an_untrained_length(length_run: Path, tmp_path: Path, capsys):
    code, lines, err = _summarize(capsys, tmp_path, length_run, "--words", "5")
    assert code == 0 and len(lines) == 2 and all(1 <= len(line.split()) <= 5 for line in lines)
    assert "warning: --words" not in err
    code, lines, err = _summarize(capsys, tmp_path, length_run, "--words", "4")
    assert code == 0 and all(len(line.split()) <= 4 for line in lines)
    warnings = [line for line in err.splitlines() if line.startswith("warning: --words 4")]
    assert len(warnings) == 1 and "trained on 3, 5 words" in warnings[0] and "<words_3>" in warnings[0]
    code, _, err = _summarize(capsys, tmp_path, length_run, "--words", "5", "--max-words", "3")
    assert code == 2 and "without --max-words" in err


def test_words_on_a_model_without_lengths_is_a_clear_error(tiny_run: Path, tmp_path: Path, capsys):
    code, lines, err = _summarize(capsys, tmp_path, tiny_run, "--words", "5")
    assert code == 2 and lines == []
    assert "not trained with pretrain.length_words" in err and "--max-words 5" in err


def test_a_length_run_resumes_and_refuses_other_lengths(tiny_corpus: Path, tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, *ON, "--adversarial.steps", "1") == 0
    # one more adversarial step: G's enlarged table and tokenizer fingerprint load as saved
    assert run_tiny(tiny_corpus, out, *ON, "--adversarial.steps", "2", "--resume") == 0
    capsys.readouterr()
    other = ["--pretrain.length_words", "[3, 4]", "--pretrain.task", "lead", "--adversarial.steps", "3", "--resume"]
    assert run_tiny(tiny_corpus, out, *other) != 0
    err = capsys.readouterr().err
    assert "summarizer tokenizer" in err and "pretrain.length_words" in err and "Traceback" not in err


def test_without_words_a_length_export_uses_its_default_and_others_are_unchanged(length_run: Path, tmp_path: Path,
                                                                                  capsys):
    from seq2seq2seq.config import DecodingConfig
    from seq2seq2seq.inference.api import Summarizer, length_prefix, length_request

    code, lines, _ = _summarize(capsys, tmp_path, length_run)
    assert code == 0 and all(len(line.split()) <= 3 for line in lines)  # the default: 3 of [3, 5]
    whole = DecodingConfig(source_only=True, whole_words=True)
    conditioned = Summarizer(None, None, whole, 32, tmp_path, length_words=[8, 10, 13], default_words=10)
    assert length_request(conditioned, None) == (10, 10, 10, [])
    assert length_request(conditioned, None, max_words=6) == (10, 6, None, [])  # the flags set the caps
    assert length_request(conditioned, 12)[:3] == (12, 12, 12)
    assert length_prefix(conditioned, 12) == "<words_13> " and length_prefix(conditioned, None) == ""
    plain = Summarizer(None, None, DecodingConfig(), 32, tmp_path)
    assert length_request(plain, None, max_words=6, min_words=2) == (None, 6, 2, [])
    assert length_prefix(plain, None) == ""


def test_the_speed_benchmark_times_a_length_export_as_summarize_runs_it(length_run: Path, tmp_path: Path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_summarize", Path(__file__).resolve().parent.parent
                                                  / "scripts" / "benchmark_summarize.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"document": f"the president met the prime minister number {i} to discuss "
                                                    f"trade and security in the region ."}) + "\n"
                            for i in range(5)), encoding="utf-8")
    argv = ["--model", str(length_run / "final" / "summarizer"), "--data", str(data), "--modes", "greedy",
            "--threads", "1", "--batch-size", "2", "--peak-seconds", "0.1"]
    assert bench.main(argv + ["--words", "5"]) == 0
    out = capsys.readouterr().out
    assert "words asked for: 5" in out
    assert float(out.split("float32 matmul peak ")[1].split()[0]) > 0  # the times come with the machine's peak
    greedy = next(line.split() for line in out.splitlines() if line.startswith("greedy"))
    assert greedy[1] == "5" and 1 <= float(greedy[4]) <= 5  # docs; mean words at most the 5 asked for
    assert bench.main(argv) == 0 and "words asked for: 3" in capsys.readouterr().out  # the export's default
    # both modes in one call write at most the length asked for
    assert bench.main(argv[:-8] + ["--modes", "greedy", "beam5", "--threads", "1", "--batch-size", "2",
                                   "--peak-seconds", "0.1", "--words", "5"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith(("greedy", "beam5"))]
    assert [row[0] for row in rows] == ["greedy", "beam5"] and all(1 <= float(row[4]) <= 5 for row in rows)
    assert bench.main(["--words", "5", "--data", str(data)]) == 2
    assert "--words needs --model" in capsys.readouterr().err
    assert bench.main(["--model", str(tmp_path / "missing"), "--data", str(data)]) == 2


def test_the_pipeline_asks_a_length_export_as_summarize_does(length_run: Path, tmp_path: Path, capsys):
    from seq2seq2seq.inference.hf_pipeline import summarization_pipeline

    pipe = summarization_pipeline(length_run, device="cpu")
    documents = ["the president met the prime minister to discuss trade and security in the region .",
                 "stocks rose sharply in tokyo as investors bet on lower interest rates ."]

    def texts(**kwargs) -> list[str]:
        return [row["summary_text"] for row in pipe(documents, normalize=False, **kwargs)]

    for flags, kwargs in (((), {}), (("--words", "5"), {"words": 5}), (("--max-words", "2"), {"max_words": 2})):
        code, lines, _ = _summarize(capsys, tmp_path, length_run, *flags)
        assert code == 0 and texts(**kwargs) == lines, flags  # the same summaries as the CLI, the token included
    assert all(len(t.split()) <= 3 for t in texts())  # the export's default: 3 of [3, 5]
    texts(words=4)
    assert "warning: words=4: this model was trained on 3, 5 words only" in capsys.readouterr().err
    with pytest.raises(ValueError, match="give it without max_words"):
        pipe(documents[0], words=5, max_words=3)
    with pytest.raises(ValueError, match="words must be >= 1"):
        pipe(documents[0], words=0)
