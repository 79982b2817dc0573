"""One clock everywhere: render's report, `inspect` and the episode page show a chapter that
starts at 66.89 s as the same time (1:06, as the page's player says when it gets there)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from conftest import HalfSeconds
from interview_audio.cli import app
from interview_audio.display import clock


def test_every_place_shows_a_chapter_start_the_same(half_seconds: HalfSeconds) -> None:
    starts = half_seconds.starts
    # The case this is about: a start past the middle of its second.
    assert any(0.5 <= start % 1 < 0.95 for start in starts[1:]), starts
    expected = [clock(start) for start in starts]

    rendered = re.findall(r"^\s+\d+\.\s+(\d+:\d\d)\s", half_seconds.printed, re.MULTILINE)
    assert rendered == expected, half_seconds.printed

    inspected = CliRunner().invoke(
        app, ["inspect", str(half_seconds.folder / "episode.mp3")], terminal_width=200
    )
    assert inspected.exit_code == 0, inspected.output
    rows = re.findall(r"│\s*\d+\s*│\s*(\d+:\d\d)\s*│", inspected.output)
    assert rows == expected, inspected.output

    page = (half_seconds.folder / "index.html").read_text(encoding="utf-8")
    listed = re.findall(r'<span class="time">(\d+:\d\d)</span>', page)
    linked = re.findall(r'<li><a href="#t=(\d+:\d\d)" data-start', page)
    assert listed == expected and linked == expected
