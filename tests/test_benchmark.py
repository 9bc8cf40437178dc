"""scripts/benchmark.py end to end on the tiny config: train, summarize, score, ablation rows, report files."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import torch
from conftest import TINY_CONFIG
from pretrained import tiny_bert
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

from seq2seq2seq.eval.seed_results import HEADLINE_BASELINE

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "scripts" / "benchmark.py")
benchmark = importlib.util.module_from_spec(_spec)
sys.modules["benchmark_script"] = benchmark  # its dataclasses look their module up there
_spec.loader.exec_module(benchmark)


def test_benchmark_writes_the_report_with_ablation_and_readability_rows(tiny_corpus: Path, tmp_path: Path,
                                                                       capsys) -> None:
    run = tmp_path / "bench"
    results = tmp_path / "results" / "tiny.json"
    encoder = tiny_bert(tmp_path / "encoder", (tiny_corpus / "train.txt").read_text().splitlines())
    common = ["--config", str(TINY_CONFIG), "--run_dir", str(run), "--data_dir", str(tiny_corpus), "--eval_size", "4",
              "--model.pointer", "true", "--pretrain.task", "headline",
              "--adversarial.similarity_model", str(encoder)]  # the encoder of --candidates below
    assert benchmark.main(common + ["--test_limit", "6", "--results_json", str(results)]) == 0
    report = json.loads((run / "report.json").read_text())
    test_rows = report["scores"]["test"]
    for row in ("seq2seq2seq", "pre-trained G only", "final G (no selection)", "lead-8", "lead-10",
                HEADLINE_BASELINE):
        assert 0.0 <= test_rows[row]["rouge1"] <= 100.0, row
    assert test_rows["lead-8"]["avg_words"] <= 8.0
    readable = report["readability"]["test"]
    assert set(readable) >= {"seq2seq2seq", "human references", "lead-8"}
    assert all(0.0 <= r["d_human_prob"] <= 100.0 for r in readable.values())
    assert all(r["d_judged_human"] in {100.0 * k / 6 for k in range(7)} for r in readable.values())  # of 6 summaries
    assert report["matmul_peak_flops"] > 1e8
    assert all(t["fraction_of_matmul_peak"] > 0 for t in report["training"]["throughput"].values())
    markdown = (run / "report.md").read_text()
    assert "of matmul peak" in markdown and "pre-trained G only" in markdown and "Readability" in markdown
    assert len((run / "test.predictions.txt").read_text().splitlines()) == 6
    # the final G's summaries beside the pre-trained G's, for the same test documents
    beside = report["beside_pretrained"]["test"]
    predictions = (run / "test.predictions.txt").read_text().splitlines()
    assert len(beside) == 6 and [b["summary"] for b in beside] == predictions
    assert "Test summaries beside the pre-trained G's" in markdown
    # the training curves beside the report, and the shared results file with this seed's test rows
    png = run / "training_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "![dev ROUGE, rewards and losses over training](training_curves.png)" in markdown
    seeds = json.loads(results.read_text())["seeds"]
    assert [s["seed"] for s in seeds] == [0]
    for key, system in (("final", "seq2seq2seq"), ("pretrained", "pre-trained G only"),
                        ("rule", HEADLINE_BASELINE)):
        assert seeds[0][key]["rouge1"] == round(test_rows[system]["rouge1"], 2)
        assert set(seeds[0][key]) == {"rouge1", "rouge2", "rougeL", "words", "p_human"}
        assert seeds[0][key]["p_human"] == round(report["readability"]["test"][system]["d_human_prob"], 1)
    # the finished run is reused for the same settings, and refused for new ones (it would report the old model)
    args = common + ["--test_limit", "2"]
    assert benchmark.main(args + ["--adversarial.steps", "5"]) == 2
    assert "adversarial.steps: 2 -> 5" in capsys.readouterr().err
    assert benchmark.main(args) == 0
    # re-scored with a choice among 1 + 3 candidates: one more row, the others as before
    assert benchmark.main(args + ["--candidates", "3"]) == 0
    rescored = json.loads((run / "report.json").read_text())["scores"]["test"]
    assert 0.0 <= rescored["seq2seq2seq, best of 1+3 by similarity"]["rouge1"] <= 100.0
    assert "seq2seq2seq, best of 1+3 by similarity" in (run / "report.md").read_text()
    # and by similarity + fluency at two weights, both from the same candidates
    lm_dir = tmp_path / "lm"
    tokenizer = AutoTokenizer.from_pretrained(str(run / "train" / "final" / "summarizer"))
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=32, n_embd=16, n_layer=1, n_head=2)
                    ).save_pretrained(lm_dir)
    tokenizer.save_pretrained(lm_dir)
    assert benchmark.main(args + ["--candidates", "3", "--candidates_fluency_model", str(lm_dir),
                                  "--candidates_fluency_weight", "0", "2"]) == 0
    rescored = json.loads((run / "report.json").read_text())["scores"]["test"]
    for label in ("seq2seq2seq, best of 1+3 by similarity", "seq2seq2seq, best of 1+3 by similarity + 2 fluency"):
        assert 0.0 <= rescored[label]["rouge1"] <= 100.0, label
    # the model-free scores join: one row per combination of weights
    assert benchmark.main(args + ["--candidates", "3", "--candidates_headline_weight", "0", "0.5",
                                  "--candidates_contiguity_weight", "1"]) == 0
    rescored = json.loads((run / "report.json").read_text())["scores"]["test"]
    for label in ("seq2seq2seq, best of 1+3 by similarity + 1 contiguity",
                  "seq2seq2seq, best of 1+3 by similarity + 0.5 headline + 1 contiguity"):
        assert 0.0 <= rescored[label]["rouge1"] <= 100.0, label
    # the same choice for the pre-trained G (the fair control), and rows with the rule's summary a candidate; the
    # rows without it are those of the run above (same seeded candidates, the rule's column dropped again)
    assert benchmark.main(args + ["--candidates", "3", "--candidates_headline_weight", "0", "0.5",
                                  "--candidates_contiguity_weight", "1", "--candidates_pretrained",
                                  "--candidates_with_rule"]) == 0
    report = json.loads((run / "report.json").read_text())
    for label in ("seq2seq2seq, best of 1+3 by similarity + 1 contiguity",
                  "seq2seq2seq, best of 1+3 by similarity + 0.5 headline + 1 contiguity"):
        assert report["scores"]["test"][label] == rescored[label], label
        with_rule = label + ", the rule's summary a candidate"
        assert 0.0 <= report["scores"]["test"][with_rule]["rouge1"] <= 100.0
        assert 0.0 <= report["rule_chosen"]["test"][with_rule] <= 1.0
        pretrained = label.replace("seq2seq2seq", "pre-trained G")
        assert 0.0 <= report["scores"]["test"][pretrained]["rouge1"] <= 100.0
    assert set(report["choice"]) == {"chosen", "chosen_with_rule"}
    assert report["choice"]["chosen_with_rule"]["pretrained"].startswith("pre-trained G, best of 1+3")
    assert set(report["rule_chosen"]["test"]) == {label for label in report["scores"]["test"]
                                                  if label.endswith("the rule's summary a candidate")}
    # the rule's variants join its summary: the rows without the rule are still those above
    assert benchmark.main(args + ["--candidates", "3", "--candidates_headline_weight", "0", "0.5",
                                  "--candidates_contiguity_weight", "1", "--candidates_with_rule",
                                  "--candidates_rule_samples", "2", "--candidates_rule_temperature", "1"]) == 0
    report = json.loads((run / "report.json").read_text())
    label = "seq2seq2seq, best of 1+3 by similarity + 1 contiguity"
    assert report["scores"]["test"][label] == rescored[label]
    searched = label + ", the rule's summary and 2 variants at temperature 1 candidates"
    assert 0.0 <= report["scores"]["test"][searched]["rouge1"] <= 100.0
    assert 0.0 <= report["rule_chosen"]["test"][searched] <= 1.0
    no_model = ("headline-deletion search (no model): the rule's summary and 2 variants at temperature 1, best by "
                "similarity + 1 contiguity")
    assert 0.0 <= report["scores"]["test"][no_model]["rouge1"] <= 100.0
    # variants at a near-zero temperature are the rule's summary itself: the search without G is then the rule
    assert benchmark.main(args + ["--candidates", "3", "--candidates_with_rule", "--candidates_rule_samples", "2",
                                  "--candidates_rule_temperature", "1e-6"]) == 0
    report = json.loads((run / "report.json").read_text())
    sharp = ("headline-deletion search (no model): the rule's summary and 2 variants at temperature 1e-06, best by "
             "similarity")
    assert report["scores"]["test"][sharp] == report["scores"]["test"]["headline-deletion (no model)"]


def test_beside_pretrained_spreads_k_documents_over_the_set() -> None:
    docs = [f"d{i}" for i in range(25)]
    rows = benchmark.beside_pretrained(docs, [f"s{i}" for i in range(25)], [f"p{i}" for i in range(25)],
                                       [f"r{i}" for i in range(25)], k=10)
    assert [r["document"] for r in rows] == ["d0", "d2", "d5", "d7", "d10", "d12", "d15", "d17", "d20", "d22"]
    assert rows[3] == {"document": "d7", "pretrained": "p7", "summary": "s7", "reference": "r7"}
    assert len(benchmark.beside_pretrained(docs[:3], docs[:3], docs[:3], docs[:3], k=10)) == 3
    table = benchmark.beside_pretrained_table([{"document": "a | b", "pretrained": "p", "summary": "s",
                                                "reference": "r"}])
    assert table.splitlines()[2] == "| a \\| b | p | s | r |"


def test_collect_adds_finished_reports_with_the_judges_p_human(tmp_path: Path, capsys) -> None:
    row = {"rouge1": 26.0, "rouge2": 7.0, "rougeL": 22.5, "avg_words": 8.1}
    reports = []
    for seed in (1, 0):
        report = {"config": {"seed": seed}, "scores": {"test": {"seq2seq2seq": {**row, "rouge1": 26.0 + seed},
                                                                  "pre-trained G only": row}},
                  "readability": {"test": {"seq2seq2seq": {"d_human_prob": 61.234}}}}
        reports.append(tmp_path / f"report{seed}.json")
        reports[-1].write_text(json.dumps(report))
    out = tmp_path / "cpu.json"
    assert benchmark.main(["--collect", *map(str, reports), "--results_json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [s["seed"] for s in data["seeds"]] == [0, 1]
    assert data["seeds"][1]["final"] == {"rouge1": 27.0, "rouge2": 7.0, "rougeL": 22.5, "words": 8.1,
                                         "p_human": 61.2}
    assert "p_human" not in data["seeds"][1]["pretrained"]
    assert data["summary"]["gain_over_pretrained"]["mean"]["R-1"] == 0.5
    assert "p_human" not in data["summary"]["mean"]["final"]  # the pre-trained rows have none to compare with
    before = out.read_text()
    (tmp_path / "list.json").write_text("[]")
    assert benchmark.main(["--collect", str(reports[0]), str(tmp_path / "list.json"), "--results_json", str(out)]) == 2
    assert "not a benchmark report.json" in capsys.readouterr().err and out.read_text() == before  # nothing written
    assert benchmark.main(["--collect", str(reports[0]), str(reports[0]), "--results_json", str(out)]) == 2
    assert "both seed 1" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{}")
    assert benchmark.main(["--collect", str(tmp_path / "bad.json"), "--results_json", str(out)]) == 2
    assert "not a benchmark report.json" in capsys.readouterr().err
    assert benchmark.main(["--collect", str(reports[0])]) == 2
    assert "--collect takes report.json files and --results_json" in capsys.readouterr().err


def test_a_bad_fluency_chooser_is_refused_before_training(tmp_path: Path, capsys) -> None:
    run = ["--run_dir", str(tmp_path / "run")]
    assert benchmark.main([*run, "--candidates_fluency_model", str(tmp_path)]) == 2
    assert "needs --candidates K" in capsys.readouterr().err
    assert benchmark.main([*run, "--candidates", "4", "--candidates_fluency_model", str(tmp_path / "no-lm")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert benchmark.main([*run, "--candidates", "4", "--candidates_fluency_model", str(tmp_path),
                           "--candidates_fluency_weight", "-1"]) == 2
    assert "not a number >= 0" in capsys.readouterr().err
    assert benchmark.main([*run, "--candidates_headline_weight", "0.5"]) == 2
    assert "--candidates_headline_weight needs --candidates K" in capsys.readouterr().err
    assert benchmark.main([*run, "--candidates", "4", "--candidates_contiguity_weight", "0", "-1"]) == 2
    assert "--candidates_contiguity_weight must be numbers >= 0" in capsys.readouterr().err
    for flag in ("--candidates_pretrained", "--candidates_with_rule"):
        assert benchmark.main([*run, flag]) == 2
        assert f"{flag} needs --candidates K" in capsys.readouterr().err
    assert benchmark.main([*run, "--candidates", "4", "--candidates_temperature", "0"]) == 2
    assert "--candidates_temperature must be a number > 0" in capsys.readouterr().err
    assert benchmark.main([*run, "--candidates", "4", "--candidates_rule_samples", "2"]) == 2
    assert "--candidates_rule_samples needs --candidates_with_rule" in capsys.readouterr().err
    assert benchmark.main([*run, "--candidates", "4", "--candidates_with_rule",
                           "--candidates_rule_temperature", "0"]) == 2
    assert "--candidates_rule_temperature must be a number > 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing trained, nothing written


def test_plot_training_needs_a_run_that_logged_something(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("plot_training", ROOT / "scripts" / "plot_training.py")
    plot_training = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plot_training)
    assert plot_training.main([str(tmp_path)]) == 2
    assert "no metrics.jsonl" in capsys.readouterr().err


def test_judge_accuracy_prints_each_discriminators_held_out_shares(tiny_run: Path, tiny_corpus: Path,
                                                                   capsys) -> None:
    spec = importlib.util.spec_from_file_location("judge_accuracy", ROOT / "scripts" / "research" / "judge_accuracy.py")
    judge_accuracy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(judge_accuracy)
    d = str(tiny_run / "final" / "discriminator")
    argv = ["--config", str(TINY_CONFIG), "--summarizer", str(tiny_run / "final" / "summarizer"),
            "--dev", str(tiny_corpus / "dev.jsonl"), "--limit", "10", "--discriminator", d, "--discriminator", d]
    assert judge_accuracy.main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(rows) == 2 and rows[0] == rows[1] and rows[0]["pairs"] == 10
    row = rows[0]
    shares = {10.0 * k for k in range(11)}  # of 10 sentences each
    assert row["titles_judged_human"] in shares and row["g_judged_human"] in shares
    assert row["balanced_accuracy"] == round((row["titles_judged_human"] + 100 - row["g_judged_human"]) / 2, 1)
    assert judge_accuracy.main(argv[:-2] + ["--discriminator", str(tiny_run / "nothing-here")]) == 2
    assert "error:" in capsys.readouterr().err


def test_rule_by_length_scores_the_rule_at_each_length(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("rule_by_length", ROOT / "scripts" / "research" / "rule_by_length.py")
    rule_by_length = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rule_by_length)
    # the reference is the document's first three words: the 3-word rule (threshold below every score) matches it
    document = "police find a bomb in the city centre on monday"
    test = tmp_path / "test.jsonl"
    test.write_text(json.dumps({"document": document, "summary": "police find a"}) + "\n", encoding="utf-8")
    config = tmp_path / "rule.yaml"
    config.write_text("pretrain:\n  headline_threshold: -1000.0\n", encoding="utf-8")
    argv = ["--data_dir", str(tiny_corpus), "--config", str(config), "--test", str(test), "--words", "3", "6"]
    assert rule_by_length.main(argv) == 0
    out = capsys.readouterr().out
    assert "### dev" in out and "### test (1 examples)" in out
    test_table = out.split("### test")[1]
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in test_table.splitlines() if line.startswith("| rule,")}
    assert cells["rule, 3 words"] == ["100.00", "100.00", "100.00", "3.00"]  # R-L, words
    assert cells["rule, 6 words"][0] == f"{200 * (1 / 2) / (1 + 1 / 2):.2f}" and cells["rule, 6 words"][-1] == "6.00"
    assert rule_by_length.main(["--data_dir", str(tmp_path / "missing"), "--words", "9"]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_run_resumed_with_changes_is_not_a_run_of_its_final_settings(tmp_path: Path) -> None:
    from seq2seq2seq.config import config_to_yaml, load_config

    cfg = load_config(TINY_CONFIG, {"adversarial": {"lr_g": 0.5}})
    path = tmp_path / "config.yaml"
    path.write_text(config_to_yaml(cfg), encoding="utf-8")
    assert benchmark.changed_settings(cfg, path) == []
    change = {"step": 40, "stage": "adversarial", "global_step": 45, "key": "adversarial.lr_g", "old": 0.001,
              "new": 0.5}
    path.write_text(config_to_yaml(cfg, [change]), encoding="utf-8")
    assert benchmark.changed_settings(cfg, path) == ["adversarial.lr_g: 0.001 until adversarial step 40, then 0.5"]


def test_words_scores_g_and_the_rule_at_the_length_asked_for(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "bench"
    args = ["--config", str(TINY_CONFIG), "--run_dir", str(run), "--data_dir", str(tiny_corpus), "--eval_size", "4",
            "--test_limit", "6", "--pretrain.task", "lead", "--pretrain.length_words", "[3, 5]",
            "--decoding.max_summary_tokens", "40", "--decoding.source_only", "true", "--decoding.whole_words", "true"]
    assert benchmark.main(args) == 0  # a length-conditioned G with no --words: its default length (3 of 3, 5)
    default = json.loads((run / "report.json").read_text())
    assert default["words"] == {"g": 3, "rule": 3}
    assert "--pretrain.length_words [3, 5]" in default["command"]
    scores = {}
    for words in (3, 5):
        assert benchmark.main(args + ["--words", str(words)]) == 0
        report = json.loads((run / f"report.words{words}.json").read_text())
        assert report["words"] == {"g": words, "rule": words} and f"--words {words}" in report["command"]
        predictions = (run / f"test.words{words}.predictions.txt").read_text().splitlines()
        assert len(predictions) == 6 and all(1 <= len(p.split()) <= words for p in predictions)
        scores[words] = report["scores"]["test"]
        assert scores[words][HEADLINE_BASELINE]["avg_words"] == words  # Gigaword test documents are long enough
    assert scores[3] == default["scores"]["test"]  # the default length is 3: the same summaries and scores
    assert scores[5]["seq2seq2seq"]["avg_words"] > scores[3]["seq2seq2seq"]["avg_words"]
    assert (run / "report.json").read_text() == json.dumps(default, indent=2)  # the other lengths' files are apart
    assert benchmark.main(args + ["--words", "0"]) == 2
    assert "--words must be >= 1" in capsys.readouterr().err


def test_record_choice_writes_the_dev_best_choice_into_the_export_only_when_it_beats_g(tiny_corpus: Path,
                                                                                       tmp_path: Path) -> None:
    from seq2seq2seq.inference.recorded_choice import CHOICE_FILE, read_choice

    run = tmp_path / "bench"
    encoder = tiny_bert(tmp_path / "encoder", (tiny_corpus / "train.txt").read_text().splitlines())
    args = ["--config", str(TINY_CONFIG), "--run_dir", str(run), "--data_dir", str(tiny_corpus), "--eval_size", "4",
            "--test_limit", "2", "--pretrain.task", "headline", "--adversarial.similarity_model", str(encoder),
            "--candidates", "3", "--candidates_headline_weight", "0", "1", "--candidates_with_rule",
            "--candidates_rule_samples", "2", "--record_choice", "--candidates_in_order", "--dev_size", "6"]
    assert benchmark.main(args[:14] + ["--record_choice"]) == 2  # no --candidates: refused before training
    assert benchmark.main(args[:14] + ["--candidates_in_order"]) == 2
    assert benchmark.main(args[:14] + ["--dev_size", "0"]) == 2
    assert benchmark.main(args) == 2  # G's words in order need whole-word decoding: refused before training
    assert not (run / "train").exists()
    args += ["--decoding.source_only", "true", "--decoding.whole_words", "true"]
    assert benchmark.main(args) == 0
    report = json.loads((run / "report.json").read_text())
    export = Path(report["models"]["seq2seq2seq"])
    dev = report["scores"]["dev"]
    # --dev_size: the choice is picked on 6 dev documents, though training evaluated on 4
    assert len((run / "dev.predictions.txt").read_text().splitlines()) == 6

    def mean(label: str) -> float:
        return sum(dev[label][m] for m in ("rouge1", "rouge2", "rougeL")) / 3

    def rank(label: str) -> tuple:  # above the rule on all three first (by mean), else the smallest shortfall
        margin = min(dev[label][m] - dev[HEADLINE_BASELINE][m] for m in ("rouge1", "rouge2", "rougeL"))
        return (True, mean(label)) if margin > 0 else (False, margin)

    finals = [c["final"] for c in report["choice"].values()]
    best = max(finals, key=rank)
    assert report["recorded_choice"]["recorded"] is (mean(best) > mean("seq2seq2seq"))
    if report["recorded_choice"]["recorded"]:
        options = read_choice(export)
        assert options["candidates"] == 3 and options["similarity_model"] == str(encoder.resolve())
        assert options["rule_candidate"] is best.endswith("candidates")
        assert options["headline_weight"] == (1.0 if "headline" in best else 0.0)
        assert options["in_order"] is True and "G's in document order" in best
        assert (options["corpus"] == str(tiny_corpus.resolve())) is (options["rule_candidate"]
                                                                     or options["headline_weight"] > 0)
    else:
        assert not (export / CHOICE_FILE).exists() and "G alone is best on dev" in report["recorded_choice"]["why"]


def test_side_by_side_shows_g_the_rule_and_the_search_for_spread_documents(tiny_corpus: Path, tmp_path: Path,
                                                                          capsys) -> None:
    spec = importlib.util.spec_from_file_location("side_by_side", ROOT / "scripts" / "research" / "side_by_side.py")
    side = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(side)
    from seq2seq2seq.eval.baselines import read_pairs
    from seq2seq2seq.paths import shared_data_dir

    n_test = len(read_pairs(shared_data_dir() / "gigaword" / "test.jsonl")[0])
    predictions = tmp_path / "g.txt"
    predictions.write_text("".join(f"summary {i}\n" for i in range(n_test)), encoding="utf-8")
    encoder = tiny_bert(tmp_path / "encoder", (tiny_corpus / "train.txt").read_text().splitlines())
    argv = ["--data_dir", str(tiny_corpus), "--similarity_model", str(encoder), "--n", "4", "--words", "5",
            "--system", f"G={predictions}"]
    assert side.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| document | reference | G | the rule (5 words) | the search (no model) |"
    assert len(lines) == 2 + 4
    # every len/4-th document, in order: the G column shows those lines of the file
    assert [line.split(" | ")[2] for line in lines[2:]] == [f"summary {j * n_test // 4}" for j in range(4)]
    assert all(1 <= len(line.split(" | ")[3].split()) <= 5 for line in lines[2:])
    predictions.write_text("too short\n", encoding="utf-8")
    assert side.main(argv) == 2 and "1 lines for" in capsys.readouterr().err


def test_same_weights_tells_a_copy_from_a_changed_model() -> None:
    # the benchmark decodes the dev-selected G once when the last G is the same checkpoint
    config = GPT2Config(vocab_size=20, n_positions=16, n_embd=8, n_layer=1, n_head=2)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    copy = GPT2LMHeadModel(config)
    copy.load_state_dict(model.state_dict())
    assert benchmark.same_weights(model, model) and benchmark.same_weights(model, copy)
    with torch.no_grad():
        copy.lm_head.weight[0, 0] += 1.0
    assert not benchmark.same_weights(model, copy)
