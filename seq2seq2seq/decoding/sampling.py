"""Summaries from G: sampled, greedy or beam, with length control and source restriction.

The decoding constraints (source-only pieces, no end-of-sentence before the minimum length, end-of-sentence damping)
live in one function, :func:`constrain_logits`, used both inside ``generate`` (through a LogitsProcessor) and in the
teacher-forced pass that computes the per-token log-probabilities REINFORCE needs. That way a summary's log-prob is
taken under exactly the distribution it was sampled from. A pointer G's greedy decoding under the source restriction
runs the same constraints at the document's positions instead of over the vocabulary (``decoding/greedy.py``; its
tests check that it writes ``generate``'s summaries).
"""

from __future__ import annotations

import contextlib

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, PreTrainedModel

from seq2seq2seq.config import DecodingConfig
from seq2seq2seq.decoding.greedy import greedy_at_source, greedy_at_source_applies
from seq2seq2seq.decoding.word_pieces import fit_mask, word_start_mask
from seq2seq2seq.length_control import blocked_length_ids
from seq2seq2seq.models.build import model_config
from seq2seq2seq.types import Summaries


def any_last(mask: torch.Tensor) -> torch.Tensor:
    """``mask.any(-1)`` for a bool tensor of shape (..., V). Reduced over its uint8 view: torch's CPU kernel for a
    bool ``any`` is about 40 times slower than uint8's ``amax`` on a (64, 16003) mask (torch 2.13, 2 threads), and
    decoding asks at every step."""
    if mask.shape[-1] == 0:  # amax has no identity to return for an empty slice
        return mask.new_zeros(mask.shape[:-1])
    return mask.view(torch.uint8).amax(-1).bool()


