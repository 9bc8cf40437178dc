"""Expert iteration (issue 32): the search targets around a G (its summary, samples and edits of its summary), R
and D as judges beside the others, and the settings that a resumed search checks."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest
import torch
from pretrained import tiny_bert
from test_summarize import tokenizer_texts

from data_prep.search_candidates import (
    add_new,
    candidates_of,
    choose,
    load_judges,
    source_positions,
    word_drops,
    word_inserts,
)
from data_prep.search_targets import main as targets_main
from data_prep.search_targets import parse_args
from seq2seq2seq.data import load_corpus, load_headline_word_stats
from seq2seq2seq.rewards.base import zscore_combination
from seq2seq2seq.search_targets import read_targets


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("encoder"), tokenizer_texts(200))


# ---- the edits, by hand ----------------------------------------------------------------------------------------------

def test_each_word_dropped_in_turn():
    assert word_drops("police arrest man") == ["arrest man", "police man", "police arrest"]
    assert word_drops("one") == []  # never an empty candidate


def test_a_left_out_source_word_goes_back_at_its_source_place():
    document = "the police said they arrested a man in paris on friday"
    # summary words at source positions 1, 4, 6 (police, arrested, man)
    assert source_positions("police arrested man".split(), document.split()) == [1, 4, 6]
    # the first three source words not in the summary: the (0), said (2), they (3)
    assert word_inserts("police arrested man", document, 3) == [
        "the police arrested man", "police said arrested man", "police they arrested man"]
    # a word the source lacks keeps its predecessor's place; a word after every summary word goes last
    assert source_positions(["police", "xyz", "man"], document.split()) == [1, 1, 6]
    assert word_inserts("police man", "police man in paris", 2) == ["police man in", "police man paris"]
    assert word_inserts("police man", "police man", 5) == []


def test_proposals_are_added_only_when_new():
    texts, kinds = ["a b", "a c", "a b"], ["rule", "variant", "variant"]  # the rule's own repeats stay as drawn
    add_new(texts, kinds, ["a b", "a d", "", "a d", "a e"], ["greedy", "sample", "sample", "drop", "insert"])
    assert texts == ["a b", "a c", "a b", "a d", "a e"] and kinds == ["rule", "variant", "variant", "sample", "insert"]


# ---- G's proposals on a tiny run -------------------------------------------------------------------------------------

def _args(**changes) -> argparse.Namespace:
    args = parse_args(["--model", "x", "--samples", "3", "--edits", "2", "--candidates", "2"])
    for key, value in changes.items():
        setattr(args, key, value)
    return args


def test_g_adds_its_summary_samples_and_edits_repeatably(tiny_corpus, tiny_run):
    from seq2seq2seq.inference.api import load_summarizer

    summarizer = load_summarizer(tiny_run)
    documents = load_corpus(tiny_corpus, 6).documents
    stats = load_headline_word_stats(tiny_corpus)
    pools, kinds = candidates_of(documents, stats, _args(), summarizer, chunk=0)
    again, _ = candidates_of(documents, stats, _args(), summarizer, chunk=0)
    assert pools == again  # the same seed and chunk: the same samples
    other, _ = candidates_of(documents, stats, _args(), summarizer, chunk=1)
    assert other != pools  # another chunk seed draws other samples
    rule_only, _ = candidates_of(documents, stats, _args(), None)
    assert sum("greedy" in k for k in kinds) >= 3 and sum("sample" in k for k in kinds) >= 3
    assert sum("insert" in k for k in kinds) >= 3  # (the tiny G writes one word: its drops are the hand tests')
    for pool, kind, rule, document in zip(pools, kinds, rule_only, documents):
        assert pool[:3] == rule and kind[:3] == ["rule", "variant", "variant"]  # the rule's pool, unchanged
        assert len(pool) == len(set(pool[3:])) + 3 and all(t not in rule for t in pool[3:])  # only new proposals
        assert all(len(t.split()) <= 10 for t in pool)  # cut to --words
        g = next((t for t, k in zip(pool, kind) if k == "greedy"), None)
        if g is not None:  # each drop of it and the first two inserts are candidates, whatever kind came first
            assert set(word_drops(g)) | {" ".join(t.split()[:10]) for t in word_inserts(g, document, 2)} <= set(pool)


# ---- R and D as judges ----------------------------------------------------------------------------------------------

def test_r_scores_a_text_as_its_own_loss_says(tiny_corpus, tiny_run, encoder_dir):
    """R's judge score is R's mean log-likelihood of the document given the text: -(R's own cross-entropy)."""
    from transformers import AutoTokenizer

    from seq2seq2seq.models.build import load_seq2seq

    args = parse_args(["--similarity_weight", "0", "--headline_weight", "0", "--reconstruction_model",
                       str(tiny_run), "--reconstruction_weight", "1"])
    judges = load_judges(args, tiny_corpus)
    document, summary = load_corpus(tiny_corpus, 1).documents[0], "police arrested a man"
    [[score]] = judges["reconstruction"].score_candidates([document], [[summary]])
    r = load_seq2seq(tiny_run / "final" / "reconstructor").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_run / "final" / "reconstructor"))
    inputs = tokenizer([summary], return_tensors="pt")
    labels = tokenizer([document], max_length=32, truncation=True, return_tensors="pt")["input_ids"]  # tiny: 32
    with torch.no_grad():
        loss = r(**inputs, labels=labels).loss
    assert score == pytest.approx(-loss.item(), abs=1e-4)
    [[empty, _]] = judges["reconstruction"].score_candidates([document], [["", summary]])
    assert empty == float("-inf")


