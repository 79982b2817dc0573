"""render() end to end on the bundled sample with the fast eSpeak engine: real synthesis, real
ffmpeg, real MP3s, read back by mutagen and by ffmpeg's own demuxer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from typer.testing import CliRunner

from interview_audio.article.parse import read_script
from interview_audio.cli import app
from interview_audio.episode import Episode, episode_folder, intro_paragraphs
from interview_audio.errors import InputError
from interview_audio.ffmpeg import ffmpeg_exe, measure_loudness
from interview_audio.finish import RenderReport
from interview_audio.pipeline import EpisodeResult, RenderOptions, render
from interview_audio.publish.tags import read_tags
from interview_audio.synthesis.cache import Cache
from interview_audio.synthesis.queue import Segment, SynthesisPlan
from interview_audio.voices.model import Pauses

pytestmark = pytest.mark.audio

SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"
PAUSES = Pauses()


class Recorder:
    """A reporter that counts lines and can interrupt the render like Ctrl-C would."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.lines = 0
        self.stages: list[str] = []
        self.steps: list[tuple[str, float, float]] = []
        self.plan: SynthesisPlan | None = None
        self.results: list[EpisodeResult] = []

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        if episodes:
            self.plan = episodes[0].stats

    def line_done(self, episode: Episode, segment: Segment) -> None:
        self.lines += 1
        if self.stop_after is not None and self.lines >= self.stop_after:
            raise KeyboardInterrupt

    def stage(self, episode: Episode, name: str) -> None:
        self.stages.append(name)

    def assembling(self, episode: Episode, step: str, done: float, total: float) -> None:
        self.steps.append((step, done, total))

    def episode_done(self, result: EpisodeResult) -> None:
        self.results.append(result)


def _options(tmp: Path, **changes: object) -> RenderOptions:
    base = RenderOptions(output=tmp / "out", engine="espeak", cache_dir=tmp / "cache")
    return RenderOptions(**{**base.__dict__, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[RenderReport, Path]:
    tmp = tmp_path_factory.mktemp("render")
    return render(SAMPLE, _options(tmp)), tmp


def _decode(path: Path, rate: int = 44100) -> np.ndarray:
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


def test_files_and_format(rendered: tuple[RenderReport, Path]) -> None:
    report, _ = rendered
    names = {p.relative_to(report.folder).as_posix() for p in report.files}
    assert {"episode.mp3", "episode.vtt", "episode.srt", "chapters.json", "script.yaml"} <= names
    assert all(p.exists() for p in report.files)
    assert not list(report.folder.rglob(".*part-*")), "temporary files left behind"
    info = MP3(report.folder / "episode.mp3").info
    assert info.channels == 1 and info.sample_rate == 44100 and info.bitrate == 96000
    # The narrator's opening reads the sample's one-line introduction too.
    assert report.plan.lines == 20 and report.plan.new == 20


def test_chapters_agree_between_mutagen_and_ffmpeg(rendered: tuple[RenderReport, Path]) -> None:
    report, _ = rendered
    episode = report.folder / "episode.mp3"
    tags = ID3(episode)
    chaps = sorted(tags.getall("CHAP"), key=lambda f: f.start_time)
    (toc,) = tags.getall("CTOC")
    assert list(toc.child_element_ids) == [c.element_id for c in chaps]
    mutagen_view = [(c.start_time, c.end_time, str(c.sub_frames["TIT2"])) for c in chaps]
    assert [t for _, _, t in mutagen_view] == [
        "开场",
        "从辞职到立项",
        "小团队的分工与工具",
        "发行、定价与销量",
        "给后来者的建议",
    ]
    probe = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(episode)],
        capture_output=True,
        text=True,
        errors="replace",
    ).stderr
    found = re.findall(
        r"Chapter #0:(\d+): start (\d+\.\d+), end (\d+\.\d+)\s+Metadata:\s+title\s+: (.+)", probe
    )
    ffmpeg_view = [
        (round(float(s) * 1000), round(float(e) * 1000), t.strip()) for _, s, e, t in found
    ]
    assert ffmpeg_view == mutagen_view
    duration_ms = MP3(episode).info.length * 1000
    assert mutagen_view[0][0] == 0
    for (_, end, _), (start, _, _) in zip(mutagen_view, mutagen_view[1:], strict=False):
        assert end == start, "chapters must not leave gaps or overlap"
    assert abs(mutagen_view[-1][1] - duration_ms) < 60


