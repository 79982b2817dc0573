"""ffmpeg: where it is, how to run it, and the streaming MP3 encoder the assembler feeds.

The system `ffmpeg` on PATH wins (it may be newer or distro-patched); otherwise the binary that
the imageio-ffmpeg wheel ships is used, so a plain `pip install` is enough to render.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from interview_audio.errors import RenderError

log = logging.getLogger(__name__)

INSTALL_HINT = "install ffmpeg (e.g. `apt install ffmpeg`) or run `pip install imageio-ffmpeg`"


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg on PATH, else the one imageio-ffmpeg ships; RenderError if neither exists."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise RenderError(f"ffmpeg was not found ({exc}); {INSTALL_HINT}.") from exc
    log.debug("Using the ffmpeg bundled with imageio-ffmpeg: %s", exe)
    return exe


@functools.cache
def audio_segment() -> Any:
    """pydub's AudioSegment, pointed at our ffmpeg (pydub only looks on PATH by itself).

    Its import-time warning about ffmpeg missing from PATH is silenced: we set the binary.
    pydub still probes non-WAV input with ffprobe, which imageio-ffmpeg does not ship: pass
    `format=` and `codec=` to `from_file` so it decodes without probing.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from pydub import AudioSegment

    AudioSegment.converter = ffmpeg_exe()
    return AudioSegment


def run(args: list[str], *, what: str, timeout: float | None = None) -> str:
    """Run ffmpeg with `args` and return its stderr (where ffmpeg reports everything).

    `what` names the job in the error message ("decode chapter 3", ...).
    """
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"ffmpeg could not {what} ({exc}); {INSTALL_HINT}.") from exc
    if done.returncode != 0:
        raise RenderError(f"ffmpeg could not {what}: {_last_lines(done.stderr)}")
    return done.stderr


@dataclass(frozen=True)
class Loudness:
    """An EBU R128 measurement by ffmpeg's ebur128 filter."""

    integrated: float
    true_peak: float
    loudness_range: float


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness (LUFS), true peak (dBTP) and loudness range (LU) of a media file.

    `framelog=quiet` keeps ffmpeg from logging every 100 ms, which for a long episode would be
    megabytes of text held in memory.
    """
    report = run(
        ["-nostats", "-i", str(path), "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
        what=f"measure the loudness of {path}",
    )
    summary = report[report.rfind("Summary:") :]
    values: dict[str, float] = {}
    for key in ("I", "LRA", "Peak"):
        match = re.search(rf"^\s*{key}:\s+(-?inf|-?\d+(?:\.\d+)?)", summary, re.MULTILINE)
        if match is None:
            raise RenderError(
                f"ffmpeg's loudness report for {path} has no {key!r} value; is it an audio file?"
            )
        values[key] = float(match.group(1))
    return Loudness(values["I"], values["Peak"], values["LRA"])


class Mp3Encoder:
    """One ffmpeg process that reads mono float PCM on stdin and writes a CBR MP3 file.

    ffmpeg does the resampling (to `output_rate`) and libmp3lame the encoding, so the caller
    only ever holds the piece it is writing. The MP3 gets a Xing/LAME "Info" header (the
    encoder delay and padding, which decoders use to trim) and no tags: tags.py writes those.
    """

    def __init__(
        self, path: Path, *, input_rate: int, output_rate: int, bitrate: str, what: str
    ) -> None:
        self.path = path
        self.what = what
        # ffmpeg's messages go to a file, not a pipe nobody drains while we write its input.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finish/abort)
        command = [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "f32le",
            "-ar",
            str(input_rate),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-af",
            f"aresample={output_rate}",
            "-ac",
            "1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            bitrate,
            "-id3v2_version",
            "0",
            "-write_id3v1",
            "0",
            "-write_xing",
            "1",
            "-map_metadata",
            "-1",
            "-f",
            "mp3",
            "-y",
            str(path),
        ]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log
            )
        except OSError as exc:
            self._log.close()
            raise RenderError(f"Cannot start ffmpeg to {what} ({exc}); {INSTALL_HINT}.") from exc

    def write(self, pcm: bytes | memoryview) -> None:
        """Feed little-endian float32 samples; blocks while ffmpeg catches up."""
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(pcm)
        except (BrokenPipeError, OSError) as exc:
            self._process.wait()
            raise RenderError(
                f"ffmpeg stopped while encoding to {self.what}: {self._errors()}"
            ) from exc

    def finish(self) -> None:
        """Close the input and wait for the file to be complete; RenderError if ffmpeg failed."""
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.close()
        except (BrokenPipeError, OSError):
            log.debug("ffmpeg closed its input early while encoding to %s", self.what)
        code = self._process.wait()
        try:
            if code != 0:
                raise RenderError(f"ffmpeg failed to {self.what} (exit {code}): {self._errors()}")
        finally:
            self._log.close()

    def abort(self) -> None:
        """Stop the process after a failure elsewhere; the partial output is the caller's."""
        if self._process.poll() is None:
            self._process.kill()
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except (BrokenPipeError, OSError):
                log.debug("ffmpeg input already closed while aborting %s", self.what)
        self._process.wait()
        self._log.close()

    def _errors(self) -> str:
        self._log.seek(0)
        return _last_lines(self._log.read().decode("utf-8", "replace"))


def _last_lines(stderr: str, count: int = 3) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or "no message"
