"""Choosing among candidate summaries by sentence-embedding similarity (and fluency): a tiny random BERT as the
encoder, a tiny random GPT-2 as the fluency model, the tiny random summarizer export of test_summarize."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pretrained import tiny_bert
from test_summarize import DOCUMENTS, build_tiny_export, tokenizer_texts, write_lines
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

from seq2seq2seq.decoding.sampling import summarize_texts
from seq2seq2seq.inference import cli as summarize
from seq2seq2seq.inference.api import load_summarizer, summarize_documents
from seq2seq2seq.inference.choose import CandidateChooser, candidate_summaries, summarize_and_choose
from seq2seq2seq.rewards.base import zscore_combination


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_bert(tmp_path_factory.mktemp("encoder"), tokenizer_texts(200))


@pytest.fixture(scope="module")
def chooser(encoder_dir: Path) -> CandidateChooser:
    return CandidateChooser.load(str(encoder_dir))


@pytest.fixture(scope="module")
def fluency_dir(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 1-layer GPT-2 over the export's sentencepiece tokenizer, saved like train_fluency_lm's models."""
    folder = tmp_path_factory.mktemp("lm")
    tokenizer = AutoTokenizer.from_pretrained(str(export))
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=1, n_head=2,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # larger weights than the default init, so that texts get clearly different scores
        for param in model.parameters():
            if param.dim() > 1:
                param.normal_(0.0, 0.5)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_zscore_combination_of_two_by_hand() -> None:
    # similarity 1, 2, 3: mean 2, sd sqrt(2/3); fluency 3, 3, 0: mean 2, sd sqrt(2)
    out = zscore_combination([[1.0, 2.0, 3.0], [3.0, 3.0, 0.0]], [1.0, 1.0])
    s, f = (2 / 3) ** 0.5, 2 ** 0.5
    assert out == pytest.approx([-1 / s + 1 / f, 0 + 1 / f, 1 / s - 2 / f])
    # an empty candidate (similarity -inf) stays -inf and is left out of the means: z = -1, +1 for both scores
    inf = float("-inf")
    assert zscore_combination([[1.0, 3.0, inf], [0.0, 2.0, 5.0]], [1.0, 0.5]) == pytest.approx([-1.5, 1.5, inf])
    # a constant similarity adds 0
    assert zscore_combination([[0.5, 0.5], [-2.0, -1.0]], [1.0, 2.0]) == pytest.approx([-2.0, 2.0])
    # a candidate the LM finds impossible is out too
    assert zscore_combination([[1.0, 3.0, 2.0], [0.0, 2.0, inf]], [1.0, 0.5]) == pytest.approx([-1.5, 1.5, inf])


def test_fluency_is_the_mean_token_logprob_and_joins_the_choice(encoder_dir: Path, fluency_dir: Path) -> None:
    chooser = CandidateChooser.load(str(encoder_dir), fluency_model=str(fluency_dir), fluency_weight=0.5)
    lm, tokenizer = chooser.rewards["fluency"].lm, chooser.rewards["fluency"].lm_tokenizer
    text = "stocks rose on monday"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    with torch.no_grad():  # by hand: start from <s>, predict each piece and the end, average the log-probs
        logits = lm(torch.tensor([[tokenizer.bos_token_id] + ids[:-1]])).logits[0]
    expected = logits.log_softmax(-1)[torch.arange(len(ids)), torch.tensor(ids)].mean().item()
    fluency = chooser.fluency([[text, "rose", text], ["", "stocks"]])
    assert fluency[0][0] == pytest.approx(expected, abs=1e-5) and fluency[0][2] == fluency[0][0]

    documents = DOCUMENTS
    # per document, 6 four-word windows of another document
    candidates = [[" ".join(d.split()[i:i + 4]) for i in range(0, 12, 2)] for d in DOCUMENTS[4:] + DOCUMENTS[:4]]
    similarity = chooser.similarity(documents, candidates)
    fluency = chooser.fluency(candidates)
    combined = chooser.scores(documents, candidates)
    assert combined == [zscore_combination([s, f], [1.0, 0.5]) for s, f in zip(similarity, fluency)]
    assert chooser.choose(documents, candidates) == [max(range(6), key=row.__getitem__) for row in combined]
    assert chooser.combine(candidates, similarity, fluency) == combined  # from scores computed once
    with pytest.raises(ValueError, match="needs the candidates' fluency scores"):
        chooser.combine(candidates, similarity)
    # a large fluency weight picks the most fluent candidate, and that is not always the most similar one
    chooser.fluency_weight = 100.0
    by_fluency = chooser.choose(documents, candidates)
    assert by_fluency == [max(range(6), key=row.__getitem__) for row in fluency]
    chooser.fluency_weight = 0.0
    assert chooser.scores(documents, candidates) == similarity
    assert chooser.choose(documents, candidates) != by_fluency
    chooser.fluency_weight = 0.5
    assert chooser.choose([documents[0]], [["stocks rose", "stocks rose", "x"]])[0] in (0, 2)  # equal texts tie
    # with no_longer only the candidates no longer than the first compete, and the z-scores are theirs alone
    row = [candidates[0][0], candidates[0][1] + " and more words", *candidates[0][2:]]
    kept = [s if len(t.split()) <= 4 else float("-inf") for s, t in zip(chooser.similarity([documents[0]], [row])[0], row)]
    expected = zscore_combination([kept, chooser.fluency([row])[0]], [1.0, 0.5])
    assert chooser.scores([documents[0]], [row], no_longer=True) == [expected] and expected[1] == float("-inf")
    assert chooser.choose([documents[0]], [row], no_longer=True) == [max(range(6), key=expected.__getitem__)]


