"""The synthesis stage: cache hits, re-synthesis of exactly what changed, threads, failures."""

from __future__ import annotations

import dataclasses
import logging
import signal
import sys
import threading
import time
import wave
from pathlib import Path

import pytest

from interview_audio.errors import EngineError, EngineUnavailable, RenderError, SynthesisError
from interview_audio.files import TEMP_MARKER
from interview_audio.synthesis.cache import Cache, cache_key
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.executors import ExecutorOptions, open_executor
from interview_audio.synthesis.queue import (
    Line,
    LineQueue,
    Segment,
    SynthesisPlan,
    plan_stats,
    synthesize,
)
from tone_engine import ToneEngine, make_lines

HOST = EspeakVoice("cmn+m3", pitch=40)
GUEST = EspeakVoice("cmn+f3", pitch=60)
NARRATOR = EspeakVoice("cmn+f2", pitch=50)


def interview(count: int = 12) -> list[Line]:
    """A narrator intro line, then host and guest taking turns, every text different."""
    texts = [("旁白", NARRATOR, "欢迎收听本期节目。")]
    for i in range(count - 1):
        if i % 2:
            texts.append(("山姆·奥特曼", GUEST, f"这是第{i}个回答。我想多说几句。" * (1 + i % 3)))
        else:
            texts.append(("主持人", HOST, f"第{i}个问题是什么？"))
    return make_lines(texts, narrator_intro=1)


def keys_in(cache: Cache, engine: ToneEngine, lines: list[Line]) -> list[bool]:
    return [cache.get(cache_key(engine.identity, ln.voice, ln.speech)) is not None for ln in lines]


def join_workers() -> None:
    """Wait for synthesis threads an interrupt left running (they finish and cache their line)."""
    for thread in threading.enumerate():
        if thread.name.startswith("synthesis"):
            thread.join(10)
            assert not thread.is_alive()


def test_segments_are_real_audio_in_line_order(tmp_path: Path) -> None:
    lines = interview()
    engine = ToneEngine()
    segments = synthesize(lines, engine, Cache(tmp_path), jobs=3)
    assert [s.line for s in segments] == lines
    assert not any(s.cached for s in segments)
    for segment in segments:
        with wave.open(str(segment.path), "rb") as wav:
            assert wav.getnframes() / wav.getframerate() == pytest.approx(segment.duration)
        assert segment.duration == pytest.approx(len(segment.line.speech) * 0.01, abs=0.01)
        assert segment.sentences[-1].end == pytest.approx(segment.duration)


def test_second_run_synthesizes_nothing(tmp_path: Path) -> None:
    lines = interview()
    first = synthesize(lines, ToneEngine(), Cache(tmp_path))
    engine = ToneEngine()
    second = synthesize(lines, engine, Cache(tmp_path))
    assert engine.calls == 0
    assert all(s.cached for s in second)
    assert [(s.path, s.duration, s.sentences) for s in second] == [
        (s.path, s.duration, s.sentences) for s in first
    ]


def test_changing_one_voice_resynthesizes_exactly_that_speakers_lines(tmp_path: Path) -> None:
    lines = interview()
    synthesize(lines, ToneEngine(), Cache(tmp_path))
    new_guest = dataclasses.replace(GUEST, pitch=70)
    changed = [
        dataclasses.replace(ln, voice=new_guest) if ln.voice == GUEST else ln for ln in lines
    ]
    engine = ToneEngine()
    segments = synthesize(changed, engine, Cache(tmp_path))
    guest_lines = sum(1 for ln in lines if ln.voice == GUEST)
    assert guest_lines > 1
    assert engine.calls == guest_lines
    assert [not s.cached for s in segments] == [ln.voice == new_guest for ln in changed]


def test_changing_one_line_resynthesizes_one(tmp_path: Path) -> None:
    lines = interview()
    synthesize(lines, ToneEngine(), Cache(tmp_path))
    edited = list(lines)
    edited[4] = dataclasses.replace(lines[4], speech=lines[4].speech + "补充一句。")
    engine = ToneEngine()
    segments = synthesize(edited, engine, Cache(tmp_path))
    assert engine.texts == [edited[4].speech]
    assert [s.index for s in (seg.line for seg in segments if not seg.cached)] == [4]


