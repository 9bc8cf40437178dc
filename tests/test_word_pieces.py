"""Word starts for the three tokenizer families (sentencepiece, byte-level BPE, WordPiece), on hand-made vocabularies
whose expected masks are written out, and on tokenizers trained on the tiny corpus."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_texts
from pretrained import byte_level_bpe, sentencepiece_t5, wordpiece

from seq2seq2seq.decoding.word_pieces import (
    BYTE_LEVEL_BPE,
    SENTENCEPIECE,
    WORDPIECE,
    TokenizerFamilyError,
    adds_prefix_space,
    count_words,
    fit_mask,
    word_pieces,
    word_start_mask,
    words,
)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    documents, sentences, _ = tiny_texts()
    return documents + sentences


@pytest.fixture(scope="module")
def tokenizers(texts, tmp_path_factory):
    """One trained tokenizer of each family, the byte-level one with a prefix space as training loads it."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("bpe")
    byte_level_bpe(texts).save_pretrained(folder)
    return {SENTENCEPIECE: sentencepiece_t5(texts, tmp_path_factory.mktemp("spm")),
            BYTE_LEVEL_BPE: AutoTokenizer.from_pretrained(str(folder), add_prefix_space=True),
            WORDPIECE: wordpiece(texts)}


def test_hand_made_wordpiece_vocabulary():
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "govern", "##ment", "##s", "said", "#", "##"]
    tokenizer = BertTokenizer(vocab={piece: i for i, piece in enumerate(vocab)})
    assert word_pieces(tokenizer).family == WORDPIECE
    # special tokens start no word; "##ment" and "##s" continue one; "#" and a bare "##" are words of their own
    expected = [False] * 5 + [True, True, False, False, True, True, True]
    assert word_start_mask(tokenizer).tolist() == expected
    ids = tokenizer("the governments said")["input_ids"]  # [CLS] the govern ##ment ##s said [SEP]
    assert tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", "the", "govern", "##ment", "##s", "said", "[SEP]"]
    assert words(tokenizer, ids) == ["the", "governments", "said"]


def test_hand_made_byte_level_vocabulary():
    from transformers import RobertaTokenizer

    vocab = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "t", "h", "e", "s", "a", "i", "d", "\u0120", "th", "\u0120th",
             "the", "\u0120the", "sa", "\u0120sa", "id", "\u0120said"]
    merges = [("t", "h"), ("\u0120", "th"), ("th", "e"), ("\u0120th", "e"), ("s", "a"), ("\u0120", "sa"), ("i", "d"),
              ("\u0120sa", "id")]
    tokenizer = RobertaTokenizer(vocab={piece: i for i, piece in enumerate(vocab)}, merges=merges)
    assert word_pieces(tokenizer).family == BYTE_LEVEL_BPE
    assert not adds_prefix_space(tokenizer)  # as BART ships: "the" at the start of a text has no Ġ
    # only the pieces beginning with Ġ start a word: Ġ, Ġth, Ġthe, Ġsa, Ġsaid
    assert word_start_mask(tokenizer).nonzero().flatten().tolist() == [12, 14, 16, 18, 20]
    assert tokenizer.tokenize("the said") == ["the", "\u0120said"]
    assert words(tokenizer, tokenizer("the said the")["input_ids"]) == ["the", "said", "the"]


def test_sentencepiece_word_starts_are_the_pieces_with_the_marker(tiny_corpus):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    assert word_pieces(tokenizer).family == SENTENCEPIECE and adds_prefix_space(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    special = set(tokenizer.all_special_ids)
    assert word_start_mask(tokenizer).tolist() == [i not in special and p.startswith("\u2581")
                                                   for i, p in enumerate(pieces)]


@pytest.mark.parametrize("family", [SENTENCEPIECE, BYTE_LEVEL_BPE, WORDPIECE])
def test_words_of_a_text_are_its_words_for_each_family(tokenizers, texts, family):
    tokenizer = tokenizers[family]
    assert word_pieces(tokenizer).family == family and adds_prefix_space(tokenizer)
    # texts of letters only, so that every family splits words at spaces only (WordPiece also splits punctuation)
    plain = [" ".join(w for w in t.split() if w.isalpha()) for t in texts[:50]]
    mask = word_start_mask(tokenizer)
    for text in plain:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert words(tokenizer, ids) == text.split()
        # the mask counts them: one word start per word
        assert int(mask[torch.tensor(ids)].sum()) == len(text.split())


def test_word_start_mask_is_padded_to_a_larger_model_vocabulary(tokenizers):
    tokenizer = tokenizers[SENTENCEPIECE]
    mask = word_start_mask(tokenizer, len(tokenizer) + 28)  # T5's embedding table has 28 rows more
    assert mask.shape == (len(tokenizer) + 28,) and not mask[len(tokenizer):].any()
    assert torch.equal(mask[: len(tokenizer)], word_start_mask(tokenizer))
    assert fit_mask(torch.tensor([True, False, True]), 2).tolist() == [True, False]
    assert fit_mask(torch.tensor([True]), 3).tolist() == [True, False, False]


def test_count_words():
    word_start = torch.tensor([False, True, False, True])  # ids 1 and 3 start a word
    ids = torch.tensor([[1, 2, 3, 0], [3, 3, 7, 1]])  # 7: beyond the table (a model's extra row), starts nothing
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])  # the last 1 of row 1 is after the end
    # row 0: 1 and 3 start words -> 2; row 1: 3, 3 -> 2 (7 does not count, 1 is masked)
    assert count_words(word_start, ids, mask).tolist() == [2, 2]


def _fast(model, pre_tokenizer=None):
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(model)
    if pre_tokenizer is not None:
        tok.pre_tokenizer = pre_tokenizer
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")


def test_a_tokenizer_of_another_family_is_refused(texts):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    vocab = {"[PAD]": 0, "[UNK]": 1, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6}
    word_level = _fast(models.WordLevel(vocab, unk_token="[UNK]"), pre_tokenizers.Whitespace())
    with pytest.raises(TokenizerFamilyError, match="cannot tell which pieces.*start a word.*'the', 'cat'"):
        word_pieces(word_level)
    # a BPE that marks word ends ("</w>", as CLIP's and XLM's do) instead of word starts
    bpe = Tokenizer(models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=300, special_tokens=["[PAD]", "[UNK]"],
                                                       end_of_word_suffix="</w>", show_progress=False))
    suffix = _fast(models.BPE(**{k: v for k, v in json.loads(bpe.to_str())["model"].items()
                                 if k in ("vocab", "unk_token", "end_of_word_suffix")},
                              merges=[tuple(m) if isinstance(m, list) else tuple(m.split(" "))
                                      for m in json.loads(bpe.to_str())["model"]["merges"]]),
                   pre_tokenizers.Whitespace())
    assert any(p.endswith("</w>") for p in suffix.tokenize("the cat"))
    with pytest.raises(TokenizerFamilyError, match="sentencepiece .* byte-level BPE .* WordPiece"):
        word_start_mask(suffix)
