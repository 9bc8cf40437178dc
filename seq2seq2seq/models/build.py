"""Build or load the three models: summarizer G, reconstructor R (encoder-decoders) and discriminator D.

Built from scratch, all three share the run's tokenizer, so G's summary ids feed R and D directly. Warm starts from
pretrained checkpoints, each with its own tokenizer, are assembled by :mod:`seq2seq2seq.models.warm_start` from the loaders
here.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch import nn
from transformers import (
    CONFIG_MAPPING,
    MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING,
    MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING,
    AutoModelForSeq2SeqLM,
    BartConfig,
    BartForConditionalGeneration,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    T5Config,
    T5ForConditionalGeneration,
)
from transformers.utils import logging as hf_logging

from seq2seq2seq.config import DiscriminatorConfig, ModelConfig
from seq2seq2seq.models.pointer import PointerBartConfig, PointerBartForConditionalGeneration


class ModelLoadError(RuntimeError):
    """A checkpoint that is missing, corrupt or of the wrong kind; the message says what to do."""


def describe_error(err: BaseException) -> str:
    """A library error in one line for our own messages: its class and the first line of its text."""
    text = str(err)
    return f"{err.__class__.__name__}: {text.splitlines()[0] if text else ''}"


def special_ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int]:
    """pad/eos/bos ids of a tokenizer; bos doubles as the decoder start token of a model built from scratch. A
    WordPiece tokenizer's [SEP] and [CLS] stand in for eos and bos; without either (T5's), the decoder starts from
    pad, as T5's does."""
    first = lambda *ids: next((i for i in ids if i is not None), None)
    get = lambda name: getattr(tokenizer, f"{name}_token_id", None)
    ids = {"pad": get("pad"), "eos": first(get("eos"), get("sep")), "bos": first(get("bos"), get("cls"), get("pad"))}
    missing = [k for k, v in ids.items() if v is None]
    if missing:
        name = getattr(tokenizer, "name_or_path", "")
        raise ModelLoadError(f"tokenizer {name!r} has no {'/'.join(missing)} token; rebuild the project tokenizer "
                             f"with `python -m data_prep`, or add the token to a pretrained one "
                             f"(tokenizer.add_special_tokens) and save it beside its model")
    return ids


def build_seq2seq(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A randomly initialised BART- or T5-style encoder-decoder over the tokenizer's vocabulary. Warm starts from a
    pretrained checkpoint are :func:`seq2seq2seq.models.warm_start.build_models`' (they bring their own tokenizer)."""
    ids = special_ids(tokenizer)
    if cfg.arch == "bart":
        config_class = PointerBartConfig if cfg.pointer else BartConfig
        config = config_class(
            vocab_size=len(tokenizer), d_model=cfg.d_model,
            encoder_layers=cfg.encoder_layers, decoder_layers=cfg.decoder_layers,
            encoder_attention_heads=cfg.attention_heads, decoder_attention_heads=cfg.attention_heads,
            encoder_ffn_dim=cfg.ffn_dim, decoder_ffn_dim=cfg.ffn_dim,
            max_position_embeddings=max(cfg.max_document_tokens, 64) + 2,
            dropout=cfg.dropout, attention_dropout=0.0, activation_dropout=0.0,
            pad_token_id=ids["pad"], bos_token_id=ids["bos"], eos_token_id=ids["eos"],
            decoder_start_token_id=ids["bos"], forced_bos_token_id=None, forced_eos_token_id=None,
            scale_embedding=True, tie_word_embeddings=True,
        )
        model_class = PointerBartForConditionalGeneration if cfg.pointer else BartForConditionalGeneration
        return model_class(config)
    config = T5Config(
        vocab_size=len(tokenizer), d_model=cfg.d_model, d_kv=cfg.d_model // cfg.attention_heads, d_ff=cfg.ffn_dim,
        num_layers=cfg.encoder_layers, num_decoder_layers=cfg.decoder_layers, num_heads=cfg.attention_heads,
        dropout_rate=cfg.dropout, pad_token_id=ids["pad"], eos_token_id=ids["eos"], bos_token_id=ids["bos"],
        decoder_start_token_id=ids["bos"], tie_word_embeddings=True,
    )
    return T5ForConditionalGeneration(config)


# what from_pretrained raises for a folder it cannot use (json.JSONDecodeError is a ValueError)
_LOAD_ERRORS = (OSError, ValueError, TypeError, KeyError, RuntimeError, SafetensorError)


def check_model_folder(path: Path, what: str) -> None:
    """Refuse a ``what`` folder that from_pretrained could not load (a file, no config.json, no or broken
    safetensors), with the fix, before transformers fails with a message about its own internals."""
    if path.is_file():
        raise ModelLoadError(f"{what} path {path} is a file, not a folder; pass the model folder that holds it "
                             f"(config.json and safetensors weights, as written by training: e.g. "
                             f"RUN/final/summarizer)")
    if not path.is_dir():
        raise ModelLoadError(f"{what} folder {path} does not exist; pass the folder written by training "
                             f"(e.g. RUN/final/summarizer)")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path} has no config.json, so it is not a saved {what}; pass a folder written by "
                             f"save_pretrained (e.g. RUN/final/summarizer)")
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        raise ModelLoadError(f"{path} holds no .safetensors weights; checkpoints load with safetensors only: "
                             f"re-export the model with save_pretrained(safe_serialization=True)")
    for file in weights:
        _check_safetensors(file, what)


