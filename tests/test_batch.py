"""Many articles in one run on the local executor, with the eSpeak engine: real files, real
synthesis, real MP3s. A failing article among good ones, interrupt and resume, skipping what is
complete, the CLI's summary and exit code."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from mutagen.mp3 import MP3
from typer.testing import CliRunner

from interview_audio import pipeline as render_module
from interview_audio.cli import app
from interview_audio.episode import Episode
from interview_audio.errors import ParseError
from interview_audio.finish import MANIFEST
from interview_audio.pipeline import (
    EpisodeResult,
    QuietReporter,
    RenderOptions,
    collect_sources,
    render_many,
)
from interview_audio.synthesis.queue import Segment
from short_articles import articles, write_article

pytestmark = pytest.mark.audio

SAMPLE = Path(__file__).parents[1] / "examples" / "sample.txt"


class Recorder(QuietReporter):
    """Counts lines per episode, keeps every result, can stop the run like Ctrl-C."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.lines = 0
        self.episodes: list[Episode] = []
        self.results: list[EpisodeResult] = []
        self.threads: set[str] = set()

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        self.episodes = list(episodes)

    def line_done(self, episode: Episode, segment: Segment) -> None:
        self.threads.add(threading.current_thread().name)
        self.lines += 1
        if self.stop_after is not None and self.lines >= self.stop_after:
            raise KeyboardInterrupt

    def episode_done(self, result: EpisodeResult) -> None:
        self.results.append(result)


