"""Warm starts: G, R and D from pretrained checkpoints, each with the tokenizer it was trained with.

``model.summarizer_init`` / ``model.reconstructor_init`` name a local folder or a hub name holding

- a transformers encoder-decoder (BART, T5/mT5, Pegasus, Marian, a seq2seq2seq export), loaded with
  ``AutoModelForSeq2SeqLM``; with ``model.pointer`` a BART's weights go under our pointer model (the copy layers new);
- with ``model.bert2bert``, an encoder (BERT, RoBERTa, MiniLM), used as both encoder and decoder of an
  ``EncoderDecoderModel`` (the decoder's cross-attention and language-model head new).

``discriminator.init`` names a seq2seq2seq discriminator export or any encoder (BERT, RoBERTa, MiniLM), which gets a
new one-logit classifier head.

Each model keeps its checkpoint's tokenizer. G's is the run's tokenizer: documents, pseudo-summaries, summaries and
the export use it. R and D read G's summaries re-tokenized (:mod:`seq2seq2seq.decoding.retokenize`) when theirs differs. A
folder without a tokenizer (a seq2seq2seq export from before this) is read with the run's tokenizer, whose size it
must have. Anything else wrong is a ModelLoadError that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import (
    CONFIG_MAPPING,
    MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING,
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    BartConfig,
    EncoderDecoderModel,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from seq2seq2seq.config import ModelConfig, TrainConfig
from seq2seq2seq.data import end_of_sentence_id
from seq2seq2seq.decoding.retokenize import same_tokenizer
from seq2seq2seq.decoding.sampling import plain_generation_config
from seq2seq2seq.decoding.word_pieces import BYTE_LEVEL_BPE, TokenizerFamilyError, adds_prefix_space, word_pieces
from seq2seq2seq.models.build import (
    HumanSentenceDiscriminatorConfig,
    ModelLoadError,
    base_prefix,
    build_discriminator,
    build_seq2seq,
    check_model_folder,
    describe_error,
    is_encoder_type,
    load_complete,
    load_discriminator,
    load_encoder_classifier,
    model_config,
    read_json_object,
)
from seq2seq2seq.models.pointer import PointerBartConfig, PointerBartForConditionalGeneration

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model", "sentencepiece.bpe.model",
                   "vocab.json", "vocab.txt", "source.spm")


@dataclass
class WarmModels:
    """The three models of a run and the tokenizer each reads (G's is the run's)."""

    g: PreTrainedModel
    r: PreTrainedModel
    d: PreTrainedModel
    g_tokenizer: PreTrainedTokenizerBase
    r_tokenizer: PreTrainedTokenizerBase
    d_tokenizer: PreTrainedTokenizerBase


def build_models(cfg: TrainConfig, tokenizer: PreTrainedTokenizerBase) -> WarmModels:
    """G, R and D from their init settings (or from scratch), in this order so that a seed gives the same weights.

    ``tokenizer``: the corpus's, used by G when it is built from scratch; R and D built from scratch use G's.
    """
    m = cfg.model
    g, g_tok = (seq2seq_from(m.summarizer_init, m, tokenizer, "model.summarizer_init") if m.summarizer_init
                else (build_seq2seq(m, tokenizer), tokenizer))
    r, r_tok = (seq2seq_from(m.reconstructor_init, m, g_tok, "model.reconstructor_init") if m.reconstructor_init
                else (build_seq2seq(m, g_tok), g_tok))
    for model in (g, r):
        # a warm start's saved generation defaults (beams, forced tokens) must not shape rollouts or exports
        model.generation_config = plain_generation_config(model)
    init = cfg.discriminator.init
    d, d_tok = (discriminator_from(init, g_tok, max_tokens=cfg.discriminator.max_tokens) if init
                else (build_discriminator(cfg.discriminator, g_tok), g_tok))
    # one object per distinct tokenizer: G and R from the same checkpoint share G's
    r_tok = g_tok if same_tokenizer(g_tok, r_tok) else r_tok
    d_tok = g_tok if same_tokenizer(g_tok, d_tok) else d_tok
    return WarmModels(g, r, d, g_tok, r_tok, d_tok)


# --------------------------------------------------------------------------------------------------------------------
# where a checkpoint is, and its tokenizer


def is_local(source: str | Path) -> bool:
    """A path (it exists, or is written as one) rather than a hub name."""
    return Path(source).expanduser().exists() or str(source).startswith((".", "/", "~"))


def _hub_fix(source: str | Path) -> str:
    from huggingface_hub import constants

    why = ("hub access is switched off here (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE
           else "the hub is unreachable from here, or has no such model")
    return (f"if {str(source)!r} is a hub name, {why}: download it where the hub is reachable (`hf download "
            f"{source} --local-dir DIR` brings its tokenizer too) and pass DIR; if it is a local folder, check the "
            f"path (write it as ./{source} to make sure it is read as one)")


def checkpoint_config(source: str | Path, key: str) -> dict[str, Any]:
    """The config.json of a local folder (checked: it exists, holds readable safetensors) or of a hub name."""
    if is_local(source):
        path = Path(source).expanduser()
        if path.is_file():
            raise ModelLoadError(f"{key}: {path} is a file, not a folder; pass the folder holding the transformers "
                                 f"model (its config.json, safetensors weights and tokenizer: e.g. a downloaded "
                                 f"checkpoint's folder or RUN/final/summarizer), or a hub name")
        if not path.is_dir():
            raise ModelLoadError(f"{key}: {path} does not exist; pass a folder holding a transformers model "
                                 f"(config.json, safetensors weights, tokenizer) or a hub name")
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{key}: {path} has no config.json, so it is not a transformers model folder; pass "
                                 f"a folder written by save_pretrained (a downloaded checkpoint, or RUN/final/...)")
        check_model_folder(path, key)
        return read_json_object(path / "config.json")
    try:
        return AutoConfig.from_pretrained(str(source)).to_dict()
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"{key}: cannot load {str(source)!r} ({describe_error(err)}); "
                             f"{_hub_fix(source)}") from None


def checkpoint_tokenizer(source: str | Path, key: str) -> PreTrainedTokenizerBase | None:
    """The tokenizer saved with a checkpoint, ready for training (:func:`prepare_tokenizer`); None for a local
    folder that holds none."""
    if is_local(source) and not any((Path(source).expanduser() / f).is_file() for f in TOKENIZER_FILES):
        return None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(Path(source).expanduser()) if is_local(source) else source)
    except Exception as err:  # tokenizers, sentencepiece and transformers each raise their own kinds
        raise ModelLoadError(f"{key}: cannot load the tokenizer saved with {source} ({describe_error(err)}); save the "
                             f"checkpoint's own tokenizer beside it: "
                             f"AutoTokenizer.from_pretrained(NAME).save_pretrained(DIR)") from None
    return prepare_tokenizer(tokenizer, source, key)


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, source: str | Path, key: str) -> PreTrainedTokenizerBase:
    """Check what training needs of a pretrained tokenizer: a known word-piece family, a pad token, an end token.

    A byte-level BPE tokenizer that does not add a prefix space is reloaded with ``add_prefix_space=True``: else a
    document's first word is another piece (``the``) than the same word inside a summary (``Ġthe``), which breaks
    copying, whole words and word counts. The export then carries that setting, so serving splits text the same way.
    """
    try:
        family = word_pieces(tokenizer)
    except TokenizerFamilyError as err:
        raise ModelLoadError(f"{key}: {err}") from None
    if tokenizer.pad_token_id is None:
        raise ModelLoadError(
            f"{key}: the tokenizer of {source} has no pad token, which batching needs; give it one and save both "
            f"into a folder: tok.add_special_tokens({{'pad_token': '<pad>'}}); "
            f"model.resize_token_embeddings(len(tok)); tok.save_pretrained(DIR); model.save_pretrained(DIR)")
    try:
        end_of_sentence_id(tokenizer)
    except ValueError:
        raise ModelLoadError(f"{key}: the tokenizer of {source} has neither an eos nor a sep token to end a "
                             f"sequence with; add one (tok.add_special_tokens({{'eos_token': '</s>'}})), resize the "
                             f"model's embeddings and save both") from None
    if family.family == BYTE_LEVEL_BPE and not adds_prefix_space(tokenizer):
        name = str(Path(source).expanduser()) if is_local(source) else str(source)
        tokenizer = AutoTokenizer.from_pretrained(name, add_prefix_space=True)
        if not adds_prefix_space(tokenizer):
            raise ModelLoadError(f"{key}: the byte-level BPE tokenizer of {source} does not mark the first word of a "
                                 f"text with '\u0120' even with add_prefix_space=True; save it with a ByteLevel "
                                 f"pre-tokenizer that adds a prefix space")
    tokenizer.padding_side = "right"  # decoder targets and the whole-word state assume right padding
    return tokenizer


def check_vocabulary(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, source: str | Path, key: str,
                     own: bool) -> None:
    """The tokenizer fits the model: its ids index the embeddings, and its pad/eos ids are the model's.

    ``own``: the tokenizer came with the checkpoint (it may be smaller than the embedding table, as T5's is);
    otherwise it is the run's tokenizer standing in for a missing one and must have exactly the table's size.
    """
    try:
        rows = model.get_input_embeddings().num_embeddings
    except (AttributeError, NotImplementedError):
        rows = model_config(model).vocab_size
    if not own and len(tokenizer) != rows:
        raise ModelLoadError(f"{key}: {source} holds no tokenizer, so it would read the run's tokenizer "
                             f"({len(tokenizer)} entries), but its vocabulary has {rows}: it was trained with another "
                             f"tokenizer. Save the checkpoint's own tokenizer into the folder "
                             f"(tokenizer.save_pretrained(DIR))")
    if len(tokenizer) > rows:
        raise ModelLoadError(f"{key}: the tokenizer saved with {source} has {len(tokenizer)} entries but the model's "
                             f"vocabulary only {rows}: the tokenizer belongs to another model. Save the checkpoint's "
                             f"own tokenizer beside it (AutoTokenizer.from_pretrained(NAME).save_pretrained(DIR))")
    config = model_config(model)
    eos = end_of_sentence_id(tokenizer)
    for name, tokenizer_id in (("pad", tokenizer.pad_token_id), ("eos", eos)):
        model_id = getattr(config, f"{name}_token_id", None)
        if model_id is not None and model_id != tokenizer_id:
            raise ModelLoadError(f"{key}: the tokenizer saved with {source} has {name} id {tokenizer_id} but the "
                                 f"model's config says {model_id}: the tokenizer belongs to another model. Save the "
                                 f"checkpoint's own tokenizer beside it")


# --------------------------------------------------------------------------------------------------------------------
# G and R


def _is_seq2seq_type(model_type: Any) -> bool:
    return (isinstance(model_type, str) and model_type in CONFIG_MAPPING
            and CONFIG_MAPPING[model_type] in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING)


def seq2seq_from(source: str | Path, cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase,
                 key: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """G or R warm-started from ``source``, and the tokenizer it reads (its own, else ``tokenizer``)."""
    model_type = checkpoint_config(source, key).get("model_type")
    own = checkpoint_tokenizer(source, key)
    fix = ("the folder may be incomplete or corrupt: download or export it again" if is_local(source)
           else _hub_fix(source))
    if _is_seq2seq_type(model_type):
        if cfg.pointer and model_type != PointerBartConfig.model_type:
            model = _pointer_bart(source, model_type, key, fix)
        else:
            model = load_complete(AutoModelForSeq2SeqLM, source, key, fix)
    elif is_encoder_type(model_type):
        if not cfg.bert2bert:
            raise ModelLoadError(f"{key}: {source} holds an encoder-only {model_type!r} model, but G and R are "
                                 f"encoder-decoders; set model.bert2bert: true to assemble one from it (its weights in "
                                 f"both encoder and decoder, new cross-attention and language-model head), or pass "
                                 f"an encoder-decoder checkpoint (BART, T5, Pegasus, Marian)")
        if cfg.pointer:
            raise ModelLoadError(f"{key}: model.pointer works on BART checkpoints only, and {source} holds a "
                                 f"{model_type!r} encoder; set model.pointer: false")
        model = _bert2bert(source, key, fix)
    else:
        raise ModelLoadError(f"{key}: {source} holds a {model_type!r} model, which is not a transformers encoder-"
                             f"decoder: G and R warm-start from an encoder-decoder (BART, T5, Pegasus, Marian, "
                             f"RUN/final/summarizer) or, with model.bert2bert, from an encoder (BERT, RoBERTa, MiniLM)")
    tokenizer = own or tokenizer
    check_vocabulary(model, tokenizer, source, key, own is not None)
    _settle_special_tokens(model, tokenizer)
    return model, tokenizer


def _pointer_bart(source: str | Path, model_type: str, key: str, fix: str) -> PreTrainedModel:
    """A BART checkpoint's weights under the pointer model; only the copy layers are new."""
    if model_type != "bart":
        raise ModelLoadError(f"{key}: model.pointer works on BART checkpoints only, and {source} holds a "
                             f"{model_type!r} model; set model.pointer: false")
    bart = BartConfig.from_pretrained(str(source)).to_dict()
    for name in ("model_type", "architectures", "transformers_version"):
        bart.pop(name, None)
    return load_complete(PointerBartForConditionalGeneration, source, key, fix,
                          new=lambda name: name.startswith("copy_"), config=PointerBartConfig(**bart))


def _bert2bert(source: str | Path, key: str, fix: str) -> PreTrainedModel:
    """BERT2BERT: an encoder checkpoint as both halves of an EncoderDecoderModel. The encoder is the checkpoint as
    it is (a missing pooler aside, which summaries do not use); the decoder is the same weights with causal
    self-attention, and new cross-attention and language-model head."""
    encoder = load_complete(AutoModel, source, key, fix, new=lambda name: "pooler." in name)
    if getattr(encoder, "pooler", None) is not None:
        # the pooled [CLS] output feeds nothing here: frozen, it is no parameter without a gradient (which
        # DistributedDataParallel refuses), and it stays in the export, which loads as a standard EncoderDecoderModel
        encoder.pooler.requires_grad_(False)
    prefix = base_prefix(source, AutoModelForCausalLM)
    decoder = load_complete(AutoModelForCausalLM, source, key, fix,
                             new=lambda name: "crossattention" in name or not name.startswith(prefix + "."),
                             is_decoder=True, add_cross_attention=True)
    return EncoderDecoderModel(encoder=encoder, decoder=decoder)


def _settle_special_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Put pad, eos, bos, decoder start and the vocabulary size on the model's config, where sampling, the losses
    and ``generate`` read them: pretrained configs leave some out (T5: bos; an EncoderDecoderModel: all)."""
    config = model_config(model)
    start = getattr(config, "decoder_start_token_id", None)
    if start is None:  # BERT2BERT starts from [CLS]; T5-style models from pad
        start = next(i for i in (tokenizer.bos_token_id, tokenizer.cls_token_id, tokenizer.pad_token_id)
                     if i is not None)
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = end_of_sentence_id(tokenizer)
    config.decoder_start_token_id = start
    config.bos_token_id = getattr(config, "bos_token_id", None)
    if getattr(config, "vocab_size", None) is None:
        config.vocab_size = model.get_output_embeddings().weight.shape[0]


# --------------------------------------------------------------------------------------------------------------------
# D


def discriminator_from(source: str | Path, tokenizer: PreTrainedTokenizerBase,
                       key: str = "discriminator.init",
                       max_tokens: int | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """D warm-started from ``source`` (a discriminator export or an encoder), and the tokenizer it reads (its own,
    else ``tokenizer``). An encoder's config records ``max_tokens`` (discriminator.max_tokens), so that its export
    tells a judge (scripts/benchmark.py) how long a sentence D learned to read."""
    model_type = checkpoint_config(source, key).get("model_type")
    own = checkpoint_tokenizer(source, key)
    if model_type == HumanSentenceDiscriminatorConfig.model_type:
        model = load_discriminator(source)
    elif is_encoder_type(model_type):
        fix = ("the folder may be incomplete or corrupt: download or export it again" if is_local(source)
               else _hub_fix(source))
        model = load_encoder_classifier(source, key, fix)
        if max_tokens is not None:
            model.config.max_tokens = max_tokens
    else:
        what = "an encoder-decoder" if _is_seq2seq_type(model_type) else f"a {model_type!r} model"
        raise ModelLoadError(f"{key}: {source} holds {what}, but D is an encoder classifier: pass an encoder (BERT, "
                             f"RoBERTa, MiniLM, ...) or a seq2seq2seq discriminator export (RUN/final/discriminator)")
    tokenizer = own or tokenizer
    check_vocabulary(model, tokenizer, source, key, own is not None)
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id  # sequence classifiers find the last token by it
    return model, tokenizer
