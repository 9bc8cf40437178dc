"""Tiny stand-ins for pretrained checkpoints, each saved with its own tokenizer (random weights, built in seconds):
a BART with a byte-level BPE tokenizer, a T5 with its own sentencepiece model, a BERT with a WordPiece tokenizer.

The tokenizers are trained on the texts given (the tiny corpus's), in the way their families' real tokenizers are
built: BART's byte-level BPE without a prefix space (as facebook/bart-base ships), T5's sentencepiece unigram with
pad 0 / eos 1 / unk 2 and no bos, BERT's lowercasing WordPiece with [CLS]/[SEP].
"""

from __future__ import annotations

import json
from pathlib import Path

# a pretrained checkpoint's generation defaults, which must never reach training rollouts
LEAKY_GENERATION = {"num_beams": 4, "no_repeat_ngram_size": 2, "suppress_tokens": [5, 6], "min_length": 5}


def byte_level_bpe(texts: list[str], vocab_size: int = 500):
    """A BART/RoBERTa-style byte-level BPE tokenizer (<s>=0, <pad>=1, </s>=2, <unk>=3, <mask>=4)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import RobertaTokenizer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return RobertaTokenizer(vocab=model["vocab"], merges=merges)


def wordpiece(texts: list[str], vocab_size: int = 400):
    """A BERT-style lowercasing WordPiece tokenizer ([PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertTokenizer

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False))
    return BertTokenizer(vocab=json.loads(tok.to_str())["model"]["vocab"])


def sentencepiece_t5(texts: list[str], folder: Path, vocab_size: int = 300):
    """A T5 tokenizer over its own sentencepiece model (pad 0, eos 1, unk 2, no bos, no extra ids)."""
    import sentencepiece as spm
    from transformers import T5Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "text.txt").write_text("\n".join(texts), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(folder / "text.txt"), model_prefix=str(folder / "spiece"), vocab_size=vocab_size, pad_id=0,
        eos_id=1, unk_id=2, bos_id=-1, hard_vocab_limit=False, num_threads=1, minloglevel=2)
    return T5Tokenizer.from_pretrained(str(folder), extra_ids=0)


def _leaky(model) -> None:
    for key, value in LEAKY_GENERATION.items():
        setattr(model.generation_config, key, value)


def tiny_bart(folder: Path, texts: list[str], forced_bos: bool = True) -> Path:
    """A BART saved with a byte-level BPE tokenizer and leaky generation defaults (forced <s>, beams, ...)."""
    from transformers import BartConfig, BartForConditionalGeneration

    tokenizer = byte_level_bpe(texts)
    config = BartConfig(vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_position_embeddings=128, dropout=0.0, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                        decoder_start_token_id=2)
    model = BartForConditionalGeneration(config)
    _leaky(model)
    if forced_bos:
        model.generation_config.forced_bos_token_id = 0  # as bart-large checkpoints ship
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_t5(folder: Path, texts: list[str]) -> Path:
    """A T5 saved with its own sentencepiece tokenizer; its decoder starts from pad, as T5's does."""
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = sentencepiece_t5(texts, folder / "spm")
    config = T5Config(vocab_size=len(tokenizer) + 4, d_model=32, d_kv=16, d_ff=64, num_layers=1, num_decoder_layers=1,
                      num_heads=2, dropout_rate=0.0, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    model = T5ForConditionalGeneration(config)  # 4 embedding rows beyond the tokenizer, as t5-small has 28
    _leaky(model)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_bert(folder: Path, texts: list[str]) -> Path:
    """An encoder (BertModel, with pooler) saved with a WordPiece tokenizer: D's warm start, or BERT2BERT's."""
    from transformers import BertConfig, BertModel

    tokenizer = wordpiece(texts)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
