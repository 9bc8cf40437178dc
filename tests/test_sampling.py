"""Decoding constraints on hand-made logits, and their agreement between ``generate`` and the teacher-forced pass
on a tiny random BART (the property REINFORCE relies on: log-probs are taken under the sampling distribution)."""

from __future__ import annotations

import pytest
import torch

from seq2seq2seq.config import DecodingConfig, ModelConfig
from seq2seq2seq.decoding.sampling import (
    ConstrainedLogits,
    SourceConstraint,
    and_rows,
    any_last,
    constrain_logits,
    constraint_for,
    generate_summaries,
    source_allowed_mask,
    summary_logits,
    summary_token_mask,
)
from seq2seq2seq.losses import token_logprobs
from seq2seq2seq.types import Summaries

INF = float("inf")
EOS = 1


def cfg_of(**kw) -> DecodingConfig:
    return DecodingConfig(**{"max_summary_tokens": 8, "min_summary_tokens": 0, **kw})


def vocab_logits(n: int, t: int, v: int = 6) -> torch.Tensor:
    """logits[i, p, id] = id, so every surviving entry is recognisable."""
    return torch.arange(v, dtype=torch.float).expand(n, t, v).clone()


# --------------------------------------------------------------------------------------------------------------------
# constrain_logits


def test_constrain_logits_without_constraints_is_the_identity_and_copies():
    logits = vocab_logits(2, 3)
    out = constrain_logits(logits, torch.arange(3), cfg_of(), EOS, allowed=None, blocked=[])
    assert torch.equal(out, logits)
    assert out.data_ptr() != logits.data_ptr()


def test_constrain_logits_all_constraints():
    # V = 6, EOS = 1, blocked = pad 0 and decoder start 3; document 0 holds ids {2, 4}, document 1 holds {5}
    allowed = torch.tensor([[False, True, True, False, True, False],
                            [False, True, False, False, False, True]])
    cfg = cfg_of(min_summary_tokens=2, eos_damping=1.5, eos_damping_tokens=3)
    logits = vocab_logits(2, 4)
    original = logits.clone()
    out = constrain_logits(logits, torch.arange(4), cfg, EOS, allowed, blocked=[0, 3])
    # EOS (logit 1): forbidden at positions 0, 1 (< min 2); damped to 1 - 1.5 = -0.5 at position 2 (< 3 damped
    # tokens); untouched at position 3
    eos = [-INF, -INF, -0.5, 1.0]
    for p in range(4):
        assert out[0, p].tolist() == [-INF, eos[p], 2.0, -INF, 4.0, -INF], p
        assert out[1, p].tolist() == [-INF, eos[p], -INF, -INF, -INF, 5.0], p
    assert torch.equal(logits, original)  # the input is not modified in place


def test_eos_damping_applies_only_in_the_first_damped_positions():
    cfg = cfg_of(eos_damping=2.0, eos_damping_tokens=2)
    out = constrain_logits(vocab_logits(1, 4), torch.arange(4), cfg, EOS, None, [])
    # EOS logit 1 -> 1 - 2 = -1 at positions 0 and 1, then 1 again; other ids untouched
    assert out[0, :, EOS].tolist() == [-1.0, -1.0, 1.0, 1.0]
    assert torch.equal(out[..., 2:], vocab_logits(1, 4)[..., 2:])


def test_eos_damping_needs_both_settings():
    for cfg in (cfg_of(eos_damping=2.0, eos_damping_tokens=0), cfg_of(eos_damping=0.0, eos_damping_tokens=5)):
        out = constrain_logits(vocab_logits(1, 3), torch.arange(3), cfg, EOS, None, [])
        assert out[0, :, EOS].tolist() == [1.0, 1.0, 1.0]


def test_min_summary_tokens_forbids_eos_only_before_the_minimum():
    cfg = cfg_of(min_summary_tokens=3)
    out = constrain_logits(vocab_logits(1, 5), torch.arange(5), cfg, EOS, None, [])
    assert out[0, :, EOS].tolist() == [-INF, -INF, -INF, 1.0, 1.0]
    assert torch.isfinite(out[0, :, 2:]).all()


def test_constrain_logits_uses_the_given_positions():
    # one generation step at summary position 2 (the shape ConstrainedLogits passes): damped, not forbidden
    cfg = cfg_of(min_summary_tokens=2, eos_damping=1.5, eos_damping_tokens=3)
    out = constrain_logits(vocab_logits(1, 1), torch.tensor([2]), cfg, EOS, None, [])
    assert out[0, 0, EOS].item() == -0.5
    out = constrain_logits(vocab_logits(1, 1), torch.tensor([1]), cfg, EOS, None, [])
    assert out[0, 0, EOS].item() == -INF


def test_blocked_ids_are_minus_inf_everywhere():
    out = constrain_logits(vocab_logits(2, 3), torch.arange(3), cfg_of(), EOS, None, blocked=[0, 3])
    assert (out[..., [0, 3]] == -INF).all()
    assert torch.isfinite(out[..., [1, 2, 4, 5]]).all()


