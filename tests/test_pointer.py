"""The copy (pointer) BART: the mixture by hand, copying without constraints, beam search, export and reload."""

import math

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from seq2seq2seq.config import ConfigError, ModelConfig
from seq2seq2seq.models.build import build_seq2seq
from seq2seq2seq.models.pointer import PointerBartForConditionalGeneration, pointer_mixture, pointer_mixture_at_source


class StandInTokenizer:
    pad_token_id, eos_token_id, bos_token_id = 0, 1, 3

    def __len__(self) -> int:
        return 40


def tiny_pointer(seed: int = 0) -> PointerBartForConditionalGeneration:
    torch.manual_seed(seed)
    cfg = ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64, dropout=0.0,
                      pointer=True, max_document_tokens=16)
    return build_seq2seq(cfg, StandInTokenizer()).eval()


SOURCE = torch.tensor([[5, 9, 12, 7, 1], [20, 33, 1, 0, 0]])


def test_pointer_mixture_by_hand():
    # V=4; generation is uniform (0.25 each); copy attention over sources [2, 3, 1(masked)] is softmax([0, log 3])
    # = [0.25, 0.75]; the gate is sigmoid(0) = 0.5
    lm_logits = torch.zeros(1, 1, 4)
    copy_scores = torch.tensor([[[0.0, math.log(3.0), 5.0]]])
    gate = torch.zeros(1, 1, 1)
    out = pointer_mixture(lm_logits, copy_scores, gate, torch.tensor([[2, 3, 1]]), torch.tensor([[1, 1, 0]]))
    expected = torch.tensor([0.125, 0.125, 0.125 + 0.5 * 0.25, 0.125 + 0.5 * 0.75]).log()
    torch.testing.assert_close(out[0, 0], expected)
    # repeated source tokens pool their attention
    out = pointer_mixture(lm_logits, torch.zeros(1, 1, 2), torch.full((1, 1, 1), -1e4), torch.tensor([[2, 2]]),
                          torch.ones(1, 2))
    assert out[0, 0].exp()[2].item() == pytest.approx(1.0)



def test_pointer_mixture_stays_exact_where_probabilities_underflow():
    # the gate is sigmoid(-200): in probability space g is 0 in float32; in log space a piece outside the source has
    # log g + log(1/3) = -200 - log 3, and the source's piece log(1 - g + g/3) = 0 (to float precision)
    lm_logits = torch.zeros(1, 1, 3, requires_grad=True)
    gate = torch.full((1, 1, 1), -200.0, requires_grad=True)
    out = pointer_mixture(lm_logits, torch.zeros(1, 1, 2), gate, torch.tensor([[2, 0]]), torch.tensor([[1, 0]]))
    expected = torch.tensor([-200.0 - math.log(3.0), -200.0 - math.log(3.0), 0.0])
    torch.testing.assert_close(out[0, 0], expected)
    out[0, 0, 0].backward()  # the padded source position (no copy probability) leaves the gradient finite
    assert torch.isfinite(lm_logits.grad).all() and torch.isfinite(gate.grad).all()


def test_pointer_mixture_and_its_gradient_equal_the_probability_space_formula():
    # a repeated piece (4 at positions 0 and 2, 3 at 0 and 1) and padding: the log-space mixture must give the same
    # values and the same gradients as log(g softmax(l) + (1 - g) copy), a repeat's gradient counted once
    torch.manual_seed(0)
    ids = torch.tensor([[4, 5, 4, 7, 0], [3, 3, 9, 0, 0]])
    mask = (ids != 0).long()
    inputs = [torch.randn(2, 3, 11, requires_grad=True), torch.randn(2, 3, 5, requires_grad=True),
              torch.randn(2, 3, 1, requires_grad=True)]
    weights = torch.randn(2, 3, 11)

    def reference(lm_logits, copy_scores, gate_logits):
        attention = copy_scores.masked_fill(mask[:, None, :] == 0, float("-inf")).softmax(-1)
        copy = torch.zeros(2, 3, 11).scatter_add(2, ids[:, None, :].expand(-1, 3, -1), attention)
        gate = torch.sigmoid(gate_logits)
        return (gate * lm_logits.softmax(-1) + (1 - gate) * copy).log()

    got = pointer_mixture(*inputs, ids, mask)
    got_grads = torch.autograd.grad((got * weights).sum(), inputs)
    want = reference(*inputs)
    want_grads = torch.autograd.grad((want * weights).sum(), inputs)
    torch.testing.assert_close(got, want)
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w)