def test_chapter_files_add_up_to_the_episode(rendered: tuple[RenderReport, Path]) -> None:
    report, _ = rendered
    files = sorted((report.folder / "chapters").glob("*.mp3"))
    assert [f.name[:3] for f in files] == ["01-", "02-", "03-", "04-", "05-"]
    total = sum(MP3(f).info.length for f in files)
    episode = MP3(report.folder / "episode.mp3").info.length
    assert abs(total - episode) / episode < 0.01
    second = ID3(files[1])
    assert str(second["TIT2"]) == "从辞职到立项"
    assert str(second["TRCK"]) == "2/5"
    assert str(second["TALB"]).startswith("对话独立游戏开发者")


def test_inspect_gives_each_chapter_file_its_chapter_s_length(
    rendered: tuple[RenderReport, Path],
) -> None:
    """mutagen ignores the encoder delay and padding ffmpeg writes in the LAME tag (a chapter
    file read ~0.1 s long); inspect reads them."""
    report, _ = rendered
    chapters = json.loads((report.folder / "chapters.json").read_text(encoding="utf-8"))
    files = sorted((report.folder / "chapters").glob("*.mp3"))
    for chapter, path in zip(chapters["chapters"], files, strict=True):
        length = chapter["endTime"] - chapter["startTime"]
        assert read_tags(path).duration == pytest.approx(length, abs=0.002), path.name
    assert read_tags(report.folder / "episode.mp3").duration == pytest.approx(report.duration)


def test_tagged_chapter_files_play_the_episode_s_own_samples(
    rendered: tuple[RenderReport, Path],
) -> None:
    report, _ = rendered
    whole = _decode(report.folder / "episode.mp3")
    position = 0
    for number, (span, path) in enumerate(
        zip(report.chapters, sorted((report.folder / "chapters").glob("*.mp3")), strict=True), 1
    ):
        assert span.file == path
        alone = _decode(path)
        assert len(alone) == round(span.end * 44100) - round(span.start * 44100)
        np.testing.assert_array_equal(alone, whole[position : position + len(alone)])
        position += len(alone)
        assert str(ID3(path)["TRCK"]) == f"{number}/{len(report.chapters)}"
    assert position == len(whole)


def test_loudness_and_true_peak(rendered: tuple[RenderReport, Path]) -> None:
    report, _ = rendered
    measured = measure_loudness(report.folder / "episode.mp3")
    assert abs(measured.integrated - -16.0) <= 0.5
    assert measured.true_peak <= -1.0


