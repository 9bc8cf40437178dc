"""Text normalisation to the form of the evaluation text (Gigaword as preprocessed by Rush et al. 2015).

The evaluation text is lowercased, PTB-tokenized (``'s`` and ``n't`` split off, brackets as ``-lrb-`` ... ``-rcb-``,
double quotes as ````` and ``''``) and has every digit masked as ``#``. Training text and raw user text must reach
the same surface, or the model learns (and is scored on) a different one. :func:`normalize` does that for both:
text that is already in that form passes through unchanged apart from digits, case and boilerplate, and
``normalize(normalize(x)) == normalize(x)``.

Choices worth knowing (see docs/data.md):

- Gigaword's unknown-word markers (``UNK`` in the test set, ``<unk>`` in the validation set) become the plain word
  ``unk``: one spelling, and never the tokenizer's own ``<unk>`` special token.
- HTML entities (``&amp;``) are unescaped and ``\\/`` becomes ``/``: artefacts of the source files, not text.
- CNN/DailyMail datelines (``london , england -lrb- cnn -rrb- --``), bylines (``by . daily mail reporter .``),
  time stamps (``published : . ##:## est , ...``) are stripped; rows that are only boilerplate (bylines,
  ``editor 's note : ...``, ``click here ...``) normalise to ``""``.

All of that is the ``en`` language setting, the default. ``normalize(text, language)`` with another setting
(``whitespace``, ``zh``, ``ja``) hands the text to :func:`seq2seq2seq.language.normalize_text` instead.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

from nltk.tokenize.treebank import TreebankWordTokenizer

from seq2seq2seq import language as lang

NORMALIZER_NAME = "seq2seq2seq.normalize"
# Bump when the output of normalize() changes for any input: the corpus manifest records it.
NORMALIZER_VERSION = "1"
NORMALIZER_DESCRIPTION = (
    "NFKC; curly quotes and dashes to ASCII; control characters removed; HTML entities unescaped; "
    "UNK/<unk> -> unk; nltk Treebank tokenization (brackets as -lrb- ...; `` and '' quotes; 's and n't split; "
    "& and @ kept inside words; a period split off where it ends a sentence, unless it ends an abbreviation); "
    "lowercase; every digit -> #; datelines, bylines and time stamps stripped; boilerplate-only rows -> ''"
)


class _EvalFormTokenizer(TreebankWordTokenizer):
    """nltk's Treebank tokenizer, adjusted so that already-tokenized text is a fixed point.

    The pattern table is nltk's, compiled with plain ``re``: nltk routes its own patterns through a ReDoS guard
    with per-call timeouts, which halves throughput, and these fixed patterns need no guard.
    Changes from nltk's table, so that the shared data's own tokenization is kept:
    - ``''`` after a space is not turned into `````: the shared CNN/DailyMail text has ``''`` in opening
      position (``name their baby '' @ , ''``) and must pass through unchanged.
    - ``&`` is split off only when it is not inside a word (``at&t``, ``r&b`` stay one token, as in the data);
      ``@`` and ``#`` are never split (``@handle``; ``#`` is the digit mask); ``$`` stays on a currency
      prefix (``us$ ###``).
    - Periods are handled by :func:`_split_periods` instead of nltk's end-of-string rule, so that a final
      abbreviation keeps its period (``... inc.``, ``... u.s.``) as it does in the data, and sentence ends inside
      a document are split too. Runs of ``?!`` stay one token; ``'n'`` (``rock 'n' roll``) keeps its quote.
    """

    STARTING_QUOTES = [
        (re.compile(r"^\""), r"``"),
        (re.compile(r"(``)"), r" \1 "),
        (re.compile(r"([ \(\[{<])\""), r"\1 `` "),
    ]
    PUNCTUATION = [
        # A lookahead, not nltk's consuming group, so that ",," and "::" are split in one pass (idempotence).
        (re.compile(r"([:,])(?=[^\d])"), r" \1 "),
        (re.compile(r"([:,])$"), r" \1 "),
        (re.compile(r"\.\.\."), r" ... "),
        (re.compile(r"[;%]"), r" \g<0> "),
        (re.compile(r"(?<=[A-Za-z])\$"), r"$ "),
        (re.compile(r"(?<![A-Za-z])\$"), r" $ "),
        (re.compile(r"(?<![A-Za-z0-9])&|&(?![A-Za-z0-9])"), r" & "),
        (re.compile(r"[?!]+"), r" \g<0> "),
        (re.compile(r"(?<!')([^'])' "), r"\1 ' "),
    ]
    PARENS_BRACKETS = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
    CONVERT_PARENTHESES = [(re.compile(p.pattern), s) for p, s in TreebankWordTokenizer.CONVERT_PARENTHESES]
    DOUBLE_DASHES = (re.compile(r"--"), r" -- ")
    ENDING_QUOTES = [
        (re.compile(r"''"), " '' "),
        (re.compile(r'"'), " '' "),
        (re.compile(r"(?<!')([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
        (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
    ]
    CONTRACTIONS2 = [re.compile(p.pattern) for p in TreebankWordTokenizer.CONTRACTIONS2]
    CONTRACTIONS3 = [re.compile(p.pattern) for p in TreebankWordTokenizer.CONTRACTIONS3]


_TOKENIZER = _EvalFormTokenizer()

# Unicode punctuation that NFKC leaves alone, mapped to the ASCII the PTB rules expect.
_PUNCT_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "\u02bc": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-",
        "\u2014": " -- ", "\u2015": " -- ",
        "\u2022": " ", "\u00a0": " ", "\u00a8": "", "\u00b8": "",
    }
)
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")  # controls that str.split does not treat as space
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_UNK = re.compile(r"<unk>|\bUNK\b")
_DIGIT = re.compile(r"\d")

# Words that end in a period without ending a sentence. Ambiguous ones (ill., miss., wash.) are left out:
# splitting an abbreviation costs less than gluing a sentence end to a word.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep rev hon pres supt insp "
    "inc corp co cos ltd llc plc bros vs etc ave blvd rd dept univ intl approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "ala ariz ark calif colo conn fla kan ky md mich minn mont neb nev okla tenn tex va vt wis wyo".split()
)
# Abbreviations only when a number follows ("no. 1"); otherwise ordinary words ("he said no.").
_NUMBER_ABBREVIATIONS = frozenset(["no", "nos", "vol", "fig", "art", "pt"])
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]|[A-Za-z]")
_CLOSERS = frozenset(["''", "'", "-RRB-", "-RSB-", "-RCB-"])

# --- boilerplate, matched on the normalised form (lowercase, digits already #) ---------------------------------
# A dateline: up to eight place tokens, then "-lrb- source -rrb-", then "--". Without the "--" only a known
# news source counts, so "the australian stock exchange -lrb- asx -rrb- closed" is left alone.
_DATELINE = re.compile(
    r"^(?:(?:[a-z][a-z.'&-]*|,) ){0,8}?-lrb- (?P<src>[a-z.+&' -]{1,40}?) -rrb- (?P<dash>(?:--|_|:) )?"
)
_KNOWN_SOURCES = frozenset("cnn reuters ap afp upi xinhua dpa aap pa bloomberg cnnmoney ew".split())
_BYLINE = re.compile(r"^by [.:] (?:\S+ ){1,15}?\.(?: |$)")
_TIMESTAMP = re.compile(r"^(?:published|updated|last updated)(?: at)?(?: :)?(?: \.)?(?: [^.]*?####)? \.(?: \|)?(?: |$)")
_LEADING_JUNK = re.compile(r"^(?:\||\.|--|,|:)(?: |$)")
_TRAILING_JUNK = re.compile(r"(?:^| )(?:\.\.\. )?scroll down for [^.]*\.$")
_BOILERPLATE_ROW = re.compile(r"^(?:editor 's note :|click here\b|scroll down\b|var twittervia\b)")


def clean_unicode(text: str) -> str:
    """NFKC, ASCII quotes and dashes, no control or format characters, single spaces."""
    # Map before NFKC too: NFKC turns some of these (the acute accent) into a space and a combining mark.
    text = unicodedata.normalize("NFKC", text.translate(_PUNCT_MAP)).translate(_PUNCT_MAP)
    # Cc (controls) and Cf (zero-width and direction marks) are invisible noise; whitespace controls become spaces
    # (str.split below). Most text is ASCII, where a regex does it; the per-character scan is for the rest.
    if text.isascii():
        text = _ASCII_CONTROL.sub("", text)
    else:
        text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(text.split())


def _unescape_html(text: str) -> str:
    """Unescape entities written with their ``;`` (``&amp;``, ``&#39;``), to a fixed point (``&amp;amp;``).

    ``html.unescape`` alone would also read "&not" in "&amp;note" as the entity for "¬".
    """
    for _ in range(3):
        unescaped = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
        if unescaped == text:
            break
        text = unescaped
    return text


def _split_periods(tokens: list[str]) -> list[str]:
    """Split a word from its period where the period ends a sentence.

    A period ends a sentence at the end of the text, or before a capitalised word, a number or an opening quote
    or bracket, unless the word is an abbreviation (``mr.``, ``u.s.``, ``j.``). In already-lowercased text only
    the final token can qualify, which keeps the shared data unchanged.
    """
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if len(tok) > 1 and tok.endswith(".") and not tok.endswith(".."):
            body = tok[:-1]
            j = i + 1
            while j < len(tokens) and tokens[j] in _CLOSERS:
                j += 1
            nxt = tokens[j] if j < len(tokens) else ""
            starts_sentence = not nxt or nxt[0].isupper() or nxt[0].isdigit() or nxt in ("``", "-LRB-")
            abbreviation = (
                body.lower() in _ABBREVIATIONS
                or _INITIALISM.fullmatch(body) is not None
                or (body.lower() in _NUMBER_ABBREVIATIONS and nxt[:1].isdigit())
            )
            if starts_sentence and not abbreviation:
                out.extend([body, "."])
                continue
        out.append(tok)
    return out


def tokenize(text: str) -> str:
    """Raw or tokenized text to the evaluation surface, without removing any boilerplate.

    Unicode cleanup, PTB tokenization, lowercase, digits as ``#``; tokens joined by single spaces.
    """
    text = clean_unicode(text)
    if not text:
        return ""
    text = text.replace("\\/", "/")
    if "&" in text:
        text = _unescape_html(text)
    text = _UNK.sub("unk", text)
    # "#" is already a masked digit: turn it back into one so the tokenizer treats "##,###" and "#.##" as numbers.
    text = text.replace("#", "0")
    tokens = _TOKENIZER.tokenize(text, convert_parentheses=True)
    split = _split_periods(tokens)
    if len(split) != len(tokens):
        # A freed word can now match a rule that needed the period gone ("can't." -> "ca n't ."): run again.
        tokens = _TOKENIZER.tokenize(" ".join(split), convert_parentheses=True)
    return _DIGIT.sub("#", " ".join(tokens).lower())


def _is_dateline(m: re.Match[str]) -> bool:
    """A bracketed source after a place is a dateline if "--" follows, or if the source is a news agency and the
    place looks like one ("oslo , norway -lrb- ap -rrb-"), not a phrase ("two agence france-presse -lrb- afp -rrb-
    journalists ...")."""
    src, place = m.group("src"), m.group(0)[: m.start("src")]
    if m.group("dash") or src == "cnn":
        return True
    known = src in _KNOWN_SOURCES or src.endswith(".com")
    return known and (place == "-lrb- " or " , " in place)


def strip_boilerplate(text: str) -> str:
    """Remove datelines, bylines and time stamps from tokenized text; ``""`` when nothing else is left."""
    while True:
        before = text
        m = _DATELINE.match(text)
        if m and _is_dateline(m):
            text = text[m.end():]
        for pattern in (_BYLINE, _TIMESTAMP, _LEADING_JUNK):
            text = pattern.sub("", text, count=1)
        text = _TRAILING_JUNK.sub("", text).strip()
        # Loop to a fixed point so that normalize() is idempotent on stacked prefixes.
        if text == before:
            break
    if _BOILERPLATE_ROW.match(text):
        return ""
    return text


def normalize(text: str, language: str = lang.DEFAULT_LANGUAGE) -> str:
    """Raw or tokenized text to evaluation form; ``""`` for text that is only boilerplate.

    ``language`` (:data:`seq2seq2seq.language.LANGUAGES`): ``en``, the default, is the English form below; the
    others are :func:`seq2seq2seq.language.normalize_text` (Unicode letters kept, CJK segmented into words).

    >>> normalize("The U.S. economy grew 3.5% in 2023, officials said.")
    'the u.s. economy grew #.# % in #### , officials said .'
    """
    if language != "en":
        return lang.normalize_text(text, language)
    return strip_boilerplate(tokenize(text))


def normalizer_info(language: str = lang.DEFAULT_LANGUAGE) -> dict[str, str]:
    """Name, version, language and description of the normaliser of ``language``, as the manifest records it."""
    if lang.check_language(language) != "en":
        return lang.normalizer_info(language)
    return {"name": NORMALIZER_NAME, "version": NORMALIZER_VERSION, "language": "en",
            "description": NORMALIZER_DESCRIPTION}


def text_digest(text: str) -> str:
    """sha256 of an already normalised text: how a corpus records its held-out (evaluation) texts without
    storing them, and how the semi-supervised pairs are checked against them."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_boilerplate(text: str) -> bool:
    """True when ``text`` holds nothing but boilerplate (a byline, a time stamp, an editor's note ...)."""
    return bool(text.strip()) and not normalize(text)


def split_sentences(tokenized: str) -> list[str]:
    """Split text already in evaluation form into sentences after ``.``, ``?`` and ``!`` (and closing quotes)."""
    sentences: list[str] = []
    current: list[str] = []
    tokens = tokenized.split()
    for i, tok in enumerate(tokens):
        current.append(tok)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in (".", "?", "!") and nxt not in ("''", "'", "-rrb-"):
            sentences.append(" ".join(current))
            current = []
        elif tok in ("''", "'", "-rrb-") and current[:-1] and current[-2] in (".", "?", "!"):
            sentences.append(" ".join(current))
            current = []
    if current:
        sentences.append(" ".join(current))
    return sentences
