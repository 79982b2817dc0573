"""Atomic file output: a file appears under its final name complete, or not at all.

Every output (MP3s, captions, chapter JSON) is written to a hidden temporary name in the same
directory and renamed over the final name only when the writer finished without an exception,
so an interrupted render never leaves a half file that looks like a finished one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from interview_audio.errors import InputError, RenderError

log = logging.getLogger(__name__)

TEMP_MARKER = ".part-"
CACHE_ENV_VAR = "INTERVIEW_AUDIO_CACHE_DIR"


def default_cache_dir() -> Path:
    """The per-user cache directory, or `$INTERVIEW_AUDIO_CACHE_DIR` when it is set."""
    import platformdirs

    override = os.environ.get(CACHE_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("interview-audio"))


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it to `final` if the block succeeds.

    The temporary name keeps the suffix (tools that guess formats from names still work) and
    starts with a dot. On an exception the temporary file is removed and `final` is untouched.
    """
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(
            f"Cannot create the folder {final.parent} ({exc.strerror}); choose a writable "
            "output folder."
        ) from exc
    temp = final.with_name(f".{final.stem}{TEMP_MARKER}{uuid.uuid4().hex[:12]}{final.suffix}")
    try:
        yield temp
    except BaseException:
        _discard(temp)
        raise
    try:
        os.replace(temp, final)
    except OSError as exc:
        _discard(temp)
        raise RenderError(
            f"Cannot write {final} ({exc.strerror}); check the folder is writable and has space."
        ) from exc


def _discard(temp: Path) -> None:
    with contextlib.suppress(OSError):
        temp.unlink()


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (see `atomic_path`)."""
    try:
        with atomic_path(path) as temp:
            temp.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise RenderError(
            f"Cannot write {path} ({exc.strerror}); check the folder is writable and has space."
        ) from exc
    log.debug("Wrote %s", path)


def check_writable(
    folder: Path, what: str = "output folder", fix: str = "choose a writable folder with -o"
) -> None:
    """Fail at once when `folder` cannot be created or written, not after hours of synthesis.

    Creates what is missing to find out, writes and removes a probe file, then removes the
    folders it created, so a render that stops later leaves nothing behind. The message calls
    the folder `what` and ends with `fix`.
    """
    made: list[Path] = []
    try:
        for directory in [*reversed(folder.parents), folder]:
            if directory.is_dir():
                continue
            try:
                directory.mkdir()
            except OSError as exc:
                reason = "a file is in the way" if directory.exists() else exc.strerror
                raise InputError(
                    f"Cannot create the {what} {directory} ({reason}); {fix}."
                ) from exc
            made.append(directory)
        probe = folder / f".write-test{TEMP_MARKER}{uuid.uuid4().hex[:12]}"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise InputError(
                f"Cannot write in the {what} {folder} ({exc.strerror}); {fix}."
            ) from exc
    finally:
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()


class FolderLock:
    """One program at a time in a folder: an exclusive lock on a hidden file in it, held until
    `release` (or the process ends, when the system drops it). `holder()` names the process
    that has it, from the file, for the message of the one refused."""

    def __init__(self, folder: Path, name: str = ".lock") -> None:
        self.path = folder / name
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        """Take the lock; False when another process (or another lock here) holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            _lock(handle)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            return "another process"

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the lock
            self._handle = None


def _lock(handle: IO[str]) -> None:
    """An exclusive, non-blocking lock on the whole file (OSError when it is taken)."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
