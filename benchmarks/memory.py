"""Peak memory of a whole render (the process and its ffmpeg children) at 1x, 2x and 4x the
seed's length, to show it stays nearly flat as the episode grows.

    pip install -e .[bench]
    python benchmarks/memory.py                  # eSpeak NG: minutes
    python benchmarks/memory.py --engine kokoro  # hours at 4x

The longer articles repeat the seed's dialogue; every repeat is new text to the cache because
a numbered marker is added to each paragraph.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_79d8b0fa45fee915.txt"


def scaled_article(text: str, times: int) -> str:
    head, marker, rest = text.partition("## 访谈全文")
    dialogue, _, tail = rest.partition("## ")
    copies = []
    for copy in range(times):
        # Label lines stay as they are; paragraphs get a marker so no line repeats.
        copies.append(
            re.sub(r"(?m)^(?!\*\*)(?=\S)", f"第{copy + 1}遍。", dialogue) if copy else dialogue
        )
    return head + marker + "".join(copies) + "## " + tail


def _anonymous(process: psutil.Process) -> int:
    """Resident memory not backed by a file (heap, stacks): RSS also counts the pages of files
    a process maps, such as the episode's MP3 while its chapters are cut from it."""
    try:
        with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def peak_tree_rss(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """Run `command`; return (wall seconds, peak RSS and peak anonymous RSS of the process tree
    in MiB, exit code)."""
    begin = time.perf_counter()
    process = psutil.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = peak_anonymous = 0
    while process.poll() is None:
        try:
            tree = [p for p in (process, *process.children(recursive=True)) if p.is_running()]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
            peak_anonymous = max(peak_anonymous, sum(_anonymous(p) for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.1)
    if process.returncode:
        assert process.stderr is not None
        print(process.stderr.read().decode(errors="replace"), file=sys.stderr)
    return time.perf_counter() - begin, peak / 2**20, peak_anonymous / 2**20, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="espeak", choices=("espeak", "kokoro"))
    parser.add_argument("--scales", default="1,2,4")
    args = parser.parse_args()
    if not SEED.exists():
        raise SystemExit(f"The seed article is not at {SEED}.")
    text = SEED.read_text(encoding="utf-8")
    print(f"{args.engine}, {os.cpu_count()} cores; peak RSS of render + ffmpeg processes")
    print(f"{'scale':>5} {'audio':>9} {'wall':>8} {'peak RSS':>10} {'anonymous':>10}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for scale in (int(s) for s in args.scales.split(",")):
            article = work / f"seed-x{scale}.txt"
            article.write_text(scaled_article(text, scale), encoding="utf-8")
            out = work / f"out{scale}"
            command = [
                sys.executable, "-m", "interview_audio", "render", str(article), "-q",
                "--engine", args.engine, "-o", str(out), "--cache-dir", str(work / "cache"),
            ]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            wall, peak, anonymous, code = peak_tree_rss(command, env)
            if code:
                raise SystemExit(f"render failed at {scale}x (exit {code})")
            from mutagen.mp3 import MP3

            (episode,) = out.glob("*/episode.mp3")
            minutes = MP3(episode).info.length / 60
            print(
                f"{scale:>4}x {minutes:>7.1f} m {wall:>7.1f} s {peak:>8.0f} MiB "
                f"{anonymous:>6.0f} MiB"
            )


if __name__ == "__main__":
    main()
