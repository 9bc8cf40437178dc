"""`python -m seq2seq2seq.train` (and `accelerate launch -m seq2seq2seq.train`): the training CLI."""

if __name__ == "__main__":
    # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main, start_up_done

    quiet_until_main()
    from seq2seq2seq.train.cli import main

    start_up_done()
    raise SystemExit(main())