def test_pointer_mixture_at_source_reads_the_mixture_at_the_sources_pieces():
    # by hand (the by-hand case above): sources [2, 3, 1 (masked)] have log(0.25), log(0.5) and, padding, log(1/8)
    at_source = pointer_mixture_at_source(torch.zeros(1, 1, 4), torch.tensor([[[0.0, math.log(3.0), 5.0]]]),
                                          torch.zeros(1, 1, 1), torch.tensor([[2, 3, 1]]), torch.tensor([[1, 1, 0]]))
    torch.testing.assert_close(at_source[0, 0], torch.tensor([0.25, 0.5, 0.125]).log())
    # random inputs with repeats and padding: the full mixture gathered at the source's pieces
    torch.manual_seed(1)
    ids = torch.tensor([[4, 5, 4, 7, 0], [3, 3, 9, 0, 0]])
    mask = (ids != 0).long()
    inputs = (torch.randn(2, 3, 11) * 3, torch.randn(2, 3, 5), torch.randn(2, 3, 1))
    full = pointer_mixture(*inputs, ids, mask)
    torch.testing.assert_close(pointer_mixture_at_source(*inputs, ids, mask),
                               full.gather(2, ids[:, None, :].expand(-1, 3, -1)))


def test_a_copying_model_emits_only_source_tokens_without_any_constraint():
    model = tiny_pointer()
    with torch.no_grad():
        model.copy_gate.bias.fill_(-30.0)  # never generate from the vocabulary
        out = model.generate(input_ids=SOURCE, attention_mask=(SOURCE != 0).long(), max_new_tokens=6,
                             do_sample=True, min_new_tokens=6)
    for row, source in zip(out[:, 1:].tolist(), SOURCE.tolist()):
        assert set(row) <= set(source) - {0}, (row, source)


def test_forward_returns_normalised_log_probs_and_a_loss():
    model = tiny_pointer()
    labels = torch.tensor([[9, 12, 1], [33, 1, -100]])
    out = model(input_ids=SOURCE, attention_mask=(SOURCE != 0).long(), labels=labels)
    torch.testing.assert_close(out.logits.exp().sum(-1), torch.ones(2, 3))
    real = labels != -100
    expected = -out.logits.gather(-1, labels.clamp(min=0)[..., None])[..., 0][real].mean()
    torch.testing.assert_close(out.loss, expected)
    out.loss.backward()
    assert model.copy_query.weight.grad.abs().sum() > 0 and model.copy_gate.weight.grad.abs().sum() > 0


def test_beam_search_and_export_reload(tmp_path):
    model = tiny_pointer()
    beams = model.generate(input_ids=SOURCE, attention_mask=(SOURCE != 0).long(), num_beams=3, max_new_tokens=5,
                           do_sample=False)
    assert beams.shape[0] == 2
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, PointerBartForConditionalGeneration)
    decoder = torch.tensor([[3, 9, 12], [3, 33, 1]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=SOURCE, decoder_input_ids=decoder).logits,
                                   model(input_ids=SOURCE, decoder_input_ids=decoder).logits)


def test_generate_without_source_is_a_clear_error():
    with pytest.raises(ValueError, match="source token ids"):
        tiny_pointer().generate(max_new_tokens=2)


def test_pointer_needs_bart():
    with pytest.raises(ConfigError, match="model.pointer"):
        ModelConfig(arch="t5", pointer=True)


def test_cached_decoding_uses_the_cache_api_without_deprecation_warnings():
    # transformers deprecates passing `past_key_values` next to its `cache`: one FutureWarning per decoding step
    # before the fix; and the cache must give the same summaries as decoding without it
    import warnings

    model = tiny_pointer()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        cached = model.generate(input_ids=SOURCE, max_new_tokens=6, do_sample=False)
    uncached = model.generate(input_ids=SOURCE, max_new_tokens=6, do_sample=False, use_cache=False)
    assert torch.equal(cached, uncached)
