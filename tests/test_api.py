"""The Python API: the names `interview_audio` exports, and the README's "From Python" example run
as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import interview_audio

ROOT = Path(__file__).parents[1]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the From Python section has no python block"
    return match.group(1)


def test_the_readme_example_renders_the_sample_and_prints_where(tmp_path: Path) -> None:
    """Run from a folder laid out like the repository root (the sample where the README says)."""
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "sample.txt", tmp_path / "examples" / "sample.txt")
    done = subprocess.run(
        [sys.executable, "-c", readme_example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"INTERVIEW_AUDIO_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    printed = Path(done.stdout.strip().splitlines()[-1])
    episode = printed if printed.is_absolute() else tmp_path / printed
    assert episode.name == "episode.mp3" and episode.stat().st_size > 10_000
    assert episode.read_bytes()[:3] == b"ID3"


def test_every_exported_name_resolves_to_what_it_says() -> None:
    for name in interview_audio.__all__:
        assert getattr(interview_audio, name) is not None, name
    assert callable(interview_audio.render) and callable(interview_audio.render_many)
    assert issubclass(interview_audio.InterviewAudioError, Exception)


def test_render_is_the_function_even_after_the_cli_is_imported() -> None:
    program = (
        "import interview_audio.cli\n"
        "from interview_audio import render, RenderOptions\n"
        "assert callable(render) and not isinstance(render, type(interview_audio)), render\n"
        "assert RenderOptions().engine is None\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_importing_the_package_loads_nothing_heavy() -> None:
    program = (
        "import sys, interview_audio\n"
        "heavy = [m for m in ('numpy', 'interview_audio.pipeline', 'typer', 'yaml') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
