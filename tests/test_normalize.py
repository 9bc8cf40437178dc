"""The normaliser: raw and already-tokenized text to the evaluation form, boilerplate removal, idempotence."""

from __future__ import annotations

import json
from itertools import islice

import pytest

from seq2seq2seq.normalize import is_boilerplate, normalize, split_sentences, tokenize
from seq2seq2seq.paths import shared_data_dir


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # the example: raw user text
        ("The U.S. economy grew 3.5% in 2023, officials said.", "the u.s. economy grew #.# % in #### , officials said ."),
        # digits, including ones already masked, keep their number shape
        ("Shares rose 12,500 to $3.88 at 12:35", "shares rose ##,### to $ #.## at ##:##"),
        ("#.## billion and ##,### people", "#.## billion and ##,### people"),
        ("US$5 million", "us$ # million"),
        # PTB quotes, brackets and clitics
        ('"Hello," she said.', "`` hello , '' she said ."),
        ("(a) [b] {c}", "-lrb- a -rrb- -lsb- b -rsb- -lcb- c -rcb-"),
        ("It's John's; they can't.", "it 's john 's ; they ca n't ."),
        # sentence ends inside a document are split; abbreviations are not
        ("He left. Mr. Smith stayed in Washington, D.C.", "he left . mr. smith stayed in washington , d.c."),
        ("No. 1 said no.", "no. # said no ."),
        # unicode: curly quotes, dashes, no-break space, zero-width space, control characters, fullwidth digits
        ("\u201cIt\u2019s done\u201d \u2014 she\u00a0said\u200b\x07 \uff11\uff12", "`` it 's done '' -- she said ##"),
        ("caf\u00e9 na\u00efve", "caf\u00e9 na\u00efve"),
        # Gigaword's unknown-word markers and HTML entities
        ("nec UNK in tie-up with <unk> corp.", "nec unk in tie-up with unk corp."),
        ("pg&amp;e corp. and s&amp;p \\/ asx", "pg&e corp. and s&p / asx"),
    ],
)
def test_normalize_raw_text(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


# Lines in the shared data's own form: only digits, case, UNK and boilerplate may change.
TOKENIZED = [
    "dennis `` oil can '' boyd _ while working for the team , aged ## .",
    "three rockets were fired at the united nations children 's fund -lrb- unicef -rrb- in east afghanistan .",
    "the australian stock exchange -lrb- asx -rrb- closed higher as the s&p index added #.# points .",
    "it does n't seem that long since manchester united 's capitulation at everton .",
    "chinese couple tried to name their baby '' @ , '' claiming the character echoed their love .",
    "ex-red sox clubhouse manager convicted of molesting boys",
    "violence in kosovo divides u.s.",
    "a rock 'n' roll legend at the us$ ###,### tournament : who did this ???",
    "two agence france-presse -lrb- afp -rrb- journalists were hurt on monday .",
]


@pytest.mark.parametrize("line", TOKENIZED)
def test_tokenized_text_passes_through(line: str) -> None:
    assert normalize(line) == line


def test_digits_and_case_are_the_only_changes_to_tokenized_text() -> None:
    assert normalize("Japan 's NEC said 1995 profits rose 3.5 percent .") == (
        "japan 's nec said #### profits rose #.# percent ."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("london , england -lrb- cnn -rrb- -- a man was arrested .", "a man was arrested ."),
        ("-lrb- reuters -rrb- -- oil prices fell .", "oil prices fell ."),
        ("washington -lrb- ap -rrb- -- the senate voted 52-48 .", "the senate voted ##-## ."),
        ("-lrb- cnn -rrb- the only thing crazier .", "the only thing crazier ."),
        ("oslo , norway -lrb- ap -rrb- _ uefa cup results .", "uefa cup results ."),
        ("LONDON, England (CNN) -- Britain's leader won't resign.", "britain 's leader wo n't resign ."),
        ("by . reuters . germany coach joachim low is leaving .", "germany coach joachim low is leaving ."),
        (
            "published : . 12:35 est , 15 september 2013 . | . updated : . 13:59 est , 15 september 2013 . "
            "a woman was found .",
            "a woman was found .",
        ),
    ],
)
def test_datelines_and_bylines_are_stripped(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "row",
    [
        "by . daily mail reporter .",
        "by . matt chorley , mailonline political editor .",
        "editor 's note : tara wall is deputy editor for the washington times .",
        "published : . 12:35 est , 15 september 2013 .",
        "last updated at 3:50 pm on 2nd december 2011 .",
        "scroll down for video .",
        "click here to read the match report .",
    ],
)
def test_boilerplate_rows_are_dropped(row: str) -> None:
    assert normalize(row) == ""
    assert is_boilerplate(row)


def test_ordinary_text_and_empty_text_are_not_boilerplate() -> None:
    assert not is_boilerplate("by the end of the year , prices had doubled .")
    assert not is_boilerplate("   ")
    assert normalize("   ") == ""


ALL_INPUTS = [
    "The U.S. economy grew 3.5% in 2023, officials said.",
    "He said \"no.\" Then (after a pause) he left... didn't he?!",
    "\u201cIt\u2019s 5\u00bd past\u201d \u2013 or is it?",
    "london -lrb- cnn -rrb- -- -lrb- reuters -rrb- -- stacked datelines .",
    "by . ap . by . reuters . two bylines .",
    "AT&T, R&B and @handle #tag e-mail a@b.com",
    "'hello' he said ' to me ''",
    *TOKENIZED,
]


@pytest.mark.parametrize("text", ALL_INPUTS)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert tokenize(once) == once


def test_split_sentences() -> None:
    text = normalize("By . Daily Mail Reporter . A woman in the U.S. was found. She said \"hi.\" Then left!")
    assert split_sentences(text) == ["a woman in the u.s. was found .", "she said `` hi . ''", "then left !"]


GIGAWORD_VALID = shared_data_dir() / "gigaword" / "valid.jsonl"


@pytest.mark.skipif(not GIGAWORD_VALID.is_file(), reason="shared data not available")
def test_shared_gigaword_passes_through() -> None:
    """The shared data is already in evaluation form: the normaliser must leave (nearly) all of it alone."""
    changed = []
    with open(GIGAWORD_VALID, encoding="utf-8") as f:
        for line in islice(f, 2000):
            row = json.loads(line)
            for text in (row["document"], row["summary"]):
                expected = text.replace("<unk>", "unk").replace("&amp;", "&").replace("\\/", "/")
                if normalize(text) != expected:
                    changed.append(text)
    # A handful of datelines ("london -lrb- ap -rrb- _") are stripped on purpose.
    assert len(changed) <= 10, changed[:5]
