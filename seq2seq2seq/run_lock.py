"""One training run per run folder: an exclusive ``flock`` on RUN/.lock for the whole run.

Two runs in one folder would interleave their metrics, overwrite each other's checkpoints and exports, and lose one
run's work. The kernel releases a ``flock`` when its holder exits however it ends (an exception, Ctrl-C, kill -9), so a
lock file left behind never blocks: only a live holder does. The file holds the holder's pid, for the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = ".lock"


class RunLockError(RuntimeError):
    """The run folder cannot be locked: another live process trains there (the message names it), or it cannot be
    written."""


class RunLock:
    """The held lock of one run folder; :meth:`release` (or leaving the ``with`` block) lets it go and removes what
    taking it created, so a refused command leaves the folder as it was."""

    def __init__(self, folder: Path, fd: int, created_folder: bool) -> None:
        self.folder, self._fd, self._created_folder = folder, fd, created_folder

    def release(self) -> None:
        if self._fd < 0:
            return
        # unlink while still holding the lock: a process that opened the old file re-checks it after its flock
        # (see acquire) and retries on a fresh one
        (self.folder / LOCK_FILE).unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1
        if self._created_folder:
            try:
                self.folder.rmdir()  # only if this command left nothing in it
            except OSError:
                pass

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def acquire(folder: str | Path) -> RunLock:
    """Lock ``folder`` (created if missing) for this process, or raise :class:`RunLockError` naming the holder."""
    folder = Path(folder)
    created = not folder.exists()
    path = folder / LOCK_FILE
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            continue  # a refused command that had just made the folder removed it again
        except OSError as err:
            raise RunLockError(f"cannot create {path} ({err.strerror}); choose an --output_dir you can write "
                               f"to") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockError(
                f"{folder} is in use by {_holder(path)}, which is training there now (lock {path}); wait for it to "
                f"finish (or stop it), or choose another --output_dir") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder released and removed that file between our open and flock: take the new one
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return RunLock(folder, fd, created)
