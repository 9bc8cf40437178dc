"""`python -m seq2seq2seq.summarize`: the summarize CLI, kept at this name for the command line (the code is in
seq2seq2seq.inference.cli)."""

if __name__ == "__main__":
    # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main, start_up_done

    quiet_until_main()
    from seq2seq2seq.inference.cli import main

    start_up_done()
    raise SystemExit(main())
