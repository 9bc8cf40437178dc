"""Pure losses and reward weighting on small hand-computed tensors; each expected value is derived in a comment.

The recurring example: logits [0, ln 3] -> exp gives [1, 3] -> probs [1/4, 3/4].
"""

from __future__ import annotations

import math

import pytest
import torch

from seq2seq2seq.losses import (
    best_of_k_advantages,
    conditional_gumbel_logits,
    conditional_gumbel_softmax,
    cross_entropy,
    discriminator_loss,
    leave_one_out_advantages,
    masked_mean,
    reinforce_loss,
    self_critical_advantages,
    sequence_mean_logprob,
    token_entropy,
    token_logprobs,
)
from seq2seq2seq.rewards.base import RewardSet

LN3 = math.log(3.0)
INF = float("inf")


def close(actual: torch.Tensor, expected, **kw) -> None:
    torch.testing.assert_close(actual, torch.as_tensor(expected, dtype=actual.dtype), **kw)


# --------------------------------------------------------------------------------------------------------------------
# masked_mean


def test_masked_mean_over_everything():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[1, 1, 0], [0, 0, 1]])
    # kept: 1, 2, 6 -> (1 + 2 + 6) / 3 = 3
    close(masked_mean(values, mask), 3.0)


def test_masked_mean_along_a_dim():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[1, 1, 0], [0, 0, 1]])
    # rows: (1 + 2) / 2 = 1.5 and 6 / 1 = 6
    close(masked_mean(values, mask, dim=1), [1.5, 6.0])
    # columns: 1 / 1, 2 / 1, 6 / 1 (the masked 4, 5 and 3 do not count)
    close(masked_mean(values, mask, dim=0), [1.0, 2.0, 6.0])


def test_masked_mean_of_a_fully_masked_row_is_zero_not_nan():
    values = torch.tensor([[1.0, 2.0], [7.0, 9.0]])
    mask = torch.tensor([[1, 1], [0, 0]])
    # row 1 has no real entries: 0 / clamp(0, min=1) = 0
    close(masked_mean(values, mask, dim=1), [1.5, 0.0])
    close(masked_mean(values, torch.zeros_like(mask)), 0.0)


def test_masked_mean_ignores_huge_values_under_the_mask():
    values = torch.tensor([2.0, 1e30])
    mask = torch.tensor([1.0, 0.0])
    # 1e30 * 0 = 0, so the mean is 2 / 1
    close(masked_mean(values, mask), 2.0)


# --------------------------------------------------------------------------------------------------------------------
# token_logprobs and token_entropy


def test_token_logprobs_hand_values():
    logits = torch.tensor([[[0.0, LN3], [0.0, LN3]]])  # (b=1, t=2, V=2), probs [1/4, 3/4] at both positions
    labels = torch.tensor([[1, 0]])
    # label 1 -> ln(3/4); label 0 -> ln(1/4)
    close(token_logprobs(logits, labels), [[math.log(0.75), math.log(0.25)]])


def test_token_logprobs_accepts_negative_padding_labels():
    logits = torch.tensor([[[0.0, LN3], [0.0, LN3]]])
    labels = torch.tensor([[1, -100]])
    # -100 is clamped to id 0, so the padding entry is a finite ln(1/4) that callers mask out
    out = token_logprobs(logits, labels)
    assert out.shape == (1, 2)
    close(out, [[math.log(0.75), math.log(0.25)]])


def test_token_logprobs_of_a_forbidden_label_is_minus_inf():
    logits = torch.tensor([[[-INF, 0.0, 0.0]]])  # id 0 forbidden, ids 1 and 2 at 1/2 each
    assert token_logprobs(logits, torch.tensor([[0]])).item() == -INF
    close(token_logprobs(logits, torch.tensor([[2]])), [[math.log(0.5)]])


def test_token_entropy_hand_values():
    logits = torch.tensor([[[0.0, LN3], [0.0, 0.0]]])  # (1, 2, 2)
    # probs [1/4, 3/4]: H = -(1/4 ln 1/4 + 3/4 ln 3/4) = ln 4 - (3/4) ln 3
    # probs [1/2, 1/2]: H = ln 2
    close(token_entropy(logits), [[math.log(4.0) - 0.75 * LN3, math.log(2.0)]])


