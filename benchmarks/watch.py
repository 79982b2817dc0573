"""How long from an article appearing in a watched folder to its episode in the feed.

    python benchmarks/watch.py                      # eSpeak NG and Kokoro, a few minutes each
    python benchmarks/watch.py --engine espeak --render

For each engine, in a scratch folder with an empty cache: `interview-audio watch` is started
as its own process and left to load its engine; then examples/sample.txt is saved into the
folder and feed.xml is read (by feedparser, as a podcast app would) until the episode is in it.
Then one sentence of the article is edited and saved, and the time until feed.xml is rewritten
with the new episode is measured the same way: the case of someone fixing a typo, where every
other line comes from the cache.

Printed per engine: the watcher's start-up (engine loaded, folder caught up), the two
latencies, and how much of each the watcher spent rendering and publishing (its own log line)
against waiting for the file to settle (2 s) and noticing the change. `--render` also times
`interview-audio render` on the same article from an empty cache, as one command would.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample.txt"
EDIT = ("我第二天就答应了。", "我当天晚上就答应了。")


def wait(check: object, what: str, deadline: float = 3600.0) -> float:
    """Poll `check()` every 50 ms until it is truthy; the moment it was (perf_counter)."""
    assert callable(check)
    end = time.perf_counter() + deadline
    while not check():
        if time.perf_counter() > end:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.05)
    return time.perf_counter()


def titles(feed: Path) -> list[str]:
    """The episodes the feed lists (none while there is no feed)."""
    if not feed.is_file():
        return []
    return [entry.title for entry in feedparser.parse(feed.read_bytes()).entries]


def rendered_in(log: Path, count: int) -> float | None:
    """The watcher's own figure for its `count`-th episode: seconds from settling to the feed."""
    found = re.findall(r"in the feed ([\d.]+) s after the file settled", log.read_text("utf-8"))
    return float(found[count - 1]) if len(found) >= count else None


def measure(engine: str, work: Path) -> dict[str, float]:
    folder, output, log = work / "articles", work / "out", work / "watch.log"
    folder.mkdir()
    feed = output / "feed.xml"
    command = [sys.executable, "-m", "interview_audio", "watch", str(folder), "-o", str(output)]
    command += ["--engine", engine, "--cache-dir", str(work / "cache")]
    begin = time.perf_counter()
    with log.open("wb") as out:
        watcher = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        ready = wait(lambda: "Caught up" in log.read_text("utf-8"), "the watcher to start")
        text = SAMPLE.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip()
        saved = time.perf_counter()
        (folder / "sample.txt").write_text(text, encoding="utf-8")
        first = wait(lambda: title in titles(feed), "the episode in the feed")
        # The edited episode may have the same length and duration: the feed is new when the
        # file is (it is replaced whole, as a podcast app polling it would see).
        version = feed.stat().st_mtime_ns
        assert EDIT[0] in text, "the sentence to edit is no longer in the sample"
        edited = time.perf_counter()
        (folder / "sample.txt").write_text(text.replace(*EDIT), encoding="utf-8")
        second = wait(lambda: feed.stat().st_mtime_ns != version, "the edited episode")
        wait(lambda: rendered_in(log, 2) is not None, "the watcher's log line")
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(600)
    return {
        "start": ready - begin,
        "new": first - saved,
        "new_render": rendered_in(log, 1) or 0.0,
        "edit": second - edited,
        "edit_render": rendered_in(log, 2) or 0.0,
    }


def render_once(engine: str, work: Path) -> float:
    command = [sys.executable, "-m", "interview_audio", "render", str(SAMPLE), "-q"]
    command += ["--engine", engine, "-o", str(work / "render"), "--cache-dir", str(work / "rc")]
    begin = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("espeak", "kokoro"), action="append")
    parser.add_argument("--render", action="store_true", help="also time one render command")
    args = parser.parse_args()
    engines = args.engine or ["espeak", "kokoro"]
    print(f"examples/sample.txt, {os.cpu_count()} cores; settle 2 s (the default)", flush=True)
    for engine in engines:
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as scratch:
            figures = measure(engine, Path(scratch))
            took = render_once(engine, Path(scratch)) if args.render else None
        after = os.getloadavg()[0]
        print(
            f"{engine}: watcher start-up {figures['start']:.1f} s; "
            f"new article → in the feed {figures['new']:.1f} s "
            f"(rendering and publishing {figures['new_render']:.1f} s); "
            f"one sentence edited → {figures['edit']:.1f} s "
            f"({figures['edit_render']:.1f} s); load {load:.1f} → {after:.1f}",
            flush=True,
        )
        if took is not None:
            print(f"{engine}: one render command, empty cache: {took:.1f} s", flush=True)


if __name__ == "__main__":
    main()
