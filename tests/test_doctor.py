"""`interview-audio doctor`: on this machine everything a render needs is there; with each piece
taken away in turn it says which, and how to fix it, and exits 1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge_fake import FakeEdgeService, fake_edge_service
from interview_audio import __version__, ffmpeg
from interview_audio.cli import app
from interview_audio.synthesis import engines
from interview_audio.synthesis.engines.base import EngineOptions
from test_ffmpeg import without_lame

# Each test chooses its ffmpeg anew (the choice is kept for the life of a process).
pytestmark = [pytest.mark.audio, pytest.mark.usefixtures("fresh_ffmpeg_choice")]

TESTS = Path(__file__).parent
ROW = re.compile(r"^(.{16}) (ok  |no  |FAIL) (.+)$")
PIECES = (
    "python",
    "interview-audio",
    "ffmpeg",
    "voices.yaml",
    "cache",
    "engine edge",
    "engine kokoro",
    "engine espeak",
)


@pytest.fixture
def fake() -> Iterator[FakeEdgeService]:
    yield from fake_edge_service()


def rows(output: str) -> dict[str, tuple[str, str]]:
    """The table: piece → (outcome, detail)."""
    found = {}
    for line in output.splitlines():
        match = ROW.match(line)
        if match:
            found[match[1].strip()] = (match[2].strip(), match[3])
    return found


def doctor(*args: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    result = CliRunner().invoke(app, ["doctor", *args])
    return result.exit_code, rows(result.stdout), result.stdout


def test_on_this_machine_everything_is_there(fake: FakeEdgeService, tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "line.wav").write_bytes(b"\0" * 1000)
    code, table, output = doctor("--cache-dir", str(tmp_path / "cache"))
    assert code == 0, output
    assert tuple(table) == PIECES
    assert {outcome for outcome, _ in table.values()} == {"ok"}, output
    assert __version__ in table["interview-audio"][1]
    assert ffmpeg.check().path in table["ffmpeg"][1]
    assert str(tmp_path / "cache") in table["cache"][1] and "1 files" in table["cache"][1]
    assert "answered" in table["engine edge"][1]
    for engine in ("kokoro", "espeak"):
        assert "said 你好" in table[f"engine {engine}"][1]
    assert output.splitlines()[-1] == "Everything a default render needs is here."


def test_edge_offline_is_said_but_fails_nothing(tmp_path: Path) -> None:
    """No fake service: the name does not resolve (tests/conftest.py), as on an offline machine."""
    code, table, output = doctor("--cache-dir", str(tmp_path / "cache"))
    assert code == 0, output
    outcome, detail = table["engine edge"]
    assert outcome == "no" and "did not answer within 3 s" in detail


def assert_fails(code: int, table: dict[str, tuple[str, str]], output: str, piece: str) -> str:
    """Exit 1, every piece still reported, only `piece` failing; its detail."""
    assert code == 1, output
    assert tuple(table) == PIECES, output
    assert [name for name, (outcome, _) in table.items() if outcome == "FAIL"] == [piece], output
    assert output.splitlines()[-1].startswith("A default render cannot run here: fix " + piece)
    return table[piece][1]


def test_an_ffmpeg_without_libmp3lame(
    fake: FakeEdgeService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ffmpeg.ENV_VAR, str(without_lame(tmp_path / "bin")))
    detail = assert_fails(*doctor("--cache-dir", str(tmp_path / "cache")), "ffmpeg")
    assert "libmp3lame" in detail and f"set {ffmpeg.ENV_VAR}" in detail


def test_a_cache_folder_that_is_a_file(fake: FakeEdgeService, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("not a folder", encoding="utf-8")
    detail = assert_fails(*doctor("--cache-dir", str(cache)), "cache")
    assert str(cache) in detail and "a file is in the way" in detail
    assert "INTERVIEW_AUDIO_CACHE_DIR" in detail


def test_a_broken_voices_yaml(fake: FakeEdgeService, tmp_path: Path) -> None:
    voices = tmp_path / "voices.yaml"
    voices.write_text("narrator:\n  kokoro: {style: jf_alpha\n", encoding="utf-8")
    args = ("--voices", str(voices), "--cache-dir", str(tmp_path / "cache"))
    detail = assert_fails(*doctor(*args), "voices.yaml")
    assert str(voices) in detail


def test_kokoro_without_onnxruntime(tmp_path: Path) -> None:
    """onnxruntime unimportable, in a process of its own (with its own fake Edge service, so
    nothing leaves the machine): `auto` has no offline engine."""
    program = f"""
import sys
sys.modules["onnxruntime"] = None
sys.path.insert(0, {str(TESTS)!r})
from edge_fake import FakeEdgeService
from interview_audio.cli import app
with FakeEdgeService():
    app(["doctor", "--cache-dir", {str(tmp_path / "cache")!r}])
"""
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    detail = assert_fails(done.returncode, rows(done.stdout), done.stdout, "engine kokoro")
    assert "pip install onnxruntime" in detail and "auto" in detail


def test_a_plugin_object_without_a_selftest_is_tested_by_speaking_a_word(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any object with a plugin's attributes will do (README: Writing an engine), so one of a
    package's own making may have no `selftest`: the engine is loaded and says a word."""

    class Bare:
        def __init__(self, plugin: object) -> None:
            self._plugin = plugin

        def __getattr__(self, name: str) -> object:
            if name == "selftest":
                raise AttributeError(name)
            return getattr(self._plugin, name)

    plugins = engines.engine_plugins()
    monkeypatch.setattr(engines, "engine_plugins", lambda: {"espeak": Bare(plugins["espeak"])})
    assert "said 你好" in engines.selftest("espeak", EngineOptions())