def test_pause_at_speaker_changes(rendered: tuple[RenderReport, Path]) -> None:
    report, _ = rendered
    assert report.timeline is not None
    rate, step = 44100, 0.005
    audio = _decode(report.folder / "episode.mp3", rate)
    frame = round(step * rate)
    step = frame / rate
    envelope = np.sqrt(
        np.mean(audio[: len(audio) // frame * frame].reshape(-1, frame) ** 2, axis=1)
    )
    loud = envelope > 10 ** (-45 / 20) * np.max(envelope)
    placements = report.timeline.placements
    chapter_starts = {c.start for c in report.timeline.chapters}
    measured = []
    for before, after in zip(placements, placements[1:], strict=False):
        if before.line.turn == after.line.turn or any(
            before.end <= c <= after.start for c in chapter_starts
        ):
            continue
        # The silence around the boundary: from the last loud frame of `before` to the first
        # loud frame of `after`, found in the decoded episode.
        lo, hi = int((before.end - 0.3) / step), int((after.start + 0.3) / step)
        window = loud[lo:hi]
        middle = int(((before.end + after.start) / 2) / step) - lo
        left = middle - int(np.argmax(window[:middle][::-1]))
        right = middle + int(np.argmax(window[middle:]))
        measured.append((right - left) * step)
    assert len(measured) >= 8
    for gap in measured:
        assert abs(gap - PAUSES.speaker_change) <= 0.05, measured


def test_captions_and_chapters_json(rendered: tuple[RenderReport, Path]) -> None:
    report, _ = rendered
    vtt = (report.folder / "episode.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    assert "<v 陈默>" in vtt and "<v 周一鸣>" in vtt
    data = json.loads((report.folder / "chapters.json").read_text(encoding="utf-8"))
    assert data["version"] == "1.2.0"
    assert [c["title"] for c in data["chapters"]][1] == "从辞职到立项"
    assert read_script(report.folder / "script.yaml").chapters[0].title == "从辞职到立项"


def test_second_run_synthesizes_nothing(rendered: tuple[RenderReport, Path]) -> None:
    _, tmp = rendered
    recorder = Recorder()
    again = render(SAMPLE, _options(tmp), recorder)
    assert again.plan.cached == again.plan.lines == 20
    assert again.plan.new == 0


def test_a_warm_render_measures_nothing_and_meets_the_targets(
    rendered: tuple[RenderReport, Path],
) -> None:
    first, tmp = rendered
    cache = Cache(tmp / "cache")
    sidecars = list((tmp / "cache").glob("*/*.json"))
    assert sidecars and all(cache.measurements(p.stem) for p in sidecars)
    episodes = []
    for name in ("again", "and-again"):
        recorder = Recorder()
        again = render(SAMPLE, _options(tmp, output=tmp / name), recorder)
        steps = [step for step, _, _ in recorder.steps]
        assert "measuring" not in steps and "encoding" in steps
        # A bar over audio minutes: it starts at 0 and ends at the episode's length.
        encoding = [(done, total) for step, done, total in recorder.steps if step == "encoding"]
        assert encoding[0][0] == 0.0 and encoding[-1][0] == encoding[-1][1]
        assert encoding[-1][1] == pytest.approx(again.duration)
        assert [c.start for c in again.chapters] == [c.start for c in first.chapters]
        measured = measure_loudness(again.folder / "episode.mp3")
        assert abs(measured.integrated - -16.0) <= 0.5
        assert measured.true_peak <= -1.0
        episodes.append(_decode(again.folder / "episode.mp3"))
    np.testing.assert_array_equal(*episodes)


def test_interrupted_render_resumes(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        render(SAMPLE, _options(tmp_path), Recorder(stop_after=6))
    assert not list((tmp_path / "out").rglob("episode.mp3"))
    resumed = Recorder()
    report = render(SAMPLE, _options(tmp_path), resumed)
    assert resumed.plan is not None and resumed.plan.cached >= 6
    assert resumed.plan.new == 20 - resumed.plan.cached
    assert (report.folder / "episode.mp3").exists()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    report = render(SAMPLE, _options(tmp_path, dry_run=True))
    assert report.plan.lines == 20 and report.plan.new == 20
    assert not (tmp_path / "out").exists()
    # The chapter plan with estimated starts: the narrator's opening, then the four topics.
    assert [title for title, _ in report.outline] == [
        "开场",
        "从辞职到立项",
        "小团队的分工与工具",
        "发行、定价与销量",
        "给后来者的建议",
    ]
    starts = [start for _, start in report.outline]
    assert starts[0] == 0 and starts == sorted(starts)
    # About 4.8 characters a second plus pauses: within a few seconds of characters / rate.
    assert report.plan.characters / 4.8 < report.estimate < report.plan.characters / 4.8 + 60


UNSPEAKABLE_SCRIPT = (
    "title: 测试\nturns:\n  - {speaker: 主持人, text: 你好。}\n"
    "  - {speaker: 嘉宾, text: '图在这里 ![](https://a.b/c.png) 吧。'}\n"
)


def test_speakability_warnings_before_synthesis_and_strict_stops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(UNSPEAKABLE_SCRIPT, encoding="utf-8")
    recorder = Recorder()
    with pytest.raises(InputError, match="--strict"):
        render(path, _options(tmp_path, strict=True), recorder)
    assert recorder.plan is None and recorder.lines == 0  # nothing was synthesized
    assert not (tmp_path / "out").exists()
    assert "turn 1 (嘉宾): Markdown" in caplog.text
    caplog.clear()
    report = render(path, _options(tmp_path, dry_run=True))
    assert report.plan.lines > 0 and "turn 1 (嘉宾)" in caplog.text


def test_intro_modes() -> None:
    script = read_script(SAMPLE)
    short = intro_paragraphs(script, "short")
    assert short[0].startswith("对话独立游戏开发者")
    assert "慢速播客实验室" in short[1] and "2025年3月18日" in short[1]
    assert (
        short[2] == "本文整理自一期线下沙龙的现场对话，嘉宾是独立游戏《灯塔守望者》的两位开发者。"
    )
    assert "第一，从辞职到立项" in short[3] and "Godot" not in short[3]
    full = intro_paragraphs(script, "full")
    assert any("Godot" in paragraph for paragraph in full)
    assert intro_paragraphs(script, "none") == []
    with pytest.raises(InputError, match="short, full, none"):
        intro_paragraphs(script, "long")


@pytest.mark.parametrize("title", ["../../etc/passwd", "a/b\\c", "..", "\x00\x1f", "标" * 300])
def test_folder_never_escapes_output(tmp_path: Path, title: str) -> None:
    folder = episode_folder(tmp_path, title)
    assert folder.parent == tmp_path
    assert len(folder.name) <= 60 and folder.name not in ("", ".", "..")


def test_cli_render_dry_run_and_inspect(
    rendered: tuple[RenderReport, Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "render",
            str(SAMPLE),
            "--engine",
            "espeak",
            "-o",
            str(tmp_path),
            "--cache-dir",
            str(tmp_path / "c"),
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "20 lines" in result.output and "Dry run" in result.output
    assert "Chapters (estimated, about" in result.output and "从辞职到立项" in result.output
    report, _ = rendered
    result = runner.invoke(app, ["inspect", str(report.folder / "episode.mp3")])
    assert result.exit_code == 0, result.output
    assert "从辞职到立项" in result.output and "Podcast" in result.output
    result = runner.invoke(app, ["render", str(SAMPLE), "--engine", "nope"])
    assert result.exit_code != 0 and "auto, edge, kokoro, espeak" in result.output
    script = tmp_path / "bad.yaml"
    script.write_text(UNSPEAKABLE_SCRIPT, encoding="utf-8")
    result = runner.invoke(
        app, ["render", str(script), "--engine", "espeak", "-o", str(tmp_path), "--strict"]
    )
    assert result.exit_code == 2 and "--strict stops before synthesis" in result.output
    assert "Traceback" not in result.output


def test_cli_progress_moves_over_audio_minutes_and_q_keeps_it_quiet(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from interview_audio.cli import _Progress

    plan = SynthesisPlan(lines=2, characters=20, cached=2, new=0)
    # Only what the bar reads of an episode.
    episode: Any = SimpleNamespace(cast=("a voice",), stats=plan, source=SAMPLE, title="标题")
    with _Progress(quiet=False, single=True) as progress:
        progress.started("espeak", [episode])
        progress.stage(episode, "assembling")
        progress.assembling(episode, "encoding", 0.0, 600.0)
        progress.assembling(episode, "encoding", 150.0, 600.0)
        (task,) = progress.bar.tasks
        assert (task.description, task.completed, task.total) == ("Encoding", 150.0, 600.0)
        assert task.fields["amount"] == "2.5/10.0 min"
        progress.assembling(episode, "encoding again", 30.0, 600.0)
        assert (task.description, task.completed) == ("Encoding again", 30.0)
    capfd.readouterr()
    # -q: the whole render prints nothing at all, progress included.
    result = subprocess.run(
        [sys.executable, "-m", "interview_audio", "render", str(SAMPLE), "--engine", "espeak"]
        + ["-o", str(tmp_path), "--cache-dir", str(tmp_path / "c"), "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (result.stdout, result.stderr) == ("", "")