def _check_safetensors(file: Path, what: str) -> None:
    """Open the file's header: a truncated, empty or foreign file fails here, named, instead of deep in loading."""
    if file.stat().st_size == 0:
        raise ModelLoadError(f"{file} is empty (0 bytes), e.g. from an interrupted copy; re-export the {what} from "
                             f"its training run or copy the file again")
    try:
        with safe_open(str(file), framework="pt"):
            pass
    except (SafetensorError, OSError) as err:
        raise ModelLoadError(f"{file} is truncated or corrupt ({describe_error(err)}); re-export the {what} from its "
                             f"training run or copy the file again") from None


def read_json_object(file: Path, fix: str = "re-export the model") -> dict[str, Any]:
    """A JSON file holding an object (a config.json, our decoding settings); ModelLoadError naming ``fix`` if not."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{file} is unreadable ({describe_error(err)}); {fix}") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{file} does not hold a JSON object; {fix}")
    return data


def _read_config(path: Path) -> dict[str, Any]:
    return read_json_object(path / "config.json")


def _check_seq2seq_config(path: Path) -> None:
    """The folder's config.json names an encoder-decoder type transformers knows (bart, t5, our pointer-bart, ...)."""
    model_type = _read_config(path).get("model_type")
    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        raise ModelLoadError(f"{path / 'config.json'} has model_type {model_type!r}, which transformers does not "
                             f"know: {path} is not a seq2seq2seq summarizer export; pass the folder written by "
                             f"training (RUN/final/summarizer) or re-export it")
    if CONFIG_MAPPING[model_type] not in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING:
        raise ModelLoadError(f"{path} holds a '{model_type}' model, not an encoder-decoder: it is not a seq2seq2seq "
                             f"summarizer export; pass the folder written by training (RUN/final/summarizer)")


def _few(names: list[str], limit: int = 3, sep: str = ", ") -> str:
    return sep.join(names[:limit]) + (f"{sep}..." if len(names) > limit else "")


def _check_loading_info(source: str | Path, info: dict[str, Any], what: str,
                        new: Callable[[str], bool] | None = None) -> None:
    """Refuse weights that do not cover the model: from_pretrained would fill the gaps with random values.

    Tied weights (lm_head, embed_tokens) absent from a good export are not reported by transformers, so any
    missing key is a real gap. A warm start that adds parts to a pretrained model (a classifier head, cross-attention,
    the pointer) names them with ``new``: those may be missing (or of another shape), and tensors the model does not
    use (another task's head) are then left aside.
    """
    for key, problem in (("missing_keys", "lack {n} of the model's tensors"),
                         ("unexpected_keys", "hold {n} tensor(s) the model does not use"),
                         ("mismatched_keys", "hold {n} tensor(s) of the wrong shape")):
        names = sorted(_describe_key(k) for k in info.get(key) or ())
        if new is not None:
            names = [] if key == "unexpected_keys" else [n for n in names if not new(n.split(":")[0])]
        if names:
            listed = _few(names, sep="; " if key == "mismatched_keys" else ", ")
            raise ModelLoadError(f"the weights in {source} {problem.format(n=len(names))} ({listed}): they do "
                                 f"not match its config.json (an incomplete or edited file); re-export the {what} "
                                 f"from its training run")


