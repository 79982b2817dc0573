"""The audio cache: one WAV and one JSON sidecar per (engine, voice, speech text).

Re-rendering after an edit re-synthesizes only the lines that changed, and an interrupted
render resumes where it stopped. The sidecar is the commit marker: it is written last and
atomically, and it records the WAV's exact size and format, so a killed render or a second
render sharing the directory never leaves anything that reads as a hit but is not whole.

The sidecar also keeps what the assembly measured from the WAV (trim points, loudness, the
limiter's gain), so a re-render does not analyse unchanged audio again. Those measurements
live and die with the sidecar: an entry written anew starts without them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import struct
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from interview_audio.errors import EngineError, RenderError
from interview_audio.files import CACHE_ENV_VAR, TEMP_MARKER, atomic_path
from interview_audio.synthesis.engines.base import SentenceTiming, Speech
from interview_audio.synthesis.transform import transform_identity
from interview_audio.voices.model import Voice

log = logging.getLogger(__name__)

# Layout version: part of every key and every sidecar, so a new layout never reads an old one.
FORMAT = 1
TEMP_MAX_AGE = 3600.0
_LOCK_NAME = ".lock"
_HEADER_SIZE = 44


def cache_key(engine_identity: str, voice: Voice, speech_text: str) -> str:
    """Hash everything that changes the sound, so any change to it is a different entry.

    A voice's transform counts only when it has one, so voices without keep their entries.
    """
    fields = dataclasses.asdict(voice)
    transform = fields.pop("transform", None)
    payload: dict[str, object] = {
        "format": FORMAT,
        "engine": engine_identity,
        "voice": {"class": type(voice).__name__, "engine": voice.engine, "fields": fields},
        "speech": speech_text,
    }
    if transform is not None:
        payload["transform"] = {"method": transform_identity(), **transform}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedAudio:
    """A committed cache entry: a mono 16-bit WAV file and where its sentences fall."""

    key: str
    path: Path
    sample_rate: int
    frames: int
    sentences: tuple[SentenceTiming, ...]

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


class Cache:
    """Entries under `root/ab/abcdef….wav` and `….json`; safe to share between processes.

    Writers of one fan-out directory take an advisory lock (`flock`) for the few milliseconds of
    a write, and the first valid entry wins: a second writer adopts it instead of replacing it,
    so every `CachedAudio` handed out keeps describing the file on disk. Where `fcntl` is
    missing (Windows) there is no lock; the atomic writes and the size check on read still keep
    half-written or mismatched entries from being hits.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def paths(self, key: str) -> tuple[Path, Path]:
        """The WAV file and the sidecar of `key`."""
        shard = self.root / key[:2]
        return shard / f"{key}.wav", shard / f"{key}.json"

    def get(self, key: str) -> CachedAudio | None:
        """The committed entry for `key`, or None when it is missing, partial or corrupt."""
        wav, sidecar = self.paths(key)
        try:
            raw = sidecar.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("Ignoring unreadable cache entry %s: %s", sidecar, exc)
            return None
        parsed = _parse_sidecar(key, wav, raw)
        if parsed is None:
            log.info(
                "Ignoring invalid cache sidecar %s; the line will be synthesized again", sidecar
            )
            return None
        if not _wav_matches(wav, parsed):
            log.info("Ignoring cache entry %s: its WAV is missing or disagrees with it", sidecar)
            return None
        return parsed

    def put(self, key: str, speech: Speech) -> CachedAudio:
        """Store `speech` under `key` (WAV first, sidecar last) and return the committed entry.

        When another writer committed a valid entry for `key` meanwhile, that entry is kept
        and returned, so concurrent renders agree on one sound and one set of timings.
        """
        if len(speech.pcm) % 2 or speech.sample_rate <= 0:
            raise EngineError(
                f"The engine returned malformed audio ({len(speech.pcm)} bytes at "
                f"{speech.sample_rate} Hz); expected whole 16-bit samples at a positive rate. "
                "Report this engine bug, or choose another engine with --engine."
            )
        wav, sidecar = self.paths(key)
        try:
            wav.parent.mkdir(parents=True, exist_ok=True)
            with _shard_lock(wav.parent):
                existing = self.get(key)
                if existing is not None:
                    return existing
                # Uncommit whatever stale entry is there before its WAV changes underneath it.
                sidecar.unlink(missing_ok=True)
                frames = len(speech.pcm) // 2
                _write_durably(wav, lambda out: _write_wav(out, speech))
                entry = CachedAudio(key, wav, speech.sample_rate, frames, speech.sentences)
                _write_durably(sidecar, lambda out: out.write(_sidecar_bytes(entry)))
        except OSError as exc:
            raise RenderError(
                f"Cannot write to the audio cache at {self.root} ({exc}); free some disk space, "
                f"fix the directory's permissions, or point {CACHE_ENV_VAR} at another directory."
            ) from exc
        return entry

    def measurements(self, key: str) -> dict[str, Any] | None:
        """What `keep_measurements` stored with the entry for `key`, or None."""
        _, sidecar = self.paths(key)
        try:
            document: Any = json.loads(sidecar.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            return None
        found = document.get("measurements") if document.get("key") == key else None
        return found if isinstance(found, dict) else None

    def keep_measurements(self, key: str, data: Mapping[str, Any]) -> None:
        """Store `data` (a JSON object measured from the entry's audio) with the entry.

        Nothing is stored when the entry is gone. A failure to write only costs the next
        render the measuring, so it is logged, not raised.
        """
        wav, sidecar = self.paths(key)
        try:
            with _shard_lock(wav.parent):
                entry = self.get(key)
                if entry is None:
                    return
                document = _sidecar_bytes(entry, data)
                _write_durably(sidecar, lambda out: out.write(document))
        except OSError as exc:
            log.warning(
                "Could not keep measurements in the cache at %s (%s); the next render measures "
                "that line again",
                self.root,
                exc,
            )

    def prune_temp(self, max_age: float = TEMP_MAX_AGE) -> int:
        """Remove temp files older than `max_age` seconds that killed writers left behind."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - max_age
        removed = 0
        for shard in self.root.iterdir():
            if len(shard.name) != 2 or not shard.is_dir():
                continue
            for temp in shard.glob(f".*{TEMP_MARKER}*"):
                with contextlib.suppress(OSError):
                    if temp.stat().st_mtime < cutoff:
                        temp.unlink()
                        removed += 1
        if removed:
            log.info("Removed %d stale temporary files from the cache at %s", removed, self.root)
        return removed


def _write_durably(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write a whole file under its final name, on disk before the next write starts.

    `files.atomic_path` gives the hidden temp name and the rename; the fsyncs added here make
    the WAV durable before its sidecar commits it, even across a power cut.
    """
    with atomic_path(path) as temp, open(temp, "xb") as out:
        write(out)
        out.flush()
        os.fsync(out.fileno())
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable before the next one (the WAV before its sidecar) on POSIX."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _shard_lock(directory: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(directory / _LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _wav_header(sample_rate: int, frames: int) -> bytes:
    """The canonical 44-byte header of a mono 16-bit PCM WAV file."""
    data_size = frames * 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        sample_rate,
        sample_rate * 2,
        2,
        16,
        b"data",
        data_size,
    )


