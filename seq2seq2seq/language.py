"""The language setting: how text is split into words, for languages other than English.

Everything after normalisation (word filters, pseudo-summaries, the tokenizer's word starts ``▁``, whole-word
decoding, the length prior, ``--max-words``) works on space-separated words. So the language decides the
normaliser, and the normaliser puts a space between words, also where the language writes none:

- ``en`` (the default): the English PTB normaliser of :mod:`seq2seq2seq.normalize` (lowercase, digits as ``#``).
- ``whitespace``: any language written with spaces (French, German, Spanish, ...): NFKC, lowercase, punctuation
  split off; Unicode letters, accents and digits kept as they are (no ``#`` masking).
- ``zh``, ``ja``: as ``whitespace``, and every run of Chinese or Japanese characters segmented into words: with
  jieba for ``zh`` when it is installed (``pip install seq2seq2seq[zh]``), else one character a word.

Text that the model writes keeps those spaces until it is shown: :func:`detokenize` removes them around CJK
characters. ROUGE splits text with :class:`RougeTokenizer`: Unicode letters kept, characters (or segmented
words) as units for CJK. See docs/data.md and docs/evaluation.md.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Callable
from typing import Any

import regex

LANGUAGES = ("en", "whitespace", "zh", "ja")
DEFAULT_LANGUAGE = "en"
CJK_LANGUAGES = ("zh", "ja")
ROUGE_UNITS = ("char", "word")

NORMALIZER_NAME = "seq2seq2seq.language"
# Bump when the output of normalize_text() changes for any input: the corpus manifest and exports record it.
NORMALIZER_VERSION = "1"
NORMALIZER_DESCRIPTION = (
    "NFKC; control and format characters removed; typographic apostrophes to '; lowercase; words are runs of "
    "Unicode letters, marks and digits (hyphens inside, a final elision apostrophe kept: l' économie), numbers keep "
    "their . and , (3,5); every other character is its own token (repeats kept together: ...); no digit masking"
)
CJK_DESCRIPTION = "; runs of Han, Hiragana and Katakana characters segmented into words ({segmenter})"

# Han, Hiragana, Katakana and the prolonged sound mark (script Common, but only ever inside Japanese words)
_CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\u30fc"
_CJK_RUN = regex.compile(rf"[{_CJK_CLASS}]+")
_CJK_CHAR = regex.compile(rf"[{_CJK_CLASS}]")
# a letter, mark or digit that is not CJK (V1: set difference)
_WORD_CHAR = rf"[[\p{{L}}\p{{M}}\p{{N}}]--[{_CJK_CLASS}]]"
_TOKEN = regex.compile(
    rf"(?P<cjk>[{_CJK_CLASS}]+)"
    r"|\p{N}+(?:[.,]\p{N}+)+"  # 3,5 and 1.000.000 stay one number
    rf"|{_WORD_CHAR}+(?:-{_WORD_CHAR}+)*'?"  # peut-être; l' (an elision keeps its apostrophe)
    r"|(?P<p>[^\p{L}\p{M}\p{N}\s])(?P=p)*",  # punctuation and symbols, one token per run of the same character
    flags=regex.V1,
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})
# a space survives detokenize() only between two letters or digits of a script written with spaces
_CJK_SPACE = regex.compile(rf"(?<!{_WORD_CHAR}) | (?!{_WORD_CHAR})", flags=regex.V1)
_ROUGE_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
_ROUGE_CJK = regex.compile(rf"[{_CJK_CLASS}]|{_WORD_CHAR}+", flags=regex.V1)


class LanguageError(ValueError):
    """An unknown language setting; the message lists the known ones."""


def check_language(language: str, what: str = "language") -> str:
    """``language`` if it is one of :data:`LANGUAGES`; else LanguageError naming the choices."""
    if language not in LANGUAGES:
        raise LanguageError(f"{what} {language!r} is not a known language setting; choose one of "
                            f"{', '.join(LANGUAGES)} (en: English; whitespace: any language written with spaces, "
                            f"such as fr, de or es; zh, ja: Chinese, Japanese)")
    return language


# --- segmentation ------------------------------------------------------------------------------------------------


def _load_jieba() -> Any | None:
    """The jieba module, quiet, or None when it is not installed."""
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict ..." lines on every start
    return jieba


@functools.cache
def _segmenter(language: str) -> tuple[str, Callable[[str], list[str]]]:
    """(name, function splitting a run of CJK characters into words) for ``language``."""
    if language == "zh":
        jieba = _load_jieba()
        if jieba is not None:
            return f"jieba {getattr(jieba, '__version__', '?')}", jieba.lcut
    if language in CJK_LANGUAGES:
        return "per-character", list
    return "none", lambda run: [run]


def segmenter_name(language: str) -> str:
    """Which segmenter splits CJK text for ``language`` here: ``"jieba 0.42.1"``, ``"per-character"`` or
    ``"none"`` (no segmentation: en and whitespace)."""
    return _segmenter(check_language(language))[0]


def segment(run: str, language: str) -> list[str]:
    """A run of CJK characters as words (jieba for zh when installed, else one character a word)."""
    return [word for word in _segmenter(language)[1](run) if word.strip()]


# --- normalisation -----------------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """NFKC, no control or format characters (whitespace controls become spaces), single spaces."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(text.split())


