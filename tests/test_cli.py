"""The command line as a new user meets it: version, help, inspect, early output checks."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from interview_audio import __version__
from interview_audio.cli import app
from interview_audio.episode import Episode
from interview_audio.errors import InputError, VoicesError
from interview_audio.ffmpeg import ffmpeg_exe
from interview_audio.pipeline import QuietReporter, RenderOptions, render

SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"
runner = CliRunner()


def test_version_flag_and_command() -> None:
    for args in (["--version"], ["version"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == f"interview-audio {__version__}"


def _help_pages() -> list[list[str]]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return [["--help"], *([name, "--help"] for name in group.commands)]


@pytest.mark.parametrize("args", _help_pages(), ids=lambda args: " ".join(args))
def test_help_shows_no_value_after_flags(args: list[str]) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "160"}, terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert re.search(r"--help\s+Show this message", result.output)


def test_help_keeps_value_placeholders_for_options() -> None:
    result = runner.invoke(app, ["render", "--help"], env={"COLUMNS": "160"}, terminal_width=160)
    assert re.search(r"-o, --output <path>\s+Folder", result.output), result.output
    assert re.search(r"--dry-run\s+Show what", result.output), result.output
    assert re.search(r"--split / --no-split\s+Also write", result.output), result.output


# --- inspect -----------------------------------------------------------------------------------


def _encode(path: Path, *options: str) -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", *options]
        + [str(path)],
        check=True,
        timeout=60,
    )
    return path


def test_inspect_refuses_a_binary_that_is_not_an_mp3(tmp_path: Path) -> None:
    # A program with MPEG-like bytes inside: mutagen alone "finds" audio in it.
    mp3 = _encode(tmp_path / "tone.mp3", "-c:a", "libmp3lame", "-id3v2_version", "0")
    binary = tmp_path / "x.txt"
    junk = random.Random(0).randbytes(4096)
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + junk + mp3.read_bytes())

    result = runner.invoke(app, ["inspect", str(binary)])
    assert result.exit_code == 2
    assert "is not an MP3" in result.output
    assert "Tags" not in result.output


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("layer2.mp3", ("-c:a", "mp2")),
        ("text.mp3", None),
    ],
)
def test_inspect_refuses_other_files(
    tmp_path: Path, name: str, options: Sequence[str] | None
) -> None:
    path = tmp_path / name
    if options is None:
        path.write_text("不是音频。\n" * 100, encoding="utf-8")
    else:
        _encode(tmp_path / "tone.mp2", *options).rename(path)
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 2, result.output
    assert "MP3" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "options",
    [
        ("-c:a", "libmp3lame"),
        ("-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "0"),
        ("-c:a", "libmp3lame", "-id3v2_version", "3", "-metadata", "title=标题"),
    ],
)
def test_inspect_reads_plain_mp3s(tmp_path: Path, options: Sequence[str]) -> None:
    mp3 = _encode(tmp_path / "tone.mp3", *options)
    result = runner.invoke(app, ["inspect", str(mp3)])
    assert result.exit_code == 0, result.output
    assert "0:01" in result.output


# --- output checked before synthesis -------------------------------------------------------------


class Recorder(QuietReporter):
    def __init__(self) -> None:
        self.started_synthesis = False

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        self.started_synthesis = True


def _unwritable_outputs(tmp_path: Path) -> list[Path]:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    outputs = [blocker, blocker / "episodes"]
    if Path("/proc/self").is_dir():
        outputs.append(Path("/proc/interview-audio-test"))
    return outputs


def test_unwritable_output_fails_before_synthesis(tmp_path: Path) -> None:
    for output in _unwritable_outputs(tmp_path):
        recorder = Recorder()
        options = RenderOptions(output=output, engine="espeak", cache_dir=tmp_path / "cache")
        with pytest.raises(InputError, match="Cannot create the output folder.*-o"):
            render(SAMPLE, options, recorder)
        assert not recorder.started_synthesis, output
    assert not (tmp_path / "cache").exists()


def test_unwritable_output_is_one_line_from_the_cli(tmp_path: Path) -> None:
    output = _unwritable_outputs(tmp_path)[1]
    result = runner.invoke(
        app, ["render", str(SAMPLE), "--engine", "espeak", "-o", str(output), "-q"]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: Cannot create the output folder")
    assert len(result.output.strip().splitlines()) == 1


def test_output_check_leaves_no_folders_behind(tmp_path: Path) -> None:
    voices = tmp_path / "voices.yaml"
    voices.write_text("engine: nope\n", encoding="utf-8")
    output = tmp_path / "new" / "episodes"
    options = RenderOptions(output=output, engine="espeak", voices=voices)
    with pytest.raises(VoicesError):
        render(SAMPLE, options)
    assert not (tmp_path / "new").exists()


# --- counting and empty folders ----------------------------------------------------------------


def test_an_empty_folder_is_reported_once(tmp_path: Path) -> None:
    empty = tmp_path / "emptydir"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "interview_audio", "render", str(empty), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count(str(empty)) == 1, done.stderr
    assert done.stderr.startswith("error: No articles to render in")


def test_one_of_a_kind_is_counted_in_the_singular(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_bytes(SAMPLE.read_bytes())
    args = ["render", str(folder), "--engine", "espeak", "--dry-run", "-o", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "(1 article)" in result.output and "1 episode to render" in result.output
    assert not re.search(r"\b1 (articles|episodes|lines|chapters)\b|\(s\)", result.output)


def test_inspect_keeps_a_long_path_whole(tmp_path: Path) -> None:
    folder = tmp_path / "a long folder name for the podcast episodes" / ("对话独立游戏开发者" * 4)
    folder.mkdir(parents=True)
    mp3 = _encode(folder / "episode.mp3", "-c:a", "libmp3lame")
    result = runner.invoke(app, ["inspect", str(mp3)], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    assert f"{mp3}: 0:01" in result.output  # on one line, never cut inside a word