def _write_wav(out: IO[bytes], speech: Speech) -> None:
    out.write(_wav_header(speech.sample_rate, len(speech.pcm) // 2))
    out.write(speech.pcm)


def _wav_matches(wav: Path, entry: CachedAudio) -> bool:
    """Cheap check that the WAV is the one the sidecar describes: exact size and header."""
    try:
        if wav.stat().st_size != _HEADER_SIZE + entry.frames * 2:
            return False
        with open(wav, "rb") as handle:
            header = handle.read(_HEADER_SIZE)
    except OSError:
        return False
    return header == _wav_header(entry.sample_rate, entry.frames)


def _sidecar_bytes(entry: CachedAudio, measurements: Mapping[str, Any] | None = None) -> bytes:
    document: dict[str, Any] = {
        "format": FORMAT,
        "key": entry.key,
        "sample_rate": entry.sample_rate,
        "frames": entry.frames,
        "duration": entry.duration,
        "sentences": [{"text": s.text, "start": s.start, "end": s.end} for s in entry.sentences],
    }
    if measurements is not None:
        document["measurements"] = dict(measurements)
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _parse_sidecar(key: str, wav: Path, raw: bytes) -> CachedAudio | None:
    try:
        document: Any = json.loads(raw.decode("utf-8"))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            return None
        if document.get("key") != key:
            return None
        sample_rate, frames = document["sample_rate"], document["frames"]
        if not (isinstance(sample_rate, int) and isinstance(frames, int)):
            return None
        if sample_rate <= 0 or frames < 0:
            return None
        sentences = tuple(
            SentenceTiming(str(s["text"]), float(s["start"]), float(s["end"]))
            for s in document["sentences"]
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None
    return CachedAudio(key, wav, sample_rate, frames, sentences)
