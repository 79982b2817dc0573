"""End-to-end render figures on the seed article: cold, warm, one voice changed, bare engine.

    python benchmarks/render_seed.py --engine espeak
    python benchmarks/render_seed.py --engine kokoro        # about 2 hours on 2 cores here

Prints wall time, audio duration, real-time factor, the share of the time that is not
synthesis (parsing, chapters, assembly, loudness, encoding, tagging), the same lines
synthesized by the bare engine in one loop, and the lines re-synthesized after a change.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from interview_audio.article.parse import read_script
from interview_audio.episode import Episode, plan_episode, with_chapters
from interview_audio.pipeline import QuietReporter, RenderOptions, render
from interview_audio.synthesis.engines import load_engine
from interview_audio.synthesis.engines.base import EngineOptions
from interview_audio.synthesis.queue import Segment, SynthesisPlan
from interview_audio.synthesis.transform import apply_transform
from interview_audio.voices.casting import cast_voices
from interview_audio.voices.load import load_voices

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_79d8b0fa45fee915.txt"
# Per engine: whose voice changes, and how (a voice nobody else has). Kokoro changes the host,
# whose 33 lines are the cheaper re-render at Kokoro's speed; eSpeak changes the guest's 53.
CHANGES = {
    "kokoro": (
        "主持人安德鲁",
        "    gender: male\n    edge: {voice: zh-CN-YunyangNeural}\n    kokoro: {style: jm_kumo, "
        "speed: 1.2,",
        "    gender: male\n    edge: {voice: zh-CN-YunyangNeural}\n    kokoro: {style: jm_kumo, "
        "speed: 1.25,",
    ),
    "espeak": (
        "山姆·奥特曼",
        "135Hz}}\n    espeak: {variant: cmn+m1}\n  # 安德鲁",
        "135Hz}}\n    espeak: {variant: cmn+m1, pitch: 40}\n  # 安德鲁",
    ),
}


class Clock(QuietReporter):
    """Records when synthesis started and ended inside a render."""

    def __init__(self) -> None:
        self.began = self.synthesized = 0.0
        self.plan: SynthesisPlan | None = None

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        self.plan = episodes[0].stats if episodes else None
        self.began = time.perf_counter()
        self.synthesized = self.began

    def line_done(self, episode: Episode, segment: Segment) -> None:
        self.synthesized = time.perf_counter()


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the ffmpeg encoders)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_render(source: Path, options: RenderOptions) -> tuple[float, float, Clock, float]:
    clock = Clock()
    begin = time.perf_counter()
    cpu = _cpu_seconds()
    report = render(source, options, clock)
    wall = time.perf_counter() - begin
    cpu_used = _cpu_seconds() - cpu
    return wall, report.duration, clock, cpu_used


def bare_engine(engine_name: str, source: Path) -> tuple[float, int]:
    """The same lines, spoken by the engine alone in one loop (with each voice's transform, as
    a render makes them): no cache, no assembly."""
    script = with_chapters(read_script(source), "auto")
    config = load_voices(None)
    engine = load_engine(engine_name, EngineOptions())
    plan = plan_episode(script, cast_voices(script, config, engine_name), "short", config.lexicon)
    begin = time.perf_counter()
    for line in plan.lines:
        apply_transform(engine.synthesize(line.speech, line.voice), line.voice)
    return time.perf_counter() - begin, len(plan.lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="espeak", choices=("espeak", "kokoro"))
    parser.add_argument("--source", type=Path, default=SEED if SEED.exists() else None)
    args = parser.parse_args()
    if args.source is None:
        raise SystemExit(f"The seed article is not at {SEED}; pass --source ARTICLE.")
    source: Path = args.source
    print(f"{args.engine} on {source.name}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        voices = work / "voices.yaml"
        voices.write_text((ROOT / "voices.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        options = RenderOptions(
            output=work / "out", engine=args.engine, voices=voices, cache_dir=work / "cache"
        )
        # Load the engine once outside the timings (model load is a one-off per process).
        load_engine(args.engine, EngineOptions())

        wall, audio, clock, cpu = timed_render(source, options)
        cold = wall
        synthesis = clock.synthesized - clock.began
        other = wall - synthesis
        lines = clock.plan.new if clock.plan is not None else 0
        print(
            f"cold render     wall {wall:7.1f} s  audio {audio / 60:5.1f} min  "
            f"RTF {wall / audio:.3f}  lines synthesized {lines}  "
            f"not synthesis {other:5.1f} s ({other / wall:.1%})  CPU/wall {cpu / wall:.2f}",
            flush=True,
        )

        # Into a new folder: the same one holds a complete, unchanged episode, which is skipped.
        warm = dataclasses.replace(options, output=work / "out-warm")
        wall, _, clock, _ = timed_render(source, warm)
        assert clock.plan is not None
        print(f"warm re-render  wall {wall:7.1f} s  lines synthesized {clock.plan.new}", flush=True)

        speaker, old, new = CHANGES[args.engine]
        text = voices.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise SystemExit(f"voices.yaml no longer has exactly one {old!r}; update CHANGES.")
        voices.write_text(text.replace(old, new), encoding="utf-8")
        wall, _, clock, _ = timed_render(source, options)
        assert clock.plan is not None
        script = read_script(source)
        expected = sum(len(t.paragraphs) for t in script.turns if t.speaker == speaker)
        print(
            f"voice changed   wall {wall:7.1f} s  lines synthesized {clock.plan.new} "
            f"({speaker} has {expected} lines)",
            flush=True,
        )

        bare, count = bare_engine(args.engine, source)
        print(
            f"bare engine     wall {bare:7.1f} s  ({count} lines in one loop)  "
            f"pipeline / bare {cold / bare:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