def test_token_entropy_with_minus_inf_logits_has_finite_value_and_gradient():
    # two allowed tokens and one forbidden one: the forbidden entry has p = 0, so H = ln 2 (0 * ln 0 counts as 0)
    logits = torch.tensor([[[0.0, 0.0, -INF], [0.0, LN3, -INF]]], requires_grad=True)
    entropy = token_entropy(logits)
    close(entropy.detach(), [[math.log(2.0), math.log(4.0) - 0.75 * LN3]])
    # A naive -(p * log p).sum() gives the right forward value but a NaN gradient (0 * -inf in the backward pass).
    entropy.sum().backward()
    grad = logits.grad
    assert torch.isfinite(grad).all(), grad
    # dH/dz_j = -p_j (ln p_j + H): zero where p_j = 0, and zero for the uniform pair (the entropy maximum)
    expected_second = [-0.25 * (math.log(0.25) + math.log(4.0) - 0.75 * LN3),
                       -0.75 * (math.log(0.75) + math.log(4.0) - 0.75 * LN3), 0.0]
    close(grad, [[[0.0, 0.0, 0.0], expected_second]])


# --------------------------------------------------------------------------------------------------------------------
# sequence_mean_logprob and cross_entropy

# (b=2, t=2, V=2); row 1's second position is padding whose label (0) sits on a -inf logit, as after a
# constrained summary's end: its -inf log-prob must be masked, not averaged in
PAD_LOGITS = torch.tensor([[[0.0, LN3], [0.0, LN3]],
                           [[0.0, LN3], [-INF, 0.0]]])
PAD_LABELS = torch.tensor([[1, 0], [1, 0]])
PAD_MASK = torch.tensor([[1, 1], [1, 0]])


def test_sequence_mean_logprob_with_padding():
    # row 0: (ln 3/4 + ln 1/4) / 2; row 1: only ln 3/4 counts
    expected = [(math.log(0.75) + math.log(0.25)) / 2, math.log(0.75)]
    close(sequence_mean_logprob(PAD_LOGITS, PAD_LABELS, PAD_MASK), expected)


def test_sequence_mean_logprob_gradient_is_finite_through_masked_minus_inf():
    logits = PAD_LOGITS.clone().requires_grad_(True)
    sequence_mean_logprob(logits, PAD_LABELS, PAD_MASK).sum().backward()
    assert torch.isfinite(logits.grad).all()
    # the padding position gets no gradient at all
    assert torch.equal(logits.grad[1, 1], torch.zeros(2))


def test_cross_entropy_averages_over_real_tokens():
    # three real tokens: ln 3/4, ln 1/4 (row 0) and ln 3/4 (row 1) -> CE = -(2 ln 3/4 + ln 1/4) / 3
    expected = -(2 * math.log(0.75) + math.log(0.25)) / 3
    close(cross_entropy(PAD_LOGITS, PAD_LABELS, PAD_MASK), expected)


def test_cross_entropy_matches_torch_on_unpadded_input():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5)
    labels = torch.randint(0, 5, (2, 3))
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, 5), labels.reshape(-1))
    close(cross_entropy(logits, labels, torch.ones_like(labels)), expected.item())


# --------------------------------------------------------------------------------------------------------------------
# baselines


def test_self_critical_advantages():
    samples = torch.tensor([[1.0, 2.0], [3.0, 5.0]])
    greedy = torch.tensor([1.5, 4.0])
    # each document's samples minus that document's greedy reward
    close(self_critical_advantages(samples, greedy), [[-0.5, 0.5], [-1.0, 1.0]])


def test_leave_one_out_advantages():
    samples = torch.tensor([[1.0, 2.0, 3.0], [4.0, 4.0, 10.0]])
    # row 0: 1 - (2+3)/2 = -1.5; 2 - (1+3)/2 = 0; 3 - (1+2)/2 = 1.5
    # row 1: 4 - (4+10)/2 = -3;  4 - 7 = -3;       10 - (4+4)/2 = 6
    close(leave_one_out_advantages(samples), [[-1.5, 0.0, 1.5], [-3.0, -3.0, 6.0]])


def test_leave_one_out_advantages_sum_to_zero_and_ignore_a_shared_offset():
    torch.manual_seed(0)
    samples = torch.randn(3, 4)
    adv = leave_one_out_advantages(samples)
    # r_i - mean_{j != i} r_j = k/(k-1) (r_i - mean r): they sum to 0 per document, and a constant shift cancels
    close(adv.sum(1), [0.0, 0.0, 0.0], atol=1e-6, rtol=0)
    close(adv, 4 / 3 * (samples - samples.mean(1, keepdim=True)))
    close(leave_one_out_advantages(samples + 7.0), adv, atol=1e-5, rtol=0)


def test_leave_one_out_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        leave_one_out_advantages(torch.tensor([[1.0], [2.0]]))


