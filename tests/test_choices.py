"""Choices (`--chapters`, `--intro`, `--executor`, `--engine`) are checked when the options are
built: a typo fails at once, before any engine loads or anything is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from interview_audio.choices import ChapterMethod, ExecutorKind, IntroMode
from interview_audio.errors import InputError, VoicesError
from interview_audio.pipeline import RenderOptions

SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"


@pytest.mark.parametrize("flag", ["--chapters", "--intro", "--executor", "--engine"])
def test_a_bad_choice_on_the_command_line_stops_before_anything_loads(
    flag: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "interview_audio", "render", str(SAMPLE), flag, "bogus"]
        + ["-o", str(out), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "'bogus'" in done.stderr and "choose one of" in done.stderr.replace(
        "is not one of", "choose one of"
    )
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_options_from_python_take_the_values_as_strings() -> None:
    options = RenderOptions(chapters="headings", intro="full", executor="ray")  # type: ignore[arg-type]
    assert options.chapters is ChapterMethod.HEADINGS
    assert options.intro is IntroMode.FULL
    assert options.executor is ExecutorKind.RAY


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("chapters", InputError),
        ("intro", InputError),
        ("executor", InputError),
        ("engine", VoicesError),
    ],
)
def test_a_bad_choice_from_python_is_refused_when_the_options_are_built(
    field: str, error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"'bogus'.*choose one of"):
        RenderOptions(**{field: "bogus"})  # type: ignore[arg-type]