def options(tmp: Path, **changes: object) -> RenderOptions:
    base = RenderOptions(output=tmp / "out", engine="espeak", cache_dir=tmp / "cache")
    return RenderOptions(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def join_background() -> None:
    """Wait for the threads an interrupt left running (a line or an assembly finishing)."""
    for thread in threading.enumerate():
        if thread.name.startswith(("synthesis", "finish")):
            thread.join(30)
            assert not thread.is_alive()


def test_collect_sources_walks_folders_once_and_skips_output_and_hidden(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    good = articles(folder)
    (folder / "notes.pdf").write_bytes(b"%PDF")
    write_article(folder / ".drafts" / "draft.txt", "草稿", "甲", ["还没写完。"])
    edited = folder / "nested" / "script.yaml"
    edited.parent.mkdir()
    edited.write_text("title: x\n", encoding="utf-8")
    output = folder / "out"
    write_article(output / "old" / "episode.txt", "旧的", "乙", ["不该被找到。"])
    found = collect_sources([good[1], folder, SAMPLE], output)
    assert found == [good[1], good[0], edited, SAMPLE]


def test_a_failing_article_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "articles"
    good = articles(folder)
    bad = folder / "c-notes.txt"
    bad.write_text("这不是访谈，只是一段随便写的文字。", encoding="utf-8")
    rebuilds: list[Path] = []
    rebuild = render_module.rebuild_library

    def counted(output: Path, *args: Any) -> Any:
        rebuilds.append(output)
        return rebuild(output, *args)

    monkeypatch.setattr(render_module, "rebuild_library", counted)
    recorder = Recorder()
    batch = render_many([folder], options(tmp_path), recorder)

    assert [r.source for r in batch.results] == [*good, bad]
    assert [r.ok for r in batch.results] == [True, True, False]
    assert isinstance(batch.results[2].error, ParseError)
    assert batch.failed == (batch.results[2],)
    for result in batch.results[:2]:
        report = result.report
        assert report is not None and not report.skipped
        assert MP3(report.folder / "episode.mp3").info.length == pytest.approx(
            report.duration, abs=0.1
        )
        assert (report.folder / MANIFEST).is_file()
    assert {r.source for r in recorder.results} == {*good, bad}
    assert recorder.lines == sum(e.stats.lines for e in recorder.episodes) == 12
    assert recorder.threads == {threading.main_thread().name}
    # The feed and the library page: rebuilt once, at the end, with both episodes.
    assert rebuilds == [tmp_path / "out"]
    feed = (tmp_path / "out" / "feed.xml").read_text(encoding="utf-8")
    assert "对话：慢跑的意义" in feed and "访谈：一家小书店的二十年" in feed


def test_fail_fast_stops_at_the_first_failure(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    bad = folder / "0-notes.txt"
    articles(folder)
    bad.write_text("这不是访谈。", encoding="utf-8")
    with pytest.raises(ParseError):
        render_many([folder], options(tmp_path, fail_fast=True))
    assert not (tmp_path / "out").exists()


def test_same_titles_get_their_own_folders(tmp_path: Path) -> None:
    first = write_article(tmp_path / "x.txt", "同一个标题", "张三", ["第一篇。", "好的。"])
    second = write_article(tmp_path / "y.txt", "同一个标题", "李四", ["第二篇。", "是的。"])
    batch = render_many([first, second], options(tmp_path))
    folders = [r.report.folder.name for r in batch.results if r.report is not None]
    assert folders == ["同一个标题", "同一个标题 (2)"]


def test_interrupted_batch_resumes_and_then_skips_what_is_complete(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    articles(folder)
    # Each episode has 6 lines (title, source, then four turns) and they share the host's two
    # questions: the 8th line done is the first episode's last, and the interrupt comes before
    # that episode is assembled. Every line done is in the cache.
    with pytest.raises(KeyboardInterrupt):
        render_many([folder], options(tmp_path), Recorder(stop_after=8))
    join_background()

    resumed = Recorder()
    batch = render_many([folder], options(tmp_path), resumed)
    assert all(r.ok for r in batch.results)
    new = sum(e.stats.new for e in resumed.episodes)
    cached = sum(e.stats.cached for e in resumed.episodes)
    assert (cached, new) == (8, 4)
    for result in batch.results:
        assert result.report is not None
        assert (result.report.folder / "episode.mp3").is_file()

    again = Recorder()
    batch = render_many([folder], options(tmp_path), again)
    assert again.episodes == [] and again.lines == 0
    assert all(r.report is not None and r.report.skipped for r in batch.results)
    # Episodes are reported as they finish, which is not always the articles' order.
    skipped = {r.source: r.report.duration for r in batch.results if r.report is not None}
    rendered = {r.source: r.report.duration for r in resumed.results if r.report is not None}
    assert skipped.keys() == rendered.keys() and len(skipped) == 2
    assert [skipped[s] for s in sorted(skipped)] == pytest.approx(
        [rendered[s] for s in sorted(rendered)]
    )

    # A changed option (loudness) re-assembles every episode from the cache.
    changed = Recorder()
    render_many([folder], options(tmp_path, lufs=-18.0), changed)
    assert len(changed.episodes) == 2
    assert all(e.stats.new == 0 for e in changed.episodes)


def test_cli_batch_summary_and_exit_code(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    articles(folder)
    (folder / "c-notes.txt").write_text("这不是访谈。", encoding="utf-8")
    args = [
        "render",
        str(folder),
        "--engine",
        "espeak",
        "-o",
        str(tmp_path / "out"),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    runner = CliRunner()
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Summary: 2 rendered, 0 complete and unchanged, 1 failed (3 articles)" in result.output
    assert "failed   " in result.output and "c-notes.txt" in result.output
    assert "✓ " in result.output and "对话：慢跑的意义: 0:" in result.output

    result = runner.invoke(app, [*args, "--fail-fast"])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "c-notes.txt" in result.output

    (folder / "c-notes.txt").unlink()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "0 rendered, 2 complete and unchanged, 0 failed" in result.output


def test_cli_ray_without_ray_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    folder = tmp_path / "articles"
    articles(folder)
    result = CliRunner().invoke(
        app,
        [
            "render",
            str(folder),
            "--engine",
            "espeak",
            "-o",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--executor",
            "ray",
        ],
    )
    assert result.exit_code == 1, result.output
    assert 'pip install "interview-audio[ray]"' in result.output
    assert "Traceback" not in result.output
