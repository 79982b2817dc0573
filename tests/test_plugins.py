"""Engines as plugins: a separate package, installed with pip, adds an engine that renders by name.

The package (tests/fixtures/plugins/chime_engine) is installed into a folder of its own and put
on the path of the commands run here, so the engines the rest of the suite sees do not change.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mutagen.mp3 import MP3

from interview_audio.voices.kinds import engine_names

ROOT = Path(__file__).parents[1]
PLUGIN = ROOT / "tests" / "fixtures" / "plugins" / "chime_engine"
SHORT = ROOT / "tests" / "fixtures" / "listen_short.txt"

VOICES = """\
narrator:
  edge: {voice: zh-CN-XiaoxiaoNeural}
  kokoro: {style: jf_alpha}
  chime: {pitch: 660}
roles:
  host:
    edge: {voice: zh-CN-YunyangNeural}
    kokoro: {style: jm_kumo}
    chime: {pitch: 220}
  guest:
    edge: {voice: zh-CN-YunxiNeural}
    kokoro: {style: jf_nezumi}
    chime: {pitch: 440}
pool:
  - edge: {voice: zh-CN-XiaoyiNeural}
    kokoro: {style: jf_tebukuro}
    chime: {pitch: 880}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin, installed by pip (from its folder, offline) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
        + ["--no-build-isolation", "--target", str(target), str(PLUGIN)],
        check=True,
        cwd=build,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"},
    )
    assert list(target.glob("chime_engine-*.dist-info/entry_points.txt"))
    return target


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interview_audio", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=False,
    )


def test_an_installed_engine_renders_an_episode_by_name(site: Path, tmp_path: Path) -> None:
    voices = tmp_path / "voices.yaml"
    voices.write_text(VOICES, encoding="utf-8")
    out = tmp_path / "out"
    done = cli(
        site,
        *("render", str(SHORT), "--engine", "chime", "--voices", str(voices)),
        *("-o", str(out), "--cache-dir", str(tmp_path / "cache")),
    )
    assert done.returncode == 0, done.stderr
    assert "chime at 220 Hz" in done.stdout + done.stderr  # the cast names the plugin's voices
    (episode,) = out.glob("*/episode.mp3")
    assert MP3(episode).info.length > 5


def test_the_engine_is_listed_with_its_voices(site: Path) -> None:
    done = cli(site, "voices", "--engine", "chime")
    assert done.returncode == 0, done.stderr
    assert "440hz" in done.stdout


def test_a_voices_file_without_the_engine_says_where_to_add_it(site: Path, tmp_path: Path) -> None:
    done = cli(
        site,
        *("render", str(SHORT), "--engine", "chime", "-o", str(tmp_path / "out")),
        *("--cache-dir", str(tmp_path / "cache")),
    )
    assert done.returncode == 2
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and "under narrator: no chime voice" in error
    assert "add `chime: {...}` there" in error


def test_the_rest_of_the_suite_does_not_see_the_plugin() -> None:
    assert "chime" not in engine_names()
