"""Soft one-hot summary rows for R and D (adversarial.estimator: gumbel): one-hot rows give exactly what the ids
give, gradients reach the rows and never R's or D's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from seq2seq2seq.config import DiscriminatorConfig, ModelConfig
from seq2seq2seq.data import load_corpus
from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.decoding.sampling import summary_token_mask
from seq2seq2seq.decoding.soft_tokens import input_embeddings, soft_discriminator_logits, soft_seq2seq_logits
from seq2seq2seq.models.build import build_discriminator, build_seq2seq, discriminator_logits, seq2seq_logits
from seq2seq2seq.types import Summaries


@pytest.fixture(scope="module")
def tokenizer(tiny_corpus: Path):
    return AutoTokenizer.from_pretrained(str(load_corpus(tiny_corpus).tokenizer_dir))


def _summaries(tokenizer) -> Summaries:
    eos = tokenizer.eos_token_id
    ids = torch.tensor([[10, 11, 12, eos, 0], [13, 14, eos, 5, 6]])
    return Summaries(ids, summary_token_mask(ids, eos))


def _one_hot(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(ids, vocab).float().requires_grad_()


@pytest.mark.parametrize("arch,pointer", [("bart", True), ("bart", False), ("t5", False)])
def test_one_hot_rows_give_r_exactly_the_logits_of_the_ids(tokenizer, arch: str, pointer: bool) -> None:
    torch.manual_seed(0)
    r = build_seq2seq(ModelConfig(arch=arch, pointer=pointer, d_model=32, encoder_layers=1, decoder_layers=1,
                                  attention_heads=2, ffn_dim=64, dropout=0.0), tokenizer).eval()
    summaries = _summaries(tokenizer)
    docs = torch.tensor([[20, 21, 22, 23, tokenizer.eos_token_id]] * 2)
    doc_mask = torch.ones_like(docs)
    leaf = _one_hot(summaries.summary_ids, len(tokenizer))
    rows, mask = Retokenizer(tokenizer, tokenizer, 32).soft(summaries, leaf)
    ids, id_mask = Retokenizer(tokenizer, tokenizer, 32)(summaries)
    assert torch.equal(mask, id_mask) and torch.equal(rows.detach().argmax(-1), ids)
    expected = seq2seq_logits(r, ids, id_mask, docs, doc_mask)
    got = soft_seq2seq_logits(r, rows, mask, ids, docs, doc_mask)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    got[..., 5].sum().backward()
    assert all(p.grad is None for p in r.parameters())  # R is frozen on this path
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0


def test_gradient_reaches_the_soft_rows_through_r_and_d(tokenizer) -> None:
    torch.manual_seed(0)
    r = build_seq2seq(ModelConfig(pointer=True, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2,
                                  ffn_dim=64, dropout=0.0), tokenizer).eval()
    d = build_discriminator(DiscriminatorConfig(d_model=32, layers=1, attention_heads=2, ffn_dim=64, dropout=0.0),
                            tokenizer).eval()
    summaries = _summaries(tokenizer)
    leaf = _one_hot(summaries.summary_ids, len(tokenizer))
    to = Retokenizer(tokenizer, tokenizer, 24)
    rows, mask = to.soft(summaries, leaf)
    docs = torch.tensor([[20, 21, tokenizer.eos_token_id]] * 2)
    loss = (soft_seq2seq_logits(r, rows, mask, to(summaries)[0], docs, torch.ones_like(docs)).sum()
            + soft_discriminator_logits(d, rows, mask).sum())
    loss.backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()
    # real tokens get a gradient; the positions after the end (replaced by padding) get none
    assert leaf.grad[0, :4].abs().sum() > 0 and leaf.grad[0, 4].abs().sum() == 0
    assert all(p.grad is None for p in (*r.parameters(), *d.parameters()))


def test_one_hot_rows_give_d_exactly_the_logits_of_the_ids(tokenizer) -> None:
    torch.manual_seed(0)
    d = build_discriminator(DiscriminatorConfig(d_model=32, layers=1, attention_heads=2, ffn_dim=64, dropout=0.0),
                            tokenizer).eval()
    summaries = _summaries(tokenizer)
    to = Retokenizer(tokenizer, tokenizer, 24)
    rows, mask = to.soft(summaries, _one_hot(summaries.summary_ids, len(tokenizer)))
    torch.testing.assert_close(soft_discriminator_logits(d, rows, mask),
                               discriminator_logits(d, *to(summaries)), atol=1e-5, rtol=1e-5)


def test_soft_rows_carry_a_tokenizer_prefix_and_the_cut(tmp_path: Path) -> None:
    # a BERT-family tokenizer puts [CLS] before every sentence: the soft rows do too, as a one-hot row
    from pretrained import tiny_bert

    folder = tiny_bert(tmp_path / "bert", ["the cat sat on the mat", "a dog ran in the park"])
    bert = AutoTokenizer.from_pretrained(str(folder))
    ids = torch.tensor(bert(["the cat sat", "a dog ran in the park"], add_special_tokens=False, padding=True)
                       ["input_ids"])
    ids = torch.cat([ids, torch.full_like(ids[:, :1], bert.pad_token_id)], 1)
    ids[0, 3], ids[1, -1] = bert.sep_token_id, bert.sep_token_id
    summaries = Summaries(ids, summary_token_mask(ids, bert.sep_token_id))
    to = Retokenizer(bert, bert, 5)
    rows, mask = to.soft(summaries, torch.nn.functional.one_hot(ids, len(bert)).float())
    want_ids, want_mask = to(summaries)
    assert rows.shape[1] == 5 and torch.equal(rows.argmax(-1), want_ids) and torch.equal(mask, want_mask)
    assert want_ids[0, 0] == bert.cls_token_id


def test_a_model_with_its_own_tokenizer_cannot_take_soft_rows(tokenizer, tmp_path: Path) -> None:
    from pretrained import tiny_bert

    bert = AutoTokenizer.from_pretrained(str(tiny_bert(tmp_path / "bert", ["the cat sat on the mat"])))
    summaries = _summaries(tokenizer)
    with pytest.raises(ValueError, match="own tokenizer"):
        Retokenizer(tokenizer, bert, 24).soft(summaries, torch.zeros(2, 5, len(tokenizer)))


def test_input_embeddings_of_a_one_hot_row_is_the_scaled_embedding(tokenizer) -> None:
    r = build_seq2seq(ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64),
                      tokenizer)
    ids = torch.tensor([[3, 7, 9]])
    embedding = r.get_input_embeddings()
    assert getattr(embedding, "embed_scale", 1.0) != 1.0  # BART scales its embeddings: the case that matters
    torch.testing.assert_close(input_embeddings(r, torch.nn.functional.one_hot(ids, len(tokenizer)).float()),
                               embedding(ids))