def test_new_engine_identity_resynthesizes_everything(tmp_path: Path) -> None:
    lines = interview(6)
    synthesize(lines, ToneEngine(), Cache(tmp_path))
    engine = ToneEngine(version="2")
    synthesize(lines, engine, Cache(tmp_path))
    assert engine.calls == len(lines)


def test_identical_lines_are_synthesized_once(tmp_path: Path) -> None:
    lines = make_lines([("甲", GUEST, "嗯。"), ("乙", HOST, "嗯。"), ("甲", GUEST, "嗯。")])
    engine = ToneEngine()
    segments = synthesize(lines, engine, Cache(tmp_path), jobs=4)
    assert engine.calls == 2
    assert segments[0].path == segments[2].path != segments[1].path
    assert [s.line.index for s in segments] == [0, 1, 2]


def test_progress_runs_on_the_calling_thread_once_per_line(tmp_path: Path) -> None:
    lines = interview()
    synthesize(lines[:5], ToneEngine(), Cache(tmp_path))
    seen: list[tuple[int, bool]] = []

    def progress(segment: Segment) -> None:
        assert threading.current_thread() is threading.main_thread()
        seen.append((segment.line.index, segment.cached))

    synthesize(lines, ToneEngine(), Cache(tmp_path), jobs=3, progress=progress)
    assert sorted(seen) == [(ln.index, ln.index < 5) for ln in lines]


def test_jobs_overlap_engine_calls(tmp_path: Path) -> None:
    engine = ToneEngine(delay=0.2, parallel=1)
    synthesize(interview(8), engine, Cache(tmp_path), jobs=4)
    assert engine.max_active == 4
    assert engine.calls == 8


def test_jobs_default_to_the_engine_and_never_exceed_it(tmp_path: Path) -> None:
    engine = ToneEngine(delay=0.1, parallel=2)
    synthesize(interview(8), engine, Cache(tmp_path))
    assert engine.max_active == 2


def test_failure_names_the_turn_keeps_finished_lines_and_resumes(tmp_path: Path) -> None:
    lines = interview()
    bad = lines[6]
    engine = ToneEngine(fail_on={bad.speech})
    with pytest.raises(SynthesisError) as raised:
        synthesize(lines, engine, Cache(tmp_path), jobs=1)
    message = str(raised.value)
    assert message.startswith(f"turn {bad.turn} ({bad.speaker}), paragraph 1: ")
    assert "told to fail" in message
    assert engine.calls == 7  # stopped: lines after the failure were never started
    assert keys_in(Cache(tmp_path), engine, lines) == [i < 6 for i in range(len(lines))]
    engine.fail_on = None
    engine.texts.clear()
    synthesize(lines, engine, Cache(tmp_path), jobs=1)
    assert engine.texts == [ln.speech for ln in lines[6:]]


def test_failure_with_threads_caches_the_lines_that_were_running(tmp_path: Path) -> None:
    lines = interview()
    engine = ToneEngine(fail_on={lines[3].speech}, delay=0.05)
    with pytest.raises(SynthesisError, match=r"^turn 2 \(主持人\), paragraph 1: "):
        synthesize(lines, engine, Cache(tmp_path), jobs=3)
    assert engine.calls < len(lines)
    stored = keys_in(Cache(tmp_path), engine, lines)
    assert sum(stored) == engine.calls - 1
    again = ToneEngine()
    synthesize(lines, again, Cache(tmp_path), jobs=3)
    assert sorted(again.texts) == sorted(
        ln.speech for ln, hit in zip(lines, stored, strict=True) if not hit
    )


def test_lines_failing_the_same_way_are_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A stalled service fails every running line with the same message: one error, no echo.
    def stalled(text: str) -> None:
        time.sleep(0.05)
        raise EngineError("the service stalled")

    with caplog.at_level(logging.WARNING), pytest.raises(SynthesisError, match="stalled"):
        synthesize(interview(), ToneEngine(on_call=stalled), Cache(tmp_path), jobs=3)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    def differently(text: str) -> None:
        time.sleep(0.05)
        raise EngineError(f"failed on {text}")

    with caplog.at_level(logging.WARNING), pytest.raises(SynthesisError):
        synthesize(interview(), ToneEngine(on_call=differently), Cache(tmp_path), jobs=3)
    assert any("Another line failed too" in r.getMessage() for r in caplog.records)


