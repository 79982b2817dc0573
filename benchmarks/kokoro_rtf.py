"""How to use two cores with Kokoro, and how high each candidate default voice speaks.

Part 1 times ~20 sentences of the seed interview (or, with --lines N, its first N paragraphs as a
render speaks them) under three layouts of the cores, interleaved so load from other processes
hits all alike (C is the engine's default: see KokoroEngine.load):
  A  onnxruntime intra-op threads = cores, one synthesize call at a time (jobs = 1)
  B  intra-op threads = 1, one synthesize call per core at once (jobs = cores)
  C  intra-op threads = cores shared by one call per core at once (jobs = cores)
and prints wall time, CPU time and the real-time factor (wall seconds / audio seconds), and
the CPU's name and whether it has VNNI (int8 dot products, which change the answer).

Part 2 measures the mean fundamental frequency (F0) of candidate voices with a small
autocorrelation pitch tracker, so the lead can pick a host, a second male and a narrator.

Run: PYTHONPATH=src python benchmarks/kokoro_rtf.py [--sentences 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt

from interview_audio.synthesis.engines.base import EngineOptions, Speech
from interview_audio.synthesis.engines.kokoro.engine import KokoroEngine
from interview_audio.synthesis.engines.kokoro.voice import KokoroVoice
from interview_audio.synthesis.reading import to_speech
from interview_audio.synthesis.sentences import split_sentences

SEED = Path(__file__).resolve().parents[2] / "shared/seed/000_79d8b0fa45fee915.txt"
SPEED = 1.15
VOICES = (
    "jm_kumo",
    "jm_kumo*0.8+jf_gongitsune*0.2",
    "jm_kumo*0.7+jf_gongitsune*0.3",
    "jm_kumo*0.6+jf_gongitsune*0.4",
    "jm_kumo*0.7+jf_alpha*0.3",
    "jm_kumo*0.6+jf_nezumi*0.4",
    "jf_gongitsune",
    "jf_nezumi",
    "jf_alpha",
    "jf_tebukuro",
)
F0_TEXT = (
    "我觉得这件事情比大多数人想象的要来得更早。",
    "算力、数据和算法，它们之间可以相互权衡。",
    "所以我们会继续做下去，然后看看会发生什么。",
)


def mean_f0(pcm: bytes, rate: int, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Mean F0 in Hz over voiced 40 ms frames: windowed autocorrelation (Boersma-style)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    size, hop = int(0.04 * rate), int(0.01 * rate)
    if len(samples) < size:
        return float("nan")
    starts = np.arange(0, len(samples) - size, hop)
    frames = np.stack([samples[s : s + size] for s in starts])
    frames -= frames.mean(axis=1, keepdims=True)
    rms = np.sqrt((frames**2).mean(axis=1))
    window = np.hanning(size)
    window_ac = _autocorrelation(window[None, :])[0]
    ac = _autocorrelation(frames * window) / np.maximum(window_ac, 1e-9)
    ac /= np.maximum(ac[:, :1], 1e-12)
    low, high = int(rate / fmax), int(rate / fmin)
    band = ac[:, low:high]
    best = band.max(axis=1)
    # The first lag within 90% of the best peak avoids choosing a sub-harmonic (octave error).
    first = np.argmax(band >= 0.9 * best[:, None], axis=1)
    voiced = (best > 0.5) & (rms > 0.1 * rms.max())
    lags = low + first[voiced]
    return float(np.mean(rate / lags)) if lags.size else float("nan")


def _autocorrelation(frames: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    size = frames.shape[1]
    spectrum = np.fft.rfft(frames, 2 * size, axis=1)
    result: npt.NDArray[np.float64] = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :size]
    return result


def seed_sentences(count: int) -> list[str]:
    """Dialogue sentences of the seed, read the way speech.py prepares them."""
    if not SEED.is_file():
        sys.exit(f"The seed article is missing at {SEED}; the benchmark needs it.")
    sentences: list[str] = []
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for line in lines[len(lines) // 3 :]:
        text = line.strip().strip("*# ")
        if not text or "http" in text or len(text) < 20:
            continue
        for sentence in split_sentences(to_speech(text), 90):
            if 12 <= len(sentence) <= 60:
                sentences.append(sentence)
    return sentences[:count]


def seed_paragraphs(count: int) -> list[str]:
    """The seed's first dialogue paragraphs, as a render hands them to the engine."""
    from interview_audio.article.parse import read_script

    if not SEED.is_file():
        sys.exit(f"The seed article is missing at {SEED}; the benchmark needs it.")
    script = read_script(SEED)
    paragraphs = [to_speech(p) for turn in script.turns for p in turn.paragraphs]
    return paragraphs[:count]


