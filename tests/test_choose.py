"""Choosing among candidate summaries by sentence-embedding similarity: a tiny random BERT as the encoder, the
tiny random summarizer export of test_summarize."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seq2seq2seq import summarize
from seq2seq2seq.choose import SimilarityChooser, candidate_summaries, summarize_and_choose
from seq2seq2seq.pipeline import load_summarizer, summarize_documents
from seq2seq2seq.sampling import summarize_texts

from pretrained import tiny_bert
from test_summarize import DOCUMENTS, build_tiny_export, tokenizer_texts, write_lines


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_bert(tmp_path_factory.mktemp("encoder"), tokenizer_texts(200))


@pytest.fixture(scope="module")
def chooser(encoder_dir: Path) -> SimilarityChooser:
    return SimilarityChooser.load(str(encoder_dir))


def test_the_document_itself_scores_one_and_is_chosen(chooser: SimilarityChooser) -> None:
    documents = DOCUMENTS[:3]
    candidates = [[DOCUMENTS[5], documents[0]], [documents[1], DOCUMENTS[6]], [DOCUMENTS[7], documents[2]]]
    scores = chooser.scores(documents, candidates)
    assert scores[0][1] == pytest.approx(1.0, abs=1e-5) and scores[0][0] < 1.0 - 1e-4
    assert scores[1][0] == pytest.approx(1.0, abs=1e-5) and scores[1][1] < 1.0 - 1e-4
    assert chooser.choose(documents, candidates) == [1, 0, 1]


def test_ties_keep_the_first_candidate_and_empty_ones_are_never_chosen(chooser: SimilarityChooser) -> None:
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


def test_the_chosen_summary_is_the_most_similar_candidate(export: Path, chooser: SimilarityChooser) -> None:
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
                                                                         chooser: SimilarityChooser) -> None:
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


def test_no_longer_keeps_longer_samples_out_of_the_choice(chooser: SimilarityChooser) -> None:
    document = DOCUMENTS[0]
    candidates = [["two cats sat", document, "cats on mats", "cats sat on the mat"]]
    assert chooser.choose([document], candidates) == [1]  # the document itself wins, but it is longer
    scores = chooser.scores([document], candidates)[0]
    # only the candidates of at most 3 words (the first one's length) compete
    assert chooser.choose([document], candidates, no_longer=True) == [max((0, 2), key=scores.__getitem__)]
