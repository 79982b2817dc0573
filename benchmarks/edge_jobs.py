"""How many parallel jobs the Edge engine wants: the seed's lines against the loopback fake.

The fake answers after a first-byte latency (300 ms by default) and faults 10 % of requests
(drops, stalls, no audio, 403/429/503), as the real service does under load. For each job count
the script prints wall time, retries, faults served, the fake's peak concurrency and lines lost
(failed, or returned shorter than the text needs). Run from the repo root:

    PYTHONPATH=src python benchmarks/edge_jobs.py [--jobs 1 2 4 8] [--limit 40]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from edge_fake import FakeEdgeService, expected_duration  # noqa: E402
from interview_audio.errors import SynthesisError  # noqa: E402
from interview_audio.synthesis.engines.base import EngineOptions  # noqa: E402
from interview_audio.synthesis.engines.edge.engine import EdgeEngine, chunk_text  # noqa: E402
from interview_audio.synthesis.engines.edge.voice import EdgeVoice  # noqa: E402

SEED = ROOT.parent / "shared/seed/000_79d8b0fa45fee915.txt"
VOICE = EdgeVoice("zh-CN-YunxiNeural")


def seed_lines(path: Path) -> list[str]:
    """The dialogue paragraphs, through the project's parser when it is there."""
    try:
        from interview_audio.article.parse import read_article
    except ImportError:
        text = path.read_text(encoding="utf-8")
        return [
            m.group(1).strip() for m in re.finditer(r"^\*\*[^*]{1,12}[:：]\*\*(.+)$", text, re.M)
        ]
    return [p for turn in read_article(path).turns for p in turn.paragraphs if p.strip()]


def run(lines: list[str], jobs: int, args: argparse.Namespace) -> tuple[str, ...]:
    fake = FakeEdgeService(
        latency=args.latency,
        fault_rate=args.fault_rate,
        seed=args.seed,
        seconds_per_char=args.seconds_per_char,
    )
    with fake, tempfile.TemporaryDirectory() as cache:
        engine = EdgeEngine(
            EngineOptions(jobs=jobs, timeout=args.timeout, retries=args.retries),
            cache_dir=Path(cache),
        )

        def speak(line: str) -> bool:
            """True when the line came back whole."""
            try:
                speech = engine.synthesize(line, VOICE)
            except SynthesisError:
                return False
            needed = sum(expected_duration(c, args.seconds_per_char) for c in chunk_text(line))
            return abs(speech.duration - needed) <= 0.03

        started = time.perf_counter()
        with ThreadPoolExecutor(engine.jobs) as pool:
            whole = list(pool.map(speak, lines))
        wall = time.perf_counter() - started
        stats = fake.stats
    return (
        str(jobs),
        f"{wall:.1f}",
        str(stats.requests),
        str(stats.faults_served),
        str(engine.retry_count),
        str(stats.max_concurrent),
        str(whole.count(False)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N lines")
    parser.add_argument("--latency", type=float, default=0.3, help="first-byte latency, s")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=5.0, help="per-request timeout, s")
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--seconds-per-char", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not SEED.is_file():
        sys.exit(f"The seed article is not at {SEED}; this benchmark needs it.")
    lines = seed_lines(SEED)
    if args.limit:
        lines = lines[: args.limit]
    chars = sum(len(line) for line in lines)
    print(
        f"{len(lines)} lines, {chars} characters; latency {args.latency:g} s, "
        f"{args.fault_rate:.0%} faults, timeout {args.timeout:g} s, retries {args.retries}"
    )
    header = ("jobs", "wall s", "requests", "faults", "retries", "peak conc.", "lines lost")
    print("  ".join(cell.rjust(10) for cell in header))
    for jobs in args.jobs:
        print("  ".join(cell.rjust(10) for cell in run(lines, jobs, args)), flush=True)


if __name__ == "__main__":
    main()
