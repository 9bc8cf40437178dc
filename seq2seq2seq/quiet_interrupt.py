"""Ctrl-C while a command-line tool is still starting up: one line and exit code 130, not a traceback.

A CLI spends its first seconds importing torch, transformers and accelerate; a Ctrl-C then used to print a
KeyboardInterrupt traceback from deep inside those imports. Each entry point calls :func:`quiet_until_main` in its
first lines, under ``if __name__ == "__main__":`` so that importing the module from Python (tests, notebooks, user
code) never changes the program's SIGINT handling; only the program started as ``python -m ...`` or
``python scripts/x.py`` gets it. Stdlib only, so that it is in place before anything heavy is imported.

Once the tool's own code runs (any function of the ``__main__`` module is on the stack, normally ``main``), and
after the module's code has ended, a Ctrl-C raises KeyboardInterrupt as before, so the tools' own clean handling
still applies: training says which checkpoint ``--resume`` continues from, data_prep removes its unfinished folder.

Why not in the packages' ``__init__``: ``python -m seq2seq2seq.train`` does run ``seq2seq2seq/__init__.py`` first,
but that file (like ``data_prep/__init__.py``, whose exports load on first use) imports nothing heavy, so the
entry module's own first lines come early enough, and a library import can never install it by mistake.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for a program ended by Ctrl-C


def _starting_up(frame: FrameType | None) -> bool:
    """Whether the ``__main__`` module's top-level code (its imports) is running and none of its functions is (the
    tool's main): not once main has started, nor after the module's code has ended (the interpreter's exit)."""
    top_level = False
    while frame is not None:
        if frame.f_globals.get("__name__") == "__main__":
            name = frame.f_code.co_name
            if name == "<module>":
                top_level = True
            elif not name.startswith("<"):  # "<listcomp>", "<genexpr>" run inside whatever called them
                return False
        frame = frame.f_back
    return top_level


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    if not _starting_up(frame):
        signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt for the tool's own handling
    print("interrupted while starting up; nothing was done", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken: nothing more to say
            pass
    # os._exit, not SystemExit: a half-finished import (torch) must not run its clean-up or print more on the way out
    os._exit(EXIT_CODE)


def quiet_until_main() -> None:
    """Make a Ctrl-C before the tool's own code starts end the program with one line on stderr and exit code 130.

    Call it only from a program's ``__main__`` module, before its heavy imports, and only in the main thread. A
    program started with Ctrl-C ignored (``nohup``, a background job of a script) keeps ignoring it.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def start_up_done() -> None:
    """The tool's own code starts now: a Ctrl-C raises KeyboardInterrupt again. For an entry module whose ``main``
    lives in another module (``python -m seq2seq2seq.train`` runs ``train/__main__.py``, whose ``main`` is in
    ``train/cli.py``), where :func:`quiet_until_main` cannot see ``main`` start on the stack."""
    if signal.getsignal(signal.SIGINT) is _on_sigint:
        signal.signal(signal.SIGINT, signal.default_int_handler)