def test_some_token_stays_allowed_for_a_document_of_only_eos():
    allowed = source_allowed_mask(torch.tensor([[EOS, 0, 0]]), vocab_size=6, always_allowed=[EOS])
    out = constrain_logits(vocab_logits(1, 3), torch.arange(3), cfg_of(min_summary_tokens=2), EOS, allowed, [0, 3])
    assert torch.isfinite(out).any(-1).all(), out


# --------------------------------------------------------------------------------------------------------------------
# masks


def test_source_allowed_mask():
    input_ids = torch.tensor([[5, 2, 5, 0], [4, 4, 1, 0]])
    allowed = source_allowed_mask(input_ids, vocab_size=6, always_allowed=[EOS])
    assert allowed.dtype == torch.bool and allowed.shape == (2, 6)
    # row 0: its ids {5, 2, 0} plus EOS; row 1: {4, 1, 0} (EOS already there). The pad id 0 counts as present;
    # constrain_logits blocks it separately.
    assert allowed.tolist() == [[True, True, True, False, False, True],
                                [True, True, False, False, True, False]]


def test_summary_token_mask():
    ids = torch.tensor([[5, 1, 7, 1],   # through the first EOS, nothing after (not even a second EOS)
                        [5, 6, 7, 8],   # no EOS: all real
                        [1, 0, 0, 0],   # EOS first: only it
                        [5, 6, 7, 1]])  # EOS last
    assert summary_token_mask(ids, EOS).tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 1]]


# --------------------------------------------------------------------------------------------------------------------
# ConstrainedLogits inside generate


def test_constrained_logits_repeats_the_allowed_mask_per_document():
    allowed = torch.tensor([[False, True, True, False, True, False],
                            [False, True, False, False, False, True]])
    processor = ConstrainedLogits(cfg_of(min_summary_tokens=2), EOS, SourceConstraint.from_mask(allowed),
                                  blocked=[0, 3])
    num_beams = 3
    scores = torch.zeros(2 * num_beams, 6)
    # decoder start + one generated token -> this step predicts summary position 1: EOS still forbidden
    out = processor(torch.full((6, 2), 3), scores)
    for row in range(6):
        doc = row // num_beams  # rows are documents repeated num_beams times, in order
        expected = torch.where(allowed[doc], 0.0, -INF)
        expected[EOS] = -INF
        assert torch.equal(out[row], expected), row
    # one more token: position 2 >= min_summary_tokens, EOS allowed again
    out = processor(torch.full((6, 3), 3), scores)
    assert (out[:, EOS] == 0.0).all()
    assert torch.equal(torch.isfinite(out), allowed.repeat_interleave(num_beams, 0))


def test_constrained_logits_without_source_restriction():
    processor = ConstrainedLogits(cfg_of(), EOS, None, blocked=[0])
    out = processor(torch.full((2, 1), 3), torch.zeros(2, 6))
    assert out[:, 0].tolist() == [-INF, -INF] and (out[:, 1:] == 0).all()


# --------------------------------------------------------------------------------------------------------------------
# generate vs. the teacher-forced pass on a tiny random BART


class StandInTokenizer:
    """All build_seq2seq needs from a tokenizer: the special ids and the vocabulary size."""

    pad_token_id, eos_token_id, bos_token_id = 0, EOS, 3

    def __len__(self) -> int:
        return 50


def peaked_tiny_bart(pointer: bool):
    from seq2seq2seq.models.build import build_seq2seq

    torch.manual_seed(0)
    model = build_seq2seq(ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2,
                                      ffn_dim=64, dropout=0.0, pointer=pointer), StandInTokenizer()).eval()
    with torch.no_grad():
        # the default init (std 0.02) gives near-uniform logits; larger weights give peaked, document-dependent
        # distributions, and an EOS bias makes some summaries end early so padding positions get exercised
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.3)
        model.final_logits_bias[0, EOS] = 3.0
    return model


@pytest.fixture(scope="module")
def tiny_bart():
    return peaked_tiny_bart(pointer=False)


@pytest.fixture(scope="module")
def tiny_pointer_bart():
    return peaked_tiny_bart(pointer=True)


@pytest.fixture(scope="module")
def documents() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(4, 50, (4, 10), generator=generator)  # ordinary pieces: ids 4..49
    input_ids[:, -1] = EOS
    input_ids[2, 5], input_ids[2, 6:] = EOS, 0  # one shorter, padded document
    return input_ids, (input_ids != 0).long()


SOURCE_ONLY = DecodingConfig(max_summary_tokens=8, min_summary_tokens=2, eos_damping=0.5, eos_damping_tokens=3,
                             source_only=True)


def assert_ids_from_source(summaries: Summaries, input_ids: torch.Tensor) -> None:
    for row, (ids, mask) in enumerate(zip(summaries.summary_ids.tolist(), summaries.summary_mask.tolist())):
        source = set(input_ids[row].tolist()) - {0}
        emitted = {i for i, m in zip(ids, mask) if m}
        assert emitted <= source | {EOS}, (row, emitted - source)


