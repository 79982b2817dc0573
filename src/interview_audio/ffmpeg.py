"""ffmpeg: which one, whether it can do what a render needs, how to run it, and the encoder.

Which binary: the one named by `INTERVIEW_AUDIO_FFMPEG` (a path or a command name; `bundled`
for imageio-ffmpeg's), else the `ffmpeg` on PATH (a distro's build may be newer or patched),
else the binary the imageio-ffmpeg wheel ships, so a plain `pip install` is enough to render.
Each candidate is checked once per process for the features a render uses (`check`, well
under a second); an ffmpeg on PATH that lacks one gives way to the bundled one, while one the
user named on purpose is an error that says what is missing.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from interview_audio.errors import InterviewAudioError, RenderError
from interview_audio.files import atomic_path, default_cache_dir

log = logging.getLogger(__name__)

ENV_VAR = "INTERVIEW_AUDIO_FFMPEG"
# What `probe` found, by binary, in the cache folder.
CHECKS_FILE = "ffmpeg-checks.json"
BUNDLED = "bundled"
INSTALL_HINT = "install ffmpeg (e.g. `apt install ffmpeg`) or run `pip install imageio-ffmpeg`"
CHOOSE_HINT = (
    f"set {ENV_VAR} to another ffmpeg's path, or {ENV_VAR}={BUNDLED} for the one "
    "`pip install imageio-ffmpeg` brings"
)


@dataclass(frozen=True)
class Feature:
    """Something a render asks of ffmpeg, and the `ffmpeg -h` topic whose answer shows it."""

    name: str
    topic: str
    present: Callable[[str], bool]


# What a render uses: the meter (ebur128 with true peak; framelog at `verbose` keeps the
# per-frame lines out of the default log level on every version from 4 on), the encoder, the
# tee muxer that feeds the meter while the file is written, MP3 decoding, resampling.
FEATURES = (
    Feature(
        "the libmp3lame encoder", "encoder=libmp3lame", lambda out: "Encoder libmp3lame" in out
    ),
    Feature(
        "the ebur128 filter with true peak",
        "filter=ebur128",
        lambda out: "Filter ebur128" in out and "framelog" in out and "true" in out,
    ),
    Feature("the tee muxer", "muxer=tee", lambda out: "Muxer tee" in out),
    Feature("the MP3 decoder", "decoder=mp3float", lambda out: "Decoder mp3float" in out),
    Feature("the aresample filter", "filter=aresample", lambda out: "Filter aresample" in out),
)


@dataclass(frozen=True)
class FfmpegInfo:
    """An ffmpeg binary as checked: where it is, why it was chosen, its version, what it lacks."""

    path: str
    source: str
    version: str
    missing: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return not self.missing


def probe(path: str, source: str) -> FfmpegInfo:
    """What one binary is and lacks: remembered in the cache folder by the binary's path, size
    and modification time, else asked (its version and each feature, in parallel: 0.2 s quiet,
    a second under load), so a command pays for the check once per ffmpeg, not every time."""
    stamp = _stamp(path)
    known = _remembered().get(stamp) if stamp else None
    if isinstance(known, dict) and isinstance(known.get("version"), str):
        missing = tuple(str(name) for name in known.get("missing", ()))
        return FfmpegInfo(path, source, known["version"], missing)
    info = _ask(path, source)
    if stamp:
        _remember(stamp, {"version": info.version, "missing": list(info.missing)})
    return info


def _stamp(path: str) -> str:
    """The binary's identity for the remembered checks (the features it is asked about too, so
    a new check is never answered by an old record); "" when it cannot be read."""
    try:
        real = os.path.realpath(path)
        stat = os.stat(real)
    except OSError:
        return ""
    asked = ",".join(feature.topic for feature in FEATURES)
    return f"{real}|{stat.st_size}|{stat.st_mtime_ns}|{asked}"


def _checks_file() -> Path:
    return default_cache_dir() / CHECKS_FILE


def _remembered() -> dict[str, object]:
    try:
        data = json.loads(_checks_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(stamp: str, record: dict[str, object]) -> None:
    records = {**_remembered(), stamp: record}
    try:
        with atomic_path(_checks_file()) as temp:
            temp.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    except (OSError, InterviewAudioError) as exc:
        log.debug("Could not remember the ffmpeg check (%s); it will be run again", exc)


def _ask(path: str, source: str) -> FfmpegInfo:
    """Ask one binary its version and about each feature, in parallel."""

    def ask(*args: str) -> str:
        try:
            done = subprocess.run(
                [path, "-hide_banner", *args],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=20,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RenderError(
                f"The ffmpeg at {path} ({source}) does not run ({exc}); {CHOOSE_HINT}."
            ) from exc
        return done.stdout + done.stderr

    with ThreadPoolExecutor(len(FEATURES) + 1) as pool:
        version_text = pool.submit(ask, "-version")
        answers = [pool.submit(ask, "-h", feature.topic) for feature in FEATURES]
        first = version_text.result().strip().splitlines()
        if not first or not first[0].startswith("ffmpeg version"):
            raise RenderError(f"{path} ({source}) does not answer like ffmpeg; {CHOOSE_HINT}.")
        missing = tuple(
            feature.name
            for feature, answer in zip(FEATURES, answers, strict=True)
            if not feature.present(answer.result())
        )
    version = first[0].removeprefix("ffmpeg version ").split(" Copyright")[0].strip()
    return FfmpegInfo(path, source, version, missing)


def _bundled() -> str:
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise RenderError(f"ffmpeg was not found ({exc}); {INSTALL_HINT}.") from exc
    return exe


def _named(value: str) -> FfmpegInfo:
    if value == BUNDLED:
        return probe(_bundled(), f"{ENV_VAR}={BUNDLED}")
    found = shutil.which(value)
    if found is None:
        raise RenderError(
            f"{ENV_VAR} names {value!r}, which is not an ffmpeg that can be run; "
            f"point it at an ffmpeg binary or unset it."
        )
    return probe(found, ENV_VAR)


def _missing_message(info: FfmpegInfo) -> str:
    return (
        f"The ffmpeg at {info.path} ({info.source}, version {info.version}) lacks "
        f"{', '.join(info.missing)}, which a render needs; {CHOOSE_HINT}."
    )


@functools.cache
def check() -> FfmpegInfo:
    """The ffmpeg a render will use, checked once per process; RenderError if none can do.

    Commands call this first, so a missing feature is reported before any synthesis.
    """
    named = os.environ.get(ENV_VAR, "").strip()
    if named:
        info = _named(named)
        if not info.usable:
            raise RenderError(_missing_message(info))
        return info
    on_path = shutil.which("ffmpeg")
    if on_path is not None:
        info = probe(on_path, "PATH")
        if info.usable:
            return info
        try:
            bundled = probe(_bundled(), "imageio-ffmpeg")
        except RenderError:
            raise RenderError(_missing_message(info)) from None
        if not bundled.usable:
            raise RenderError(_missing_message(info))
        log.info(
            "The ffmpeg on PATH (%s, %s) lacks %s: using imageio-ffmpeg's (%s).",
            info.path,
            info.version,
            ", ".join(info.missing),
            bundled.version,
        )
        return bundled
    info = probe(_bundled(), "imageio-ffmpeg")
    if not info.usable:
        raise RenderError(_missing_message(info))
    return info


def ffmpeg_exe() -> str:
    """The path of the ffmpeg in use (see `check`)."""
    return check().path


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
        raise RenderError(f"ffmpeg could not {what}: {_why(done.stderr)}")
    return done.stderr


def decode_pcm(path: Path, *, rate: int, seconds: float, what: str) -> bytes:
    """The first `seconds` of the audio in `path` (any format ffmpeg reads) as mono signed
    16-bit little-endian PCM at `rate`."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path)]
    command += ["-t", f"{seconds:g}", "-map", "0:a:0", "-ac", "1", "-ar", str(rate)]
    command += ["-f", "s16le", "-c:a", "pcm_s16le", "-"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"ffmpeg could not {what} ({exc}); {INSTALL_HINT}.") from exc
    if done.returncode != 0:
        reason = _why(done.stderr.decode("utf-8", "replace"))
        raise RenderError(f"ffmpeg could not {what}: {reason}")
    return done.stdout