def test_best_of_k_advantages_mark_each_documents_top_sample():
    samples = torch.tensor([[1.0, 3.0, 2.0], [-4.0, -5.0, -6.0]])
    # row 0: the second sample is best; row 1: the first (rewards' sign and scale do not matter)
    close(best_of_k_advantages(samples), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    close(best_of_k_advantages(samples * 100 - 7), best_of_k_advantages(samples))


def test_best_of_k_advantages_ties_go_first_and_nan_never_wins():
    samples = torch.tensor([[2.0, 2.0, 1.0], [float("nan"), 0.5, 0.7]])
    close(best_of_k_advantages(samples), [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_best_of_k_with_reinforce_is_the_best_samples_negative_log_likelihood():
    logps = torch.tensor([[-1.0, -2.0], [-3.0, -4.0], [-0.5, -0.5], [-6.0, -1.0]])
    mask = torch.tensor([[1, 1], [1, 0], [1, 1], [1, 1]])
    # two documents, two samples each; the best are sample 1 of doc 0 (row 1) and sample 0 of doc 1 (row 2)
    adv = best_of_k_advantages(torch.tensor([[0.1, 0.9], [0.8, 0.2]])).flatten()
    # loss = -(1/4) * ((-3) + (-1)) = 1.0: rows 1 and 2's summed log-probs over their real tokens
    close(reinforce_loss(logps, mask, adv), 1.0)


def test_best_of_k_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        best_of_k_advantages(torch.tensor([[1.0], [2.0]]))


# --------------------------------------------------------------------------------------------------------------------
# REINFORCE


def test_reinforce_loss_value():
    logps = torch.tensor([[-1.0, -2.0, -5.0], [-3.0, -4.0, -6.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    advantages = torch.tensor([2.0, -1.0])
    # sequence log-probs over real tokens: -1 + -2 = -3 and -3
    # loss = -mean(2 * -3, -1 * -3) = -(-6 + 3) / 2 = 1.5
    close(reinforce_loss(logps, mask, advantages), 1.5)


def test_reinforce_loss_treats_advantages_as_constants():
    logps = torch.tensor([[-1.0], [-2.0]], requires_grad=True)
    advantages = torch.tensor([1.0, -1.0], requires_grad=True)
    reinforce_loss(logps, torch.ones(2, 1), advantages).backward()
    assert advantages.grad is None
    # d loss / d logp_n = -advantage_n / n
    close(logps.grad, [[-0.5], [0.5]])


def test_reinforce_step_raises_positive_and_lowers_negative_advantage_actions():
    # a one-step categorical policy over 3 actions, uniform at the start (p = 1/3 each)
    logits = torch.zeros(3, requires_grad=True)
    actions = torch.tensor([0, 1])            # two sampled actions
    advantages = torch.tensor([1.0, -1.0])    # action 0 was good, action 1 bad
    before = torch.softmax(logits, -1).detach()

    logps = torch.log_softmax(logits, -1)[actions][:, None]  # (n=2, t=1)
    loss = reinforce_loss(logps, torch.ones(2, 1), advantages)
    optimizer = torch.optim.SGD([logits], lr=0.5)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    after = torch.softmax(logits, -1).detach()

    # loss = -(ln p_0 - ln p_1) / 2 and d ln p_a / d z = e_a - p, so grad = -(e_0 - e_1) / 2: z_0 up, z_1 down
    assert after[0] > before[0]
    assert after[1] < before[1]
    close(logits.detach(), [0.25, -0.25, 0.0])


def test_reinforce_masked_positions_contribute_nothing():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, requires_grad=True)  # (n, t, V)
    labels = torch.tensor([[1, 2, 3], [0, 1, 2]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    advantages = torch.tensor([0.7, -1.3])
    loss = reinforce_loss(token_logprobs(logits, labels), mask, advantages)
    loss.backward()
    # no gradient reaches the logits of padding positions
    assert torch.equal(logits.grad[0, 2], torch.zeros(4))
    assert torch.equal(logits.grad[1, 1:], torch.zeros(2, 4))
    assert logits.grad[0, :2].abs().sum() > 0 and logits.grad[1, 0].abs().sum() > 0

    # and whatever sits at padding positions (here garbage, even -inf) changes neither value nor gradient
    logps = token_logprobs(logits.detach(), labels)
    garbage = logps.masked_fill(mask == 0, -INF)
    close(reinforce_loss(garbage, mask, advantages), loss.detach())
    g = garbage.clone().requires_grad_(True)
    reinforce_loss(g, mask, advantages).backward()
    assert torch.isfinite(g.grad).all()
    assert torch.equal(g.grad[mask == 0], torch.zeros(3))


# --------------------------------------------------------------------------------------------------------------------
# discriminator


def test_discriminator_loss_at_zero_logits_is_ln2():
    # sigmoid(0) = 1/2 on both sides: each BCE is -ln(1/2) = ln 2, and so is their mean
    close(discriminator_loss(torch.zeros(2), torch.zeros(3)), math.log(2.0))


def test_discriminator_loss_hand_value():
    # real logit ln 3 -> P(human) = 3/4 -> -ln(3/4); fake logit ln 3 -> -ln(1 - 3/4) = ln 4
    expected = 0.5 * (-math.log(0.75) + math.log(4.0))
    close(discriminator_loss(torch.tensor([LN3]), torch.tensor([LN3])), expected)


def test_discriminator_loss_sign_behaviour():
    right = discriminator_loss(torch.tensor([5.0, 6.0]), torch.tensor([-5.0, -6.0, -7.0]))
    wrong = discriminator_loss(torch.tensor([-5.0, -6.0]), torch.tensor([5.0, 6.0, 7.0]))
    assert right < 0.01 < math.log(2.0) < wrong

    real = torch.zeros(1, requires_grad=True)
    fake = torch.zeros(1, requires_grad=True)
    discriminator_loss(real, fake).backward()
    # d/dx BCE(x, 1) = sigmoid(x) - 1 = -1/2 and d/dx BCE(x, 0) = sigmoid(x) = 1/2, halved by the 0.5 * (...):
    # descending raises real logits and lowers fake ones
    close(real.grad, [-0.25])
    close(fake.grad, [0.25])


# --------------------------------------------------------------------------------------------------------------------
# reward weighting (RewardSet.score) with stub scorers


class StubScorer:
    def __init__(self, name: str, weight: float, values: list[float]) -> None:
        self.name, self.weight, self.values, self.calls = name, weight, values, 0

    def __call__(self, documents, summaries) -> torch.Tensor:
        self.calls += 1
        return torch.tensor(self.values)


def test_score_is_the_weighted_sum_and_skips_zero_weights():
    a = StubScorer("reconstruction", 1.0, [1.0, 2.0])
    b = StubScorer("discriminator", 0.5, [4.0, -2.0])
    off = StubScorer("off", 0.0, [100.0, 100.0])
    total, parts = RewardSet([a, b, off]).score(documents=None, summaries=None)
    # 1 * [1, 2] + 0.5 * [4, -2] = [3, 1]; the zero-weight scorer is neither called nor reported
    close(total, [3.0, 1.0])
    assert set(parts) == {"reconstruction", "discriminator"}
    close(parts["discriminator"], [4.0, -2.0])  # unweighted
    assert (a.calls, b.calls, off.calls) == (1, 1, 0)


def test_score_with_every_weight_zero_is_zero_per_summary():
    from seq2seq2seq.types import Summaries

    off = StubScorer("off", 0.0, [100.0, 100.0])
    ids = torch.tensor([[5, 1], [6, 1]])
    total, parts = RewardSet([off]).score(documents=None, summaries=Summaries(ids, torch.ones_like(ids)))
    close(total, [0.0, 0.0])
    assert parts == {} and off.calls == 0


def test_length_reward_counts_words_beyond_the_target_by_hand():
    from seq2seq2seq.rewards.lexical import LengthReward
    from seq2seq2seq.types import Summaries

    # vocabulary of 6: ids 2, 3 start words, 4, 5 continue them; 1 is end-of-sentence
    word_start = torch.tensor([False, False, True, True, False, False])
    ids = torch.tensor([[2, 4, 3, 2, 1, 0],    # 3 words
                        [2, 3, 2, 3, 2, 1],    # 5 words
                        [3, 5, 5, 1, 0, 0]])   # 1 word
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    reward = LengthReward(word_start, target_words=3, weight=0.5)(None, Summaries(ids, mask))
    assert reward.tolist() == [0.0, -2.0, 0.0]
    # padding after the end does not count, even where the pad id would be a word start
    padded = Summaries(torch.tensor([[2, 1, 2, 2, 2, 2]]), torch.tensor([[1, 1, 0, 0, 0, 0]]))
    assert LengthReward(word_start, target_words=0, weight=1.0)(None, padded).tolist() == [-1.0]
    # two-sided: the distance to 3 words either way (3, 5, 1 words -> 0, -2, -2)
    assert LengthReward(word_start, 3, 0.5, two_sided=True)(None, Summaries(ids, mask)).tolist() == [0.0, -2.0, -2.0]


def test_weighted_mean_logprob_by_hand():
    from seq2seq2seq.losses import weighted_mean_logprob

    # V = 2, uniform logits: every token has log-prob log(1/2); a second row puts log-probs log(0.8), log(0.2)
    logits = torch.zeros(2, 3, 2)
    logits[1, :, 0] = math.log(4.0)  # softmax([log 4, 0]) = [0.8, 0.2]
    labels = torch.tensor([[0, 1, 0], [0, 1, 1]])
    weights = torch.tensor([[1.0, 3.0, 0.0], [2.0, 1.0, 1.0]])
    out = weighted_mean_logprob(logits, labels, weights)
    # row 0: (1 + 3) * log 0.5 / 4 = log 0.5 (the zero-weight token does not count)
    # row 1: (2 log 0.8 + log 0.2 + log 0.2) / 4
    expected = torch.tensor([math.log(0.5), (2 * math.log(0.8) + 2 * math.log(0.2)) / 4])
    torch.testing.assert_close(out, expected)


# --------------------------------------------------------------------------------------------------------------------
# conditional_gumbel_softmax (straight-through Gumbel-softmax for tokens already sampled)


def test_conditional_gumbel_softmax_hand_values() -> None:
    # probs [1/4, 3/4], token 0 sampled, u = [1/2, 1/2], temperature 1:
    # z_0 = -log(-log 1/2) = -log(ln 2);  z_1 = -log(ln 2 / (3/4) + exp(-z_0)) = -log(4 ln 2 / 3 + ln 2) = -log(7 ln 2 / 3)
    # soft = softmax(z) = [ln2, 7 ln2 / 3]^-1 normalised = [1/ln2, 3/(7 ln2)] / (1/ln2 + 3/(7 ln2)) = [7/10, 3/10]
    logits = torch.tensor([[[0.0, LN3]]], requires_grad=True)
    out = conditional_gumbel_softmax(logits, torch.tensor([[0]]), 1.0, uniform=torch.full((1, 1, 2), 0.5))
    close(out.detach(), [[[1.0, 0.0]]])  # forward: exactly the sampled one-hot
    z = conditional_gumbel_logits(logits.detach(), torch.tensor([[0]]), uniform=torch.full((1, 1, 2), 0.5))
    close(torch.softmax(z, -1), [[[0.7, 0.3]]])
    # backward: the gradient of the relaxed sample. With p1 = sigmoid(a), a = logit_1 - logit_0:
    # z_1 - z_0 = -log(ln2 / p1 + ln2) + log(ln2) = -log(1/p1 + 1), so soft_1 = sigmoid(z_1 - z_0) = p1 / (1 + 2 p1)
    (out * torch.tensor([0.0, 1.0])).sum().backward()
    # d soft_1 / d a = (dp1/da) / (1 + 2 p1)^2 = p1 (1 - p1) / (1 + 2 p1)^2 = (3/16) / (25/4) = 3/100
    close(logits.grad, [[[-0.03, 0.03]]])


def test_conditional_gumbel_noise_gives_the_unconditional_relaxation_on_average() -> None:
    # drawing the token first and then the noise given it is the same as drawing plain Gumbel noise (REBAR): the
    # relaxed samples' mean matches E[softmax((log p + g) / tau)], and the perturbed maximum is always the token
    torch.manual_seed(0)
    n, tau = 200_000, 0.7
    logps = torch.log(torch.tensor([0.2, 0.5, 0.3])).expand(n, 1, 3)
    labels = torch.multinomial(logps[:, 0].exp(), 1)  # (n, 1)
    z = conditional_gumbel_logits(logps, labels)
    assert torch.equal(z.argmax(-1), labels)
    gumbel = -torch.log(-torch.log(torch.rand(n, 1, 3)))
    expected = torch.softmax((logps + gumbel) / tau, -1).mean((0, 1))
    torch.testing.assert_close(torch.softmax(z / tau, -1).mean((0, 1)), expected, atol=0.005, rtol=0)


def test_conditional_gumbel_softmax_forbidden_tokens_get_no_weight_and_no_nan() -> None:
    logits = torch.tensor([[[0.0, -INF, LN3], [-INF, 0.0, 0.0]]], requires_grad=True)
    labels = torch.tensor([[2, 1]])
    out = conditional_gumbel_softmax(logits, labels, 0.5)
    close(out.detach(), [[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]])
    (out * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[0, 0, 1] == 0 and logits.grad[0, 1, 0] == 0