def test_candidates_longer_than_the_lms_positions_are_cut(encoder_dir: Path, fluency_dir: Path,
                                                          tmp_path: Path) -> None:
    lm = GPT2LMHeadModel.from_pretrained(str(fluency_dir))
    short = GPT2LMHeadModel(GPT2Config(**{**lm.config.to_dict(), "n_positions": 6}))
    short.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(str(fluency_dir)).save_pretrained(tmp_path)
    chooser = CandidateChooser.load(str(encoder_dir), fluency_model=str(tmp_path), fluency_weight=0.5)
    assert chooser.rewards["fluency"].max_tokens == 6
    long = " ".join(DOCUMENTS[0].split() * 3)  # far more than 6 pieces
    scores = chooser.fluency([[long, "stocks"]])[0]
    assert all(torch.isfinite(torch.tensor(scores)))


def test_a_fluency_weight_needs_a_fluency_model(encoder_dir: Path, tmp_path: Path) -> None:
    plain = CandidateChooser.load(str(encoder_dir))
    with pytest.raises(ValueError, match="train_fluency_lm.py"):
        plain.fluency_weight = 0.5
    with pytest.raises(ValueError, match="train_fluency_lm.py"):
        CandidateChooser.load(str(encoder_dir), fluency_weight=0.5)
    with pytest.raises(ValueError, match="must be a number >= 0"):
        plain.fluency_weight = -1.0
    with pytest.raises(ValueError, match="must be a number >= 0"):
        CandidateChooser.load(str(encoder_dir), fluency_weight=float("nan"))
    with pytest.raises(ValueError, match="no fluency model"):
        plain.fluency([["stocks rose"]])


def test_the_document_itself_scores_one_and_is_chosen(chooser: CandidateChooser) -> None:
    documents = DOCUMENTS[:3]
    candidates = [[DOCUMENTS[5], documents[0]], [documents[1], DOCUMENTS[6]], [DOCUMENTS[7], documents[2]]]
    scores = chooser.scores(documents, candidates)
    assert scores[0][1] == pytest.approx(1.0, abs=1e-5) and scores[0][0] < 1.0 - 1e-4
    assert scores[1][0] == pytest.approx(1.0, abs=1e-5) and scores[1][1] < 1.0 - 1e-4
    assert chooser.choose(documents, candidates) == [1, 0, 1]


def test_ties_keep_the_first_candidate_and_empty_ones_are_never_chosen(chooser: CandidateChooser) -> None:
    document = DOCUMENTS[0]
    assert chooser.choose([document], [["stocks rose", "stocks rose"]]) == [0]
    scores = chooser.scores([document], [["", "stocks rose"]])
    assert scores[0][0] == float("-inf") and chooser.choose([document], [["", "stocks rose"]]) == [1]
    with pytest.raises(ValueError, match="2 documents but 1 candidate lists"):
        chooser.scores(DOCUMENTS[:2], [["x"]])