def _targets(corpus: Path, out: Path, encoder: Path, *extra: str) -> int:
    return targets_main(["--data_dir", str(corpus), "--out", str(out), "--similarity_model", str(encoder),
                         "--candidates", "4", "--chunk_size", "16", "--max_documents", "32", *extra])


@pytest.mark.parametrize("judge", ["reconstruction", "discriminator"])
def test_r_and_d_change_the_choice_when_weighted_and_not_at_weight_0(tiny_corpus, tiny_run, encoder_dir, tmp_path,
                                                                     judge):
    flags = [f"--{judge}_model", str(tiny_run), f"--{judge}_weight"]
    assert _targets(tiny_corpus, tmp_path / "base", encoder_dir) == 0
    assert _targets(tiny_corpus, tmp_path / "zero", encoder_dir, *flags, "0") == 0
    assert _targets(tiny_corpus, tmp_path / "heavy", encoder_dir, *flags, "1000") == 0
    base, zero, heavy = (read_targets(tmp_path / name) for name in ("base", "zero", "heavy"))
    assert zero.by_index == base.by_index
    assert heavy.by_index != base.by_index
    # at weight 1000 the choice is the judge's own best candidate (similarity's and headline's z-scores sum to at
    # most a few units, a unit of the judge's z-score weighs 1000)
    args = parse_args(["--data_dir", str(tiny_corpus), "--candidates", "4", "--similarity_weight", "0",
                       "--headline_weight", "0", *flags, "1"])
    documents = load_corpus(tiny_corpus, 32).documents
    pools, _ = candidates_of(documents, load_headline_word_stats(tiny_corpus), args)
    scores = load_judges(args, tiny_corpus)[judge].score_candidates(documents, pools)
    clear = 0
    for i, (pool, row) in enumerate(zip(pools, scores)):
        z = zscore_combination([row], [1.0])
        leaders = {text for text, value in zip(pool, z) if value > max(z) - 0.01}
        if len(leaders) == 1:  # a clear best by the judge (0.01 of its z-score outweighs the others' few units)
            assert heavy[i] == leaders.pop()
            clear += 1
    assert clear >= 8  # a quarter of the 32 documents at least (the tiny D finds many candidates alike)
    assert choose(load_judges(args, tiny_corpus), documents, pools) == [row.index(max(row)) for row in scores]