def cpu_name() -> str:
    """The CPU's model name and whether it has VNNI (from /proc/cpuinfo on Linux)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = next(
        (
            line.split(":", 1)[1].strip()
            for line in info.splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    vnni = "avx512_vnni" in info or "avx_vnni" in info
    return f"{name}, {'with' if vnni else 'without'} VNNI"


def run(engine: KokoroEngine, sentences: list[str], jobs: int) -> tuple[float, float, float]:
    """Wall seconds, process CPU seconds and audio seconds for the whole batch."""
    voice = KokoroVoice("jm_kumo", SPEED)
    wall, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        speeches: list[Speech] = list(pool.map(lambda s: engine.synthesize(s, voice), sentences))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, sum(s.duration for s in speeches)


def threads_vs_jobs(count: int, rounds: int, lines: int) -> None:
    sentences = seed_paragraphs(lines) if lines else seed_sentences(count)
    chars = sum(len(s) for s in sentences)
    cores = os.cpu_count() or 1
    what = "paragraphs" if lines else "sentences"
    print(f"{len(sentences)} seed {what}, {chars} characters, {cores} CPUs: {cpu_name()}")
    alone = KokoroEngine.load(EngineOptions(jobs=1))
    single = KokoroEngine.load(EngineOptions(jobs=cores, cpus=cores))
    shared = KokoroEngine(alone._model, alone._phonemize, cores, alone._espeak_version)
    settings = {
        f"A threads={cores} jobs=1": (alone, 1),
        f"B threads=1 jobs={cores}": (single, cores),
        f"C threads={cores} jobs={cores}": (shared, cores),
    }
    for engine, _ in settings.values():
        engine.synthesize(sentences[0], KokoroVoice("jm_kumo", SPEED))
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in settings}
    for round_index in range(rounds):
        order = list(settings) if round_index % 2 == 0 else list(reversed(settings))
        for name in order:
            engine, jobs = settings[name]
            load = os.getloadavg()[0]
            results[name].append(run(engine, sentences, jobs))
            wall, cpu, audio = results[name][-1]
            print(f"  round {round_index + 1} {name}: {wall:6.1f} s wall (load avg {load:.1f})")
    print()
    print("| setting | wall s (median) | wall s (best) | CPU s | audio s | RTF (median) |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        walls = [wall for wall, _, _ in runs]
        cpu = statistics.median(c for _, c, _ in runs)
        audio = runs[0][2]
        median = statistics.median(walls)
        print(
            f"| {name} | {median:.1f} | {min(walls):.1f} | {cpu:.1f} | {audio:.1f} "
            f"| {median / audio:.2f} |"
        )


def pitches() -> None:
    engine = KokoroEngine.load(EngineOptions())
    print()
    print("| voice | mean F0 Hz | audio s |")
    print("|---|---|---|")
    for style in VOICES:
        speech = [engine.synthesize(text, KokoroVoice(style, SPEED)) for text in F0_TEXT]
        pcm = b"".join(s.pcm for s in speech)
        f0 = mean_f0(pcm, speech[0].sample_rate)
        print(f"| {style} | {f0:.0f} | {sum(s.duration for s in speech):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--lines", type=int, default=0, help="the seed's first N paragraphs")
    parser.add_argument("--skip-threads", action="store_true")
    parser.add_argument("--skip-pitch", action="store_true")
    args = parser.parse_args()
    if not args.skip_threads:
        threads_vs_jobs(args.sentences, args.rounds, args.lines)
    if not args.skip_pitch:
        pitches()


if __name__ == "__main__":
    main()