def and_rows(mask: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """``mask & keep[..., None]``: bool masks of shape (..., V) and (...). Through uint8 views, for the same reason
    as :func:`any_last` (a broadcast bool ``&`` is about 15 times slower than a uint8 one)."""
    return (mask.view(torch.uint8) & keep[..., None].view(torch.uint8)).view(torch.bool)


def source_allowed_mask(input_ids: torch.Tensor, vocab_size: int, always_allowed: list[int]) -> torch.Tensor:
    """Which vocabulary entries G may emit for each document.

    input_ids: shape (b, s). Returns a bool tensor of shape (b, vocab_size), true for pieces in the document and for
    ``always_allowed`` (end-of-sentence).
    """
    allowed = torch.zeros(input_ids.shape[0], vocab_size, dtype=torch.bool, device=input_ids.device)
    allowed.scatter_(1, input_ids, True)
    allowed[:, always_allowed] = True
    return allowed


def constrain_logits(logits: torch.Tensor, positions: torch.Tensor, cfg: DecodingConfig, eos_id: int,
                     allowed: torch.Tensor | None, blocked: list[int]) -> torch.Tensor:
    """Apply the decoding constraints to next-token logits.

    logits: shape (n, t, V) — the distributions for summary positions ``positions`` (shape (t,), 0 = first token).
    allowed: bool, shape (n, V) (the same for every position) or (n, t, V), or None for no restriction.
    blocked: ids that are never emitted (padding, decoder start).
    Returns logits of the same shape with forbidden entries at -inf.
    """
    if allowed is not None:
        allowed = allowed if allowed.dim() == 3 else allowed[:, None, :]
        logits = logits.masked_fill(~allowed, float("-inf"))
    else:
        logits = logits.clone()
    if blocked:
        logits[..., blocked] = float("-inf")
    eos = logits[..., eos_id]
    if cfg.eos_damping > 0 and cfg.eos_damping_tokens > 0:
        eos = torch.where(positions[None, :] < cfg.eos_damping_tokens, eos - cfg.eos_damping, eos)
    too_early = (positions < cfg.min_summary_tokens)[None, :]
    if too_early.any():
        if allowed is not None:
            # a document with no ordinary piece (e.g. empty) would leave nothing allowed: let it end instead
            has_pieces = allowed.clone()
            has_pieces[..., [eos_id, *blocked]] = False
            too_early = too_early & any_last(has_pieces)
        eos = eos.masked_fill(too_early, float("-inf"))
    logits[..., eos_id] = eos
    return logits


class SourceConstraint:
    """What G may emit for each document of a batch.

    ``source_only``: pieces of the document, plus end-of-sentence. With ``whole_words`` (needs the tokenizer's
    word-start mask) every word G writes is one of the document's words: a piece may only extend the current word
    to a prefix of a document word, and a new word (or the end) may only follow a complete one. So G never glues the
    start of one word to the end of another ("developers" + the "bc" of "hsbc"), not even through a piece that the two
    words share.

    ``in_order`` (with whole words): the summary's words also keep the document's order, each from later in the
    document than the one before, so a summary is a deletion of its document (as the headline rule's and the
    search's targets are) and G never writes a word twice unless the document has it twice ("eriksson eriksson",
    "group group") nor swaps two ("trader futures").

    The state of a summary is the set of document positions where its current partial word could be: ``match``, bool
    of shape (n, s), true at j when the pieces of the partial word equal the document's pieces ending at j and starting
    a word. A word-start piece x resets it to the positions of x; a continuation piece x keeps the matches that x
    extends. With ``in_order`` the state also holds ``floor``, shape (n,): the document position where the summary's
    completed words can end at the earliest (-1 before the first), and a word may only start after it. Taking the
    earliest end each time loses nothing: any later way of placing the words leaves fewer positions for the rest.
    All of it is tensor operations over the batch (one step per summary position).
    """

    def __init__(self, input_ids: torch.Tensor, vocab_size: int, eos_id: int, pad_id: int,
                 word_start: torch.Tensor | None = None, no_repeat_words: bool = False,
                 min_words: int = 0, max_words: int = 0, never: list[int] | None = None,
                 in_order: bool = False) -> None:
        self.allowed = source_allowed_mask(input_ids, vocab_size, [eos_id])  # (b, V)
        if never:  # the document's length control token is in its ids but is no piece of it
            self.allowed[:, never] = False
        self.whole_words = word_start is not None
        self.no_repeat_words = self.in_order = False
        self.min_words = self.max_words = 0
        if word_start is None:
            if min_words or max_words or in_order:
                raise ValueError("min_words/max_words/in_order work on whole words: they need the tokenizer's "
                                 "word-start mask")
            return
        self.min_words, self.max_words = min_words, max_words
        # a model's vocabulary may be larger than its tokenizer (T5): the extra rows start no word
        word_start = fit_mask(word_start, vocab_size).to(input_ids.device)
        self.no_repeat_words, self.word_start, self.eos_id = no_repeat_words, word_start, eos_id
        self.starts = self.allowed & word_start  # (b, V): pieces that may begin a word, and the end
        self.starts[:, eos_id] = True
        self.doc = input_ids  # (b, s)
        real = (input_ids != pad_id) & (input_ids != eos_id)
        self.continues = real & ~word_start[input_ids]  # (b, s): the piece at j continues a word
        # (b, s): a document word ends at j (the next piece starts a word, or there is no next real piece)
        after = torch.nn.functional.pad(real & ~self.continues, (0, 1), value=True)[:, 1:]
        self.ends = real & (after | ~torch.nn.functional.pad(real, (0, 1), value=False)[:, 1:])
        self.in_order = in_order
        # (b, s): a word may start at j (a real word-start piece G may emit), for the in-order word starts
        self.startable = real & ~self.continues & self.allowed.gather(1, input_ids)

    @classmethod
    def from_mask(cls, allowed: torch.Tensor) -> "SourceConstraint":
        """A plain per-document restriction given as a bool mask of shape (b, V)."""
        out = object.__new__(cls)
        out.allowed, out.whole_words, out.no_repeat_words, out.in_order = allowed, False, False, False
        out.min_words = out.max_words = 0
        return out

    def repeat_interleave(self, k: int) -> "SourceConstraint":
        """The same constraint for each document repeated k times in a row (samples or beams)."""
        if k == 1:
            return self
        out = object.__new__(SourceConstraint)
        out.__dict__.update(self.__dict__)
        out._cache = None
        for name in ("allowed", "starts", "doc", "continues", "ends", "startable"):
            if name in self.__dict__:
                setattr(out, name, getattr(self, name).repeat_interleave(k, 0))
        return out

    def repeated_words(self, previous: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """With ``no_repeat_words``: the word-start pieces already used up to each position, i.e. forbidden there.

        previous: shape (n, t), the decoder inputs (start token, then the summary so far). Returns bool, shape
        (n, t, V), or (n, 1, V) for the last position only (``last_only``, one generation step).
        """
        v = self.word_start.shape[0]
        if last_only:
            seen = torch.zeros(previous.shape[0], 1, v, dtype=torch.bool, device=previous.device)
            seen.scatter_(2, previous[:, None, :], True)
        else:
            onehot = torch.zeros(*previous.shape, v, dtype=torch.uint8, device=previous.device)
            onehot.scatter_(2, previous[..., None], 1)
            seen = onehot.cummax(dim=1).values.bool()  # a piece seen at or before each position
        return seen & self.word_start

    def masks(self, previous: torch.Tensor, prefix: torch.Tensor | None = None) -> torch.Tensor:
        """Allowed pieces after each previous token. previous: shape (n, t). Returns bool, shape (n, t, V).

        Whole words and ``no_repeat_words`` look at everything generated so far: pass the whole decoder input as
        ``prefix`` when ``previous`` is only its last columns (a generation step); otherwise ``previous`` is the
        whole input.
        """
        n, t = previous.shape
        if not self.whole_words:
            return self.allowed[:, None, :].expand(n, t, self.allowed.shape[1])
        if prefix is not None and t == 1:  # a generation step: only the last position's mask
            mask = self._allowed_after(self._match_after(prefix))[:, None, :]
        else:
            mask = self._word_masks(prefix if prefix is not None else previous)[:, -t:]
        if self.no_repeat_words:
            mask &= ~(self.repeated_words(prefix, last_only=True) if prefix is not None
                      else self.repeated_words(previous))
        if self.min_words or self.max_words:
            mask = self._word_count_limits(mask, (prefix if prefix is not None else previous))
        return mask

    def _word_count_limits(self, mask: torch.Tensor, decoder_input: torch.Tensor) -> torch.Tensor:
        """``min_words``/``max_words`` on masks (n, t, V) for the last t positions of ``decoder_input`` (n, T), whose
        first column is the decoder start. Before min_words words the end is forbidden, unless nothing else is left
        (a document with too few words, or none left unrepeated); after max_words words no new word may start."""
        starts = self.word_start[decoder_input].long()
        starts[:, 0] = 0  # the decoder start token begins no word of the summary
        words = starts.cumsum(1)[:, -mask.shape[1]:]  # (n, t): words written before each position
        # ``mask`` is built fresh by masks() on this path (whole words), so it is changed in place
        if self.max_words:
            full = words >= self.max_words  # (n, t)
            if full.any():
                mask &= ~and_rows(self.word_start.expand_as(mask), full)
        if self.min_words:
            short = words < self.min_words  # (n, t)
            if short.any():
                eos = self.eos_id
                others = any_last(mask[..., :eos]) | any_last(mask[..., eos + 1:])  # anything but the end allowed
                mask[..., eos] &= ~(short & others)
        return mask

    def _start_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The state before the first token: no partial word (``match``, (n, s)) and no word placed yet (``floor``,
        (n,))."""
        return (torch.zeros_like(self.doc, dtype=torch.bool),
                torch.full((self.doc.shape[0],), -1, dtype=torch.long, device=self.doc.device))

    def _floor_if_complete(self, match: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
        """(n,) the floor once the partial word is taken as complete: its earliest document end, or the old floor
        when there is no partial word."""
        positions = torch.arange(match.shape[1], device=match.device)
        ends_at = torch.where(match & self.ends, positions, match.shape[1]).amin(1)
        return torch.where(match.any(1), ends_at, floor)

    def _advance(self, state: tuple[torch.Tensor, torch.Tensor],
                 token: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The state after ``token`` (shape (n,)); special and foreign tokens leave no partial word."""
        match, floor = state
        rows = torch.arange(token.shape[0], device=token.device)
        here = (self.doc == token[:, None]) & (self.allowed[rows, token] & (token != self.eos_id))[:, None]
        extended = torch.nn.functional.pad(match[:, :-1], (1, 0), value=False) & here
        starts = self.word_start[token]
        if self.in_order:  # a new word (or the end) completes the partial one; the new word starts after it
            floor = torch.where(starts | (token == self.eos_id), self._floor_if_complete(match, floor), floor)
            here = here & (torch.arange(match.shape[1], device=match.device)[None, :] > floor[:, None])
        return torch.where(starts[:, None], here, extended), floor

    def _allowed_after(self, state: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """(n, V) pieces allowed next: continuations of the partial word, and word starts once it is complete."""
        match, floor = state
        complete = ~match.any(1) | (match & self.ends).any(1)  # no partial word, or one that is a document word
        if self.in_order:  # word starts from after the earliest end of the words so far
            floor = self._floor_if_complete(match, floor)
            later = torch.arange(match.shape[1], device=match.device)[None, :] > floor[:, None]
            mask = torch.zeros_like(self.starts)
            rows, positions = (self.startable & later & complete[:, None]).nonzero(as_tuple=True)
            mask[rows, self.doc[rows, positions]] = True
            mask[:, self.eos_id] = complete
        else:
            mask = and_rows(self.starts, complete)
        following = torch.nn.functional.pad(match[:, :-1], (1, 0), value=False) & self.continues
        rows, positions = following.nonzero(as_tuple=True)
        mask[rows, self.doc[rows, positions]] = True
        return mask

    def _match_after(self, prefix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The state after a whole decoder prefix (n, t). Generation asks once per step with the prefix one token
        longer: the state of the previous call is then advanced by one token instead of rebuilt (a beam search that
        reorders its rows fails the equality check and rebuilds it)."""
        cached = getattr(self, "_cache", None)
        if (cached is not None and cached[0].shape[0] == prefix.shape[0]
                and cached[0].shape[1] == prefix.shape[1] - 1 and torch.equal(cached[0], prefix[:, :-1])):
            state = self._advance(cached[1], prefix[:, -1])
        else:
            state = self._start_state()
            for j in range(prefix.shape[1]):
                state = self._advance(state, prefix[:, j])
        self._cache = (prefix.clone(), state)
        return state

    def unfinished_last_word(self, summary_ids: torch.Tensor, summary_mask: torch.Tensor) -> torch.Tensor:
        """Bool, shape (n, t): the pieces of a last word that a summary (ids and mask: shape (n, t)) left unfinished
        because it reached the token cap inside a word, e.g. "hs" of "hsbc". Whole words only. A summary whose only
        word is unfinished keeps it (better a cut word than no summary)."""
        match, floor = self._start_state()
        active = summary_mask.bool()
        for j in range(summary_ids.shape[1]):  # advance only through real tokens: padding starts no word
            step, step_floor = self._advance((match, floor), summary_ids[:, j])
            match = torch.where(active[:, j, None], step, match)
            floor = torch.where(active[:, j], step_floor, floor)
        complete = ~match.any(1) | (match & self.ends).any(1)  # (n,)
        positions = torch.arange(summary_ids.shape[1], device=summary_ids.device)
        starts = self.word_start[summary_ids] & active
        last_start = torch.where(starts, positions, -1).amax(1)  # (n,), -1 when no word starts
        cut = ~complete & (last_start > 0)
        return cut[:, None] & (positions[None, :] >= last_start[:, None]) & active

    def _word_masks(self, previous: torch.Tensor) -> torch.Tensor:
        state = self._start_state()
        steps = []
        for j in range(previous.shape[1]):
            state = self._advance(state, previous[:, j])
            steps.append(self._allowed_after(state))
        return torch.stack(steps, 1)


class ConstrainedLogits(LogitsProcessor):
    """``constrain_logits`` for one generation step inside ``model.generate``."""

    def __init__(self, cfg: DecodingConfig, eos_id: int, constraint: SourceConstraint | None,
                 blocked: list[int]) -> None:
        self.cfg, self.eos_id, self.constraint, self.blocked = cfg, eos_id, constraint, blocked

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        # input_ids holds the decoder start token plus the tokens generated so far; rows are documents repeated
        # num_beams or num_return_sequences times, in order
        position = torch.tensor([input_ids.shape[1] - 1], device=scores.device)
        allowed = None
        if self.constraint is not None:
            if self.constraint.allowed.shape[0] != scores.shape[0]:  # once per generate call
                self.constraint = self.constraint.repeat_interleave(scores.shape[0] // self.constraint.allowed.shape[0])
            allowed = self.constraint.masks(input_ids[:, -1:], prefix=input_ids)
        return constrain_logits(scores[:, None, :], position, self.cfg, self.eos_id, allowed, self.blocked)[:, 0, :]


def _blocked_ids(model: PreTrainedModel) -> list[int]:
    """Ids G never writes: padding, the decoder start and the beginning-of-sequence token (a pretrained BART's
    ``<s>``, which our targets never hold), unless one of them is also end-of-sentence; and a length-conditioned
    G's control tokens (``<words_10>``: in its input, never in a summary, not even by the pointer's copy)."""
    config = model_config(model)
    ids = {config.pad_token_id, config.decoder_start_token_id, getattr(config, "bos_token_id", None),
           *blocked_length_ids(config)}
    ids.discard(config.eos_token_id)
    ids.discard(None)
    return sorted(ids)


def constraint_for(model: PreTrainedModel, input_ids: torch.Tensor, cfg: DecodingConfig,
                   word_start: torch.Tensor | None = None) -> SourceConstraint | None:
    """The source restriction for a batch of documents (input_ids: shape (b, s)), or None when it is off."""
    if not cfg.source_only:
        return None
    if cfg.whole_words and word_start is None:
        raise ValueError("decoding.whole_words needs the tokenizer's word-start mask (decoding.word_pieces.word_start_mask)")
    config = model_config(model)
    return SourceConstraint(input_ids, config.vocab_size, config.eos_token_id, config.pad_token_id,
                            word_start if cfg.whole_words else None, cfg.no_repeat_words,
                            cfg.min_summary_words, cfg.max_summary_words, blocked_length_ids(config),
                            in_order=cfg.in_order)


@torch.no_grad()
def generate_summaries(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       cfg: DecodingConfig, *, do_sample: bool = False, num_samples: int = 1,
                       num_beams: int = 1, no_repeat_ngram_size: int = 0,
                       max_new_tokens: int | None = None, word_start: torch.Tensor | None = None,
                       constraint: SourceConstraint | None = None, finish_words: bool = False,
                       temperature: float = 1.0, at_source: bool = True) -> Summaries:
    """Decode summaries for a batch of documents (input_ids, attention_mask: shape (b, s)).

    ``word_start`` (from :func:`word_start_mask`) is needed when ``cfg.whole_words`` is on. ``constraint``: the
    documents' :func:`constraint_for`, when the caller has built it already. ``finish_words`` (for text a user
    reads; training rollouts keep every token they were scored on): with whole words, a last word left unfinished
    at the token cap is dropped (its pieces become padding). ``temperature``: with ``do_sample``, divides the
    constrained logits (above 1: samples that differ more from the greedy summary; training uses 1).
    ``at_source``: greedy decoding of a pointer G restricted to its document's pieces runs
    :func:`seq2seq2seq.decoding.greedy.greedy_at_source` (the same summaries, faster); False: ``generate`` always.
    Returns ``Summaries`` with n = b * num_samples rows, each document's samples adjacent.
    """
    config = model.config
    generation = GenerationConfig(
        max_new_tokens=max_new_tokens or cfg.max_summary_tokens, do_sample=do_sample, num_beams=num_beams,
        num_return_sequences=num_samples if do_sample else 1, top_k=0 if do_sample else None, top_p=1.0,
        temperature=temperature if do_sample else 1.0, no_repeat_ngram_size=no_repeat_ngram_size or 0,
        # set explicitly: generate fills unset fields from the model's saved generation_config, and the minimum
        # length is already enforced by ConstrainedLogits
        min_new_tokens=0, length_penalty=1.0, early_stopping=num_beams > 1, repetition_penalty=1.0,
        pad_token_id=config.pad_token_id, eos_token_id=config.eos_token_id,
        decoder_start_token_id=config.decoder_start_token_id, bos_token_id=getattr(config, "bos_token_id", None),
    )
    if constraint is None:
        constraint = constraint_for(model, input_ids, cfg, word_start)
    if (at_source and not do_sample and num_beams == 1 and not no_repeat_ngram_size
            and greedy_at_source_applies(model, input_ids, attention_mask, constraint)):
        # the same summaries without generate's passes over the whole vocabulary (decoding/greedy.py)
        sequences = greedy_at_source(model, input_ids, attention_mask, cfg, constraint, _blocked_ids(model),
                                     generation.max_new_tokens)
    else:
        processor = ConstrainedLogits(cfg, config.eos_token_id, constraint, _blocked_ids(model))
        with _no_inherited_generation_settings(model):
            sequences = model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                       generation_config=generation, logits_processor=LogitsProcessorList([processor]))
    summary_ids = sequences[:, 1:]  # drop the decoder start token
    summary_mask = summary_token_mask(summary_ids, config.eos_token_id)
    if finish_words and constraint is not None and constraint.whole_words:
        constraint = constraint.repeat_interleave(summary_ids.shape[0] // constraint.allowed.shape[0])
        cut = constraint.unfinished_last_word(summary_ids, summary_mask)
        summary_ids = summary_ids.masked_fill(cut, config.pad_token_id)
        summary_mask = summary_mask.masked_fill(cut, 0)
    return Summaries(summary_ids, summary_mask)


def plain_generation_config(model: PreTrainedModel) -> GenerationConfig:
    """A generation config holding only the model's special token ids.

    ``generate`` fills every field a call leaves at its default from ``model.generation_config``. A warm-started
    checkpoint's saved defaults (beams, a forced first token, suppressed tokens, n-gram blocking) would then change
    training rollouts behind the log-probs REINFORCE computes for them; with this config nothing is inherited.
    """
    config = model_config(model)
    return GenerationConfig(**{key: getattr(config, key, None) for key in
                               ("pad_token_id", "eos_token_id", "bos_token_id", "decoder_start_token_id")})


@contextlib.contextmanager
def _no_inherited_generation_settings(model: PreTrainedModel):
    saved = model.generation_config
    model.generation_config = plain_generation_config(model)
    try:
        yield
    finally:
        model.generation_config = saved


def summary_token_mask(summary_ids: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 for the tokens up to and including the first end-of-sentence, 0 after it. Shape (n, t) -> (n, t)."""
    is_eos = (summary_ids == eos_id).long()
    eos_before = torch.cumsum(is_eos, dim=1) - is_eos  # end-of-sentence tokens strictly before each position
    return (eos_before == 0).long()


def summary_logits(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   summaries: Summaries, cfg: DecodingConfig,
                   constraint: SourceConstraint | None = None) -> torch.Tensor:
    """Teacher-forced logits of G for given summaries, under the same constraints as sampling.

    input_ids, attention_mask: shape (n, s) (documents repeated to match the summaries); summaries: (n, t);
    constraint: for the n rows (see :func:`constraint_for`). Returns shape (n, t, V) with forbidden entries at -inf.
    """
    config = model_config(model)
    start = torch.full_like(summaries.summary_ids[:, :1], config.decoder_start_token_id)
    decoder_mask = torch.cat([torch.ones_like(start), summaries.summary_mask[:, :-1]], dim=1)
    decoder_input_ids = torch.cat([start, summaries.summary_ids[:, :-1]], dim=1)
    allowed = constraint.masks(decoder_input_ids) if constraint is not None else None
    decoder_input_ids = decoder_input_ids.masked_fill(decoder_mask == 0, config.pad_token_id)
    out = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=decoder_mask)
    positions = torch.arange(summaries.summary_ids.shape[1], device=input_ids.device)
    return constrain_logits(out.logits.float(), positions, cfg, config.eos_token_id, allowed, _blocked_ids(model))


def length_batches(tokenizer, documents: list[str], *, max_document_tokens: int, batch_size: int,
                   device: torch.device, progress: bool = False, desc: str = "summarizing", prefix: str = ""):
    """Batches of documents of similar length (fewer pad tokens), so that the output of a decoding loop does not
    depend on the input order or the batching. Yields (indices into ``documents``, input_ids, attention_mask), the
    tensors of shape (b, s) on ``device``. ``prefix`` goes before every document (a length control token)."""
    from tqdm.auto import tqdm

    order = sorted(range(len(documents)), key=lambda i: len(documents[i].split()))
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", disable=not progress):
        chunk = order[start:start + batch_size]
        encoded = tokenizer([prefix + documents[i] for i in chunk], max_length=max_document_tokens, truncation=True,
                            padding=True, return_tensors="pt").to(device)
        yield chunk, encoded["input_ids"], encoded["attention_mask"]


def summarize_texts(model: PreTrainedModel, tokenizer, documents: list[str], cfg: DecodingConfig, *,
                    max_document_tokens: int, batch_size: int = 64, num_beams: int | None = None,
                    no_repeat_ngram_size: int | None = None, progress: bool = False, prefix: str = "") -> list[str]:
    """Summaries of normalised documents, in input order (batched by :func:`length_batches`).
    ``num_beams``/``no_repeat_ngram_size`` default to the decoding config's; ``prefix`` goes before every document
    (a length-conditioned G's control token, ``<words_10> ``)."""
    device = next(model.parameters()).device
    summaries = [""] * len(documents)
    word_start = word_start_mask(tokenizer) if cfg.whole_words else None
    was_training = model.training
    model.eval()
    for chunk, ids, mask in length_batches(tokenizer, documents, max_document_tokens=max_document_tokens,
                                           batch_size=batch_size, device=device, progress=progress,
                                           prefix=prefix):
        out = generate_summaries(model, ids, mask, cfg, word_start=word_start, num_beams=num_beams or cfg.num_beams,
                                 no_repeat_ngram_size=cfg.no_repeat_ngram_size if no_repeat_ngram_size is None
                                 else no_repeat_ngram_size, finish_words=True)
        texts = tokenizer.batch_decode(out.summary_ids, skip_special_tokens=True)
        for i, text in zip(chunk, texts):
            summaries[i] = " ".join(text.split())
    model.train(was_training)
    return summaries
