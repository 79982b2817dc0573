"""Progress where there is no terminal (nohup, cron, CI logs): `render` with its output going to
pipes prints a plain line now and then instead of the bar nobody can see."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
SHORT = ROOT / "tests" / "fixtures" / "listen_short.txt"
SAMPLE = ROOT / "examples" / "sample.txt"
LINE = re.compile(
    r"^Synthesizing: (\d+)/(\d+) lines, \d+\.\d min of audio"
    r"(?:, about \d+:\d\d left|, done in \d+:\d\d)?$"
)


def render(article: Path, tmp_path: Path, *args: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Render with stdout and stderr to pipes; stderr, and its synthesis lines as
    (done, total, line)."""
    done = subprocess.run(
        [sys.executable, "-m", "interview_audio", "render", str(article), "--engine", "espeak"]
        + ["-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = []
    for line in done.stderr.splitlines():
        if line.startswith("Synthesizing"):
            match = LINE.match(line)
            assert match, line
            lines.append((int(match[1]), int(match[2]), line))
    return done.stderr, lines


def test_without_a_terminal_progress_is_plain_lines(tmp_path: Path) -> None:
    stderr, lines = render(SHORT, tmp_path)
    assert lines, stderr
    counts = [done for done, _, _ in lines]
    assert counts == sorted(counts)
    total = lines[-1][1]
    assert counts[-1] == total and "done in" in lines[-1][2]
    assert all("left" in line for done, _, line in lines if done < total)
    assert "\x1b[" not in stderr  # no terminal codes in a log


def test_quiet_prints_no_progress(tmp_path: Path) -> None:
    stderr, lines = render(SHORT, tmp_path, "-q")
    assert lines == [] and stderr == ""


def test_a_line_at_each_tenth_when_the_work_is_quick(tmp_path: Path) -> None:
    """19 lines, each under a second: a line at each further tenth of the characters, not one
    per synthesized line (the interval is longer than the whole run)."""
    stderr, lines = render(SAMPLE, tmp_path, "--progress-every", "100000")
    total = lines[-1][1]
    assert total > 10
    assert 2 <= len(lines) <= 10 < total, stderr
    assert lines[-1][0] == total


def test_a_line_at_least_every_interval_when_the_work_is_slow(tmp_path: Path) -> None:
    """The interval, shortened to nothing: every synthesized line is as late as a slow engine's
    would be, and each one prints."""
    stderr, lines = render(SHORT, tmp_path, "--progress-every", "0")
    total = lines[-1][1]
    assert [done for done, _, _ in lines] == list(range(1, total + 1)), stderr
    assert re.search(r"^Encoding: \d+\.\d/\d+\.\d min$", stderr, re.MULTILINE)
