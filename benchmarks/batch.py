"""Four short articles in one run against one run per article; local threads against Ray.

    pip install -e ".[bench,ray]"
    python benchmarks/batch.py --engine espeak            # a few minutes
    python benchmarks/batch.py --engine kokoro --chars 120  # about half an hour, quiet

The four articles are consecutive slices of the seed's dialogue (about --chars characters of
speech each), written as script.yaml files into a scratch folder. Every run starts from an
empty cache and its own output folder, as its own process (`python -m interview_audio render`),
so each one loads the engine as a user's command would:

- one by one: the command run once per article, as before batches existed;
- batch, local executor, --jobs 1 and --jobs 2;
- batch, a local Ray instance with 2 workers (`--executor ray -j 2`).

Prints wall time, CPU time of the whole process tree (sampled 5 times a second: the render,
its ffmpeg encoders, Ray's daemons and workers) and CPU utilisation of the machine's cores, with
the load average before and after each run. Then the figures the scaling estimate in
benchmarks/README.md rests on: the engine's own cost per line and per audio second (one warm
loop in this process), the assembly cost (the 4 episodes re-assembled from a warm cache), and
Ray's per-call overhead (a trivial actor call, and one returning a line-sized PCM buffer).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from interview_audio.article.parse import read_script
from interview_audio.article.script import Script, dump_yaml
from interview_audio.episode import plan_episode, with_chapters
from interview_audio.synthesis.engines import load_engine
from interview_audio.synthesis.engines.base import EngineOptions
from interview_audio.synthesis.transform import apply_transform
from interview_audio.voices.casting import cast_voices
from interview_audio.voices.load import load_voices

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_79d8b0fa45fee915.txt"
ARTICLES = 4


def write_articles(seed: Script, chars: int, folder: Path) -> list[Path]:
    """Four scripts from consecutive turns of the seed, each about `chars` characters long."""
    paths: list[Path] = []
    turns = list(seed.turns)
    start = 0
    for number in range(1, ARTICLES + 1):
        taken, size = [], 0
        while start < len(turns) and size < chars:
            taken.append(turns[start])
            size += len(turns[start].text)
            start += 1
        if not taken:
            raise SystemExit(f"The seed has too few turns for {ARTICLES} articles of {chars}.")
        meta = dataclasses.replace(seed.meta, title=f"{seed.meta.title}（{number}）")
        script = dataclasses.replace(
            seed, meta=meta, turns=tuple(taken), topics=(), headings=(), chapters=()
        )
        path = folder / f"{number}" / "script.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(dump_yaml(script), encoding="utf-8")
        paths.append(path)
    return paths


def tree_cpu(root: psutil.Process, seen: dict[int, float]) -> None:
    """Record the CPU seconds of every process under `root` (the last value seen wins)."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for process in processes:
        try:
            times = process.cpu_times()
            seen[process.pid] = times.user + times.system
        except psutil.Error:
            pass


def run(commands: list[list[str]]) -> tuple[float, float, str]:
    """Run the commands one after another; wall seconds, CPU seconds, load averages."""
    before = os.getloadavg()
    cpu = 0.0
    begin = time.perf_counter()
    for command in commands:
        process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen: dict[int, float] = {}
        while process.poll() is None:
            tree_cpu(process, seen)
            time.sleep(0.2)
        if process.returncode:
            assert process.stderr is not None
            sys.stderr.write(process.stderr.read().decode(errors="replace"))
            raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
        cpu += sum(seen.values())
    wall = time.perf_counter() - begin
    after = os.getloadavg()
    return wall, cpu, f"load {before[0]:.1f} → {after[0]:.1f}"


def render_command(work: Path, name: str, engine: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "interview_audio",
        "render",
        *extra,
        "--engine",
        engine,
        "-o",
        str(work / name / "out"),
        "--cache-dir",
        str(work / name / "cache"),
        "-q",
    ]


def episodes_audio(output: Path) -> float:
    """Seconds of audio in every finished episode under `output` (from episode.json)."""
    return sum(
        float(json.loads(path.read_text(encoding="utf-8"))["duration"])
        for path in output.glob("*/episode.json")
    )