def test_a_resumed_search_with_another_g_is_refused(tiny_corpus, tiny_run, encoder_dir, tmp_path, capsys):
    g = tmp_path / "g"
    shutil.copytree(tiny_run / "final" / "summarizer", g)
    model = ["--model", str(g), "--samples", "2", "--edits", "1"]
    assert _targets(tiny_corpus, tmp_path / "t", encoder_dir, *model) == 0
    settings = read_targets(tmp_path / "t").settings
    assert settings["model"] == str(g) and len(settings["model_sha256"]) == 64 and settings["samples"] == 2
    assert _targets(tiny_corpus, tmp_path / "t", encoder_dir, *model) == 0  # the same G: resumed
    shutil.copy(tiny_run / "pretrained" / "summarizer" / "model.safetensors", g / "model.safetensors")
    assert _targets(tiny_corpus, tmp_path / "t", encoder_dir, *model) == 2  # same folder, other weights
    assert "other settings (model_sha256" in capsys.readouterr().err
    assert _targets(tiny_corpus, tmp_path / "t", encoder_dir, *model[:-1], "3") == 2
    assert "edits 1 -> 3" in capsys.readouterr().err


def test_a_folder_of_rule_targets_from_before_still_resumes(tiny_corpus, encoder_dir, tmp_path):
    import json

    out = tmp_path / "t"
    assert _targets(tiny_corpus, out, encoder_dir, "--chunk_size", "1024") == 0  # the first version's default
    settings = json.loads((out / "settings.json").read_text())
    old = {k: v for k, v in settings.items() if k in ("candidates", "temperature", "words", "seed", "fluency_model",
                                                      "fluency_weight", "headline_weight", "similarity_model",
                                                      "documents", "documents_sha256")}
    (out / "settings.json").write_text(json.dumps(old))  # what the first version recorded
    targets = read_targets(out)
    (out / "chunk-000000.arrow").unlink()
    assert _targets(tiny_corpus, out, encoder_dir, "--chunk_size", "1024") == 0  # resumed, not refused
    assert read_targets(out).by_index == targets.by_index


# ---- the selector ablation -------------------------------------------------------------------------------------------

def test_the_selector_ablation_scores_each_judge_left_out_and_alone(tiny_corpus, tiny_run, encoder_dir, tmp_path,
                                                                   capsys):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "selector_ablation", Path(__file__).resolve().parent.parent / "scripts" / "research" / "selector_ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    learning = tmp_path / "learning.json"
    argv = ["--limit", "6", "--out", str(tmp_path / "rows.json"), "--learning_json", str(learning), "--",
            "--data_dir", str(tiny_corpus), "--similarity_model", str(encoder_dir), "--candidates", "3",
            "--model", str(tiny_run), "--samples", "2", "--edits", "1",
            "--reconstruction_model", str(tiny_run), "--reconstruction_weight", "0.5",
            "--discriminator_model", str(tiny_run), "--discriminator_weight", "0.5"]
    assert ablation.main(argv) == 0
    result = json.loads((tmp_path / "rows.json").read_text())
    rows = result["rows"]
    judges = ("similarity", "headline", "reconstruction", "discriminator")  # fluency: no --fluency_model
    assert set(rows) == {"the rule's summary (no choice)", "G's greedy summary (no choice)", "all judges",
                         "oracle: the best candidate by ROUGE-1 against the reference",
                         *(f"without {j}" for j in judges), *(f"{j} alone" for j in judges)}
    # the oracle picks per document the best ROUGE-1 there is: no row is above it
    best = rows["oracle: the best candidate by ROUGE-1 against the reference"]["rouge1"]
    assert all(row["rouge1"] <= best + 1e-9 for row in rows.values())
    assert result["chosen_kinds"]["the rule's summary (no choice)"]["rule"] == 1.0
    assert "G's greedy summary (no choice)" not in result["chosen_kinds"]  # scored from its texts, not picked
    assert json.loads(learning.read_text())["ablation"]["selectors_dev"]["rows"] == rows
    assert "without reconstruction" in capsys.readouterr().out
    # a judge whose run is missing: a clear error naming the flag
    bad = argv[:argv.index("--reconstruction_model") + 1] + [str(tmp_path / "gone")] + argv[
        argv.index("--reconstruction_model") + 2:]
    assert ablation.main(bad) == 2 and "gone" in capsys.readouterr().err