def test_greedy_source_only_emits_source_pieces_and_matches_teacher_forced_argmax(tiny_bart, documents):
    input_ids, attention_mask = documents
    free = generate_summaries(tiny_bart, input_ids, attention_mask, DecodingConfig(max_summary_tokens=8))
    unconstrained = set(free.summary_ids[free.summary_mask.bool()].tolist())
    # without the restriction the model does emit pieces absent from the documents, so the check below has teeth
    assert unconstrained - set(input_ids.flatten().tolist())

    out = generate_summaries(tiny_bart, input_ids, attention_mask, SOURCE_ONLY)
    ids, mask = out.summary_ids, out.summary_mask
    assert ids.shape[0] == 4 and ids.shape[1] <= SOURCE_ONLY.max_summary_tokens
    assert torch.equal(mask, summary_token_mask(ids, EOS))
    assert_ids_from_source(out, input_ids)
    # the scenario covers both a summary cut by EOS (with padding after it) and one that runs to the cap
    assert (mask == 0).any() and (mask.sum(1) == ids.shape[1]).any()
    # no EOS before min_summary_tokens
    assert not (ids[:, :SOURCE_ONLY.min_summary_tokens] == EOS).any()

    logits = summary_logits(tiny_bart, input_ids, attention_mask, out, SOURCE_ONLY,
                            constraint_for(tiny_bart, input_ids, SOURCE_ONLY))
    assert logits.shape == (*ids.shape, 50)
    real = mask.bool()
    # greedy picks the argmax of the constrained distribution at each step; the teacher-forced pass under the same
    # constraints must put its argmax on the same token at every real position
    assert torch.equal(logits.argmax(-1)[real], ids[real])
    assert torch.isfinite(token_logprobs(logits, ids)[real]).all()


@pytest.mark.parametrize("model_name", ["tiny_bart", "tiny_pointer_bart"])
@pytest.mark.parametrize("whole_words", [False, True, "no_repeat", "in_order"],
                         ids=["source_only", "whole_words", "no_repeat", "in_order"])
def test_generate_scores_equal_teacher_forced_constrained_logits(request, documents, whole_words, model_name):
    # stronger than the argmax: the distribution generate samples from (its processed scores) is the one whose
    # log-probs REINFORCE uses; for the pointer model this also checks that generate hands the source ids to every
    # cached decoding step
    from transformers import GenerationConfig, LogitsProcessorList

    from seq2seq2seq.decoding.sampling import _blocked_ids

    tiny_bart = request.getfixturevalue(model_name)
    cfg = {False: SOURCE_ONLY, True: WHOLE_WORDS, "no_repeat": NO_REPEAT_WORDS, "in_order": IN_ORDER}[whole_words]
    starts = stand_in_word_starts() if whole_words else None
    input_ids, attention_mask = documents
    config = tiny_bart.config
    processor = ConstrainedLogits(cfg, EOS, constraint_for(tiny_bart, input_ids, cfg, starts),
                                  _blocked_ids(tiny_bart))
    generation = GenerationConfig(max_new_tokens=cfg.max_summary_tokens, do_sample=False,
                                  pad_token_id=config.pad_token_id, eos_token_id=EOS,
                                  decoder_start_token_id=config.decoder_start_token_id)
    with torch.no_grad():
        result = tiny_bart.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation,
                                    logits_processor=LogitsProcessorList([processor]), output_scores=True,
                                    return_dict_in_generate=True)
        ids = result.sequences[:, 1:]
        summaries = Summaries(ids, summary_token_mask(ids, EOS))
        logits = summary_logits(tiny_bart, input_ids, attention_mask, summaries, cfg,
                                constraint_for(tiny_bart, input_ids, cfg, starts))
    scores = torch.stack(result.scores, dim=1)  # (b, t, V)
    real = summaries.summary_mask.bool()
    torch.testing.assert_close(torch.log_softmax(logits, -1)[real], torch.log_softmax(scores, -1)[real],
                               atol=1e-4, rtol=1e-4)


def test_sampled_summaries_have_finite_logprobs(tiny_bart, documents):
    input_ids, attention_mask = documents
    k = 3
    torch.manual_seed(0)
    out = generate_summaries(tiny_bart, input_ids, attention_mask, SOURCE_ONLY, do_sample=True, num_samples=k)
    assert out.summary_ids.shape[0] == input_ids.shape[0] * k
    repeated_ids = input_ids.repeat_interleave(k, 0)  # each document's samples are adjacent
    repeated_mask = attention_mask.repeat_interleave(k, 0)
    assert_ids_from_source(out, repeated_ids)

    logits = summary_logits(tiny_bart, repeated_ids, repeated_mask, out, SOURCE_ONLY,
                            constraint_for(tiny_bart, input_ids, SOURCE_ONLY).repeat_interleave(k))
    logps = token_logprobs(logits, out.summary_ids)
    real = out.summary_mask.bool()
    # every sampled token had non-zero probability under the teacher-forced constrained distribution
    assert torch.isfinite(logps[real]).all()
    assert (logps[real] <= 0).all()