def _describe_key(key: Any) -> str:
    """A tensor name of a loading report; a wrong-shape one, (name, shape in the file, shape in the model), with both
    shapes: transformers prints them only in a report that our quiet loading hides."""
    if not isinstance(key, tuple):
        return str(key)
    if len(key) == 3:
        return f"{key[0]}: {tuple(key[1])} in the file, {tuple(key[2])} in the model"
    return str(key[0])


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No load report from transformers: a bad load is reported once, by our own ModelLoadError."""
    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)


def load_complete(model_class: Any, source: str | Path, what: str, fix: str,
                   new: Callable[[str], bool] | None = None, **kwargs: Any) -> PreTrainedModel:
    """``model_class.from_pretrained(source, **kwargs)`` from safetensors, refusing weights that do not cover the
    model (except the ``new`` parts of a warm start, see :func:`_check_loading_info`)."""
    # wrong-shape tensors are loaded as random values and then refused by _check_loading_info, which names them with
    # their shapes (without this, transformers raises an error that points to a report the quiet loading hides)
    kwargs.setdefault("ignore_mismatched_sizes", True)
    try:
        with _quiet_transformers():
            model, info = model_class.from_pretrained(str(source), use_safetensors=True, output_loading_info=True,
                                                      **kwargs)
    except SafetensorError as err:
        raise ModelLoadError(f"the weights in {source} are truncated or corrupt ({describe_error(err)}); "
                             f"re-export the {what} from its training run") from None
    except _LOAD_ERRORS as err:
        raise ModelLoadError(f"cannot load the {what} from {source}: {describe_error(err)}; {fix}") from None
    _check_loading_info(source, info, what, new)
    check_finite(model, source)
    return model


def non_finite_tensors(model: nn.Module) -> list[str]:
    """Names of the model's floating-point tensors (parameters and saved buffers, such as BART's final_logits_bias)
    holding a NaN or an infinity. Buffers that are not saved (masks a model builds itself) may hold -inf on purpose.

    A sum per tensor screens them (NaN and inf propagate) at a tenth of the cost of ``isfinite`` over every value;
    a tensor whose sum is not finite is checked value by value, since finite values can also overflow a sum.
    """
    saved = set(model.state_dict())
    bad = []
    for name, tensor in [*model.named_parameters(), *((n, b) for n, b in model.named_buffers() if n in saved)]:
        if not tensor.is_floating_point() or torch.isfinite(tensor.detach().sum(dtype=torch.float32)):
            continue
        if not torch.isfinite(tensor.detach()).all():
            bad.append(name)
    return sorted(bad)


def check_finite(model: nn.Module, source: str | Path) -> None:
    """Refuse weights with NaN or infinite values: a diverged run (e.g. a learning rate far too high) exports them,
    and the model then writes empty summaries without any error."""
    bad = non_finite_tensors(model)
    if bad:
        raise ModelLoadError(f"the weights in {source} hold NaN or infinite values in {len(bad)} tensor(s) "
                             f"({_few(bad)}): the training run that wrote them diverged (e.g. a learning rate too "
                             f"high); use an export the run wrote before it diverged (RUN/best/summarizer: the "
                             f"dev-selected G, summarize --best; RUN/pretrained/summarizer: G after pre-training), or "
                             f"train again with a lower learning rate")


def load_seq2seq(name_or_path: str | Path, vocab_size: int | None = None) -> PreTrainedModel:
    """Load an encoder-decoder from a local folder (safetensors only) or, where the hub is reachable, a hub name.

    A local folder must hold a known encoder-decoder config and complete, readable safetensors weights; anything
    else is a ModelLoadError that names the problem, never a model with random weights.
    """
    path = Path(name_or_path)
    local = path.exists() or str(name_or_path).startswith((".", "/", "~"))
    what = "summarizer/reconstructor"
    if local:
        check_model_folder(path, what)
        _check_seq2seq_config(path)
    model = load_complete(AutoModelForSeq2SeqLM, name_or_path, what,
                           "if it is a local folder, it may be corrupt: re-export it; if it is a hub name, check the "
                           "name and that the hub is reachable")
    if vocab_size is not None and model.config.vocab_size < vocab_size:
        raise ModelLoadError(f"{name_or_path} has a vocabulary of {model.config.vocab_size} but the tokenizer has "
                             f"{vocab_size}; warm-start only from models trained with the same tokenizer")
    return model


# --------------------------------------------------------------------------------------------------------------------
# the discriminator


class HumanSentenceDiscriminatorConfig(PretrainedConfig):
    model_type = "seq2seq2seq-discriminator"

    def __init__(self, vocab_size: int = 16000, d_model: int = 256, layers: int = 2, attention_heads: int = 4,
                 ffn_dim: int = 512, dropout: float = 0.1, max_tokens: int = 48, pad_token_id: int = 0,
                 **kwargs) -> None:
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.layers = layers
        self.attention_heads = attention_heads
        self.ffn_dim = ffn_dim
        self.dropout = dropout
        self.max_tokens = max_tokens
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class HumanSentenceDiscriminator(PreTrainedModel):
    """Scores how human-written a token sequence looks.

    A bidirectional Transformer encoder, mean-pooled over real tokens, then one logit per sentence. We score whole
    sequences rather than prefixes because the reward that matters is whether the *finished* summary reads like a
    headline (a prefix can look fine and end badly); the self-critical baseline already handles credit assignment
    for sequence-level rewards. Per-token logits (each token's own head output) are returned too, for inspection.
    """

    config_class = HumanSentenceDiscriminatorConfig
    base_model_prefix = "discriminator"
    main_input_name = "input_ids"

    def __init__(self, config: HumanSentenceDiscriminatorConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.position = nn.Embedding(config.max_tokens, config.d_model)
        layer = nn.TransformerEncoderLayer(config.d_model, config.attention_heads, config.ffn_dim, config.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, 1)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embed = value

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """input_ids, attention_mask: shape (b, t), or inputs_embeds (b, t, d) instead of the ids (soft tokens).
        Returns ``logits`` (b,) and ``token_logits`` (b, t)."""
        if inputs_embeds is None:
            inputs_embeds = self.embed(input_ids)
        inputs_embeds = inputs_embeds[:, : self.config.max_tokens]
        attention_mask = attention_mask[:, : self.config.max_tokens]
        positions = torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device)
        hidden = inputs_embeds + self.position(positions)[None]
        hidden = self.norm(self.encoder(hidden, src_key_padding_mask=attention_mask == 0))
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return {"logits": self.head(pooled).squeeze(-1), "token_logits": self.head(hidden).squeeze(-1)}


def build_discriminator(cfg: DiscriminatorConfig, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A randomly initialised :class:`HumanSentenceDiscriminator` over the tokenizer's vocabulary. A warm start
    (``cfg.init``) is :func:`seq2seq2seq.models.warm_start.build_models`' (it brings its own tokenizer)."""
    if cfg.init:  # random weights where a pretrained D was asked for would go unnoticed until D's scores
        raise ValueError(f"discriminator.init is {cfg.init!r}: build_discriminator builds D from scratch; warm-start "
                         f"it with seq2seq2seq.models.warm_start.build_models")
    config = HumanSentenceDiscriminatorConfig(
        vocab_size=len(tokenizer), d_model=cfg.d_model, layers=cfg.layers, attention_heads=cfg.attention_heads,
        ffn_dim=cfg.ffn_dim, dropout=cfg.dropout, max_tokens=cfg.max_tokens, pad_token_id=tokenizer.pad_token_id,
    )
    return HumanSentenceDiscriminator(config)


def is_encoder_type(model_type: Any) -> bool:
    """A transformers encoder with a sequence-classification head (bert, roberta, ...), not an encoder-decoder."""
    return (isinstance(model_type, str) and model_type in CONFIG_MAPPING
            and CONFIG_MAPPING[model_type] in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
            and CONFIG_MAPPING[model_type] not in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING)


def load_discriminator(path: str | Path) -> PreTrainedModel:
    """A discriminator export: our :class:`HumanSentenceDiscriminator`, or a pretrained encoder with its one-logit
    classifier head (a run warm-started D from it)."""
    path = Path(path)
    check_model_folder(path, "discriminator")
    model_type = _read_config(path).get("model_type")
    if is_encoder_type(model_type):
        return load_encoder_classifier(path, "discriminator")
    if model_type != HumanSentenceDiscriminatorConfig.model_type:
        raise ModelLoadError(f"{path} holds a {model_type!r} model, not a seq2seq2seq discriminator nor an encoder "
                             f"(BERT, RoBERTa, MiniLM, ...); pass RUN/final/discriminator or an encoder folder")
    return load_complete(HumanSentenceDiscriminator, path, "discriminator",
                          "the folder may be corrupt: re-export it from a training run")


def load_encoder_classifier(source: str | Path, what: str, fix: str = "the folder may be corrupt: copy it again"
                            ) -> PreTrainedModel:
    """A pretrained encoder (local folder or hub name) with one output logit: its own head when it has a one-logit
    one (our export), else a new head on top of its weights. Only the head may be missing from the checkpoint."""
    from transformers import AutoModelForSequenceClassification

    prefix = base_prefix(source, AutoModelForSequenceClassification)
    # anything outside the base encoder is the head, new by design (and BERT's pooler, which some checkpoints lack)
    return load_complete(AutoModelForSequenceClassification, source, what, fix, num_labels=1,
                          ignore_mismatched_sizes=True,
                          new=lambda key: not key.startswith(prefix + ".") or ".pooler." in key)


def base_prefix(source: str | Path, auto_class: Any) -> str:
    """The attribute name of the base model (``bert``, ``roberta``, ...) in ``auto_class``'s model for ``source``."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(source))
    except _LOAD_ERRORS as err:
        raise ModelLoadError(f"cannot read the config of {source}: {describe_error(err)}") from None
    return auto_class._model_mapping[type(config)].base_model_prefix


def discriminator_logits(discriminator: torch.nn.Module, input_ids: torch.Tensor,
                         attention_mask: torch.Tensor) -> torch.Tensor:
    """D's logit that each sentence is human-written, shape (b,), for input_ids, attention_mask of shape (b, t): our
    discriminator's ``logits`` (b,), or a sequence classifier's (b, 1)."""
    logits = discriminator(input_ids=input_ids, attention_mask=attention_mask)["logits"]
    return logits.squeeze(-1) if logits.dim() == 2 else logits


def model_config(model: torch.nn.Module):
    """The transformers config of a model, also when it is wrapped (DistributedDataParallel keeps it in .module)."""
    return getattr(model, "module", model).config


def seq2seq_logits(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   target_ids: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """Teacher-forced logits of an encoder-decoder for ``target_ids``.

    input_ids, attention_mask: shape (b, s); target_ids, target_mask: shape (b, t) (targets end with
    end-of-sentence). Returns shape (b, t, V): position i predicts target_ids[:, i].
    """
    decoder_input_ids, decoder_mask = decoder_inputs(model_config(model), target_ids, target_mask)
    return model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                 decoder_attention_mask=decoder_mask).logits


def decoder_inputs(config, target_ids: torch.Tensor, target_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher forcing's decoder input ids and mask for targets (b, t): the start token, then the targets shifted
    right, padding where the mask ends."""
    start = torch.full_like(target_ids[:, :1], config.decoder_start_token_id)
    decoder_input_ids = torch.cat([start, target_ids[:, :-1]], dim=1)
    decoder_mask = torch.cat([torch.ones_like(start), target_mask[:, :-1]], dim=1)
    return decoder_input_ids.masked_fill(decoder_mask == 0, config.pad_token_id), decoder_mask
