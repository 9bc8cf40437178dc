"""The language setting: normalisation per language, ROUGE per language, the wrong-setting warning, the setting
recorded in the manifest and the exports, and Chinese and French end to end (data_prep -> tiny training ->
summarize -> ROUGE) on small corpora written here."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import TINY_CONFIG

from data_prep.__main__ import main as data_prep_main
from data_prep.common import DataPrepError
from data_prep.corpus import Recipe
from seq2seq2seq import language as lang
from seq2seq2seq.checkpoint import DECODING_FILE
from seq2seq2seq.corpus_files import iter_texts
from seq2seq2seq.data import corpus_language, load_corpus
from seq2seq2seq.eval.baselines import lead_baseline
from seq2seq2seq.eval.rouge import score_summaries
from seq2seq2seq.inference import cli as summarize
from seq2seq2seq.inference.api import export_language
from seq2seq2seq.normalize import NORMALIZER_NAME, normalize, normalizer_info

HAS_JIEBA = lang._load_jieba() is not None

# --- the small corpora ---------------------------------------------------------------------------------------------

ZH_WORDS = ["经济", "增长", "北京", "上海", "政府", "发布", "数据", "公司", "市场", "银行", "记者", "表示", "国家", "企业",
            "投资", "人民", "发展", "改革", "城市", "农村", "学生", "学校", "医院", "医生", "工人", "工厂", "科学家",
            "研究", "技术", "产品", "价格", "消费者", "出口", "进口", "旅游", "文化", "体育", "比赛", "球队", "天气",
            "暴雨", "交通", "铁路", "机场", "航班", "电力", "能源", "环境", "污染", "保护"]
ZH_FILLERS = ["的", "了", "在", "和"]
FR_SUBJECTS = ["Le maire", "Une société française", "Le ministère de l'Économie", "Les élèves", "La mairie",
               "Un médecin", "Le club de football", "Trois pêcheurs", "La préfecture", "Une célèbre chanteuse"]
FR_VERBS = ["annonce", "rejette", "célèbre", "critique", "reporte", "approuve", "prépare", "présente"]
FR_OBJECTS = ["un nouveau projet pour le port", "le budget de l'année prochaine", "la construction d'un pont",
              "les résultats de l'élection", "un rapport sur la pollution", "la hausse du prix du café",
              "une fête à Strasbourg", "des mesures contre la sécheresse"]
FR_PLACES = ["à Paris", "près de Lyon", "dans les Alpes", "à Besançon", "dans un village", "à Marseille"]


def zh_text(rng: random.Random, n_words: int) -> str:
    """Raw Chinese as written: no spaces, a comma and a full stop."""
    words = [rng.choice(ZH_WORDS) if i % 3 else rng.choice(ZH_WORDS) + rng.choice(ZH_FILLERS)
             for i in range(n_words)]
    cut = n_words // 2
    return "".join(words[:cut]) + "，" + "".join(words[cut:]) + "。"


def fr_text(rng: random.Random, i: int) -> str:
    return (f"{rng.choice(FR_SUBJECTS)} {rng.choice(FR_VERBS)} {rng.choice(FR_OBJECTS)} {rng.choice(FR_PLACES)} "
            f"le {i % 28 + 1} août, après {rng.choice(FR_OBJECTS)}.")


def fr_title(rng: random.Random) -> str:
    return f"{rng.choice(FR_SUBJECTS)} {rng.choice(FR_VERBS)} {rng.choice(FR_OBJECTS)}"


def write_sources(folder: Path, language: str) -> list[str]:
    """documents.txt, titles.txt, dev.jsonl of a few hundred short texts; returns the data_prep source flags."""
    rng = random.Random(0)
    if language == "zh":
        docs = [zh_text(rng, rng.randint(12, 20)) for _ in range(240)]
        titles = [zh_text(rng, rng.randint(4, 7)) for _ in range(120)]
        dev = [{"document": zh_text(rng, 14), "summary": zh_text(rng, 4)} for _ in range(20)]
        # references made of their document's own words: a summary of document words can match them
        for row in dev:
            row["summary"] = row["document"][:8]
    else:
        docs = [fr_text(rng, i) for i in range(240)]
        titles = [fr_title(rng) for _ in range(120)]
        dev = [{"document": fr_text(rng, 500 + i), "summary": fr_title(rng)} for i in range(20)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "documents.txt").write_text("".join(d + "\n" for d in docs), encoding="utf-8")
    (folder / "titles.txt").write_text("".join(t + "\n" for t in titles), encoding="utf-8")
    (folder / "dev.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in dev),
                                      encoding="utf-8")
    return ["--source", "none", "--documents-file", str(folder / "documents.txt"),
            "--sentences-file", str(folder / "titles.txt"), "--dev-file", str(folder / "dev.jsonl")]


def build(folder: Path, language: str, *extra: str) -> int:
    return data_prep_main(["--out", str(folder / "corpus"), "--vocab-size", "400", "--min-document-words", "5",
                           *write_sources(folder / "src", language), *extra])


def made_of(text: str, words: set[str]) -> int | None:
    """The fewest words of ``words`` whose concatenation is ``text`` (spaces ignored), the last of which may be cut
    short (a summary that reaches the token cap can stop inside a word); None if there is no such sequence."""
    text = text.replace(" ", "")
    fewest: list[int | None] = [0] + [None] * len(text)
    for end in range(1, len(text) + 1):
        options = [fewest[end - len(w)] for w in words
                   if len(w) <= end and text.endswith(w, 0, end) and fewest[end - len(w)] is not None]
        fewest[end] = min(options) + 1 if options else None
    counts = [n + (k < len(text)) for k, n in enumerate(fewest)
              if n is not None and (k == len(text) or any(w.startswith(text[k:]) for w in words))]
    return min(counts) if counts else None


# --- normalisation -------------------------------------------------------------------------------------------------


def test_en_is_the_default_and_unchanged():
    raw = "The U.S. economy grew 3.5% in 2023, officials said."
    assert normalize(raw) == normalize(raw, "en") == "the u.s. economy grew #.# % in #### , officials said ."
    info = normalizer_info()
    assert info["name"] == NORMALIZER_NAME and info["version"] == "1" and info["language"] == "en"


def test_whitespace_keeps_accents_and_digits():
    text = normalize("Le Café « Straße » coûte 3,50 € à L’Haÿ-les-Roses, aujourd'hui...", "whitespace")
    assert text == "le café « straße » coûte 3,50 € à l' haÿ-les-roses , aujourd' hui ..."
    assert normalize(text, "whitespace") == text  # a fixed point
    assert normalize("हिन्दी भाषा", "whitespace") == "हिन्दी भाषा"  # combining vowel signs stay inside their word


def test_chinese_per_character_without_a_segmenter(monkeypatch):
    monkeypatch.setattr(lang, "_load_jieba", lambda: None)
    lang._segmenter.cache_clear()
    try:
        assert lang.segmenter_name("zh") == "per-character"
        text = normalize("国家统计局发布GDP数据，增长3.5%。", "zh")
        assert text == "国 家 统 计 局 发 布 gdp 数 据 , 增 长 3.5 % 。"
        assert normalize(text, "zh") == text
    finally:
        lang._segmenter.cache_clear()


@pytest.mark.skipif(not HAS_JIEBA, reason="jieba is not installed (pip install jieba)")
def test_chinese_words_with_jieba():
    assert lang.segmenter_name("zh").startswith("jieba")
    assert normalize("国家统计局发布经济数据。", "zh") == "国家统计局 发布 经济 数据 。"
    assert normalizer_info("zh")["segmenter"].startswith("jieba")


def test_japanese_per_character_and_detokenize():
    assert normalize("東京タワーは高い。", "ja") == "東 京 タ ワ ー は 高 い 。"
    assert lang.detokenize("国家 统计局 发布 gdp 3.5 % 数据 。", "zh") == "国家统计局发布gdp 3.5%数据。"
    assert lang.detokenize("le café , fermé", "whitespace") == "le café , fermé"


def test_unknown_language_is_refused():
    with pytest.raises(lang.LanguageError, match="choose one of en, whitespace, zh, ja"):
        normalize("text", "fr")
    with pytest.raises(DataPrepError, match="--language 'fr'.*such as fr, de or es"):
        Recipe(source="none", language="fr")
    with pytest.raises(DataPrepError, match="needs --language en.*--source none"):
        Recipe(source="shared", language="zh")


# --- ROUGE ---------------------------------------------------------------------------------------------------------


def test_rouge_keeps_unicode_letters():
    assert lang.rouge_tokens("Le café, Straße!", "whitespace") == ["le", "café", "straße"]
    # rouge_score's own tokenizer keeps [a-z0-9] only: "café" loses its é and becomes the word "caf"
    assert score_summaries(["café"], ["caf"])["rouge1"] == 100.0
    assert score_summaries(["café"], ["caf"], language="whitespace")["rouge1"] == 0.0
    assert score_summaries(["Café"], ["café"], language="whitespace")["rouge1"] == 100.0
    assert score_summaries(["le café , fermé"], ["Le café est fermé."], language="whitespace")["rouge1"] > 0


def test_chinese_rouge_is_not_zero():
    prediction, reference = "国家 统计局 发布 数据", "国家统计局今天发布经济数据"
    assert score_summaries([prediction], [reference])["rouge1"] == 0.0  # English ROUGE sees no word in either
    chars = score_summaries([prediction], [reference], language="zh")
    assert chars["rouge1"] == pytest.approx(100 * 2 * 9 / (9 + 13))  # 9 of 9 characters, 9 of 13
    assert chars["avg_words"] == 9  # in the ROUGE unit: characters
    assert score_summaries([prediction], [reference], language="zh", cjk_unit="word")["rouge1"] > 0
    document = "国家统计局今天发布数据"
    first_two = normalize(document, "zh").split()[:2]
    assert lead_baseline([document], "lead-2", "zh") == ["".join(first_two)]


def test_evaluate_rouge_script_language_flags(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("evaluate_rouge",
                                                  Path(__file__).parent.parent / "scripts" / "evaluate_rouge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    refs = tmp_path / "refs.txt"
    refs.write_text("国家统计局今天发布经济数据\n", encoding="utf-8")
    preds = tmp_path / "preds.txt"
    preds.write_text("国家统计局发布数据\n", encoding="utf-8")
    assert module.main(["--references", str(refs), "--predictions", str(preds), "--language", "zh"]) == 0
    out = capsys.readouterr().out
    assert "language zh (ROUGE over characters" in out
    assert "| preds  | 81.82 |" in out  # 9 of the 9 characters, 9 of the reference's 13
    assert module.main(["--references", str(refs), "--predictions", str(preds), "--cjk-unit", "word"]) == 2
    assert "--cjk-unit is for --language zh or ja" in capsys.readouterr().err
    assert module.main(["--references", str(refs), "--predictions", str(preds), "--language", "zh",
                        "--backend", "perl"]) == 2
    assert "use --backend python" in capsys.readouterr().err


# --- the wrong setting, and where the setting is recorded -----------------------------------------------------------


def test_chinese_under_english_names_the_setting(tmp_path, capsys):
    code = data_prep_main(["--out", str(tmp_path / "corpus"), "--vocab-size", "400",
                           *write_sources(tmp_path / "src", "zh")])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "corpus").exists()  # no silent empty corpus: an error with the fix
    assert "error: no documents left" in err and "240 documents were dropped as too short" in err
    assert "--language en (English) finds words at spaces only" in err and "--language zh" in err


def test_some_chinese_under_english_warns(tmp_path, capsys):
    flags = write_sources(tmp_path / "src", "fr")
    rng = random.Random(1)
    with (tmp_path / "src" / "documents.txt").open("a", encoding="utf-8") as handle:
        handle.write("".join(zh_text(rng, 30) + "\n" for _ in range(100)))
    assert data_prep_main(["--out", str(tmp_path / "corpus"), "--vocab-size", "400", *flags]) == 0
    err = capsys.readouterr().err
    assert "warning: 100 of the 340 documents read are mostly Chinese" in err and "--language zh" in err
    manifest = json.loads((tmp_path / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["language"] == "en" and len(manifest["warnings"]) == 1


def test_latin_text_under_zh_warns(tmp_path, capsys):
    assert data_prep_main(["--out", str(tmp_path / "corpus"), "--vocab-size", "400", "--language", "zh",
                           *write_sources(tmp_path / "src", "fr")]) == 0
    err = capsys.readouterr().err
    assert "none of the 240 documents read has Chinese or Japanese characters" in err
    manifest = json.loads((tmp_path / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    assert any("--language whitespace" in w for w in manifest["warnings"])


def test_old_corpus_and_old_export_mean_english(tmp_path):
    assert corpus_language(tmp_path) == ("en", None)  # no manifest (a corpus written by hand, as in conftest)
    (tmp_path / "manifest.json").write_text(json.dumps({"tool": "data_prep", "recipe": {}}), encoding="utf-8")
    assert corpus_language(tmp_path) == ("en", None)  # built before the setting existed
    (tmp_path / DECODING_FILE).write_text(json.dumps({"max_summary_tokens": 8}), encoding="utf-8")
    assert export_language(tmp_path) == ("en", [])


def test_export_segmented_otherwise_warns(tmp_path):
    (tmp_path / DECODING_FILE).write_text(json.dumps({"language": "zh", "normalizer": {"segmenter": "nothing-here"}}),
                                          encoding="utf-8")
    language, notes = export_language(tmp_path)
    assert language == "zh" and len(notes) == 1 and "segmented with nothing-here" in notes[0]


# --- end to end ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["zh", "whitespace"])
def trained(request, tmp_path_factory) -> tuple[str, Path, Path]:
    """(language, corpus, run) after data_prep and a tiny training run whose G copies whole document words."""
    from seq2seq2seq.train.cli import main as train_main

    language = request.param
    folder = tmp_path_factory.mktemp(f"lang_{language}")
    assert build(folder, "zh" if language == "zh" else "fr", "--language", language) == 0
    run = folder / "run"
    # documents fit whole (up to 73 tokens here): a document cut after a lone "▁" piece would offer G an empty word
    assert train_main(["--config", str(TINY_CONFIG), "--data_dir", str(folder / "corpus"), "--output_dir", str(run),
                       "--model.max_document_tokens", "96", "--decoding.source_only", "true",
                       "--decoding.whole_words", "true"]) == 0
    return language, folder / "corpus", run


def test_corpus_and_exports_record_the_language(trained):
    language, corpus, run = trained
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["language"] == manifest["recipe"]["language"] == manifest["normalizer"]["language"] == language
    assert manifest["warnings"] == []
    loaded = load_corpus(corpus)
    assert loaded.language == language
    documents = list(iter_texts(corpus, "documents"))
    assert all(normalize(d, language) == d for d in documents[:20])
    if language == "zh":
        assert all(" " in d and lang.cjk_share(d) > 0.8 for d in documents)  # segmented Chinese
    else:
        assert any("café" in d or "économie" in d for d in documents)  # accents kept
    for export in ("final", "best"):
        settings = json.loads((run / export / "summarizer" / DECODING_FILE).read_text(encoding="utf-8"))
        assert settings["language"] == language and settings["normalizer"]["language"] == language
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    assert results["best"]["dev/rouge1"] > 0  # dev ROUGE in the corpus's language: Chinese is 0 under en


def test_summaries_are_document_words_and_score(trained, tmp_path, capsys):
    language, corpus, run = trained
    pairs = [json.loads(line) for line in (corpus / "dev.jsonl").open(encoding="utf-8")]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": i, "document": p["document"]}, ensure_ascii=False) + "\n"
                              for i, p in enumerate(pairs)), encoding="utf-8")
    for max_words in (None, 3):
        out = tmp_path / f"out{max_words}.jsonl"
        flags = ["--max-words", str(max_words)] if max_words else []
        assert summarize.main(["--model", str(run), "--input", str(source), "--output", str(out), "--quiet",
                               *flags]) == 0
        summaries = [json.loads(line)["summary"] for line in out.open(encoding="utf-8")]
        assert len(summaries) == len(pairs) and all(summaries)
        for pair, summary in zip(pairs, summaries):
            words = set(normalize(pair["document"], language).split())
            if language == "zh":
                assert " " not in summary  # shown without the spaces between Chinese words
                count = made_of(summary, words)
                assert count is not None, (summary, words)  # a sequence of the document's own words
            else:
                *whole, last = summary.split()
                assert set(whole) <= words and any(w.startswith(last) for w in words), (summary, words)
                count = len(whole) + 1
            assert max_words is None or count <= max_words
    capsys.readouterr()
    import importlib.util

    spec = importlib.util.spec_from_file_location("evaluate_rouge",
                                                  Path(__file__).parent.parent / "scripts" / "evaluate_rouge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scores = tmp_path / "rouge.json"
    assert module.main(["--references", str(corpus / "dev.jsonl"), "--predictions", str(tmp_path / "outNone.jsonl"),
                        "--language", language, "--json", str(scores)]) == 0
    assert json.loads(scores.read_text(encoding="utf-8"))["outNone"]["rouge1"] > 0


def test_pipeline_follows_the_export_language(trained, tmp_path):
    import transformers

    from seq2seq2seq.inference.hf_pipeline import register

    register()  # the "seq2seq2seq-summarization" task
    language, corpus, run = trained
    documents = [json.loads(line)["document"] for line in (corpus / "dev.jsonl").open(encoding="utf-8")][:4]
    source, out = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("".join(d + "\n" for d in documents), encoding="utf-8")
    assert summarize.main(["--model", str(run), "--input", str(source), "--output", str(out), "--quiet",
                           "--max-words", "3"]) == 0
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(run / "final" / "summarizer"))
    assert pipe.language == language
    expected = out.read_text(encoding="utf-8").splitlines()
    assert [r["summary_text"] for r in pipe(documents, max_words=3)] == expected