def test_candidates_start_with_the_decoded_summary_and_are_repeatable(export: Path) -> None:
    summarizer = load_summarizer(export)
    cfg, limit = summarizer.decoding, summarizer.max_document_tokens
    greedy = summarize_texts(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, max_document_tokens=limit)
    state = torch.get_rng_state()
    first = candidate_summaries(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=4,
                                max_document_tokens=limit, seed=3)
    assert torch.equal(state, torch.get_rng_state())  # the caller's random state is untouched
    assert [len(row) for row in first] == [5] * len(DOCUMENTS)
    assert [row[0] for row in first] == greedy
    samples = {text for row in first for text in row[1:]}
    assert len(samples) > len(DOCUMENTS)  # the samples differ, not the greedy summary four times over
    again = candidate_summaries(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=4,
                                max_document_tokens=limit, seed=3)
    assert again == first
    other = candidate_summaries(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=4,
                                max_document_tokens=limit, seed=4)
    assert other != first
    with pytest.raises(ValueError, match="k must be >= 0"):
        candidate_summaries(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=-1, max_document_tokens=limit)


def test_the_samples_temperature_spreads_or_narrows_the_candidates(export: Path) -> None:
    summarizer = load_summarizer(export)
    cfg, limit = summarizer.decoding, summarizer.max_document_tokens

    def distinct(temperature: float) -> int:
        rows = candidate_summaries(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=6,
                                   max_document_tokens=limit, seed=0, temperature=temperature)
        return sum(len(set(row)) for row in rows)

    # near 0, every sample is the greedy summary; the higher the temperature, the more of them differ
    assert distinct(1e-4) == len(DOCUMENTS) < distinct(0.3) < distinct(1.0)


def test_the_chosen_summary_is_the_most_similar_candidate(export: Path, chooser: CandidateChooser) -> None:
    summarizer = load_summarizer(export)
    cfg, limit = summarizer.decoding, summarizer.max_document_tokens
    candidates = candidate_summaries(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=6,
                                     max_document_tokens=limit, seed=0)
    candidates = [[" ".join(t.split()[:5]) for t in row] for row in candidates]
    chosen = summarize_and_choose(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=6, chooser=chooser,
                                  max_document_tokens=limit, max_words=5, seed=0)
    scores = chooser.scores(DOCUMENTS, candidates)
    for row, row_scores, text in zip(candidates, scores, chosen):
        assert text in row and len(text.split()) <= 5
        assert row_scores[row.index(text)] == max(row_scores)
        assert row_scores[row.index(text)] >= row_scores[0]  # never less similar than the greedy summary
    assert chosen != [row[0] for row in candidates]  # with random weights some sample beats greedy somewhere
    plain = summarize_and_choose(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=0, chooser=chooser,
                                 max_document_tokens=limit)
    assert plain == summarize_texts(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, max_document_tokens=limit)


def test_summarize_documents_with_candidates_keeps_empty_documents_empty(export: Path,
                                                                         chooser: CandidateChooser) -> None:
    summarizer = load_summarizer(export)
    documents = [DOCUMENTS[0], "", DOCUMENTS[1]]
    out = summarize_documents(summarizer, documents, summarizer.decoding, candidates=3, chooser=chooser)
    assert out[1] == "" and out[0] and out[2]
    with pytest.raises(summarize.SummarizeError, match="needs a chooser"):
        summarize_documents(summarizer, documents, summarizer.decoding, candidates=3)