# --------------------------------------------------------------------------------------------------------------------
# whole words: G copies complete source words and never glues pieces of different words


def stand_in_word_starts(v: int = 50) -> torch.Tensor:
    """Pretend even ids begin a word ('▁x') and odd ids continue one; special ids 0-3 are neither."""
    return torch.tensor([i >= 4 and i % 2 == 0 for i in range(v)])


def test_source_constraint_whole_words_by_hand():
    # document: word [10, 11] ("ab"), word [12, 13, 15] ("cde"), word [14] ("f"), then EOS
    input_ids = torch.tensor([[10, 11, 12, 13, 15, 14, EOS]])
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts())
    previous = torch.tensor([[3, 10, 11, 12, 13, 15, 14]])  # decoder start, then the pieces in turn
    masks = constraint.masks(previous)
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in masks[0]]
    starts = {10, 12, 14, EOS}  # word-start pieces of the document, and the end
    assert allowed[0] == starts  # a summary begins with a word
    assert allowed[1] == {11}  # "a" never ends a word here: only "b" may follow
    assert allowed[2] == starts  # after "ab" the word is complete
    assert allowed[3] == {13}  # "c" -> "d"
    assert allowed[4] == {15}  # "d" -> "e"
    assert allowed[5] == starts and allowed[6] == starts
    # samples of a document see the document's constraint
    assert torch.equal(constraint.repeat_interleave(2).masks(previous.repeat(2, 1))[1], masks[0])


def test_whole_words_never_glue_words_through_a_shared_piece():
    # words "ab" = [10, 11] and "cbd" = [12, 11, 13]: "b" ends the first word and is followed by "d" in the second;
    # the adjacent-pieces rule allowed "a b d" ("developers" + the "bc" of "hsbc"); only document words are allowed
    input_ids = torch.tensor([[10, 11, 12, 11, 13, EOS]])
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts())
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in constraint.masks(torch.tensor([[3, 10, 11]]))[0]]
    assert allowed[2] == {10, 12, EOS}  # after "ab": the word is complete; no "d"
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in constraint.masks(torch.tensor([[3, 12, 11]]))[0]]
    assert allowed[2] == {13}  # after "cb": only "d" completes a document word
    # one generation step sees the same as the teacher-forced pass
    previous = torch.tensor([[3, 12, 11, 13, 10]])
    full = constraint.masks(previous)
    for j in range(1, previous.shape[1] + 1):
        assert torch.equal(constraint.masks(previous[:, j - 1:j], prefix=previous[:, :j])[:, 0], full[:, j - 1])


def test_no_repeat_words_by_hand():
    input_ids = torch.tensor([[10, 11, 12, 13, 15, 14, EOS]])  # words "ab", "cde", "f" as above
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts(), no_repeat_words=True)
    previous = torch.tensor([[3, 10, 11, 12, 13, 15]])  # "ab cde" so far
    masks = constraint.masks(previous)
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in masks[0]]
    assert allowed[0] == {10, 12, 14, EOS}
    assert allowed[1] == {11}  # continuing a word is never a repeat
    assert allowed[2] == {12, 14, EOS}  # "a" has started a word: not again
    assert allowed[5] == {14, EOS}  # after "ab cde" only "f" or the end
    # one generation step (last column + the whole prefix) sees the same as teacher forcing at that position
    step = constraint.masks(previous[:, -1:], prefix=previous)
    assert torch.equal(step[:, 0], masks[:, -1])
    assert torch.equal(constraint.repeat_interleave(2).masks(previous.repeat(2, 1))[1], masks[0])


def test_in_order_by_hand():
    # words "ab" [10, 11], "f" [14], "ab" again, "cde" [12, 13, 15], then EOS: document positions 0-1, 2, 3-4, 5-7
    input_ids = torch.tensor([[10, 11, 14, 10, 11, 12, 13, 15, EOS]])
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts(), in_order=True)
    previous = torch.tensor([[3, 14, 10, 11, 12, 13, 15]])  # "f ab cde"
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in constraint.masks(previous)[0]]
    assert allowed[0] == {10, 12, 14, EOS}  # any document word may come first
    assert allowed[1] == {10, 12, EOS}  # after "f" (position 2): the second "ab" or "cde", never "f" again
    assert allowed[2] == {11}  # inside "ab": its continuation only
    assert allowed[3] == {12, EOS}  # after "f ab" only "cde" is later in the document
    assert allowed[4] == {13} and allowed[5] == {15}
    assert allowed[6] == {EOS}  # "f ab cde" used the document up: only the end is left
    # the earliest placing is kept: after "ab" (positions 0-1, not 3-4) "f" and the second "ab" are still allowed
    early = [set(torch.nonzero(m).flatten().tolist()) for m in constraint.masks(torch.tensor([[3, 10, 11]]))[0]]
    assert early[2] == {10, 12, 14, EOS}
    # one generation step (the last column and the prefix) sees what teacher forcing sees, through the cached state
    full = constraint.masks(previous)
    for j in range(1, previous.shape[1] + 1):
        assert torch.equal(constraint.masks(previous[:, j - 1:j], prefix=previous[:, :j])[:, 0], full[:, j - 1])
    assert torch.equal(constraint.repeat_interleave(2).masks(previous.repeat(2, 1))[1], full[0])