def test_narrator_failures_name_the_intro_line(tmp_path: Path) -> None:
    lines = interview(3)
    with pytest.raises(SynthesisError, match=r"^intro line 1: "):
        synthesize(lines, ToneEngine(fail_on={lines[0].speech}), Cache(tmp_path))


def test_unexpected_engine_exceptions_become_synthesis_errors(tmp_path: Path) -> None:
    def explode(text: str) -> None:
        raise ValueError("engine bug")

    with pytest.raises(SynthesisError, match=r"ValueError: engine bug") as raised:
        synthesize(interview(3), ToneEngine(on_call=explode), Cache(tmp_path))
    assert isinstance(raised.value.__cause__, ValueError)


def test_cache_write_failures_pass_through_unrenamed(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(RenderError, match="audio cache"):
        synthesize(interview(3), ToneEngine(), Cache(blocker))


def test_interrupt_in_progress_stops_new_work(tmp_path: Path) -> None:
    lines = interview()
    engine = ToneEngine()

    def progress(segment: Segment) -> None:
        if segment.line.index == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        synthesize(lines, engine, Cache(tmp_path), jobs=1, progress=progress)
    join_workers()
    assert engine.calls == 2
    assert keys_in(Cache(tmp_path), engine, lines)[:3] == [True, True, False]


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
def test_ctrl_c_while_waiting_interrupts_and_keeps_finished_lines(tmp_path: Path) -> None:
    lines = interview()
    main = threading.main_thread().ident
    assert main is not None

    def ctrl_c(text: str) -> None:
        if text == lines[3].speech:
            signal.pthread_kill(main, signal.SIGINT)

    engine = ToneEngine(on_call=ctrl_c, delay=0.05)
    with pytest.raises(KeyboardInterrupt):
        synthesize(lines, engine, Cache(tmp_path), jobs=2)
    join_workers()
    assert engine.calls < len(lines)
    stored = keys_in(Cache(tmp_path), engine, lines)
    assert sum(stored) == engine.calls
    assert not list(tmp_path.glob(f"*/.*{TEMP_MARKER}*"))


def test_without_a_cache_nothing_is_reused(tmp_path: Path) -> None:
    lines = interview(4)
    engine = ToneEngine()
    first = synthesize(lines, engine, None)
    second = synthesize(lines, engine, None)
    assert engine.calls == 2 * len(lines)
    assert all(s.path.is_file() and not s.cached for s in first + second)
    assert {s.path.parent.parent for s in first}.isdisjoint(s.path.parent.parent for s in second)


def test_plan_stats_counts_without_synthesizing(tmp_path: Path) -> None:
    lines = interview()
    characters = sum(len(ln.speech) for ln in lines)
    engine = ToneEngine()
    cache = Cache(tmp_path)
    assert plan_stats(lines, engine.identity, cache) == SynthesisPlan(
        len(lines), characters, 0, len(lines), characters
    )
    synthesize(lines[:5], engine, cache)
    calls = engine.calls
    later = sum(len(ln.speech) for ln in lines[5:])
    assert plan_stats(lines, engine.identity, cache) == SynthesisPlan(
        len(lines), characters, 5, len(lines) - 5, later
    )
    assert plan_stats(lines, "tone/other", cache).cached == 0
    assert plan_stats(lines, engine.identity, None).new == len(lines)
    assert engine.calls == calls


def test_real_espeak_engine_through_the_cache(tmp_path: Path) -> None:
    from interview_audio.synthesis.engines import load_engine
    from interview_audio.synthesis.engines.base import EngineOptions

    try:
        engine = load_engine("espeak", EngineOptions())
    except EngineUnavailable as exc:
        pytest.skip(f"eSpeak NG is not available here: {exc}")
    lines = make_lines(
        [("主持人", HOST, "你好，欢迎。"), ("嘉宾", GUEST, "谢谢邀请！我很高兴来这里。")]
    )
    first = synthesize(lines, engine, Cache(tmp_path))
    second = synthesize(lines, engine, Cache(tmp_path))
    assert [s.cached for s in first + second] == [False, False, True, True]
    for segment in second:
        with wave.open(str(segment.path), "rb") as wav:
            assert wav.getnchannels() == 1
            assert wav.getnframes() / wav.getframerate() == pytest.approx(segment.duration)
        assert segment.duration > 0.3
        assert segment.sentences and segment.sentences[-1].end <= segment.duration + 1e-6


def run_queue(
    episodes: list[list[Line]], engine: ToneEngine, cache: Cache, *, jobs: int, fail_fast: bool
) -> tuple[dict[int, list[Segment]], dict[int, str], list[int]]:
    """Episodes through one LineQueue on the local executor; what became ready, what failed,
    and the episode of every progress call."""
    executor = open_executor("local", engine, lambda cpus: engine, cache, ExecutorOptions(jobs))
    queue = LineQueue(executor, cache, engine.identity, fail_fast=fail_fast)
    for lines in episodes:
        queue.add(lines)
    ready: dict[int, list[Segment]] = {}
    failed: dict[int, str] = {}
    progress: list[int] = []
    try:
        queue.run(
            progress=lambda number, segment: progress.append(number),
            ready=lambda number, segments: ready.setdefault(number, segments),
            failed=lambda number, error: failed.setdefault(number, str(error)),
        )
    finally:
        executor.close()
    return ready, failed, progress


def test_queue_shares_lines_across_episodes_and_readies_each_once(tmp_path: Path) -> None:
    first, second = interview(6), interview(8)[3:]
    second = [dataclasses.replace(ln, index=i) for i, ln in enumerate(second)]
    engine = ToneEngine(parallel=2)
    ready, failed, progress = run_queue(
        [first, second], engine, Cache(tmp_path), jobs=2, fail_fast=False
    )
    assert failed == {}
    assert [s.line for s in ready[0]] == first and [s.line for s in ready[1]] == second
    shared = {ln.speech for ln in first} & {ln.speech for ln in second}
    assert len(shared) == 3
    assert engine.calls == len({ln.speech for ln in first + second})
    assert sorted(progress) == [0] * len(first) + [1] * len(second)


def test_a_failed_line_fails_its_episode_only(tmp_path: Path) -> None:
    bad_episode = interview(8)
    good = [
        dataclasses.replace(ln, speech=ln.speech + "另一期。", index=ln.index)
        for ln in interview(6)
    ]
    engine = ToneEngine(fail_on={bad_episode[2].speech})
    ready, failed, progress = run_queue(
        [bad_episode, good], engine, Cache(tmp_path), jobs=1, fail_fast=False
    )
    assert list(ready) == [1] and [s.line for s in ready[1]] == good
    assert list(failed) == [0] and failed[0].startswith("turn 1 (")
    # The failed episode's later lines were dropped before they started.
    assert engine.texts == [ln.speech for ln in bad_episode[:3]] + [ln.speech for ln in good]
    assert progress.count(0) == 2


def test_fail_fast_raises_and_starts_nothing_more(tmp_path: Path) -> None:
    lines = interview(8)
    engine = ToneEngine(fail_on={lines[2].speech})
    with pytest.raises(SynthesisError, match=r"^turn 1 "):
        run_queue([lines, interview(4)], engine, Cache(tmp_path), jobs=1, fail_fast=True)
    assert engine.calls == 3


def test_an_engine_that_cannot_run_stops_every_episode(tmp_path: Path) -> None:
    """EngineUnavailable (a model that will not open) is no one line's fault: the run stops
    with that message instead of failing each episode in turn."""
    lines = interview(6)

    def unavailable(text: str) -> None:
        raise EngineUnavailable("the model cannot be opened; reinstall it.")

    engine = ToneEngine(parallel=1, on_call=unavailable)
    with pytest.raises(EngineUnavailable, match="cannot be opened"):
        run_queue([lines, interview(4)], engine, Cache(tmp_path), jobs=1, fail_fast=False)
    assert engine.calls == 1