def test_cli_candidates(export: Path, encoder_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = write_lines(tmp_path / "docs.txt", DOCUMENTS)
    code = summarize.main(["--model", str(export), "--input", str(source), "--output", str(tmp_path / "out.txt"),
                           "--candidates", "4", "--similarity-model", str(encoder_dir), "--quiet"])
    assert code == 0, capsys.readouterr().err
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(lines) == len(DOCUMENTS) and all(lines)
    plain = tmp_path / "plain.txt"
    assert summarize.main(["--model", str(export), "--input", str(source), "--output", str(plain), "--quiet"]) == 0
    code = summarize.main(["--model", str(export), "--input", str(source), "--output", str(tmp_path / "short.txt"),
                           "--candidates", "4", "--similarity-model", str(encoder_dir), "--candidates-no-longer",
                           "--quiet"])
    assert code == 0, capsys.readouterr().err
    short = (tmp_path / "short.txt").read_text(encoding="utf-8").split("\n")[:-1]
    greedy = plain.read_text(encoding="utf-8").split("\n")[:-1]
    assert all(len(s.split()) <= len(g.split()) for s, g in zip(short, greedy))
    assert summarize.main(["--model", str(export), "--input", str(source), "--candidates", "-1"]) == 2
    assert "--candidates must be >= 0" in capsys.readouterr().err
    code = summarize.main(["--model", str(export), "--input", str(source), "--candidates", "2",
                           "--similarity-model", str(tmp_path / "no-such-encoder")])
    err = capsys.readouterr().err
    assert code == 2 and "sentence-embedding model" in err and "Traceback" not in err


def test_cli_candidates_with_fluency(export: Path, encoder_dir: Path, fluency_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture) -> None:
    source = write_lines(tmp_path / "docs.txt", DOCUMENTS)
    base = ["--model", str(export), "--input", str(source), "--similarity-model", str(encoder_dir), "--quiet"]
    outputs = {}
    for weight in ("0", "100"):
        out = tmp_path / f"fluency{weight}.txt"
        code = summarize.main([*base, "--output", str(out), "--candidates", "4", "--fluency-model", str(fluency_dir),
                               "--fluency-weight", weight])
        assert code == 0, capsys.readouterr().err
        outputs[weight] = out.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(outputs["100"]) == len(DOCUMENTS) and all(outputs["100"])
    plain = tmp_path / "similarity.txt"
    assert summarize.main([*base, "--output", str(plain), "--candidates", "4"]) == 0
    assert outputs["0"] == plain.read_text(encoding="utf-8").split("\n")[:-1]  # weight 0: similarity alone
    assert outputs["100"] != outputs["0"]
    assert summarize.main([*base, "--fluency-model", str(fluency_dir)]) == 2
    assert "add --candidates" in capsys.readouterr().err
    assert summarize.main([*base, "--candidates", "2", "--fluency-weight", "1"]) == 2
    assert "add --fluency-model" in capsys.readouterr().err
    assert summarize.main([*base, "--candidates", "2", "--fluency-model", str(fluency_dir),
                           "--fluency-weight", "nan"]) == 2
    assert "--fluency-weight must be a number >= 0" in capsys.readouterr().err
    assert summarize.main([*base, "--candidates", "2", "--fluency-model", str(fluency_dir),
                           "--fluency-weight", "-1"]) == 2
    assert "--fluency-weight must be a number >= 0" in capsys.readouterr().err
    code = summarize.main([*base, "--candidates", "2", "--fluency-model", str(tmp_path / "no-such-lm")])
    err = capsys.readouterr().err
    assert code == 2 and "fluency model" in err and "Traceback" not in err


def test_no_longer_keeps_longer_samples_out_of_the_choice(chooser: CandidateChooser) -> None:
    document = DOCUMENTS[0]
    candidates = [["two cats sat", document, "cats on mats", "cats sat on the mat"]]
    assert chooser.choose([document], candidates) == [1]  # the document itself wins, but it is longer
    scores = chooser.scores([document], candidates)[0]
    # only the candidates of at most 3 words (the first one's length) compete
    assert chooser.choose([document], candidates, no_longer=True) == [max((0, 2), key=scores.__getitem__)]


def test_zscore_combination_by_hand() -> None:
    # columns 1, 2, 3 (z = -a, 0, a with a = sqrt(3/2)), 3, 3, 0 (z = 1/sqrt(2), 1/sqrt(2), -sqrt(2)), 0, 1, 0
    # (z = -1/sqrt(2), sqrt(2), -1/sqrt(2)), weights 1, 0.5, 2
    a, b = 1.5 ** 0.5, 2 ** 0.5
    out = zscore_combination([[1.0, 2.0, 3.0], [3.0, 3.0, 0.0], [0.0, 1.0, 0.0]], [1.0, 0.5, 2.0])
    assert out == pytest.approx([-a + 0.5 / b - 2 / b, 0.5 / b + 2 * b, a - 0.5 * b - 2 / b])
    # a candidate with any non-finite score is out of every column's mean, and scores -inf
    out = zscore_combination([[1.0, 3.0, 2.0], [0.0, 2.0, 1.0], [5.0, 5.0, float("-inf")]], [1.0, 1.0, 1.0])
    assert out == pytest.approx([-2.0, 2.0, float("-inf")])  # the third column is constant on the two kept
    assert zscore_combination([[1.0, 2.0], [4.0, 2.0]], [1.0, 1.0]) == pytest.approx([0.0, 0.0])
    with pytest.raises(ValueError, match="2 score columns but 1 weights"):
        zscore_combination([[1.0], [2.0]], [1.0])
    with pytest.raises(ValueError, match="different lengths"):
        zscore_combination([[1.0, 2.0], [2.0]], [1.0, 1.0])


def test_headline_and_contiguity_join_the_choice(encoder_dir: Path, tiny_corpus: Path) -> None:
    from seq2seq2seq.data import CorpusError, load_headline_word_stats
    from seq2seq2seq.rewards.lexical import contiguity, headline_vocabulary

    stats = load_headline_word_stats(tiny_corpus)
    chooser = CandidateChooser.load(str(encoder_dir), corpus=str(tiny_corpus), headline_weight=0.5,
                                    contiguity_weight=1.0)
    document = DOCUMENTS[0]
    words = document.split()
    row = [" ".join(words[:4]), " ".join(words[3::-1]), " ".join(words[2:6]), ""]
    assert chooser.contiguity([document], [row]) == [[contiguity(t.split(), words) for t in row]]
    assert chooser.headline([row]) == [[headline_vocabulary(t.split(), stats) for t in row]]
    similarity = chooser.similarity([document], [row])
    columns = [similarity[0], chooser.headline([row])[0], chooser.contiguity([document], [row])[0]]
    expected = zscore_combination(columns, [1.0, 0.5, 1.0])
    assert chooser.scores([document], [row]) == [expected] and expected[3] == float("-inf")
    # a large contiguity weight prefers the phrase to the same words reversed
    chooser.headline_weight, chooser.contiguity_weight = 0.0, 100.0
    assert chooser.choose([document], [row[:2]]) == [0]
    with pytest.raises(ValueError, match="needs the candidates' contiguity scores"):
        chooser.combine([row], similarity)
    plain = CandidateChooser.load(str(encoder_dir))
    with pytest.raises(ValueError, match="corpus="):
        plain.headline_weight = 0.5
    with pytest.raises(ValueError, match="corpus="):
        CandidateChooser.load(str(encoder_dir), headline_weight=0.5)
    with pytest.raises(ValueError, match="contiguity weight must be a number >= 0"):
        plain.contiguity_weight = -1.0
    with pytest.raises(CorpusError, match="data_prep"):
        CandidateChooser.load(str(encoder_dir), corpus=str(encoder_dir), headline_weight=0.5)


def test_cli_candidates_with_headline_and_contiguity(export: Path, encoder_dir: Path, tiny_corpus: Path,
                                                     tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = write_lines(tmp_path / "docs.txt", DOCUMENTS)
    base = ["--model", str(export), "--input", str(source), "--similarity-model", str(encoder_dir), "--quiet"]
    out = tmp_path / "out.txt"
    code = summarize.main([*base, "--output", str(out), "--candidates", "4", "--corpus", str(tiny_corpus),
                           "--headline-weight", "0.5", "--contiguity-weight", "0.5", "--candidates-temperature", "1.5"])
    assert code == 0, capsys.readouterr().err
    lines = out.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(lines) == len(DOCUMENTS) and all(lines)
    assert summarize.main([*base, "--candidates", "2", "--headline-weight", "0.5"]) == 2
    assert "add --corpus FOLDER" in capsys.readouterr().err
    assert summarize.main([*base, "--contiguity-weight", "0.5"]) == 2
    assert "add --candidates" in capsys.readouterr().err
    assert summarize.main([*base, "--candidates", "2", "--contiguity-weight", "-1"]) == 2
    assert "--contiguity-weight must be a number >= 0" in capsys.readouterr().err
    assert summarize.main([*base, "--candidates", "2", "--candidates-temperature", "0"]) == 2
    assert "--candidates-temperature must be a number > 0" in capsys.readouterr().err
    code = summarize.main([*base, "--candidates", "2", "--headline-weight", "1", "--corpus", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "--corpus names the data_prep folder" in err and "Traceback" not in err


class _PicksTheLast:
    """A chooser that records the candidates and picks the last of each row (the extra one, when given)."""

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def choose(self, documents: list[str], candidates: list[list[str]], no_longer: bool = False) -> list[int]:
        self.seen = candidates
        return [len(row) - 1 for row in candidates]


def test_an_extra_candidate_per_document_joins_the_choice(export: Path) -> None:
    summarizer = load_summarizer(export)
    cfg, limit = summarizer.decoding, summarizer.max_document_tokens
    extra = [[" ".join(d.split()[:6])] for d in DOCUMENTS]
    chooser = _PicksTheLast()
    chosen = summarize_and_choose(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=2, chooser=chooser,
                                  max_document_tokens=limit, max_words=4, extra=extra)
    # 1 decoded + 2 samples + the extra one, all cut to 4 words before the choice
    assert [len(row) for row in chooser.seen] == [4] * len(DOCUMENTS)
    assert chosen == [" ".join(e[0].split()[:4]) for e in extra] == [row[-1] for row in chooser.seen]
    # with no samples the choice is between the decoded summary and the extra ones, in the order given
    two = [[" ".join(d.split()[:3]), " ".join(d.split()[1:4])] for d in DOCUMENTS]
    chosen = summarize_and_choose(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=0, chooser=chooser,
                                  max_document_tokens=limit, extra=two)
    assert [len(row) for row in chooser.seen] == [3] * len(DOCUMENTS)
    assert [row[1:] for row in chooser.seen] == two and chosen == [e[1] for e in two]
    with pytest.raises(ValueError, match="give a list per document"):
        summarize_and_choose(summarizer.model, summarizer.tokenizer, DOCUMENTS, cfg, k=2, chooser=chooser,
                             max_document_tokens=limit, extra=extra[:1])


def test_cli_rule_candidate(export: Path, encoder_dir: Path, tiny_corpus: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from seq2seq2seq.data import headline_rule, headline_rule_samples, load_headline_word_stats

    source = write_lines(tmp_path / "docs.txt", [DOCUMENTS[0], "", DOCUMENTS[1]])
    base = ["--model", str(export), "--input", str(source), "--similarity-model", str(encoder_dir), "--quiet"]
    seen = {}
    real = summarize.summarize_documents

    def recording(summarizer, documents, decoding, **kwargs):
        seen.update(documents=documents, extra=kwargs["extra"])
        return real(summarizer, documents, decoding, **kwargs)

    monkeypatch.setattr(summarize, "summarize_documents", recording)
    out = tmp_path / "out.txt"
    code = summarize.main([*base, "--output", str(out), "--candidates", "2", "--corpus", str(tiny_corpus),
                           "--rule-candidate", "--max-words", "5"])
    assert code == 0, capsys.readouterr().err
    # the rule's 5-word summary of each normalised document; none for the empty line, whose summary stays empty
    stats = load_headline_word_stats(tiny_corpus)
    assert seen["extra"] == [[headline_rule(d, stats, words=5)] if d else [] for d in seen["documents"]]
    assert seen["extra"][1] == [] and seen["extra"][0][0]
    # with --headline-weight too, the rule uses the word counts the chooser already read: the same summaries
    rule_only = seen["extra"]
    assert summarize.main([*base, "--output", str(out), "--candidates", "2", "--corpus", str(tiny_corpus),
                           "--rule-candidate", "--max-words", "5", "--headline-weight", "0.5"]) == 0
    assert seen["extra"] == rule_only
    lines = out.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(lines) == 3 and lines[1] == "" and lines[0] and all(len(line.split()) <= 5 for line in lines)
    # --rule-samples: the rule's summary first, then its variants, drawn per document with --seed
    assert summarize.main([*base, "--output", str(out), "--candidates", "2", "--corpus", str(tiny_corpus),
                           "--rule-candidate", "--max-words", "5", "--rule-samples", "3",
                           "--rule-temperature", "2"]) == 0
    assert seen["extra"] == [[headline_rule(d, stats, words=5),
                              *headline_rule_samples(d, stats, 3, 2.0, words=5)] if d else []
                             for d in seen["documents"]]
    assert len(seen["extra"][0]) == 4 and all(len(text.split()) <= 5 for text in seen["extra"][0])
    for flags, message in ((["--rule-samples", "2"], "add --rule-candidate"),
                           (["--rule-candidate", "--corpus", str(tiny_corpus), "--candidates", "2",
                             "--rule-samples", "-1"], "--rule-samples must be >= 0"),
                           (["--rule-candidate", "--corpus", str(tiny_corpus), "--candidates", "2",
                             "--rule-temperature", "0"], "--rule-temperature must be a number > 0")):
        assert summarize.main([*base, *flags]) == 2
        assert message in capsys.readouterr().err
    for flags in (["--rule-candidate", "--corpus", str(tiny_corpus)], ["--candidates", "2", "--rule-candidate"]):
        assert summarize.main([*base, *flags]) == 2
        assert "--rule-candidate adds the headline rule's summary" in capsys.readouterr().err
    code = summarize.main([*base, "--candidates", "2", "--rule-candidate", "--corpus", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "--corpus names the data_prep folder" in err and "Traceback" not in err


def test_an_export_runs_its_recorded_choice_unless_the_command_line_names_one(export: Path, encoder_dir: Path,
                                                                              tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    import shutil

    from seq2seq2seq.inference.recorded_choice import CHOICE_FILE, write_choice

    recorded = tmp_path / "export"
    shutil.copytree(export, recorded)
    source = write_lines(tmp_path / "docs.txt", DOCUMENTS)

    def run(*flags: str) -> tuple[int, list[str], str]:
        out = tmp_path / "out.txt"
        code = summarize.main(["--model", str(recorded), "--input", str(source), "--output", str(out), *flags])
        err = capsys.readouterr().err
        return code, out.read_text(encoding="utf-8").split("\n")[:-1] if code == 0 else [], err

    _, greedy, _ = run("--quiet")
    _, chosen, _ = run("--candidates", "4", "--similarity-model", str(encoder_dir), "--quiet")
    assert chosen != greedy  # the tiny model's samples differ from its greedy summaries somewhere
    write_choice(recorded, {"candidates": 4, "similarity_model": str(encoder_dir)}, {"row": "a test row"})
    code, by_default, err = run()
    assert code == 0 and by_default == chosen  # the recorded choice, with no flag
    assert "note: the export's recorded choice: G's summary and 4 samples" in err and "--candidates 0" in err
    assert run("--candidates", "0")[1] == greedy  # turned off
    # the benchmark records a choice without a fluency LM as weight 0 and no model: it runs (it once was refused)
    write_choice(recorded, {"candidates": 4, "similarity_model": str(encoder_dir), "fluency_model": "",
                            "fluency_weight": 0.0}, {"row": "a test row"})
    code, by_default, err = run()
    assert code == 0 and by_default == chosen, err
    assert run("--candidates", "4", "--fluency-weight", "0.5")[0] == 2  # a weight > 0 still needs the model
    # a choice option on the command line overrides its recorded value: here a missing encoder, refused
    code, _, err = run("--candidates", "4", "--similarity-model", str(tmp_path / "gone"))
    assert code == 2 and "sentence-embedding model" in err
    # ... and the options it does not name stay recorded (this encoder, 4 samples): flag by flag
    code, weighed, err = run("--contiguity-weight", "1")
    assert code == 0, err
    assert "recorded choice with --contiguity-weight from the command line" in err
    assert weighed == run("--candidates", "4", "--similarity-model", str(encoder_dir), "--contiguity-weight", "1")[1]
    code, fewer, err = run("--candidates", "2")
    assert code == 0 and fewer == run("--candidates", "2", "--similarity-model", str(encoder_dir))[1], err
    # a recorded fluency LM that is gone: the error names it and the ways out
    write_choice(recorded, {"candidates": 4, "similarity_model": str(encoder_dir),
                            "fluency_model": str(tmp_path / "lm-deleted")}, {})
    code, _, err = run()
    assert code == 2 and "lm-deleted" in err and "--candidates 0" in err and "Traceback" not in err
    (recorded / CHOICE_FILE).write_text("{not json", encoding="utf-8")
    code, _, err = run()
    assert code == 2 and "is not a recorded choice" in err


def test_a_recorded_choice_brings_its_word_order_unless_the_command_line_gives_one(
        export: Path, encoder_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from test_summarize import with_decoding, word_subsequence

    from seq2seq2seq.inference.recorded_choice import write_choice
    from seq2seq2seq.normalize import normalize

    recorded = with_decoding(export, tmp_path / "export", source_only=True, whole_words=True, max_summary_tokens=24)
    source = write_lines(tmp_path / "docs.txt", DOCUMENTS)
    normalized = [normalize(d) for d in DOCUMENTS]

    def run(*flags: str) -> tuple[list[str], str]:
        out = tmp_path / "out.txt"
        code = summarize.main(["--model", str(recorded), "--input", str(source), "--output", str(out), *flags])
        err = capsys.readouterr().err
        assert code == 0, err
        return out.read_text(encoding="utf-8").split("\n")[:-1], err

    choice = ["--candidates", "4", "--similarity-model", str(encoder_dir)]
    plain, _ = run(*choice)
    ordered, _ = run(*choice, "--in-order")
    # every candidate is G's, so with --in-order every choice is a deletion of its document; without it, not all
    assert all(word_subsequence(s, d) for s, d in zip(ordered, normalized)), ordered
    assert not all(word_subsequence(s, d) for s, d in zip(plain, normalized)), plain
    write_choice(recorded, {"candidates": 4, "similarity_model": str(encoder_dir), "in_order": True}, {})
    by_default, err = run()
    assert by_default == ordered and "(G's in the document's word order), ranked" in err
    assert run("--no-in-order")[0] == plain  # the command line's word order wins over the recorded one
    assert run("--candidates", "0")[0] == run("--candidates", "0", "--no-in-order")[0]  # G alone: as trained


def test_merge_recorded_choice_flag_by_flag(tmp_path: Path) -> None:
    from seq2seq2seq.inference.recorded_choice import merge_recorded_choice, write_choice

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_choice(tmp_path, {"candidates": 1, "headline_weight": 0.5, "contiguity_weight": 0.5, "corpus": str(corpus),
                            "rule_candidate": True, "rule_samples": 8, "fluency_model": "", "fluency_weight": 0.0}, {})
    line = {"candidates": None, "headline_weight": 0.0, "contiguity_weight": 0.0, "corpus": "",
            "rule_candidate": False, "rule_samples": 0, "fluency_model": "", "fluency_weight": None, "quiet": False}

    looked_up = []

    def asked() -> Path:  # the export's folder, looked up only when a choice option is given
        looked_up.append(tmp_path)
        return tmp_path

    # nothing given, or --candidates 0: the values as they are (the whole recorded choice or none applies later)
    assert merge_recorded_choice(line, {"quiet"}, asked) == (line, None) and not looked_up
    off = {**line, "candidates": 0}
    assert merge_recorded_choice(off, {"candidates", "contiguity_weight"}, asked) == (off, None)
    values, note = merge_recorded_choice({**line, "contiguity_weight": 1.0}, {"contiguity_weight"}, asked)
    assert values["contiguity_weight"] == 1.0  # the flag given wins
    assert (values["candidates"], values["headline_weight"], values["rule_samples"]) == (1, 0.5, 8)  # recorded
    assert values["corpus"] == str(corpus.resolve()) and values["rule_candidate"] is True and not values["quiet"]
    assert note.startswith("the export's recorded choice with --contiguity-weight from the command line")
    # a flag set to its default still counts as given: --no-rule-candidate drops the rule's candidates
    values, _ = merge_recorded_choice({**line, "rule_samples": 0}, {"rule_candidate", "rule_samples"}, asked)
    assert values["rule_candidate"] is False and values["rule_samples"] == 0 and values["headline_weight"] == 0.5
    values, _ = merge_recorded_choice(line, {"rule_candidate"}, asked)  # --no-rule-candidate alone: no variants
    assert values["rule_candidate"] is False and values["rule_samples"] == 0 and values["candidates"] == 1
    # a fluency LM added to a recorded choice without one gets the default weight (None: 0.5), not the recorded 0
    values, _ = merge_recorded_choice({**line, "fluency_model": "lm"}, {"fluency_model"}, asked)
    assert values["fluency_model"] == "lm" and values["fluency_weight"] is None
    # an export with no recorded choice: the command line alone
    (tmp_path / "seq2seq2seq_choice.json").unlink()
    assert merge_recorded_choice({**line, "candidates": 3}, {"candidates"}, asked) == ({**line, "candidates": 3}, None)
