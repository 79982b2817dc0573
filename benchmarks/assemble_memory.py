"""Peak memory and wall time of `assemble` for 1x, 2x and 4x an ~40-minute episode.

Memory must not grow with the episode: the assembler streams one segment at a time into ffmpeg.
The segments are real eSpeak NG speech when the bundled library loads (harmonic tone bursts
otherwise), about 12 s each, cycled to the wanted length; each size runs in a fresh
subprocess so the peak RSS (getrusage of the child) belongs to that run alone. That is the
Python side; the ffmpeg encoders read a pipe and write a file, so they stream by construction
(their RSS is not reported: getrusage of grandchildren counts the forked Python image).

Run: PYTHONPATH=src python benchmarks/assemble_memory.py [--minutes 40] [--scales 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

SEGMENT_SECONDS = 12.0
DISTINCT_SEGMENTS = 24
TEXTS = (
    "今天我们请到了一位嘉宾，和他聊聊人工智能的未来，以及这些技术会怎样改变我们的工作。",
    "谢谢邀请，很高兴来到这里。我觉得未来十年会发生很多变化，尤其是在科学研究方面。",
    "你认为通用人工智能什么时候会到来？很多人都在讨论这个问题，但答案差别很大。",
    "这是一个很难回答的问题。我们内部有很多讨论，但我个人认为，可能比大多数人想象的要快。",
)


def make_segments(folder: Path) -> tuple[list[Path], str]:
    """Write DISTINCT_SEGMENTS mono 16-bit WAVs; say what made them."""
    try:
        from interview_audio.engines import load_engine
        from interview_audio.engines.base import EngineOptions
        from interview_audio.voices import EspeakVoice

        engine = load_engine("espeak", EngineOptions())
        voices = (EspeakVoice("cmn+f3"), EspeakVoice("cmn+m3", pitch=35))

        def speech(index: int) -> tuple[bytes, int]:
            text = "".join(TEXTS[(index + k) % len(TEXTS)] for k in range(2))
            spoken = engine.synthesize(text, voices[index % 2])
            return spoken.pcm, spoken.sample_rate

        source = "eSpeak NG speech"
    except Exception as exc:  # noqa: BLE001 - any failure means: fall back to tones
        print(f"(eSpeak unavailable: {exc}; using tone bursts)")
        speech = _tones
        source = "harmonic tone bursts"
    paths = []
    for index in range(DISTINCT_SEGMENTS):
        pcm, rate = speech(index)
        path = folder / f"seg{index:02d}.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(pcm)
        paths.append(path)
    return paths, source


def _tones(index: int) -> tuple[bytes, int]:
    import numpy as np

    rate = 24000
    t = np.arange(int(SEGMENT_SECONDS * rate)) / rate
    pitch = 120 + 60 * (index % 2) + 15 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 30))
    syllables = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 2
    signal = 0.3 * voice * syllables / np.max(np.abs(voice))
    pcm = (signal * 32767).astype("<i2").tobytes()
    return pcm, rate


def child(folder: Path, minutes: float) -> None:
    """Assemble `minutes` of audio from the WAVs in `folder`; print JSON with the figures."""
    from interview_audio.assemble import EpisodeChapter, assemble
    from interview_audio.script import Role
    from interview_audio.synthesis import Line, Segment
    from interview_audio.voices import EspeakVoice, Pauses

    paths = sorted(folder.glob("seg*.wav"))
    durations = []
    for path in paths:
        with wave.open(str(path)) as wav:
            durations.append(wav.getnframes() / wav.getframerate())
    segments: list[Segment] = []
    total = 0.0
    while total < minutes * 60:
        index = len(segments)
        turn = index // 2
        line = Line(index, f"speaker{turn % 2}", Role.GUEST, EspeakVoice(), "", "", turn, 0, 0)
        path = paths[index % len(paths)]
        segments.append(Segment(line, path, durations[index % len(paths)], (), True))
        total += durations[index % len(paths)]
    every = max(1, len(segments) // 12)
    chapters = [EpisodeChapter(f"第{n + 1}章", n * every) for n in range(len(segments) // every)]
    out = folder / f"out-{minutes:g}"
    started = time.perf_counter()
    timeline = assemble(segments, chapters, Pauses(), out / "episode.mp3", chapter_dir=out / "ch")
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "segments": len(segments),
                "audio_minutes": timeline.duration / 60,
                "wall": wall,
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=40.0)
    parser.add_argument("--scales", default="1,2,4")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.minutes)
        return
    with tempfile.TemporaryDirectory(prefix="assemble-bench-") as tmp:
        folder = Path(tmp)
        _, source = make_segments(folder)
        print(f"segments: {DISTINCT_SEGMENTS} distinct WAVs of {source}, cycled")
        print(f"{'audio':>9} {'lines':>6} {'wall':>8} {'x realtime':>10} {'peak RSS':>10}")
        for scale in (float(s) for s in args.scales.split(",")):
            minutes = args.minutes * scale
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), "--minutes", str(minutes)],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            audio = figures["audio_minutes"]
            print(
                f"{audio:7.1f} m {figures['segments']:6d} {figures['wall']:7.1f}s "
                f"{audio * 60 / figures['wall']:9.1f}x {figures['peak_mib']:6.1f} MiB"
            )


if __name__ == "__main__":
    main()