def tokens(text: str, language: str) -> list[str]:
    """The words and punctuation of already cleaned, lowercased text; CJK runs segmented for zh and ja."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        if match.group("cjk") is not None and language in CJK_LANGUAGES:
            out.extend(segment(match.group(), language))
        else:
            out.append(match.group())
    return out


def normalize_text(text: str, language: str) -> str:
    """Raw text to the space-separated word form of a language other than ``en`` (see the module docstring).

    >>> normalize_text("Le café « Straße » coûte 3,50 €.", "whitespace")
    'le café « straße » coûte 3,50 € .'
    """
    check_language(language)
    if language == "en":
        raise LanguageError("normalize_text() is for the languages other than en; use seq2seq2seq.normalize.normalize")
    return " ".join(tokens(clean(text).translate(_APOSTROPHES).lower(), language))


def normalizer_info(language: str) -> dict[str, str]:
    """What the manifest and the exports record about the normaliser of a language other than ``en``."""
    segmenter = segmenter_name(language)
    description = NORMALIZER_DESCRIPTION
    if language in CJK_LANGUAGES:
        description += CJK_DESCRIPTION.format(segmenter=segmenter)
    return {"name": NORMALIZER_NAME, "version": NORMALIZER_VERSION, "language": language, "segmenter": segmenter,
            "description": description}


def segmenter_note(recorded: dict[str, Any] | None, language: str, where: str) -> str | None:
    """A warning when ``where`` (a corpus or an export) was segmented otherwise than this machine would, else None."""
    if language not in CJK_LANGUAGES or not isinstance(recorded, dict) or "segmenter" not in recorded:
        return None
    saved, here = str(recorded["segmenter"]), segmenter_name(language)
    if saved.split()[0] == here.split()[0]:
        return None
    fix = ("pip install jieba" if saved.startswith("jieba")
           else "run it where jieba is not installed, or rebuild the corpus with jieba and train again")
    return (f"{where} was segmented with {saved}, but here {language} text is segmented {here}: the model reads "
            f"words it was not trained on; {fix}")


# --- output and checks ---------------------------------------------------------------------------------------------


def detokenize(text: str, language: str) -> str:
    """How a summary is shown: for zh and ja without the spaces between words, except between two words of a script
    written with spaces (``gdp 3.5``); other languages unchanged.

    >>> detokenize("国家 统计局 发布 gdp 数据 。", "zh")
    '国家统计局发布gdp数据。'
    """
    if language not in CJK_LANGUAGES:
        return text
    return _CJK_SPACE.sub("", " ".join(text.split()))


def cjk_share(text: str) -> float:
    """The share of the non-space characters of ``text`` that are Chinese or Japanese (0.0 for ASCII text)."""
    # both tests run at C speed: most texts of an English corpus stop at the first one or the second
    if text.isascii() or _CJK_CHAR.search(text) is None:
        return 0.0
    return len(_CJK_CHAR.findall(text)) / max(len("".join(text.split())), 1)


def counts_as_cjk(text: str, language: str) -> bool:
    """Whether ``text`` counts towards :func:`mismatch_warning`'s ``cjk_texts``: mostly CJK under ``en`` and
    ``whitespace``, any CJK character under ``zh`` and ``ja``."""
    share = cjk_share(text)
    return share > 0.0 if language in CJK_LANGUAGES else share >= 0.5


def mismatch_warning(language: str, kind: str, read: int, cjk_texts: int, too_short: int) -> str | None:
    """A warning when the texts do not fit the language setting, else None.

    ``cjk_texts``: how many of the ``read`` texts are mostly CJK (for en and whitespace) or hold any CJK character
    (for zh and ja); ``too_short``: how many were dropped as too short.
    """
    if read == 0:
        return None
    if language not in CJK_LANGUAGES and cjk_texts >= max(1, read // 5):
        setting = "--language en (English)" if language == "en" else f"--language {language}"
        dropped = f"; {too_short} {kind} were dropped as too short" if too_short else ""
        return (f"{cjk_texts} of the {read} {kind} read are mostly Chinese or Japanese characters, but {setting} "
                f"finds words at spaces only, so a Chinese clause counts as one word{dropped}: build the corpus "
                f"with --language zh (Chinese) or --language ja (Japanese)")
    if language in CJK_LANGUAGES and cjk_texts == 0:
        return (f"none of the {read} {kind} read has Chinese or Japanese characters, but --language {language} is "
                f"for Chinese or Japanese text; use --language whitespace for other languages written with "
                f"spaces, or --language en for English")
    return None


# --- ROUGE ---------------------------------------------------------------------------------------------------------


def check_rouge_unit(unit: str) -> str:
    if unit not in ROUGE_UNITS:
        raise LanguageError(f"ROUGE unit {unit!r}: choose char (characters, the usual choice on LCSTS) or word "
                            f"(segmented words)")
    return unit


def rouge_tokens(text: str, language: str, unit: str = "char") -> list[str]:
    """The units ROUGE counts in ``text`` for a language other than ``en`` (en: rouge_score's own tokenizer).

    Lowercased; punctuation and symbols dropped; Unicode letters, marks and digits kept (``café``, ``straße``).
    For zh and ja, ``unit`` ``"char"``: every CJK character is a unit, words of other scripts stay whole, and
    spaces do not matter (a segmented summary and a raw reference compare alike); ``"word"``: the words of
    :func:`normalize_text` (the same segmenter as the corpus).
    """
    if language in CJK_LANGUAGES and check_rouge_unit(unit) == "word":
        return [t for t in normalize_text(text, language).split() if _ROUGE_WORD.search(t)]
    text = clean(text).lower()
    if language in CJK_LANGUAGES:
        return _ROUGE_CJK.findall(text)
    return _ROUGE_WORD.findall(text)


class RougeTokenizer:
    """A ``rouge_score`` tokenizer (``RougeScorer(..., tokenizer=RougeTokenizer("zh"))``) for a language other than
    ``en``. Without stemming: Porter's stemmer is for English."""

    def __init__(self, language: str, unit: str = "char") -> None:
        if check_language(language) == "en":
            raise LanguageError("en uses rouge_score's default tokenizer (with its Porter stemmer)")
        self.language, self.unit = language, check_rouge_unit(unit)

    def tokenize(self, text: str) -> list[str]:
        return rouge_tokens(text, self.language, self.unit)
