"""What drawn covers and intro/outro music cost.

    python benchmarks/music_art.py                  # the seed on eSpeak
    python benchmarks/music_art.py --article examples/sample.txt

Covers: drawing an episode's (1400 px) and the show's (3000 px) cover, best of five, and the
files' sizes. Music: a warm re-render (every line cached, the episode's folder removed first,
as `benchmarks/warm_render.py` does) without music and with `--music` (a 60 s tune made by
ffmpeg's lavfi sources), alternating three times, each with the MP3's loudness and true peak;
and the first render with a new music file (decoded, resampled and measured once).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interview_audio.ffmpeg import ffmpeg_exe, measure_loudness
from interview_audio.publish.artwork import EPISODE_SIZE, SHOW_MAX_BYTES, SHOW_SIZE, Artwork, draw
from interview_audio.publish.fonts import find_cjk_font

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_79d8b0fa45fee915.txt"
TUNE = (
    "aevalsrc='0.25*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*2*t))+0.15*sin(2*PI*277.18*t)"
    "+0.15*sin(2*PI*329.63*t)':s=44100:d=60"
)


def covers(folder: Path) -> None:
    font = find_cjk_font()
    print(f"font: {font.identity if font else 'none (covers without text)'}")
    art = Artwork("对话 MiniMax 闫俊杰：一个非典型技术创业者的十年", "闫俊杰、晚点LatePost", "晚点")
    for name, size, limit in (("episode", EPISODE_SIZE, None), ("show", SHOW_SIZE, SHOW_MAX_BYTES)):
        path = folder / f"{name}.jpg"
        times = []
        for _ in range(5):
            start = time.perf_counter()
            draw(art, path, size=size, font=font, max_bytes=limit)
            times.append(time.perf_counter() - start)
        print(f"{name} cover {size} px: {min(times) * 1000:.0f} ms, {path.stat().st_size >> 10} KB")


def render(article: Path, folder: Path, flags: list[str]) -> float:
    """One render as a user runs it; returns its wall time."""
    output = folder / "out"
    for episode in output.glob("*/"):
        shutil.rmtree(episode)
    command = [sys.executable, "-m", "interview_audio", "render", str(article), "-q"]
    command += ["--engine", "espeak", "-o", str(output), "--cache-dir", str(folder / "cache")]
    start = time.perf_counter()
    subprocess.run(command + flags, check=True, cwd=folder)
    return time.perf_counter() - start


def music(article: Path, folder: Path) -> None:
    tune = folder / "tune.mp3"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", TUNE, str(tune)], check=True
    )
    render(article, folder, ["--no-music"])  # fills the cache with the lines
    first = render(article, folder, ["--music", str(tune)])
    print(f"first render with a new music file (decode, resample, measure): {first:.1f} s")
    for round_ in range(1, 4):
        for name, flags in (
            ("without music", ["--no-music"]),
            ("with music", ["--music", str(tune)]),
        ):
            seconds = render(article, folder, flags)
            (mp3,) = (folder / "out").glob("*/episode.mp3")
            loudness = measure_loudness(mp3)
            load = os.getloadavg()[0]
            print(
                f"round {round_}, warm, {name} music: {seconds:.1f} s, "
                f"{loudness.integrated:.1f} LUFS, {loudness.true_peak:.1f} dBTP (load {load:.1f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--article", type=Path, default=SEED)
    args = parser.parse_args()
    if not args.article.is_file():
        sys.exit(f"{args.article} is missing: pass --article examples/sample.txt")
    with tempfile.TemporaryDirectory(prefix="music-art-") as scratch:
        folder = Path(scratch)
        covers(folder)
        music(args.article.resolve(), folder)


if __name__ == "__main__":
    main()
