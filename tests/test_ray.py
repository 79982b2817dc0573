"""The Ray executor on a real local Ray instance (two CPUs, shared by every test here).

Two short articles and a failing one rendered with eSpeak through a Ray worker give the same
lines, durations within an MP3 frame and the same chapters as the local executor; a batch
interrupted on two Ray workers resumes; a worker killed in the middle of a line costs that line
a retry, not its episode.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# A local Ray node on 127.0.0.1, so the tests' traffic stays on the loopback interface. Read
# when Ray is imported, so it is set before.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason='Ray is not installed: pip install -e ".[test]"')

import tone_engine  # noqa: E402
from interview_audio.errors import ExecutorError, ParseError  # noqa: E402
from interview_audio.finish import RenderReport  # noqa: E402
from interview_audio.pipeline import RenderOptions, render_many  # noqa: E402
from interview_audio.synthesis.cache import Cache  # noqa: E402
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice  # noqa: E402
from interview_audio.synthesis.executors import ExecutorOptions, RayOptions, open_executor  # noqa: E402
from interview_audio.synthesis.queue import LineQueue, Segment  # noqa: E402
from short_articles import articles, render_fresh  # noqa: E402
from test_batch import Recorder, join_background  # noqa: E402

# One MP3 frame at 44.1 kHz: 1152 samples.
FRAME = 1152 / 44100


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        logging_level=logging.WARNING,
    )
    # The test engine lives in tests/, which workers cannot import: send it by value.
    ray.cloudpickle.register_pickle_by_value(tone_engine)
    try:
        yield
    finally:
        ray.cloudpickle.unregister_pickle_by_value(tone_engine)
        ray.shutdown()


def options(tmp: Path, **changes: Any) -> RenderOptions:
    base = RenderOptions(output=tmp / "out", engine="espeak", cache_dir=tmp / "cache")
    return RenderOptions(**{**base.__dict__, **changes})


def test_batch_through_ray_matches_the_local_executor(
    ray_instance: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "articles"
    articles(folder)
    (folder / "c-notes.txt").write_text("这不是访谈，只是一段随便写的文字。", encoding="utf-8")
    caplog.set_level(logging.INFO, logger="interview_audio.synthesis.executors.ray")
    # eSpeak NG's wave generator carries its phase from one call to the next (a static in the
    # C library, not reset by anything), so a line's length depends by a few milliseconds on the
    # lines its process spoke before. Both sides therefore start fresh and speak the same lines
    # in the same order: one new Ray worker, and the local executor in a new process.
    # Audio comes back through Ray's object store here (the kill test uses the shared cache).
    on_ray = render_many(
        [folder],
        options(tmp_path / "ray", executor="ray", jobs=1, ray=RayOptions(shared_cache=False)),
    )
    assert "Ray: 1 worker on" in caplog.text and "0 writing the shared cache" in caplog.text
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        local = pool.apply(render_fresh, ([folder], tmp_path / "out", tmp_path / "cache"))

    assert [r.ok for r in on_ray.results] == [r.ok for r in local.results] == [True, True, False]
    assert isinstance(on_ray.results[2].error, ParseError)
    for ray_result, local_result in zip(on_ray.results[:2], local.results[:2], strict=True):
        assert ray_result.report is not None and local_result.report is not None
        assert_same_episode(ray_result.report, local_result.report)


def assert_same_episode(ours: RenderReport, theirs: RenderReport) -> None:
    assert ours.timeline is not None and theirs.timeline is not None
    mine, other = ours.timeline.placements, theirs.timeline.placements
    assert [(p.line.speaker, p.line.text) for p in mine] == [
        (p.line.speaker, p.line.text) for p in other
    ]
    drift = [abs((a.end - a.start) - (b.end - b.start)) for a, b in zip(mine, other, strict=True)]
    assert max(drift) <= FRAME, drift
    assert [c.title for c in ours.chapters] == [c.title for c in theirs.chapters]
    firsts = [next(i for i, p in enumerate(mine) if p.start >= c.start) for c in ours.chapters]
    assert firsts == [
        next(i for i, p in enumerate(other) if p.start >= c.start) for c in theirs.chapters
    ]
    for first, a, b in zip(firsts, ours.chapters, theirs.chapters, strict=True):
        assert abs(a.start - b.start) <= sum(drift[:first]) + FRAME
    assert abs(ours.duration - theirs.duration) <= sum(drift) + FRAME


def test_interrupted_ray_batch_resumes(ray_instance: None, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    articles(folder)
    ray_options = options(tmp_path, executor="ray", jobs=2)
    with pytest.raises(KeyboardInterrupt):
        render_many([folder], ray_options, Recorder(stop_after=8))
    join_background()
    resumed = Recorder()
    batch = render_many([folder], ray_options, resumed)
    assert all(r.ok for r in batch.results)
    # Two workers finish lines in any order: the first episode may have been assembled before
    # the interrupt (then it is skipped now, complete), or not (then all its lines are cached).
    done = [r.report for r in resumed.results if r.report is not None and r.report.skipped]
    cached = sum(e.stats.cached for e in resumed.episodes) + sum(d.plan.lines for d in done)
    assert cached >= 8
    assert sum(e.stats.new for e in resumed.episodes) == 12 - cached
    assert resumed.lines == sum(e.stats.lines for e in resumed.episodes)


def test_a_killed_worker_costs_a_retry_of_its_line_not_the_episode(
    ray_instance: None, tmp_path: Path
) -> None:
    voice = EspeakVoice("cmn+f3")
    first = tone_engine.make_lines([("甲", voice, f"第一期第{i}句。") for i in range(5)])
    second = tone_engine.make_lines([("乙", voice, f"第二期第{i}句。") for i in range(5)])
    victim = first[2].speech
    calls = tmp_path / "calls"
    calls.mkdir()
    engine = tone_engine.ToneEngine()
    store = Cache(tmp_path / "cache")
    loader = tone_engine.MarkedToneLoader(str(calls), victim)
    executor = open_executor("ray", engine, loader, store, ExecutorOptions(jobs=2))
    queue = LineQueue(executor, store, engine.identity)
    queue.add(first)
    queue.add(second)
    killed: list[int] = []

    def kill_mid_line() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            started = list(calls.glob(f"{tone_engine.text_mark(victim)}-*"))
            if started:
                pid = int(started[0].name.split("-")[1])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_mid_line)
    killer.start()
    ready: dict[int, list[Segment]] = {}
    failed: dict[int, str] = {}
    try:
        queue.run(
            ready=lambda number, segments: ready.setdefault(number, segments),
            failed=lambda number, error: failed.setdefault(number, str(error)),
        )
    finally:
        killer.join()
        executor.close()
    assert killed and failed == {}
    assert [s.line for s in ready[0]] == first and [s.line for s in ready[1]] == second
    counts = {
        line.speech: len(list(calls.glob(f"{tone_engine.text_mark(line.speech)}-*")))
        for line in first + second
    }
    assert counts.pop(victim) == 2
    assert set(counts.values()) == {1}
    retried = [p for p in calls.glob(f"{tone_engine.text_mark(victim)}-*")]
    assert len({p.name.split("-")[1] for p in retried}) == 2, "the retry ran in a new worker"
    for segment in ready[0] + ready[1]:
        assert segment.path.is_file() and segment.duration > 0


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        (tone_engine.OtherToneLoader(fail=True), "cannot load the tone engine: the tone model"),
        (tone_engine.OtherToneLoader(), "has the engine tone/2/8000Hz, this machine has tone/1"),
    ],
)
def test_workers_that_cannot_sound_like_this_machine_are_refused(
    ray_instance: None, tmp_path: Path, loader: Any, message: str
) -> None:
    engine = tone_engine.ToneEngine()
    with pytest.raises(ExecutorError, match=message):
        open_executor("ray", engine, loader, Cache(tmp_path), ExecutorOptions(jobs=2))
    # The workers it started are gone again: their CPUs are free.
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray.available_resources().get("CPU", 0) == 2
    assert not list(tmp_path.glob(".ray-driver-*"))