def test_in_order_needs_word_starts():
    with pytest.raises(ValueError, match="in_order"):
        SourceConstraint(torch.tensor([[10, 11, EOS]]), 50, EOS, 0, None, in_order=True)


def test_in_order_and_min_words_let_a_used_up_document_end():
    # "ab f" then nothing is left after "f": the minimum of 3 words cannot hold, so the end stays allowed
    input_ids = torch.tensor([[10, 11, 14, EOS]])
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts(), in_order=True, min_words=3)
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in constraint.masks(torch.tensor([[3, 14]]))[0]]
    assert allowed[1] == {EOS}


def test_word_count_limits_by_hand():
    input_ids = torch.tensor([[10, 11, 12, 13, 15, 14, EOS]])  # words "ab", "cde", "f" as above
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts(), min_words=2, max_words=2)
    previous = torch.tensor([[3, 10, 11, 12, 13, 15, 12]])  # "ab cde", then a third word begins
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in constraint.masks(previous)[0]]
    assert allowed[0] == {10, 12, 14}  # no words yet: the end is forbidden
    assert allowed[1] == {11}
    assert allowed[2] == {10, 12, 14}  # one complete word: still no end
    assert allowed[3] == {13} and allowed[4] == {15}  # the second word goes on to its end
    assert allowed[5] == {EOS}  # two complete words: no third word may start, the end is due
    assert allowed[6] == {13}  # (past the limit, teacher forcing) the started word may still be completed
    # one generation step sees the same as the teacher-forced pass
    full = constraint.masks(previous)
    for j in range(1, previous.shape[1] + 1):
        assert torch.equal(constraint.masks(previous[:, j - 1:j], prefix=previous[:, :j])[:, 0], full[:, j - 1])
    assert torch.equal(constraint.repeat_interleave(2).masks(previous.repeat(2, 1))[1], full[0])


def test_min_words_lets_a_document_with_too_few_words_end():
    # "ab" is the only word and may not repeat: after it nothing but the end is left, so the end stays allowed
    input_ids = torch.tensor([[10, 11, EOS]])
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts(), no_repeat_words=True, min_words=5)
    allowed = [set(torch.nonzero(m).flatten().tolist()) for m in constraint.masks(torch.tensor([[3, 10, 11]]))[0]]
    assert allowed == [{10}, {11}, {EOS}]


def test_word_limits_need_word_starts():
    with pytest.raises(ValueError, match="word-start"):
        SourceConstraint(torch.tensor([[10, EOS]]), 50, EOS, 0, None, min_words=2)
    from seq2seq2seq.config import ConfigError

    with pytest.raises(ConfigError, match="decoding.min_summary_words"):
        DecodingConfig(source_only=True, min_summary_words=3)
    with pytest.raises(ConfigError, match="decoding.min_summary_words"):
        DecodingConfig(source_only=True, whole_words=True, min_summary_words=5, max_summary_words=4)


