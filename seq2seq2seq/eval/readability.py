"""How readable summaries look to a judge: a trained discriminator's probability that each is human-written, and
the share that repeat no word (a repeated word is the commonest disfluency of an untrained G).

The benchmark reports it beside ROUGE for every system and for the human references; judged by the same D, the
references' row and a model's row together give the judge's held-out accuracy on human vs that model's text.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seq2seq2seq.data import tokenize
from seq2seq2seq.models.build import discriminator_logits


def readability(summaries: list[str], judge: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> dict[str, float]:
    """``d_human_prob``: the judge's mean P(human) in %; ``d_judged_human``: the share (%) with P(human) > 0.5;
    ``no_repeated_word``: the share (%) of summaries that repeat no word. ``tokenizer`` is the judge's own (a
    warm-started D saves it beside its weights; older exports read G's)."""
    probs = []
    # as long a sentence as the judge learned on (a warm-started D's export records it; older ones read 48 tokens)
    limit = getattr(judge.config, "max_tokens", 48)
    with torch.no_grad():
        for i in range(0, len(summaries), 256):
            ids, mask = tokenize(tokenizer, [s or tokenizer.eos_token or "" for s in summaries[i:i + 256]], limit)
            probs += torch.sigmoid(discriminator_logits(judge, ids, mask)).tolist()
    no_repeat = [len(set(s.split())) == len(s.split()) for s in summaries]
    n = max(len(probs), 1)
    return {"d_human_prob": 100 * sum(probs) / n, "d_judged_human": 100 * sum(p > 0.5 for p in probs) / n,
            "no_repeated_word": 100 * sum(no_repeat) / max(len(no_repeat), 1)}


def readability_table(rows: dict[str, dict[str, float]]) -> str:
    """One markdown row per system of :func:`readability`'s figures; "judged human" is the share with P(human) >
    0.5, so the human references' row and any model's row together give the judge's held-out accuracy on human vs
    that model's text."""
    lines = ["| system | D: P(human) % | D: judged human % | summaries with no repeated word % |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {r['d_human_prob']:.1f} | {r.get('d_judged_human', float('nan')):.1f} | "
              f"{r['no_repeated_word']:.1f} |" for name, r in rows.items()]
    return "\n".join(lines)
