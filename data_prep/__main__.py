"""``python -m data_prep``: build a training corpus and its tokenizer. See ``--help`` and docs/data.md."""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import os
import shlex
import sys
from pathlib import Path

from data_prep.common import DataPrepError
from data_prep.corpus import Recipe, build_corpus, default_num_proc, work_folders
from seq2seq2seq.input_files import InputFileError
from seq2seq2seq.language import LANGUAGES
from seq2seq2seq.paths import DEFAULT_CORPUS_DIR

EPILOG = """\
sources (all may be combined; each flag may be repeated):
  --source shared   the default recipe from the shared data: documents = CNN/DailyMail leads + articles of the
                    even rows of Gigaword train10k and valid (after the dev slice); sentences = titles of the
                    odd rows. Gigaword test and the dev slice never enter training.
  --source hub      the same recipe from the hub's gigaword and cnn_dailymail datasets (needs network access).
  --source none     only the files given below.
  --documents-file news.txt           plain text, one document a line
  --sentences-file headlines.txt      plain text, one sentence a line
  --documents-field news.jsonl:body   a field of a JSONL (.jsonl) or Parquet (.parquet) file; a field holding
  --sentences-field t.parquet:title   a list of strings gives one text per item
  --exclude eval.jsonl[:FIELD]        evaluation text to keep out of training: every text field of a JSONL or
                                      Parquet file (or just FIELD), or the lines of a plain text file
  --keep-out pairs.jsonl[:FIELD]      text to keep out of the corpus without holding it out (read like --exclude):
                                      e.g. the pairs of the semi-supervised mode, which refuses held-out text
  --dev-file pairs.jsonl              one JSONL or Parquet file of (document, summary) pairs for dev ROUGE, kept
                                      verbatim as dev.jsonl and out of training; replaces the built-in dev slice
                                      (--dev-fields DOCUMENT,SUMMARY if its fields are named otherwise). Without
                                      it, --source none writes no dev.jsonl and training runs without dev ROUGE.

language (--language; recorded in manifest.json, read from there by training and the summarizer exports):
  en                English, the default: PTB tokens, lowercase, digits as #
  whitespace        any language written with spaces (French, German, ...): lowercase, punctuation split off,
                    Unicode letters, accents and digits kept
  zh, ja            Chinese, Japanese: as whitespace, and CJK text segmented into words (zh: jieba when installed,
                    pip install jieba; otherwise, and for ja, one character a word)
  Word counts (--min-document-words ...) count these words. The built-in recipes are English: another language
  needs --source none.

examples:
  python -m data_prep                                  # default corpus into runs/corpus
  python -m data_prep --out /tmp/c --source none --documents-file docs.txt --sentences-file titles.txt \\
      --dev-file pairs.jsonl
  python -m data_prep --out runs/zh --source none --language zh --documents-file zh_news.txt \\
      --sentences-file zh_titles.txt --dev-file zh_pairs.jsonl --min-document-words 20
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m data_prep",
        description="Build the training corpus (documents.arrow, sentences.arrow, word_counts.arrow, dev.jsonl, "
        "tokenizer/, manifest.json) from the shared data, the hub, or your own files.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = Recipe()
    p.add_argument("--out", type=Path, default=DEFAULT_CORPUS_DIR, help="output folder (default: %(default)s)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing data_prep output at --out (other non-empty folders, and a corpus folder holding "
        "files data_prep did not write, are never replaced)",
    )
    src = p.add_argument_group("sources")
    src.add_argument("--source", choices=["shared", "hub", "none"], default=d.source, help="built-in recipe")
    p.add_argument("--language", choices=list(LANGUAGES), default=d.language,
                   help="how text is split into words (default: %(default)s; see below)")
    src.add_argument(
        "--shared-data", type=Path, default=None, help="shared data folder (default: $SEQ2SEQ2SEQ_DATA or ../shared/data)"
    )
    src.add_argument(
        "--with-cnndm-highlights",
        action="store_true",
        help="add CNN/DailyMail highlights to the sentences; the rows are then split in halves too "
        "(leads of even rows are documents, highlights of odd rows sentences), which halves the CNN documents",
    )
    src.add_argument("--dev-size", type=int, default=d.dev_size, help="first N Gigaword valid rows (default: %(default)s)")
    src.add_argument("--dev-file", type=Path, default=None, metavar="PATH",
                     help="JSONL or Parquet of (document, summary) pairs for dev.jsonl (replaces the built-in slice)")
    src.add_argument("--dev-fields", default=None, metavar="DOCUMENT,SUMMARY",
                     help="field names of --dev-file (default: document,summary)")
    for kind in ("documents", "sentences"):
        src.add_argument(f"--{kind}-file", action="append", type=Path, default=[], metavar="PATH",
                         help=f"plain text file, one {kind[:-1]} a line")
        src.add_argument(f"--{kind}-field", action="append", default=[], metavar="PATH:FIELD",
                         help=f"JSONL or Parquet file and the field holding the {kind}")
    src.add_argument("--gigaword-train-rows", type=int, default=None, metavar="N",
                     help="--source shared: use only the first N rows of gigaword/train10k.jsonl (default: all; 0 "
                          "keeps them all out, e.g. as pairs for the semi-supervised mode, docs/semi.md)")
    src.add_argument("--exclude", action="append", default=[], metavar="PATH[:FIELD]",
                     help="evaluation text to keep out of training")
    src.add_argument("--keep-out", action="append", default=[], metavar="PATH[:FIELD]",
                     help="text to keep out of the corpus without holding it out, e.g. the (document, summary) "
                          "pairs of the semi-supervised mode, which refuses held-out text (docs/semi.md)")
    hub = p.add_argument_group("hub (--source hub)")
    hub.add_argument("--hub-gigaword", default=d.hub_gigaword, help="dataset name (default: %(default)s)")
    hub.add_argument("--hub-cnndm", default=d.hub_cnndm, help="dataset name (default: %(default)s)")
    hub.add_argument("--hub-cnndm-config", default=d.hub_cnndm_config, help="config (default: %(default)s)")
    hub.add_argument("--hub-gigaword-train-rows", type=int, default=d.hub_gigaword_train_rows,
                     help="first N training pairs, as in train10k (default: %(default)s)")
    flt = p.add_argument_group("filters (word counts after normalisation)")
    flt.add_argument("--min-document-words", type=int, default=d.min_document_words, help="default: %(default)s")
    flt.add_argument("--max-document-words", type=int, default=d.max_document_words, help="default: %(default)s")
    flt.add_argument("--min-sentence-words", type=int, default=d.min_sentence_words, help="default: %(default)s")
    flt.add_argument("--max-sentence-words", type=int, default=d.max_sentence_words, help="default: %(default)s")
    tok = p.add_argument_group("tokenizer")
    tok.add_argument("--vocab-size", type=int, default=d.vocab_size, help="unigram vocabulary (default: %(default)s)")
    tok.add_argument("--tokenizer-max-lines", type=int, default=d.tokenizer_max_lines,
                     help="sample at most N texts to train on (default: %(default)s)")
    tok.add_argument("--seed", type=int, default=d.seed, help="seed for sampling and training (default: %(default)s)")
    p.add_argument("--num-proc", type=int, default=None, metavar="N",
                   help=f"processes that normalise the text (default: one per CPU, here {default_num_proc()}; "
                        "inputs under 40,000 rows use one); the corpus is the same for any N")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns 0 on success, 2 (with one ``error: ...`` line on stderr) on bad input, 130 on Ctrl-C."""
    args = parse_args(argv)
    command = ["python", "-m", "data_prep", *(sys.argv[1:] if argv is None else argv)]
    try:
        if args.num_proc is not None and args.num_proc < 1:
            raise DataPrepError(f"--num-proc {args.num_proc}: need at least 1 process")
        if args.dev_fields is not None and args.dev_file is None:
            raise DataPrepError("--dev-fields names the fields of --dev-file: pass --dev-file PATH too, or drop it")
        recipe = Recipe(
            source=args.source,
            language=args.language,
            shared_data=args.shared_data,
            with_cnndm_highlights=args.with_cnndm_highlights,
            dev_size=args.dev_size,
            dev_file=args.dev_file,
            dev_fields=args.dev_fields.split(",") if args.dev_fields is not None else ["document", "summary"],
            documents_files=args.documents_file,
            sentences_files=args.sentences_file,
            documents_fields=args.documents_field,
            sentences_fields=args.sentences_field,
            exclude=args.exclude,
            keep_out=args.keep_out,
            min_document_words=args.min_document_words,
            max_document_words=args.max_document_words,
            min_sentence_words=args.min_sentence_words,
            max_sentence_words=args.max_sentence_words,
            vocab_size=args.vocab_size,
            seed=args.seed,
            tokenizer_max_lines=args.tokenizer_max_lines,
            hub_gigaword=args.hub_gigaword,
            hub_cnndm=args.hub_cnndm,
            hub_cnndm_config=args.hub_cnndm_config,
            hub_gigaword_train_rows=args.hub_gigaword_train_rows,
            gigaword_train_rows=args.gigaword_train_rows,
        )
        out = build_corpus(recipe, args.out, overwrite=args.overwrite, command=command, num_proc=args.num_proc)
    except (DataPrepError, InputFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C: build_corpus has cleaned up; one line, no traceback
        out = getattr(e, "out", args.out.absolute())
        if getattr(e, "written", False):
            message = f"interrupted; the new corpus was already complete in {out}"
        else:
            message = f"interrupted; nothing written to {out}"
        left = [folder.name for folder, _, _ in work_folders(out, os.getpid())]
        if left:  # a second Ctrl-C cut the clean-up short
            message += f" (the next run for this --out removes the unfinished {', '.join(left)})"
        print(message, file=sys.stderr)
        return 130
    print(f"corpus written to {out} (see {out / 'manifest.json'}); command: {shlex.join(command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
