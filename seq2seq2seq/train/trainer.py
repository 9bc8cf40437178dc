"""One training run: the models G, R, D and their optimizers, the engine, the batch streams, the rewards and the
state that checkpoints save (:class:`Trainer`), with its resume checks, dev evaluation and exports. The loop that
trains it is :func:`seq2seq2seq.train.loop.run`; the algorithm, one function per stage's step, is
:mod:`seq2seq2seq.train.stages`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from transformers import AutoTokenizer

from seq2seq2seq import checkpoint as ckpt
from seq2seq2seq import resume_policy
from seq2seq2seq.config import DecodingConfig, TrainConfig
from seq2seq2seq.data import Corpus, headline_word_stats
from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.decoding.sampling import summarize_texts
from seq2seq2seq.decoding.word_pieces import word_start_mask
from seq2seq2seq.length_control import condition_on_length, default_words, with_length_token
from seq2seq2seq.models.build import model_config
from seq2seq2seq.models.warm_start import build_models
from seq2seq2seq.rewards.base import RewardContext, RewardSet
from seq2seq2seq.rewards.registry import build_rewards, reward_options
from seq2seq2seq.rl.gumbel import check_soft_tokens, soft_reward_names
from seq2seq2seq.search_targets import (
    TARGETS_FOLDER,
    SearchTargets,
    check_targets,
    read_targets,
    targets_by_length,
)
from seq2seq2seq.supervised import Pairs, load_pairs, source_words
from seq2seq2seq.train.batches import Batches
from seq2seq2seq.train.engine import Engine, build_accelerator

logger = get_logger(__name__)
STAGES = ("pretrain", "pretrain_d", "adversarial")


def distinct_n(texts: list[str], n: int) -> float:
    """Share of distinct n-grams among all n-grams of a set of summaries (1.0 = no repetition)."""
    grams = [tuple(words[i:i + n]) for words in (t.split() for t in texts) for i in range(len(words) - n + 1)]
    return len(set(grams)) / max(len(grams), 1)


class Trainer:
    """One run: the models G, R, D and their optimizers, the engine (processes, micro-batches, seeds), the batch
    streams, the rewards, and the state that checkpoints save; :meth:`run` trains it to the end."""

    def __init__(self, cfg: TrainConfig, corpus: Corpus) -> None:
        self.cfg, self.corpus = cfg, corpus
        self.accelerator = build_accelerator(cfg)
        self.engine = Engine(cfg, self.accelerator)
        self.pairs = self._load_pairs()
        # the headline task's word statistics: for pre-training, and for the anchor that replays it in the
        # adversarial stage (a run that resumes there, or skips pre-training, needs them too)
        pseudo = cfg.pretrain.steps > 0 and not (self.pairs is not None and cfg.supervised.pretrain_share == 1.0)
        uses_task = pseudo or (cfg.adversarial.pretrain_weight > 0 and cfg.adversarial.steps > 0)
        self.word_stats = headline_word_stats(corpus) if cfg.pretrain.task == "headline" and uses_task else None
        set_seed(cfg.seed)
        # from scratch over the corpus's tokenizer, or warm-started each with its checkpoint's tokenizer: G's is the
        # run's (documents, pseudo-summaries, summaries, export); R and D read G's summaries re-tokenized if theirs
        # differs, in their rewards and their updates alike
        models = build_models(cfg, AutoTokenizer.from_pretrained(str(corpus.tokenizer_dir)))
        self.tokenizer, self.r_tokenizer, self.d_tokenizer = models.g_tokenizer, models.r_tokenizer, models.d_tokenizer
        # G's summaries as R and D read them: G's tokenizer before any length control token, which G never writes
        self.to_r = Retokenizer(self.tokenizer, self.r_tokenizer, cfg.model.max_document_tokens)
        self.to_d = Retokenizer(self.tokenizer, self.d_tokenizer, cfg.discriminator.max_tokens)
        self.default_words = default_words(cfg.pretrain.length_words)
        if cfg.pretrain.length_words:  # after R and D are built: their weights and tokenizers stay as without it
            self.tokenizer = condition_on_length(models.g, self.tokenizer, cfg.pretrain.length_words)
        # (V,) bool: the pieces that begin a word, for G's vocabulary (sentencepiece, byte-level BPE or WordPiece)
        self.word_starts = word_start_mask(self.tokenizer, model_config(models.g).vocab_size)
        self.word_start = self.word_starts if cfg.decoding.whole_words else None
        opts = [torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01) for m in (models.g, models.r, models.d)]
        self.g, self.r, self.d, self.opt_g, self.opt_r, self.opt_d = self.accelerator.prepare(
            models.g, models.r, models.d, *opts)
        self.batches = Batches(cfg, corpus, self.tokenizer, self.r_tokenizer, self.accelerator.device, self.pairs,
                               self.word_stats, self._search_targets())
        self.rewards = self._build_rewards()
        self.gumbel = cfg.adversarial.estimator == "gumbel" and cfg.adversarial.steps > 0
        self.soft_rewards = soft_reward_names(self.rewards)  # under gumbel: these reach G as gradients
        if self.gumbel:
            check_soft_tokens(self.rewards, self.to_r, self.to_d)
        self.engine.state = {"stage": STAGES[0], "step": 0, "global_step": 0, "best": None, "history": [],
                      "micro_batches_per_step": self.engine.world * cfg.gradient_accumulation_steps,
                      # what --resume checks: the same token ids, and no change to the stages already finished
                      "tokenizers_sha256": self._tokenizer_fingerprints(), "stage_steps": {},
                      "pairs_sha256": self.pairs.sha256 if self.pairs is not None else None,
                      # what a resume compares its settings with, and the changes --resume-with-changes made
                      "config": cfg.to_dict(), "resume_changes": []}

    # ---- set-up ---------------------------------------------------------------------------------------------------

    @property
    def world(self) -> int:
        return self.engine.world

    @property
    def state(self) -> dict:
        """The run's state, saved in every checkpoint (stage, step, best, history, timing, skipped steps, ...); the
        engine holds it, so the steps it skips are counted where checkpoints save them."""
        return self.engine.state

    @state.setter
    def state(self, value: dict) -> None:
        self.engine.state = value

    def _load_pairs(self) -> Pairs | None:
        """The semi-supervised mode's pairs (None in the unsupervised mode); their summaries may join D's human
        sentences, and so the headline word statistics as well."""
        cfg, corpus = self.cfg, self.corpus
        if not cfg.supervised.enabled:
            return None
        pairs = load_pairs(cfg.supervised, Path(cfg.data_dir), corpus.dev_documents + corpus.dev_summaries,
                           corpus.language)
        if cfg.supervised.discriminator:  # the summaries as written: human sentences
            corpus.add_sentences(pairs.summaries)
        if cfg.supervised.targets == "source_words":  # what G learns from them
            pairs.summaries = [source_words(t, d) for d, t in zip(pairs.documents, pairs.summaries)]
        return pairs

    def _search_targets(self) -> SearchTargets | dict[int, SearchTargets] | None:
        """pretrain.task 'search': the stored targets, refused unless they cover these very documents; with
        length_words, one folder per length, by the length its settings record."""
        cfg = self.cfg
        uses = cfg.pretrain.steps > 0 or (cfg.adversarial.pretrain_weight > 0 and cfg.adversarial.steps > 0)
        if cfg.pretrain.task != "search" or not uses:
            return None
        folders = [Path(f) for f in cfg.pretrain.search_target_folders] or [Path(cfg.data_dir) / TARGETS_FOLDER]
        read = [read_targets(folder) for folder in folders]
        for targets in read:
            check_targets(targets, Path(cfg.data_dir), len(self.corpus.documents),
                          covered_only=cfg.pretrain.search_documents == "covered")
        return targets_by_length(read, cfg.pretrain.length_words) if cfg.pretrain.length_words else read[0]

    def _build_rewards(self) -> RewardSet:
        """The adversarial stage's rewards by name, in the order their weighted sum adds them: those with a weight
        (a weight-0 one would only load its model), none when the stage does not run."""
        adv, unwrap = self.cfg.adversarial, self.accelerator.unwrap_model
        context = RewardContext(
            tokenizer=self.tokenizer, device=self.accelerator.device,
            reconstructor=unwrap(self.r), to_r=self.to_r, r_tokenizer=self.r_tokenizer,
            discriminator=unwrap(self.d), to_d=self.to_d, word_starts=self.word_starts,
            load_headline_stats=lambda: self.word_stats or headline_word_stats(self.corpus),
            documents=self.corpus.documents, max_document_tokens=self.cfg.model.max_document_tokens,
            **reward_options(adv))
        return build_rewards([s for s in adv.rewards if s.weight > 0] if adv.steps > 0 else [], context)

    def _tokenizer_fingerprints(self) -> dict[str, str]:
        """What --resume checks first: each model still reads the token ids it was trained on."""
        tokenizers = {"summarizer": self.tokenizer, "reconstructor": self.r_tokenizer,
                      "discriminator": self.d_tokenizer}
        return {model: ckpt.tokenizer_fingerprint(t) for model, t in tokenizers.items()}

    # ---- resume ---------------------------------------------------------------------------------------------------

    def resume(self, allow_changes: bool = False) -> list[dict]:
        """Load the newest checkpoint of output_dir after every check that it continues the same run; nothing is
        written. Returns the setting changes that ``allow_changes`` (--resume-with-changes) let through, each with
        the step from which it holds (see resume_policy)."""
        cfg, out = self.cfg, Path(self.cfg.output_dir)
        checkpoints = ckpt.list_checkpoints(out)
        if not checkpoints:
            raise ckpt.CheckpointError(no_checkpoint_message(out))
        fingerprints = self._tokenizer_fingerprints()
        changes: list = []

        def check(state: dict) -> None:
            ckpt.check_resumable(state, cfg, fingerprints, checkpoints[-1], STAGES)
            recorded = resume_policy.recorded_settings(state, out)
            if recorded is not None:
                changes.extend(resume_policy.restricted_changes(recorded, cfg, state["stage"], STAGES))
            resume_policy.check_changes(changes, checkpoints[-1], state, allow_changes)

        state = ckpt.load_checkpoint(self.accelerator, checkpoints[-1], check=check)
        layout = self.world * cfg.gradient_accumulation_steps
        if state.get("micro_batches_per_step", layout) != layout:
            raise ckpt.CheckpointError(
                f"{checkpoints[-1]} was written with {state['micro_batches_per_step']} micro-batches per step "
                f"(processes x gradient_accumulation_steps) but this run has {layout}; resume with the same "
                f"product so that every batch is seen once")
        pairs_sha256 = self.pairs.sha256 if self.pairs is not None else None
        if state.get("pairs_sha256") != pairs_sha256:
            raise ckpt.CheckpointError(
                f"{checkpoints[-1]} was trained with other supervised.pairs (sha256 "
                f"{state.get('pairs_sha256')}, now {pairs_sha256}); resume with the same pairs file, or "
                f"start a new run in another --output_dir")
        records = resume_policy.change_records(changes, state)
        self.state = state
        self.state["config"] = cfg.to_dict()  # what the next resume compares against
        self.state["resume_changes"] = state.get("resume_changes", []) + records
        return records

    def remaining_steps(self) -> int:
        """Optimizer steps this run has still to train (0: a finished run that a resume would only re-export)."""
        current = STAGES.index(self.state["stage"])
        left = getattr(self.cfg, STAGES[current]).steps - self.state["step"]
        return max(left, 0) + sum(getattr(self.cfg, stage).steps for stage in STAGES[current + 1:])

    # ---- evaluation, samples, export ------------------------------------------------------------------------------

    @property
    def g_prefix(self) -> str:
        """What G's input starts with in dev evaluation and samples: the default length's control token (10 words
        of 8, 10, 13), or nothing for a G that is not length-conditioned."""
        return with_length_token("", self.default_words) if self.default_words is not None else ""

    def evaluate(self) -> dict[str, float]:
        """Dev ROUGE of G's summaries (main process decodes; the others wait)."""
        from seq2seq2seq.eval.rouge import score_summaries

        result: dict[str, float] = {}
        if self.accelerator.is_main_process and self.cfg.eval_size > 0 and self.corpus.dev_documents:
            docs = self.corpus.dev_documents[: self.cfg.eval_size]
            refs = self.corpus.dev_summaries[: self.cfg.eval_size]
            with self.accelerator.autocast():
                preds = summarize_texts(self.accelerator.unwrap_model(self.g), self.tokenizer, docs,
                                        self.cfg.decoding, max_document_tokens=self.cfg.model.max_document_tokens,
                                        prefix=self.g_prefix)
            # ROUGE as the corpus's language counts it (CJK: characters; others: Unicode letters kept)
            result = {f"dev/{k}": v for k, v in score_summaries(preds, refs, language=self.corpus.language).items()}
            result["dev/distinct_2"] = distinct_n(preds, 2)
        self.accelerator.wait_for_everyone()
        return result

    def evaluate_and_keep_best(self, stage: str, step: int) -> None:
        """Dev ROUGE into the history; a new best (by eval_metric) is exported as best/summarizer."""
        metrics = self.evaluate()
        if not metrics:
            return
        entry = {"stage": stage, "step": step, "global_step": self.state["global_step"], **metrics}
        self.state["history"].append(entry)
        self.accelerator.log(metrics, step=self.state["global_step"])
        logger.info(f"dev at {stage} step {step}: " + ", ".join(f"{k}={v:.2f}" for k, v in metrics.items()))
        key = f"dev/{self.cfg.eval_metric}"
        best = self.state["best"]
        if best is None or metrics[key] > best[key]:
            # the best summarizer so far, ready to use (model selection on the dev slice only)
            self.check_finite("the best summarizer was not written", "summarizer")
            self.state["best"] = entry
            self.save_summarizer(Path(self.cfg.output_dir) / "best" / "summarizer")

    def save_summarizer(self, folder: Path) -> None:
        """Save G alone as a usable export (check_finite first: never with inf/nan weights)."""
        if self.accelerator.is_main_process:
            ckpt.save_summarizer(self.accelerator.unwrap_model(self.g), self.tokenizer, self.cfg.decoding, folder,
                                 self.cfg.model.max_document_tokens, self.corpus.language,
                                 self.cfg.pretrain.length_words)

    def write_samples(self, n: int = 3) -> str:
        """A few document -> summary -> reconstruction triples from the dev set."""
        g, r = self.accelerator.unwrap_model(self.g), self.accelerator.unwrap_model(self.r)
        docs = self.corpus.dev_documents[:n] or self.corpus.documents[:n]  # a corpus without dev pairs
        rebuild = DecodingConfig(max_summary_tokens=self.cfg.model.max_document_tokens, min_summary_tokens=0)
        with self.accelerator.autocast():
            summaries = summarize_texts(g, self.tokenizer, docs, self.cfg.decoding,
                                        max_document_tokens=self.cfg.model.max_document_tokens, prefix=self.g_prefix)
            rebuilt = summarize_texts(r, self.r_tokenizer, summaries, rebuild,
                                      max_document_tokens=self.cfg.decoding.max_summary_tokens)
        return "\n".join(f"  document:       {d}\n  summary:        {s}\n  reconstruction: {x}"
                         for d, s, x in zip(docs, summaries, rebuilt))

    def export(self, folder: Path, results: dict) -> None:
        self.check_finite(f"the export {folder} was not written")
        if self.accelerator.is_main_process:
            unwrap = self.accelerator.unwrap_model
            ckpt.export_models(folder, unwrap(self.g), unwrap(self.r), unwrap(self.d), self.tokenizer, self.cfg,
                               results, self.corpus.language, self.r_tokenizer, self.d_tokenizer,
                               self.state.get("resume_changes"))
        self.accelerator.wait_for_everyone()

    def check_finite(self, what: str, *parts: str) -> None:
        """Refuse to save weights with an inf or nan (a diverged run) over anything: the last good checkpoint and
        exports stay. Every process checks, so that all of them stop together."""
        models = {"summarizer": self.g, "reconstructor": self.r, "discriminator": self.d}
        unwrap = self.accelerator.unwrap_model
        ckpt.check_finite({name: unwrap(models[name]) for name in parts or models}, what,
                          Path(self.cfg.output_dir))


def no_checkpoint_message(out: Path) -> str:
    """Why --resume cannot go on without a checkpoint, with a fix that works for what the folder holds."""
    finished = [name for name in ("final", "best", "results.json") if (out / name).exists()]
    if finished:
        return (f"--resume given but {out}/checkpoints holds no checkpoint, so the finished run in {out} "
                f"({', '.join(finished)}) cannot be continued; to train it again from the start, replacing it, pass "
                f"--overwrite instead of --resume, or choose another --output_dir")
    return f"--resume given but {out}/checkpoints holds no checkpoint; start without --resume"