@dataclass(frozen=True)
class Loudness:
    """An EBU R128 measurement by ffmpeg's ebur128 filter."""

    integrated: float
    true_peak: float
    loudness_range: float


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness (LUFS), true peak (dBTP) and loudness range (LU) of a media file."""
    report = run(
        ["-nostats", "-i", str(path), *_METER_ARGS], what=f"measure the loudness of {path}"
    )
    return _loudness(report, str(path))


# Frame lines are logged at `verbose`, below ffmpeg's default level, so they are not written:
# every 100 ms of a long episode would be megabytes of text held in memory. (`framelog=quiet`
# would say so more plainly, but Debian 12's ffmpeg 5.1 refuses it.)
_METER_ARGS = ("-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-")


def _loudness(report: str, source: str) -> Loudness:
    summary = report[report.rfind("Summary:") :]
    values: dict[str, float] = {}
    for key in ("I", "LRA", "Peak"):
        match = re.search(rf"^\s*{key}:\s+(-?inf|-?\d+(?:\.\d+)?)", summary, re.MULTILINE)
        if match is None:
            raise RenderError(
                f"ffmpeg's loudness report for {source} has no {key!r} value; is it audio?"
            )
        values[key] = float(match.group(1))
    return Loudness(values["I"], values["Peak"], values["LRA"])


class Mp3Encoder:
    """One ffmpeg process that reads mono PCM on stdin (float32, or `sample_format` as ffmpeg
    names it: "s16le") and writes a CBR MP3 file.

    ffmpeg does the resampling (to `output_rate`) and libmp3lame the encoding, so the caller
    only ever holds the piece it is writing. The MP3 gets a Xing/LAME "Info" header (the
    encoder delay and padding, which decoders use to trim) and no tags: tags.py writes those.

    With `measure`, the encoded stream also goes, as it is written, through a pipe to a second
    ffmpeg that decodes it and measures its loudness and true peak (EBU R128), so the check of
    the result costs no time of its own on a machine with a core to spare; `finish` returns
    the measurement.
    """

    def __init__(
        self,
        path: Path,
        *,
        input_rate: int,
        output_rate: int,
        bitrate: str,
        what: str,
        measure: bool = False,
        sample_format: str = "f32le",
    ) -> None:
        self.path = path
        self.what = what
        # ffmpeg's messages go to files, not pipes nobody drains while we write its input.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finish/abort)
        self._meter_log: IO[bytes] | None = None
        self._meter: subprocess.Popen[bytes] | None = None
        mp3 = "id3v2_version=0:write_id3v1=0"
        if measure:
            # The tee muxer writes the file (with its Info frame) and a copy of the stream to
            # stdout. ffmpeg runs in the file's folder so the tee sees only the plain name.
            output = [
                "-map",
                "0:a",
                "-f",
                "tee",
                f"[f=mp3:{mp3}:write_xing=1]file:{_tee_escape(path.name)}"
                f"|[f=mp3:{mp3}:write_xing=0]pipe:1",
            ]
        else:
            output = [
                *("-id3v2_version", "0", "-write_id3v1", "0", "-write_xing", "1"),
                *("-f", "mp3", str(path)),
            ]
        command = [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            *("-f", sample_format, "-ar", str(input_rate), "-ac", "1", "-i", "pipe:0"),
            *("-af", f"aresample={output_rate}", "-ac", "1"),
            *("-c:a", "libmp3lame", "-b:a", bitrate, "-map_metadata", "-1", "-y"),
            *output,
        ]
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE if measure else subprocess.DEVNULL,
                stderr=self._log,
                cwd=path.parent if measure else None,
            )
        except OSError as exc:
            self._log.close()
            raise RenderError(f"Cannot start ffmpeg to {what} ({exc}); {INSTALL_HINT}.") from exc
        if measure:
            self._start_meter()

    def _start_meter(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        self._meter_log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finish/abort)
        try:
            self._meter = subprocess.Popen(
                [ffmpeg_exe(), "-hide_banner", "-nostats", "-f", "mp3", "-i", "pipe:0"]
                + list(_METER_ARGS),
                stdin=stream,
                stdout=subprocess.DEVNULL,
                stderr=self._meter_log,
            )
        except OSError as exc:
            self.abort()
            raise RenderError(
                f"Cannot start ffmpeg to {self.what} ({exc}); {INSTALL_HINT}."
            ) from exc
        finally:
            stream.close()  # the meter holds the pipe now; ours would keep it open

    def write(self, pcm: bytes | memoryview) -> None:
        """Feed samples in the encoder's format; blocks while ffmpeg catches up."""
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(pcm)
        except (BrokenPipeError, OSError) as exc:
            self._process.wait()
            raise RenderError(
                f"ffmpeg stopped while encoding to {self.what}: {self._errors()}"
            ) from exc

    def finish(self) -> Loudness | None:
        """Close the input and wait for the file to be complete; RenderError if ffmpeg failed.

        Returns the measurement of the encoded stream when one was asked for.
        """
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
            return self._measured()
        finally:
            self._close()

    def _measured(self) -> Loudness | None:
        if self._meter is None or self._meter_log is None:
            return None
        code = self._meter.wait()
        self._meter_log.seek(0)
        report = self._meter_log.read().decode("utf-8", "replace")
        if code != 0:
            raise RenderError(
                f"ffmpeg could not measure the loudness of {self.path}: {_why(report)}"
            )
        return _loudness(report, str(self.path))

    def abort(self) -> None:
        """Stop the processes after a failure elsewhere; the partial output is the caller's."""
        for process in (self._process, self._meter):
            if process is not None and process.poll() is None:
                process.kill()
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except (BrokenPipeError, OSError):
                log.debug("ffmpeg input already closed while aborting %s", self.what)
        self._process.wait()
        if self._meter is not None:
            self._meter.wait()
        self._close()

    def _close(self) -> None:
        self._log.close()
        if self._meter_log is not None:
            self._meter_log.close()

    def _errors(self) -> str:
        self._log.seek(0)
        return _why(self._log.read().decode("utf-8", "replace"))


def _tee_escape(name: str) -> str:
    """A file name as one output of ffmpeg's tee muxer: its separators and quotes escaped."""
    return re.sub(r"([\\|\[\]'])", r"\\\1", name)


# Lines of ffmpeg's log that say why something failed (the last lines are often only
# "Conversion failed!").
_REASON = re.compile(
    r"error|invalid|unable|unknown|undefined|unrecognized|not found|no such|could not|cannot"
    r"|failed|does not|permission denied|not supported",
    re.IGNORECASE,
)
_CONTEXT = re.compile(r"^(\[[^\]]+ @ 0x[0-9a-f]+\] *)+")


def _why(stderr: str, count: int = 3) -> str:
    """The first lines that give a reason, then the last line: what ffmpeg says went wrong."""
    lines = [_CONTEXT.sub("", line).strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "no message"
    quoted = [line for line in lines if _REASON.search(line)][:count]
    if lines[-1] not in quoted:
        quoted.append(lines[-1])
    return " / ".join(dict.fromkeys(quoted))
