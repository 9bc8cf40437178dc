"""The fluency reward: a causal LM of the human sentences (scripts/train_fluency_lm.py) scoring G's summaries."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_CONFIG, run_tiny
from transformers import AutoTokenizer

from seq2seq2seq.config import ConfigError, load_config
from seq2seq2seq.data import decoder_targets, load_corpus
from seq2seq2seq.losses import sequence_mean_logprob
from seq2seq2seq.rewards.lm import FluencyReward, language_model_logits, load_fluency_model
from seq2seq2seq.types import Summaries

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("train_fluency_lm", ROOT / "scripts" / "train_fluency_lm.py")
train_lm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_lm)

SMALL = ["--layers", "1", "--d_model", "32", "--heads", "2", "--batch_size", "16", "--heldout", "20",
         "--warmup_steps", "10", "--lr", "3e-3"]


@pytest.fixture(scope="module")
def fluency_lm(tiny_corpus: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lm") / "fluency_lm"
    assert train_lm.main(["--data_dir", str(tiny_corpus), "--out", str(out), "--steps", "200",
                          "--eval_every", "20", *SMALL]) == 0
    return out


def _as_summaries(tokenizer, texts: list[str]) -> Summaries:
    ids, mask = decoder_targets(tokenizer, texts, 32)
    return Summaries(ids, mask)


def test_training_lowers_heldout_perplexity_and_saves_a_loadable_model(fluency_lm: Path) -> None:
    record = json.loads((fluency_lm / "fluency_lm.json").read_text())
    perplexities = [row["heldout_perplexity"] for row in record["history"]]
    assert len(perplexities) == 10 and perplexities[-1] < perplexities[0]
    assert record["examples_per_second"] > 0
    lm, tokenizer = load_fluency_model(str(fluency_lm))
    assert lm.config.model_type == "gpt2" and len(tokenizer) == lm.config.vocab_size


def test_the_reward_prefers_human_word_order(fluency_lm: Path, tiny_corpus: Path) -> None:
    corpus = load_corpus(tiny_corpus)
    lm, lm_tokenizer = load_fluency_model(str(fluency_lm))
    tokenizer = AutoTokenizer.from_pretrained(str(corpus.tokenizer_dir))
    reward = FluencyReward(lm, lm_tokenizer, tokenizer, 1.0)
    assert reward.same  # the script's default tokenizer is the corpus's: G's ids go straight in
    sentences = corpus.sentences[:40]
    backwards = [" ".join(reversed(s.split())) for s in sentences]
    with torch.no_grad():
        human = reward(None, _as_summaries(tokenizer, sentences))
        reversed_order = reward(None, _as_summaries(tokenizer, backwards))
    assert human.shape == (40,) and torch.isfinite(human).all()
    assert (human > reversed_order).float().mean() > 0.8


def test_a_summary_in_another_tokenizer_goes_as_text(fluency_lm: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    # G with a WordPiece tokenizer, the LM with the corpus's: the reward decodes G's ids and re-encodes the text
    from pretrained import tiny_bert

    corpus = load_corpus(tiny_corpus)
    bert = AutoTokenizer.from_pretrained(str(tiny_bert(tmp_path / "bert", corpus.sentences)))
    lm, lm_tokenizer = load_fluency_model(str(fluency_lm))
    reward = FluencyReward(lm, lm_tokenizer, bert, 1.0)
    assert not reward.same
    texts = corpus.sentences[:5]
    with torch.no_grad():
        got = reward(None, _as_summaries(bert, texts))
        ids, mask = decoder_targets(lm_tokenizer, [" ".join(bert.decode(bert(t, add_special_tokens=False)
                                                                            ["input_ids"]).split()) for t in texts], 48)
        want = sequence_mean_logprob(language_model_logits(lm, ids, mask, reward.start_id).float(), ids, mask)
    torch.testing.assert_close(got, want)


def test_fluency_weight_without_a_model_says_how_to_make_one() -> None:
    with pytest.raises(ConfigError, match="train_fluency_lm.py"):
        load_config(TINY_CONFIG, {"adversarial": {"fluency_weight": 0.1}})


def test_a_run_with_the_fluency_reward_logs_it(fluency_lm: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--adversarial.fluency_model", str(fluency_lm),
                    "--adversarial.fluency_weight", "0.1") == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    values = [row["rewards/fluency/mean"] for row in rows if row["stage"] == "adversarial"]
    assert values and all(v < 0 for v in values)


def test_a_missing_fluency_model_is_a_clear_error(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    assert run_tiny(tiny_corpus, tmp_path / "run", "--adversarial.fluency_model", str(tmp_path / "nowhere"),
                    "--adversarial.fluency_weight", "0.1") == 2
    err = capsys.readouterr().err
    assert "fluency model" in err and "train_fluency_lm.py" in err and "Traceback" not in err


def test_the_script_refuses_an_existing_model_folder(fluency_lm: Path, tiny_corpus: Path, capsys) -> None:
    assert train_lm.main(["--data_dir", str(tiny_corpus), "--out", str(fluency_lm), "--steps", "1", *SMALL]) == 2
    assert "already holds a model" in capsys.readouterr().err


def test_init_continues_the_given_model_and_keeps_its_architecture(fluency_lm: Path, tiny_corpus: Path,
                                                                     tmp_path: Path) -> None:
    # one step of fine-tuning at a small learning rate: the given model's perplexity, far below that of a new
    # model after the same step; the size options (--layers 3) are ignored for the given model's
    args = ["--data_dir", str(tiny_corpus), "--steps", "1", "--eval_every", "1", *SMALL, "--layers", "3",
            "--lr", "1e-4", "--warmup_steps", "0"]
    assert train_lm.main([*args, "--init", str(fluency_lm), "--out", str(tmp_path / "tuned")]) == 0
    assert train_lm.main([*args, "--out", str(tmp_path / "new")]) == 0
    base, tuned, new = (json.loads((folder / "fluency_lm.json").read_text())
                        for folder in (fluency_lm, tmp_path / "tuned", tmp_path / "new"))
    first = tuned["history"][0]["heldout_perplexity"]
    assert tuned["init"] == str(fluency_lm) and tuned["layers"] == 1 and tuned["d_model"] == 32
    assert new["init"] is None and new["layers"] == 3
    assert first == pytest.approx(base["history"][-1]["heldout_perplexity"], rel=0.1)
    assert first < new["history"][0]["heldout_perplexity"] / 2
    lm, _ = load_fluency_model(str(tmp_path / "tuned"))
    assert lm.config.n_layer == 1


def test_init_with_a_missing_model_or_another_tokenizer_is_a_clear_error(fluency_lm: Path, tiny_corpus: Path,
                                                                          tmp_path: Path, capsys) -> None:
    assert train_lm.main(["--data_dir", str(tiny_corpus), "--init", str(tmp_path / "nowhere"),
                          "--out", str(tmp_path / "a"), "--steps", "1", *SMALL]) == 2
    err = capsys.readouterr().err
    assert "--init" in err and "fluency model" in err and "Traceback" not in err
    assert train_lm.main(["--data_dir", str(tiny_corpus), "--init", str(fluency_lm), "--tokenizer", str(fluency_lm),
                          "--out", str(tmp_path / "b"), "--steps", "1", *SMALL]) == 2
    assert "drop --tokenizer" in capsys.readouterr().err


def test_reward_diagnostics_reports_a_fluency_row(fluency_lm: Path, tiny_corpus: Path, tiny_run: Path,
                                                  tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("reward_diagnostics", ROOT / "scripts" / "research" / "reward_diagnostics.py")
    diagnostics = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(diagnostics)
    checkpoint = sorted((tiny_run / "checkpoints").iterdir())[-1]
    out = tmp_path / "diag.json"
    assert diagnostics.main(["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint",
                             str(checkpoint), "--documents", "4", "--samples", "3", "--batch", "2", "--json", str(out),
                             "--adversarial.fluency_model", str(fluency_lm)]) == 0
    row = json.loads(out.read_text())["rewards"]["fluency"]
    assert -1.0 <= row["corr"] <= 1.0


def test_soft_rows_give_the_lm_reward_of_the_ids_and_a_gradient(fluency_lm: Path, tiny_corpus: Path) -> None:
    from seq2seq2seq.decoding.soft_tokens import soft_language_model_logprob

    lm, lm_tokenizer = load_fluency_model(str(fluency_lm))
    reward = FluencyReward(lm, lm_tokenizer, lm_tokenizer, 1.0)
    summaries = _as_summaries(lm_tokenizer, load_corpus(tiny_corpus).sentences[:6])
    rows = torch.nn.functional.one_hot(summaries.summary_ids, len(lm_tokenizer)).float().requires_grad_()
    soft = soft_language_model_logprob(lm, rows, summaries.summary_mask, reward.start_id)
    torch.testing.assert_close(soft, reward(None, summaries), atol=1e-5, rtol=1e-5)
    soft.sum().backward()
    assert rows.grad is not None and torch.isfinite(rows.grad).all() and rows.grad.abs().sum() > 0
    assert all(p.grad is None for p in lm.parameters())


def test_under_gumbel_the_fluency_reward_is_a_gradient_too(fluency_lm: Path, tiny_corpus: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--adversarial.fluency_model", str(fluency_lm), "--adversarial.fluency_weight",
                    "0.1", "--adversarial.estimator", "gumbel") == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    adversarial = [row for row in rows if row["stage"] == "adversarial"]
    assert adversarial and all(row["soft/fluency"] == pytest.approx(row["rewards/fluency/mean"], abs=1e-4)
                               for row in adversarial)
