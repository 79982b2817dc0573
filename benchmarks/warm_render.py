"""A warm re-render (every line cached) against one bare MP3 encode of the same audio.

    python benchmarks/warm_render.py --engine espeak                # the seed, 44.8 minutes
    python benchmarks/warm_render.py --engine kokoro --minutes 10   # a slice of the seed

The render is the command a user runs (`interview-audio render ARTICLE -q`, a new process,
imports included) after a first render filled the cache, with the episode's folder removed
first: a complete, unchanged episode is skipped, and this measures assembling it again. The
bare encode is the same ffmpeg encoding the episode's own audio, decoded to 44.1 kHz PCM in a
file first, to MP3 at the same bit rate, once. Both are timed side by side, alternating, a few
times; the load average is printed with each pair, because the machine may be shared. The
target: render / encode <= 1.5.
Last, one line is edited (as in script.yaml) and the episode rendered again, once: that line
is synthesized and measured, the rest comes from the cache.

`--minutes M` renders only the first turns of the article, about M minutes of speech, as an
edited script.yaml would be rendered (a Kokoro cache of the whole seed takes ~45 minutes of
both cores). `--cache-dir` keeps the cache between runs; by default it is a temporary folder.
To measure older code, run this script with PYTHONPATH pointing at that code's `src`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interview_audio.article.parse import read_script
from interview_audio.article.script import dump_yaml
from interview_audio.ffmpeg import ffmpeg_exe
from interview_audio.pipeline import RenderOptions, render

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_79d8b0fa45fee915.txt"
# Characters of speech text per minute of audio, about (eSpeak and Kokoro alike, measured on
# the seed: 10,814 characters in ~40 minutes).
CHARACTERS_PER_MINUTE = 260


def sliced(source: Path, minutes: float, folder: Path) -> Path:
    """The first turns of `source`, about `minutes` of speech, as a script.yaml to render."""
    script = read_script(source)
    budget = minutes * CHARACTERS_PER_MINUTE
    count = 0
    used = 0
    for turn in script.turns:
        if used >= budget:
            break
        used += sum(len(p) for p in turn.paragraphs)
        count += 1
    kept = dataclasses.replace(
        script,
        turns=script.turns[:count],
        chapters=tuple(c for c in script.chapters if c.start_turn < count),
        headings=tuple(h for h in script.headings if h.start_turn < count),
    )
    path = folder / "slice.yaml"
    path.write_text(dump_yaml(kept), encoding="utf-8")
    print(f"slice: the first {count} of {len(script.turns)} turns ({used} characters)")
    return path


def edited(source: Path, folder: Path) -> Path:
    """The script of `source` with one paragraph of its longest turn reworded, to render."""
    script = read_script(source)
    turns = list(script.turns)
    longest = max(range(len(turns)), key=lambda i: sum(len(p) for p in turns[i].paragraphs))
    paragraphs = list(turns[longest].paragraphs)
    paragraphs[0] = paragraphs[0].rstrip("。") + "，我是这么看的。"
    turns[longest] = dataclasses.replace(turns[longest], paragraphs=tuple(paragraphs))
    path = folder / "edited.yaml"
    path.write_text(dump_yaml(dataclasses.replace(script, turns=tuple(turns))), encoding="utf-8")
    return path


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def timed(command: list[str]) -> float:
    begin = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="espeak", choices=("espeak", "kokoro"))
    parser.add_argument("--source", type=Path, default=SEED if SEED.exists() else None)
    parser.add_argument("--minutes", type=float, default=None, help="render a slice this long")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.source is None:
        raise SystemExit(f"The seed article is not at {SEED}; pass --source ARTICLE.")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        source = sliced(args.source, args.minutes, work) if args.minutes else args.source
        cache = args.cache_dir or work / "cache"
        options = RenderOptions(output=work / "out", engine=args.engine, cache_dir=cache)
        print(f"{args.engine} on {source.name}, {os.cpu_count()} cores, {load()}", flush=True)
        begin = time.perf_counter()
        report = render(source, options)  # fills the cache (and its measurements)
        print(
            f"first render {time.perf_counter() - begin:.1f} s, {report.plan.new} lines "
            f"synthesized, {report.duration / 60:.1f} minutes of audio",
            flush=True,
        )
        check = render(source, dataclasses.replace(options, dry_run=True))
        if check.plan.new:
            raise SystemExit(f"{check.plan.new} lines are still not cached; cannot measure.")
        episode = report.folder / "episode.mp3"
        pcm = work / "episode.f32"
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-i", str(episode), "-f", "f32le", "-ac", "1"]
            + ["-ar", "44100", "-y", str(pcm)],
            check=True,
        )
        render_command = [sys.executable, "-m", "interview_audio", "render", str(source)]
        render_command += ["--engine", args.engine, "--cache-dir", str(cache)]
        render_command += ["-o", str(work / "out"), "-q"]
        encode_command = [ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", "44100", "-ac", "1"]
        encode_command += ["-i", str(pcm), "-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3"]
        encode_command += ["-y", str(work / "bare.mp3")]
        renders: list[float] = []
        encodes: list[float] = []
        for run in range(1, args.repeats + 1):
            before = load()
            shutil.rmtree(report.folder)
            renders.append(timed(render_command))
            encodes.append(timed(encode_command))
            print(
                f"run {run}: warm render {renders[-1]:6.1f} s  bare encode {encodes[-1]:6.1f} s  "
                f"ratio {renders[-1] / encodes[-1]:.2f}  ({before}; after: {load()})",
                flush=True,
            )
        render_median, encode_median = statistics.median(renders), statistics.median(encodes)
        print(
            f"median: warm render {render_median:.1f} s, bare encode {encode_median:.1f} s, "
            f"ratio {render_median / encode_median:.2f} "
            f"(best pair {min(r / e for r, e in zip(renders, encodes, strict=True)):.2f})",
            flush=True,
        )
        changed = edited(source, work)
        before = load()
        wall = timed([*render_command[:4], str(changed), *render_command[5:]])
        print(
            f"one line edited: render {wall:.1f} s, "
            f"{wall / encode_median:.2f} x the median bare encode ({before})"
        )


if __name__ == "__main__":
    main()
