"""Which ffmpeg a render uses and whether it can do the job: the distro's (Debian 12's 5.1 in
CI, `apt-get install ffmpeg`), the one imageio-ffmpeg bundles, or one named on purpose.

An ffmpeg that lacks a feature is made here the way such builds come about: a wrapper around a
real ffmpeg that answers `-h encoder=libmp3lame` as a build without LAME does.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from interview_audio import ffmpeg
from interview_audio.errors import RenderError
from interview_audio.pipeline import RenderOptions, render

# Each test chooses its ffmpeg anew (the choice is kept for the life of a process).
pytestmark = [pytest.mark.audio, pytest.mark.usefixtures("fresh_ffmpeg_choice")]

ROOT = Path(__file__).parents[1]
SHORT = ROOT / "tests" / "fixtures" / "listen_short.txt"
SYSTEM = Path("/usr/bin/ffmpeg")
needs_system_ffmpeg = pytest.mark.skipif(
    not SYSTEM.is_file(),
    reason="needs the distro's ffmpeg at /usr/bin/ffmpeg (apt-get install ffmpeg; .ci/run does)",
)


def bundled() -> str:
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def without_lame(folder: Path) -> Path:
    """An `ffmpeg` that is the bundled one, built (as far as anyone asking can tell) without
    libmp3lame."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        '  if [ "$arg" = encoder=libmp3lame ]; then\n'
        "    echo \"Codec 'libmp3lame' is not recognized by FFmpeg.\"; exit 0\n"
        "  fi\n"
        "done\n"
        f'exec "{bundled()}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_with_no_ffmpeg_on_path_the_bundled_one_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    info = ffmpeg.check()
    assert (info.path, info.source, info.missing) == (bundled(), "imageio-ffmpeg", ())
    assert info.version


@needs_system_ffmpeg
def test_the_ffmpeg_on_path_is_used_when_it_can_do_the_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", f"{SYSTEM.parent}{os.pathsep}{os.environ['PATH']}")
    info = ffmpeg.check()
    assert (info.path, info.source, info.missing) == (str(SYSTEM), "PATH", ())


def test_an_ffmpeg_on_path_without_a_feature_gives_way_to_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = without_lame(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    info = ffmpeg.check()
    assert (info.path, info.source) == (bundled(), "imageio-ffmpeg")
    assert ffmpeg.probe(str(shim), "PATH").missing == ("the libmp3lame encoder",)


def test_a_named_ffmpeg_without_a_feature_is_an_error_that_says_how_to_choose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ffmpeg.ENV_VAR, str(without_lame(tmp_path / "bin")))
    with pytest.raises(RenderError) as caught:
        ffmpeg.check()
    message = str(caught.value)
    assert "libmp3lame" in message and ffmpeg.ENV_VAR in message and "\n" not in message


def test_bundled_can_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ffmpeg.ENV_VAR, "bundled")
    assert ffmpeg.check().path == bundled()


def test_a_named_ffmpeg_that_does_not_exist_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ffmpeg.ENV_VAR, "/nowhere/ffmpeg")
    with pytest.raises(RenderError, match=r"/nowhere/ffmpeg.*unset it"):
        ffmpeg.check()


def test_render_stops_before_synthesis_when_ffmpeg_cannot_do_the_job(tmp_path: Path) -> None:
    """The CLI: one line, exit 1, and not a line synthesized (the cache stays empty)."""
    env = {**os.environ, ffmpeg.ENV_VAR: str(without_lame(tmp_path / "bin"))}
    cache = tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "-m", "interview_audio", "render", str(SHORT), "--engine", "espeak"]
        + ["-o", str(tmp_path / "out"), "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "libmp3lame" in lines[0]
    assert not cache.exists() or not any(cache.rglob("*.wav"))


def test_errors_quote_the_line_that_says_why(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as caught:
        ffmpeg.run(
            ["-f", "lavfi", "-i", "sine=d=0.1", "-af", "ebur128=nosuchoption=1", "-f", "null", "-"],
            what="measure a tone",
        )
    assert "nosuchoption" in str(caught.value)


@needs_system_ffmpeg
def test_a_render_with_the_distro_ffmpeg_meets_the_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ffmpeg.ENV_VAR, str(SYSTEM))
    report = render(
        SHORT, RenderOptions(output=tmp_path / "out", engine="espeak", cache_dir=tmp_path / "c")
    )
    assert ffmpeg.check().path == str(SYSTEM)
    measured = ffmpeg.measure_loudness(report.folder / "episode.mp3")
    assert measured.integrated == pytest.approx(-16.0, abs=1.0)
    assert measured.true_peak <= -1.0


def counting(folder: Path, log: Path) -> Path:
    """An `ffmpeg` that is the bundled one and notes each time it is run."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "ffmpeg"
    script.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec "{bundled()}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_the_check_is_remembered_until_the_binary_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERVIEW_AUDIO_CACHE_DIR", str(tmp_path / "cache"))
    runs = tmp_path / "runs.log"
    script = counting(tmp_path / "bin", runs)
    monkeypatch.setenv(ffmpeg.ENV_VAR, str(script))
    first = ffmpeg.check()
    asked = len(runs.read_text().splitlines())
    assert asked == len(ffmpeg.FEATURES) + 1
    ffmpeg.check.cache_clear()  # as a new command would
    assert ffmpeg.check() == first
    assert len(runs.read_text().splitlines()) == asked  # answered from the cache folder
    script.write_text(script.read_text() + "\n")  # another binary now, as after an upgrade
    ffmpeg.check.cache_clear()
    assert ffmpeg.check().version == first.version
    assert len(runs.read_text().splitlines()) == 2 * asked