def test_word_limits_hold_in_generation(tiny_bart, documents):
    input_ids, attention_mask = documents
    starts = stand_in_word_starts()
    cfg = DecodingConfig(max_summary_tokens=12, min_summary_tokens=0, source_only=True, whole_words=True,
                         min_summary_words=3, max_summary_words=4)
    for do_sample in (False, True):
        torch.manual_seed(0)
        out = generate_summaries(tiny_bart, input_ids, attention_mask, cfg, do_sample=do_sample,
                                 num_samples=4 if do_sample else 1, word_start=starts)
        for ids, mask in zip(out.summary_ids.tolist(), out.summary_mask.tolist()):
            real = [i for i, m in zip(ids, mask) if m]
            words = sum(bool(starts[i]) for i in real)
            assert words <= 4, ids
            if real[-1] == EOS:  # ended by G, not by the token cap
                assert words >= 3, ids
        # the teacher-forced pass gives every generated token a finite log-prob (same constraints)
        logits = summary_logits(tiny_bart, input_ids.repeat_interleave(out.summary_ids.shape[0] // 4, 0),
                                attention_mask.repeat_interleave(out.summary_ids.shape[0] // 4, 0), out, cfg,
                                constraint_for(tiny_bart, input_ids, cfg, starts).repeat_interleave(
                                    out.summary_ids.shape[0] // 4))
        logps = token_logprobs(logits, out.summary_ids)
        assert torch.isfinite(logps[out.summary_mask.bool()]).all()


def test_no_repeat_words_generation_never_repeats_a_word_start(tiny_bart, documents):
    input_ids, attention_mask = documents
    starts = stand_in_word_starts()
    torch.manual_seed(0)
    out = generate_summaries(tiny_bart, input_ids, attention_mask, NO_REPEAT_WORDS, do_sample=True, num_samples=4,
                             word_start=starts)
    for ids, mask in zip(out.summary_ids.tolist(), out.summary_mask.tolist()):
        firsts = [i for i, m in zip(ids, mask) if m and starts[i]]
        assert len(firsts) == len(set(firsts)), ids


def is_in_order(summary: list[int], document: list[int], starts: torch.Tensor) -> bool:
    """Whether a summary's words are document words in the document's order (a greedy earliest match)."""
    position = 0
    doc_words = word_list(document, starts)
    for word in word_list(summary, starts):
        while position < len(doc_words) and doc_words[position] != word:
            position += 1
        if position == len(doc_words):
            return False
        position += 1
    return True


def test_in_order_generation_writes_deletions_of_the_document(tiny_bart, tiny_pointer_bart, documents):
    input_ids, attention_mask = documents
    starts = stand_in_word_starts()
    starts_doc = input_ids.clone()
    starts_doc[:, 0] = 10  # every document begins with a word: a leading continuation piece is no document word
    seen_out_of_order = False
    for model in (tiny_bart, tiny_pointer_bart):
        for cfg in (WHOLE_WORDS, IN_ORDER):
            for do_sample in (False, True):
                torch.manual_seed(0)
                out = generate_summaries(model, starts_doc, attention_mask, cfg, do_sample=do_sample,
                                         num_samples=4 if do_sample else 1, word_start=starts)
                k = out.summary_ids.shape[0] // starts_doc.shape[0]
                for row, (ids, mask) in enumerate(zip(out.summary_ids.tolist(), out.summary_mask.tolist())):
                    ordered = is_in_order([i for i, m in zip(ids, mask) if m], starts_doc[row // k].tolist(), starts)
                    if cfg.in_order:
                        assert ordered, (ids, starts_doc[row // k].tolist())
                    seen_out_of_order |= not ordered
    assert seen_out_of_order  # without the setting the random models do write words out of order: the test can fail


def test_in_order_config_needs_whole_words():
    from seq2seq2seq.config import ConfigError

    with pytest.raises(ConfigError, match="decoding.in_order"):
        DecodingConfig(source_only=True, in_order=True)


def test_no_repeat_words_config_needs_whole_words():
    from seq2seq2seq.config import ConfigError

    with pytest.raises(ConfigError, match="decoding.no_repeat_words"):
        DecodingConfig(source_only=True, no_repeat_words=True)


def test_whole_words_config_needs_source_only():
    from seq2seq2seq.config import ConfigError

    with pytest.raises(ConfigError, match="decoding.whole_words"):
        DecodingConfig(whole_words=True)


WHOLE_WORDS = DecodingConfig(max_summary_tokens=8, min_summary_tokens=2, source_only=True, whole_words=True)
NO_REPEAT_WORDS = DecodingConfig(max_summary_tokens=8, min_summary_tokens=2, source_only=True, whole_words=True,
                                 no_repeat_words=True)
IN_ORDER = DecodingConfig(max_summary_tokens=8, min_summary_tokens=2, source_only=True, whole_words=True,
                          in_order=True)


def word_list(ids: list[int], starts: torch.Tensor) -> list[tuple[int, ...]]:
    """The words of a piece sequence in order, each as the tuple of its pieces."""
    words: list[list[int]] = []
    for i in ids:
        if i in (0, EOS):
            continue
        if starts[i] or not words:
            words.append([])
        words[-1].append(i)
    return [tuple(w) for w in words]


def words_of(ids: list[int], starts: torch.Tensor) -> set[tuple[int, ...]]:
    """The words of a piece sequence, each as the tuple of its pieces."""
    return set(word_list(ids, starts))


def word_rules(ids: list[int], starts: torch.Tensor) -> tuple[set, set, set]:
    """(pieces that start a word, (a, b) pairs adjacent inside a word, pieces that end a word) of a piece sequence."""
    ids = [i for i in ids if i not in (0, EOS)]
    first = {i for i in ids if starts[i]}
    pairs = {(a, b) for a, b in zip(ids, ids[1:]) if not starts[b]}
    last = {a for a, b in zip(ids, ids[1:] + [None]) if b is None or starts[b]}
    return first, pairs, last


def test_whole_words_generation_only_builds_words_from_source_words(tiny_bart, documents):
    input_ids, attention_mask = documents
    starts = stand_in_word_starts()
    for do_sample in (False, True):
        torch.manual_seed(0)
        out = generate_summaries(tiny_bart, input_ids, attention_mask, WHOLE_WORDS, do_sample=do_sample,
                                 num_samples=3 if do_sample else 1, word_start=starts)
        k = out.summary_ids.shape[0] // input_ids.shape[0]
        for row, (ids, mask) in enumerate(zip(out.summary_ids.tolist(), out.summary_mask.tolist())):
            real = [i for i, m in zip(ids, mask) if m]
            doc_first, doc_pairs, doc_last = word_rules(input_ids[row // k].tolist(), starts)
            first, pairs, last = word_rules(real, starts)
            assert real and starts[real[0]], row  # a summary begins with a word
            assert first <= doc_first and pairs <= doc_pairs, row  # no glued pieces
            if EOS in real:  # (a summary cut by the length cap may stop mid-word)
                assert last <= doc_last, row
                # exactly: every word of the summary is a word of the document
                assert words_of(real, starts) <= words_of(input_ids[row // k].tolist(), starts), row


def test_unfinished_last_word_by_hand():
    # document: "ab" = [10, 11], "cde" = [12, 13, 15], "f" = [14]
    input_ids = torch.tensor([[10, 11, 12, 13, 15, 14, EOS]])
    constraint = SourceConstraint(input_ids, 50, EOS, 0, stand_in_word_starts()).repeat_interleave(5)
    summary_ids = torch.tensor([[10, 11, 12, 13, 0],     # "ab cd" at the cap: "cd" is no document word
                                [10, 11, 12, 13, 15],    # "ab cde": complete
                                [14, 10, 11, EOS, 0],    # "f ab" and the end
                                [12, 13, 0, 0, 0],       # only "cd": kept (better a cut word than nothing)
                                [10, 11, 14, 12, 0]])    # "ab f c" at the cap
    summary_mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 0, 0, 0],
                                 [1, 1, 1, 1, 0]])
    cut = constraint.unfinished_last_word(summary_ids, summary_mask)
    assert cut.tolist() == [[False, False, True, True, False], [False] * 5, [False] * 5, [False] * 5,
                            [False, False, False, True, False]]


def test_finish_words_drops_a_word_cut_by_the_token_cap(tiny_bart, documents):
    input_ids, attention_mask = documents
    starts = stand_in_word_starts()
    capped = DecodingConfig(max_summary_tokens=4, min_summary_tokens=3, source_only=True, whole_words=True)
    seen_cut = False
    for do_sample in (False, True):
        torch.manual_seed(0)
        kw = dict(do_sample=do_sample, num_samples=4 if do_sample else 1, word_start=starts)
        raw = generate_summaries(tiny_bart, input_ids, attention_mask, capped, **kw)
        torch.manual_seed(0)
        out = generate_summaries(tiny_bart, input_ids, attention_mask, capped, finish_words=True, **kw)
        k = out.summary_ids.shape[0] // input_ids.shape[0]
        for row in range(out.summary_ids.shape[0]):
            real = [i for i, m in zip(out.summary_ids[row].tolist(), out.summary_mask[row].tolist()) if m]
            raw_real = [i for i, m in zip(raw.summary_ids[row].tolist(), raw.summary_mask[row].tolist()) if m]
            assert raw_real[:len(real)] == real, row  # finishing only ever drops a tail
            doc_words = words_of(input_ids[row // k].tolist(), starts)
            if len(words_of(raw_real, starts)) > 1:  # a lone cut word is kept
                assert words_of(real, starts) <= doc_words, row  # every word is a whole document word
            seen_cut |= len(real) < len(raw_real)
    assert seen_cut  # the 4-token cap did cut some word in these documents


def test_word_start_mask_of_a_sentencepiece_tokenizer(tiny_corpus):
    from transformers import AutoTokenizer

    from seq2seq2seq.decoding.sampling import word_start_mask

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    mask = word_start_mask(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    assert mask.shape == (len(tokenizer),)
    assert not mask[tokenizer.all_special_ids].any()
    assert all(mask[i] == p.startswith("\u2581") for i, p in enumerate(pieces) if i not in tokenizer.all_special_ids)
    assert mask.any() and (~mask).any()


def test_rollouts_ignore_generation_defaults_saved_with_a_warm_start(tmp_path, documents):
    # a pretrained export's generation_config (forced first token, suppressed tokens, beams, n-gram blocking) used
    # to leak into sampling: every sample began with the forced token, a distribution REINFORCE never scores
    from seq2seq2seq.models.build import load_seq2seq

    model = peaked_tiny_bart(pointer=True)
    model.generation_config.forced_bos_token_id = 7
    model.generation_config.suppress_tokens = [9]
    model.generation_config.num_beams = 5
    model.generation_config.no_repeat_ngram_size = 2
    model.save_pretrained(tmp_path / "warm")
    warm = load_seq2seq(tmp_path / "warm").eval()
    assert warm.generation_config.forced_bos_token_id == 7  # the export really carries the setting
    input_ids, mask = documents
    cfg = DecodingConfig(max_summary_tokens=6, min_summary_tokens=0, source_only=False, whole_words=False)
    torch.manual_seed(0)
    samples = generate_summaries(warm, input_ids, mask, cfg, do_sample=True, num_samples=4)
    assert samples.summary_ids.shape[0] == 16
    assert (samples.summary_ids[:, 0] != 7).any()
    # and the samples' teacher-forced log-probs are finite: nothing outside the scored distribution was emitted
    logps = token_logprobs(summary_logits(warm, input_ids.repeat_interleave(4, 0), mask.repeat_interleave(4, 0),
                                          samples, cfg), samples.summary_ids)
    assert torch.isfinite(logps[samples.summary_mask.bool()]).all()
    assert warm.generation_config.forced_bos_token_id == 7  # the model's own defaults are left as they were


def test_the_uint8_mask_helpers_equal_torchs_bool_operations():
    torch.manual_seed(0)
    mask = torch.rand(4, 3, 10) > 0.7
    keep = torch.rand(4, 3) > 0.5
    assert torch.equal(any_last(mask), mask.any(-1))
    assert torch.equal(any_last(mask[..., 3:]), mask[..., 3:].any(-1))  # a non-contiguous slice
    assert torch.equal(any_last(mask[..., :0]), torch.zeros(4, 3, dtype=torch.bool))  # nothing to reduce
    assert torch.equal(and_rows(mask, keep), mask & keep[..., None])
    word_start = torch.rand(10) > 0.5
    assert torch.equal(and_rows(word_start.expand_as(mask), keep), word_start & keep[..., None])


# --------------------------------------------------------------------------------------------------------------------
# greedy decoding at the document's positions (decoding/greedy.py) against generate


WORD_LIMITS = DecodingConfig(max_summary_tokens=10, min_summary_tokens=3, source_only=True, whole_words=True,
                             min_summary_words=2, max_summary_words=3, eos_damping=1.0, eos_damping_tokens=4)


@pytest.mark.parametrize("cfg", [SOURCE_ONLY, WHOLE_WORDS, NO_REPEAT_WORDS, IN_ORDER, WORD_LIMITS],
                         ids=["source_only", "whole_words", "no_repeat", "in_order", "word_limits"])
def test_greedy_at_source_writes_generates_summaries(tiny_pointer_bart, documents, cfg, monkeypatch):
    import copy

    from seq2seq2seq.decoding import greedy, sampling

    tiny_pointer_bart = copy.deepcopy(tiny_pointer_bart)
    with torch.no_grad():
        tiny_pointer_bart.final_logits_bias[0, EOS] = 4.0  # summaries that end early under every setting here
    input_ids, attention_mask = documents
    starts = stand_in_word_starts() if cfg.whole_words else None
    expected = generate_summaries(tiny_pointer_bart, input_ids, attention_mask, cfg, word_start=starts,
                                  finish_words=True, at_source=False)
    ran = []

    def recorded(*args, **kwargs):
        ran.append(args[1].shape)
        return greedy.greedy_at_source(*args, **kwargs)

    monkeypatch.setattr(sampling, "greedy_at_source", recorded)
    out = generate_summaries(tiny_pointer_bart, input_ids, attention_mask, cfg, word_start=starts, finish_words=True)
    assert ran == [input_ids.shape]  # the loop over the document's positions ran, not generate
    assert torch.equal(out.summary_ids, expected.summary_ids)
    assert torch.equal(out.summary_mask, expected.summary_mask)
    assert (out.summary_mask.sum(1) < out.summary_ids.shape[1]).any()  # some summaries end before others
    # as a length-conditioned G's documents: a control token G never writes heads each document
    blocked = sampling._blocked_ids(tiny_pointer_bart) + [49]
    monkeypatch.setattr(sampling, "_blocked_ids", lambda model: blocked)
    headed = input_ids.clone()
    headed[:, 0] = 49
    expected = generate_summaries(tiny_pointer_bart, headed, attention_mask, cfg, word_start=starts, at_source=False)
    out = generate_summaries(tiny_pointer_bart, headed, attention_mask, cfg, word_start=starts)
    assert torch.equal(out.summary_ids, expected.summary_ids)
    assert not (out.summary_ids == 49).any()


def test_greedy_at_source_only_where_it_decodes_as_generate(tiny_bart, tiny_pointer_bart, documents):
    from seq2seq2seq.decoding.greedy import greedy_at_source_applies

    input_ids, attention_mask = documents
    constraint = constraint_for(tiny_pointer_bart, input_ids, SOURCE_ONLY)
    assert greedy_at_source_applies(tiny_pointer_bart, input_ids, attention_mask, constraint)
    assert not greedy_at_source_applies(tiny_pointer_bart, input_ids, attention_mask, None)  # no source restriction
    assert not greedy_at_source_applies(tiny_bart, input_ids, attention_mask, constraint)  # no pointer
    cut = input_ids.clone()
    cut[1, -1] = 7  # a document without end-of-sentence among its pieces: generate may still end it
    assert not greedy_at_source_applies(tiny_pointer_bart, cut, attention_mask, constraint)
    expected = generate_summaries(tiny_pointer_bart, cut, attention_mask, SOURCE_ONLY, at_source=False)
    assert torch.equal(generate_summaries(tiny_pointer_bart, cut, attention_mask, SOURCE_ONLY).summary_ids,
                       expected.summary_ids)