def engine_costs(engine_name: str, paths: list[Path]) -> tuple[int, float, float]:
    """Lines, audio seconds and wall seconds of the engine alone over the lines of `paths`,
    warm (one line spoken first, outside the timing)."""
    config = load_voices(None)
    engine = load_engine(engine_name, EngineOptions())
    lines = []
    for path in paths:
        script = with_chapters(read_script(path), "auto")
        cast = cast_voices(script, config, engine_name)
        lines += plan_episode(script, cast, "short", config.lexicon).lines
    engine.synthesize(lines[0].speech, lines[0].voice)
    audio = 0.0
    begin = time.perf_counter()
    for line in lines:
        # As a render does: each voice's transform (if any) applied to what the engine said.
        audio += apply_transform(engine.synthesize(line.speech, line.voice), line.voice).duration
    return len(lines), audio, time.perf_counter() - begin


def ray_overhead() -> tuple[float, float, float]:
    """Seconds to start a local Ray instance, and mean round trips of an actor call: trivial,
    and returning 1.3 MB (a 30 s line at 22,050 Hz)."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import logging

    import ray

    begin = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    started = time.perf_counter() - begin

    class Echo:
        def nothing(self) -> None:
            return None

        def line(self) -> bytes:
            return b"\x01" * 1_323_000

    actor = ray.remote(Echo).options(num_cpus=1).remote()
    ray.get(actor.nothing.remote())
    calls = 200
    begin = time.perf_counter()
    for _ in range(calls):
        ray.get(actor.nothing.remote())
    trivial = (time.perf_counter() - begin) / calls
    begin = time.perf_counter()
    for _ in range(calls // 4):
        ray.get(actor.line.remote())
    line = (time.perf_counter() - begin) / (calls // 4)
    ray.shutdown()
    return started, trivial, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="espeak", choices=("espeak", "kokoro"))
    parser.add_argument("--chars", type=int, default=700, help="speech characters per article")
    parser.add_argument("--source", type=Path, default=SEED if SEED.exists() else None)
    parser.add_argument("--skip", nargs="*", default=(), help="runs to leave out, e.g. ray")
    args = parser.parse_args()
    if args.source is None:
        raise SystemExit(f"The seed article is not at {SEED}; pass --source ARTICLE.")
    cores = os.cpu_count() or 1
    print(f"{args.engine}, {ARTICLES} articles of ~{args.chars} characters, {cores} cores")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        folder = work / "articles"
        paths = write_articles(read_script(args.source), args.chars, folder)
        # The first article is enough for the engine's cost per line; all four give the total
        # audio the runs below are compared with.
        lines, first_audio, bare = engine_costs(args.engine, paths[:1])
        print(
            f"engine alone     first article, {lines} lines, {first_audio / 60:.1f} min audio: "
            f"{bare:.1f} s ({bare / lines:.3f} s per line, RTF {bare / first_audio:.3f})",
            flush=True,
        )
        audio = 0.0
        runs = {
            "one by one": ("single", [(str(path),) for path in paths]),
            "batch -j 1": ("j1", [(str(folder), "-j", "1")]),
            "batch -j 2": ("j2", [(str(folder), "-j", "2")]),
            "ray 2 workers": ("ray", [(str(folder), "--executor", "ray", "-j", "2")]),
        }
        walls: dict[str, float] = {}
        for name, (where, arguments) in runs.items():
            if name.split()[0] in args.skip:
                continue
            wall, cpu, load = run(
                [render_command(work, where, args.engine, *extra) for extra in arguments]
            )
            walls[name] = wall
            if not audio:
                audio = episodes_audio(work / where / "out")
                print(f"the {ARTICLES} episodes: {audio / 60:.1f} min of audio in all")
            print(
                f"{name:<16} wall {wall:7.1f} s  CPU {cpu:7.1f} s  "
                f"utilisation {cpu / wall / cores:5.1%}  RTF {wall / audio:.3f}  ({load})",
                flush=True,
            )
        if "batch -j 2" in walls:
            # Every line cached, every episode re-assembled (a new loudness target).
            wall, cpu, load = run(
                [render_command(work, "j2", args.engine, str(folder), "--lufs", "-17")]
            )
            print(
                f"assembly only    wall {wall:7.1f} s  CPU {cpu:7.1f} s  "
                f"({wall / (audio / 60):.2f} s per audio minute, {load})",
                flush=True,
            )
        if "ray" not in args.skip:
            started, trivial, line = ray_overhead()
            print(
                f"ray              start {started:.1f} s, actor call {trivial * 1000:.2f} ms, "
                f"returning 1.3 MB {line * 1000:.2f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
