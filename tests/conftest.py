"""Suite-wide: no test reaches beyond this machine.

Names other than localhost do not resolve (as on an offline machine, so code that downloads
something sees "no network or DNS"), and a connect to a non-loopback address fails the test.

Also shared: an output folder with two real episodes (eSpeak), rendered once a session, under
the same guard.

Property tests explore new examples on every developer run; under CI (`CI` set, as `.ci/run`
does) they replay one fixed sequence, so a landing never depends on the luck of the draw. Long
random runs by hand: `pytest tests/test_corpus.py --hypothesis-seed=N`, or raise max_examples.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from interview_audio import ffmpeg
from interview_audio.files import CACHE_ENV_VAR
from interview_audio.finish import RenderReport
from interview_audio.pipeline import RenderOptions, render
from interview_audio.publish.feed import FeedOptions

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).parents[1]
SAMPLE = ROOT / "examples" / "sample.txt"
SHORT = ROOT / "tests" / "fixtures" / "listen_short.txt"


class NonLoopbackConnect(AssertionError):
    """A test tried to reach beyond 127.0.0.1 / ::1."""


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%")[0].strip("[]"))
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    address = _address(host)
    if address is None:
        return host.casefold() in ("localhost", "localhost.")
    return address.is_loopback


@pytest.fixture(autouse=True, scope="session")
def own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The suite's own cache folder (lines, the Edge voice list, ffmpeg checks), so a test that
    names none never writes into the developer's: set for the commands tests run, too."""
    folder = tmp_path_factory.mktemp("cache")
    before = os.environ.get(CACHE_ENV_VAR)
    os.environ[CACHE_ENV_VAR] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(CACHE_ENV_VAR, None)
    else:
        os.environ[CACHE_ENV_VAR] = before


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any socket connect to a non-loopback address, from any thread; resolve no names."""
    yield from _guard(monkeypatch)


def _guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) and address else None
        if isinstance(host, str) and not _is_loopback(host):
            attempts.append(host)
            raise NonLoopbackConnect(f"test tried to connect to {host}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return original_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and _address(name) is None and not _is_loopback(name):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return original_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"non-loopback connections attempted: {attempts}"


@pytest.fixture
def fresh_ffmpeg_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No INTERVIEW_AUDIO_FFMPEG, and the ffmpeg in use chosen anew before and after the test
    (the choice is kept for the life of a process)."""
    monkeypatch.delenv(ffmpeg.ENV_VAR, raising=False)
    ffmpeg.check.cache_clear()
    yield
    ffmpeg.check.cache_clear()


@dataclass(frozen=True)
class Rendered:
    """An output folder holding the sample (newest, 2025-03-18) and a short interview
    (2024-05-01), as `render` left them."""

    output: Path
    sample: RenderReport
    short: RenderReport


@pytest.fixture(scope="session")
def listening_output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    tmp = tmp_path_factory.mktemp("listening")
    options = RenderOptions(
        output=tmp / "output", engine="espeak", cache_dir=tmp / "cache", feed=FeedOptions()
    )
    # Session fixtures are set up before the per-test guard: render under one of its own.
    with pytest.MonkeyPatch.context() as monkeypatch:
        guard = _guard(monkeypatch)
        next(guard)
        short = render(SHORT, options)
        sample = render(SAMPLE, options)
        next(guard, None)
    yield Rendered(tmp / "output", sample, short)


@dataclass(frozen=True)
class HalfSeconds:
    """The sample rendered through the command line with its chapter pause stretched so that
    a chapter starts past the middle of a second (where rounding and truncating disagree)."""

    folder: Path
    printed: str  # what `render` printed
    starts: tuple[float, ...]  # chapters.json's startTime of every chapter


@pytest.fixture(scope="session")
def half_seconds(
    listening_output: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HalfSeconds]:
    import json

    from typer.testing import CliRunner

    from interview_audio.cli import app

    tmp = tmp_path_factory.mktemp("half-seconds")
    # A chapter boundary lies in the middle of the pause before it: stretching that pause by d
    # moves the second chapter by d / 2. Aim it at .7 of a second.
    second = listening_output.sample.chapters[1].start
    pause = 1.5 + 2 * ((0.7 - second % 1) % 1)
    voices = tmp / "voices.yaml"
    shipped = (ROOT / "voices.yaml").read_text(encoding="utf-8")
    voices.write_text(
        shipped.replace("chapter: 1.5}", f"chapter: {pause:.3f}}}", 1), encoding="utf-8"
    )
    assert f"chapter: {pause:.3f}" in voices.read_text(encoding="utf-8")
    args = ["render", str(SAMPLE), "--engine", "espeak", "--voices", str(voices)]
    args += [
        "-o",
        str(tmp / "output"),
        "--cache-dir",
        str(listening_output.output.parent / "cache"),
    ]
    with pytest.MonkeyPatch.context() as monkeypatch:
        guard = _guard(monkeypatch)
        next(guard)
        result = CliRunner().invoke(app, args)
        next(guard, None)
    assert result.exit_code == 0, result.output
    folder = next(path.parent for path in (tmp / "output").glob("*/episode.mp3"))
    chapters = json.loads((folder / "chapters.json").read_text(encoding="utf-8"))["chapters"]
    yield HalfSeconds(folder, result.stdout, tuple(c["startTime"] for c in chapters))
